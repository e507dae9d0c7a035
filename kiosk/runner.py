"""Executes the flow's effects against the real card layer, the sequence file and the outbox.

The flow (:mod:`kiosk.flow`) decides; this driver does. It runs effects synchronously and feeds each
outcome back as an event, so a terminal front-end or a test drives a whole registration with
:meth:`Runner.dispatch`. The Qt front-end runs the same effect executors on its card worker thread.

At :class:`~kiosk.flow.SaveRegistration` the order is: allocate the record sequence number, build
the record, have the card sign SHA-256 of its canonical bytes with the JPKI auth key (the PIN
verified in this card session), check the signature, then hand record + signature to the outbox,
which seals and commits them in one transaction. If the card leaves before signing, nothing is
written; if the outbox fails, nothing is written.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Final

from card.certificates import AuthCertificate
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
from kiosk.flow import (
    Alarm,
    CancelTimer,
    CardFailed,
    CardFailure,
    Effect,
    EndCardSession,
    Event,
    Flow,
    FlowState,
    PinRejected,
    Prefetch,
    PrefetchDone,
    ReadDone,
    Saved,
    SaveFailed,
    SaveRegistration,
    StartTimer,
    VerifyAndRead,
    WarnTimeout,
    Wipe,
)
from kiosk.local_index import RegisteredHereIndex
from kiosk.ports import RegistrationQueue
from kiosk.registration import (
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

    def dispatch(self, event: Event) -> FlowState:
        """Apply ``event`` and run every resulting effect (and their outcomes) to quiescence."""
        pending: deque[Event] = deque([event])
        while pending:
            self.state, effects = self.flow.step(self.state, pending.popleft())
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
        elif isinstance(effect, SaveRegistration):
            return self._save(effect)
        elif isinstance(effect, EndCardSession | Wipe):
            self._end_session()
        if self._on_effect is not None and isinstance(effect, WarnTimeout | Alarm | Wipe):
            self._on_effect(effect)
        return None

    def _end_session(self) -> None:
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
        known = [t for t in (prefetch.tries_left.auth, prefetch.tries_left.card_info) if t is not None]
        return PrefetchDone(effect.card_session, min(known) if known else 0)

    def _verify_and_read(self, effect: VerifyAndRead) -> Event:
        session = self._session
        if session is None:
            wipe(effect.pin)
            return CardFailed(effect.card_session, CardFailure.CARD_REMOVED)
        try:
            result = session.read(effect.pin, allow_last_try=effect.allow_last_try)
        except PinIncorrectError as exc:
            self.last_card_error = exc
            return PinRejected(effect.card_session, exc.tries_left)
        except LastTryRefusedError as exc:
            self.last_card_error = exc
            return PinRejected(effect.card_session, 1)
        except PinFormatError as exc:
            self.last_card_error = exc
            tries = [t for t in (session.tries_left.auth, session.tries_left.card_info) if t is not None]
            return PinRejected(effect.card_session, min(tries) if tries else 1)
        except CardError as exc:
            self.last_card_error = exc
            return CardFailed(effect.card_session, card_failure(exc))
        finally:
            wipe(effect.pin)
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
        except CardError as exc:
            self.last_card_error = exc
            return SaveFailed(effect.card_session, card_failure(exc))
        except KioskError as exc:
            self.last_save_failure = type(exc).__name__
            return SaveFailed(effect.card_session, None)
        try:
            self._queue.enqueue(
                signed.to_plaintext(), record_id=record.record_id, program_id=record.program_id
            )
        except Exception as exc:  # any outbox failure (a port, not our tree) means "nothing written"
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


__all__: Final = ["Runner", "card_failure", "flow_verification"]
