//! The page handlers: start and sign-in, notice check, case, bank transfer, receipt,
//! objection, language, end of session.

use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use fieldseal_core::notice::{EpcTransfer, NoticeClaim};
use fieldseal_core::ticket::{AccessCode, TicketNumber};
use serde::Deserialize;
use serde_json::json;

use super::limits::minutes;
use super::next::url_component;
use super::opened::OpenedCase;
use super::session::{self, Lookup, Session, SignedIn};
use super::text::{Lang, Texts};
use super::{ClientAddr, Portal, cookie_header};
use crate::backend::{Backend, BackendError, CaseSummary, Release, Status};

pub(crate) type St<B> = State<Arc<Portal<B>>>;

/// What every page's frame needs.
pub(crate) struct Chrome {
    pub t: &'static Texts,
    pub title: String,
    pub csrf: String,
    pub signed_in: bool,
    pub lang_href: String,
    pub flash: Option<Flash>,
}

/// A message at the top of a page.
pub(crate) struct Flash {
    /// `error`, `warning`, `ok` or `info`.
    pub kind: &'static str,
    pub title: String,
    pub text: String,
}

impl Flash {
    pub(crate) fn new(kind: &'static str, title: &str, text: impl Into<String>) -> Self {
        Self { kind, title: title.to_owned(), text: text.into() }
    }
}

impl Chrome {
    pub(crate) fn new(session: &Session, title: &str, path: &str) -> Self {
        Self {
            t: session.lang.texts(),
            title: title.to_owned(),
            csrf: session.csrf.clone(),
            signed_in: session.signed.is_some(),
            lang_href: format!("/lang/{}?next={}", session.lang.other().texts().lang, path),
            flash: None,
        }
    }

    pub(crate) fn with(mut self, flash: Flash) -> Self {
        self.flash = Some(flash);
        self
    }
}

#[derive(Template)]
#[template(path = "start.html")]
struct StartPage {
    c: Chrome,
    ticket: String,
    notice: Option<Flash>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub c: Chrome,
    pub text: String,
    pub link: &'static str,
    pub link_text: &'static str,
}

struct OffenceLine {
    code: String,
    title: String,
    legal_basis: String,
    amount: String,
}

struct PaymentRow {
    date: String,
    amount: String,
    method: &'static str,
    reference: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    c: Chrome,
    ticket: String,
    status: &'static str,
    status_class: &'static str,
    offences: Vec<OffenceLine>,
    total: String,
    outstanding: String,
    refund: Option<String>,
    due: String,
    time: String,
    place: String,
    vehicle: String,
    photos: Vec<(String, String)>,
    payments: Vec<PaymentRow>,
    objection: Option<String>,
    can_pay: bool,
    online: bool,
}

#[derive(Template)]
#[template(path = "transfer.html")]
struct TransferPage {
    c: Chrome,
    payee: String,
    iban: String,
    bic: String,
    reference: String,
    amount: String,
    due: String,
    epc_payload: String,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    c: Chrome,
    ticket: String,
    total: String,
    paid: String,
    outstanding: String,
    payments: Vec<PaymentRow>,
    issued: String,
}

pub(crate) use super::html;

/// The session a request belongs to, or a new one (with the cookie to set) and whether an
/// old one had timed out.
pub(crate) fn session_for<B: Backend>(p: &Portal<B>, headers: &HeaderMap) -> (Session, Option<String>, bool) {
    match p.sessions.get(session::cookie_value(cookie_header(headers))) {
        Lookup::Live(s) => (s, None, false),
        other => {
            let s = p.sessions.create(browser_lang(headers));
            let cookie = session::set_cookie(&s.id);
            (s, Some(cookie), matches!(other, Lookup::Expired))
        }
    }
}

/// The session of a page the payment provider sends the browser back to. That navigation comes
/// from another site, so the browser leaves the SameSite=Strict cookie behind: this page must
/// not answer with a new session cookie, which would replace (sign out) the citizen's own. A
/// request without a live session gets a passing one for its language, kept nowhere.
pub(crate) fn session_on_return<B: Backend>(p: &Portal<B>, headers: &HeaderMap) -> Session {
    match p.sessions.get(session::cookie_value(cookie_header(headers))) {
        Lookup::Live(s) => s,
        _ => session::Sessions::passing(browser_lang(headers)),
    }
}

/// The language the browser asks for (German when it names none of ours).
fn browser_lang(headers: &HeaderMap) -> Lang {
    headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map_or(Lang::De, Lang::from_accept_language)
}

/// Where a request without a signed-in session goes instead.
pub(crate) enum Away {
    /// To the start page.
    Start,
    /// To the start page, saying the session timed out.
    Expired,
}

impl IntoResponse for Away {
    fn into_response(self) -> Response {
        match self {
            Self::Start => Redirect::to("/").into_response(),
            Self::Expired => Redirect::to("/?expired=1").into_response(),
        }
    }
}

/// A signed-in session, or where to send the browser instead.
pub(crate) fn signed_in<B: Backend>(p: &Portal<B>, headers: &HeaderMap) -> Result<(Session, SignedIn), Away> {
    match p.sessions.get(session::cookie_value(cookie_header(headers))) {
        Lookup::Live(s) => match s.signed.clone() {
            Some(case) => Ok((s, case)),
            None => Err(Away::Start),
        },
        Lookup::Expired => Err(Away::Expired),
        Lookup::None => Err(Away::Start),
    }
}

/// The "try again later" page.
pub(crate) fn unavailable(session: &Session, e: &BackendError) -> Response {
    match e {
        BackendError::Unavailable(detail) => tracing::warn!(%detail, "portal backend unavailable"),
        BackendError::Internal(detail) => tracing::error!(%detail, "portal backend failed"),
    }
    let t = session.lang.texts();
    let page = MessagePage {
        c: Chrome::new(session, t.unavailable_title, "/"),
        text: t.unavailable.to_owned(),
        link: "/",
        link_text: t.to_start,
    };
    html(StatusCode::SERVICE_UNAVAILABLE, page.render(), None)
}

#[derive(Deserialize)]
pub(crate) struct StartQuery {
    ticket: Option<String>,
    ended: Option<String>,
    expired: Option<String>,
}

pub(crate) async fn start<B: Backend>(State(p): St<B>, headers: HeaderMap, Query(q): Query<StartQuery>) -> Response {
    let (session, cookie, expired) = session_for(&p, &headers);
    if session.signed.is_some() {
        return Redirect::to("/case").into_response();
    }
    let t = session.lang.texts();
    let mut c = Chrome::new(&session, t.start_title, "/");
    if q.ended.is_some() {
        c = c.with(Flash::new("ok", t.end_session, t.session_ended));
    } else if expired || q.expired.is_some() {
        c = c.with(Flash::new("info", t.end_session, t.session_expired));
    }
    let ticket = q.ticket.unwrap_or_default().chars().filter(|c| c.is_ascii_digit() || *c == '-').take(20).collect();
    html(StatusCode::OK, StartPage { c, ticket, notice: None }.render(), cookie)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    csrf: String,
    ticket: String,
    code: String,
}

pub(crate) async fn login<B: Backend>(
    State(p): St<B>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let started = Instant::now();
    let ip = super::client_ip(ip, &headers, &p.config);
    let (session, cookie, _) = session_for(&p, &headers);
    let t = session.lang.texts();
    let typed_ticket: String = form.ticket.chars().filter(|c| c.is_ascii_digit() || *c == '-').take(20).collect();
    let retry = |flash: Flash, status: StatusCode, session: &Session, cookie: Option<String>| {
        let page = StartPage {
            c: Chrome::new(session, t.start_title, "/").with(flash),
            ticket: typed_ticket.clone(),
            notice: None,
        };
        html(status, page.render(), cookie)
    };
    if cookie.is_some() || !session.csrf_ok(&form.csrf) {
        return retry(Flash::new("error", t.error_prefix, t.form_expired), StatusCode::FORBIDDEN, &session, cookie);
    }
    let ticket_key: String = form.ticket.chars().filter(char::is_ascii_digit).take(32).collect();
    let now = Instant::now();
    // An attempt takes a slot of the ticket's limit first, so parallel wrong codes for one
    // ticket never pass it. The per-client limit counts failures afterwards: many citizens
    // behind one address (a company's or a carrier's NAT) sign in at the same moment, and
    // holding slots per address would refuse them (found by the portal bench).
    let slots = match p.per_client.wait(&ip, now) {
        Some(wait) => Err(wait),
        None => p.per_ticket.begin(&ticket_key, now),
    };
    let ticket_attempt = match slots {
        Ok(slot) => slot,
        Err(wait) => {
            pad(started, p.config.min_login_time).await;
            let text = t.too_many.replace("{n}", &minutes(wait).to_string());
            return retry(Flash::new("error", t.error_prefix, text), StatusCode::TOO_MANY_REQUESTS, &session, None);
        }
    };
    let release = match (TicketNumber::parse(&form.ticket), AccessCode::parse(&form.code)) {
        (Ok(ticket), Ok(code)) => match p.backend.release(&ticket, &code).await {
            Ok(Release::Granted(view)) => Ok((ticket, code, OpenedCase::keep(*view, &p.opened_bytes))),
            Ok(Release::Denied) => Err(None),
            Err(e) => Err(Some(e)),
        },
        _ => Err(None),
    };
    match release {
        Ok((ticket, code, opened)) => {
            pad(started, p.config.min_login_time).await;
            match p.sessions.sign_in(&session.id, SignedIn { ticket, code, opened }) {
                Some(new) => {
                    let mut res = Redirect::to("/case").into_response();
                    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(&new.id)) {
                        res.headers_mut().append(header::SET_COOKIE, v);
                    }
                    res
                }
                None => Redirect::to("/?expired=1").into_response(),
            }
        }
        Err(Some(e)) => unavailable(&session, &e),
        Err(None) => {
            let locked = [p.per_client.fail(&ip, now), ticket_attempt.fail(now)].into_iter().flatten().max();
            tracing::info!("portal sign-in refused");
            pad(started, p.config.min_login_time).await;
            let text = match locked {
                Some(wait) => t.too_many.replace("{n}", &minutes(wait).to_string()),
                None => t.login_failed.to_owned(),
            };
            retry(Flash::new("error", t.error_prefix, text), StatusCode::UNAUTHORIZED, &session, None)
        }
    }
}

/// Waits until `min` has passed since `started`.
async fn pad(started: Instant, min: std::time::Duration) {
    if let Some(rest) = min.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
}

#[derive(Deserialize)]
pub(crate) struct NoticeQuery {
    s: Option<String>,
}

/// The notice's QR link: says whether the notice is genuine before asking for anything.
pub(crate) async fn notice<B: Backend>(
    State(p): St<B>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let (session, cookie, _) = session_for(&p, &headers);
    let t = session.lang.texts();
    let signature: Option<[u8; 64]> =
        q.s.as_deref().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok()).and_then(|b| b.try_into().ok());
    let parsed = TicketNumber::parse(&ticket).ok();
    let verdict = match (&parsed, signature) {
        (Some(ticket), Some(sig)) => {
            let device = p.backend.device_key(ticket.device_prefix()).await;
            let summary = p.backend.summary(ticket).await;
            match (device, summary) {
                (Ok(Some(key)), Ok(Some(case))) => {
                    let claim = NoticeClaim {
                        ticket_number: ticket,
                        total_cents: case.total_cents,
                        due_date: case.due_date,
                        iban: &p.backend.payee().iban,
                    };
                    if claim.verify(&key, &sig) { Verdict::Genuine } else { Verdict::Fake }
                }
                (Ok(Some(_)), Ok(None)) => Verdict::Pending,
                (Ok(None), Ok(_)) => Verdict::Fake,
                (Err(e), _) | (_, Err(e)) => return unavailable(&session, &e),
            }
        }
        _ => Verdict::Fake,
    };
    tracing::info!(verdict = verdict.name(), "notice checked");
    let notice = match verdict {
        Verdict::Genuine => Flash::new("ok", t.notice_genuine_title, t.notice_genuine_text),
        Verdict::Pending => Flash::new("warning", t.notice_pending_title, t.notice_pending_text),
        Verdict::Fake => Flash::new("error", t.notice_fake_title, t.notice_fake_text),
    };
    let path = format!("/n/{}?s={}", parsed.as_ref().map_or("", |t| t.digits()), q.s.as_deref().unwrap_or_default());
    let ticket = match (&verdict, &parsed) {
        (Verdict::Fake, _) | (_, None) => String::new(),
        (_, Some(t)) => t.grouped(),
    };
    let page =
        StartPage { c: Chrome::new(&session, t.start_title, &url_component(&path)), ticket, notice: Some(notice) };
    let status = if matches!(verdict, Verdict::Fake) { StatusCode::NOT_FOUND } else { StatusCode::OK };
    html(status, page.render(), cookie)
}

enum Verdict {
    Genuine,
    Pending,
    Fake,
}

impl Verdict {
    fn name(&self) -> &'static str {
        match self {
            Self::Genuine => "genuine",
            Self::Pending => "not yet known",
            Self::Fake => "not genuine",
        }
    }
}

fn status_of(summary: &CaseSummary, t: &'static Texts, today: time::Date) -> (&'static str, &'static str) {
    match summary.state.status {
        Status::Paid | Status::Overpaid => (t.status_paid, "paid"),
        Status::Withdrawn => (t.status_withdrawn, "withdrawn"),
        Status::Escalated => (t.status_escalated, "overdue"),
        Status::Open | Status::PartPaid if today > summary.deadline => (t.status_overdue, "overdue"),
        Status::PartPaid => (t.status_part_paid, "part-paid"),
        Status::Open => (t.status_open, "open"),
    }
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn payment_rows(summary: &CaseSummary, lang: Lang) -> Vec<PaymentRow> {
    let t = lang.texts();
    summary
        .payments
        .iter()
        .map(|pay| PaymentRow {
            date: time::OffsetDateTime::from_unix_timestamp(pay.booked_at_ms / 1000)
                .map(|d| lang.date(d.date()))
                .unwrap_or_default(),
            amount: lang.money(pay.amount_cents),
            method: if pay.method == "online" { t.method_online } else { t.method_transfer },
            reference: pay.external_ref.clone(),
        })
        .collect()
}

/// The case (kept for the session, or released for this request) with its current index and
/// ledger, or the page to show instead.
pub(crate) async fn load_case<B: Backend>(
    p: &Portal<B>,
    session: &Session,
    case: &SignedIn,
) -> Result<(CaseSummary, Arc<OpenedCase>), Response> {
    if let Some(opened) = &case.opened {
        return match p.backend.summary(&case.ticket).await {
            Ok(Some(summary)) => Ok((summary, Arc::clone(opened))),
            Ok(None) => {
                p.sessions.end(&session.id);
                Err(Redirect::to("/").into_response())
            }
            Err(e) => Err(unavailable(session, &e)),
        };
    }
    let (summary, release) = tokio::join!(p.backend.summary(&case.ticket), p.backend.release(&case.ticket, &case.code));
    match (summary, release) {
        (Ok(Some(summary)), Ok(Release::Granted(view))) => Ok((summary, OpenedCase::for_request(*view))),
        (Err(e), _) | (_, Err(e)) => Err(unavailable(session, &e)),
        _ => {
            p.sessions.end(&session.id);
            Err(Redirect::to("/").into_response())
        }
    }
}

pub(crate) async fn case<B: Backend>(State(p): St<B>, headers: HeaderMap, Query(q): Query<CaseQuery>) -> Response {
    let (session, signed) = match signed_in(&p, &headers) {
        Ok(s) => s,
        Err(away) => return away.into_response(),
    };
    let (summary, view) = match load_case(&p, &session, &signed).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let lang = session.lang;
    let t = lang.texts();
    let (status, status_class) = status_of(&summary, t, today());
    let offences = view
        .offences
        .iter()
        .map(|o| {
            let entry = p.backend.offence(&o.code);
            OffenceLine {
                code: o.code.clone(),
                title: entry
                    .as_ref()
                    .map(|e| if lang == Lang::De { e.title_de.clone() } else { e.title_en.clone() })
                    .unwrap_or_default(),
                legal_basis: entry.map(|e| e.legal_basis).unwrap_or_default(),
                amount: lang.money(o.amount_cents),
            }
        })
        .collect();
    let count = view.photos.len();
    let photos = view
        .photos
        .iter()
        .enumerate()
        .map(|(i, jpeg)| {
            let alt = t.photo_alt.replace("{n}", &(i + 1).to_string()).replace("{of}", &count.to_string());
            (format!("data:image/jpeg;base64,{}", STANDARD.encode(jpeg.as_slice())), alt)
        })
        .collect();
    let vehicle =
        [view.vehicle.plate.as_str(), view.vehicle.nationality.as_str(), &view.vehicle.make, &view.vehicle.colour]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" · ");
    let objection = summary.objection_at_ms.map(|ms| {
        let d = time::OffsetDateTime::from_unix_timestamp(ms / 1000).map(|d| lang.date(d.date())).unwrap_or_default();
        t.objection_received.replace("{d}", &d)
    });
    let mut c = Chrome::new(&session, t.case_title, "/case");
    if q.objected.is_some() {
        if let Some(text) = &objection {
            c = c.with(Flash::new("ok", t.objection_title, text.clone()));
        }
    } else if q.paid.is_some() && summary.outstanding_cents() == 0 {
        c = c.with(Flash::new("ok", t.payment_received_title, t.already_paid));
    } else if q.offline.is_some() {
        c = c.with(Flash::new("warning", t.unavailable_title, t.online_unavailable));
    }
    let page = CasePage {
        c,
        ticket: summary.ticket.grouped(),
        status,
        status_class,
        offences,
        total: lang.money(summary.total_cents),
        outstanding: lang.money(summary.outstanding_cents()),
        due: lang.date(summary.deadline),
        time: lang.date_time(view.observed_at.local()),
        place: view.place.address.clone(),
        vehicle,
        photos,
        payments: payment_rows(&summary, lang),
        objection,
        refund: (summary.state.refund_due_cents > 0)
            .then(|| t.refund_note.replace("{amount}", &lang.money(summary.state.refund_due_cents))),
        can_pay: summary.outstanding_cents() > 0,
        online: p.provider.is_some(),
    };
    html(StatusCode::OK, page.render(), None)
}

#[derive(Deserialize)]
pub(crate) struct CaseQuery {
    objected: Option<String>,
    paid: Option<String>,
    offline: Option<String>,
}

fn transfer_of<B: Backend>(p: &Portal<B>, summary: &CaseSummary) -> EpcTransfer {
    let payee = p.backend.payee();
    EpcTransfer {
        bic: payee.bic.clone(),
        name: payee.name.clone(),
        iban: payee.iban.clone(),
        amount_cents: Some(summary.outstanding_cents().max(1)),
        remittance: summary.ticket.grouped(),
        ..Default::default()
    }
}

/// The signed-in session and its case's summary, or the answer to give instead: the way back
/// to sign-in, the page for an unreachable backend, or `gone()` when the case has disappeared.
pub(crate) async fn signed_summary<B: Backend>(
    p: &Portal<B>,
    headers: &HeaderMap,
    gone: impl FnOnce() -> Response,
) -> Result<(Session, CaseSummary), Response> {
    let (session, signed) = signed_in(p, headers).map_err(IntoResponse::into_response)?;
    match p.backend.summary(&signed.ticket).await {
        Ok(Some(summary)) => Ok((session, summary)),
        Ok(None) => Err(gone()),
        Err(e) => Err(unavailable(&session, &e)),
    }
}

pub(crate) async fn transfer<B: Backend>(State(p): St<B>, headers: HeaderMap) -> Response {
    let (session, summary) = match signed_summary(&p, &headers, || Redirect::to("/").into_response()).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let lang = session.lang;
    let t = lang.texts();
    let transfer = transfer_of(&p, &summary);
    let epc_payload = transfer.to_payload().unwrap_or_default();
    let page = TransferPage {
        c: Chrome::new(&session, t.transfer_title, "/case/transfer"),
        payee: transfer.name,
        iban: transfer
            .iban
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
        bic: transfer.bic,
        reference: transfer.remittance,
        amount: lang.money(summary.outstanding_cents()),
        due: lang.date(summary.due_date),
        epc_payload,
    };
    html(StatusCode::OK, page.render(), None)
}

/// The EPC QR code (GiroCode) for the open amount, as a PNG.
pub(crate) async fn transfer_qr<B: Backend>(State(p): St<B>, headers: HeaderMap) -> Response {
    let (_, summary) = match signed_summary(&p, &headers, || StatusCode::NOT_FOUND.into_response()).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let payload = match transfer_of(&p, &summary).to_payload() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "EPC payload could not be built from the payee settings");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    match crate::qr::png(&payload) {
        Ok(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "QR code did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub(crate) async fn receipt<B: Backend>(State(p): St<B>, headers: HeaderMap) -> Response {
    let (session, summary) = match signed_summary(&p, &headers, || Redirect::to("/").into_response()).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let lang = session.lang;
    let t = lang.texts();
    let page = ReceiptPage {
        c: Chrome::new(&session, t.receipt_title, "/case/receipt"),
        ticket: summary.ticket.grouped(),
        total: lang.money(summary.total_cents),
        paid: lang.money(summary.paid_cents()),
        outstanding: lang.money(summary.outstanding_cents()),
        payments: payment_rows(&summary, lang),
        issued: lang.date_time(time::OffsetDateTime::now_utc()),
    };
    html(StatusCode::OK, page.render(), None)
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub(crate) csrf: String,
}

/// Ends the session and tells the browser to forget everything of this site.
pub(crate) async fn logout<B: Backend>(State(p): St<B>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    if let Lookup::Live(s) = p.sessions.get(session::cookie_value(cookie_header(&headers))) {
        if !s.csrf_ok(&form.csrf) {
            return Redirect::to("/case").into_response();
        }
        p.sessions.end(&s.id);
    }
    let mut res = Redirect::to("/?ended=1").into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie()) {
        h.append(header::SET_COOKIE, v);
    }
    h.insert("clear-site-data", HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""));
    res
}

#[derive(Deserialize)]
pub(crate) struct LangQuery {
    next: Option<String>,
}

pub(crate) async fn switch_lang<B: Backend>(
    State(p): St<B>,
    Path(lang): Path<String>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let (session, cookie, _) = session_for(&p, &headers);
    if let Some(lang) = Lang::parse(&lang) {
        p.sessions.set_lang(&session.id, lang);
    }
    let next = q.next.as_deref().and_then(super::next::local_page).unwrap_or("/");
    let mut res = Redirect::to(next).into_response();
    if let Some(v) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

pub(crate) async fn css() -> Response {
    static_file("text/css; charset=utf-8", include_str!("../../static/portal.css"))
}

pub(crate) async fn js() -> Response {
    static_file("text/javascript; charset=utf-8", include_str!("../../static/portal.js"))
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// A JSON error for machine callers (webhooks).
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
