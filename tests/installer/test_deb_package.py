"""The Debian packages, built by installer/build-deb.sh and installed with dpkg into a real Debian 12.

One kiosk's life, in a fresh minimal Debian root (tests/installer/debroot.py): install, configure,
enroll against a loopback server on this machine, queue sealed records, upgrade to a newer build,
the queue drains, ``remove`` keeps the data and keys, ``purge`` deletes them. The maintainer
scripts, dpkg's conffile handling and the relocated venv all run for real.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from debroot import Build, DebianRoot, depends_packages, field

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))
from toyserver import ToyServer

# The fixtures build the packages (minutes when the tree changed, a copy when not) and, once per
# dependency set, the Debian root: far beyond the suite's default per-test timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

KIOSK_ID = "deb-kiosk-01"
DATA = "/var/lib/madoguchi"
PROFILE = "/etc/madoguchi/kiosk.toml"
MADOGUCHI = "/usr/bin/madoguchi"

QUEUE_SCRIPT = """
import sys, uuid
from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox
from pathlib import Path
data = Path("/var/lib/madoguchi")
store = DeviceStore(data)
with Outbox.open(data / OUTBOX_FILE, sealer=store.sealer(sys.argv[1])) as box:
    for _ in range(int(sys.argv[2])):
        rid = str(uuid.uuid4())
        box.enqueue(b"{}", record_id=rid, program_id="demo")
        print(rid)
"""


#: Run inside cage by the installed venv: a full-screen Qt window on Wayland, reported, then exit.
CAGE_PROBE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication(sys.argv)
label = QLabel("madoguchi")
label.showFullScreen()
def report():
    screen = app.primaryScreen().geometry()
    size = (label.width(), label.height(), screen.width(), screen.height())
    print(app.platformName(), label.isFullScreen(), *size, flush=True)
    app.quit()
QTimer.singleShot(1000, report)
sys.exit(app.exec())
"""


def profile(url: str) -> str:
    return f"""[kiosk]
id = "{KIOSK_ID}"
mode = "staff"
data_dir = "{DATA}"
language = "ja"
program = "demo"
programs_dir = "programs"

[server]
url = "{url}"
"""


def owner(root: DebianRoot, path: str) -> tuple[str, str, int]:
    """(user, group, mode) of a path inside the root, names resolved by the root's own passwd."""
    done = root.run(f"stat -c '%U %G %a' {path}")
    user, group, octal = done.stdout.split()
    return user, group, int(octal, 8)


def queue_depth(root: DebianRoot) -> int:
    done = root.run(f"{MADOGUCHI} queue status --json --config {PROFILE}", user="madoguchi")
    return int(json.loads(done.stdout)["depth"])


def installed_version(root: DebianRoot, package: str) -> str:
    done = root.run(f"dpkg-query -W -f='${{Status}} ${{Version}}' {package}", check=False)
    return done.stdout.strip()


def test_package_metadata(release: Build, upgrade: Build) -> None:
    assert release.main.stat().st_size == release.report["size_bytes"]
    assert field(release.main, "Package") == "madoguchi"
    assert field(upgrade.main, "Version") == upgrade.version != release.version
    deps = depends_packages(release.main)
    for needed in ("python3", "adduser", "libpcsclite1", "libegl1", "libxkbcommon0"):
        assert needed in deps
    session_deps = depends_packages(release.session)
    assert {"cage", "xwayland", "madoguchi", "libpam-systemd"} <= set(session_deps)


def test_session_package_is_lintian_clean(release: Build) -> None:
    """The small package gets the archive's checks in every run (the big one on demand: ~2.5 min,
    ``installer/build-deb.sh --lintian``; its overrides are explained in the overrides file)."""
    done = subprocess.run(
        ["lintian", "--tag-display-limit", "0", str(release.session)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    tags = [line for line in done.stdout.splitlines() if line[:2] in ("E:", "W:", "I:")]
    assert tags == [], done.stdout


def test_install_enroll_queue_upgrade_drain_remove_purge(
    release: Build, upgrade: Build, debian_root: DebianRoot
) -> None:
    root = debian_root
    root.dpkg_install(release.main)
    assert installed_version(root, "madoguchi") == f"install ok installed {release.version}"

    # Layout: the command on PATH, a system user without a shell, the data and config modes.
    passwd = root.run("getent passwd madoguchi").stdout.strip().split(":")
    assert int(passwd[2]) < 1000, passwd
    assert passwd[5] == DATA
    assert passwd[6] == "/usr/sbin/nologin"
    assert owner(root, DATA) == ("madoguchi", "madoguchi", 0o700)
    assert owner(root, "/etc/madoguchi") == ("root", "madoguchi", 0o750)
    assert root.file(MADOGUCHI).is_symlink()
    assert not root.file("/etc/madoguchi/trust/test").exists()  # the test hierarchy never ships
    # Nothing is enabled by the application package (a kiosk must be enrolled first).
    assert not list(root.file("/etc/systemd/system").glob("*.wants/madoguchi-*"))
    assert root.file("/lib/systemd/system/madoguchi-kiosk.service").is_file()
    help_text = root.run(f"{MADOGUCHI} --help", user="madoguchi").stdout
    assert "enroll" in help_text
    assert "self-test" in help_text

    # The shipped profile is a real, loadable one (queue status reads it; no enrollment needed).
    assert root.run(f"{MADOGUCHI} queue status --json", user="madoguchi").returncode == 0

    # The kiosk session package: installs, enables its unit for the next boot, starts nothing.
    root.dpkg_install(release.session)
    assert root.file("/etc/systemd/system/graphical.target.wants/madoguchi-cage.service").is_symlink()
    assert root.file("/etc/pam.d/madoguchi-kiosk").is_file()
    assert "kernel.sysrq = 0" in root.file("/etc/sysctl.d/madoguchi-kiosk.conf").read_text(encoding="utf-8")
    assert os.readlink(root.file("/etc/systemd/system/ctrl-alt-del.target")).endswith("dev/null")  # masked
    # Every installed unit verifies against the installed system (ExecStart binaries included).
    for name in ("madoguchi-kiosk", "madoguchi-server", "madoguchi-cage"):
        done = subprocess.run(
            [
                "systemd-analyze",
                "verify",
                "--man=no",
                f"--root={root.path}",
                f"/lib/systemd/system/{name}.service",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert (done.stdout + done.stderr).strip() == "", (name, done.stdout, done.stderr)
    # cage as the session runs it (unprivileged, no -s), with the package's Qt on Wayland: wlroots'
    # headless backend and software renderer stand in for the kiosk's DRM display.
    root.file("/tmp/cage-probe.py").write_text(CAGE_PROBE, encoding="utf-8")
    root.run("install -d -m 0700 -o madoguchi -g madoguchi /tmp/xdg")
    done = root.run(
        "env XDG_RUNTIME_DIR=/tmp/xdg WLR_BACKENDS=headless WLR_RENDERER=pixman WLR_LIBINPUT_NO_DEVICES=1 "
        "QT_QPA_PLATFORM=wayland QT_WAYLAND_DISABLE_WINDOWDECORATION=1 "
        "timeout 60 cage -d -- /opt/madoguchi/venv/bin/python /tmp/cage-probe.py",
        user="madoguchi",
    )
    # cage maximises its one window to the output (it does not grant the xdg "fullscreen" state,
    # so isFullScreen() stays False): the window covering the whole output is what counts.
    platform, _fullscreen, width, height, screen_w, screen_h = done.stdout.split()
    assert platform == "wayland", done.stdout + done.stderr
    assert (int(width), int(height)) == (int(screen_w), int(screen_h)) != (0, 0)

    server_key = X25519PrivateKey.generate()
    with ToyServer(server_key) as srv:
        # The operator's profile replaces the shipped conffile.
        root.file(PROFILE).write_text(profile(srv.url), encoding="utf-8")
        done = root.run(
            f"{MADOGUCHI} enroll --server {srv.url} --token - --config {PROFILE}",
            user="madoguchi",
            stdin="tok-deb-1\n",
        )
        assert "enrolled kiosk" in done.stdout
        assert srv.tokens == ["tok-deb-1"]
        device_key = root.file(f"{DATA}/device-ed25519.pem").read_bytes()
        pinned = root.file(f"{DATA}/server.json").read_bytes()
        assert stat.S_IMODE(root.file(f"{DATA}/device-ed25519.pem").stat().st_mode) == 0o600

        python = "/opt/madoguchi/venv/bin/python"
        root.file("/tmp/queue.py").write_text(QUEUE_SCRIPT, encoding="utf-8")
        ids = root.run(f"{python} /tmp/queue.py {KIOSK_ID} 3", user="madoguchi").stdout.split()
        assert len(ids) == 3
        assert queue_depth(root) == 3

        # Upgrade to the newer build: data, keys and the operator's conffile stay.
        done = root.dpkg_install(upgrade.main)
        assert installed_version(root, "madoguchi") == f"install ok installed {upgrade.version}"
        assert root.file(f"{DATA}/device-ed25519.pem").read_bytes() == device_key
        assert root.file(f"{DATA}/server.json").read_bytes() == pinned
        assert root.file(PROFILE).read_text(encoding="utf-8") == profile(srv.url)
        assert owner(root, DATA) == ("madoguchi", "madoguchi", 0o700)
        assert owner(root, "/etc/madoguchi") == ("root", "madoguchi", 0o750)
        assert queue_depth(root) == 3

        # The self-test runs from the package and sees the enrolled kiosk, its outbox and the server.
        done = root.run(f"{MADOGUCHI} self-test --json --config {PROFILE}", user="madoguchi", check=False)
        report = {check["name"]: check for check in json.loads(done.stdout)["checks"]}
        assert report["enrolled"]["status"] == "ok", report["enrolled"]
        assert report["outbox"]["status"] == "ok", report["outbox"]
        assert report["server"]["status"] == "ok", report["server"]
        assert report["pcscd"]["status"] == "fail"  # no pcscd in this root: reported, exit non-zero
        assert done.returncode == 1

        # The queue drains after the upgrade.
        done = root.run(f"{MADOGUCHI} sync --once --json --config {PROFILE}", user="madoguchi")
        sync_report = json.loads(done.stdout)
        assert sync_report["accepted"] == 3
        assert sync_report["remaining"] == 0
        assert sorted(srv.accepted) == sorted(ids)
        assert queue_depth(root) == 0

    # remove: the application goes, the data, keys and configuration stay.
    root.run("dpkg -r madoguchi-kiosk-session madoguchi")
    assert installed_version(root, "madoguchi") == f"deinstall ok config-files {upgrade.version}"
    assert not root.file("/opt/madoguchi").exists()
    assert not root.file(MADOGUCHI).exists()
    assert root.file(f"{DATA}/device-ed25519.pem").read_bytes() == device_key
    assert root.file(f"{DATA}/server.json").read_bytes() == pinned
    assert root.file(PROFILE).is_file()

    # purge: data, keys and configuration are deleted.
    root.run("dpkg -P madoguchi-kiosk-session madoguchi")
    assert installed_version(root, "madoguchi") in ("", "unknown ok not-installed")
    assert not root.file(DATA).exists()
    assert not root.file("/etc/madoguchi").exists()
    assert root.run("dpkg-statoverride --list /etc/madoguchi", check=False).returncode != 0
