//! What the office's pages need from where they run (the sealed zone): the host's store over
//! the zone's store line, and the zone's own key to open what a clerk asks for with a purpose.
//! [`Store`] gives the pages one typed call per question.

use std::future::Future;

use fieldseal_core::catalogue::Offence;
use fieldseal_core::payer::BankDetails;
use fieldseal_core::policy::{Assessment, Policy, Status};
use fieldseal_core::seal::{EnclavePublicKey, VerifyingKey};
use fieldseal_core::ticket::TicketNumber;
use fieldseal_core::vault::VaultKey;
use fieldseal_core::wire::enclave::CaseView;
use fieldseal_portal::backend::CaseSummary;
use time::Date;
use zeroize::Zeroizing;

use super::accounts::{self, Account, ClerkSecret};
use crate::audit::AuditEntry;
use crate::store::{
    BankEntryRow, Booked, ClerkRow, Dashboard, DeadlineStep, EntryToBook, ImportHeader, LedgerCase, LedgerLine,
    OfficeAnswer, OfficeAsk, RefundRow, ResolveError, StoreError,
};

/// An objection as opened: the statement and the photo, if one came with it.
pub type OpenedObjection = (Zeroizing<String>, Option<Zeroizing<Vec<u8>>>);

/// The office's side of the zone.
pub trait OfficeBackend: Send + Sync + 'static {
    /// Asks the host's store; `attachments` go with the ask, the answer's come back.
    fn ask(
        &self,
        ask: OfficeAsk,
        attachments: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<(OfficeAnswer, Vec<Vec<u8>>), StoreError>> + Send;
    /// Opens a case for a clerk (`actor`) with a stated `purpose`; `Ok(None)` when there is no
    /// such case. The caller has written the opening to the audit log before.
    fn open_case(
        &self,
        ticket: &TicketNumber,
        purpose: &str,
        actor: &str,
    ) -> impl Future<Output = Result<Option<CaseView>, String>> + Send;
    /// Opens a sealed objection of `ticket`.
    fn open_objection(
        &self,
        ticket: &TicketNumber,
        sealed: Vec<u8>,
        purpose: &str,
        actor: &str,
    ) -> impl Future<Output = Result<OpenedObjection, String>> + Send;
    /// Opens a bank entry's sealed payer details.
    fn open_bank_details(
        &self,
        entry_key: &str,
        sealed: Vec<u8>,
        purpose: &str,
        actor: &str,
    ) -> Result<BankDetails, String>;
    /// The zone's public key (payer details are sealed to it).
    fn enclave_key(&self) -> EnclavePublicKey;
    /// A catalogue entry.
    fn offence(&self, code: &str) -> Option<Offence>;
    /// The authority's name (on hearing forms).
    fn authority_name(&self) -> &str;
    /// The authority's public key this zone pinned, if one was.
    fn authority_key(&self) -> Option<VerifyingKey>;
    /// The zone's vault (clerk accounts are its items).
    fn vault(&self) -> &VaultKey;
}

/// The typed questions to the store.
pub struct Store<B> {
    /// The zone's side.
    pub backend: B,
}

fn unexpected(answer: OfficeAnswer) -> StoreError {
    match answer {
        OfficeAnswer::Failed { unavailable: true, message } => StoreError::Unavailable(message),
        OfficeAnswer::Failed { unavailable: false, message } => StoreError::Internal(message),
        _ => StoreError::Internal("the host answered with another kind than asked".into()),
    }
}

macro_rules! answer {
    ($self:ident, $ask:expr, $pat:pat => $out:expr) => {
        match $self.backend.ask($ask, Vec::new()).await?.0 {
            $pat => Ok($out),
            other => Err(unexpected(other)),
        }
    };
}

impl<B: OfficeBackend> Store<B> {
    /// The deadline policy in force.
    pub async fn policy(&self) -> Result<Policy, StoreError> {
        answer!(self, OfficeAsk::Policy, OfficeAnswer::Policy(p) => p)
    }

    /// A clerk by id, its record opened; `None` also when the record does not open.
    pub async fn clerk(&self, id: i64) -> Result<Option<Account>, StoreError> {
        let row = answer!(self, OfficeAsk::Clerk { id }, OfficeAnswer::Clerk(c) => c.filter(|c| c.id == id))?;
        Ok(row.and_then(|r| self.opened(r)))
    }

    /// A clerk by sign-in name, its record opened; `None` also when the record does not open.
    pub async fn clerk_by_name(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let ask = OfficeAsk::ClerkByName { username: username.to_owned() };
        let row = answer!(self, ask, OfficeAnswer::Clerk(c) => c.filter(|c| c.username == username))?;
        Ok(row.and_then(|r| self.opened(r)))
    }

    fn opened(&self, row: ClerkRow) -> Option<Account> {
        let (id, name) = (row.id, row.username.len());
        let account = accounts::open(self.backend.vault(), row);
        if account.is_none() {
            // Not the name: it may be what a rogue operator typed.
            tracing::warn!(clerk = id, name_len = name, "a clerk account's record does not open in this zone");
        }
        account
    }

    /// Every account: its id and name, and its record when it opens.
    pub async fn clerks(&self) -> Result<Vec<(i64, String, Option<Account>)>, StoreError> {
        let rows = answer!(self, OfficeAsk::Clerks, OfficeAnswer::Clerks(c) => c)?;
        Ok(rows.into_iter().map(|r| (r.id, r.username.clone(), accounts::open(self.backend.vault(), r))).collect())
    }

    /// Keeps a new account; `None` when the name is taken.
    pub async fn insert_clerk(
        &self,
        username: &str,
        secret: &ClerkSecret,
        actor: &str,
        at_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let sealed = accounts::seal(self.backend.vault(), username, secret);
        let ask = OfficeAsk::InsertClerk { username: username.to_owned(), sealed, actor: actor.to_owned(), at_ms };
        answer!(self, ask, OfficeAnswer::Inserted(id) => id)
    }

    /// Replaces an account's record (`action` for the audit log).
    pub async fn update_clerk(
        &self,
        account: &Account,
        action: &str,
        actor: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let sealed = accounts::seal(self.backend.vault(), &account.username, &account.secret);
        let ask = OfficeAsk::UpdateClerk {
            id: account.id,
            sealed,
            action: action.to_owned(),
            actor: actor.to_owned(),
            at_ms,
        };
        answer!(self, ask, OfficeAnswer::Done => ())
    }

    /// Marks a TOTP step used; `false` when it was used before.
    pub async fn use_totp_step(&self, clerk: i64, step: u64) -> Result<bool, StoreError> {
        answer!(self, OfficeAsk::UseTotpStep { clerk, step }, OfficeAnswer::Used(u) => u)
    }

    /// A sign-in attempt for the audit log.
    pub async fn audit_sign_in(
        &self,
        clerk: Option<i64>,
        ok: bool,
        reason: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let ask = OfficeAsk::AuditSignIn { clerk, ok, reason: reason.to_owned(), at_ms };
        answer!(self, ask, OfficeAnswer::Done => ())
    }

    /// The dashboard's counts.
    pub async fn dashboard(&self, today: Date, since_ms: i64) -> Result<Dashboard, StoreError> {
        answer!(self, OfficeAsk::Dashboard { today, since_ms }, OfficeAnswer::Dashboard(d) => d)
    }

    /// Cases by stored status, or overdue on a day.
    pub async fn cases_by_status(
        &self,
        status: Option<Status>,
        overdue_on: Option<Date>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<LedgerCase>, StoreError> {
        let ask = OfficeAsk::CasesByStatus { status, overdue_on, limit, offset };
        answer!(self, ask, OfficeAnswer::Cases(c) => c)
    }

    /// One case's ledger.
    pub async fn ledger_case(&self, ticket: &TicketNumber) -> Result<Option<LedgerCase>, StoreError> {
        let ask = OfficeAsk::LedgerCase { ticket: ticket.clone() };
        answer!(self, ask, OfficeAnswer::LedgerCase(c) => c.filter(|c| c.ticket == *ticket))
    }

    /// A case's index, payments and objection time.
    pub async fn case(&self, ticket: &TicketNumber) -> Result<Option<CaseSummary>, StoreError> {
        let ask = OfficeAsk::CaseSummary { ticket: ticket.clone() };
        answer!(self, ask, OfficeAnswer::CaseSummary(c) => c.filter(|c| c.ticket == *ticket))
    }

    /// A case's refunds.
    pub async fn refunds(&self, ticket: &TicketNumber) -> Result<Vec<RefundRow>, StoreError> {
        answer!(self, OfficeAsk::Refunds { ticket: ticket.clone() }, OfficeAnswer::Refunds(r) => r)
    }

    /// Withdraws a case; `None` when there is no such case.
    pub async fn withdraw(
        &self,
        ticket: &TicketNumber,
        reason: &str,
        clerk: i64,
        at_ms: i64,
    ) -> Result<Option<Assessment>, StoreError> {
        let ask = OfficeAsk::Withdraw { ticket: ticket.clone(), reason: reason.to_owned(), clerk, at_ms };
        answer!(self, ask, OfficeAnswer::Withdrawn(a) => a)
    }

    /// Records a refund paid out.
    pub async fn record_refund(
        &self,
        ticket: &TicketNumber,
        amount_cents: u64,
        reference: &str,
        clerk: i64,
        at_ms: i64,
    ) -> Result<Result<Assessment, ResolveError>, StoreError> {
        let ask = OfficeAsk::RecordRefund {
            ticket: ticket.clone(),
            amount_cents,
            reference: reference.to_owned(),
            clerk,
            at_ms,
        };
        answer!(self, ask, OfficeAnswer::Resolved(r) => r)
    }

    /// Runs (or previews) the deadline policy.
    pub async fn deadline_run(
        &self,
        today: Date,
        apply: bool,
        clerk: i64,
        at_ms: i64,
    ) -> Result<Vec<DeadlineStep>, StoreError> {
        answer!(self, OfficeAsk::DeadlineRun { today, apply, clerk, at_ms }, OfficeAnswer::Steps(s) => s)
    }

    /// Writes an opening of personal data to the audit log (before anything is opened).
    pub async fn audit_access(
        &self,
        clerk: i64,
        what: &str,
        subject: &str,
        purpose: &str,
        at_ms: i64,
    ) -> Result<u64, StoreError> {
        let ask = OfficeAsk::AuditAccess {
            clerk,
            what: what.to_owned(),
            subject: subject.to_owned(),
            purpose: purpose.to_owned(),
            at_ms,
        };
        answer!(self, ask, OfficeAnswer::Audited(seq) => seq)
    }

    /// A page of the ledger export.
    pub async fn ledger_page(&self, refunds: bool, after: i64, limit: u32) -> Result<Vec<LedgerLine>, StoreError> {
        answer!(self, OfficeAsk::LedgerPage { refunds, after, limit }, OfficeAnswer::Ledger(l) => l)
    }

    /// The newest audit entries.
    pub async fn audit_recent(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        answer!(self, OfficeAsk::AuditRecent { limit }, OfficeAnswer::Audit(a) => a)
    }

    /// An export for the audit log.
    pub async fn audit_export(&self, clerk: i64, what: &str, at_ms: i64) -> Result<u64, StoreError> {
        answer!(self, OfficeAsk::AuditExport { clerk, what: what.to_owned(), at_ms }, OfficeAnswer::Audited(s) => s)
    }

    /// Books a statement's entries: the import's id and each entry's outcome, in order.
    pub async fn import_statement(
        &self,
        header: &ImportHeader,
        entries: &[EntryToBook],
        skipped: &serde_json::Value,
        clerk: i64,
        at_ms: i64,
    ) -> Result<(i64, Vec<Booked>), StoreError> {
        let ask = OfficeAsk::ImportStatement { header: header.clone(), skipped: skipped.clone(), clerk, at_ms };
        let json = serde_json::to_vec(entries).map_err(|e| StoreError::Internal(e.to_string()))?;
        match self.backend.ask(ask, vec![json]).await? {
            (OfficeAnswer::Imported(id), parts) if parts.len() == 1 => {
                let booked: Vec<Booked> = serde_json::from_slice(&parts[0])
                    .map_err(|_| StoreError::Internal("the host's booking outcomes do not read".into()))?;
                if booked.len() != entries.len() {
                    return Err(StoreError::Internal("the host answered for another number of entries".into()));
                }
                Ok((id, booked))
            }
            (other, _) => Err(unexpected(other)),
        }
    }

    /// Bank entries in a state.
    pub async fn bank_entries(&self, state: &str, limit: u32) -> Result<Vec<BankEntryRow>, StoreError> {
        let ask = OfficeAsk::BankEntries { state: state.to_owned(), limit };
        answer!(self, ask, OfficeAnswer::BankEntries(e) => e)
    }

    /// One bank entry.
    pub async fn bank_entry(&self, id: i64) -> Result<Option<BankEntryRow>, StoreError> {
        answer!(self, OfficeAsk::BankEntry { id }, OfficeAnswer::BankEntry(e) => e.filter(|e| e.id == id))
    }

    /// Counts an exception for a case.
    pub async fn match_by_hand(
        &self,
        entry_id: i64,
        ticket: &TicketNumber,
        clerk: i64,
        at_ms: i64,
    ) -> Result<Result<Assessment, ResolveError>, StoreError> {
        let ask = OfficeAsk::MatchByHand { entry_id, ticket: ticket.clone(), clerk, at_ms };
        answer!(self, ask, OfficeAnswer::Resolved(r) => r)
    }

    /// Books an exception out.
    pub async fn book_out(
        &self,
        entry_id: i64,
        reason: &str,
        clerk: i64,
        at_ms: i64,
    ) -> Result<Result<(), ResolveError>, StoreError> {
        let ask = OfficeAsk::BookOut { entry_id, reason: reason.to_owned(), clerk, at_ms };
        answer!(self, ask, OfficeAnswer::BookedOut(r) => r)
    }

    /// A case's sealed objection, if it has one.
    pub async fn objection(&self, ticket: &TicketNumber) -> Result<Option<Vec<u8>>, StoreError> {
        match self.backend.ask(OfficeAsk::Objection { ticket: ticket.clone() }, Vec::new()).await? {
            (OfficeAnswer::Objection(false), _) => Ok(None),
            (OfficeAnswer::Objection(true), mut parts) if parts.len() == 1 => Ok(parts.pop()),
            (other, _) => Err(unexpected(other)),
        }
    }
}
