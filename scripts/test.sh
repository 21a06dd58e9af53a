#!/usr/bin/env bash
# The whole fieldseal test suite: formatting, lints, unit, integration and end-to-end tests.
# Installs what it needs on a fresh machine (run as root); safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain components (rustfmt, clippy)"
rustup component add rustfmt clippy >/dev/null 2>&1 || echo "(rustup could not add components; using what is installed)"

step "build tools for libjpeg-turbo: cmake and nasm (installed if missing)"
bash scripts/build-deps.sh

step "formatting: cargo fmt --check"
cargo fmt --all -- --check

step "lints: cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "binaries and libraries for the end-to-end tests: cargo build --workspace --lib --bins"
cargo build --workspace --lib --bins --locked

step "PostgreSQL for the end-to-end tests (installed if missing)"
if [ -z "${FIELDSEAL_TEST_PG:-}" ]; then
  pgdir=$(mktemp -d /tmp/fieldseal-pg.XXXXXX)
  FIELDSEAL_TEST_PG=$(bash scripts/postgres.sh start "$pgdir")
  export FIELDSEAL_TEST_PG
  trap 'bash scripts/postgres.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
fi
echo "using $FIELDSEAL_TEST_PG"

step "headless Chromium and chromedriver for the web-page tests (installed if missing)"
bash scripts/browser.sh

step "system users for the two-user zone test (made if missing)"
bash scripts/zone-users.sh

step "tests: cargo test --workspace"
cargo test --workspace --locked

step "mobile bindings: generate Kotlin, Swift and Python; the Python suite plays a shift"
bash mobile-bindings/scripts/generate.sh --no-build
python3 -m unittest discover -s mobile-bindings/tests/python -v

step "mobile bindings: the Kotlin suite on the JVM (JNA, the real library) plays a shift"
bash mobile-bindings/scripts/test-kotlin.sh --no-build

step "fuzz smoke: every fuzz target over its corpus, then 10 s each"
bash scripts/fuzz.sh smoke 10

step "all checks passed"
