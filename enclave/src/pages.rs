//! What the zone serves over its own TLS. For now: its attestation, fetched over the very TLS
//! session a client wants to trust (as Nitro-enclave front ends such as nitriding do), so the
//! client can check that the key hash in the signed document is the key it is talking to.
//! The citizen portal and the back office move here next.

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
    h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    response
}

/// The zone's router.
pub fn router<P: Platform + 'static>(enclave: Arc<Enclave<P>>) -> Router {
    Router::new()
        .route(
            "/zone/attestation",
            get(move || {
                let enclave = Arc::clone(&enclave);
                async move {
                    let report = enclave.health(crate::serve::now_ms());
                    let body = serde_json::to_vec(&report).unwrap_or_default();
                    harden(([(header::CONTENT_TYPE, "application/json")], body).into_response())
                }
            }),
        )
        .fallback(|| async { harden((StatusCode::NOT_FOUND, "not found").into_response()) })
}
