#!/usr/bin/env bash
# The Kotlin suite on the JVM: generates the Kotlin bindings from the built facade library,
# compiles them with mobile-bindings/tests/kotlin/*.kt, and runs the suite with JNA loading the real
# libfieldseal_mobile.so against real `fieldseal serve` and `fieldseal-enclave` processes.
# Ends with the line `N passed, N failed`; exits non-zero if any case failed.
# Installs what is missing on a fresh Debian machine (run as root): the JDK, JNA, and the pinned
# Kotlin compiler (npm package kotlin-compiler, kept in target/tools/).
#
#   bash mobile-bindings/scripts/test-kotlin.sh [--release] [--no-build] [--compile-only] [FILTER]
#
#   --no-build      use the built library and binaries as they are (the README test command)
#   --compile-only  stop after compiling; target/kotlin-tests/<profile>/classpath names the jars
#   FILTER          run only cases whose "group: name" contains it
set -euo pipefail
cd "$(dirname "$0")/../.."

KOTLIN_VERSION=2.4.20
JNA_JAR=/usr/share/java/jna.jar

profile=debug
build=1
run=1
filter=""
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=release ;;
    --no-build) build=0 ;;
    --compile-only) run=0 ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    -*) echo "error: unknown argument $1 (try --help)" >&2; exit 2 ;;
    *) filter="$1" ;;
  esac
  shift
done
flag=()
[ "$profile" = release ] && flag=(--release)

apt_updated=0
apt_install() {
  echo "==> installing $* (Debian packages)"
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
command -v javac >/dev/null || apt_install openjdk-17-jdk-headless
[ -f "$JNA_JAR" ] || apt_install libjna-java
command -v npm >/dev/null || apt_install npm

tools=target/tools
kotlin="$tools/kotlin-compiler-$KOTLIN_VERSION"
if [ ! -x "$kotlin/bin/kotlinc" ]; then
  echo "==> fetching the Kotlin compiler $KOTLIN_VERSION (npm package kotlin-compiler)"
  mkdir -p "$tools"
  tmp=$(mktemp -d "$tools/kotlin.XXXXXX")
  (cd "$tmp" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null && tar xzf kotlin-compiler-*.tgz)
  rm -rf "$kotlin"
  mv "$tmp/package" "$kotlin"
  rm -rf "$tmp"
fi

if [ "$build" = 1 ]; then
  echo "==> building the workspace libraries and binaries ($profile)"
  # The same selection as the README test command, so nothing is rebuilt back and forth.
  cargo build --locked "${flag[@]}" --workspace --lib --bins
fi
lib="target/$profile/libfieldseal_mobile.so"
for f in "$lib" "target/$profile/uniffi-bindgen" "target/$profile/fieldseal" "target/$profile/fieldseal-enclave"; do
  if [ ! -f "$f" ]; then
    echo "error: $f is missing: run without --no-build, or cargo build ${flag[*]} --workspace --lib --bins" >&2
    exit 1
  fi
done

out="target/kotlin-tests/$profile"
mkdir -p "$out"
echo "==> generating the Kotlin bindings from $lib"
rm -rf "$out/generated.new"
"target/$profile/uniffi-bindgen" generate "$lib" --language kotlin --out-dir "$out/generated.new" --no-format >/dev/null
# Keep the old copy (and its time stamp) when nothing changed, so the jar is not compiled again.
if diff -rq "$out/generated.new" "$out/generated" >/dev/null 2>&1; then
  rm -rf "$out/generated.new"
else
  rm -rf "$out/generated"
  mv "$out/generated.new" "$out/generated"
fi

sources=("$out/generated/uniffi/fieldseal_mobile/fieldseal_mobile.kt" mobile-bindings/tests/kotlin/*.kt)
classpath="$JNA_JAR:$kotlin/lib/kotlin-stdlib.jar:$kotlin/lib/kotlin-test.jar"
jar="$out/suite.jar"
if [ ! -f "$jar" ] || [ -n "$(find "${sources[@]}" -newer "$jar" | head -1)" ]; then
  echo "==> compiling the bindings and the suite (kotlinc $KOTLIN_VERSION)"
  rm -f "$jar"
  # -nowarn: the generated file's own warnings (unused parameters, unchecked casts) are noise here.
  "$kotlin/bin/kotlinc" -nowarn -jvm-target 17 -cp "$classpath" -d "$jar" "${sources[@]}"
fi
echo "$(pwd)/$jar:$classpath" | sed "s#:target/#:$(pwd)/target/#g" >"$out/classpath"
[ "$run" = 1 ] || exit 0

echo "==> running the suite on the JVM (JNA loads $lib)"
# A fixed, pre-touched heap keeps the JVM's own memory still, so the memory case measures
# what the Rust side holds.
FIELDSEAL_BIN_DIR="target/$profile" FIELDSEAL_REPO="$(pwd)" \
  java -Xms256m -Xmx256m -XX:+AlwaysPreTouch -Djna.library.path="target/$profile" \
  -cp "$jar:$classpath" fieldseal.kotlintest.MainKt "$filter"
