#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine (run as root from the checkout):
# installs the missing Debian packages, creates .venv, installs the project with its test extra,
# and starts pcscd when it is not running. Sourced by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  pcscd libpcsclite-dev vsmartcard-vpcd opensc pcsc-tools
  xvfb fonts-noto-cjk libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-cursor0
  libxkbcommon-x11-0 libpulse0 postgresql iproute2 procps
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.madoguchi-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing the project into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  touch "$stamp"
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
[ -S /run/pcscd/pcscd.comm ] || { echo "setup: pcscd did not start (see /tmp/madoguchi-pcscd.log)" >&2; exit 1; }
