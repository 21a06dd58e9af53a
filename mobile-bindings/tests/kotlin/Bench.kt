// The Kotlin side of the bindings overhead benchmark (bench.sh runs it beside the same calls
// from Rust, examples/capture_timing.rs, and from Python, bench_capture.py): enrols a fresh device
// through the generated Kotlin and JNA, times `--rounds` captures with the given photos, then
// `--calls` cheap calls. Prints one JSON line of milliseconds, as capture_timing does.
//
//   java -cp … fieldseal.kotlintest.BenchKt --server URL --code CODE --pinning JSON --store PATH --rounds N --calls N PHOTO...
package fieldseal.kotlintest

import java.io.File
import uniffi.fieldseal_mobile.CaptureDraft
import uniffi.fieldseal_mobile.OfficerSession
import uniffi.fieldseal_mobile.PinnedPlatform
import uniffi.fieldseal_mobile.SessionConfig

private fun median(v: List<Double>) = v.sorted()[v.size / 2]

fun main(args: Array<String>) {
    val opts = mutableMapOf<String, String>()
    val photos = mutableListOf<ByteArray>()
    var i = 0
    while (i < args.size) {
        if (args[i].startsWith("--")) {
            opts[args[i]] = args[i + 1]
            i += 2
        } else {
            photos.add(File(args[i++]).readBytes())
        }
    }
    val pins = Regex("\"(\\w+)\"\\s*:\\s*\"([^\"]*)\"").findAll(opts.getValue("--pinning"))
        .associate { it.groupValues[1] to it.groupValues[2] }
    val rounds = opts["--rounds"]?.toInt() ?: 10
    val calls = opts["--calls"]?.toInt() ?: 10_000
    val config = SessionConfig(
        storePath = opts.getValue("--store"),
        serverUrl = opts.getValue("--server"),
        pinnedPlatforms = listOf(PinnedPlatform(pins.getValue("platform"), pins.getValue("platform_key"))),
        pinnedMeasurements = listOf(pins.getValue("measurement")),
        acceptSimulated = true,
        syncAttempts = 2,
    )
    OfficerSession.open(config, randomKey()).use { session ->
        session.enrol(opts.getValue("--code"))
        val code = session.catalogue().offences[0].code
        val fill = mutableListOf<Double>()
        val seal = mutableListOf<Double>()
        val total = mutableListOf<Double>()
        for (n in 0 until rounds) {
            val t0 = System.nanoTime()
            CaptureDraft().use { draft ->
                // Exactly what capture_timing.rs and bench_capture.py do.
                draft.setVehicle("B-FS 1", "DE", "VW", "rot")
                draft.addOffence(code)
                draft.setPlace(52.52, 13.405, 6.0, "Unter den Linden ${n + 1}, 10117 Berlin")
                draft.setObservedAt(nowMs(), 0, 60)
                draft.setNotes("Fahrzeug ohne Fahrer angetroffen, Fall $n.")
                photos.forEach { draft.addPhoto(it) }
                val t1 = System.nanoTime()
                session.capture(draft)
                val t2 = System.nanoTime()
                fill.add((t1 - t0) / 1e6)
                seal.add((t2 - t1) / 1e6)
                total.add((t2 - t0) / 1e6)
            }
        }
        val callUs = CaptureDraft().use { draft ->
            repeat(calls / 10) { draft.setNotes("warm-up $it") } // JIT
            val t = System.nanoTime()
            for (c in 0 until calls) draft.setNotes("note $c")
            (System.nanoTime() - t) / 1e3 / maxOf(calls, 1)
        }
        println(
            "{\"rounds\":$rounds,\"fill_ms\":%.3f,\"seal_ms\":%.3f,\"total_ms\":%.3f,\"call_us\":%.3f}"
                .format(median(fill), median(seal), median(total), callUs),
        )
    }
}
