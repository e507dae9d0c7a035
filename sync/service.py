"""The background sync service the kiosk runs: a leader thread, optional catch-up helpers, no Qt.

The leader owns its own outbox connection and HTTP client (SQLite connections are per thread), runs
:meth:`sync.uploader.Uploader.run_once` and then sleeps until the next record is due, the poll
interval passes, or :meth:`SyncService.wake` is called (the kiosk calls it after an enqueue). Only
the leader retries a failing server and backs off, so a fleet facing an outage sends one request
per kiosk at a time however ``parallel`` is set.

``parallel - 1`` helper threads exist for catching up after an outage (days of records): while the
leader's last pass succeeded and left records due, each helper uploads one batch at a time on its
own connection. Claims are atomic (``BEGIN IMMEDIATE``), so batches are disjoint, and the reference
server verifies them in parallel. A helper that finds nothing due or meets any failure goes back to
waiting and leaves the server to the leader.

Reports go to ``on_report``, which runs *on a sync thread*: a Qt front-end re-emits them as a
signal (queued connection) and never touches widgets from it.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.client import SyncClient, retry_delay
from sync.errors import SyncError
from sync.outbox import Outbox
from sync.uploader import SyncReport, Uploader
from sync.wire import WireFormatError

__all__ = ["MAX_PARALLEL", "HeartbeatPlan", "SyncService"]

#: Upper bound of :class:`SyncService` ``parallel`` (and of ``[server] parallel_uploads``).
MAX_PARALLEL = 8

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeartbeatPlan:
    """How the leader reports the booth's health to the server (issue 10): every ``interval_s``,
    after an upload pass, on the leader's own connection, signed with ``device_key``.

    ``reader_state`` is called on the sync thread and must only read (the kiosk passes a function
    of the last flow state it showed). A failed heartbeat is logged by type and never holds up an
    upload; the next one is tried after the interval.
    """

    device_key: Ed25519PrivateKey
    version: str
    reader_state: Callable[[], str]
    interval_s: float = 300.0


def _error_code(error: str | None) -> str | None:
    """The heartbeat's error code of ``last_error`` (an exception class name or a pass's code):
    ``SyncTransportError`` → ``sync_transport_error``; only ``[a-z0-9_.]``, at most 64."""
    if not error:
        return None
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", error).lower()
    return re.sub(r"[^a-z0-9_.]", "_", snake)[:64]


class SyncService:
    """Uploads in the background until :meth:`stop`.

    :param open_outbox: called once, on the sync thread, to open the thread's own outbox.
    :param make_client: called once, on the sync thread.
    :param interval_s: longest sleep between passes when idle.
    :param min_sleep_s: shortest sleep after a failed pass, and the backoff base.
    :param max_backoff_s: longest backoff after repeated failed passes (Retry-After may add to it).
    :param on_report: called on a sync thread after every pass that did something or failed.
    :param parallel: upload threads while catching up (1 = the leader only; at most 8).
    :param heartbeat: when given, the leader also sends a heartbeat every ``heartbeat.interval_s``.
    """

    def __init__(
        self,
        *,
        open_outbox: Callable[[], Outbox],
        make_client: Callable[[], SyncClient],
        interval_s: float = 30.0,
        min_sleep_s: float = 1.0,
        max_backoff_s: float = 300.0,
        on_report: Callable[[SyncReport], None] | None = None,
        rng: random.Random | None = None,
        parallel: int = 1,
        heartbeat: HeartbeatPlan | None = None,
    ) -> None:
        if not 1 <= parallel <= MAX_PARALLEL:
            raise ValueError(f"parallel must be 1-{MAX_PARALLEL}")
        self._parallel = parallel
        self._open_outbox = open_outbox
        self._make_client = make_client
        self._interval = interval_s
        self._min_sleep = min_sleep_s
        self._max_backoff = max_backoff_s
        self._on_report = on_report
        self._rng = rng or random.Random()  # jitter, not security
        self._failures = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._catch_up = threading.Event()  # set by the leader: the last pass was good, more is due
        self._threads: list[threading.Thread] = []
        self.last_report: SyncReport | None = None
        self.last_error: str | None = None
        self._heartbeat = heartbeat
        self._last_beat: float | None = None
        #: Heartbeats the server took (a count: the kiosk's staff view and the tests read it).
        self.heartbeats_sent = 0

    def start(self) -> None:
        """Start the leader and the helpers (once)."""
        if self._threads:
            raise RuntimeError("SyncService already started")
        self._threads = [threading.Thread(target=self._run, name="madoguchi-sync", daemon=True)]
        self._threads += [
            threading.Thread(target=self._help, name=f"madoguchi-sync-{n}", daemon=True)
            for n in range(1, self._parallel)
        ]
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        """Ask for a pass now (e.g. right after an enqueue); ignored while backing off after a failure."""
        self._wake.set()

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Stop after the current batch; return true if the thread ended within ``timeout``."""
        self._stop.set()
        self._wake.set()
        self._catch_up.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    @property
    def running(self) -> bool:
        """True while every thread is alive (a thread ends only at :meth:`stop` or on a bug)."""
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def _run(self) -> None:
        try:
            outbox = self._open_outbox()
            client = self._make_client()
        except SyncError as exc:
            self.last_error = type(exc).__name__
            logger.error("sync service cannot start: %s", type(exc).__name__)
            return
        uploader = Uploader(outbox, client, rng=self._rng)
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    # With helpers, one batch per pass, so they join in after the first batch of a
                    # backlog instead of after twenty.
                    report = uploader.run_once(max_batches=1 if self._parallel > 1 else 20)
                except SyncError as exc:  # storage trouble: report and keep trying
                    self.last_error = type(exc).__name__
                    logger.error("sync pass failed: %s", type(exc).__name__)
                    self._stop.wait(self._interval)
                    continue
                except Exception as exc:
                    # A bug, not an operating condition: record it where the kiosk can see it (the
                    # thread stops; ``running`` turns false) and let it propagate to the thread hook.
                    self.last_error = type(exc).__name__
                    raise
                self.last_report = report
                self.last_error = report.error
                if self._on_report is not None and (report.batches or report.error):
                    self._on_report(report)
                if report.ok and report.remaining > 0 and self._parallel > 1:
                    self._catch_up.set()
                else:
                    self._catch_up.clear()
                self._beat(client, outbox)
                sleep = self._sleep_after(report, outbox)
                if not report.ok:
                    # A wake-up (new record) must not cut a backoff short: the server asked for it.
                    self._stop.wait(sleep)
                else:
                    self._wake.wait(sleep)
        finally:
            client.close()
            outbox.close()

    def _beat(self, client: SyncClient, outbox: Outbox) -> None:
        """Send a heartbeat when one is due (no personal data: counts, states, codes)."""
        plan = self._heartbeat
        now = time.monotonic()
        if plan is None or (self._last_beat is not None and now - self._last_beat < plan.interval_s):
            return
        from sync.heartbeat import send_heartbeat

        self._last_beat = now
        try:
            status = outbox.status()
            oldest = None if status.oldest_age_s is None else max(0, round(status.oldest_age_s))
            send_heartbeat(
                client,
                plan.device_key,
                version=plan.version,
                queue_depth=status.depth,
                oldest_queued_s=oldest,
                reader_state=plan.reader_state(),
                last_error=_error_code(self.last_error),
            )
        except (SyncError, WireFormatError) as exc:
            logger.warning("heartbeat not sent: %s", type(exc).__name__)
            return
        self.heartbeats_sent += 1

    def _help(self) -> None:
        """A catch-up helper: one batch at a time while the leader says more is due.

        Each batch goes on a new connection. A server farm balances connections, not requests
        (several API processes on one ``SO_REUSEPORT`` port, or an L4 load balancer in front of
        several hosts), so long-lived helper connections can all land on one process and leave the
        others idle; a new connection per batch (one TCP/TLS handshake per 500 records) spreads
        them. The leader keeps its connection: it is the one that runs all day.
        """
        try:
            outbox = self._open_outbox()
        except SyncError as exc:
            logger.error("sync helper cannot start: %s", type(exc).__name__)
            return
        try:
            while not self._stop.is_set():
                self._catch_up.wait()
                if self._stop.is_set():
                    break
                try:
                    with self._make_client() as client:
                        report = Uploader(outbox, client, rng=self._rng).run_once(max_batches=1)
                except SyncError as exc:  # storage trouble: the leader reports and retries it
                    logger.warning("sync helper pass failed: %s", type(exc).__name__)
                    self._catch_up.clear()
                    continue
                if self._on_report is not None and (report.batches or report.error):
                    self._on_report(report)
                if not report.ok or not report.batches:
                    self._catch_up.clear()  # nothing due, or trouble: back to the leader alone
        finally:
            outbox.close()

    def _sleep_after(self, report: SyncReport, outbox: Outbox) -> float:
        """After a failed pass: service-level full-jitter backoff (or Retry-After), however many other
        rows are due, so a fleet facing a down server backs off instead of trying a batch a second.
        Otherwise: no sleep if more is due now, else until the next row is due or the interval."""
        if not report.ok:
            self._failures += 1
            delay = retry_delay(
                self._failures - 1,
                self._rng,
                retry_after=report.retry_after_s,
                base=self._min_sleep,
                cap=self._max_backoff,
            )
            return max(self._min_sleep, delay)
        self._failures = 0
        due = outbox.next_due()
        if due is None:
            return self._interval
        wait = max(0.0, due - time.time())
        if report.retried:
            wait = max(wait, self._min_sleep)  # a record without an answer: never a busy loop
        return min(wait, self._interval)
