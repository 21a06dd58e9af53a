//! Reading a message: identification by namespace, the XML walk, dates and entry amounts.

use super::*;

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
pub(super) fn identify<'a>(root: Node<'a, '_>) -> Result<(MessageKind, String, &'a str), CamtError> {
    let name = root.tag_name().name();
    let shown_name = Shown::new(name, 40, |c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    let unsupported = |found: Found| CamtError::Unsupported { found };
    let Some(ns) = root.tag_name().namespace() else {
        return Err(unsupported(Found::NoNamespace { root: shown_name }));
    };
    let shown_ns = Shown::new(ns, 100, |c| c.is_ascii_graphic() && c != '"');
    let Some(message) = ns.strip_prefix(ISO_NS_PREFIX) else {
        return Err(unsupported(Found::NotIso { root: shown_name, namespace: shown_ns }));
    };
    let shown_msg = Shown::new(message, 40, |c| c.is_ascii_alphanumeric() || c == '.');
    if name != "Document" {
        return Err(unsupported(Found::WrongRoot { message: shown_msg, root: shown_name }));
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
            return Err(unsupported(Found::OtherVersion(shown_msg)));
        }
        ["camt", "052", ..] => {
            return Err(unsupported(Found::Intraday(shown_msg)));
        }
        ["pain", ..] => {
            return Err(unsupported(Found::Payment(shown_msg)));
        }
        _ => return Err(unsupported(Found::Other(shown_msg))),
    };
    Ok((kind, message.to_owned(), ns))
}

pub(super) fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

pub(super) fn invalid(at: &Place, problem: Problem) -> CamtError {
    CamtError::Invalid { at: Box::new(at.clone()), problem: Box::new(problem) }
}

pub(super) const DATE: &str = "ISO date (YYYY-MM-DD)";
pub(super) const DATE_TIME: &str = "ISO date and time (YYYY-MM-DDThh:mm:ss)";

pub(super) fn format_problem(element: &'static str, text: &str, expected: &'static str) -> Problem {
    Problem::Format { element, text: Shown::date(text), expected }
}

/// Element access within the message's namespace.
pub(super) struct Xml<'a> {
    ns: &'a str,
}

impl<'a> Xml<'a> {
    pub(super) fn is(&self, node: &Node<'_, '_>, name: &str) -> bool {
        node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(self.ns)
    }

    /// The children named `name` in the message's namespace.
    pub(super) fn kids<'n, 'i>(&'n self, node: Node<'n, 'i>, name: &'n str) -> impl Iterator<Item = Node<'n, 'i>> + 'n {
        node.children().filter(move |c| self.is(c, name))
    }

    /// The child named `name`, if any; refused when there are several.
    pub(super) fn opt<'n, 'i>(
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
    pub(super) fn req<'n, 'i>(
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
    pub(super) fn req_id(
        &self,
        node: Node<'_, '_>,
        name: &str,
        path: &'static str,
        at: &Place,
    ) -> Result<String, CamtError> {
        let text = text(self.req(node, name, path, at)?, path, at)?;
        let text = text.trim_matches(XML_WS);
        if text.is_empty() {
            return Err(invalid(at, Problem::Empty(path)));
        }
        Ok(text.to_owned())
    }

    /// Optional identifier or code: trimmed; an empty element counts as absent.
    pub(super) fn opt_id(
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
    pub(super) fn opt_free(
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
    pub(super) fn money(&self, node: Node<'_, '_>, path: &'static str, at: &Place) -> Result<(i64, String), CamtError> {
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
    pub(super) fn direction(&self, node: Node<'_, '_>, path: &'static str, at: &Place) -> Result<Direction, CamtError> {
        let code = self.req_id(node, "CdtDbtInd", path, at)?;
        match code.as_str() {
            "CRDT" => Ok(Direction::Credit),
            "DBIT" => Ok(Direction::Debit),
            _ => Err(invalid(at, Problem::Code { element: path, text: Shown::code(&code), expected: "CRDT, DBIT" })),
        }
    }

    /// A `DateAndDateTimeChoice` (`BookgDt`, `ValDt`): `Dt`, or the date part of `DtTm`.
    pub(super) fn date_choice(
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
    pub(super) fn account_id(
        &self,
        id: Node<'_, '_>,
        paths: [&'static str; 3],
        at: &Place,
    ) -> Result<String, CamtError> {
        if let Some(iban) = self.opt_id(id, "IBAN", paths[0], at)? {
            return Ok(iban);
        }
        match self.opt(id, "Othr", paths[1], at)? {
            Some(other) => self.req_id(other, "Id", paths[2], at),
            None => Err(invalid(at, Problem::Missing(paths[0]))),
        }
    }

    pub(super) fn report(&self, node: Node<'_, '_>, kind: MessageKind, number: usize) -> Result<Report, CamtError> {
        let mut at = Place::Report { kind, number, id: None, entry: None, transaction: None };
        let id = self.req_id(node, "Id", "Id", &at)?;
        at = Place::Report { kind, number, id: Some(Shown::id(&id)), entry: None, transaction: None };
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

    pub(super) fn entry(&self, node: Node<'_, '_>, number: usize, at: &Place) -> Result<Entry, CamtError> {
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

    pub(super) fn status(&self, node: Node<'_, '_>, at: &Place) -> Result<EntryStatus, CamtError> {
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
    pub(super) fn transaction(
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
pub(super) fn settle_amounts(
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
pub(super) fn text<'a>(node: Node<'a, '_>, path: &'static str, at: &Place) -> Result<Cow<'a, str>, CamtError> {
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
pub(super) fn free_text(node: Node<'_, '_>, path: &'static str, at: &Place) -> Result<Option<String>, CamtError> {
    let text = text(node, path, at)?;
    Ok((!text.trim_matches(XML_WS).is_empty()).then(|| text.into_owned()))
}

pub(super) fn two_digits(b: &[u8]) -> Option<u8> {
    match b {
        [a @ b'0'..=b'9', c @ b'0'..=b'9'] => Some((a - b'0') * 10 + (c - b'0')),
        _ => None,
    }
}

/// `YYYY-MM-DD` followed by nothing or a time zone (`Z`, `+hh:mm`), as `xs:date` allows.
pub(super) fn parse_date(text: &str) -> Option<Date> {
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    valid_zone(rest).then_some(())?;
    ymd(date)
}

/// `YYYY-MM-DDThh:mm:ss`, optional fraction and time zone; the date as written.
pub(super) fn parse_date_time(text: &str) -> Option<Date> {
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

pub(super) fn valid_zone(zone: &str) -> bool {
    match zone.as_bytes() {
        [] | [b'Z'] => true,
        [b'+' | b'-', h @ .., b':', m1, m2] if h.len() == 2 => {
            two_digits(h).is_some_and(|h| h <= 14) && two_digits(&[*m1, *m2]).is_some_and(|m| m <= 59)
        }
        _ => false,
    }
}

pub(super) fn ymd(date: &str) -> Option<Date> {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = i32::from(two_digits(&b[0..2])?) * 100 + i32::from(two_digits(&b[2..4])?);
    let month = Month::try_from(two_digits(&b[5..7])?).ok()?;
    Date::from_calendar_date(year, month, two_digits(&b[8..10])?).ok()
}
