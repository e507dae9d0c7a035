"""HTTP client of the central server's ``/v1`` API (``docs/wire-format.md``), over httpx.

One job: turn a request into either a validated reply or one typed :mod:`sync.errors` exception.
Every httpx exception is translated in one place (:func:`_translate_errors`); replies are read with a
byte cap and an overall deadline, so a hostile or broken server can neither exhaust memory nor hang
the uploader. Redirects are not followed (a redirect is a protocol error: records must go exactly
where the pinned key says).

Retry *policy* is not here: :func:`backoff_delay` and :func:`retry_delay` are pure functions, used by
:mod:`sync.uploader`.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import ipaddress
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from sync import wire
from sync.errors import (
    InsecureURLError,
    PayloadTooLargeError,
    SyncCertificateError,
    SyncProtocolError,
    SyncRejectedError,
    SyncServerError,
    SyncThrottledError,
    SyncTransportError,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_REPLY_BYTES",
    "SyncClient",
    "UploadReply",
    "backoff_delay",
    "parse_retry_after",
    "require_secure_url",
    "retry_delay",
]

logger = logging.getLogger(__name__)

#: Connect 5 s, read/write 30 s (a 4 MiB batch on a slow uplink), pool 5 s.
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0, pool=5.0)
#: Overall deadline for one request including reading the reply (a trickling server cannot hold us).
DEFAULT_DEADLINE_S: Final = 120.0
#: Largest reply body accepted. 500 results of about 120 bytes each fit 16 times over.
MAX_REPLY_BYTES: Final = 1024 * 1024
#: Longest Retry-After honoured; a larger value is clamped (a typo on the server must not park a
#: kiosk for a week).
MAX_RETRY_AFTER_S: Final = 3600.0


def require_secure_url(url: str) -> str:
    """Return ``url`` without a trailing slash if it is HTTPS, or HTTP to a loopback host.

    :raises InsecureURLError: any other scheme, or plain HTTP to a non-loopback host.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise InsecureURLError(f"{url!r}: no host")
    if parts.scheme == "https":
        return url.rstrip("/")
    if parts.scheme != "http":
        raise InsecureURLError(f"{url!r}: scheme must be https")
    if host == "localhost":
        return url.rstrip("/")
    try:
        if ipaddress.ip_address(host).is_loopback:
            return url.rstrip("/")
    except ValueError:
        pass
    raise InsecureURLError(f"{url!r}: plain http is only allowed to loopback; use https")


def backoff_delay(attempt: int, rng: random.Random, *, base: float = 1.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: ``uniform(0, min(cap, base * 2**attempt))``.

    Full jitter (rather than ``exp + small jitter``) spreads a fleet of kiosks that all lost the
    server at the same moment evenly over the window, so they do not return in waves.

    :param attempt: 0 for the first retry.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    # 2**attempt overflows float for huge attempt counts; the cap is reached long before.
    window = cap if attempt >= 64 else min(cap, base * 2.0**attempt)
    return rng.uniform(0.0, window)


def retry_delay(
    attempt: int,
    rng: random.Random,
    *,
    retry_after: float | None = None,
    base: float = 1.0,
    cap: float = 300.0,
) -> float:
    """Delay before the next try: full-jitter backoff, or, when the server sent ``Retry-After``,
    never earlier than it, spread over at most as long again (``retry_after + uniform(0,
    min(cap, max(base, retry_after)))``), so throttled kiosks do not all return at the same second."""
    if retry_after is None:
        return backoff_delay(attempt, rng, base=base, cap=cap)
    spread = min(cap, max(base, retry_after))
    return retry_after + rng.uniform(0.0, spread)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Parse ``Retry-After`` (delta-seconds or an HTTP date) into seconds, clamped to [0, 3600].

    Returns ``None`` when absent or unparsable (the caller then uses plain backoff).
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, min(when.timestamp() - current, MAX_RETRY_AFTER_S))


@dataclass(frozen=True, slots=True)
class UploadReply:
    """A validated 200 reply to ``POST /v1/records``."""

    results: tuple[wire.RecordResult, ...]
    clock_offset_s: float | None

    @property
    def code_collisions(self) -> tuple[str, ...]:
        """Record ids the server refused because another record already has their registration
        code (``code_collision``): the resident's receipt does not name their registration, so the
        kiosk shows staff a new code must be issued (a new record id, re-signed by the card)."""
        return tuple(
            r.record_id
            for r in self.results
            if r.status is wire.RecordStatus.REJECTED and r.reason == wire.RejectReason.CODE_COLLISION
        )


@contextmanager
def _translate_errors() -> Iterator[None]:
    """The one place where httpx exceptions become :mod:`sync.errors` exceptions."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise SyncTransportError(f"timeout ({exc.__class__.__name__})") from exc
    except httpx.DecodingError as exc:
        raise SyncProtocolError(f"undecodable reply ({exc.__class__.__name__})") from exc
    except httpx.ConnectError as exc:
        if _certificate_refused(exc):
            # Said apart from other network errors: the fix is the trust configuration, not waiting.
            raise SyncCertificateError(
                "TLS: the server certificate did not verify (wrong host, or a CA missing from "
                "[server] ca_file)"
            ) from exc
        raise SyncTransportError(f"network error ({exc.__class__.__name__})") from exc
    except httpx.TransportError as exc:
        raise SyncTransportError(f"network error ({exc.__class__.__name__})") from exc
    except httpx.HTTPError as exc:
        raise SyncTransportError(f"HTTP error ({exc.__class__.__name__})") from exc


def _certificate_refused(exc: BaseException) -> bool:
    """True if ``exc`` was caused by a failed certificate verification (httpx chains the ssl error)."""
    seen: BaseException | None = exc
    for _ in range(8):  # the chain is short; the bound only guards against a cycle
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class SyncClient:
    """The kiosk's view of the server.

    :param base_url: ``https://host[:port]`` (plain http only to loopback).
    :param kiosk_id: sent as ``X-Madoguchi-Device`` on uploads.
    :param http: an injected ``httpx.Client`` (tests); by default one with :data:`DEFAULT_TIMEOUT`,
        verification on, no redirects. Not closed by :meth:`close` when injected.
    :param tls_context: the context that verifies the server (``[server] ca_file`` loaded by
        ``kiosk.settings``, for a prefecture's private CA); ``None`` = httpx's default trust store.
        Ignored when ``http`` is injected.
    :param clock: wall clock in seconds, to measure the offset to the server's ``Date``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        kiosk_id: str,
        http: httpx.Client | None = None,
        tls_context: ssl.SSLContext | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        deadline_s: float = DEFAULT_DEADLINE_S,
        max_reply_bytes: int = MAX_REPLY_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = require_secure_url(base_url)
        self.kiosk_id = wire.check_kiosk_id(kiosk_id)
        self._own_http = http is None
        self._http = http or httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            verify=tls_context if tls_context is not None else True,
        )
        self._deadline_s = deadline_s
        self._max_reply = max_reply_bytes
        self._clock = clock
        self.clock_offset_s: float | None = None

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._own_http:
            self._http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests -------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request; return (status, body) for 2xx, raise the typed error for anything else."""
        hdrs = {"Accept": "application/json", "User-Agent": "madoguchi-kiosk/1"}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        start = time.monotonic()
        with (
            _translate_errors(),
            self._http.stream(method, self.base_url + path, content=body, headers=hdrs) as resp,
        ):
            self._note_date(resp.headers.get("Date"))
            status = resp.status_code
            if not 200 <= status < 300:
                self._raise_for_status(resp)
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > self._max_reply:
                    raise SyncProtocolError(f"reply larger than {self._max_reply} bytes")
                if time.monotonic() - start > self._deadline_s:
                    raise SyncTransportError(f"reply not complete within {self._deadline_s:.0f} s")
                chunks.append(chunk)
            return status, b"".join(chunks)

    def _raise_for_status(self, resp: httpx.Response) -> None:
        status = resp.status_code
        # Error bodies are not read: they are not needed to decide, and a hostile one may be huge.
        retry_after = parse_retry_after(resp.headers.get("Retry-After"), now=self._clock())
        if status in (429, 503):
            raise SyncThrottledError(status, "server busy", retry_after=retry_after)
        if status == 413:
            raise PayloadTooLargeError(status, "batch too large")
        if 500 <= status < 600:
            raise SyncServerError(status, "server error", retry_after=retry_after)
        if 400 <= status < 500:
            raise SyncRejectedError(status, "request refused")
        raise SyncProtocolError(f"unexpected HTTP status {status}")

    def _note_date(self, value: str | None) -> None:
        """Record ``server Date - kiosk clock`` (seconds; positive when the kiosk is slow)."""
        if not value:
            return
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.UTC)
        self.clock_offset_s = round(when.timestamp() - self._clock(), 3)

    @staticmethod
    def _json(body: bytes) -> Any:
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise SyncProtocolError("reply is not valid JSON") from None

    # -- API --------------------------------------------------------------------------------------

    def enroll(self, token: str, device_public_key: bytes) -> wire.EnrollResponse:
        """``POST /v1/enroll``; returns the validated reply (the caller pins the key).

        :raises SyncRejectedError: 403 for a bad token, 409 for a kiosk id enrolled with another key.
        """
        req = wire.EnrollRequest(token=token, kiosk_id=self.kiosk_id, device_public_key=device_public_key)
        _, body = self._request("POST", f"{wire.API_PREFIX}/enroll", body=wire.canonical_json(req.to_json()))
        try:
            return wire.EnrollResponse.from_json(self._json(body))
        except wire.WireFormatError as exc:
            raise SyncProtocolError(f"enroll reply: {exc}") from None

    def upload(self, envelopes: Sequence[wire.Envelope]) -> UploadReply:
        """``POST /v1/records`` with one batch; returns the parsed per-record results.

        The results are validated for shape here; matching them to the batch is the uploader's job.
        """
        if not 1 <= len(envelopes) <= wire.MAX_BATCH_RECORDS:
            raise ValueError(f"a batch holds 1-{wire.MAX_BATCH_RECORDS} envelopes")
        body = wire.batch_request_body(list(envelopes))
        if len(body) > wire.MAX_BATCH_BYTES and len(envelopes) > 1:
            raise PayloadTooLargeError(413, "batch larger than the wire limit (not sent)")
        _, reply = self._request(
            "POST", f"{wire.API_PREFIX}/records", body=body, headers={wire.DEVICE_HEADER: self.kiosk_id}
        )
        try:
            parsed = wire.BatchResults.parse(reply)
        except wire.WireFormatError as exc:
            raise SyncProtocolError(f"records reply: {exc}") from None
        return UploadReply(results=parsed.results, clock_offset_s=self.clock_offset_s)

    def post_heartbeat(self, body: bytes) -> None:
        """``POST /v1/heartbeat`` with a signed body from :func:`sync.heartbeat.signed_body`.

        :raises SyncRejectedError: 400 malformed, 401 unknown device, 403 revoked or a bad signature,
            409 an older heartbeat than the last one stored.
        """
        self._request(
            "POST", f"{wire.API_PREFIX}/heartbeat", body=body, headers={wire.DEVICE_HEADER: self.kiosk_id}
        )

    def health(self) -> bool:
        """``GET /v1/health``: true when the server answers ``{"status": "ok"}``."""
        _, body = self._request("GET", f"{wire.API_PREFIX}/health")
        obj = self._json(body)
        return isinstance(obj, dict) and obj.get("status") == "ok"

    def registration_status(self, code: str) -> str:
        """``GET /v1/registrations/{code}``: the server's status string for a receipt code."""
        if not code.isascii() or not code.replace("-", "").isalnum() or len(code) > 64:
            raise ValueError("invalid registration code")
        _, body = self._request("GET", f"{wire.API_PREFIX}/registrations/{code}")
        obj = self._json(body)
        if not isinstance(obj, dict) or not isinstance(obj.get("status"), str):
            raise SyncProtocolError("registration reply: expected {code, status}")
        return str(obj["status"])

    def __repr__(self) -> str:
        return f"SyncClient({self.base_url!r}, kiosk_id={self.kiosk_id!r})"
