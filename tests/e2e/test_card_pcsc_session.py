"""The card layer through real pcscd + vpcd + pyscard: every persona, removal at every APDU,
pcscd stopped and restarted under the reader watcher."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from card_e2e_support import DEMO_CONFIG, READER, assert_privacy

from card.errors import CardRemovedError, NoCardError, PcscUnavailableError
from card.pcsc import PcscContext
from card.session import MyNumberCardSession
from card.trust import TrustStatus, load_trust_store
from card.virtual.card import VirtualMyNumberCard
from card.virtual.persona import list_personas, load_persona
from card.watcher import ReaderWatcher, WatcherCallbacks

InsertCard = Callable[..., AbstractContextManager[VirtualMyNumberCard]]
TRUST = load_trust_store(DEMO_CONFIG)
READABLE = [p for p in list_personas() if load_persona(p).tries_left.auth > 0]


def _session(context: PcscContext) -> MyNumberCardSession:
    return MyNumberCardSession(context.open_card(READER), TRUST)


@pytest.fixture
def context() -> Iterator[PcscContext]:
    with PcscContext() as ctx:
        yield ctx


@pytest.mark.parametrize("name", READABLE)
def test_every_persona_reads_through_pcsc(insert_card: InsertCard, context: PcscContext, name: str) -> None:
    persona = load_persona(name)
    ci_pin = None if persona.card_info_pin == persona.auth_pin else bytearray(persona.card_info_pin.encode())
    with insert_card(persona) as card, _session(context) as session:
        result = session.read(bytearray(persona.auth_pin.encode()), card_info_pin=ci_pin, allow_last_try=True)
        signature_apdus_before = len(card.access_log)
        session.sign_with_auth_key(b"registration record")
        assert len(card.access_log) == signature_apdus_before + 1
    info = result.basic_four
    assert (info.name, info.address, info.birth_date, info.sex) == (
        persona.name,
        persona.address,
        persona.birth_date,
        persona.sex,
    )
    expired = persona.not_after < dt.datetime.now(dt.UTC)
    assert result.verification.chain is (TrustStatus.EXPIRED if expired else TrustStatus.VERIFIED)
    assert result.verification.signature_valid
    assert result.verification.integrity is TrustStatus.VERIFIED
    assert result.verification.genuine_card is TrustStatus.VERIFIED
    # What the session counted is what the card saw.
    assert result.traffic_before_pin.apdus + result.traffic_after_pin.apdus + 1 == len(card.access_log)
    assert result.traffic_before_pin.apdus + result.traffic_after_pin.apdus <= 16
    assert result.traffic_after_pin.apdus <= 8
    assert_privacy(card)


@pytest.mark.timeout(120)
def test_card_removed_after_every_apdu_of_a_full_read(insert_card: InsertCard, context: PcscContext) -> None:
    persona = load_persona("miyagi-sendai")
    total = 15  # 8 before the PIN + 7 after (asserted in the persona test above)
    for k in range(total):
        with insert_card(persona, remove_after=k) as card:
            started = time.monotonic()
            outcome: CardRemovedError | NoCardError | None = None
            try:
                with _session(context) as session:
                    session.read(bytearray(persona.auth_pin.encode()))
            except (CardRemovedError, NoCardError) as exc:
                outcome = exc
            assert time.monotonic() - started < 10, "a removed card must never hang the read"
            if isinstance(outcome, NoCardError):
                assert k == 0  # pcscd may already have seen the card go before the connect
            else:
                assert isinstance(outcome, CardRemovedError), f"read did not fail after APDU {k}"
                assert outcome.during_verify is (k in (8, 13)), k
            assert len(card.access_log) == k
            # Never a PIN try beyond the one typed: the PIN is right, an unanswered VERIFY is not run.
            assert card.tries_left("jpki", 0x0018) == 3
            assert card.tries_left("card_info", 0x0011) == 3
            assert_privacy(card)


def _pcscd_pid() -> int | None:
    out = subprocess.run(["pgrep", "-x", "pcscd"], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie child of ours still answers kill(0): reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == pid
    except ChildProcessError:
        return False


def _start_pcscd() -> None:
    """Start pcscd exactly as scripts/setup.sh does (``pcscd --foreground &``, detached, never -x)."""
    Path("/run/pcscd").mkdir(parents=True, exist_ok=True)
    with open("/tmp/madoguchi-pcscd.log", "ab") as log:
        subprocess.Popen(
            ["pcscd", "--foreground"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _pcscd_ready() -> bool:
    if not Path("/run/pcscd/pcscd.comm").exists():
        return False
    ss = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
    return ":35963 " in ss


@pytest.mark.timeout(90)
def test_pcscd_stopped_and_restarted_while_idle(insert_card: InsertCard) -> None:
    """Holds the vpcd lock (insert_card's session fixture) while it restarts the machine's pcscd."""
    events: list[str] = []
    lock = threading.Lock()

    def record(name: str) -> Callable[..., None]:
        def callback(*_args: object) -> None:
            with lock:
                events.append(name)

        return callback

    def seen(name: str) -> bool:
        with lock:
            return name in events

    errors: list[PcscUnavailableError] = []

    def down(exc: PcscUnavailableError) -> None:
        errors.append(exc)
        record("down")()

    callbacks = WatcherCallbacks(
        card_present=record("present"),
        card_removed=record("removed"),
        readers_changed=record("readers"),
        pcsc_unavailable=down,
        pcsc_restored=record("up"),
    )
    context = PcscContext()
    watcher = ReaderWatcher(context, callbacks, interval=0.1)
    watcher.start()
    try:
        _wait(lambda: READER in watcher.snapshot.readers, 10, "the vpcd reader")
        pid = _pcscd_pid()
        assert pid is not None
        os.kill(pid, signal.SIGTERM)
        _wait(lambda: _pid_gone(pid), 15, "the old pcscd to exit")
        _wait(lambda: seen("down"), 10, "PcscUnavailable from the watcher")
        assert isinstance(errors[0], PcscUnavailableError)
        assert watcher.snapshot.readers == ()
        _start_pcscd()
        _wait(_pcscd_ready, 15, "pcscd to listen again")
        _wait(lambda: seen("up"), 10, "the watcher to recover")
        _wait(lambda: READER in watcher.snapshot.readers, 10, "the reader to come back")
        # The recovered stack reads a card, and the watcher reports it.
        persona = load_persona("miyagi-sendai")
        with insert_card(persona) as card:
            _wait(lambda: seen("present"), 10, "card present")
            with _session(context) as session:
                result = session.read(bytearray(persona.auth_pin.encode()))
            assert result.verification.integrity is TrustStatus.VERIFIED
            assert_privacy(card)
        _wait(lambda: seen("removed"), 10, "card removed")
    finally:
        watcher.stop()
        context.close()
        if _pcscd_pid() is None:  # never leave the machine without pcscd
            _start_pcscd()
            _wait(_pcscd_ready, 15, "pcscd to listen again")
