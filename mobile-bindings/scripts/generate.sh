#!/usr/bin/env bash
# Generates the Kotlin, Swift and Python bindings from the built facade library (uniffi library
# mode, with the in-repo uniffi-bindgen). Generated files are build output: never commit them.
#
#   bash mobile-bindings/scripts/generate.sh [--release] [--out DIR] [--no-build]
#
# Output (default DIR = target/bindings/<profile>):
#   DIR/python/fieldseal_mobile.py + libfieldseal_mobile.so   (import it with DIR/python on sys.path)
#   DIR/kotlin/uniffi/fieldseal_mobile/fieldseal_mobile.kt
#   DIR/swift/fieldseal_mobile.swift, fieldseal_mobileFFI.h, fieldseal_mobileFFI.modulemap
set -euo pipefail
cd "$(dirname "$0")/../.."

profile=debug
out=""
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=release ;;
    --out) out="$2"; shift ;;
    --no-build) build=0 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
out=${out:-target/bindings/$profile}
flag=()
[ "$profile" = release ] && flag=(--release)

if [ "$build" = 1 ]; then
  echo "==> building the facade library and uniffi-bindgen ($profile)"
  # One invocation for both keeps uniffi's features the same as in `cargo build --workspace`,
  # so nothing is rebuilt back and forth.
  cargo build --locked "${flag[@]}" -p fieldseal-mobile -p uniffi-bindgen --lib --bins
fi
lib="target/$profile/libfieldseal_mobile.so"
bindgen="target/$profile/uniffi-bindgen"
for f in "$lib" "$bindgen"; do
  if [ ! -f "$f" ]; then
    echo "error: $f is missing: run without --no-build, or cargo build ${flag[*]} -p fieldseal-mobile -p uniffi-bindgen" >&2
    exit 1
  fi
done

rm -rf "$out"
mkdir -p "$out/python" "$out/kotlin" "$out/swift"
echo "==> generating Python, Kotlin and Swift into $out"
"$bindgen" generate "$lib" --language python --out-dir "$out/python" --no-format
cp "$lib" "$out/python/"
"$bindgen" generate "$lib" --language kotlin --out-dir "$out/kotlin" --no-format
"$bindgen" generate "$lib" --language swift --out-dir "$out/swift" --no-format
find "$out" -type f | sort | sed 's/^/    /'
