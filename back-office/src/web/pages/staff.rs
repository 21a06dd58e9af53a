//! Staff: the first administrator from the authority's statement, and the accounts an
//! administrator makes and disables. Everything here runs in the zone; the host stores only
//! the zone's sealed records (`super::super::accounts`).

#![allow(clippy::result_large_err)]

use fieldseal_core::authority::{self, setup_code_hash};
use fieldseal_core::seal::hex_lower;
use subtle::ConstantTimeEq as _;

use super::super::accounts::{self, new_secret};
use super::*;

#[derive(Template)]
#[template(path = "office/setup.html")]
struct SetupPage {
    f: Frame,
    zone_key: String,
    authority_key: String,
    pinned: bool,
}

fn setup_page<B: OfficeBackend>(o: &Office<B>, status: StatusCode, f: Frame) -> Response {
    let authority = o.store.backend.authority_key();
    let page = SetupPage {
        f,
        zone_key: hex_lower(&o.store.backend.enclave_key().0),
        authority_key: authority.map_or_else(|| "none".to_owned(), |k| hex_lower(&k.0)),
        pinned: authority.is_some(),
    };
    html(status, page.render(), None)
}

pub(crate) async fn setup_form<B: OfficeBackend>(State(o): State<Arc<Office<B>>>, headers: HeaderMap) -> Response {
    let (s, cookie) = anonymous(&o, &headers);
    let mut res = setup_page(&o, StatusCode::OK, Frame::new(&s, "Set up the first administrator", ""));
    if let Some(v) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[derive(Deserialize)]
pub(crate) struct SetupForm {
    csrf: String,
    statement: String,
    code: String,
    password: String,
    password2: String,
}

/// Tries per minute at the setup form, for everyone together (the code has ~98 bits; this
/// keeps a rogue caller from even trying many).
pub(crate) const SETUP_RULE: limits::Rule = limits::Rule {
    failures: 5,
    window: std::time::Duration::from_secs(15 * 60),
    first_lock: std::time::Duration::from_secs(15 * 60),
    max_lock: std::time::Duration::from_secs(24 * 3600),
};

pub(crate) async fn setup<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Response {
    let (s, _) = anonymous(&o, &headers);
    let title = "Set up the first administrator";
    let refuse =
        |status: StatusCode, text: String| setup_page(&o, status, Frame::new(&s, title, "").with("error", text));
    if !s.csrf_ok(&form.csrf) {
        return refuse(StatusCode::FORBIDDEN, "The form was out of date. Open the page again.".into());
    }
    let Some(authority) = o.store.backend.authority_key() else {
        return refuse(StatusCode::CONFLICT, "This zone has no authority key pinned; nothing can be set up.".into());
    };
    let attempt = match o.setup_failures.begin(&(), std::time::Instant::now()) {
        Ok(a) => a,
        Err(wait) => {
            let text = format!("Too many failed tries. Try again in {} minutes.", limits::minutes(wait));
            return refuse(StatusCode::TOO_MANY_REQUESTS, text);
        }
    };
    let statement = match authority::verify_first_admin(&form.statement, &authority, &o.store.backend.enclave_key()) {
        Ok(st) => st,
        Err(e) => {
            attempt.fail(std::time::Instant::now());
            return refuse(StatusCode::UNPROCESSABLE_ENTITY, format!("{e}. Nothing was created."));
        }
    };
    if !bool::from(setup_code_hash(&form.code).ct_eq(&statement.setup_code_sha256)) {
        attempt.fail(std::time::Instant::now());
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The setup code does not belong to this statement. Nothing was created.".into(),
        );
    }
    if form.password != form.password2 {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "The two passwords differ. Nothing was created.".into());
    }
    if let Err(e) = accounts::check_username(&statement.username) {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, format!("The statement's name: {e}."));
    }
    let password = zeroize::Zeroizing::new(form.password);
    let made = tokio::task::spawn_blocking(move || new_secret(Role::Admin, &password, false)).await;
    let secret = match made {
        Ok(Ok((secret, _))) => secret,
        Ok(Err(e)) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, format!("{e}. Nothing was created.")),
        Err(_) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, "Try again.".into()),
    };
    match o.store.insert_clerk(&statement.username, &secret, "authority", now_ms()).await {
        Ok(Some(_)) => {
            drop(attempt);
            let text = format!(
                "The administrator {} was created, as the authority's statement says. Sign in with the new password.",
                statement.username
            );
            let page = MessagePage { f: Frame::new(&s, title, ""), text, back: "/office/login".into() };
            html(StatusCode::OK, page.render(), None)
        }
        Ok(None) => refuse(
            StatusCode::CONFLICT,
            format!(
                "An account named {} exists already: this statement was used. Nothing was created.",
                statement.username
            ),
        ),
        Err(e) => db_failed(&s, e),
    }
}

struct StaffLine {
    id: i64,
    username: String,
    role: String,
    totp: &'static str,
    state: &'static str,
    can_disable: bool,
}

#[derive(Template)]
#[template(path = "office/staff.html")]
struct StaffPage {
    f: Frame,
    accounts: Vec<StaffLine>,
    /// Name, TOTP secret (base32) and `otpauth:` address of an account made just now.
    created: Option<(String, Option<String>, String)>,
}

async fn staff_page<B: OfficeBackend>(
    o: &Office<B>,
    s: &Session<Clerk>,
    me: &Clerk,
    f: Frame,
    created: Option<(String, Option<String>, String)>,
) -> Page {
    let accounts = o.store.clerks().await.map_err(|e| db_failed(s, e))?;
    let accounts = accounts
        .into_iter()
        .map(|(id, username, account)| match account {
            Some(a) => StaffLine {
                id,
                role: a.role.as_str().to_owned(),
                totp: if a.totp_secret.is_some() { "yes" } else { "no" },
                state: if a.disabled { "disabled" } else { "active" },
                can_disable: !a.disabled && id != me.id,
                username,
            },
            None => StaffLine {
                id,
                username,
                role: "—".into(),
                totp: "—",
                state: "not made in this zone: cannot sign in",
                can_disable: false,
            },
        })
        .collect();
    Ok(html(StatusCode::OK, StaffPage { f, accounts, created }.render(), None))
}

pub(crate) async fn staff<B: OfficeBackend>(State(o): State<Arc<Office<B>>>, headers: HeaderMap) -> Page {
    let (s, me) = signed_in(&o, &headers).await?;
    need(&s, &me, Role::Admin)?;
    staff_page(&o, &s, &me, Frame::new(&s, "Staff", "staff"), None).await
}

#[derive(Deserialize)]
pub(crate) struct NewAccountForm {
    csrf: String,
    username: String,
    role: String,
    password: String,
    #[serde(default)]
    totp: String,
}

pub(crate) async fn add_account<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    headers: HeaderMap,
    Form(form): Form<NewAccountForm>,
) -> Page {
    let (s, me) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    need(&s, &me, Role::Admin)?;
    let username = form.username.trim().to_lowercase();
    let refuse = |text: String| message(&s, StatusCode::UNPROCESSABLE_ENTITY, "Not added", &text, "/office/staff");
    accounts::check_username(&username).map_err(|e| refuse(format!("{e}. Nothing was added.")))?;
    let role = Role::parse(&form.role).map_err(|e| refuse(format!("{e}. Nothing was added.")))?;
    let password = zeroize::Zeroizing::new(form.password);
    let totp = form.totp == "on";
    let (secret, totp) = tokio::task::spawn_blocking(move || new_secret(role, &password, totp))
        .await
        .map_err(|_| refuse("Try again.".into()))?
        .map_err(|e| refuse(format!("{e}. Nothing was added.")))?;
    match o.store.insert_clerk(&username, &secret, &format!("clerk:{}", me.id), now_ms()).await {
        Ok(Some(_)) => {
            let shown = totp.as_ref().map(|t| t.to_base32().to_string());
            let uri = totp.as_ref().map(|t| auth::otpauth_uri(t, "fieldseal", &username)).unwrap_or_default();
            let f =
                Frame::new(&s, "Staff", "staff").with("ok", format!("{username} can sign in now ({}).", role.as_str()));
            staff_page(&o, &s, &me, f, Some((username, shown, uri))).await
        }
        Ok(None) => Err(refuse(format!("An account named {username} exists already. Nothing was added."))),
        Err(e) => Err(db_failed(&s, e)),
    }
}

pub(crate) async fn disable_account<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Page {
    let (s, me) = signed_in(&o, &headers).await?;
    csrf(&s, &form.csrf)?;
    need(&s, &me, Role::Admin)?;
    if id == me.id {
        return Err(message(
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not disabled",
            "You cannot disable your own account; ask another administrator.",
            "/office/staff",
        ));
    }
    let Some(mut account) = o.store.clerk(id).await.map_err(|e| db_failed(&s, e))? else {
        return Err(message(
            &s,
            StatusCode::NOT_FOUND,
            "No such account",
            "No account of this zone has that id.",
            "/office/staff",
        ));
    };
    account.secret.disabled = true;
    o.store
        .update_clerk(&account, "clerk.disabled", &format!("clerk:{}", me.id), now_ms())
        .await
        .map_err(|e| db_failed(&s, e))?;
    let f = Frame::new(&s, "Staff", "staff")
        .with("ok", format!("{} is disabled: open sessions end at the next page.", account.username));
    staff_page(&o, &s, &me, f, None).await
}
