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

/// Why a file was refused. `Display` says where and, where it helps, what to do; it never
/// contains payer names, accounts or remittance text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CamtError {
    /// The upload is bigger than the limit (checked before parsing).
    #[error("the file is {size} bytes, more than the {limit} bytes accepted: export a shorter period")]
    TooLarge {
        /// The upload's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Not well-formed XML (or a ZIP, a PDF, an empty file).
    #[error("the file is not XML ({what}): upload the camt.053 or camt.054 XML file exported from your online banking")]
    NotXml {
        /// What is wrong, e.g. the XML parser's message with line and column.
        what: String,
    },
    /// Not UTF-8.
    #[error(
        "the file is not UTF-8 text (byte {offset} is not valid UTF-8): ISO 20022 messages are UTF-8, upload the \
         file as exported, without converting it"
    )]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The file has a `<!DOCTYPE>`, which bank files never have (refused against entity attacks).
    #[error("the file contains a document type declaration (<!DOCTYPE>), which bank statements never have; refused")]
    Doctype,
    /// More XML nodes than any bank file within the size limit has.
    #[error("the file has more than {limit} XML nodes: export a shorter period")]
    TooManyNodes {
        /// The node limit.
        limit: u32,
    },
    /// XML, but not a supported message.
    #[error(
        "this file is {found}; accepted are camt.053 bank statements and camt.054 debit/credit notifications, \
         versions 001.02 to 001.13: export the statement as camt.053 from your online banking"
    )]
    Unsupported {
        /// What the file is, e.g. `a camt.052 intraday account report (camt.052.001.08)`.
        found: String,
    },
    /// A camt.053/054 of a version newer than those read here.
    #[error(
        "this file is {found}, a newer version than the 001.02 to 001.13 read here: ask the bank for the statement as \
         camt.053.001.08 (all banks offer it), or ask the administrator to update fieldseal"
    )]
    NewerVersion {
        /// The message type and version as the file names it.
        found: String,
    },
    /// A supported message with a missing or malformed element.
    #[error("{at}: {problem}")]
    Invalid {
        /// Where in the message.
        at: Box<Place>,
        /// What is wrong there.
        problem: Box<Problem>,
    },
}

/// Where in a message a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The document as a whole.
    Message,
    /// `GrpHdr`.
    GroupHeader,
    /// A `<Stmt>` or `<Ntfctn>`, possibly an entry in it and a transaction of that entry.
    Report {
        /// Statement or notification.
        kind: MessageKind,
        /// 1-based position of the report in the message.
        number: usize,
        /// The report's `Id` when already read (sanitised for display).
        id: Option<String>,
        /// 1-based position of the entry in the report.
        entry: Option<usize>,
        /// 1-based position of the transaction in the entry.
        transaction: Option<usize>,
    },
}

impl Place {
    fn entry(&self, number: usize) -> Place {
        match self {
            Place::Report { kind, number: n, id, .. } => {
                Place::Report { kind: *kind, number: *n, id: id.clone(), entry: Some(number), transaction: None }
            }
            other => other.clone(),
        }
    }

    fn transaction(&self, number: usize) -> Place {
        match self {
            Place::Report { kind, number: n, id, entry, .. } => {
                Place::Report { kind: *kind, number: *n, id: id.clone(), entry: *entry, transaction: Some(number) }
            }
            other => other.clone(),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Message => f.write_str("message"),
            Place::GroupHeader => f.write_str("group header"),
            Place::Report { kind, number, id, entry, transaction } => {
                write!(f, "{} {number}", kind.report_word())?;
                if let Some(id) = id {
                    write!(f, " (ID {id})")?;
                }
                if let Some(entry) = entry {
                    write!(f, ", entry {entry}")?;
                }
                if let Some(tx) = transaction {
                    write!(f, ", transaction {tx}")?;
                }
                Ok(())
            }
        }
    }
}

/// What is wrong at a [`Place`]. Element names are written as paths from the place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A required element is not there.
    #[error("<{0}> is missing")]
    Missing(&'static str),
    /// The element is there, but in another XML namespace than the message's.
    #[error("<{0}> is missing (there is one in another XML namespace than the message's)")]
    WrongNamespace(&'static str),
    /// An element that may appear once appears more often.
    #[error("<{0}> appears more than once")]
    Repeated(&'static str),
    /// A required element has no text.
    #[error("<{0}> is empty")]
    Empty(&'static str),
    /// An element holds elements where text was expected.
    #[error("<{0}> holds elements where text was expected")]
    NotText(&'static str),
    /// An amount is not a valid decimal amount.
    #[error("<{element}> {text} is not a decimal amount: {reason}")]
    Amount {
        /// The element.
        element: &'static str,
        /// The text, quoted when it looks like an amount.
        text: Shown,
        /// Why.
        reason: AmountError,
    },
    /// An amount has no `Ccy` attribute.
    #[error("<{0}> has no Ccy attribute naming its currency")]
    NoCurrency(&'static str),
    /// A currency is not three capital letters.
    #[error("<{element}> currency {text} is not an ISO 4217 code of three capital letters")]
    Currency {
        /// The element.
        element: &'static str,
        /// The code as written (quoted when short).
        text: Shown,
    },
    /// A date, date-time or number is malformed.
    #[error("<{element}> {text} is not a valid {expected}")]
    Format {
        /// The element.
        element: &'static str,
        /// The text (quoted when it looks like the expected format).
        text: Shown,
        /// What was expected, e.g. `ISO date (YYYY-MM-DD)`.
        expected: &'static str,
    },
    /// A code is not one of the allowed values.
    #[error("<{element}> {text} is not one of {expected}")]
    Code {
        /// The element.
        element: &'static str,
        /// The code (quoted when short).
        text: Shown,
        /// The allowed codes.
        expected: &'static str,
    },
    /// A booked entry without booking date.
    #[error("the entry is booked but has no <BookgDt> (booking date)")]
    NoBookingDate,
    /// Some, but not all, of several `<TxDtls>` carry an amount.
    #[error(
        "{missing} of the {total} <TxDtls> carry no amount; when an entry holds several transactions, each must \
         carry its own"
    )]
    TransactionAmountsMissing {
        /// How many lack an amount.
        missing: usize,
        /// How many there are.
        total: usize,
    },
    /// The transactions' amounts do not add up to the entry's.
    #[error("the <TxDtls> amounts add up to {sum}, but the entry amount is {entry}: ask the bank for a corrected file")]
    TransactionAmountsDiffer {
        /// Their sum (opposite directions counted negative).
        sum: Money,
        /// The entry's amount.
        entry: Money,
    },
    /// No `<Stmt>`/`<Ntfctn>` in the message.
    #[error("there is no <{0}>")]
    NoReports(&'static str),
}

/// Why an amount's text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// No text.
    #[error("it is empty")]
    Empty,
    /// A decimal comma.
    #[error("ISO 20022 amounts use a point as decimal separator, not a comma")]
    Comma,
    /// A `+` or `-`.
    #[error("amounts carry no sign, the direction is in <CdtDbtInd>")]
    Sign,
    /// `1E3` and the like.
    #[error("exponent notation is not allowed")]
    Exponent,
    /// Anything else that is not digits with an optional decimal point between digits.
    #[error("only digits with an optional decimal point are allowed")]
    Syntax,
    /// More decimals than the currency has.
    #[error("{currency} has {max} decimal places")]
    TooManyDecimals {
        /// The currency.
        currency: String,
        /// Its number of decimal places.
        max: u32,
    },
    /// Does not fit into 64 bits of minor units.
    #[error("it is too large")]
    Overflow,
}

/// Text from the file shown in an error: quoted when it has the shape of what was expected
/// (an amount, a date, a code), otherwise only its length, so that personal data that ended up
/// in the wrong element is never echoed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown(String);

impl Shown {
    fn new(text: &str, max_chars: usize, allowed: fn(char) -> bool) -> Shown {
        let count = text.chars().count();
        if count <= max_chars && text.chars().all(allowed) {
            Shown(format!("\"{text}\""))
        } else {
            Shown(format!("(text of {count} characters, not shown)"))
        }
    }

    fn amount(text: &str) -> Shown {
        Shown::new(text, 40, |c| c.is_ascii_digit() || ".,+-eE ".contains(c))
    }

    fn date(text: &str) -> Shown {
        Shown::new(text, 40, |c| c.is_ascii_digit() || "-:.+TZ ".contains(c))
    }

    fn code(text: &str) -> Shown {
        Shown::new(text, 4, |c| c.is_ascii_alphanumeric())
    }

    fn id(text: &str) -> Shown {
        Shown::new(text, 35, |c| c.is_ascii_graphic() && c != '"')
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount with its currency, for messages (`12.50 EUR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    /// Minor units (wide enough for any sum of `i64` amounts).
    pub minor_units: i128,
    /// The currency.
    pub currency: String,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let places = minor_units(&self.currency);
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let abs = self.minor_units.unsigned_abs();
        let scale = 10u128.pow(places);
        if places == 0 {
            write!(f, "{sign}{abs} {}", self.currency)
        } else {
            write!(f, "{sign}{}.{:0width$} {}", abs / scale, abs % scale, self.currency, width = places as usize)
        }
    }
}

/// Decimal places of a currency's minor unit (ISO 4217): 0 for BIF, CLP, DJF, GNF, ISK, JPY,
/// KMF, KRW, PYG, RWF, UGX, UYI, VND, VUV, XAF, XOF, XPF; 3 for BHD, IQD, JOD, KWD, LYD, OMR,
/// TND; 4 for CLF and UYW; 2 for every other code. `amount_cents` fields count these units.
pub fn minor_units(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

/// Parses an amount's text (surrounding XML whitespace allowed) into minor units of `currency`.
pub(crate) fn parse_amount(text: &str, currency: &str) -> Result<i64, AmountError> {
    let t = text.trim_matches(XML_WS);
    if t.is_empty() {
        return Err(AmountError::Empty);
    }
    if t.contains(',') {
        return Err(AmountError::Comma);
    }
    if t.starts_with(['+', '-']) {
        return Err(AmountError::Sign);
    }
    if t.contains(['e', 'E']) {
        return Err(AmountError::Exponent);
    }
    let (int, frac) = match t.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (t, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (t.contains('.') && !digits(frac)) {
        return Err(AmountError::Syntax);
    }
    let places = minor_units(currency);
    if frac.len() > places as usize {
        return Err(AmountError::TooManyDecimals { currency: currency.to_owned(), max: places });
    }
    let padding = std::iter::repeat_n(b'0', places as usize - frac.len());
    let mut value: i64 = 0;
    for b in int.bytes().chain(frac.bytes()).chain(padding) {
        value = value.checked_mul(10).and_then(|v| v.checked_add(i64::from(b - b'0'))).ok_or(AmountError::Overflow)?;
    }
    Ok(value)
}

/// Parses a camt.053 or camt.054 message (see the module documentation for the rules).
/// Refuses files larger than [`MAX_STATEMENT_BYTES`] before looking at them.
pub fn parse(xml: &[u8]) -> Result<Message, CamtError> {
    parse_with_limit(xml, MAX_STATEMENT_BYTES)
}

/// [`parse`] with another size limit (tests use a small one).
pub(crate) fn parse_with_limit(xml: &[u8], limit: usize) -> Result<Message, CamtError> {
    if xml.len() > limit {
        return Err(CamtError::TooLarge { size: xml.len(), limit });
    }
    let not_xml = |what: &str| CamtError::NotXml { what: what.to_owned() };
    if xml.starts_with(b"PK\x03\x04") {
        return Err(not_xml("it is a ZIP archive; unpack it and upload the XML files inside"));
    }
    if xml.starts_with(b"%PDF") {
        return Err(not_xml("it is a PDF document"));
    }
    if xml.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(not_xml("it is empty"));
    }
    let text = std::str::from_utf8(xml).map_err(|e| CamtError::NotUtf8 { offset: e.valid_up_to() })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let options = ParsingOptions { allow_dtd: false, nodes_limit: MAX_NODES, ..ParsingOptions::default() };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => CamtError::Doctype,
        roxmltree::Error::NodesLimitReached => CamtError::TooManyNodes { limit: MAX_NODES },
        other => CamtError::NotXml { what: other.to_string() },
    })?;
    let root = doc.root_element();
    // roxmltree lets an empty `<!DOCTYPE x>` through; bank files have none at all.
    if text.get(..root.range().start).is_some_and(|prolog| prolog.contains("<!DOCTYPE")) {
        return Err(CamtError::Doctype);
    }
    let (kind, version, ns) = identify(root)?;
    let x = Xml { ns };

    let container = x.req(root, kind.container(), kind.container(), &Place::Message)?;
    let header = x.req(container, "GrpHdr", "GrpHdr", &Place::Message)?;
    let message_id = x.req_id(header, "MsgId", "MsgId", &Place::GroupHeader)?;
    let created = x.req_id(header, "CreDtTm", "CreDtTm", &Place::GroupHeader)?;
    if parse_date_time(&created).is_none() {
        return Err(invalid(&Place::GroupHeader, format_problem("CreDtTm", &created, DATE_TIME)));
    }
    let reports = x
        .kids(container, kind.report_element())
        .enumerate()
        .map(|(i, node)| x.report(node, kind, i + 1))
        .collect::<Result<Vec<_>, _>>()?;
    if reports.is_empty() {
        return Err(invalid(&Place::Message, Problem::NoReports(kind.report_element())));
    }
    Ok(Message { kind, version, message_id, created, reports })
}

/// Recognises the message from its root element and namespace.
fn identify<'a>(root: Node<'a, '_>) -> Result<(MessageKind, String, &'a str), CamtError> {
    let name = root.tag_name().name();
    let shown_name = Shown::new(name, 40, |c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    let unsupported = |found: String| CamtError::Unsupported { found };
    let Some(ns) = root.tag_name().namespace() else {
        return Err(unsupported(format!("an XML document without namespace (root element {shown_name})")));
    };
    let shown_ns = Shown::new(ns, 100, |c| c.is_ascii_graphic() && c != '"');
    let Some(message) = ns.strip_prefix(ISO_NS_PREFIX) else {
        return Err(unsupported(format!(
            "not an ISO 20022 message (root element {shown_name} in namespace {shown_ns})"
        )));
    };
    let shown_msg = Shown::new(message, 40, |c| c.is_ascii_alphanumeric() || c == '.');
    if name != "Document" {
        return Err(unsupported(format!(
            "an ISO 20022 {shown_msg} file with root element {shown_name}, not <Document>"
        )));
    }
    let parts: Vec<&str> = message.split('.').collect();
    // 001.09 to 001.13 (the 2019 edition's yearly updates) keep every element read here.
    let number =
        |v: &str| (v.len() == 2 && v.bytes().all(|b| b.is_ascii_digit())).then(|| v.parse::<u8>().ok()).flatten();
    let supported = |v: &str| number(v).is_some_and(|n| (2..=13).contains(&n));
    let kind = match parts.as_slice() {
        ["camt", "053", "001", v] if supported(v) => MessageKind::Statement,
        ["camt", "054", "001", v] if supported(v) => MessageKind::Notification,
        ["camt", "053" | "054", "001", v] if number(v).is_some_and(|n| n > 13) => {
            return Err(CamtError::NewerVersion { found: shown_msg.to_string() });
        }
        ["camt", "053" | "054", ..] => {
            return Err(unsupported(format!("{shown_msg}, a version of camt.053/camt.054 not read here")));
        }
        ["camt", "052", ..] => {
            return Err(unsupported(format!("a camt.052 intraday account report ({shown_msg}), not a statement")));
        }
        ["pain", ..] => {
            return Err(unsupported(format!("a payment initiation message ({shown_msg}), not a bank statement")));
        }
        _ => return Err(unsupported(format!("an ISO 20022 message of type {shown_msg}, not a bank statement"))),
    };
    Ok((kind, message.to_owned(), ns))
}

fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

fn invalid(at: &Place, problem: Problem) -> CamtError {
    CamtError::Invalid { at: Box::new(at.clone()), problem: Box::new(problem) }
}

const DATE: &str = "ISO date (YYYY-MM-DD)";
const DATE_TIME: &str = "ISO date and time (YYYY-MM-DDThh:mm:ss)";

fn format_problem(element: &'static str, text: &str, expected: &'static str) -> Problem {
    Problem::Format { element, text: Shown::date(text), expected }
}

/// Element access within the message's namespace.
struct Xml<'a> {
    ns: &'a str,
}

impl<'a> Xml<'a> {
    fn is(&self, node: &Node<'_, '_>, name: &str) -> bool {
        node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(self.ns)
    }

    /// The children named `name` in the message's namespace.
    fn kids<'n, 'i>(&'n self, node: Node<'n, 'i>, name: &'n str) -> impl Iterator<Item = Node<'n, 'i>> + 'n {
        node.children().filter(move |c| self.is(c, name))
    }

    /// The child named `name`, if any; refused when there are several.
    fn opt<'n, 'i>(
        &self,
        node: Node<'n, 'i>,
        name: &str,
        path: &'static str,
        at: &Place,
    ) -> Result<Option<Node<'n, 'i>>, CamtError> {
        let mut found = node.children().filter(|c| self.is(c, name));
        let first = found.next();
        if found.next().is_some() {
            return Err(invalid(at, Problem::Repeated(path)));
        }
        Ok(first)
    }

    /// The child named `name`, which must be there exactly once.
    fn req<'n, 'i>(
        &self,
        node: Node<'n, 'i>,
        name: &str,
        path: &'static str,
        at: &Place,
    ) -> Result<Node<'n, 'i>, CamtError> {
        self.opt(node, name, path, at)?.ok_or_else(|| {
            let elsewhere = node.children().any(|c| c.is_element() && c.tag_name().name() == name);
            invalid(at, if elsewhere { Problem::WrongNamespace(path) } else { Problem::Missing(path) })
        })
    }

    /// Required identifier or code: trimmed, not empty.
    fn req_id(&self, node: Node<'_, '_>, name: &str, path: &'static str, at: &Place) -> Result<String, CamtError> {
        let text = text(self.req(node, name, path, at)?, path, at)?;
        let text = text.trim_matches(XML_WS);
        if text.is_empty() {
            return Err(invalid(at, Problem::Empty(path)));
        }
        Ok(text.to_owned())
    }

    /// Optional identifier or code: trimmed; an empty element counts as absent.
    fn opt_id(
        &self,
        node: Node<'_, '_>,
        name: &str,
        path: &'static str,
        at: &Place,
    ) -> Result<Option<String>, CamtError> {
        let Some(child) = self.opt(node, name, path, at)? else { return Ok(None) };
        let text = text(child, path, at)?;
        let text = text.trim_matches(XML_WS);
        Ok((!text.is_empty()).then(|| text.to_owned()))
    }

    /// Optional free text, kept as written; blank counts as absent.
    fn opt_free(
        &self,
        node: Node<'_, '_>,
        name: &str,
        path: &'static str,
        at: &Place,
    ) -> Result<Option<String>, CamtError> {
        let Some(child) = self.opt(node, name, path, at)? else { return Ok(None) };
        free_text(child, path, at)
    }

    /// An amount element with its `Ccy` attribute.
    fn money(&self, node: Node<'_, '_>, path: &'static str, at: &Place) -> Result<(i64, String), CamtError> {
        let currency = node.attribute("Ccy").ok_or_else(|| invalid(at, Problem::NoCurrency(path)))?;
        if !is_currency(currency) {
            return Err(invalid(at, Problem::Currency { element: path, text: Shown::code(currency) }));
        }
        let text = text(node, path, at)?;
        let cents = parse_amount(&text, currency)
            .map_err(|reason| invalid(at, Problem::Amount { element: path, text: Shown::amount(&text), reason }))?;
        Ok((cents, currency.to_owned()))
    }

    /// `CdtDbtInd`.
    fn direction(&self, node: Node<'_, '_>, path: &'static str, at: &Place) -> Result<Direction, CamtError> {
        let code = self.req_id(node, "CdtDbtInd", path, at)?;
        match code.as_str() {
            "CRDT" => Ok(Direction::Credit),
            "DBIT" => Ok(Direction::Debit),
            _ => Err(invalid(at, Problem::Code { element: path, text: Shown::code(&code), expected: "CRDT, DBIT" })),
        }
    }

    /// A `DateAndDateTimeChoice` (`BookgDt`, `ValDt`): `Dt`, or the date part of `DtTm`.
    fn date_choice(
        &self,
        node: Node<'_, '_>,
        dt: &'static str,
        dt_tm: &'static str,
        at: &Place,
    ) -> Result<Date, CamtError> {
        if let Some(text) = self.opt_id(node, "Dt", dt, at)? {
            return parse_date(&text).ok_or_else(|| invalid(at, format_problem(dt, &text, DATE)));
        }
        if let Some(text) = self.opt_id(node, "DtTm", dt_tm, at)? {
            return parse_date_time(&text).ok_or_else(|| invalid(at, format_problem(dt_tm, &text, DATE_TIME)));
        }
        Err(invalid(at, Problem::Missing(dt)))
    }

    /// An account identification: `Id/IBAN`, else `Id/Othr/Id`.
    fn account_id(&self, id: Node<'_, '_>, paths: [&'static str; 3], at: &Place) -> Result<String, CamtError> {
        if let Some(iban) = self.opt_id(id, "IBAN", paths[0], at)? {
            return Ok(iban);
        }
        match self.opt(id, "Othr", paths[1], at)? {
            Some(other) => self.req_id(other, "Id", paths[2], at),
            None => Err(invalid(at, Problem::Missing(paths[0]))),
        }
    }

    fn report(&self, node: Node<'_, '_>, kind: MessageKind, number: usize) -> Result<Report, CamtError> {
        let mut at = Place::Report { kind, number, id: None, entry: None, transaction: None };
        let id = self.req_id(node, "Id", "Id", &at)?;
        at = Place::Report { kind, number, id: Some(Shown::id(&id).0), entry: None, transaction: None };
        let sequence = match self.opt_id(node, "ElctrncSeqNb", "ElctrncSeqNb", &at)? {
            None => None,
            Some(text) => Some(
                text.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| text.parse::<u64>().ok())
                    .flatten()
                    .ok_or_else(|| invalid(&at, format_problem("ElctrncSeqNb", &text, "sequence number")))?,
            ),
        };
        let account_node = self.req(node, "Acct", "Acct", &at)?;
        let account_id = self.req(account_node, "Id", "Acct/Id", &at)?;
        let account = self.account_id(account_id, ["Acct/Id/IBAN", "Acct/Id/Othr", "Acct/Id/Othr/Id"], &at)?;
        let currency = self.opt_id(account_node, "Ccy", "Acct/Ccy", &at)?;
        if let Some(ccy) = &currency
            && !is_currency(ccy)
        {
            return Err(invalid(&at, Problem::Currency { element: "Acct/Ccy", text: Shown::code(ccy) }));
        }
        let entries = self
            .kids(node, "Ntry")
            .enumerate()
            .map(|(i, entry)| self.entry(entry, i + 1, &at.entry(i + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Report { id, account, currency, sequence, entries })
    }

    fn entry(&self, node: Node<'_, '_>, number: usize, at: &Place) -> Result<Entry, CamtError> {
        let (amount_cents, currency) = self.money(self.req(node, "Amt", "Amt", at)?, "Amt", at)?;
        let direction = self.direction(node, "CdtDbtInd", at)?;
        let reversal = match self.opt_id(node, "RvslInd", "RvslInd", at)?.as_deref() {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(other) => return Err(invalid(at, format_problem("RvslInd", other, "boolean (true or false)"))),
        };
        let status = self.status(self.req(node, "Sts", "Sts", at)?, at)?;
        let booking_date = match self.opt(node, "BookgDt", "BookgDt", at)? {
            Some(n) => Some(self.date_choice(n, "BookgDt/Dt", "BookgDt/DtTm", at)?),
            None if status == EntryStatus::Booked => return Err(invalid(at, Problem::NoBookingDate)),
            None => None,
        };
        let value_date = match self.opt(node, "ValDt", "ValDt", at)? {
            Some(n) => Some(self.date_choice(n, "ValDt/Dt", "ValDt/DtTm", at)?),
            None => None,
        };
        let entry_ref = self.opt_id(node, "NtryRef", "NtryRef", at)?;
        let account_servicer_ref = self.opt_id(node, "AcctSvcrRef", "AcctSvcrRef", at)?;
        let additional_info = self.opt_free(node, "AddtlNtryInf", "AddtlNtryInf", at)?;

        let mut batch = None;
        let mut details = Vec::new();
        for dtls in self.kids(node, "NtryDtls") {
            if batch.is_none() {
                batch = self.opt(dtls, "Btch", "NtryDtls/Btch", at)?;
            }
            details.extend(self.kids(dtls, "TxDtls"));
        }
        let mut transactions = Vec::with_capacity(details.len().max(1));
        let mut own_amounts = Vec::with_capacity(details.len());
        for (i, tx) in details.into_iter().enumerate() {
            let (transaction, own) = self.transaction(tx, direction, &currency, &at.transaction(i + 1))?;
            transactions.push(transaction);
            own_amounts.push(own);
        }

        if transactions.is_empty() {
            let refs = match batch {
                Some(b) => TxRefs {
                    message_id: self.opt_id(b, "MsgId", "NtryDtls/Btch/MsgId", at)?,
                    payment_info_id: self.opt_id(b, "PmtInfId", "NtryDtls/Btch/PmtInfId", at)?,
                    ..TxRefs::default()
                },
                None => TxRefs::default(),
            };
            transactions.push(Transaction {
                amount_cents: Some(amount_cents),
                currency: currency.clone(),
                direction,
                refs,
                unstructured: Vec::new(),
                creditor_refs: Vec::new(),
                additional_remittance: Vec::new(),
                additional_info: additional_info.clone(),
                debtor_name: None,
                debtor_account: None,
            });
        } else {
            settle_amounts(&mut transactions, &own_amounts, amount_cents, &currency, direction, at)?;
        }

        Ok(Entry {
            number,
            entry_ref,
            amount_cents,
            currency,
            direction,
            reversal,
            status,
            booking_date,
            value_date,
            account_servicer_ref,
            additional_info,
            transactions,
        })
    }

    fn status(&self, node: Node<'_, '_>, at: &Place) -> Result<EntryStatus, CamtError> {
        let code = if node.children().any(|c| c.is_element()) {
            if let Some(code) = self.opt_id(node, "Cd", "Sts/Cd", at)? {
                code
            } else if let Some(proprietary) = self.opt_id(node, "Prtry", "Sts/Prtry", at)? {
                return Ok(EntryStatus::Other(proprietary));
            } else {
                return Err(invalid(at, Problem::Missing("Sts/Cd")));
            }
        } else {
            let text = text(node, "Sts", at)?;
            let text = text.trim_matches(XML_WS);
            if text.is_empty() {
                return Err(invalid(at, Problem::Empty("Sts")));
            }
            text.to_owned()
        };
        Ok(match code.as_str() {
            "BOOK" => EntryStatus::Booked,
            "PDNG" => EntryStatus::Pending,
            "INFO" => EntryStatus::Info,
            _ => EntryStatus::Other(code),
        })
    }

    /// One `<TxDtls>`, and its own amount if it has one.
    fn transaction(
        &self,
        node: Node<'_, '_>,
        entry_direction: Direction,
        entry_currency: &str,
        at: &Place,
    ) -> Result<(Transaction, Option<(i64, String)>), CamtError> {
        let refs = match self.opt(node, "Refs", "Refs", at)? {
            None => TxRefs::default(),
            Some(r) => TxRefs {
                message_id: self.opt_id(r, "MsgId", "Refs/MsgId", at)?,
                account_servicer_ref: self.opt_id(r, "AcctSvcrRef", "Refs/AcctSvcrRef", at)?,
                payment_info_id: self.opt_id(r, "PmtInfId", "Refs/PmtInfId", at)?,
                instruction_id: self.opt_id(r, "InstrId", "Refs/InstrId", at)?,
                end_to_end_id: self.opt_id(r, "EndToEndId", "Refs/EndToEndId", at)?,
                transaction_id: self.opt_id(r, "TxId", "Refs/TxId", at)?,
                mandate_id: self.opt_id(r, "MndtId", "Refs/MndtId", at)?,
            },
        };
        let own = if let Some(amount) = self.opt(node, "Amt", "Amt", at)? {
            Some(self.money(amount, "Amt", at)?)
        } else if let Some(details) = self.opt(node, "AmtDtls", "AmtDtls", at)? {
            if let Some(tx) = self.opt(details, "TxAmt", "AmtDtls/TxAmt", at)? {
                Some(self.money(self.req(tx, "Amt", "AmtDtls/TxAmt/Amt", at)?, "AmtDtls/TxAmt/Amt", at)?)
            } else if let Some(instructed) = self.opt(details, "InstdAmt", "AmtDtls/InstdAmt", at)? {
                let path = "AmtDtls/InstdAmt/Amt";
                Some(self.money(self.req(instructed, "Amt", path, at)?, path, at)?)
            } else {
                None
            }
        } else {
            None
        };
        let direction = match self.opt(node, "CdtDbtInd", "CdtDbtInd", at)? {
            Some(_) => self.direction(node, "CdtDbtInd", at)?,
            None => entry_direction,
        };

        let mut unstructured = Vec::new();
        let mut creditor_refs = Vec::new();
        let mut additional_remittance = Vec::new();
        if let Some(remittance) = self.opt(node, "RmtInf", "RmtInf", at)? {
            for line in self.kids(remittance, "Ustrd") {
                unstructured.extend(free_text(line, "RmtInf/Ustrd", at)?);
            }
            for structured in self.kids(remittance, "Strd") {
                if let Some(creditor) = self.opt(structured, "CdtrRefInf", "RmtInf/Strd/CdtrRefInf", at)? {
                    creditor_refs.extend(self.opt_id(creditor, "Ref", "RmtInf/Strd/CdtrRefInf/Ref", at)?);
                }
                for info in self.kids(structured, "AddtlRmtInf") {
                    additional_remittance.extend(free_text(info, "RmtInf/Strd/AddtlRmtInf", at)?);
                }
            }
        }
        let additional_info = self.opt_free(node, "AddtlTxInf", "AddtlTxInf", at)?;

        let mut debtor_name = None;
        let mut debtor_account = None;
        if let Some(parties) = self.opt(node, "RltdPties", "RltdPties", at)? {
            if let Some(debtor) = self.opt(parties, "Dbtr", "RltdPties/Dbtr", at)? {
                debtor_name = match self.opt(debtor, "Pty", "RltdPties/Dbtr/Pty", at)? {
                    Some(party) => self.opt_free(party, "Nm", "RltdPties/Dbtr/Pty/Nm", at)?,
                    None => self.opt_free(debtor, "Nm", "RltdPties/Dbtr/Nm", at)?,
                }
                .map(|name| name.trim_matches(XML_WS).to_owned());
            }
            if let Some(account) = self.opt(parties, "DbtrAcct", "RltdPties/DbtrAcct", at)?
                && let Some(id) = self.opt(account, "Id", "RltdPties/DbtrAcct/Id", at)?
            {
                let paths =
                    ["RltdPties/DbtrAcct/Id/IBAN", "RltdPties/DbtrAcct/Id/Othr", "RltdPties/DbtrAcct/Id/Othr/Id"];
                debtor_account = Some(self.account_id(id, paths, at)?);
            }
        }

        let transaction = Transaction {
            amount_cents: None,
            currency: entry_currency.to_owned(),
            direction,
            refs,
            unstructured,
            creditor_refs,
            additional_remittance,
            additional_info,
            debtor_name,
            debtor_account,
        };
        Ok((transaction, own))
    }
}

/// Gives each transaction its amount and checks them against the entry (module docs).
fn settle_amounts(
    transactions: &mut [Transaction],
    own: &[Option<(i64, String)>],
    entry_amount: i64,
    entry_currency: &str,
    entry_direction: Direction,
    at: &Place,
) -> Result<(), CamtError> {
    let total = own.len();
    let missing = own.iter().filter(|o| o.is_none()).count();
    if missing == total && total > 1 {
        return Ok(()); // only the entry's total is known; amounts stay None
    }
    if missing > 0 && total > 1 {
        return Err(invalid(at, Problem::TransactionAmountsMissing { missing, total }));
    }
    for (tx, own) in transactions.iter_mut().zip(own) {
        let (amount, currency) = own.clone().unwrap_or_else(|| (entry_amount, entry_currency.to_owned()));
        tx.amount_cents = Some(amount);
        tx.currency = currency;
    }
    if transactions.iter().all(|tx| tx.currency == entry_currency) {
        let sum: i128 = transactions
            .iter()
            .map(|tx| {
                let amount = i128::from(tx.amount_cents.unwrap_or(0));
                if tx.direction == entry_direction { amount } else { -amount }
            })
            .sum();
        if sum != i128::from(entry_amount) {
            let money = |minor_units| Money { minor_units, currency: entry_currency.to_owned() };
            let problem = Problem::TransactionAmountsDiffer { sum: money(sum), entry: money(i128::from(entry_amount)) };
            return Err(invalid(at, problem));
        }
    }
    Ok(())
}

/// All text of an element (text and CDATA; comments skipped); refused if it holds elements.
fn text<'a>(node: Node<'a, '_>, path: &'static str, at: &Place) -> Result<Cow<'a, str>, CamtError> {
    let mut out = Cow::Borrowed("");
    for child in node.children() {
        if child.is_element() {
            return Err(invalid(at, Problem::NotText(path)));
        }
        if let (true, Some(t)) = (child.is_text(), child.text()) {
            if out.is_empty() {
                out = Cow::Borrowed(t);
            } else {
                out.to_mut().push_str(t);
            }
        }
    }
    Ok(out)
}

/// Free text as written, or `None` when blank.
fn free_text(node: Node<'_, '_>, path: &'static str, at: &Place) -> Result<Option<String>, CamtError> {
    let text = text(node, path, at)?;
    Ok((!text.trim_matches(XML_WS).is_empty()).then(|| text.into_owned()))
}

fn two_digits(b: &[u8]) -> Option<u8> {
    match b {
        [a @ b'0'..=b'9', c @ b'0'..=b'9'] => Some((a - b'0') * 10 + (c - b'0')),
        _ => None,
    }
}

/// `YYYY-MM-DD` followed by nothing or a time zone (`Z`, `+hh:mm`), as `xs:date` allows.
fn parse_date(text: &str) -> Option<Date> {
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    valid_zone(rest).then_some(())?;
    ymd(date)
}

/// `YYYY-MM-DDThh:mm:ss`, optional fraction and time zone; the date as written.
fn parse_date_time(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() < 19 || b.get(10) != Some(&b'T') || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let (h, m, s) = (two_digits(&b[11..13])?, two_digits(&b[14..16])?, two_digits(&b[17..19])?);
    if h > 24 || m > 59 || s > 60 {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = fraction.get(digits..)?;
    }
    valid_zone(rest).then_some(())?;
    ymd(text.get(..10)?)
}

fn valid_zone(zone: &str) -> bool {
    match zone.as_bytes() {
        [] | [b'Z'] => true,
        [b'+' | b'-', h @ .., b':', m1, m2] if h.len() == 2 => {
            two_digits(h).is_some_and(|h| h <= 14) && two_digits(&[*m1, *m2]).is_some_and(|m| m <= 59)
        }
        _ => false,
    }
}

fn ymd(date: &str) -> Option<Date> {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = i32::from(two_digits(&b[0..2])?) * 100 + i32::from(two_digits(&b[2..4])?);
    let month = Month::try_from(two_digits(&b[5..7])?).ok()?;
    Date::from_calendar_date(year, month, two_digits(&b[8..10])?).ok()
}

/// A stable identity of one bank transaction, used to count it once: when the same statement
/// is imported twice, and when a transaction arrives first in a camt.054 notification and later
/// in a camt.053 statement. `tx_index` is the transaction's 0-based position in
/// `entry.transactions`.
///
/// The rule, first that applies:
/// 1. The transaction's `AcctSvcrRef` (`TxDtls/Refs`), unique by ISO 20022's definition:
///    `acct:<account>|asr:<ref>` (with `|tx:<index>` appended if another transaction of the same
///    entry carries the same reference, which a correct bank never does).
/// 2. The entry's `AcctSvcrRef` and the index: `acct:<account>|easr:<ref>|tx:<index>`.
/// 3. Otherwise `acct:<account>|h:<sha256 hex>` over the account, booking date, currency,
///    direction, reversal flag, amount, `NtryRef`, `EndToEndId`, `TxId`, the index, and how many
///    earlier entries of the same report have the same values (so that two genuinely separate,
///    identical-looking payments in one report get two keys, while importing the same report
///    again gives the same keys).
///
/// `<account>` is the report's account (our own) without whitespace, upper-cased; references
/// are bank references, written with `%`, `|` and whitespace percent-escaped. The payer's name,
/// account and remittance text never enter a key, not even hashed (the payer-chosen
/// `EndToEndId` enters rule 3's hash only).
///
/// Limits: the key recognises the same transaction in two files only when the bank writes the
/// same references in both. A bank that gives a `TxDtls/AcctSvcrRef` in the notification but
/// not in the statement, writes the account as IBAN in one and as `Othr/Id` in the other, or
/// books a notified transaction in a batch with others, produces two keys. Status is not part of
/// the key: a pending entry and its later booking share rule 1 and 2 keys (rule 3 keys differ,
/// through the booking date), so only booked entries should be keyed and counted. Rule 3 treats
/// two identical-looking payments without any bank reference in separate files of the same day
/// as one. The occurrence count makes rule 3 keys depend on the entry's `number`, so `entry`
/// must come from `report`. For a whole report use [`transaction_keys`], which gives the same
/// keys in linear time.
pub fn transaction_key(report: &Report, entry: &Entry, tx_index: usize, tx: &Transaction) -> String {
    match key_basis(report, entry, tx_index, tx) {
        KeyBasis::Reference(key) => key,
        KeyBasis::Composite(digest) => {
            let earlier = report.entries.iter().take(entry.number.saturating_sub(1)).filter(|e| {
                e.transactions
                    .get(tx_index)
                    .is_some_and(|t| matches!(key_basis(report, e, tx_index, t), KeyBasis::Composite(d) if d == digest))
            });
            composite_key(report, &digest, earlier.count())
        }
    }
}

/// The [`transaction_key`] of every transaction of a report: `keys[e][t]` belongs to
/// `report.entries[e].transactions[t]`.
pub fn transaction_keys(report: &Report) -> Vec<Vec<String>> {
    let mut seen: HashMap<[u8; 32], usize> = HashMap::new();
    report
        .entries
        .iter()
        .map(|entry| {
            entry
                .transactions
                .iter()
                .enumerate()
                .map(|(index, tx)| match key_basis(report, entry, index, tx) {
                    KeyBasis::Reference(key) => key,
                    KeyBasis::Composite(digest) => {
                        let count = seen.entry(digest).or_insert(0);
                        let key = composite_key(report, &digest, *count);
                        *count += 1;
                        key
                    }
                })
                .collect()
        })
        .collect()
}

enum KeyBasis {
    Reference(String),
    Composite([u8; 32]),
}

fn key_basis(report: &Report, entry: &Entry, tx_index: usize, tx: &Transaction) -> KeyBasis {
    let account = key_account(&report.account);
    if let Some(reference) = tx.refs.account_servicer_ref.as_deref() {
        let shared = entry
            .transactions
            .iter()
            .enumerate()
            .any(|(i, t)| i != tx_index && t.refs.account_servicer_ref.as_deref() == Some(reference));
        let suffix = if shared { format!("|tx:{tx_index}") } else { String::new() };
        return KeyBasis::Reference(format!("acct:{account}|asr:{}{suffix}", escape(reference)));
    }
    if let Some(reference) = entry.account_servicer_ref.as_deref() {
        return KeyBasis::Reference(format!("acct:{account}|easr:{}|tx:{tx_index}", escape(reference)));
    }
    let date = entry.booking_date.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()));
    let amount = match tx.amount_cents {
        Some(cents) => cents.to_string(),
        None => format!("entry:{}", entry.amount_cents),
    };
    let fields: [&str; 10] = [
        &account,
        date.as_deref().unwrap_or(""),
        &tx.currency,
        if tx.direction == Direction::Credit { "CRDT" } else { "DBIT" },
        if entry.reversal { "reversal" } else { "" },
        &amount,
        entry.entry_ref.as_deref().unwrap_or(""),
        tx.refs.end_to_end_id.as_deref().unwrap_or(""),
        tx.refs.transaction_id.as_deref().unwrap_or(""),
        &tx_index.to_string(),
    ];
    let mut hash = Sha256::new();
    hash.update(b"fieldseal camt transaction key v1\0");
    for field in fields {
        hash.update((field.len() as u64).to_be_bytes());
        hash.update(field.as_bytes());
    }
    KeyBasis::Composite(hash.finalize().into())
}

fn composite_key(report: &Report, digest: &[u8; 32], occurrence: usize) -> String {
    let mut hash = Sha256::new();
    hash.update(digest);
    hash.update((occurrence as u64).to_be_bytes());
    format!("acct:{}|h:{}", key_account(&report.account), hex::encode(hash.finalize()))
}

fn key_account(account: &str) -> String {
    escape(&account.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase())
}

fn escape(reference: &str) -> String {
    let mut out = String::with_capacity(reference.len());
    for c in reference.chars() {
        if c == '%' || c == '|' || c.is_whitespace() || c.is_control() {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/samples/camt/");
    const VRBANK_V02: &str = "camt053.v02_de_vrbank_viafintech.xml";
    const MULTI_V02: &str = "camt053.v02_multi_statement_genkgo.xml";
    const POSTFINANCE_V04: &str = "camt053.v04_ch_postfinance_multi_viafintech.xml";
    const UBS_V08: &str = "camt053.v08_ch_ubs_scor_viafintech.xml";
    const NOTIFICATION_V02: &str = "camt054.v02_strd_genkgo.xml";
    const ALL: [&str; 5] = [VRBANK_V02, MULTI_V02, POSTFINANCE_V04, UBS_V08, NOTIFICATION_V02];

    fn sample_bytes(name: &str) -> Vec<u8> {
        std::fs::read(format!("{SAMPLES}{name}")).expect("sample statement in testdata/samples/camt")
    }

    fn sample(name: &str) -> Message {
        parse(&sample_bytes(name)).expect("sample parses")
    }

    fn all_keys(message: &Message) -> Vec<String> {
        message.reports.iter().flat_map(transaction_keys).flatten().collect()
    }

    /// A minimal camt.053.001.08 statement holding `entries`.
    fn statement(entries: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-12-01T18:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-1</Id><ElctrncSeqNb>7</ElctrncSeqNb>
      <Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>
      {entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>"#
        )
    }

    /// A booked credit of 25.00 EUR with one transaction carrying personal data.
    const ENTRY: &str = r#"<Ntry><NtryRef>E1</NtryRef><Amt Ccy="EUR">25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
      <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt><ValDt><Dt>2026-12-02</Dt></ValDt>
      <AcctSvcrRef>BANKREF-1</AcctSvcrRef>
      <NtryDtls><TxDtls><Refs><AcctSvcrRef>TXREF-1</AcctSvcrRef><EndToEndId>FS-2026-000123</EndToEndId></Refs>
        <Amt Ccy="EUR">25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <RltdPties><Dbtr><Pty><Nm>Erika Mustermann</Nm></Pty></Dbtr>
          <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct></RltdPties>
        <RmtInf><Ustrd>Ticket FS-2026-000123</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"#;

    /// The minimal statement with `from` (which must occur) replaced by `to`.
    fn varied(from: &str, to: &str) -> String {
        let doc = statement(ENTRY);
        assert!(doc.contains(from), "template holds {from}");
        doc.replacen(from, to, 1)
    }

    fn refusal(xml: &str) -> String {
        parse(xml.as_bytes()).expect_err("must be refused").to_string()
    }

    #[test]
    fn samples_parse_with_the_counts_from_sources() {
        // (file, reports, entries, transactions, creditor refs, AddtlRmtInf, Ustrd)
        let expected = [
            (VRBANK_V02, 1, 4, 5, 0, 0, 5),
            (MULTI_V02, 2, 2, 2, 0, 0, 2),
            (POSTFINANCE_V04, 1, 13, 32, 10, 26, 18),
            (UBS_V08, 1, 3, 3, 2, 0, 1),
            (NOTIFICATION_V02, 1, 1, 3, 4, 4, 3),
        ];
        for (name, reports, entries, txs, creditor_refs, additional, ustrd) in expected {
            let m = sample(name);
            let all_entries = || m.reports.iter().flat_map(|r| &r.entries);
            let all_txs = || all_entries().flat_map(|e| &e.transactions);
            assert_eq!(m.reports.len(), reports, "{name} reports");
            assert_eq!(all_entries().count(), entries, "{name} entries");
            assert_eq!(all_txs().count(), txs, "{name} transactions");
            assert_eq!(all_txs().map(|t| t.creditor_refs.len()).sum::<usize>(), creditor_refs, "{name} Strd refs");
            assert_eq!(all_txs().map(|t| t.additional_remittance.len()).sum::<usize>(), additional, "{name}");
            assert_eq!(all_txs().map(|t| t.unstructured.len()).sum::<usize>(), ustrd, "{name} Ustrd");
            for (i, e) in all_entries().enumerate() {
                assert_eq!(e.status, EntryStatus::Booked, "{name} entry {i}");
                assert!(e.booking_date.is_some());
            }
        }
    }

    #[test]
    fn vrbank_v02_values() {
        let m = sample(VRBANK_V02);
        assert_eq!((m.kind, m.version.as_str()), (MessageKind::Statement, "camt.053.001.02"));
        assert_eq!(m.message_id, "053D2013-12-27T22:05:03.0N130000005");
        assert_eq!(m.created, "2013-12-27T22:04:52.0+01:00");
        let r = &m.reports[0];
        assert_eq!((r.id.as_str(), r.account.as_str()), ("0352C5320131227220503", "DE14740618130000033626"));
        assert_eq!((r.currency.as_deref(), r.sequence), (Some("EUR"), Some(130_000_005)));

        let e = &r.entries[0];
        assert_eq!((e.number, e.amount_cents, e.currency.as_str()), (1, 200, "EUR"));
        assert_eq!((e.direction, e.reversal), (Direction::Debit, false));
        assert_eq!((e.booking_date, e.value_date), (Some(date!(2013 - 12 - 27)), Some(date!(2013 - 12 - 27))));
        assert_eq!(e.entry_ref.as_deref(), Some("1234567890sdfghjk"));
        assert_eq!(e.account_servicer_ref.as_deref(), Some("2013122710583450000"));
        assert_eq!(
            e.additional_info.as_deref(),
            Some("Überweisungs-Gutschrift; GVC: SEPA Credit Transfer (Einzelbuchung-Haben)")
        );
        let t = &e.transactions[0];
        assert_eq!((t.amount_cents, t.currency.as_str()), (Some(200), "EUR"));
        assert_eq!(
            t.refs,
            TxRefs {
                message_id: None,
                account_servicer_ref: Some("BankReference".into()),
                payment_info_id: Some("PaymentIdentification".into()),
                instruction_id: None,
                end_to_end_id: Some("EndToEndReference".into()),
                transaction_id: Some("UniqueTransactionId".into()),
                mandate_id: Some("MandateReference".into()),
            }
        );
        assert_eq!(t.unstructured, ["TEST BERWEISUNG MITTELS BLZUND KONTONUMMER - DTA"]);
        assert_eq!(t.additional_info.as_deref(), Some("AdditionalTransactionInformation"));
        assert_eq!(t.debtor_name.as_deref(), Some("Wayne Enterprises"));
        assert_eq!(t.debtor_account.as_deref(), Some("DE24302201900609832118"));

        let e = &r.entries[2];
        assert_eq!((e.amount_cents, e.direction), (100, Direction::Credit));
        assert_eq!(e.transactions[0].unstructured, ["R CKBUCHUNG"]);
        assert_eq!(e.transactions[0].debtor_account.as_deref(), Some("740618130100033626"), "Othr/Id, trimmed");

        let e = &r.entries[3];
        assert_eq!(e.amount_cents, 600);
        let amounts: Vec<_> = e.transactions.iter().map(|t| t.amount_cents).collect();
        assert_eq!(amounts, [Some(350), Some(250)], "AmtDtls/TxAmt of a batch");
        assert_eq!(e.transactions[0].unstructured, ["Sammelueberwseisung 2. Zahlung   TAN:283044   "]);
        assert_eq!(e.transactions[1].unstructured, ["Sammelueberweisung 1. Zahlung   TAN:283044   "]);
        assert_eq!(e.transactions[1].refs.end_to_end_id.as_deref(), Some("STZV-EtE27122013-11:02-2"));
    }

    #[test]
    fn multi_statement_v02_values() {
        let m = sample(MULTI_V02);
        assert_eq!(m.message_id, "CAMT053RIB000000000001");
        let ids: Vec<_> = m.reports.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["253EURNL26VAYB8060476890", "254EURNL26VAYB8060476890"]);
        assert_eq!(m.reports[0].sequence, Some(12312));
        assert_eq!(m.reports[1].sequence, None);
        let (a, b) = (&m.reports[0].entries[0], &m.reports[1].entries[0]);
        assert_eq!((a.amount_cents, a.direction, a.reversal), (885, Direction::Credit, false));
        assert_eq!((a.booking_date, a.value_date), (Some(date!(2014 - 12 - 31)), Some(date!(2015 - 01 - 02))));
        assert_eq!((b.amount_cents, b.direction), (700, Direction::Debit));
        assert_eq!(a.transactions[0].unstructured, ["Transaction Description 1"]);
        assert_eq!(b.transactions[0].refs.end_to_end_id.as_deref(), Some("000000002"));
        assert!(all_keys(&m).iter().all(|k| k.starts_with("acct:NL26VAYB8060476890|h:")), "no bank references");
    }

    #[test]
    fn postfinance_v04_values() {
        let m = sample(POSTFINANCE_V04);
        let r = &m.reports[0];
        assert_eq!(m.version, "camt.053.001.04");
        assert_eq!((r.account.as_str(), r.currency.as_deref(), r.sequence), ("CH0309000000250090342", None, Some(85)));
        let e = &r.entries[6];
        assert_eq!((e.amount_cents, e.currency.as_str(), e.transactions.len()), (100_000, "CHF", 10));
        assert_eq!(e.booking_date, Some(date!(2016 - 05 - 27)));
        let t = &e.transactions[0];
        assert_eq!(t.refs.account_servicer_ref.as_deref(), Some("160527CH00T3L0GE"));
        assert_eq!((t.amount_cents, t.creditor_refs.as_slice()), (Some(10_000), &["CreditorReference".to_owned()][..]));
        assert_eq!(t.additional_remittance, ["?REJECT?0"]);
        assert_eq!(e.transactions[1].creditor_refs, ["000000000002016030002820804"]);
        let amounts: Vec<_> = r.entries[9].transactions.iter().map(|t| t.amount_cents).collect();
        assert_eq!(amounts, [Some(1500), Some(900)]);
        for e in &r.entries[11..] {
            assert_eq!((e.direction, e.reversal), (Direction::Debit, true), "entries 12 and 13 are reversals");
        }
        assert_eq!(r.entries[12].amount_cents, 1553);
        let key = transaction_key(r, e, 0, t);
        assert_eq!(key, "acct:CH0309000000250090342|asr:160527CH00T3L0GE");
    }

    #[test]
    fn ubs_v08_values() {
        let m = sample(UBS_V08);
        let r = &m.reports[0];
        assert_eq!((m.version.as_str(), m.message_id.as_str()), ("camt.053.001.08", "R39B4SA289HMZ6XA"));
        assert_eq!(
            (r.account.as_str(), r.currency.as_deref(), r.sequence),
            ("CH1111111111111111111", Some("CHF"), Some(122))
        );
        let e = &r.entries[0];
        assert_eq!((e.amount_cents, e.currency.as_str(), e.status.clone()), (47_440, "CHF", EntryStatus::Booked));
        assert_eq!(e.booking_date, Some(date!(2023 - 06 - 20)));
        let t = &e.transactions[0];
        assert_eq!(t.refs.account_servicer_ref.as_deref(), Some("9999181ZC0283079"));
        assert_eq!(t.debtor_name.as_deref(), Some("Jon Doe"), "v08 Dbtr/Pty/Nm");
        assert_eq!(
            (t.unstructured.as_slice(), t.additional_info.as_deref()),
            (&["INVOICE R77561".to_owned()][..], Some("Payment"))
        );

        let e = &r.entries[1];
        assert_eq!((e.entry_ref.as_deref(), e.amount_cents), (Some("CH700033323323241701E"), 8885));
        assert_eq!(e.transactions[0].creditor_refs, ["RF38000000000000000000552"]);
        assert_eq!(e.transactions[0].debtor_name.as_deref(), Some("Finanz AG"));

        let e = &r.entries[2];
        assert_eq!((e.amount_cents, e.currency.as_str(), e.direction), (2097, "EUR", Direction::Debit));
        let t = &e.transactions[0];
        assert_eq!((t.amount_cents, t.currency.as_str()), (Some(2097), "EUR"), "TxDtls/Amt, not InstdAmt 19.69 CHF");
        assert_eq!(t.creditor_refs, ["000000270148751802165444888"]);
        assert_eq!(t.refs.message_id.as_deref(), Some("01222ABC"));
        assert_eq!(t.refs.payment_info_id.as_deref(), Some("01222ABC-HAF"));
        assert_eq!(t.refs.instruction_id.as_deref(), Some("373502949-1208481"));
        assert_eq!(t.refs.end_to_end_id.as_deref(), Some("1208481"));
    }

    #[test]
    fn notification_054_values() {
        let m = sample(NOTIFICATION_V02);
        assert_eq!((m.kind, m.version.as_str()), (MessageKind::Notification, "camt.054.001.02"));
        assert_eq!(m.message_id, "AAAASESS-FP-ACCR001");
        let r = &m.reports[0];
        assert_eq!((r.account.as_str(), r.currency.as_deref()), ("CH2801234000123456789", None), "Acct/Id/Othr/Id");
        let e = &r.entries[0];
        assert_eq!((e.amount_cents, e.currency.as_str(), e.direction), (20_000_000, "SEK", Direction::Debit));
        assert_eq!(e.booking_date, Some(date!(2007 - 10 - 18)), "date of BookgDt/DtTm");
        assert_eq!(e.account_servicer_ref.as_deref(), Some("AAAASESS-FP-ACCR001"));
        let t = &e.transactions;
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|t| t.amount_cents.is_none() && t.currency == "SEK"), "the bank gave only the total");
        assert!(t.iter().all(|t| t.debtor_name.as_deref() == Some("MUELLER")));
        assert_eq!(t[0].unstructured, ["Unstructured Remittance Information V1"]);
        assert_eq!(t[0].creditor_refs, ["ISR ref number V1"]);
        assert_eq!(t[0].additional_remittance, ["Additional Remittance Information V1"]);
        assert!(t[1].unstructured.is_empty());
        assert_eq!(t[1].creditor_refs, ["ISR ref number V2"]);
        assert_eq!(
            t[2].unstructured,
            ["Unstructured Remittance Information V3 block 1", "Unstructured Remittance Information V3 block 2"]
        );
        assert_eq!(t[2].creditor_refs, ["Ref number V3 block 1", "Ref number V3 block 2"]);
        assert_eq!(t[2].refs.end_to_end_id.as_deref(), Some("MUELL/FINP/RA12345"));
        assert_eq!(transaction_key(r, e, 2, &t[2]), "acct:CH2801234000123456789|easr:AAAASESS-FP-ACCR001|tx:2");
    }

    #[test]
    fn keys_are_distinct_within_each_sample_and_stable() {
        for name in ALL {
            let keys = all_keys(&sample(name));
            let distinct: std::collections::HashSet<_> = keys.iter().collect();
            assert_eq!(distinct.len(), keys.len(), "{name}");
            assert_eq!(all_keys(&sample(name)), keys, "{name}: parsing twice gives the same keys");
        }
    }

    #[test]
    fn single_and_bulk_keys_agree() {
        let doc = statement(&[ENTRY, &ENTRY.replace("TXREF-1", "").replace("BANKREF-1", "")].concat().repeat(2));
        let mut messages: Vec<Message> = ALL.iter().map(|n| sample(n)).collect();
        messages.push(parse(doc.as_bytes()).expect("parses"));
        for m in &messages {
            for r in &m.reports {
                let bulk = transaction_keys(r);
                for (e, entry) in r.entries.iter().enumerate() {
                    for (t, tx) in entry.transactions.iter().enumerate() {
                        assert_eq!(transaction_key(r, entry, t, tx), bulk[e][t]);
                    }
                }
            }
        }
    }

    #[test]
    fn keys_follow_the_reference_rule() {
        let key = |xml: &str| {
            let m = parse(xml.as_bytes()).expect("parses");
            let r = &m.reports[0];
            transaction_key(r, &r.entries[0], 0, &r.entries[0].transactions[0])
        };
        assert_eq!(key(&statement(ENTRY)), "acct:DE02120300000000202051|asr:TXREF-1");
        assert_eq!(key(&varied("TXREF-1", "")), "acct:DE02120300000000202051|easr:BANKREF-1|tx:0");
        assert_eq!(key(&varied("TXREF-1", "A|B %C")), "acct:DE02120300000000202051|asr:A%7CB%20%25C");
        let composite = key(&varied("TXREF-1", "").replace("BANKREF-1", ""));
        assert!(composite.starts_with("acct:DE02120300000000202051|h:"), "{composite}");
        assert_eq!(composite.len(), "acct:DE02120300000000202051|h:".len() + 64);
    }

    #[test]
    fn key_is_the_same_in_a_notification_and_the_later_statement() {
        let statement_doc = statement(ENTRY);
        let notification_doc = statement_doc
            .replace("camt.053.001.08", "camt.054.001.08")
            .replace("BkToCstmrStmt", "BkToCstmrDbtCdtNtfctn")
            .replace("<Stmt>", "<Ntfctn>")
            .replace("</Stmt>", "</Ntfctn>")
            .replace("BANKREF-1", "NOTIF-REF-9");
        let (s, n) = (parse(statement_doc.as_bytes()).expect("053"), parse(notification_doc.as_bytes()).expect("054"));
        assert_eq!(n.kind, MessageKind::Notification);
        assert_eq!(all_keys(&s), all_keys(&n));
    }

    #[test]
    fn identical_payments_without_references_get_distinct_keys() {
        let bare = ENTRY.replace("TXREF-1", "").replace("BANKREF-1", "");
        let m = parse(statement(&bare.repeat(3)).as_bytes()).expect("parses");
        let keys = all_keys(&m);
        assert_eq!(keys.len(), 3);
        assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2], "{keys:?}");
        let first_alone = parse(statement(&bare).as_bytes()).expect("parses");
        assert_eq!(all_keys(&first_alone)[0], keys[0], "the first occurrence keeps its key");
    }

    #[test]
    fn keys_and_debug_output_hold_no_payer_data() {
        for name in ALL {
            let m = sample(name);
            let debug = format!("{m:?}");
            let keys = all_keys(&m).join("\n");
            for tx in m.reports.iter().flat_map(|r| &r.entries).flat_map(|e| &e.transactions) {
                let personal = tx.debtor_name.iter().chain(&tx.debtor_account).chain(&tx.unstructured);
                let payer = |s: &&String| s.len() > 3 && m.reports.iter().all(|r| &r.account != *s);
                for secret in personal.chain(&tx.additional_remittance).filter(payer) {
                    assert!(!keys.contains(secret.as_str()), "{name}: key holds {secret}");
                    assert!(!debug.contains(secret.as_str()), "{name}: Debug holds {secret}");
                }
            }
            let entry_infos = m.reports.iter().flat_map(|r| &r.entries).filter_map(|e| e.additional_info.as_ref());
            for info in entry_infos {
                assert!(!debug.contains(info.as_str()), "{name}: Debug holds AddtlNtryInf");
            }
        }
    }

    #[test]
    fn minimal_v08_statement_parses() {
        let m = parse(statement(ENTRY).as_bytes()).expect("parses");
        assert_eq!((m.message_id.as_str(), m.created.as_str()), ("MSG-1", "2026-12-01T18:00:00+01:00"));
        let r = &m.reports[0];
        assert_eq!((r.id.as_str(), r.sequence, r.currency.as_deref()), ("STMT-1", Some(7), Some("EUR")));
        let e = &r.entries[0];
        assert_eq!(
            (e.amount_cents, e.booking_date, e.value_date),
            (2500, Some(date!(2026 - 12 - 01)), Some(date!(2026 - 12 - 02)))
        );
        let t = &e.transactions[0];
        assert_eq!((t.amount_cents, t.direction), (Some(2500), Direction::Credit));
        assert_eq!(t.debtor_name.as_deref(), Some("Erika Mustermann"));
        assert_eq!(t.debtor_account.as_deref(), Some("DE89370400440532013000"));
        assert_eq!(t.unstructured, ["Ticket FS-2026-000123"]);

        let other_account = varied("<IBAN>DE02120300000000202051</IBAN>", "<Othr><Id> 4711 0815 </Id></Othr>");
        assert_eq!(parse(other_account.as_bytes()).expect("parses").reports[0].account, "4711 0815");
        let prefixed = statement(ENTRY).replace("<", "<c:").replace("<c:/", "</c:").replace("<c:?", "<?");
        let prefixed = prefixed.replace("xmlns=", "xmlns:c=");
        assert_eq!(
            parse(prefixed.as_bytes()).expect("prefixed elements"),
            parse(statement(ENTRY).as_bytes()).expect("plain")
        );
        let bom = format!("\u{feff}{}", statement(ENTRY));
        assert!(parse(bom.as_bytes()).is_ok(), "a UTF-8 byte order mark is fine");
        let other_versions = [
            "camt.053.001.02",
            "camt.053.001.05",
            "camt.054.001.04",
            "camt.053.001.09",
            "camt.053.001.10",
            "camt.053.001.11",
            "camt.053.001.12",
            "camt.053.001.13",
            "camt.054.001.09",
            "camt.054.001.13",
        ];
        for version in other_versions {
            let doc = varied("camt.053.001.08", version);
            let doc = if version.contains("054") {
                doc.replace("BkToCstmrStmt", "BkToCstmrDbtCdtNtfctn").replace("Stmt>", "Ntfctn>")
            } else {
                doc
            };
            assert_eq!(parse(doc.as_bytes()).expect(version).version, version);
        }
    }

    #[test]
    fn entry_without_transaction_details_becomes_one_transaction() {
        let start = ENTRY.find("<NtryDtls>").expect("template");
        let end = ENTRY.find("</NtryDtls>").expect("template") + "</NtryDtls>".len();
        let batch = r#"<NtryDtls><Btch><MsgId>BATCH-MSG</MsgId><PmtInfId>PMT-INF-3</PmtInfId></Btch></NtryDtls>
            <AddtlNtryInf>Sammelgutschrift</AddtlNtryInf>"#;
        let entry = format!("{}{batch}{}", &ENTRY[..start], &ENTRY[end..]);
        let m = parse(statement(&entry).as_bytes()).expect("parses");
        let e = &m.reports[0].entries[0];
        let t = &e.transactions[..];
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].amount_cents, t[0].currency.as_str(), t[0].direction), (Some(2500), "EUR", Direction::Credit));
        assert_eq!(t[0].refs.message_id.as_deref(), Some("BATCH-MSG"));
        assert_eq!(t[0].refs.payment_info_id.as_deref(), Some("PMT-INF-3"));
        assert_eq!(t[0].additional_info.as_deref(), Some("Sammelgutschrift"));
        assert_eq!(transaction_key(&m.reports[0], e, 0, &t[0]), "acct:DE02120300000000202051|easr:BANKREF-1|tx:0");
    }

    #[test]
    fn status_shapes_and_dates() {
        let status = |xml: String| parse(xml.as_bytes()).expect("parses").reports[0].entries[0].status.clone();
        assert_eq!(status(varied("<Sts><Cd>BOOK</Cd></Sts>", "<Sts>BOOK</Sts>")), EntryStatus::Booked);
        assert_eq!(status(varied("<Cd>BOOK</Cd>", "<Prtry>XYZ</Prtry>")), EntryStatus::Other("XYZ".into()));
        assert_eq!(status(varied("<Cd>BOOK</Cd>", "<Cd>FUTR</Cd>")), EntryStatus::Other("FUTR".into()));
        let pending = varied("<Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt>", "<Cd>PDNG</Cd></Sts>");
        let m = parse(pending.as_bytes()).expect("a pending entry needs no booking date");
        assert_eq!(
            (m.reports[0].entries[0].status.clone(), m.reports[0].entries[0].booking_date),
            (EntryStatus::Pending, None)
        );
        let date_time = varied("<Dt>2026-12-01</Dt>", "<DtTm>2026-11-30T23:30:00.123-05:00</DtTm>");
        let booked = parse(date_time.as_bytes()).expect("parses").reports[0].entries[0].booking_date;
        assert_eq!(booked, Some(date!(2026 - 11 - 30)), "the date as written, not converted");
        assert_eq!(parse_date("2024-02-29Z"), Some(date!(2024 - 02 - 29)));
        for bad in ["2026-02-30", "2026-13-01", "26-12-01", "2026-12-1", "2026/12/01", "2026-12-01T", ""] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        let bad = refusal(&varied("<Dt>2026-12-01</Dt>", "<Dt>2026-02-30</Dt>"));
        assert_eq!(
            bad,
            "statement 1 (ID \"STMT-1\"), entry 1: <BookgDt/Dt> \"2026-02-30\" is not a valid ISO date (YYYY-MM-DD)"
        );
        let reversal = varied("<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd>");
        assert!(parse(reversal.as_bytes()).expect("parses").reports[0].entries[0].reversal);
    }

    #[test]
    fn amounts_are_parsed_exactly() {
        let ok = [
            ("12.5", "EUR", 1250),
            ("12.50", "EUR", 1250),
            ("1200", "EUR", 120_000),
            ("0.01", "EUR", 1),
            ("0", "EUR", 0),
            ("007.10", "CHF", 710),
            (" 3.2\n", "EUR", 320),
            ("1500", "JPY", 1500),
            ("1.234", "KWD", 1234),
            ("92233720368547758.07", "EUR", i64::MAX),
        ];
        for (text, currency, cents) in ok {
            assert_eq!(parse_amount(text, currency), Ok(cents), "{text} {currency}");
        }
        let bad = [
            ("12,50", AmountError::Comma),
            ("1.2E3", AmountError::Exponent),
            ("-5.00", AmountError::Sign),
            ("+5.00", AmountError::Sign),
            ("", AmountError::Empty),
            ("  ", AmountError::Empty),
            ("12.", AmountError::Syntax),
            (".5", AmountError::Syntax),
            ("1 000.00", AmountError::Syntax),
            ("1.2.3", AmountError::Syntax),
            ("١٢", AmountError::Syntax),
            ("12.505", AmountError::TooManyDecimals { currency: "EUR".into(), max: 2 }),
            ("12.500", AmountError::TooManyDecimals { currency: "EUR".into(), max: 2 }),
            ("92233720368547758.08", AmountError::Overflow),
            ("99999999999999999999999", AmountError::Overflow),
        ];
        for (text, error) in bad {
            assert_eq!(parse_amount(text, "EUR"), Err(error), "{text:?}");
        }
        assert_eq!(parse_amount("5.5", "JPY"), Err(AmountError::TooManyDecimals { currency: "JPY".into(), max: 0 }));
        assert_eq!(Money { minor_units: -1234, currency: "KWD".into() }.to_string(), "-1.234 KWD");
        assert_eq!(Money { minor_units: 5, currency: "EUR".into() }.to_string(), "0.05 EUR");
    }

    #[test]
    fn bad_amounts_are_refused() {
        let at = "statement 1 (ID \"STMT-1\"), entry 1: ";
        let cases = [
            (r#"<Amt Ccy="EUR">12,50</Amt>"#, "<Amt> \"12,50\" is not a decimal amount: ISO 20022 amounts use a point"),
            (r#"<Amt Ccy="EUR">1E3</Amt>"#, "<Amt> \"1E3\" is not a decimal amount: exponent notation"),
            (r#"<Amt Ccy="EUR">-25.00</Amt>"#, "<Amt> \"-25.00\" is not a decimal amount: amounts carry no sign"),
            (r#"<Amt Ccy="EUR">25.001</Amt>"#, "<Amt> \"25.001\" is not a decimal amount: EUR has 2 decimal places"),
            (r#"<Amt Ccy="EUR"></Amt>"#, "<Amt> \"\" is not a decimal amount: it is empty"),
            (r#"<Amt Ccy="EUR">99999999999999999999</Amt>"#, "is not a decimal amount: it is too large"),
            (r#"<Amt>25.00</Amt>"#, "<Amt> has no Ccy attribute naming its currency"),
            (r#"<Amt Ccy="eur">25.00</Amt>"#, "<Amt> currency \"eur\" is not an ISO 4217 code"),
            (r#"<Amt Ccy="JPY">25.50</Amt>"#, "JPY has 0 decimal places"),
            (r#"<Amt Ccy="EUR">Erika Mustermann</Amt>"#, "<Amt> (text of 16 characters, not shown) is not a decimal"),
        ];
        for (replacement, message) in cases {
            let doc = statement(&ENTRY.replacen(r#"<Amt Ccy="EUR">25.00</Amt>"#, replacement, 1));
            let error = refusal(&doc);
            assert!(error.starts_with(at) && error.contains(message), "{replacement}: {error}");
        }
        let full = refusal(&varied(r#"<Amt Ccy="EUR">25.00</Amt>"#, r#"<Amt Ccy="EUR">12,50</Amt>"#));
        assert_eq!(
            full,
            "statement 1 (ID \"STMT-1\"), entry 1: <Amt> \"12,50\" is not a decimal amount: ISO 20022 amounts use a \
             point as decimal separator, not a comma"
        );
        let tx_amount = refusal(&varied(
            r#"<Amt Ccy="EUR">25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <RltdPties>"#,
            r#"<Amt Ccy="EUR">25,00</Amt><CdtDbtInd>CRDT</CdtDbtInd><RltdPties>"#,
        ));
        assert!(
            tx_amount.starts_with("statement 1 (ID \"STMT-1\"), entry 1, transaction 1: <Amt> \"25,00\""),
            "{tx_amount}"
        );
    }

    #[test]
    fn transaction_amounts_must_add_up() {
        let tx =
            |amount: &str, direction: &str| format!(r#"<TxDtls>{amount}<CdtDbtInd>{direction}</CdtDbtInd></TxDtls>"#);
        let entry = |total: &str, txs: &[String]| {
            statement(&format!(
                r#"<Ntry><Amt Ccy="EUR">{total}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
                <BookgDt><Dt>2026-12-01</Dt></BookgDt><NtryDtls>{}</NtryDtls></Ntry>"#,
                txs.concat()
            ))
        };
        let eur = |a: &str| format!(r#"<Amt Ccy="EUR">{a}</Amt>"#);
        let ok = entry("30.00", &[tx(&eur("20.00"), "CRDT"), tx(&eur("10.00"), "CRDT")]);
        let m = parse(ok.as_bytes()).expect("adds up");
        assert_eq!(
            m.reports[0].entries[0].transactions.iter().map(|t| t.amount_cents).collect::<Vec<_>>(),
            [Some(2000), Some(1000)]
        );

        let netted = entry("15.00", &[tx(&eur("20.00"), "CRDT"), tx(&eur("5.00"), "DBIT")]);
        let m = parse(netted.as_bytes()).expect("a debit inside a credit entry counts negative");
        assert_eq!(m.reports[0].entries[0].transactions[1].direction, Direction::Debit);

        let differ = refusal(&entry("30.00", &[tx(&eur("20.00"), "CRDT"), tx(&eur("9.99"), "CRDT")]));
        assert_eq!(
            differ,
            "statement 1 (ID \"STMT-1\"), entry 1: the <TxDtls> amounts add up to 29.99 EUR, but the entry amount is \
             30.00 EUR: ask the bank for a corrected file"
        );
        let single = refusal(&entry("30.00", &[tx(&eur("20.00"), "CRDT")]));
        assert!(single.contains("add up to 20.00 EUR, but the entry amount is 30.00 EUR"), "{single}");

        let partial = refusal(&entry("30.00", &[tx(&eur("20.00"), "CRDT"), tx("", "CRDT"), tx("", "CRDT")]));
        assert_eq!(
            partial,
            "statement 1 (ID \"STMT-1\"), entry 1: 2 of the 3 <TxDtls> carry no amount; when an entry holds several \
             transactions, each must carry its own"
        );
        let foreign = entry("30.00", &[tx(r#"<Amt Ccy="CHF">20.00</Amt>"#, "CRDT"), tx(&eur("1.00"), "CRDT")]);
        assert!(parse(foreign.as_bytes()).is_ok(), "no sum check across currencies");
        let single_without = parse(entry("30.00", &[tx("", "CRDT")]).as_bytes()).expect("takes the entry's amount");
        assert_eq!(single_without.reports[0].entries[0].transactions[0].amount_cents, Some(3000));
        let instructed = tx(r#"<AmtDtls><InstdAmt><Amt Ccy="EUR">30.00</Amt></InstdAmt></AmtDtls>"#, "CRDT");
        assert!(parse(entry("30.00", &[instructed]).as_bytes()).is_ok());
    }

    #[test]
    fn not_xml_is_refused() {
        let cases: [(&[u8], &str); 6] = [
            (b"Buchungstag;Betrag\n01.12.2026;25,00\n", "the file is not XML ("),
            (b"%PDF-1.7\n...", "the file is not XML (it is a PDF document)"),
            (b"PK\x03\x04\x14\x00", "it is a ZIP archive; unpack it"),
            (b"  \n", "the file is not XML (it is empty)"),
            (b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Document>\xfc</Document>", "is not UTF-8 text (byte"),
            (b"<a><b></a>", "the file is not XML ("),
        ];
        for (bytes, message) in cases {
            let error = parse(bytes).expect_err("refused").to_string();
            assert!(error.contains(message), "{error}");
        }
        assert!(
            refusal("<Document").contains("upload the camt.053 or camt.054 XML file exported from your online banking")
        );
    }

    #[test]
    fn truncated_files_are_refused() {
        for name in ALL {
            let bytes = sample_bytes(name);
            let end = bytes.windows(11).rposition(|w| w == b"</Document>").expect("closing tag");
            for cut in (0..end + 10).step_by(53).chain([end, end + 10]) {
                let error = parse(&bytes[..cut]).expect_err("truncated");
                assert!(
                    matches!(error, CamtError::NotXml { .. } | CamtError::NotUtf8 { .. }),
                    "{name} at {cut}: {error}"
                );
            }
        }
    }

    #[test]
    fn doctype_and_billion_laughs_are_refused() {
        let mut laughs = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE Document [\n<!ENTITY lol0 \"lol\">\n");
        for i in 1..10 {
            let refs = format!("&lol{};", i - 1).repeat(10);
            laughs.push_str(&format!("<!ENTITY lol{i} \"{refs}\">\n"));
        }
        laughs.push_str("]>\n");
        let body = statement(ENTRY);
        let body =
            body.split_once("?>").expect("declaration").1.replace("<MsgId>MSG-1</MsgId>", "<MsgId>&lol9;</MsgId>");
        laughs.push_str(&body);
        assert_eq!(parse(laughs.as_bytes()), Err(CamtError::Doctype));
        assert!(refusal(&laughs).contains("(<!DOCTYPE>)"));

        let plain = statement(ENTRY).replacen("?>", "?>\n<!DOCTYPE Document>", 1);
        assert_eq!(parse(plain.as_bytes()), Err(CamtError::Doctype), "even an empty DOCTYPE");
        let external =
            statement(ENTRY).replacen("?>", "?>\n<!DOCTYPE Document SYSTEM \"http://example.org/x.dtd\">", 1);
        assert_eq!(parse(external.as_bytes()), Err(CamtError::Doctype));
        let entity = varied("<MsgId>MSG-1</MsgId>", "<MsgId>&undefined;</MsgId>");
        assert!(refusal(&entity).starts_with("the file is not XML (unknown entity reference"));
    }

    #[test]
    fn a_newer_version_is_refused_naming_what_the_clerk_can_do() {
        let doc = statement(ENTRY).replace("camt.053.001.08", "camt.053.001.14");
        let error = parse(doc.as_bytes()).expect_err("not read").to_string();
        assert!(error.starts_with("this file is \"camt.053.001.14\", a newer version"), "{error}");
        assert!(error.contains("ask the bank for the statement as camt.053.001.08"), "{error}");
        assert!(!error.contains("export the statement as camt.053 from"), "not the advice for other files: {error}");
    }

    #[test]
    fn wrong_root_or_namespace_is_refused() {
        let accepted = "accepted are camt.053 bank statements and camt.054 debit/credit notifications, versions 001.02 \
                        to 001.13: export the statement as camt.053 from your online banking";
        let ns = r#"xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08""#;
        let cases = [
            (
                statement(ENTRY).replace(&format!(" {ns}"), ""),
                "this file is an XML document without namespace (root element \"Document\")",
            ),
            (
                statement(ENTRY).replace("camt.053.001.08", "camt.053.001.01"),
                "this file is \"camt.053.001.01\", a version of camt.053/camt.054 not read here",
            ),
            (
                statement(ENTRY).replace("camt.053.001.08", "camt.053.001.8"),
                "a version of camt.053/camt.054 not read here",
            ),
            (
                statement(ENTRY).replace("camt.053.001.08", "pain.001.001.09"),
                "this file is a payment initiation message (\"pain.001.001.09\")",
            ),
            (
                statement(ENTRY).replace("urn:iso:std:iso:20022:tech:xsd:camt.053.001.08", "http://example.org/bank"),
                "not an ISO 20022 message (root element \"Document\" in namespace \"http://example.org/bank\")",
            ),
            (
                statement(ENTRY).replace("<Document", "<Doc").replace("</Document>", "</Doc>"),
                "file with root element \"Doc\", not <Document>",
            ),
            ("<html><body>Login</body></html>".to_owned(), "without namespace (root element \"html\")"),
        ];
        for (doc, message) in cases {
            let error = refusal(&doc);
            assert!(
                error.starts_with("this file is") && error.contains(message) && error.ends_with(accepted),
                "{error}"
            );
        }
        let wrong_container = statement(ENTRY).replace("BkToCstmrStmt", "BkToCstmrDbtCdtNtfctn");
        assert_eq!(refusal(&wrong_container), "message: <BkToCstmrStmt> is missing");
    }

    #[test]
    fn camt_052_is_refused() {
        let doc =
            statement(ENTRY).replace("camt.053.001.08", "camt.052.001.08").replace("BkToCstmrStmt", "BkToCstmrAcctRpt");
        let error = refusal(&doc);
        assert!(
            error
                .starts_with("this file is a camt.052 intraday account report (\"camt.052.001.08\"), not a statement;"),
            "{error}"
        );
        assert!(error.contains("export the statement as camt.053"));
    }

    #[test]
    fn missing_required_elements_are_refused() {
        let cases = [
            (varied("<MsgId>MSG-1</MsgId>", ""), "group header: <MsgId> is missing"),
            (varied("<MsgId>MSG-1</MsgId>", "<MsgId> </MsgId>"), "group header: <MsgId> is empty"),
            (
                varied("<CreDtTm>2026-12-01T18:00:00+01:00</CreDtTm>", "<CreDtTm>yesterday</CreDtTm>"),
                "group header: <CreDtTm> (text of 9 characters, not shown) is not a valid ISO date and time",
            ),
            (varied("<Id>STMT-1</Id>", ""), "statement 1: <Id> is missing"),
            (
                varied("<IBAN>DE02120300000000202051</IBAN>", ""),
                "statement 1 (ID \"STMT-1\"): <Acct/Id/IBAN> is missing",
            ),
            (varied("<Ccy>EUR</Ccy>", "<Ccy>Euro</Ccy>"), "<Acct/Ccy> currency \"Euro\" is not an ISO 4217 code"),
            (
                varied("<ElctrncSeqNb>7</ElctrncSeqNb>", "<ElctrncSeqNb>-7</ElctrncSeqNb>"),
                "<ElctrncSeqNb> \"-7\" is not a valid sequence number",
            ),
            (
                varied("<CdtDbtInd>CRDT</CdtDbtInd>\n", ""),
                "statement 1 (ID \"STMT-1\"), entry 1: <CdtDbtInd> is missing",
            ),
            (
                varied("<CdtDbtInd>CRDT</CdtDbtInd>\n", "<CdtDbtInd>CR</CdtDbtInd>"),
                "entry 1: <CdtDbtInd> \"CR\" is not one of CRDT, DBIT",
            ),
            (varied("<Sts><Cd>BOOK</Cd></Sts>", ""), "entry 1: <Sts> is missing"),
            (varied("<Sts><Cd>BOOK</Cd></Sts>", "<Sts></Sts>"), "entry 1: <Sts> is empty"),
            (
                varied("<BookgDt><Dt>2026-12-01</Dt></BookgDt>", ""),
                "entry 1: the entry is booked but has no <BookgDt> (booking date)",
            ),
            (
                varied("<BookgDt><Dt>2026-12-01</Dt></BookgDt>", "<BookgDt></BookgDt>"),
                "entry 1: <BookgDt/Dt> is missing",
            ),
        ];
        for (doc, message) in &cases {
            let error = refusal(doc);
            assert!(error.contains(message), "expected {message:?}, got {error:?}");
        }
        let twice =
            varied("<AcctSvcrRef>BANKREF-1</AcctSvcrRef>", "<AcctSvcrRef>A</AcctSvcrRef><AcctSvcrRef>B</AcctSvcrRef>");
        assert_eq!(refusal(&twice), "statement 1 (ID \"STMT-1\"), entry 1: <AcctSvcrRef> appears more than once");
        let nested = varied("<NtryRef>E1</NtryRef>", "<NtryRef><b>E1</b></NtryRef>");
        assert!(refusal(&nested).ends_with("entry 1: <NtryRef> holds elements where text was expected"));
        let no_reports = statement("").replace("<Stmt>", "<Ignored>").replace("</Stmt>", "</Ignored>");
        assert_eq!(refusal(&no_reports), "message: there is no <Stmt>");
    }

    #[test]
    fn elements_in_another_namespace_do_not_count() {
        let foreign = varied("<MsgId>MSG-1</MsgId>", r#"<x:MsgId xmlns:x="urn:example">MSG-1</x:MsgId>"#);
        assert_eq!(
            refusal(&foreign),
            "group header: <MsgId> is missing (there is one in another XML namespace than the message's)"
        );
        let unprefixed = varied("<Stmt>", r#"<Stmt xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">"#);
        assert_eq!(refusal(&unprefixed), "message: there is no <Stmt>");
        let extra = varied("<NtryRef>E1</NtryRef>", r#"<NtryRef>E1</NtryRef><y:Note xmlns:y="urn:example">x</y:Note>"#);
        assert!(parse(extra.as_bytes()).is_ok(), "unknown elements are ignored");
    }

    #[test]
    fn errors_do_not_echo_personal_data() {
        let name = "Erika Mustermann";
        let docs = [
            varied("<CdtDbtInd>CRDT</CdtDbtInd>\n", &format!("<CdtDbtInd>{name}</CdtDbtInd>")),
            varied("<Dt>2026-12-01</Dt>", &format!("<Dt>{name}</Dt>")),
            varied("<Sts><Cd>BOOK</Cd></Sts>", &format!("<Sts><Cd>BOOK</Cd><Cd>{name}</Cd></Sts>")),
            varied(
                r#"<Amt Ccy="EUR">25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <RltdPties>"#,
                &format!(r#"<Amt Ccy="EUR">{name}</Amt><CdtDbtInd>CRDT</CdtDbtInd><RltdPties>"#),
            ),
            varied("<Id>STMT-1</Id>", &format!("<Id>{name}</Id>")).replace("<CdtDbtInd>CRDT</CdtDbtInd>\n", ""),
            varied("<Ccy>EUR</Ccy>", &format!("<Ccy>{name}</Ccy>")),
            statement(ENTRY).replace("Ticket FS-2026-000123", name).replace("<CdtDbtInd>CRDT</CdtDbtInd>\n", ""),
        ];
        for doc in docs {
            let error = refusal(&doc);
            assert!(!error.contains("Erika") && !error.contains("Mustermann"), "{error}");
            assert!(!error.contains("DE89370400440532013000"), "{error}");
        }
    }

    #[test]
    fn oversize_input_is_refused_before_parsing() {
        let doc = statement(ENTRY);
        assert!(parse_with_limit(doc.as_bytes(), doc.len()).is_ok());
        assert_eq!(
            parse_with_limit(doc.as_bytes(), doc.len() - 1),
            Err(CamtError::TooLarge { size: doc.len(), limit: doc.len() - 1 })
        );
        let junk = vec![0xff_u8; 4096];
        let error = parse_with_limit(&junk, 1024).expect_err("refused").to_string();
        assert_eq!(error, "the file is 4096 bytes, more than the 1024 bytes accepted: export a shorter period");
        assert_eq!(MAX_STATEMENT_BYTES, 268_435_456);
    }

    #[test]
    fn deep_nesting_and_many_nodes_are_harmless() {
        let deep =
            varied("<NtryRef>E1</NtryRef>", &format!("{}{}", "<Deep>".repeat(200_000), "</Deep>".repeat(200_000)));
        assert!(parse(deep.as_bytes()).is_ok(), "unknown elements are skipped, however deep");
        let many = varied("<NtryRef>E1</NtryRef>", &"<N/>".repeat(300_000));
        assert!(parse(many.as_bytes()).is_ok());
    }

    #[test]
    fn mangled_samples_never_panic() {
        for name in ALL {
            let bytes = sample_bytes(name);
            for position in (0..bytes.len()).step_by(89) {
                for replacement in [b'<', b'&', b'9', b',', 0xff] {
                    let mut mangled = bytes.clone();
                    mangled[position] = replacement;
                    let _ = parse(&mangled);
                }
                let mut spliced = bytes[..position].to_vec();
                spliced.extend_from_slice(&bytes[(position + 40).min(bytes.len())..]);
                let _ = parse(&spliced);
            }
        }
    }
}
