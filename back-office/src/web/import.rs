//! Importing a bank statement: parse (camt.053 / camt.054), find the ticket number in each
//! incoming transfer, seal the payer's details to the enclave, then book everything in one
//! database transaction (each bank transaction counted once).

use crate::camt::{self, Direction, EntryStatus, Message};
use crate::reference::find_tickets;
use fieldseal_core::payer::BankDetails;
use fieldseal_core::seal::{EnclavePublicKey, sha256};
use serde_json::json;

use super::backend::{OfficeBackend, Store};
use super::now_ms;
use crate::store::{Booked, EntryToBook, ImportHeader, StoreError};

/// Why a statement was not imported. Nothing was booked.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not a statement we accept.
    #[error("{0}")]
    Statement(#[from] camt::CamtError),
    /// Sealing failed.
    #[error("cannot seal a payer's details: {0}")]
    Seal(String),
    /// Storage.
    #[error(transparent)]
    Db(#[from] StoreError),
    /// The parser's worker failed.
    #[error("the statement could not be processed; try again")]
    Worker,
}

/// Transactions in the file that are not incoming payments, and why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// Outgoing (debit) entries.
    pub debits: usize,
    /// Reversals (a bank taking a booking back).
    pub reversals: usize,
    /// Pending or information-only entries (not booked yet).
    pub not_booked: usize,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The import's id.
    pub import_id: i64,
    /// e.g. `camt.053.001.08`.
    pub message_type: String,
    /// GrpHdr/MsgId.
    pub message_id: String,
    /// Statements (or notifications) in the file.
    pub reports: usize,
    /// Each incoming transaction: its amount, booking date and outcome.
    pub lines: Vec<(EntryToBookSummary, Booked)>,
    /// What was not an incoming payment.
    pub skipped: Skipped,
}

/// The clear part of a booked transaction (no payer details).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryToBookSummary {
    /// Amount in cents.
    pub amount_cents: u64,
    /// Currency.
    pub currency: String,
    /// Booking date.
    pub booking_date: time::Date,
}

impl Imported {
    /// Lines with a given outcome.
    pub fn count(&self, f: impl Fn(&Booked) -> bool) -> usize {
        self.lines.iter().filter(|(_, b)| f(b)).count()
    }
}

/// Entries whose payer details are sealed together, on all cores (HPKE is most of preparing an
/// entry, about 0.1 ms each); a batch bounds how many opened details are held at once.
const SEAL_BATCH: usize = 4096;

/// Seals entries' payer details to the zone key in batches, on as many threads as cores.
struct Sealer<'a> {
    enclave: &'a EnclavePublicKey,
    threads: usize,
    pending: Vec<(EntryToBook, BankDetails)>,
    out: Vec<EntryToBook>,
}

impl<'a> Sealer<'a> {
    fn new(enclave: &'a EnclavePublicKey) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
        Self { enclave, threads, pending: Vec::with_capacity(SEAL_BATCH), out: Vec::new() }
    }

    /// `entry` (its `sealed_details` still empty) with the details to seal into it.
    fn push(&mut self, entry: EntryToBook, details: BankDetails) -> Result<(), ImportError> {
        self.pending.push((entry, details));
        if self.pending.len() >= SEAL_BATCH { self.flush() } else { Ok(()) }
    }

    fn flush(&mut self) -> Result<(), ImportError> {
        let enclave = self.enclave;
        let chunk = self.pending.len().div_ceil(self.threads).max(1);
        std::thread::scope(|scope| {
            let workers: Vec<_> = self
                .pending
                .chunks_mut(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        for (entry, details) in part {
                            entry.sealed_details =
                                details.seal(&entry.key, enclave).map_err(|e| ImportError::Seal(e.to_string()))?;
                        }
                        Ok::<_, ImportError>(())
                    })
                })
                .collect();
            workers.into_iter().try_for_each(|w| w.join().map_err(|_| ImportError::Worker)?)
        })?;
        // The opened details are zeroized as they drop here.
        self.out.extend(self.pending.drain(..).map(|(entry, _)| entry));
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<EntryToBook>, ImportError> {
        self.flush()?;
        Ok(self.out)
    }
}

/// Turns a parsed message into bookings: keys, ticket candidates, sealed details.
pub fn prepare(message: &Message, enclave: &EnclavePublicKey) -> Result<(Vec<EntryToBook>, Skipped), ImportError> {
    let mut out = Sealer::new(enclave);
    let mut skipped = Skipped::default();
    for report in &message.reports {
        let keys = camt::transaction_keys(report);
        for (entry, entry_keys) in report.entries.iter().zip(&keys) {
            if entry.direction == Direction::Debit {
                skipped.debits += entry.transactions.len().max(1);
                continue;
            }
            if entry.reversal {
                skipped.reversals += entry.transactions.len().max(1);
                continue;
            }
            if entry.status != EntryStatus::Booked {
                skipped.not_booked += entry.transactions.len().max(1);
                continue;
            }
            let Some(booking_date) = entry.booking_date else {
                // The parser requires a booking date for booked entries.
                skipped.not_booked += entry.transactions.len().max(1);
                continue;
            };
            if entry.transactions.len() > 1 && entry.transactions.iter().any(|t| t.amount_cents.is_none()) {
                // A batch booking without single amounts: it cannot be split automatically.
                let key = format!("{}|batch", entry_keys.first().cloned().unwrap_or_default());
                let details = BankDetails {
                    payer_name: None,
                    payer_account: None,
                    remittance: entry.additional_info.iter().cloned().collect(),
                    references: Vec::new(),
                };
                let entry = EntryToBook {
                    sealed_details: Vec::new(),
                    key,
                    account: report.account.clone(),
                    amount_cents: u64::try_from(entry.amount_cents)
                        .map_err(|_| ImportError::Seal("negative".into()))?,
                    currency: entry.currency.clone(),
                    booking_date,
                    candidates: Vec::new(),
                    near_misses: Vec::new(),
                    forced_note: Some(format!(
                        "a batch booking of {} transfers without single amounts: split it with the bank's advice",
                        entry.transactions.len()
                    )),
                };
                out.push(entry, details)?;
                continue;
            }
            for (tx, key) in entry.transactions.iter().zip(entry_keys) {
                let key = key.clone();
                let mut texts: Vec<&str> = tx.creditor_refs.iter().map(String::as_str).collect();
                texts.extend(tx.unstructured.iter().map(String::as_str));
                texts.extend(tx.additional_remittance.iter().map(String::as_str));
                texts.extend(tx.additional_info.as_deref());
                if entry.transactions.len() == 1 {
                    texts.extend(entry.additional_info.as_deref());
                }
                let found = find_tickets(&texts);
                let references = [
                    ("EndToEndId", &tx.refs.end_to_end_id),
                    ("AcctSvcrRef", &tx.refs.account_servicer_ref),
                    ("TxId", &tx.refs.transaction_id),
                    ("InstrId", &tx.refs.instruction_id),
                    ("MndtId", &tx.refs.mandate_id),
                ]
                .into_iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), v.clone())))
                .collect();
                let details = BankDetails {
                    payer_name: tx.debtor_name.clone(),
                    payer_account: tx.debtor_account.clone(),
                    remittance: texts.iter().map(|t| (*t).to_owned()).collect(),
                    references,
                };
                let entry = EntryToBook {
                    key,
                    account: report.account.clone(),
                    amount_cents: u64::try_from(tx.amount_cents.unwrap_or(entry.amount_cents))
                        .map_err(|_| ImportError::Seal("negative".into()))?,
                    currency: tx.currency.clone(),
                    booking_date,
                    candidates: found.candidates.into_iter().map(|c| c.ticket).collect(),
                    near_misses: found.near_misses,
                    sealed_details: Vec::new(),
                    forced_note: None,
                };
                out.push(entry, details)?;
            }
        }
    }
    Ok((out.finish()?, skipped))
}

/// Imports one uploaded statement file for `clerk`.
pub async fn import<B: OfficeBackend>(store: &Store<B>, file: Vec<u8>, clerk: i64) -> Result<Imported, ImportError> {
    let enclave = store.backend.enclave_key();
    let (header, reports, entries, skipped) = tokio::task::spawn_blocking(move || {
        let message = camt::parse(&file)?;
        let header = ImportHeader {
            file_sha256: sha256(&file),
            message_type: message.version.clone(),
            message_id: message.message_id.clone(),
        };
        let (entries, skipped) = prepare(&message, &enclave)?;
        Ok::<_, ImportError>((header, message.reports.len(), entries, skipped))
    })
    .await
    .map_err(|_| ImportError::Worker)??;
    let (import_id, booked) = store.import_statement(&header, &entries, &json!(skipped), clerk, now_ms()).await?;
    let lines = entries
        .into_iter()
        .map(|e| EntryToBookSummary {
            amount_cents: e.amount_cents,
            currency: e.currency,
            booking_date: e.booking_date,
        })
        .zip(booked)
        .collect();
    tracing::info!(import_id, message_type = %header.message_type, "statement imported");
    Ok(Imported {
        import_id,
        message_type: header.message_type,
        message_id: header.message_id,
        reports,
        lines,
        skipped,
    })
}
