// An officer's whole shift from Kotlin on the JVM, against the real server and enclave
// processes (as test_shift.py does from Python): enrol with a one-time code, load and refresh the
// catalogue, capture tickets with real photos while the server is down, save a draft across a
// closed and reopened session, list the outbox, reprint, bring the server back, sync with a
// Kotlin listener that calls back into the session, and check the receipts.
package fieldseal.kotlintest

import java.io.File
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import uniffi.fieldseal_mobile.CaptureDraft
import uniffi.fieldseal_mobile.FieldsealException
import uniffi.fieldseal_mobile.OfficerSession
import uniffi.fieldseal_mobile.SealedTicket
import uniffi.fieldseal_mobile.SyncProgress

const val CANARY_PLATE = "B-QZ 7351"

class OfficerShift : Group("shift") {
    override fun cases() = listOf(
        Case("a whole shift", ::aWholeShift),
        Case("the store opens only with its storage key", ::theStoreOpensOnlyWithItsStorageKey),
    )

    private fun aWholeShift() = Server().start().use { server ->
        val device = tempDir("fieldseal-kt-device-")
        val store = File(device, "device.sqlite3")
        // The platform keystore's storage key (Android Keystore hands it in).
        val key = randomKey()
        val photos = realPhotos()
        try {
            val tickets = mutableListOf<SealedTicket>()
            val (offences, draftId) = OfficerSession.open(config(server, store), key).use { session ->
                assertNull(session.device())

                // Morning: enrol with the administrator's one-time code.
                val info = session.enrol(server.issueCode("officer 4711"))
                assertTrue(Regex("[0-9a-f]{32}").matches(info.deviceId), info.deviceId)
                assertTrue(Regex("[0-9a-f]{64}").matches(info.verifyingKey))
                assertEquals(info, session.device())

                val catalogue = session.catalogue()
                // At the start of the shift the app asks for a newer catalogue; the server has the same.
                assertEquals(catalogue, session.refreshCatalogue())
                assertEquals("EUR", catalogue.currency)
                assertTrue(catalogue.offences.size > 20)
                val byCode = catalogue.offences.associateBy { it.code }
                val withPhoto = catalogue.offences.first { it.photoRequired }
                val others = catalogue.offences.filter { it.code != withPhoto.code }.take(3)

                // The network goes: the server is down for the whole capture.
                server.stop()
                assertFailsWith<FieldsealException.Offline> { session.refreshCatalogue() }
                assertEquals(catalogue, session.catalogue(), "the catalogue stays usable offline")
                val cases = listOf(
                    listOf(withPhoto.code) to photos.subList(0, 2),
                    listOf(others[0].code, others[1].code) to photos.subList(2, 4),
                    listOf(others[2].code) to photos.subList(4, 6),
                    listOf(withPhoto.code) to photos.subList(6, 9),
                )
                for ((n, case) in cases.withIndex()) {
                    val (codes, images) = case
                    CaptureDraft().use { draft ->
                        fillDraft(draft, CANARY_PLATE, codes, images, n)
                        assertEquals(images.size, draft.photoCount())
                        val totals = session.validate(draft)
                        assertEquals(codes.sumOf { byCode.getValue(it).amountCents }, totals.totalCents)
                        val sealed = session.capture(draft)
                        assertEquals(sealed.notice.ticketNumber, draft.sealedAs())
                        val notice = sealed.notice
                        assertEquals(n + 1L, sealed.sequence)
                        assertEquals(totals.totalCents, notice.totalCents)
                        assertEquals(codes, notice.lines.map { it.code })
                        assertTrue(Regex("[0-9]{4}-[0-9]{4}-[0-9]{4}").matches(notice.ticketNumber), notice.ticketNumber)
                        assertTrue(Regex("[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}").matches(notice.accessCode))
                        assertTrue(Regex("\\d{4}-\\d{2}-\\d{2}").matches(notice.dueDate))
                        assertTrue(notice.epcPayload.startsWith("BCD\n"))
                        assertContains(notice.text, notice.ticketNumber)
                        assertContains(notice.text, notice.accessCode)
                        tickets.add(sealed)
                        // A double tap on "issue ticket" cannot issue a second one.
                        val double = assertFailsWith<FieldsealException.InvalidInput> { session.capture(draft) }
                        assertContains(double.message!!, "sealed already")
                    }
                }

                // Interrupted mid-case: the draft is saved, the app is killed, and the case goes on.
                val draftId = CaptureDraft().use { interrupted ->
                    session.saveDraft(fillDraft(interrupted, CANARY_PLATE, listOf(others[0].code), photos.subList(8, 9), 9))
                }
                others to draftId
            }
            // `use` closed the session (the app was killed); it opens again from its store.
            OfficerSession.open(config(server, store), key).use { session ->
                assertEquals(listOf(draftId), session.savedDrafts())
                session.openDraft(draftId).use { resumed ->
                    assertEquals(listOf(offences[0].code), resumed.offenceCodes())
                    resumed.addOffence(offences[1].code)
                    tickets.add(session.capture(resumed))
                }
                assertEquals(emptyList(), session.savedDrafts())

                // Everything waits in the outbox, in chain order.
                val unsynced = session.unsynced()
                assertEquals(listOf(1L, 2L, 3L, 4L, 5L), unsynced.map { it.sequence })
                assertEquals(tickets.map { it.envelopeId }, unsynced.map { it.envelopeId })
                assertEquals(listOf(2, 2, 2, 3, 1), unsynced.map { it.photoCount })
                assertTrue(unsynced.all { it.syncedAtMs == null && it.uploadBytes > 10_000 })
                // A reprint gives the same notice.
                assertEquals(tickets[2].notice, session.notice(tickets[2].envelopeId))

                // Syncing with no server fails cleanly and keeps everything.
                val offline = assertFailsWith<FieldsealException.Offline> { session.sync(Recorder()) }
                assertContains(offline.message!!, "nothing is lost")
                assertEquals(5, session.unsynced().size)

                // Back in range: the server is up again on the same address.
                server.start()
                val listener = Recorder(session)
                val summary = session.syncWith(listener)
                assertEquals(Triple(5, 0, emptyList()), Triple(summary.synced, summary.unsynced, summary.rejected))
                val events = listener.events.toList()
                assertEquals(SyncProgress.Started(pending = 5), events.first())
                val synced = events.filterIsInstance<SyncProgress.Synced>()
                assertEquals((1..5).map { it to 5 }, synced.map { it.done to it.pending })
                assertEquals(tickets.map { it.envelopeId }, synced.map { it.envelopeId })
                val finished = events.filterIsInstance<SyncProgress.PhotoUploaded>()
                    .filter { it.sentBytes == it.totalBytes }.map { it.envelopeId to it.photoIndex }.toSet()
                assertEquals(10, finished.size, "every photo reports its upload to the end")
                assertTrue(events.any { it is SyncProgress.BatchSent })
                // The Kotlin listener called back into the session during the sync without a
                // deadlock (its calls wait for the sync, which holds the store).
                assertEquals(5, listener.unsyncedSeen.size)
                assertTrue(listener.unsyncedSeen.all { it in 0..4 }, "${listener.unsyncedSeen}")
                assertEquals(0, listener.lateEvents.get())

                // Receipts: signed by the server key pinned at enrolment, about exactly these cases.
                assertEquals(emptyList(), session.unsynced())
                for ((ticket, item) in tickets.zip(session.outbox())) {
                    assertNotNull(item.syncedAtMs)
                    val receipt = assertNotNull(session.receipt(ticket.envelopeId))
                    assertEquals(ticket.envelopeId, receipt.envelopeId)
                    assertEquals(ticket.notice.ticketNumber, receipt.ticketNumber)
                    assertEquals(ticket.sequence, receipt.sequence)
                    assertEquals(item.photoCount, receipt.photoCount)
                    assertTrue(Regex("[0-9a-f]{128}").matches(receipt.signature))
                }

                // A second sync has nothing to do.
                val again = session.sync(Recorder())
                assertEquals(0 to 0, again.synced to again.unsynced)

                // The operator holds ciphertext only: the plate is in none of the server's files.
                for (needle in listOf(CANARY_PLATE, CANARY_PLATE.replace("-", " "), CANARY_PLATE.filter { it.isLetterOrDigit() })) {
                    assertEquals(emptyList(), server.filesContaining(needle.toByteArray()), needle)
                }
                assertFalse(server.log.contains("QZ 7351".toByteArray()), "the plate is in the server's log")
                // Nor did any progress event carry it.
                assertFalse(events.any { it.toString().contains("QZ") })
            }
        } finally {
            device.deleteRecursively()
        }
    }

    private fun theStoreOpensOnlyWithItsStorageKey() = Server().start().use { server ->
        val device = tempDir("fieldseal-kt-device-")
        try {
            val store = File(device, "device.sqlite3")
            OfficerSession.open(config(server, store), randomKey()).use { it.enrol(server.issueCode()) }
            val wrong = assertFailsWith<FieldsealException.WrongStorageKey> {
                OfficerSession.open(config(server, store), randomKey())
            }
            assertContains(wrong.message!!, "storage key")
        } finally {
            device.deleteRecursively()
        }
    }
}
