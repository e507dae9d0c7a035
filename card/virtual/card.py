"""The virtual My Number Card: a card OS simulation over a :class:`~card.virtual.image.CardImage`.

Not a mock: it parses every C-APDU (ISO 7816-4 cases 1-4, short and extended), keeps the card's
state (selected application and EF, verified credentials, retry counters) and answers with the
status words real cards give (mynacard-protocol.md §2.4), including for nonsense. Section numbers
in comments refer to mynacard-protocol.md; §8 is its emulator fidelity checklist.

Thread safety: :meth:`VirtualMyNumberCard.process` and the power methods hold a lock, so a test
thread may read ``access_log`` while the vpcd thread drives the card.
"""

from __future__ import annotations

import hmac
import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from card.virtual.command import Command, parse_command
from card.virtual.errors import CardLeftError
from card.virtual.faults import NO_FAULTS, FaultPlan, corrupt
from card.virtual.image import (
    AID_GP_ISD,
    Application,
    CardImage,
    CredentialFile,
    DataFile,
    ElementaryFile,
    KeyFile,
    OpaqueFile,
    build_image,
)
from card.virtual.persona import Persona
from card.virtual.signing import sign

#: Contactless ATR synthesised by a PC/SC reader for a My Number Card (§4.5, PCSCL; §8 item 7).
ATR = bytes.fromhex("3B888001000005E0B381A1007F")


# Status words (§2.4).
SW_OK = 0x9000
SW_WRONG_LENGTH = 0x6700
SW_CHANNEL_NOT_SUPPORTED = 0x6881
SW_FILE_STRUCTURE = 0x6981
SW_SECURITY_STATUS = 0x6982
SW_LOCKED = 0x6984
SW_CONDITIONS = 0x6985
SW_NO_CURRENT_EF = 0x6986
SW_SM_MISSING = 0x6987
SW_SM_INCORRECT = 0x6988
SW_WRONG_DATA = 0x6A80
SW_NOT_FOUND = 0x6A82
SW_WRONG_P1P2 = 0x6A86
SW_DATA_NOT_FOUND = 0x6A88
SW_WRONG_OFFSET = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW_SECURITY_ENVIRONMENT = 0x66F1


@dataclass(frozen=True)
class AccessLogEntry:
    """One processed APDU: where it went and how the card answered. Never holds command data."""

    index: int  # APDU ordinal over the card's lifetime, from 1
    ap: str | None  # "jpki", "card_info", "surface", "common", "juki" or None (MF level)
    ef: int | None  # FID the command addressed (selected, read, verified, signing key)
    ins: int
    p1: int
    p2: int
    sw: int


class _Session:
    """Volatile card state: lost on power off / on / reset (§3 "Behaviour", §8 item 1)."""

    def __init__(self) -> None:
        self.app: Application | None = None
        self.ef: ElementaryFile | None = None
        self.verified: set[tuple[str, int]] = set()
        self.power_on_state = True  # no AP selected since power-on: SELECT MF answers 6A86 (§1)


class VirtualMyNumberCard:
    """A virtual My Number Card for one persona; see the module docstring.

    ``faults`` injects removal, delay and corruption (:class:`FaultPlan`); ``log_file`` appends one
    JSON line per processed APDU (the :class:`AccessLogEntry` fields only: no data, so no PIN).
    """

    def __init__(
        self, persona: Persona, *, faults: FaultPlan = NO_FAULTS, log_file: Path | None = None
    ) -> None:
        self.persona = persona
        self.faults = faults
        self.image: CardImage = build_image(persona)
        self.access_log: list[AccessLogEntry] = []
        self._lock = threading.RLock()
        self._count = 0
        self._removed = False
        self._powered = True
        self._session = _Session()
        # Persistent card state (EEPROM): retry counters and changed credential values.
        self._tries: dict[tuple[str, int], int] = {}
        self._secrets: dict[tuple[str, int], bytes] = {}
        for app in self.image.applications.values():
            for ef in app.files.values():
                if isinstance(ef, CredentialFile):
                    self._tries[(app.name, ef.fid)] = ef.tries_left
        self._log_handle: IO[str] | None = log_file.open("a", encoding="utf-8") if log_file else None

    def __repr__(self) -> str:
        return f"VirtualMyNumberCard(persona={self.persona.id!r})"

    @property
    def atr(self) -> bytes:
        """The answer to reset (§4.5)."""
        return ATR

    @property
    def removed(self) -> bool:
        """True once the fault plan has taken the card out of the field."""
        return self._removed

    def reinsert(self) -> None:
        """Put a removed card back (same counters, fresh power-on state), e.g. to re-query tries."""
        with self._lock:
            self._removed = False
            self._session = _Session()
            self._powered = True

    def tries_left(self, ap: str, fid: int) -> int:
        """Current retry counter of a credential (test helper, what ``00 20 00 80`` would answer)."""
        with self._lock:
            return self._tries[(ap, fid)]

    def all_tries_left(self) -> dict[tuple[str, int], int]:
        """Every credential's retry counter by (AP name, FID): a snapshot for tests."""
        with self._lock:
            return dict(self._tries)

    def power_on(self) -> None:
        """Reader powers the card: volatile state starts fresh."""
        with self._lock:
            self._session = _Session()
            self._powered = True

    def power_off(self) -> None:
        """Reader cuts power: volatile state is lost."""
        with self._lock:
            self._session = _Session()
            self._powered = False

    def reset(self) -> None:
        """Warm reset: volatile state is lost, the card stays powered."""
        self.power_on()

    def close(self) -> None:
        """Close the access-log file, if any."""
        with self._lock:
            if self._log_handle is not None:
                self._log_handle.close()
                self._log_handle = None

    # -- APDU processing ---------------------------------------------------------------------

    def process(self, apdu: bytes) -> bytes:
        """Answer one C-APDU with an R-APDU (data + SW1 SW2).

        Raises :class:`card.virtual.errors.CardLeftError` when the fault plan removes the card.
        """
        with self._lock:
            self._count += 1
            index = self._count
            ins = apdu[1] if len(apdu) > 1 else 0
            if self._removed:
                raise CardLeftError(ins)
            if self.faults.remove_after is not None and index == self.faults.remove_after + 1:
                self._removed = True
                raise CardLeftError(ins)
            if not self._powered:
                # A reader always powers the card before an APDU; model that implicitly.
                self.power_on()
            if self.faults.delay:
                time.sleep(self.faults.delay)
            command = parse_command(apdu)
            if command is None:
                data, sw, ef = b"", SW_WRONG_LENGTH, None
            else:
                data, sw, ef = self._dispatch(command)
            entry = AccessLogEntry(
                index=index,
                ap=self._session.app.name if self._session.app else None,
                ef=ef,
                ins=ins,
                p1=apdu[2] if len(apdu) > 2 else 0,
                p2=apdu[3] if len(apdu) > 3 else 0,
                sw=sw,
            )
            self.access_log.append(entry)
            if self._log_handle is not None:
                self._log_handle.write(json.dumps(asdict(entry)) + "\n")
                self._log_handle.flush()
            response = data + sw.to_bytes(2, "big")
            if index == self.faults.corrupt_response:
                response = corrupt(response)
            return response

    def _dispatch(self, c: Command) -> tuple[bytes, int, int | None]:
        if c.cla in (0x01, 0x02, 0x03, 0x81, 0x82, 0x83):
            return b"", SW_CHANNEL_NOT_SUPPORTED, None  # §1: only logical channel 0
        if c.cla in (0x08, 0x0C):
            # §5: SM CLA; no session key can be set here, so: no MAC allowed (0C) / bad SM object (08).
            return b"", SW_SM_MISSING if c.cla == 0x0C else SW_SM_INCORRECT, None
        if c.cla == 0x00:
            handlers = {
                0xA4: self._select,
                0xB0: self._read_binary,
                0xB2: self._read_record,
                0x20: self._verify,
                0x24: self._change_reference_data,
                0x84: self._get_challenge,
                0x88: self._internal_authenticate,
                0xCA: self._get_data,
                0x70: self._manage_channel,
            }
        elif c.cla == 0x80:
            handlers = {
                0x2A: self._compute_signature,
                0xA2: self._verify_certificate,
                0xAE: self._set_session_key,
                0xFC: self._last_command,
            }
        else:
            return b"", SW_CLA_NOT_SUPPORTED, None
        handler = handlers.get(c.ins)
        if handler is None:
            return b"", SW_INS_NOT_SUPPORTED, None
        return handler(c)

    # -- helpers -------------------------------------------------------------------------------

    def _files(self) -> dict[int, ElementaryFile]:
        app = self._session.app
        return dict(app.files) if app else dict(self.image.mf_files)

    def _credential(self, c: Command) -> tuple[CredentialFile | None, int | None, int]:
        """Resolve the key EF of VERIFY / CHANGE REFERENCE DATA: P2 80 = current EF, 80|SFI by id."""
        if c.p2 == 0x80:
            ef = self._session.ef
            if ef is None:
                return None, None, SW_NO_CURRENT_EF
            if not isinstance(ef, CredentialFile):
                return None, ef.fid, SW_DATA_NOT_FOUND
            return ef, ef.fid, SW_OK
        if 0x81 <= c.p2 <= 0x9E:
            fid = c.p2 & 0x1F
            ef = self._files().get(fid)
            if not isinstance(ef, CredentialFile) or self._session.app is None:
                return None, fid, SW_DATA_NOT_FOUND
            return ef, fid, SW_OK
        return None, None, SW_WRONG_P1P2

    def _key(self, credential: CredentialFile) -> tuple[str, int]:
        app = self._session.app
        assert app is not None
        return (app.name, credential.fid)

    # -- ISO commands --------------------------------------------------------------------------

    def _select(self, c: Command) -> tuple[bytes, int, int | None]:
        """SELECT (§1, §2.1; §8 item 1)."""
        session = self._session
        if c.p1 == 0x04:  # by DF name
            if c.p2 not in (0x0C, 0x00):
                return b"", SW_WRONG_P1P2, None
            if not c.data:
                return b"", SW_WRONG_LENGTH, None
            if c.data == AID_GP_ISD:
                self._session = _Session()  # restores the power-on (MF-level) state (§1)
                return b"", SW_OK, None
            app = self.image.applications.get(c.data)
            if app is None:
                return b"", SW_NOT_FOUND, None
            # Selecting an AP clears every verified state (§3, §8 item 1).
            session.app, session.ef, session.power_on_state = app, None, False
            session.verified.clear()
            return b"", SW_OK, None
        if c.p1 == 0x00 and not c.data:  # SELECT MF
            if c.p2 not in (0x00, 0x0C):
                return b"", SW_WRONG_P1P2, None
            # 6A86 right after reset; 9000 without effect once an AP is selected (§1).
            return b"", SW_WRONG_P1P2 if session.power_on_state else SW_OK, None
        if c.p1 in (0x00, 0x02):  # EF by FID (P1=02: under the current DF)
            if c.p2 not in (0x0C, 0x00):
                return b"", SW_WRONG_P1P2, None
            if len(c.data) != 2:
                return b"", SW_WRONG_LENGTH, None
            fid = int.from_bytes(c.data, "big")
            ef = self._files().get(fid)
            if ef is None or fid == 0x3F00:  # SELECT 3F00 by FID → 6A82 (§1)
                return b"", SW_NOT_FOUND, fid
            session.ef = ef
            return b"", SW_OK, fid
        return b"", SW_WRONG_P1P2, None

    def _read_binary(self, c: Command) -> tuple[bytes, int, int | None]:
        """READ BINARY, plain offset or P1 = 80|SFI (§2.1, §2.2; §8 item 2)."""
        if c.case != 2:
            return b"", SW_WRONG_LENGTH, None
        session = self._session
        if c.p1 & 0x80:
            if c.p1 & 0x60:
                return b"", SW_WRONG_P1P2, None
            sfi = c.p1 & 0x1F
            if sfi == 0:
                return b"", SW_WRONG_P1P2, None
            ef = self._files().get(sfi) if session.app else None
            if ef is None:
                return b"", SW_NOT_FOUND, sfi
            session.ef = ef  # a read by SFI makes the EF current (ISO 7816-4)
            offset = c.p2
        else:
            ef = session.ef
            if ef is None:
                return b"", SW_NO_CURRENT_EF, None
            offset = (c.p1 << 8) | c.p2
        if isinstance(ef, OpaqueFile):
            return b"", ef.read_sw, ef.fid
        if not isinstance(ef, DataFile):
            return b"", SW_FILE_STRUCTURE, ef.fid  # key and credential EFs are not readable
        if not self._may_read(ef):
            return b"", SW_SECURITY_STATUS, ef.fid
        if offset >= len(ef.data):
            return b"", SW_WRONG_OFFSET, ef.fid
        assert c.le is not None
        # Le larger than the rest: the rest with 9000 (§2.2).
        return ef.data[offset : offset + c.le], SW_OK, ef.fid

    def _may_read(self, ef: DataFile) -> bool:
        """Access rules of §1.1/§1.2 (§8 item 4): free, or any one of the listed credentials verified."""
        if ef.read_with is None:
            return True
        app = self._session.app
        return app is not None and any((app.name, fid) in self._session.verified for fid in ef.read_with)

    def _read_record(self, c: Command) -> tuple[bytes, int, int | None]:
        """READ RECORD: no record-structured EF is modelled, so every target is transparent."""
        sfi = c.p2 >> 3
        if sfi:
            ef = self._files().get(sfi) if self._session.app else None
            if ef is None:
                return b"", SW_NOT_FOUND, sfi
            return b"", SW_FILE_STRUCTURE, sfi
        if self._session.ef is None:
            return b"", SW_NO_CURRENT_EF, None
        return b"", SW_FILE_STRUCTURE, self._session.ef.fid

    def _verify(self, c: Command) -> tuple[bytes, int, int | None]:
        """VERIFY: case-1 status query, present a value, P2 = 80 or 80|SFI (§2.1, §3; §8 item 3)."""
        if c.p1 != 0x00:
            return b"", SW_WRONG_P1P2, None
        credential, fid, sw = self._credential(c)
        if credential is None:
            return b"", sw, fid
        key = self._key(credential)
        tries = self._tries[key]
        if c.case == 1:
            # Status query: 63Cx without using a try, also after a successful VERIFY (OSC-I #959).
            return b"", 0x63C0 | tries, fid
        if c.case != 3:
            return b"", SW_WRONG_LENGTH, fid  # e.g. 00 20 00 80 00 → 6700 (LULI)
        if tries == 0:
            return b"", SW_LOCKED, fid
        secret = self._secrets.get(key, credential.secret)
        matches = (
            secret is not None
            and credential.format.fullmatch(c.data) is not None
            and hmac.compare_digest(c.data, secret)
        )
        if matches:
            self._tries[key] = credential.max_tries  # a correct value resets the counter (§3)
            self._session.verified.add(key)
            return b"", SW_OK, fid
        # Wrong (or malformed: "treat as a failed attempt", §3) → 63C(x-1); the last one 63C0.
        self._tries[key] = tries - 1
        self._session.verified.discard(key)
        return b"", 0x63C0 | (tries - 1), fid

    def _change_reference_data(self, c: Command) -> tuple[bytes, int, int | None]:
        """CHANGE REFERENCE DATA ``00 24 01 80`` after a successful VERIFY of the same key (§2.1)."""
        if c.p1 != 0x01:
            return b"", SW_WRONG_P1P2, None
        credential, fid, sw = self._credential(c)
        if credential is None:
            return b"", sw, fid
        if c.case != 3:
            return b"", SW_WRONG_LENGTH, fid
        key = self._key(credential)
        if key not in self._session.verified:
            return b"", SW_SECURITY_STATUS, fid
        if credential.format.fullmatch(c.data) is None:
            return b"", SW_WRONG_DATA, fid
        self._secrets[key] = bytes(c.data)
        return b"", SW_OK, fid

    def _get_challenge(self, c: Command) -> tuple[bytes, int, int | None]:
        """GET CHALLENGE: Le 1..256 random bytes; extended Le refused with 6985 (§2.1)."""
        if c.p1 or c.p2:
            return b"", SW_WRONG_P1P2, None
        if c.case != 2:
            return b"", SW_WRONG_LENGTH, None
        if c.extended:
            return b"", SW_CONDITIONS, None
        assert c.le is not None
        return os.urandom(c.le), SW_OK, None

    def _internal_authenticate(self, c: Command) -> tuple[bytes, int, int | None]:
        """INTERNAL AUTHENTICATE: JPKI keys are PIN-guarded (6982), 券面 AP keys refuse (6985) (§2.1)."""
        app = self._session.app
        if app is None or app.name in ("common", "juki"):
            return b"", SW_DATA_NOT_FOUND, None  # the 共通カードAP key 0019 is not modelled
        return b"", SW_SECURITY_STATUS if app.name == "jpki" else SW_CONDITIONS, None

    def _get_data(self, c: Command) -> tuple[bytes, int, int | None]:
        """GET DATA: the MF-level objects of §1 are not modelled; every tag is "not found"."""
        return b"", SW_DATA_NOT_FOUND, None

    def _manage_channel(self, c: Command) -> tuple[bytes, int, int | None]:
        return b"", SW_CHANNEL_NOT_SUPPORTED, None  # §1: only logical channel 0

    # -- proprietary commands (CLA 80) ---------------------------------------------------------

    def _compute_signature(self, c: Command) -> tuple[bytes, int, int | None]:
        """COMPUTE DIGITAL SIGNATURE ``80 2A P1 P2`` (§2.3; §8 item 5)."""
        if c.case not in (3, 4):
            return b"", SW_WRONG_LENGTH, None
        if c.p1 > 0x05:
            return b"", SW_WRONG_P1P2, None
        app = self._session.app
        if c.p2 == 0x00:
            # 券面 APs: the AP's own key, no credential (card-genuineness challenge).
            if app is None or app.name != "card_info":
                in_jpki = app is not None and app.name == "jpki"
                return b"", SW_WRONG_P1P2 if in_jpki else SW_DATA_NOT_FOUND, None
            own_key = app.files[0x0013]
            assert isinstance(own_key, KeyFile)
            key_file = own_key
        elif c.p2 == 0x80:
            current = self._session.ef
            if current is None:
                return b"", SW_NO_CURRENT_EF, None
            if not isinstance(current, KeyFile):
                return b"", SW_FILE_STRUCTURE, current.fid
            key_file = current
        elif 0x81 <= c.p2 <= 0x9E:
            candidate = self._files().get(c.p2 & 0x1F) if app else None
            if not isinstance(candidate, KeyFile):
                return b"", SW_DATA_NOT_FOUND, c.p2 & 0x1F
            key_file = candidate
        else:
            return b"", SW_WRONG_P1P2, None
        assert app is not None
        needed = key_file.unlocked_by
        if needed is not None and (app.name, needed) not in self._session.verified:
            return b"", SW_SECURITY_STATUS, key_file.fid
        signature = sign(key_file.key, c.p1, c.data)
        if signature is None:
            return b"", SW_WRONG_LENGTH, key_file.fid
        return signature, SW_OK, key_file.fid

    def _verify_certificate(self, c: Command) -> tuple[bytes, int, int | None]:
        return b"", SW_WRONG_P1P2, None  # 80 A2 terminal CVC check: not needed, refused (§2.1)

    def _set_session_key(self, c: Command) -> tuple[bytes, int, int | None]:
        """SET SESSION KEY: only the card-info AP after its PIN; SM itself is not modelled (§5)."""
        app = self._session.app
        if app is None or app.name in ("jpki", "juki"):
            return b"", SW_SECURITY_STATUS, None
        if app.name != "card_info":
            return b"", SW_SECURITY_ENVIRONMENT, None
        if ("card_info", 0x0011) not in self._session.verified:
            return b"", SW_SECURITY_STATUS, None
        return b"", SW_WRONG_DATA, None

    def _last_command(self, c: Command) -> tuple[bytes, int, int | None]:
        return b"", SW_WRONG_LENGTH, None  # 80 FC on physical cards (§2.1)
