//! Why a statement was refused, and where: errors that never echo personal data.

use super::*;

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
        found: Found,
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

/// What an unsupported file is, as far as its root element and namespace tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// XML without a namespace.
    NoNamespace {
        /// The root element's name.
        root: Shown,
    },
    /// A namespace that is not ISO 20022.
    NotIso {
        /// The root element's name.
        root: Shown,
        /// The namespace.
        namespace: Shown,
    },
    /// An ISO 20022 namespace on a root element other than `<Document>`.
    WrongRoot {
        /// The message type and version.
        message: Shown,
        /// The root element's name.
        root: Shown,
    },
    /// A camt.053/054 version not read here (and not newer).
    OtherVersion(Shown),
    /// A camt.052 intraday report.
    Intraday(Shown),
    /// A payment initiation (pain) message.
    Payment(Shown),
    /// Any other ISO 20022 message.
    Other(Shown),
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::NoNamespace { root } => write!(f, "an XML document without namespace (root element {root})"),
            Found::NotIso { root, namespace } => {
                write!(f, "not an ISO 20022 message (root element {root} in namespace {namespace})")
            }
            Found::WrongRoot { message, root } => {
                write!(f, "an ISO 20022 {message} file with root element {root}, not <Document>")
            }
            Found::OtherVersion(m) => write!(f, "{m}, a version of camt.053/camt.054 not read here"),
            Found::Intraday(m) => write!(f, "a camt.052 intraday account report ({m}), not a statement"),
            Found::Payment(m) => write!(f, "a payment initiation message ({m}), not a bank statement"),
            Found::Other(m) => write!(f, "an ISO 20022 message of type {m}, not a bank statement"),
        }
    }
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
        /// The report's `Id` when already read (shown only when it looks like an id).
        id: Option<Shown>,
        /// 1-based position of the entry in the report.
        entry: Option<usize>,
        /// 1-based position of the transaction in the entry.
        transaction: Option<usize>,
    },
}

impl Place {
    pub(super) fn entry(&self, number: usize) -> Place {
        match self {
            Place::Report { kind, number: n, id, .. } => {
                Place::Report { kind: *kind, number: *n, id: id.clone(), entry: Some(number), transaction: None }
            }
            other => other.clone(),
        }
    }

    pub(super) fn transaction(&self, number: usize) -> Place {
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
pub enum Shown {
    /// The text, shown quoted.
    Quoted(String),
    /// Only the number of characters of a text that is not shown.
    Hidden(usize),
}

impl Shown {
    pub(super) fn new(text: &str, max_chars: usize, allowed: fn(char) -> bool) -> Shown {
        let count = text.chars().count();
        if count <= max_chars && text.chars().all(allowed) {
            Shown::Quoted(text.to_owned())
        } else {
            Shown::Hidden(count)
        }
    }

    pub(super) fn amount(text: &str) -> Shown {
        Shown::new(text, 40, |c| c.is_ascii_digit() || ".,+-eE ".contains(c))
    }

    pub(super) fn date(text: &str) -> Shown {
        Shown::new(text, 40, |c| c.is_ascii_digit() || "-:.+TZ ".contains(c))
    }

    pub(super) fn code(text: &str) -> Shown {
        Shown::new(text, 4, |c| c.is_ascii_alphanumeric())
    }

    pub(super) fn id(text: &str) -> Shown {
        Shown::new(text, 35, |c| c.is_ascii_graphic() && c != '"')
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Quoted(text) => write!(f, "\"{text}\""),
            Shown::Hidden(count) => write!(f, "(text of {count} characters, not shown)"),
        }
    }
}
