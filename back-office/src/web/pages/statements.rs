//! Statement upload and the exceptions queue.

#![allow(clippy::result_large_err)]

use super::*;

#[derive(Template)]
#[template(path = "office/import.html")]
struct ImportPage {
    f: Frame,
    result: Option<ImportSummary>,
}

struct ImportLine {
    booking_date: String,
    amount: String,
    outcome: String,
    class: &'static str,
    ticket: String,
}

struct ImportSummary {
    message_type: String,
    message_id: String,
    reports: usize,
    transactions: usize,
    matched: usize,
    part_paid: usize,
    overpaid: usize,
    refund_due: usize,
    exceptions: usize,
    duplicates: usize,
    skipped: String,
    lines: Vec<ImportLine>,
}

fn import_frame(s: &Session<Clerk>) -> Frame {
    Frame::new(s, s.lang.pick("Import a statement", "Kontoauszug einlesen"), "import")
}

pub(crate) async fn import_form(SignedIn { session: s, .. }: SignedIn) -> Page {
    Ok(html(StatusCode::OK, ImportPage { f: import_frame(&s), result: None }.render(), None))
}

pub(crate) async fn import<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    SignedIn { session: s, clerk }: SignedIn,
    mut multipart: Multipart,
) -> Page {
    let mut token = String::new();
    let mut file = None;
    let lang = s.lang;
    let refuse = |text: &str| {
        let f = import_frame(&s).with("error", text);
        html(StatusCode::UNPROCESSABLE_ENTITY, ImportPage { f, result: None }.render(), None)
    };
    let not_whole = lang.pick(
        format!("The upload did not arrive whole (at most {} MB). Nothing was imported.", crate::web::MAX_UPLOAD >> 20),
        format!(
            "Die Datei kam nicht vollständig an (höchstens {} MB). Es wurde nichts eingelesen.",
            crate::web::MAX_UPLOAD >> 20
        ),
    );
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf") => token = field.text().await.unwrap_or_default(),
                Some("statement") => match field.bytes().await {
                    Ok(b) => file = Some(b.to_vec()),
                    Err(_) => return Err(refuse(&not_whole)),
                },
                _ => {}
            },
            Ok(None) => break,
            Err(_) => return Err(refuse(&not_whole)),
        }
    }
    csrf(&s, &token)?;
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        return Err(refuse(lang.pick(
            "Choose a statement file (camt.053 or camt.054 XML) first.",
            "Wählen Sie zuerst eine Auszugsdatei (camt.053 oder camt.054, XML).",
        )));
    };
    let done = match import::import(&o.store, file, clerk.id).await {
        Ok(done) => done,
        Err(ImportError::Statement(e)) => {
            return Err(refuse(&lang.pick(
                format!("The file was not imported, nothing was booked: {e}"),
                format!("Die Datei wurde nicht eingelesen, es wurde nichts gebucht: {}", e.german()),
            )));
        }
        Err(e) => return Err(failed(&s, ("the import", "Das Einlesen"), e)),
    };
    let lines = done
        .lines
        .iter()
        .map(|(e, b)| {
            let (outcome, class, ticket) = match b {
                Booked::Matched { ticket, assessment, .. } => {
                    let mut text = status_label(Shown::Stored(assessment.status), lang).to_owned();
                    if assessment.balance_cents > 0 {
                        let open = money(assessment.balance_cents);
                        text.push_str(&lang.pick(format!(", {open} open"), format!(", {open} offen")));
                    }
                    if assessment.refund_due_cents > 0 {
                        let due = money(assessment.refund_due_cents);
                        text.push_str(&lang.pick(format!(", refund due {due}"), format!(", zu erstatten {due}")));
                    }
                    (text, "matched", ticket.grouped())
                }
                Booked::Exception { note, .. } => (
                    lang.pick(format!("exception: {note}"), format!("Klärungsfall: {note}")),
                    "exception",
                    String::new(),
                ),
                Booked::Duplicate => (
                    lang.pick("imported before: not counted again", "schon eingelesen: nicht noch einmal gezählt")
                        .to_owned(),
                    "duplicate",
                    String::new(),
                ),
            };
            ImportLine {
                booking_date: e.booking_date.to_string(),
                amount: money_in(e.amount_cents, &e.currency),
                outcome,
                class,
                ticket,
            }
        })
        .collect();
    let by = |st: Status| done.count(|b| matches!(b, Booked::Matched { assessment, .. } if assessment.status == st));
    let summary = ImportSummary {
        message_type: done.message_type.clone(),
        message_id: done.message_id.clone(),
        reports: done.reports,
        transactions: done.lines.len(),
        matched: done.count(|b| matches!(b, Booked::Matched { .. })),
        part_paid: by(Status::PartPaid),
        overpaid: by(Status::Overpaid),
        refund_due: done.count(|b| matches!(b, Booked::Matched { assessment, .. } if assessment.refund_due_cents > 0)),
        exceptions: done.count(|b| matches!(b, Booked::Exception { .. })),
        duplicates: done.count(|b| matches!(b, Booked::Duplicate)),
        skipped: lang.pick(
            format!(
                "{} outgoing, {} reversals, {} not booked yet",
                done.skipped.debits, done.skipped.reversals, done.skipped.not_booked
            ),
            format!(
                "{} ausgehend, {} Rückbuchungen, {} noch nicht gebucht",
                done.skipped.debits, done.skipped.reversals, done.skipped.not_booked
            ),
        ),
        lines,
    };
    let f = import_frame(&s).with("ok", lang.pick("The statement was imported.", "Der Kontoauszug wurde eingelesen."));
    Ok(html(StatusCode::OK, ImportPage { f, result: Some(summary) }.render(), None))
}

struct ExceptionLine {
    id: i64,
    booking_date: String,
    amount: String,
    note: String,
}

#[derive(Template)]
#[template(path = "office/exceptions.html")]
struct ExceptionsPage {
    f: Frame,
    lines: Vec<ExceptionLine>,
    details: Option<(i64, documents::Details)>,
}

async fn exceptions_page<B: OfficeBackend>(
    o: &Office<B>,
    s: &Session<Clerk>,
    f: Frame,
    details: Option<(i64, documents::Details)>,
) -> Page {
    let rows = o.store.bank_entries("exception", 500).await.map_err(|e| db_failed(s, e))?;
    let lines = rows
        .iter()
        .map(|r| ExceptionLine {
            id: r.id,
            booking_date: r.booking_date.clone(),
            amount: money_in(r.amount_cents, &r.currency),
            note: r.note.clone(),
        })
        .collect();
    Ok(html(StatusCode::OK, ExceptionsPage { f, lines, details }.render(), None))
}

fn exceptions_frame(s: &Session<Clerk>) -> Frame {
    Frame::new(s, s.lang.pick("Exceptions", "Klärungsfälle"), "exceptions")
}

pub(crate) async fn exceptions<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    SignedIn { session: s, .. }: SignedIn,
) -> Page {
    exceptions_page(&o, &s, exceptions_frame(&s), None).await
}

#[derive(Deserialize)]
pub(crate) struct MatchForm {
    csrf: String,
    ticket: String,
}

pub(crate) async fn match_entry<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Path(id): Path<i64>,
    SignedIn { session: s, clerk }: SignedIn,
    Form(form): Form<MatchForm>,
) -> Page {
    csrf(&s, &form.csrf)?;
    let ticket = ticket_of(&s, &form.ticket, "/office/exceptions")?;
    let done = o.store.match_by_hand(id, &ticket, clerk.id, now_ms()).await.map_err(|e| db_failed(&s, e))?;
    let f = exceptions_frame(&s);
    let lang = s.lang;
    let f = match done {
        Ok(a) => {
            let now = status_label(Shown::Stored(a.status), lang);
            let t = ticket.grouped();
            f.with("ok", lang.pick(format!("Counted for {t}: now {now}."), format!("Für {t} gezählt: jetzt {now}.")))
        }
        Err(ResolveError::UnknownCase) => f.with(
            "error",
            lang.pick(
                format!("No case has the ticket number {}.", ticket.grouped()),
                format!("Kein Fall hat die Ticketnummer {}.", ticket.grouped()),
            ),
        ),
        Err(e) => f.with("error", resolve_reason(&e, lang)),
    };
    exceptions_page(&o, &s, f, None).await
}

pub(crate) async fn book_out<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Path(id): Path<i64>,
    Supervisor(SignedIn { session: s, clerk }): Supervisor,
    Form(form): Form<ReasonForm>,
) -> Page {
    csrf(&s, &form.csrf)?;
    let reason = reason(&s, &form.reason, "/office/exceptions")?;
    let done = o.store.book_out(id, &reason, clerk.id, now_ms()).await.map_err(|e| db_failed(&s, e))?;
    let f = exceptions_frame(&s);
    let f = match done {
        Ok(()) => {
            f.with("ok", s.lang.pick("Booked out; the reason is recorded.", "Ausgebucht; die Begründung ist vermerkt."))
        }
        Err(e) => f.with("error", resolve_reason(&e, s.lang)),
    };
    exceptions_page(&o, &s, f, None).await
}

pub(crate) async fn entry_details<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Path(id): Path<i64>,
    SignedIn { session: s, clerk }: SignedIn,
    Form(form): Form<PurposeForm>,
) -> Page {
    csrf(&s, &form.csrf)?;
    let purpose = purpose(&s, &form.purpose, "/office/exceptions")?;
    let details = documents::bank_details(&o, &clerk, id, &purpose)
        .await
        .map_err(|e| failed(&s, ("opening the details", "Das Öffnen der Angaben"), e))?;
    let lang = s.lang;
    let Some(details) = details else {
        let (title, text) = lang.pick(
            ("No such entry", "That bank entry does not exist."),
            ("Buchung nicht gefunden", "Diese Bankbuchung gibt es nicht."),
        );
        return Err(message(&s, StatusCode::NOT_FOUND, title, text, "/office/exceptions"));
    };
    let f = exceptions_frame(&s).with(
        "info",
        lang.pick(
            format!("Payer details opened for \"{purpose}\"; this is recorded in the audit log."),
            format!("Angaben zur zahlenden Person geöffnet für \"{purpose}\"; das ist im Prüfprotokoll vermerkt."),
        ),
    );
    exceptions_page(&o, &s, f, Some((id, details))).await
}
