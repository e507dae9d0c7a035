"""Forged virtual cards for tests: the card-info AP's CVC, integrity record and EF 0007 re-made
under a key the J-LIS CVC CA never signed (what a cloned or home-made card would carry)."""

from __future__ import annotations

import dataclasses
from functools import cache

from cryptography.hazmat.primitives.asymmetric import rsa

from card import tlv
from card.constants import AID
from card.virtual import efs
from card.virtual.card import VirtualMyNumberCard
from card.virtual.image import Application, DataFile
from card.virtual.testpki import CVC_CA_KEY_ID

UNKNOWN_CA_KEY_ID = b"1234567" + b"\x08\x05" + b"001" + b"\x00" * 4


@cache
def _key(label: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def forge_card_info(card: VirtualMyNumberCard, *, unknown_ca: bool) -> None:
    """Replace EF 0003/0004/0007 of ``card`` with records under a forger's keys.

    ``unknown_ca=False``: the CVC claims the real test CA's key id but is signed by another key
    (→ invalid); ``unknown_ca=True``: it names a CA the kiosk does not know (→ unknown_ca).
    """
    image = card.image
    app = image.applications[AID.CARD_INFO.value]
    my_number_file = image.file_data("card_info", 0x0001)
    basic_four_ef = image.file_data("card_info", 0x0002)
    basic_four = basic_four_ef[: tlv.parse_one(basic_four_ef).end]
    old_cvc = image.file_data("card_info", 0x0004)
    holder_id = old_cvc[5 + 4 + 16 : 5 + 4 + 32]  # 7F21 82 02 33, 5F4E 82 01 29, issuer(16), holder(16)
    cvc_key, forger_ca = _key("forged-cvc"), _key("forger-ca")
    issuer = UNKNOWN_CA_KEY_ID if unknown_ca else CVC_CA_KEY_ID
    files = dict(app.files)
    for fid, data in (
        (0x0003, efs.integrity_record(my_number_file, basic_four, cvc_key)),
        (0x0004, efs.card_verifiable_certificate(issuer, holder_id, cvc_key.public_key(), forger_ca)),
        (0x0007, efs.signed_public_key(image.card_info_public_key, cvc_key)),
    ):
        old = files[fid]
        assert isinstance(old, DataFile)
        files[fid] = DataFile(fid, data, old.read_with)
    applications = dict(image.applications)
    applications[AID.CARD_INFO.value] = Application(app.name, app.aid, files)
    card.image = dataclasses.replace(image, applications=applications)
