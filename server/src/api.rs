//! The relay's HTTP API (axum): enrolment, attestation, catalogue, sync, resumable blob upload,
//! receipts, health. Every refusal is a clear status with a JSON `{"error": …}`; a 500 says
//! only "something went wrong" and the detail goes to the log.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use fieldseal_core::seal::sha256;
use fieldseal_core::sync::UPLOAD_OFFSET_HEADER;
use fieldseal_core::wire::envelope::Id16;
use fieldseal_core::wire::relay::{EnrolRequest, Enrolment, MAX_BLOB_CHUNK, MAX_SYNC_BODY};
use serde_json::json;

use crate::db::EnrolOutcome;
use crate::relay::{BlobError, Relay, now_ms};
use fieldseal_core::ticket::normalise_typed_code;

/// Largest JSON request body.
const MAX_JSON_BODY: usize = 16 * 1024;

/// A refusal or failure, as the client sees it.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request is malformed.
    BadRequest(String),
    /// 403: not allowed.
    Forbidden(String),
    /// 404: no such thing.
    NotFound(String),
    /// 409: conflicts with what is stored.
    Conflict(String),
    /// 413: the body is too large.
    TooLarge(String),
    /// 422: well-formed but unacceptable.
    Unprocessable(String),
    /// 503: a passing problem; try again.
    Unavailable(String),
    /// 500: a bug or a failing disk; the detail is logged, not sent.
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            Self::NotFound(m) => (StatusCode::NOT_FOUND, m),
            Self::Conflict(m) => (StatusCode::CONFLICT, m),
            Self::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m),
            Self::Unprocessable(m) => (StatusCode::UNPROCESSABLE_ENTITY, m),
            Self::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m),
            Self::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "something went wrong; the server log has the details".into())
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Internal(e.to_string())
    }
}

type Shared = State<Arc<Relay>>;

/// The API router over a relay, with the citizen pages merged in.
pub fn app(relay: Arc<Relay>, pages: Router) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/health/live", get(live))
        .route("/v1/enrol", post(enrol).layer(DefaultBodyLimit::max(MAX_JSON_BODY)))
        .route("/v1/attestation", get(attestation))
        .route("/v1/catalogue", get(catalogue))
        .route("/v1/sync", post(sync).layer(DefaultBodyLimit::max(MAX_SYNC_BODY)))
        .route(
            "/v1/blobs/{envelope_id}/{index}",
            get(blob_status).put(put_blob).layer(DefaultBodyLimit::max(MAX_BLOB_CHUNK)),
        )
        .route("/v1/receipts/{envelope_id}", get(receipt))
        .with_state(relay);
    api.merge(pages)
        .layer(axum::middleware::from_fn(refuse_announced_oversize))
        .layer(axum::middleware::from_fn(log_request))
        .layer(axum::middleware::from_fn(fieldseal_portal::web::error_pages::error_pages))
}

/// Refuses a body whose announced length is over the largest any route takes, before a byte
/// of it is read (each route's own, smaller limit applies while reading).
async fn refuse_announced_oversize(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_SYNC_BODY as u64) {
        return ApiError::TooLarge(format!("the body is over the {MAX_SYNC_BODY}-byte limit")).into_response();
    }
    next.run(req).await
}

/// One log line per request: method, path (ids only), status, time. Never bodies.
async fn log_request(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    tracing::info!(%method, %path, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    response
}

/// Liveness only: answers without touching the database or the enclave (load balancers, and
/// the baseline of the portal benchmark).
async fn live() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

async fn health(State(relay): Shared) -> Response {
    let db = relay.db.ping().await.is_ok();
    let enclave = relay.enclave.health().await;
    let (enclave_ok, platform, sandbox) = match &enclave {
        Ok(h) => (h.sandbox.all_hold(), h.platform.clone(), Some(h.sandbox.clone())),
        Err(_) => (false, String::new(), None),
    };
    let status = if db && enclave_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "status": if status == StatusCode::OK { "ok" } else { "degraded" },
        "database": if db { "ok" } else { "unreachable" },
        "enclave": if enclave_ok { "ok" } else { "unavailable" },
        "attestation_platform": platform,
        "enclave_sandbox": sandbox,
        "uploads_in_progress": relay.uploads_in_progress(),
    });
    (status, Json(body)).into_response()
}

async fn enrol(State(relay): Shared, body: Bytes) -> Result<Json<Enrolment>, ApiError> {
    let req: EnrolRequest = serde_json::from_slice(&body)
        .map_err(|_| ApiError::BadRequest("expected {\"code\": …, \"verifying_key\": 64 hex digits}".into()))?;
    let health = relay.enclave.health().await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let code_hash = sha256(normalise_typed_code(&req.code).as_bytes());
    match relay.db.enrol(&code_hash, &req.verifying_key, now_ms()).await? {
        EnrolOutcome::Enrolled { device_id, device_prefix } => {
            tracing::info!(device = %device_id, prefix = device_prefix, "device enrolled");
            Ok(Json(Enrolment {
                device_id,
                device_prefix,
                attestation: health.attestation,
                catalogue: relay.issued.catalogue.clone(),
                issuer_key: relay.issued.issuer_key,
                payee: relay.issued.payee.clone(),
                receipt_key: relay.receipt_key(),
            }))
        }
        EnrolOutcome::BadCode => {
            tracing::warn!("enrolment refused: unknown, used or expired code");
            Err(ApiError::Forbidden(
                "the enrolment code is unknown, used or expired: ask your administrator for a new one".into(),
            ))
        }
        EnrolOutcome::KeyTaken => Err(ApiError::Conflict("this device key is registered already".into())),
        EnrolOutcome::NoPrefixLeft => Err(ApiError::Unavailable("all 9999 device prefixes are in use".into())),
    }
}

async fn attestation(State(relay): Shared) -> Result<Response, ApiError> {
    let h = relay.enclave.health().await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(Json(h.attestation).into_response())
}

async fn catalogue(State(relay): Shared) -> Response {
    Json(relay.issued.catalogue.clone()).into_response()
}

async fn sync(State(relay): Shared, body: Bytes) -> Result<Response, ApiError> {
    let answer = relay.sync(&body).await.map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Json(answer).into_response())
}

fn blob_path(envelope_id: &str, index: &str) -> Result<(Id16, u16), ApiError> {
    let id =
        Id16::from_hex(envelope_id).ok_or_else(|| ApiError::BadRequest("the envelope id is 32 hex digits".into()))?;
    let index = index.parse().map_err(|_| ApiError::BadRequest("the photo index is a small number".into()))?;
    Ok((id, index))
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::NotFound(m) => Self::NotFound(m),
            BlobError::BadChunk(m) => Self::BadRequest(m),
            BlobError::Offset(_) => Self::Conflict(e.to_string()),
            BlobError::Mismatch => Self::Unprocessable(e.to_string()),
            BlobError::Io(io) => Self::Internal(format!("blob storage: {io}")),
            BlobError::Db(db) => Self::Internal(db.to_string()),
        }
    }
}

async fn blob_status(State(relay): Shared, Path((id, index)): Path<(String, String)>) -> Result<Response, ApiError> {
    let (id, index) = blob_path(&id, &index)?;
    Ok(Json(relay.blob_status(&id, index).await?).into_response())
}

async fn put_blob(
    State(relay): Shared,
    Path((id, index)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (id, index) = blob_path(&id, &index)?;
    let offset: u64 =
        headers.get(UPLOAD_OFFSET_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).ok_or_else(
            || ApiError::BadRequest(format!("the {UPLOAD_OFFSET_HEADER} header (a byte offset) is required")),
        )?;
    match relay.put_blob(&id, index, offset, &body).await {
        Ok(status) => Ok(Json(status).into_response()),
        // The client resumes from where the server stands.
        Err(BlobError::Offset(status)) => Ok((StatusCode::CONFLICT, Json(status)).into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn receipt(State(relay): Shared, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = Id16::from_hex(&id).ok_or_else(|| ApiError::BadRequest("the envelope id is 32 hex digits".into()))?;
    match relay.receipt(&id).await? {
        Some(r) => Ok(Json(r).into_response()),
        None => Err(ApiError::NotFound("no receipt: the envelope or some of its photos are not stored yet".into())),
    }
}
