//! Pages for the errors a person can meet (404, 405, 413) in their language, with a way back,
//! instead of an empty body. Device API answers (`/v1/`, `/health`) keep their own JSON.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::text::Lang;

/// Middleware: replaces the body of a 404, 405 or 413 that is not already a page.
pub async fn error_pages(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/v1/") || path.starts_with("/health") {
        return next.run(req).await;
    }
    let office = path.starts_with("/office");
    // Only the header is kept; it is read only when a page is made.
    let accept_language = req.headers().get(header::ACCEPT_LANGUAGE).cloned();
    let response = next.run(req).await;
    if !matches!(
        response.status(),
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED | StatusCode::PAYLOAD_TOO_LARGE
    ) {
        return response;
    }
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let lang = accept_language.as_ref().and_then(|v| v.to_str().ok()).map_or(Lang::De, Lang::from_accept_language);
    match page(response.status(), lang, office) {
        Some(html) if !is_page => {
            let mut out = Response::new(Body::from(html));
            *out.status_mut() = response.status();
            let h = out.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; form-action 'none'"),
            );
            if let Some(allow) = response.headers().get(header::ALLOW) {
                h.insert(header::ALLOW, allow.clone());
            }
            out
        }
        _ => response,
    }
}

/// The page for `status`, or `None` for statuses that keep their own answer.
fn page(status: StatusCode, lang: Lang, office: bool) -> Option<String> {
    let (title, text) = match (status, lang) {
        (StatusCode::NOT_FOUND, Lang::De) => ("Seite nicht gefunden", "Diese Adresse gibt es hier nicht."),
        (StatusCode::NOT_FOUND, Lang::En) => ("Page not found", "There is no page at this address."),
        (StatusCode::METHOD_NOT_ALLOWED, Lang::De) => {
            ("Nicht möglich", "Diese Adresse nimmt diese Art von Anfrage nicht an. Bitte nutzen Sie die Seiten selbst.")
        }
        (StatusCode::METHOD_NOT_ALLOWED, Lang::En) => {
            ("Not possible", "This address does not take this kind of request. Please use the pages themselves.")
        }
        (StatusCode::PAYLOAD_TOO_LARGE, Lang::De) => (
            "Zu groß",
            "Was Sie gesendet haben, ist größer als erlaubt. Bitte senden Sie eine kleinere Datei oder einen kürzeren Text.",
        ),
        (StatusCode::PAYLOAD_TOO_LARGE, Lang::En) => {
            ("Too large", "What you sent is larger than allowed. Please send a smaller file or a shorter text.")
        }
        _ => return None,
    };
    let (href, back) = match (office, lang) {
        (true, Lang::De) => ("/office/", "Zur Übersicht"),
        (true, Lang::En) => ("/office/", "Back to the overview"),
        (false, Lang::De) => ("/", "Zur Startseite"),
        (false, Lang::En) => ("/", "Back to the start page"),
    };
    let code = match lang {
        Lang::De => "de",
        Lang::En => "en",
    };
    Some(format!(
        "<!doctype html><html lang=\"{code}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{title}</title></head><body><main>\
         <h1>{title}</h1><p>{text}</p><p><a id=\"back\" href=\"{href}\">{back}</a></p></main></body></html>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_a_page_in_each_language_with_a_way_back() {
        for status in [StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED, StatusCode::PAYLOAD_TOO_LARGE] {
            let de = page(status, Lang::De, false).expect("a page");
            let en = page(status, Lang::En, true).expect("a page");
            assert!(de.contains("lang=\"de\"") && de.contains("href=\"/\"") && de.contains("Zur Startseite"), "{de}");
            assert!(en.contains("lang=\"en\"") && en.contains("href=\"/office/\""), "{en}");
            assert_ne!(de, page(status, Lang::En, false).expect("a page"));
        }
        assert_eq!(page(StatusCode::INTERNAL_SERVER_ERROR, Lang::De, false), None);
        assert_eq!(page(StatusCode::CONFLICT, Lang::De, false), None);
    }
}
