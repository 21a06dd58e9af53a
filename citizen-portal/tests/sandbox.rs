//! End to end: the real `fieldseal-paysandbox` process, the portal's `SandboxProvider` adapter,
//! plain HTTP for the browser's part, and a webhook receiver of our own on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fieldseal_portal::pay::{
    CheckoutRequest, CheckoutStatus, PaymentProvider, ProviderError, SandboxProvider, WebhookError, webhook,
};

const API_KEY: &str = "sk_test_integration_0123456789";
const WEBHOOK_SECRET: &str = "whsec_integration_0123456789";
const SUCCESS_URL: &str = "http://portal.test/pay/done?session={CHECKOUT_SESSION_ID}";
const CANCEL_URL: &str = "http://portal.test/pay/cancelled";
const TEST_CARD: &str = "4242 4242 4242 4242";
const DECLINED_CARD: &str = "4000 0000 0000 0002";

/// The sandbox process; killed when dropped (also when a test panics).
struct SandboxProcess {
    child: Child,
    base: String,
    _stdout: BufReader<ChildStdout>,
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sandbox(webhook_url: &str, webhook_delay_ms: u64) -> SandboxProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldseal-paysandbox"))
        .args(["--bind", "127.0.0.1", "--port", "0", "--webhook-url", webhook_url])
        .args(["--webhook-delay-ms", &webhook_delay_ms.to_string()])
        // Secrets through the environment (as an operator should: arguments show up in `ps`).
        .env("FIELDSEAL_PAYSANDBOX_API_KEY", API_KEY)
        .env("FIELDSEAL_PAYSANDBOX_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start fieldseal-paysandbox");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    let read = stdout.read_line(&mut line);
    let mut process = SandboxProcess { child, base: String::new(), _stdout: stdout };
    read.expect("read the sandbox's first line");
    let base = line
        .trim_end()
        .strip_prefix("fieldseal-paysandbox listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    process.base = base.to_owned();
    process
}

/// One webhook as our receiver got it, and the status it answered.
#[derive(Clone)]
struct Received {
    answered: u16,
    signature: Option<String>,
    body: Vec<u8>,
}

/// A tiny HTTP receiver: answers the first `fail_first` requests with 500, the rest with 200.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(fail_first: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let url = format!("http://{}/webhook", listener.local_addr().expect("address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let n = log.lock().expect("log").len();
                let status = if n < fail_first { 500 } else { 200 };
                if let Some((signature, body)) = handle(stream, status) {
                    log.lock().expect("log").push(Received { answered: status, signature, body });
                }
            }
        });
        Receiver { url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("log").clone()
    }

    /// Waits until at least `n` webhooks arrived.
    fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "only {} of {n} webhooks arrived", got.len());
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// Reads one request (headers, `Content-Length` body), answers `status` and closes.
fn handle(mut stream: TcpStream, status: u16) -> Option<(Option<String>, Vec<u8>)> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    assert!(request_line.starts_with("POST /webhook "), "{request_line:?}");
    let (mut length, mut signature) = (0usize, None);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "fieldseal-sandbox-signature" => signature = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let reason = if status == 200 { "OK" } else { "Internal Server Error" };
    write!(stream, "HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").ok()?;
    Some((signature, body))
}

/// A browser: sees redirects instead of following them.
fn browser() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent()
}

/// Status, `Location` and body of an answer.
fn read(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Option<String>, String) {
    let mut response = result.expect("HTTP exchange");
    let location = response.headers().get("location").map(|v| v.to_str().expect("ASCII").to_owned());
    let body = response.body_mut().read_to_string().expect("body");
    (response.status().as_u16(), location, body)
}

fn pay(base: &str, session_id: &str, card: &str) -> (u16, Option<String>, String) {
    read(browser().post(format!("{base}/pay/{session_id}")).send_form([("card", card)]))
}

fn checkout_request(key: &str, amount_cents: u64) -> CheckoutRequest {
    CheckoutRequest {
        reference: "20260417".to_owned(),
        amount_cents,
        currency: "EUR".to_owned(),
        description: "Traffic ticket 2026 0417".to_owned(),
        success_url: SUCCESS_URL.to_owned(),
        cancel_url: CANCEL_URL.to_owned(),
        idempotency_key: key.to_owned(),
    }
}

fn provider(sandbox: &SandboxProcess) -> SandboxProvider {
    SandboxProvider::new(&sandbox.base, API_KEY, WEBHOOK_SECRET.as_bytes())
}

fn now_s() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()).expect("fits")
}

fn header_timestamp(header: &str) -> i64 {
    let t = header.split(',').find_map(|item| item.strip_prefix("t=")).expect("t=");
    t.parse().expect("number")
}

#[test]
fn checkout_is_idempotent_and_needs_the_api_key() {
    let receiver = Receiver::start(0);
    let sandbox = start_sandbox(&receiver.url, 0);
    let provider = provider(&sandbox);
    assert_eq!(provider.checkout_origin(), sandbox.base);

    let checkout = provider.create_checkout(&checkout_request("order-1", 2500)).expect("created");
    assert!(checkout.session_id.starts_with("cs_") && checkout.session_id.len() == 35, "{}", checkout.session_id);
    assert_eq!(checkout.redirect_url, format!("{}/pay/{}", sandbox.base, checkout.session_id));

    let again = provider.create_checkout(&checkout_request("order-1", 2500)).expect("replayed");
    assert_eq!(again, checkout, "same key and body: the same session");

    match provider.create_checkout(&checkout_request("order-1", 2600)) {
        Err(ProviderError::Refused { status: 409, .. }) => {}
        other => panic!("key reused with another body: expected 409, got {other:?}"),
    }
    let other = provider.create_checkout(&checkout_request("order-2", 2500)).expect("another key");
    assert_ne!(other.session_id, checkout.session_id);

    match provider.create_checkout(&checkout_request("order-3", 0)) {
        Err(ProviderError::Refused { status: 400, message }) => assert!(message.contains("amount_cents"), "{message}"),
        other => panic!("zero amount: expected 400, got {other:?}"),
    }

    let state = provider.checkout_state(&checkout.session_id).expect("state");
    assert_eq!(state.status, CheckoutStatus::Open);
    assert_eq!((state.reference.as_str(), state.amount_cents, state.currency.as_str()), ("20260417", 2500, "EUR"));
    assert_eq!(state.paid_at_ms, None);
    match provider.checkout_state(&format!("cs_{}", "0".repeat(32))) {
        Err(ProviderError::Refused { status: 404, .. }) => {}
        other => panic!("unknown session: expected 404, got {other:?}"),
    }

    // Without the key, with a wrong key, without an Idempotency-Key.
    let agent = browser();
    let (status, _, _) = read(agent.get(format!("{}/v1/charges", sandbox.base)).call());
    assert_eq!(status, 401);
    let (status, _, _) = read(
        agent
            .get(format!("{}/v1/checkout/sessions/{}", sandbox.base, checkout.session_id))
            .header("authorization", format!("Bearer {API_KEY}x"))
            .call(),
    );
    assert_eq!(status, 401);
    let wrong = SandboxProvider::new(&sandbox.base, "sk_test_wrong_key_0123456789", WEBHOOK_SECRET.as_bytes());
    match wrong.create_checkout(&checkout_request("order-4", 2500)) {
        Err(ProviderError::Refused { status: 401, message }) => assert!(message.contains("api_key"), "{message}"),
        other => panic!("wrong key: expected 401, got {other:?}"),
    }
    let (status, _, body) = read(
        agent
            .post(format!("{}/v1/checkout/sessions", sandbox.base))
            .header("authorization", format!("Bearer {API_KEY}"))
            .send_json(serde_json::json!({"reference": "1", "amount_cents": 1, "currency": "EUR",
                "description": "", "success_url": SUCCESS_URL, "cancel_url": CANCEL_URL})),
    );
    assert_eq!(status, 400);
    assert!(body.contains("Idempotency-Key"), "{body}");

    assert!(provider.charges().expect("charges").data.is_empty());
    assert!(receiver.received().is_empty());
}

#[test]
fn paying_twice_charges_once_and_the_webhook_verifies() {
    let receiver = Receiver::start(0);
    // The delay lets the browser's redirect arrive before the webhook, as often in real life.
    let sandbox = start_sandbox(&receiver.url, 300);
    let provider = provider(&sandbox);
    let checkout = provider.create_checkout(&checkout_request("order-1", 2500)).expect("created");
    let id = &checkout.session_id;

    let (status, _, page) = read(browser().get(&checkout.redirect_url).call());
    assert_eq!(status, 200);
    for expected in ["SANDBOX — no real money", "25.00 EUR", "20260417", "<label for=\"card\">", "lang=\"en\""] {
        assert!(page.contains(expected), "page lacks {expected:?}");
    }

    let success = format!("http://portal.test/pay/done?session={id}");
    let (status, location, _) = pay(&sandbox.base, id, TEST_CARD);
    assert_eq!((status, location.as_deref()), (303, Some(success.as_str())));
    // A double click, or back and resubmit: the same redirect, no second charge.
    let (status, location, _) = pay(&sandbox.base, id, TEST_CARD);
    assert_eq!((status, location.as_deref()), (303, Some(success.as_str())));

    let charges = provider.charges().expect("charges").data;
    assert_eq!(charges.len(), 1, "charged exactly once");
    assert_eq!((charges[0].session_id.as_str(), charges[0].amount_cents), (id.as_str(), 2500));

    let state = provider.checkout_state(id).expect("state");
    assert_eq!(state.status, CheckoutStatus::Paid);
    let paid_at_ms = state.paid_at_ms.expect("paid_at_ms");
    assert_eq!(paid_at_ms, charges[0].at_ms);

    let webhook = receiver.wait_for(1).remove(0);
    let header = webhook.signature.clone().expect("signature header");
    let event = provider.verify_webhook(Some(&header), &webhook.body, now_s()).expect("genuine webhook");
    assert_eq!(event.session_id, *id);
    assert_eq!((event.reference.as_str(), event.amount_cents, event.currency.as_str()), ("20260417", 2500, "EUR"));
    assert_eq!(event.paid_at_ms, paid_at_ms);
    assert!(event.event_id.starts_with("evt_"), "{}", event.event_id);

    // A tampered copy: the amount changed.
    let tampered = String::from_utf8(webhook.body.clone()).expect("UTF-8").replace("2500", "2599");
    assert_ne!(tampered.as_bytes(), webhook.body.as_slice());
    assert_eq!(provider.verify_webhook(Some(&header), tampered.as_bytes(), now_s()), Err(WebhookError::BadSignature));
    // The genuine copy, replayed six minutes later.
    let t = header_timestamp(&header);
    assert_eq!(provider.verify_webhook(Some(&header), &webhook.body, t + 360), Err(WebhookError::Stale { age_s: 360 }));
    // The genuine copy with its timestamp moved forward to look fresh.
    let moved = header.replace(&format!("t={t}"), &format!("t={}", t + 360));
    assert_eq!(provider.verify_webhook(Some(&moved), &webhook.body, t + 360), Err(WebhookError::BadSignature));
    // Without the header, or signed with another secret.
    assert_eq!(provider.verify_webhook(None, &webhook.body, now_s()), Err(WebhookError::MissingSignature));
    let forged = webhook::sign(b"whsec_someone_else_0123456789", t, &webhook.body);
    assert_eq!(provider.verify_webhook(Some(&forged), &webhook.body, now_s()), Err(WebhookError::BadSignature));

    // The second submit sent no second event.
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(receiver.received().len(), 1);
}

#[test]
fn declined_and_invalid_cards_charge_nothing() {
    let receiver = Receiver::start(0);
    let sandbox = start_sandbox(&receiver.url, 0);
    let provider = provider(&sandbox);
    let checkout = provider.create_checkout(&checkout_request("order-1", 4000)).expect("created");

    let (status, location, page) = pay(&sandbox.base, &checkout.session_id, DECLINED_CARD);
    assert_eq!((status, location), (402, None));
    assert!(page.contains("declined"), "{page}");
    let (status, location, page) = pay(&sandbox.base, &checkout.session_id, "1234 5678 9012 3456");
    assert_eq!((status, location), (422, None));
    assert!(page.contains("Invalid card number"), "{page}");
    assert!(!page.contains("1234 5678"), "the page does not echo the card number");

    assert!(provider.charges().expect("charges").data.is_empty());
    assert_eq!(provider.checkout_state(&checkout.session_id).expect("state").status, CheckoutStatus::Open);

    // Still payable afterwards.
    let (status, _, _) = pay(&sandbox.base, &checkout.session_id, TEST_CARD);
    assert_eq!(status, 303);
    assert_eq!(provider.charges().expect("charges").data.len(), 1);
}

#[test]
fn cancelled_session_cannot_be_paid() {
    let receiver = Receiver::start(0);
    let sandbox = start_sandbox(&receiver.url, 0);
    let provider = provider(&sandbox);
    let checkout = provider.create_checkout(&checkout_request("order-1", 2500)).expect("created");

    let (status, location, _) = read(browser().get(format!("{}/cancel", checkout.redirect_url)).call());
    assert_eq!((status, location.as_deref()), (303, Some(CANCEL_URL)));
    assert_eq!(provider.checkout_state(&checkout.session_id).expect("state").status, CheckoutStatus::Cancelled);

    let (status, location, page) = pay(&sandbox.base, &checkout.session_id, TEST_CARD);
    assert_eq!((status, location), (409, None));
    assert!(page.contains("cancelled and cannot be paid"), "{page}");
    let (status, _, page) = read(browser().get(&checkout.redirect_url).call());
    assert_eq!(status, 200);
    assert!(page.contains("cancelled and cannot be paid") && !page.contains("<form"), "{page}");

    assert!(provider.charges().expect("charges").data.is_empty());
    std::thread::sleep(Duration::from_millis(300));
    assert!(receiver.received().is_empty(), "no webhook for an unpaid session");

    let (status, _, _) = read(browser().get(format!("{}/pay/cs_unknown", sandbox.base)).call());
    assert_eq!(status, 404);
}

#[test]
fn webhook_is_retried_after_a_500() {
    let receiver = Receiver::start(1);
    let sandbox = start_sandbox(&receiver.url, 0);
    let provider = provider(&sandbox);
    let checkout = provider.create_checkout(&checkout_request("order-1", 2500)).expect("created");
    let (status, _, _) = pay(&sandbox.base, &checkout.session_id, TEST_CARD);
    assert_eq!(status, 303);

    let got = receiver.wait_for(2);
    assert_eq!(got.iter().map(|r| r.answered).collect::<Vec<_>>(), [500, 200]);
    let events: Vec<_> = got
        .iter()
        .map(|r| provider.verify_webhook(r.signature.as_deref(), &r.body, now_s()).expect("each attempt is signed"))
        .collect();
    assert_eq!(events[0], events[1], "a retry carries the same event (same id)");
    assert_eq!(events[0].session_id, checkout.session_id);

    // A 2xx ends the retries.
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(receiver.received().len(), 2);
    assert_eq!(provider.charges().expect("charges").data.len(), 1);
}

#[test]
fn short_api_key_is_refused_at_start() {
    let output = Command::new(env!("CARGO_BIN_EXE_fieldseal-paysandbox"))
        .args(["--port", "0", "--webhook-url", "http://127.0.0.1:9/webhook"])
        .env("FIELDSEAL_PAYSANDBOX_API_KEY", "short")
        .env("FIELDSEAL_PAYSANDBOX_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .output()
        .expect("run fieldseal-paysandbox");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "no 'listening' line");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--api-key") && !stderr.contains("short"), "{stderr}");
}

#[test]
fn sigterm_stops_the_sandbox_cleanly() {
    let receiver = Receiver::start(0);
    let mut sandbox = start_sandbox(&receiver.url, 0);
    let status = Command::new("kill").args(["-TERM", &sandbox.child.id().to_string()]).status().expect("run kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = sandbox.child.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit:?}");
}
