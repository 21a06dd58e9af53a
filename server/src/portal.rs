//! The host's side of the citizen portal, which the sealed zone serves: the case index and
//! ledger from the database, sealed cases and objections as stored, and the payment ledger the
//! provider's webhooks write to. Nothing here opens a case.

use std::sync::Arc;

use fieldseal_core::notice::parse_iso_date;
use fieldseal_core::seal::VerifyingKey;
use fieldseal_core::ticket::TicketNumber;
use fieldseal_portal::backend::{BackendError, CaseSummary, CheckoutRecord, Ledger, NewPayment, Recorded};

use crate::db::DbError;
use crate::relay::{Relay, now_ms};

/// The portal's storage over the relay's database.
pub struct ServerPortal {
    relay: Arc<Relay>,
}

impl ServerPortal {
    /// Storage over `relay`.
    pub fn new(relay: Arc<Relay>) -> Self {
        Self { relay }
    }

    /// The case's index and ledger, if the ticket is known.
    pub async fn summary(&self, ticket: &TicketNumber) -> Result<Option<CaseSummary>, BackendError> {
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

    /// The registered key of the device with this ticket prefix.
    pub async fn device_key(&self, prefix: u16) -> Result<Option<VerifyingKey>, BackendError> {
        self.relay.db.device_key_by_prefix(prefix).await.map_err(db)
    }

    /// Checkouts started for a case, newest first.
    pub async fn checkouts(&self, ticket: &TicketNumber) -> Result<Vec<CheckoutRecord>, BackendError> {
        self.relay.db.checkouts(ticket).await.map_err(db)
    }

    /// Keeps a new checkout.
    pub async fn insert_checkout(&self, checkout: &CheckoutRecord) -> Result<(), BackendError> {
        self.relay.db.insert_checkout(checkout).await.map_err(db)
    }

    /// Keeps a sealed objection.
    pub async fn record_objection(
        &self,
        ticket: &TicketNumber,
        sealed: Vec<u8>,
        at_ms: i64,
    ) -> Result<Recorded, BackendError> {
        self.relay.db.insert_objection(ticket, &sealed, at_ms).await.map_err(db)
    }
}

fn db(e: DbError) -> BackendError {
    match e {
        DbError::Connect(m) => BackendError::Unavailable(m),
        other => BackendError::Internal(other.to_string()),
    }
}

impl Ledger for ServerPortal {
    async fn checkout(&self, session_id: &str) -> Result<Option<CheckoutRecord>, BackendError> {
        self.relay.db.checkout(session_id).await.map_err(db)
    }

    async fn record_payment(&self, payment: &NewPayment) -> Result<Recorded, BackendError> {
        self.relay.db.record_payment(payment, now_ms()).await.map_err(db)
    }
}
