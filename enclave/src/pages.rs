//! What the zone serves over its own TLS. For now: its attestation, fetched over the very TLS
//! session a client wants to trust (as Nitro-enclave front ends such as nitriding do), so the
//! client can check that the key hash in the signed document is the key it is talking to. A
//! client that asks with `?nonce=HEX` gets a document made for that question, so a recorded
//! answer cannot be replayed to it.
//! With the host's storage on the line, the citizen portal is served here too
//! ([`with_portal`]); the back office moves here next.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::handler::Enclave;
use crate::platform::Platform;

/// Headers every zone answer carries: nothing cached, nothing framed, no third-party content.
fn harden(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    response
}

/// The client's `?nonce=HEX`, if any: `Err` with what is wrong when it is not 16 to 64 bytes
/// of hex.
fn nonce_of(query: Option<&str>) -> Result<Option<Vec<u8>>, &'static str> {
    let Some(query) = query else { return Ok(None) };
    let mut nonce = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("nonce", hex)) if nonce.is_none() => nonce = Some(hex),
            _ => return Err("the only parameter is nonce, once: /zone/attestation?nonce=HEX"),
        }
    }
    let Some(hex) = nonce else { return Ok(None) };
    let bytes = fieldseal_core::seal::decode_hex(hex).ok_or("the nonce must be hex digits")?;
    if !fieldseal_core::attestation::NONCE_BYTES.contains(&bytes.len()) {
        return Err("the nonce must be 16 to 64 bytes (32 to 128 hex digits)");
    }
    Ok(Some(bytes))
}

/// The zone's router when it serves only its attestation.
pub fn router<P: Platform + 'static>(enclave: Arc<Enclave<P>>) -> Router {
    attestation(enclave).fallback(|| async { harden((StatusCode::NOT_FOUND, "not found").into_response()) })
}

/// The zone's router with the citizen pages: every answer is for HTTPS only (HSTS), and an
/// unknown page, a wrong method or a too-large body gets a page in the reader's language.
pub fn with_portal<P: Platform + 'static>(enclave: Arc<Enclave<P>>, portal: Router) -> Router {
    attestation(enclave)
        .merge(portal)
        .layer(axum::middleware::from_fn(fieldseal_portal::web::error_pages::error_pages))
        .layer(axum::middleware::map_response(|mut response: Response| async move {
            response.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
            response
        }))
}

/// Browsers keep to HTTPS for this origin for a year.
const HSTS: &str = "max-age=31536000";

fn attestation<P: Platform + 'static>(enclave: Arc<Enclave<P>>) -> Router {
    Router::new().route(
        "/zone/attestation",
        get(move |uri: axum::http::Uri| {
            let enclave = Arc::clone(&enclave);
            async move {
                let nonce = match nonce_of(uri.query()) {
                    Ok(n) => n,
                    Err(why) => return harden((StatusCode::BAD_REQUEST, why).into_response()),
                };
                let report = enclave.health_for(nonce.as_deref(), crate::serve::now_ms());
                let body = serde_json::to_vec(&report).unwrap_or_default();
                harden(([(header::CONTENT_TYPE, "application/json")], body).into_response())
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::nonce_of;

    #[test]
    fn a_nonce_is_16_to_64_bytes_of_hex_and_nothing_else_is_asked() {
        assert_eq!(nonce_of(None), Ok(None));
        assert_eq!(nonce_of(Some("")), Ok(None));
        assert_eq!(nonce_of(Some(&format!("nonce={}", "ab".repeat(16)))), Ok(Some(vec![0xab; 16])));
        assert_eq!(nonce_of(Some(&format!("nonce={}", "AB".repeat(64)))).map(|n| n.map(|n| n.len())), Ok(Some(64)));
        for bad in [
            format!("nonce={}", "ab".repeat(15)),
            format!("nonce={}", "ab".repeat(65)),
            "nonce=xyz".to_owned(),
            format!("nonce={0}&nonce={0}", "ab".repeat(16)),
            format!("n={}", "ab".repeat(16)),
        ] {
            assert!(nonce_of(Some(&bad)).is_err(), "{bad}");
        }
    }
}
