//! Writes the fuzz targets' seed corpus (`fuzz/corpus/<target>/`): valid inputs of each format
//! so the fuzzer starts from real structure. Run: `cargo run -p fieldseal-core --example fuzz_seeds`.

use std::path::Path;

use fieldseal_core::catalogue::CatalogueBody;
use fieldseal_core::demo;
use fieldseal_core::notice::EpcTransfer;
use fieldseal_core::seal::{self, EnclaveSecretKey, SealRequest, SigningKey};
use fieldseal_core::ticket::{AccessCode, TicketNumber};
use fieldseal_core::wire::envelope::Id16;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus folder");
    std::fs::write(dir.join(name), bytes).expect("seed written");
}

fn main() {
    let enclave = EnclaveSecretKey::make_random();
    let device = SigningKey::make_random();
    let small_photos = [demo::street_photo(1, 64, 48), demo::street_photo(2, 48, 64)];
    let photos: Vec<&[u8]> = small_photos.iter().map(Vec::as_slice).collect();
    for (i, n) in [0usize, 1, 2].iter().enumerate() {
        let sealed = seal::seal(
            &SealRequest {
                envelope_id: Id16::make_random(),
                device_id: Id16([2; 16]),
                sequence: 1 + i as u64,
                prev_hash: if i == 0 { [0; 32] } else { [7; 32] },
                record: b"{\"format\":1}",
                photos: &photos[..*n],
            },
            &enclave.public_key(),
            &device,
        )
        .expect("seals");
        write("envelope", &format!("envelope-{n}-photos"), &sealed.envelope);
        if let Some(b) = sealed.blobs.first() {
            write("blob", &format!("blob-{n}"), b);
        }
    }
    let catalogue = CatalogueBody::german_default().sign(&device).verify(&device.verifying_key()).expect("verifies");
    let draft = demo::demo_draft(&catalogue, 3, "B-FZ 1", &small_photos, 1_795_000_000_000).expect("draft");
    let record = serde_json::json!({
        "format": 1, "ticket_number": TicketNumber::issue(1, 5).expect("valid").digits(),
        "access_code": AccessCode::make_random().expose(), "catalogue_id": "de-bkat", "catalogue_version": "1",
        "offences": [{"code": "141312", "amount_cents": 2500}], "total_cents": 2500, "due_date": "2026-11-30",
        "vehicle": draft.vehicle, "place": draft.place, "observed_at": draft.observed_at, "notes": draft.notes, "photos": []
    });
    write("record", "record-v1.json", &serde_json::to_vec(&record).expect("json"));
    for (i, p) in small_photos.iter().enumerate() {
        write("photo", &format!("street-{i}.jpg"), p);
    }
    let transfer = EpcTransfer {
        bic: "BHBLDEHHXXX".into(),
        name: "Stadtkasse Musterstadt".into(),
        iban: "DE71110220330123456789".into(),
        amount_cents: Some(2500),
        remittance: TicketNumber::issue(1, 5).expect("valid").grouped(),
        ..Default::default()
    };
    write("photo", "pixel-bomb.png", &demo::pixel_bomb_png(60_000, 60_000));
    write("notice", "epc-002", transfer.to_payload().expect("valid").as_bytes());
    write("notice", "ticket", TicketNumber::issue(42, 99).expect("valid").grouped().as_bytes());
    write("notice", "access-code", AccessCode::make_random().grouped().as_bytes());
    write("notice", "portal-link", b"https://portal.example/n/004200000990?s=AAAA");
    enclave_and_sync_seeds(&enclave, &device);
    println!("seed corpus written to fuzz/corpus/");
}

fn enclave_and_sync_seeds(enclave: &EnclaveSecretKey, device: &SigningKey) {
    use fieldseal_core::objection::Objection;
    use fieldseal_core::payer::BankDetails;
    use fieldseal_core::wire::enclave::{EnclaveError, ErrorCode, Request, Response};
    use fieldseal_core::wire::relay::{SyncResponse, encode_batch};
    let (c1, notice) =
        demo::sealed_case(&enclave.public_key(), device, Id16([3; 16]), 1, 1, [0; 32], "B-FZ 2").expect("case");
    let (c2, _) = demo::sealed_case(&enclave.public_key(), device, Id16([3; 16]), 1, 2, c1.envelope_hash, "B-FZ 3")
        .expect("case");
    let key = device.verifying_key();
    // Sealed to the fixed key of the `enclave_frame` fuzz target, so the fuzzer reaches the
    // opening and answering paths, not only the refusals.
    let fuzz_key = EnclaveSecretKey::from_bytes(&[7; 32]).expect("key");
    let fuzz_enclave = fuzz_key.public_key();
    let objection = Objection::new("Ich war zu der Zeit nicht am Steuer.", Some(small_jpeg())).expect("valid");
    let sealed_objection = objection.seal(&notice.ticket_number, &fuzz_enclave).expect("seals");
    let entry_key = "2026-11-30/STMT-0042/7";
    let details = BankDetails {
        payer_name: Some("Erika Mustermann".into()),
        payer_account: Some("DE02120300000000202051".into()),
        remittance: vec![notice.ticket_number.grouped(), "Kennz. B-FZ 2".into()],
        references: vec![("EndToEndId".into(), "E2E-4711".into())],
    };
    let sealed_details = details.seal(entry_key, &fuzz_enclave).expect("seals");
    Objection::open(&sealed_objection, &notice.ticket_number, &fuzz_key).expect("opens with the fuzz target's key");
    BankDetails::open(&sealed_details, entry_key, &fuzz_key).expect("opens with the fuzz target's key");
    let requests = [
        ("health", Request::Health),
        ("open-index", Request::OpenIndex { device_key: key, envelope: c1.envelope.clone() }),
    ];
    for (name, req) in requests {
        write("enclave_frame", name, &req.to_payload());
    }
    let err = Response::Error(EnclaveError::new(ErrorCode::AccessDenied, "wrong access code"));
    write("enclave_frame", "error-answer", &err.to_payload());
    write("sync_body", "batch-2", &encode_batch(&[&c1.envelope, &c2.envelope]));
    let answer = SyncResponse { results: vec![] };
    write("sync_body", "answer-empty", &serde_json::to_vec(&answer).expect("json"));
}

/// A tiny processed JPEG for the objection seeds.
fn small_jpeg() -> Vec<u8> {
    demo::street_photo(3, 16, 12)
}
