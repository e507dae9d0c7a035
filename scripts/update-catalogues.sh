#!/bin/sh
# Re-extract every Message/Plural of kiosk/ and ui/ into kiosk/locale/madoguchi.pot and merge it
# into each language's .po (pybabel extract + update; new messages arrive empty, changed ones fuzzy),
# then compile. Run after adding or changing a string (docs/ui.md "How to add a string").
# When the extracted messages are the same as the committed template's, nothing is rewritten (the
# template's creation date alone would otherwise change every catalogue on every run).
set -eu
cd "$(dirname "$0")/.."
PYBABEL=.venv/bin/pybabel
[ -x "$PYBABEL" ] || { echo "update-catalogues: $PYBABEL missing; run scripts/setup.sh" >&2; exit 1; }
POT=kiosk/locale/madoguchi.pot
NEW=$(mktemp)
trap 'rm -f "$NEW"' EXIT
"$PYBABEL" -q extract -F babel.cfg --no-default-keywords -k Message:1c,2 -k Plural:1c,2,3 \
  -c TRANSLATORS: --project=Madoguchi --version=0.1 --copyright-holder="Madoguchi project" \
  --sort-by-file --no-location -w 100 -o "$NEW" .
if [ -f "$POT" ] && [ "$(grep -v '^"POT-Creation-Date:' "$NEW")" = "$(grep -v '^"POT-Creation-Date:' "$POT")" ] \
  && [ "${1:-}" != "--force" ]; then
  echo "update-catalogues: no message changed"
else
  cp "$NEW" "$POT"
  # language code (directory) -> Babel/CLDR locale (plural rule, Language header)
  for pair in ja:ja ja-easy:ja en:en zh-Hans:zh_Hans ko:ko vi:vi tl:fil ne:ne pt:pt_BR id:id; do
    lang=${pair%%:*}
    locale=${pair#*:}
    po=kiosk/locale/$lang/LC_MESSAGES/madoguchi.po
    if [ -f "$po" ]; then
      "$PYBABEL" -q update -i "$POT" -o "$po" -l "$locale" -w 100 --ignore-obsolete
    else
      mkdir -p "$(dirname "$po")"
      "$PYBABEL" -q init -i "$POT" -o "$po" -l "$locale" -w 100
    fi
  done
fi
exec scripts/compile-catalogues.sh
