//! The citizen's objection: a statement and an optional photo, the photo processed and the
//! whole sealed to the zone key before the host keeps it; one per case.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use fieldseal_core::objection::Objection;
use fieldseal_core::photo::{PhotoSettings, process};

use super::now_ms;
use super::pages::{Chrome, Flash, St, html, signed_in, signed_summary, unavailable};
use super::session::Session;
use crate::backend::{Backend, Recorded};

#[derive(Template)]
#[template(path = "objection.html")]
struct ObjectionPage {
    c: Chrome,
    statement: String,
    already: bool,
}

pub(crate) async fn objection_form<B: Backend>(State(p): St<B>, headers: HeaderMap) -> Response {
    let (session, summary) = match signed_summary(&p, &headers, || Redirect::to("/").into_response()).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let already = summary.objection_at_ms.is_some();
    let t = session.lang.texts();
    let page = ObjectionPage {
        c: Chrome::new(&session, t.objection_title, "/case/objection"),
        statement: String::new(),
        already,
    };
    html(StatusCode::OK, page.render(), None)
}

/// Receives an objection: the photo goes through the photo pipeline, then statement and photo
/// are sealed to the enclave key before anything is stored.
pub(crate) async fn objection<B: Backend>(State(p): St<B>, headers: HeaderMap, mut form: Multipart) -> Response {
    let (session, signed) = match signed_in(&p, &headers) {
        Ok(s) => s,
        Err(away) => return away.into_response(),
    };
    let t = session.lang.texts();
    let (mut csrf, mut statement, mut photo) = (String::new(), zeroize::Zeroizing::new(String::new()), None);
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                match name.as_str() {
                    "csrf" => csrf = field.text().await.unwrap_or_default(),
                    "statement" => statement = zeroize::Zeroizing::new(field.text().await.unwrap_or_default()),
                    "photo" => {
                        let bytes = field.bytes().await.unwrap_or_default();
                        if !bytes.is_empty() {
                            photo = Some(bytes);
                        }
                    }
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(e) => {
                tracing::info!(error = %e, "objection upload refused");
                let text = t.objection_bad_photo.replace("{reason}", t.objection_upload_broken);
                return objection_retry(&session, String::new(), text, StatusCode::PAYLOAD_TOO_LARGE);
            }
        }
    }
    if !session.csrf_ok(&csrf) {
        return objection_retry(&session, statement.to_string(), t.form_expired.into(), StatusCode::FORBIDDEN);
    }
    match p.backend.summary(&signed.ticket).await {
        Ok(Some(s)) if s.objection_at_ms.is_some() => {
            let text = t.objection_already.to_owned();
            return objection_retry(&session, String::new(), text, StatusCode::CONFLICT);
        }
        Ok(Some(_)) => {}
        Ok(None) => return Redirect::to("/").into_response(),
        Err(e) => return unavailable(&session, &e),
    }
    let processed = match photo {
        None => None,
        Some(bytes) => {
            let result = tokio::task::spawn_blocking(move || process(&bytes, &PhotoSettings::default())).await;
            match result {
                Ok(Ok(processed)) => Some(processed.jpeg.to_vec()),
                Ok(Err(e)) => {
                    let text = t.objection_bad_photo.replace("{reason}", &session.lang.photo_reason(&e));
                    return objection_retry(&session, statement.to_string(), text, StatusCode::UNPROCESSABLE_ENTITY);
                }
                Err(e) => {
                    tracing::error!(error = %e, "photo task failed");
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
            }
        }
    };
    let objection = match Objection::new(&statement, processed) {
        Ok(o) => o,
        Err(_) => {
            let text = t.objection_bad_statement.to_owned();
            return objection_retry(&session, statement.to_string(), text, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let key = match p.backend.enclave_key().await {
        Ok(k) => k,
        Err(e) => return unavailable(&session, &e),
    };
    let sealed = match objection.seal(&signed.ticket, &key) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "objection did not seal");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    drop(objection);
    match p.backend.record_objection(&signed.ticket, sealed, now_ms()).await {
        Ok(Recorded::New) => {
            tracing::info!("objection received and sealed");
            Redirect::to("/case?objected=1").into_response()
        }
        // Another objection to this case arrived first (sent at the same moment): only one
        // counts, and this citizen is told so rather than told it was received.
        Ok(Recorded::Duplicate) => {
            tracing::info!("objection refused: the case has one already");
            objection_retry(&session, String::new(), t.objection_already.to_owned(), StatusCode::CONFLICT)
        }
        Ok(Recorded::UnknownCase) => Redirect::to("/").into_response(),
        Err(e) => unavailable(&session, &e),
    }
}

fn objection_retry(session: &Session, statement: String, text: String, status: StatusCode) -> Response {
    let t = session.lang.texts();
    let page = ObjectionPage {
        c: Chrome::new(session, t.objection_title, "/case/objection").with(Flash::new("error", t.error_prefix, text)),
        statement,
        already: false,
    };
    html(status, page.render(), None)
}
