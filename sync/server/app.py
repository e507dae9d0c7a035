"""The HTTP API (``docs/wire-format.md`` §2 and the admin API), as a FastAPI app factory.

Design choices:

- **Manual JSON on the hot path.** ``POST /v1/records`` reads the raw body with a hard size limit
  (413 before parsing), parses with :mod:`sync.wire` and writes the reply with ``json.dumps``: a
  Pydantic model over 500 envelopes would cost more than the crypto it guards. The OpenAPI schema
  still describes the body and every reply (``openapi_extra``).
- **Back-pressure.** Each process admits ``max_inflight_batches`` uploads at once; the next gets 429
  with ``Retry-After`` instead of queueing without bound. A database outage is 503 with
  ``Retry-After``; the kiosks keep their records and retry (the record id makes that safe).
- **Threads.** Verification and the database transaction run in a worker thread, one batch at a
  time per process (CPU-bound, GIL-holding work gains nothing from two threads); the event loop only
  moves bytes, so health checks and 429 answers stay prompt while a batch is being verified.
- Error bodies are ``{"error": code, "detail": text}`` and never contain personal data.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk.rules import wire_rules
from kiosk.rules.record import normalize_code
from sync.server import admin, devices
from sync.server.context import ServerContext
from sync.server.errors import (
    DeviceConflictError,
    DeviceRefusedError,
    DeviceRevokedError,
    EnrollmentError,
    InvalidDeviceKeyError,
    ServerError,
    StorageError,
)
from sync.server.guard import DEVICE_ID_STATE, DEVICE_KEY_STATE, GuardLimits, RequestGuard
from sync.server.ingest import Ingestor
from sync.server.lottery import LotteryError, run_draw
from sync.server.outcomes import grant_status
from sync.wire import (
    DEVICE_HEADER,
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    SUITE_ID,
    EnrollRequest,
    EnrollResponse,
    GrantStatus,
    MessageFormatError,
    RecordStatus,
    parse_batch_request,
    strict_json_loads,
)

logger = logging.getLogger(__name__)

RETRY_AFTER_BUSY = "1"
RETRY_AFTER_UNAVAILABLE = "5"


def _error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def _json(obj: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        status_code=status,
        media_type="application/json",
    )


# --- OpenAPI shapes (documentation and the admin bodies) ------------------------------------------


class ErrorBody(BaseModel):
    """Every 4xx/5xx body."""

    error: str
    detail: str


def _schema_pattern(rule: re.Pattern[str]) -> str:
    """A wire rule's pattern for JSON Schema, whose regex dialect (ECMA) has ``$`` but no ``\\Z``."""
    return rule.pattern.removesuffix(r"\Z") + "$"


class EnrollBody(BaseModel):
    """``POST /v1/enroll`` request."""

    token: str = Field(min_length=1, max_length=256)
    kiosk_id: str = Field(pattern=_schema_pattern(wire_rules.IDENTIFIER))
    device_public_key: str = Field(
        pattern=r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$",
        description="base64 of the raw 32-byte Ed25519 public key: a canonical encoding of a point "
        "of prime order (identity, small-order and non-canonical keys get 400 invalid_device_key)",
    )


class EnrollReply(BaseModel):
    """``POST /v1/enroll`` reply."""

    device_id: str
    server_public_key: str
    suite: str


class RecordResultBody(BaseModel):
    """One per-record result."""

    record_id: str
    status: str = Field(description=" | ".join(RecordStatus))
    reason: str | None


class BatchReply(BaseModel):
    """``POST /v1/records`` reply."""

    results: list[RecordResultBody]


class StatusReply(BaseModel):
    """``GET /v1/registrations/{code}`` reply: the status only, no personal data."""

    code: str
    status: str = Field(description="received | accepted | rejected")
    grant: str | None = Field(description=" | ".join(GrantStatus))


class HeartbeatReply(BaseModel):
    """``POST /v1/heartbeat`` reply."""

    status: str
    received_at: str


class HealthReply(BaseModel):
    """``GET /v1/health`` reply."""

    status: str


class ReviewDecision(BaseModel):
    """``POST /v1/admin/review/{id}``: whether the two registrations are the same person."""

    same_person: bool


class ExclusionItem(BaseModel):
    """One exclusion: ``name`` + ``birth_date`` (hashed on arrival, never stored) or ``key_hash``."""

    name: str | None = Field(default=None, min_length=1, max_length=512)
    birth_date: date | None = None
    key_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class ExclusionImport(BaseModel):
    """``POST /v1/admin/exclusions`` body."""

    list_id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]{0,63}$", description="the programme id")
    entries: list[ExclusionItem] = Field(max_length=100_000)


class DrawRequest(BaseModel):
    """``POST /v1/admin/lottery/{program_id}/draw`` body."""

    seed: str = Field(min_length=1, max_length=256)


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON body itself (raw bytes, strict parser)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_BATCH_SCHEMA = _json_body(
    {
        "type": "object",
        "required": ["records"],
        "properties": {
            "records": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BATCH_RECORDS,
                "items": {
                    "description": "a sealed envelope (docs/wire-format.md); any item "
                    "that is not a valid one gets its own rejected result (bad_header), "
                    "the rest of the batch is still processed",
                },
            }
        },
    }
)
_HEARTBEAT_SCHEMA = _json_body(
    {
        "type": "object",
        "required": ["heartbeat", "sig"],
        "properties": {
            "heartbeat": {"type": "object", "description": "see sync/heartbeat.py"},
            "sig": {"type": "string", "description": "base64 Ed25519 signature"},
        },
    }
)

_ADMIN_SCHEME = HTTPBearer(auto_error=False, scheme_name="adminToken", description="the admin token")
_DEVICE_SCHEME = APIKeyHeader(
    name=DEVICE_HEADER,
    auto_error=False,
    scheme_name="device",
    description="the enrolled kiosk id; every record in the body is Ed25519-signed by that device",
)


def require_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_ADMIN_SCHEME)]
) -> str:
    """FastAPI dependency: the admin bearer token (the guard already checked it before the body
    was read; this second check keeps a route safe if it is ever mounted without the guard)."""
    ctx: ServerContext = request.app.state.ctx
    if credentials is None:
        raise StarletteHTTPException(
            401, "admin bearer token required", headers={"WWW-Authenticate": "Bearer"}
        )
    if not ctx.keys.check_admin_token(credentials.credentials):
        raise StarletteHTTPException(403, "invalid admin token")
    return "admin"


Admin = Annotated[str, Depends(require_admin)]


def device_of(request: Request, _header: Annotated[str | None, Depends(_DEVICE_SCHEME)]) -> str:
    """FastAPI dependency: the device the guard authenticated (documents the header scheme)."""
    device_id = request.scope.get("state", {}).get(DEVICE_ID_STATE)
    if not isinstance(device_id, str):
        raise StarletteHTTPException(401, "device not authenticated")
    return device_id


DeviceId = Annotated[str, Depends(device_of)]


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error responses a route really has (OpenAPI), each with the error body."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": ErrorBody}
        if code in (429, 503):
            entry["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
        out[code] = entry
    return out


#: what the guard can answer before a route with a body runs
_BODY = (400, 408, 413, 415)
_ADMIN = (401, 403)
_DEVICE = (401, 403, 429)


class _Gate:
    """Counts uploads in progress in this process; refuses beyond ``limit`` (429)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._busy = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self._busy >= self._limit:
                return False
            self._busy += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._busy -= 1


def create_app(ctx: ServerContext, *, close_on_shutdown: bool = False) -> FastAPI:
    """Build the API for one :class:`ServerContext`, one named builder per part.

    The order is the order a request meets the parts (issue 14): the guard's size, header and
    authentication limits before any route, then the routes (the kiosk's, the admin's, the
    shelters'), then the OpenAPI schema that describes what they really answer.
    """
    app = _new_app(ctx, close_on_shutdown=close_on_shutdown)
    ingestor = Ingestor(ctx)
    app.state.ctx = ctx
    app.state.ingestor = ingestor
    _install_guard(app, ctx, ingestor)
    _install_error_handlers(app)
    _install_health(app, ctx)
    _install_enroll(app, ctx)
    _install_upload(app, ctx, ingestor)
    _install_heartbeat(app, ctx)
    _install_status(app, ctx)
    _install_admin_devices(app, ctx)
    _install_admin_review(app, ctx)
    _install_admin_programmes(app, ctx)
    from sync.server.shelters_api import install as install_shelters  # docs/shelter.md §10

    install_shelters(app, ctx)
    _install_openapi(app)
    return app


def _new_app(ctx: ServerContext, *, close_on_shutdown: bool) -> FastAPI:
    """The bare FastAPI app: its lifespan closes the context only when the app owns it (``run``),
    the CDN-loading interactive docs are off, and unknown query parameters are refused app-wide."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if close_on_shutdown:
            ctx.close()

    return FastAPI(
        title="Madoguchi reference central server",
        version="1",
        description="Receives sealed, card-signed registrations from kiosks; verifies, de-duplicates, "
        "decides eligibility and grants. See docs/server.md and docs/wire-format.md.",
        lifespan=lifespan,
        # the interactive docs load their scripts from a public CDN: off (the schema stays at
        # /openapi.json for tools and for docs served from an operator's own machine)
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(_no_unknown_query)],
    )


def _install_guard(app: FastAPI, ctx: ServerContext, ingestor: Ingestor) -> None:
    """The request guard (``sync.server.guard``) runs before every route: size and header limits,
    then the admin token or the device (known, not revoked), then the body under a time limit, so
    no unauthenticated or stalled client holds anything a real kiosk needs (issue 14)."""
    app.add_middleware(
        RequestGuard,
        limits=GuardLimits(
            body_timeout_s=ctx.options.body_timeout_s,
            per_device_inflight=ctx.options.per_device_inflight,
        ),
        check_admin=ctx.keys.check_admin_token,
        lookup_device=ingestor.lookup,
    )


def _install_error_handlers(app: FastAPI) -> None:
    """Every error as ``{"error", "detail"}`` without personal data; a database outage is 503 with
    ``Retry-After`` so kiosks keep their records and come back."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", "the request does not match the API schema")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(StorageError)
    async def _storage(_: Request, exc: StorageError) -> JSONResponse:
        logger.error("database unavailable: %s", type(exc).__name__)  # no DB detail (may quote row data)
        return _error(503, "unavailable", "database unavailable", {"Retry-After": RETRY_AFTER_UNAVAILABLE})


# --- kiosk endpoints ------------------------------------------------------------------------------


def _install_health(app: FastAPI, ctx: ServerContext) -> None:
    """``GET /v1/health``: a load balancer's probe that also proves the database answers."""

    @app.get("/v1/health", response_model=HealthReply, tags=["kiosk"], responses=_responses(503))
    def health() -> Response:
        """Liveness and database reachability."""
        with ctx.db.transaction() as tx:
            tx.scalar("SELECT 1")
        return _json({"status": "ok"})


def _install_enroll(app: FastAPI, ctx: ServerContext) -> None:
    """``POST /v1/enroll``: each refusal its own code, so an installer can tell a bad key from a used
    token or a revoked kiosk."""

    @app.post(
        "/v1/enroll",
        response_model=EnrollReply,
        responses=_responses(*_BODY, 403, 409, 429),
        tags=["kiosk"],
        openapi_extra=_json_body(EnrollBody.model_json_schema()),
    )
    async def enroll(request: Request) -> Response:
        """Bind a kiosk id to its Ed25519 key with a one-time token; return the server's sealing key."""
        body = await request.body()  # read by the guard: at most 64 KiB, under its time limit
        try:
            req = EnrollRequest.from_json(strict_json_loads(body))
        except MessageFormatError:
            return _error(400, "bad_request", "malformed enrollment request")

        def work() -> str:
            return devices.enroll(ctx.db, req.token, req.kiosk_id, req.device_public_key)

        try:
            device_id = await run_in_threadpool(work)
        except InvalidDeviceKeyError:
            return _error(400, "invalid_device_key", "the device key is not a valid Ed25519 public key")
        except DeviceRevokedError:
            return _error(403, "device_revoked", "this kiosk id is revoked and cannot enroll again")
        except EnrollmentError:
            return _error(403, "enrollment_refused", "unknown, used or expired token")
        except DeviceConflictError:
            return _error(409, "conflict", "this kiosk id is enrolled with another key")
        reply = EnrollResponse(
            device_id=device_id, server_public_key=ctx.keys.public_key_raw(), suite=SUITE_ID
        )
        return _json(reply.to_json())


def _install_upload(app: FastAPI, ctx: ServerContext, ingestor: Ingestor) -> None:
    """``POST /v1/records``, the hot path: raw body and manual JSON (see the module docstring), a
    processing slot only after the guard (429 beyond it) and one batch at a time per process."""
    gate = _Gate(ctx.options.max_inflight_batches)
    ingest_limiter = anyio.CapacityLimiter(1)

    @app.post(
        "/v1/records",
        response_model=BatchReply,
        responses=_responses(*_BODY, *_DEVICE, 503),
        tags=["kiosk"],
        openapi_extra=_BATCH_SCHEMA,
    )
    async def upload(request: Request, device_id: DeviceId) -> Response:
        """Upload a batch of sealed records; one result per record id (accepted/duplicate/rejected).

        The guard has already checked the size, the device (known, not revoked) and read the body
        under its time limit; only now is a processing slot taken.
        """
        body = await request.body()
        if len(body) > MAX_BATCH_BYTES:  # the guard's cap; kept so the route is safe on its own
            return _error(413, "too_large", f"at most {MAX_BATCH_BYTES} bytes per batch")
        try:
            raw = parse_batch_request(body)
        except MessageFormatError as exc:
            return _error(400, "bad_request", str(exc))
        device_key = request.scope.get("state", {}).get(DEVICE_KEY_STATE)
        if not gate.enter():
            return _error(429, "busy", "too many uploads in progress", {"Retry-After": RETRY_AFTER_BUSY})
        try:
            try:
                # one batch at a time per process: the work is CPU-bound and holds the GIL, so two
                # threads would only take turns (and thrash); waiting batches still count against
                # the gate, which answers 429 when too many queue up
                report = await anyio.to_thread.run_sync(
                    ingestor.ingest, device_id, raw, device_key, limiter=ingest_limiter
                )
            except DeviceRefusedError as exc:
                if exc.unknown:
                    return _error(401, "unknown_device", "device not enrolled")
                return _error(403, "device_revoked", "device revoked")
            return _json(
                {
                    "results": [
                        {"record_id": o.record_id, "status": o.status.value, "reason": o.reason}
                        for o in report.outcomes
                    ]
                }
            )
        finally:
            gate.leave()


def _install_heartbeat(app: FastAPI, ctx: ServerContext) -> None:
    """``POST /v1/heartbeat``: signed by the device key the guard looked up, so a report cannot be
    forged for another kiosk; an older report than the stored one is refused (409)."""

    @app.post(
        "/v1/heartbeat",
        response_model=HeartbeatReply,
        responses=_responses(*_BODY, *_DEVICE, 409, 503),
        tags=["kiosk"],
        openapi_extra=_HEARTBEAT_SCHEMA,
    )
    async def heartbeat(request: Request, device_id: DeviceId) -> Response:
        """A kiosk's signed status report (no personal data); the newest per device is kept."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        from sync.heartbeat import HeartbeatSignatureError, parse_signed
        from sync.server.heartbeats import StaleHeartbeatError, record_heartbeat

        body = await request.body()
        raw_key = request.scope.get("state", {}).get(DEVICE_KEY_STATE)
        if not isinstance(raw_key, bytes):
            return _error(401, "unknown_device", "device not authenticated")
        try:
            beat = parse_signed(body, Ed25519PublicKey.from_public_bytes(raw_key))
        except HeartbeatSignatureError:
            return _error(403, "bad_signature", "heartbeat signature does not verify")
        except MessageFormatError as exc:
            return _error(400, "bad_request", str(exc))
        if beat.kiosk_id != device_id:
            return _error(403, "kiosk_mismatch", "the heartbeat names another kiosk")
        received_at = datetime.now(UTC)
        try:
            await run_in_threadpool(record_heartbeat, ctx.db, device_id, beat, received_at)
        except StaleHeartbeatError as exc:
            return _error(409, "stale_heartbeat", str(exc))
        return _json({"status": "ok", "received_at": received_at.isoformat(timespec="milliseconds")})


def _install_status(app: FastAPI, ctx: ServerContext) -> None:
    """``GET /v1/registrations/{code}``: a resident's receipt lookup, the status and nothing else."""

    @app.get(
        "/v1/registrations/{code}", response_model=StatusReply, responses=_responses(404, 503), tags=["kiosk"]
    )
    def registration_status(code: str) -> Response:
        """A receipt's status by registration code; reveals the status only."""
        canonical = normalize_code(code) if len(code) <= 32 else None
        if canonical is None:
            return _error(404, "unknown_code", "no registration with this code")
        with ctx.db.transaction() as tx:
            row = tx.one(
                "SELECT outcome, decision FROM records WHERE code = ? ORDER BY received_at LIMIT 1",
                (canonical,),
            )
        if row is None:
            return _error(404, "unknown_code", "no registration with this code")
        return _json({"code": canonical, "status": str(row[0]), "grant": grant_status(row[1])})


# --- admin endpoints ------------------------------------------------------------------------------


def _install_admin_devices(app: FastAPI, ctx: ServerContext) -> None:
    """The operator's view of the fleet: counts, the enrolled kiosks with their heartbeats, and
    revocation (a stolen kiosk's uploads are refused from the next request on)."""

    @app.get("/v1/admin/stats", tags=["admin"], responses=_responses(*_ADMIN, 503))
    def stats(actor: Admin) -> Response:
        """Counts of records, rejections by reason, decisions, grants, devices, pending reviews."""
        out = admin.statistics(ctx.db)
        out["chain_cache"] = {"hits": ctx.chains.hits, "misses": ctx.chains.misses}
        return _json(out)

    @app.get("/v1/admin/devices", tags=["admin"], responses=_responses(*_ADMIN, 503))
    def list_devices(actor: Admin) -> Response:
        """Every enrolled device, with its newest heartbeat and whether it has gone silent (30 min)."""
        from sync.server.heartbeats import device_statuses

        statuses = {s.device_id: s.to_json() for s in device_statuses(ctx.db)}
        return _json([{**d.to_json(), **statuses.get(d.device_id, {})} for d in devices.list_devices(ctx.db)])

    @app.post("/v1/admin/devices/{device_id}/revoke", tags=["admin"], responses=_responses(*_ADMIN, 404, 503))
    def revoke(device_id: str, actor: Admin) -> Response:
        """Revoke a device: its uploads are refused (403) from now on."""
        try:
            return _json(devices.revoke_device(ctx.db, device_id, actor=actor).to_json())
        except ServerError:
            return _error(404, "unknown_device", "no such device")


def _install_admin_review(app: FastAPI, ctx: ServerContext) -> None:
    """The review queue: registrations held for a person to decide (a possible same person, or a
    registration time outside the clock policy), and the operator's answer."""

    @app.get("/v1/admin/review", tags=["admin"], responses=_responses(*_ADMIN, 503))
    def review_queue(actor: Admin) -> Response:
        """Pending reviews: same name and birth date as a known person, different address."""
        return _json([r.to_json() for r in admin.list_reviews(ctx.db)])

    @app.post(
        "/v1/admin/review/{review_id}",
        tags=["admin"],
        responses=_responses(*_BODY, *_ADMIN, 404, 422, 503),
    )
    def resolve(review_id: str, body: ReviewDecision, actor: Admin) -> Response:
        """Resolve a review item; the programme's award rules then run for the registration."""
        # any id that is not a positive 63-bit integer names no review (404), never a 500 from the
        # database's integer overflow (2^63 did that, issue 14)
        if not (review_id.isascii() and review_id.isdigit() and 0 < len(review_id) <= 19):
            return _error(404, "unknown_review", "no such review item")
        number = int(review_id)
        if number >= 2**63:
            return _error(404, "unknown_review", "no such review item")
        try:
            decision = admin.resolve_review(
                ctx.db,
                ctx.programs,
                ctx.decider.file_exclusions,
                number,
                same_person=body.same_person,
                actor=actor,
            )
        except admin.AdminError as exc:
            return _error(404, "unknown_review", str(exc))
        return _json({"review_id": number, "decision": decision.value})


def _install_admin_programmes(app: FastAPI, ctx: ServerContext) -> None:
    """A programme's operator inputs: exclusion lists (hashed on arrival) and the lottery draw."""

    @app.post("/v1/admin/exclusions", tags=["admin"], responses=_responses(*_BODY, *_ADMIN, 422, 503))
    def import_exclusions(body: ExclusionImport, actor: Admin) -> Response:
        """Import an exclusion list; names are turned into keyed hashes at once and never stored."""
        entries = [
            admin.ExclusionEntry(
                name=e.name,
                birth_date=e.birth_date,
                key_hash=bytes.fromhex(e.key_hash) if e.key_hash else None,
            )
            for e in body.entries
        ]
        new = admin.import_exclusions(ctx.db, ctx.keyer, body.list_id, entries, actor=actor)
        return _json({"list_id": body.list_id, "new": new})

    @app.post(
        "/v1/admin/lottery/{program_id}/draw",
        tags=["admin"],
        responses=_responses(*_BODY, *_ADMIN, 409, 422, 503),
    )
    def draw(program_id: str, body: DrawRequest, actor: Admin) -> Response:
        """Run a lottery programme's draw from a published seed (see docs/server.md)."""
        try:
            result = run_draw(ctx.db, ctx.programs, program_id, seed=body.seed, actor=actor)
        except LotteryError as exc:
            return _error(409, "lottery", str(exc))
        return _json(result.to_json())


def _install_openapi(app: FastAPI) -> None:
    """The schema, built once on first request from the routes, with :func:`_truthful_openapi`'s
    corrections (FastAPI alone documents answers the app never gives)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _truthful_openapi(
                get_openapi(
                    title=app.title, version=app.version, description=app.description, routes=app.routes
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def _truthful_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's schema with the answers this app really gives.

    FastAPI documents its own 422 body (``HTTPValidationError``) for any route with parameters, but
    the app answers every error with :class:`ErrorBody`; and every route can answer 400 (an unknown
    query parameter, a malformed ``Content-Length``), which FastAPI cannot know.
    """
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {
                    "description": "the request does not match the API schema",
                    "content": _ERROR_CONTENT,
                }
            responses.setdefault("400", {"description": "malformed request", "content": _ERROR_CONTENT})
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorBody" not in components:
        components["ErrorBody"] = ErrorBody.model_json_schema()
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _query_names(dependant: Any) -> set[str]:
    names = {str(p.alias) for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _no_unknown_query(request: Request) -> None:
    """App-wide dependency: a query parameter a route does not declare is refused (400), as an
    unknown JSON field is: a value the server ignores is one the client thinks it sent."""
    if not request.scope.get("query_string"):
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    # cached on the route itself: a module-level cache keyed by id(route) outlived its app, and a
    # later app's route could reuse the id and read another route's names
    names: frozenset[str] | None = getattr(route, "_madoguchi_query_names", None)
    if names is None:
        names = frozenset(_query_names(dependant))
        route._madoguchi_query_names = names  # type: ignore[union-attr]
    if not set(request.query_params.keys()) <= names:
        raise StarletteHTTPException(400, "unknown query parameter")
