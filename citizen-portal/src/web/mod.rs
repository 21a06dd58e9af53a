//! The citizen pages: find your case with ticket number and access code, see it (with the
//! photos the enclave releases for this request only), pay by card through a provider or by
//! bank transfer, print a receipt, object, check a notice, end the session.
//!
//! Every page is server-rendered HTML (auto-escaped templates), with a strict
//! Content-Security-Policy: no inline script, no third-party resources, forms only to this
//! site and the payment provider. Nothing personal is cached (`Cache-Control: no-store`).

pub mod error_pages;
pub mod limits;
pub mod next;
mod objection;
pub mod opened;
mod pages;
mod payments;
pub mod session;
pub mod text;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};

use crate::backend::{Backend, Ledger};
use crate::pay::PaymentProvider;
use limits::{Limiter, PER_CLIENT, PER_TICKET};
use session::Sessions;

/// Largest objection upload (statement and one photo).
pub const MAX_OBJECTION_BODY: usize = 12 << 20;
/// Largest form post otherwise.
const MAX_FORM_BODY: usize = 16 * 1024;

/// How the portal behaves.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// Idle time-out of a session.
    pub idle: Duration,
    /// Every sign-in answer takes at least this long, so timing tells nothing about which
    /// part was wrong or whether the ticket exists.
    pub min_login_time: Duration,
    /// The portal's own public address (for the payment provider's return links).
    pub public_base_url: String,
    /// Behind a reverse proxy: the header it puts the client's address in (e.g.
    /// `x-forwarded-for`; its last entry is used). Unset: the connection's peer address.
    pub client_ip_header: Option<String>,
}

impl Default for PortalConfig {
    fn default() -> Self {
        Self {
            idle: session::IDLE,
            min_login_time: Duration::from_millis(300),
            public_base_url: "http://127.0.0.1".into(),
            client_ip_header: None,
        }
    }
}

/// The portal's state: backend, payment provider, sessions and limits.
pub struct Portal<B> {
    pub(crate) backend: Arc<B>,
    pub(crate) provider: Option<Arc<dyn PaymentProvider>>,
    pub(crate) sessions: Sessions,
    pub(crate) per_ticket: Limiter<String>,
    pub(crate) per_client: Limiter<IpAddr>,
    pub(crate) config: PortalConfig,
    pub(crate) checkout_locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Bytes of opened cases kept for sessions now ([`opened::BUDGET`] at most).
    pub(crate) opened_bytes: Arc<std::sync::atomic::AtomicUsize>,
    csp: HeaderValue,
}

impl<B: Backend> Portal<B> {
    /// A portal over `backend`, with online payment when a provider is configured.
    pub fn new(backend: Arc<B>, provider: Option<Arc<dyn PaymentProvider>>, config: PortalConfig) -> Arc<Self> {
        let form_action = match &provider {
            Some(p) => format!("'self' {}", p.checkout_origin()),
            None => "'self'".into(),
        };
        let csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action {form_action}; \
             frame-ancestors 'none'; base-uri 'none'"
        );
        Arc::new(Self {
            backend,
            provider,
            sessions: Sessions::new(config.idle),
            per_ticket: Limiter::new(PER_TICKET),
            per_client: Limiter::new(PER_CLIENT),
            config,
            checkout_locks: std::sync::Mutex::new(HashMap::new()),
            opened_bytes: Arc::default(),
            csp: HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
        })
    }

    /// Sessions held now (for tests and health).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// The per-ticket lock that serialises starting a checkout (a double click starts one).
    pub(crate) fn checkout_lock(&self, ticket: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.checkout_locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 10_000 {
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        Arc::clone(map.entry(ticket.to_owned()).or_default())
    }
}

/// The citizen pages as a router; the server merges it with its API.
pub fn router<B: Backend>(portal: Arc<Portal<B>>) -> Router {
    session::sweep_while_alive(&portal, |p| &p.sessions);
    let headers_portal = Arc::clone(&portal);
    Router::new()
        .route("/", get(pages::start::<B>))
        .route("/login", post(pages::login::<B>))
        .route("/n/{ticket}", get(pages::notice::<B>))
        .route("/case", get(pages::case::<B>))
        .route("/case/transfer", get(pages::transfer::<B>))
        .route("/case/transfer/qr.png", get(pages::transfer_qr::<B>))
        .route("/case/receipt", get(pages::receipt::<B>))
        .route(
            "/case/objection",
            get(objection::objection_form::<B>)
                .post(objection::objection::<B>)
                .layer(DefaultBodyLimit::max(MAX_OBJECTION_BODY)),
        )
        .route("/logout", post(pages::logout::<B>))
        .route("/lang/{lang}", get(pages::switch_lang::<B>))
        .route("/pay/start", post(payments::start::<B>))
        .route("/pay/return", get(payments::back::<B>))
        .route("/pay/cancel", get(payments::cancelled::<B>))
        .route("/static/portal.css", get(pages::css))
        .route("/static/portal.js", get(pages::js))
        .layer(DefaultBodyLimit::max(MAX_FORM_BODY))
        .layer(axum::middleware::from_fn(move |req, next| {
            let p = Arc::clone(&headers_portal);
            async move { security_headers(&p.csp, req, next).await }
        }))
        .with_state(portal)
}

/// The payment provider's webhook, on the host: it keeps the ledger and the provider's secret,
/// and a webhook carries only a session id, a ticket number and an amount.
pub fn webhook_router<L: Ledger>(ledger: Arc<L>, provider: Option<Arc<dyn PaymentProvider>>) -> Router {
    Router::new()
        .route("/pay/webhook/{provider}", post(payments::webhook::<L>))
        .layer(DefaultBodyLimit::max(MAX_FORM_BODY))
        .with_state(Arc::new(payments::Webhooks { ledger, provider }))
}

/// The citizen pages' addresses on the host, sent on to the same address on the sealed zone's
/// `https://` origin (`zone_url`): a notice printed with the host's address still works.
pub fn redirect_to_zone(zone_url: String) -> Router {
    let go = move |uri: axum::http::Uri| {
        let target = format!("{zone_url}{}", uri.path_and_query().map_or("/", |p| p.as_str()));
        async move { axum::response::Redirect::permanent(&target) }
    };
    Router::new()
        .route("/", get(go.clone()))
        .route("/n/{ticket}", get(go.clone()))
        .route("/office", get(go.clone()))
        .route("/office/", get(go))
}

/// Headers every portal (and back-office) answer carries; `csp` is the page's policy.
pub async fn security_headers(
    csp: &HeaderValue,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let is_static = req.uri().path().contains("/static/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    if !is_static {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    res
}

/// The client's address (for the per-client limit); unspecified when the server was not
/// started with connection info.
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip());
        Ok(Self(ip))
    }
}

/// The client address the per-client limit counts: the peer, or the last entry of the trusted
/// proxy's header when one is configured (a client can prepend entries, not append them).
pub(crate) fn client_ip(peer: IpAddr, headers: &HeaderMap, config: &PortalConfig) -> IpAddr {
    let Some(name) = &config.client_ip_header else { return peer };
    headers
        .get(name.as_str())
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer)
}

/// The request's `Cookie` header as text, if it has one.
pub fn cookie_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::COOKIE).and_then(|v| v.to_str().ok())
}

/// An HTML answer with a status and, when the session is new or rotated, its cookie (the
/// citizen portal's and the back office's pages alike).
pub fn html(status: axum::http::StatusCode, body: Result<String, askama::Error>, cookie: Option<String>) -> Response {
    use axum::response::IntoResponse as _;
    let mut res = match body {
        Ok(b) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], b).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page did not render");
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "something went wrong").into_response()
        }
    };
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_address_comes_from_the_trusted_header_only() {
        let peer: IpAddr = "10.0.0.1".parse().expect("ip");
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4, 203.0.113.9"));
        let mut config = PortalConfig::default();
        assert_eq!(client_ip(peer, &headers, &config), peer, "not trusted unless configured");
        config.client_ip_header = Some("x-forwarded-for".into());
        assert_eq!(client_ip(peer, &headers, &config), "203.0.113.9".parse::<IpAddr>().expect("ip"));
        headers.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(client_ip(peer, &headers, &config), peer);
    }
}
