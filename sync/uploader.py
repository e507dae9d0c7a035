"""Drain the outbox to the server: claim a batch, upload it, settle every record (``docs/outbox.md``).

The rule that makes delivery safe: a row leaves the outbox only on a per-record ``accepted`` or
``duplicate`` result for *its own* record id in a well-formed 200 reply. Everything else — timeouts,
5xx, 429/503, malformed or inconsistent replies, ids missing from the results — puts the row back to
``PENDING`` with a backoff; because the server de-duplicates by record id, resending is always safe.
Only a per-record ``rejected`` parks a row (kept sealed for operator export).

Error policy (``sync.errors``): transport/server → retry with backoff; throttled → Retry-After plus
jitter; rejected request (4xx) and protocol errors → retry later and raise an alert; 413 → halve
the batch.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sync import wire
from sync.client import SyncClient, retry_delay
from sync.errors import (
    PayloadTooLargeError,
    SyncCertificateError,
    SyncProtocolError,
    SyncRejectedError,
    SyncServerError,
    SyncThrottledError,
    SyncTransportError,
    TransferError,
)
from sync.outbox import ClaimedRecord, Outbox, Settlement

__all__ = ["SyncReport", "Uploader"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class SyncReport:
    """What one :meth:`Uploader.run_once` did. ``error`` is an error *class name*, never free text."""

    batches: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    retried: int = 0
    error: str | None = None
    retry_after_s: float | None = None
    alerts: list[str] = field(default_factory=list)
    clock_offset_s: float | None = None
    remaining: int = 0
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the pass ended without a transfer error."""
        return self.error is None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (``madoguchi sync --json``)."""
        return {
            "ok": self.ok,
            "batches": self.batches,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "retried": self.retried,
            "error": self.error,
            "retry_after_s": self.retry_after_s,
            "alerts": list(self.alerts),
            "clock_offset_s": self.clock_offset_s,
            "remaining": self.remaining,
            "duration_s": round(self.duration_s, 3),
        }


class Uploader:
    """Moves records from one :class:`Outbox` to one :class:`SyncClient` (same thread as the outbox).

    :param rng: randomness for jitter (seed it in tests).
    :param base_s: backoff base; :param cap_s: backoff cap.
    """

    def __init__(
        self,
        outbox: Outbox,
        client: SyncClient,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        batch_records: int = wire.MAX_BATCH_RECORDS,
        batch_bytes: int = wire.MAX_BATCH_BYTES,
        base_s: float = 1.0,
        cap_s: float = 300.0,
    ) -> None:
        self._outbox = outbox
        self._client = client
        self._rng = rng or random.Random()  # jitter, not security: no CSPRNG needed
        self._clock = clock
        self.batch_records = max(1, min(batch_records, wire.MAX_BATCH_RECORDS))
        self._batch_bytes = batch_bytes
        self._base = base_s
        self._cap = cap_s

    def run_once(self, *, ignore_schedule: bool = False, max_batches: int | None = None) -> SyncReport:
        """Upload due records batch after batch until none is due, a batch fails, or ``max_batches``.

        A pass stops at the first failed batch (the server is unwell: do not hammer it) and after any
        batch in which a record had to be retried, so it always terminates.

        :param ignore_schedule: also send records whose backoff has not expired (operator ``--once``).
        """
        report = SyncReport()
        started = time.monotonic()
        while max_batches is None or report.batches < max_batches:
            batch = self._outbox.claim(
                max_records=self.batch_records,
                max_bytes=self._batch_bytes,
                now=self._clock(),
                ignore_schedule=ignore_schedule,
            )
            if not batch:
                break
            report.batches += 1
            try:
                done = self._send(batch, report)
            except BaseException:
                # Not a transfer error (a bug, KeyboardInterrupt): give the rows back at once rather
                # than leaving them SENDING until the next start.
                self._outbox.release([c.record_id for c in batch], next_attempt_at=0.0, error_code="aborted")
                raise
            if not done:
                break
        report.clock_offset_s = self._client.clock_offset_s
        report.remaining = self._outbox.status().depth
        report.duration_s = time.monotonic() - started
        return report

    def _delay(self, batch: list[ClaimedRecord], retry_after: float | None = None) -> float:
        attempt = max(0, max(c.attempts for c in batch) - 1)
        return retry_delay(attempt, self._rng, retry_after=retry_after, base=self._base, cap=self._cap)

    def _send(self, batch: list[ClaimedRecord], report: SyncReport) -> bool:
        """Upload one batch and settle it; return true if every record got a final answer."""
        ids = [c.record_id for c in batch]
        try:
            reply = self._client.upload([c.envelope for c in batch])
        except PayloadTooLargeError as exc:
            if len(batch) > 1:
                self.batch_records = max(1, len(batch) // 2)
                self._outbox.release(ids, next_attempt_at=0.0, error_code="too_large")
                logger.warning("server refused a %d-record batch as too large; halving", len(batch))
                return True
            return self._fail(batch, report, exc, alert="record_too_large")
        except SyncThrottledError as exc:
            return self._fail(batch, report, exc, retry_after=exc.retry_after)
        except SyncServerError as exc:
            return self._fail(batch, report, exc, retry_after=exc.retry_after)
        except SyncRejectedError as exc:
            return self._fail(batch, report, exc, alert=f"request_refused_{exc.status}")
        except SyncProtocolError as exc:
            return self._fail(batch, report, exc, alert="protocol_error")
        except SyncCertificateError as exc:
            return self._fail(batch, report, exc, alert="tls_certificate")
        except SyncTransportError as exc:
            return self._fail(batch, report, exc)
        return self._settle(batch, reply.results, report)

    def _fail(
        self,
        batch: list[ClaimedRecord],
        report: SyncReport,
        exc: TransferError,
        *,
        retry_after: float | None = None,
        alert: str | None = None,
    ) -> bool:
        code = _code_for(exc)
        when = self._clock() + self._delay(batch, retry_after)
        self._outbox.release([c.record_id for c in batch], next_attempt_at=when, error_code=code)
        report.retried += len(batch)
        report.error = type(exc).__name__
        report.retry_after_s = retry_after
        if alert:
            report.alerts.append(alert)
        logger.warning(
            "upload of %d record(s) failed (%s); retry in %.1f s", len(batch), code, when - self._clock()
        )
        return False

    def _settle(
        self, batch: list[ClaimedRecord], results: tuple[wire.RecordResult, ...], report: SyncReport
    ) -> bool:
        wanted = {c.record_id for c in batch}
        seen: set[str] = set()
        outcome = Settlement()
        stray = 0
        for result in results:
            rid = result.record_id
            if rid not in wanted or rid in seen:
                stray += 1  # an id we did not send, or a second answer for one: trust neither
                continue
            seen.add(rid)
            if result.status is wire.RecordStatus.ACCEPTED:
                outcome.accepted.append(rid)
            elif result.status is wire.RecordStatus.DUPLICATE:
                outcome.duplicate.append(rid)
            else:
                outcome.rejected[rid] = result.reason or "unspecified"
        missing = [c for c in batch if c.record_id not in seen]
        if missing:
            when = self._clock() + self._delay(missing)
            outcome.retry = {c.record_id: (when, "missing_result") for c in missing}
            report.alerts.append("missing_results")
        if stray:
            report.alerts.append("unexpected_results")
        self._outbox.settle(outcome)
        report.accepted += len(outcome.accepted)
        report.duplicate += len(outcome.duplicate)
        report.rejected += len(outcome.rejected)
        report.retried += len(missing)
        return not missing


def _code_for(exc: TransferError) -> str:
    """A short error code for the outbox's clear ``last_error`` column."""
    if isinstance(exc, SyncServerError | SyncRejectedError):
        return f"http_{exc.status}"
    if isinstance(exc, SyncProtocolError):
        return "protocol"
    if isinstance(exc, SyncCertificateError):
        return "tls_certificate"
    return "transport"
