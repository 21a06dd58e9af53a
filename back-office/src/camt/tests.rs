//! Tests of the camt reader: versions, shapes, refusals, amounts, dates and keys.

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
    let tx = |amount: &str, direction: &str| format!(r#"<TxDtls>{amount}<CdtDbtInd>{direction}</CdtDbtInd></TxDtls>"#);
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
            assert!(matches!(error, CamtError::NotXml { .. } | CamtError::NotUtf8 { .. }), "{name} at {cut}: {error}");
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
    let body = body.split_once("?>").expect("declaration").1.replace("<MsgId>MSG-1</MsgId>", "<MsgId>&lol9;</MsgId>");
    laughs.push_str(&body);
    assert_eq!(parse(laughs.as_bytes()), Err(CamtError::Doctype));
    assert!(refusal(&laughs).contains("(<!DOCTYPE>)"));

    let plain = statement(ENTRY).replacen("?>", "?>\n<!DOCTYPE Document>", 1);
    assert_eq!(parse(plain.as_bytes()), Err(CamtError::Doctype), "even an empty DOCTYPE");
    let external = statement(ENTRY).replacen("?>", "?>\n<!DOCTYPE Document SYSTEM \"http://example.org/x.dtd\">", 1);
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
        (statement(ENTRY).replace("camt.053.001.08", "camt.053.001.8"), "a version of camt.053/camt.054 not read here"),
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
        assert!(error.starts_with("this file is") && error.contains(message) && error.ends_with(accepted), "{error}");
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
        error.starts_with("this file is a camt.052 intraday account report (\"camt.052.001.08\"), not a statement;"),
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
        (varied("<IBAN>DE02120300000000202051</IBAN>", ""), "statement 1 (ID \"STMT-1\"): <Acct/Id/IBAN> is missing"),
        (varied("<Ccy>EUR</Ccy>", "<Ccy>Euro</Ccy>"), "<Acct/Ccy> currency \"Euro\" is not an ISO 4217 code"),
        (
            varied("<ElctrncSeqNb>7</ElctrncSeqNb>", "<ElctrncSeqNb>-7</ElctrncSeqNb>"),
            "<ElctrncSeqNb> \"-7\" is not a valid sequence number",
        ),
        (varied("<CdtDbtInd>CRDT</CdtDbtInd>\n", ""), "statement 1 (ID \"STMT-1\"), entry 1: <CdtDbtInd> is missing"),
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
        (varied("<BookgDt><Dt>2026-12-01</Dt></BookgDt>", "<BookgDt></BookgDt>"), "entry 1: <BookgDt/Dt> is missing"),
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
    let deep = varied("<NtryRef>E1</NtryRef>", &format!("{}{}", "<Deep>".repeat(200_000), "</Deep>".repeat(200_000)));
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
