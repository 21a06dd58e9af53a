//! The sandbox's JSON API under `/v1`: checkout sessions and the list of charges, behind a bearer key.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::wire::{ChargeList, CreateSession, ErrorBody, ErrorDetail};
use super::{Sandbox, now_ms, random_id};
use crate::pay::json_error_reason;

/// Largest accepted amount (100 000.00 EUR).
pub const MAX_AMOUNT_CENTS: u64 = 10_000_000;
const MAX_REFERENCE_LEN: usize = 35;
const MAX_DESCRIPTION_LEN: usize = 200;
const MAX_URL_LEN: usize = 2048;
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The `/v1` routes; every one needs `Authorization: Bearer <api key>`.
pub fn routes(sandbox: Sandbox) -> Router<Sandbox> {
    Router::new()
        .route("/v1/checkout/sessions", routing::post(create_session))
        .route("/v1/checkout/sessions/{id}", routing::get(get_session))
        .route("/v1/charges", routing::get(list_charges))
        .route_layer(axum::middleware::from_fn_with_state(sandbox, require_api_key))
}

/// An API error: status, a stable code and a message that names fields but never echoes values.
#[derive(Debug)]
pub enum ApiError {
    Invalid(String),
    Unauthorized,
    NotFound,
    IdempotencyConflict,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::Invalid(message) => (StatusCode::BAD_REQUEST, "invalid_request", message),
            ApiError::Unauthorized => {
                (StatusCode::UNAUTHORIZED, "unauthorized", "missing or wrong API key (Authorization: Bearer …)".into())
            }
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", "no such checkout session".into()),
            ApiError::IdempotencyConflict => (
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "this Idempotency-Key was used with a different request body".into(),
            ),
        };
        let mut response =
            (status, Json(ErrorBody { error: ErrorDetail { code: code.to_owned(), message } })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Compares the bearer key with the configured one in constant time (over SHA-256 digests, so
/// not even the length is revealed by timing).
async fn require_api_key(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .map(Sha256::digest);
    match presented {
        Some(digest) if bool::from(digest.as_slice().ct_eq(&sandbox.inner.api_key_digest)) => next.run(request).await,
        _ => ApiError::Unauthorized.into_response(),
    }
}

async fn create_session(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let request: CreateSession = serde_json::from_slice(&body)
        .map_err(|e| ApiError::Invalid(format!("body is not a checkout session request: {}", json_error_reason(&e))))?;
    validate(&request).map_err(ApiError::Invalid)?;
    let now = now_ms();
    let mut store = sandbox.store();
    let (session, replayed) =
        store.create(key, request, now, random_id("cs_")).map_err(|_| ApiError::IdempotencyConflict)?;
    let wire = session.to_wire(&sandbox.inner.base, now);
    drop(store);
    if replayed {
        tracing::info!(session = %wire.id, "checkout session returned again for its idempotency key");
    } else {
        tracing::info!(session = %wire.id, amount_cents = wire.amount_cents, "checkout session created");
    }
    let mut response = Json(wire).into_response();
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

async fn get_session(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let now = now_ms();
    let store = sandbox.store();
    let session = store.get(&id).ok_or(ApiError::NotFound)?;
    Ok(Json(session.to_wire(&sandbox.inner.base, now)).into_response())
}

async fn list_charges(State(sandbox): State<Sandbox>) -> Json<ChargeList> {
    Json(ChargeList { data: sandbox.store().charges().to_vec() })
}

fn idempotency_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get("idempotency-key")
        .ok_or_else(|| ApiError::Invalid("the Idempotency-Key header is required".into()))?;
    match value.to_str() {
        Ok(key)
            if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(key)
        }
        _ => Err(ApiError::Invalid(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters without spaces"
        ))),
    }
}

/// Checks a create request; the error names the field and the rule.
pub fn validate(request: &CreateSession) -> Result<(), String> {
    if !(1..=MAX_AMOUNT_CENTS).contains(&request.amount_cents) {
        return Err(format!("amount_cents must be 1 to {MAX_AMOUNT_CENTS}"));
    }
    if request.currency != "EUR" {
        return Err("currency must be \"EUR\"".into());
    }
    let reference = &request.reference;
    if reference.is_empty()
        || reference.len() > MAX_REFERENCE_LEN
        || !reference.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(format!("reference must be 1 to {MAX_REFERENCE_LEN} ASCII letters or digits"));
    }
    if request.description.chars().count() > MAX_DESCRIPTION_LEN || request.description.chars().any(char::is_control) {
        return Err(format!(
            "description must be at most {MAX_DESCRIPTION_LEN} characters, without control characters"
        ));
    }
    for (field, url) in [("success_url", &request.success_url), ("cancel_url", &request.cancel_url)] {
        if web_origin(url).is_none() {
            return Err(format!(
                "{field} must be an absolute http:// or https:// URL of printable ASCII, \
                 at most {MAX_URL_LEN} characters"
            ));
        }
    }
    Ok(())
}

/// `scheme://host[:port]` of an absolute http(s) URL of printable ASCII without user info;
/// `None` for anything else.
pub fn web_origin(url: &str) -> Option<&str> {
    if url.len() > MAX_URL_LEN || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let scheme_len = if url.starts_with("http://") {
        "http://".len()
    } else if url.starts_with("https://") {
        "https://".len()
    } else {
        return None;
    };
    let authority_len = url[scheme_len..].find(['/', '?', '#']).unwrap_or(url.len() - scheme_len);
    let authority = &url[scheme_len..scheme_len + authority_len];
    if authority.is_empty() || authority.contains('@') || authority.contains(['\\', '"', '\'', ';']) {
        return None;
    }
    Some(&url[..scheme_len + authority_len])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> CreateSession {
        CreateSession {
            reference: "20260001".to_owned(),
            amount_cents: 2500,
            currency: "EUR".to_owned(),
            description: "Traffic ticket 2026 0001".to_owned(),
            success_url: "http://127.0.0.1:8080/pay/done?session={CHECKOUT_SESSION_ID}".to_owned(),
            cancel_url: "https://portal.example/pay/cancelled".to_owned(),
        }
    }

    fn refused(change: impl FnOnce(&mut CreateSession)) -> String {
        let mut request = good();
        change(&mut request);
        validate(&request).expect_err("should be refused")
    }

    #[test]
    fn good_request_passes() {
        assert_eq!(validate(&good()), Ok(()));
        let mut request = good();
        request.amount_cents = MAX_AMOUNT_CENTS;
        request.reference = "A".repeat(35);
        request.description = String::new();
        assert_eq!(validate(&request), Ok(()));
    }

    #[test]
    fn amount_out_of_range_is_refused() {
        assert!(refused(|r| r.amount_cents = 0).starts_with("amount_cents"));
        assert!(refused(|r| r.amount_cents = MAX_AMOUNT_CENTS + 1).starts_with("amount_cents"));
    }

    #[test]
    fn other_currencies_are_refused() {
        assert!(refused(|r| r.currency = "USD".into()).starts_with("currency"));
        assert!(refused(|r| r.currency = "eur".into()).starts_with("currency"));
    }

    #[test]
    fn reference_must_be_short_ascii_alphanumeric() {
        for bad in ["", "2026-0001", "2026 0001", "2026000١", &"1".repeat(36)] {
            assert!(refused(|r| r.reference = bad.into()).starts_with("reference"), "{bad:?}");
        }
    }

    #[test]
    fn description_is_bounded() {
        assert!(refused(|r| r.description = "x".repeat(201)).starts_with("description"));
        assert!(refused(|r| r.description = "line\nbreak".into()).starts_with("description"));
    }

    #[test]
    fn urls_must_be_absolute_http() {
        for bad in [
            "",
            "/relative",
            "javascript:alert(1)",
            "ftp://host/x",
            "http://",
            "http:///path",
            "http://user@host/",
            "http://host/with space",
            "http://host/\u{e4}",
        ] {
            assert!(refused(|r| r.success_url = bad.into()).starts_with("success_url"), "{bad:?}");
            assert!(refused(|r| r.cancel_url = bad.into()).starts_with("cancel_url"), "{bad:?}");
        }
    }

    #[test]
    fn origin_of_urls() {
        assert_eq!(web_origin("http://127.0.0.1:8080/a?b#c"), Some("http://127.0.0.1:8080"));
        assert_eq!(web_origin("https://portal.example"), Some("https://portal.example"));
        assert_eq!(web_origin("https://portal.example?x=1"), Some("https://portal.example"));
        assert_eq!(web_origin("http://[::1]:9/x"), Some("http://[::1]:9"));
    }
}
