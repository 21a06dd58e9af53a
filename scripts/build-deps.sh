#!/usr/bin/env bash
# Installs what the build needs beyond Rust and a C compiler: cmake and nasm, with which
# turbojpeg-sys builds libjpeg-turbo (the photo pipeline's JPEG codec) from its bundled source.
#   bash scripts/build-deps.sh   -> installs them with apt-get if either is missing, then prints both versions
# Idempotent: does nothing but print the versions when both are already there.
# nasm assembles libjpeg-turbo's x86 SIMD code; ARM builds (Android, iOS) use NEON intrinsics
# and need only cmake (see mobile-bindings/README.md).
set -euo pipefail
source "$(dirname "$0")/apt.sh"

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
  apt_install "${missing[@]}"
  command -v cmake >/dev/null 2>&1 || fail "apt-get finished but no cmake is on PATH."
  command -v nasm >/dev/null 2>&1 || fail "apt-get finished but no nasm is on PATH."
fi
echo "$(cmake --version | head -1); $(nasm -v)"
