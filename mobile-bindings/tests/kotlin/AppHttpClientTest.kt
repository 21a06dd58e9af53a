// The app's own HTTP client written in Kotlin (HttpURLConnection here, OkHttp on a phone) carries
// enrolment and sync; a client that cannot connect, throws something unexpected or hangs means
// `Offline`, never a crash or a call that blocks forever.
package fieldseal.kotlintest

import java.io.File
import java.io.IOException
import java.net.HttpURLConnection
import java.net.InetAddress
import java.net.Proxy
import java.net.ServerSocket
import java.net.Socket
import java.net.URI
import java.util.Collections
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue
import uniffi.fieldseal_mobile.CaptureDraft
import uniffi.fieldseal_mobile.FieldsealException
import uniffi.fieldseal_mobile.HttpClient
import uniffi.fieldseal_mobile.HttpClientException
import uniffi.fieldseal_mobile.HttpReply
import uniffi.fieldseal_mobile.HttpRequest
import uniffi.fieldseal_mobile.OfficerSession
import uniffi.fieldseal_mobile.SyncListener
import uniffi.fieldseal_mobile.SyncProgress

/** The app's HTTP client, as OkHttp would be on a phone. */
class UrlConnectionClient(private val timeoutMs: Int = 30_000) : HttpClient {
    val calls: MutableList<Pair<String, String>> = Collections.synchronizedList(mutableListOf())

    override fun send(request: HttpRequest): HttpReply {
        calls.add(request.method to request.url)
        try {
            val c = URI(request.url).toURL().openConnection(Proxy.NO_PROXY) as HttpURLConnection
            c.connectTimeout = timeoutMs
            c.readTimeout = timeoutMs
            c.requestMethod = request.method
            request.headers.forEach { c.setRequestProperty(it.name, it.value) }
            if (request.method != "GET") {
                c.doOutput = true
                c.outputStream.use { it.write(request.body) }
            }
            val status = c.responseCode
            val body = (if (status >= 400) c.errorStream else c.inputStream)?.use { it.readBytes() } ?: ByteArray(0)
            return HttpReply(status = status, body = body)
        } catch (e: IOException) {
            // No answer: the one case the interface throws for; the sync backs off and retries.
            throw HttpClientException.Failed(reason = "${e.javaClass.simpleName}: ${e.message}")
        }
    }
}

/** A listener whose progress bar crashed: every call throws. */
class ListenerThatFails : SyncListener {
    @Volatile var calls = 0

    override fun onProgress(progress: SyncProgress) {
        calls++
        throw IllegalStateException("the progress bar crashed")
    }
}

/** A TCP listener on loopback that accepts connections and never answers (a hung server). */
class HangingServer : AutoCloseable {
    private val socket = ServerSocket(0, 50, InetAddress.getLoopbackAddress())
    private val held: MutableList<Socket> = Collections.synchronizedList(mutableListOf())
    val url = "http://127.0.0.1:${socket.localPort}"

    init {
        Thread {
            try {
                while (true) held.add(socket.accept())
            } catch (_: IOException) {
                // closed
            }
        }.apply { isDaemon = true }.start()
    }

    override fun close() {
        socket.close()
        held.forEach { it.close() }
    }
}

/** Runs `call`, expects `Offline`, and returns how long it took in ms. */
fun timedOffline(call: () -> Unit): Long {
    val started = System.nanoTime()
    assertFailsWith<FieldsealException.Offline> { call() }
    return (System.nanoTime() - started) / 1_000_000
}

class AppHttpClient : Group("app http client") {
    override fun cases() = listOf(
        Case("the app's own Kotlin client carries enrolment and sync", ::ownClientCarriesEnrolmentAndSync),
        Case("a client that cannot connect or throws something else means Offline", ::failingClientIsOffline),
        Case("a hanging server times out as Offline, with either client", ::hangingServerIsOffline),
    )

    private fun withServer(body: (Server, File) -> Unit) = Server().start().use { server ->
        val dir = tempDir("fieldseal-kt-client-")
        try { body(server, File(dir, "d.sqlite3")) } finally { dir.deleteRecursively() }
    }

    private fun ownClientCarriesEnrolmentAndSync() = withServer { server, store ->
        val client = UrlConnectionClient()
        OfficerSession.openWithClient(config(server, store), randomKey(), client).use { session ->
            session.enrol(server.issueCode())
            val code = session.catalogue().offences[0].code
            for (n in 0 until 2) {
                CaptureDraft().use { session.capture(fillDraft(it, "HH-XY 42", listOf(code), listOf(photo("Portrait_5.jpg")), n)) }
            }
            // A listener that throws does not stop the sync or lose anything.
            val listener = ListenerThatFails()
            val summary = session.sync(listener)
            assertEquals(2 to 0, summary.synced to summary.unsynced)
            assertTrue(listener.calls > 4, "every event still reaches the listener (${listener.calls})")
            assertEquals(setOf("GET", "POST", "PUT"), client.calls.map { it.first }.toSet())
            assertTrue(client.calls.all { it.second.startsWith(server.url + "/v1/") })
        }
    }

    private fun failingClientIsOffline() = withServer { server, store ->
        val refusing = object : HttpClient {
            override fun send(request: HttpRequest): HttpReply = throw HttpClientException.Failed(reason = "no route to host")
        }
        OfficerSession.openWithClient(config(server, store), randomKey(), refusing).use { session ->
            val e = assertFailsWith<FieldsealException.Offline> { session.enrol(server.issueCode()) }
            assertContains(e.message!!, "no route to host")
            assertNull(session.device())
        }
        // An exception the interface does not declare (a bug in the app's client) is no crash either.
        val buggy = object : HttpClient {
            override fun send(request: HttpRequest): HttpReply = throw IllegalArgumentException("bad header")
        }
        OfficerSession.openWithClient(config(server, File(store.parentFile, "b.sqlite3")), randomKey(), buggy).use { session ->
            val e = assertFailsWith<FieldsealException.Offline> { session.enrol(server.issueCode()) }
            assertContains(e.message!!, "bad header")
        }
        // A status that is no HTTP status is no answer.
        val odd = object : HttpClient {
            override fun send(request: HttpRequest) = HttpReply(status = -1, body = ByteArray(0))
        }
        OfficerSession.openWithClient(config(server, File(store.parentFile, "c.sqlite3")), randomKey(), odd).use { session ->
            val e = assertFailsWith<FieldsealException.Offline> { session.enrol(server.issueCode()) }
            assertContains(e.message!!, "no HTTP status")
        }
    }

    private fun hangingServerIsOffline() = withServer { server, store ->
        val key = randomKey()
        OfficerSession.open(config(server, store), key).use { session ->
            session.enrol(server.issueCode())
            val code = session.catalogue().offences.first { !it.photoRequired }.code
            CaptureDraft().use { session.capture(fillDraft(it, "M-HG 1", listOf(code), emptyList())) }
        }
        HangingServer().use { hung ->
            val times = mutableMapOf<String, Long>()
            val cfg = config(server, store, serverUrl = hung.url, requestTimeoutMs = 1000, syncAttempts = 2)
            OfficerSession.open(cfg, key).use { session ->
                val before = session.outbox()
                times["sync (built-in client, 2 attempts)"] = timedOffline { session.sync(Recorder()) }
                times["refreshCatalogue"] = timedOffline { session.refreshCatalogue() }
                times["checkEnclave"] = timedOffline { session.checkEnclave() }
                assertEquals(before, session.outbox(), "a timed-out sync changes nothing")
            }
            OfficerSession.open(config(server, File(store.parentFile, "e.sqlite3"), serverUrl = hung.url, requestTimeoutMs = 1000), randomKey())
                .use { fresh -> times["enrol"] = timedOffline { fresh.enrol(server.issueCode()) } }
            OfficerSession.openWithClient(cfg, key, UrlConnectionClient(timeoutMs = 1000)).use { session ->
                times["sync (Kotlin client, 2 attempts)"] = timedOffline { session.sync(Recorder()) }
            }
            println("    hung server, time to Offline: " + times.entries.joinToString { "${it.key} ${it.value} ms" })
            // 1 s per request, 2 attempts and a back-off under 1 s: a few seconds, never forever.
            assertTrue(times.values.all { it < 15_000 }, "$times")
        }
    }
}
