//! The back office's pages, served inside the sealed zone: clerks sign in (Argon2id password,
//! optional TOTP), see cases by status, import bank statements (parsed here, payer details
//! sealed here), resolve the exceptions queue, run the deadline policy, open personal data for
//! a stated purpose, and export the ledger. Mounted by the zone at `/office`, on the same origin
//! as the citizen portal; the host only relays the TLS bytes and answers [`OfficeAsk`]s. Same session, CSRF and CSP rules as the citizen portal (its session store is
//! reused); every state change and every opening of personal data is written to the audit log.

pub mod accounts;
pub mod backend;
pub mod documents;
pub mod import;
mod pages;

use std::sync::Arc;
use std::time::Duration;

use crate::auth::Role;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::routing::{get, post};
use fieldseal_portal::web::limits::{Limiter, Rule};
use fieldseal_portal::web::session::Sessions;

use self::backend::{OfficeBackend, Store};
#[cfg(doc)]
use crate::store::OfficeAsk;

/// The back office's session cookie (its own, scoped to `/office`).
pub const COOKIE: &str = "__Host-fs_office";

/// The `Set-Cookie` value for an office session: the `__Host-` prefix (ASVS 3.3.1) holds the
/// browser to `Secure`, `Path=/` and no `Domain`, so no other host or plain-http page can plant
/// or replace it.
pub(crate) fn session_cookie(id: &str) -> String {
    fieldseal_portal::web::session::set_named_cookie(COOKIE, "/", id, true)
}

/// The `Set-Cookie` value that deletes the office session's cookie.
pub(crate) fn clear_session_cookie() -> String {
    fieldseal_portal::web::session::clear_named_cookie(COOKIE, "/", true)
}
/// Largest statement upload: about 140,000 transfers of a German bank's camt.053; parsing
/// needs about 6.5 times the file in memory.
pub const MAX_UPLOAD: usize = 128 << 20;
/// Largest request body of the upload (the file and the form around it).
pub const MAX_UPLOAD_BODY: usize = MAX_UPLOAD + 4096;
/// Every sign-in answer takes at least this long (an unknown name and a wrong password look alike).
pub const MIN_LOGIN_TIME: Duration = Duration::from_millis(300);

/// Failed sign-ins per user name: 5 in 15 minutes lock the name for 5 minutes, doubling.
const PER_NAME: Rule = Rule {
    failures: 5,
    window: Duration::from_secs(15 * 60),
    first_lock: Duration::from_secs(5 * 60),
    max_lock: Duration::from_secs(60 * 60),
};

/// A signed-in clerk, as the session holds it.
#[derive(Debug, Clone)]
pub struct Clerk {
    /// Id stamped on actions.
    pub id: i64,
    /// Sign-in name.
    pub username: String,
    /// Role.
    pub role: Role,
}

/// Settings of the back office.
#[derive(Debug, Clone)]
pub struct OfficeConfig {
    /// Idle time-out of a session.
    pub idle: Duration,
}

/// The back office's state.
pub struct Office<B> {
    pub(crate) store: Store<B>,
    pub(crate) sessions: Sessions<Clerk>,
    pub(crate) failures: Limiter<String>,
    /// Failed tries at the first-administrator setup, for everyone together.
    pub(crate) setup_failures: Limiter<()>,
    csp: HeaderValue,
}

impl<B: OfficeBackend> Office<B> {
    /// The back office over `backend`.
    pub fn new(backend: B, config: OfficeConfig) -> Arc<Self> {
        Arc::new(Self {
            store: Store { backend },
            sessions: Sessions::new(config.idle),
            failures: Limiter::new(PER_NAME),
            setup_failures: Limiter::new(pages::SETUP_RULE),
            csp: HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
            ),
        })
    }
}

/// Now, Unix milliseconds (the zone's clock).
pub(crate) fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos().div_euclid(1_000_000) as i64
}

/// The back office's pages, all under `/office/`.
pub fn router<B: OfficeBackend>(office: Arc<Office<B>>) -> Router {
    fieldseal_portal::web::session::sweep_while_alive(&office, |o| &o.sessions);
    let headers = Arc::clone(&office);
    Router::new()
        .route("/office", get(|| async { axum::response::Redirect::to("/office/") }))
        .route("/office/", get(pages::dashboard::<B>))
        .route("/office/login", get(pages::login_form).post(pages::login::<B>))
        .route("/office/logout", post(pages::logout::<B>))
        .route("/office/setup", get(pages::setup_form::<B>).post(pages::setup::<B>))
        .route("/office/staff", get(pages::staff::<B>).post(pages::add_account::<B>))
        .route("/office/staff/{id}/disable", post(pages::disable_account::<B>))
        .route("/office/cases", get(pages::cases::<B>))
        .route("/office/case/{ticket}", get(pages::case::<B>))
        .route("/office/case/{ticket}/open", post(pages::open_case::<B>))
        .route("/office/case/{ticket}/objection", post(pages::open_objection::<B>))
        .route("/office/case/{ticket}/withdraw", post(pages::withdraw::<B>))
        .route("/office/case/{ticket}/refund", post(pages::refund::<B>))
        .route("/office/case/{ticket}/hearing-form", post(pages::hearing_form::<B>))
        .route(
            "/office/import",
            get(pages::import_form).post(pages::import::<B>).layer(DefaultBodyLimit::max(MAX_UPLOAD_BODY)),
        )
        .route("/office/exceptions", get(pages::exceptions::<B>))
        .route("/office/exceptions/{id}/match", post(pages::match_entry::<B>))
        .route("/office/exceptions/{id}/book-out", post(pages::book_out::<B>))
        .route("/office/exceptions/{id}/details", post(pages::entry_details::<B>))
        .route("/office/deadlines", get(pages::deadlines::<B>).post(pages::run_deadlines::<B>))
        .route("/office/export/ledger.csv", get(pages::ledger_csv::<B>))
        .route("/office/export/hearing-forms.csv", post(pages::hearing_forms_csv::<B>))
        .route("/office/audit", get(pages::audit::<B>))
        .route("/office/lang/{lang}", get(pages::switch_lang::<B>))
        .route("/office/static/office.css", get(pages::css))
        .layer(axum::middleware::from_fn(move |req, next| {
            let o = Arc::clone(&headers);
            async move { fieldseal_portal::web::security_headers(&o.csp, req, next).await }
        }))
        .with_state(office)
}
