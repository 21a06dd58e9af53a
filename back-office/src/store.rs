//! What the back office keeps with the host, and how the zone asks for it. The office's pages
//! run inside the sealed zone; the host stores the ledger, the bank entries (payer details
//! sealed), the clerk accounts and the audit log, and answers [`OfficeAsk`]s over the zone's
//! store line with [`OfficeAnswer`]s. Nothing personal crosses in the clear: the zone asks by
//! ticket number and entry id, and sends only ledger facts and sealed bytes.

use fieldseal_core::notice::iso_date;
use fieldseal_core::policy::{Action, Assessment, Policy, Status};
use fieldseal_core::ticket::TicketNumber;
use fieldseal_portal::backend::CaseSummary;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::audit::AuditEntry;

/// Bytes as base64 on the wire (sealed payer details).
/// Optional bytes as base64 or `null`.
mod b64_option {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => super::b64::serialize(b, s),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| STANDARD.decode(text).map_err(|_| D::Error::custom("not base64")))
            .transpose()
    }
}

mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        STANDARD.decode(String::deserialize(d)?).map_err(|_| D::Error::custom("not base64"))
    }
}

/// A clerk account as the host keeps it: the name, the zone's sealed record (role, password
/// hash, TOTP secret, disabled: only the zone can read or make it, see
/// [`crate::web::accounts`]), and the last TOTP step used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClerkRow {
    /// Id (stamped on every action).
    pub id: i64,
    /// Sign-in name.
    pub username: String,
    /// The zone's vault item for `clerk:{username}`; `None` for an account the operator made
    /// before clerks belonged to the zone (it cannot sign in).
    #[serde(with = "b64_option")]
    pub sealed: Option<Vec<u8>>,
    /// The last TOTP step accepted.
    pub totp_last_step: Option<i64>,
}

/// A bank transaction ready to be booked: parsed, keyed, its personal details already sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryToBook {
    /// The transaction's stable key ([`crate::camt::transaction_key`]).
    pub key: String,
    /// The authority's account it was booked on.
    pub account: String,
    /// Amount in cents.
    pub amount_cents: u64,
    /// Currency.
    pub currency: String,
    /// Booking date.
    #[serde(with = "iso_date")]
    pub booking_date: Date,
    /// Ticket numbers found in the remittance information, strongest first.
    pub candidates: Vec<TicketNumber>,
    /// Twelve-digit numbers whose check digit fails (for the exception note).
    pub near_misses: Vec<String>,
    /// Payer, payer's account and remittance text, sealed to the zone.
    #[serde(with = "b64")]
    pub sealed_details: Vec<u8>,
    /// Goes to the exceptions queue with this note whatever it holds.
    pub forced_note: Option<String>,
}

/// What became of one bank transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Booked {
    /// Counted for a case, which now has this state.
    Matched {
        /// The bank entry.
        entry_id: i64,
        /// The case.
        ticket: TicketNumber,
        /// Its state now.
        assessment: Assessment,
    },
    /// In the exceptions queue, with the reason.
    Exception {
        /// The bank entry.
        entry_id: i64,
        /// Why.
        note: String,
    },
    /// Counted before (same bank references): nothing done.
    Duplicate,
}

/// A statement file's header, for the import record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportHeader {
    /// SHA-256 of the uploaded file.
    pub file_sha256: [u8; 32],
    /// e.g. `camt.053.001.08`.
    pub message_type: String,
    /// GrpHdr/MsgId.
    pub message_id: String,
}

/// An entry of the exceptions queue (or any bank entry).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BankEntryRow {
    /// Id.
    pub id: i64,
    /// Stable bank key.
    pub entry_key: String,
    /// Account booked on.
    pub account: String,
    /// Amount in cents.
    pub amount_cents: u64,
    /// Currency.
    pub currency: String,
    /// Booking date `YYYY-MM-DD`.
    pub booking_date: String,
    /// `matched`, `exception`, `matched_by_hand`, `booked_out`.
    pub state: String,
    /// The ticket it counts for.
    pub ticket: Option<String>,
    /// Why it is an exception, or why it was booked out.
    pub note: String,
    /// Sealed payer details.
    #[serde(with = "b64")]
    pub sealed_details: Vec<u8>,
}

/// A case's ledger state for the back office.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerCase {
    /// Ticket.
    pub ticket: TicketNumber,
    /// Amount of the notice.
    pub total_cents: u64,
    /// Notice deadline.
    #[serde(with = "iso_date")]
    pub due_date: Date,
    /// Deadline set by the last reminder.
    #[serde(with = "iso_date::option")]
    pub deadline: Option<Date>,
    /// Stored status.
    pub status: Status,
    /// Money received.
    pub paid_cents: u64,
    /// Money to give back.
    pub refund_due_cents: u64,
    /// Reminders sent.
    pub reminders: u32,
    /// Escalated at.
    pub escalated_at_ms: Option<i64>,
    /// Withdrawn at, and why.
    pub withdrawn: Option<(i64, String)>,
    /// Offence codes.
    pub offence_codes: Vec<String>,
}

/// What the deadline run did (or would do) to one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineStep {
    /// The case.
    pub ticket: TicketNumber,
    /// What happens.
    pub action: Action,
    /// Its balance before.
    pub balance_cents: u64,
}

/// Counts for the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Cases per stored status (every status, zero included).
    pub by_status: Vec<(Status, i64)>,
    /// Awaiting payment after the deadline.
    pub overdue: i64,
    /// Cases with money to give back.
    pub refund_due: i64,
    /// Total money to give back.
    pub refund_due_cents: i64,
    /// Payments recorded since `since_ms`: count and sum.
    pub payments_today: (i64, i64),
    /// Bank entries waiting in the exceptions queue.
    pub exceptions: i64,
}

/// A refund paid out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundRow {
    /// Amount in cents.
    pub amount_cents: u64,
    /// The outgoing transfer's reference.
    pub reference: String,
    /// When it was recorded.
    pub paid_at_ms: i64,
}

/// One line of the ledger export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerLine {
    /// Row id within its table (the export's cursor).
    pub id: i64,
    /// `payment` or `refund`.
    pub kind: String,
    /// Ticket number.
    pub ticket: String,
    /// Cents; refunds negative.
    pub amount_cents: i64,
    /// `online`, `transfer`, or `refund`.
    pub method: String,
    /// Provider or account.
    pub provider: String,
    /// Provider or bank reference.
    pub reference: String,
    /// Booking time.
    pub booked_at_ms: i64,
    /// Recording time.
    pub recorded_at_ms: i64,
    /// The clerk who booked it, when a clerk did.
    pub clerk: Option<i64>,
}

/// Why a clerk's resolution was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ResolveError {
    /// No such case.
    #[error("no case has this ticket number")]
    UnknownCase,
    /// The entry is not in the exceptions queue (resolved meanwhile?).
    #[error("this bank entry is not in the exceptions queue any more; reload the queue")]
    NotAnException,
    /// More than is due.
    #[error("the refund must be more than 0 and at most the amount due ({} cents)", due_cents)]
    RefundTooLarge {
        /// What is due.
        due_cents: u64,
    },
}

/// Midnight UTC of a date, in unix milliseconds (bank bookings carry a date only).
pub fn day_ms(d: Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp() * 1000
}

/// The UTC date of unix milliseconds.
pub fn ms_day(ms: i64) -> Date {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).map_or(Date::MIN, |t| t.date())
}

/// What the zone's office asks of the host. `at_ms` is the zone's clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "ask", rename_all = "snake_case", deny_unknown_fields)]
pub enum OfficeAsk {
    /// The deadline policy in force.
    Policy,
    /// A clerk account by id.
    Clerk { id: i64 },
    /// A clerk account by sign-in name.
    ClerkByName { username: String },
    /// Every clerk account, by id.
    Clerks,
    /// Keeps a new account the zone sealed; answered `Inserted(None)` when the name is taken.
    /// `actor`: `authority` for the first administrator, else `clerk:{id}` of the admin.
    InsertClerk {
        username: String,
        #[serde(with = "b64")]
        sealed: Vec<u8>,
        actor: String,
        at_ms: i64,
    },
    /// Replaces an account's sealed record (disabled, password reset); `action` names it for
    /// the audit log (`clerk.disabled`, `clerk.password_reset`).
    UpdateClerk {
        id: i64,
        #[serde(with = "b64")]
        sealed: Vec<u8>,
        action: String,
        actor: String,
        at_ms: i64,
    },
    /// Marks a TOTP step used; answered `Used(false)` when it was used before.
    UseTotpStep { clerk: i64, step: u64 },
    /// A sign-in attempt for the audit log.
    AuditSignIn { clerk: Option<i64>, ok: bool, reason: String, at_ms: i64 },
    /// The dashboard's counts.
    Dashboard {
        #[serde(with = "iso_date")]
        today: Date,
        since_ms: i64,
    },
    /// Cases by stored status, or overdue on a day.
    CasesByStatus {
        status: Option<Status>,
        #[serde(with = "iso_date::option")]
        overdue_on: Option<Date>,
        limit: u32,
        offset: u32,
    },
    /// One case's ledger.
    LedgerCase { ticket: TicketNumber },
    /// A case's index, payments and objection time, as the portal shows them.
    CaseSummary { ticket: TicketNumber },
    /// A case's refunds.
    Refunds { ticket: TicketNumber },
    /// Withdraws a case.
    Withdraw { ticket: TicketNumber, reason: String, clerk: i64, at_ms: i64 },
    /// Records a refund paid out.
    RecordRefund { ticket: TicketNumber, amount_cents: u64, reference: String, clerk: i64, at_ms: i64 },
    /// Runs (or previews) the deadline policy.
    DeadlineRun {
        #[serde(with = "iso_date")]
        today: Date,
        apply: bool,
        clerk: i64,
        at_ms: i64,
    },
    /// An opening of personal data for the audit log, written before the zone opens anything.
    AuditAccess { clerk: i64, what: String, subject: String, purpose: String, at_ms: i64 },
    /// A page of the ledger export.
    LedgerPage { refunds: bool, after: i64, limit: u32 },
    /// The newest audit entries.
    AuditRecent { limit: u32 },
    /// An export for the audit log.
    AuditExport { clerk: i64, what: String, at_ms: i64 },
    /// Books a statement; its entries are the first attachment (JSON `[EntryToBook]`), the
    /// answer's outcomes the answer's first attachment (JSON `[Booked]`).
    ImportStatement { header: ImportHeader, skipped: serde_json::Value, clerk: i64, at_ms: i64 },
    /// Bank entries in a state.
    BankEntries { state: String, limit: u32 },
    /// One bank entry.
    BankEntry { id: i64 },
    /// Counts an exception for a case.
    MatchByHand { entry_id: i64, ticket: TicketNumber, clerk: i64, at_ms: i64 },
    /// Books an exception out.
    BookOut { entry_id: i64, reason: String, clerk: i64, at_ms: i64 },
    /// A case's sealed objection (the answer's attachment), if it has one.
    Objection { ticket: TicketNumber },
}

/// What the host answers the office.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "answer", content = "value", rename_all = "snake_case")]
pub enum OfficeAnswer {
    Policy(Policy),
    Clerk(Option<ClerkRow>),
    Clerks(Vec<ClerkRow>),
    Inserted(Option<i64>),
    Used(bool),
    Done,
    Dashboard(Dashboard),
    Cases(Vec<LedgerCase>),
    LedgerCase(Option<LedgerCase>),
    CaseSummary(Option<CaseSummary>),
    Refunds(Vec<RefundRow>),
    Withdrawn(Option<Assessment>),
    Resolved(Result<Assessment, ResolveError>),
    BookedOut(Result<(), ResolveError>),
    Steps(Vec<DeadlineStep>),
    Audited(u64),
    Ledger(Vec<LedgerLine>),
    Audit(Vec<AuditEntry>),
    /// The import's id; its outcomes are the attachment.
    Imported(i64),
    BankEntries(Vec<BankEntryRow>),
    BankEntry(Option<BankEntryRow>),
    /// Whether the case has an objection (then it is the attachment).
    Objection(bool),
    /// The host could not answer: `unavailable` for a passing problem (database down).
    Failed {
        unavailable: bool,
        message: String,
    },
}

/// Why the store did not answer. Messages never carry personal data.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The host or its database does not answer now.
    #[error("the host's storage is not available ({0})")]
    Unavailable(String),
    /// The host failed or answered nonsense.
    #[error("the host's storage failed ({0})")]
    Internal(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_and_answers_round_trip_and_unknown_asks_are_refused() {
        let ticket = TicketNumber::issue(42, 7).expect("ticket");
        let date = ms_day(86_400_000 * 20_000);
        let ask =
            OfficeAsk::CasesByStatus { status: Some(Status::Escalated), overdue_on: Some(date), limit: 5, offset: 0 };
        let back: OfficeAsk = serde_json::from_slice(&serde_json::to_vec(&ask).expect("json")).expect("reads");
        assert!(matches!(back, OfficeAsk::CasesByStatus { overdue_on: Some(d), limit: 5, .. } if d == date));
        let row = BankEntryRow {
            id: 3,
            entry_key: "k".into(),
            account: "DE71".into(),
            amount_cents: 3000,
            currency: "EUR".into(),
            booking_date: "2026-12-07".into(),
            state: "exception".into(),
            ticket: Some(ticket.digits().to_owned()),
            note: "n".into(),
            sealed_details: vec![0, 255, 7],
        };
        let json = serde_json::to_string(&OfficeAnswer::BankEntry(Some(row))).expect("json");
        assert!(json.contains("\"AP8H\""), "sealed bytes travel as base64: {json}");
        let back: OfficeAnswer = serde_json::from_str(&json).expect("reads");
        assert!(matches!(back, OfficeAnswer::BankEntry(Some(r)) if r.sealed_details == [0, 255, 7]));
        for bad in [r#"{"ask":"drop_tables"}"#, r#"{"ask":"clerk","id":1,"extra":2}"#, r#"{"ask":"bank_entry"}"#] {
            assert!(serde_json::from_str::<OfficeAsk>(bad).is_err(), "{bad}");
        }
        assert_eq!(day_ms(ms_day(day_ms(date) + 5)), day_ms(date));
    }
}
