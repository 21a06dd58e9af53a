// What a Kotlin developer takes for granted: `use {}` frees the Rust side, calls from several JVM
// threads at once are safe, and the sync's listener is never called after `sync` returns.
package fieldseal.kotlintest

import java.io.File
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import uniffi.fieldseal_mobile.CaptureDraft
import uniffi.fieldseal_mobile.OfficerSession
import uniffi.fieldseal_mobile.SealedTicket
import uniffi.fieldseal_mobile.SyncListener
import uniffi.fieldseal_mobile.SyncProgress

/** The process's resident memory in KiB, as the kernel counts it (Rust and JVM together). */
fun rssKib(): Long =
    File("/proc/self/status").readLines().first { it.startsWith("VmRSS:") }.split(Regex("\\s+"))[1].toLong()

class KotlinDeveloper : Group("kotlin developer") {
    private lateinit var server: Server
    private lateinit var dir: File
    private lateinit var session: OfficerSession
    private lateinit var plainOffence: String

    override fun before() {
        server = Server().start()
        dir = tempDir("fieldseal-kt-dev-")
        session = OfficerSession.open(config(server, File(dir, "d.sqlite3")), randomKey())
        session.enrol(server.issueCode())
        plainOffence = session.catalogue().offences.first { !it.photoRequired }.code
    }

    override fun after() {
        session.close()
        server.close()
        dir.deleteRecursively()
    }

    override fun cases() = listOf(
        Case("use {} frees the Rust side: 10,000 short-lived drafts keep memory flat", ::useFreesTheRustSide),
        Case("calls from several JVM threads at once are safe", ::severalThreadsAtOnce),
        Case("the listener is never called after sync returns", ::noEventAfterSyncReturns),
    )

    /** A draft holding about 2 KB on the Rust side (the notes), as a half-filled screen would. */
    private fun heavyDraft(n: Int): CaptureDraft = CaptureDraft().apply {
        setVehicle("M-AB ${n % 9000 + 1}", "DE", "VW", "rot")
        addOffence(plainOffence)
        setNotes("Fahrzeug ohne Fahrer angetroffen. ".repeat(55))
    }

    private fun useFreesTheRustSide() {
        val rounds = 10_000
        val churn = { repeat(rounds) { n -> heavyDraft(n).use { assertEquals(1, it.offenceCodes().size) } } }
        churn() // warm-up: JIT, the allocator's arenas
        val start = rssKib()
        churn()
        val afterUse = rssKib()
        churn()
        val afterAgain = rssKib()
        // The control: the same drafts kept open show what forgetting `use {}` would cost
        // until the garbage collector's cleaner runs; so the measure sees the Rust side.
        val held = (0 until rounds).map { heavyDraft(it) }
        val whileHeld = rssKib()
        held.forEach { it.close() }
        val mib = { kib: Long -> "%+.1f MiB".format(kib / 1024.0) }
        println(
            "    RSS at start ${start / 1024} MiB; after $rounds drafts closed by use {}: ${mib(afterUse - start)}, " +
                "after $rounds more: ${mib(afterAgain - start)}; $rounds drafts held open: ${mib(whileHeld - afterAgain)}",
        )
        assertTrue(afterAgain - start < 2 * 1024, "memory grew by ${afterAgain - start} KiB over ${2 * rounds} closed drafts")
        assertTrue(whileHeld - afterAgain > 5 * 1024, "held drafts did not show (${whileHeld - afterAgain} KiB): the measure is blind")
        // A closed object refuses further calls instead of touching freed memory.
        val closed = heavyDraft(0).also { it.close() }
        assertFailsWith<IllegalStateException> { closed.photoCount() }
    }

    private fun severalThreadsAtOnce() {
        val before = session.outbox().size
        val image = photo("gps_samsung_SM-N920T.jpg")
        val tickets: MutableList<SealedTicket> = Collections.synchronizedList(mutableListOf())
        val errors: MutableList<Throwable> = Collections.synchronizedList(mutableListOf())
        val shared = CaptureDraft()
        val gate = CountDownLatch(1)
        val workers = (0 until 4).map { w ->
            thread(name = "officer-$w") {
                try {
                    gate.await()
                    for (n in 0 until 3) {
                        shared.addOffence("code-$w-$n") // one draft filled from four threads
                        CaptureDraft().use { d ->
                            tickets.add(session.capture(fillDraft(d, "K-XY ${w + 1}${n + 1}", listOf(plainOffence), if (n == 0) listOf(image) else emptyList(), n)))
                        }
                        session.outbox()
                        if (w == 0) session.sync(Recorder(session))
                    }
                } catch (e: Throwable) {
                    errors.add(e)
                }
            }
        }
        gate.countDown()
        workers.forEach { it.join(TimeUnit.MINUTES.toMillis(3)) }
        assertFalse(workers.any { it.isAlive }, "a thread is stuck")
        assertEquals(emptyList(), errors.map { it.toString() })
        assertEquals(12, shared.offenceCodes().size)
        shared.close()
        assertEquals((before + 1..before + 12).map { it.toLong() }, tickets.map { it.sequence }.sorted())
        assertEquals(12, tickets.map { it.notice.ticketNumber }.toSet().size)
        assertEquals(0, session.sync(Recorder()).unsynced)
        assertTrue(session.outbox().all { it.syncedAtMs != null })
    }

    private fun noEventAfterSyncReturns() {
        val image = photo("Portrait_2.jpg")
        repeat(3) { n -> CaptureDraft().use { session.capture(fillDraft(it, "B-LT ${n + 1}", listOf(plainOffence), listOf(image), n)) } }
        val caller = Thread.currentThread().name
        // A slow progress bar: each event takes 20 ms to draw, so events would still be queued
        // when the upload finishes if `sync` did not wait for them.
        val recorder = Recorder(session)
        val slowRecorder = object : SyncListener {
            override fun onProgress(progress: SyncProgress) {
                Thread.sleep(20)
                recorder.onProgress(progress)
            }
        }
        val summary = try { session.sync(slowRecorder) } finally { recorder.returned = true }
        val atReturn = recorder.events.toList()
        assertEquals(3, summary.synced)
        val last = atReturn.last()
        assertTrue(last is SyncProgress.Synced && last.done == last.pending, "the last event had arrived before sync returned: $last")
        // Another sync on the same session runs its own listener to the end; nothing of the
        // first one arrives meanwhile or after.
        session.sync(Recorder())
        assertEquals(atReturn.size, recorder.events.size)
        assertEquals(0, recorder.lateEvents.get())
        assertFalse(caller in recorder.threads, "the listener runs on a thread of its own, not the caller's")
    }
}
