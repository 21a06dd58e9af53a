//! The server's side of the citizen portal: the case index and ledger from the database, and
//! the enclave's release of a case (with its photos) to whoever holds the access code.

use std::sync::Arc;

use fieldseal_core::catalogue::{Catalogue, Offence};
use fieldseal_core::notice::{PayeeConfig, parse_iso_date};
use fieldseal_core::seal::{EnclavePublicKey, VerifyingKey};
use fieldseal_core::ticket::{AccessCode, TicketNumber};
use fieldseal_core::wire::enclave::{ErrorCode, Request, Response};
use fieldseal_portal::backend::{Backend, BackendError, CaseSummary, CheckoutRecord, NewPayment, Recorded, Release};
use zeroize::Zeroizing;

use crate::db::{DbError, NewEntry};
use crate::enclave_client::EnclaveCallError;
use crate::relay::{EnclaveKeyError, Relay, now_ms};

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
        let Some((state, deadline)) = self.relay.db.assessment(ticket).await.map_err(db)? else { return Ok(None) };
        Ok(Some(CaseSummary {
            ticket: case.ticket,
            total_cents: case.total_cents,
            due_date,
            offence_codes: case.offence_codes,
            payments: case.payments,
            objection_at_ms: case.objection_at_ms,
            state,
            deadline,
        }))
    }

    async fn release(&self, ticket: &TicketNumber, code: &AccessCode) -> Result<Release, BackendError> {
        let relay = &self.relay;
        let Some(case) = relay.db.sealed_case(ticket).await.map_err(db)? else { return Ok(Release::Denied) };
        let (device_key, envelope) = (case.device_key, case.envelope);
        let blobs = relay.sealed_photos(case.envelope_id, case.photo_count).await.map_err(BackendError::Internal)?;
        let request =
            Request::CitizenView { device_key, envelope, access_code: Zeroizing::new(code.expose().to_owned()), blobs };
        match relay.enclave.call(&request).await {
            Ok(Response::View(view)) if view.ticket_number == *ticket => {
                // Every release of personal data is on the audit log, the citizen's own included.
                let detail = serde_json::json!({ "photos": view.photos.len() });
                let entry = NewEntry {
                    at_ms: now_ms(),
                    actor: "citizen",
                    action: "personal_data.released",
                    subject: ticket.digits(),
                    detail: &detail,
                };
                relay.db.audit(&entry).await.map_err(db)?;
                Ok(Release::Granted(Box::new(view)))
            }
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
        self.relay.enclave_public_key().await.map_err(|e| match e {
            EnclaveKeyError::Call(c) => enclave(c),
            other => BackendError::Internal(other.to_string()),
        })
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
