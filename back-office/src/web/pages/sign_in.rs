//! Clerk sign-in and sign-out.

#![allow(clippy::result_large_err)]

use super::*;

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

pub(crate) async fn login_form(Query(q): Query<LoginQuery>, Visitor { session: s, cookie }: Visitor) -> Response {
    if s.signed.is_some() {
        return Redirect::to("/office/").into_response();
    }
    let lang = s.lang;
    let mut f = Frame::new(&s, lang.pick("Sign in", "Anmelden"), "").at("/office/login");
    if q.expired.is_some() {
        f = f.with(
            "warning",
            lang.pick(
                "Your session ended after a time without activity. Please sign in again.",
                "Ihre Sitzung wurde nach einer Zeit ohne Aktivität beendet. Bitte melden Sie sich erneut an.",
            ),
        );
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

pub(crate) async fn login<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Visitor { session: s, cookie }: Visitor,
    Form(form): Form<LoginForm>,
) -> Response {
    let started = Instant::now();
    let lang = s.lang;
    let title = lang.pick("Sign in", "Anmelden");
    let too_many = |wait: std::time::Duration| {
        lang.pick(
            format!("Too many failed sign-ins for this name. Try again in {} minutes.", limits::minutes(wait)),
            format!(
                "Zu viele fehlgeschlagene Anmeldungen für diesen Namen. Versuchen Sie es in {} Minuten erneut.",
                limits::minutes(wait)
            ),
        )
    };
    if !s.csrf_ok(&form.csrf) {
        let f = Frame::new(&s, title, "").at("/office/login").with(
            "error",
            lang.pick(
                "The form was out of date. Please sign in again.",
                "Das Formular war veraltet. Bitte melden Sie sich erneut an.",
            ),
        );
        return html(StatusCode::FORBIDDEN, LoginPage { f, username: form.username }.render(), cookie);
    }
    let name = form.username.trim().to_lowercase();
    let retry = |s: &Session<Clerk>, status: StatusCode, text: String, cookie: Option<String>| {
        let f = Frame::new(s, title, "").at("/office/login").with("error", text);
        html(status, LoginPage { f, username: name.clone() }.render(), cookie)
    };
    // The attempt takes a slot first, so parallel attempts never pass the limit; dropped
    // without failing (signed in, or the database failed) it counts nothing.
    let attempt = match o.failures.begin(&name, Instant::now()) {
        Ok(a) => a,
        Err(wait) => {
            pad(started).await;
            return retry(&s, StatusCode::TOO_MANY_REQUESTS, too_many(wait), cookie);
        }
    };
    let clerk = match o.store.clerk_by_name(&name).await {
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
        match o.store.use_totp_step(c.id, step).await {
            Ok(true) => {}
            Ok(false) => refusal = Some("code"),
            Err(e) => return db_failed(&s, e),
        }
    }
    let now = now_ms();
    match (refusal, clerk) {
        (None, Some(c)) => {
            if let Err(e) = o.store.audit_sign_in(Some(c.id), true, "", now).await {
                return db_failed(&s, e);
            }
            let who = Clerk { id: c.id, role: c.role, username: c.username.clone() };
            pad(started).await;
            match o.sessions.sign_in(&s.id, who) {
                Some(new) => {
                    let mut res = Redirect::to("/office/").into_response();
                    let c = super::super::session_cookie(&new.id);
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
            if let Err(e) = o.store.audit_sign_in(c.as_ref().map(|c| c.id), false, why, now).await {
                return db_failed(&s, e);
            }
            let locked = attempt.fail(Instant::now());
            pad(started).await;
            let text = match locked {
                Some(wait) => too_many(wait),
                None => lang
                    .pick("User name, password or code is wrong.", "Benutzername, Passwort oder Code ist falsch.")
                    .to_owned(),
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

pub(crate) async fn logout<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    SignedIn { session: s, .. }: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Page {
    csrf(&s, &form.csrf)?;
    o.sessions.end(&s.id);
    let mut res = Redirect::to("/office/login").into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&super::super::clear_session_cookie()) {
        h.append(header::SET_COOKIE, v);
    }
    h.insert("clear-site-data", HeaderValue::from_static("\"cookies\", \"storage\""));
    Ok(res)
}
