//! The server's side of the citizen portal: the case index and ledger from the database, and
//! the enclave's release of a case (with its photos) to whoever holds the access code.

use std::sync::Arc;

use fieldseal_core::attestation::{AttestationPolicy, PinnedRoot};
use fieldseal_core::catalogue::{Catalogue, Offence};
use fieldseal_core::notice::{PayeeConfig, parse_iso_date};
use fieldseal_core::seal::{EnclavePublicKey, VerifyingKey};
use fieldseal_core::ticket::{AccessCode, TicketNumber};
use fieldseal_core::wire::enclave::{ErrorCode, Request, Response};
use fieldseal_portal::backend::{Backend, BackendError, CaseSummary, CheckoutRecord, NewPayment, Recorded, Release};
use zeroize::Zeroizing;

use crate::db::DbError;
use crate::enclave_client::EnclaveCallError;
use crate::relay::{Relay, now_ms};

/// The portal backend over the relay's database, blob store and enclave.
pub struct ServerPortal {
    relay: Arc<Relay>,
    catalogue: Option<Catalogue>,
}

impl ServerPortal {
    /// A backend over `relay`.
    pub fn new(relay: Arc<Relay>) -> Self {
        let catalogue = relay.issued.catalogue.verify(&relay.issued.issuer_key).ok();
        Self { relay, catalogue }
    }
}

fn db(e: DbError) -> BackendError {
    match e {
        DbError::Connect(m) => BackendError::Unavailable(m),
        other => BackendError::Internal(other.to_string()),
    }
}

fn enclave(e: EnclaveCallError) -> BackendError {
    match e {
        EnclaveCallError::Unavailable(m) => BackendError::Unavailable(m),
        other => BackendError::Internal(other.to_string()),
    }
}

impl Backend for ServerPortal {
    async fn summary(&self, ticket: &TicketNumber) -> Result<Option<CaseSummary>, BackendError> {
        let Some(case) = self.relay.db.case(ticket).await.map_err(db)? else { return Ok(None) };
        let due_date = parse_iso_date(&case.due_date)
            .ok_or_else(|| BackendError::Internal("a stored due date is invalid".into()))?;
        Ok(Some(CaseSummary {
            ticket: case.ticket,
            total_cents: case.total_cents,
            due_date,
            offence_codes: case.offence_codes,
            payments: case.payments,
            objection_at_ms: case.objection_at_ms,
        }))
    }

    async fn release(&self, ticket: &TicketNumber, code: &AccessCode) -> Result<Release, BackendError> {
        let relay = &self.relay;
        let Some(case) = relay.db.sealed_case(ticket).await.map_err(db)? else { return Ok(Release::Denied) };
        let (device_key, envelope) = (case.device_key, case.envelope);
        let blobs = Arc::clone(&relay.blobs);
        let (id, count) = (case.envelope_id, case.photo_count);
        let blobs = tokio::task::spawn_blocking(move || {
            (0..count)
                .map(|i| blobs.get(&id, i)?.ok_or_else(|| std::io::Error::other("photo blob missing")))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| BackendError::Internal(e.to_string()))?
        .map_err(|e: std::io::Error| BackendError::Internal(format!("reading photo blobs: {e}")))?;
        let request =
            Request::CitizenView { device_key, envelope, access_code: Zeroizing::new(code.expose().to_owned()), blobs };
        match relay.enclave.call(&request).await {
            Ok(Response::View(view)) if view.ticket_number == *ticket => Ok(Release::Granted(Box::new(view))),
            Ok(Response::View(_)) => Err(BackendError::Internal("the enclave released another ticket".into())),
            Ok(Response::Error(e)) if e.code == ErrorCode::AccessDenied => Ok(Release::Denied),
            Ok(Response::Error(e)) => Err(BackendError::Internal(format!("the enclave refused a view: {e}"))),
            Ok(_) => Err(BackendError::Internal("the enclave answered a view with something else".into())),
            Err(EnclaveCallError::Refused(e)) if e.code == ErrorCode::AccessDenied => Ok(Release::Denied),
            Err(e) => Err(enclave(e)),
        }
    }

    async fn device_key(&self, prefix: u16) -> Result<Option<VerifyingKey>, BackendError> {
        self.relay.db.device_key_by_prefix(prefix).await.map_err(db)
    }

    async fn enclave_key(&self) -> Result<EnclavePublicKey, BackendError> {
        // The server trusts its own enclave socket (devices are the ones that pin); it checks
        // that the document is well-formed, signed by the key the enclave reports, and current.
        let health = self.relay.enclave.health().await.map_err(enclave)?;
        let measurement = serde_json::from_str::<serde_json::Value>(&health.attestation.body)
            .ok()
            .and_then(|b| b["measurement"].as_str().and_then(|m| hex::decode(m).ok()))
            .and_then(|m| <[u8; 32]>::try_from(m).ok())
            .ok_or_else(|| BackendError::Internal("the attestation names no measurement".into()))?;
        let policy = AttestationPolicy {
            roots: vec![PinnedRoot { platform: health.platform.clone(), key: health.platform_key }],
            measurements: vec![measurement],
            accept_simulated: true,
        };
        let attested = health
            .attestation
            .verify(&policy, now_ms())
            .map_err(|e| BackendError::Internal(format!("the enclave's own attestation does not verify: {e}")))?;
        Ok(attested.public_key)
    }

    async fn checkouts(&self, ticket: &TicketNumber) -> Result<Vec<CheckoutRecord>, BackendError> {
        self.relay.db.checkouts(ticket).await.map_err(db)
    }

    async fn checkout(&self, session_id: &str) -> Result<Option<CheckoutRecord>, BackendError> {
        self.relay.db.checkout(session_id).await.map_err(db)
    }

    async fn insert_checkout(&self, checkout: &CheckoutRecord) -> Result<(), BackendError> {
        self.relay.db.insert_checkout(checkout).await.map_err(db)
    }

    async fn record_payment(&self, payment: &NewPayment) -> Result<Recorded, BackendError> {
        self.relay.db.record_payment(payment, now_ms()).await.map_err(db)
    }

    async fn record_objection(&self, ticket: &TicketNumber, sealed: Vec<u8>, at_ms: i64) -> Result<(), BackendError> {
        self.relay.db.insert_objection(ticket, &sealed, at_ms).await.map_err(db)
    }

    fn payee(&self) -> &PayeeConfig {
        &self.relay.issued.payee
    }

    fn offence(&self, code: &str) -> Option<Offence> {
        self.catalogue.as_ref()?.get(code).cloned()
    }
}
