//! The audit log as an attacker with database access meets it: the triggers refuse changes,
//! and once they are dropped, `fieldseal audit verify` names the first entry that was edited,
//! deleted, reordered or rewritten, on SQLite and on PostgreSQL. Each tampering gets a fresh
//! database so one cannot mask another.

use std::process::Command;

use fieldseal_server::db::{AuditEntry, Db, NewEntry, entry_hash};
use fieldseal_tests::on_both_backends;
use fieldseal_tests::{Backend, TempDir, bin, block_on};
use sqlx::{AnyConnection, Connection as _};

on_both_backends!(
    an_intact_log_verifies,
    concurrent_appends_chain_in_order,
    the_triggers_refuse_changes,
    an_edited_entry_is_named,
    a_deleted_entry_is_named,
    swapped_seq_values_are_caught,
    a_rewritten_entry_with_a_recomputed_hash_is_caught_at_the_next_link,
);

const ENTRIES: u64 = 20;

/// A fresh database holding a log of 20 entries.
struct Log {
    data: TempDir,
    backend: Backend,
    entries: Vec<AuditEntry>,
}

impl Log {
    fn new(backend: Backend) -> Self {
        let data = TempDir::new("audit");
        let entries = block_on(async {
            let db = Db::open(backend.url(), &data.0).await.expect("opens");
            for i in 0..ENTRIES {
                let detail = serde_json::json!({"amount_cents": 3000 + i, "statement": "camt.053"});
                let subject = format!("40010000{:04}", i);
                let entry = NewEntry {
                    at_ms: 1_764_633_600_000 + i64::try_from(i).expect("small") * 1000,
                    actor: if i % 3 == 0 { "system" } else { "clerk:7" },
                    action: "payment.matched",
                    subject: &subject,
                    detail: &detail,
                };
                assert_eq!(db.audit(&entry).await.expect("appends"), i + 1);
            }
            let entries = db.audit_page(0, 100).await.expect("reads");
            db.close().await;
            entries
        });
        assert_eq!(entries.len() as u64, ENTRIES);
        Self { data, backend, entries }
    }

    fn url(&self) -> String {
        match self.backend.url() {
            Some(u) => u.to_owned(),
            None => format!("sqlite://{}", self.data.0.join("server.sqlite3").display()),
        }
    }

    /// Runs `f` on a plain connection to the database, as someone with database access would.
    fn attack<T>(&self, f: impl AsyncFnOnce(&mut AnyConnection) -> T) -> T {
        block_on(async {
            sqlx::any::install_default_drivers();
            let mut conn = AnyConnection::connect(&self.url()).await.expect("connects");
            let out = f(&mut conn).await;
            conn.close().await.expect("closes");
            out
        })
    }

    /// Drops the append-only triggers, then runs the statements.
    fn tamper(&self, statements: &[&str]) {
        let drop_triggers: &[&str] = match self.backend {
            Backend::Sqlite => &["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
            Backend::Postgres(_) => {
                &["DROP TRIGGER audit_log_no_change ON audit_log", "DROP TRIGGER audit_log_no_truncate ON audit_log"]
            }
        };
        self.attack(async |conn| {
            for sql in drop_triggers.iter().chain(statements) {
                sqlx::query(sqlx::AssertSqlSafe(*sql)).execute(&mut *conn).await.expect(sql);
            }
        });
    }

    /// `fieldseal audit verify`: exit code, stdout.
    fn verify(&self) -> (i32, String) {
        let mut cmd = Command::new(bin("fieldseal"));
        cmd.args(["audit", "--data"]).arg(&self.data.0).arg("verify");
        match self.backend.url() {
            Some(u) => cmd.env("DATABASE_URL", u),
            None => cmd.env_remove("DATABASE_URL"),
        };
        let out = cmd.output().expect("fieldseal audit verify runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        (out.status.code().expect("an exit code"), format!("{stdout}{stderr}"))
    }

    /// Asserts the verifier refuses the log with `message` and vouches for the entries before
    /// `intact_before`.
    fn assert_broken(&self, message: &str, intact_before: u64) {
        let (code, out) = self.verify();
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(&format!("audit log BROKEN: {message}")), "{out}");
        assert!(
            out.contains(&format!(
                "restore the database from a backup and compare; the entries before {intact_before} are intact"
            )),
            "{out}"
        );
    }
}

fn an_intact_log_verifies(backend: Backend) {
    let log = Log::new(backend);
    let (code, out) = log.verify();
    let head = log.entries.last().expect("entries");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "audit log intact: 20 entries, last entry 20 at 2025-12-02 00:00:19 UTC, head {}",
            to_hex(&head.hash)
        )),
        "{out}"
    );
}

/// 50 appends at once on one pool (16 connections on PostgreSQL, serialized by the advisory
/// lock; one on SQLite) get seq 1 to 50 and form one chain.
fn concurrent_appends_chain_in_order(backend: Backend) {
    let data = TempDir::new("audit-race");
    let seqs = block_on(async {
        let db = Db::open(backend.url(), &data.0).await.expect("opens");
        let tasks: Vec<_> = (0..50u64)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    let detail = serde_json::json!({"task": i});
                    let entry = NewEntry {
                        at_ms: 1_764_633_600_000,
                        actor: "system",
                        action: "test.race",
                        subject: "",
                        detail: &detail,
                    };
                    db.audit(&entry).await.expect("appends")
                })
            })
            .collect();
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.expect("task"));
        }
        let verified = db.verify_audit(|_| {}).await.expect("reads").expect("intact");
        assert_eq!((verified.entries, verified.head_seq), (50, 50));
        db.close().await;
        seqs
    });
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=50).collect::<Vec<_>>(), "{seqs:?}");
}

#[test]
fn verify_without_a_database_says_so() {
    let data = TempDir::new("audit-none");
    let out = Command::new(bin("fieldseal"))
        .args(["audit", "--data"])
        .arg(&data.0)
        .arg("verify")
        .env_remove("DATABASE_URL")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no database in") && err.contains("--data"), "{err}");
    assert!(!data.0.join("server.sqlite3").exists(), "no empty database was made");
}

fn the_triggers_refuse_changes(backend: Backend) {
    let log = Log::new(backend);
    let mut refused = vec![
        "UPDATE audit_log SET detail = '{}' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 20",
        "DELETE FROM audit_log",
    ];
    if matches!(log.backend, Backend::Postgres(_)) {
        refused.push("TRUNCATE audit_log");
    }
    log.attack(async |conn| {
        for sql in refused {
            let err = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await.expect_err(sql);
            assert!(err.to_string().contains("the audit log is append-only"), "{sql}: {err}");
        }
    });
    assert_eq!(log.verify().0, 0, "nothing changed");
}

fn an_edited_entry_is_named(backend: Backend) {
    let log = Log::new(backend);
    log.tamper(&[r#"UPDATE audit_log SET detail = '{"amount_cents":1,"statement":"camt.053"}' WHERE seq = 7"#]);
    log.assert_broken("entry 7 was changed after it was written (its hash does not match its contents)", 7);
}

fn a_deleted_entry_is_named(backend: Backend) {
    let log = Log::new(backend);
    log.tamper(&["DELETE FROM audit_log WHERE seq = 9"]);
    log.assert_broken("entry 10 follows entry 8: entry 9 is missing", 9);
}

/// Entries 5 and 12 trade seq values, so each one's contents sit at the other's place. SQLite
/// reads in stored (rowid) order, where seq 12 now comes fifth; PostgreSQL reads in seq order,
/// where entry 5 holds contents hashed for another place and another predecessor.
fn swapped_seq_values_are_caught(backend: Backend) {
    let log = Log::new(backend);
    log.tamper(&[
        "UPDATE audit_log SET seq = -5 WHERE seq = 5",
        "UPDATE audit_log SET seq = 5 WHERE seq = 12",
        "UPDATE audit_log SET seq = 12 WHERE seq = -5",
    ]);
    match log.backend {
        Backend::Sqlite => log.assert_broken(
            "entry 12 is out of order: it is stored at row 5, where entry 5 belongs, and entry 5 comes later, at row 12",
            5,
        ),
        Backend::Postgres(_) => log.assert_broken("entry 5 is not the entry written as entry 5", 5),
    }
}

/// SQLite only: whole rows (seq and all) trade places in storage by swapping their rowids. On
/// PostgreSQL rows have no order of their own, so swapping whole rows changes nothing there; its
/// reorders are the swapped seq values above.
#[test]
fn swapped_rows_are_caught_in_sqlite_stored_order() {
    let log = Log::new(Backend::sqlite());
    let rowids: Vec<i64> = log.attack(async |conn| {
        sqlx::query_scalar("SELECT rowid FROM audit_log WHERE seq IN (5, 6) ORDER BY seq")
            .fetch_all(&mut *conn)
            .await
            .expect("rowids")
    });
    let [five, six] = rowids[..] else { panic!("two rows: {rowids:?}") };
    let statements = [
        "UPDATE audit_log SET rowid = -1 WHERE seq = 5".to_owned(),
        format!("UPDATE audit_log SET rowid = {five} WHERE seq = 6"),
        format!("UPDATE audit_log SET rowid = {six} WHERE seq = 5"),
    ];
    log.tamper(&statements.iter().map(String::as_str).collect::<Vec<_>>());
    log.assert_broken(
        "entry 6 is out of order: it is stored at row 5, where entry 5 belongs, and entry 5 comes later, at row 6",
        5,
    );
}

/// Entry 7's detail is edited and its hash recomputed by someone who knows the algorithm: entry
/// 7 is consistent in itself, and only entry 8's link to it breaks.
fn a_rewritten_entry_with_a_recomputed_hash_is_caught_at_the_next_link(backend: Backend) {
    let log = Log::new(backend);
    let e = &log.entries[6];
    assert_eq!(e.seq, 7);
    let detail = r#"{"amount_cents":1,"statement":"camt.053"}"#;
    let hash = entry_hash(&e.prev_hash, e.seq, e.at_ms, &e.actor, &e.action, &e.subject, detail);
    let hash = to_hex(&hash);
    let literal = match log.backend {
        Backend::Sqlite => format!("X'{hash}'"),
        Backend::Postgres(_) => format!("'\\x{hash}'::bytea"),
    };
    let update = format!("UPDATE audit_log SET detail = '{detail}', hash = {literal} WHERE seq = 7");
    log.tamper(&[&update]);
    log.assert_broken("entry 8 does not link to entry 7 (its prev_hash is not entry 7's hash)", 7);
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
