"""The shelter admin API behind the real request guard: admin token always, operator for names."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from deskkit import tap
from fastapi.testclient import TestClient
from serverkit import booth, build_context, register, shelter_kiosk

from sync.server import shelters
from sync.server.app import create_app


def test_summary_evacuees_notices_through_the_guard(tmp_path: Path) -> None:
    ctx = build_context(tmp_path, f"sqlite:///{tmp_path / 'server.sqlite3'}")
    register(ctx, booth(ctx), "miyagi-sendai")
    k = shelter_kiosk(ctx, tmp_path / "k1", "shelter-kiosk-1", "sendai-aoba-kita")
    k.desk.tap_card(tap("miyagi-sendai")[1])
    k.drain(ctx)
    op_token = shelters.add_operator(ctx.db, "sendai-bousai", actor="test")
    app = create_app(ctx)
    admin = {"Authorization": f"Bearer {ctx.admin_token}"}  # type: ignore[attr-defined]
    operator = {**admin, "X-Madoguchi-Operator": "sendai-bousai", "X-Madoguchi-Operator-Token": op_token}
    with TestClient(app) as client:
        assert client.get("/v1/admin/shelters").status_code == 401  # the guard: admin token first
        reply = client.get("/v1/admin/shelters", headers=admin)
        assert reply.status_code == 200
        (row,) = [r for r in reply.json() if r["shelter_id"] == "sendai-aoba-kita"]
        assert (row["headcount"], row["registered"]) == (1, 1)
        plain = client.get("/v1/admin/shelters/sendai-aoba-kita/evacuees", headers=admin).json()
        assert plain[0]["name"] is None
        wrong = {**operator, "X-Madoguchi-Operator-Token": "nope"}
        assert client.get("/v1/admin/shelters/sendai-aoba-kita/evacuees", headers=wrong).status_code == 403
        reply = client.get(
            "/v1/admin/shelters/sendai-aoba-kita/evacuees?format=csv&reason=drill", headers=operator
        )
        assert reply.status_code == 200
        rows = list(csv.DictReader(io.StringIO(reply.text)))
        assert rows[0]["name"] == "佐藤　花子"
        assert (
            client.get("/v1/admin/notice-list", params={"area": "宮城県仙台市"}, headers=admin).status_code
            == 403
        )
        no_reason = client.get("/v1/admin/notice-list", params={"area": "宮城県仙台市"}, headers=operator)
        assert no_reason.status_code == 400
        notices = client.get(
            "/v1/admin/notice-list", params={"area": "宮城県仙台市", "reason": "避難指示"}, headers=operator
        )
        assert [n["name"] for n in notices.json()] == ["佐藤　花子"]
        seen = client.get(
            "/v1/admin/shelters-not-seen", params={"area": "宮城県", "reason": "安否確認"}, headers=operator
        )
        assert seen.json()["not_seen"] == 0
    ctx.close()
