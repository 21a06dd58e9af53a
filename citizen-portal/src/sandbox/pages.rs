//! The sandbox's payment page: what the citizen's browser sees between the portal and back.
//!
//! Plain HTML forms, no script, no outside resources. Paying is a POST that charges at most
//! once per session and answers 303 to the portal's success URL, so a double click or a
//! resubmitted form lands on the same page without a second charge.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Router, routing};
use serde::Deserialize;

use super::api::web_origin;
use super::store::{PayOutcome, StoredSession};
use super::wire::SessionStatus;
use super::{Sandbox, now_ms, random_id};

pub fn routes() -> Router<Sandbox> {
    Router::new().route("/pay/{id}", routing::get(show).post(pay)).route("/pay/{id}/cancel", routing::get(cancel))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:1rem auto;padding:0 1rem;\
line-height:1.5}.banner{background:#7a1f00;color:#fff;padding:.5rem 1rem;font-weight:bold;text-align:center}\
.error{color:#a00000;font-weight:bold}dt{font-weight:bold}dd{margin:0 0 .5rem}\
input{font-size:1.2rem;width:100%;box-sizing:border-box;padding:.4rem}\
button{font-size:1.2rem;padding:.4rem 1.2rem;margin:.8rem 0}";

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · fieldseal payment sandbox</title>
<style>{{ style|safe }}</style>
</head>
<body>
<p class="banner" role="note">SANDBOX — no real money</p>
<main>
<h1>{{ title }}</h1>
{% if let Some(s) = summary %}
<dl>
<dt>Amount</dt><dd>{{ s.amount }}</dd>
<dt>Reference</dt><dd>{{ s.reference }}</dd>
{% if !s.description.is_empty() %}<dt>For</dt><dd>{{ s.description }}</dd>{% endif %}
</dl>
{% endif %}
{% if let Some(m) = message %}<p{% if is_error %} class="error" role="alert"{% endif %}>{{ m }}</p>{% endif %}
{% if let Some(id) = pay_id %}
<form method="post" action="/pay/{{ id }}">
<label for="card">Card number</label>
<input id="card" name="card" inputmode="numeric" autocomplete="off" required>
<p><small>Test cards: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined.</small></p>
<button type="submit">Pay {% if let Some(s) = summary %}{{ s.amount }}{% endif %}</button>
</form>
<p><a href="/pay/{{ id }}/cancel">Cancel and return to the merchant</a></p>
{% endif %}
{% if let Some(url) = back_url %}<p><a href="{{ url }}">Return to the merchant</a></p>{% endif %}
</main>
</body>
</html>
"#
)]
struct Page<'a> {
    title: &'a str,
    style: &'a str,
    summary: Option<Summary>,
    message: Option<&'a str>,
    is_error: bool,
    /// Set when the session can be paid: shows the card form.
    pay_id: Option<&'a str>,
    back_url: Option<String>,
}

struct Summary {
    amount: String,
    reference: String,
    description: String,
}

impl Summary {
    fn of(session: &StoredSession) -> Self {
        let r = &session.request;
        Summary {
            amount: format!("{}.{:02} {}", r.amount_cents / 100, r.amount_cents % 100, r.currency),
            reference: r.reference.clone(),
            description: r.description.clone(),
        }
    }
}

#[derive(Deserialize)]
struct PayForm {
    #[serde(default)]
    card: String,
}

async fn show(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    let now = now_ms();
    let store = sandbox.store();
    let Some(session) = store.get(&id) else {
        return not_found();
    };
    let status = session.status(now);
    let page = match status {
        SessionStatus::Open => open_page(session, None),
        SessionStatus::Paid => Page {
            message: Some("This checkout has been paid. Nothing more to do."),
            back_url: Some(session.success_url()),
            ..base_page("Paid", Some(session))
        },
        SessionStatus::Cancelled | SessionStatus::Expired => closed_page(session, status),
    };
    html(StatusCode::OK, &page, Some(session))
}

async fn pay(State(sandbox): State<Sandbox>, Path(id): Path<String>, Form(form): Form<PayForm>) -> Response {
    let charge_id = random_id("ch_");
    let event_id = random_id("evt_");
    let outcome = sandbox.store().pay(&id, &form.card, now_ms(), charge_id.clone(), event_id);
    match outcome {
        PayOutcome::NotFound => not_found(),
        PayOutcome::Charged { success_url, event } => {
            tracing::info!(session = %id, charge = %charge_id, event = %event.id, "paid; webhook scheduled");
            sandbox.inner.delivery.schedule(event);
            see_other(&success_url)
        }
        PayOutcome::AlreadyPaid { success_url } => {
            tracing::info!(session = %id, "paid before; not charged again");
            see_other(&success_url)
        }
        PayOutcome::Closed { session, status } => {
            html(StatusCode::CONFLICT, &closed_page(&session, status), Some(&session))
        }
        PayOutcome::Declined { session } => {
            let page = open_page(&session, Some("Your card was declined. Nothing was charged."));
            html(StatusCode::PAYMENT_REQUIRED, &page, Some(&session))
        }
        PayOutcome::InvalidCard { session } => {
            let page = open_page(&session, Some("Invalid card number. Nothing was charged."));
            html(StatusCode::UNPROCESSABLE_ENTITY, &page, Some(&session))
        }
    }
}

async fn cancel(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    match sandbox.store().cancel(&id, now_ms()) {
        Some(url) => {
            tracing::info!(session = %id, "cancel requested");
            see_other(&url)
        }
        None => not_found(),
    }
}

fn base_page<'a>(title: &'a str, session: Option<&StoredSession>) -> Page<'a> {
    Page {
        title,
        style: STYLE,
        summary: session.map(Summary::of),
        message: None,
        is_error: false,
        pay_id: None,
        back_url: None,
    }
}

fn open_page<'a>(session: &'a StoredSession, error: Option<&'a str>) -> Page<'a> {
    Page { message: error, is_error: error.is_some(), pay_id: Some(&session.id), ..base_page("Pay", Some(session)) }
}

fn closed_page(session: &StoredSession, status: SessionStatus) -> Page<'static> {
    let (title, message) = if status == SessionStatus::Expired {
        ("Expired", "This checkout has expired and cannot be paid. Nothing was charged.")
    } else {
        ("Cancelled", "This checkout was cancelled and cannot be paid. Nothing was charged.")
    };
    Page {
        message: Some(message),
        is_error: true,
        back_url: Some(session.request.cancel_url.clone()),
        ..base_page(title, Some(session))
    }
}

fn not_found() -> Response {
    let page = Page { message: Some("There is no such checkout."), is_error: true, ..base_page("Not found", None) };
    html(StatusCode::NOT_FOUND, &page, None)
}

/// 303 to a URL that was validated as printable ASCII at creation.
fn see_other(url: &str) -> Response {
    match HeaderValue::from_str(url) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(_) => {
            tracing::error!("a stored redirect URL is not a valid header value");
            (StatusCode::INTERNAL_SERVER_ERROR, "something went wrong").into_response()
        }
    }
}

/// Renders `page` with headers that keep it self-contained: nothing loads from elsewhere, forms
/// post only here, and the 303 after paying may go to the merchant's origin.
fn html(status: StatusCode, page: &Page<'_>, session: Option<&StoredSession>) -> Response {
    let body = match page.render() {
        Ok(body) => body,
        Err(e) => {
            tracing::error!("payment page does not render: {e}");
            return (StatusCode::INTERNAL_SERVER_ERROR, "something went wrong").into_response();
        }
    };
    let merchant = session.and_then(|s| web_origin(&s.request.success_url)).unwrap_or_default();
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {merchant}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(csp.trim()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
