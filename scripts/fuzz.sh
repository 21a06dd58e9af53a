#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer) on the nightly toolchain.
#   scripts/fuzz.sh smoke [SECONDS]        every target over its corpus, then SECONDS of fuzzing (default 10)
#   scripts/fuzz.sh run TARGET SECONDS     one long run by hand; prints the execution count at the end
# Targets: fuzz/fuzz_targets/*.rs. Seeds: fuzz/corpus/<target>/ (regenerate with
# `cargo run -p fieldseal-core --example fuzz_seeds`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "error: cargo fuzz needs a nightly toolchain: rustup toolchain install nightly" >&2
  exit 2
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz (about a minute)"
  cargo install cargo-fuzz --locked --quiet
fi

targets() { ls fuzz/fuzz_targets | sed 's/\.rs$//'; }

run_target() { # target seconds
  local t=$1 secs=$2 work log rc=0
  work=$(mktemp -d)
  log=$(mktemp)
  cp -r "fuzz/corpus/$t/." "$work/" 2>/dev/null || true
  echo "==> fuzz $t: corpus + ${secs}s"
  # The committed corpus stays as it is; new inputs go to a scratch copy.
  (cd fuzz && cargo +nightly fuzz run -O "$t" "$work" -- -max_total_time="$secs" -rss_limit_mb=2048 \
      -print_final_stats=1) >"$log" 2>&1 || rc=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done|INFO: seed corpus)' "$log" || true
  if [ "$rc" -ne 0 ]; then
    echo "error: fuzz target $t failed (exit $rc); the crashing input is in fuzz/artifacts/$t/:" >&2
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -20 >&2 || tail -40 "$log" >&2
  fi
  rm -rf "$work" "$log"
  return "$rc"
}

case "${1:-smoke}" in
  smoke)
    secs=${2:-10}
    (cd fuzz && cargo +nightly fuzz build -O)
    failed=0
    for t in $(targets); do run_target "$t" "$secs" || failed=1; done
    exit "$failed"
    ;;
  run)
    [ $# -eq 3 ] || { echo "usage: scripts/fuzz.sh run TARGET SECONDS" >&2; exit 2; }
    run_target "$2" "$3"
    ;;
  *)
    echo "usage: scripts/fuzz.sh smoke [SECONDS] | run TARGET SECONDS" >&2
    exit 2
    ;;
esac
