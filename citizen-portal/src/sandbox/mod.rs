//! The sandbox card-payment provider (`fieldseal-paysandbox`): checkout sessions, a payment page
//! with test cards, and signed webhooks, imitating how the large card providers work.
//!
//! Everything is in memory: a restart forgets all sessions and charges. PAYMENTS.md describes the
//! HTTP API; [`crate::pay::SandboxProvider`] is the portal's side of it.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use zeroize::Zeroizing;

mod api;
pub mod delivery;
mod pages;
pub mod store;
pub mod wire;

pub use api::{MAX_AMOUNT_CENTS, validate, web_origin};

use delivery::Delivery;
use store::Store;

/// What the sandbox needs to run.
pub struct SandboxConfig {
    /// Callers of `/v1` present it as `Authorization: Bearer …`.
    pub api_key: Zeroizing<String>,
    /// Key of the webhook signatures.
    pub webhook_secret: Zeroizing<Vec<u8>>,
    /// Where webhooks are posted (`http://`).
    pub webhook_url: String,
    /// Wait before the first webhook attempt.
    pub webhook_delay: Duration,
    /// `http://host:port` the browser reaches the sandbox at (defaults to the listening address).
    pub public_url: Option<String>,
}

/// The running sandbox's shared state (cheap to clone).
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    /// Own `http://host:port`, for the payment page URLs.
    base: String,
    api_key_digest: [u8; 32],
    store: Mutex<Store>,
    delivery: Arc<Delivery>,
}

impl Sandbox {
    /// `base` is the sandbox's own `http://host:port` (no trailing slash).
    pub fn new(config: SandboxConfig, base: String) -> Self {
        let api_key_digest = Sha256::digest(config.api_key.as_bytes()).into();
        let delivery = Delivery::new(config.webhook_url, config.webhook_secret, config.webhook_delay);
        Sandbox {
            inner: Arc::new(Inner {
                base: base.trim_end_matches('/').to_owned(),
                api_key_digest,
                store: Mutex::new(Store::default()),
                delivery: Arc::new(delivery),
            }),
        }
    }

    /// The ledger. Held only for a state change (never across an `.await`).
    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves the ledger as it was before or after one step.
        self.inner.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// All routes: the JSON API under `/v1` and the payment pages under `/pay`.
pub fn app(sandbox: Sandbox) -> Router {
    Router::new()
        .merge(api::routes(sandbox.clone()))
        .merge(pages::routes())
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .with_state(sandbox)
}

/// Serves on `listener` until `shutdown` completes; `config.public_url` or the listening address
/// becomes the base of the payment page URLs.
pub async fn serve(
    listener: TcpListener,
    config: SandboxConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let base = match &config.public_url {
        Some(url) => url.clone(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let sandbox = Sandbox::new(config, base);
    axum::serve(listener, app(sandbox)).with_graceful_shutdown(shutdown).await
}

/// Unix time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// `prefix` and 32 random lower-case hex digits.
pub(crate) fn random_id(prefix: &str) -> String {
    let random = fieldseal_core::seal::make_random_key();
    format!("{prefix}{}", hex::encode(&random[..16]))
}
