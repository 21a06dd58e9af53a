//! ISO 20022 bank statements: camt.053 statements and camt.054 debit/credit notifications
//! (versions 001.02 to 001.13), read strictly into entries and transactions for matching.
//!
//! What is read, and how:
//! - The message is identified by its root `<Document>` and namespace
//!   (`urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN`); anything else (camt.052, pain.001, an
//!   unknown version, no namespace) is refused with an error saying what it is and what is
//!   accepted. Only elements in the message's own namespace count.
//! - Every element relied on must be there and well-formed (`GrpHdr/MsgId`, the report `Id`,
//!   `Acct/Id`, `Ntry/Amt` with `Ccy`, `CdtDbtInd`, `Sts`, `BookgDt` for booked entries, dates);
//!   the hundreds of optional elements not used here are ignored. An element read here that
//!   appears twice where the schema allows one is refused.
//! - `<Sts>` is accepted in both shapes (`<Sts>BOOK</Sts>` up to .04, `<Sts><Cd>BOOK</Cd></Sts>`
//!   from .05), whatever the version says.
//! - An entry without `<TxDtls>` becomes one [`Transaction`] from entry-level data. A
//!   transaction's own amount is `TxDtls/Amt` (v04+), else `AmtDtls/TxAmt/Amt`, else
//!   `AmtDtls/InstdAmt/Amt`; a single `<TxDtls>` without one takes the entry's amount. When an
//!   entry holds several `<TxDtls>`, either all or none carry an amount: none means the bank
//!   reported only the total, and the transactions have no amount (`amount_cents: None`). Whenever
//!   every transaction carries an amount in the entry's currency, they must add up to the entry
//!   (a transaction booked in the opposite direction counts negative).
//! - Amounts are exact: strict decimal text (`12.5`, `12.50`, `1200`), no sign, comma, exponent,
//!   or more decimals than the currency has ([`minor_units`]), parsed into integer minor units.
//! - Identifiers and codes are trimmed of surrounding whitespace; free text (`Ustrd`,
//!   `AddtlRmtInf`, `AddtlTxInf`, `AddtlNtryInf`) is kept as written.
//!
//! Safety: the size is checked before parsing ([`MAX_STATEMENT_BYTES`]); input must be UTF-8
//! (a byte order mark is skipped; the XML declaration's `encoding` is not consulted); any
//! `<!DOCTYPE>` is refused, so there is no entity expansion; the XML node count is bounded; and
//! nothing here panics on any input (`fuzz/fuzz_targets/camt.rs`).
//!
//! Personal data: payer names, payer accounts and remittance text are never part of an error
//! message, of a [`transaction_key`], or of the `Debug` output of [`Entry`] and [`Transaction`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use roxmltree::{Document, Node, ParsingOptions};
use sha2::{Digest, Sha256};
use time::{Date, Month};

/// The largest upload accepted; bigger files are refused before parsing.
pub const MAX_STATEMENT_BYTES: usize = 256 << 20;

/// At most this many XML nodes (elements and text), bounding memory whatever the file holds.
/// Real statements have about one node per 12 to 25 bytes, so this admits any file within
/// [`MAX_STATEMENT_BYTES`] written by a bank.
const MAX_NODES: u32 = 32 << 20;

const ISO_NS_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:";
const XML_WS: [char; 4] = [' ', '\t', '\r', '\n'];

/// The two kinds of message accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// camt.053, `BkToCstmrStmt`: the booked statement of an account.
    Statement,
    /// camt.054, `BkToCstmrDbtCdtNtfctn`: notifications of single credits and debits.
    Notification,
}

impl MessageKind {
    fn container(self) -> &'static str {
        match self {
            MessageKind::Statement => "BkToCstmrStmt",
            MessageKind::Notification => "BkToCstmrDbtCdtNtfctn",
        }
    }

    fn report_element(self) -> &'static str {
        match self {
            MessageKind::Statement => "Stmt",
            MessageKind::Notification => "Ntfctn",
        }
    }

    fn report_word(self) -> &'static str {
        match self {
            MessageKind::Statement => "statement",
            MessageKind::Notification => "notification",
        }
    }
}

/// A parsed camt.053 or camt.054 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Statement or notification.
    pub kind: MessageKind,
    /// The message type and version, e.g. `camt.053.001.08`.
    pub version: String,
    /// `GrpHdr/MsgId`, the bank's identifier of this message.
    pub message_id: String,
    /// `GrpHdr/CreDtTm` as written (checked to be an ISO date and time).
    pub created: String,
    /// The `<Stmt>`s (camt.053) or `<Ntfctn>`s (camt.054), in order; never empty.
    pub reports: Vec<Report>,
}

/// One `<Stmt>` (camt.053) or `<Ntfctn>` (camt.054): the entries of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `Id`, the bank's identifier of this statement or notification.
    pub id: String,
    /// The account reported on (our own): `Acct/Id/IBAN`, else `Acct/Id/Othr/Id`.
    pub account: String,
    /// `Acct/Ccy`, when given.
    pub currency: Option<String>,
    /// `ElctrncSeqNb`, when given.
    pub sequence: Option<u64>,
    /// The `<Ntry>`s, in order.
    pub entries: Vec<Entry>,
}

/// Whether money came in or went out (`CdtDbtInd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `CRDT`: money in.
    Credit,
    /// `DBIT`: money out.
    Debit,
}

/// An entry's status (`Sts`): `<Sts>BOOK</Sts>` up to .04, `<Sts><Cd>BOOK</Cd></Sts>` or
/// `<Sts><Prtry>…</Prtry></Sts>` from .05.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntryStatus {
    /// `BOOK`: booked on the account; the only status that moves money.
    Booked,
    /// `PDNG`: announced, not yet booked.
    Pending,
    /// `INFO`: for information only.
    Info,
    /// Any other code (e.g. `FUTR`) or a proprietary status, as written.
    Other(String),
}

/// One `<Ntry>`: one booking on the account, holding one or more transactions.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's 1-based position in its report, as used in error messages.
    pub number: usize,
    /// `NtryRef`, when given (not unique: banks repeat it).
    pub entry_ref: Option<String>,
    /// `Amt` in minor units of `currency`.
    pub amount_cents: i64,
    /// `Amt/@Ccy`; not necessarily the account's currency.
    pub currency: String,
    /// `CdtDbtInd`.
    pub direction: Direction,
    /// `RvslInd`: this entry reverses an earlier one.
    pub reversal: bool,
    /// `Sts`.
    pub status: EntryStatus,
    /// `BookgDt/Dt`, or the date of `BookgDt/DtTm` as written; always there for booked entries.
    pub booking_date: Option<Date>,
    /// `ValDt/Dt`, or the date of `ValDt/DtTm` as written.
    pub value_date: Option<Date>,
    /// `AcctSvcrRef`, the bank's reference of the entry.
    pub account_servicer_ref: Option<String>,
    /// `AddtlNtryInf`, free text as written; may hold personal data (banks put payer names here).
    pub additional_info: Option<String>,
    /// The transactions (one per `<TxDtls>`, or one from entry-level data); never empty.
    pub transactions: Vec<Transaction>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("number", &self.number)
            .field("entry_ref", &self.entry_ref)
            .field("amount_cents", &self.amount_cents)
            .field("currency", &self.currency)
            .field("direction", &self.direction)
            .field("reversal", &self.reversal)
            .field("status", &self.status)
            .field("booking_date", &self.booking_date)
            .field("value_date", &self.value_date)
            .field("account_servicer_ref", &self.account_servicer_ref)
            .field("transactions", &self.transactions)
            .finish_non_exhaustive()
    }
}

/// One transaction of an entry (`<TxDtls>`), with what matching needs.
#[derive(Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The amount in minor units of `currency`; `None` only when an entry holds several
    /// `<TxDtls>` and the bank gave none of them an amount (only the entry's total is known).
    pub amount_cents: Option<i64>,
    /// The amount's currency (the entry's when the amount is the entry's or unknown).
    pub currency: String,
    /// `TxDtls/CdtDbtInd` (v04+), else the entry's direction.
    pub direction: Direction,
    /// `Refs`.
    pub refs: TxRefs,
    /// `RmtInf/Ustrd`, in order, as written (personal data).
    pub unstructured: Vec<String>,
    /// `RmtInf/Strd/CdtrRefInf/Ref`, in order (e.g. an ISO 11649 `RF…` or a Swiss QR reference).
    pub creditor_refs: Vec<String>,
    /// `RmtInf/Strd/AddtlRmtInf`, in order, as written (personal data).
    pub additional_remittance: Vec<String>,
    /// `AddtlTxInf` (for an entry without `<TxDtls>`: the entry's `AddtlNtryInf`), as written.
    pub additional_info: Option<String>,
    /// `RltdPties/Dbtr/Nm` (v08: `Dbtr/Pty/Nm`) (personal data).
    pub debtor_name: Option<String>,
    /// `RltdPties/DbtrAcct/Id/IBAN`, else `…/Othr/Id` (personal data).
    pub debtor_account: Option<String>,
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("amount_cents", &self.amount_cents)
            .field("currency", &self.currency)
            .field("direction", &self.direction)
            .field("refs", &self.refs)
            .field("creditor_refs", &self.creditor_refs)
            .finish_non_exhaustive()
    }
}

/// A transaction's references (`TxDtls/Refs`; for an entry without `<TxDtls>`, the message and
/// payment information ids of `NtryDtls/Btch`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TxRefs {
    /// `MsgId`.
    pub message_id: Option<String>,
    /// `AcctSvcrRef`, the bank's reference of this transaction.
    pub account_servicer_ref: Option<String>,
    /// `PmtInfId`.
    pub payment_info_id: Option<String>,
    /// `InstrId`.
    pub instruction_id: Option<String>,
    /// `EndToEndId`, set by the payer (`NOTPROVIDED` when they did not).
    pub end_to_end_id: Option<String>,
    /// `TxId`.
    pub transaction_id: Option<String>,
    /// `MndtId`, the direct debit mandate.
    pub mandate_id: Option<String>,
}

mod amount;
mod error;
mod german;
mod key;
mod read;
#[cfg(test)]
mod tests;

pub use amount::*;
pub use error::*;
pub use key::*;
pub use read::*;
