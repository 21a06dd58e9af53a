//! Tried as a rogue operator would, on real processes: the host's own user with its data
//! folder, its database and the zone's socket. It asks the socket for every request kind there
//! is, with genuine envelopes, photos, access codes and a made-up purpose; it swaps one case's
//! envelope for another's, and one case's photos for another's, and lets a citizen and a clerk
//! ask for the case. It gets no plaintext; every refusal is clear; each swap is detected.
//! (Run as the host's own non-root user in `tests/tests/zone_user.rs`; a copy of the data folder
//! opening nothing is `enclave/tests/process.rs`.)

use std::os::unix::net::UnixStream;

use fieldseal_core::notice::Notice;
use fieldseal_core::sync::{self, SyncOptions};
use fieldseal_core::wire::enclave::{ErrorCode, Request, Response, encode, read_frame, write_frame};
use fieldseal_server::blobs::{BlobStore as _, LocalBlobStore};
use fieldseal_server::db::Db;
use fieldseal_tests::office::{Authority, set_up_admin};
use fieldseal_tests::{Backend, Phone, Server, TempDir, block_on, csrf_of};

const PLATE_A: &str = "M-RA 1111";
const PLATE_B: &str = "M-RB 2222";

struct World {
    data: TempDir,
    server: Server,
    a: Notice,
    b: Notice,
    db: Db,
    _phone: Phone,
    _authority: Authority,
}

fn world() -> World {
    let data = TempDir::new("rogue-host");
    let backend = Backend::sqlite();
    let authority = Authority::new();
    let server = Server::start_with(&data.0, &backend, 0, &["--authority-key", &authority.public]);
    let mut phone = Phone::enrolled(&server, &data.0, &backend);
    let a = phone.capture(1, PLATE_A).remove(0);
    let b = phone.capture(1, PLATE_B).remove(0);
    sync::sync_outbox(&mut phone.store, &server.transport(), &SyncOptions::default(), &mut |_| {}).expect("syncs");
    let db = block_on(Db::open(None, &data.0)).expect("the host's database");
    World { data, server, a, b, db, _phone: phone, _authority: authority }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every kind of request (0x00 to 0xFF) on the zone's socket, each with a genuine envelope, its
/// sealed photos, the right access code, a purpose and an actor. Only health and the index are
/// answered; nothing carries a plate. The control: the index of the same envelope names its
/// ticket (the frames reached a live zone with real cases).
#[test]
fn the_socket_answers_no_kind_with_personal_data() {
    let w = world();
    let blobs = LocalBlobStore::open(&w.data.0.join("blobs")).expect("the host's blob files");
    let mut socket = UnixStream::connect(w.data.0.join("enclave.sock")).expect("the zone's socket");
    let mut ask = |payload: &[u8]| {
        write_frame(&mut socket, payload).expect("sends");
        read_frame(&mut socket).expect("answers").expect("a frame")
    };
    let case = block_on(w.db.sealed_case(&w.a.ticket_number)).expect("reads").expect("stored");
    let photos: Vec<Vec<u8>> = (0..case.photo_count)
        .map(|i| blobs.get(&case.envelope_id, i).expect("reads").expect("a sealed photo"))
        .collect();
    let code = w.a.access_code.grouped();
    let (purpose, actor) = (&b"quality check of the archive"[..], &b"clerk:1"[..]);
    let mut shapes: Vec<Vec<&[u8]>> = vec![
        vec![&case.device_key.0, &case.envelope, purpose, actor],
        vec![&case.device_key.0, &case.envelope, code.as_bytes()],
        vec![w.a.ticket_number.digits().as_bytes(), &case.envelope, purpose, actor],
    ];
    for shape in &mut shapes {
        shape.extend(photos.iter().map(Vec::as_slice));
    }
    shapes.push(vec![&case.device_key.0, &case.envelope]);
    let mut answered = 0;
    for kind in 0..=u8::MAX {
        for fields in &shapes {
            let answer = ask(&encode(kind, fields));
            assert!(!contains(&answer, "M-RA") && !contains(&answer, "M RA"), "kind {kind:#x}: a plate");
            match Response::from_payload(&answer).expect("an answer") {
                Response::Error(e) => {
                    assert!(matches!(e.code, ErrorCode::Malformed | ErrorCode::TooLarge), "kind {kind:#x}: {e:?}");
                    assert!(!e.message.is_empty());
                }
                Response::Index(i) => {
                    assert_eq!((kind, i.ticket_number.clone()), (0x02, w.a.ticket_number.clone()));
                    answered += 1;
                }
                Response::Health(_) => panic!("kind {kind:#x} with fields was answered as health"),
            }
        }
    }
    assert_eq!(answered, 1, "only the index of the right shape");
    let health = Response::from_payload(&ask(&Request::Health.to_payload())).expect("an answer");
    assert!(matches!(health, Response::Health(_)));
}

/// The host swaps case A's envelope for case B's in its database, then its photos for B's on
/// disk. The citizen of A is refused (B's record does not take A's code) and the clerk opening A
/// is told the host sent another ticket's envelope; with B's photos under A's envelope, both are
/// refused because the photos do not match the envelope's digests. Neither ever sees B's plate.
#[test]
fn a_swapped_envelope_or_swapped_photos_are_detected() {
    let w = world();
    let url = w.server.zone_url();
    let mut admin = set_up_admin(&w.server, &w._authority, "ada", "Lochkarten-Leserin-1843");
    let open_as_clerk = |admin: &mut fieldseal_tests::WebClient| {
        let page_url = format!("{url}/office/case/{}", w.a.ticket_number.digits());
        let (_, _, page) = admin.get(&page_url);
        admin.post_page(
            &format!("{page_url}/open"),
            &[("csrf", &csrf_of(&page)), ("purpose", "check a citizen's phone call")],
        )
    };
    // The control: untouched, the clerk sees A's plate, the citizen signs in.
    let (status, _, page) = open_as_clerk(&mut admin);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("M RA 1111") || page.contains(PLATE_A), "{page}");
    let a_row = block_on(w.db.sealed_case(&w.a.ticket_number)).expect("reads").expect("A");
    let b_row = block_on(w.db.sealed_case(&w.b.ticket_number)).expect("reads").expect("B");

    let sqlite = w.data.0.join("server.sqlite3");
    let swap = |bytes: &[u8]| {
        let mut conn =
            block_on(<sqlx::AnyConnection as sqlx::Connection>::connect(&format!("sqlite://{}", sqlite.display())))
                .expect("the host's SQLite file");
        block_on(
            sqlx::query("UPDATE envelopes SET envelope = $1 WHERE envelope_id = $2")
                .bind(bytes)
                .bind(a_row.envelope_id.0.to_vec())
                .execute(&mut conn),
        )
        .expect("swapped");
    };
    let blob = |id: &fieldseal_core::wire::envelope::Id16, i: u16| {
        let hex = id.to_hex();
        w.data.0.join("blobs").join(&hex[..2]).join(format!("{hex}-{i}.blob"))
    };
    // B's envelope and B's photos under A's ticket: a whole, genuine case of another ticket.
    swap(&b_row.envelope);
    for i in 0..b_row.photo_count.min(a_row.photo_count) {
        std::fs::copy(blob(&b_row.envelope_id, i), blob(&a_row.envelope_id, i)).expect("photo swapped");
    }
    let (status, _, page) = open_as_clerk(&mut admin);
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("another ticket"), "the swap is named: {page}");
    assert!(!page.contains("M RB") && !page.contains(PLATE_B), "{page}");
    let mut citizen = w.server.client();
    let (_, _, start) = citizen.get(&format!("{url}/"));
    let (status, _, page) = citizen.post_page(
        &format!("{url}/login"),
        &[("csrf", &csrf_of(&start)), ("ticket", &w.a.ticket_number.grouped()), ("code", &w.a.access_code.grouped())],
    );
    assert_ne!(status, 303, "not signed in to a case that is not A's: {page}");
    assert!(!page.contains("M RB") && !page.contains(PLATE_B), "{page}");

    // A's envelope back, with B's photos still in place of A's.
    swap(&a_row.envelope);
    let (status, _, page) = open_as_clerk(&mut admin);
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("belongs to envelope"), "the swap is named: {page}");
    assert!(!page.contains("data:image/jpeg"), "no photo shown: {page}");
    let mut citizen = w.server.client();
    let (_, _, start) = citizen.get(&format!("{url}/"));
    let (status, _, page) = citizen.post_page(
        &format!("{url}/login"),
        &[("csrf", &csrf_of(&start)), ("ticket", &w.a.ticket_number.grouped()), ("code", &w.a.access_code.grouped())],
    );
    assert!(!page.contains("data:image/jpeg") && !page.contains("M RB"), "{status}: {page}");
}
