#!/bin/sh
# Compile each kiosk/locale/<lang>/LC_MESSAGES/madoguchi.po to its .mo (what kiosk/i18n.py reads),
# only when the .mo is missing or older than the .po: idempotent and quick (setup.sh runs it).
# pybabel compile also runs Babel's checkers (placeholders, plural forms) and fails on an error.
set -eu
cd "$(dirname "$0")/.."
PYBABEL=.venv/bin/pybabel
[ -x "$PYBABEL" ] || { echo "compile-catalogues: $PYBABEL missing; run scripts/setup.sh" >&2; exit 1; }
for po in kiosk/locale/*/LC_MESSAGES/madoguchi.po; do
  [ -f "$po" ] || continue
  mo=${po%.po}.mo
  if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then
    out=$("$PYBABEL" compile -i "$po" -o "$mo.tmp" --statistics 2>&1) \
      || { rm -f "$mo.tmp"; echo "$out" >&2; echo "compile-catalogues: $po does not compile" >&2; exit 1; }
    if echo "$out" | grep -q '^error:'; then
      rm -f "$mo.tmp"; echo "$out" >&2; echo "compile-catalogues: $po has errors" >&2; exit 1
    fi
    mv "$mo.tmp" "$mo"
  fi
done
