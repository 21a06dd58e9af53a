//! The sandbox's JSON: request and answer bodies of its API and its webhook event.
//!
//! One definition for both sides: the sandbox serves these and the portal's
//! [`SandboxProvider`](crate::pay::SandboxProvider) reads them.

use serde::{Deserialize, Serialize};

/// The header carrying the webhook signature ([`crate::pay::webhook`]).
pub const SIGNATURE_HEADER: &str = "fieldseal-sandbox-signature";
/// The only event type the sandbox sends.
pub const EVENT_CHECKOUT_COMPLETED: &str = "checkout.session.completed";

/// `POST /v1/checkout/sessions` (with an `Idempotency-Key` header).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    pub reference: String,
    pub amount_cents: u64,
    pub currency: String,
    pub description: String,
    pub success_url: String,
    pub cancel_url: String,
}

/// Where a session stands, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Open,
    Paid,
    Cancelled,
    Expired,
}

/// A checkout session as the API shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// `cs_` and 32 lower-case hex digits.
    pub id: String,
    /// The payment page to send the browser to.
    pub url: String,
    pub status: SessionStatus,
    pub reference: String,
    pub amount_cents: u64,
    pub currency: String,
    pub paid_at_ms: Option<i64>,
    pub expires_at_ms: i64,
}

/// One charge: money taken once for a session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// `ch_` and 32 lower-case hex digits.
    pub id: String,
    pub session_id: String,
    pub amount_cents: u64,
    pub reference: String,
    pub at_ms: i64,
}

/// `GET /v1/charges`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeList {
    pub data: Vec<Charge>,
}

/// Every error answer of the API: `{"error": {"code": …, "message": …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// `invalid_request`, `unauthorized`, `not_found`, `idempotency_conflict`.
    pub code: String,
    /// For a person reading logs; names fields, never echoes values.
    pub message: String,
}

/// The webhook body.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_` and 32 lower-case hex digits; the same on every retry.
    pub id: String,
    /// [`EVENT_CHECKOUT_COMPLETED`].
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventData {
    pub session_id: String,
    pub reference: String,
    pub amount_cents: u64,
    pub currency: String,
    pub paid_at_ms: i64,
}
