//! What a handler needs from the request, as axum extractors: [`SignedIn`] (a clerk whose
//! account still opens), [`Supervisor`] and [`Admin`] (the same, holding that role at least),
//! and [`Visitor`] (anyone, with a session made on the first visit). A handler names what it
//! needs in its arguments and starts with its own work; a refusal is the same redirect or
//! page the handlers used to answer themselves.
//!
//! Extractors of the request's parts run before the body is read: put them after `Path` and
//! before `Form`/`Multipart` (which must come last). The form's CSRF token is checked in the
//! handler, with `csrf(&s, &form.csrf)?`.

#![allow(clippy::result_large_err)]

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use fieldseal_portal::web::cookie_header;

use super::*;

/// A signed-in clerk and the session. Refused with a redirect to `/office/login` (or
/// `/office/login?expired=1` after the idle time-out); a clerk whose account is disabled or
/// no longer opens is signed out and sent there too.
pub(crate) struct SignedIn {
    /// The clerk's session (language, CSRF token).
    pub(crate) session: Session<Clerk>,
    /// The clerk, as the session holds it.
    pub(crate) clerk: Clerk,
}

impl<B: OfficeBackend> FromRequestParts<Arc<Office<B>>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, o: &Arc<Office<B>>) -> Result<Self, Response> {
        let s = match o.sessions.get(session::named_cookie_value(cookie_header(&parts.headers), COOKIE)) {
            Lookup::Live(s) => s,
            Lookup::Expired => return Err(Redirect::to("/office/login?expired=1").into_response()),
            Lookup::None => return Err(Redirect::to("/office/login").into_response()),
        };
        let Some(clerk) = s.signed.clone() else {
            return Err(Redirect::to("/office/login").into_response());
        };
        match o.store.clerk(clerk.id).await {
            // The record opens only for its own name; the name must still be the session's (a
            // host that put another account's record under this id is not believed).
            Ok(Some(row)) if !row.disabled && row.username == clerk.username => Ok(Self { session: s, clerk }),
            Ok(_) => {
                o.sessions.end(&s.id);
                Err(Redirect::to("/office/login").into_response())
            }
            Err(e) => Err(db_failed(&s, e)),
        }
    }
}

impl SignedIn {
    /// The same clerk when they hold at least `role`, else the 403 page in the session's language.
    fn holding(self, role: Role) -> Result<Self, Response> {
        if self.clerk.role.allows(role) {
            return Ok(self);
        }
        let s = &self.session;
        let lang = s.lang;
        Err(message(
            s,
            StatusCode::FORBIDDEN,
            lang.pick("Not allowed", "Nicht erlaubt"),
            &lang.pick(
                format!("This needs the {} role; ask a supervisor.", role.as_str()),
                format!("Dafür braucht es die Rolle {}; fragen Sie die Aufsicht.", role_label(role, lang)),
            ),
            "/office/",
        ))
    }
}

/// A signed-in clerk with at least the supervisor role; others get the 403 page.
pub(crate) struct Supervisor(pub(crate) SignedIn);

impl<B: OfficeBackend> FromRequestParts<Arc<Office<B>>> for Supervisor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, o: &Arc<Office<B>>) -> Result<Self, Response> {
        SignedIn::from_request_parts(parts, o).await?.holding(Role::Supervisor).map(Self)
    }
}

/// A signed-in administrator; others get the 403 page.
pub(crate) struct Admin(pub(crate) SignedIn);

impl<B: OfficeBackend> FromRequestParts<Arc<Office<B>>> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, o: &Arc<Office<B>>) -> Result<Self, Response> {
        SignedIn::from_request_parts(parts, o).await?.holding(Role::Admin).map(Self)
    }
}

/// Anyone, signed in or not: the session of the request, or a new one (in the browser's
/// language) with the `Set-Cookie` value that starts it.
pub(crate) struct Visitor {
    /// The session.
    pub(crate) session: Session<Clerk>,
    /// The cookie to set when the session is new.
    pub(crate) cookie: Option<String>,
}

impl<B: OfficeBackend> FromRequestParts<Arc<Office<B>>> for Visitor {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, o: &Arc<Office<B>>) -> Result<Self, Infallible> {
        let headers = &parts.headers;
        Ok(match o.sessions.get(session::named_cookie_value(cookie_header(headers), COOKIE)) {
            Lookup::Live(session) => Self { session, cookie: None },
            _ => {
                let session = o.sessions.create(browser_lang(headers));
                let cookie = super::super::session_cookie(&session.id);
                Self { session, cookie: Some(cookie) }
            }
        })
    }
}
