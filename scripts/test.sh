#!/usr/bin/env bash
# Install everything that is missing, start the services the tests use (pcscd + vpcd, PostgreSQL),
# then run the lint, type and test suite. Exit code 0 only when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export MADOGUCHI_TEST_PG_DSN=${MADOGUCHI_TEST_PG_DSN:-$(scripts/postgres.sh)}
export QT_QPA_PLATFORM=offscreen
export MADOGUCHI_REQUIRE_E2E=1  # e2e tests fail (not skip) when pcscd + vpcd are missing

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
