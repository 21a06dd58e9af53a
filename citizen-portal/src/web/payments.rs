//! Card payment through the configured provider: start a checkout, come back from it, take
//! its webhook. Money is counted once per provider session, whichever of the redirect and the
//! webhook arrives first, however often either arrives.
//!
//! * Starting: one checkout at a time per ticket (a per-ticket lock). An open checkout for the
//!   same amount is reused, so a double click or the back button sends the browser to the
//!   same provider page; the provider's idempotency key covers a retried create call.
//! * Coming back: the return link carries only the provider's session id; the portal asks the
//!   provider for that session's state and records it if paid. It needs no cookie (the
//!   provider's site sends the browser back cross-site, where a SameSite=Strict cookie does
//!   not travel) and shows only the ticket number and amount.
//! * Webhook: checked against the provider's signature and timestamp; a paid event for a
//!   known checkout is recorded; replays change nothing.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use fieldseal_core::ticket::TicketNumber;
use serde::Deserialize;

use super::pages::{Chrome, CsrfForm, Flash, MessagePage, html, json_error, session_on_return, signed_in, unavailable};
use super::{Portal, now_ms};
use crate::backend::{Backend, CheckoutRecord, Ledger, NewPayment, Recorded};
use crate::pay::{CheckoutRequest, CheckoutStatus, PaymentProvider, SESSION_ID_PLACEHOLDER};

type St<B> = State<Arc<Portal<B>>>;

/// An open checkout is reused for this long (the sandbox expires them after 30 minutes).
const REUSE_MS: i64 = 20 * 60 * 1000;

/// Runs a blocking provider call off the async threads.
async fn blocking<T: Send + 'static>(
    provider: &Arc<dyn PaymentProvider>,
    f: impl FnOnce(&dyn PaymentProvider) -> T + Send + 'static,
) -> Option<T> {
    let provider = Arc::clone(provider);
    tokio::task::spawn_blocking(move || f(provider.as_ref())).await.ok()
}

pub(crate) async fn start<B: Backend>(State(p): St<B>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let (session, signed) = match signed_in(&p, &headers) {
        Ok(s) => s,
        Err(away) => return away.into_response(),
    };
    if !session.csrf_ok(&form.csrf) {
        return Redirect::to("/case").into_response();
    }
    let Some(provider) = p.provider.clone() else {
        return Redirect::to("/case?offline=1").into_response();
    };
    let lock = p.checkout_lock(signed.ticket.digits());
    let _held = lock.lock().await;
    let summary = match p.backend.summary(&signed.ticket).await {
        Ok(Some(s)) => s,
        Ok(None) => return Redirect::to("/").into_response(),
        Err(e) => return unavailable(&session, &e),
    };
    let amount = summary.outstanding_cents();
    if amount == 0 {
        return Redirect::to("/case?paid=1").into_response();
    }
    let earlier = match p.backend.checkouts(&signed.ticket).await {
        Ok(c) => c,
        Err(e) => return unavailable(&session, &e),
    };
    // Reuse a recent open checkout for the same amount.
    for c in earlier.iter().filter(|c| c.amount_cents == amount && now_ms() - c.created_at_ms < REUSE_MS) {
        let id = c.session_id.clone();
        match blocking(&provider, move |pr| pr.checkout_state(&id)).await {
            Some(Ok(state)) if state.status == CheckoutStatus::Open => {
                return Redirect::to(&c.redirect_url).into_response();
            }
            Some(Ok(state)) if state.status == CheckoutStatus::Paid => {
                record(&*p.backend, provider.name(), c, state.amount_cents, state.paid_at_ms.unwrap_or_else(now_ms))
                    .await;
                return Redirect::to("/case?paid=1").into_response();
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tracing::warn!(error = %e, "payment provider unavailable");
                return Redirect::to("/case?offline=1").into_response();
            }
            None => return Redirect::to("/case?offline=1").into_response(),
        }
    }
    let base = p.config.public_base_url.trim_end_matches('/');
    let request = CheckoutRequest {
        reference: signed.ticket.digits().to_owned(),
        amount_cents: amount,
        currency: "EUR".into(),
        description: format!("Verwarnungsgeld / fine {}", signed.ticket.grouped()),
        success_url: format!("{base}/pay/return?session_id={SESSION_ID_PLACEHOLDER}"),
        cancel_url: format!("{base}/pay/cancel"),
        // Stable for this ticket, amount and attempt: a retried create returns the same session.
        idempotency_key: format!("fs-{}-{amount}-{}", signed.ticket.digits(), earlier.len()),
    };
    let checkout = match blocking(&provider, move |pr| pr.create_checkout(&request)).await {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "checkout could not be started");
            return Redirect::to("/case?offline=1").into_response();
        }
        None => return Redirect::to("/case?offline=1").into_response(),
    };
    let record = CheckoutRecord {
        session_id: checkout.session_id,
        provider: provider.name().to_owned(),
        ticket: signed.ticket.clone(),
        amount_cents: amount,
        redirect_url: checkout.redirect_url.clone(),
        created_at_ms: now_ms(),
    };
    if let Err(e) = p.backend.insert_checkout(&record).await {
        return unavailable(&session, &e);
    }
    tracing::info!(provider = provider.name(), "checkout started");
    Redirect::to(&checkout.redirect_url).into_response()
}

async fn record<L: Ledger>(ledger: &L, provider: &str, c: &CheckoutRecord, amount: u64, paid_at_ms: i64) -> bool {
    let payment = NewPayment {
        ticket: c.ticket.clone(),
        amount_cents: amount,
        method: "online",
        provider: provider.to_owned(),
        external_ref: c.session_id.clone(),
        booked_at_ms: paid_at_ms,
    };
    match ledger.record_payment(&payment).await {
        Ok(Recorded::New) => {
            tracing::info!(provider, amount_cents = amount, "online payment recorded");
            true
        }
        Ok(Recorded::Duplicate) => true,
        Ok(Recorded::UnknownCase) => {
            tracing::error!(provider, "paid checkout for a case that is not in the index");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "online payment could not be recorded");
            false
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ReturnQuery {
    session_id: Option<String>,
}

/// The provider sends the browser back here after paying.
pub(crate) async fn back<B: Backend>(State(p): St<B>, headers: HeaderMap, Query(q): Query<ReturnQuery>) -> Response {
    let session = session_on_return(&p, &headers);
    let cookie = None;
    let t = session.lang.texts();
    let message = |title: &str, text: String, status: StatusCode| {
        let link = if session.signed.is_some() { "/case" } else { "/" };
        let page = MessagePage {
            c: Chrome::new(&session, title, "/"),
            text,
            link,
            link_text: if session.signed.is_some() { t.back_to_case } else { t.to_start },
        };
        html(status, page.render(), cookie.clone())
    };
    let (Some(provider), Some(id)) = (p.provider.clone(), q.session_id.filter(|s| s.len() <= 100)) else {
        return message(t.payment_received_title, t.payment_unknown.into(), StatusCode::NOT_FOUND);
    };
    let checkout = match p.backend.checkout(&id).await {
        Ok(Some(c)) if c.provider == provider.name() => c,
        Ok(_) => return message(t.payment_received_title, t.payment_unknown.into(), StatusCode::NOT_FOUND),
        Err(e) => return unavailable(&session, &e),
    };
    let state = match blocking(&provider, move |pr| pr.checkout_state(&id)).await {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "payment provider unavailable on return");
            return message(t.payment_received_title, t.payment_pending.into(), StatusCode::ACCEPTED);
        }
        None => return message(t.payment_received_title, t.payment_pending.into(), StatusCode::ACCEPTED),
    };
    if state.reference != checkout.ticket.digits() {
        tracing::error!("provider state names another reference than the checkout");
        return message(t.payment_received_title, t.payment_unknown.into(), StatusCode::CONFLICT);
    }
    match state.status {
        CheckoutStatus::Paid => {
            if !record(
                &*p.backend,
                provider.name(),
                &checkout,
                state.amount_cents,
                state.paid_at_ms.unwrap_or_else(now_ms),
            )
            .await
            {
                return message(t.payment_received_title, t.payment_pending.into(), StatusCode::ACCEPTED);
            }
            if session.signed.as_ref().is_some_and(|c| c.ticket == checkout.ticket) {
                return Redirect::to("/case?paid=1").into_response();
            }
            let text = t
                .payment_received_text
                .replace("{amount}", &session.lang.money(state.amount_cents))
                .replace("{ticket}", &checkout.ticket.grouped());
            message(t.payment_received_title, text, StatusCode::OK)
        }
        CheckoutStatus::Open => message(t.payment_received_title, t.payment_pending.into(), StatusCode::ACCEPTED),
        CheckoutStatus::Cancelled | CheckoutStatus::Expired => {
            message(t.payment_received_title, t.payment_cancelled.into(), StatusCode::OK)
        }
    }
}

/// The provider's cancel link.
pub(crate) async fn cancelled<B: Backend>(State(p): St<B>, headers: HeaderMap) -> Response {
    let session = session_on_return(&p, &headers);
    let cookie = None;
    let t = session.lang.texts();
    let signed = session.signed.is_some();
    let page = MessagePage {
        c: Chrome::new(&session, t.pay_online, "/").with(Flash::new("info", t.pay_online, t.payment_cancelled)),
        text: String::new(),
        link: if signed { "/case" } else { "/" },
        link_text: if signed { t.back_to_case } else { t.to_start },
    };
    html(StatusCode::OK, page.render(), cookie)
}

/// Where a provider's webhooks are taken: the ledger and the provider that signs them.
pub struct Webhooks<L> {
    pub(crate) ledger: Arc<L>,
    pub(crate) provider: Option<Arc<dyn PaymentProvider>>,
}

/// The provider's signed notification of a payment.
pub(crate) async fn webhook<L: Ledger>(
    State(p): State<Arc<Webhooks<L>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(provider) = p.provider.clone().filter(|pr| pr.name() == name) else {
        return json_error(StatusCode::NOT_FOUND, "no such payment provider");
    };
    let signature = headers.get(provider.signature_header_name()).and_then(|v| v.to_str().ok());
    let event = match provider.verify_webhook(signature, &body, now_ms() / 1000) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(provider = provider.name(), error = %e, "webhook refused");
            return json_error(StatusCode::BAD_REQUEST, &e.to_string());
        }
    };
    let checkout = match p.ledger.checkout(&event.session_id).await {
        Ok(Some(c)) if c.provider == provider.name() => c,
        Ok(_) => {
            tracing::warn!(provider = provider.name(), "webhook for an unknown checkout");
            return json_error(StatusCode::NOT_FOUND, "unknown checkout session");
        }
        Err(e) => {
            tracing::error!(error = %e, "webhook: checkout lookup failed");
            return json_error(StatusCode::SERVICE_UNAVAILABLE, "try again later");
        }
    };
    if TicketNumber::parse(&event.reference).ok().as_ref() != Some(&checkout.ticket) || event.currency != "EUR" {
        tracing::error!(provider = provider.name(), "webhook reference or currency does not match its checkout");
        return json_error(StatusCode::UNPROCESSABLE_ENTITY, "the event does not match its checkout session");
    }
    if record(&*p.ledger, provider.name(), &checkout, event.amount_cents, event.paid_at_ms).await {
        StatusCode::OK.into_response()
    } else {
        json_error(StatusCode::SERVICE_UNAVAILABLE, "try again later")
    }
}
