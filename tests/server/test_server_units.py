"""Units: the chain verifier agrees with card.trust, person keys normalise, envelopes pack losslessly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from cryptography import x509

from card.trust import TrustStatus, TrustStore, verify_auth_chain
from card.virtual import testpki
from sync.server.chain import ChainStatus, ChainVerifier
from sync.server.persons import PersonKeyer, normalize_name
from sync.server.stored import pack, unpack

from .factory import card_key, foreign_root, issue_certificate, persona_certificate

EXPECTED = {
    TrustStatus.VERIFIED: ChainStatus.OK,
    TrustStatus.EXPIRED: ChainStatus.OK,  # time is checked per record, not cached
    TrustStatus.UNKNOWN_CA: ChainStatus.UNKNOWN_ROOT,
    TrustStatus.INVALID: ChainStatus.BAD_ISSUER_SIGNATURE,
}


@pytest.mark.parametrize(
    "which",
    [
        "miyagi-sendai",
        "miyagi-expired-cert",
        "tochigi-utsunomiya",
        "unknown-root",
        "forged-root",
        "no-signing",
        "garbage",
    ],
)
def test_chain_verifier_agrees_with_the_kiosk_trust_checks(which: str) -> None:
    root = testpki.auth_root().certificate
    verifier = ChainVerifier([root])
    key = card_key("miyagi-sendai").public_key()
    if which == "unknown-root":
        der = issue_certificate(key, 5, ca=foreign_root(False))
    elif which == "forged-root":
        der = issue_certificate(key, 6, ca=foreign_root(True))
    elif which == "no-signing":
        der = issue_certificate(key, 7, digital_signature=False)
    elif which == "garbage":
        assert verifier.check(b"\x30\x03\x02\x01\x00").status is ChainStatus.MALFORMED
        return
    else:
        der = persona_certificate(which)
    result = verifier.check(der)
    kiosk = verify_auth_chain(x509.load_der_x509_certificate(der), TrustStore((root,)), datetime.now(UTC))
    if which == "no-signing":
        assert (result.status, kiosk) == (ChainStatus.KEY_USAGE, TrustStatus.INVALID)
    else:
        assert result.status is EXPECTED[kiosk]
    if result.status is ChainStatus.OK:
        assert result.valid_at(datetime.now(UTC)) == (kiosk is TrustStatus.VERIFIED)
    # the second check of the same certificate is a cache hit with the same answer
    assert verifier.check(der) is result
    assert (verifier.hits, verifier.misses) == (1, 1)


def test_cache_is_bounded() -> None:
    verifier = ChainVerifier([testpki.auth_root().certificate], cache_size=2)
    key = card_key("miyagi-sendai").public_key()
    ders = [issue_certificate(key, 100 + i) for i in range(3)]
    for der in ders:
        verifier.check(der)
    verifier.check(ders[0])  # evicted: a miss again
    assert verifier.misses == 4


def test_person_keys_normalise_and_are_keyed() -> None:
    keyer = PersonKeyer(bytes(32))
    other = PersonKeyer(bytes([1]) * 32)
    assert normalize_name("佐藤　花子") == normalize_name("佐藤 花子") == "佐藤花子"
    assert keyer.secondary("佐藤　花子", date(1985, 6, 12)) == keyer.secondary("佐藤花子", "1985-06-12")
    assert keyer.secondary("佐藤花子", date(1985, 6, 12)) != keyer.secondary("佐藤花子", date(1985, 6, 13))
    assert keyer.secondary("佐藤花子", date(1985, 6, 12)) != other.secondary("佐藤花子", date(1985, 6, 12))
    assert keyer.address("宮城県仙台市青葉区本町３－８－１") == keyer.address("宮城県仙台市青葉区本町3-8-1")
    assert keyer.primary(b"issuer", 1) != keyer.primary(b"issuer", 2)
    assert keyer.primary(b"issuer", 1) != keyer.primary(b"issue", 1)
    assert "secret" not in repr(keyer).lower() or "<secret>" in repr(keyer)
    with pytest.raises(ValueError):
        PersonKeyer(b"short")


def test_packed_envelope_round_trips() -> None:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from .factory import Kiosk

    kiosk = Kiosk(X25519PrivateKey.generate().public_key())
    env = kiosk.make()
    assert unpack(pack(env.header_bytes(), env.ct, env.sig)) == env


def test_verified_record_repr_has_no_personal_data() -> None:
    import tempfile
    from datetime import UTC, datetime
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from kiosk.rules.programs import load_programs
    from sync.server.revocation import NoRevocationChecker
    from sync.server.verify import RecordVerifier, Verified

    from .conftest import write_test_programs
    from .factory import Kiosk, persona

    server_key = X25519PrivateKey.generate()
    kiosk = Kiosk(server_key.public_key())
    programs = load_programs(write_test_programs(Path(tempfile.mkdtemp()) / "programs"))
    verifier = RecordVerifier(
        server_key=server_key,
        chains=ChainVerifier([testpki.auth_root().certificate]),
        revocation=NoRevocationChecker(),
        programs=programs,
        keyer=PersonKeyer(bytes(32)),
    )
    env = kiosk.make()
    checked = verifier.check(
        env.to_json(),
        device_id=kiosk.kiosk_id,
        device_key=kiosk.device_key.public_key(),
        received_at=datetime.now(UTC),
    )
    assert isinstance(checked, Verified)
    text = repr(checked) + repr(checked.chain) + repr(checked.person_keys)
    who = persona("miyagi-sendai")
    for secret in (who.name, who.address, "仙台", str(checked.chain.serial), who.birth_date.isoformat()):
        assert secret not in text


def test_person_keys_are_the_stored_hmac_and_accept_a_shared_normalisation() -> None:
    """Keys already in databases must not change: the one-shot HMAC equals the streaming one."""
    import hashlib
    import hmac

    from kiosk.rules.address import parse_address

    secret = bytes(range(32))
    keyer = PersonKeyer(secret)
    raw = "宮城県仙台市青葉区本町３－８－１"
    label = b"madoguchi.person.address.v1\x00"
    expected = hmac.new(secret, label + "宮城県仙台市青葉区本町3-8-1".encode(), hashlib.sha256)
    assert keyer.address(raw) == expected.digest()
    keys = keyer.keys(
        issuer_der=b"issuer", serial=7, name="佐藤 花子", birth_date=date(1985, 6, 12),
        normalized_address=parse_address(raw).normalized,
    )  # fmt: skip
    assert keys.address == keyer.address(raw)
    assert keys.primary == keyer.primary(b"issuer", 7)
    assert keys.secondary == keyer.secondary("佐藤花子", "1985-06-12")


def test_every_server_rejection_has_a_wire_reason() -> None:
    """Typed outcomes (issue 11): every failed chain status and every programme rule maps to a
    member of ``wire.RejectReason`` through the one mapping, so the kiosk's list is complete."""
    from kiosk.rules.eligibility import ReasonCode
    from sync.server.chain import ChainStatus
    from sync.server.verify import chain_reason, eligibility_reason
    from sync.wire import RejectReason

    for status in ChainStatus:
        if status is not ChainStatus.OK:
            assert isinstance(chain_reason(status), RejectReason)
    for code in ReasonCode:
        assert eligibility_reason(code).value == code.value


def test_no_rejection_reason_is_a_string_literal_in_the_server() -> None:
    """The 11 ``reject("…")`` literals went; a new one would bypass the enum."""
    import re
    from pathlib import Path

    server = Path(__file__).resolve().parents[2] / "sync" / "server"
    pattern = re.compile(r"""(reject|Rejection)\([^)]*["'][a-z_]+["']""")
    offenders = [
        f"{path.name}:{n}"
        for path in sorted(server.glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def _outcome_literals(source: str, values: set[str]) -> list[int]:
    """Lines where a string constant spells an outcome value (or quotes one in SQL), apart from the
    places that are another vocabulary: docstrings, dict keys and subscripts (JSON field names such
    as a summary's ``unverified`` count) and the code of an ``_error(...)`` reply (API error codes)."""
    import ast

    tree = ast.parse(source)
    exempt: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            exempt.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.Dict):
            exempt.update(id(k) for k in node.keys if k is not None)
        elif isinstance(node, ast.Subscript):
            exempt.add(id(node.slice))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_error" and len(node.args) > 1:
            exempt.add(id(node.args[1]))
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in exempt
        and (node.value in values or any(f"'{v}'" in node.value for v in values))
    )


def test_no_decision_or_flag_is_a_string_literal_in_the_server() -> None:
    """Typed outcomes (issue 11): decisions, flags, review reasons and resolutions, grant origins,
    record statuses and grant statuses are enum members in sync/server; their spelling lives only
    in ``sync/server/outcomes.py`` and ``sync/wire.py`` (``"accepted"`` or ``== "granted"`` here
    would bypass the one mapping)."""
    from pathlib import Path

    from sync.server.outcomes import Decision, Flag, GrantVia, ReviewReason, ReviewResolution
    from sync.wire import GrantStatus, RecordStatus

    enums = (Decision, Flag, GrantVia, ReviewReason, ReviewResolution, GrantStatus, RecordStatus)
    values = {member.value for enum in enums for member in enum}
    server = Path(__file__).resolve().parents[2] / "sync" / "server"
    offenders = [
        f"{path.name}:{line}"
        for path in sorted(server.glob("*.py"))
        if path.name != "outcomes.py"
        for line in _outcome_literals(path.read_text(encoding="utf-8"), values)
    ]
    assert offenders == []
    # the scan finds what it is meant to find
    assert _outcome_literals('flags.append("clock_skew")\nif d == "granted": pass\n', values) == [1, 2]
    assert _outcome_literals("sql = \"SELECT 1 FROM records WHERE outcome = 'rejected'\"\n", values) == [1]
    assert _outcome_literals('x = {"unverified": 1}\n_error(409, "lottery", "d")\n', values) == []


def test_every_decision_has_a_grant_status() -> None:
    """The kiosk's status lookup shows each stored decision through the one mapping: a decision
    with an award of its own has its own status, every other one is ``not_granted``."""
    from sync.server.outcomes import Decision, grant_status
    from sync.wire import GrantStatus

    own = {
        Decision.GRANTED: GrantStatus.GRANTED,
        Decision.LOTTERY_ENTERED: GrantStatus.LOTTERY_PENDING,
        Decision.LOTTERY_WON: GrantStatus.LOTTERY_WON,
        Decision.LOTTERY_LOST: GrantStatus.LOTTERY_LOST,
        Decision.REVIEW: GrantStatus.UNDER_REVIEW,
    }
    for decision in Decision:
        assert grant_status(decision.value) is own.get(decision, GrantStatus.NOT_GRANTED)
    assert grant_status(None) is None
    assert grant_status("a_decision_of_a_newer_server") is GrantStatus.NOT_GRANTED
