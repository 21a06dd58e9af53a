//! The device store driven the way the officer app drives it: enrol, capture, list, reopen.

mod common;

use common::*;
use fieldseal_core::attestation::{AttestationError, AttestationPolicy};
use fieldseal_core::capture::CaseDraft;
use fieldseal_core::catalogue::CatalogueBody;
use fieldseal_core::demo;
use fieldseal_core::domain::CaptureError;
use fieldseal_core::notice::{EpcTransfer, NoticeClaim, parse_portal_link};
use fieldseal_core::seal::{self, EnclaveSecretKey, SigningKey};
use fieldseal_core::store::{DeviceStore, StorageKey, StoreError};
use fieldseal_core::ticket::TicketNumber;
use fieldseal_core::wire::record::CaseRecord;

const CANARY: &str = "B-QZ 4711";

fn draft(store: &DeviceStore, n: u64, plate: &str) -> CaseDraft {
    let photos = vec![sample_photo("gps_samsung_SM-N920T.jpg"), sample_photo("Portrait_6.jpg")];
    demo::demo_draft(store.catalogue().expect("enrolled"), n, plate, &photos, now_ms()).expect("valid draft")
}

#[test]
fn captured_case_is_sealed_numbered_and_opens_only_in_the_enclave() {
    let dir = TempDir::new("store");
    let mut e = enrolled_store(&dir.path().join("device.sqlite3"));
    let d = draft(&e.store, 1, CANARY);
    let processed: Vec<Vec<u8>> = d.photos.iter().map(|p| p.jpeg.to_vec()).collect();
    let sealed = e.store.capture(d).expect("seals");

    let identity = e.store.identity().expect("enrolled").clone();
    let notice = &sealed.notice;
    assert_eq!(notice.ticket_number, TicketNumber::issue(42, 1).expect("valid"));
    assert_eq!(sealed.sequence, 1);
    // The notice: EPC payload valid, with the ticket as reference; the link is signed.
    let epc = EpcTransfer::from_payload(&notice.epc_payload).expect("valid EPC payload");
    assert_eq!(epc.amount_cents, Some(notice.total_cents));
    assert_eq!(epc.remittance, notice.ticket_number.grouped());
    let (t, sig) = parse_portal_link(&notice.portal_url).expect("link parses");
    let claim = NoticeClaim {
        ticket_number: &t,
        total_cents: notice.total_cents,
        due_date: notice.due_date,
        iban: &notice.iban,
    };
    assert!(claim.verify(&identity.verifying_key, &sig), "the notice link is genuine");
    assert!(!notice.portal_url.contains(notice.access_code.expose()), "never the access code in a URL");
    assert!(notice.text().contains(&notice.access_code.grouped()));

    // The outbox holds it, unsynced.
    let unsynced = e.store.unsynced().expect("lists");
    assert_eq!(unsynced.len(), 1);
    assert_eq!(unsynced[0].ticket_number, notice.ticket_number);
    assert_eq!(unsynced[0].photo_count, 2);

    // The enclave (and only the enclave key) opens it, and the record is what was captured.
    let env = e.store.envelope(&sealed.envelope_id).expect("present");
    let opened = seal::open(&env, &identity.verifying_key, &e.enclave).expect("opens");
    let record = CaseRecord::from_bytes(&opened.record, &opened.header).expect("valid record");
    assert_eq!(record.vehicle.plate.as_str(), "B QZ 4711");
    assert_eq!(record.ticket_number, notice.ticket_number);
    assert_eq!(&record.access_code, &notice.access_code);
    assert_eq!(record.photos.len(), 2);
    for (i, jpeg) in processed.iter().enumerate() {
        let blob = e.store.blob(&sealed.envelope_id, i as u16).expect("present");
        assert_eq!(&opened.open_blob(i as u16, &blob).expect("opens")[..], &jpeg[..]);
    }
    assert!(seal::open(&env, &identity.verifying_key, &EnclaveSecretKey::make_random()).is_err());
    // The printer jammed, or the app died after sealing: the notice can be printed again.
    assert_eq!(&e.store.notice(&sealed.envelope_id).expect("reprint"), notice);
    assert_eq!(e.store.verify_integrity().expect("consistent").envelopes, 1);
}

#[test]
fn no_plaintext_plate_reaches_the_device_files() {
    let dir = TempDir::new("canary");
    let db = dir.path().join("device.sqlite3");
    let mut e = enrolled_store(&db);
    // A draft saved, loaded, then sealed: both stages stay encrypted at rest.
    let d = draft(&e.store, 3, CANARY);
    let id = e.store.save_draft(&d).expect("saved");
    assert_eq!(e.store.load_draft(id).expect("loads"), d);
    e.store.seal_draft(id).expect("sealed");
    drop(e);
    let bytes = all_bytes(dir.path());
    for needle in ["B QZ 4711", "QZ 4711", "BQZ4711", "Fahrzeug ohne Fahrer", "Musterstadt\u{0}"] {
        assert!(!contains(&bytes, needle.as_bytes()), "{needle:?} found in the device files");
    }
    assert!(!contains(&bytes, b"Hauptstra") && !contains(&bytes, b"Kirchgasse") && !contains(&bytes, b"Am Markt"));
}

#[test]
fn drafts_survive_reopen_and_sealing_removes_them() {
    let dir = TempDir::new("drafts");
    let db = dir.path().join("device.sqlite3");
    let mut e = enrolled_store(&db);
    let d = draft(&e.store, 2, "M-AB 123");
    let id = e.store.save_draft(&d).expect("saved");
    drop(e.store);
    let mut store = DeviceStore::open(&db, StorageKey::from_bytes(STORAGE_KEY)).expect("reopens");
    assert_eq!(store.draft_ids().expect("lists"), vec![id]);
    assert!(matches!(store.notice(&fieldseal_core::wire::envelope::Id16([0; 16])), Err(StoreError::NoSuchEnvelope(_))));
    let mut loaded = store.load_draft(id).expect("loads");
    assert_eq!(loaded, d);
    loaded.notes = "geändert".into();
    store.update_draft(id, &loaded).expect("updates");
    assert_eq!(store.load_draft(id).expect("loads").notes, "geändert");
    let sealed = store.seal_draft(id).expect("seals");
    drop(store);
    let store = DeviceStore::open(&db, StorageKey::from_bytes(STORAGE_KEY)).expect("reopens");
    assert_eq!(
        store.notice(&sealed.envelope_id).expect("reprint after restart").access_code,
        sealed.notice.access_code
    );
    assert!(store.draft_ids().expect("lists").is_empty());
    assert!(matches!(store.load_draft(id), Err(StoreError::NoSuchDraft(_))));
    assert_eq!(store.unsynced().expect("lists")[0].envelope_id, sealed.envelope_id);
    let report = store.verify_integrity().expect("consistent");
    assert_eq!((report.envelopes, report.blobs, report.drafts), (1, 2, 0));
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let dir = TempDir::new("bad");
    let mut e = enrolled_store(&dir.path().join("device.sqlite3"));
    e.store.capture(draft(&e.store, 1, "K-XY 1")).expect("first case seals");
    let before = e.store.outbox().expect("lists");

    let mut unknown = draft(&e.store, 1, "K-XY 2");
    unknown.offence_codes = vec!["999999".into()];
    assert!(matches!(e.store.capture(unknown), Err(StoreError::Capture(CaptureError::UnknownOffence { .. }))));

    let mut no_photo = draft(&e.store, 1, "K-XY 3");
    no_photo.photos.clear();
    no_photo.offence_codes = vec!["141312".into()];
    assert!(matches!(e.store.capture(no_photo), Err(StoreError::Capture(CaptureError::MissingPhoto { .. }))));

    let mut dup = draft(&e.store, 1, "K-XY 4");
    dup.offence_codes = vec!["141312".into(), "141312".into()];
    assert!(matches!(e.store.capture(dup), Err(StoreError::Capture(CaptureError::DuplicateOffence { .. }))));

    let mut long = draft(&e.store, 1, "K-XY 5");
    long.notes = "x".repeat(5000);
    assert!(matches!(e.store.capture(long), Err(StoreError::Capture(CaptureError::NotesTooLong { .. }))));

    let mut none = draft(&e.store, 1, "K-XY 6");
    none.offence_codes.clear();
    assert!(matches!(e.store.capture(none), Err(StoreError::Capture(CaptureError::NoOffence))));

    // An offence whose catalogue entry does not require a photo is fine without one.
    let mut optional = draft(&e.store, 1, "K-XY 7");
    optional.photos.clear();
    optional.offence_codes = vec!["113120".into()];
    assert!(!e.store.catalogue().expect("enrolled").get("113120").expect("listed").photo_required);

    assert_eq!(e.store.outbox().expect("lists"), before, "refused input left the outbox as it was");
    e.store.capture(optional).expect("seals without photo");
    assert_eq!(e.store.verify_integrity().expect("consistent").envelopes, 2, "no sequence number was burnt");
}

#[test]
fn wrong_storage_key_is_refused_clearly() {
    let dir = TempDir::new("key");
    let db = dir.path().join("device.sqlite3");
    drop(enrolled_store(&db));
    let err = DeviceStore::open(&db, StorageKey::from_bytes([8u8; 32])).expect_err("wrong key");
    assert!(matches!(err, StoreError::WrongStorageKey), "{err:?}");
    assert!(err.to_string().contains("keystore"));
    DeviceStore::open(&db, StorageKey::from_bytes(STORAGE_KEY)).expect("the right key still opens it");
}

#[test]
fn enrolment_refuses_tampered_or_unsigned_catalogues() {
    let dir = TempDir::new("enrol");
    let db = dir.path().join("device.sqlite3");
    let mut store = DeviceStore::open(&db, StorageKey::from_bytes(STORAGE_KEY)).expect("opens");
    let enclave = EnclaveSecretKey::make_random();
    let issuer = SigningKey::make_random();
    assert!(matches!(store.capture(CaseDraftStub::get()), Err(StoreError::NotEnrolled)));

    let mut tampered = enrolment(&enclave, &issuer, 1);
    tampered.catalogue.body = tampered.catalogue.body.replacen("5500", "550", 1);
    assert!(matches!(
        store.enrol(tampered, SigningKey::make_random(), &policy(), now_ms()),
        Err(StoreError::Catalogue(_))
    ));
    let mut unsigned = enrolment(&enclave, &issuer, 1);
    unsigned.catalogue.signature = String::new();
    assert!(matches!(
        store.enrol(unsigned, SigningKey::make_random(), &policy(), now_ms()),
        Err(StoreError::Catalogue(_))
    ));
    let mut foreign = enrolment(&enclave, &issuer, 1);
    foreign.catalogue = CatalogueBody::german_default().sign(&SigningKey::make_random());
    assert!(matches!(
        store.enrol(foreign, SigningKey::make_random(), &policy(), now_ms()),
        Err(StoreError::Catalogue(_))
    ));
    let mut bad_iban = enrolment(&enclave, &issuer, 1);
    bad_iban.payee.iban = "DE00000000000000000000".into();
    assert!(matches!(store.enrol(bad_iban, SigningKey::make_random(), &policy(), now_ms()), Err(StoreError::Payee(_))));
    assert!(store.identity().is_none(), "still not enrolled");

    // The enclave attestation is checked against the pinned policy before anything else.
    let mut foreign_platform = enrolment(&enclave, &issuer, 1);
    foreign_platform.attestation =
        demo::simulated_attestation(&enclave.public_key(), [0x5A; 32], &SigningKey::make_random(), now_ms()).0;
    assert!(matches!(
        store.enrol(foreign_platform, SigningKey::make_random(), &policy(), now_ms()),
        Err(StoreError::Attestation(AttestationError::UntrustedSigner))
    ));
    let other_code = enrolment(&enclave, &issuer, 1);
    let strict = AttestationPolicy { measurements: vec![[0x01; 32]], ..policy() };
    assert!(matches!(
        store.enrol(other_code, SigningKey::make_random(), &strict, now_ms()),
        Err(StoreError::Attestation(AttestationError::UnknownMeasurement))
    ));
    let production = AttestationPolicy { accept_simulated: false, ..policy() };
    assert!(matches!(
        store.enrol(enrolment(&enclave, &issuer, 1), SigningKey::make_random(), &production, now_ms()),
        Err(StoreError::Attestation(AttestationError::SimulatedRefused))
    ));
    assert!(store.identity().is_none(), "still not enrolled");

    store
        .enrol(enrolment(&enclave, &issuer, 1), SigningKey::make_random(), &policy(), now_ms())
        .expect("a good enrolment works");
    assert!(matches!(
        store.enrol(enrolment(&enclave, &issuer, 1), SigningKey::make_random(), &policy(), now_ms()),
        Err(StoreError::AlreadyEnrolled)
    ));
}

/// A draft that is never valid on its own merits: used where enrolment must fail first.
struct CaseDraftStub;
impl CaseDraftStub {
    fn get() -> CaseDraft {
        use fieldseal_core::domain::{ObservedAt, Place, Vehicle};
        CaseDraft {
            vehicle: Vehicle::new("B-AB 1", "DE", "", "").expect("valid"),
            offence_codes: vec!["141312".into()],
            place: Place::new(52.0, 13.0, 5.0, "Hauptstr. 1").expect("valid"),
            observed_at: ObservedAt::new(now_ms(), 0, 60).expect("valid"),
            notes: String::new(),
            photos: vec![],
        }
    }
}

#[test]
fn a_store_from_a_newer_app_is_refused() {
    let dir = TempDir::new("schema");
    let db = dir.path().join("device.sqlite3");
    drop(enrolled_store(&db));
    let conn = rusqlite::Connection::open(&db).expect("opens");
    conn.pragma_update(None, "user_version", 99).expect("sets");
    drop(conn);
    let err = DeviceStore::open(&db, StorageKey::from_bytes(STORAGE_KEY)).expect_err("refused");
    assert!(matches!(err, StoreError::NewerSchema { found: 99, .. }), "{err:?}");
}

#[test]
fn integrity_check_catches_direct_tampering() {
    let dir = TempDir::new("tamper");
    let db = dir.path().join("device.sqlite3");
    let mut e = enrolled_store(&db);
    for n in 0..3 {
        e.store.capture(draft(&e.store, n, "HH-AB 12")).expect("seals");
    }
    drop(e.store);
    for (i, (sql, what)) in [
        ("DELETE FROM outbox WHERE sequence = 2", "sequence gap"),
        ("UPDATE outbox SET envelope = CAST(substr(envelope, 1, 200) || x'00' || substr(envelope, 202) AS BLOB) WHERE sequence = 3", "does not verify"),
        ("DELETE FROM outbox_blobs WHERE rowid = (SELECT min(rowid) FROM outbox_blobs)", "blobs"),
        ("UPDATE chain SET next_sequence = next_sequence + 1", "next sequence"),
        ("UPDATE outbox SET ticket_number = '004200000990' WHERE sequence = 1", "ticket"),
    ]
    .into_iter()
    .enumerate()
    {
        let copy = dir.path().join(format!("tampered-{i}.sqlite3"));
        std::fs::copy(&db, &copy).expect("copies");
        let conn = rusqlite::Connection::open(&copy).expect("opens");
        conn.execute_batch("PRAGMA foreign_keys = OFF").expect("pragma");
        conn.execute_batch(sql).expect("tamper");
        drop(conn);
        let store = DeviceStore::open(&copy, StorageKey::from_bytes(STORAGE_KEY)).expect("opens");
        let err = store.verify_integrity().expect_err("tampering is noticed");
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
}

#[test]
fn altered_enrolment_settings_are_refused_at_open() {
    let dir = TempDir::new("enrolment-tamper");
    let db = dir.path().join("device.sqlite3");
    drop(enrolled_store(&db));
    for (i, sql) in [
        "UPDATE enrolment SET device_prefix = 43",
        "UPDATE enrolment SET config_sealed = CAST(substr(config_sealed, 1, 40) || x'00' || substr(config_sealed, 42) AS BLOB)",
        "UPDATE enrolment SET device_id = zeroblob(16)",
    ]
    .into_iter()
    .enumerate()
    {
        let copy = dir.path().join(format!("tampered-{i}.sqlite3"));
        std::fs::copy(&db, &copy).expect("copies");
        let conn = rusqlite::Connection::open(&copy).expect("opens");
        conn.execute_batch(sql).expect("tamper");
        drop(conn);
        let err = DeviceStore::open(&copy, StorageKey::from_bytes(STORAGE_KEY)).expect_err("refused");
        assert!(matches!(&err, StoreError::Corrupt(m) if m.contains("altered")), "{sql}: {err:?}");
    }
}

#[test]
fn a_newer_catalogue_from_the_pinned_issuer_replaces_the_old_one_and_nothing_else_does() {
    let dir = TempDir::new("catalogue-update");
    let db = dir.path().join("device.sqlite3");
    let mut e = enrolled_store(&db);
    let issue = |version: &str, amount: u64, issuer: &SigningKey| {
        let mut body = CatalogueBody::german_default();
        body.version = version.into();
        body.offences.iter_mut().filter(|o| o.code == "141312").for_each(|o| o.amount_cents = amount);
        body.sign(issuer)
    };
    let held = e.store.catalogue().expect("enrolled").version().to_owned();
    assert!(!e.store.update_catalogue(issue(&held, 2500, &e.issuer)).expect("same version"));
    let refusals = [issue("2099-01-01.1", 9900, &SigningKey::make_random()), issue("2000-01-01.1", 100, &e.issuer), {
        let mut body = CatalogueBody::german_default();
        body.catalogue_id = "at-stvo".into();
        body.version = "2099-01-01.1".into();
        body.sign(&e.issuer)
    }];
    for (signed, expected) in refusals.into_iter().zip(["BadSignature", "Older", "OtherFamily"]) {
        match e.store.update_catalogue(signed) {
            Err(StoreError::Catalogue(c)) => assert!(format!("{c:?}").starts_with(expected), "{c:?}"),
            other => panic!("expected a refused catalogue ({expected}), got {other:?}"),
        }
    }
    assert_eq!(e.store.catalogue().expect("enrolled").version(), held);

    assert!(e.store.update_catalogue(issue("2099-01-01.1", 3000, &e.issuer)).expect("newer"));
    let sealed = e.store.capture(draft(&e.store, 0, "M-AB 123")).expect("captures under the new issue");
    drop(e.store);
    let store = DeviceStore::open(&db, StorageKey::from_bytes(STORAGE_KEY)).expect("reopens");
    let cat = store.catalogue().expect("enrolled");
    assert_eq!((cat.version(), cat.get("141312").map(|o| o.amount_cents)), ("2099-01-01.1", Some(3000)));
    assert!(sealed.notice.offences.iter().all(|o| cat.get(&o.code).map(|c| c.amount_cents) == Some(o.amount_cents)));
}

#[test]
fn an_edited_stored_draft_is_sealed_as_edited_and_removed_at_once() {
    let dir = TempDir::new("edited-draft");
    let db = dir.path().join("device.sqlite3");
    let mut e = enrolled_store(&db);
    let id = e.store.save_draft(&draft(&e.store, 1, "M-AB 123")).expect("saved");
    let mut edited = e.store.load_draft(id).expect("loads");
    edited.notes = "nachgetragen".into();
    let sealed = e.store.seal_edited_draft(id, &edited).expect("seals");
    assert!(e.store.draft_ids().expect("lists").is_empty());
    assert!(matches!(e.store.seal_edited_draft(id, &edited), Err(StoreError::NoSuchDraft(_))));
    let bytes = e.store.envelope(&sealed.envelope_id).expect("stored");
    let device = e.store.identity().expect("enrolled").verifying_key;
    let opened = seal::open(&bytes, &device, &e.enclave).expect("opens");
    assert_eq!(CaseRecord::from_bytes(&opened.record, &opened.header).expect("record").notes, "nachgetragen");
    assert_eq!(e.store.outbox().expect("lists").len(), 1);
}
