#!/usr/bin/env bash
# Install what the tests need (on a fresh Debian machine too) and run the whole suite inside a D-Bus session with
# an unlocked gnome-keyring, so the keychain tests talk to a real Secret Service.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v dbus-run-session >/dev/null || need_apt+=(dbus)
command -v gnome-keyring-daemon >/dev/null || need_apt+=(gnome-keyring)
command -v secret-tool >/dev/null || need_apt+=(libsecret-tools)
command -v bsdtar >/dev/null || need_apt+=(libarchive-tools)
command -v tmux >/dev/null || need_apt+=(tmux)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v curl >/dev/null || need_apt+=(curl)
command -v chromium >/dev/null || need_apt+=(chromium)
PY=${PYTHON:-python3}
# Debian's own python3 ships venv/ensurepip separately.
"$PY" -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "note: missing ${need_apt[*]}; the tests that need them will skip (run as root to install them)"
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
pip_log=$(mktemp)
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' >"$pip_log" 2>&1; then
  cat "$pip_log"; echo "pip install failed" >&2; exit 1
fi
rm -f "$pip_log"

run_tests() { exec .venv/bin/python -m pytest "$@"; }
if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
  # The keyring password only unlocks this throwaway test keyring; it lives in a temp HOME.
  export ODATUI_TEST_KEYRING=1
  exec dbus-run-session -- bash -c '
    export XDG_DATA_HOME=$(mktemp -d) HOME_KEYRING_DIR=$(mktemp -d)
    printf "odatui-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
    exec .venv/bin/python -m pytest "$@"' bash "$@"
fi
run_tests "$@"
