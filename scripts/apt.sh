# Sourced by the install scripts (browser.sh, build-deps.sh): apt_install PKG... installs Debian
# packages as root or with password-less sudo, refreshing the package lists and trying once more
# if the first try fails. When it cannot, it calls the sourcing script's `fail MESSAGE`, which
# says what to do instead.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || fail "$* missing and apt-get is not available."
  local as_root=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      as_root=(sudo)
    else
      fail "$* missing, and installing needs root (not root, no password-less sudo)."
    fi
  fi
  echo "installing $* with apt-get …"
  if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; then
    echo "apt-get install failed; refreshing the package lists (apt-get update) and trying again …"
    "${as_root[@]}" apt-get update -qq || fail "apt-get update failed (no network or no package mirror?)."
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" \
      || fail "apt-get install $* failed (output above)."
  fi
}
