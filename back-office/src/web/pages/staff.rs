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
    let none = f.lang.pick("none", "keiner");
    let page = SetupPage {
        f,
        zone_key: hex_lower(&o.store.backend.enclave_key().0),
        authority_key: authority.map_or_else(|| none.to_owned(), |k| hex_lower(&k.0)),
        pinned: authority.is_some(),
    };
    html(status, page.render(), None)
}

fn setup_frame(s: &Session<Clerk>) -> Frame {
    let title = s.lang.pick("Set up the first administrator", "Erste Administration einrichten");
    Frame::new(s, title, "").at("/office/setup")
}

pub(crate) async fn setup_form<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Visitor { session: s, cookie }: Visitor,
) -> Response {
    let mut res = setup_page(&o, StatusCode::OK, setup_frame(&s));
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
    Visitor { session: s, .. }: Visitor,
    Form(form): Form<SetupForm>,
) -> Response {
    let lang = s.lang;
    let refuse = |status: StatusCode, text: String| setup_page(&o, status, setup_frame(&s).with("error", text));
    let nothing = lang.pick("Nothing was created.", "Es wurde nichts angelegt.");
    if !s.csrf_ok(&form.csrf) {
        let text = lang.pick(
            "The form was out of date. Open the page again.",
            "Das Formular war veraltet. Öffnen Sie die Seite erneut.",
        );
        return refuse(StatusCode::FORBIDDEN, text.into());
    }
    let Some(authority) = o.store.backend.authority_key() else {
        let text = lang.pick(
            "This zone has no authority key pinned; nothing can be set up.",
            "Diese Zone ist an keinen Schlüssel einer Behörde gebunden; es kann nichts eingerichtet werden.",
        );
        return refuse(StatusCode::CONFLICT, text.into());
    };
    let attempt = match o.setup_failures.begin(&(), std::time::Instant::now()) {
        Ok(a) => a,
        Err(wait) => {
            let m = limits::minutes(wait);
            let text = lang.pick(
                format!("Too many failed tries. Try again in {m} minutes."),
                format!("Zu viele fehlgeschlagene Versuche. Versuchen Sie es in {m} Minuten erneut."),
            );
            return refuse(StatusCode::TOO_MANY_REQUESTS, text);
        }
    };
    let statement = match authority::verify_first_admin(&form.statement, &authority, &o.store.backend.enclave_key()) {
        Ok(st) => st,
        Err(e) => {
            attempt.fail(std::time::Instant::now());
            let why = statement_reason(&e, lang);
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                lang.pick(format!("{why}. {nothing}"), format!("{}. {nothing}", capital(&why))),
            );
        }
    };
    if !bool::from(setup_code_hash(&form.code).ct_eq(&statement.setup_code_sha256)) {
        attempt.fail(std::time::Instant::now());
        let text = lang.pick(
            "The setup code does not belong to this statement. Nothing was created.",
            "Der Einrichtungscode gehört nicht zu dieser Erklärung. Es wurde nichts angelegt.",
        );
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, text.into());
    }
    if form.password != form.password2 {
        let text = lang.pick(
            "The two passwords differ. Nothing was created.",
            "Die beiden Passwörter sind verschieden. Es wurde nichts angelegt.",
        );
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, text.into());
    }
    if let Err(e) = accounts::check_username(&statement.username) {
        let text = lang.pick(
            format!("The statement's name: {e}."),
            format!("Der Name in der Erklärung: {}.", accounts::USERNAME_RULE_DE),
        );
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, text);
    }
    let password = zeroize::Zeroizing::new(form.password);
    let made = tokio::task::spawn_blocking(move || new_secret(Role::Admin, &password, false)).await;
    let secret = match made {
        Ok(Ok((secret, _))) => secret,
        Ok(Err(e)) => {
            let text = lang.pick(format!("{e}. {nothing}"), format!("{}. {nothing}", capital(&e.german())));
            return refuse(StatusCode::UNPROCESSABLE_ENTITY, text);
        }
        Err(_) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang.pick("Try again.", "Bitte erneut versuchen.").into(),
            );
        }
    };
    match o.store.insert_clerk(&statement.username, &secret, "authority", now_ms()).await {
        Ok(Some(_)) => {
            drop(attempt);
            let name = &statement.username;
            let text = lang.pick(
                format!(
                    "The administrator {name} was created, as the authority's statement says. Sign in with the new \
                     password."
                ),
                format!(
                    "Die Administration {name} wurde angelegt, wie es die Erklärung der Behörde sagt. Melden Sie sich \
                     mit dem neuen Passwort an."
                ),
            );
            let page = MessagePage { f: setup_frame(&s), text, back: "/office/login".into() };
            html(StatusCode::OK, page.render(), None)
        }
        Ok(None) => {
            let name = &statement.username;
            let text = lang.pick(
                format!("An account named {name} exists already: this statement was used. Nothing was created."),
                format!(
                    "Ein Konto namens {name} gibt es schon: diese Erklärung wurde benutzt. Es wurde nichts angelegt."
                ),
            );
            refuse(StatusCode::CONFLICT, text)
        }
        Err(e) => db_failed(&s, e),
    }
}

/// `text` with its first letter in capitals (a reason that starts a sentence).
fn capital(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
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
    let lang = s.lang;
    let accounts = accounts
        .into_iter()
        .map(|(id, username, account)| match account {
            Some(a) => StaffLine {
                id,
                role: role_label(a.role, lang).to_owned(),
                totp: if a.totp_secret.is_some() { lang.pick("yes", "ja") } else { lang.pick("no", "nein") },
                state: if a.disabled { lang.pick("disabled", "gesperrt") } else { lang.pick("active", "aktiv") },
                can_disable: !a.disabled && id != me.id,
                username,
            },
            None => StaffLine {
                id,
                username,
                role: "—".into(),
                totp: "—",
                state: lang.pick(
                    "not made in this zone: cannot sign in",
                    "nicht in dieser Zone angelegt: kann sich nicht anmelden",
                ),
                can_disable: false,
            },
        })
        .collect();
    Ok(html(StatusCode::OK, StaffPage { f, accounts, created }.render(), None))
}

fn staff_frame(s: &Session<Clerk>) -> Frame {
    Frame::new(s, s.lang.pick("Staff", "Personal"), "staff")
}

pub(crate) async fn staff<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Admin(SignedIn { session: s, clerk: me }): Admin,
) -> Page {
    staff_page(&o, &s, &me, staff_frame(&s), None).await
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
    Admin(SignedIn { session: s, clerk: me }): Admin,
    Form(form): Form<NewAccountForm>,
) -> Page {
    csrf(&s, &form.csrf)?;
    let username = form.username.trim().to_lowercase();
    let lang = s.lang;
    let title = lang.pick("Not added", "Nicht hinzugefügt");
    let refuse = |text: String| message(&s, StatusCode::UNPROCESSABLE_ENTITY, title, &text, "/office/staff");
    let nothing = lang.pick("Nothing was added.", "Es wurde nichts hinzugefügt.");
    let auth_refusal = |e: auth::AuthError| {
        refuse(lang.pick(format!("{e}. {nothing}"), format!("{}. {nothing}", capital(&e.german()))))
    };
    accounts::check_username(&username).map_err(|e| {
        refuse(lang.pick(format!("{e}. {nothing}"), format!("{}. {nothing}", capital(accounts::USERNAME_RULE_DE))))
    })?;
    let role = Role::parse(&form.role).map_err(auth_refusal)?;
    let password = zeroize::Zeroizing::new(form.password);
    let totp = form.totp == "on";
    let (secret, totp) = tokio::task::spawn_blocking(move || new_secret(role, &password, totp))
        .await
        .map_err(|_| refuse(lang.pick("Try again.", "Bitte erneut versuchen.").into()))?
        .map_err(auth_refusal)?;
    match o.store.insert_clerk(&username, &secret, &format!("clerk:{}", me.id), now_ms()).await {
        Ok(Some(_)) => {
            let shown = totp.as_ref().map(|t| t.to_base32().to_string());
            let uri = totp.as_ref().map(|t| auth::otpauth_uri(t, "fieldseal", &username)).unwrap_or_default();
            let f = staff_frame(&s).with(
                "ok",
                lang.pick(
                    format!("{username} can sign in now ({}).", role.as_str()),
                    format!("{username} kann sich jetzt anmelden ({}).", role_label(role, lang)),
                ),
            );
            staff_page(&o, &s, &me, f, Some((username, shown, uri))).await
        }
        Ok(None) => Err(refuse(lang.pick(
            format!("An account named {username} exists already. {nothing}"),
            format!("Ein Konto namens {username} gibt es schon. {nothing}"),
        ))),
        Err(e) => Err(db_failed(&s, e)),
    }
}

pub(crate) async fn disable_account<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Path(id): Path<i64>,
    Admin(SignedIn { session: s, clerk: me }): Admin,
    Form(form): Form<CsrfForm>,
) -> Page {
    csrf(&s, &form.csrf)?;
    let lang = s.lang;
    if id == me.id {
        let (title, text) = lang.pick(
            ("Not disabled", "You cannot disable your own account; ask another administrator."),
            ("Nicht gesperrt", "Ihr eigenes Konto können Sie nicht sperren; fragen Sie eine andere Administration."),
        );
        return Err(message(&s, StatusCode::UNPROCESSABLE_ENTITY, title, text, "/office/staff"));
    }
    let Some(mut account) = o.store.clerk(id).await.map_err(|e| db_failed(&s, e))? else {
        let (title, text) = lang.pick(
            ("No such account", "No account of this zone has that id."),
            ("Konto nicht gefunden", "Kein Konto dieser Zone hat diese Nummer."),
        );
        return Err(message(&s, StatusCode::NOT_FOUND, title, text, "/office/staff"));
    };
    account.secret.disabled = true;
    o.store
        .update_clerk(&account, "clerk.disabled", &format!("clerk:{}", me.id), now_ms())
        .await
        .map_err(|e| db_failed(&s, e))?;
    let name = &account.username;
    let f = staff_frame(&s).with(
        "ok",
        lang.pick(
            format!("{name} is disabled: open sessions end at the next page."),
            format!("{name} ist gesperrt: offene Sitzungen enden beim nächsten Seitenaufruf."),
        ),
    );
    staff_page(&o, &s, &me, f, None).await
}
