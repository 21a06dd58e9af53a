//! The back office's part of the database: clerks, statement imports and bank entries, the case
//! ledger kept by the deadline policy, refunds, withdrawals and the deadline run. Every state
//! change writes its audit entry in the same transaction.

use fieldseal_core::ticket::TicketNumber;
use fieldseal_office::audit::NewEntry;
use fieldseal_office::auth::Role;
use fieldseal_office::policy::{self, Action, Assessment, CaseFacts, Paid, Policy, Status};
use fieldseal_office::rebooking::{self, Booking, Rebooking};
use fieldseal_portal::backend::NewPayment;
use serde_json::json;
use sqlx::Row as _;
use time::Date;

use super::audit::append_audit;
use super::{Db, DbError, q};

/// A clerk account.
#[derive(Debug, Clone)]
pub struct ClerkRow {
    /// Id (stamped on every action).
    pub id: i64,
    /// Sign-in name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// TOTP secret, when TOTP is on.
    pub totp_secret: Option<Vec<u8>>,
    /// The last TOTP step accepted.
    pub totp_last_step: Option<i64>,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
}

/// Who acts: stamped on audit entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A clerk, by id.
    Clerk(i64),
    /// The citizen portal (card payments confirmed by the provider).
    Portal,
    /// The command line (`fieldseal admin`).
    Admin,
}

impl Actor {
    /// The audit log's word for the actor.
    pub fn label(self) -> String {
        match self {
            Self::Clerk(id) => format!("clerk:{id}"),
            Self::Portal => "portal".into(),
            Self::Admin => "admin-cli".into(),
        }
    }
}

/// A bank transaction ready to be booked: parsed, keyed, its personal details already sealed.
#[derive(Debug, Clone)]
pub struct EntryToBook {
    /// The transaction's stable key (`fieldseal_office::camt::transaction_key`).
    pub key: String,
    /// The authority's account it was booked on.
    pub account: String,
    /// Amount in cents.
    pub amount_cents: u64,
    /// Currency.
    pub currency: String,
    /// Booking date.
    pub booking_date: Date,
    /// Ticket numbers found in the remittance information, strongest first.
    pub candidates: Vec<TicketNumber>,
    /// Twelve-digit numbers whose check digit fails (for the exception note).
    pub near_misses: Vec<String>,
    /// Payer, payer's account and remittance text, sealed to the enclave.
    pub sealed_details: Vec<u8>,
    /// Goes to the exceptions queue with this note whatever it holds.
    pub forced_note: Option<String>,
}

/// What became of one bank transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Booked {
    /// Counted for a case, which now has this state.
    Matched { entry_id: i64, ticket: TicketNumber, assessment: Assessment },
    /// In the exceptions queue, with the reason.
    Exception { entry_id: i64, note: String },
    /// Counted before (same bank references): nothing done.
    Duplicate,
}

/// A statement file's header, for the import record.
#[derive(Debug, Clone)]
pub struct ImportHeader {
    /// SHA-256 of the uploaded file.
    pub file_sha256: [u8; 32],
    /// e.g. `camt.053.001.08`.
    pub message_type: String,
    /// GrpHdr/MsgId.
    pub message_id: String,
}

/// An entry of the exceptions queue (or any bank entry).
#[derive(Debug, Clone)]
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
    pub sealed_details: Vec<u8>,
}

/// A case's ledger state for the back office.
#[derive(Debug, Clone)]
pub struct LedgerCase {
    /// Ticket.
    pub ticket: TicketNumber,
    /// Amount of the notice.
    pub total_cents: u64,
    /// Notice deadline.
    pub due_date: Date,
    /// Deadline set by the last reminder.
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineStep {
    /// The case.
    pub ticket: TicketNumber,
    /// What happens.
    pub action: Action,
    /// Its balance before.
    pub balance_cents: u64,
}

/// Counts for the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

fn cents(v: i64) -> Result<u64, DbError> {
    u64::try_from(v).map_err(|_| DbError::Corrupt("amount"))
}

fn signed(v: u64) -> Result<i64, DbError> {
    i64::try_from(v).map_err(|_| DbError::Corrupt("amount"))
}

fn date(s: &str) -> Result<Date, DbError> {
    fieldseal_core::notice::parse_iso_date(s).ok_or(DbError::Corrupt("date"))
}

/// Midnight UTC of a date, in unix milliseconds (bank bookings carry a date only).
pub fn day_ms(d: Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp() * 1000
}

/// The UTC date of unix milliseconds.
pub fn ms_day(ms: i64) -> Date {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).map_or(Date::MIN, |t| t.date())
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
        "id, username, role, password_hash, totp_secret, totp_last_step, disabled_at_ms"
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

    // ----- clerks -----

    /// Creates a clerk account.
    pub async fn insert_clerk(
        &self,
        username: &str,
        role: Role,
        password_hash: &str,
        totp_secret: Option<&[u8]>,
        actor: Actor,
        now: i64,
    ) -> Result<Option<i64>, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting to add a clerk"))?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO clerks (username, role, password_hash, totp_secret, created_at_ms) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (username) DO NOTHING RETURNING id",
        )
        .bind(username)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(totp_secret.map(<[u8]>::to_vec))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(q("adding a clerk"))?;
        let Some(id) = id else { return Ok(None) };
        let detail = json!({ "username": username, "role": role.as_str(), "totp": totp_secret.is_some() });
        audit(&mut tx, self, now, actor, "clerk.created", &format!("clerk:{id}"), detail).await?;
        tx.commit().await.map_err(q("committing a clerk"))?;
        Ok(Some(id))
    }

    /// A clerk by sign-in name.
    pub async fn clerk_by_name(&self, username: &str) -> Result<Option<ClerkRow>, DbError> {
        sqlx::query(concat!("SELECT ", clerk_columns!(), " FROM clerks WHERE username = $1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("looking up a clerk"))?
            .as_ref()
            .map(clerk_row)
            .transpose()
    }

    /// A clerk by id.
    pub async fn clerk(&self, id: i64) -> Result<Option<ClerkRow>, DbError> {
        sqlx::query(concat!("SELECT ", clerk_columns!(), " FROM clerks WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("looking up a clerk"))?
            .as_ref()
            .map(clerk_row)
            .transpose()
    }

    /// Every clerk, by id.
    pub async fn clerks(&self) -> Result<Vec<ClerkRow>, DbError> {
        sqlx::query(concat!("SELECT ", clerk_columns!(), " FROM clerks ORDER BY id"))
            .fetch_all(&self.pool)
            .await
            .map_err(q("listing clerks"))?
            .iter()
            .map(clerk_row)
            .collect()
    }

    /// Disables a clerk account (it cannot sign in; open sessions end at their next request).
    /// `false` when no active clerk has that name.
    pub async fn disable_clerk(&self, username: &str, actor: Actor, now: i64) -> Result<bool, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting to disable a clerk"))?;
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE clerks SET disabled_at_ms = $2 WHERE username = $1 AND disabled_at_ms IS NULL RETURNING id",
        )
        .bind(username)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(q("disabling a clerk"))?;
        let Some(id) = id else { return Ok(false) };
        audit(&mut tx, self, now, actor, "clerk.disabled", &format!("clerk:{id}"), json!({ "username": username }))
            .await?;
        tx.commit().await.map_err(q("committing a disabled clerk"))?;
        Ok(true)
    }

    /// Marks a TOTP step used, only if it is newer than the last one (a code counts once).
    pub async fn use_totp_step(&self, clerk: i64, step: u64) -> Result<bool, DbError> {
        let step = i64::try_from(step).map_err(|_| DbError::Corrupt("TOTP step"))?;
        let done = sqlx::query(
            "UPDATE clerks SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(clerk)
        .bind(step)
        .execute(&self.pool)
        .await
        .map_err(q("using a TOTP code"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a sign-in or a refused sign-in (security events belong in the audit log too).
    pub async fn audit_sign_in(&self, clerk: Option<i64>, ok: bool, reason: &str, now: i64) -> Result<(), DbError> {
        let (actor, subject) = match clerk {
            Some(id) => (Actor::Clerk(id), format!("clerk:{id}")),
            None => (Actor::Portal, String::new()),
        };
        let action = if ok { "clerk.signed_in" } else { "clerk.sign_in_refused" };
        self.audit_event(now, actor, action, &subject, json!({ "reason": reason })).await?;
        Ok(())
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

    // ----- statements -----

    /// Books a parsed statement: each transaction counted once, matched to its case or put in
    /// the exceptions queue, every step audited. Booked in transactions of [`IMPORT_CHUNK`]
    /// entries, so a large statement never holds the database (SQLite has one writer) for more
    /// than a moment: the portal, device sync and webhooks go on meanwhile. Should an import stop
    /// half-way, running it again books the rest (each bank reference counts once); its record
    /// then says `"incomplete"`.
    pub async fn import_statement(
        &self,
        header: &ImportHeader,
        entries: &[EntryToBook],
        skipped: &serde_json::Value,
        clerk: i64,
        now: i64,
    ) -> Result<(i64, Vec<Booked>), DbError> {
        let import_id: i64 = sqlx::query_scalar(
            "INSERT INTO statement_imports (file_sha256, message_type, message_id, summary, imported_at_ms, clerk_id)
             VALUES ($1, $2, $3, '{\"state\": \"incomplete\"}', $4, $5) RETURNING id",
        )
        .bind(header.file_sha256.to_vec())
        .bind(&header.message_type)
        .bind(&header.message_id)
        .bind(now)
        .bind(clerk)
        .fetch_one(&self.pool)
        .await
        .map_err(q("recording an import"))?;
        let mut out = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(IMPORT_CHUNK) {
            let mut tx = self.pool.begin().await.map_err(q("starting an import"))?;
            if self.backend == super::Backend::Postgres {
                // Plans cached while a table was small would scan it whole as it grows.
                sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
                    .execute(&mut *tx)
                    .await
                    .map_err(q("setting up an import"))?;
            }
            for e in chunk {
                out.push(self.book_entry(&mut tx, import_id, e, clerk, now).await?);
            }
            tx.commit().await.map_err(q("committing an import"))?;
        }
        let count = |f: fn(&Booked) -> bool| out.iter().filter(|b| f(b)).count();
        let by_status = |s: Status| {
            out.iter().filter(|b| matches!(b, Booked::Matched { assessment, .. } if assessment.status == s)).count()
        };
        let summary = json!({
            "transactions": entries.len(),
            "duplicates": count(|b| matches!(b, Booked::Duplicate)),
            "matched": count(|b| matches!(b, Booked::Matched { .. })),
            "paid": by_status(Status::Paid),
            "part_paid": by_status(Status::PartPaid),
            "overpaid": by_status(Status::Overpaid),
            "refund_due": count(|b| matches!(b, Booked::Matched { assessment, .. } if assessment.refund_due_cents > 0)),
            "exceptions": count(|b| matches!(b, Booked::Exception { .. })),
            "skipped": skipped,
        });
        let mut tx = self.pool.begin().await.map_err(q("finishing an import"))?;
        sqlx::query("UPDATE statement_imports SET summary = $2 WHERE id = $1")
            .bind(import_id)
            .bind(summary.to_string())
            .execute(&mut *tx)
            .await
            .map_err(q("recording an import's summary"))?;
        let mut detail = summary;
        detail["message_type"] = json!(header.message_type);
        detail["message_id"] = json!(header.message_id);
        detail["file_sha256"] = json!(hex::encode(header.file_sha256));
        audit(&mut tx, self, now, Actor::Clerk(clerk), "statement.imported", &format!("import:{import_id}"), detail)
            .await?;
        tx.commit().await.map_err(q("committing an import"))?;
        Ok((import_id, out))
    }

    async fn book_entry(
        &self,
        tx: &mut Tx<'_>,
        import_id: i64,
        e: &EntryToBook,
        clerk: i64,
        now: i64,
    ) -> Result<Booked, DbError> {
        // A key booked before is the same transfer again (nothing to do), or another transfer
        // under a reused bank reference: that one is booked under a key of its own, as an exception.
        let (key, reused_note) = match self.booked_under(tx, &e.key).await? {
            None => (e.key.clone(), None),
            Some((amount_cents, currency, booking_date)) => {
                let first = Booking { amount_cents, currency: &currency, booking_date };
                let again =
                    Booking { amount_cents: e.amount_cents, currency: &e.currency, booking_date: e.booking_date };
                match rebooking::compare(&e.key, &first, &again) {
                    Rebooking::Same => return Ok(Booked::Duplicate),
                    Rebooking::Other { key, note } => {
                        if self.booked_under(tx, &key).await?.is_some() {
                            return Ok(Booked::Duplicate);
                        }
                        (key, Some(note))
                    }
                }
            }
        };
        let forced_note = reused_note.or_else(|| e.forced_note.clone());
        // The strongest candidate that is a known case; two known cases of equal rank are ambiguous.
        let mut known = Vec::new();
        for t in &e.candidates {
            if let Some(case) = ledger_case_in(tx, t.digits()).await? {
                known.push(case);
            }
        }
        let matched = match (known.len(), e.currency.as_str()) {
            _ if forced_note.is_some() => Err(forced_note.clone().unwrap_or_default()),
            (_, c) if c != "EUR" => Err(format!("currency {c}: only EUR is booked automatically")),
            (0, _) => Err(exception_note(e)),
            (1, _) => Ok(known.remove(0)),
            _ => Err(format!(
                "several known ticket numbers: {}",
                known.iter().map(|c| c.ticket.grouped()).collect::<Vec<_>>().join(", ")
            )),
        };
        let (state, ticket, note) = match &matched {
            Ok(case) => ("matched", Some(case.ticket.digits().to_owned()), String::new()),
            Err(note) => ("exception", None, note.clone()),
        };
        let entry_id: i64 = sqlx::query_scalar(
            "INSERT INTO bank_entries (entry_key, import_id, account, amount_cents, currency, booking_date, state,
             ticket_number, note, sealed_details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(&key)
        .bind(import_id)
        .bind(&e.account)
        .bind(signed(e.amount_cents)?)
        .bind(&e.currency)
        .bind(e.booking_date.to_string())
        .bind(state)
        .bind(ticket)
        .bind(&note)
        .bind(e.sealed_details.clone())
        .fetch_one(&mut **tx)
        .await
        .map_err(q("storing a bank entry"))?;
        match matched {
            Ok(case) => {
                let a = count_payment(
                    tx,
                    self,
                    &self.policy,
                    &case,
                    e.amount_cents,
                    "transfer",
                    &format!("bank:{}", e.account),
                    &key,
                    day_ms(e.booking_date),
                    now,
                    Actor::Clerk(clerk),
                )
                .await?;
                // The key was new to bank_entries, so it is new to payments too.
                let assessment = a.ok_or(DbError::Corrupt("payment counted before its bank entry"))?;
                Ok(Booked::Matched { entry_id, ticket: case.ticket, assessment })
            }
            Err(note) => {
                let detail =
                    json!({ "amount_cents": e.amount_cents, "booking_date": e.booking_date.to_string(), "note": note });
                audit(tx, self, now, Actor::Clerk(clerk), "bank_entry.exception", &format!("entry:{entry_id}"), detail)
                    .await?;
                Ok(Booked::Exception { entry_id, note })
            }
        }
    }

    /// Amount, currency and booking date of the transfer booked under `key`, if one is.
    async fn booked_under(&self, tx: &mut Tx<'_>, key: &str) -> Result<Option<(u64, String, Date)>, DbError> {
        let row: Option<(i64, String, String)> =
            sqlx::query_as("SELECT amount_cents, currency, booking_date FROM bank_entries WHERE entry_key = $1")
                .bind(key)
                .fetch_optional(&mut **tx)
                .await
                .map_err(q("looking up a bank entry"))?;
        let Some((amount, currency, date)) = row else { return Ok(None) };
        let amount = u64::try_from(amount).map_err(|_| DbError::Corrupt("a negative bank entry amount"))?;
        let date =
            fieldseal_core::notice::parse_iso_date(&date).ok_or(DbError::Corrupt("a bank entry's booking date"))?;
        Ok(Some((amount, currency, date)))
    }

    /// Bank entries in a state (e.g. the exceptions queue), oldest booking first.
    pub async fn bank_entries(&self, state: &str, limit: u32) -> Result<Vec<BankEntryRow>, DbError> {
        sqlx::query(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM bank_entries WHERE state = $1 ORDER BY booking_date, id LIMIT $2"
        ))
        .bind(state)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(q("listing bank entries"))?
        .iter()
        .map(entry_row)
        .collect()
    }

    /// One bank entry.
    pub async fn bank_entry(&self, id: i64) -> Result<Option<BankEntryRow>, DbError> {
        sqlx::query(concat!("SELECT ", entry_columns!(), " FROM bank_entries WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("reading a bank entry"))?
            .as_ref()
            .map(entry_row)
            .transpose()
    }

    /// A clerk matches an exception to a case by hand. `Ok(None)` when the entry is not (or no
    /// longer) an exception or the case is unknown.
    pub async fn match_by_hand(
        &self,
        entry_id: i64,
        ticket: &TicketNumber,
        clerk: i64,
        now: i64,
    ) -> Result<Result<Assessment, ResolveError>, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting a manual match"))?;
        let Some(case) = ledger_case_in(&mut tx, ticket.digits()).await? else {
            return Ok(Err(ResolveError::UnknownCase));
        };
        let row = sqlx::query(
            "UPDATE bank_entries SET state = 'matched_by_hand', ticket_number = $2, resolved_by = $3, resolved_at_ms = $4
             WHERE id = $1 AND state = 'exception' RETURNING entry_key, amount_cents, booking_date, account",
        )
        .bind(entry_id)
        .bind(ticket.digits())
        .bind(clerk)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(q("resolving a bank entry"))?;
        let Some(r) = row else { return Ok(Err(ResolveError::NotAnException)) };
        let read = |_| DbError::Corrupt("bank entry row");
        let key: String = r.try_get(0).map_err(read)?;
        let amount = cents(r.try_get(1).map_err(read)?)?;
        let booked = date(&r.try_get::<String, _>(2).map_err(read)?)?;
        let account: String = r.try_get(3).map_err(read)?;
        audit(
            &mut tx,
            self,
            now,
            Actor::Clerk(clerk),
            "bank_entry.matched_by_hand",
            &format!("entry:{entry_id}"),
            json!({ "ticket": ticket.digits() }),
        )
        .await?;
        let a = count_payment(
            &mut tx,
            self,
            &self.policy,
            &case,
            amount,
            "transfer",
            &format!("bank:{account}"),
            &key,
            day_ms(booked),
            now,
            Actor::Clerk(clerk),
        )
        .await?
        .ok_or(DbError::Corrupt("payment counted before its bank entry"))?;
        tx.commit().await.map_err(q("committing a manual match"))?;
        Ok(Ok(a))
    }

    /// A clerk books an exception out (e.g. not a fine payment, returned to the payer).
    pub async fn book_out(
        &self,
        entry_id: i64,
        reason: &str,
        clerk: i64,
        now: i64,
    ) -> Result<Result<(), ResolveError>, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting to book out"))?;
        let done = sqlx::query(
            "UPDATE bank_entries SET state = 'booked_out', note = $2, resolved_by = $3, resolved_at_ms = $4
             WHERE id = $1 AND state = 'exception'",
        )
        .bind(entry_id)
        .bind(reason)
        .bind(clerk)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(q("booking out a bank entry"))?;
        if done.rows_affected() != 1 {
            return Ok(Err(ResolveError::NotAnException));
        }
        audit(
            &mut tx,
            self,
            now,
            Actor::Clerk(clerk),
            "bank_entry.booked_out",
            &format!("entry:{entry_id}"),
            json!({ "reason": reason }),
        )
        .await?;
        tx.commit().await.map_err(q("committing a book-out"))?;
        Ok(Ok(()))
    }

    // ----- cases -----

    /// A case's ledger state.
    pub async fn ledger_case(&self, ticket: &TicketNumber) -> Result<Option<LedgerCase>, DbError> {
        sqlx::query(concat!("SELECT ", ledger_columns!(), " FROM cases c WHERE c.ticket_number = $1"))
            .bind(ticket.digits())
            .fetch_optional(&self.pool)
            .await
            .map_err(q("reading a case's ledger"))?
            .as_ref()
            .map(ledger_case)
            .transpose()
    }

    /// A case's state under the policy, read only (what the citizen portal shows), with the
    /// deadline in force.
    pub async fn assessment(&self, ticket: &TicketNumber) -> Result<Option<(Assessment, Date)>, DbError> {
        let Some(case) = self.ledger_case(ticket).await? else { return Ok(None) };
        let mut conn = self.pool.acquire().await.map_err(q("reading a case's state"))?;
        let (payments, refunded) = money_of(&mut conn, ticket.digits()).await?;
        let facts = facts(&case, &payments, refunded);
        Ok(Some((policy::assess(&facts, &self.policy), facts.current_deadline())))
    }

    /// Cases in a stored status (or overdue: awaiting payment past `today`), by deadline.
    pub async fn cases_by_status(
        &self,
        status: Option<Status>,
        overdue_on: Option<Date>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<LedgerCase>, DbError> {
        let rows =
            match (status, overdue_on) {
                (_, Some(today)) => {
                    sqlx::query(concat!(
                    "SELECT ",
                    ledger_columns!(),
                    " FROM cases c WHERE c.status IN ('open', 'part_paid') AND COALESCE(c.deadline, c.due_date) < $1
                     ORDER BY COALESCE(c.deadline, c.due_date), c.ticket_number LIMIT $2 OFFSET $3"
                ))
                    .bind(today.to_string())
                    .bind(i64::from(limit))
                    .bind(i64::from(offset))
                    .fetch_all(&self.pool)
                    .await
                }
                (Some(s), None) => {
                    sqlx::query(concat!(
                        "SELECT ",
                        ledger_columns!(),
                        " FROM cases c WHERE c.status = $1 ORDER BY c.due_date, c.ticket_number LIMIT $2 OFFSET $3"
                    ))
                    .bind(s.as_str())
                    .bind(i64::from(limit))
                    .bind(i64::from(offset))
                    .fetch_all(&self.pool)
                    .await
                }
                (None, None) => sqlx::query(concat!(
                    "SELECT ",
                    ledger_columns!(),
                    " FROM cases c WHERE c.refund_due_cents > 0 ORDER BY c.due_date, c.ticket_number LIMIT $1 OFFSET $2"
                ))
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(&self.pool)
                .await,
            }
            .map_err(q("listing cases"))?;
        rows.iter().map(ledger_case).collect()
    }

    /// The dashboard's counts; `today` decides "overdue", `since_ms` "today's payments".
    pub async fn dashboard(&self, today: Date, since_ms: i64) -> Result<Dashboard, DbError> {
        let mut d = Dashboard::default();
        let counts = sqlx::query("SELECT status, COUNT(*) FROM cases GROUP BY status")
            .fetch_all(&self.pool)
            .await
            .map_err(q("counting cases"))?;
        for s in Status::ALL {
            let n = counts
                .iter()
                .filter(|r| r.try_get::<String, _>(0).is_ok_and(|v| v == s.as_str()))
                .map(|r| r.try_get::<i64, _>(1).unwrap_or(0))
                .sum();
            d.by_status.push((s, n));
        }
        d.overdue = sqlx::query_scalar(
            "SELECT COUNT(*) FROM cases WHERE status IN ('open', 'part_paid') AND COALESCE(deadline, due_date) < $1",
        )
        .bind(today.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(q("counting overdue cases"))?;
        let r = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(refund_due_cents), 0) AS BIGINT) FROM cases WHERE refund_due_cents > 0",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(q("counting refunds due"))?;
        d.refund_due = r.try_get(0).map_err(q("counting refunds due"))?;
        d.refund_due_cents = r.try_get(1).map_err(q("counting refunds due"))?;
        let r = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM payments WHERE recorded_at_ms >= $1",
        )
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(q("counting today's payments"))?;
        d.payments_today =
            (r.try_get(0).map_err(q("counting payments"))?, r.try_get(1).map_err(q("counting payments"))?);
        d.exceptions = sqlx::query_scalar("SELECT COUNT(*) FROM bank_entries WHERE state = 'exception'")
            .fetch_one(&self.pool)
            .await
            .map_err(q("counting exceptions"))?;
        Ok(d)
    }

    /// Withdraws (or cancels) a case with a reason; money received becomes due for refund.
    pub async fn withdraw(
        &self,
        ticket: &TicketNumber,
        reason: &str,
        clerk: i64,
        now: i64,
    ) -> Result<Option<Assessment>, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting a withdrawal"))?;
        let done = sqlx::query(
            "UPDATE cases SET withdrawn_at_ms = $2, withdrawn_reason = $3 WHERE ticket_number = $1 AND withdrawn_at_ms IS NULL",
        )
        .bind(ticket.digits())
        .bind(now)
        .bind(reason)
        .execute(&mut *tx)
        .await
        .map_err(q("withdrawing a case"))?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let case = ledger_case_in(&mut tx, ticket.digits()).await?.ok_or(DbError::Corrupt("case"))?;
        let a = reassess(&mut tx, &self.policy, &case).await?;
        let mut detail = assessment_json(&a);
        detail["reason"] = json!(reason);
        audit(&mut tx, self, now, Actor::Clerk(clerk), "case.withdrawn", ticket.digits(), detail).await?;
        tx.commit().await.map_err(q("committing a withdrawal"))?;
        Ok(Some(a))
    }

    /// Records money paid back; refused beyond what is due.
    pub async fn record_refund(
        &self,
        ticket: &TicketNumber,
        amount_cents: u64,
        reference: &str,
        clerk: i64,
        now: i64,
    ) -> Result<Result<Assessment, ResolveError>, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting a refund"))?;
        let Some(case) = ledger_case_in(&mut tx, ticket.digits()).await? else {
            return Ok(Err(ResolveError::UnknownCase));
        };
        if amount_cents == 0 || amount_cents > case.refund_due_cents {
            return Ok(Err(ResolveError::RefundTooLarge { due_cents: case.refund_due_cents }));
        }
        sqlx::query(
            "INSERT INTO refunds (ticket_number, amount_cents, reference, paid_at_ms, clerk_id) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(ticket.digits())
        .bind(signed(amount_cents)?)
        .bind(reference)
        .bind(now)
        .bind(clerk)
        .execute(&mut *tx)
        .await
        .map_err(q("recording a refund"))?;
        let a = reassess(&mut tx, &self.policy, &case).await?;
        let mut detail = assessment_json(&a);
        detail["refunded_cents"] = json!(amount_cents);
        audit(&mut tx, self, now, Actor::Clerk(clerk), "case.refunded", ticket.digits(), detail).await?;
        tx.commit().await.map_err(q("committing a refund"))?;
        Ok(Ok(a))
    }

    /// What the deadline run would do today (`apply = false`), or does it, each case in its own
    /// transaction with its audit entry.
    pub async fn deadline_run(
        &self,
        today: Date,
        apply: bool,
        clerk: i64,
        now: i64,
    ) -> Result<Vec<DeadlineStep>, DbError> {
        // Only cases whose deadline has passed can be due; the policy decides the rest.
        let rows = sqlx::query(concat!(
            "SELECT ",
            ledger_columns!(),
            " FROM cases c WHERE c.status IN ('open', 'part_paid') AND c.escalated_at_ms IS NULL
              AND c.withdrawn_at_ms IS NULL AND COALESCE(c.deadline, c.due_date) < $1
              ORDER BY COALESCE(c.deadline, c.due_date), c.ticket_number"
        ))
        .bind(today.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(q("finding cases past their deadline"))?;
        let mut steps = Vec::new();
        for r in &rows {
            let case = ledger_case(r)?;
            let mut tx = self.pool.begin().await.map_err(q("starting a deadline step"))?;
            let (payments, refunded) = money_of(&mut tx, case.ticket.digits()).await?;
            let facts = facts(&case, &payments, refunded);
            let Some(action) = policy::due_action(&facts, &self.policy, today) else { continue };
            let balance_cents = policy::assess(&facts, &self.policy).balance_cents;
            steps.push(DeadlineStep { ticket: case.ticket.clone(), action, balance_cents });
            if !apply {
                continue;
            }
            let (action_name, detail) = match action {
                Action::Remind { n, deadline } => {
                    sqlx::query("UPDATE cases SET reminders = $2, deadline = $3 WHERE ticket_number = $1")
                        .bind(case.ticket.digits())
                        .bind(i64::from(n))
                        .bind(deadline.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(q("recording a reminder"))?;
                    ("case.reminded", json!({ "reminder": n, "deadline": deadline.to_string() }))
                }
                Action::Escalate => {
                    sqlx::query("UPDATE cases SET escalated_at_ms = $2 WHERE ticket_number = $1")
                        .bind(case.ticket.digits())
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(q("escalating a case"))?;
                    ("case.escalated", json!({ "policy": self.policy.name() }))
                }
            };
            let case = ledger_case_in(&mut tx, case.ticket.digits()).await?.ok_or(DbError::Corrupt("case"))?;
            let a = reassess(&mut tx, &self.policy, &case).await?;
            let mut detail = detail;
            detail["state"] = assessment_json(&a);
            audit(&mut tx, self, now, Actor::Clerk(clerk), action_name, case.ticket.digits(), detail).await?;
            tx.commit().await.map_err(q("committing a deadline step"))?;
        }
        Ok(steps)
    }

    /// Records that a clerk opened personal data, and why, before it is opened.
    pub async fn audit_access(
        &self,
        clerk: i64,
        what: &str,
        subject: &str,
        purpose: &str,
        now: i64,
    ) -> Result<u64, DbError> {
        let detail = json!({ "what": what, "purpose": purpose });
        self.audit_event(now, Actor::Clerk(clerk), "personal_data.opened", subject, detail).await
    }
}

/// A refund paid out.
#[derive(Debug, Clone)]
pub struct RefundRow {
    /// Amount in cents.
    pub amount_cents: u64,
    /// The outgoing transfer's reference.
    pub reference: String,
    /// When it was recorded.
    pub paid_at_ms: i64,
}

/// One line of the ledger export.
#[derive(Debug, Clone)]
pub struct LedgerLine {
    /// Row id within its table (the export's cursor).
    pub id: i64,
    /// `payment` or `refund`.
    pub kind: &'static str,
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

impl Db {
    /// Refunds of a case, oldest first.
    pub async fn refunds(&self, ticket: &TicketNumber) -> Result<Vec<RefundRow>, DbError> {
        sqlx::query("SELECT amount_cents, reference, paid_at_ms FROM refunds WHERE ticket_number = $1 ORDER BY id")
            .bind(ticket.digits())
            .fetch_all(&self.pool)
            .await
            .map_err(q("reading refunds"))?
            .iter()
            .map(|r| {
                let read = |_| DbError::Corrupt("refund row");
                Ok(RefundRow {
                    amount_cents: cents(r.try_get(0).map_err(read)?)?,
                    reference: r.try_get(1).map_err(read)?,
                    paid_at_ms: r.try_get(2).map_err(read)?,
                })
            })
            .collect()
    }

    /// A page of the ledger: payments (`refunds = false`) or refunds, ids after `after`.
    pub async fn ledger_page(&self, refunds: bool, after: i64, limit: u32) -> Result<Vec<LedgerLine>, DbError> {
        let query = if refunds {
            "SELECT id, ticket_number, -amount_cents, 'refund', '', reference, paid_at_ms, paid_at_ms, clerk_id
             FROM refunds WHERE id > $1 ORDER BY id LIMIT $2"
        } else {
            "SELECT p.id, p.ticket_number, p.amount_cents, p.method, p.provider, p.external_ref, p.booked_at_ms,
                    p.recorded_at_ms, b.resolved_by
             FROM payments p LEFT JOIN bank_entries b ON b.entry_key = p.external_ref AND p.method = 'transfer'
             WHERE p.id > $1 ORDER BY p.id LIMIT $2"
        };
        sqlx::query(query)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(q("reading the ledger"))?
            .iter()
            .map(|r| {
                let read = |_| DbError::Corrupt("ledger row");
                Ok(LedgerLine {
                    id: r.try_get(0).map_err(read)?,
                    kind: if refunds { "refund" } else { "payment" },
                    ticket: r.try_get(1).map_err(read)?,
                    amount_cents: r.try_get(2).map_err(read)?,
                    method: r.try_get(3).map_err(read)?,
                    provider: r.try_get(4).map_err(read)?,
                    reference: r.try_get(5).map_err(read)?,
                    booked_at_ms: r.try_get(6).map_err(read)?,
                    recorded_at_ms: r.try_get(7).map_err(read)?,
                    clerk: r.try_get(8).map_err(read)?,
                })
            })
            .collect()
    }

    /// The newest audit entries, newest first.
    pub async fn audit_recent(&self, limit: u32) -> Result<Vec<fieldseal_office::audit::AuditEntry>, DbError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log")
            .fetch_one(&self.pool)
            .await
            .map_err(q("reading the audit log's head"))?;
        let after = u64::try_from(head.unwrap_or(0) - i64::from(limit)).unwrap_or(0);
        let mut page = self.audit_page(after, limit).await?;
        page.reverse();
        Ok(page)
    }

    /// Records that a clerk exported something (no personal data in it).
    pub async fn audit_export(&self, clerk: i64, what: &str, now: i64) -> Result<u64, DbError> {
        self.audit_event(now, Actor::Clerk(clerk), "export", "", json!({ "what": what })).await
    }
}

/// Why a clerk's resolution was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    let role: String = r.try_get(2).map_err(read)?;
    let disabled: Option<i64> = r.try_get(6).map_err(read)?;
    Ok(ClerkRow {
        id: r.try_get(0).map_err(read)?,
        username: r.try_get(1).map_err(read)?,
        role: Role::parse(&role).map_err(|_| DbError::Corrupt("clerk role"))?,
        password_hash: r.try_get(3).map_err(read)?,
        totp_secret: r.try_get(4).map_err(read)?,
        totp_last_step: r.try_get(5).map_err(read)?,
        disabled: disabled.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldseal_office::policy::Policy;
    use time::macros::date;

    const CLERK: i64 = 1;

    /// A database with one clerk and `n` open cases of 30.00 EUR due on 2026-12-09, inserted
    /// directly (the sync path is tested end to end elsewhere).
    async fn ledger(dir: &tempfile::TempDir, policy: Policy, n: u32) -> (Db, Vec<TicketNumber>) {
        let db = Db::open(None, dir.path()).await.expect("opens").with_policy(policy);
        let id = db.insert_clerk("anna", Role::Supervisor, "$argon2id$x", None, Actor::Admin, 0).await.expect("clerk");
        assert_eq!(id, Some(CLERK));
        sqlx::query("INSERT INTO devices VALUES ($1, 1, $2, 'test', 0)")
            .bind(vec![1u8; 16])
            .bind(vec![2u8; 32])
            .execute(&db.pool)
            .await
            .expect("device");
        let mut tickets = Vec::new();
        for i in 0..n {
            let envelope = vec![u8::try_from(i).expect("small"); 16];
            sqlx::query("INSERT INTO envelopes VALUES ($1, $2, $3, $4, $4, $5, 0, 0)")
                .bind(envelope.clone())
                .bind(vec![1u8; 16])
                .bind(i64::from(i))
                .bind(vec![0u8; 32])
                .bind(vec![9u8; 8])
                .execute(&db.pool)
                .await
                .expect("envelope");
            let t = TicketNumber::issue(1, i + 1).expect("ticket");
            sqlx::query(
                "INSERT INTO cases (ticket_number, envelope_id, total_cents, due_date, offence_codes, status, indexed_at_ms)
                 VALUES ($1, $2, 3000, '2026-12-09', '112102', 'open', 0)",
            )
            .bind(t.digits())
            .bind(envelope)
            .execute(&db.pool)
            .await
            .expect("case");
            tickets.push(t);
        }
        (db, tickets)
    }

    fn entry(key: &str, cents: u64, booked: Date, candidates: Vec<TicketNumber>) -> EntryToBook {
        EntryToBook {
            key: key.to_owned(),
            account: "DE71110220330123456789".into(),
            amount_cents: cents,
            currency: "EUR".into(),
            booking_date: booked,
            candidates,
            near_misses: Vec::new(),
            sealed_details: vec![0; 8],
            forced_note: None,
        }
    }

    fn header() -> ImportHeader {
        ImportHeader { file_sha256: [7; 32], message_type: "camt.053.001.08".into(), message_id: "M1".into() }
    }

    #[tokio::test]
    async fn an_import_matches_counts_once_and_queues_the_rest() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, t) = ledger(&dir, Policy::default(), 4).await;
        let day = date!(2026 - 12 - 05);
        let entries = [
            entry("k1", 3000, day, vec![t[0].clone()]),
            entry("k2", 1000, day, vec![t[1].clone()]),
            entry("k3", 3500, day, vec![t[2].clone()]),
            entry("k4", 3000, day, vec![]),
            entry("k5", 3000, day, vec![t[3].clone(), t[0].clone()]),
            EntryToBook { currency: "CHF".into(), ..entry("k6", 3000, day, vec![t[3].clone()]) },
        ];
        let (_, booked) = db.import_statement(&header(), &entries, &json!({}), CLERK, 1).await.expect("imports");
        let status = |b: &Booked| match b {
            Booked::Matched { assessment, .. } => assessment.status.as_str().to_owned(),
            Booked::Exception { note, .. } => format!("exception: {note}"),
            Booked::Duplicate => "duplicate".into(),
        };
        let got: Vec<String> = booked.iter().map(status).collect();
        assert_eq!(got[..3], ["paid", "part_paid", "overpaid"]);
        assert_eq!(got[3], "exception: no ticket number in the reference");
        assert!(got[4].starts_with("exception: several known ticket numbers"), "{}", got[4]);
        assert!(got[5].starts_with("exception: currency CHF"), "{}", got[5]);
        // The same statement again: nothing counted twice, nothing queued twice.
        let (_, again) = db.import_statement(&header(), &entries, &json!({}), CLERK, 2).await.expect("imports");
        assert!(again.iter().all(|b| *b == Booked::Duplicate));
        assert_eq!(db.bank_entries("exception", 10).await.expect("queue").len(), 3);
        let case = db.ledger_case(&t[2]).await.expect("reads").expect("case");
        assert_eq!((case.status, case.paid_cents, case.refund_due_cents), (Status::Overpaid, 3500, 500));
        assert!(db.verify_audit(|_| {}).await.expect("reads").is_ok());
    }

    /// Found in real statements: a bank reused a reference for another transfer. The second
    /// transfer waits in the exceptions queue with the reason, is never dropped, and counts once
    /// however often its statement is imported.
    #[tokio::test]
    async fn a_reused_bank_reference_is_another_transfer_and_never_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, t) = ledger(&dir, Policy::default(), 2).await;
        let first = [entry("acct:X|asr:R1", 3000, date!(2026 - 12 - 01), vec![t[0].clone()])];
        let (_, booked) = db.import_statement(&header(), &first, &json!({}), CLERK, 1).await.expect("imports");
        assert!(matches!(booked[0], Booked::Matched { .. }), "{booked:?}");
        let later = [entry("acct:X|asr:R1", 2000, date!(2026 - 12 - 06), vec![t[1].clone()])];
        for round in 0..2 {
            let (_, booked) = db.import_statement(&header(), &later, &json!({}), CLERK, 2).await.expect("imports");
            match (&booked[0], round) {
                (Booked::Exception { note, .. }, 0) => {
                    assert!(note.contains("used this reference before") && note.contains("30.00 EUR"), "{note}")
                }
                (Booked::Duplicate, 1) => {}
                (other, _) => panic!("round {round}: {other:?}"),
            }
        }
        let queue = db.bank_entries("exception", 10).await.expect("queue");
        assert_eq!(queue.len(), 1, "the later transfer waits once in the queue");
        // The matched case was not counted twice, the other not at all until a clerk decides.
        let first_case = db.ledger_case(&t[0]).await.expect("reads").expect("case");
        let other_case = db.ledger_case(&t[1]).await.expect("reads").expect("case");
        assert_eq!((first_case.paid_cents, other_case.paid_cents), (3000, 0));
        // The first statement again is still nothing new.
        let (_, again) = db.import_statement(&header(), &first, &json!({}), CLERK, 3).await.expect("imports");
        assert_eq!(again, [Booked::Duplicate]);
    }

    #[tokio::test]
    async fn exceptions_resolve_once_and_refunds_stay_within_what_is_due() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, t) = ledger(&dir, Policy::default(), 2).await;
        let entries =
            [entry("k1", 3000, date!(2026 - 12 - 05), vec![]), entry("k2", 500, date!(2026 - 12 - 05), vec![])];
        let (_, booked) = db.import_statement(&header(), &entries, &json!({}), CLERK, 1).await.expect("imports");
        let ids: Vec<i64> = booked
            .iter()
            .map(|b| match b {
                Booked::Exception { entry_id, .. } => *entry_id,
                other => panic!("an exception, not {other:?}"),
            })
            .collect();
        let unknown = TicketNumber::issue(9, 9).expect("ticket");
        assert_eq!(db.match_by_hand(ids[0], &unknown, CLERK, 2).await.expect("db"), Err(ResolveError::UnknownCase));
        let a = db.match_by_hand(ids[0], &t[0], CLERK, 3).await.expect("db").expect("matched");
        assert_eq!(a.status, Status::Paid);
        assert_eq!(db.match_by_hand(ids[0], &t[1], CLERK, 4).await.expect("db"), Err(ResolveError::NotAnException));
        assert_eq!(db.book_out(ids[0], "twice", CLERK, 5).await.expect("db"), Err(ResolveError::NotAnException));
        db.book_out(ids[1], "not a fine payment", CLERK, 6).await.expect("db").expect("booked out");
        assert!(db.bank_entries("exception", 10).await.expect("queue").is_empty());

        // Withdrawn after payment: everything is due back, and only that much can be refunded.
        let a = db.withdraw(&t[0], "objection accepted", CLERK, 7).await.expect("db").expect("withdrawn");
        assert_eq!((a.status, a.refund_due_cents), (Status::Withdrawn, 3000));
        assert_eq!(db.withdraw(&t[0], "again", CLERK, 8).await.expect("db"), None, "once");
        assert_eq!(
            db.record_refund(&t[0], 3001, "R-1", CLERK, 9).await.expect("db"),
            Err(ResolveError::RefundTooLarge { due_cents: 3000 })
        );
        let a = db.record_refund(&t[0], 3000, "R-1", CLERK, 10).await.expect("db").expect("refunded");
        assert_eq!(a.refund_due_cents, 0);
        assert_eq!(db.ledger_page(true, 0, 10).await.expect("ledger")[0].amount_cents, -3000);
        assert!(db.verify_audit(|_| {}).await.expect("reads").is_ok());
    }

    #[tokio::test]
    async fn card_payments_land_in_the_same_ledger_and_the_deadline_run_acts_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, t) = ledger(&dir, Policy::default(), 2).await;
        let paid = NewPayment {
            ticket: t[0].clone(),
            amount_cents: 3000,
            method: "online",
            provider: "sandbox".into(),
            external_ref: "cs_1".into(),
            booked_at_ms: day_ms(date!(2026 - 12 - 08)),
        };
        assert!(matches!(db.count_online_payment(&paid, 1).await.expect("db"), Some(Some(_))));
        assert_eq!(db.count_online_payment(&paid, 2).await.expect("db"), Some(None), "counted once");
        let lines = db.ledger_page(false, 0, 10).await.expect("ledger");
        assert_eq!((lines.len(), lines[0].method.as_str(), lines[0].clerk), (1, "online", None));

        // After the deadline and the grace days only the unpaid case escalates, once.
        let today = date!(2026 - 12 - 13);
        let preview = db.deadline_run(today, false, CLERK, 3).await.expect("db");
        assert_eq!(preview, [DeadlineStep { ticket: t[1].clone(), action: Action::Escalate, balance_cents: 3000 }]);
        assert_eq!(
            db.ledger_case(&t[1]).await.expect("db").expect("case").status,
            Status::Open,
            "a preview changes nothing"
        );
        assert_eq!(db.deadline_run(today, true, CLERK, 4).await.expect("db").len(), 1);
        assert_eq!(db.ledger_case(&t[1]).await.expect("db").expect("case").status, Status::Escalated);
        assert!(db.deadline_run(today, true, CLERK, 5).await.expect("db").is_empty());
        // The dashboard counts it.
        let d = db.dashboard(today, 0).await.expect("db");
        assert!(d.by_status.contains(&(Status::Escalated, 1)) && d.by_status.contains(&(Status::Paid, 1)));
        assert_eq!((d.overdue, d.payments_today.0), (0, 1));
    }
}
