use super::*;
use fieldseal_office::policy::Policy;
use time::macros::date;

const CLERK: i64 = 1;

/// A database with one clerk and `n` open cases of 30.00 EUR due on 2026-12-09, inserted
/// directly (the sync path is tested end to end elsewhere).
async fn ledger(dir: &tempfile::TempDir, policy: Policy, n: u32) -> (Db, Vec<TicketNumber>) {
    let db = Db::open(None, dir.path()).await.expect("opens").with_policy(policy);
    let id = db.insert_clerk("anna", b"sealed by the zone", Actor::Admin, 0).await.expect("clerk");
    assert_eq!(id, Some(CLERK));
    sqlx::query("INSERT INTO devices VALUES ($1, 1, $2, 'test', 0)")
        .bind(vec![1u8; 16])
        .bind(vec![2u8; 32])
        .execute(&db.pool)
        .await
        .expect("device");
    let mut tickets = Vec::new();
    for i in 0..n {
        let envelope = vec![u8::try_from(i).expect("small"); 16];
        sqlx::query("INSERT INTO envelopes VALUES ($1, $2, $3, $4, $4, $5, 0, 0)")
            .bind(envelope.clone())
            .bind(vec![1u8; 16])
            .bind(i64::from(i))
            .bind(vec![0u8; 32])
            .bind(vec![9u8; 8])
            .execute(&db.pool)
            .await
            .expect("envelope");
        let t = TicketNumber::issue(1, i + 1).expect("ticket");
        sqlx::query(
            "INSERT INTO cases (ticket_number, envelope_id, total_cents, due_date, offence_codes, status, indexed_at_ms)
             VALUES ($1, $2, 3000, '2026-12-09', '112102', 'open', 0)",
        )
        .bind(t.digits())
        .bind(envelope)
        .execute(&db.pool)
        .await
        .expect("case");
        tickets.push(t);
    }
    (db, tickets)
}

fn entry(key: &str, cents: u64, booked: Date, candidates: Vec<TicketNumber>) -> EntryToBook {
    EntryToBook {
        key: key.to_owned(),
        account: "DE71110220330123456789".into(),
        amount_cents: cents,
        currency: "EUR".into(),
        booking_date: booked,
        candidates,
        near_misses: Vec::new(),
        sealed_details: vec![0; 8],
        forced_note: None,
    }
}

fn header() -> ImportHeader {
    ImportHeader { file_sha256: [7; 32], message_type: "camt.053.001.08".into(), message_id: "M1".into() }
}

#[tokio::test]
async fn an_import_matches_counts_once_and_queues_the_rest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, t) = ledger(&dir, Policy::default(), 4).await;
    let day = date!(2026 - 12 - 05);
    let entries = [
        entry("k1", 3000, day, vec![t[0].clone()]),
        entry("k2", 1000, day, vec![t[1].clone()]),
        entry("k3", 3500, day, vec![t[2].clone()]),
        entry("k4", 3000, day, vec![]),
        entry("k5", 3000, day, vec![t[3].clone(), t[0].clone()]),
        EntryToBook { currency: "CHF".into(), ..entry("k6", 3000, day, vec![t[3].clone()]) },
    ];
    let (_, booked) = db.import_statement(&header(), &entries, &json!({}), CLERK, 1).await.expect("imports");
    let status = |b: &Booked| match b {
        Booked::Matched { assessment, .. } => assessment.status.as_str().to_owned(),
        Booked::Exception { note, .. } => format!("exception: {note}"),
        Booked::Duplicate => "duplicate".into(),
    };
    let got: Vec<String> = booked.iter().map(status).collect();
    assert_eq!(got[..3], ["paid", "part_paid", "overpaid"]);
    assert_eq!(got[3], "exception: no ticket number in the reference");
    assert!(got[4].starts_with("exception: several known ticket numbers"), "{}", got[4]);
    assert!(got[5].starts_with("exception: currency CHF"), "{}", got[5]);
    // The same statement again: nothing counted twice, nothing queued twice.
    let (_, again) = db.import_statement(&header(), &entries, &json!({}), CLERK, 2).await.expect("imports");
    assert!(again.iter().all(|b| *b == Booked::Duplicate));
    assert_eq!(db.bank_entries("exception", 10).await.expect("queue").len(), 3);
    let case = db.ledger_case(&t[2]).await.expect("reads").expect("case");
    assert_eq!((case.status, case.paid_cents, case.refund_due_cents), (Status::Overpaid, 3500, 500));
    assert!(db.verify_audit(|_| {}).await.expect("reads").is_ok());
}

/// Found in real statements: a bank reused a reference for another transfer. The second
/// transfer waits in the exceptions queue with the reason, is never dropped, and counts once
/// however often its statement is imported.
#[tokio::test]
async fn a_reused_bank_reference_is_another_transfer_and_never_dropped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, t) = ledger(&dir, Policy::default(), 2).await;
    let first = [entry("acct:X|asr:R1", 3000, date!(2026 - 12 - 01), vec![t[0].clone()])];
    let (_, booked) = db.import_statement(&header(), &first, &json!({}), CLERK, 1).await.expect("imports");
    assert!(matches!(booked[0], Booked::Matched { .. }), "{booked:?}");
    let later = [entry("acct:X|asr:R1", 2000, date!(2026 - 12 - 06), vec![t[1].clone()])];
    for round in 0..2 {
        let (_, booked) = db.import_statement(&header(), &later, &json!({}), CLERK, 2).await.expect("imports");
        match (&booked[0], round) {
            (Booked::Exception { note, .. }, 0) => {
                assert!(note.contains("used this reference before") && note.contains("30.00 EUR"), "{note}")
            }
            (Booked::Duplicate, 1) => {}
            (other, _) => panic!("round {round}: {other:?}"),
        }
    }
    let queue = db.bank_entries("exception", 10).await.expect("queue");
    assert_eq!(queue.len(), 1, "the later transfer waits once in the queue");
    // The matched case was not counted twice, the other not at all until a clerk decides.
    let first_case = db.ledger_case(&t[0]).await.expect("reads").expect("case");
    let other_case = db.ledger_case(&t[1]).await.expect("reads").expect("case");
    assert_eq!((first_case.paid_cents, other_case.paid_cents), (3000, 0));
    // The first statement again is still nothing new.
    let (_, again) = db.import_statement(&header(), &first, &json!({}), CLERK, 3).await.expect("imports");
    assert_eq!(again, [Booked::Duplicate]);
}

#[tokio::test]
async fn exceptions_resolve_once_and_refunds_stay_within_what_is_due() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, t) = ledger(&dir, Policy::default(), 2).await;
    let entries = [entry("k1", 3000, date!(2026 - 12 - 05), vec![]), entry("k2", 500, date!(2026 - 12 - 05), vec![])];
    let (_, booked) = db.import_statement(&header(), &entries, &json!({}), CLERK, 1).await.expect("imports");
    let ids: Vec<i64> = booked
        .iter()
        .map(|b| match b {
            Booked::Exception { entry_id, .. } => *entry_id,
            other => panic!("an exception, not {other:?}"),
        })
        .collect();
    let unknown = TicketNumber::issue(9, 9).expect("ticket");
    assert_eq!(db.match_by_hand(ids[0], &unknown, CLERK, 2).await.expect("db"), Err(ResolveError::UnknownCase));
    let a = db.match_by_hand(ids[0], &t[0], CLERK, 3).await.expect("db").expect("matched");
    assert_eq!(a.status, Status::Paid);
    assert_eq!(db.match_by_hand(ids[0], &t[1], CLERK, 4).await.expect("db"), Err(ResolveError::NotAnException));
    assert_eq!(db.book_out(ids[0], "twice", CLERK, 5).await.expect("db"), Err(ResolveError::NotAnException));
    db.book_out(ids[1], "not a fine payment", CLERK, 6).await.expect("db").expect("booked out");
    assert!(db.bank_entries("exception", 10).await.expect("queue").is_empty());

    // Withdrawn after payment: everything is due back, and only that much can be refunded.
    let a = db.withdraw(&t[0], "objection accepted", CLERK, 7).await.expect("db").expect("withdrawn");
    assert_eq!((a.status, a.refund_due_cents), (Status::Withdrawn, 3000));
    assert_eq!(db.withdraw(&t[0], "again", CLERK, 8).await.expect("db"), None, "once");
    assert_eq!(
        db.record_refund(&t[0], 3001, "R-1", CLERK, 9).await.expect("db"),
        Err(ResolveError::RefundTooLarge { due_cents: 3000 })
    );
    let a = db.record_refund(&t[0], 3000, "R-1", CLERK, 10).await.expect("db").expect("refunded");
    assert_eq!(a.refund_due_cents, 0);
    assert_eq!(db.ledger_page(true, 0, 10).await.expect("ledger")[0].amount_cents, -3000);
    assert!(db.verify_audit(|_| {}).await.expect("reads").is_ok());
}

#[tokio::test]
async fn card_payments_land_in_the_same_ledger_and_the_deadline_run_acts_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, t) = ledger(&dir, Policy::default(), 2).await;
    let paid = NewPayment {
        ticket: t[0].clone(),
        amount_cents: 3000,
        method: "online",
        provider: "sandbox".into(),
        external_ref: "cs_1".into(),
        booked_at_ms: day_ms(date!(2026 - 12 - 08)),
    };
    assert!(matches!(db.count_online_payment(&paid, 1).await.expect("db"), Some(Some(_))));
    assert_eq!(db.count_online_payment(&paid, 2).await.expect("db"), Some(None), "counted once");
    let lines = db.ledger_page(false, 0, 10).await.expect("ledger");
    assert_eq!((lines.len(), lines[0].method.as_str(), lines[0].clerk), (1, "online", None));

    // After the deadline and the grace days only the unpaid case escalates, once.
    let today = date!(2026 - 12 - 13);
    let preview = db.deadline_run(today, false, CLERK, 3).await.expect("db");
    assert_eq!(preview, [DeadlineStep { ticket: t[1].clone(), action: Action::Escalate, balance_cents: 3000 }]);
    assert_eq!(
        db.ledger_case(&t[1]).await.expect("db").expect("case").status,
        Status::Open,
        "a preview changes nothing"
    );
    assert_eq!(db.deadline_run(today, true, CLERK, 4).await.expect("db").len(), 1);
    assert_eq!(db.ledger_case(&t[1]).await.expect("db").expect("case").status, Status::Escalated);
    assert!(db.deadline_run(today, true, CLERK, 5).await.expect("db").is_empty());
    // The dashboard counts it.
    let d = db.dashboard(today, 0).await.expect("db");
    assert!(d.by_status.contains(&(Status::Escalated, 1)) && d.by_status.contains(&(Status::Paid, 1)));
    assert_eq!((d.overdue, d.payments_today.0), (0, 1));
}
