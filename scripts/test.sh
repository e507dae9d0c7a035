#!/usr/bin/env bash
# Install everything that is missing, start the services the tests use (pcscd + vpcd, PostgreSQL),
# then run the lint, type and test suite. Exit code 0 only when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# Assigned before the export: `export X=$(cmd)` would hide a failing postgres.sh from `set -e`, and
# an empty DSN makes every PostgreSQL test skip (tests/server/conftest.py) while the run stays green.
MADOGUCHI_TEST_PG_DSN=${MADOGUCHI_TEST_PG_DSN:-$(scripts/postgres.sh)}
if [ -z "$MADOGUCHI_TEST_PG_DSN" ]; then
  echo "test: scripts/postgres.sh gave no DSN; the PostgreSQL tests would be skipped" >&2
  exit 1
fi
export MADOGUCHI_TEST_PG_DSN
export QT_QPA_PLATFORM=offscreen
export MADOGUCHI_REQUIRE_E2E=1  # e2e tests fail (not skip) when pcscd + vpcd are missing
# printing tests use this machine's CUPS scheduler over its socket: libcups would otherwise also try
# localhost:631, which in a chroot sharing the host's network is the host's cupsd
export CUPS_SERVER=/run/cups/cups.sock

.venv/bin/ruff check .
.venv/bin/mypy
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test: pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
