//! The back office's pages and form handlers.

// Handlers answer a refusal with its page; `Result<_, Response>` lets them use `?` for it.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fieldseal_core::ticket::TicketNumber;
use fieldseal_core::wire::enclave::MIN_PURPOSE_CHARS;
use fieldseal_office::auth::{self, Role, TotpSecret};
use fieldseal_office::policy::{Action, Shown, Status, shown_status};
use fieldseal_portal::web::limits;
use fieldseal_portal::web::session::{self, Lookup, Session};
use serde::Deserialize;

use super::documents::{self, Opened};
use super::import::{self, ImportError};
use super::{COOKIE, Clerk, MIN_LOGIN_TIME, Office};
use crate::db::{Booked, DbError, LedgerCase, ResolveError, ms_day};
use crate::relay::now_ms;

type Page = Result<Response, Response>;

/// A message at the top of a page.
pub(crate) struct Flash {
    kind: &'static str,
    text: String,
}

/// What every page shows around its content.
pub(crate) struct Frame {
    title: String,
    clerk: Option<Clerk>,
    csrf: String,
    nav: &'static str,
    flash: Option<Flash>,
}

impl Frame {
    fn new(session: &Session<Clerk>, title: &str, nav: &'static str) -> Self {
        Self { title: title.to_owned(), clerk: session.signed.clone(), csrf: session.csrf.clone(), nav, flash: None }
    }

    fn with(mut self, kind: &'static str, text: impl Into<String>) -> Self {
        self.flash = Some(Flash { kind, text: text.into() });
        self
    }

    /// Whether the signed-in clerk holds at least `role` (for showing actions).
    fn can(&self, role: &str) -> bool {
        let needed = Role::parse(role).unwrap_or(Role::Admin);
        self.clerk.as_ref().is_some_and(|c| c.role.allows(needed))
    }
}

/// Money for people: `30.00 EUR`.
pub(crate) fn money(cents: u64) -> String {
    money_in(cents, "EUR")
}

/// An amount in its own currency (bank transfers may come in any).
fn money_in(cents: u64, currency: &str) -> String {
    format!("{}.{:02} {currency}", cents / 100, cents % 100)
}

fn money_signed(cents: i64) -> String {
    if cents < 0 { format!("-{}", money(cents.unsigned_abs())) } else { money(cents.unsigned_abs()) }
}

/// A timestamp for people, UTC.
pub(crate) fn when(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn html(status: StatusCode, body: Result<String, askama::Error>, cookie: Option<String>) -> Response {
    let mut res = match body {
        Ok(b) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], b).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a back-office page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be shown").into_response()
        }
    };
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

#[derive(Template)]
#[template(path = "office/message.html")]
struct MessagePage {
    f: Frame,
    text: String,
    back: String,
}

fn message(session: &Session<Clerk>, status: StatusCode, title: &str, text: &str, back: &str) -> Response {
    let page = MessagePage { f: Frame::new(session, title, ""), text: text.to_owned(), back: back.to_owned() };
    html(status, page.render(), None)
}

fn failed(session: &Session<Clerk>, what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "back office: {what}");
    message(
        session,
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available",
        &format!("{what} failed: {e}. Nothing was changed; try again in a minute."),
        "/office/",
    )
}

fn db_failed(session: &Session<Clerk>, e: DbError) -> Response {
    failed(session, "the database", e)
}

fn cookie_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::COOKIE).and_then(|v| v.to_str().ok())
}

/// The signed-in clerk, or a redirect to the sign-in page. Disabled accounts are signed out.
async fn signed_in(o: &Office, headers: &HeaderMap) -> Result<(Session<Clerk>, Clerk), Response> {
    match o.sessions.get(session::named_cookie_value(cookie_header(headers), COOKIE)) {
        Lookup::Live(s) => match s.signed.clone() {
            Some(clerk) => match o.relay.db.clerk(clerk.id).await {
                Ok(Some(row)) if !row.disabled => Ok((s, clerk)),
                Ok(_) => {
                    o.sessions.end(&s.id);
                    Err(Redirect::to("/office/login").into_response())
                }
                Err(e) => Err(db_failed(&s, e)),
            },
            None => Err(Redirect::to("/office/login").into_response()),
        },
        Lookup::Expired => Err(Redirect::to("/office/login?expired=1").into_response()),
        Lookup::None => Err(Redirect::to("/office/login").into_response()),
    }
}

fn need(session: &Session<Clerk>, clerk: &Clerk, role: Role) -> Result<(), Response> {
    if clerk.role.allows(role) {
        Ok(())
    } else {
        Err(message(
            session,
            StatusCode::FORBIDDEN,
            "Not allowed",
            &format!("This needs the {} role; ask a supervisor.", role.as_str()),
            "/office/",
        ))
    }
}

fn csrf(session: &Session<Clerk>, token: &str) -> Result<(), Response> {
    if session.csrf_ok(token) {
        Ok(())
    } else {
        Err(message(
            session,
            StatusCode::FORBIDDEN,
            "Form expired",
            "The form was out of date (or came from elsewhere). Nothing was changed; open the page again.",
            "/office/",
        ))
    }
}

/// A clerk's stated purpose, checked as the enclave will.
fn purpose(session: &Session<Clerk>, text: &str, back: &str) -> Result<String, Response> {
    let text = text.trim();
    if text.chars().count() < MIN_PURPOSE_CHARS || text.len() > 500 {
        return Err(message(
            session,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Purpose needed",
            &format!(
                "State why you open personal data ({MIN_PURPOSE_CHARS} to 500 characters, e.g. \"objection review\"). \
                 It is recorded with your name; do not write personal data into it."
            ),
            back,
        ));
    }
    Ok(text.to_owned())
}

fn reason(session: &Session<Clerk>, text: &str, back: &str) -> Result<String, Response> {
    let text = text.trim();
    if !(5..=500).contains(&text.chars().count()) {
        return Err(message(
            session,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Reason needed",
            "Give a reason of 5 to 500 characters. It is recorded with your name; do not write personal data into it.",
            back,
        ));
    }
    Ok(text.to_owned())
}

fn ticket_of(session: &Session<Clerk>, raw: &str, back: &str) -> Result<TicketNumber, Response> {
    TicketNumber::parse(raw).map_err(|e| {
        message(session, StatusCode::UNPROCESSABLE_ENTITY, "Ticket number not valid", &e.to_string(), back)
    })
}

// ----- sign-in -----

#[derive(Template)]
#[template(path = "office/login.html")]
struct LoginPage {
    f: Frame,
    username: String,
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    expired: Option<String>,
}

fn anonymous(o: &Office, headers: &HeaderMap) -> (Session<Clerk>, Option<String>) {
    match o.sessions.get(session::named_cookie_value(cookie_header(headers), COOKIE)) {
        Lookup::Live(s) => (s, None),
        _ => {
            let s = o.sessions.create(fieldseal_portal::web::text::Lang::En);
            let cookie = session::set_named_cookie(COOKIE, "/office", &s.id, o.config.secure_cookies);
            (s, Some(cookie))
        }
    }
}

pub(crate) async fn login_form(
    State(o): State<Arc<Office>>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let (s, cookie) = anonymous(&o, &headers);
    if s.signed.is_some() {
        return Redirect::to("/office/").into_response();
    }
    let mut f = Frame::new(&s, "Sign in", "");
    if q.expired.is_some() {
        f = f.with("warning", "Your session ended after a time without activity. Please sign in again.");
    }
    html(StatusCode::OK, LoginPage { f, username: String::new() }.render(), cookie)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    csrf: String,
    username: String,
    password: String,
    #[serde(default)]
    code: String,
}

pub(crate) async fn login(State(o): State<Arc<Office>>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    let started = Instant::now();
    let (s, cookie) = anonymous(&o, &headers);
    if !s.csrf_ok(&form.csrf) {
        let f = Frame::new(&s, "Sign in", "").with("error", "The form was out of date. Please sign in again.");
        return html(StatusCode::FORBIDDEN, LoginPage { f, username: form.username }.render(), cookie);
    }
    let name = form.username.trim().to_lowercase();
    let retry = |s: &Session<Clerk>, status: StatusCode, text: String, cookie: Option<String>| {
        let f = Frame::new(s, "Sign in", "").with("error", text);
        html(status, LoginPage { f, username: name.clone() }.render(), cookie)
    };
    // The attempt takes a slot first, so parallel attempts never pass the limit; dropped
    // without failing (signed in, or the database failed) it counts nothing.
    let attempt = match o.failures.begin(&name, Instant::now()) {
        Ok(a) => a,
        Err(wait) => {
            pad(started).await;
            let text =
                format!("Too many failed sign-ins for this name. Try again in {} minutes.", limits::minutes(wait));
            return retry(&s, StatusCode::TOO_MANY_REQUESTS, text, cookie);
        }
    };
    let clerk = match o.relay.db.clerk_by_name(&name).await {
        Ok(c) => c,
        Err(e) => return db_failed(&s, e),
    };
    let password = form.password;
    let (ok, clerk) = tokio::task::spawn_blocking(move || match clerk {
        Some(c) if !c.disabled => (auth::verify_password(&c.password_hash, &password), Some(c)),
        other => {
            auth::dummy_verify(&password);
            (false, other.filter(|c| !c.disabled))
        }
    })
    .await
    .unwrap_or((false, None));
    let mut refusal = (!ok).then_some("password");
    let mut step = None;
    if let (true, Some(c)) = (ok, &clerk)
        && let Some(secret) = c.totp_secret.as_deref().and_then(|b| <[u8; 20]>::try_from(b).ok())
    {
        let secret = TotpSecret::from_bytes(secret);
        let last = c.totp_last_step.and_then(|v| u64::try_from(v).ok());
        let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
        step = auth::verify_totp(&secret, &form.code, now, last);
        if step.is_none() {
            refusal = Some("code");
        }
    }
    if let (Some(c), Some(step)) = (&clerk, step) {
        match o.relay.db.use_totp_step(c.id, step).await {
            Ok(true) => {}
            Ok(false) => refusal = Some("code"),
            Err(e) => return db_failed(&s, e),
        }
    }
    let now = now_ms();
    match (refusal, clerk) {
        (None, Some(c)) => {
            if let Err(e) = o.relay.db.audit_sign_in(Some(c.id), true, "", now).await {
                return db_failed(&s, e);
            }
            let who = Clerk { id: c.id, username: c.username, role: c.role };
            pad(started).await;
            match o.sessions.sign_in(&s.id, who) {
                Some(new) => {
                    let mut res = Redirect::to("/office/").into_response();
                    let c = session::set_named_cookie(COOKIE, "/office", &new.id, o.config.secure_cookies);
                    if let Ok(v) = HeaderValue::from_str(&c) {
                        res.headers_mut().append(header::SET_COOKIE, v);
                    }
                    res
                }
                None => Redirect::to("/office/login?expired=1").into_response(),
            }
        }
        (why, c) => {
            let why = why.unwrap_or("password");
            if let Err(e) = o.relay.db.audit_sign_in(c.as_ref().map(|c| c.id), false, why, now).await {
                return db_failed(&s, e);
            }
            let locked = attempt.fail(Instant::now());
            pad(started).await;
            let text = match locked {
                Some(wait) => {
                    format!("Too many failed sign-ins for this name. Try again in {} minutes.", limits::minutes(wait))
                }
                None => "User name, password or code is wrong.".to_owned(),
            };
            retry(&s, StatusCode::UNAUTHORIZED, text, cookie)
        }
    }
}

async fn pad(started: Instant) {
    if let Some(rest) = MIN_LOGIN_TIME.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

pub(crate) async fn logout(State(o): State<Arc<Office>>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Page {
    let (s, _) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    o.sessions.end(&s.id);
    let mut res = Redirect::to("/office/login").into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&session::clear_named_cookie(COOKIE, "/office", o.config.secure_cookies)) {
        h.append(header::SET_COOKIE, v);
    }
    h.insert("clear-site-data", HeaderValue::from_static("\"cookies\", \"storage\""));
    Ok(res)
}

// ----- dashboard and cases -----

struct StatusCount {
    key: &'static str,
    label: &'static str,
    count: i64,
}

#[derive(Template)]
#[template(path = "office/dashboard.html")]
struct DashboardPage {
    f: Frame,
    counts: Vec<StatusCount>,
    payments_today: i64,
    paid_today: String,
    exceptions: i64,
    refund_total: String,
    policy: String,
}

/// People's word for a status.
pub(crate) fn status_label(s: Shown) -> &'static str {
    match s {
        Shown::Overdue => "overdue",
        Shown::Stored(Status::Open) => "open",
        Shown::Stored(Status::PartPaid) => "part-paid",
        Shown::Stored(Status::Paid) => "paid",
        Shown::Stored(Status::Overpaid) => "overpaid",
        Shown::Stored(Status::Escalated) => "escalated",
        Shown::Stored(Status::Withdrawn) => "withdrawn",
    }
}

pub(crate) async fn dashboard(State(o): State<Arc<Office>>, headers: HeaderMap) -> Page {
    let (s, _) = signed_in(&o, &headers).await?;
    let today = today();
    let since = crate::db::day_ms(today);
    let d = o.relay.db.dashboard(today, since).await.map_err(|e| db_failed(&s, e))?;
    let mut counts: Vec<StatusCount> = d
        .by_status
        .iter()
        .map(|(st, n)| StatusCount { key: st.as_str(), label: status_label(Shown::Stored(*st)), count: *n })
        .collect();
    counts.insert(2, StatusCount { key: "overdue", label: "overdue (of open and part-paid)", count: d.overdue });
    counts.push(StatusCount { key: "refund_due", label: "refund due", count: d.refund_due });
    let page = DashboardPage {
        f: Frame::new(&s, "Dashboard", "dashboard"),
        counts,
        payments_today: d.payments_today.0,
        paid_today: money_signed(d.payments_today.1),
        exceptions: d.exceptions,
        refund_total: money_signed(d.refund_due_cents),
        policy: o.relay.db.policy().describe(),
    };
    Ok(html(StatusCode::OK, page.render(), None))
}

struct CaseLine {
    ticket: String,
    ticket_digits: String,
    status: &'static str,
    total: String,
    paid: String,
    refund: String,
    deadline: String,
}

fn case_line(c: &LedgerCase, today: time::Date) -> CaseLine {
    let deadline = c.deadline.unwrap_or(c.due_date);
    CaseLine {
        ticket: c.ticket.grouped(),
        ticket_digits: c.ticket.digits().to_owned(),
        status: status_label(shown_status(c.status, deadline, today)),
        total: money(c.total_cents),
        paid: money(c.paid_cents),
        refund: if c.refund_due_cents > 0 { money(c.refund_due_cents) } else { String::new() },
        deadline: deadline.to_string(),
    }
}

#[derive(Template)]
#[template(path = "office/cases.html")]
struct CasesPage {
    f: Frame,
    filter: String,
    lines: Vec<CaseLine>,
    page: u32,
    more: bool,
}

#[derive(Deserialize)]
pub(crate) struct CasesQuery {
    status: Option<String>,
    page: Option<u32>,
    ticket: Option<String>,
}

const PAGE_SIZE: u32 = 50;

pub(crate) async fn cases(State(o): State<Arc<Office>>, headers: HeaderMap, Query(q): Query<CasesQuery>) -> Page {
    let (s, _) = signed_in(&o, &headers).await?;
    if let Some(raw) = q.ticket.as_deref().filter(|t| !t.trim().is_empty()) {
        let t = ticket_of(&s, raw, "/office/cases")?;
        return Ok(Redirect::to(&format!("/office/case/{}", t.digits())).into_response());
    }
    let filter = q.status.unwrap_or_else(|| "open".into());
    let page = q.page.unwrap_or(0).min(100_000);
    let today = today();
    let (status, overdue) = match filter.as_str() {
        "overdue" => (None, Some(today)),
        "refund_due" => (None, None),
        other => match Status::parse(other) {
            Some(st) => (Some(st), None),
            None => {
                return Err(message(&s, StatusCode::NOT_FOUND, "No such status", "Choose a status.", "/office/"));
            }
        },
    };
    let rows = o
        .relay
        .db
        .cases_by_status(status, overdue, PAGE_SIZE + 1, page * PAGE_SIZE)
        .await
        .map_err(|e| db_failed(&s, e))?;
    let more = rows.len() > PAGE_SIZE as usize;
    let lines = rows.iter().take(PAGE_SIZE as usize).map(|c| case_line(c, today)).collect();
    let page = CasesPage { f: Frame::new(&s, "Cases", "cases"), filter, lines, page, more };
    Ok(html(StatusCode::OK, page.render(), None))
}

struct LedgerRow {
    date: String,
    what: String,
    amount: String,
    reference: String,
}

#[derive(Template)]
#[template(path = "office/case.html")]
struct CasePage {
    f: Frame,
    line: CaseLine,
    due_date: String,
    reminders: u32,
    offences: String,
    escalated: String,
    withdrawn: String,
    ledger: Vec<LedgerRow>,
    objection: String,
    refund_due_cents: u64,
    opened: Option<Opened>,
}

async fn case_page(o: &Office, s: &Session<Clerk>, ticket: &TicketNumber, f: Frame, opened: Option<Opened>) -> Page {
    let Some(c) = o.relay.db.ledger_case(ticket).await.map_err(|e| db_failed(s, e))? else {
        return Err(message(
            s,
            StatusCode::NOT_FOUND,
            "No such case",
            &format!("No case has the ticket number {}.", ticket.grouped()),
            "/office/cases",
        ));
    };
    let full = o.relay.db.case(ticket).await.map_err(|e| db_failed(s, e))?;
    let mut ledger: Vec<LedgerRow> = full
        .as_ref()
        .map(|f| {
            f.payments
                .iter()
                .map(|p| LedgerRow {
                    date: ms_day(p.booked_at_ms).to_string(),
                    what: format!("payment ({})", p.method),
                    amount: money(p.amount_cents),
                    reference: p.provider.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    for r in o.relay.db.refunds(ticket).await.map_err(|e| db_failed(s, e))? {
        ledger.push(LedgerRow {
            date: ms_day(r.paid_at_ms).to_string(),
            what: "refund".into(),
            amount: format!("-{}", money(r.amount_cents)),
            reference: r.reference,
        });
    }
    let page = CasePage {
        f,
        line: case_line(&c, today()),
        due_date: c.due_date.to_string(),
        reminders: c.reminders,
        offences: c.offence_codes.join(", "),
        escalated: c.escalated_at_ms.map(when).unwrap_or_default(),
        withdrawn: c.withdrawn.as_ref().map(|(at, why)| format!("{} — {why}", when(*at))).unwrap_or_default(),
        ledger,
        objection: full.and_then(|f| f.objection_at_ms).map(when).unwrap_or_default(),
        refund_due_cents: c.refund_due_cents,
        opened,
    };
    Ok(html(StatusCode::OK, page.render(), None))
}

pub(crate) async fn case(State(o): State<Arc<Office>>, headers: HeaderMap, Path(raw): Path<String>) -> Page {
    let (s, _) = signed_in(&o, &headers).await?;
    let ticket = ticket_of(&s, &raw, "/office/cases")?;
    let f = Frame::new(&s, &format!("Case {}", ticket.grouped()), "cases");
    case_page(&o, &s, &ticket, f, None).await
}

#[derive(Deserialize)]
pub(crate) struct PurposeForm {
    csrf: String,
    purpose: String,
}

/// Opens a case's personal data through the enclave: the purpose is audited first.
pub(crate) async fn open_case(
    State(o): State<Arc<Office>>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<PurposeForm>,
) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    let ticket = ticket_of(&s, &raw, "/office/cases")?;
    let back = format!("/office/case/{}", ticket.digits());
    let purpose = purpose(&s, &form.purpose, &back)?;
    let view =
        documents::clerk_view(&o, &clerk, &ticket, &purpose).await.map_err(|e| failed(&s, "opening the case", e))?;
    let opened = Opened::of(&o, &view);
    let f = Frame::new(&s, &format!("Case {}", ticket.grouped()), "cases")
        .with("info", format!("Opened for \"{purpose}\"; this is recorded in the audit log."));
    case_page(&o, &s, &ticket, f, Some(opened)).await
}

#[derive(Template)]
#[template(path = "office/objection.html")]
struct ObjectionPage {
    f: Frame,
    ticket: String,
    ticket_digits: String,
    statement: String,
    photo: Option<String>,
}

pub(crate) async fn open_objection(
    State(o): State<Arc<Office>>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<PurposeForm>,
) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    let ticket = ticket_of(&s, &raw, "/office/cases")?;
    let back = format!("/office/case/{}", ticket.digits());
    let purpose = purpose(&s, &form.purpose, &back)?;
    let objection = documents::objection(&o, &clerk, &ticket, &purpose)
        .await
        .map_err(|e| failed(&s, "opening the objection", e))?;
    let Some((statement, photo)) = objection else {
        return Err(message(&s, StatusCode::NOT_FOUND, "No objection", "This case has no objection.", &back));
    };
    let page = ObjectionPage {
        f: Frame::new(&s, "Objection", "cases")
            .with("info", format!("Opened for \"{purpose}\"; this is recorded in the audit log.")),
        ticket: ticket.grouped(),
        ticket_digits: ticket.digits().to_owned(),
        statement: statement.to_string(),
        photo: photo.map(|p| format!("data:image/jpeg;base64,{}", STANDARD.encode(p.as_slice()))),
    };
    Ok(html(StatusCode::OK, page.render(), None))
}

#[derive(Deserialize)]
pub(crate) struct ReasonForm {
    csrf: String,
    reason: String,
    #[serde(default)]
    kind: String,
}

pub(crate) async fn withdraw(
    State(o): State<Arc<Office>>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    need(&s, &clerk, Role::Supervisor)?;
    let ticket = ticket_of(&s, &raw, "/office/cases")?;
    let back = format!("/office/case/{}", ticket.digits());
    let reason = reason(&s, &form.reason, &back)?;
    let kind = if form.kind == "cancel" { "cancelled" } else { "withdrawn" };
    let text = format!("{kind}: {reason}");
    let done = o.relay.db.withdraw(&ticket, &text, clerk.id, now_ms()).await.map_err(|e| db_failed(&s, e))?;
    let f = Frame::new(&s, &format!("Case {}", ticket.grouped()), "cases");
    let f = match done {
        Some(a) if a.refund_due_cents > 0 => {
            f.with("ok", format!("The case is {kind}. {} received is now due for refund.", money(a.refund_due_cents)))
        }
        Some(_) => f.with("ok", format!("The case is {kind}.")),
        None => f.with("warning", "The case was withdrawn already; nothing was changed."),
    };
    case_page(&o, &s, &ticket, f, None).await
}

#[derive(Deserialize)]
pub(crate) struct RefundForm {
    csrf: String,
    amount: String,
    reference: String,
}

/// Parses "12.50", "12,50" or "12" into cents.
pub(crate) fn parse_amount(raw: &str) -> Option<u64> {
    let raw = raw.trim().trim_end_matches("EUR").trim_end_matches('€').trim();
    let (whole, frac) = match raw.split_once(['.', ',']) {
        Some((w, f)) => (w, f),
        None => (raw, ""),
    };
    if whole.is_empty() || whole.len() > 9 || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<u64>().ok()? * 10,
        _ => frac.parse::<u64>().ok()?,
    };
    whole.parse::<u64>().ok()?.checked_mul(100)?.checked_add(frac_cents)
}

pub(crate) async fn refund(
    State(o): State<Arc<Office>>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<RefundForm>,
) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    need(&s, &clerk, Role::Supervisor)?;
    let ticket = ticket_of(&s, &raw, "/office/cases")?;
    let back = format!("/office/case/{}", ticket.digits());
    let Some(amount) = parse_amount(&form.amount) else {
        return Err(message(
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Amount not valid",
            "Write the amount as 12.50.",
            &back,
        ));
    };
    let reference = form.reference.trim();
    if !(3..=140).contains(&reference.chars().count()) {
        return Err(message(
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Reference needed",
            "Give the outgoing transfer's reference (3 to 140 characters).",
            &back,
        ));
    }
    let done =
        o.relay.db.record_refund(&ticket, amount, reference, clerk.id, now_ms()).await.map_err(|e| db_failed(&s, e))?;
    let f = Frame::new(&s, &format!("Case {}", ticket.grouped()), "cases");
    let f = match done {
        Ok(a) => {
            f.with("ok", format!("Refund of {} recorded; {} still due.", money(amount), money(a.refund_due_cents)))
        }
        Err(e) => f.with("error", e.to_string()),
    };
    case_page(&o, &s, &ticket, f, None).await
}

pub(crate) async fn hearing_form(
    State(o): State<Arc<Office>>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<PurposeForm>,
) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    let ticket = ticket_of(&s, &raw, "/office/cases")?;
    let back = format!("/office/case/{}", ticket.digits());
    let purpose = purpose(&s, &form.purpose, &back)?;
    let case = o.relay.db.ledger_case(&ticket).await.map_err(|e| db_failed(&s, e))?;
    let Some(case) = case.filter(|c| c.escalated_at_ms.is_some()) else {
        return Err(message(
            &s,
            StatusCode::CONFLICT,
            "Not escalated",
            "A hearing form is made for escalated cases only. Run the deadline policy first.",
            &back,
        ));
    };
    let view =
        documents::clerk_view(&o, &clerk, &ticket, &purpose).await.map_err(|e| failed(&s, "opening the case", e))?;
    let body = documents::hearing_form(&o, &case, &view).map_err(|e| failed(&s, "the hearing form", e))?;
    Ok(html(StatusCode::OK, Ok(body), None))
}

// ----- statements and exceptions -----

#[derive(Template)]
#[template(path = "office/import.html")]
struct ImportPage {
    f: Frame,
    result: Option<ImportSummary>,
}

struct ImportLine {
    booking_date: String,
    amount: String,
    outcome: String,
    class: &'static str,
    ticket: String,
}

struct ImportSummary {
    message_type: String,
    message_id: String,
    reports: usize,
    transactions: usize,
    matched: usize,
    part_paid: usize,
    overpaid: usize,
    refund_due: usize,
    exceptions: usize,
    duplicates: usize,
    skipped: String,
    lines: Vec<ImportLine>,
}

pub(crate) async fn import_form(State(o): State<Arc<Office>>, headers: HeaderMap) -> Page {
    let (s, _) = signed_in(&o, &headers).await?;
    Ok(html(
        StatusCode::OK,
        ImportPage { f: Frame::new(&s, "Import a statement", "import"), result: None }.render(),
        None,
    ))
}

pub(crate) async fn import(State(o): State<Arc<Office>>, headers: HeaderMap, mut multipart: Multipart) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    let mut token = String::new();
    let mut file = None;
    let refuse = |text: &str| {
        let f = Frame::new(&s, "Import a statement", "import").with("error", text);
        html(StatusCode::UNPROCESSABLE_ENTITY, ImportPage { f, result: None }.render(), None)
    };
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf") => token = field.text().await.unwrap_or_default(),
                Some("statement") => match field.bytes().await {
                    Ok(b) => file = Some(b.to_vec()),
                    Err(_) => {
                        return Err(refuse(&format!(
                            "The upload did not arrive whole (at most {} MB). Nothing was imported.",
                            super::MAX_UPLOAD >> 20
                        )));
                    }
                },
                _ => {}
            },
            Ok(None) => break,
            Err(_) => {
                return Err(refuse(&format!(
                    "The upload did not arrive whole (at most {} MB). Nothing was imported.",
                    super::MAX_UPLOAD >> 20
                )));
            }
        }
    }
    csrf(&s, &token)?;
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        return Err(refuse("Choose a statement file (camt.053 or camt.054 XML) first."));
    };
    let done = match import::import(&o.relay, file, clerk.id).await {
        Ok(done) => done,
        Err(ImportError::Statement(e)) => {
            return Err(refuse(&format!("The file was not imported, nothing was booked: {e}")));
        }
        Err(e) => return Err(failed(&s, "the import", e)),
    };
    let lines = done
        .lines
        .iter()
        .map(|(e, b)| {
            let (outcome, class, ticket) = match b {
                Booked::Matched { ticket, assessment, .. } => {
                    let mut text = status_label(Shown::Stored(assessment.status)).to_owned();
                    if assessment.balance_cents > 0 {
                        text.push_str(&format!(", {} open", money(assessment.balance_cents)));
                    }
                    if assessment.refund_due_cents > 0 {
                        text.push_str(&format!(", refund due {}", money(assessment.refund_due_cents)));
                    }
                    (text, "matched", ticket.grouped())
                }
                Booked::Exception { note, .. } => (format!("exception: {note}"), "exception", String::new()),
                Booked::Duplicate => ("imported before: not counted again".to_owned(), "duplicate", String::new()),
            };
            ImportLine {
                booking_date: e.booking_date.to_string(),
                amount: money_in(e.amount_cents, &e.currency),
                outcome,
                class,
                ticket,
            }
        })
        .collect();
    let by = |st: Status| done.count(|b| matches!(b, Booked::Matched { assessment, .. } if assessment.status == st));
    let summary = ImportSummary {
        message_type: done.message_type.clone(),
        message_id: done.message_id.clone(),
        reports: done.reports,
        transactions: done.lines.len(),
        matched: done.count(|b| matches!(b, Booked::Matched { .. })),
        part_paid: by(Status::PartPaid),
        overpaid: by(Status::Overpaid),
        refund_due: done.count(|b| matches!(b, Booked::Matched { assessment, .. } if assessment.refund_due_cents > 0)),
        exceptions: done.count(|b| matches!(b, Booked::Exception { .. })),
        duplicates: done.count(|b| matches!(b, Booked::Duplicate)),
        skipped: format!(
            "{} outgoing, {} reversals, {} not booked yet",
            done.skipped.debits, done.skipped.reversals, done.skipped.not_booked
        ),
        lines,
    };
    let f = Frame::new(&s, "Import a statement", "import").with("ok", "The statement was imported.");
    Ok(html(StatusCode::OK, ImportPage { f, result: Some(summary) }.render(), None))
}

struct ExceptionLine {
    id: i64,
    booking_date: String,
    amount: String,
    note: String,
}

#[derive(Template)]
#[template(path = "office/exceptions.html")]
struct ExceptionsPage {
    f: Frame,
    lines: Vec<ExceptionLine>,
    details: Option<(i64, documents::Details)>,
}

async fn exceptions_page(o: &Office, s: &Session<Clerk>, f: Frame, details: Option<(i64, documents::Details)>) -> Page {
    let rows = o.relay.db.bank_entries("exception", 500).await.map_err(|e| db_failed(s, e))?;
    let lines = rows
        .iter()
        .map(|r| ExceptionLine {
            id: r.id,
            booking_date: r.booking_date.clone(),
            amount: money_in(r.amount_cents, &r.currency),
            note: r.note.clone(),
        })
        .collect();
    Ok(html(StatusCode::OK, ExceptionsPage { f, lines, details }.render(), None))
}

pub(crate) async fn exceptions(State(o): State<Arc<Office>>, headers: HeaderMap) -> Page {
    let (s, _) = signed_in(&o, &headers).await?;
    exceptions_page(&o, &s, Frame::new(&s, "Exceptions", "exceptions"), None).await
}

#[derive(Deserialize)]
pub(crate) struct MatchForm {
    csrf: String,
    ticket: String,
}

pub(crate) async fn match_entry(
    State(o): State<Arc<Office>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<MatchForm>,
) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    let ticket = ticket_of(&s, &form.ticket, "/office/exceptions")?;
    let done = o.relay.db.match_by_hand(id, &ticket, clerk.id, now_ms()).await.map_err(|e| db_failed(&s, e))?;
    let f = Frame::new(&s, "Exceptions", "exceptions");
    let f = match done {
        Ok(a) => {
            f.with("ok", format!("Counted for {}: now {}.", ticket.grouped(), status_label(Shown::Stored(a.status))))
        }
        Err(ResolveError::UnknownCase) => {
            f.with("error", format!("No case has the ticket number {}.", ticket.grouped()))
        }
        Err(e) => f.with("error", e.to_string()),
    };
    exceptions_page(&o, &s, f, None).await
}

pub(crate) async fn book_out(
    State(o): State<Arc<Office>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    need(&s, &clerk, Role::Supervisor)?;
    let reason = reason(&s, &form.reason, "/office/exceptions")?;
    let done = o.relay.db.book_out(id, &reason, clerk.id, now_ms()).await.map_err(|e| db_failed(&s, e))?;
    let f = Frame::new(&s, "Exceptions", "exceptions");
    let f = match done {
        Ok(()) => f.with("ok", "Booked out; the reason is recorded."),
        Err(e) => f.with("error", e.to_string()),
    };
    exceptions_page(&o, &s, f, None).await
}

pub(crate) async fn entry_details(
    State(o): State<Arc<Office>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<PurposeForm>,
) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    let purpose = purpose(&s, &form.purpose, "/office/exceptions")?;
    let details =
        documents::bank_details(&o, &clerk, id, &purpose).await.map_err(|e| failed(&s, "opening the details", e))?;
    let Some(details) = details else {
        return Err(message(
            &s,
            StatusCode::NOT_FOUND,
            "No such entry",
            "That bank entry does not exist.",
            "/office/exceptions",
        ));
    };
    let f = Frame::new(&s, "Exceptions", "exceptions")
        .with("info", format!("Payer details opened for \"{purpose}\"; this is recorded in the audit log."));
    exceptions_page(&o, &s, f, Some((id, details))).await
}

// ----- deadlines -----

struct StepLine {
    ticket: String,
    ticket_digits: String,
    action: String,
    balance: String,
}

#[derive(Template)]
#[template(path = "office/deadlines.html")]
struct DeadlinesPage {
    f: Frame,
    policy: String,
    today: String,
    steps: Vec<StepLine>,
    applied: bool,
}

fn step_lines(steps: &[crate::db::DeadlineStep]) -> Vec<StepLine> {
    steps
        .iter()
        .map(|st| StepLine {
            ticket: st.ticket.grouped(),
            ticket_digits: st.ticket.digits().to_owned(),
            action: match st.action {
                Action::Remind { n, deadline } => format!("reminder {n}, new deadline {deadline}"),
                Action::Escalate => "escalate: fine proceedings (hearing form)".into(),
            },
            balance: money(st.balance_cents),
        })
        .collect()
}

pub(crate) async fn deadlines(State(o): State<Arc<Office>>, headers: HeaderMap) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    let today = today();
    let steps = o.relay.db.deadline_run(today, false, clerk.id, now_ms()).await.map_err(|e| db_failed(&s, e))?;
    let page = DeadlinesPage {
        f: Frame::new(&s, "Deadlines", "deadlines"),
        policy: o.relay.db.policy().describe(),
        today: today.to_string(),
        steps: step_lines(&steps),
        applied: false,
    };
    Ok(html(StatusCode::OK, page.render(), None))
}

pub(crate) async fn run_deadlines(
    State(o): State<Arc<Office>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    need(&s, &clerk, Role::Supervisor)?;
    let today = today();
    let steps = o.relay.db.deadline_run(today, true, clerk.id, now_ms()).await.map_err(|e| db_failed(&s, e))?;
    let page = DeadlinesPage {
        f: Frame::new(&s, "Deadlines", "deadlines")
            .with("ok", format!("The deadline run is done: {} case(s) changed.", steps.len())),
        policy: o.relay.db.policy().describe(),
        today: today.to_string(),
        steps: step_lines(&steps),
        applied: true,
    };
    Ok(html(StatusCode::OK, page.render(), None))
}

// ----- exports and audit -----

fn csv_response(name: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn ledger_csv(State(o): State<Arc<Office>>, headers: HeaderMap) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    let body = documents::ledger_csv(&o, &clerk).await.map_err(|e| db_failed(&s, e))?;
    Ok(csv_response(&format!("fieldseal-ledger-{}.csv", today()), body))
}

pub(crate) async fn hearing_forms_csv(
    State(o): State<Arc<Office>>,
    headers: HeaderMap,
    Form(form): Form<PurposeForm>,
) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    need(&s, &clerk, Role::Supervisor)?;
    let purpose = purpose(&s, &form.purpose, "/office/deadlines")?;
    let body = documents::hearing_forms_csv(&o, &clerk, &purpose)
        .await
        .map_err(|e| failed(&s, "the hearing-form export", e))?;
    Ok(csv_response(&format!("fieldseal-hearing-forms-{}.csv", today()), body))
}

struct AuditLine {
    seq: u64,
    at: String,
    actor: String,
    action: String,
    subject: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "office/audit.html")]
struct AuditPage {
    f: Frame,
    lines: Vec<AuditLine>,
}

pub(crate) async fn audit(State(o): State<Arc<Office>>, headers: HeaderMap) -> Page {
    let (s, clerk) = signed_in(&o, &headers).await?;
    need(&s, &clerk, Role::Supervisor)?;
    let entries = o.relay.db.audit_recent(200).await.map_err(|e| db_failed(&s, e))?;
    let lines = entries
        .into_iter()
        .map(|e| AuditLine {
            seq: e.seq,
            at: when(e.at_ms),
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            detail: e.detail,
        })
        .collect();
    Ok(html(StatusCode::OK, AuditPage { f: Frame::new(&s, "Audit log", "audit"), lines }.render(), None))
}

pub(crate) async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/office.css"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_as_clerks_type_them() {
        assert_eq!(parse_amount("12.50"), Some(1250));
        assert_eq!(parse_amount("12,5"), Some(1250));
        assert_eq!(parse_amount(" 30 EUR"), Some(3000));
        assert_eq!(parse_amount("0.07"), Some(7));
        for bad in ["", "abc", "1.234", "-5", "1e3", "1.2.3", "9999999999"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn money_and_time_read_plainly() {
        assert_eq!(money(3000), "30.00 EUR");
        assert_eq!(money_in(77829, "CHF"), "778.29 CHF");
        assert_eq!(money_signed(-1250), "-12.50 EUR");
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
    }
}
