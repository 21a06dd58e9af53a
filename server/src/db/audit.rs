//! The audit log's storage: appending an entry inside the transaction of the change it records,
//! reading pages of it, and streaming it through the chain verifier
//! ([`fieldseal_office::audit`]) in stored order.
//!
//! On SQLite the stored order is the table's `rowid` (the insertion order: `seq BIGINT PRIMARY
//! KEY` is not a rowid alias), so rows moved between places show as seqs out of order. PostgreSQL
//! keeps no order a reader can trust (an `UPDATE` or `VACUUM FULL` moves tuples), so rows are read
//! in `seq` order and a row moved to another seq is caught by its hash and its link to the entry
//! before.

pub use fieldseal_office::audit::{AuditEntry, Broken, BrokenReason, NewEntry, Verified, entry_hash, format_utc};
use fieldseal_office::audit::{Verifier, seal};
use sqlx::AnyConnection;
use sqlx::Row as _;

use super::{Backend, Db, DbError, q};

/// The PostgreSQL advisory lock key that serializes appends (ASCII "fsaudit1"): held to the end
/// of the appending transaction, so two transactions never chain onto the same head.
const APPEND_LOCK: i64 = 0x6673_6175_6469_7431;

/// Rows read per page when verifying.
const VERIFY_PAGE: u32 = 10_000;

/// Appends an entry inside the caller's transaction (`append_audit(&mut tx, db.backend(), …)`
/// next to the state change it records), so both commit or neither; returns its seq.
///
/// On PostgreSQL it first takes a transaction-scoped advisory lock, which other appenders wait
/// for until this transaction ends; call it in a READ COMMITTED transaction (the default), or
/// early in a stricter one, so the head it reads is the newest. On SQLite the pool's one
/// connection serializes transactions. Either way the primary key on `seq` refuses a second
/// entry with the same seq.
pub async fn append_audit(conn: &mut AnyConnection, backend: Backend, entry: &NewEntry<'_>) -> Result<u64, DbError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(APPEND_LOCK)
            .execute(&mut *conn)
            .await
            .map_err(q("waiting for the audit log"))?;
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(q("reading the audit log's head"))?;
    let prev = match head {
        None => None,
        Some(r) => {
            let seq: i64 = r.try_get(0).map_err(q("reading the audit log's head"))?;
            let hash: Vec<u8> = r.try_get(1).map_err(q("reading the audit log's head"))?;
            Some((
                u64::try_from(seq).map_err(|_| DbError::Corrupt("audit log head"))?,
                hash.try_into().map_err(|_| DbError::Corrupt("audit log head"))?,
            ))
        }
    };
    let e = seal(prev, entry);
    sqlx::query(
        "INSERT INTO audit_log (seq, at_ms, actor, action, subject, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(i64::try_from(e.seq).map_err(|_| DbError::Corrupt("audit log head"))?)
    .bind(e.at_ms)
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.subject)
    .bind(&e.detail)
    .bind(e.prev_hash.to_vec())
    .bind(e.hash.to_vec())
    .execute(&mut *conn)
    .await
    .map_err(q("appending to the audit log"))?;
    Ok(e.seq)
}

/// A row as an entry, or what is wrong with it (and its seq, if that could be read). The
/// columns start at `from`: seq, at_ms, actor, action, subject, detail, prev_hash, hash.
fn entry(r: &sqlx::any::AnyRow, from: usize) -> Result<AuditEntry, (Option<u64>, &'static str)> {
    let seq = r
        .try_get::<i64, _>(from)
        .ok()
        .and_then(|s| u64::try_from(s).ok())
        .ok_or((None, "a seq that is not a number from 1"))?;
    let bad = |what: &'static str| move |_: sqlx::Error| (Some(seq), what);
    let text = |i| r.try_get::<String, _>(from + i).map_err(bad("a text column that is not text"));
    let digest = |i| {
        r.try_get::<Vec<u8>, _>(from + i)
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or((Some(seq), "a hash that is not 32 bytes"))
    };
    Ok(AuditEntry {
        seq,
        at_ms: r.try_get(from + 1).map_err(bad("a time that is not a number"))?,
        actor: text(2)?,
        action: text(3)?,
        subject: text(4)?,
        detail: text(5)?,
        prev_hash: digest(6)?,
        hash: digest(7)?,
    })
}

impl Db {
    /// Appends one entry in a transaction of its own, for events that change nothing else
    /// (a sign-in, an opening of personal data); returns its seq.
    pub async fn audit(&self, entry: &NewEntry<'_>) -> Result<u64, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting an audit entry"))?;
        let seq = append_audit(&mut tx, self.backend, entry).await?;
        tx.commit().await.map_err(q("committing an audit entry"))?;
        Ok(seq)
    }

    /// Up to `limit` entries after seq `after_seq`, in seq order.
    pub async fn audit_page(&self, after_seq: u64, limit: u32) -> Result<Vec<AuditEntry>, DbError> {
        sqlx::query(
            "SELECT seq, at_ms, actor, action, subject, detail, prev_hash, hash FROM audit_log
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(q("reading the audit log"))?
        .iter()
        .map(|r| entry(r, 0).map_err(|_| DbError::Corrupt("audit log entry")))
        .collect()
    }

    /// Checks the whole audit log, reading it in stored order a page at a time (never all rows
    /// at once); `progress` hears the number of rows checked after each page. The outer error
    /// is the database failing; the inner one the chain breaking.
    pub async fn verify_audit(&self, progress: impl FnMut(u64)) -> Result<Result<Verified, Broken>, DbError> {
        self.verify_audit_paged(VERIFY_PAGE, progress).await
    }

    async fn verify_audit_paged(
        &self,
        page: u32,
        mut progress: impl FnMut(u64),
    ) -> Result<Result<Verified, Broken>, DbError> {
        // The first column is the page cursor: the stored order. The first page has no lower
        // bound, so no row sorts before the cursor's start.
        let (first, next) = match self.backend {
            Backend::Sqlite => (
                "SELECT rowid, seq, at_ms, actor, action, subject, detail, prev_hash, hash FROM audit_log
                 ORDER BY rowid LIMIT $1",
                "SELECT rowid, seq, at_ms, actor, action, subject, detail, prev_hash, hash FROM audit_log
                 WHERE rowid > $2 ORDER BY rowid LIMIT $1",
            ),
            Backend::Postgres => (
                "SELECT seq, seq, at_ms, actor, action, subject, detail, prev_hash, hash FROM audit_log
                 ORDER BY seq LIMIT $1",
                "SELECT seq, seq, at_ms, actor, action, subject, detail, prev_hash, hash FROM audit_log
                 WHERE seq > $2 ORDER BY seq LIMIT $1",
            ),
        };
        let mut verifier = Verifier::new();
        let mut cursor: Option<i64> = None;
        loop {
            let query = match cursor {
                None => sqlx::query(first).bind(i64::from(page)),
                Some(c) => sqlx::query(next).bind(i64::from(page)).bind(c),
            };
            let rows = query.fetch_all(&self.pool).await.map_err(q("reading the audit log"))?;
            for r in &rows {
                cursor = Some(r.try_get(0).map_err(q("reading the audit log"))?);
                let pushed = match entry(r, 1) {
                    Ok(e) => verifier.push(&e),
                    Err((seq, what)) => verifier.push_malformed(seq, what),
                };
                if let Err(broken) = pushed {
                    return Ok(Err(broken));
                }
            }
            if !rows.is_empty() {
                progress(verifier.rows());
            }
            if rows.len() < page as usize {
                return Ok(verifier.finish());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn db(dir: &tempfile::TempDir) -> Db {
        Db::open(None, dir.path()).await.expect("opens")
    }

    fn event<'a>(subject: &'a str, detail: &'a serde_json::Value) -> NewEntry<'a> {
        NewEntry { at_ms: 1_764_633_600_000, actor: "system", action: "test.event", subject, detail }
    }

    #[tokio::test]
    async fn an_append_rolls_back_with_its_transaction() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = db(&dir).await;
        let detail = json!({"n": 1});
        let mut tx = db.pool.begin().await.expect("begins");
        assert_eq!(append_audit(&mut tx, db.backend, &event("a", &detail)).await.expect("appends"), 1);
        tx.rollback().await.expect("rolls back");
        assert_eq!(db.audit_page(0, 10).await.expect("reads"), []);
        let verified = db.verify_audit(|_| {}).await.expect("reads").expect("intact");
        assert_eq!(verified.entries, 0);
        assert_eq!(db.audit(&event("b", &detail)).await.expect("appends"), 1, "the rolled-back seq is free again");
        let page = db.audit_page(0, 10).await.expect("reads");
        assert_eq!(page.len(), 1);
        assert_eq!((page[0].subject.as_str(), page[0].prev_hash), ("b", fieldseal_office::audit::GENESIS));
    }

    #[tokio::test]
    async fn an_append_commits_with_its_transaction() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = db(&dir).await;
        let detail = json!({});
        db.audit(&event("first", &detail)).await.expect("appends");
        let mut tx = db.pool.begin().await.expect("begins");
        assert_eq!(append_audit(&mut tx, db.backend, &event("second", &detail)).await.expect("appends"), 2);
        tx.commit().await.expect("commits");
        let page = db.audit_page(0, 10).await.expect("reads");
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(page[1].prev_hash, page[0].hash);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fifty_concurrent_appends_get_seq_1_to_50_and_verify() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = db(&dir).await;
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    let detail = json!({"task": i});
                    db.audit(&event(&format!("task:{i}"), &detail)).await.expect("appends")
                })
            })
            .collect();
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.expect("task"));
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
        let verified = db.verify_audit(|_| {}).await.expect("reads").expect("intact");
        assert_eq!((verified.entries, verified.head_seq), (50, 50));
    }

    #[tokio::test]
    async fn a_row_moved_to_the_lowest_rowid_is_still_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = db(&dir).await;
        let detail = json!({});
        for _ in 0..3 {
            db.audit(&event("x", &detail)).await.expect("appends");
        }
        sqlx::raw_sql(
            "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET rowid = -9223372036854775808 WHERE seq = 2",
        )
        .execute(&db.pool)
        .await
        .expect("tampers");
        let broken = db.verify_audit(|_| {}).await.expect("reads").expect_err("broken");
        assert_eq!(
            (broken.seq, broken.position, broken.reason),
            (Some(2), 1, BrokenReason::Reordered { expected: 1, expected_at: 2 })
        );
    }

    #[tokio::test]
    async fn verification_pages_through_the_log_and_reports_progress() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = db(&dir).await;
        for i in 0..20 {
            let detail = json!({"i": i});
            db.audit(&event("x", &detail)).await.expect("appends");
        }
        let mut seen = Vec::new();
        let verified = db.verify_audit_paged(7, |n| seen.push(n)).await.expect("reads").expect("intact");
        assert_eq!(seen, [7, 14, 20]);
        let last = db.audit_page(19, 5).await.expect("reads");
        assert_eq!((verified.entries, verified.head_hash, last.len()), (20, last[0].hash, 1));
        let mut seen = Vec::new();
        db.verify_audit_paged(10, |n| seen.push(n)).await.expect("reads").expect("intact");
        assert_eq!(seen, [10, 20], "the empty page after a full last one reports nothing");
    }
}
