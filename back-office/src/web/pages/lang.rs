//! The back office's language: chosen from the browser when a session starts, switched with
//! the link in the page header (`/office/lang/{de|en}?next=`), kept in the session. The
//! portal's [`Lang`] and its `next` check are reused; the office only names its own pages.

#![allow(clippy::result_large_err)]

use fieldseal_core::authority::StatementError;
use fieldseal_core::ticket::TicketError;
use fieldseal_portal::web::next::known_page;
pub(crate) use fieldseal_portal::web::text::Lang;

use super::*;

/// The language a new office session starts in: German when the browser names German before
/// English, else English (a browser that names neither gets English, as before).
pub(crate) fn browser_lang(headers: &HeaderMap) -> Lang {
    headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::named_first).unwrap_or(Lang::En)
}

/// `next` when it is one of the office's own pages (compared whole: a prefix check would let
/// `/office/\t/evil.example` through), else `None`.
pub(crate) fn office_page(next: &str) -> Option<&str> {
    const PAGES: [&str; 9] = [
        "/office/",
        "/office/login",
        "/office/setup",
        "/office/cases",
        "/office/import",
        "/office/exceptions",
        "/office/deadlines",
        "/office/audit",
        "/office/staff",
    ];
    known_page(next, |path| {
        PAGES.contains(&path)
            || path
                .strip_prefix("/office/case/")
                .is_some_and(|t| t.len() == 12 && t.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[derive(Deserialize)]
pub(crate) struct LangQuery {
    next: Option<String>,
}

/// Sets the session's language and goes back to the page (or to the overview when `next` is
/// not one of the office's pages).
pub(crate) async fn switch_lang<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Path(tag): Path<String>,
    Query(q): Query<LangQuery>,
    Visitor { session: s, cookie }: Visitor,
) -> Response {
    if let Some(lang) = Lang::parse(&tag) {
        o.sessions.set_lang(&s.id, lang);
    }
    let next = q.next.as_deref().and_then(office_page).unwrap_or("/office/");
    let mut res = Redirect::to(next).into_response();
    if let Some(v) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// The deadline policy for people, in the page's language.
pub(crate) fn policy_text(policy: &fieldseal_core::policy::Policy, lang: Lang) -> String {
    lang.pick(policy.describe(), policy.describe_de())
}

/// A role's name for people (the stored names in English).
pub(crate) fn role_label(role: Role, lang: Lang) -> &'static str {
    match (role, lang) {
        (_, Lang::En) => role.as_str(),
        (Role::Clerk, Lang::De) => "Sachbearbeitung",
        (Role::Supervisor, Lang::De) => "Aufsicht",
        (Role::Admin, Lang::De) => "Administration",
    }
}

/// Why a ticket number was refused, in the page's language.
pub(crate) fn ticket_reason(e: &TicketError, lang: Lang) -> String {
    match (lang, e) {
        (Lang::En, e) => e.to_string(),
        (Lang::De, TicketError::Malformed) => "eine Ticketnummer hat 12 Ziffern, z. B. 1234-5678-9012".to_owned(),
        (Lang::De, TicketError::CheckDigit) => {
            "die Prüfziffer der Ticketnummer passt nicht: bitte auf Tippfehler prüfen".to_owned()
        }
        (Lang::De, TicketError::OutOfRange) => "der Bereich der Ticketnummern ist erschöpft oder ungültig".to_owned(),
        (Lang::De, TicketError::AccessCodeMalformed) => {
            "ein Zugangscode hat 12 Buchstaben und Ziffern, z. B. ABCD-EFGH-JKMN".to_owned()
        }
    }
}

/// Why an authority statement was refused, in the page's language.
pub(crate) fn statement_reason(e: &StatementError, lang: Lang) -> String {
    match (lang, e) {
        (Lang::En, e) => e.to_string(),
        (Lang::De, StatementError::Format) => {
            "das ist keine Erklärung der Behörde (erwartet: zwei base64url-Teile, durch einen Punkt verbunden)"
                .to_owned()
        }
        (Lang::De, StatementError::Signature) => {
            "die Erklärung ist nicht von der Behörde unterschrieben, an die diese Zone gebunden ist".to_owned()
        }
        (Lang::De, StatementError::Wrong(what)) => format!("die Erklärung ist nicht hierfür bestimmt: {what}"),
    }
}

/// Why a clerk's resolution was refused, in the page's language.
pub(crate) fn resolve_reason(e: &ResolveError, lang: Lang) -> String {
    match (lang, e) {
        (Lang::En, e) => e.to_string(),
        (Lang::De, ResolveError::UnknownCase) => "kein Fall hat diese Ticketnummer".to_owned(),
        (Lang::De, ResolveError::NotAnException) => {
            "diese Bankbuchung steht nicht mehr in der Klärungsliste; laden Sie die Liste neu".to_owned()
        }
        (Lang::De, ResolveError::RefundTooLarge { due_cents }) => {
            format!("die Erstattung muss größer als 0 und höchstens der fällige Betrag ({due_cents} Cent) sein")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_starts_in_german_only_when_the_browser_prefers_it() {
        let lang = |v: Option<&'static str>| {
            let mut h = HeaderMap::new();
            if let Some(v) = v {
                h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static(v));
            }
            browser_lang(&h)
        };
        assert_eq!(lang(None), Lang::En, "no header: English, as the tests' clients expect");
        assert_eq!(lang(Some("de-DE,de;q=0.9,en;q=0.8")), Lang::De);
        assert_eq!(lang(Some("fr-FR, de;q=0.5, en;q=0.4")), Lang::De);
        assert_eq!(lang(Some("en-GB,en;q=0.9,de;q=0.8")), Lang::En);
        assert_eq!(lang(Some("fr")), Lang::En);
    }

    #[test]
    fn only_the_offices_own_pages_are_next() {
        for good in
            ["/office/", "/office/cases", "/office/cases?status=paid", "/office/case/123456789012", "/office/staff"]
        {
            assert_eq!(office_page(good), Some(good), "{good}");
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/office/\t/evil.example",
            "/office//evil.example",
            "/office/../evil",
            "/office/case/12ab",
            "/office/cases?x=<script>",
            "/office/cases?x=1\r\nSet-Cookie: x=1",
            "https://evil.example/office/",
            "/",
            "/case",
            "",
        ] {
            assert_eq!(office_page(bad), None, "{bad:?}");
        }
    }
}
