#!/usr/bin/env bash
# Install what is missing, then run the demo: a virtual My Number Card is inserted into the virtual
# PC/SC reader (pcscd + vpcd) and read through the real PC/SC stack.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m kiosk.demo "$@"
