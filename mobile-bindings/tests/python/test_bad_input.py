"""Bad input through the bindings raises a Python exception of the right case, whose message
says what is wrong, and changes nothing on the device."""

import os
import tempfile
import unittest
import urllib.error
import urllib.request

from harness import Recorder, Server, config, fill_draft, fm, photo, pixel_bomb_png


class BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        cls.dir = tempfile.TemporaryDirectory(prefix="fieldseal-py-bad-")
        cls.key = os.urandom(32)
        cls.session = fm.OfficerSession.open(config(cls.server, os.path.join(cls.dir.name, "d.sqlite3")), cls.key)
        cls.session.enrol(cls.server.issue_code())
        offences = cls.session.catalogue().offences
        cls.photo_offence = next(o.code for o in offences if o.photo_required)
        cls.plain_offence = next(o.code for o in offences if not o.photo_required)
        cls.photo = photo("Portrait_3.jpg")

    @classmethod
    def tearDownClass(cls):
        del cls.session
        cls.server.remove()
        cls.dir.cleanup()

    def fresh_store(self):
        return os.path.join(tempfile.mkdtemp(prefix="fieldseal-py-bad-", dir=self.dir.name), "d.sqlite3")

    def assert_outbox_unchanged(self, before):
        self.assertEqual(self.session.outbox(), before)

    def test_unknown_offence_is_refused_and_nothing_is_sealed(self):
        before = self.session.outbox()
        draft = fill_draft(fm.CaptureDraft(), "M-AB 123", ["999999"], [self.photo])
        with self.assertRaises(fm.FieldsealError.InvalidInput) as e:
            self.session.validate(draft)
        self.assertEqual(str(e.exception), "offence code 999999 is not in the catalogue")
        with self.assertRaises(fm.FieldsealError.InvalidInput):
            self.session.capture(draft)
        self.assert_outbox_unchanged(before)
        # Fixed, the same draft goes through.
        draft.remove_offence("999999")
        draft.add_offence(self.plain_offence)
        self.session.capture(draft)
        self.assertEqual(len(self.session.outbox()), len(before) + 1)

    def test_hostile_and_broken_images_are_refused(self):
        draft = fm.CaptureDraft()
        cases = [
            (photo("bad/truncated_jpeg.jpg"), "damaged or truncated"),
            (pixel_bomb_png(100_000, 100_000), "wider or taller than 12000 pixels"),
            (pixel_bomb_png(11_000, 11_000), "over the limit"),
            (b"%PDF-1.7 not an image at all", "not a JPEG or PNG"),
            (b"", "empty"),
            (photo("Portrait_1.jpg")[:5000], "damaged or truncated"),
        ]
        for image, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(fm.FieldsealError.PhotoRejected) as e:
                    draft.add_photo(image)
                self.assertIn(message, str(e.exception))
        self.assertEqual(draft.photo_count(), 0)

    def test_fields_are_checked_as_they_are_set(self):
        draft = fm.CaptureDraft()
        cases = [
            (lambda: draft.set_vehicle("  - ", "DE", "VW", "rot"), "the plate is empty"),
            (lambda: draft.set_vehicle("M-AB 123", "Germany", "VW", "rot"), "two-letter country code"),
            (lambda: draft.set_vehicle("M-AB 123", "DE", "VW\x07", "rot"), "printable characters"),
            (lambda: draft.set_place(91.0, 13.4, 5.0, "Somewhere 1"), "out of range"),
            (lambda: draft.set_place(52.5, 13.4, float("nan"), "Somewhere 1"), "GPS accuracy"),
            (lambda: draft.set_place(52.5, 13.4, 5.0, ""), "address"),
            (lambda: draft.set_observed_at(1_000, 0, 60), "implausible"),
            (lambda: draft.set_notes("x" * 2001), "at most 2000"),
            (lambda: draft.set_notes("bell \x07"), "control characters"),
        ]
        for call, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(fm.FieldsealError.InvalidInput) as e:
                    call()
                self.assertIn(message, str(e.exception))

    def test_incomplete_drafts_and_missing_photos(self):
        before = self.session.outbox()
        draft = fm.CaptureDraft()
        draft.add_offence(self.plain_offence)
        with self.assertRaises(fm.FieldsealError.DraftIncomplete) as e:
            self.session.capture(draft)
        self.assertIn("vehicle", str(e.exception))
        needs_photo = fill_draft(fm.CaptureDraft(), "M-AB 124", [self.photo_offence], [])
        with self.assertRaises(fm.FieldsealError.InvalidInput) as e:
            self.session.capture(needs_photo)
        self.assertIn("needs at least one photo", str(e.exception))
        with self.assertRaises(fm.FieldsealError.InvalidInput) as e:
            self.session.capture(fill_draft(fm.CaptureDraft(), "M-AB 125", [], []))
        self.assertIn("at least one offence", str(e.exception))
        with self.assertRaises(fm.FieldsealError.NotFound):
            needs_photo.remove_photo(0)
        with self.assertRaises(fm.FieldsealError.NotFound):
            self.session.open_draft(424242)
        with self.assertRaises(fm.FieldsealError.NotFound):
            self.session.notice("not-an-id")
        self.assert_outbox_unchanged(before)

    def test_wrong_and_used_enrolment_codes(self):
        session = fm.OfficerSession.open(config(self.server, self.fresh_store()), os.urandom(32))
        for code in ["AAAA-BBBB-CCCC-DDDD", "", "x" * 500]:
            with self.subTest(code=code[:20]):
                with self.assertRaises(fm.FieldsealError.EnrolmentRefused) as e:
                    session.enrol(code)
                self.assertIn("new one-time code", str(e.exception))
        self.assertIsNone(session.device())
        with self.assertRaises(fm.FieldsealError.NotEnrolled) as e:
            session.catalogue()
        self.assertIn("enrol it with a one-time code", str(e.exception))
        with self.assertRaises(fm.FieldsealError.NotEnrolled):
            session.capture(fill_draft(fm.CaptureDraft(), "M-AB 126", ["112402"], []))
        code = self.server.issue_code()
        session.enrol(code)
        with self.assertRaises(fm.FieldsealError.AlreadyEnrolled):
            session.enrol(code)
        # The used code does not enrol a second device.
        other = fm.OfficerSession.open(config(self.server, self.fresh_store()), os.urandom(32))
        with self.assertRaises(fm.FieldsealError.EnrolmentRefused):
            other.enrol(code)

    def test_an_enclave_the_app_does_not_pin_is_refused(self):
        unpinned = config(self.server, self.fresh_store(), pinned_measurements=["00" * 32])
        session = fm.OfficerSession.open(unpinned, os.urandom(32))
        with self.assertRaises(fm.FieldsealError.AttestationFailed) as e:
            session.enrol(self.server.issue_code())
        self.assertIn("measurement not pinned", str(e.exception))
        self.assertIsNone(session.device())
        no_simulated = config(self.server, self.fresh_store(), accept_simulated=False)
        with self.assertRaises(fm.FieldsealError.AttestationFailed) as e:
            fm.OfficerSession.open(no_simulated, os.urandom(32)).enrol(self.server.issue_code())
        self.assertIn("simulated", str(e.exception))

    def test_unusable_settings(self):
        cases = [
            (dict(), os.urandom(16), "32 bytes"),
            (dict(pinned_measurements=["xyz"]), os.urandom(32), "64 hex digits"),
            (dict(pinned_platforms=[]), os.urandom(32), "pin at least one"),
            (dict(server_url="ftp://relay"), os.urandom(32), "https:// or http://"),
            (dict(server_url="https://relay.invalid"), os.urandom(32), "pass the platform's HTTP client"),
        ]
        for overrides, key, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(fm.FieldsealError.Configuration) as e:
                    fm.OfficerSession.open(config(self.server, self.fresh_store(), **overrides), key)
                self.assertIn(message, str(e.exception))


class UrllibClient(fm.HttpClient):
    """The app's own HTTP client, as OkHttp or URLSession would be on a phone."""

    def __init__(self, fail=False):
        self.calls = []
        self.fail = fail
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def send(self, request):
        self.calls.append((request.method, request.url))
        if self.fail:
            raise ConnectionRefusedError("no route to host")
        req = urllib.request.Request(
            request.url,
            data=request.body if request.method != "GET" else None,
            method=request.method,
            headers={h.name: h.value for h in request.headers},
        )
        try:
            with self.opener.open(req, timeout=30) as resp:
                return fm.HttpReply(status=resp.status, body=resp.read())
        except urllib.error.HTTPError as err:
            return fm.HttpReply(status=err.code, body=err.read())


class ListenerThatFails(fm.SyncListener):
    def __init__(self):
        self.calls = 0

    def on_progress(self, progress):
        self.calls += 1
        raise RuntimeError("the progress bar crashed")


class AppHttpClient(unittest.TestCase):
    def setUp(self):
        self.server = Server().start()
        self.addCleanup(self.server.remove)
        d = tempfile.TemporaryDirectory(prefix="fieldseal-py-client-")
        self.addCleanup(d.cleanup)
        self.store = os.path.join(d.name, "d.sqlite3")

    def test_the_apps_own_http_client_carries_enrolment_and_sync(self):
        client = UrllibClient()
        session = fm.OfficerSession.open_with_client(config(self.server, self.store), os.urandom(32), client)
        session.enrol(self.server.issue_code())
        code = session.catalogue().offences[0].code
        for n in range(2):
            session.capture(fill_draft(fm.CaptureDraft(), "HH-XY 42", [code], [photo("Portrait_5.jpg")], n))
        # A listener that throws does not stop the sync or lose anything.
        listener = ListenerThatFails()
        summary = session.sync(listener)
        self.assertEqual((summary.synced, summary.unsynced), (2, 0))
        self.assertGreater(listener.calls, 4, "every event still reaches the listener")
        methods = {m for m, _ in client.calls}
        self.assertEqual(methods, {"GET", "POST", "PUT"})
        self.assertTrue(all(url.startswith(self.server.url + "/v1/") for _, url in client.calls))

    def test_a_client_that_cannot_connect_means_offline(self):
        session = fm.OfficerSession.open_with_client(
            config(self.server, self.store), os.urandom(32), UrllibClient(fail=True)
        )
        with self.assertRaises(fm.FieldsealError.Offline) as e:
            session.enrol(self.server.issue_code())
        self.assertIn("no route to host", str(e.exception))
        self.assertIsNone(session.device())


if __name__ == "__main__":
    unittest.main()
