// Bad input from Kotlin arrives as the specific FieldsealException case, whose message says what
// is wrong, and changes nothing on the device (as test_bad_input.py does from Python).
package fieldseal.kotlintest

import java.io.File
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue
import uniffi.fieldseal_mobile.CaptureDraft
import uniffi.fieldseal_mobile.FieldsealException
import uniffi.fieldseal_mobile.OfficerSession

class BadInput : Group("bad input") {
    private lateinit var server: Server
    private lateinit var dir: File
    private lateinit var session: OfficerSession
    private lateinit var photoOffence: String
    private lateinit var plainOffence: String
    private val photo = photo("Portrait_3.jpg")

    override fun before() {
        server = Server().start()
        dir = tempDir("fieldseal-kt-bad-")
        session = OfficerSession.open(config(server, File(dir, "d.sqlite3")), randomKey())
        session.enrol(server.issueCode())
        val offences = session.catalogue().offences
        photoOffence = offences.first { it.photoRequired }.code
        plainOffence = offences.first { !it.photoRequired }.code
    }

    override fun after() {
        session.close()
        server.close()
        dir.deleteRecursively()
    }

    override fun cases() = listOf(
        Case("an unknown offence is refused and nothing is sealed", ::unknownOffence),
        Case("hostile and broken images are refused", ::hostileImages),
        Case("fields are checked as they are set", ::fieldRules),
        Case("incomplete drafts and missing photos", ::incompleteDrafts),
        Case("wrong and used enrolment codes", ::enrolmentCodes),
        Case("an enclave the app does not pin is refused", ::unpinnedEnclave),
        Case("unusable settings", ::unusableSettings),
    )

    private fun freshStore() = File(File(dir, "s${System.nanoTime()}").apply { mkdirs() }, "d.sqlite3")

    /** Runs `call`, expects exception `E` with `message` in its message. */
    private inline fun <reified E : FieldsealException> refused(message: String, call: () -> Unit) {
        val e = assertFailsWith<E>("expected ${E::class.simpleName} ($message)") { call() }
        assertContains(e.message!!, message)
    }

    private fun unknownOffence() {
        val before = session.outbox()
        CaptureDraft().use { draft ->
            fillDraft(draft, "M-AB 123", listOf("999999"), listOf(photo))
            val e = assertFailsWith<FieldsealException.InvalidInput> { session.validate(draft) }
            assertEquals("offence code 999999 is not in the catalogue", e.message)
            assertFailsWith<FieldsealException.InvalidInput> { session.capture(draft) }
            assertEquals(before, session.outbox())
            // Fixed, the same draft goes through.
            draft.removeOffence("999999")
            draft.addOffence(plainOffence)
            session.capture(draft)
        }
        assertEquals(before.size + 1, session.outbox().size)
    }

    private fun hostileImages() = CaptureDraft().use { draft ->
        val cases = listOf(
            photo("bad/truncated_jpeg.jpg") to "damaged or truncated",
            pixelBombPng(100_000, 100_000) to "wider or taller than 12000 pixels",
            pixelBombPng(11_000, 11_000) to "over the limit",
            "%PDF-1.7 not an image at all".toByteArray() to "not a JPEG or PNG",
            ByteArray(0) to "empty",
            photo("Portrait_1.jpg").copyOf(5000) to "damaged or truncated",
        )
        for ((image, message) in cases) refused<FieldsealException.PhotoRejected>(message) { draft.addPhoto(image) }
        assertEquals(0, draft.photoCount())
        // zTXt chunks that inflate to 2 MiB each: refused, or kept as the 1x1 image it is, never inflated.
        try {
            val kept = draft.addPhoto(photo("bad/png_decompression_dos.png"))
            assertEquals(1 to 1, kept.width to kept.height)
            draft.removePhoto(kept.index)
        } catch (e: FieldsealException.PhotoRejected) {
            assertTrue(e.message!!.isNotEmpty())
        }
        assertEquals(0, draft.photoCount())
    }

    private fun fieldRules() = CaptureDraft().use { draft ->
        refused<FieldsealException.InvalidInput>("the plate is empty") { draft.setVehicle("  - ", "DE", "VW", "rot") }
        refused<FieldsealException.InvalidInput>("two-letter country code") { draft.setVehicle("M-AB 123", "Germany", "VW", "rot") }
        refused<FieldsealException.InvalidInput>("printable characters") { draft.setVehicle("M-AB 123", "DE", "VW\u0007", "rot") }
        refused<FieldsealException.InvalidInput>("out of range") { draft.setPlace(91.0, 13.4, 5.0, "Somewhere 1") }
        refused<FieldsealException.InvalidInput>("GPS accuracy") { draft.setPlace(52.5, 13.4, Double.NaN, "Somewhere 1") }
        refused<FieldsealException.InvalidInput>("address") { draft.setPlace(52.5, 13.4, 5.0, "") }
        refused<FieldsealException.InvalidInput>("implausible") { draft.setObservedAt(1_000, 0, 60) }
        refused<FieldsealException.InvalidInput>("UTC offset") { draft.setObservedAt(nowMs(), 0, 100_000) }
        refused<FieldsealException.InvalidInput>("at most 2000") { draft.setNotes("x".repeat(2001)) }
        refused<FieldsealException.InvalidInput>("control characters") { draft.setNotes("bell \u0007") }
        refused<FieldsealException.NotFound>("no photo 0") { draft.removePhoto(0) }
        refused<FieldsealException.NotFound>("no photo -1") { draft.removePhoto(-1) }
    }

    private fun incompleteDrafts() {
        val before = session.outbox()
        CaptureDraft().use { draft ->
            draft.addOffence(plainOffence)
            refused<FieldsealException.DraftIncomplete>("vehicle") { session.capture(draft) }
        }
        CaptureDraft().use { needsPhoto ->
            fillDraft(needsPhoto, "M-AB 124", listOf(photoOffence), emptyList())
            refused<FieldsealException.InvalidInput>("needs at least one photo") { session.capture(needsPhoto) }
        }
        CaptureDraft().use { none ->
            refused<FieldsealException.InvalidInput>("at least one offence") {
                session.capture(fillDraft(none, "M-AB 125", emptyList(), emptyList()))
            }
        }
        refused<FieldsealException.NotFound>("") { session.openDraft(424242) }
        refused<FieldsealException.NotFound>("not an outbox id") { session.notice("not-an-id") }
        assertEquals(before, session.outbox())
    }

    private fun enrolmentCodes() {
        OfficerSession.open(config(server, freshStore()), randomKey()).use { fresh ->
            for (code in listOf("AAAA-BBBB-CCCC-DDDD", "", "x".repeat(500))) {
                refused<FieldsealException.EnrolmentRefused>("new one-time code") { fresh.enrol(code) }
            }
            assertNull(fresh.device())
            refused<FieldsealException.NotEnrolled>("enrol it with a one-time code") { fresh.catalogue() }
            CaptureDraft().use { d ->
                refused<FieldsealException.NotEnrolled>("") { fresh.capture(fillDraft(d, "M-AB 126", listOf("112402"), emptyList())) }
            }
            val code = server.issueCode()
            fresh.enrol(code)
            refused<FieldsealException.AlreadyEnrolled>("") { fresh.enrol(code) }
            // The used code does not enrol a second device.
            OfficerSession.open(config(server, freshStore()), randomKey()).use { other ->
                refused<FieldsealException.EnrolmentRefused>("") { other.enrol(code) }
            }
        }
    }

    private fun unpinnedEnclave() {
        OfficerSession.open(config(server, freshStore(), pinnedMeasurements = listOf("00".repeat(32))), randomKey()).use { s ->
            refused<FieldsealException.AttestationFailed>("measurement not pinned") { s.enrol(server.issueCode()) }
            assertNull(s.device())
        }
        OfficerSession.open(config(server, freshStore(), acceptSimulated = false), randomKey()).use { s ->
            refused<FieldsealException.AttestationFailed>("simulated") { s.enrol(server.issueCode()) }
        }
    }

    private fun unusableSettings() {
        refused<FieldsealException.Configuration>("32 bytes") { OfficerSession.open(config(server, freshStore()), ByteArray(16)) }
        refused<FieldsealException.Configuration>("64 hex digits") {
            OfficerSession.open(config(server, freshStore(), pinnedMeasurements = listOf("xyz")), randomKey())
        }
        refused<FieldsealException.Configuration>("pin at least one") {
            OfficerSession.open(config(server, freshStore(), pinnedPlatforms = emptyList()), randomKey())
        }
        refused<FieldsealException.Configuration>("https:// or http://") {
            OfficerSession.open(config(server, freshStore(), serverUrl = "ftp://relay"), randomKey())
        }
        refused<FieldsealException.Configuration>("pass the platform's HTTP client") {
            OfficerSession.open(config(server, freshStore(), serverUrl = "https://relay.invalid"), randomKey())
        }
    }
}
