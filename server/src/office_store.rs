//! The host's answers to the back office in the zone: ledger, bank entries, clerk accounts and
//! the audit log, by ticket number and entry id. The zone parses statements and seals payer
//! details before they come here; the host books what it is given and never opens anything.

use fieldseal_office::store::{EntryToBook, OfficeAnswer, OfficeAsk};

use crate::db::{Actor, Db, DbError};
use crate::portal::ServerPortal;

/// Outcomes of one statement's booking sent back at most (the zone's upload limit allows fewer).
const MAX_ENTRIES: usize = 1_000_000;

/// A database failure as the office sees it (its messages name the operation, never row contents).
fn failed(e: DbError) -> OfficeAnswer {
    let unavailable = matches!(
        &e,
        DbError::Connect(_) | DbError::Query { source: sqlx::Error::PoolTimedOut | sqlx::Error::Io(_), .. }
    );
    tracing::error!(error = %e, "answering the office failed");
    OfficeAnswer::Failed { unavailable, message: e.to_string() }
}

fn refused(message: &str) -> OfficeAnswer {
    OfficeAnswer::Failed { unavailable: false, message: format!("the host cannot read that: {message}") }
}

/// Answers one office ask; the answer's attachments come with it.
pub async fn answer(
    db: &Db,
    portal: &ServerPortal,
    ask: OfficeAsk,
    parts: Vec<Vec<u8>>,
) -> (OfficeAnswer, Vec<Vec<u8>>) {
    use OfficeAnswer as A;
    let answer = match ask {
        OfficeAsk::Policy => A::Policy(db.policy().clone()),
        OfficeAsk::Clerk { id } => db.clerk(id).await.map_or_else(failed, A::Clerk),
        OfficeAsk::ClerkByName { username } => db.clerk_by_name(&username).await.map_or_else(failed, A::Clerk),
        OfficeAsk::Clerks => db.clerks().await.map_or_else(failed, A::Clerks),
        OfficeAsk::InsertClerk { username, sealed, actor, at_ms } => match Actor::from_label(&actor) {
            Some(actor) => db.insert_clerk(&username, &sealed, actor, at_ms).await.map_or_else(failed, A::Inserted),
            None => refused("an actor is `authority` or `clerk:ID`"),
        },
        OfficeAsk::UpdateClerk { id, sealed, action, actor, at_ms } => {
            match (Actor::from_label(&actor), action.as_str()) {
                (Some(actor), "clerk.disabled" | "clerk.password_reset") => {
                    match db.update_clerk(id, &sealed, &action, actor, at_ms).await {
                        Ok(true) => A::Done,
                        Ok(false) => refused("no clerk has that id"),
                        Err(e) => failed(e),
                    }
                }
                _ => refused("an account change is clerk.disabled or clerk.password_reset, by `clerk:ID`"),
            }
        }
        OfficeAsk::UseTotpStep { clerk, step } => db.use_totp_step(clerk, step).await.map_or_else(failed, A::Used),
        OfficeAsk::AuditSignIn { clerk, ok, reason, at_ms } => {
            db.audit_sign_in(clerk, ok, &reason, at_ms).await.map_or_else(failed, |()| A::Done)
        }
        OfficeAsk::Dashboard { today, since_ms } => {
            db.dashboard(today, since_ms).await.map_or_else(failed, A::Dashboard)
        }
        OfficeAsk::CasesByStatus { status, overdue_on, limit, offset } => {
            db.cases_by_status(status, overdue_on, limit.min(1_000), offset).await.map_or_else(failed, A::Cases)
        }
        OfficeAsk::LedgerCase { ticket } => db.ledger_case(&ticket).await.map_or_else(failed, A::LedgerCase),
        OfficeAsk::CaseSummary { ticket } => match portal.summary(&ticket).await {
            Ok(s) => A::CaseSummary(s),
            Err(e) => A::Failed { unavailable: true, message: e.to_string() },
        },
        OfficeAsk::Refunds { ticket } => db.refunds(&ticket).await.map_or_else(failed, A::Refunds),
        OfficeAsk::Withdraw { ticket, reason, clerk, at_ms } => {
            db.withdraw(&ticket, &reason, clerk, at_ms).await.map_or_else(failed, A::Withdrawn)
        }
        OfficeAsk::RecordRefund { ticket, amount_cents, reference, clerk, at_ms } => {
            db.record_refund(&ticket, amount_cents, &reference, clerk, at_ms).await.map_or_else(failed, A::Resolved)
        }
        OfficeAsk::DeadlineRun { today, apply, clerk, at_ms } => {
            db.deadline_run(today, apply, clerk, at_ms).await.map_or_else(failed, A::Steps)
        }
        OfficeAsk::AuditAccess { clerk, what, subject, purpose, at_ms } => {
            db.audit_access(clerk, &what, &subject, &purpose, at_ms).await.map_or_else(failed, A::Audited)
        }
        OfficeAsk::LedgerPage { refunds, after, limit } => {
            db.ledger_page(refunds, after, limit.min(2_000)).await.map_or_else(failed, A::Ledger)
        }
        OfficeAsk::AuditRecent { limit } => db.audit_recent(limit.min(1_000)).await.map_or_else(failed, A::Audit),
        OfficeAsk::AuditExport { clerk, what, at_ms } => {
            db.audit_export(clerk, &what, at_ms).await.map_or_else(failed, A::Audited)
        }
        OfficeAsk::ImportStatement { header, skipped, clerk, at_ms } => {
            let [entries] = parts.as_slice() else {
                return (refused("a statement is one attachment of entries"), vec![]);
            };
            let entries: Vec<EntryToBook> = match serde_json::from_slice(entries) {
                Ok(e) => e,
                Err(e) => return (refused(&e.to_string()), vec![]),
            };
            if entries.len() > MAX_ENTRIES {
                return (refused("too many entries in one statement"), vec![]);
            }
            return match db.import_statement(&header, &entries, &skipped, clerk, at_ms).await {
                Ok((id, booked)) => {
                    (A::Imported(id), vec![serde_json::to_vec(&booked).expect("booking outcomes serialise")])
                }
                Err(e) => (failed(e), vec![]),
            };
        }
        OfficeAsk::BankEntries { state, limit } => {
            db.bank_entries(&state, limit.min(1_000)).await.map_or_else(failed, A::BankEntries)
        }
        OfficeAsk::BankEntry { id } => db.bank_entry(id).await.map_or_else(failed, A::BankEntry),
        OfficeAsk::MatchByHand { entry_id, ticket, clerk, at_ms } => {
            db.match_by_hand(entry_id, &ticket, clerk, at_ms).await.map_or_else(failed, A::Resolved)
        }
        OfficeAsk::BookOut { entry_id, reason, clerk, at_ms } => {
            db.book_out(entry_id, &reason, clerk, at_ms).await.map_or_else(failed, A::BookedOut)
        }
        OfficeAsk::Objection { ticket } => {
            return match db.objections(&ticket).await {
                Ok(list) => match list.into_iter().next() {
                    Some(sealed) => (A::Objection(true), vec![sealed]),
                    None => (A::Objection(false), vec![]),
                },
                Err(e) => (failed(e), vec![]),
            };
        }
    };
    (answer, vec![])
}
