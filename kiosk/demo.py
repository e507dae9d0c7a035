"""The project's demo (``python -m kiosk.demo``, run by ``scripts/demo.sh``): one whole registration,
for real, on this machine, with no question asked.

By default it shows the main job, the Qt kiosk: server init → device token → server run → enroll,
then ``madoguchi kiosk`` in training mode (the virtual card on the training bar) against that server.
With a display (``DISPLAY`` / ``WAYLAND_DISPLAY``) the window opens, ready for a person to register;
closing it ends the demo. Without one, :mod:`ui.walkthrough` registers once through the same real
screens offscreen and saves one PNG per screen into a folder the demo names (``--screens DIR`` to
choose it); the demo then checks that the server accepted the record. ``--terminal`` runs the
terminal path below instead (the virtual card through pcscd + vpcd and ``madoguchi register``):

    server init → device token → server run (loopback, SQLite) → madoguchi enroll
    → virtual card into vpcd → card status → register --pin-stdin --yes --json
    → queue status → sync --once → GET /v1/registrations/{code} → card out, server stopped

Every step is the real command as a separate process (``madoguchi …``), so the demo shows exactly
what an operator types; only the virtual card (an in-process :class:`~card.virtual.vpcd.VpcdCard`)
and the status lookup (one ``httpx`` GET, like a resident's receipt lookup page) run inside this
process. Each run uses a throw-away directory (kiosk profile, kiosk data dir, server data dir) and a
free loopback port, so the demo is idempotent and never touches ``var/demo`` or another engineer's
server. ``--keep-server`` leaves the server running (and its directory in place) for exploring.

Output is one line in Japanese and one in English per step. Nothing personal is printed beyond what
the confirmation screen shows the resident; the PIN goes on the child's stdin and is never printed.
Holds the vpcd lock (``/tmp/madoguchi-vpcd.lock``) so it never collides with a running test suite,
unless the caller says it holds it already (``MADOGUCHI_VPCD_LOCK_HELD=1``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from kiosk.demo_support import (
    LOCK_HELD_ENV,
    READER,
    DemoError,
    profile_with_test_trust,
    vpcd_lock,
    wait_reader,
)

ROOT: Final = Path(__file__).resolve().parents[1]
PCSCD_SOCKET: Final = Path("/run/pcscd/pcscd.comm")
COMMAND_TIMEOUT_S: Final = 60
SERVER_START_TIMEOUT_S: Final = 20.0
KIOSK_ID: Final = "demo-kiosk-001"
PROGRAM: Final = "demo"
SERVICES: Final = "point,disaster"

__all__ = ["LOCK_HELD_ENV", "main", "run"]


@dataclass(frozen=True)
class Workspace:
    """The throw-away directory of one run."""

    root: Path
    port: int
    #: the persona's PINs: no path the demo prints may contain them
    avoid: tuple[str, ...] = ()

    @property
    def server_data(self) -> Path:
        return self.root / "server"

    @property
    def kiosk_data(self) -> Path:
        return self.root / "kiosk"

    @property
    def profile(self) -> Path:
        return self.root / "kiosk.toml"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port(avoid: str) -> int:
    """A free loopback port whose number does not contain ``avoid`` (the test PIN: the output must
    never show it, not even by chance)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if avoid not in str(port):
            return port


def _write_profile(ws: Workspace) -> None:
    """The demo kiosk profile (config/kiosk.demo.toml) pointed at this run's directories and port."""
    ws.profile.write_text(
        profile_with_test_trust(
            kiosk_id=KIOSK_ID,
            mode="staff",
            data_dir=ws.kiosk_data,
            program=PROGRAM,
            server_url=ws.url,
            comment="Written by kiosk.demo for one run; trusts only the project's test J-LIS hierarchy.",
        ),
        encoding="utf-8",
    )


def _madoguchi(
    args: Sequence[str], stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args],
        input=stdin,
        env={**os.environ, **env} if env else None,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
        cwd=ROOT,
    )


def _say(ja: str, en: str) -> None:
    print(f"  {ja}\n  {en}", flush=True)


def _step(n: int, command: str) -> None:
    """Print the command of step ``n`` (an operator's command line, or a description in brackets)."""
    print(f"\n[{n}] {command if command.startswith('(') else '$ madoguchi ' + command}", flush=True)


def _checked(result: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise DemoError(f"{what} failed (exit {result.returncode}): {detail[-1] if detail else ''}")
    return result


def _json(result: subprocess.CompletedProcess[str], what: str) -> Any:
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise DemoError(f"{what}: no JSON on stdout") from None


class Server:
    """``madoguchi server run`` as a child process on the run's loopback port."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.ws.root / "server.log").open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kiosk.cli",
                    "server",
                    "run",
                    "--data",
                    str(self.ws.server_data),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.ws.port),
                    "--trust",
                    str(self.ws.profile),
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        import httpx

        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                log = (self.ws.root / "server.log").read_text(encoding="utf-8", errors="replace").strip()
                last = log.splitlines()[-1] if log else ""
                raise DemoError(f"the server exited at start (exit {self.process.returncode}): {last}")
            try:
                if httpx.get(f"{self.ws.url}/v1/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise DemoError("the server did not answer /v1/health in time")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _registration_status(ws: Workspace, code: str) -> dict[str, Any]:
    """What the resident's receipt lookup shows for ``code`` (no personal data)."""
    import httpx

    try:
        reply = httpx.get(f"{ws.url}/v1/registrations/{code}", timeout=5.0)
        if reply.status_code != 200:
            raise DemoError(f"GET /v1/registrations/<code> answered {reply.status_code}")
        body = reply.json()
    except httpx.HTTPError as exc:  # the demo's error tree, not a traceback (and the server is stopped)
        raise DemoError(f"GET /v1/registrations/<code> failed ({type(exc).__name__})") from None
    except ValueError:
        raise DemoError("GET /v1/registrations/<code>: not JSON") from None
    if not isinstance(body, dict):
        raise DemoError("GET /v1/registrations/<code>: not an object")
    return body


def _server_side(ws: Workspace) -> str:
    """Steps 1-2: server init and an enrollment token (the token is a one-time secret: not shown)."""
    _step(1, f"server init --data {ws.server_data}")
    _checked(_madoguchi(["server", "init", "--data", str(ws.server_data)]), "server init")
    _say(
        "中央サーバーを初期化しました（鍵と SQLite データベース）。",
        "Initialised the central server (keys, SQLite).",
    )
    _step(2, "server device-token --name demo-booth")
    out = _checked(
        _madoguchi(["server", "device-token", "--data", str(ws.server_data), "--name", "demo-booth"]),
        "server device-token",
    )
    token = out.stdout.strip().splitlines()[-1].strip()
    _say("端末登録用のワンタイムトークンを発行しました。", "Issued a one-time kiosk enrollment token.")
    return token


def _registration(ws: Workspace, persona_name: str, *, keep_server: bool) -> int:
    """Steps 3-10; returns the exit code."""
    from card.virtual.card import VirtualMyNumberCard
    from card.virtual.persona import load_persona
    from card.virtual.vpcd import DEFAULT_PORT, VpcdCard

    _write_profile(ws)
    succeeded = False
    config = ["--config", str(ws.profile)]
    token = _server_side(ws)
    server = Server(ws)
    _step(3, f"server run --host 127.0.0.1 --port {ws.port}")
    try:
        server.start()
        _say(f"中央サーバーが {ws.url} で稼働中です。", f"The central server is up at {ws.url}.")
        _step(4, f"enroll --server {ws.url} --token - (the token on stdin, out of the process list)")
        _checked(
            _madoguchi(["enroll", "--server", ws.url, "--token", "-", *config], stdin=token + "\n"), "enroll"
        )
        _say(
            f"端末 {KIOSK_ID} をサーバーに登録し、サーバーの公開鍵を固定しました。",
            f"Enrolled kiosk {KIOSK_ID} and pinned the server's public key.",
        )
        persona = load_persona(persona_name)
        card = VirtualMyNumberCard(persona)
        with VpcdCard(card, port=DEFAULT_PORT):
            if not wait_reader(present=True):
                raise DemoError(f"the reader {READER!r} did not see the card")
            print(
                f"\ninserted a virtual My Number Card into {READER!r}: persona {persona.id} ({persona.label})"
            )
            _say(
                "仮想マイナンバーカードを読み取り機に置きました。",
                "Placed the virtual My Number Card on the reader.",
            )
            _card_status()
            code = _register(persona.auth_pin, persona.card_info_pin, config)
        wait_reader(present=False)
        print(f"\nremoved the card; it answered {len(card.access_log)} APDUs")
        touched = Counter(
            f"{e.ap or 'MF'}:{e.ef:04X}" if e.ef is not None else e.ap or "MF" for e in card.access_log
        )
        print("  addressed: " + ", ".join(f"{k}×{n}" for k, n in sorted(touched.items())))
        _say("カードを取り外しました。", "Removed the card.")
        _queue_status(config, 7, expect_queued=1)
        _sync(config)
        _queue_status(config, 9, expect_queued=0)
        _step(10, f"(receipt lookup by code) GET {ws.url}/v1/registrations/{code}")
        status = _registration_status(ws, code)
        _say(
            f"受付番号 {status.get('code')} の状態: {status.get('status')}、付与: {status.get('grant')}"
            "（デモ用プログラムはポイントを付与しません）。",
            f"Registration {status.get('code')}: status {status.get('status')}, grant {status.get('grant')} "
            "(the demo programme grants no points).",
        )
        if status.get("status") != "accepted":
            raise DemoError(f"the server did not accept the registration ({status.get('status')})")
        print("\ndemo: the registration was accepted by the server / 登録はサーバーで受理されました。")
        succeeded = True
        return 0
    finally:
        if not (keep_server and succeeded):  # a failed run never leaves a server behind
            server.stop()
            print("stopped the server / サーバーを停止しました。")
        else:
            print(
                f"the server keeps running at {ws.url} (pid {server.process.pid if server.process else '-'})"
            )


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _kiosk(ws: Workspace, persona_name: str, screens: Path | None, *, keep_server: bool) -> int:
    """Steps 1-6 of the Qt demo; returns the exit code."""
    _write_profile(ws)
    config = ["--config", str(ws.profile)]
    token = _server_side(ws)
    server = Server(ws)
    _step(3, f"server run --host 127.0.0.1 --port {ws.port}")
    succeeded = False
    try:
        server.start()
        _say(f"中央サーバーが {ws.url} で稼働中です。", f"The central server is up at {ws.url}.")
        _step(4, f"enroll --server {ws.url} --token - (the token on stdin, out of the process list)")
        _checked(
            _madoguchi(["enroll", "--server", ws.url, "--token", "-", *config], stdin=token + "\n"), "enroll"
        )
        _say(f"端末 {KIOSK_ID} をサーバーに登録しました。", f"Enrolled kiosk {KIOSK_ID} with the server.")
        kiosk = ["kiosk", *config, "--virtual-card", persona_name]
        if screens is None:
            _step(
                5,
                "kiosk --virtual-card " + persona_name + " (training mode: the card is on the training bar)",
            )
            _say(
                "窓口の画面を開きました。画面の案内に沿って登録してください（暗証番号は仮想カードの"
                "テスト用の番号です: docs/virtual-card.md）。ウィンドウを閉じると終わります。",
                "The kiosk window is open: register as a resident would (the PIN is the virtual card's "
                "test PIN: docs/virtual-card.md). Close the window to end the demo.",
            )
            result = subprocess.run([sys.executable, "-m", "kiosk.cli", *kiosk], check=False, cwd=ROOT)
            succeeded = result.returncode == 0
            return result.returncode
        _step(5, f"kiosk --virtual-card {persona_name} --walkthrough {screens}  (no display: offscreen)")
        walk = _json(
            _checked(
                _madoguchi([*kiosk, "--walkthrough", str(screens)], env={"QT_QPA_PLATFORM": "offscreen"}),
                "kiosk --walkthrough",
            ),
            "kiosk --walkthrough",
        )
        _say(
            f"実際の画面で登録しました（{len(walk['screens'])} 画面、{walk['taps']} タップ＋暗証番号）。"
            f"各画面の画像: {screens}",
            f"Registered through the real screens ({len(walk['screens'])} screens, {walk['taps']} taps "
            f"besides the PIN). One PNG per screen in: {screens}",
        )
        print("  screens: " + " → ".join(walk["screens"]))
        _step(6, f"(receipt lookup by code) GET {ws.url}/v1/registrations/{walk['code']}")
        status = _registration_status(ws, str(walk["code"]))
        _say(
            f"受付番号 {status.get('code')} の状態: {status.get('status')}（キオスクが自動で送信しました）。",
            f"Registration {status.get('code')}: status {status.get('status')} (the kiosk uploaded it "
            "by itself).",
        )
        if status.get("status") != "accepted":
            raise DemoError(f"the server did not accept the registration ({status.get('status')})")
        print("\ndemo: the registration was accepted by the server / 登録はサーバーで受理されました。")
        print(f"demo: screenshots of every screen / 各画面の画像: {screens}")
        succeeded = True
        return 0
    finally:
        if not (keep_server and succeeded):
            server.stop()
            print("stopped the server / サーバーを停止しました。")


def _card_status() -> None:
    _step(5, f"card status --reader {READER!r}")
    status = _json(
        _checked(_madoguchi(["card", "status", "--reader", READER, "--json"]), "card status"), "card status"
    )
    tries = status.get("tries_left", {})
    _say(
        f"マイナンバーカードを確認しました。暗証番号の残り回数: 利用者証明用 {tries.get('auth')} 回、"
        f"券面事項入力補助用 {tries.get('card_info')} 回。",
        f"A My Number Card. PIN tries left: authentication {tries.get('auth')}, "
        f"card-info {tries.get('card_info')}.",
    )


def _register(auth_pin: str, card_info_pin: str, config: list[str]) -> str:
    """``register`` with the persona's synthetic PIN(s) on stdin; returns the registration code."""
    args = ["register", "--reader", READER, *config, "--program", PROGRAM, "--services", SERVICES]
    args.append("--pin-stdin")
    stdin = auth_pin + "\n"
    if card_info_pin != auth_pin:  # the persona set two different PINs: the resident says so
        args.append("--card-info-pin-stdin")
        stdin += card_info_pin + "\n"
    args += ["--yes", "--json"]
    shown = " ".join(repr(a) if " " in a else "kiosk.toml" if a.endswith("kiosk.toml") else a for a in args)
    _step(6, f"{shown}  < PIN" + (" + card-info PIN" if card_info_pin != auth_pin else ""))
    result = _madoguchi(args, stdin)
    out = _json(result, "register")
    if result.returncode != 0 or out.get("status") != "queued":
        error = out.get("error", {}).get("code", out.get("status"))
        raise DemoError(f"register failed (exit {result.returncode}): {error}")
    _say(
        f"登録を受け付けました。受付番号: {out['code']}（{out['program']}: {', '.join(out['services'])}）。"
        "カードで署名し、暗号化して送信待ちにしました。",
        f"Registration queued, code {out['code']} ({out['program']}: {', '.join(out['services'])}); "
        "card-signed, sealed and queued.",
    )
    return str(out["code"])


def _queue_status(config: list[str], n: int, *, expect_queued: int) -> None:
    _step(n, "queue status")
    result = _checked(_madoguchi(["queue", "status", "--json", *config]), "queue status")
    status = _json(result, "queue status")
    queued = _pending(status)
    _say(f"送信待ち: {queued} 件。", f"Queued records: {queued}.")
    if queued != expect_queued:
        raise DemoError(f"queue status: {queued} queued, expected {expect_queued}")


def _pending(status: Any) -> int:
    """Records waiting to be sent: ``depth`` of ``queue status --json`` (sync's format)."""
    depth = status.get("depth") if isinstance(status, dict) else None
    if not isinstance(depth, int):
        raise DemoError("queue status: no queue depth in the reply")
    return depth


def _sync(config: list[str]) -> None:
    _step(8, "sync --once")
    report = _json(_checked(_madoguchi(["sync", "--once", "--json", *config]), "sync --once"), "sync")
    if not isinstance(report, dict):
        raise DemoError("sync --once: the report is not an object")
    accepted, rejected = report.get("accepted"), report.get("rejected")
    _say(
        f"サーバーへ送信しました（受理 {accepted} 件、拒否 {rejected} 件）。",
        f"Sent to the server (accepted {accepted}, rejected {rejected}).",
    )
    if accepted != 1 or rejected:
        raise DemoError(f"sync --once: accepted {accepted}, rejected {rejected}, expected 1 and 0")


def _waiting() -> None:
    print("  （テスト実行が仮想読み取り機を使用中です。空くまで待ちます）")
    print("  (a test run is using the virtual reader; waiting for it)", flush=True)


def run(
    persona: str | None = None,
    *,
    keep_server: bool = False,
    terminal: bool = False,
    screens: Path | None = None,
) -> int:
    """Run the whole demo; 0 when the server accepted the registration (or the window closed)."""
    if not terminal:
        return _run_kiosk(persona, keep_server=keep_server, screens=screens)
    return _run_terminal(persona, keep_server=keep_server)


def _run_kiosk(persona: str | None, *, keep_server: bool, screens: Path | None) -> int:
    """The Qt kiosk in training mode (a window with a display; the offscreen walkthrough without)."""
    headless = not _has_display()

    def body(ws: Workspace, persona_id: str) -> int:
        shown = screens
        if headless and shown is None:
            shown = _pin_free_tempdir("madoguchi-demo-screens-", ws.avoid)
        return _kiosk(ws, persona_id, shown, keep_server=keep_server)

    title = "the Qt kiosk in training mode, against the embedded server"
    return _run_demo(persona, title, body, keep_server=keep_server)


def _run_terminal(persona: str | None, *, keep_server: bool) -> int:
    """The terminal path through real pcscd + vpcd (``--terminal``)."""
    if not PCSCD_SOCKET.exists():
        print("demo: pcscd is not running; run ./scripts/demo.sh (it starts pcscd)", file=sys.stderr)
        return 1

    def body(ws: Workspace, persona_id: str) -> int:
        # The vpcd lock first: waiting for a test run to free the reader must not keep a server idle.
        with vpcd_lock(on_wait=_waiting):
            return _registration(ws, persona_id, keep_server=keep_server)

    return _run_demo(
        persona, "server, kiosk and a virtual My Number Card on this machine", body, keep_server=keep_server
    )


def _pin_free_tempdir(prefix: str, avoid: tuple[str, ...]) -> Path:
    """A new temporary directory whose path holds none of ``avoid`` (the persona's PINs): the demo
    prints its paths, and must never show a PIN, not even by chance."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    while any(secret in str(root) for secret in avoid):
        shutil.rmtree(root)
        root = Path(tempfile.mkdtemp(prefix=prefix))
    return root


def _run_demo(
    persona: str | None, title: str, body: Callable[[Workspace, str], int], *, keep_server: bool
) -> int:
    """What both demos share: the persona, a PIN-free work directory and port, the timing, the
    error report and the clean-up."""
    from card.virtual.errors import PersonaError, VirtualCardError
    from card.virtual.persona import DEFAULT_PERSONA, load_persona

    try:
        chosen = load_persona(persona or DEFAULT_PERSONA)
    except PersonaError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    avoid = (chosen.auth_pin, chosen.card_info_pin)
    root = _pin_free_tempdir("madoguchi-demo-", avoid)
    ws = Workspace(root, _free_port(chosen.auth_pin), avoid)
    print(f"Madoguchi demo / 窓口デモ: {title}")
    print(f"  work directory (removed at the end unless --keep-server): {root}")
    started = time.monotonic()
    code = 1
    try:
        code = body(ws, chosen.id)
    except (DemoError, VirtualCardError, TimeoutError, subprocess.TimeoutExpired) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        code = 1
    finally:
        if not (keep_server and code == 0):
            shutil.rmtree(root, ignore_errors=True)
    print(f"demo finished in {time.monotonic() - started:.1f} s (exit {code})")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--persona", metavar="NAME", help="virtual card persona (card/virtual/personas)")
    parser.add_argument("--keep-server", action="store_true", help="leave the server running at the end")
    parser.add_argument(
        "--terminal", action="store_true", help="the terminal flow (madoguchi register through pcscd + vpcd)"
    )
    parser.add_argument(
        "--screens",
        metavar="DIR",
        help="save one PNG per screen here (default without a display: a new /tmp folder)",
    )
    args = parser.parse_args(argv)
    screens = Path(args.screens) if args.screens else None
    return run(args.persona, keep_server=args.keep_server, terminal=args.terminal, screens=screens)


if __name__ == "__main__":
    sys.exit(main())
