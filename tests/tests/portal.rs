//! The citizen portal in a real headless Chromium, against the real `fieldseal serve` (with its
//! enclave child) and the real `fieldseal-paysandbox` provider process, with cases captured
//! and synced by a phone. Screenshots of each step go to `target/test-artefacts/`.

use std::path::Path;

use fieldseal_core::notice::{EpcTransfer, Notice};
use fieldseal_core::objection::Objection;
use fieldseal_core::sync::{self, SyncOptions};
use fieldseal_portal::pay::webhook;
use fieldseal_portal::sandbox::wire::SIGNATURE_HEADER;
use fieldseal_tests::browser::{Browser, decode_qr};
use fieldseal_tests::zone::{attested_tls_key, chromium_spki_pin};
use fieldseal_tests::{
    Backend, PaySandbox, Phone, Server, TempDir, WebClient, block_on, csrf_of, enclave_key_for, free_port, header,
    now_ms, policy_for,
};

const CANARY_PLATE: &str = "B-QZ 4711";
/// The plate as the core normalises it.
const CANARY_PLATE_NORMALISED: &str = "B QZ 4711";
const CANARY_STATEMENT: &str = "Canary-Widerspruch-9f3e: I was loading goods for the bakery.";

struct World {
    data: TempDir,
    /// The zone's pages, `https://…` through the host's relay.
    url: String,
    /// The zone's TLS key hash, from the verified attestation.
    spki: [u8; 32],
    server: Server,
    sandbox: PaySandbox,
    notices: Vec<Notice>,
    _phone: Phone,
}

/// Server + enclave + sandbox provider, and two synced tickets.
fn world(backend: &Backend, webhook_delay_ms: u64, serve_args: &[&str]) -> World {
    let data = TempDir::new("portal");
    let port = free_port();
    let sandbox = PaySandbox::start(&format!("http://127.0.0.1:{port}/pay/webhook/sandbox"), webhook_delay_ms);
    sandbox.write_config(&data.0);
    let server = Server::start_with(&data.0, backend, port, serve_args);
    let mut phone = Phone::enrolled(&server, &data.0, backend);
    let notices = phone.capture(2, CANARY_PLATE);
    sync::sync_outbox(&mut phone.store, &server.transport(), &SyncOptions::default(), &mut |_| {}).expect("syncs");
    assert_eq!(phone.unsynced(), 0);
    let url = format!("https://{}", server.web_addr);
    let spki = attested_tls_key(&server.url, &policy_for());
    World { data, url, spki, server, sandbox, notices, _phone: phone }
}

impl World {
    /// A citizen's client of the zone's pages, without a session.
    fn citizen(&self) -> WebClient {
        WebClient::pinned(self.spki)
    }

    /// A citizen's client signed in with the notice's ticket number and code.
    fn signed_in(&self, notice: &Notice) -> WebClient {
        self.citizen().sign_in(&self.url, notice)
    }
}

fn sign_in(b: &mut Browser, url: &str, notice: &Notice) {
    b.goto(&format!("{url}/")).expect("start page");
    b.type_into("#ticket", &notice.ticket_number.grouped()).expect("ticket");
    b.type_into("#code", &notice.access_code.grouped().to_lowercase()).expect("code");
    b.click("#open-case").expect("submit");
    b.wait_for("#status").expect("the case page");
}

#[test]
fn citizen_finds_checks_pays_and_objects_in_chromium() {
    let w = world(&Backend::sqlite(), 1500, &[]);
    // The pages come from the sealed zone, over TLS that ends inside it; the browser trusts
    // the key the verified attestation names.
    let url = w.url.clone();
    let pin = chromium_spki_pin(&w.spki);
    let (first, second) = (&w.notices[0], &w.notices[1]);
    let mut b = Browser::start_with("portal-citizen", 1024, 900, &[pin]).expect("headless Chromium");

    // German first (the browser asks for English; the switch is tested below).
    b.goto(&format!("{url}/lang/de?next=/")).expect("German");
    assert_eq!(b.eval("return document.documentElement.lang").expect("lang"), "de");

    // The notice's QR link: genuine, ticket filled in, nothing asked yet.
    assert!(first.portal_url.starts_with(&url), "the notice links to this portal: {}", first.portal_url);
    b.goto(&first.portal_url).expect("notice link");
    assert!(b.attr("#notice-check", "class").expect("class").unwrap_or_default().contains("ok"));
    assert_eq!(b.value("#ticket").expect("value").as_deref(), Some(first.ticket_number.grouped().as_str()));
    b.screenshot("notice-genuine").expect("shot");

    // A forged notice (signature of another ticket) is called out.
    let forged =
        format!("{url}/n/{}?s={}", first.ticket_number.digits(), second.portal_url.rsplit_once("?s=").expect("sig").1);
    b.goto(&forged).expect("forged link");
    assert!(b.attr("#notice-check", "class").expect("class").unwrap_or_default().contains("error"));
    assert_eq!(b.value("#ticket").expect("value").as_deref(), Some(""), "a forged notice's ticket is not offered");
    b.screenshot("notice-forged").expect("shot");

    // Keyboard only: skip link, language, ticket, code, button.
    b.goto(&format!("{url}/")).expect("start");
    // The first Tab may first move focus from the browser into the page.
    for _ in 0..3 {
        b.press_tab().expect("tab");
        if b.focused_element_id().expect("focus") == "skip-link" {
            break;
        }
    }
    let mut order = vec![b.focused_element_id().expect("focus")];
    for _ in 0..4 {
        b.press_tab().expect("tab");
        order.push(b.focused_element_id().expect("focus"));
    }
    assert_eq!(order, ["skip-link", "lang-switch", "ticket", "code", "open-case"], "focus order");
    assert_accessible(&b, "start page");

    // Wrong code: a clear error, which does not say which part was wrong.
    b.type_into("#ticket", &first.ticket_number.grouped()).expect("ticket");
    b.type_into("#code", "ABCD-EFGH-JKMN").expect("code");
    b.click("#open-case").expect("submit");
    b.wait_for("#flash").expect("an error");
    assert_eq!(b.attr("#flash", "role").expect("role").as_deref(), Some("alert"));
    let error = b.text("#flash").expect("text");
    assert!(error.contains("passen zu keinem Fall") || error.contains("do not match"), "{error}");
    b.screenshot("wrong-code").expect("shot");

    // The right code: the case with its photos, rendered.
    sign_in(&mut b, &url, first);
    let vehicle = b.text("#vehicle").expect("vehicle");
    assert!(vehicle.replace([' ', '-'], "").contains("BQZ4711"), "the citizen sees their own plate: {vehicle}");
    let widths = b.eval("return [...document.querySelectorAll('img.evidence')].map(i => i.naturalWidth)").expect("js");
    let widths: Vec<u64> = widths.as_array().expect("array").iter().filter_map(serde_json::Value::as_u64).collect();
    assert_eq!(widths.len(), 2, "two photos");
    assert!(widths.iter().all(|w| *w > 0), "photos rendered: {widths:?}");
    assert_eq!(b.eval("return document.documentElement.lang").expect("lang"), "de");
    assert_accessible(&b, "case page");
    b.screenshot("case-de").expect("shot");

    // Language switch.
    b.click("#lang-switch").expect("switch");
    b.wait_for("html[lang=en]").expect("English");
    assert!(b.text("h1").expect("h1").starts_with("Your case"));
    b.screenshot("case-en").expect("shot");

    // Bank transfer: the QR image decodes back to the EPC payload.
    b.click("#pay-transfer").expect("transfer");
    b.wait_for("#epc-qr").expect("QR page");
    b.eval("return document.getElementById('epc-qr').decode().then(() => true)").expect("image loaded");
    let shown = b.eval("return document.getElementById('epc-payload').textContent").expect("payload");
    let decoded = decode_qr(&b.element_png("#epc-qr").expect("QR png")).expect("a QR code");
    assert_eq!(decoded, shown.as_str().expect("text"));
    let transfer = EpcTransfer::from_payload(&decoded).expect("an EPC payload");
    assert_eq!(transfer.amount_cents, Some(first.total_cents));
    assert_eq!(transfer.remittance, first.ticket_number.grouped());
    assert_eq!(transfer.iban, first.iban);
    b.screenshot("bank-transfer").expect("shot");

    // Pay by card through the sandbox provider; a second submit (double click / back) charges once.
    b.goto(&format!("{url}/case")).expect("case");
    b.click("#pay-online").expect("pay online");
    b.wait_for("input[name=card]").expect("the provider's page");
    let provider_page = b.current_url().expect("url");
    assert!(provider_page.starts_with(&w.sandbox.url), "{provider_page}");
    b.screenshot("provider-page").expect("shot");
    b.type_into("input[name=card]", "4242 4242 4242 4242").expect("card");
    b.submit_form("form").expect("pay");
    // Back from the provider's site (another site: the session cookie is SameSite=Strict and
    // stays behind), the return page confirms the payment it checked with the provider; its
    // link leads back into the session, where the case shows it paid.
    b.wait_for("#message").expect("the return page");
    let said = b.text("#message").expect("text");
    assert!(said.contains("Vielen Dank") || said.contains("Thank you"), "{said}");
    b.click("#message-link").expect("back");
    b.goto(&format!("{url}/case")).expect("case");
    b.wait_for("#status.paid").expect("paid after the return");
    b.screenshot("paid").expect("shot");
    b.goto(&provider_page).expect("back to the provider page");
    if b.exists("input[name=card]").expect("exists") {
        b.type_into("input[name=card]", "4242 4242 4242 4242").expect("card");
        b.submit_form("form").expect("pay again");
        b.wait_for("#status").expect("back on the case");
    }
    std::thread::sleep(std::time::Duration::from_millis(2500)); // the delayed webhook arrives after the redirect
    assert_eq!(w.sandbox.charges().len(), 1, "charged exactly once");

    // Receipt.
    b.goto(&format!("{url}/case")).expect("case");
    b.click("#receipt").expect("receipt");
    b.wait_for(".receipt").expect("receipt page");
    assert_eq!(b.text("#receipt-ticket").expect("ticket"), first.ticket_number.grouped());
    let rows = b.eval("return document.querySelectorAll('tr.payment').length").expect("rows");
    assert_eq!(rows.as_u64(), Some(1), "one payment, after redirect and webhook");
    b.screenshot("receipt").expect("shot");

    // Objection with a photo: sealed, and the case says it was received.
    b.goto(&format!("{url}/case/objection")).expect("objection form");
    b.type_into("#statement", CANARY_STATEMENT).expect("statement");
    let photo = w.data.0.join("objection.jpg");
    std::fs::write(&photo, fieldseal_core::demo::street_photo(99, 640, 480)).expect("photo file");
    b.attach_file("#photo", &photo).expect("attach");
    b.screenshot("objection-form").expect("shot");
    b.click("#send-objection").expect("send");
    b.wait_for("#objection-status").expect("objection shown");
    b.screenshot("objection-received").expect("shot");
    // What was stored opens with the enclave's key, and only as this ticket's objection.
    let sealed = block_on(async {
        let db = fieldseal_server::db::Db::open(None, &w.data.0).await.expect("server database");
        db.objections(&first.ticket_number).await.expect("objections")
    });
    assert_eq!(sealed.len(), 1);
    let key = enclave_key_for(&w.data.0);
    let opened = Objection::open(&sealed[0], &first.ticket_number, &key).expect("opens for the enclave");
    assert_eq!(opened.statement.as_str(), CANARY_STATEMENT);
    let photo = opened.photo.expect("the photo came along");
    assert_eq!(&photo[..2], &[0xFF, 0xD8], "a processed JPEG");
    assert!(Objection::open(&sealed[0], &second.ticket_number, &key).is_err());
    // The case offers no second objection.
    assert!(!b.exists("#object").expect("exists"), "no second objection offered");

    // The second ticket is not reachable from this session.
    let page = b.eval("return document.body.innerText").expect("text");
    assert!(!page.as_str().unwrap_or_default().contains(&second.ticket_number.grouped()));
    for path in ["/case", "/case/receipt", "/case/transfer"] {
        b.goto(&format!("{url}{path}?ticket={}", second.ticket_number.digits())).expect("page");
        let text = b.eval("return document.body.innerText").expect("text");
        assert!(!text.as_str().unwrap_or_default().contains(&second.ticket_number.grouped()), "{path}");
    }

    // End the session: back to the start, and the case is gone.
    b.goto(&format!("{url}/case")).expect("case");
    // On a 360-px phone: nothing wider than the screen.
    b.set_window(360, 740).expect("phone size");
    let overflow =
        b.eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth").expect("js");
    assert_eq!(overflow.as_i64(), Some(0), "no horizontal scrolling at 360 px");
    b.screenshot("case-360px").expect("shot");

    b.click("#end-session").expect("end");
    b.wait_for("#login").expect("start page");
    b.screenshot("session-ended").expect("shot");
    b.goto(&format!("{url}/case")).expect("case again");
    assert!(b.exists("#login").expect("login"), "the case needs the code again");

    // Nothing personal reached the server's files or log.
    assert_nothing_personal(&w.data.0, &w.server.log_text());

    // Nor the host's memory: it relayed the whole walk-through's bytes, still encrypted, and
    // answered the zone by ticket number. The scan finds what the host does hold (the ticket
    // number it stores, the sandbox's session ids) and what this test process holds.
    let host = w.server.pid();
    assert!(w.server.memory_contains(first.ticket_number.digits().as_bytes()), "the memory scan finds what is there");
    assert!(fieldseal_tests::process_memory_contains(std::process::id(), CANARY_STATEMENT.as_bytes()));
    let code = first.access_code.grouped();
    for needle in [
        CANARY_PLATE,
        CANARY_PLATE_NORMALISED,
        "BQZ4711",
        "Canary-Widerspruch",
        code.as_str(),
        code.to_lowercase().as_str(),
        first.access_code.expose(),
    ] {
        assert!(!w.server.memory_contains(needle.as_bytes()), "{needle:?} in the host's memory (pid {host})");
    }
}

/// Every field has a label, every image a text, and text contrast is at least 4.5:1 (WCAG AA).
fn assert_accessible(b: &Browser, page: &str) {
    let unlabelled = b
        .eval("return [...document.querySelectorAll('input:not([type=hidden]),textarea,select')].filter(e => e.labels.length === 0).map(e => e.name)")
        .expect("js");
    assert_eq!(unlabelled, serde_json::json!([]), "{page}: fields without a label");
    let no_alt = b.eval("return [...document.images].filter(i => !i.alt).length").expect("js");
    assert_eq!(no_alt.as_u64(), Some(0), "{page}: images without alt text");
    let worst = b
        .eval(
            r#"
            const lum = c => { const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map(v => {
                v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
                return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
            const bg = e => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
                if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
            let worst = 21;
            for (const e of document.querySelectorAll('p, dt, dd, li, label, a, button, h1, h2, td, th, figcaption, strong')) {
                if (!e.textContent.trim() || e.offsetParent === null) continue;
                const a = lum(getComputedStyle(e).color), b = lum(bg(e));
                worst = Math.min(worst, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
            }
            return worst;"#,
        )
        .expect("js");
    assert!(worst.as_f64().unwrap_or(0.0) >= 4.5, "{page}: lowest text contrast {worst}");
}

fn assert_nothing_personal(data: &Path, log: &str) {
    let needles: [&[u8]; 4] =
        [CANARY_PLATE.as_bytes(), CANARY_PLATE_NORMALISED.as_bytes(), b"BQZ4711", b"Canary-Widerspruch"];
    for entry in fieldseal_tests::files_under(data) {
        if entry.extension().is_some_and(|e| e == "jpg") {
            continue; // the test's own upload file
        }
        let bytes = std::fs::read(&entry).expect("reads");
        for n in needles {
            assert!(!bytes.windows(n.len()).any(|w| w == n), "{} holds personal data", entry.display());
        }
    }
    for n in needles {
        assert!(!log.contains(std::str::from_utf8(n).expect("utf-8")), "the log holds personal data");
    }
    assert!(log.contains("objection received and sealed"), "the log was captured");
}

mod webhooks {
    #[test]
    fn sqlite() {
        super::each_payment_counts_once(&fieldseal_tests::Backend::sqlite());
    }
    #[test]
    fn postgres() {
        super::each_payment_counts_once(&fieldseal_tests::Backend::postgres());
    }
}

fn post_webhook(url: &str, secret: &str, body: &serde_json::Value, t: i64) -> u16 {
    let body = body.to_string();
    let signature = webhook::sign(secret.as_bytes(), t, body.as_bytes());
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
        .post(&format!("{url}/pay/webhook/sandbox"))
        .header(SIGNATURE_HEADER, &signature)
        .header("content-type", "application/json")
        .send(body.as_bytes())
        .expect("answers")
        .status()
        .as_u16()
}

fn event(session_id: &str, reference: &str, amount_cents: u64) -> serde_json::Value {
    serde_json::json!({
        "id": format!("evt_{}", fieldseal_core::wire::envelope::Id16::make_random().to_hex()),
        "type": "checkout.session.completed",
        "data": {"session_id": session_id, "reference": reference, "amount_cents": amount_cents,
                 "currency": "EUR", "paid_at_ms": now_ms()},
    })
}

/// Double clicks, a webhook before the redirect, replayed, forged, stale and mismatched webhooks:
/// one charge, one payment.
fn each_payment_counts_once(backend: &Backend) {
    let w = world(backend, 0, &[]);
    let url = w.url.clone();
    // Webhooks go to the host, which keeps the ledger and the provider's secret.
    let host = w.server.url.clone();
    let (first, second) = (&w.notices[0], &w.notices[1]);
    let ticket = first.ticket_number.grouped();
    let mut c = w.signed_in(first);
    let (status, _, case) = c.get(&format!("{url}/case"));
    assert_eq!(status, 200);
    let csrf = csrf_of(&case);

    // A form without the session's CSRF token starts nothing.
    let (status, location) = c.post(&format!("{url}/pay/start"), &[("csrf", "forged")]);
    assert_eq!((status, location.as_str()), (303, "/case"));
    assert!(w.sandbox.charges().is_empty());

    // Double click: the same checkout twice.
    let (_, checkout) = c.post(&format!("{url}/pay/start"), &[("csrf", &csrf)]);
    let (_, again) = c.post(&format!("{url}/pay/start"), &[("csrf", &csrf)]);
    assert!(checkout.starts_with(&w.sandbox.url), "to the provider: {checkout}");
    assert_eq!(checkout, again, "a double click reuses the open checkout");
    let session_id = checkout.rsplit('/').next().expect("id").to_owned();
    let digits = first.ticket_number.digits().to_owned();

    // Forged (wrong secret) and stale webhooks are refused before anything is looked up.
    let paid = event(&session_id, &digits, first.total_cents);
    assert_eq!(post_webhook(&host, "whsec_not-the-secret-at-all", &paid, now_ms() / 1000), 400);
    assert_eq!(post_webhook(&host, &w.sandbox.webhook_secret, &paid, now_ms() / 1000 - 3600), 400);
    let receipt_rows = |c: &mut WebClient| c.get(&format!("{url}/case/receipt")).2.matches("class=\"payment\"").count();
    assert_eq!(receipt_rows(&mut c), 0, "nothing recorded by refused webhooks");

    // Pay at the provider twice (double submit); its webhook arrives before the browser returns.
    let pay = |card: &str| {
        ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .new_agent()
            .post(&checkout)
            .send_form([("card", card)])
            .expect("the provider answers")
    };
    let first_pay = pay("4242 4242 4242 4242");
    assert_eq!(first_pay.status().as_u16(), 303);
    let back = header(&first_pay, "location");
    assert_eq!(pay("4242 4242 4242 4242").status().as_u16(), 303);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while receipt_rows(&mut c) == 0 {
        assert!(std::time::Instant::now() < deadline, "the webhook was recorded");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (status, location, _) = c.get(&back);
    assert_eq!((status, location.as_str()), (303, "/case?paid=1"), "the return after the webhook");
    // Without the session (as after a cross-site redirect), the return page shows only ticket and amount.
    let (status, _, page) = w.citizen().get(&back);
    assert_eq!(status, 200);
    assert!(page.contains(&ticket) && !page.contains("QZ"), "no personal data on the return page");

    // A replayed webhook and a webhook naming another ticket change nothing.
    assert_eq!(post_webhook(&host, &w.sandbox.webhook_secret, &paid, now_ms() / 1000), 200);
    let other = event(&session_id, second.ticket_number.digits(), first.total_cents);
    assert_eq!(post_webhook(&host, &w.sandbox.webhook_secret, &other, now_ms() / 1000), 422);
    let unknown = event("cs_00000000000000000000000000000000", &digits, 100);
    assert_eq!(post_webhook(&host, &w.sandbox.webhook_secret, &unknown, now_ms() / 1000), 404);

    assert_eq!(receipt_rows(&mut c), 1, "one payment");
    assert_eq!(w.sandbox.charges().len(), 1, "one charge");
    let (_, _, case) = c.get(&format!("{url}/case"));
    assert!(case.contains("class=\"status paid\""), "the case is paid");
    // Paying a paid case starts no checkout.
    let (_, location) = c.post(&format!("{url}/pay/start"), &[("csrf", &csrf)]);
    assert_eq!(location, "/case?paid=1");
    // The second ticket's case is untouched.
    let (_, _, case) = w.signed_in(second).get(&format!("{url}/case"));
    assert!(case.contains("class=\"status open\""), "the other case is still open");
}

/// Sign-in refusals look alike and are limited per ticket and per client; sessions time out;
/// every page carries the security headers.
#[test]
fn sign_in_limits_sessions_and_headers() {
    let w = world(&Backend::sqlite(), 0, &["--session-idle-secs", "2"]);
    let url = w.url.clone();
    let (first, second) = (&w.notices[0], &w.notices[1]);

    // Headers of every page.
    let res = w.citizen().exchange("GET", &format!("{url}/"), None, &[]);
    let csp = res.header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains(&format!("form-action 'self' {}", w.sandbox.url)),
        "{csp}"
    );
    assert_eq!(res.header("cache-control"), "no-store");
    assert_eq!(res.header("x-content-type-options"), "nosniff");
    assert_eq!(res.header("strict-transport-security"), "max-age=31536000", "HTTPS only, for a year");
    let cookie = res.header("set-cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Secure"), "served over the zone's TLS, the cookie is Secure: {cookie}");
    // ASVS 3.3.1: the __Host- prefix, so no other host or plain-http page can plant or replace it.
    assert!(cookie.starts_with("__Host-") && cookie.contains("Path=/;") && !cookie.contains("Domain"), "{cookie}");
    // The host's own address sends a citizen on to the zone's (a notice printed with it works).
    let (status, location, _) = WebClient::new().get(&format!("{}/n/123?s=abc", w.server.url));
    assert_eq!((status, location.as_str()), (308, format!("{url}/n/123?s=abc").as_str()));
    let (status, _, _) = WebClient::new().get(&format!("{}/case", w.server.url));
    assert_eq!(status, 404, "the host serves no citizen page itself");

    // The language switch sends the browser back only to this portal's own pages (found in
    // review: `/\t/evil.example` reads as `//evil.example`, control characters gave a 500).
    let mut c = w.citizen();
    for next in ["/%09/evil.example", "/%0d%0aSet-Cookie:%20x=1", "/%0a/evil.example", "/%00/x", "//evil.example"] {
        let (status, location, _) = c.get(&format!("{url}/lang/de?next={next}"));
        assert_eq!((status, location.as_str()), (303, "/"), "{next}");
    }
    assert_eq!(c.get(&format!("{url}/lang/de?next=/case/receipt")).1, "/case/receipt");

    // A form without the session's CSRF token signs nobody in.
    let mut c = w.citizen();
    let _ = c.get(&format!("{url}/"));
    let (status, _) = c.post(
        &format!("{url}/login"),
        &[("csrf", "x"), ("ticket", &first.ticket_number.grouped()), ("code", &first.access_code.grouped())],
    );
    assert_eq!(status, 403);

    // Idle time-out: after 2 s without a request the case needs the code again.
    let mut idle = w.signed_in(second);
    assert_eq!(idle.get(&format!("{url}/case")).0, 200);
    std::thread::sleep(std::time::Duration::from_millis(2600));
    let (status, location, _) = idle.get(&format!("{url}/case"));
    assert_eq!((status, location.as_str()), (303, "/?expired=1"));

    // An unknown ticket and a wrong code get the same answer, in no less than the same time.
    let attempt = |c: &mut WebClient, ticket: &str, code: &str| {
        let (_, _, start) = c.get(&format!("{url}/"));
        let started = std::time::Instant::now();
        let (status, _, body) = c.post_page(
            &format!("{url}/login"),
            &[("csrf", csrf_of(&start).as_str()), ("ticket", ticket), ("code", code)],
        );
        let flash =
            body.split("id=\"flash\"").nth(1).unwrap_or_default().split("</div>").next().unwrap_or_default().to_owned();
        (status, flash, started.elapsed())
    };
    let unknown = fieldseal_core::ticket::TicketNumber::issue(9999, 1234567).expect("ticket").grouped();
    let mut c = w.citizen();
    let (s1, f1, t1) = attempt(&mut c, &unknown, "ABCD-EFGH-JKMN");
    let (s2, f2, t2) = attempt(&mut c, &first.ticket_number.grouped(), "ABCD-EFGH-JKMN");
    assert_eq!((s1, &f1), (s2, &f2), "one answer for an unknown ticket and a wrong code");
    assert_eq!(s1, 401);
    assert!(t1.as_millis() >= 300 && t2.as_millis() >= 300, "{t1:?} {t2:?}");

    // Per ticket: the 5th wrong code locks the ticket, even against the right code.
    for _ in 0..3 {
        assert_eq!(attempt(&mut c, &first.ticket_number.grouped(), "ABCD-EFGH-JKMN").0, 401);
    }
    let (status, flash, _) = attempt(&mut c, &first.ticket_number.grouped(), "ABCD-EFGH-JKMN");
    assert_eq!(status, 401);
    assert!(flash.contains("5 Minuten") || flash.contains("5 minutes"), "{flash}");
    let (status, flash, _) = attempt(&mut c, &first.ticket_number.grouped(), &first.access_code.grouped());
    assert_eq!(status, 429, "locked: {flash}");
    // Another ticket from this client still opens.
    assert_eq!(attempt(&mut c, &second.ticket_number.grouped(), &second.access_code.grouped()).0, 303);

    // Per client: 20 failures (6 so far) lock this client out for every ticket.
    let mut c = w.citizen();
    for i in 0..14u32 {
        let other = fieldseal_core::ticket::TicketNumber::issue(9000, i + 1).expect("ticket").grouped();
        let (status, _, _) = attempt(&mut c, &other, "ABCD-EFGH-JKMN");
        assert_eq!(status, 401, "attempt {i}");
    }
    let (status, flash, _) = attempt(&mut c, &second.ticket_number.grouped(), &second.access_code.grouped());
    assert_eq!(status, 429, "client locked: {flash}");
    assert!(flash.contains("15 Minuten") || flash.contains("15 minutes"), "{flash}");
}

/// Peak resident memory of process `pid` in MiB (`VmHWM`).
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()).expect("kB") / 1024.0
}

/// Tried as a hostile citizen would (MASVS-CODE-4, ASVS 12.1.1): a 381 KB PNG of 7000x7000
/// pixels at 16-bit RGBA (392 MB decoded) sent as the objection photo four times at once. Each
/// is refused with a clear answer and stores nothing, the zone's (and the host's) peak memory
/// stays where it was (the server once grew from 33 MB to 2 GB), and a proper objection goes
/// through afterwards.
#[test]
fn pixel_bomb_objections_at_once_do_not_grow_the_server() {
    let w = world(&Backend::sqlite(), 0, &[]);
    let url = w.url.clone();
    let notice = &w.notices[0];
    let bomb = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/samples/photos/bad/black-7000x7000-rgba16.png"),
    )
    .expect("test photo");
    // Photos are processed in the zone; the host only relays their encrypted bytes. Peak
    // memory of both counted from here on (root may reset it; the tests run as root).
    let pids = [w.server.pid(), w.server.zone_pid()];
    for pid in pids {
        std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("resets the peak");
    }
    let before = pids.map(peak_rss_mib);
    let spki = w.spki;
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut citizen = WebClient::pinned(spki).sign_in(&url, notice);
                    let (_, _, form) = citizen.get(&format!("{url}/case/objection"));
                    citizen.post_file(
                        &format!("{url}/case/objection"),
                        &[("csrf", &csrf_of(&form)), ("statement", "The sign was hidden.")],
                        ("photo", "bomb.png", &bomb),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("joins")).collect()
    });
    let grown = [peak_rss_mib(pids[0]) - before[0], peak_rss_mib(pids[1]) - before[1]];
    println!(
        "4 pixel-bomb objections at once: host peak {:.0} MiB -> +{:.1} MiB, zone peak {:.0} MiB -> +{:.1} MiB",
        before[0], grown[0], before[1], grown[1]
    );
    for (status, page) in &answers {
        assert_eq!(*status, 422, "refused as unprocessable: {page}");
        // In the citizen's language (German here), the reason included.
        assert!(page.contains("bräuchte zum Einlesen mehr Speicher als erlaubt"), "the reason in German: {page}");
        assert!(page.contains("The sign was hidden."), "the statement is kept for another try");
    }
    assert!(grown[0] < 64.0 && grown[1] < 64.0, "peaks grew by {grown:?} MiB (host, zone) for four 381 KB uploads");

    // Nothing was stored: the same case takes a proper objection now. Four sent at the same
    // moment from four sessions (found in review: all four were stored, each citizen told it
    // was received): exactly one is kept, and the other three are told one arrived first.
    let photo = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/samples/photos/Portrait_5.jpg"))
        .expect("test photo");
    let ready = std::sync::Barrier::new(4);
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (photo, ready, url) = (&photo, &ready, &url);
                s.spawn(move || {
                    let mut citizen = WebClient::pinned(spki).sign_in(url, notice);
                    let (_, _, form) = citizen.get(&format!("{url}/case/objection"));
                    ready.wait();
                    let statement = format!("The sign was hidden ({i}).");
                    citizen.post_file(
                        &format!("{url}/case/objection"),
                        &[("csrf", &csrf_of(&form)), ("statement", &statement)],
                        ("photo", "sign.jpg", photo),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("joins")).collect()
    });
    let received = answers.iter().filter(|(status, _)| *status == 303).count();
    let refused: Vec<_> = answers.iter().filter(|(status, _)| *status == 409).collect();
    assert_eq!(
        (received, refused.len()),
        (1, 3),
        "one kept, three told: {:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    for (_, page) in refused {
        assert!(page.contains("bereits ein Widerspruch eingegangen"), "told in German: {page}");
    }
    let stored = block_on(async {
        let db = fieldseal_server::db::Db::open(None, &w.data.0).await.expect("server database");
        db.objections(&notice.ticket_number).await.expect("objections")
    });
    assert_eq!(stored.len(), 1, "one objection per case");
}

/// Tried as a hostile citizen would (ASVS 2.2.1, found in review): 200 wrong codes for one
/// ticket sent at the same moment. The limit is checked and counted in one step inside the
/// zone, so at most its 5 attempts are checked; the rest are refused at once, and the ticket is
/// locked afterwards even against the right code.
#[test]
fn parallel_wrong_codes_never_pass_the_per_ticket_limit() {
    let w = world(&Backend::sqlite(), 0, &[]);
    let (url, spki, notice) = (w.url.clone(), w.spki, &w.notices[1]);
    let ticket = notice.ticket_number.grouped();
    // Every client first fetches the start page (a session and its CSRF token), then all post
    // their wrong code together.
    let start = std::sync::Barrier::new(200);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..200)
            .map(|_| {
                s.spawn(|| {
                    let mut c = WebClient::pinned(spki);
                    let (_, _, page) = c.get(&format!("{url}/"));
                    start.wait();
                    let form =
                        [("csrf", csrf_of(&page)), ("ticket", ticket.clone()), ("code", "ABCD-EFGH-JKMN".into())];
                    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    c.post(&format!("{url}/login"), &form).0
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("joins")).collect()
    });
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    println!("200 parallel wrong codes: {checked} checked, {refused} refused at once");
    assert!(checked <= 5, "{checked} wrong codes were checked; the limit is 5");
    assert_eq!(checked + refused, 200, "every attempt answered 401 or 429: {statuses:?}");
    let mut c = w.citizen();
    let (_, _, page) = c.get(&format!("{url}/"));
    let (status, _) = c.post(
        &format!("{url}/login"),
        &[("csrf", &csrf_of(&page)), ("ticket", &ticket), ("code", &notice.access_code.grouped())],
    );
    assert_eq!(status, 429, "the ticket is locked, even against the right code");
}
