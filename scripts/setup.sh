#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine (run as root from the checkout):
# installs the missing Debian packages, creates (or rebuilds a broken) .venv, installs the project
# with its test extra, and starts pcscd when it is not running. Called by demo.sh and test.sh.
#
# Why each Debian package is here is said beside it: a fresh Debian 12 is "minimal root + python3",
# so everything else the README's commands touch must be named (issue 10). When something cannot be
# installed the script stops with one line naming what is missing and why.
set -euo pipefail
cd "$(dirname "$0")/.."
# The caller's locale must not leak into what we create (an SQL_ASCII cluster, byte-string names).
export LC_ALL=C.UTF-8 LANG=C.UTF-8

DEBIAN_PACKAGES=(
  # Python: the venv, and the compiler + headers + SWIG that pyscard's source build needs
  python3 python3-venv python3-dev gcc libc6-dev swig pkg-config
  # PC/SC: the daemon, the CCID driver for real USB readers, the virtual reader and its tools
  pcscd libccid libpcsclite-dev vsmartcard-vpcd opensc pcsc-tools
  # Qt (PySide6 wheels) runtime: what ldd on the Qt libraries and the xcb/offscreen plugins asks for
  libegl1 libgl1 libopengl0 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 libxkbcommon0
  libxkbcommon-x11-0 libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0
  libxcb-sync1 libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1 libsm6 libice6 libxrender1 libxext6
  libcups2 libpulse0 libasound2 libgssapi-krb5-2
  # a screen for tests and screenshots, the fonts every shown language needs
  xvfb xauth fonts-noto-cjk fonts-noto-core
  # the central server's database for the PostgreSQL tests, and the tools the scripts call
  postgresql locales iproute2 procps ca-certificates git
  # issue 13: printing to PDF through real CUPS (cups-pdf queue, pdftoppm/pdftotext in the tests),
  # offline speech prompts (Open JTalk + its dictionary for Japanese, Flite for English, espeak-ng for
  # the others) and PulseAudio (the voice test plays them into a null sink and records its monitor)
  cups printer-driver-cups-pdf poppler-utils open-jtalk open-jtalk-mecab-naist-jdic espeak-ng flite
  pulseaudio pulseaudio-utils
  # the installer's own checks (tests/test_installer.py): shell lint and systemd unit verification
  shellcheck systemd
  # the Debian package (installer/build-deb.sh, tests/installer): debhelper builds it, lintian
  # checks it, debootstrap makes the throw-away Debian root it is installed into; cage is the
  # kiosk session's compositor (systemd-analyze verify checks its ExecStart binary exists; Debian's
  # cage 0.1.4 refuses to start without the Xwayland binary)
  # (dpkg-buildpackage's build-dependency check demands build-essential, whatever debian/control says)
  debhelper dpkg-dev build-essential debootstrap lintian cage xwayland
)

die() { echo "setup: $*" >&2; exit 1; }

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing Debian packages (${missing[*]}) and not root: run as root or install them with apt-get"
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/tmp/madoguchi-apt.log 2>&1 \
    || die "apt-get update failed (no network or no Debian mirror?): missing ${missing[*]}; see /tmp/madoguchi-apt.log"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/madoguchi-apt.log 2>&1 \
    || die "apt-get could not install: ${missing[*]}; see /tmp/madoguchi-apt.log"
fi

# A half-made .venv (python3-venv was missing, or an interrupted install) is rebuilt, not reused.
if [ -e .venv ] && ! { [ -x .venv/bin/python ] && [ -x .venv/bin/pip ] && .venv/bin/python -c 'import sys' 2>/dev/null; }; then
  echo "setup: .venv is broken; rebuilding it"
  rm -rf .venv
fi
if [ ! -e .venv ]; then
  python3 -m venv .venv || { rm -rf .venv; die "python3 -m venv failed (is python3-venv installed?)"; }
fi
stamp=.venv/.madoguchi-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing the project into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]' >/tmp/madoguchi-pip.log 2>&1 \
    || { tail -n 20 /tmp/madoguchi-pip.log >&2; die "pip could not install the project (no network to PyPI, or a build failed); see /tmp/madoguchi-pip.log"; }
  touch "$stamp"
fi
# Compiled translation catalogues (.mo) are build products, made from the .po files in the checkout.
if [ -x scripts/compile-catalogues.sh ]; then
  scripts/compile-catalogues.sh
fi
# Voice prompts (issue 13): pre-rendered from the compiled catalogues by the offline engines into
# .venv/share/madoguchi/prompts (content-addressed cache: only changed texts are rendered again).
if [ -f ui/voice_prompts.py ]; then
  .venv/bin/python -m ui.voice_prompts >/tmp/madoguchi-prompts.log 2>&1 \
    || { tail -n 5 /tmp/madoguchi-prompts.log >&2; die "could not build the voice prompts; see /tmp/madoguchi-prompts.log"; }
fi

# pcscd: started here when not running; never with --auto-exit (it would exit under a live card).
if ! pgrep -x pcscd >/dev/null; then
  mkdir -p /run/pcscd
  pcscd --foreground >/tmp/madoguchi-pcscd.log 2>&1 &
  disown || true
fi
for _ in $(seq 100); do
  [ -S /run/pcscd/pcscd.comm ] && ss -ltn | grep -q ':35963 ' && break
  sleep 0.1
done
[ -S /run/pcscd/pcscd.comm ] || die "pcscd did not start (see /tmp/madoguchi-pcscd.log)"
