"""``madoguchi server shelters`` and ``notice-list`` on a real (SQLite) server database."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from deskkit import tap
from serverkit import booth, build_context, register, shelter_kiosk

from kiosk.cli import main
from sync.server.shelters import EVACUEE_COLUMNS


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], stdin: str = ""
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    return code, capsys.readouterr().out


def test_summary_evacuees_operator_and_notice_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    ctx = build_context(tmp_path, url)
    b = booth(ctx)
    register(ctx, b, "miyagi-sendai")
    k = shelter_kiosk(ctx, tmp_path / "k1", "shelter-kiosk-1", "ishinomaki-hiyoriyama")
    k.desk.tap_card(tap("miyagi-sendai")[1])
    k.drain(ctx)
    ctx.close()
    base = ["server", "shelters"]
    where = ["--data", str(tmp_path / "server-data"), "--db", url]
    code, out = _run(monkeypatch, capsys, [*base, "summary", *where, "--json"])
    assert code == 0
    (row,) = [r for r in json.loads(out) if r["shelter_id"] == "ishinomaki-hiyoriyama"]
    assert (row["headcount"], row["registered"]) == (1, 1)
    code, out = _run(monkeypatch, capsys, [*base, "evacuees", *where, "--shelter", "ishinomaki-hiyoriyama"])
    assert code == 0
    assert "佐藤" not in out  # no operator: no names
    code, out = _run(monkeypatch, capsys, [*base, "operator", *where, "add", "bousai-1"])
    token = out.strip().splitlines()[-1]
    code, out = _run(
        monkeypatch,
        capsys,
        [
            *base,
            "evacuees",
            *where,
            "--shelter",
            "ishinomaki-hiyoriyama",
            "--operator",
            "bousai-1",
            "--reason",
            "drill",
            "--format",
            "csv",
        ],
        token + "\n",
    )
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == EVACUEE_COLUMNS
    assert rows[1][EVACUEE_COLUMNS.index("name")] == "佐藤　花子"
    code, out = _run(
        monkeypatch,
        capsys,
        [
            "server",
            "notice-list",
            *where,
            "--area",
            "宮城県仙台市",
            "--operator",
            "bousai-1",
            "--reason",
            " ",
        ],
        token + "\n",
    )
    assert code == 2  # a bulk opening needs a reason
    code, out = _run(
        monkeypatch,
        capsys,
        [
            "server",
            "notice-list",
            *where,
            "--area",
            "宮城県仙台市",
            "--operator",
            "bousai-1",
            "--reason",
            "evacuation order",
        ],
        token + "\n",
    )
    assert code == 0
    assert [r["name"] for r in json.loads(out)] == ["佐藤　花子"]
    code, out = _run(
        monkeypatch,
        capsys,
        [
            "server",
            "notice-list",
            *where,
            "--area",
            "宮城県仙台市",
            "--operator",
            "bousai-1",
            "--reason",
            "x",
        ],
        "wrong\n",
    )
    assert code == 2
    code, out = _run(monkeypatch, capsys, [*base, "purge", *where, "--retention-days", "30"])
    assert json.loads(out)["checkins"] == 0
