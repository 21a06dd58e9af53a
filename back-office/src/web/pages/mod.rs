//! The back office's pages and form handlers.

// Handlers answer a refusal with its page; `Result<_, Response>` lets them use `?` for it.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Instant;

use crate::auth::{self, Role, TotpSecret};
use crate::policy::{Action, Shown, Status, shown_status};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fieldseal_core::ticket::TicketNumber;
use fieldseal_core::wire::enclave::MIN_PURPOSE_CHARS;
use fieldseal_portal::web::limits;
use fieldseal_portal::web::next::url_component;
use fieldseal_portal::web::session::{self, Lookup, Session};
use serde::Deserialize;

use super::backend::OfficeBackend;
use super::documents::{self, Opened};
use super::import::{self, ImportError};
use super::{COOKIE, Clerk, MIN_LOGIN_TIME, Office, now_ms};
use crate::store::{Booked, LedgerCase, ResolveError, StoreError, ms_day};

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
    /// The page language.
    lang: Lang,
    /// This page's address, where the language switch leads back to.
    here: String,
}

impl Frame {
    fn new(session: &Session<Clerk>, title: &str, nav: &'static str) -> Self {
        let here = match nav {
            "" | "dashboard" => "/office/".to_owned(),
            other => format!("/office/{other}"),
        };
        Self {
            title: title.to_owned(),
            clerk: session.signed.clone(),
            csrf: session.csrf.clone(),
            nav,
            flash: None,
            lang: session.lang,
            here,
        }
    }

    /// The same frame on another page than its section's (a case, the setup).
    fn at(mut self, here: impl Into<String>) -> Self {
        self.here = here.into();
        self
    }

    /// `en` or `de`, in the page's language (templates write both texts where they are used).
    fn t<'a>(&self, en: &'a str, de: &'a str) -> &'a str {
        self.lang.pick(en, de)
    }

    /// The page's `lang` tag.
    fn lang_tag(&self) -> &'static str {
        self.lang.tag()
    }

    /// The other language's tag (the switch offers it).
    fn other_tag(&self) -> &'static str {
        self.lang.other().tag()
    }

    /// The other language's name, in that language.
    fn other_name(&self) -> &'static str {
        self.lang.pick("Deutsch", "English")
    }

    /// The language switch: the other language, back to this page.
    fn switch_href(&self) -> String {
        format!("/office/lang/{}?next={}", self.other_tag(), url_component(&self.here))
    }

    /// A role's name in the page's language.
    fn role(&self, role: impl std::borrow::Borrow<Role>) -> &'static str {
        role_label(*role.borrow(), self.lang)
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

use fieldseal_portal::web::html;

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

/// A failure of `what` (in English and German); the technical detail is shown as it is.
fn failed(session: &Session<Clerk>, what: (&str, &str), e: impl std::fmt::Display) -> Response {
    let (en, de) = what;
    tracing::error!(error = %e, "back office: {en}");
    let lang = session.lang;
    message(
        session,
        StatusCode::SERVICE_UNAVAILABLE,
        lang.pick("Not available", "Nicht verfügbar"),
        &lang.pick(
            format!("{en} failed: {e}. Nothing was changed; try again in a minute."),
            format!(
                "{de} ist fehlgeschlagen (technische Meldung: {e}). Es wurde nichts geändert; versuchen Sie es in \
                 einer Minute erneut."
            ),
        ),
        "/office/",
    )
}

fn db_failed(session: &Session<Clerk>, e: StoreError) -> Response {
    failed(session, ("the database", "Die Datenbank"), e)
}

fn csrf(session: &Session<Clerk>, token: &str) -> Result<(), Response> {
    if session.csrf_ok(token) {
        Ok(())
    } else {
        let lang = session.lang;
        Err(message(
            session,
            StatusCode::FORBIDDEN,
            lang.pick("Form expired", "Formular abgelaufen"),
            lang.pick(
                "The form was out of date (or came from elsewhere). Nothing was changed; open the page again.",
                "Das Formular war veraltet (oder kam von anderswo). Es wurde nichts geändert; öffnen Sie die Seite \
                 erneut.",
            ),
            "/office/",
        ))
    }
}

/// A clerk's stated purpose, checked as the enclave will.
fn purpose(session: &Session<Clerk>, text: &str, back: &str) -> Result<String, Response> {
    let text = text.trim();
    if text.chars().count() < MIN_PURPOSE_CHARS || text.len() > 500 {
        let lang = session.lang;
        return Err(message(
            session,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.pick("Purpose needed", "Zweck nötig"),
            &lang.pick(
                format!(
                    "State why you open personal data ({MIN_PURPOSE_CHARS} to 500 characters, e.g. \"objection \
                     review\"). It is recorded with your name; do not write personal data into it."
                ),
                format!(
                    "Geben Sie an, wozu Sie personenbezogene Daten öffnen ({MIN_PURPOSE_CHARS} bis 500 Zeichen, z. B. \
                     \"Prüfung des Einspruchs\"). Das wird mit Ihrem Namen protokolliert; schreiben Sie keine \
                     personenbezogenen Daten hinein."
                ),
            ),
            back,
        ));
    }
    Ok(text.to_owned())
}

fn reason(session: &Session<Clerk>, text: &str, back: &str) -> Result<String, Response> {
    let text = text.trim();
    if !(5..=500).contains(&text.chars().count()) {
        let lang = session.lang;
        return Err(message(
            session,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.pick("Reason needed", "Begründung nötig"),
            lang.pick(
                "Give a reason of 5 to 500 characters. It is recorded with your name; do not write personal data into \
                 it.",
                "Geben Sie eine Begründung mit 5 bis 500 Zeichen an. Sie wird mit Ihrem Namen protokolliert; schreiben \
                 Sie keine personenbezogenen Daten hinein.",
            ),
            back,
        ));
    }
    Ok(text.to_owned())
}

fn ticket_of(session: &Session<Clerk>, raw: &str, back: &str) -> Result<TicketNumber, Response> {
    let lang = session.lang;
    TicketNumber::parse(raw).map_err(|e| {
        let title = lang.pick("Ticket number not valid", "Ticketnummer ungültig");
        message(session, StatusCode::UNPROCESSABLE_ENTITY, title, &ticket_reason(&e, lang), back)
    })
}

// ----- forms more than one page posts -----

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub(crate) csrf: String,
}

#[derive(Deserialize)]
pub(crate) struct PurposeForm {
    pub(crate) csrf: String,
    pub(crate) purpose: String,
}

#[derive(Deserialize)]
pub(crate) struct ReasonForm {
    pub(crate) csrf: String,
    pub(crate) reason: String,
    #[serde(default)]
    pub(crate) kind: String,
}

mod cases;
mod extract;
mod lang;
mod records;
mod sign_in;
mod staff;
mod statements;

pub(crate) use cases::*;
pub(crate) use extract::*;
pub(crate) use lang::*;
pub(crate) use records::*;
pub(crate) use sign_in::*;
pub(crate) use staff::*;
pub(crate) use statements::*;

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
