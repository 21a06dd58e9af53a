//! The portal's part of the database: case summaries, checkouts, payments (each counted once)
//! and sealed objections.

use fieldseal_core::seal::VerifyingKey;
use fieldseal_core::ticket::TicketNumber;
use fieldseal_core::wire::envelope::Id16;
use fieldseal_portal::backend::{CheckoutRecord, NewPayment, PaymentLine, Recorded};
use sqlx::Row as _;

use super::{Db, DbError, digest, id16, q};

/// A case's index row and ledger.
#[derive(Debug, Clone)]
pub struct CaseRow {
    /// Ticket number.
    pub ticket: TicketNumber,
    /// The envelope it came in.
    pub envelope_id: Id16,
    /// The sealing device.
    pub device_id: Id16,
    /// Photos in the envelope.
    pub photo_count: u16,
    /// Amount due.
    pub total_cents: u64,
    /// Deadline `YYYY-MM-DD`.
    pub due_date: String,
    /// Offence codes.
    pub offence_codes: Vec<String>,
    /// Index status.
    pub status: String,
    /// Payments received, oldest first.
    pub payments: Vec<PaymentLine>,
    /// First objection received.
    pub objection_at_ms: Option<i64>,
}

/// A case as sealed: what the enclave needs to open it.
#[derive(Debug, Clone)]
pub struct SealedCaseRow {
    /// The envelope id.
    pub envelope_id: Id16,
    /// Photos in the envelope.
    pub photo_count: u16,
    /// The sealing device's key.
    pub device_key: VerifyingKey,
    /// The envelope bytes.
    pub envelope: Vec<u8>,
}

fn cents(v: i64) -> Result<u64, DbError> {
    u64::try_from(v).map_err(|_| DbError::Corrupt("amount"))
}

fn checkout_row(r: &sqlx::any::AnyRow) -> Result<CheckoutRecord, DbError> {
    let ticket: String = r.try_get(2).map_err(q("reading a checkout"))?;
    Ok(CheckoutRecord {
        session_id: r.try_get(0).map_err(q("reading a checkout"))?,
        provider: r.try_get(1).map_err(q("reading a checkout"))?,
        ticket: TicketNumber::parse(&ticket).map_err(|_| DbError::Corrupt("ticket number"))?,
        amount_cents: cents(r.try_get(3).map_err(q("reading a checkout"))?)?,
        redirect_url: r.try_get(4).map_err(q("reading a checkout"))?,
        created_at_ms: r.try_get(5).map_err(q("reading a checkout"))?,
    })
}

macro_rules! checkout_columns {
    () => {
        "session_id, provider, ticket_number, amount_cents, redirect_url, created_at_ms"
    };
}

impl Db {
    /// A case with its ledger.
    pub async fn case(&self, ticket: &TicketNumber) -> Result<Option<CaseRow>, DbError> {
        let row = sqlx::query(
            "SELECT c.envelope_id, e.device_id, e.photo_count, c.total_cents, c.due_date, c.offence_codes, c.status
             FROM cases c JOIN envelopes e ON e.envelope_id = c.envelope_id WHERE c.ticket_number = $1",
        )
        .bind(ticket.digits())
        .fetch_optional(&self.pool)
        .await
        .map_err(q("looking up a case"))?;
        let Some(r) = row else { return Ok(None) };
        let read = q("reading a case");
        let codes: String = r.try_get(5).map_err(q("reading a case"))?;
        let mut case = CaseRow {
            ticket: ticket.clone(),
            envelope_id: id16(r.try_get(0).map_err(q("reading a case"))?)?,
            device_id: id16(r.try_get(1).map_err(q("reading a case"))?)?,
            photo_count: u16::try_from(r.try_get::<i64, _>(2).map_err(q("reading a case"))?)
                .map_err(|_| DbError::Corrupt("photo count"))?,
            total_cents: cents(r.try_get(3).map_err(q("reading a case"))?)?,
            due_date: r.try_get(4).map_err(q("reading a case"))?,
            offence_codes: codes.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect(),
            status: r.try_get(6).map_err(read)?,
            payments: Vec::new(),
            objection_at_ms: None,
        };
        for r in sqlx::query(
            "SELECT amount_cents, method, provider, external_ref, booked_at_ms FROM payments
             WHERE ticket_number = $1 ORDER BY booked_at_ms, id",
        )
        .bind(ticket.digits())
        .fetch_all(&self.pool)
        .await
        .map_err(q("reading payments"))?
        {
            case.payments.push(PaymentLine {
                amount_cents: cents(r.try_get(0).map_err(q("reading payments"))?)?,
                method: r.try_get(1).map_err(q("reading payments"))?,
                provider: r.try_get(2).map_err(q("reading payments"))?,
                external_ref: r.try_get(3).map_err(q("reading payments"))?,
                booked_at_ms: r.try_get(4).map_err(q("reading payments"))?,
            });
        }
        case.objection_at_ms =
            sqlx::query_scalar("SELECT MIN(received_at_ms) FROM objections WHERE ticket_number = $1")
                .bind(ticket.digits())
                .fetch_one(&self.pool)
                .await
                .map_err(q("reading objections"))?;
        Ok(Some(case))
    }

    /// What the enclave needs to release a case, in one query: the envelope, its photo count and
    /// the registered key of the device that sealed it.
    pub async fn sealed_case(&self, ticket: &TicketNumber) -> Result<Option<SealedCaseRow>, DbError> {
        let row = sqlx::query(
            "SELECT e.envelope_id, e.photo_count, d.verifying_key, e.envelope
             FROM cases c JOIN envelopes e ON e.envelope_id = c.envelope_id JOIN devices d ON d.device_id = e.device_id
             WHERE c.ticket_number = $1",
        )
        .bind(ticket.digits())
        .fetch_optional(&self.pool)
        .await
        .map_err(q("looking up a sealed case"))?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(SealedCaseRow {
            envelope_id: id16(r.try_get(0).map_err(q("reading a sealed case"))?)?,
            photo_count: u16::try_from(r.try_get::<i64, _>(1).map_err(q("reading a sealed case"))?)
                .map_err(|_| DbError::Corrupt("photo count"))?,
            device_key: VerifyingKey(digest(r.try_get(2).map_err(q("reading a sealed case"))?)?),
            envelope: r.try_get(3).map_err(q("reading a sealed case"))?,
        }))
    }

    /// The key of the device holding a ticket prefix.
    pub async fn device_key_by_prefix(&self, prefix: u16) -> Result<Option<VerifyingKey>, DbError> {
        let key: Option<Vec<u8>> = sqlx::query_scalar("SELECT verifying_key FROM devices WHERE device_prefix = $1")
            .bind(i64::from(prefix))
            .fetch_optional(&self.pool)
            .await
            .map_err(q("looking up a device prefix"))?;
        key.map(|k| digest(k).map(VerifyingKey)).transpose()
    }

    /// Checkouts of a case, newest first.
    pub async fn checkouts(&self, ticket: &TicketNumber) -> Result<Vec<CheckoutRecord>, DbError> {
        sqlx::query(concat!(
            "SELECT ",
            checkout_columns!(),
            " FROM checkouts WHERE ticket_number = $1 ORDER BY created_at_ms DESC"
        ))
        .bind(ticket.digits())
        .fetch_all(&self.pool)
        .await
        .map_err(q("reading checkouts"))?
        .iter()
        .map(checkout_row)
        .collect()
    }

    /// One checkout by the provider's session id.
    pub async fn checkout(&self, session_id: &str) -> Result<Option<CheckoutRecord>, DbError> {
        sqlx::query(concat!("SELECT ", checkout_columns!(), " FROM checkouts WHERE session_id = $1"))
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("reading a checkout"))?
            .as_ref()
            .map(checkout_row)
            .transpose()
    }

    /// Keeps a checkout; the same session id again changes nothing.
    pub async fn insert_checkout(&self, c: &CheckoutRecord) -> Result<(), DbError> {
        sqlx::query(concat!(
            "INSERT INTO checkouts (",
            checkout_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id) DO NOTHING"
        ))
        .bind(&c.session_id)
        .bind(&c.provider)
        .bind(c.ticket.digits())
        .bind(i64::try_from(c.amount_cents).map_err(|_| DbError::Corrupt("amount"))?)
        .bind(&c.redirect_url)
        .bind(c.created_at_ms)
        .execute(&self.pool)
        .await
        .map_err(q("storing a checkout"))?;
        Ok(())
    }

    /// Counts a payment once per `(method, provider, external_ref)` and re-assesses the case
    /// under the deadline policy, with its audit entry; one transaction.
    pub async fn record_payment(&self, p: &NewPayment, now: i64) -> Result<Recorded, DbError> {
        let counted = self.count_online_payment(p, now).await?;
        Ok(match counted {
            None => Recorded::UnknownCase,
            Some(None) => Recorded::Duplicate,
            Some(Some(_)) => Recorded::New,
        })
    }

    /// Keeps a sealed objection, with its audit entry: [`Recorded::New`], or
    /// [`Recorded::Duplicate`] (nothing stored) when the case has one already. One per case,
    /// enforced by a unique index, so objections sent at the same moment keep only the first.
    pub async fn insert_objection(&self, ticket: &TicketNumber, sealed: &[u8], now: i64) -> Result<Recorded, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting to store an objection"))?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO objections (ticket_number, sealed, received_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (ticket_number) DO NOTHING RETURNING id",
        )
        .bind(ticket.digits())
        .bind(sealed.to_vec())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(q("storing an objection"))?;
        let Some(id) = id else { return Ok(Recorded::Duplicate) };
        let detail = serde_json::json!({ "objection": id, "sealed_bytes": sealed.len() });
        let entry = super::NewEntry {
            at_ms: now,
            actor: "citizen",
            action: "objection.received",
            subject: ticket.digits(),
            detail: &detail,
        };
        super::append_audit(&mut tx, self.backend, &entry).await?;
        tx.commit().await.map_err(q("committing an objection"))?;
        Ok(Recorded::New)
    }

    /// Sealed objections of a case, oldest first.
    pub async fn objections(&self, ticket: &TicketNumber) -> Result<Vec<Vec<u8>>, DbError> {
        sqlx::query_scalar("SELECT sealed FROM objections WHERE ticket_number = $1 ORDER BY id")
            .bind(ticket.digits())
            .fetch_all(&self.pool)
            .await
            .map_err(q("reading objections"))
    }
}
