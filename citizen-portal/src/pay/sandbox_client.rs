//! [`SandboxProvider`]: the [`PaymentProvider`] adapter for `fieldseal-paysandbox`, over its HTTP API.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::{
    Checkout, CheckoutRequest, CheckoutState, CheckoutStatus, PaymentEvent, PaymentProvider, ProviderError,
    WEBHOOK_TOLERANCE_S, WebhookError, http_origin, json_error_reason, webhook,
};
use crate::sandbox::wire::{
    ChargeList, CreateSession, EVENT_CHECKOUT_COMPLETED, ErrorBody, Event, SIGNATURE_HEADER, Session, SessionStatus,
};

/// Whole-call limit of each API call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest API answer read.
const MAX_ANSWER_BYTES: u64 = 1024 * 1024;
/// What to check when the sandbox does not answer.
const UNREACHABLE_HINT: &str =
    "check that fieldseal-paysandbox is running and that `api_base` in payments.json points to it";

/// The sandbox provider's API, reached with blocking HTTP calls.
pub struct SandboxProvider {
    /// `http://host:port`, no trailing slash.
    api_base: String,
    api_key: Zeroizing<String>,
    webhook_secret: Zeroizing<Vec<u8>>,
    agent: ureq::Agent,
}

impl fmt::Debug for SandboxProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxProvider").field("api_base", &self.api_base).finish_non_exhaustive()
    }
}

impl SandboxProvider {
    /// `api_base` is `http://host:port` of the sandbox (as validated by [`super::ProviderConfig`]).
    pub fn new(api_base: &str, api_key: &str, webhook_secret: &[u8]) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(CALL_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .new_agent();
        SandboxProvider {
            api_base: api_base.trim_end_matches('/').to_owned(),
            api_key: Zeroizing::new(api_key.to_owned()),
            webhook_secret: Zeroizing::new(webhook_secret.to_vec()),
            agent,
        }
    }

    /// All charges the sandbox made (for tests and reconciliation).
    pub fn charges(&self) -> Result<ChargeList, ProviderError> {
        let request = self.agent.get(format!("{}/v1/charges", self.api_base));
        self.answer(self.authorized(request).call())
    }

    fn authorized<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        request.header("authorization", format!("Bearer {}", self.api_key.as_str()))
    }

    /// Reads a 2xx answer as `T`; maps everything else to a [`ProviderError`].
    fn answer<T: DeserializeOwned>(
        &self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ProviderError> {
        let mut response = result.map_err(|e| match e {
            ureq::Error::Timeout(_) => {
                ProviderError::Unreachable(format!("no answer within {CALL_TIMEOUT:?}; {UNREACHABLE_HINT}"))
            }
            ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                ProviderError::Unreachable(format!("{e}; {UNREACHABLE_HINT}"))
            }
            other => ProviderError::BadAnswer(format!("HTTP exchange failed: {other}")),
        })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .map_err(|e| ProviderError::BadAnswer(format!("cannot read the answer (HTTP {status}): {e}")))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body).map_err(|e| {
                ProviderError::BadAnswer(format!("answer is not the expected JSON: {}", json_error_reason(&e)))
            });
        }
        let message = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(error) if status == 401 => {
                format!("{} (check `api_key` in payments.json against the sandbox's --api-key)", error.error.message)
            }
            Ok(error) => error.error.message,
            Err(_) => "no error description".to_owned(),
        };
        Err(ProviderError::Refused { status, message })
    }
}

impl PaymentProvider for SandboxProvider {
    fn name(&self) -> &str {
        "sandbox"
    }

    fn checkout_origin(&self) -> String {
        http_origin(&self.api_base).unwrap_or_else(|_| self.api_base.clone())
    }

    fn create_checkout(&self, req: &CheckoutRequest) -> Result<Checkout, ProviderError> {
        let body = CreateSession {
            reference: req.reference.clone(),
            amount_cents: req.amount_cents,
            currency: req.currency.clone(),
            description: req.description.clone(),
            success_url: req.success_url.clone(),
            cancel_url: req.cancel_url.clone(),
        };
        let request = self
            .agent
            .post(format!("{}/v1/checkout/sessions", self.api_base))
            .header("idempotency-key", &req.idempotency_key);
        let session: Session = self.answer(self.authorized(request).send_json(&body))?;
        // The browser must land on the origin the portal allows in its CSP, and on nothing else.
        let origin = self.checkout_origin();
        if !session.url.strip_prefix(&origin).is_some_and(|rest| rest.starts_with('/')) {
            return Err(ProviderError::BadAnswer(format!(
                "the payment page is not on {origin}; start the sandbox with --public-url equal to `api_base`"
            )));
        }
        if session.reference != req.reference || session.amount_cents != req.amount_cents {
            return Err(ProviderError::BadAnswer("the session does not match the request".to_owned()));
        }
        Ok(Checkout { session_id: session.id, redirect_url: session.url })
    }

    fn checkout_state(&self, session_id: &str) -> Result<CheckoutState, ProviderError> {
        // The id comes back through the browser: never let it shape the API path.
        let well_formed = !session_id.is_empty()
            && session_id.len() <= 64
            && session_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !well_formed {
            return Err(ProviderError::Refused { status: 404, message: "no such checkout session".to_owned() });
        }
        let request = self.agent.get(format!("{}/v1/checkout/sessions/{session_id}", self.api_base));
        let session: Session = self.answer(self.authorized(request).call())?;
        if session.id != session_id {
            return Err(ProviderError::BadAnswer("the answer is about another session".to_owned()));
        }
        let status = match session.status {
            SessionStatus::Open => CheckoutStatus::Open,
            SessionStatus::Paid => CheckoutStatus::Paid,
            SessionStatus::Cancelled => CheckoutStatus::Cancelled,
            SessionStatus::Expired => CheckoutStatus::Expired,
        };
        if (status == CheckoutStatus::Paid) != session.paid_at_ms.is_some() {
            return Err(ProviderError::BadAnswer("paid_at_ms does not fit the status".to_owned()));
        }
        Ok(CheckoutState {
            session_id: session.id,
            reference: session.reference,
            amount_cents: session.amount_cents,
            currency: session.currency,
            status,
            paid_at_ms: session.paid_at_ms,
        })
    }

    fn verify_webhook(
        &self,
        signature_header: Option<&str>,
        body: &[u8],
        now_s: i64,
    ) -> Result<PaymentEvent, WebhookError> {
        let header = signature_header.ok_or(WebhookError::MissingSignature)?;
        webhook::verify(&self.webhook_secret, header, body, now_s, WEBHOOK_TOLERANCE_S)?;
        let event: Event = serde_json::from_slice(body)
            .map_err(|e| WebhookError::BadPayload(format!("not the expected event JSON: {}", json_error_reason(&e))))?;
        if event.kind != EVENT_CHECKOUT_COMPLETED {
            return Err(WebhookError::BadPayload(format!("unexpected event type {:?}", event.kind)));
        }
        if event.id.is_empty() || event.data.session_id.is_empty() || event.data.amount_cents == 0 {
            return Err(WebhookError::BadPayload("event id, session id or amount missing".to_owned()));
        }
        Ok(PaymentEvent {
            event_id: event.id,
            session_id: event.data.session_id,
            reference: event.data.reference,
            amount_cents: event.data.amount_cents,
            currency: event.data.currency,
            paid_at_ms: event.data.paid_at_ms,
        })
    }

    fn signature_header_name(&self) -> &'static str {
        SIGNATURE_HEADER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_fieldseal_test_0123456789";
    const NOW: i64 = 1_700_000_000;

    fn provider() -> SandboxProvider {
        SandboxProvider::new("http://127.0.0.1:9/", "sk_test_0123456789abcdef", SECRET)
    }

    fn event_body(kind: &str) -> Vec<u8> {
        format!(
            r#"{{"id":"evt_01","type":"{kind}","data":{{"session_id":"cs_01","reference":"20260001",
            "amount_cents":2500,"currency":"EUR","paid_at_ms":1700000000000}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn signed_completed_event_is_read() {
        let body = event_body(EVENT_CHECKOUT_COMPLETED);
        let header = webhook::sign(SECRET, NOW, &body);
        let event = provider().verify_webhook(Some(&header), &body, NOW + 10).expect("verified");
        assert_eq!(event.event_id, "evt_01");
        assert_eq!(event.session_id, "cs_01");
        assert_eq!(event.reference, "20260001");
        assert_eq!((event.amount_cents, event.paid_at_ms), (2500, 1_700_000_000_000));
    }

    #[test]
    fn webhook_without_signature_is_refused() {
        let body = event_body(EVENT_CHECKOUT_COMPLETED);
        assert_eq!(provider().verify_webhook(None, &body, NOW), Err(WebhookError::MissingSignature));
    }

    #[test]
    fn webhook_older_than_five_minutes_is_refused() {
        let body = event_body(EVENT_CHECKOUT_COMPLETED);
        let header = webhook::sign(SECRET, NOW, &body);
        assert_eq!(provider().verify_webhook(Some(&header), &body, NOW + 301), Err(WebhookError::Stale { age_s: 301 }));
    }

    #[test]
    fn signed_but_unknown_event_is_a_bad_payload() {
        let body = event_body("checkout.session.expired");
        let header = webhook::sign(SECRET, NOW, &body);
        assert!(matches!(provider().verify_webhook(Some(&header), &body, NOW), Err(WebhookError::BadPayload(_))));
        let header = webhook::sign(SECRET, NOW, b"[]");
        assert!(matches!(provider().verify_webhook(Some(&header), b"[]", NOW), Err(WebhookError::BadPayload(_))));
    }

    #[test]
    fn malformed_session_id_is_not_sent() {
        for id in ["", "../charges", "cs_1/../../x", "cs 1", &"a".repeat(65)] {
            assert!(matches!(provider().checkout_state(id), Err(ProviderError::Refused { status: 404, .. })), "{id:?}");
        }
    }

    #[test]
    fn closed_port_is_unreachable_with_a_hint() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        let provider = SandboxProvider::new(&format!("http://127.0.0.1:{port}"), "sk_test_0123456789abcdef", SECRET);
        match provider.checkout_state("cs_0123") {
            Err(ProviderError::Unreachable(message)) => assert!(message.contains("payments.json"), "{message}"),
            other => panic!("expected Unreachable, got {other:?}"),
        }
    }
}
