#!/usr/bin/env bash
# Kiln Studio developer entry point.
#   ./dev.sh run [FILES...] [--data-dir DIR]   set up and launch the app
#   ./dev.sh test [PYTEST ARGS...]              set up and run lint, types, contracts and all tests
#   ./dev.sh account-server [--port N]          set up and run the account service (SQLite)
# Both install what they need: Debian packages for Qt/Xvfb (when missing), then a
# virtualenv in .venv with the pinned Python packages.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
DEBIAN_PACKAGES=(
    xvfb xauth libgl1 libegl1 libglx-mesa0 libgl1-mesa-dri libfontconfig1 libdbus-1-3
    libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
    libxcb-render-util0 libxcb-image0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1 libxrender1
    libxi6 libxtst6 fonts-dejavu-core
)

log() { printf '\033[1m[kiln]\033[0m %s\n' "$*" >&2; }

install_debian_packages() {
    command -v dpkg-query >/dev/null 2>&1 || return 0   # not Debian/Ubuntu: see README
    local missing=()
    for pkg in "${DEBIAN_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then missing+=(python3-venv); fi
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_venv() {
    local extras=$1
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || { log "Python 3.11 or newer is needed (found $("$PYTHON" --version))"; exit 1; }
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    local stamp="$VENV/.installed-$extras-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        log "installing Python packages ($extras)"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e ".[$extras]"
        rm -f "$VENV"/.installed-"$extras"-*
        touch "$stamp"
    fi
}

with_display() {
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then "$@"; else xvfb-run -a -s "-screen 0 1920x1080x24" "$@"; fi
}

cmd=${1:-run}
shift || true
case "$cmd" in
    run)
        install_debian_packages
        setup_venv test
        with_display "$VENV/bin/python" main.py "$@"
        ;;
    test)
        # PostgreSQL: the account service's tests run against a throwaway cluster too.
        install_debian_packages postgresql
        setup_venv test
        export PATH="$PWD/$VENV/bin:$PATH"
        log "ruff";          ruff check .
        log "mypy";          mypy
        log "import-linter"; lint-imports
        log "pytest"
        # A private X server for the whole run: tests need a real VTK render window.
        xvfb-run -a -s "-screen 0 1920x1080x24" "$VENV/bin/python" -m pytest "$@"
        ;;
    account-server)
        setup_venv test
        exec "$VENV/bin/python" -m account_api serve "$@"
        ;;
    *)
        echo "usage: ./dev.sh run [FILES...] | ./dev.sh test [PYTEST ARGS...] | ./dev.sh account-server" >&2
        exit 2
        ;;
esac
