//! The back office in a real headless Chromium, against the real `fieldseal serve` (with its
//! enclave child) on SQLite and PostgreSQL, with cases captured and synced by a phone and a
//! camt.053 statement written the way a German bank exports one. Screenshots of each step go to
//! `target/test-artefacts/`.

use std::path::Path;

use fieldseal_core::notice::Notice;
use fieldseal_core::sync::{self, SyncOptions};
use fieldseal_tests::browser::Browser;
use fieldseal_tests::camt::{Transfer, statement};
use fieldseal_tests::office::{Authority, add_account, disable_account, set_up_admin};
use fieldseal_tests::{Backend, Phone, Server, TempDir, WebClient, bin, csrf_of, files_under, now_ms};

const CANARY_PLATE: &str = "M-QX 8150";
const CANARY_PLATE_FORMS: [&str; 3] = ["M-QX 8150", "M QX 8150", "MQX8150"];
const CANARY_PAYER: &str = "Canary Zahlerin Quendolin";
const ADMIN: (&str, &str) = ("ada", "Lochkarten-Leserin-1843");
const SUPERVISOR: (&str, &str) = ("sabine", "Stempelkissen-2026!");
const CLERK: (&str, &str) = ("tom", "Aktenordner-gruen-7");
const AUTHORITY_IBAN: &str = "DE71110220330123456789";
const DAY_MS: i64 = 86_400_000;

struct World {
    data: TempDir,
    server: Server,
    /// Five current cases (deadline in a week).
    current: Vec<Notice>,
    /// Two cases observed three weeks ago (deadline passed two weeks ago).
    old: Vec<Notice>,
    _phone: Phone,
    /// The first administrator, set up with the authority's statement, signed in.
    admin: WebClient,
    _authority: Authority,
}

fn world(backend: &Backend) -> World {
    world_with(backend, None)
}

/// Server and enclave (with `policy.json` when given) pinned to an authority, a phone's synced
/// cases, the first administrator from the authority's statement, and the two clerks the
/// administrator adds in the office.
fn world_with(backend: &Backend, policy: Option<&str>) -> World {
    let data = TempDir::new("office");
    if let Some(policy) = policy {
        std::fs::write(data.0.join("policy.json"), policy).expect("policy written");
    }
    let authority = Authority::new();
    let server = Server::start_with(&data.0, backend, 0, &["--authority-key", &authority.public]);
    let mut phone = Phone::enrolled(&server, &data.0, backend);
    let old = phone.capture_at(2, CANARY_PLATE, now_ms() - 21 * DAY_MS);
    let current = phone.capture(5, CANARY_PLATE);
    sync::sync_outbox(&mut phone.store, &server.transport(), &SyncOptions::default(), &mut |_| {}).expect("syncs");
    assert_eq!(phone.unsynced(), 0);
    let url = server.zone_url();
    let mut admin = set_up_admin(&server, &authority, ADMIN.0, ADMIN.1);
    assert_eq!(add_account(&mut admin, &url, SUPERVISOR.0, "supervisor", SUPERVISOR.1, false), None);
    add_account(&mut admin, &url, CLERK.0, "clerk", CLERK.1, false);
    World { data, server, current, old, _phone: phone, admin, _authority: authority }
}

fn today() -> String {
    fieldseal_server::db::ms_day(now_ms()).to_string()
}

/// A statement with an exact, a partial, an over-payment, a late payment, two that cannot be
/// matched (no ticket number; a typo in the check digit) and an outgoing transfer.
fn the_statement(w: &World) -> String {
    let [a, b, c, d, e] = [&w.current[0], &w.current[1], &w.current[2], &w.current[3], &w.current[4]];
    let g = &w.old[1];
    let mut typo = e.ticket_number.digits().to_owned();
    let last = typo.pop().expect("12 digits");
    typo.push(if last == '9' { '0' } else { char::from(last as u8 + 1) });
    let day = today();
    let mut transfers = vec![
        Transfer::credit(
            a.total_cents,
            &day,
            "BANKREF-A",
            "Erika Mustermann",
            &format!("Verwarnung {} Kennz. {CANARY_PLATE}", a.ticket_number.grouped()),
        ),
        Transfer::credit(b.total_cents - 1000, &day, "BANKREF-B", "Max Muster", b.ticket_number.digits()),
        Transfer {
            remittance: vec![
                format!("Az {} {}", &c.ticket_number.digits()[..4], &c.ticket_number.digits()[4..8]),
                format!("{} danke", &c.ticket_number.digits()[8..]),
            ],
            ..Transfer::credit(c.total_cents + 500, &day, "BANKREF-C", "Paul Beispiel", "")
        },
        Transfer::credit(d.total_cents, &day, "BANKREF-D", CANARY_PAYER, "Strafzettel vom Montag"),
        Transfer::credit(e.total_cents, &day, "BANKREF-E", "Otto Tippfehler", &format!("Ticket {typo}")),
        Transfer::credit(g.total_cents, &day, "BANKREF-G", "Zu Spaet", &g.ticket_number.grouped()),
    ];
    transfers.push(Transfer { debit: true, ..Transfer::credit(999, &day, "BANKREF-OUT", "Lieferant", "Miete") });
    statement("FS-E2E-0001", AUTHORITY_IBAN, &transfers)
}

fn sign_in(b: &mut Browser, url: &str, (user, password): (&str, &str)) {
    b.goto(&format!("{url}/office/login")).expect("sign-in page");
    b.type_into("#username", user).expect("name");
    b.type_into("#password", password).expect("password");
    b.click("#sign-in").expect("submit");
    b.wait_for("#status-counts").expect("the dashboard");
}

fn row_status(b: &Browser, ticket: &Notice) -> String {
    b.text(&format!("tr[data-ticket='{}'] td.status", ticket.ticket_number.digits())).expect("a row for the ticket")
}

fn count(b: &Browser, status: &str) -> i64 {
    b.text(&format!("#count-{status}")).expect("count").trim().parse().expect("a number")
}

/// Imports `file` in the browser and returns the result's (transactions, matched, exceptions, duplicates).
fn import(b: &mut Browser, url: &str, file: &Path) -> (String, String, String, String) {
    b.goto(&format!("{url}/office/import")).expect("import page");
    b.attach_file("#statement", file).expect("file");
    b.click("#import").expect("submit");
    b.wait_for("#result").expect("a result");
    (
        b.text("#r-transactions").expect("t"),
        b.text("#r-matched").expect("m"),
        b.text("#r-exceptions").expect("e"),
        b.text("#r-duplicates").expect("d"),
    )
}

/// The import and its statuses, as each backend must show them.
fn import_and_check(b: &mut Browser, w: &World, file: &Path) {
    let url = &w.server.zone_url();
    let (t, m, e, d) = import(b, url, file);
    assert_eq!(t, "6", "six incoming transfers (the outgoing one is skipped)");
    assert!(m.starts_with("4 (part-paid 1, overpaid 1, refund due 2)"), "{m}");
    assert_eq!((e.as_str(), d.as_str()), ("2", "0"));
    b.screenshot("imported").expect("shot");

    b.goto(&format!("{url}/office/cases?status=paid")).expect("paid");
    assert_eq!(row_status(b, &w.current[0]), "paid");
    b.goto(&format!("{url}/office/cases?status=part_paid")).expect("part-paid");
    assert_eq!(row_status(b, &w.current[1]), "part-paid");
    b.goto(&format!("{url}/office/cases?status=overpaid")).expect("overpaid");
    assert_eq!(row_status(b, &w.current[2]), "overpaid");
    b.screenshot("overpaid").expect("shot");
    // § 56 OWiG: paid in full, but after the deadline: not settled, and flagged for refund.
    b.goto(&format!("{url}/office/cases?status=refund_due")).expect("refund due");
    assert_eq!(row_status(b, &w.old[1]), "overdue");
    assert_eq!(row_status(b, &w.current[2]), "overpaid");

    // The same statement again counts nothing twice.
    let (t, m, e, d) = import(b, url, file);
    assert_eq!((t.as_str(), e.as_str(), d.as_str()), ("6", "0", "6"));
    assert!(m.starts_with("0 "), "{m}");
    b.screenshot("imported-again").expect("shot");

    b.goto(&format!("{url}/office/")).expect("dashboard");
    assert_eq!(count(b, "paid"), 1);
    assert_eq!(count(b, "part_paid"), 1);
    assert_eq!(count(b, "overpaid"), 1);
    assert_eq!(count(b, "open"), 4, "D, E and both old cases");
    assert_eq!(count(b, "overdue"), 2);
    assert_eq!(count(b, "refund_due"), 2);
    assert_eq!(b.text("#exceptions-count").expect("exceptions"), "2");
    b.screenshot("dashboard-after-import").expect("shot");
}

fn write_statement(w: &World) -> std::path::PathBuf {
    let file = w.data.0.join("upload").join("statement-2026-12.xml");
    std::fs::create_dir_all(file.parent().expect("folder")).expect("upload folder");
    std::fs::write(&file, the_statement(w)).expect("statement written");
    file
}

#[test]
fn clerk_imports_matches_resolves_and_escalates_in_chromium() {
    let w = world(&Backend::sqlite());
    let url = w.server.zone_url();
    let file = write_statement(&w);
    let mut b = w.server.browser("office-clerk", 1280, 1000).expect("headless Chromium");

    // A wrong password: one answer for every kind of refusal.
    b.goto(&format!("{url}/office/login")).expect("sign-in page");
    b.type_into("#username", SUPERVISOR.0).expect("name");
    b.type_into("#password", "not the password").expect("password");
    b.click("#sign-in").expect("submit");
    b.wait_for_text("#flash", "User name, password or code is wrong").expect("an error");
    assert_eq!(b.attr("#flash", "role").expect("role").as_deref(), Some("alert"));
    b.screenshot("wrong-password").expect("shot");

    sign_in(&mut b, &url, SUPERVISOR);
    assert_eq!(count(&b, "open"), 7);
    assert_eq!(count(&b, "overdue"), 2, "the two old cases are past their deadline");
    b.screenshot("dashboard").expect("shot");

    import_and_check(&mut b, &w, &file);

    // The exceptions queue: the payer's details open only with a purpose, then a match by hand.
    b.goto(&format!("{url}/office/exceptions")).expect("exceptions");
    let notes =
        b.eval("return [...document.querySelectorAll('.exception .note')].map(n => n.textContent)").expect("js");
    let notes = notes.to_string();
    assert!(notes.contains("no ticket number in the reference"), "{notes}");
    assert!(notes.contains("check digit is wrong"), "{notes}");
    assert!(!b.exists("#payer").expect("query"), "no payer details before a purpose is given");
    let first = b.attr("article.exception", "id").expect("an exception").expect("id");
    let id = first.trim_start_matches("entry-").to_owned();
    b.type_into(&format!("#purpose-{id}"), "identify an unmatched payment").expect("purpose");
    b.click(&format!("#details-{id}")).expect("show");
    b.wait_for("#payer").expect("details");
    assert_eq!(b.text("#payer").expect("payer"), CANARY_PAYER);
    b.screenshot("exception-details").expect("shot");
    b.type_into(&format!("#ticket-{id}"), &w.current[3].ticket_number.grouped()).expect("ticket");
    b.click(&format!("#match-{id}")).expect("match");
    b.wait_for_text("#flash", "now paid").expect("the case is paid");
    // The typo: booked out with a reason.
    let other = b.attr("article.exception", "id").expect("the other exception").expect("id");
    let id = other.trim_start_matches("entry-").to_owned();
    b.type_into(&format!("#reason-{id}"), "returned to the payer, ticket unclear").expect("reason");
    b.click(&format!("#book-out-{id}")).expect("book out");
    b.wait_for("#no-exceptions").expect("an empty queue");
    b.screenshot("exceptions-resolved").expect("shot");

    // The deadline run (§ 56 OWiG): both old cases escalate, nothing else.
    b.goto(&format!("{url}/office/deadlines")).expect("deadlines");
    for old in &w.old {
        let action = b.text(&format!("tr[data-ticket='{}']", old.ticket_number.digits())).expect("a step");
        assert!(action.contains("escalate"), "{action}");
    }
    assert_eq!(b.eval("return document.querySelectorAll('#steps tbody tr').length").expect("js"), 2);
    b.screenshot("deadlines-preview").expect("shot");
    b.click("#run-deadlines").expect("run");
    b.wait_for_text("#flash", "2 case(s) changed").expect("done");
    b.goto(&format!("{url}/office/cases?status=escalated")).expect("escalated");
    for old in &w.old {
        assert_eq!(row_status(&b, old), "escalated");
    }
    b.screenshot("escalated").expect("shot");

    // The hearing form: personal data through the enclave, for a stated purpose.
    let f = &w.old[0];
    b.goto(&format!("{url}/office/case/{}", f.ticket_number.digits())).expect("case");
    b.type_into("#purpose-hearing", "hearing form to the vehicle holder").expect("purpose");
    b.click("#hearing-form").expect("make");
    b.wait_for("#hf-ticket").expect("the form");
    assert_eq!(b.text("#hf-ticket").expect("ticket"), f.ticket_number.grouped());
    assert!(b.text("#hf-vehicle").expect("vehicle").contains("M QX 8150"), "the holder is named by the plate");
    b.screenshot("hearing-form").expect("shot");

    // A case opened with a purpose: plate, place and both photos.
    let a = &w.current[0];
    b.goto(&format!("{url}/office/case/{}", a.ticket_number.digits())).expect("case");
    assert!(!b.exists("#personal-data").expect("query"), "closed until a purpose is given");
    b.type_into("#purpose-open", "check a citizen's phone call").expect("purpose");
    b.click("#open-case").expect("open");
    b.wait_for("#personal-data").expect("opened");
    assert!(b.text("#vehicle").expect("vehicle").contains("M QX 8150"));
    let widths =
        b.eval("return [...document.querySelectorAll('#personal-data img')].map(i => i.naturalWidth)").expect("js");
    assert_eq!(widths.as_array().map(Vec::len), Some(2), "{widths}");
    assert!(widths.as_array().expect("array").iter().all(|v| v.as_u64().unwrap_or(0) > 0), "{widths}");
    b.screenshot("case-opened").expect("shot");

    // The audit log names who opened what, and why.
    b.goto(&format!("{url}/office/audit")).expect("audit");
    let log = b.text("#audit").expect("audit table");
    for expected in [
        "personal_data.opened",
        "check a citizen",
        "hearing form to the vehicle holder",
        "identify an unmatched payment",
        "bank_entry.matched_by_hand",
        "bank_entry.booked_out",
        "case.escalated",
        "statement.imported",
    ] {
        assert!(log.contains(expected), "the audit log shows {expected}");
    }
    b.screenshot("audit").expect("shot");
    b.click("#sign-out").expect("sign out");
    b.wait_for("#sign-in").expect("signed out");
    drop(b);

    // The hearing-form export: every escalated case with its plate, opened through the enclave.
    let mut web = w.server.client().clerk(&url, SUPERVISOR.0, SUPERVISOR.1);
    let (_, _, page) = web.get(&format!("{url}/office/deadlines"));
    let (status, _, csv) = web.post_page(
        &format!("{url}/office/export/hearing-forms.csv"),
        &[("csrf", &csrf_of(&page)), ("purpose", "letters to the vehicle holders")],
    );
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 1 + 2, "a header and both escalated cases: {csv}");
    for old in &w.old {
        assert!(csv.contains(&format!("{},M QX 8150,DE", old.ticket_number.grouped())), "{csv}");
    }

    // The ledger CSV: every payment once, no personal data.
    let (status, _, csv) = web.get(&format!("{url}/office/export/ledger.csv"));
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 1 + 5, "a header and five payments (A, B, C, G and D by hand)");
    assert!(!csv.contains(CANARY_PAYER) && !csv.contains("M-QX"), "no personal data in the ledger");

    // The chain holds.
    let out = std::process::Command::new(bin("fieldseal"))
        .args(["audit", "verify", "--data"])
        .arg(&w.data.0)
        .env_remove("DATABASE_URL")
        .output()
        .expect("runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("audit log intact"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Nothing personal in clear in the data folder (the statement upload excepted) or the log.
    let log = w.server.log_text();
    for path in files_under(&w.data.0).iter().filter(|p| !p.starts_with(w.data.0.join("upload"))) {
        // A SQLite journal may come and go meanwhile; every other file must be readable.
        let Ok(bytes) = std::fs::read(path) else {
            assert!(
                path.extension().is_some_and(|e| e == "sqlite3-journal" || e == "sqlite3-shm"),
                "{}",
                path.display()
            );
            continue;
        };
        for needle in CANARY_PLATE_FORMS.iter().chain([&CANARY_PAYER]) {
            assert!(
                !bytes.windows(needle.len()).any(|win| win == needle.as_bytes()),
                "{needle} in clear in {}",
                path.display()
            );
        }
    }
    for needle in CANARY_PLATE_FORMS.iter().chain([&CANARY_PAYER]) {
        assert!(!log.contains(needle), "{needle} in the server log");
    }

    // The office runs in the zone: the host relayed the clerk's pages and the statement upload
    // as TLS bytes, so its memory holds no payer, plate or clerk password (the scan finds a
    // ticket number, which the host does hold). BSI TR-03161 O.Cryp (keys in protected
    // environments), O.Data_1; ASVS 14.2.6 (minimal data).
    assert!(
        w.server.memory_contains(w.current[0].ticket_number.digits().as_bytes()),
        "the memory scan finds what is there"
    );
    for needle in CANARY_PLATE_FORMS.iter().chain([&CANARY_PAYER, &SUPERVISOR.1]) {
        assert!(
            !w.server.memory_contains(needle.as_bytes()),
            "{needle:?} in the host's memory (pid {})",
            w.server.pid()
        );
    }
}

#[test]
fn import_on_postgres_in_chromium() {
    let w = world(&Backend::postgres());
    let file = write_statement(&w);
    let mut b = w.server.browser("office-postgres", 1280, 1000).expect("headless Chromium");
    sign_in(&mut b, &w.server.zone_url(), SUPERVISOR);
    import_and_check(&mut b, &w, &file);
}

/// Uploads a statement file as `sup`; the result page and its figures: transfers, matched,
/// exceptions, imported before, not incoming payments.
fn import_sample(sup: &mut WebClient, url: &str, file: &Path) -> (String, [u64; 5]) {
    let name = file.file_name().and_then(|n| n.to_str()).expect("file name");
    let (_, _, page) = sup.get(&format!("{url}/office/import"));
    let bytes = std::fs::read(file).expect("sample statement");
    let (status, body) =
        sup.post_file(&format!("{url}/office/import"), &[("csrf", &csrf_of(&page))], ("statement", name, &bytes));
    assert_eq!(status, 200, "{name}: {body}");
    assert!(body.contains("The statement was imported"), "{name}: {body}");
    let figure = |id: &str| -> u64 {
        let at = body.find(&format!("id=\"{id}\">")).unwrap_or_else(|| panic!("{name}: no {id}")) + id.len() + 6;
        body[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("a number")
    };
    let counts = [
        figure("r-transactions"),
        figure("r-matched"),
        figure("r-exceptions"),
        figure("r-duplicates"),
        figure("r-skipped"),
    ];
    (body, counts)
}

/// Entries in the exceptions queue, as the page lists them.
fn exceptions_now(sup: &mut WebClient, url: &str) -> usize {
    sup.get(&format!("{url}/office/exceptions")).2.matches("/details\"").count()
}

#[test]
fn roles_csrf_limits_and_refusals_over_http() {
    let backend = Backend::sqlite();
    let mut w = world(&backend);
    let url = w.server.zone_url();
    // ASVS 3.3.1: the office's session cookie is `__Host-` (Secure, Path=/, no Domain).
    let mut visitor = w.server.client();
    let first = visitor.exchange("GET", &format!("{url}/office/login"), None, &[]);
    let cookie = first.headers.iter().find(|h| h.starts_with("set-cookie:")).expect("a session cookie");
    assert!(cookie.starts_with("set-cookie: __Host-fs_office=") && cookie.contains("Path=/;"), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && !cookie.contains("Domain"), "{cookie}");
    let mut clerk = w.server.client().clerk(&url, CLERK.0, CLERK.1);
    let (_, _, page) = clerk.get(&format!("{url}/office/deadlines"));
    let csrf = csrf_of(&page);

    // A clerk may look but not run the deadline policy, withdraw, or read the audit log.
    assert!(!page.contains("run-deadlines"), "the button is not offered to a clerk");
    let (status, _) = clerk.post(&format!("{url}/office/deadlines"), &[("csrf", &csrf)]);
    assert_eq!(status, 403);
    let t = w.current[0].ticket_number.digits();
    let (status, _) =
        clerk.post(&format!("{url}/office/case/{t}/withdraw"), &[("csrf", &csrf), ("reason", "objection accepted")]);
    assert_eq!(status, 403);
    assert_eq!(clerk.get(&format!("{url}/office/audit")).0, 403);

    // Only an administrator manages staff; the administrator disables the clerk in the office,
    // and the clerk's open session ends at the next page.
    assert_eq!(clerk.get(&format!("{url}/office/staff")).0, 403);
    let (status, staff) = disable_account(&mut w.admin, &url, CLERK.0);
    assert_eq!(status, 200, "{staff}");
    assert!(staff.contains(&format!("{} is disabled", CLERK.0)), "{staff}");
    let (status, location, _) = clerk.get(&format!("{url}/office/"));
    assert_eq!((status, location.as_str()), (303, "/office/login"), "signed out");

    // A form without the session's token changes nothing.
    let mut sup = w.server.client().clerk(&url, SUPERVISOR.0, SUPERVISOR.1);
    let (status, _) =
        sup.post(&format!("{url}/office/case/{t}/withdraw"), &[("csrf", "forged"), ("reason", "objection accepted")]);
    assert_eq!(status, 403);
    // Personal data needs a purpose of at least 8 characters.
    let (_, _, page) = sup.get(&format!("{url}/office/case/{t}"));
    let csrf = csrf_of(&page);
    let (status, _, body) =
        sup.post_page(&format!("{url}/office/case/{t}/open"), &[("csrf", &csrf), ("purpose", "why")]);
    assert_eq!(status, 422);
    assert!(!body.contains("personal-data"));
    // A withdrawal with a reason: the case is withdrawn, shown as such.
    let (status, _, body) = sup.post_page(
        &format!("{url}/office/case/{t}/withdraw"),
        &[("csrf", &csrf), ("reason", "objection accepted"), ("kind", "withdraw")],
    );
    assert_eq!(status, 200);
    assert!(body.contains("The case is withdrawn"), "{body}");
    assert!(body.contains("withdrawn: objection accepted"));

    // A citizen's objection: sealed when it arrives, read by a supervisor for a stated purpose.
    let n = &w.current[1];
    let zone = w.server.zone_url();
    let mut citizen = w.server.client().sign_in(&zone, n);
    let (_, _, form) = citizen.get(&format!("{zone}/case/objection"));
    let objection = "Canary objection 5d1: the sign was covered by a hedge.";
    let (status, _) = citizen.post_file(
        &format!("{zone}/case/objection"),
        &[("csrf", &csrf_of(&form)), ("statement", objection)],
        ("photo", "", b""),
    );
    assert!(status == 303 || status == 200, "objection sent: {status}");
    let tn = n.ticket_number.digits();
    let (_, _, page) = sup.get(&format!("{url}/office/case/{tn}"));
    assert!(page.contains("id=\"objection\"") && !page.contains(objection), "received, not shown unasked");
    let (status, _, page) = sup.post_page(
        &format!("{url}/office/case/{tn}/objection"),
        &[("csrf", &csrf_of(&page)), ("purpose", "review the objection")],
    );
    assert_eq!(status, 200);
    assert!(page.contains(objection), "the enclave opened it");
    // The citizen wrote it and the supervisor read it over the zone's TLS: the host relayed and
    // stored it sealed, so its memory holds no trace (the scan finds the case's ticket number).
    assert!(w.server.memory_contains(tn.as_bytes()), "the memory scan finds what is there");
    assert!(!w.server.memory_contains(b"Canary objection 5d1"), "the objection in the host's memory");
    let (_, _, audit) = sup.get(&format!("{url}/office/audit"));
    assert!(audit.contains("objection.received") && audit.contains("review the objection"));

    // The banks' own sample statements import (their payers match no case here: exceptions):
    // every transfer is counted, matched, queued or named as imported before, none dropped.
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/samples/camt");
    let names = [
        "camt053.v02_de_vrbank_viafintech.xml",
        "camt053.v02_multi_statement_genkgo.xml",
        "camt053.v04_ch_postfinance_multi_viafintech.xml",
        "camt053.v08_ch_ubs_scor_viafintech.xml",
        "camt054.v02_strd_genkgo.xml",
    ];
    let mut first = Vec::new();
    for name in names {
        let (body, [transfers, matched, exceptions, before, skipped]) =
            import_sample(&mut sup, &url, &samples.join(name));
        assert!(transfers + skipped > 0 && matched == 0, "{name}: {transfers} transfers, {matched} matched");
        assert_eq!(exceptions + before, transfers, "{name}: every transfer queued or named as imported before");
        if name.contains("_ch_") {
            // Swiss statements: every amount on the result shown in its own currency.
            assert!(body.contains(" CHF</td>") && !body.contains(" EUR</td>"), "{name}: amounts in CHF");
        }
        first.push((name, transfers, skipped));
    }
    let (_, _, queue) = sup.get(&format!("{url}/office/exceptions"));
    assert!(queue.contains("currency CHF: only EUR is booked automatically"), "Swiss francs wait for a clerk");
    // Each imported again: nothing counted twice, nothing queued twice, nothing dropped.
    let queued = exceptions_now(&mut sup, &url);
    for (name, transfers, skipped) in first {
        let (_, counts) = import_sample(&mut sup, &url, &samples.join(name));
        assert_eq!(counts, [transfers, 0, 0, transfers, skipped], "{name} again: all imported before");
    }
    assert_eq!(exceptions_now(&mut sup, &url), queued, "the queue did not grow");

    // A statement larger than a sync batch (8 MB) goes through whole.
    let big: Vec<Transfer> = (0..6000)
        .map(|i| Transfer {
            remittance: vec![format!("Sammelueberweisung Position {i} ohne Aktenzeichen {}", "x".repeat(90)); 4],
            ..Transfer::credit(1000, &today(), &format!("BIG-{i}"), "Firma Gross", "")
        })
        .collect();
    let big = statement("FS-E2E-BIG", AUTHORITY_IBAN, &big);
    assert!(big.len() > 8 << 20, "{} bytes", big.len());
    let (_, _, page) = sup.get(&format!("{url}/office/import"));
    let (status, body) = sup.post_file(
        &format!("{url}/office/import"),
        &[("csrf", &csrf_of(&page))],
        ("statement", "big.xml", big.as_bytes()),
    );
    assert_eq!(status, 200, "{}", &body[..body.len().min(2000)]);
    assert!(body.contains("id=\"r-exceptions\">6000<"), "every position waits for a clerk");

    // A broken statement: a clear refusal, nothing booked.
    let (_, _, before) = sup.get(&format!("{url}/office/exceptions"));
    let (_, _, page) = sup.get(&format!("{url}/office/import"));
    let csrf = csrf_of(&page);
    let (status, body) =
        sup.post_file(&format!("{url}/office/import"), &[("csrf", &csrf)], ("statement", "x.xml", b"<Document>"));
    assert_eq!(status, 422);
    assert!(body.contains("nothing was booked"), "{body}");
    let (status, body) = sup.post_file(
        &format!("{url}/office/import"),
        &[("csrf", &csrf)],
        ("statement", "pain.xml", br#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>"#),
    );
    assert_eq!(status, 422);
    assert!(body.contains("pain.001"), "says what it got: {body}");
    assert_eq!(sup.get(&format!("{url}/office/exceptions")).2, before, "nothing booked");

    // Wrong passwords: the same answer as an unknown name; five lock the name for a while.
    let mut anon = w.server.client();
    let (_, _, page) = anon.get(&format!("{url}/office/login"));
    let csrf = csrf_of(&page);
    let (status, _, _) = anon
        .post_page(&format!("{url}/office/login"), &[("csrf", &csrf), ("username", CLERK.0), ("password", CLERK.1)]);
    assert_eq!(status, 401, "a disabled clerk cannot sign in");
    for name in ["nobody", SUPERVISOR.0, SUPERVISOR.0, SUPERVISOR.0, SUPERVISOR.0, SUPERVISOR.0] {
        let (status, _, body) = anon.post_page(
            &format!("{url}/office/login"),
            &[("csrf", &csrf), ("username", name), ("password", "wrong-password-1")],
        );
        assert_eq!(status, 401, "{name}");
        assert!(body.contains("User name, password or code is wrong") || body.contains("Too many"), "{body}");
    }
    let (status, _, body) = anon.post_page(
        &format!("{url}/office/login"),
        &[("csrf", &csrf), ("username", SUPERVISOR.0), ("password", SUPERVISOR.1)],
    );
    assert_eq!(status, 429, "locked even with the right password");
    assert!(body.contains("Try again in"), "{body}");
}

#[test]
fn reminder_policy_reminds_with_a_fee_before_it_escalates() {
    let policy = r#"{"policy": "reminders", "reminders": 1, "interval_days": 14, "fee_cents": 500}"#;
    let w = world_with(&Backend::sqlite(), Some(policy));
    let url = w.server.zone_url();
    let mut sup = w.server.client().clerk(&url, SUPERVISOR.0, SUPERVISOR.1);
    let (_, _, dash) = sup.get(&format!("{url}/office/"));
    assert!(dash.contains("1 reminder(s), 14 days each, fee 5.00 each"), "the configured policy is in force");

    // Past the deadline: a reminder with a new deadline, not escalation.
    let new_deadline = fieldseal_server::db::ms_day(now_ms() + 14 * DAY_MS).to_string();
    let (_, _, page) = sup.get(&format!("{url}/office/deadlines"));
    assert_eq!(page.matches(&format!("reminder 1, new deadline {new_deadline}")).count(), 2, "both old cases");
    assert!(!page.contains("escalate:"));
    let (status, _, page) = sup.post_page(&format!("{url}/office/deadlines"), &[("csrf", &csrf_of(&page))]);
    assert_eq!(status, 200);
    assert!(page.contains("2 case(s) changed"), "{page}");
    let (_, _, page) = sup.get(&format!("{url}/office/deadlines"));
    assert!(page.contains("0 case(s)"), "nothing is due again until the new deadline");
    let f = &w.old[0];
    let (_, _, case) = sup.get(&format!("{url}/office/case/{}", f.ticket_number.digits()));
    assert!(case.contains(&format!("{new_deadline} (after 1 reminder(s)")), "{case}");

    // The citizen sees the new deadline and the fee in what is still to pay.
    let zone = w.server.zone_url();
    let mut citizen = w.server.client().sign_in(&zone, f);
    citizen.get(&format!("{zone}/lang/en?next=/case"));
    let (_, _, page) = citizen.get(&format!("{zone}/case"));
    let owed = f.total_cents + 500;
    assert!(page.contains(&format!("€{}.{:02}", owed / 100, owed % 100)), "the fee is owed: {page}");
    assert!(!page.contains("Deadline passed"), "the reminder moved the deadline");
}

/// The office in German: the language link in the header switches the session, the pages, a
/// refusal with its specific reason, and the administrator's staff page read in German, and the
/// link's `next` leads only to the office's own pages.
#[test]
fn office_speaks_german() {
    let backend = Backend::sqlite();
    let mut w = world(&backend);
    let url = w.server.zone_url();
    let mut sup = w.server.client().clerk(&url, SUPERVISOR.0, SUPERVISOR.1);

    // English first (the client names no language); the header offers German, back to this page.
    let (_, _, page) = sup.get(&format!("{url}/office/cases"));
    assert!(page.contains("<html lang=\"en\">") && page.contains(">Cases</h1>"), "{page}");
    assert!(page.contains("href=\"/office/lang/de?next=/office/cases\""), "the switch: {page}");
    let (status, location, _) = sup.get(&format!("{url}/office/lang/de?next=/office/cases"));
    assert_eq!((status, location.as_str()), (303, "/office/cases"));

    let (_, _, cases) = sup.get(&format!("{url}/office/cases"));
    assert!(cases.contains("<html lang=\"de\">") && cases.contains(">Fälle</h1>"), "{cases}");
    assert!(cases.contains("class=\"status open\">offen<"), "status in German: {cases}");
    assert!(cases.contains(">Frist<") && !cases.contains(">Deadline<"), "{cases}");
    assert!(cases.contains("href=\"/office/lang/en?next=/office/cases\"") && cases.contains(">English<"));

    let (_, _, dashboard) = sup.get(&format!("{url}/office/"));
    assert!(dashboard.contains("<html lang=\"de\">"), "{dashboard}");
    for text in [">Übersicht</h1>", "Fälle nach Status", "Heute erfasste Zahlungen", ">Abmelden<", ">Prüfprotokoll<"]
    {
        assert!(dashboard.contains(text), "{text}: {dashboard}");
    }
    assert!(!dashboard.contains("Cases by status") && !dashboard.contains("Sign out"), "{dashboard}");
    assert!(
        dashboard.contains("§ 56 OWiG: wirksam nur bei vollständiger Zahlung"),
        "the policy in German: {dashboard}"
    );

    let (_, _, import) = sup.get(&format!("{url}/office/import"));
    assert!(import.contains(">Kontoauszug einlesen</h1>") && import.contains("Derselbe Auszug"), "{import}");
    let csrf = csrf_of(&import);
    // A file that is no statement: refused, and the specific reason reads in German too.
    let (status, body) = sup.post_file(
        &format!("{url}/office/import"),
        &[("csrf", &csrf)],
        ("statement", "notes.txt", b"this is a shopping list, not a statement"),
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("Die Datei wurde nicht eingelesen, es wurde nichts gebucht: die Datei ist kein XML"),
        "{body}"
    );
    assert!(!body.contains("is not XML") && !body.contains("nothing was booked"), "no English inside: {body}");
    let (status, body) = sup.post_file(
        &format!("{url}/office/import"),
        &[("csrf", &csrf)],
        ("statement", "pain.xml", br#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>"#),
    );
    assert_eq!(status, 422);
    assert!(body.contains("ein Zahlungsauftrag (") && body.contains("pain.001.001.03"), "{body}");
    assert!(body.contains("), kein Kontoauszug") && !body.contains("payment initiation"), "{body}");
    // A refusal page of a handler.
    let t = w.current[0].ticket_number.digits();
    let (_, _, case) = sup.get(&format!("{url}/office/case/{t}"));
    assert!(case.contains("href=\"/office/lang/en?next=/office/case/"), "back to this case: {case}");
    let (status, _, body) =
        sup.post_page(&format!("{url}/office/case/{t}/open"), &[("csrf", &csrf_of(&case)), ("purpose", "why")]);
    assert_eq!(status, 422);
    assert!(body.contains(">Zweck nötig</h1>") && body.contains(">Zurück<"), "{body}");

    // The administrator's staff page.
    let (status, location, _) = w.admin.get(&format!("{url}/office/lang/de?next=/office/staff"));
    assert_eq!((status, location.as_str()), (303, "/office/staff"));
    let (_, _, staff) = w.admin.get(&format!("{url}/office/staff"));
    assert!(staff.contains("<html lang=\"de\">") && staff.contains(">Personal</h1>"), "{staff}");
    assert!(
        staff.contains(">Konto hinzufügen<") && staff.contains(">Aufsicht<") && staff.contains(">aktiv<"),
        "{staff}"
    );
    // A refusal with a password rule from deeper down, in German with its detail.
    let (status, _, body) = w.admin.post_page(
        &format!("{url}/office/staff"),
        &[("csrf", &csrf_of(&staff)), ("username", "lena"), ("role", "clerk"), ("password", "short")],
    );
    assert_eq!(status, 422);
    assert!(body.contains("Ein Passwort braucht mindestens 12 Zeichen. Es wurde nichts hinzugefügt."), "{body}");

    // `next` leads only to the office's own pages: anything else goes to the overview.
    for evil in
        ["%2F%2Fevil.example", "%2F%09%2Fevil.example", "https%3A%2F%2Fevil.example%2F", "%2Foffice%2F%09%2Fevil"]
    {
        let (status, location, _) = sup.get(&format!("{url}/office/lang/en?next={evil}"));
        assert_eq!((status, location.as_str()), (303, "/office/"), "{evil}");
    }
    let (_, _, page) = sup.get(&format!("{url}/office/"));
    assert!(page.contains("<html lang=\"en\">") && page.contains("Cases by status"), "English again");
}
