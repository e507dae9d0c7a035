#!/usr/bin/env bash
# Install what is missing, then run the demo (docs/demo.md): the embedded reference server starts on
# loopback, the demo kiosk enrolls, a virtual My Number Card is inserted into the virtual PC/SC reader
# (pcscd + vpcd), read and registered through the real PC/SC stack, synced, and its status looked up.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m kiosk.demo "$@"
