#!/usr/bin/env bash
# Build the Madoguchi Debian packages (madoguchi, madoguchi-kiosk-session) from this checkout.
#
#   installer/build-deb.sh [--out DIR] [--version VERSION] [--lintian] [--json]
#
# Standard tooling: dpkg-buildpackage + debhelper (installer/debian/ becomes debian/). The Python
# dependencies come from a wheelhouse cached under $MADOGUCHI_BUILD_CACHE (default
# /var/cache/madoguchi-build), keyed by the Python version and the pinned dependencies of
# pyproject.toml: the first build downloads and compiles (pyscard) once, every later build is
# offline. The finished venv is cached by source tree (a second version of the same tree copies
# it), and a finished build by source tree, version and compression: building the same tree again
# copies the packages (the tests and CI ask for them several times).
#   --out DIR          where the .deb files go (default dist/deb)
#   --version VERSION  package version (default: the top of installer/debian/changelog); a newer
#                      one gets its own changelog entry (for upgrade tests)
#   --uncompressed     store the .deb uncompressed (dpkg-deb -Znone): for throw-away test builds
#   --lintian          run lintian on the result and print its tags
#   --json             last line: {"version", "debs", "size_bytes", "installed_kib", "build_s",
#                      "wheelhouse_s", "dpkg_buildpackage_s" (of the build that made them), "cached"}
set -euo pipefail
# Debian's own tools and interpreter only (no pyenv or /usr/local shims): the venv links to the
# python3.11 of the kiosk, which is /usr/bin/python3.11.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MADOGUCHI_BUILD_CACHE:-/var/cache/madoguchi-build}
OUT=$SRC/dist/deb
VERSION=""
LINTIAN=0
JSON=0
COMPRESSION=gzip

die() { echo "build-deb: $*" >&2; exit 2; }

# Directories matching a glob in a directory, newest first, one per line.
newest_first() {
  find "$1" -mindepth 1 -maxdepth 1 -type d -name "$2" -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2-
}

while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || die "--out needs a directory"; OUT=$2; shift 2 ;;
    --version) [ $# -ge 2 ] || die "--version needs a value"; VERSION=$2; shift 2 ;;
    --lintian) LINTIAN=1; shift ;;
    --uncompressed) COMPRESSION=none; shift ;;
    --json) JSON=1; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown option: $1" ;;
  esac
done

for tool in dpkg-buildpackage dh python3.11 git; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/setup.sh (it installs debhelper, dpkg-dev)"
done
start=$(date +%s.%N)
mkdir -p "$CACHE" "$OUT"
# One build at a time per cache (parallel test runs share it): the others wait here, then usually
# find their build done.
exec 9>"$CACHE/.lock"
flock 9
OUT=$(cd "$OUT" && pwd)
BASE_VERSION=$(sed -n '1s/^madoguchi (\([^)]*\)).*/\1/p' "$SRC/installer/debian/changelog")
VERSION=${VERSION:-$BASE_VERSION}

# --- the wheelhouse ------------------------------------------------------------------------------
deps_key=$(python3.11 - "$SRC/pyproject.toml" <<'PY'
import hashlib, sys, tomllib, platform
data = tomllib.load(open(sys.argv[1], "rb"))
text = "\n".join([platform.python_version(), *data["build-system"]["requires"], *data["project"]["dependencies"]])
print(hashlib.sha256((sys.executable + "\n" + text).encode()).hexdigest()[:16])
PY
)
WHEELHOUSE=$CACHE/wheelhouse-$deps_key
wheelhouse_start=$(date +%s.%N)
if [ ! -f "$WHEELHOUSE/.complete" ]; then
  echo "build-deb: making the wheelhouse $WHEELHOUSE (once per dependency set; needs PyPI)" >&2
  rm -rf "$WHEELHOUSE" "$CACHE/pip-venv"
  python3.11 -m venv "$CACHE/pip-venv"
  mapfile -t reqs < <(python3.11 -c '
import sys, tomllib
d = tomllib.load(open(sys.argv[1], "rb"))
print("\n".join(d["build-system"]["requires"] + d["project"]["dependencies"]))' "$SRC/pyproject.toml")
  "$CACHE/pip-venv/bin/pip" wheel -q --disable-pip-version-check --no-cache-dir -w "$WHEELHOUSE" "${reqs[@]}" \
    >"$CACHE/wheelhouse.log" 2>&1 || { tail -n 20 "$CACHE/wheelhouse.log" >&2; die "pip wheel failed; see $CACHE/wheelhouse.log"; }
  touch "$WHEELHOUSE/.complete"
  # Wheelhouses of older dependency sets (~300 MB each): only the two newest are kept.
  newest_first "$CACHE" 'wheelhouse-*' | tail -n +3 | xargs -r rm -rf
fi
wheelhouse_s=$(awk -v s="$wheelhouse_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

# --- the source tree: tracked and new (not ignored) files of the working tree, packaged paths ----
cd "$SRC"
# What goes into the packages: the wheel's sources and metadata, the configuration, installer/.
# Tests, docs and benchmarks stay out, so changing them does not rebuild anything.
PACKAGED=(pyproject.toml setup.py README.md babel.cfg card kiosk ui sync config installer)
packaged_files() {
  git ls-files -z -co --exclude-standard -- "${PACKAGED[@]}" |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done
}
tree_key=$( {
  echo "$deps_key"
  packaged_files | sort -z | xargs -0 sha256sum
} | sha256sum | cut -c1-16)
src_key=$(echo "$VERSION $COMPRESSION $tree_key" | sha256sum | cut -c1-16)
# The venv depends on the tree and the wheelhouse only, not on the Debian version (debian/rules).
VENV_CACHE=$CACHE/venv-$tree_key
DONE=$CACHE/done/$VERSION-$COMPRESSION-$src_key
if [ -f "$DONE/.complete" ]; then
  cached=true
else
  cached=false
  BUILD=$CACHE/build
  rm -rf "$BUILD"
  mkdir -p "$BUILD/madoguchi-$VERSION"
  packaged_files | tar --null -T - -cf - | tar -xf - -C "$BUILD/madoguchi-$VERSION"
  cd "$BUILD/madoguchi-$VERSION"
  cp -r installer/debian debian
  if [ "$VERSION" != "$BASE_VERSION" ]; then
    {
      printf 'madoguchi (%s) bookworm; urgency=medium\n\n  * Build %s of the working tree.\n\n' "$VERSION" "$VERSION"
      printf ' -- Madoguchi project <madoguchi@example.pref.miyagi.jp>  %s\n\n' "$(date -R)"
      cat installer/debian/changelog
    } >debian/changelog
  fi
  package_start=$(date +%s.%N)
  # Each line of the log gets the seconds since the start, to see where a build spends its time.
  MADOGUCHI_WHEELHOUSE=$WHEELHOUSE MADOGUCHI_VENV_CACHE=$VENV_CACHE MADOGUCHI_DEB_COMPRESSION=$COMPRESSION \
    dpkg-buildpackage -b -uc -us 2>&1 |
    awk -v s="$(date +%s)" '{ printf "%4d %s\n", systime() - s, $0; fflush() }' >"$BUILD/build.log" ||
    { tail -n 30 "$BUILD/build.log" >&2; die "dpkg-buildpackage failed; see $BUILD/build.log"; }
  awk -v s="$package_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", e - s }' >"$BUILD/package_s"
  rm -rf "${DONE:?}"
  mkdir -p "$DONE"
  mv "$BUILD"/*.deb "$BUILD"/*.buildinfo "$BUILD"/*.changes "$BUILD/package_s" "$DONE"/
  cp "$BUILD/build.log" "$DONE/"
  cd "$SRC"  # out of the build directory before it goes (lintian, below, needs a working directory)
  rm -rf "$BUILD"
  # Only the last few builds are kept.
  newest_first "$CACHE/done" '*' | tail -n +5 | xargs -r rm -rf
  newest_first "$CACHE" 'venv-*' | tail -n +3 | xargs -r rm -rf
  touch "$DONE/.complete"
fi
cp "$DONE"/*.deb "$OUT"/
debs=()
for deb in "$DONE"/*.deb; do debs+=("$(basename "$deb")"); done

# lintian takes minutes on ~9,000 files: its report is kept with the build it checked.
if [ "$LINTIAN" -eq 1 ]; then
  command -v lintian >/dev/null || die "lintian not found: run scripts/setup.sh"
  if [ ! -f "$DONE/lintian.txt" ]; then
    # Exit 1 means it reported errors (the report is the result); anything higher is lintian
    # itself failing, and is not kept as a report.
    rc=0
    lintian --tag-display-limit 0 "$DONE"/*.changes >"$DONE/lintian.partial" 2>&1 || rc=$?
    if [ "$rc" -gt 1 ]; then
      cat "$DONE/lintian.partial" >&2
      die "lintian failed (exit $rc)"
    fi
    mv "$DONE/lintian.partial" "$DONE/lintian.txt"
  fi
  cat "$DONE/lintian.txt"
fi

elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
size=$(stat -c %s "$DONE"/madoguchi_*.deb)
echo "build-deb: ${debs[*]} in $OUT (${elapsed} s, cached: $cached)" >&2
if [ "$JSON" -eq 1 ]; then
  printf '{"version": "%s", "debs": [%s], "size_bytes": %s, "installed_kib": %s, "build_s": %s, "wheelhouse_s": %s, "dpkg_buildpackage_s": %s, "cached": %s}\n' \
    "$VERSION" "$(printf '"%s",' "${debs[@]}" | sed 's/,$//')" "$size" \
    "$(dpkg-deb -f "$DONE"/madoguchi_*.deb Installed-Size)" "$elapsed" "$wheelhouse_s" \
    "$(cat "$DONE/package_s")" "$cached"
fi
