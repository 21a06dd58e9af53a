"""An officer's whole shift through the generated Python bindings, against the real server and
enclave processes: enrol with a one-time code, load the catalogue, capture tickets with real
photos while the server is down, list the outbox, bring the server back, sync with progress
callbacks, and check the receipts."""

import os
import re
import tempfile
import threading
import unittest

from harness import Recorder, Server, config, fill_draft, fm, real_photos

CANARY_PLATE = "B-QZ 7351"


class OfficerShift(unittest.TestCase):
    def setUp(self):
        self.server = Server().start()
        self.addCleanup(self.server.remove)
        self.device_dir = tempfile.TemporaryDirectory(prefix="fieldseal-py-device-")
        self.addCleanup(self.device_dir.cleanup)
        self.store_path = os.path.join(self.device_dir.name, "device.sqlite3")
        # The platform keystore's storage key (Android Keystore / iOS Keychain hand it in).
        self.storage_key = os.urandom(32)

    def open_session(self, **overrides):
        return fm.OfficerSession.open(config(self.server, self.store_path, **overrides), self.storage_key)

    def test_a_whole_shift(self):
        photos = real_photos()
        session = self.open_session()
        self.assertIsNone(session.device())

        # Morning: enrol with the administrator's one-time code.
        device = session.enrol(self.server.issue_code("officer 4711"))
        self.assertRegex(device.device_id, r"^[0-9a-f]{32}$")
        self.assertRegex(device.verifying_key, r"^[0-9a-f]{64}$")
        self.assertEqual(session.device(), device)

        catalogue = session.catalogue()
        # At the start of the shift the app asks for a newer catalogue; the server has the same.
        self.assertEqual(session.refresh_catalogue(), catalogue)
        self.assertEqual(catalogue.currency, "EUR")
        self.assertGreater(len(catalogue.offences), 20)
        by_code = {o.code: o for o in catalogue.offences}
        with_photo = next(o for o in catalogue.offences if o.photo_required)
        others = [o for o in catalogue.offences if o.code != with_photo.code][:3]

        # The network goes: the server is down for the whole capture.
        self.server.stop()
        with self.assertRaises(fm.FieldsealError.Offline):
            session.refresh_catalogue()
        self.assertEqual(session.catalogue(), catalogue, "the catalogue stays usable offline")
        cases = [
            ([with_photo.code], photos[0:2]),
            ([others[0].code, others[1].code], photos[2:4]),
            ([others[2].code], photos[4:6]),
            ([with_photo.code], photos[6:9]),
        ]
        tickets = []
        for n, (codes, images) in enumerate(cases):
            draft = fill_draft(fm.CaptureDraft(), CANARY_PLATE, codes, images, n)
            self.assertEqual(draft.photo_count(), len(images))
            totals = session.validate(draft)
            self.assertEqual(totals.total_cents, sum(by_code[c].amount_cents for c in codes))
            sealed = session.capture(draft)
            self.assertEqual(draft.sealed_as(), sealed.notice.ticket_number)
            notice = sealed.notice
            self.assertEqual(sealed.sequence, n + 1)
            self.assertEqual(notice.total_cents, totals.total_cents)
            self.assertEqual([line.code for line in notice.lines], codes)
            self.assertRegex(notice.ticket_number, r"^[0-9]{4}-[0-9]{4}-[0-9]{4}$")
            self.assertRegex(notice.access_code, r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
            self.assertRegex(notice.due_date, r"^\d{4}-\d{2}-\d{2}$")
            self.assertTrue(notice.epc_payload.startswith("BCD\n"))
            self.assertIn(notice.ticket_number, notice.text)
            self.assertIn(notice.access_code, notice.text)
            tickets.append(sealed)
            # A double tap on "issue ticket" cannot issue a second one.
            with self.assertRaises(fm.FieldsealError.InvalidInput) as double:
                session.capture(draft)
            self.assertIn("sealed already", str(double.exception))

        # Interrupted mid-case: the draft is saved, the app is killed, and the case goes on.
        interrupted = fill_draft(fm.CaptureDraft(), CANARY_PLATE, [others[0].code], photos[8:9], 9)
        draft_id = session.save_draft(interrupted)
        del session, interrupted
        session = self.open_session()
        self.assertEqual(session.saved_drafts(), [draft_id])
        resumed = session.open_draft(draft_id)
        self.assertEqual(resumed.offence_codes(), [others[0].code])
        resumed.add_offence(others[1].code)
        tickets.append(session.capture(resumed))
        self.assertEqual(session.saved_drafts(), [])

        # Everything waits in the outbox, in chain order.
        unsynced = session.unsynced()
        self.assertEqual([i.sequence for i in unsynced], [1, 2, 3, 4, 5])
        self.assertEqual([i.envelope_id for i in unsynced], [t.envelope_id for t in tickets])
        self.assertEqual([i.photo_count for i in unsynced], [2, 2, 2, 3, 1])
        self.assertTrue(all(i.synced_at_ms is None and i.upload_bytes > 10_000 for i in unsynced))
        # A reprint gives the same notice.
        self.assertEqual(session.notice(tickets[2].envelope_id), tickets[2].notice)

        # Syncing with no server fails cleanly and keeps everything.
        with self.assertRaises(fm.FieldsealError.Offline) as offline:
            session.sync(Recorder())
        self.assertIn("nothing is lost", str(offline.exception))
        self.assertEqual(len(session.unsynced()), 5)

        # Back in range: the server is up again on the same address.
        self.server.start()
        listener = Recorder(session)
        summary = session.sync(listener)
        self.assertEqual((summary.synced, summary.unsynced, summary.rejected), (5, 0, []))
        events = listener.events
        self.assertEqual(events[0], fm.SyncProgress.STARTED(pending=5))
        synced = [e for e in events if e.is_synced()]
        self.assertEqual([(e.done, e.pending) for e in synced], [(i, 5) for i in range(1, 6)])
        self.assertEqual([e.envelope_id for e in synced], [t.envelope_id for t in tickets])
        uploads = [e for e in events if e.is_photo_uploaded()]
        finished = {(e.envelope_id, e.photo_index) for e in uploads if e.sent_bytes == e.total_bytes}
        self.assertEqual(len(finished), 10, "every photo reports its upload to the end")
        self.assertTrue(any(e.is_batch_sent() for e in events))
        # The listener called back into the session during the sync without a deadlock (its
        # calls wait for the sync, which holds the store).
        self.assertEqual(len(listener.unsynced_seen), 5)
        self.assertTrue(all(0 <= n <= 4 for n in listener.unsynced_seen))

        # Receipts: signed by the server key pinned at enrolment, about exactly these cases.
        self.assertEqual(session.unsynced(), [])
        for ticket, item in zip(tickets, session.outbox()):
            self.assertIsNotNone(item.synced_at_ms)
            receipt = session.receipt(ticket.envelope_id)
            self.assertEqual(receipt.envelope_id, ticket.envelope_id)
            self.assertEqual(receipt.ticket_number, ticket.notice.ticket_number)
            self.assertEqual(receipt.sequence, ticket.sequence)
            self.assertEqual(receipt.photo_count, item.photo_count)
            self.assertRegex(receipt.signature, r"^[0-9a-f]{128}$")

        # A second sync has nothing to do.
        again = session.sync(Recorder())
        self.assertEqual((again.synced, again.unsynced), (0, 0))

        # The operator holds ciphertext only: the plate is in none of the server's files.
        for needle in (CANARY_PLATE, CANARY_PLATE.replace("-", " "), re.sub(r"[^A-Z0-9]", "", CANARY_PLATE)):
            self.assertEqual(self.server.files_containing(needle.encode()), [], needle)
        self.assertNotIn(b"QZ 7351", self.server.log)
        # Nor did any progress event carry it.
        self.assertFalse(any("QZ" in str(e) for e in events))

    def test_two_threads_capture_on_one_session_while_it_syncs(self):
        session = self.open_session()
        session.enrol(self.server.issue_code())
        code = session.catalogue().offences[1].code
        images = real_photos()
        errors, tickets = [], []

        def officer(worker):
            try:
                for n in range(3):
                    image = images[worker + n : worker + n + 1]
                    draft = fill_draft(fm.CaptureDraft(), f"K-XY {worker + 1}{n}", [code], image, n)
                    tickets.append(session.capture(draft))
                    if worker == 0:
                        session.sync(Recorder())
            except Exception as e:  # reported below; a thread cannot fail the test itself
                errors.append(e)

        threads = [threading.Thread(target=officer, args=(w,)) for w in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(sorted(t.sequence for t in tickets), [1, 2, 3, 4, 5, 6])
        self.assertEqual(len({t.notice.ticket_number for t in tickets}), 6)
        summary = session.sync(Recorder())
        self.assertEqual(summary.unsynced, 0)
        self.assertEqual([i.sequence for i in session.outbox() if i.synced_at_ms is not None], [1, 2, 3, 4, 5, 6])

    def test_the_store_opens_only_with_its_storage_key(self):
        session = self.open_session()
        session.enrol(self.server.issue_code())
        del session
        self.storage_key = os.urandom(32)
        with self.assertRaises(fm.FieldsealError.WrongStorageKey) as wrong:
            self.open_session()
        self.assertIn("storage key", str(wrong.exception))


if __name__ == "__main__":
    unittest.main()
