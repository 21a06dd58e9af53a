//! What the enclave does with its key: on the socket, open and index an envelope, and health;
//! inside the zone, for the portal and the office it serves, the citizen's view, the clerk's
//! view and the clerk's opening of a sealed objection or sealed bank details. Pure functions of
//! the request and the keys; no state survives a request.

use std::sync::OnceLock;

use fieldseal_core::objection::{self, Objection, ObjectionError};
use fieldseal_core::payer::{self, BankDetails, PayerError};
use fieldseal_core::seal::{self, EnclaveSecretKey, OpenError};
use fieldseal_core::ticket::{AccessCode, TicketNumber};
use fieldseal_core::wire::enclave::{
    CaptureStatus, CaseIndex, CaseView, EnclaveError, ErrorCode, HealthReport, MIN_PURPOSE_CHARS, PROTOCOL_VERSION,
    Request, Response, SandboxReport,
};
use fieldseal_core::wire::envelope::FormatError;
use fieldseal_core::wire::record::CaseRecord;
use zeroize::Zeroizing;

use crate::platform::Platform;

/// What a request handler needs: the private key and the platform that vouches for it.
pub struct Enclave<P: Platform> {
    key: Box<EnclaveSecretKey>,
    platform: P,
    sandbox: OnceLock<SandboxReport>,
    tls_spki: OnceLock<[u8; 32]>,
}

impl<P: Platform> Enclave<P> {
    /// An enclave holding `key` (already locked in memory by the caller), vouched for by `platform`.
    pub fn new(key: Box<EnclaveSecretKey>, platform: P) -> Self {
        Self { key, platform, sandbox: OnceLock::new(), tls_spki: OnceLock::new() }
    }

    /// The public half of the enclave key (objections are sealed to it).
    pub fn public_key(&self) -> seal::EnclavePublicKey {
        self.key.public_key()
    }

    /// The zone's vault key (what only this zone may write and read, kept by the host).
    pub fn vault_key(&self) -> fieldseal_core::vault::VaultKey {
        fieldseal_core::vault::VaultKey::derive(&self.key)
    }

    /// Records the hash of the zone's TLS public key, so attestation binds it.
    pub fn set_tls_spki(&self, spki_sha256: [u8; 32]) {
        let _ = self.tls_spki.set(spki_sha256);
    }

    /// Records the sandbox self-check once it has run (health reports it).
    pub fn set_sandbox(&self, sandbox: SandboxReport) {
        let _ = self.sandbox.set(sandbox);
    }

    /// Answers one request payload with one response payload. Never panics on bad input.
    pub fn handle(&self, payload: &[u8], now_ms: i64) -> Vec<u8> {
        let response = match Request::from_payload(payload) {
            Ok(request) => self.answer(request, now_ms),
            Err(e) => {
                let code = match e {
                    fieldseal_core::wire::enclave::ProtocolError::UnsupportedVersion(_) => {
                        ErrorCode::UnsupportedVersion
                    }
                    fieldseal_core::wire::enclave::ProtocolError::TooLarge(_) => ErrorCode::TooLarge,
                    _ => ErrorCode::Malformed,
                };
                Response::Error(EnclaveError::new(code, e.to_string()))
            }
        };
        response.to_payload()
    }

    fn answer(&self, request: Request, now_ms: i64) -> Response {
        let result = match request {
            Request::Health => Ok(Response::Health(self.health(now_ms))),
            Request::OpenIndex { device_key, envelope } => {
                self.open(&envelope, &device_key).map(|(opened, record)| Response::Index(index_of(&opened, &record)))
            }
        };
        result.unwrap_or_else(Response::Error)
    }

    /// Health with the current attestation document and the sandbox self-check.
    pub fn health(&self, now_ms: i64) -> HealthReport {
        self.health_for(None, now_ms)
    }

    /// [`Enclave::health`], its attestation made for a client's `nonce` when one is given.
    pub fn health_for(&self, nonce: Option<&[u8]>, now_ms: i64) -> HealthReport {
        HealthReport {
            protocol: PROTOCOL_VERSION,
            platform: self.platform.name().to_owned(),
            attestation: self.platform.attest(&self.key.public_key(), self.tls_spki.get(), nonce, now_ms),
            platform_key: self.platform.root_key(),
            sandbox: self.sandbox.get().cloned().unwrap_or_default(),
        }
    }

    fn open(
        &self,
        envelope: &[u8],
        device_key: &seal::VerifyingKey,
    ) -> Result<(seal::OpenedEnvelope, CaseRecord), EnclaveError> {
        let opened = seal::open(envelope, device_key, &self.key).map_err(|e| match e {
            OpenError::BadSignature => {
                EnclaveError::new(ErrorCode::BadSignature, "the device signature does not verify")
            }
            OpenError::Format(FormatError::OverLimit { .. }) => EnclaveError::new(ErrorCode::TooLarge, e.to_string()),
            OpenError::Format(f) => EnclaveError::new(ErrorCode::Malformed, f.to_string()),
            _ => EnclaveError::new(ErrorCode::DoesNotOpen, "the envelope does not open with the enclave key"),
        })?;
        let record = CaseRecord::from_bytes(&opened.record, &opened.header)
            .map_err(|e| EnclaveError::new(ErrorCode::InvalidRecord, e.to_string()))?;
        Ok((opened, record))
    }

    /// Opens a case for the holder of its access code (with photos); `AccessDenied` otherwise.
    pub fn citizen_view(
        &self,
        envelope: &[u8],
        device_key: &seal::VerifyingKey,
        access_code: &str,
        blobs: &[Vec<u8>],
    ) -> Result<CaseView, EnclaveError> {
        let (opened, record) = self.open(envelope, device_key)?;
        // One answer for a malformed and a wrong code: the caller learns nothing from the kind.
        let denied = || EnclaveError::new(ErrorCode::AccessDenied, "the access code does not match this ticket");
        let typed = AccessCode::parse(access_code).map_err(|_| denied())?;
        if typed != record.access_code {
            return Err(denied());
        }
        view_of(&opened, &record, blobs, false)
    }

    /// Opens a case for a clerk who states a purpose (with photos and notes).
    pub fn clerk_view(
        &self,
        envelope: &[u8],
        device_key: &seal::VerifyingKey,
        purpose: &str,
        actor: &str,
        blobs: &[Vec<u8>],
    ) -> Result<CaseView, EnclaveError> {
        require_purpose(purpose, actor, "the case is opened", "the case")?;
        let (opened, record) = self.open(envelope, device_key)?;
        view_of(&opened, &record, blobs, true)
    }

    /// Opens a case's sealed objection for a clerk who states a purpose.
    pub fn clerk_objection(
        &self,
        ticket: &TicketNumber,
        sealed: &[u8],
        purpose: &str,
        actor: &str,
    ) -> Result<Objection, EnclaveError> {
        require_purpose(purpose, actor, "the objection is opened", "the objection")?;
        if sealed.len() > objection::MAX_SEALED_LEN {
            return Err(EnclaveError::new(ErrorCode::TooLarge, ObjectionError::TooLarge.to_string()));
        }
        Objection::open(sealed, ticket, &self.key).map_err(|e| match e {
            ObjectionError::Format => EnclaveError::new(ErrorCode::Malformed, e.to_string()),
            ObjectionError::Decrypt => {
                EnclaveError::new(ErrorCode::DoesNotOpen, "the sealed objection does not open with the enclave key")
            }
            ObjectionError::TooLarge => EnclaveError::new(ErrorCode::TooLarge, e.to_string()),
            ObjectionError::Statement | ObjectionError::Seal(_) => {
                EnclaveError::new(ErrorCode::Internal, "opening the objection failed unexpectedly")
            }
        })
    }

    /// Opens a bank entry's sealed payer details for a clerk who states a purpose.
    pub fn clerk_bank_details(
        &self,
        entry_key: &str,
        sealed: &[u8],
        purpose: &str,
        actor: &str,
    ) -> Result<BankDetails, EnclaveError> {
        require_purpose(purpose, actor, "the bank details are opened", "the bank details")?;
        if sealed.len() > payer::MAX_SEALED_DETAILS {
            return Err(EnclaveError::new(ErrorCode::TooLarge, PayerError::TooLarge.to_string()));
        }
        BankDetails::open(sealed, entry_key, &self.key).map_err(|e| match e {
            PayerError::Format => EnclaveError::new(ErrorCode::Malformed, e.to_string()),
            PayerError::Decrypt => {
                EnclaveError::new(ErrorCode::DoesNotOpen, "the sealed bank details do not open with the enclave key")
            }
            PayerError::TooLarge => EnclaveError::new(ErrorCode::TooLarge, e.to_string()),
            PayerError::Seal(_) => {
                EnclaveError::new(ErrorCode::Internal, "opening the bank details failed unexpectedly")
            }
        })
    }
}

/// A clerk opens personal data only with a stated purpose and a name; the server records both.
fn require_purpose(purpose: &str, actor: &str, why: &str, what: &str) -> Result<(), EnclaveError> {
    if purpose.trim().chars().count() < MIN_PURPOSE_CHARS {
        return Err(EnclaveError::new(
            ErrorCode::PurposeRequired,
            format!("state why {why} (at least {MIN_PURPOSE_CHARS} characters)"),
        ));
    }
    if actor.trim().is_empty() {
        return Err(EnclaveError::new(ErrorCode::PurposeRequired, format!("say who opens {what}")));
    }
    Ok(())
}

fn index_of(opened: &seal::OpenedEnvelope, record: &CaseRecord) -> CaseIndex {
    CaseIndex {
        envelope_id: opened.header.envelope_id,
        ticket_number: record.ticket_number.clone(),
        total_cents: record.total_cents,
        due_date: record.due_date.clone(),
        offence_codes: record.offences.iter().map(|o| o.code.clone()).collect(),
        status: CaptureStatus::Open,
    }
}

fn view_of(
    opened: &seal::OpenedEnvelope,
    record: &CaseRecord,
    blobs: &[Vec<u8>],
    clerk: bool,
) -> Result<CaseView, EnclaveError> {
    if blobs.len() != opened.header.photos.len() {
        return Err(EnclaveError::new(
            ErrorCode::BlobMismatch,
            format!("the case has {} photos, {} blobs were sent", opened.header.photos.len(), blobs.len()),
        ));
    }
    let photos = blobs
        .iter()
        .enumerate()
        .map(|(i, blob)| {
            let index = u16::try_from(i).expect("at most MAX_PHOTOS blobs");
            opened.open_blob(index, blob).map_err(|e| EnclaveError::new(ErrorCode::BlobMismatch, e.to_string()))
        })
        .collect::<Result<Vec<Zeroizing<Vec<u8>>>, _>>()?;
    Ok(CaseView {
        envelope_id: opened.header.envelope_id,
        ticket_number: record.ticket_number.clone(),
        offences: record.offences.clone(),
        total_cents: record.total_cents,
        due_date: record.due_date.clone(),
        vehicle: record.vehicle.clone(),
        place: record.place.clone(),
        observed_at: record.observed_at,
        notes: clerk.then(|| record.notes.clone()),
        photos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::SimulatedPlatform;
    use fieldseal_core::demo::sealed_case;
    use fieldseal_core::seal::SigningKey;
    use fieldseal_core::wire::envelope::Id16;

    struct Fixture {
        _dir: tempfile::TempDir,
        enclave: Enclave<SimulatedPlatform>,
        device: SigningKey,
        sealed: fieldseal_core::seal::SealedCase,
        notice: fieldseal_core::notice::Notice,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let platform = SimulatedPlatform::load_or_create(dir.path(), [0x42; 32]).expect("platform");
        let key = Box::new(EnclaveSecretKey::make_random());
        let device = SigningKey::make_random();
        let (sealed, notice) =
            sealed_case(&key.public_key(), &device, Id16::make_random(), 1, 1, [0; 32], "B-FS 1").expect("sealed");
        Fixture { _dir: dir, enclave: Enclave::new(key, platform), device, sealed, notice }
    }

    fn ask(f: &Fixture, req: Request) -> Response {
        Response::from_payload(&f.enclave.handle(&req.to_payload(), 1_795_000_000_000)).expect("a valid answer")
    }

    fn error_code(r: Response) -> ErrorCode {
        match r {
            Response::Error(e) => e.code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn opening_returns_only_the_index_fields() {
        let f = fixture();
        let r =
            ask(&f, Request::OpenIndex { device_key: f.device.verifying_key(), envelope: f.sealed.envelope.clone() });
        let Response::Index(index) = r else { panic!("expected an index, got {r:?}") };
        assert_eq!(index.ticket_number, f.notice.ticket_number);
        assert_eq!(index.total_cents, f.notice.total_cents);
        assert_eq!(index.due_date, f.notice.due_date.to_string());
        assert_eq!(index.envelope_id, f.sealed.header.envelope_id);
        let json = serde_json::to_string(&index).expect("serialises");
        assert!(!json.contains("B-FS") && !json.contains("Fahrzeug"), "no personal data in the index: {json}");
    }

    #[test]
    fn forged_tampered_and_foreign_envelopes_are_refused() {
        let f = fixture();
        let other_device = SigningKey::make_random().verifying_key();
        let r = ask(&f, Request::OpenIndex { device_key: other_device, envelope: f.sealed.envelope.clone() });
        assert_eq!(error_code(r), ErrorCode::BadSignature);
        let mut flipped = f.sealed.envelope.clone();
        let last = flipped.len() - 70;
        flipped[last] ^= 1;
        let r = ask(&f, Request::OpenIndex { device_key: f.device.verifying_key(), envelope: flipped });
        assert_eq!(error_code(r), ErrorCode::BadSignature);
        // Sealed to another enclave key but validly signed: it does not open here.
        let (foreign, _) = sealed_case(
            &EnclaveSecretKey::make_random().public_key(),
            &f.device,
            Id16::make_random(),
            1,
            1,
            [0; 32],
            "B-FS 1",
        )
        .expect("sealed");
        let r = ask(&f, Request::OpenIndex { device_key: f.device.verifying_key(), envelope: foreign.envelope });
        assert_eq!(error_code(r), ErrorCode::DoesNotOpen);
        let r = ask(&f, Request::OpenIndex { device_key: f.device.verifying_key(), envelope: vec![1, 2, 3] });
        assert_eq!(error_code(r), ErrorCode::Malformed);
    }

    #[test]
    fn the_citizen_view_needs_the_right_code_and_carries_the_photos() {
        let f = fixture();
        let key = f.device.verifying_key();
        let view = |code: &str, blobs: &[Vec<u8>]| f.enclave.citizen_view(&f.sealed.envelope, &key, code, blobs);
        let v = view(&f.notice.access_code.grouped().to_lowercase(), &f.sealed.blobs).expect("the right code opens");
        assert_eq!(v.photos.len(), 2);
        assert!(v.photos.iter().all(|p| p.starts_with(&[0xFF, 0xD8])), "JPEG photos");
        assert_eq!(v.vehicle.plate.as_str(), "B FS 1", "the normalised plate");
        assert!(v.notes.is_none(), "officer notes are not for the citizen");
        let wrong = view("AAAA-AAAA-AAAA", &f.sealed.blobs).expect_err("a wrong code");
        let malformed = view("not a code", &f.sealed.blobs).expect_err("no code at all");
        assert_eq!((wrong.code, &wrong.message), (ErrorCode::AccessDenied, &malformed.message), "one answer for both");
        let mut swapped = f.sealed.blobs.clone();
        swapped.swap(0, 1);
        assert_eq!(view(f.notice.access_code.expose(), &swapped).expect_err("swapped").code, ErrorCode::BlobMismatch);
        assert_eq!(view(f.notice.access_code.expose(), &[]).expect_err("no blobs").code, ErrorCode::BlobMismatch);
    }

    /// A case opened for a session is kept within the portal's budget and given back when the
    /// last copy goes; past the budget nothing is kept.
    #[test]
    fn opened_cases_are_kept_only_within_the_budget() {
        use fieldseal_portal::web::opened::{BUDGET, OpenedCase};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let f = fixture();
        let key = f.device.verifying_key();
        let open = || f.enclave.citizen_view(&f.sealed.envelope, &key, f.notice.access_code.expose(), &f.sealed.blobs);
        let held = Arc::new(AtomicUsize::new(0));
        let kept = OpenedCase::keep(open().expect("opens"), &held).expect("room in the budget");
        let bytes = held.load(Ordering::Acquire);
        assert!(bytes > kept.photos.iter().map(|p| p.len()).sum::<usize>(), "{bytes}");
        let copy = Arc::clone(&kept);
        drop(kept);
        assert_eq!(held.load(Ordering::Acquire), bytes, "a session copy still holds it");
        drop(copy);
        assert_eq!(held.load(Ordering::Acquire), 0, "given back with the last copy");
        held.store(BUDGET - 10, Ordering::Release);
        assert!(OpenedCase::keep(open().expect("opens"), &held).is_none(), "no room: not kept");
        assert_eq!(held.load(Ordering::Acquire), BUDGET - 10, "nothing counted for what was not kept");
    }

    /// Tried as a rogue operator would: the host's user sends the retired requests that used to
    /// release personal data — the citizen view (0x03) with the right access code, the clerk
    /// view of a case (0x04), of an objection (0x05) and of a payer's bank details (0x06), each
    /// with a genuine sealed item, a made-up purpose and actor. The socket releases nothing to
    /// anyone: the portal and the office, and their checks, are in the zone.
    #[test]
    fn the_socket_releases_nothing_personal_to_the_host() {
        let f = fixture();
        let key = f.device.verifying_key();
        let code = f.notice.access_code.grouped();
        let ticket = f.notice.ticket_number.clone();
        let objection = Objection::new("Ich war es nicht.", None)
            .expect("valid")
            .seal(&ticket, &f.enclave.key.public_key())
            .expect("seals");
        let mut details = BankDetails::default();
        details.payer_name = Some("Erika Mustermann".into());
        let details = details.seal("E/1", &f.enclave.key.public_key()).expect("seals");
        let (purpose, actor) = (&b"audit sample, routine check"[..], &b"clerk:1"[..]);
        let mut asks: Vec<Vec<u8>> = Vec::new();
        for (kind, head) in [(0x03, code.as_bytes()), (0x04, purpose)] {
            let mut fields: Vec<&[u8]> = vec![&key.0, &f.sealed.envelope, head];
            if kind == 0x04 {
                fields.push(actor);
            }
            fields.extend(f.sealed.blobs.iter().map(Vec::as_slice));
            asks.push(fieldseal_core::wire::enclave::encode(kind, &fields));
        }
        asks.push(fieldseal_core::wire::enclave::encode(
            0x05,
            &[ticket.digits().as_bytes(), &objection, purpose, actor],
        ));
        asks.push(fieldseal_core::wire::enclave::encode(0x06, &[b"E/1", &details, purpose, actor]));
        for payload in asks {
            let answer = f.enclave.handle(&payload, 1_795_000_000_000);
            let text = String::from_utf8_lossy(&answer);
            assert!(!text.contains("B-FS") && !text.contains("Erika") && !text.contains("Ich war"), "{text}");
            let answer = Response::from_payload(&answer).expect("an answer");
            assert_eq!(error_code(answer), ErrorCode::Malformed, "kind {:#x}", payload[1]);
        }
    }

    #[test]
    fn the_clerk_view_needs_a_purpose() {
        let f = fixture();
        let view = |purpose: &str| {
            f.enclave.clerk_view(&f.sealed.envelope, &f.device.verifying_key(), purpose, "clerk-7", &f.sealed.blobs)
        };
        assert_eq!(clerk_error(view("  ")).code, ErrorCode::PurposeRequired);
        assert_eq!(clerk_error(view("look")).code, ErrorCode::PurposeRequired);
        let v = view("objection 2026-114: check the photos").expect("a view");
        assert!(v.notes.as_deref().is_some_and(|n| n.starts_with("Fahrzeug")));
    }

    fn clerk_error<T: std::fmt::Debug>(r: Result<T, EnclaveError>) -> EnclaveError {
        r.expect_err("refused")
    }

    #[test]
    fn a_clerk_opens_an_objection_with_a_purpose() {
        let f = fixture();
        let ticket = f.notice.ticket_number.clone();
        let statement = "Ich war zu der Zeit nicht am Steuer.";
        let sealed = Objection::new(statement, Some(vec![0xFF, 0xD8, 7]))
            .expect("valid")
            .seal(&ticket, &f.enclave.key.public_key())
            .expect("seals");
        let ask_with = |ticket: &TicketNumber, sealed: &[u8], purpose: &str, actor: &str| {
            f.enclave.clerk_objection(ticket, sealed, purpose, actor)
        };
        let purpose = "objection 2026-114: review";
        let opened = ask_with(&ticket, &sealed, purpose, "clerk-7").expect("opens");
        assert_eq!(opened.statement.as_str(), statement);
        assert_eq!(opened.photo.as_deref().map(Vec::as_slice), Some(&[0xFF, 0xD8, 7][..]));

        for (purpose, actor) in [("  ", "clerk-7"), ("look", "clerk-7"), ("        x ", "clerk-7"), (purpose, " ")] {
            let e = clerk_error(ask_with(&ticket, &sealed, purpose, actor));
            assert_eq!(e.code, ErrorCode::PurposeRequired, "{purpose:?} {actor:?}");
        }
        let other = TicketNumber::issue(ticket.device_prefix(), ticket.counter() + 1).expect("valid");
        let mut refusals = vec![clerk_error(ask_with(&other, &sealed, purpose, "clerk-7"))];
        assert_eq!(refusals[0].code, ErrorCode::Malformed);
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        refusals.push(clerk_error(ask_with(&ticket, &flipped, purpose, "clerk-7")));
        assert_eq!(refusals[1].code, ErrorCode::DoesNotOpen);
        let foreign = Objection::new(statement, None)
            .expect("valid")
            .seal(&ticket, &EnclaveSecretKey::make_random().public_key())
            .expect("seals");
        refusals.push(clerk_error(ask_with(&ticket, &foreign, purpose, "clerk-7")));
        assert_eq!(refusals[2].code, ErrorCode::DoesNotOpen);
        refusals.push(clerk_error(ask_with(&ticket, &[1, 2, 3], purpose, "clerk-7")));
        assert_eq!(refusals[3].code, ErrorCode::Malformed);
        let mut huge = sealed.clone();
        huge.resize(objection::MAX_SEALED_LEN + 1, 0);
        refusals.push(clerk_error(ask_with(&ticket, &huge, purpose, "clerk-7")));
        assert_eq!(refusals[4].code, ErrorCode::TooLarge);
        for e in refusals {
            assert!(!e.message.contains("Steuer"), "no content in {:?}", e.message);
        }
    }

    #[test]
    fn a_clerk_opens_bank_details_with_a_purpose() {
        let f = fixture();
        let entry = "2026-11-30/STMT-0042/7";
        let details = BankDetails {
            payer_name: Some("Erika Mustermann".into()),
            payer_account: Some("DE02120300000000202051".into()),
            remittance: vec!["Verwarnung 0042 0000 0990".into()],
            references: vec![("EndToEndId".into(), "E2E-4711".into())],
        };
        let sealed = details.seal(entry, &f.enclave.key.public_key()).expect("seals");
        let ask_with = |entry: &str, sealed: &[u8], purpose: &str, actor: &str| {
            f.enclave.clerk_bank_details(entry, sealed, purpose, actor)
        };
        let purpose = "unmatched payment: find the ticket";
        let opened = ask_with(entry, &sealed, purpose, "clerk-7").expect("opens");
        assert_eq!(opened, details);

        for (purpose, actor) in [("", "clerk-7"), ("payer?", "clerk-7"), (purpose, "")] {
            let e = clerk_error(ask_with(entry, &sealed, purpose, actor));
            assert_eq!(e.code, ErrorCode::PurposeRequired, "{purpose:?} {actor:?}");
        }
        let mut refusals = vec![clerk_error(ask_with("2026-11-30/STMT-0042/8", &sealed, purpose, "clerk-7"))];
        assert_eq!(refusals[0].code, ErrorCode::Malformed);
        let mut flipped = sealed.clone();
        flipped[60] ^= 1;
        refusals.push(clerk_error(ask_with(entry, &flipped, purpose, "clerk-7")));
        assert_eq!(refusals[1].code, ErrorCode::DoesNotOpen);
        let foreign = details.seal(entry, &EnclaveSecretKey::make_random().public_key()).expect("seals");
        refusals.push(clerk_error(ask_with(entry, &foreign, purpose, "clerk-7")));
        assert_eq!(refusals[2].code, ErrorCode::DoesNotOpen);
        let mut huge = sealed.clone();
        huge.resize(payer::MAX_SEALED_DETAILS + 1, 0);
        refusals.push(clerk_error(ask_with(entry, &huge, purpose, "clerk-7")));
        assert_eq!(refusals[3].code, ErrorCode::TooLarge);
        for e in refusals {
            assert!(!e.message.contains("Mustermann") && !e.message.contains("DE02"), "{:?}", e.message);
        }
    }

    #[test]
    fn health_carries_an_attestation_devices_accept() {
        let f = fixture();
        let Response::Health(h) = ask(&f, Request::Health) else { panic!("expected health") };
        assert_eq!(h.platform, "simulated");
        let policy = fieldseal_core::attestation::AttestationPolicy {
            roots: vec![fieldseal_core::attestation::PinnedRoot { platform: "simulated".into(), key: h.platform_key }],
            measurements: vec![[0x42; 32]],
            accept_simulated: true,
        };
        let attested = h.attestation.verify(&policy, 1_795_000_000_000).expect("accepted");
        assert_eq!(attested.public_key, f.enclave.key.public_key());
        assert!(!h.sandbox.all_hold(), "no sandbox in a unit test, and health says so");
    }

    #[test]
    fn garbage_gets_an_error_answer() {
        let f = fixture();
        for bytes in [&[][..], &[1], &[9, 1, 0], &[1, 0x77, 0], &[1, 2, 9, 0, 0]] {
            let r = Response::from_payload(&f.enclave.handle(bytes, 0)).expect("an answer");
            assert!(matches!(r, Response::Error(_)), "{bytes:?}");
        }
    }
}
