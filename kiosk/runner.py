"""Executes the flow's effects against the real card layer, the sequence file and the outbox.

The flow (:mod:`kiosk.flow.machine`) decides; this driver does. It runs effects synchronously and feeds each
outcome back as an event, so a terminal front-end or a test drives a whole registration with
:meth:`Runner.dispatch`. The Qt front-end calls the same ``dispatch`` on its card worker thread, with
an ``on_step`` hook that shows each state before its (blocking) effects run.

At :class:`~kiosk.flow.effects.SaveRegistration` the order is: allocate the record sequence number, build
the record, have the card sign SHA-256 of its canonical bytes with the JPKI auth key (the PIN
verified in this card session), check the signature, then hand record + signature to the outbox,
which seals and commits them in one transaction. If the card leaves before signing, nothing is
written; if the outbox refuses the record (a :class:`~kiosk.ports.QueueRefusedError`), nothing is
written and the flow shows "save failed". Any other exception from the outbox is a bug and
propagates: it is not disguised as a refusal.

Two PINs: a :class:`~kiosk.flow.effects.HoldPin` effect leaves a PIN typed on one screen with the driver
until the other PIN is typed (the card layer verifies the card-info PIN first, then the auth PIN,
in one read). After a rejection the driver keeps the other PIN only if it verified in that read or
was typed on its own screen and not tried; a "same" PIN that the card-info AP refused is never
kept (it may be a typo, and must not cost an auth try). Every held PIN is wiped at the next read,
at :class:`~kiosk.flow.effects.EndCardSession`, :class:`~kiosk.flow.effects.Wipe` and a new prefetch.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Final

from card.certificates import AuthCertificate
from card.constants import PinKind
from card.errors import (
    CardError,
    CardRemovedError,
    LastTryRefusedError,
    NoCardError,
    NoReaderError,
    NotMyNumberCardError,
    PcscUnavailableError,
    PinBlockedError,
    PinFormatError,
    PinIncorrectError,
    PinNotVerifiedError,
    ReaderBusyError,
)
from card.pin import wipe
from card.session import CardReadResult, MyNumberCardSession
from card.trust import TrustStatus
from kiosk.errors import KioskError
from kiosk.flow.effects import (
    Alarm,
    CancelTimer,
    Effect,
    EndCardSession,
    HoldPin,
    Prefetch,
    SaveRegistration,
    StartTimer,
    VerifyAndRead,
    WarnTimeout,
    Wipe,
)
from kiosk.flow.events import CardFailed, Event, PinRejected, PrefetchDone, ReadDone, Saved, SaveFailed
from kiosk.flow.machine import Flow
from kiosk.flow.state import CardFailure, FlowState, PinSlot
from kiosk.local_index import RegisteredHereIndex
from kiosk.ports import QueueRefusedError, RegistrationQueue
from kiosk.rules.record import (
    KioskStamp,
    Resident,
    SignedRegistration,
    Verification,
    build_record,
    verify_card_signature,
)
from kiosk.sequence import RecordSequence

logger = logging.getLogger(__name__)

SessionFactory = Callable[[], MyNumberCardSession]
#: A front end's view of each step: the new state and the effects about to run.
OnStep = Callable[[FlowState, list[Effect]], None]


def card_failure(error: CardError) -> CardFailure:
    """Map a card-layer error to what the flow distinguishes."""
    if isinstance(error, CardRemovedError | NoCardError):
        return CardFailure.CARD_REMOVED
    if isinstance(error, PcscUnavailableError):
        return CardFailure.PCSC_DOWN
    if isinstance(error, NoReaderError | ReaderBusyError):
        return CardFailure.READER_LOST
    if isinstance(error, NotMyNumberCardError):
        return CardFailure.NOT_MY_NUMBER_CARD
    if isinstance(error, PinBlockedError):
        return CardFailure.PIN_BLOCKED
    if isinstance(error, PinNotVerifiedError):
        return CardFailure.PIN_NOT_VERIFIED
    return CardFailure.READ_FAILED


def flow_verification(result: CardReadResult) -> tuple[Verification, bool]:
    """The record's verification booleans and whether the certificate has expired."""
    v = result.verification
    verification = Verification(
        chain=v.chain is TrustStatus.VERIFIED,
        signature=v.signature_valid,
        integrity=v.integrity is TrustStatus.VERIFIED,
        genuine_card=v.genuine_card is TrustStatus.VERIFIED,
    )
    return verification, v.chain is TrustStatus.EXPIRED


class Runner:
    """Drives a :class:`Flow` synchronously.

    :param open_session: opens a card session on the card that is on the reader now.
    :param queue: the outbox (``sync.outbox.Outbox``).
    :param sequence: the kiosk's record sequence.
    :param index: "already registered here" (None: never).
    :param on_effect: front-end hook for effects the driver does not own (warnings, alarms, wipe).
    """

    def __init__(
        self,
        flow: Flow,
        *,
        kiosk_id: str,
        open_session: SessionFactory,
        queue: RegistrationQueue,
        sequence: RecordSequence,
        index: RegisteredHereIndex | None = None,
        on_effect: Callable[[Effect], None] | None = None,
    ) -> None:
        self.flow = flow
        self.kiosk_id = kiosk_id
        self.state: FlowState = flow.initial()
        self._open_session = open_session
        self._queue = queue
        self._sequence = sequence
        self._index = index
        self._on_effect = on_effect
        self._session: MyNumberCardSession | None = None
        self._certificate: AuthCertificate | None = None
        #: The last card error (for the terminal front-end's exact error reporting).
        self.last_card_error: CardError | None = None
        #: Type name of the last save failure (never its message: it could hold a path or data).
        self.last_save_failure: str | None = None
        #: The running flow timer, if any (front-ends schedule it; the CLI has none).
        self.timer: StartTimer | None = None
        self._held: dict[PinSlot, bytearray] = {}

    def dispatch(self, event: Event, on_step: OnStep | None = None) -> FlowState:
        """Apply ``event`` and run every resulting effect (and their outcomes) to quiescence.

        :param on_step: called with each new state and its effects after every ``Flow.step`` and
            *before* the (blocking) effects run. A terminal needs only the last state; a screen
            shows each busy phase ("reading…") while the card worker is busy, so the Qt kiosk's
            worker passes its report here.
        """
        pending: deque[Event] = deque([event])
        while pending:
            self.state, effects = self.flow.step(self.state, pending.popleft())
            if on_step is not None:
                on_step(self.state, effects)
            for effect in effects:
                outcome = self._execute(effect)
                if outcome is not None:
                    pending.append(outcome)
        return self.state

    def close(self) -> None:
        """Close any open card session."""
        self._end_session()

    # -- effect executors --------------------------------------------------------------------------

    def _execute(self, effect: Effect) -> Event | None:
        if isinstance(effect, StartTimer):
            self.timer = effect
        elif isinstance(effect, CancelTimer):
            self.timer = None
        elif isinstance(effect, Prefetch):
            return self._prefetch(effect)
        elif isinstance(effect, VerifyAndRead):
            return self._verify_and_read(effect)
        elif isinstance(effect, HoldPin):
            self._hold(effect.slot, effect.pin)
        elif isinstance(effect, SaveRegistration):
            return self._save(effect)
        elif isinstance(effect, EndCardSession | Wipe):
            self._end_session()
        if self._on_effect is not None and isinstance(effect, WarnTimeout | Alarm | Wipe):
            self._on_effect(effect)
        return None

    def _hold(self, slot: PinSlot, pin: bytearray) -> None:
        previous = self._held.pop(slot, None)
        if previous is not None:
            wipe(previous)
        self._held[slot] = pin

    def _drop_held(self) -> None:
        held, self._held = self._held, {}
        for pin in held.values():
            wipe(pin)

    @property
    def holds_pin(self) -> bool:
        """Whether a typed PIN waits in the driver for the next VERIFY (tests and diagnostics)."""
        return bool(self._held)

    def _end_session(self) -> None:
        self._drop_held()
        session, self._session, self._certificate = self._session, None, None
        if session is not None:
            try:
                session.close()
            except CardError as exc:  # the card or reader is already gone: nothing to release
                logger.debug("closing the card session: %s", type(exc).__name__)

    def _prefetch(self, effect: Prefetch) -> Event:
        self._end_session()
        try:
            self._session = self._open_session()
            prefetch = self._session.prefetch()
        except CardError as exc:
            self.last_card_error = exc
            self._end_session()
            return CardFailed(effect.card_session, card_failure(exc))
        self._certificate = prefetch.auth_certificate
        auth, card_info = prefetch.tries_left.auth, prefetch.tries_left.card_info
        known = [t for t in (auth, card_info) if t is not None]
        return PrefetchDone(effect.card_session, min(known) if known else 0, auth, card_info)

    def _verify_and_read(self, effect: VerifyAndRead) -> Event:
        session = self._session
        held, self._held = self._held, {}
        pin = effect.pin if effect.pin is not None else held.pop(PinSlot.AUTH, None)
        card_info_pin: bytearray | None = None
        if not effect.same_pin:
            card_info_pin = effect.card_info_pin
            if card_info_pin is None:
                card_info_pin = held.pop(PinSlot.CARD_INFO, None)
        # What may be kept after a rejection (see the module docstring); wiped unless handed back.
        keep_auth = bytearray(pin) if pin is not None and not effect.same_pin else None
        card_info_source = pin if effect.same_pin else card_info_pin
        keep_card_info = bytearray(card_info_source) if card_info_source is not None else None
        try:
            if session is None:
                return CardFailed(effect.card_session, CardFailure.CARD_REMOVED)
            if pin is None or (not effect.same_pin and card_info_pin is None):
                # The PIN typed on the other screen is gone (the session was ended meanwhile):
                # nothing to verify; the resident starts again from the card (retryable).
                return CardFailed(effect.card_session, CardFailure.READ_FAILED)
            return self._read(session, effect, pin, card_info_pin, keep_auth, keep_card_info)
        finally:
            wipe(effect.pin, effect.card_info_pin, pin, card_info_pin, keep_auth, keep_card_info)
            for other in held.values():
                wipe(other)

    def _read(
        self,
        session: MyNumberCardSession,
        effect: VerifyAndRead,
        pin: bytearray,
        card_info_pin: bytearray | None,
        keep_auth: bytearray | None,
        keep_card_info: bytearray | None,
    ) -> Event:
        try:
            result = session.read(pin, card_info_pin=card_info_pin, allow_last_try=effect.allow_last_try)
        except (PinIncorrectError, LastTryRefusedError, PinFormatError) as exc:
            self.last_card_error = exc
            return self._rejected(session, effect, exc, keep_auth, keep_card_info)
        except CardError as exc:
            self.last_card_error = exc
            return CardFailed(effect.card_session, card_failure(exc))
        info = result.basic_four
        verification, expired = flow_verification(result)
        certificate = result.auth_certificate
        already = self._index is not None and self._index.contains(
            self.state.program_id, certificate.issuer, certificate.serial_number
        )
        return ReadDone(
            effect.card_session,
            Resident(info.name, info.address, info.birth_date, info.sex),
            result.auth_certificate_der,
            verification,
            expired,
            already,
        )

    def _rejected(
        self,
        session: MyNumberCardSession,
        effect: VerifyAndRead,
        exc: PinIncorrectError | LastTryRefusedError | PinFormatError,
        keep_auth: bytearray | None,
        keep_card_info: bytearray | None,
    ) -> PinRejected:
        """Map a PIN refusal to the flow's event, keeping the other PIN only when that is safe."""
        slot = PinSlot.CARD_INFO if exc.kind is PinKind.CARD_INFO else PinSlot.AUTH
        if isinstance(exc, PinIncorrectError | LastTryRefusedError):
            tries: int | None = exc.tries_left
        else:  # a format error used no try: the counter as last seen
            tries = session.tries_left.card_info if slot is PinSlot.CARD_INFO else session.tries_left.auth
        held: PinSlot | None = None
        if slot is PinSlot.CARD_INFO and keep_auth is not None:
            # The auth PIN was typed on its own screen and never tried (card-info goes first).
            self._held[PinSlot.AUTH] = bytearray(keep_auth)
            held = PinSlot.AUTH
        elif (
            slot is PinSlot.AUTH
            and keep_card_info
            and (isinstance(exc, PinIncorrectError) or not effect.same_pin)
        ):
            # The card-info PIN verified before the auth VERIFY, or was typed separately and untried.
            self._held[PinSlot.CARD_INFO] = bytearray(keep_card_info)
            held = PinSlot.CARD_INFO
        return PinRejected(effect.card_session, tries if tries is not None else 1, slot, held)

    def _save(self, effect: SaveRegistration) -> Event:
        session = self._session
        draft = effect.draft
        if session is None:
            return SaveFailed(effect.card_session, CardFailure.CARD_REMOVED)
        try:
            sequence = self._sequence.next()
            record = build_record(
                record_id=draft.record_id,
                program_id=draft.program_id,
                consents=draft.consents,
                resident=draft.resident,
                auth_certificate=draft.auth_certificate,
                kiosk=KioskStamp(self.kiosk_id, draft.clock, sequence),
                verification=draft.verification,
            )
            signature = session.sign_with_auth_key(record.canonical())
            signed = SignedRegistration(record, signature)
            # A card that signs with another key than its certificate's must not get a record queued.
            verify_card_signature(signed)
            plaintext = signed.to_plaintext()
        except CardError as exc:
            self.last_card_error = exc
            return SaveFailed(effect.card_session, card_failure(exc))
        except KioskError as exc:
            self.last_save_failure = type(exc).__name__
            return SaveFailed(effect.card_session, None)
        try:
            self._queue.enqueue(plaintext, record_id=record.record_id, program_id=record.program_id)
        except QueueRefusedError as exc:  # the port's promised refusals; anything else is a bug
            self.last_save_failure = type(exc).__name__
            logger.warning("the outbox refused a record: %s", type(exc).__name__)
            return SaveFailed(effect.card_session, None)
        certificate = self._certificate
        if self._index is not None and certificate is not None:
            try:
                self._index.add(record.program_id, certificate.issuer, certificate.serial_number)
            except KioskError as exc:  # the record is queued; the index is only a courtesy
                logger.warning("could not update the local index: %s", type(exc).__name__)
        return Saved(effect.card_session, record.record_id)


__all__: Final = ["OnStep", "Runner", "card_failure", "flow_verification"]
