#!/usr/bin/env bash
# Installs headless Chromium and chromedriver for the web-page tests (tests/src/browser.rs).
#   bash scripts/browser.sh      -> installs them with apt-get if either is missing, then prints both versions
# Idempotent: does nothing but print the versions when both are already there.
# The tests look for them on PATH, or take FIELDSEAL_CHROMIUM / FIELDSEAL_CHROMEDRIVER.
set -euo pipefail
source "$(dirname "$0")/apt.sh"

have_chromium() {
  [ -n "${FIELDSEAL_CHROMIUM:-}" ] && [ -x "$FIELDSEAL_CHROMIUM" ] && return 0
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || command -v google-chrome >/dev/null 2>&1
}

have_chromedriver() {
  [ -n "${FIELDSEAL_CHROMEDRIVER:-}" ] && [ -x "$FIELDSEAL_CHROMEDRIVER" ] && return 0
  command -v chromedriver >/dev/null 2>&1
}

fail() {
  echo "error: $1" >&2
  echo "what to do: as root (or a user with sudo) on Debian/Ubuntu run" >&2
  echo "    apt-get update && apt-get install -y chromium chromium-driver" >&2
  echo "  or install Chromium and a matching chromedriver yourself and point the tests at them with" >&2
  echo "    FIELDSEAL_CHROMIUM=/path/to/chromium FIELDSEAL_CHROMEDRIVER=/path/to/chromedriver" >&2
  exit 1
}

if have_chromium && have_chromedriver; then
  echo "Chromium and chromedriver are already installed."
else
  apt_install chromium chromium-driver
  have_chromium || fail "apt-get finished but no chromium is on PATH."
  have_chromedriver || fail "apt-get finished but no chromedriver is on PATH."
fi

# The same choice as tests/src/browser.rs: Debian's real binary before its /usr/bin/chromium shell wrapper.
if [ -n "${FIELDSEAL_CHROMIUM:-}" ]; then
  chromium_bin="$FIELDSEAL_CHROMIUM"
elif [ -x /usr/lib/chromium/chromium ]; then
  chromium_bin=/usr/lib/chromium/chromium
else
  chromium_bin="$(command -v chromium || command -v chromium-browser || command -v google-chrome)"
fi
driver_bin="${FIELDSEAL_CHROMEDRIVER:-$(command -v chromedriver)}"
echo "chromium:     $chromium_bin"
"$chromium_bin" --version || fail "$chromium_bin does not run."
echo "chromedriver: $driver_bin"
"$driver_bin" --version || fail "$driver_bin does not run."
