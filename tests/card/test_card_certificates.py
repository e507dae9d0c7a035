"""X.509 parsing of JPKI certificates, including the sign certificate's SAN otherName attributes."""

from __future__ import annotations

import contextlib

import pytest
from card_pki import make_cert, other_name, rsa_key
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from card.certificates import parse_auth_certificate, parse_sign_certificate_attributes
from card.errors import MalformedCardDataError


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def test_auth_certificate_from_a_padded_ef() -> None:
    cert = make_cert("997794E9AGCIEG13221003A", rsa_key("leaf"), "root", rsa_key("root"), serial=0xABCDEF)
    info = parse_auth_certificate(_der(cert) + bytes(300))  # EF filler (§2.2)
    assert info.der == _der(cert)
    assert info.serial_hex == "abcdef"
    assert info.not_after == cert.not_valid_after_utc
    assert "997794E9AGCIEG13221003A" in info.subject
    assert "der" not in repr(info)
    assert "abcdef" not in repr(info).lower()
    assert str(0xABCDEF) not in repr(info)
    assert "997794E9AGCIEG13221003A" not in repr(info)
    assert info.certificate.serial_number == 0xABCDEF


def test_sign_certificate_san_other_names() -> None:
    san: list[x509.GeneralName] = [
        other_name(1, "黒桐\u3000幹也"),
        other_name(2, ""),
        other_name(3, "1"),
        other_name(4, "E19800217"),
        other_name(5, "東京都清瀬市観布子南１２－７－２０２"),
        other_name(6, ""),
    ]
    cert = make_cert("sign", rsa_key("leaf"), "root", rsa_key("root"), san=san)
    attrs = parse_sign_certificate_attributes(_der(cert))
    assert attrs.name == "黒桐\u3000幹也"
    assert attrs.sex == "1"
    assert attrs.birth_date == "E19800217"
    assert attrs.address.startswith("東京都")
    assert "黒桐" not in repr(attrs)


def test_sign_certificate_without_required_attributes_is_malformed() -> None:
    cert = make_cert("sign", rsa_key("leaf"), "root", rsa_key("root"), san=[other_name(1, "x")])
    with pytest.raises(MalformedCardDataError):
        parse_sign_certificate_attributes(_der(cert))
    no_san = make_cert("sign", rsa_key("leaf"), "root", rsa_key("root"))
    with pytest.raises(MalformedCardDataError):
        parse_sign_certificate_attributes(_der(no_san))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_certificate_parsers_fuzz(data: st.DataObject) -> None:
    base = bytearray(_der(make_cert("x", rsa_key("leaf"), "root", rsa_key("root"))))
    choice = data.draw(st.integers(0, 2))
    if choice == 0:
        raw = data.draw(st.binary(max_size=400))
    else:
        for _ in range(data.draw(st.integers(1, 6))):
            base[data.draw(st.integers(0, len(base) - 1))] = data.draw(st.integers(0, 255))
        raw = bytes(base[: data.draw(st.integers(0, len(base)))]) if choice == 2 else bytes(base)
    for fn in (parse_auth_certificate, parse_sign_certificate_attributes):
        with contextlib.suppress(MalformedCardDataError):
            fn(raw)
