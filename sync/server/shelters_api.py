"""The admin API of the shelter lists (docs/shelter.md §5), beside ``madoguchi server shelters``.

Every route is under ``/v1/admin/`` so the request guard already demands the admin bearer token
(:mod:`sync.server.guard`). Opening names needs, *in addition*, a disaster-response operator:
``X-Madoguchi-Operator: <name>`` and ``X-Madoguchi-Operator-Token: <token>`` (from
``madoguchi server shelters operator add``), and ``reason`` (query parameter, UTF-8) for bulk
openings; each opening is audited by :mod:`sync.server.shelters`.

- ``GET /v1/admin/shelters``: per shelter, headcount, breakdown and arrivals per hour; no names.
- ``GET /v1/admin/shelters/{shelter_id}/evacuees[?format=csv]``: who is there; names only with
  operator headers.
- ``GET /v1/admin/shelters-not-seen?area=…&reason=…``: registered disaster-service residents not
  seen at any shelter (operator required).
- ``GET /v1/admin/notice-list?area=…&reason=…[&format=csv]``: disaster-service registrations in
  the area (operator required).

:func:`install` adds the routes to the app :func:`sync.server.app.create_app` built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query
from fastapi.responses import JSONResponse, Response

from kiosk.rules.shelter_config import Shelter, load_shelters
from sync.server import shelters
from sync.server.app import Admin, _responses  # app imports this module inside create_app only
from sync.server.context import ServerContext

_DEFAULT_SHELTERS = Path(__file__).resolve().parents[2] / "config" / "shelters.toml"


def _json(obj: Any) -> Response:
    return Response(
        json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        media_type="application/json",
    )


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> Response:
    return Response(shelters.to_csv(rows, columns).encode("utf-8"), media_type="text/csv; charset=utf-8")


def install(app: FastAPI, ctx: ServerContext, *, shelters_file: Path | None = None) -> None:
    """Add the shelter routes to ``app`` (names of shelters from ``shelters_file``)."""
    known: dict[str, Shelter] = load_shelters(shelters_file or _DEFAULT_SHELTERS)
    listing = _responses(401, 403, 503)
    opening = _responses(400, 401, 403, 503)

    def operator(name: str | None, token: str | None, reason: str) -> shelters.Operator | None:
        if name is None and token is None:
            return None
        return shelters.Operator(name or "", token or "", reason)

    @app.get("/v1/admin/shelters", tags=["admin"], responses=listing)
    def shelter_summary(actor: Admin, hours: Annotated[int, Query(ge=1, le=720)] = 72) -> Response:
        """Per shelter: headcount, people, companions, registered, unregistered cards, unverified,
        arrivals per hour (UTC). No personal data."""
        return _json(shelters.summary(ctx.db, known, hours=hours))

    @app.get("/v1/admin/shelters/{shelter_id}/evacuees", tags=["admin"], responses=listing)
    def shelter_evacuees(
        shelter_id: str,
        actor: Admin,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
        reason: str = "",
        x_madoguchi_operator: Annotated[str | None, Header()] = None,
        x_madoguchi_operator_token: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Who is at the shelter now; names, kana, birth dates, addresses only for an operator."""
        try:
            rows = shelters.evacuees(
                ctx.db,
                ctx.keys,
                shelter_id,
                operator=operator(x_madoguchi_operator, x_madoguchi_operator_token, reason),
            )
        except shelters.OperatorRefusedError as exc:
            return _error(403, "operator_refused", str(exc))
        return _csv(rows, shelters.EVACUEE_COLUMNS) if format == "csv" else _json(rows)

    @app.get("/v1/admin/shelters-not-seen", tags=["admin"], responses=opening)
    def shelters_not_seen(
        area: str,
        actor: Admin,
        reason: str = "",
        x_madoguchi_operator: Annotated[str | None, Header()] = None,
        x_madoguchi_operator_token: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Registered disaster-service residents of ``area`` not yet seen at any shelter."""
        op = operator(x_madoguchi_operator, x_madoguchi_operator_token, reason)
        if op is None:
            return _error(403, "operator_required", "X-Madoguchi-Operator and its token are required")
        try:
            return _json(shelters.not_seen(ctx.db, ctx.keys, area, operator=op))
        except shelters.OperatorRefusedError as exc:
            return _error(403, "operator_refused", str(exc))
        except shelters.ShelterError as exc:
            return _error(400, "bad_request", str(exc))

    @app.get("/v1/admin/notice-list", tags=["admin"], responses=opening)
    def notice_list(
        area: str,
        actor: Admin,
        reason: str = "",
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
        x_madoguchi_operator: Annotated[str | None, Header()] = None,
        x_madoguchi_operator_token: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Disaster-service registrations whose address lies in ``area``, for evacuation notices."""
        op = operator(x_madoguchi_operator, x_madoguchi_operator_token, reason)
        if op is None:
            return _error(403, "operator_required", "X-Madoguchi-Operator and its token are required")
        try:
            rows = shelters.notice_list(ctx.db, ctx.keys, area, operator=op)
        except shelters.OperatorRefusedError as exc:
            return _error(403, "operator_refused", str(exc))
        except shelters.ShelterError as exc:
            return _error(400, "bad_request", str(exc))
        return _csv(rows, shelters.NOTICE_COLUMNS) if format == "csv" else _json(rows)
