// Shared parts of the Kotlin suite, as harness.py is for the Python one: a real `fieldseal serve`
// process (which starts the real `fieldseal-enclave`), one-time codes from `fieldseal admin`, the
// attestation values an app pins, the test photos, and a progress listener that records.
//
// Environment (test-kotlin.sh sets it):
//   FIELDSEAL_BIN_DIR  folder with the fieldseal and fieldseal-enclave binaries (default target/debug)
//   FIELDSEAL_REPO     the repository (default: the working directory)
package fieldseal.kotlintest

import java.io.ByteArrayOutputStream
import java.io.File
import java.nio.ByteBuffer
import java.nio.file.Files
import java.security.SecureRandom
import java.util.Collections
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.zip.CRC32
import java.util.zip.Deflater
import uniffi.fieldseal_mobile.CaptureDraft
import uniffi.fieldseal_mobile.OfficerSession
import uniffi.fieldseal_mobile.PinnedPlatform
import uniffi.fieldseal_mobile.SessionConfig
import uniffi.fieldseal_mobile.SyncListener
import uniffi.fieldseal_mobile.SyncProgress
import uniffi.fieldseal_mobile.SyncSummary

val REPO = File(System.getenv("FIELDSEAL_REPO") ?: ".").absoluteFile
val BIN_DIR = File(System.getenv("FIELDSEAL_BIN_DIR") ?: File(REPO, "target/debug").path).absoluteFile
val PHOTOS = File(REPO, "testdata/samples/photos")

fun binary(name: String): String {
    val f = File(BIN_DIR, name)
    check(f.isFile) { "$f is missing: run `cargo build --workspace --lib --bins` first" }
    return f.path
}

fun photo(name: String): ByteArray = File(PHOTOS, name).readBytes()

/** The real camera photos of the samples (EXIF-rotated portraits and a phone photo). */
fun realPhotos(): List<ByteArray> = (1..8).map { photo("Portrait_$it.jpg") } + photo("gps_samsung_SM-N920T.jpg")

/** A PNG whose header claims width x height pixels and whose body is a few bytes. */
fun pixelBombPng(width: Int, height: Int): ByteArray {
    fun chunk(kind: String, data: ByteArray): ByteArray {
        val body = kind.toByteArray() + data
        val crc = CRC32().apply { update(body) }.value.toInt()
        return ByteBuffer.allocate(4).putInt(data.size).array() + body + ByteBuffer.allocate(4).putInt(crc).array()
    }
    val ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height).put(byteArrayOf(8, 2, 0, 0, 0)).array()
    val deflater = Deflater().apply { setInput(ByteArray(64)); finish() }
    val idat = ByteArray(256).let { it.copyOf(deflater.deflate(it)) }
    val signature = byteArrayOf(0x89.toByte(), 'P'.code.toByte(), 'N'.code.toByte(), 'G'.code.toByte(), 13, 10, 26, 10)
    return signature + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", ByteArray(0))
}

fun randomKey(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

fun tempDir(prefix: String): File = Files.createTempDirectory(prefix).toFile()

fun nowMs(): Long = System.currentTimeMillis()

private fun run(vararg command: String): String {
    val p = ProcessBuilder(*command).redirectErrorStream(false).apply { environment().remove("DATABASE_URL") }.start()
    val out = p.inputStream.readBytes().decodeToString()
    val err = p.errorStream.readBytes().decodeToString()
    check(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) { "${command.joinToString(" ")} failed: $err" }
    return out
}

/** A running `fieldseal serve` on loopback with its data folder; restartable on the same port. */
class Server(val data: File = tempDir("fieldseal-kt-server-")) : AutoCloseable {
    var port = 0
        private set
    lateinit var url: String
        private set
    private var proc: Process? = null
    private val logBytes = ByteArrayOutputStream()

    /** What the server and the enclave wrote to their output so far. */
    val log: ByteArray get() = synchronized(logBytes) { logBytes.toByteArray() }

    fun start(): Server {
        val pb = ProcessBuilder(binary("fieldseal"), "serve", "--port", "$port", "--data", data.path)
        pb.environment()["RUST_LOG"] = "info"
        pb.environment().remove("DATABASE_URL")
        val p = pb.start()
        proc = p
        drain(p.errorStream.buffered())
        val stdout = p.inputStream.bufferedReader()
        while (true) {
            // Blocks until a line or the end: a server that dies closes its output.
            val line = stdout.readLine()
            if (line == null) {
                stop()
                error("fieldseal serve did not start:\n${log.decodeToString()}")
            }
            if (line.startsWith("fieldseal listening on ")) {
                url = line.removePrefix("fieldseal listening on ").trim()
                port = url.substringAfterLast(':').toInt()
                break
            }
        }
        // The rest of stdout, through the same reader (it may hold bytes read ahead).
        Thread {
            try {
                stdout.forEachLine { synchronized(logBytes) { logBytes.write((it + "\n").toByteArray()) } }
            } catch (_: java.io.IOException) {
                // the process is gone and its pipe closed
            }
        }.apply { isDaemon = true }.start()
        return this
    }

    private fun drain(stream: java.io.InputStream) {
        Thread {
            val buf = ByteArray(4096)
            try {
                while (true) {
                    val n = stream.read(buf)
                    if (n < 0) break
                    synchronized(logBytes) { logBytes.write(buf, 0, n) }
                }
            } catch (_: java.io.IOException) {
                // the process is gone and its pipe closed
            }
        }.apply { isDaemon = true }.start()
    }

    fun stop() {
        val p = proc ?: return
        p.destroy() // SIGTERM: the server shuts down its enclave and exits
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor()
        }
        proc = null
    }

    override fun close() {
        stop()
        data.deleteRecursively()
    }

    fun issueCode(label: String = "kotlin test device"): String =
        run(binary("fieldseal"), "admin", "--data", data.path, "issue-code", "--label", label).trim()

    /** What an app built for this deployment pins: platform, platform key, enclave measurement. */
    fun pinning(): Map<String, String> {
        val json = run(binary("fieldseal-enclave"), "--pinning") // the machine's platform, as the server's zone uses it
        return Regex("\"(\\w+)\"\\s*:\\s*\"([^\"]*)\"").findAll(json).associate { it.groupValues[1] to it.groupValues[2] }
    }

    fun filesContaining(needle: ByteArray): List<File> =
        data.walkTopDown().filter { it.isFile && it.readBytes().contains(needle) }.toList()
}

fun ByteArray.contains(needle: ByteArray): Boolean {
    if (needle.isEmpty()) return true
    outer@ for (i in 0..size - needle.size) {
        for (j in needle.indices) if (this[i + j] != needle[j]) continue@outer
        return true
    }
    return false
}

fun config(
    server: Server,
    storePath: File,
    pinnedPlatforms: List<PinnedPlatform>? = null,
    pinnedMeasurements: List<String>? = null,
    acceptSimulated: Boolean = true,
    serverUrl: String = server.url,
    requestTimeoutMs: Int = 30_000,
    syncAttempts: Int = 2,
): SessionConfig {
    val pins = server.pinning()
    return SessionConfig(
        storePath = storePath.path,
        serverUrl = serverUrl,
        pinnedPlatforms = pinnedPlatforms ?: listOf(PinnedPlatform(platform = pins.getValue("platform"), keyHex = pins.getValue("platform_key"))),
        pinnedMeasurements = pinnedMeasurements ?: listOf(pins.getValue("measurement")),
        acceptSimulated = acceptSimulated,
        requestTimeoutMs = requestTimeoutMs,
        syncAttempts = syncAttempts,
    )
}

/** Fills a draft the way the officer's screen does. */
fun fillDraft(draft: CaptureDraft, plate: String, codes: List<String>, photos: List<ByteArray>, n: Int = 0): CaptureDraft {
    draft.setVehicle(plate, "DE", listOf("VW", "BMW", "Opel")[n % 3], listOf("rot", "blau", "silber")[n % 3])
    codes.forEach { draft.addOffence(it) }
    draft.setPlace(52.52 + n * 0.001, 13.405, 6.0, "Unter den Linden ${n + 1}, 10117 Berlin")
    draft.setObservedAt(nowMs(), 0, 60)
    draft.setNotes("Fahrzeug ohne Fahrer angetroffen, Fall $n.")
    photos.forEach { draft.addPhoto(it) }
    return draft
}

/**
 * A progress listener that keeps every event, may look at the session meanwhile, and counts
 * any event that arrives after `sync` returned (there must be none).
 */
class Recorder(private val session: OfficerSession? = null) : SyncListener {
    val events: MutableList<SyncProgress> = Collections.synchronizedList(mutableListOf())
    val unsyncedSeen: MutableList<Int> = Collections.synchronizedList(mutableListOf())
    val threads: MutableSet<String> = Collections.synchronizedSet(mutableSetOf())
    val lateEvents = AtomicInteger()

    @Volatile var returned = false

    override fun onProgress(progress: SyncProgress) {
        if (returned) lateEvents.incrementAndGet()
        threads.add(Thread.currentThread().name)
        events.add(progress)
        if (session != null && progress is SyncProgress.Synced) {
            // Calling back into the session from the listener must not deadlock.
            unsyncedSeen.add(session.unsynced().size)
        }
    }
}

/** Syncs and marks the recorder as returned at once, so a late event is seen. */
fun OfficerSession.syncWith(recorder: Recorder): SyncSummary =
    try { sync(recorder) } finally { recorder.returned = true }
