//! End to end over loopback: a phone (the core's store and sync client, in this process)
//! against the real `fieldseal serve` and its real enclave child, on SQLite and PostgreSQL.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fieldseal_core::demo::sealed_case;
use fieldseal_core::seal::{SealedCase, SigningKey};
use fieldseal_core::sync::{self, HttpTransport, Method, SyncError, SyncEvent, SyncOptions, Transport as _};
use fieldseal_core::wire::envelope::Id16;
use fieldseal_core::wire::relay::{
    BlobStatus, EnrolRequest, Enrolment, EnvelopeResult, Outcome, RejectCode, SyncResponse, encode_batch,
};
use fieldseal_server::db::Db;
use fieldseal_tests::on_both_backends;
use fieldseal_tests::{Backend, Phone, Server, TempDir, block_on, issue_code, now_ms, policy_for};

on_both_backends!(
    offline_tickets_sync_after_a_killed_server,
    hostile_uploads_are_refused_and_change_nothing,
    canary_plate_is_nowhere_on_the_server
);

fn quick() -> SyncOptions {
    SyncOptions {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        ..SyncOptions::default()
    }
}

fn server_db(data: &Path, backend: &Backend) -> Db {
    block_on(Db::open(backend.url(), data)).expect("opens the server database")
}

fn offline_tickets_sync_after_a_killed_server(backend: Backend) {
    let data = TempDir::new("server");
    let server = Server::start(&data.0, &backend);
    let mut phone = Phone::enrolled(&server, &data.0, &backend);
    let first_url = server.url.clone();
    server.kill();

    // A shift without network: 50 tickets, and a sync attempt that cannot reach anyone.
    phone.capture(50, "B-FS 2026");
    let down = sync::sync_outbox(
        &mut phone.store,
        &HttpTransport::new(&first_url, Duration::from_secs(5)),
        &quick(),
        &mut |_| {},
    );
    assert!(matches!(down, Err(SyncError::Network(_))), "{down:?}");
    assert_eq!(phone.unsynced(), 50, "nothing marked synced without a receipt");

    // The server comes back (its enclave still attested for the key the phone seals to) and
    // dies (SIGKILL) in the middle of the sync.
    let server = Server::start(&data.0, &backend);
    sync::check_attestation(&phone.store, &server.transport(), &policy_for(), now_ms()).expect("attested");
    let mut strict = policy_for();
    strict.measurements = vec![[0; 32]];
    let refused = sync::check_attestation(&phone.store, &server.transport(), &strict, now_ms());
    assert!(matches!(refused, Err(SyncError::Attestation(_))), "{refused:?}");
    let pid = server.pid().to_string();
    let mut killed = false;
    let interrupted = sync::sync_outbox(&mut phone.store, &server.transport(), &quick(), &mut |e| {
        if let SyncEvent::Synced { done: 20, .. } = e
            && !killed
        {
            killed = Command::new("kill").args(["-9", &pid]).status().expect("kill runs").success();
        }
    });
    assert!(killed, "the server was killed mid-sync");
    assert!(matches!(interrupted, Err(SyncError::Network(_))), "{interrupted:?}");
    let left = phone.unsynced();
    assert!((1..=30).contains(&left), "{left} left after the kill");
    drop(server);

    // Restarted on the same data: everything syncs, once.
    let server = Server::start(&data.0, &backend);
    let report = sync::sync_outbox(&mut phone.store, &server.transport(), &SyncOptions::default(), &mut |_| {})
        .expect("syncs after the restart");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(phone.unsynced(), 0);
    for entry in phone.store.outbox().expect("outbox") {
        assert!(phone.store.receipt(&entry.envelope_id).expect("receipt").is_some(), "{}", entry.envelope_id);
    }
    let db = server_db(&data.0, &backend);
    let counts = block_on(db.counts()).expect("counts");
    assert_eq!((counts.envelopes, counts.blobs, counts.cases, counts.chain_events), (50, 100, 50, 0), "{counts:?}");
    // Partial uploads cut by the kill were resumed and are gone.
    let partial = std::fs::read_dir(data.0.join("blobs/partial")).expect("partial folder").count();
    assert_eq!(partial, 0);
    block_on(db.close());
}

fn post_batch(t: &HttpTransport, envelopes: &[&[u8]]) -> Vec<EnvelopeResult> {
    let r = t.send(Method::Post, "/v1/sync", &[], &encode_batch(envelopes)).expect("answers");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice::<SyncResponse>(&r.body).expect("a sync answer").results
}

fn post_one(t: &HttpTransport, envelope: &[u8]) -> EnvelopeResult {
    post_batch(t, &[envelope]).remove(0)
}

fn upload_blobs(t: &HttpTransport, case: &SealedCase) -> Option<fieldseal_core::wire::relay::Receipt> {
    let mut receipt = None;
    for (i, blob) in case.blobs.iter().enumerate() {
        let path = format!("/v1/blobs/{}/{i}", case.header.envelope_id);
        let r = t.send(Method::Put, &path, &[("upload-offset", "0".into())], blob).expect("answers");
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let status: BlobStatus = serde_json::from_slice(&r.body).expect("status");
        receipt = status.receipt.or(receipt);
    }
    receipt
}

fn hostile_uploads_are_refused_and_change_nothing(backend: Backend) {
    let data = TempDir::new("server");
    let server = Server::start(&data.0, &backend);
    let t = server.transport();
    // A device whose key this test holds, so it can forge, fork and skip at will.
    let key = SigningKey::make_random();
    let req = EnrolRequest { code: issue_code(&data.0, &backend), verifying_key: key.verifying_key() };
    let r = t.send(Method::Post, "/v1/enrol", &[], &serde_json::to_vec(&req).expect("json")).expect("answers");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let enrolment: Enrolment = serde_json::from_slice(&r.body).expect("enrolment");
    let again = t.send(Method::Post, "/v1/enrol", &[], &serde_json::to_vec(&req).expect("json")).expect("answers");
    assert_eq!(again.status, 403, "a code works once");
    let enclave = enrolment.attestation.verify(&policy_for(), now_ms()).expect("attested").public_key;
    let (dev, prefix) = (enrolment.device_id, enrolment.device_prefix);
    let (c1, _) = sealed_case(&enclave, &key, dev, prefix, 1, [0; 32], "B-FS 1").expect("case 1");
    let (c2, _) = sealed_case(&enclave, &key, dev, prefix, 2, c1.envelope_hash, "B-FS 2").expect("case 2");
    let (c3, _) = sealed_case(&enclave, &key, dev, prefix, 3, c2.envelope_hash, "B-FS 3").expect("case 3");

    let first = post_one(&t, &c1.envelope);
    assert_eq!((first.outcome, first.missing_blobs.as_slice()), (Outcome::Stored, &[0, 1][..]));
    let receipt = upload_blobs(&t, &c1).expect("the last blob brings the receipt");

    let db = server_db(&data.0, &backend);
    let before = block_on(db.fingerprint()).expect("fingerprint");
    let events_before = block_on(db.counts()).expect("counts").chain_events;
    let refused = |r: &EnvelopeResult, code: RejectCode| {
        assert_eq!((r.outcome, r.code), (Outcome::Rejected, Some(code)), "{r:?}");
        assert!(r.message.as_deref().is_some_and(|m| !m.is_empty()), "a reason is given");
    };

    // A replay is answered idempotently, with the same receipt.
    let replay = post_one(&t, &c1.envelope);
    assert_eq!((replay.outcome, replay.receipt.as_ref()), (Outcome::Duplicate, Some(&receipt)));
    // Forged signature, another device's key, flipped bytes, an unknown device.
    let mut forged = c2.envelope.clone();
    *forged.last_mut().expect("bytes") ^= 1;
    refused(&post_one(&t, &forged), RejectCode::BadSignature);
    let (other_key, _) =
        sealed_case(&enclave, &SigningKey::make_random(), dev, prefix, 2, c1.envelope_hash, "B-FS 2").expect("x");
    refused(&post_one(&t, &other_key.envelope), RejectCode::BadSignature);
    let mut flipped = c2.envelope.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    refused(&post_one(&t, &flipped), RejectCode::BadSignature);
    let mut version = c2.envelope.clone();
    version[0] = 9;
    refused(&post_one(&t, &version), RejectCode::Malformed);
    let (stranger, _) = sealed_case(&enclave, &key, Id16::make_random(), 1, 1, [0; 32], "B-FS 9").expect("x");
    refused(&post_one(&t, &stranger.envelope), RejectCode::UnknownDevice);
    // A gap (3 before 2) and a fork (another case at 1) are refused and recorded.
    let gap = post_one(&t, &c3.envelope);
    refused(&gap, RejectCode::Gap);
    assert!(gap.gap_before);
    let (fork, _) = sealed_case(&enclave, &key, dev, prefix, 1, [0; 32], "B-FS 7").expect("fork");
    refused(&post_one(&t, &fork.envelope), RejectCode::Fork);
    // Bodies: oversize, malformed.
    let big = fieldseal_tests::status_for_announced_body(&server.url, "/v1/sync", 9 << 20);
    assert!(big.starts_with("HTTP/1.1 413"), "{big}");
    let junk = t.send(Method::Post, "/v1/sync", &[], b"\x01\x00\x01garbage").expect("answers");
    assert_eq!(junk.status, 400, "{}", String::from_utf8_lossy(&junk.body));
    // Blobs: for an envelope not stored, for a photo that does not exist, bytes that do not match.
    let path = |id: Id16, i: u16| format!("/v1/blobs/{id}/{i}");
    let off0 = [("upload-offset", "0".to_owned())];
    assert_eq!(t.send(Method::Put, &path(c2.header.envelope_id, 0), &off0, &c2.blobs[0]).expect("answers").status, 404);
    assert_eq!(t.send(Method::Put, &path(c1.header.envelope_id, 5), &off0, b"x").expect("answers").status, 404);
    let no_offset = t.send(Method::Put, &path(c1.header.envelope_id, 0), &[], b"x").expect("answers");
    assert_eq!(no_offset.status, 400);

    assert_eq!(block_on(db.fingerprint()).expect("fingerprint"), before, "nothing stored changed");
    assert_eq!(block_on(db.counts()).expect("counts").chain_events, events_before + 2, "gap and fork recorded");

    // The honest chain goes on; a corrupted blob upload is discarded and can be redone.
    let next = post_batch(&t, &[&c2.envelope, &c3.envelope]);
    assert!(next.iter().all(|r| r.outcome == Outcome::Stored), "{next:?}");
    let mut bad_blob = c2.blobs[0].clone();
    *bad_blob.last_mut().expect("bytes") ^= 1;
    let r = t.send(Method::Put, &path(c2.header.envelope_id, 0), &off0, &bad_blob).expect("answers");
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    let ahead =
        t.send(Method::Put, &path(c2.header.envelope_id, 0), &[("upload-offset", "10".into())], b"x").expect("a");
    assert_eq!(ahead.status, 409, "an offset past what the server holds");
    assert!(upload_blobs(&t, &c2).is_some());

    // An upload cut in the middle resumes where the server stands.
    let blob = &c3.blobs[0];
    let half = blob.len() / 2;
    let p3 = path(c3.header.envelope_id, 0);
    let r = t.send(Method::Put, &p3, &off0, &blob[..half]).expect("answers");
    let status: BlobStatus = serde_json::from_slice(&r.body).expect("status");
    assert_eq!((status.received, status.complete), (half as u64, false));
    let r = t.send(Method::Get, &p3, &[], &[]).expect("answers");
    let status: BlobStatus = serde_json::from_slice(&r.body).expect("status");
    assert_eq!((status.received, status.total), (half as u64, blob.len() as u64));
    let r = t.send(Method::Put, &p3, &[("upload-offset", half.to_string())], &blob[half..]).expect("answers");
    let status: BlobStatus = serde_json::from_slice(&r.body).expect("status");
    assert!(status.complete && status.receipt.is_none(), "photo 1 is still missing");

    // Junk uploads for made-up envelopes (found in review: each left a lock entry behind, so
    // memory grew with junk requests) are refused and leave nothing in progress.
    for _ in 0..300 {
        let junk = path(Id16::make_random(), 0);
        assert_eq!(t.send(Method::Put, &junk, &off0, b"junk").expect("answers").status, 404);
    }
    let health = t.send(Method::Get, "/health", &[], &[]).expect("answers");
    let health: serde_json::Value = serde_json::from_slice(&health.body).expect("json");
    assert_eq!(health["uploads_in_progress"], 0, "{health}");
    block_on(db.close());
}

fn canary_plate_is_nowhere_on_the_server(backend: Backend) {
    let digits = 1000 + (Id16::make_random().0[0] as u32 * 31) % 9000;
    let plate = format!("M-CX {digits}");
    let data = TempDir::new("server");
    let server = Server::start(&data.0, &backend);
    let mut phone = Phone::enrolled(&server, &data.0, &backend);
    phone.capture(3, &plate);
    let report =
        sync::sync_outbox(&mut phone.store, &server.transport(), &SyncOptions::default(), &mut |_| {}).expect("syncs");
    assert_eq!((report.synced, phone.unsynced()), (3, 0));

    let needles = [plate.clone(), format!("M CX {digits}"), format!("MCX{digits}")];
    // Files: database, WAL, blobs, keys, settings.
    for n in &needles {
        let found = fieldseal_server::demo::plate_in_files(&data.0, n);
        assert!(found.is_empty(), "{n:?} in {found:?}");
    }
    // PostgreSQL tables, every row as text (bytea shows as hex).
    if let Backend::Postgres(url) = &backend {
        let rows = block_on(async {
            use sqlx::{Connection as _, Row as _};
            let mut conn = sqlx::AnyConnection::connect(url).await.expect("connects");
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .expect("tables");
            assert!(tables.iter().any(|t| t == "envelopes"), "{tables:?}");
            let mut all = String::new();
            for table in tables {
                let q = format!("SELECT CAST(t AS TEXT) FROM {table} t");
                for row in sqlx::query(sqlx::AssertSqlSafe(q)).fetch_all(&mut conn).await.expect("rows") {
                    all.push_str(&row.try_get::<String, _>(0).expect("text"));
                }
            }
            all
        });
        assert!(rows.len() > 1000, "the rows were read");
        for n in &needles {
            let hex: String = n.bytes().map(|b| format!("{b:02x}")).collect();
            assert!(!rows.contains(n.as_str()) && !rows.contains(&hex), "{n:?} in a PostgreSQL row");
        }
    }
    // The server's log (and its enclave child's, which shares it).
    let log = server.log_text();
    assert!(log.contains("sync envelope") && log.contains("blob stored"), "the log was captured: {log}");
    // The server process's memory, with a control that the scan sees what is there.
    assert!(server.memory_contains(b"sync envelope"), "the memory scan works");
    for n in &needles {
        assert!(!log.contains(n.as_str()), "{n:?} in the log");
        assert!(!server.memory_contains(n.as_bytes()), "{n:?} in the server's memory");
    }
}

/// Tried as a stolen or rogue phone would (found in review): an enrolled device seals a case
/// with another device's ticket prefix and next number. It is refused, so the other device's
/// own case with that number still syncs (before, it was refused as a duplicate, and every later
/// one as a gap: that device's sync was blocked for good).
#[test]
fn a_device_cannot_take_another_devices_ticket_numbers() {
    let backend = Backend::sqlite();
    let data = TempDir::new("squat");
    let server = Server::start(&data.0, &backend);
    let t = server.transport();
    let enrol = |key: &SigningKey| {
        let req = EnrolRequest { code: issue_code(&data.0, &backend), verifying_key: key.verifying_key() };
        let r = t.send(Method::Post, "/v1/enrol", &[], &serde_json::to_vec(&req).expect("json")).expect("answers");
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        serde_json::from_slice::<Enrolment>(&r.body).expect("enrolment")
    };
    let (squatter, victim) = (SigningKey::make_random(), SigningKey::make_random());
    let (s, v) = (enrol(&squatter), enrol(&victim));
    let enclave = v.attestation.verify(&policy_for(), now_ms()).expect("attested").public_key;
    let (v1, _) = sealed_case(&enclave, &victim, v.device_id, v.device_prefix, 1, [0; 32], "B-V 1").expect("v1");
    assert_eq!(post_one(&t, &v1.envelope).outcome, Outcome::Stored);
    // The squatter's own first case is fine; its second carries the victim's prefix and next
    // number, on a valid link of the squatter's own chain.
    let (own, _) = sealed_case(&enclave, &squatter, s.device_id, s.device_prefix, 1, [0; 32], "B-S 1").expect("own");
    assert_eq!(post_one(&t, &own.envelope).outcome, Outcome::Stored);
    let (squat, _) =
        sealed_case(&enclave, &squatter, s.device_id, v.device_prefix, 2, own.envelope_hash, "B-S 2").expect("squat");
    let refused = post_one(&t, &squat.envelope);
    assert_eq!((refused.outcome, refused.code), (Outcome::Rejected, Some(RejectCode::Unreadable)), "{refused:?}");
    assert!(refused.message.as_deref().is_some_and(|m| m.contains("prefix")), "{refused:?}");
    let (v2, _) =
        sealed_case(&enclave, &victim, v.device_id, v.device_prefix, 2, v1.envelope_hash, "B-V 2").expect("v2");
    assert_eq!(post_one(&t, &v2.envelope).outcome, Outcome::Stored, "the victim's own case still syncs");
}
