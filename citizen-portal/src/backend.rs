//! What the portal needs from the server: the case index and ledger, the enclave's release of
//! a case to its citizen, and where to keep checkouts, payments and sealed objections. The
//! server implements [`Backend`]; the portal never touches the database or the enclave itself.

use std::future::Future;

use fieldseal_core::catalogue::Offence;
use fieldseal_core::notice::{PayeeConfig, iso_date};
pub use fieldseal_core::policy::{Assessment, Status};
use fieldseal_core::seal::{EnclavePublicKey, VerifyingKey};
use fieldseal_core::ticket::{AccessCode, TicketNumber};
use fieldseal_core::wire::enclave::CaseView;
use serde::{Deserialize, Serialize};

/// The non-personal state of a case: index fields and ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    /// Ticket number.
    pub ticket: TicketNumber,
    /// Amount due in cents.
    pub total_cents: u64,
    /// Payment deadline.
    #[serde(with = "iso_date")]
    pub due_date: time::Date,
    /// Offence codes charged.
    pub offence_codes: Vec<String>,
    /// Payments received, oldest first.
    pub payments: Vec<PaymentLine>,
    /// When an objection was received, if one was.
    pub objection_at_ms: Option<i64>,
    /// The ledger's state under the deadline policy: status, balance, refund due.
    pub state: Assessment,
    /// The deadline in force (a reminder may have moved it past `due_date`).
    #[serde(with = "iso_date")]
    pub deadline: time::Date,
}

impl CaseSummary {
    /// Sum of the payments received.
    pub fn paid_cents(&self) -> u64 {
        self.payments.iter().map(|p| p.amount_cents).sum()
    }

    /// What is still to pay, as the deadline policy counts it (0 once settled, escalated or
    /// withdrawn).
    pub fn outstanding_cents(&self) -> u64 {
        self.state.balance_cents
    }
}

/// One payment in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLine {
    /// Amount in cents.
    pub amount_cents: u64,
    /// `online` or `transfer`.
    pub method: String,
    /// Who processed it (payment provider name, or the bank statement).
    pub provider: String,
    /// The provider's or bank's reference for it.
    pub external_ref: String,
    /// When the money was booked.
    pub booked_at_ms: i64,
}

/// A payment to record; counted once per `(method, external_ref)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    /// The case.
    pub ticket: TicketNumber,
    /// Amount in cents.
    pub amount_cents: u64,
    /// `online` or `transfer`.
    pub method: &'static str,
    /// Provider name.
    pub provider: String,
    /// The provider's reference (checkout session id).
    pub external_ref: String,
    /// When the money was booked.
    pub booked_at_ms: i64,
}

/// Whether a payment was new or already in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recorded {
    /// Counted now.
    New,
    /// Already counted before; nothing changed.
    Duplicate,
    /// No such case; nothing recorded.
    UnknownCase,
}

/// A checkout session started with a payment provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRecord {
    /// The provider's session id.
    pub session_id: String,
    /// Provider name.
    pub provider: String,
    /// The case.
    pub ticket: TicketNumber,
    /// Amount asked for, in cents.
    pub amount_cents: u64,
    /// Where the browser pays.
    pub redirect_url: String,
    /// When it was started.
    pub created_at_ms: i64,
}

/// The enclave's answer to a ticket number and access code.
pub enum Release {
    /// The code matches: the case, for this request only.
    Granted(Box<CaseView>),
    /// No such ticket, or the code does not match (deliberately one answer).
    Denied,
}

/// A passing or internal failure behind the portal. Messages never carry case data.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The enclave or database does not answer now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or a failing disk.
    #[error("internal: {0}")]
    Internal(String),
}

/// The payment ledger: what a provider's webhook needs (the host takes those).
pub trait Ledger: Send + Sync + 'static {
    /// One checkout by the provider's session id.
    fn checkout(&self, session_id: &str) -> impl Future<Output = Result<Option<CheckoutRecord>, BackendError>> + Send;
    /// Counts a payment once.
    fn record_payment(&self, payment: &NewPayment) -> impl Future<Output = Result<Recorded, BackendError>> + Send;
}

/// The server side of the portal (inside the sealed zone: it opens cases).
pub trait Backend: Ledger {
    /// The case's index and ledger, if the ticket is known.
    fn summary(&self, ticket: &TicketNumber) -> impl Future<Output = Result<Option<CaseSummary>, BackendError>> + Send;
    /// Asks the enclave to release the case to whoever holds its access code.
    fn release(
        &self,
        ticket: &TicketNumber,
        code: &AccessCode,
    ) -> impl Future<Output = Result<Release, BackendError>> + Send;
    /// The registered key of the device with this ticket prefix.
    fn device_key(&self, prefix: u16) -> impl Future<Output = Result<Option<VerifyingKey>, BackendError>> + Send;
    /// The enclave's current public key (objections are sealed to it).
    fn enclave_key(&self) -> impl Future<Output = Result<EnclavePublicKey, BackendError>> + Send;
    /// Checkouts started for a case, newest first.
    fn checkouts(
        &self,
        ticket: &TicketNumber,
    ) -> impl Future<Output = Result<Vec<CheckoutRecord>, BackendError>> + Send;
    /// Keeps a new checkout (a second insert of the same session id changes nothing).
    fn insert_checkout(&self, checkout: &CheckoutRecord) -> impl Future<Output = Result<(), BackendError>> + Send;
    /// Keeps a sealed objection: [`Recorded::Duplicate`] (nothing kept) when the case has one.
    fn record_objection(
        &self,
        ticket: &TicketNumber,
        sealed: Vec<u8>,
        at_ms: i64,
    ) -> impl Future<Output = Result<Recorded, BackendError>> + Send;
    /// Payee and portal settings.
    fn payee(&self) -> &PayeeConfig;
    /// A catalogue entry.
    fn offence(&self, code: &str) -> Option<Offence>;
}
