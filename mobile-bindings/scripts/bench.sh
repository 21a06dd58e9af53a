#!/usr/bin/env bash
# Bindings overhead benchmark, run by hand (not in CI): one capture+seal through the Python
# bindings (ctypes) and the Kotlin ones (JNA, on the JVM) versus the same calls from Rust, in the
# same run, against a real server + enclave.
#
#   bash mobile-bindings/scripts/bench.sh [--rounds N] [--calls N] [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "==> release build (library, binaries, the Rust timing example)" >&2
cargo build --release --locked --workspace --lib --bins --example capture_timing
bash mobile-bindings/scripts/generate.sh --release --no-build >/dev/null
bash mobile-bindings/scripts/test-kotlin.sh --release --no-build --compile-only >&2
echo "==> timing" >&2
FIELDSEAL_KOTLIN_CLASSPATH=$(cat target/kotlin-tests/release/classpath) \
FIELDSEAL_BINDINGS=target/bindings/release/python FIELDSEAL_BIN_DIR=target/release \
  python3 mobile-bindings/tests/python/bench_capture.py "$@"
