"""Shared parts of the Python suite: the generated bindings, a real `fieldseal serve` process
(which starts the real `fieldseal-enclave`), one-time codes from `fieldseal admin`, the
attestation values an app pins, and the test photos.

Environment (the README test command sets the defaults):
  FIELDSEAL_BINDINGS  folder with fieldseal_mobile.py + libfieldseal_mobile.so
                      (default target/bindings/debug/python)
  FIELDSEAL_BIN_DIR   folder with the fieldseal and fieldseal-enclave binaries (default target/debug)
"""

import json
import os
import pathlib
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

REPO = pathlib.Path(__file__).resolve().parents[3]
BINDINGS = pathlib.Path(os.environ.get("FIELDSEAL_BINDINGS", REPO / "target/bindings/debug/python"))
BIN_DIR = pathlib.Path(os.environ.get("FIELDSEAL_BIN_DIR", REPO / "target/debug"))
PHOTOS = REPO / "testdata/samples/photos"

if not (BINDINGS / "fieldseal_mobile.py").is_file():
    sys.exit(
        f"{BINDINGS}/fieldseal_mobile.py is missing: run `bash mobile-bindings/scripts/generate.sh` first "
        "(or set FIELDSEAL_BINDINGS)"
    )
sys.path.insert(0, str(BINDINGS))
import fieldseal_mobile as fm  # noqa: E402  (the generated module; importable only after the path is set)


def binary(name):
    path = BIN_DIR / name
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: run `cargo build --workspace --bins` first")
    return str(path)


def photo(name):
    return (PHOTOS / name).read_bytes()


def real_photos():
    """The real camera photos of the shared samples (EXIF-rotated portraits and a phone photo)."""
    return [photo(f"Portrait_{i}.jpg") for i in range(1, 9)] + [photo("gps_samsung_SM-N920T.jpg")]


def pixel_bomb_png(width=100_000, height=100_000):
    """A PNG whose header claims width x height pixels and whose body is a few bytes."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


class Server:
    """A running `fieldseal serve` on loopback with its data folder; restartable on the same port."""

    def __init__(self, data=None, port=0):
        self.data = pathlib.Path(data or tempfile.mkdtemp(prefix="fieldseal-py-server-"))
        self.port = port
        self.proc = None
        self.log = bytearray()
        self.url = None

    def start(self):
        env = dict(os.environ, RUST_LOG="info")
        env.pop("DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [binary("fieldseal"), "serve", "--port", str(self.port), "--data", str(self.data)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            line = self.proc.stdout.readline().decode()
            if line.startswith("fieldseal listening on "):
                self.url = line.split("fieldseal listening on ", 1)[1].strip()
                self.port = int(self.url.rsplit(":", 1)[1])
                return self
            if not line or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("fieldseal serve did not start:\n" + self.log.decode(errors="replace"))

    def _drain(self, stream):
        for chunk in iter(lambda: stream.read1(4096), b""):
            self.log.extend(chunk)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
            self.proc.stderr.close()
        self.proc = None

    def remove(self):
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)

    def issue_code(self, label="python test device"):
        out = subprocess.run(
            [binary("fieldseal"), "admin", "--data", str(self.data), "issue-code", "--label", label],
            capture_output=True,
            check=True,
            env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        )
        return out.stdout.decode().strip()

    def pinning(self):
        """What an app built for this deployment pins: platform key and enclave measurement."""
        out = subprocess.run(
            [binary("fieldseal-enclave"), "--pinning"],  # the machine's platform, as the server's zone uses it
            capture_output=True,
            check=True,
        )
        return json.loads(out.stdout)

    def files_containing(self, needle):
        found = []
        for path in self.data.rglob("*"):
            if path.is_file() and needle in path.read_bytes():
                found.append(path)
        return found


def config(server, store_path, **overrides):
    pins = server.pinning()
    fields = dict(
        store_path=str(store_path),
        server_url=server.url,
        pinned_platforms=[fm.PinnedPlatform(platform=pins["platform"], key_hex=pins["platform_key"])],
        pinned_measurements=[pins["measurement"]],
        accept_simulated=True,
        sync_attempts=2,
    )
    fields.update(overrides)
    return fm.SessionConfig(**fields)


def now_ms():
    return int(time.time() * 1000)


def fill_draft(draft, plate, codes, photos, n=0):
    """Fills a draft the way the officer's screen does."""
    draft.set_vehicle(plate, "DE", ["VW", "BMW", "Opel"][n % 3], ["rot", "blau", "silber"][n % 3])
    for code in codes:
        draft.add_offence(code)
    draft.set_place(52.52 + n * 0.001, 13.405, 6.0, f"Unter den Linden {n + 1}, 10117 Berlin")
    draft.set_observed_at(now_ms(), 0, 60)
    draft.set_notes(f"Fahrzeug ohne Fahrer angetroffen, Fall {n}.")
    for image in photos:
        draft.add_photo(image)
    return draft


class Recorder(fm.SyncListener):
    """A progress listener that keeps every event (and may look at the session meanwhile)."""

    def __init__(self, session=None):
        self.events = []
        self.session = session
        self.unsynced_seen = []

    def on_progress(self, progress):
        self.events.append(progress)
        if self.session is not None and progress.is_synced():
            # Calling back into the session from the listener must not deadlock.
            self.unsynced_seen.append(len(self.session.unsynced()))
