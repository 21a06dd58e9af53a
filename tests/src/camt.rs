//! Writes ISO 20022 camt.053.001.08 bank statements for tests and benchmarks, in the shape
//! German banks export them (one `Ntry` per credit transfer, `TxDtls` with references, payer,
//! payer's account and remittance information). Parsing them is the back office's job; this
//! only writes.

use std::fmt::Write as _;

/// One incoming (or outgoing) transfer on the statement.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// Amount in cents.
    pub amount_cents: u64,
    /// Booking date `YYYY-MM-DD`.
    pub booking_date: String,
    /// The bank's reference for the transaction (unique per transaction).
    pub bank_ref: String,
    /// Payer's name.
    pub payer: String,
    /// Payer's IBAN.
    pub payer_iban: String,
    /// Unstructured remittance lines (each at most 140 characters).
    pub remittance: Vec<String>,
    /// A structured creditor reference (e.g. `RF18…`), if any.
    pub creditor_ref: Option<String>,
    /// Outgoing instead of incoming.
    pub debit: bool,
}

impl Transfer {
    /// An incoming transfer with one remittance line.
    pub fn credit(amount_cents: u64, booking_date: &str, bank_ref: &str, payer: &str, remittance: &str) -> Self {
        Self {
            amount_cents,
            booking_date: booking_date.to_owned(),
            bank_ref: bank_ref.to_owned(),
            payer: payer.to_owned(),
            payer_iban: "DE02120300000000202051".to_owned(),
            remittance: vec![remittance.to_owned()],
            creditor_ref: None,
            debit: false,
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn amount(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// A camt.053.001.08 statement of `account` (the authority's IBAN) with `transfers`.
pub fn statement(message_id: &str, account: &str, transfers: &[Transfer]) -> String {
    let mut x = String::with_capacity(512 + transfers.len() * 1400);
    let date = transfers.first().map_or("2026-12-01", |t| t.booking_date.as_str());
    let _ = write!(
        x,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrStmt>
    <GrpHdr>
      <MsgId>{mid}</MsgId>
      <CreDtTm>{date}T18:00:00+01:00</CreDtTm>
    </GrpHdr>
    <Stmt>
      <Id>{mid}-1</Id>
      <ElctrncSeqNb>1</ElctrncSeqNb>
      <CreDtTm>{date}T18:00:00+01:00</CreDtTm>
      <Acct>
        <Id><IBAN>{account}</IBAN></Id>
        <Ccy>EUR</Ccy>
        <Ownr><Nm>Stadt Musterstadt Bussgeldstelle</Nm></Ownr>
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">1000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>{date}</Dt></Dt>
      </Bal>
"#,
        mid = escape(message_id),
        account = escape(account),
    );
    for t in transfers {
        let ind = if t.debit { "DBIT" } else { "CRDT" };
        let party = if t.debit { "Cdtr" } else { "Dbtr" };
        let _ = write!(
            x,
            r#"      <Ntry>
        <Amt Ccy="EUR">{amt}</Amt>
        <CdtDbtInd>{ind}</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>{date}</Dt></BookgDt>
        <ValDt><Dt>{date}</Dt></ValDt>
        <AcctSvcrRef>{r}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>{r}</AcctSvcrRef><EndToEndId>E2E-{r}</EndToEndId></Refs>
            <Amt Ccy="EUR">{amt}</Amt>
            <CdtDbtInd>{ind}</CdtDbtInd>
            <RltdPties>
              <{party}><Pty><Nm>{payer}</Nm></Pty></{party}>
              <{party}Acct><Id><IBAN>{iban}</IBAN></Id></{party}Acct>
            </RltdPties>
            <RmtInf>
"#,
            amt = amount(t.amount_cents),
            date = escape(&t.booking_date),
            r = escape(&t.bank_ref),
            payer = escape(&t.payer),
            iban = escape(&t.payer_iban),
        );
        for line in &t.remittance {
            let _ = writeln!(x, "              <Ustrd>{}</Ustrd>", escape(line));
        }
        if let Some(cref) = &t.creditor_ref {
            let _ = writeln!(
                x,
                "              <Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{}</Ref></CdtrRefInf></Strd>",
                escape(cref)
            );
        }
        x.push_str("            </RmtInf>\n          </TxDtls>\n        </NtryDtls>\n      </Ntry>\n");
    }
    x.push_str("    </Stmt>\n  </BkToCstmrStmt>\n</Document>\n");
    x
}
