"""Real Debian roots for the package tests: the built .deb files and a throw-away Debian 12 system.

The packages are built by ``installer/build-deb.sh`` (the same script CI and operators use; its own
cache makes a second build of an unchanged tree a copy). The system is a minimal Debian 12
(``debootstrap --variant=minbase``) with the package's run-time dependencies, made once and kept as
a tarball under the build cache, keyed by those dependencies; each test unpacks a fresh copy and
runs ``dpkg`` inside it with ``chroot``, so the maintainer scripts (adduser, dpkg-statoverride,
deb-systemd-helper) run for real against a real dpkg database, and the installed venv runs with
the root's own ``/usr/bin/python3``. The chroot shares this machine's network namespace: a server
on this machine's loopback is reachable from inside.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_DEB = REPO / "installer" / "build-deb.sh"
CACHE = Path(os.environ.get("MADOGUCHI_BUILD_CACHE", "/var/cache/madoguchi-build"))
MIRROR = "http://deb.debian.org/debian"


class DebRootError(RuntimeError):
    """A step of making the packages or the test root failed (the message says which)."""


@dataclass(frozen=True)
class Build:
    """One build of the packages: the version, the two .deb files, what the build reported."""

    version: str
    main: Path
    session: Path
    report: dict[str, object]


def build(out: Path, version: str | None = None, *, uncompressed: bool = False) -> Build:
    """Run ``installer/build-deb.sh --json`` into ``out``; its last stdout line is the report."""
    args = ["bash", str(BUILD_DEB), "--out", str(out), "--json"]
    if version:
        args += ["--version", version]
    if uncompressed:
        args.append("--uncompressed")
    done = subprocess.run(args, capture_output=True, text=True, timeout=1200, check=False)
    if done.returncode != 0:
        raise DebRootError(f"build-deb.sh failed ({done.returncode}): {done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    ver = str(report["version"])
    return Build(
        version=ver,
        main=out / f"madoguchi_{ver}_amd64.deb",
        session=out / f"madoguchi-kiosk-session_{ver}_all.deb",
        report=report,
    )


def field(deb: Path, name: str) -> str:
    """One control field of a .deb (dpkg-deb -f)."""
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def depends_packages(deb: Path) -> list[str]:
    """The package names of the Depends field, without version constraints ("a (>= 1) | b" -> a)."""
    names = []
    for clause in field(deb, "Depends").split(","):
        first = clause.split("|")[0].strip()
        names.append(re.sub(r"\s*\(.*\)", "", first))
    return sorted(set(names))


OWN_PACKAGES = frozenset({"madoguchi", "madoguchi-kiosk-session"})


def root_tarball(*debs: Path) -> Path:
    """The cached minimal Debian 12 root with the dependencies of ``debs`` (made once: minutes)."""
    packages = sorted({p for deb in debs for p in depends_packages(deb)} - OWN_PACKAGES)
    key = hashlib.sha256(" ".join(["bookworm", "minbase", *packages]).encode()).hexdigest()[:16]
    tarball = CACHE / f"testroot-{key}.tar"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "testroot.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs: one makes it, the others wait
        if not tarball.exists():
            _make_root(tarball, packages)
    return tarball


def _make_root(tarball: Path, packages: list[str]) -> None:
    key = tarball.stem.removeprefix("testroot-")
    work = CACHE / f"testroot-{key}.build"
    shutil.rmtree(work, ignore_errors=True)
    log = CACHE / "testroot-debootstrap.log"
    with log.open("w") as out:
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(work), MIRROR],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=1200,
            check=False,
        )
    if done.returncode != 0:
        raise DebRootError(f"debootstrap failed; see {log}")
    shutil.copy("/etc/resolv.conf", work / "etc" / "resolv.conf")
    install = (
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
        f"--no-install-recommends {' '.join(packages)} >/dev/null && apt-get clean"
    )
    done = subprocess.run(
        ["chroot", str(work), "/bin/sh", "-c", install], capture_output=True, text=True, timeout=1200
    )
    if done.returncode != 0:
        raise DebRootError(f"apt-get in the test root failed: {done.stderr[-2000:]}")
    partial = tarball.with_suffix(".tar.partial")
    subprocess.run(["tar", "-C", str(work), "-cf", str(partial), "."], check=True, timeout=600)
    partial.rename(tarball)
    shutil.rmtree(work, ignore_errors=True)


class DebianRoot:
    """A fresh copy of the test root, with /proc and /dev mounted, and commands run inside it."""

    def __init__(self, path: Path, tarball: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        subprocess.run(["tar", "-C", str(path), "-xf", str(tarball)], check=True, timeout=600)
        self._mounts: list[Path] = []
        self._mount(["-t", "proc", "proc"], path / "proc")
        self._mount(["--bind", "/dev"], path / "dev")

    def _mount(self, args: list[str], target: Path) -> None:
        subprocess.run(["mount", *args, str(target)], check=True)
        self._mounts.append(target)

    def close(self) -> None:
        """Stop what still runs inside the root, unmount, delete the copy."""
        real = str(self.path.resolve())
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if os.readlink(proc / "root") == real:
                    os.kill(int(proc.name), 9)
            except (OSError, ValueError):
                continue
        for target in reversed(self._mounts):
            subprocess.run(["umount", "-l", str(target)], check=False)
        shutil.rmtree(self.path, ignore_errors=True)

    def run(
        self, command: str, *, user: str | None = None, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a shell command inside the root (as ``user`` through runuser when given)."""
        argv = ["chroot", str(self.path)]
        if user:
            argv += ["runuser", "-u", user, "--"]
        argv += ["/bin/sh", "-c", command]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
        done = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=600, check=False, env=env
        )
        if check and done.returncode != 0:
            output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            raise DebRootError(f"in the root: {command!r} exited {done.returncode}:\n{output}")
        return done

    def dpkg_install(self, deb: Path) -> subprocess.CompletedProcess[str]:
        """Copy ``deb`` into the root and ``dpkg -i`` it (keeping modified conffiles, non-interactive).

        ``--force-unsafe-io``: no fsync per unpacked file (~9,000 of them), which is most of an
        install's time on a throw-away root and changes nothing the tests look at."""
        inside = Path("/tmp") / deb.name
        shutil.copy(deb, self.path / inside.relative_to("/"))
        return self.run(f"DEBIAN_FRONTEND=noninteractive dpkg --force-confold --force-unsafe-io -i {inside}")

    def file(self, path: str) -> Path:
        """An absolute path inside the root, as seen from this machine."""
        return self.path / path.lstrip("/")
