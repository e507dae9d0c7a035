#!/usr/bin/env bash
# Madoguchi installer for Debian 12 (run as root from a checkout of the repository).
#
# Installs one role, "kiosk" (the Qt kiosk with its in-process background sync) or "server" (the
# reference central server), into the layout documented in docs/installation.md:
#
#   /opt/madoguchi/venv                          the application (pip install of this checkout)
#   /opt/madoguchi/INSTALLED                     which commit was installed, when, for which role
#   /etc/madoguchi/{kiosk.toml,programs/,trust/} configuration (never overwritten once present)
#   /var/lib/madoguchi                           the service user's home and data (0700)
#   /etc/systemd/system/madoguchi-ROLE.service   the unit (installed, not enabled unless --enable)
#
# Idempotent: a second run changes nothing an operator edited; it re-installs the application and
# the unit file from the checkout. Options: see usage() below or `install.sh --help`.
set -euo pipefail

readonly SERVICE_USER=madoguchi
readonly APP_DIR=/opt/madoguchi
readonly VENV_DIR=$APP_DIR/venv
readonly CONF_DIR=/etc/madoguchi
readonly DATA_DIR=/var/lib/madoguchi
readonly UNIT_DIR=/etc/systemd/system

# The packages come from scripts/setup.sh (the project's own machine set-up), less what only tests and
# the demo need (xvfb, vsmartcard-vpcd, opensc, pcsc-tools, postgresql, iproute2, procps).
# - every role: python3-venv creates the venv; gcc, python3-dev and libpcsclite-dev build pyscard,
#   which PyPI publishes for Linux only as source; libpcsclite1 is the PC/SC client library pyscard
#   loads at run time.
# - kiosk: pcscd (the PC/SC daemon; it pulls the CCID reader driver, libccid), the Qt xcb platform's
#   libraries, PulseAudio's client library (the card-left-behind alarm), the CJK fonts.
readonly COMMON_PACKAGES=(python3 python3-venv gcc python3-dev libpcsclite-dev libpcsclite1)
readonly KIOSK_PACKAGES=(
  pcscd fonts-noto-cjk libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-cursor0
  libxkbcommon-x11-0 libpulse0
)

usage() {
  cat <<'EOF'
Usage: installer/install.sh [--role kiosk|server] [--enable] [--root DIR] [--no-venv] [--help]

Install Madoguchi on Debian 12 from the checkout this script belongs to. Run as root.

  --role kiosk|server  which systemd unit to install (default: kiosk). The kiosk runs
                       `madoguchi kiosk --fullscreen` with its background sync in the same process;
                       the server runs `madoguchi server run`.
  --enable             also `systemctl enable --now` the unit. Without it nothing is enabled or
                       started: edit /etc/madoguchi first, enroll the kiosk / init the server.
  --root DIR           stage the whole layout under DIR instead of / (for tests and packaging):
                       apt-get, useradd, chown and systemctl are not run but printed as
                       "would run: ...". --prefix DIR is the same option.
  --no-venv            do not create the venv nor run pip (no network); the unit still points at
                       /opt/madoguchi/venv/bin/madoguchi. For tests of the staged layout.
  -h, --help           this text.

Configuration that already exists under /etc/madoguchi is never overwritten; newer shipped
versions stay in the checkout's config/ for the operator to compare.
EOF
}

die() {
  echo "install.sh: $*" >&2
  exit 2
}

log() {
  echo "install.sh: $*"
}

ROLE=kiosk
ROOT=""
CLEANUP=()
ENABLE=0
NO_VENV=0

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --role) [ $# -ge 2 ] || die "--role needs kiosk or server"; ROLE=$2; shift 2 ;;
      --role=*) ROLE=${1#--role=}; shift ;;
      --root | --prefix) [ $# -ge 2 ] || die "$1 needs a directory"; ROOT=$2; shift 2 ;;
      --root=* | --prefix=*) ROOT=${1#*=}; shift ;;
      --enable) ENABLE=1; shift ;;
      --no-venv) NO_VENV=1; shift ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" ;;
    esac
  done
  case "$ROLE" in
    kiosk | server) ;;
    *) die "--role must be kiosk or server, not '$ROLE'" ;;
  esac
  if [ -n "$ROOT" ]; then
    [ -d "$ROOT" ] || die "--root $ROOT: not a directory"
    ROOT=$(cd "$ROOT" && pwd)
    [ "$ROOT" != / ] || ROOT=""
  fi
}

staged() {
  [ -n "$ROOT" ]
}

# Run a command that touches the real system, or print it when staging.
system() {
  if staged; then
    echo "would run: $*"
  else
    "$@"
  fi
}

# mkdir + mode + owner (the owner only on the real system: the user does not exist in a staged root).
make_dir() {
  local mode=$1 owner=$2 dir=$ROOT$3
  mkdir -p "$dir"
  chmod "$mode" "$dir"
  system chown "$owner" "$3"
}

# Copy one file (always: the checkout's version wins).
put_file() {
  local mode=$1 owner=$2 src=$3 dest=$ROOT$4
  install -m "$mode" "$src" "$dest"
  system chown "$owner" "$4"
}

# Copy one configuration file only if the destination does not exist: an operator's file is kept.
put_config() {
  local mode=$1 src=$2 dest=$3
  if [ -e "$ROOT$dest" ]; then
    log "kept $dest (exists; the shipped version is $src)"
    return 0
  fi
  put_file "$mode" "root:$SERVICE_USER" "$src" "$dest"
  log "installed $dest"
}

check_system() {
  staged && return 0
  [ "$(id -u)" -eq 0 ] || die "run as root (or stage with --root DIR)"
  # shellcheck source=/dev/null
  . /etc/os-release
  if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ]; then
    die "this installer supports Debian 12 only (found ${PRETTY_NAME:-unknown})"
  fi
  command -v systemctl >/dev/null || die "systemctl not found: systemd is required"
}

install_packages() {
  local packages=("${COMMON_PACKAGES[@]}") missing=() pkg
  [ "$ROLE" = kiosk ] && packages+=("${KIOSK_PACKAGES[@]}")
  if staged; then
    echo "would run: apt-get install -y --no-install-recommends ${packages[*]}"
    return 0
  fi
  for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "Debian packages present"
    return 0
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

create_user() {
  if staged; then
    echo "would run: useradd --system --user-group --home-dir $DATA_DIR --no-create-home" \
      "--shell /usr/sbin/nologin $SERVICE_USER"
    return 0
  fi
  if getent passwd "$SERVICE_USER" >/dev/null; then
    log "user $SERVICE_USER exists"
    return 0
  fi
  useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
    --shell /usr/sbin/nologin --comment "Madoguchi service" "$SERVICE_USER"
  log "created system user $SERVICE_USER"
}

make_layout() {
  make_dir 0755 root:root "$APP_DIR"
  # Configuration: readable by the service user, writable by root only.
  make_dir 0750 "root:$SERVICE_USER" "$CONF_DIR"
  make_dir 0750 "root:$SERVICE_USER" "$CONF_DIR/programs"
  make_dir 0750 "root:$SERVICE_USER" "$CONF_DIR/trust"
  make_dir 0750 "root:$SERVICE_USER" "$CONF_DIR/trust/production"
  # Data: the sealed outbox and the device key (kiosk), the server's keys and SQLite (server).
  make_dir 0700 "$SERVICE_USER:$SERVICE_USER" "$DATA_DIR"
  if [ "$ROLE" = server ]; then
    make_dir 0700 "$SERVICE_USER:$SERVICE_USER" "$DATA_DIR/server"
  fi
  mkdir -p "$ROOT$UNIT_DIR"
}

install_venv() {
  if [ "$NO_VENV" -eq 1 ]; then
    log "--no-venv: venv and pip skipped ($VENV_DIR is not created)"
    return 0
  fi
  local venv=$ROOT$VENV_DIR wheels
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  wheels=$(mktemp -d)
  CLEANUP+=("$wheels")
  "$venv/bin/pip" wheel -q --disable-pip-version-check --no-cache-dir --no-deps -w "$wheels" "$SRC"
  # The pinned dependencies from pyproject.toml, then the project itself forced, so that re-running
  # with the same version number still installs exactly this checkout's code.
  "$venv/bin/pip" install -q --disable-pip-version-check --no-cache-dir "$wheels"/madoguchi-*.whl
  "$venv/bin/pip" install -q --disable-pip-version-check --no-cache-dir --no-deps --force-reinstall \
    "$wheels"/madoguchi-*.whl
  "$venv/bin/pip" check
  log "installed the application into $VENV_DIR"
}

# A missing shared library makes the Qt xcb platform abort at start: say which, now.
check_qt_libraries() {
  [ "$ROLE" = kiosk ] && [ "$NO_VENV" -eq 0 ] && ! staged || return 0
  local plugin missing
  plugin=$(find "$VENV_DIR" -path '*/PySide6/Qt/plugins/platforms/libqxcb.so' -print -quit)
  [ -n "$plugin" ] || die "PySide6's xcb platform plugin not found under $VENV_DIR"
  missing=$(ldd "$plugin" | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
  [ -z "$missing" ] || die "the Qt xcb platform needs libraries that are not installed: $missing"
}

record_install() {
  local commit=unknown dirty=""
  if command -v git >/dev/null && git -C "$SRC" rev-parse HEAD >/dev/null 2>&1; then
    commit=$(git -C "$SRC" rev-parse HEAD)
    [ -z "$(git -C "$SRC" status --porcelain --untracked-files=no)" ] || dirty=" (working tree modified)"
  fi
  printf 'commit=%s%s\nrole=%s\ninstalled=%s\nsource=%s\n' \
    "$commit" "$dirty" "$ROLE" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SRC" >"$ROOT$APP_DIR/INSTALLED"
  chmod 0644 "$ROOT$APP_DIR/INSTALLED"
}

install_config() {
  local file
  if [ "$ROLE" = kiosk ]; then
    put_kiosk_profile
  fi
  for file in "$SRC"/config/programs/*.toml; do
    put_config 0640 "$file" "$CONF_DIR/programs/$(basename "$file")"
  done
  # Production anchors only: config/trust/test/ (the project's test J-LIS hierarchy) never leaves
  # the checkout, so an installed machine cannot accept a test card.
  put_config 0640 "$SRC/config/trust/production.toml" "$CONF_DIR/trust/production.toml"
  for file in "$SRC"/config/trust/production/*; do
    put_config 0640 "$file" "$CONF_DIR/trust/production/$(basename "$file")"
  done
}

# kiosk.toml from the example, only if absent. The example names /usr/share/madoguchi/programs; the
# programmes are installed in /etc/madoguchi/programs, so that one key is pointed there (relative to
# the profile). The example's trust path (trust/production/...) already resolves under /etc/madoguchi.
put_kiosk_profile() {
  local dest=$CONF_DIR/kiosk.toml example=$SRC/config/kiosk.example.toml tmp
  if [ -e "$ROOT$dest" ]; then
    log "kept $dest (exists; the shipped example is $example)"
    return 0
  fi
  grep -q '^programs_dir = "/usr/share/madoguchi/programs"$' "$example" ||
    die "$example no longer has the programs_dir line this installer rewrites: update install.sh"
  tmp=$(mktemp)
  CLEANUP+=("$tmp")
  sed 's|^programs_dir = "/usr/share/madoguchi/programs"$|programs_dir = "programs"|' "$example" >"$tmp"
  put_file 0640 "root:$SERVICE_USER" "$tmp" "$dest"
  log "installed $dest from the example: set [kiosk] id, program and [server] url before enrolling"
}

install_unit() {
  local unit=madoguchi-$ROLE.service
  put_file 0644 root:root "$SRC/installer/systemd/$unit" "$UNIT_DIR/$unit"
  log "installed $UNIT_DIR/$unit"
  system systemctl daemon-reload
  if [ "$ENABLE" -eq 1 ]; then
    system systemctl enable --now "$unit"
  else
    log "not enabled: when configured, run: systemctl enable --now $unit"
  fi
}

cleanup() {
  [ ${#CLEANUP[@]} -eq 0 ] || rm -rf "${CLEANUP[@]}"
}

main() {
  trap cleanup EXIT
  parse_args "$@"
  SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  readonly SRC
  if [ ! -f "$SRC/pyproject.toml" ] || [ ! -d "$SRC/config" ]; then
    die "$SRC is not a Madoguchi checkout"
  fi
  check_system
  install_packages
  create_user
  make_layout
  install_venv
  check_qt_libraries
  record_install
  install_config
  install_unit
  log "done (role $ROLE${ROOT:+, staged under $ROOT})"
}

main "$@"
