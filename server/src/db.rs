//! The relay's database: one SQL dialect through sqlx's `Any` driver, SQLite (a file in the data
//! folder, the default) or PostgreSQL (`DATABASE_URL=postgres://…`), each with its migrations.
//! Tables hold identifiers, hashes, ciphertext and the index; never personal data.

use std::path::Path;

use fieldseal_core::seal::VerifyingKey;
use fieldseal_core::ticket::TicketNumber;
use fieldseal_core::wire::enclave::CaseIndex;
use fieldseal_core::wire::envelope::Id16;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Executor as _, Row as _};

mod audit;
mod ledger;
pub use audit::{AuditEntry, Broken, BrokenReason, NewEntry, Verified, append_audit, entry_hash, format_utc};
mod office;
pub use ledger::CaseRow;
pub use office::{
    Actor, BankEntryRow, Booked, ClerkRow, Dashboard, DeadlineStep, EntryToBook, ImportHeader, LedgerCase, LedgerLine,
    RefundRow, ResolveError, day_ms, ms_day,
};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// A database failure. The message names the operation, never row contents.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Connecting failed.
    #[error("cannot open the database ({0}); check DATABASE_URL or the data folder")]
    Connect(String),
    /// A migration failed.
    #[error("the database migration failed: {0}")]
    Migrate(String),
    /// A query failed.
    #[error("database error while {what}: {source}")]
    Query { what: &'static str, source: sqlx::Error },
    /// A stored value is not what the schema promises.
    #[error("the database holds an invalid {0}")]
    Corrupt(&'static str),
}

fn q(what: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
    move |source| DbError::Query { what, source }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn id16(v: Vec<u8>) -> Result<Id16, DbError> {
    v.try_into().map(Id16).map_err(|_| DbError::Corrupt("identifier"))
}

fn digest(v: Vec<u8>) -> Result<[u8; 32], DbError> {
    v.try_into().map_err(|_| DbError::Corrupt("digest"))
}

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    /// Device id.
    pub device_id: Id16,
    /// Ticket prefix.
    pub device_prefix: u16,
    /// Registered key.
    pub verifying_key: VerifyingKey,
    /// Administrator's label.
    pub label: String,
    /// When it enrolled.
    pub enrolled_at_ms: i64,
    /// Envelopes stored from it.
    pub envelopes: i64,
    /// Highest sequence stored.
    pub last_sequence: i64,
}

/// A stored envelope's bookkeeping (not its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeRow {
    /// Envelope id.
    pub envelope_id: Id16,
    /// Device.
    pub device_id: Id16,
    /// Chain position.
    pub sequence: u64,
    /// SHA-256 of the envelope bytes.
    pub envelope_hash: [u8; 32],
    /// Number of photo blobs.
    pub photo_count: u16,
    /// When stored.
    pub stored_at_ms: i64,
    /// Indexed ticket number.
    pub ticket_number: TicketNumber,
}

/// What an enrolment attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrolOutcome {
    /// Registered with this id and prefix.
    Enrolled { device_id: Id16, device_prefix: u16 },
    /// Unknown, used or expired code (one answer for all three).
    BadCode,
    /// The key is registered already.
    KeyTaken,
    /// All 9999 prefixes are in use.
    NoPrefixLeft,
}

/// What storing an envelope found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored now.
    Stored { stored_at_ms: i64 },
    /// Another writer stored it first (same id).
    Raced,
    /// Another case holds the ticket number.
    DuplicateTicket,
    /// Another envelope holds this device's sequence number.
    SequenceTaken,
}

/// Row counts, for health, the demo and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Devices.
    pub devices: i64,
    /// Envelopes.
    pub envelopes: i64,
    /// Blobs.
    pub blobs: i64,
    /// Indexed cases.
    pub cases: i64,
    /// Chain events.
    pub chain_events: i64,
}

/// The relay database.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    policy: std::sync::Arc<fieldseal_office::policy::Policy>,
}

impl Db {
    /// Opens `database_url`, or the SQLite file `server.sqlite3` in `data` when none is given,
    /// and runs the migrations.
    pub async fn open(database_url: Option<&str>, data: &Path) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = match database_url {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                (u.to_owned(), Backend::Postgres)
            }
            Some(u) if u.starts_with("sqlite:") => (u.to_owned(), Backend::Sqlite),
            Some(_) => return Err(DbError::Connect("DATABASE_URL must start with postgres:// or sqlite:".into())),
            None => (format!("sqlite://{}?mode=rwc", data.join("server.sqlite3").display()), Backend::Sqlite),
        };
        let options = AnyPoolOptions::new()
            // SQLite has one writer; one connection avoids lock upgrades failing under load.
            .max_connections(if backend == Backend::Sqlite { 1 } else { 16 })
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
                            .await?;
                    }
                    Ok(())
                })
            });
        let pool = options.connect(&url).await.map_err(|e| DbError::Connect(redact_url(&e.to_string())))?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(|e| DbError::Migrate(e.to_string()))?;
        Ok(Self { pool, backend, policy: std::sync::Arc::default() })
    }

    /// The engine in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(q("checking the connection"))?;
        Ok(())
    }

    /// Stores a new enrolment code's hash.
    pub async fn insert_code(&self, code_hash: &[u8; 32], label: &str, now: i64, expires: i64) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO enrolment_codes (code_hash, label, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(code_hash.to_vec())
        .bind(label)
        .bind(now)
        .bind(expires)
        .execute(&self.pool)
        .await
        .map_err(q("storing an enrolment code"))?;
        Ok(())
    }

    /// Uses a code once to register `key`, in one transaction.
    pub async fn enrol(&self, code_hash: &[u8; 32], key: &VerifyingKey, now: i64) -> Result<EnrolOutcome, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting an enrolment"))?;
        let label: Option<String> = sqlx::query_scalar(
            "SELECT label FROM enrolment_codes WHERE code_hash = $1 AND used_at_ms IS NULL AND expires_at_ms > $2",
        )
        .bind(code_hash.to_vec())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(q("looking up an enrolment code"))?;
        let Some(label) = label else { return Ok(EnrolOutcome::BadCode) };
        let taken: Option<i64> = sqlx::query_scalar("SELECT 1 FROM devices WHERE verifying_key = $1")
            .bind(key.0.to_vec())
            .fetch_optional(&mut *tx)
            .await
            .map_err(q("checking a device key"))?;
        if taken.is_some() {
            return Ok(EnrolOutcome::KeyTaken);
        }
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(device_prefix) FROM devices")
            .fetch_one(&mut *tx)
            .await
            .map_err(q("choosing a ticket prefix"))?;
        let prefix = max.unwrap_or(0) + 1;
        let Ok(device_prefix) = u16::try_from(prefix) else { return Ok(EnrolOutcome::NoPrefixLeft) };
        if prefix > i64::from(fieldseal_core::ticket::MAX_DEVICE_PREFIX) {
            return Ok(EnrolOutcome::NoPrefixLeft);
        }
        let device_id = Id16::make_random();
        let used = sqlx::query(
            "UPDATE enrolment_codes SET used_at_ms = $2, device_id = $3 WHERE code_hash = $1 AND used_at_ms IS NULL",
        )
        .bind(code_hash.to_vec())
        .bind(now)
        .bind(device_id.0.to_vec())
        .execute(&mut *tx)
        .await
        .map_err(q("using an enrolment code"))?;
        if used.rows_affected() != 1 {
            return Ok(EnrolOutcome::BadCode);
        }
        let inserted = sqlx::query(
            "INSERT INTO devices (device_id, device_prefix, verifying_key, label, enrolled_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(device_id.0.to_vec())
        .bind(prefix)
        .bind(key.0.to_vec())
        .bind(label)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(EnrolOutcome::KeyTaken),
            Err(e) => return Err(q("registering a device")(e)),
        }
        tx.commit().await.map_err(q("committing an enrolment"))?;
        Ok(EnrolOutcome::Enrolled { device_id, device_prefix })
    }

    /// Every enrolled device with its envelope count.
    pub async fn devices(&self) -> Result<Vec<DeviceRow>, DbError> {
        let rows = sqlx::query(
            "SELECT d.device_id, d.device_prefix, d.verifying_key, d.label, d.enrolled_at_ms,
                    (SELECT COUNT(*) FROM envelopes e WHERE e.device_id = d.device_id),
                    (SELECT COALESCE(MAX(e.sequence), 0) FROM envelopes e WHERE e.device_id = d.device_id)
             FROM devices d ORDER BY d.device_prefix",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(q("listing devices"))?;
        rows.into_iter()
            .map(|r| {
                Ok(DeviceRow {
                    device_id: id16(r.try_get(0).map_err(q("reading a device"))?)?,
                    device_prefix: u16::try_from(r.try_get::<i64, _>(1).map_err(q("reading a device"))?)
                        .map_err(|_| DbError::Corrupt("device prefix"))?,
                    verifying_key: VerifyingKey(digest(r.try_get(2).map_err(q("reading a device"))?)?),
                    label: r.try_get(3).map_err(q("reading a device"))?,
                    enrolled_at_ms: r.try_get(4).map_err(q("reading a device"))?,
                    envelopes: r.try_get(5).map_err(q("reading a device"))?,
                    last_sequence: r.try_get(6).map_err(q("reading a device"))?,
                })
            })
            .collect()
    }

    /// The registered key of a device.
    pub async fn device_key(&self, device_id: &Id16) -> Result<Option<VerifyingKey>, DbError> {
        let key: Option<Vec<u8>> = sqlx::query_scalar("SELECT verifying_key FROM devices WHERE device_id = $1")
            .bind(device_id.0.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(q("looking up a device"))?;
        key.map(|k| digest(k).map(VerifyingKey)).transpose()
    }

    /// The ticket prefix a device was given at enrolment.
    pub async fn device_prefix(&self, device_id: &Id16) -> Result<Option<u16>, DbError> {
        let prefix: Option<i64> = sqlx::query_scalar("SELECT device_prefix FROM devices WHERE device_id = $1")
            .bind(device_id.0.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(q("looking up a device's prefix"))?;
        prefix
            .map(|p| u16::try_from(p).map_err(|_| DbError::Corrupt("a stored device prefix is out of range")))
            .transpose()
    }

    /// A stored envelope's bookkeeping.
    pub async fn envelope(&self, envelope_id: &Id16) -> Result<Option<EnvelopeRow>, DbError> {
        let row = sqlx::query(
            "SELECT e.envelope_id, e.device_id, e.sequence, e.envelope_hash, e.photo_count, e.stored_at_ms, c.ticket_number
             FROM envelopes e JOIN cases c ON c.envelope_id = e.envelope_id WHERE e.envelope_id = $1",
        )
        .bind(envelope_id.0.to_vec())
        .fetch_optional(&self.pool)
        .await
        .map_err(q("looking up an envelope"))?;
        let Some(r) = row else { return Ok(None) };
        let ticket: String = r.try_get(6).map_err(q("reading an envelope"))?;
        Ok(Some(EnvelopeRow {
            envelope_id: id16(r.try_get(0).map_err(q("reading an envelope"))?)?,
            device_id: id16(r.try_get(1).map_err(q("reading an envelope"))?)?,
            sequence: u64::try_from(r.try_get::<i64, _>(2).map_err(q("reading an envelope"))?)
                .map_err(|_| DbError::Corrupt("sequence"))?,
            envelope_hash: digest(r.try_get(3).map_err(q("reading an envelope"))?)?,
            photo_count: u16::try_from(r.try_get::<i64, _>(4).map_err(q("reading an envelope"))?)
                .map_err(|_| DbError::Corrupt("photo count"))?,
            stored_at_ms: r.try_get(5).map_err(q("reading an envelope"))?,
            ticket_number: TicketNumber::parse(&ticket).map_err(|_| DbError::Corrupt("ticket number"))?,
        }))
    }

    /// The stored envelope bytes.
    pub async fn envelope_bytes(&self, envelope_id: &Id16) -> Result<Option<Vec<u8>>, DbError> {
        sqlx::query_scalar("SELECT envelope FROM envelopes WHERE envelope_id = $1")
            .bind(envelope_id.0.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(q("reading envelope bytes"))
    }

    /// Id and hash of the envelope at a device's chain position.
    pub async fn chain_link(&self, device_id: &Id16, sequence: u64) -> Result<Option<(Id16, [u8; 32])>, DbError> {
        let row =
            sqlx::query("SELECT envelope_id, envelope_hash FROM envelopes WHERE device_id = $1 AND sequence = $2")
                .bind(device_id.0.to_vec())
                .bind(i64::try_from(sequence).map_err(|_| DbError::Corrupt("sequence"))?)
                .fetch_optional(&self.pool)
                .await
                .map_err(q("looking up a chain link"))?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some((
            id16(r.try_get(0).map_err(q("reading a chain link"))?)?,
            digest(r.try_get(1).map_err(q("reading a chain link"))?)?,
        )))
    }

    /// Records a refused gap or fork for review.
    pub async fn record_chain_event(
        &self,
        device_id: &Id16,
        sequence: u64,
        kind: &str,
        envelope_id: &Id16,
        envelope_hash: &[u8; 32],
        now: i64,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO chain_events (device_id, sequence, kind, envelope_id, envelope_hash, at_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(device_id.0.to_vec())
        .bind(i64::try_from(sequence).unwrap_or(i64::MAX))
        .bind(kind)
        .bind(envelope_id.0.to_vec())
        .bind(envelope_hash.to_vec())
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(q("recording a chain event"))?;
        Ok(())
    }

    /// Stores an envelope and its index in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_envelope(
        &self,
        device_id: &Id16,
        sequence: u64,
        prev_hash: &[u8; 32],
        envelope_hash: &[u8; 32],
        envelope: &[u8],
        photo_count: u16,
        index: &CaseIndex,
        now: i64,
    ) -> Result<InsertOutcome, DbError> {
        let sequence = i64::try_from(sequence).map_err(|_| DbError::Corrupt("sequence"))?;
        let mut tx = self.pool.begin().await.map_err(q("starting to store an envelope"))?;
        let inserted = sqlx::query(
            "INSERT INTO envelopes (envelope_id, device_id, sequence, prev_hash, envelope_hash, envelope, photo_count, stored_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(index.envelope_id.0.to_vec())
        .bind(device_id.0.to_vec())
        .bind(sequence)
        .bind(prev_hash.to_vec())
        .bind(envelope_hash.to_vec())
        .bind(envelope.to_vec())
        .bind(i64::from(photo_count))
        .bind(now)
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            if !is_unique_violation(&e) {
                return Err(q("storing an envelope")(e));
            }
            drop(tx);
            // Which uniqueness broke: the id (a concurrent upload of the same envelope) or the
            // chain position (a fork that raced past the check).
            return Ok(if self.envelope_bytes(&index.envelope_id).await?.is_some() {
                InsertOutcome::Raced
            } else {
                InsertOutcome::SequenceTaken
            });
        }
        let inserted = sqlx::query(
            "INSERT INTO cases (ticket_number, envelope_id, total_cents, due_date, offence_codes, status, indexed_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(index.ticket_number.digits())
        .bind(index.envelope_id.0.to_vec())
        .bind(i64::try_from(index.total_cents).map_err(|_| DbError::Corrupt("amount"))?)
        .bind(&index.due_date)
        .bind(index.offence_codes.join(","))
        .bind("open")
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(InsertOutcome::DuplicateTicket),
            Err(e) => return Err(q("indexing a case")(e)),
        }
        let detail = serde_json::json!({
            "envelope": index.envelope_id.to_hex(),
            "sequence": sequence,
            "total_cents": index.total_cents,
            "due_date": index.due_date,
            "offence_codes": index.offence_codes,
        });
        let actor = format!("device:{}", device_id.to_hex());
        let entry = NewEntry {
            at_ms: now,
            actor: &actor,
            action: "case.indexed",
            subject: index.ticket_number.digits(),
            detail: &detail,
        };
        append_audit(&mut tx, self.backend, &entry).await?;
        tx.commit().await.map_err(q("committing an envelope"))?;
        Ok(InsertOutcome::Stored { stored_at_ms: now })
    }

    /// Index and digest of each stored blob of an envelope.
    pub async fn blobs(&self, envelope_id: &Id16) -> Result<Vec<(u16, [u8; 32])>, DbError> {
        let rows = sqlx::query("SELECT idx, sha256 FROM blobs WHERE envelope_id = $1 ORDER BY idx")
            .bind(envelope_id.0.to_vec())
            .fetch_all(&self.pool)
            .await
            .map_err(q("listing blobs"))?;
        rows.into_iter()
            .map(|r| {
                let idx: i64 = r.try_get(0).map_err(q("reading a blob row"))?;
                Ok((
                    u16::try_from(idx).map_err(|_| DbError::Corrupt("blob index"))?,
                    digest(r.try_get(1).map_err(q("reading a blob row"))?)?,
                ))
            })
            .collect()
    }

    /// Records a verified blob (idempotent).
    pub async fn insert_blob(
        &self,
        envelope_id: &Id16,
        index: u16,
        sha256: &[u8; 32],
        len: u64,
        now: i64,
    ) -> Result<(), DbError> {
        let done =
            sqlx::query("INSERT INTO blobs (envelope_id, idx, sha256, len, stored_at_ms) VALUES ($1, $2, $3, $4, $5)")
                .bind(envelope_id.0.to_vec())
                .bind(i64::from(index))
                .bind(sha256.to_vec())
                .bind(i64::try_from(len).map_err(|_| DbError::Corrupt("blob length"))?)
                .bind(now)
                .execute(&self.pool)
                .await;
        match done {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Ok(()),
            Err(e) => Err(q("recording a blob")(e)),
        }
    }

    /// Row counts.
    pub async fn counts(&self) -> Result<Counts, DbError> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM devices), (SELECT COUNT(*) FROM envelopes), (SELECT COUNT(*) FROM blobs),
                    (SELECT COUNT(*) FROM cases), (SELECT COUNT(*) FROM chain_events)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(q("counting rows"))?;
        let get = |i: usize| r.try_get::<i64, _>(i).map_err(q("counting rows"));
        Ok(Counts { devices: get(0)?, envelopes: get(1)?, blobs: get(2)?, cases: get(3)?, chain_events: get(4)? })
    }

    /// A fingerprint of every stored envelope, blob and case, to prove a refused upload changed
    /// nothing (chain events, where refusals are recorded, are counted separately).
    pub async fn fingerprint(&self) -> Result<[u8; 32], DbError> {
        let mut acc = Vec::new();
        for sql in [
            "SELECT envelope_id, envelope_hash FROM envelopes ORDER BY envelope_id",
            "SELECT envelope_id, sha256 FROM blobs ORDER BY envelope_id, idx",
        ] {
            for r in sqlx::query(sql).fetch_all(&self.pool).await.map_err(q("fingerprinting"))? {
                acc.extend(r.try_get::<Vec<u8>, _>(0).map_err(q("fingerprinting"))?);
                acc.extend(r.try_get::<Vec<u8>, _>(1).map_err(q("fingerprinting"))?);
            }
        }
        for r in sqlx::query("SELECT ticket_number, status FROM cases ORDER BY ticket_number")
            .fetch_all(&self.pool)
            .await
            .map_err(q("fingerprinting"))?
        {
            acc.extend(r.try_get::<String, _>(0).map_err(q("fingerprinting"))?.into_bytes());
            acc.extend(r.try_get::<String, _>(1).map_err(q("fingerprinting"))?.into_bytes());
        }
        Ok(fieldseal_core::seal::sha256(&acc))
    }
}

/// Removes a password from a connection error that quotes the URL.
fn redact_url(msg: &str) -> String {
    match (msg.find("://"), msg.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &msg[..s], &msg[at..]),
        _ => msg.to_owned(),
    }
}
