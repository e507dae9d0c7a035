"""The server's typed outcomes: award decisions, record flags, review reasons, grant origins.

Each enum's values are the strings the server stores (``registrations.decision``,
``registrations.flags``, ``checkins.flags``, ``review_queue.reason``, ``grants.via``) and shows in
the admin API, exports and the audit log, so this module is the one mapping between the server's
outcomes and their stored spelling, as :class:`sync.wire.RejectReason` is for rejections; the kiosk's
view of a decision is :func:`grant_status` (``GET /v1/registrations/{code}``). Code in
``sync/server`` uses members, never the string literals (``tests/server/test_server_units.py``
checks); a value here never changes, because stored rows keep it.

psycopg adapts a ``StrEnum`` by its *name* in some paths: database writes pass ``.value``.
"""

from __future__ import annotations

from enum import Enum, StrEnum, unique

from sync.wire import GrantStatus

__all__ = ["AwardAction", "Decision", "Flag", "GrantVia", "ReviewReason", "ReviewResolution", "grant_status"]


@unique
class Decision(StrEnum):
    """What happened to an accepted registration's award (``records.decision``)."""

    GRANTED = "granted"
    LOTTERY_ENTERED = "lottery_entered"
    LOTTERY_WON = "lottery_won"
    LOTTERY_LOST = "lottery_lost"
    #: held for an operator (a possible same person, or a registration time outside the clock policy)
    REVIEW = "review"
    NO_AWARD = "no_award"
    EXCLUDED = "excluded"
    ALREADY_GRANTED = "already_granted"
    LOTTERY_CLOSED = "lottery_closed"
    ALREADY_ENTERED = "already_entered"
    QUOTA_EXHAUSTED = "quota_exhausted"

    @property
    def action(self) -> AwardAction:
        """What the decision writes: a grant row, a lottery entry, or nothing."""
        return _ACTIONS.get(self, AwardAction.NONE)


@unique
class AwardAction(Enum):
    """The row a decision adds (never stored: :attr:`Decision.action` derives it)."""

    GRANT = "grant"
    ENTER = "enter"
    NONE = "none"


_ACTIONS = {Decision.GRANTED: AwardAction.GRANT, Decision.LOTTERY_ENTERED: AwardAction.ENTER}


@unique
class Flag(StrEnum):
    """A note on a stored record that does not change its outcome (counted, shown to operators)."""

    # registrations (sync.server.verify, sync.server.decide)
    REVOCATION_NOT_CHECKED = "revocation_not_checked"
    REVOCATION_UNKNOWN = "revocation_unknown"
    #: registered more than the allowed skew before the receive time (queued offline, slow clock)
    CLOCK_SKEW = "clock_skew"
    #: the record's registration time and the envelope's ``created_at`` disagree beyond the skew
    CLOCK_MISMATCH = "clock_mismatch"
    #: dated before the device's own history (docs/server.md, clock policy): sent to review
    CLOCK_OUT_OF_BOUNDS = "clock_out_of_bounds"
    SEQUENCE_REUSE = "sequence_reuse"
    SEQUENCE_GAP = "sequence_gap"
    POSSIBLE_SAME_PERSON = "possible_same_person"
    # shelter check-ins (sync.server.shelters)
    CERTIFICATE_EXPIRED = "certificate_expired"
    UNVERIFIED = "unverified"


@unique
class ReviewReason(StrEnum):
    """Why a registration waits in the review queue (``review_queue.reason``)."""

    SECONDARY_MATCH_OTHER_ADDRESS = "secondary_match_other_address"
    CLOCK_OUT_OF_BOUNDS = "clock_out_of_bounds"


@unique
class ReviewResolution(StrEnum):
    """An operator's answer to a review item (``review_queue.resolution``)."""

    SAME_PERSON = "same_person"
    DIFFERENT_PERSON = "different_person"


@unique
class GrantVia(StrEnum):
    """How a grant came about (``grants.via``)."""

    FCFS = "fcfs"
    REVIEW = "review"
    LOTTERY = "lottery"


_GRANT_STATUS = {
    Decision.GRANTED: GrantStatus.GRANTED,
    Decision.LOTTERY_ENTERED: GrantStatus.LOTTERY_PENDING,
    Decision.LOTTERY_WON: GrantStatus.LOTTERY_WON,
    Decision.LOTTERY_LOST: GrantStatus.LOTTERY_LOST,
    Decision.REVIEW: GrantStatus.UNDER_REVIEW,
}


def grant_status(decision: object) -> GrantStatus | None:
    """The kiosk's view of a stored decision: None for a rejected record (no decision), every
    decision without an award of its own is ``not_granted``."""
    if decision is None:
        return None
    try:
        return _GRANT_STATUS.get(Decision(str(decision)), GrantStatus.NOT_GRANTED)
    except ValueError:  # a decision this version does not know (a newer server wrote it)
        return GrantStatus.NOT_GRANTED
