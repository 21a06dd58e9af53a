//! Deadlines, exports, the audit log and the stylesheet.

#![allow(clippy::result_large_err)]

use super::*;

struct StepLine {
    ticket: String,
    ticket_digits: String,
    action: String,
    balance: String,
}

#[derive(Template)]
#[template(path = "office/deadlines.html")]
struct DeadlinesPage {
    f: Frame,
    policy: String,
    today: String,
    steps: Vec<StepLine>,
    applied: bool,
}

fn step_lines(steps: &[crate::store::DeadlineStep], lang: Lang) -> Vec<StepLine> {
    steps
        .iter()
        .map(|st| StepLine {
            ticket: st.ticket.grouped(),
            ticket_digits: st.ticket.digits().to_owned(),
            action: match st.action {
                Action::Remind { n, deadline } => lang.pick(
                    format!("reminder {n}, new deadline {deadline}"),
                    format!("Erinnerung {n}, neue Frist {deadline}"),
                ),
                Action::Escalate => lang
                    .pick("escalate: fine proceedings (hearing form)", "eskalieren: Bußgeldverfahren (Anhörungsbogen)")
                    .into(),
            },
            balance: money(st.balance_cents),
        })
        .collect()
}

pub(crate) async fn deadlines<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    SignedIn { session: s, clerk }: SignedIn,
) -> Page {
    let today = today();
    let steps = o.store.deadline_run(today, false, clerk.id, now_ms()).await.map_err(|e| db_failed(&s, e))?;
    let page = DeadlinesPage {
        f: Frame::new(&s, s.lang.pick("Deadlines", "Fristen"), "deadlines"),
        policy: policy_text(&o.store.policy().await.map_err(|e| db_failed(&s, e))?, s.lang),
        today: today.to_string(),
        steps: step_lines(&steps, s.lang),
        applied: false,
    };
    Ok(html(StatusCode::OK, page.render(), None))
}

pub(crate) async fn run_deadlines<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Supervisor(SignedIn { session: s, clerk }): Supervisor,
    Form(form): Form<CsrfForm>,
) -> Page {
    csrf(&s, &form.csrf)?;
    let today = today();
    let steps = o.store.deadline_run(today, true, clerk.id, now_ms()).await.map_err(|e| db_failed(&s, e))?;
    let lang = s.lang;
    let page = DeadlinesPage {
        f: Frame::new(&s, lang.pick("Deadlines", "Fristen"), "deadlines").with(
            "ok",
            lang.pick(
                format!("The deadline run is done: {} case(s) changed.", steps.len()),
                format!("Der Fristenlauf ist erledigt: {} Fall/Fälle geändert.", steps.len()),
            ),
        ),
        policy: policy_text(&o.store.policy().await.map_err(|e| db_failed(&s, e))?, s.lang),
        today: today.to_string(),
        steps: step_lines(&steps, lang),
        applied: true,
    };
    Ok(html(StatusCode::OK, page.render(), None))
}

// ----- exports and audit -----

fn csv_response(name: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn ledger_csv<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    SignedIn { session: s, clerk }: SignedIn,
) -> Page {
    let body = documents::ledger_csv(&o, &clerk).await.map_err(|e| db_failed(&s, e))?;
    Ok(csv_response(&format!("fieldseal-ledger-{}.csv", today()), body))
}

pub(crate) async fn hearing_forms_csv<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Supervisor(SignedIn { session: s, clerk }): Supervisor,
    Form(form): Form<PurposeForm>,
) -> Page {
    csrf(&s, &form.csrf)?;
    let purpose = purpose(&s, &form.purpose, "/office/deadlines")?;
    let body = documents::hearing_forms_csv(&o, &clerk, &purpose)
        .await
        .map_err(|e| failed(&s, ("the hearing-form export", "Der Export der Anhörungsbögen"), e))?;
    Ok(csv_response(&format!("fieldseal-hearing-forms-{}.csv", today()), body))
}

struct AuditLine {
    seq: u64,
    at: String,
    actor: String,
    action: String,
    subject: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "office/audit.html")]
struct AuditPage {
    f: Frame,
    lines: Vec<AuditLine>,
}

pub(crate) async fn audit<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Supervisor(SignedIn { session: s, .. }): Supervisor,
) -> Page {
    let entries = o.store.audit_recent(200).await.map_err(|e| db_failed(&s, e))?;
    let lines = entries
        .into_iter()
        .map(|e| AuditLine {
            seq: e.seq,
            at: when(e.at_ms),
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            detail: e.detail,
        })
        .collect();
    let f = Frame::new(&s, s.lang.pick("Audit log", "Prüfprotokoll"), "audit");
    Ok(html(StatusCode::OK, AuditPage { f, lines }.render(), None))
}

pub(crate) async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../../static/office.css"),
    )
        .into_response()
}
