//! Card payments through a provider: the adapter trait the portal calls, and the `payments.json` that picks one.
//!
//! A provider is reached in three ways, the same for the sandbox as for the large card providers:
//! the portal creates a checkout session ([`PaymentProvider::create_checkout`]) and sends the
//! browser to the provider's page; the browser comes back to `success_url` and the portal asks
//! for the session's state ([`PaymentProvider::checkout_state`]); and the provider posts a signed
//! webhook that the portal checks with [`PaymentProvider::verify_webhook`]. Adding a real provider
//! means one more type implementing [`PaymentProvider`] and one more name in [`ProviderConfig`].
//! PAYMENTS.md describes the whole flow.
//!
//! Calls are blocking (the portal runs them in `spawn_blocking`).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

pub mod sandbox_client;
pub mod webhook;

pub use sandbox_client::SandboxProvider;

/// The placeholder in `success_url` that the provider replaces with the session id.
pub const SESSION_ID_PLACEHOLDER: &str = "{CHECKOUT_SESSION_ID}";

/// How far a webhook's timestamp may be from the portal's clock, either way.
pub const WEBHOOK_TOLERANCE_S: i64 = 300;

/// What the portal asks a provider to collect.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRequest {
    /// The ticket number (digits); the provider shows it and returns it in every answer.
    pub reference: String,
    /// Amount in euro cents.
    pub amount_cents: u64,
    /// ISO 4217 code; "EUR".
    pub currency: String,
    /// Shown on the provider's page ("Traffic ticket 1234 5678").
    pub description: String,
    /// Where the browser goes after paying; may contain [`SESSION_ID_PLACEHOLDER`].
    pub success_url: String,
    /// Where the browser goes when the citizen cancels.
    pub cancel_url: String,
    /// Same key, same request: the same session (so a retried call does not open a second one).
    pub idempotency_key: String,
}

impl fmt::Debug for CheckoutRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The reference is a ticket number: kept out of logs like everything that points at a person.
        f.debug_struct("CheckoutRequest")
            .field("amount_cents", &self.amount_cents)
            .field("currency", &self.currency)
            .finish_non_exhaustive()
    }
}

/// A created checkout session: where to send the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkout {
    /// The provider's id of the session; store it with the payment attempt.
    pub session_id: String,
    /// The provider's payment page (its origin is [`PaymentProvider::checkout_origin`]).
    pub redirect_url: String,
}

/// Where a checkout session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckoutStatus {
    /// Waiting for the citizen to pay.
    Open,
    /// Paid; money was taken once.
    Paid,
    /// The citizen cancelled on the provider's page.
    Cancelled,
    /// Not paid in time; cannot be paid any more.
    Expired,
}

/// A checkout session as the provider sees it now.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutState {
    pub session_id: String,
    /// The reference given at creation (compare it with the ticket before trusting the state).
    pub reference: String,
    pub amount_cents: u64,
    pub currency: String,
    pub status: CheckoutStatus,
    /// When it was paid (unix milliseconds), for [`CheckoutStatus::Paid`].
    pub paid_at_ms: Option<i64>,
}

impl fmt::Debug for CheckoutState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckoutState")
            .field("session_id", &self.session_id)
            .field("amount_cents", &self.amount_cents)
            .field("currency", &self.currency)
            .field("status", &self.status)
            .field("paid_at_ms", &self.paid_at_ms)
            .finish_non_exhaustive()
    }
}

/// A verified "this session was paid" notice from the provider's webhook.
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    /// The provider's event id; the same on every retry of one event (deduplicate on it).
    pub event_id: String,
    pub session_id: String,
    pub reference: String,
    pub amount_cents: u64,
    pub currency: String,
    pub paid_at_ms: i64,
}

impl fmt::Debug for PaymentEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentEvent")
            .field("event_id", &self.event_id)
            .field("session_id", &self.session_id)
            .field("amount_cents", &self.amount_cents)
            .field("currency", &self.currency)
            .field("paid_at_ms", &self.paid_at_ms)
            .finish_non_exhaustive()
    }
}

/// A card payment provider as the portal uses it. One implementation per provider.
pub trait PaymentProvider: Send + Sync + 'static {
    /// Short stable name stored with each payment ("sandbox").
    fn name(&self) -> &str;
    /// `scheme://host:port` the browser is sent to (for the portal's CSP `form-action`).
    fn checkout_origin(&self) -> String;
    /// Opens a checkout session for one ticket.
    fn create_checkout(&self, req: &CheckoutRequest) -> Result<Checkout, ProviderError>;
    /// The current state of a session (after the browser came back, or to reconcile).
    fn checkout_state(&self, session_id: &str) -> Result<CheckoutState, ProviderError>;
    /// Checks a webhook's signature and timestamp and reads the payment out of it.
    ///
    /// `signature_header` is the raw value of the provider's signature header; `now_s` unix seconds.
    fn verify_webhook(
        &self,
        signature_header: Option<&str>,
        body: &[u8],
        now_s: i64,
    ) -> Result<PaymentEvent, WebhookError>;
    /// The HTTP header carrying the webhook signature, e.g. "fieldseal-sandbox-signature".
    fn signature_header_name(&self) -> &'static str;
}

/// A call to the provider's API failed. Messages carry no card or personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ProviderError {
    /// No answer: the text says what to check (the provider running, the configured address).
    #[error("the payment provider cannot be reached: {0}")]
    Unreachable(String),
    /// The provider answered with an error status (bad request, wrong key, unknown session, conflict).
    #[error("the payment provider refused the request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    /// The provider answered something this adapter does not understand.
    #[error("the payment provider gave an unexpected answer: {0}")]
    BadAnswer(String),
}

/// A webhook was not accepted. Answer it with 400; the provider will retry genuine ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook without a signature header")]
    MissingSignature,
    #[error("webhook signature header is malformed")]
    Malformed,
    #[error("webhook signature does not match")]
    BadSignature,
    /// Genuine but signed too long ago (or in the future): a replay, or a clock off by `age_s`.
    #[error("webhook timestamp is {age_s} s away from now (tolerance {WEBHOOK_TOLERANCE_S} s)")]
    Stale { age_s: i64 },
    /// Correctly signed, but not an event this adapter understands.
    #[error("webhook body is not a payment event: {0}")]
    BadPayload(String),
}

/// The data folder's `payments.json`: which provider, where, and its secrets.
///
/// ```json
/// {"provider": "sandbox", "api_base": "http://127.0.0.1:8090", "api_key": "…", "webhook_secret": "…"}
/// ```
#[derive(Clone, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// "sandbox" (the only one in this build).
    pub provider: String,
    /// `http://host:port` of the provider's API.
    pub api_base: String,
    /// Sent as `Authorization: Bearer …`.
    pub api_key: String,
    /// Shared secret of the webhook signatures.
    pub webhook_secret: String,
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("provider", &self.provider)
            .field("api_base", &self.api_base)
            .field("api_key", &"<redacted>")
            .field("webhook_secret", &"<redacted>")
            .finish()
    }
}

/// Provider names this build knows.
pub const KNOWN_PROVIDERS: &[&str] = &["sandbox"];

/// Shortest accepted API key and webhook secret (characters).
pub const MIN_SECRET_LEN: usize = 16;
const MAX_SECRET_LEN: usize = 256;

/// `payments.json` could not be used. Names the file and the field; never shows a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// Not JSON of the expected shape (unknown or missing field, wrong type).
    #[error("{}: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("{}: field `{field}`: {reason}", path.display())]
    Invalid { path: PathBuf, field: &'static str, reason: String },
}

impl ProviderConfig {
    /// Parses and validates the text of `payments.json` (`path` is only used in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: ProviderConfig = serde_json::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.to_owned(), reason: json_error_reason(&e) })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid =
            |field: &'static str, reason: String| ConfigError::Invalid { path: path.to_owned(), field, reason };
        if !KNOWN_PROVIDERS.contains(&self.provider.as_str()) {
            return Err(invalid(
                "provider",
                format!("unknown provider {:?}; this build knows: {}", self.provider, KNOWN_PROVIDERS.join(", ")),
            ));
        }
        if let Err(reason) = http_origin(&self.api_base) {
            return Err(invalid("api_base", reason));
        }
        check_secret(&self.api_key).map_err(|reason| invalid("api_key", reason))?;
        check_secret(&self.webhook_secret).map_err(|reason| invalid("webhook_secret", reason))?;
        Ok(())
    }

    /// The adapter this configuration names.
    pub fn into_provider(self) -> Box<dyn PaymentProvider> {
        // `validate` admitted only known names; "sandbox" is the only one so far.
        Box::new(SandboxProvider::new(&self.api_base, &self.api_key, self.webhook_secret.as_bytes()))
    }
}

/// Reads `payments.json`: `None` when the file does not exist (card payments off).
pub fn load(path: &Path) -> Result<Option<Box<dyn PaymentProvider>>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => zeroize::Zeroizing::new(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ConfigError::Read { path: path.to_owned(), source }),
    };
    let config = ProviderConfig::parse(&text, path)?;
    Ok(Some(config.into_provider()))
}

/// What is wrong with a JSON text, without quoting any value from it (a value could be a secret
/// or a ticket number): serde's "unknown field `x`" and "missing field `x`" name fields only; for
/// other problems the category and position are given.
pub(crate) fn json_error_reason(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match e.classify() {
        serde_json::error::Category::Data
            if message.starts_with("unknown field") || message.starts_with("missing field") =>
        {
            // Cut serde's list of expected fields off after the field name.
            message.split(", expected").next().unwrap_or(&message).to_owned()
        }
        serde_json::error::Category::Data => {
            format!("a field has the wrong type or value (line {} column {})", e.line(), e.column())
        }
        _ => format!("not valid JSON (line {} column {})", e.line(), e.column()),
    }
}

/// API keys and webhook secrets: printable ASCII without spaces (they go into headers), not short.
pub fn check_secret(value: &str) -> Result<(), String> {
    if value.len() < MIN_SECRET_LEN || value.len() > MAX_SECRET_LEN {
        return Err(format!("must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN} characters long"));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces".to_owned());
    }
    Ok(())
}

/// `scheme://host[:port]` of an `http://` base URL without path, query or user info.
///
/// Only plain http: this build's HTTP client has no TLS (the sandbox runs on loopback).
pub fn http_origin(base: &str) -> Result<String, String> {
    let base = base.strip_suffix('/').unwrap_or(base);
    let Some(authority) = base.strip_prefix("http://") else {
        return Err(if base.starts_with("https://") {
            "https is not available in this build (no TLS in its HTTP client); use http:// to a local provider"
                .to_owned()
        } else {
            "must start with http://, e.g. http://127.0.0.1:8090".to_owned()
        });
    };
    if authority.is_empty() {
        return Err("has no host".to_owned());
    }
    if authority.contains(['/', '?', '#', '@']) || authority.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be scheme, host and port only (no path, query or user)".to_owned());
    }
    Ok(format!("http://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"provider": "sandbox", "api_base": "http://127.0.0.1:8090",
        "api_key": "sk_test_0123456789abcdef", "webhook_secret": "whsec_0123456789abcdef"}"#;

    fn parse(text: &str) -> Result<ProviderConfig, ConfigError> {
        ProviderConfig::parse(text, Path::new("/data/payments.json"))
    }

    fn invalid_field(text: &str) -> &'static str {
        match parse(text) {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn good_config_parses_and_names_the_sandbox() {
        let config = parse(GOOD).expect("valid");
        assert_eq!(config.api_base, "http://127.0.0.1:8090");
        let provider = config.into_provider();
        assert_eq!(provider.name(), "sandbox");
        assert_eq!(provider.checkout_origin(), "http://127.0.0.1:8090");
        assert_eq!(provider.signature_header_name(), "fieldseal-sandbox-signature");
    }

    #[test]
    fn unknown_field_is_refused_with_its_name_and_the_file() {
        let text = GOOD.replace("\"provider\"", "\"extra\": 1, \"provider\"");
        let err = parse(&text).expect_err("unknown field");
        let message = err.to_string();
        assert!(message.contains("/data/payments.json"), "{message}");
        assert!(message.contains("`extra`"), "{message}");
    }

    #[test]
    fn missing_field_is_named() {
        let err = parse(
            r#"{"provider": "sandbox", "api_base": "http://127.0.0.1:1", "api_key": "sk_test_0123456789abcdef"}"#,
        )
        .expect_err("missing field");
        assert!(err.to_string().contains("webhook_secret"), "{err}");
    }

    #[test]
    fn wrong_type_does_not_echo_the_value() {
        let err = parse(&GOOD.replace("\"sk_test_0123456789abcdef\"", "[\"sk_secret_value_here\"]")).expect_err("type");
        assert!(!err.to_string().contains("sk_secret_value_here"), "{err}");
    }

    #[test]
    fn unknown_provider_is_refused() {
        assert_eq!(invalid_field(&GOOD.replace("\"sandbox\"", "\"stripe\"")), "provider");
    }

    #[test]
    fn api_base_must_be_plain_http_origin() {
        for bad in ["https://127.0.0.1:8090", "127.0.0.1:8090", "http://", "http://host/path", "http://u@host"] {
            assert_eq!(invalid_field(&GOOD.replace("http://127.0.0.1:8090", bad)), "api_base", "{bad}");
        }
        let config = parse(&GOOD.replace("http://127.0.0.1:8090", "http://pay.local:9/")).expect("trailing slash");
        assert_eq!(config.into_provider().checkout_origin(), "http://pay.local:9");
    }

    #[test]
    fn short_or_spaced_secrets_are_refused_without_showing_them() {
        assert_eq!(invalid_field(&GOOD.replace("sk_test_0123456789abcdef", "short")), "api_key");
        let text = GOOD.replace("whsec_0123456789abcdef", "whsec 0123456789abcdef");
        assert_eq!(invalid_field(&text), "webhook_secret");
        let err = parse(&text).expect_err("spaced");
        assert!(!err.to_string().contains("0123456789abcdef"), "{err}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let shown = format!("{:?}", parse(GOOD).expect("valid"));
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
    }

    #[test]
    fn absent_file_means_no_provider() {
        let path = std::env::temp_dir().join("fieldseal-no-such-dir-for-sure").join("payments.json");
        assert!(load(&path).expect("absent is fine").is_none());
    }

    #[test]
    fn file_on_disk_loads() {
        let dir = std::env::temp_dir().join(format!("fieldseal-pay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("payments.json");
        std::fs::write(&path, GOOD).expect("write");
        let provider = load(&path).expect("loads").expect("present");
        assert_eq!(provider.name(), "sandbox");
        std::fs::write(&path, "{").expect("write");
        let err = load(&path).err().expect("broken JSON");
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
