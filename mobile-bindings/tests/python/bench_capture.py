"""Bindings overhead: one capture+seal through the Python bindings (ctypes) and the Kotlin ones
(JNA, tests/kotlin/Bench.kt) versus the same calls made from Rust (examples/capture_timing.rs),
in the same run against the same real server.
Run by hand through `bash mobile-bindings/scripts/bench.sh`; prints a table.
FIELDSEAL_KOTLIN_CLASSPATH (set by bench.sh) has the compiled Kotlin suite; without it Kotlin is left out.

  python3 bench_capture.py [--rounds N] [--calls N] [--repeat N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from harness import BIN_DIR, PHOTOS, Server, config, fm, now_ms

PHOTO_FILES = [str(PHOTOS / "Portrait_2.jpg"), str(PHOTOS / "gps_samsung_SM-N920T.jpg")]


def python_timing(server, store, rounds, calls):
    session = fm.OfficerSession.open(config(server, store), os.urandom(32))
    session.enrol(server.issue_code("bench python"))
    code = session.catalogue().offences[0].code
    photos = [open(p, "rb").read() for p in PHOTO_FILES]
    fill_ms, seal_ms, total_ms = [], [], []
    for n in range(rounds):
        t0 = time.perf_counter()
        draft = fm.CaptureDraft()
        # Exactly what capture_timing.rs does.
        draft.set_vehicle("B-FS 1", "DE", "VW", "rot")
        draft.add_offence(code)
        draft.set_place(52.52, 13.405, 6.0, f"Unter den Linden {n + 1}, 10117 Berlin")
        draft.set_observed_at(now_ms(), 0, 60)
        draft.set_notes(f"Fahrzeug ohne Fahrer angetroffen, Fall {n}.")
        for p in photos:
            draft.add_photo(p)
        t1 = time.perf_counter()
        session.capture(draft)
        t2 = time.perf_counter()
        fill_ms.append((t1 - t0) * 1000)
        seal_ms.append((t2 - t1) * 1000)
        total_ms.append((t2 - t0) * 1000)
    draft = fm.CaptureDraft()
    t = time.perf_counter()
    for i in range(calls):
        draft.set_notes(f"note {i}")
    call_us = (time.perf_counter() - t) * 1e6 / max(calls, 1)
    med = statistics.median
    return dict(rounds=rounds, fill_ms=med(fill_ms), seal_ms=med(seal_ms), total_ms=med(total_ms), call_us=call_us)


def rust_timing(server, store, rounds, calls):
    example = BIN_DIR / "examples/capture_timing"
    if not example.is_file():
        sys.exit(f"{example} is missing: run `bash mobile-bindings/scripts/bench.sh`")
    out = subprocess.run(
        [str(example), "--server", server.url, "--code", server.issue_code("bench rust"),
         "--pinning", json.dumps(server.pinning()), "--store", store,
         "--rounds", str(rounds), "--calls", str(calls), *PHOTO_FILES],
        capture_output=True, check=True,
    )
    return json.loads(out.stdout)


def kotlin_timing(server, store, rounds, calls):
    out = subprocess.run(
        ["java", f"-Djna.library.path={BIN_DIR}", "-cp", os.environ["FIELDSEAL_KOTLIN_CLASSPATH"],
         "fieldseal.kotlintest.BenchKt", "--server", server.url, "--code", server.issue_code("bench kotlin"),
         "--pinning", json.dumps(server.pinning()), "--store", store,
         "--rounds", str(rounds), "--calls", str(calls), *PHOTO_FILES],
        capture_output=True, check=True,
    )
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20, help="cases captured per side and repeat")
    ap.add_argument("--calls", type=int, default=20000, help="cheap calls timed per side and repeat")
    ap.add_argument("--repeat", type=int, default=3, help="alternating Rust/Python runs")
    args = ap.parse_args()
    server = Server().start()
    rows = []
    sides = [("rust", rust_timing), ("python", python_timing)]
    if os.environ.get("FIELDSEAL_KOTLIN_CLASSPATH"):
        sides.append(("kotlin", kotlin_timing))
    try:
        with tempfile.TemporaryDirectory(prefix="fieldseal-bench-") as d:
            for r in range(args.repeat):
                for side, fn in sides:
                    print(f"[{r + 1}/{args.repeat}] {side}: {args.rounds} captures of 2 photos …", file=sys.stderr, flush=True)
                    rows.append((side, fn(server, os.path.join(d, f"{side}-{r}.sqlite3"), args.rounds, args.calls)))
    finally:
        server.remove()

    def best(side, key):
        return min(row[key] for s, row in rows if s == side)

    print(f"capture+seal of one case with 2 real photos, median of {args.rounds}, best of {args.repeat} runs")
    names = {"rust": "Rust", "python": "Python", "kotlin": "Kotlin"}
    others = [s for s, _ in sides if s != "rust"]
    print(f"{'step':<28}{'Rust (ms)':>12}" + "".join(f"{names[s] + ' (ms)':>14}{'overhead':>10}" for s in others))
    for key, label in (("fill_ms", "draft + 2 photos"), ("seal_ms", "capture (seal, store)"), ("total_ms", "total")):
        rust = best("rust", key)
        cells = "".join(f"{best(s, key):>14.2f}{(best(s, key) - rust) / rust * 100:>+9.1f}%" for s in others)
        print(f"{label:<28}{rust:>12.2f}{cells}")
    rust = best("rust", "call_us")
    cells = "".join(f"{best(s, 'call_us'):>12.2f}µs{best(s, 'call_us') - rust:>+8.2f}µs" for s in others)
    print(f"{'one cheap call (set_notes)':<28}{rust:>10.2f}µs{cells}")


if __name__ == "__main__":
    main()
