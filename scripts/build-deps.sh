#!/usr/bin/env bash
# Installs what the build needs beyond Rust and a C compiler: cmake and nasm, with which
# turbojpeg-sys builds libjpeg-turbo (the photo pipeline's JPEG codec) from its bundled source.
#   bash scripts/build-deps.sh   -> installs them with apt-get if either is missing, then prints both versions
# Idempotent: does nothing but print the versions when both are already there.
# nasm assembles libjpeg-turbo's x86 SIMD code; ARM builds (Android, iOS) use NEON intrinsics
# and need only cmake (see mobile-bindings/README.md).
set -euo pipefail

fail() {
  echo "error: $1" >&2
  echo "what to do: as root (or a user with sudo) on Debian/Ubuntu run" >&2
  echo "    apt-get update && apt-get install -y cmake nasm" >&2
  echo "  (macOS: brew install cmake nasm), then build again." >&2
  exit 1
}

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v nasm >/dev/null 2>&1 || missing+=(nasm)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || fail "${missing[*]} missing and apt-get is not available."
  if [ "$(id -u)" = 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo)
  else
    fail "${missing[*]} missing, and installing needs root (not root, no password-less sudo)."
  fi
  echo "installing ${missing[*]} with apt-get …"
  if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
    echo "apt-get install failed; refreshing the package lists (apt-get update) and trying again …"
    "${as_root[@]}" apt-get update -qq || fail "apt-get update failed (no network or no package mirror?)."
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
      || fail "apt-get install ${missing[*]} failed (output above)."
  fi
  command -v cmake >/dev/null 2>&1 || fail "apt-get finished but no cmake is on PATH."
  command -v nasm >/dev/null 2>&1 || fail "apt-get finished but no nasm is on PATH."
fi
echo "$(cmake --version | head -1); $(nasm -v)"
