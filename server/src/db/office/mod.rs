//! The back office's part of the database: clerks, statement imports and bank entries, the case
//! ledger kept by the deadline policy, refunds, withdrawals and the deadline run. Every state
//! change writes its audit entry in the same transaction.

use fieldseal_core::ticket::TicketNumber;
use fieldseal_office::audit::NewEntry;
use fieldseal_office::policy::{self, Action, Assessment, CaseFacts, Paid, Policy, Status};
use fieldseal_office::rebooking::{self, Booking, Rebooking};
use fieldseal_portal::backend::NewPayment;
use serde_json::json;
use sqlx::Row as _;
use time::Date;

pub use fieldseal_office::store::{
    BankEntryRow, Booked, ClerkRow, Dashboard, DeadlineStep, EntryToBook, ImportHeader, LedgerCase, LedgerLine,
    RefundRow, ResolveError, day_ms, ms_day,
};

use super::audit::append_audit;
use super::{Db, DbError, q};

/// Who acts: stamped on audit entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A clerk, by id.
    Clerk(i64),
    /// The citizen portal (card payments confirmed by the provider).
    Portal,
    /// The command line (`fieldseal admin`).
    Admin,
    /// The authority's signed statement (the first administrator).
    Authority,
}

impl Actor {
    /// The actor of an office label: `authority` or `clerk:{id}`.
    pub fn from_label(label: &str) -> Option<Self> {
        match label {
            "authority" => Some(Self::Authority),
            _ => label.strip_prefix("clerk:").and_then(|id| id.parse().ok()).map(Self::Clerk),
        }
    }

    /// The audit log's word for the actor.
    pub fn label(self) -> String {
        match self {
            Self::Clerk(id) => format!("clerk:{id}"),
            Self::Portal => "portal".into(),
            Self::Admin => "admin-cli".into(),
            Self::Authority => "authority".into(),
        }
    }
}

fn cents(v: i64) -> Result<u64, DbError> {
    u64::try_from(v).map_err(|_| DbError::Corrupt("amount"))
}

fn signed(v: u64) -> Result<i64, DbError> {
    i64::try_from(v).map_err(|_| DbError::Corrupt("amount"))
}

fn date(s: &str) -> Result<Date, DbError> {
    fieldseal_core::notice::parse_iso_date(s).ok_or(DbError::Corrupt("date"))
}

type Tx<'c> = sqlx::Transaction<'c, sqlx::Any>;

/// Bank entries booked per transaction during an import.
pub const IMPORT_CHUNK: usize = 500;

macro_rules! ledger_columns {
    () => {
        "c.ticket_number, c.total_cents, c.due_date, c.deadline, c.status, c.paid_cents, c.refund_due_cents, \
         c.reminders, c.escalated_at_ms, c.withdrawn_at_ms, c.withdrawn_reason, c.offence_codes"
    };
}

macro_rules! clerk_columns {
    () => {
        "id, username, sealed, totp_last_step"
    };
}

macro_rules! entry_columns {
    () => {
        "id, entry_key, account, amount_cents, currency, booking_date, state, ticket_number, note, sealed_details"
    };
}

fn ledger_case(r: &sqlx::any::AnyRow) -> Result<LedgerCase, DbError> {
    let read = |_| DbError::Corrupt("case row");
    let ticket: String = r.try_get(0).map_err(read)?;
    let deadline: Option<String> = r.try_get(3).map_err(read)?;
    let status: String = r.try_get(4).map_err(read)?;
    let withdrawn_at: Option<i64> = r.try_get(9).map_err(read)?;
    let reason: Option<String> = r.try_get(10).map_err(read)?;
    let codes: String = r.try_get(11).map_err(read)?;
    Ok(LedgerCase {
        ticket: TicketNumber::parse(&ticket).map_err(|_| DbError::Corrupt("ticket number"))?,
        total_cents: cents(r.try_get(1).map_err(read)?)?,
        due_date: date(&r.try_get::<String, _>(2).map_err(read)?)?,
        deadline: deadline.as_deref().map(date).transpose()?,
        // Cases indexed before the back office existed say 'open' or 'paid', which parse.
        status: Status::parse(&status).ok_or(DbError::Corrupt("case status"))?,
        paid_cents: cents(r.try_get(5).map_err(read)?)?,
        refund_due_cents: cents(r.try_get(6).map_err(read)?)?,
        reminders: u32::try_from(r.try_get::<i64, _>(7).map_err(read)?).map_err(|_| DbError::Corrupt("reminders"))?,
        escalated_at_ms: r.try_get(8).map_err(read)?,
        withdrawn: withdrawn_at.map(|at| (at, reason.unwrap_or_default())),
        offence_codes: codes.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect(),
    })
}

fn entry_row(r: &sqlx::any::AnyRow) -> Result<BankEntryRow, DbError> {
    let read = |_| DbError::Corrupt("bank entry row");
    Ok(BankEntryRow {
        id: r.try_get(0).map_err(read)?,
        entry_key: r.try_get(1).map_err(read)?,
        account: r.try_get(2).map_err(read)?,
        amount_cents: cents(r.try_get(3).map_err(read)?)?,
        currency: r.try_get(4).map_err(read)?,
        booking_date: r.try_get(5).map_err(read)?,
        state: r.try_get(6).map_err(read)?,
        ticket: r.try_get(7).map_err(read)?,
        note: r.try_get(8).map_err(read)?,
        sealed_details: r.try_get(9).map_err(read)?,
    })
}

/// Appends one audit entry inside `tx`.
async fn audit(
    tx: &mut Tx<'_>,
    db: &Db,
    at_ms: i64,
    actor: Actor,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<u64, DbError> {
    let actor = actor.label();
    append_audit(&mut *tx, db.backend, &NewEntry { at_ms, actor: &actor, action, subject, detail: &detail }).await
}

async fn ledger_case_in(tx: &mut Tx<'_>, ticket: &str) -> Result<Option<LedgerCase>, DbError> {
    sqlx::query(concat!("SELECT ", ledger_columns!(), " FROM cases c WHERE c.ticket_number = $1"))
        .bind(ticket)
        .fetch_optional(&mut **tx)
        .await
        .map_err(q("reading a case's ledger"))?
        .as_ref()
        .map(ledger_case)
        .transpose()
}

/// A case's payments (as the policy sees them) and the money already paid back.
async fn money_of(conn: &mut sqlx::AnyConnection, ticket: &str) -> Result<(Vec<Paid>, u64), DbError> {
    let payments = sqlx::query("SELECT amount_cents, booked_at_ms FROM payments WHERE ticket_number = $1")
        .bind(ticket)
        .fetch_all(&mut *conn)
        .await
        .map_err(q("reading a case's payments"))?
        .iter()
        .map(|r| {
            let amount: i64 = r.try_get(0).map_err(|_| DbError::Corrupt("payment"))?;
            let booked: i64 = r.try_get(1).map_err(|_| DbError::Corrupt("payment"))?;
            Ok(Paid { amount_cents: cents(amount)?, booked_on: ms_day(booked) })
        })
        .collect::<Result<_, DbError>>()?;
    let refunded: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM refunds WHERE ticket_number = $1",
    )
    .bind(ticket)
    .fetch_one(&mut *conn)
    .await
    .map_err(q("summing a case's refunds"))?;
    Ok((payments, cents(refunded)?))
}

fn facts<'a>(case: &LedgerCase, payments: &'a [Paid], refunded_cents: u64) -> CaseFacts<'a> {
    CaseFacts {
        total_cents: case.total_cents,
        due_date: case.due_date,
        payments,
        refunded_cents,
        reminders: case.reminders,
        deadline: case.deadline,
        escalated: case.escalated_at_ms.is_some(),
        withdrawn: case.withdrawn.is_some(),
    }
}

/// Re-assesses a case from its stored facts and writes the result; returns it.
async fn reassess(tx: &mut Tx<'_>, policy: &Policy, case: &LedgerCase) -> Result<Assessment, DbError> {
    let ticket = case.ticket.digits();
    let (payments, refunded) = money_of(tx, ticket).await?;
    let a = policy::assess(&facts(case, &payments, refunded), policy);
    sqlx::query("UPDATE cases SET status = $2, paid_cents = $3, refund_due_cents = $4 WHERE ticket_number = $1")
        .bind(ticket)
        .bind(a.status.as_str())
        .bind(signed(a.paid_cents)?)
        .bind(signed(a.refund_due_cents)?)
        .execute(&mut **tx)
        .await
        .map_err(q("updating a case's state"))?;
    Ok(a)
}

fn assessment_json(a: &Assessment) -> serde_json::Value {
    json!({
        "status": a.status.as_str(),
        "paid_cents": a.paid_cents,
        "balance_cents": a.balance_cents,
        "refund_due_cents": a.refund_due_cents,
    })
}

/// Counts a payment for a case (once per method, provider and reference) and re-assesses it.
#[allow(clippy::too_many_arguments)]
async fn count_payment(
    tx: &mut Tx<'_>,
    db: &Db,
    policy: &Policy,
    case: &LedgerCase,
    amount_cents: u64,
    method: &str,
    provider: &str,
    external_ref: &str,
    booked_at_ms: i64,
    now: i64,
    actor: Actor,
) -> Result<Option<Assessment>, DbError> {
    let inserted = sqlx::query(
        "INSERT INTO payments (ticket_number, amount_cents, method, provider, external_ref, booked_at_ms, recorded_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (method, provider, external_ref) DO NOTHING",
    )
    .bind(case.ticket.digits())
    .bind(signed(amount_cents)?)
    .bind(method)
    .bind(provider)
    .bind(external_ref)
    .bind(booked_at_ms)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(q("recording a payment"))?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    let a = reassess(tx, policy, case).await?;
    let mut detail = assessment_json(&a);
    detail["amount_cents"] = json!(amount_cents);
    detail["method"] = json!(method);
    detail["booked_on"] = json!(ms_day(booked_at_ms).to_string());
    audit(tx, db, now, actor, "payment.counted", case.ticket.digits(), detail).await?;
    Ok(Some(a))
}

impl Db {
    /// The deadline policy this database's ledger follows.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The same database, following `policy`.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = std::sync::Arc::new(policy);
        self
    }

    /// Records a card payment confirmed by the provider (the portal's path into the ledger).
    /// `None`: no such case; `Some(None)`: counted before.
    pub(crate) async fn count_online_payment(
        &self,
        p: &NewPayment,
        now: i64,
    ) -> Result<Option<Option<Assessment>>, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting to record a payment"))?;
        let Some(case) = ledger_case_in(&mut tx, p.ticket.digits()).await? else { return Ok(None) };
        let a = count_payment(
            &mut tx,
            self,
            &self.policy,
            &case,
            p.amount_cents,
            p.method,
            &p.provider,
            &p.external_ref,
            p.booked_at_ms,
            now,
            Actor::Portal,
        )
        .await?;
        tx.commit().await.map_err(q("committing a payment"))?;
        Ok(Some(a))
    }

    /// One audit entry on its own (an event that changes nothing else).
    async fn audit_event(
        &self,
        at_ms: i64,
        actor: Actor,
        action: &str,
        subject: &str,
        detail: serde_json::Value,
    ) -> Result<u64, DbError> {
        let actor = actor.label();
        self.audit(&NewEntry { at_ms, actor: &actor, action, subject, detail: &detail }).await
    }
}

fn exception_note(e: &EntryToBook) -> String {
    if let Some(t) = e.candidates.first() {
        format!("ticket number {} is not a known case", t.grouped())
    } else if let Some(n) = e.near_misses.first() {
        let grouped = if n.len() == 12 { format!("{}-{}-{}", &n[..4], &n[4..8], &n[8..]) } else { n.clone() };
        format!("{grouped} looks like a ticket number but its check digit is wrong: a typo?")
    } else {
        "no ticket number in the reference".to_owned()
    }
}

fn clerk_row(r: &sqlx::any::AnyRow) -> Result<ClerkRow, DbError> {
    let read = |_| DbError::Corrupt("clerk row");
    Ok(ClerkRow {
        id: r.try_get(0).map_err(read)?,
        username: r.try_get(1).map_err(read)?,
        sealed: r.try_get(2).map_err(read)?,
        totp_last_step: r.try_get(3).map_err(read)?,
    })
}

mod cases;
mod clerks;
mod import;

#[cfg(test)]
mod tests;
