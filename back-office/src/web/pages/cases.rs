//! The dashboard, the case list and one case: opening personal data with a purpose, the
//! objection, withdrawal, refund and hearing form.

#![allow(clippy::result_large_err)]

use super::*;

struct StatusCount {
    key: &'static str,
    label: &'static str,
    count: i64,
}

#[derive(Template)]
#[template(path = "office/dashboard.html")]
struct DashboardPage {
    f: Frame,
    counts: Vec<StatusCount>,
    payments_today: i64,
    paid_today: String,
    exceptions: i64,
    refund_total: String,
    policy: String,
}

/// People's word for a status, in English (also the status's class on the page).
pub(crate) fn status_key(s: Shown) -> &'static str {
    match s {
        Shown::Overdue => "overdue",
        Shown::Stored(Status::Open) => "open",
        Shown::Stored(Status::PartPaid) => "part-paid",
        Shown::Stored(Status::Paid) => "paid",
        Shown::Stored(Status::Overpaid) => "overpaid",
        Shown::Stored(Status::Escalated) => "escalated",
        Shown::Stored(Status::Withdrawn) => "withdrawn",
    }
}

/// People's word for a status, in the page's language.
pub(crate) fn status_label(s: Shown, lang: Lang) -> &'static str {
    match lang {
        Lang::En => status_key(s),
        Lang::De => match s {
            Shown::Overdue => "überfällig",
            Shown::Stored(Status::Open) => "offen",
            Shown::Stored(Status::PartPaid) => "teilweise bezahlt",
            Shown::Stored(Status::Paid) => "bezahlt",
            Shown::Stored(Status::Overpaid) => "überzahlt",
            Shown::Stored(Status::Escalated) => "eskaliert",
            Shown::Stored(Status::Withdrawn) => "eingestellt",
        },
    }
}

/// The case-list filters: key and label in `lang`.
pub(crate) fn filters(lang: Lang) -> Vec<(&'static str, &'static str)> {
    let label = |s| status_label(s, lang);
    vec![
        ("open", label(Shown::Stored(Status::Open))),
        ("part_paid", label(Shown::Stored(Status::PartPaid))),
        ("overdue", label(Shown::Overdue)),
        ("paid", label(Shown::Stored(Status::Paid))),
        ("overpaid", label(Shown::Stored(Status::Overpaid))),
        ("escalated", label(Shown::Stored(Status::Escalated))),
        ("refund_due", lang.pick("refund due", "Erstattung fällig")),
        ("withdrawn", label(Shown::Stored(Status::Withdrawn))),
    ]
}

pub(crate) async fn dashboard<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    SignedIn { session: s, .. }: SignedIn,
) -> Page {
    let today = today();
    let since = crate::store::day_ms(today);
    let d = o.store.dashboard(today, since).await.map_err(|e| db_failed(&s, e))?;
    let lang = s.lang;
    let mut counts: Vec<StatusCount> = d
        .by_status
        .iter()
        .map(|(st, n)| StatusCount { key: st.as_str(), label: status_label(Shown::Stored(*st), lang), count: *n })
        .collect();
    let overdue = lang.pick("overdue (of open and part-paid)", "überfällig (von offen und teilweise bezahlt)");
    counts.insert(2, StatusCount { key: "overdue", label: overdue, count: d.overdue });
    let refund_due = lang.pick("refund due", "Erstattung fällig");
    counts.push(StatusCount { key: "refund_due", label: refund_due, count: d.refund_due });
    let page = DashboardPage {
        f: Frame::new(&s, lang.pick("Dashboard", "Übersicht"), "dashboard"),
        counts,
        payments_today: d.payments_today.0,
        paid_today: money_signed(d.payments_today.1),
        exceptions: d.exceptions,
        refund_total: money_signed(d.refund_due_cents),
        policy: policy_text(&o.store.policy().await.map_err(|e| db_failed(&s, e))?, s.lang),
    };
    Ok(html(StatusCode::OK, page.render(), None))
}

struct CaseLine {
    ticket: String,
    ticket_digits: String,
    status: &'static str,
    /// The status in English, the class that colours it.
    status_class: &'static str,
    total: String,
    paid: String,
    refund: String,
    deadline: String,
}

fn case_line(c: &LedgerCase, today: time::Date, lang: Lang) -> CaseLine {
    let deadline = c.deadline.unwrap_or(c.due_date);
    let shown = shown_status(c.status, deadline, today);
    CaseLine {
        ticket: c.ticket.grouped(),
        ticket_digits: c.ticket.digits().to_owned(),
        status: status_label(shown, lang),
        status_class: status_key(shown),
        total: money(c.total_cents),
        paid: money(c.paid_cents),
        refund: if c.refund_due_cents > 0 { money(c.refund_due_cents) } else { String::new() },
        deadline: deadline.to_string(),
    }
}

#[derive(Template)]
#[template(path = "office/cases.html")]
struct CasesPage {
    f: Frame,
    filters: Vec<(&'static str, &'static str)>,
    filter: String,
    lines: Vec<CaseLine>,
    page: u32,
    more: bool,
}

#[derive(Deserialize)]
pub(crate) struct CasesQuery {
    status: Option<String>,
    page: Option<u32>,
    ticket: Option<String>,
}

const PAGE_SIZE: u32 = 50;

pub(crate) async fn cases<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Query(q): Query<CasesQuery>,
    SignedIn { session: s, .. }: SignedIn,
) -> Page {
    if let Some(raw) = q.ticket.as_deref().filter(|t| !t.trim().is_empty()) {
        let t = ticket_of(&s, raw, "/office/cases")?;
        return Ok(Redirect::to(&format!("/office/case/{}", t.digits())).into_response());
    }
    let filter = q.status.unwrap_or_else(|| "open".into());
    let page = q.page.unwrap_or(0).min(100_000);
    let today = today();
    let (status, overdue) = match filter.as_str() {
        "overdue" => (None, Some(today)),
        "refund_due" => (None, None),
        other => match Status::parse(other) {
            Some(st) => (Some(st), None),
            None => {
                let (title, text) = s.lang.pick(
                    ("No such status", "Choose a status."),
                    ("Diesen Status gibt es nicht", "Wählen Sie einen Status."),
                );
                return Err(message(&s, StatusCode::NOT_FOUND, title, text, "/office/"));
            }
        },
    };
    let rows = o
        .store
        .cases_by_status(status, overdue, PAGE_SIZE + 1, page * PAGE_SIZE)
        .await
        .map_err(|e| db_failed(&s, e))?;
    let more = rows.len() > PAGE_SIZE as usize;
    let lang = s.lang;
    let lines = rows.iter().take(PAGE_SIZE as usize).map(|c| case_line(c, today, lang)).collect();
    let f = Frame::new(&s, lang.pick("Cases", "Fälle"), "cases");
    let page = CasesPage { f, filters: filters(lang), filter, lines, page, more };
    Ok(html(StatusCode::OK, page.render(), None))
}

struct LedgerRow {
    date: String,
    what: String,
    amount: String,
    reference: String,
}

#[derive(Template)]
#[template(path = "office/case.html")]
struct CasePage {
    f: Frame,
    line: CaseLine,
    due_date: String,
    reminders: u32,
    offences: String,
    escalated: String,
    withdrawn: String,
    ledger: Vec<LedgerRow>,
    objection: String,
    refund_due_cents: u64,
    opened: Option<Opened>,
}

/// The frame of a case's page.
fn case_frame(s: &Session<Clerk>, ticket: &TicketNumber) -> Frame {
    let title = s.lang.pick(format!("Case {}", ticket.grouped()), format!("Fall {}", ticket.grouped()));
    Frame::new(s, &title, "cases").at(format!("/office/case/{}", ticket.digits()))
}

async fn case_page<B: OfficeBackend>(
    o: &Office<B>,
    s: &Session<Clerk>,
    ticket: &TicketNumber,
    f: Frame,
    opened: Option<Opened>,
) -> Page {
    let lang = s.lang;
    let Some(c) = o.store.ledger_case(ticket).await.map_err(|e| db_failed(s, e))? else {
        return Err(message(
            s,
            StatusCode::NOT_FOUND,
            lang.pick("No such case", "Fall nicht gefunden"),
            &lang.pick(
                format!("No case has the ticket number {}.", ticket.grouped()),
                format!("Kein Fall hat die Ticketnummer {}.", ticket.grouped()),
            ),
            "/office/cases",
        ));
    };
    let full = o.store.case(ticket).await.map_err(|e| db_failed(s, e))?;
    let mut ledger: Vec<LedgerRow> = full
        .as_ref()
        .map(|f| {
            f.payments
                .iter()
                .map(|p| LedgerRow {
                    date: ms_day(p.booked_at_ms).to_string(),
                    what: format!("{} ({})", lang.pick("payment", "Zahlung"), p.method),
                    amount: money(p.amount_cents),
                    reference: p.provider.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    for r in o.store.refunds(ticket).await.map_err(|e| db_failed(s, e))? {
        ledger.push(LedgerRow {
            date: ms_day(r.paid_at_ms).to_string(),
            what: lang.pick("refund", "Erstattung").into(),
            amount: format!("-{}", money(r.amount_cents)),
            reference: r.reference,
        });
    }
    let page = CasePage {
        f,
        line: case_line(&c, today(), lang),
        due_date: c.due_date.to_string(),
        reminders: c.reminders,
        offences: c.offence_codes.join(", "),
        escalated: c.escalated_at_ms.map(when).unwrap_or_default(),
        withdrawn: c.withdrawn.as_ref().map(|(at, why)| format!("{} — {why}", when(*at))).unwrap_or_default(),
        ledger,
        objection: full.and_then(|f| f.objection_at_ms).map(when).unwrap_or_default(),
        refund_due_cents: c.refund_due_cents,
        opened,
    };
    Ok(html(StatusCode::OK, page.render(), None))
}

/// What every form on a case page checks first: the form's token and the case's ticket number;
/// returns the ticket and the case page's address (where a refusal leads back to).
fn case_form(s: &Session<Clerk>, token: &str, raw: &str) -> Result<(TicketNumber, String), Response> {
    csrf(s, token)?;
    let ticket = ticket_of(s, raw, "/office/cases")?;
    let back = format!("/office/case/{}", ticket.digits());
    Ok((ticket, back))
}

pub(crate) async fn case<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Path(raw): Path<String>,
    SignedIn { session: s, .. }: SignedIn,
) -> Page {
    let ticket = ticket_of(&s, &raw, "/office/cases")?;
    let f = case_frame(&s, &ticket);
    case_page(&o, &s, &ticket, f, None).await
}

/// Opens a case's personal data through the enclave: the purpose is audited first.
pub(crate) async fn open_case<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Path(raw): Path<String>,
    SignedIn { session: s, clerk }: SignedIn,
    Form(form): Form<PurposeForm>,
) -> Page {
    let (ticket, back) = case_form(&s, &form.csrf, &raw)?;
    let purpose = purpose(&s, &form.purpose, &back)?;
    let view = documents::clerk_view(&o, &clerk, &ticket, &purpose)
        .await
        .map_err(|e| failed(&s, ("opening the case", "Das Öffnen des Falls"), e))?;
    let opened = Opened::of(&o, &view, s.lang);
    let f = case_frame(&s, &ticket).with("info", opened_for(s.lang, &purpose));
    case_page(&o, &s, &ticket, f, Some(opened)).await
}

/// The notice that personal data was opened for a purpose.
fn opened_for(lang: Lang, purpose: &str) -> String {
    lang.pick(
        format!("Opened for \"{purpose}\"; this is recorded in the audit log."),
        format!("Geöffnet für \"{purpose}\"; das ist im Prüfprotokoll vermerkt."),
    )
}

#[derive(Template)]
#[template(path = "office/objection.html")]
struct ObjectionPage {
    f: Frame,
    ticket: String,
    ticket_digits: String,
    statement: String,
    photo: Option<String>,
}

pub(crate) async fn open_objection<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Path(raw): Path<String>,
    SignedIn { session: s, clerk }: SignedIn,
    Form(form): Form<PurposeForm>,
) -> Page {
    let (ticket, back) = case_form(&s, &form.csrf, &raw)?;
    let purpose = purpose(&s, &form.purpose, &back)?;
    let objection = documents::objection(&o, &clerk, &ticket, &purpose)
        .await
        .map_err(|e| failed(&s, ("opening the objection", "Das Öffnen des Einspruchs"), e))?;
    let lang = s.lang;
    let Some((statement, photo)) = objection else {
        let (title, text) = lang.pick(
            ("No objection", "This case has no objection."),
            ("Kein Einspruch", "Dieser Fall hat keinen Einspruch."),
        );
        return Err(message(&s, StatusCode::NOT_FOUND, title, text, &back));
    };
    let page = ObjectionPage {
        f: Frame::new(&s, lang.pick("Objection", "Einspruch"), "cases")
            .at(back.clone())
            .with("info", opened_for(lang, &purpose)),
        ticket: ticket.grouped(),
        ticket_digits: ticket.digits().to_owned(),
        statement: statement.to_string(),
        photo: photo.map(|p| format!("data:image/jpeg;base64,{}", STANDARD.encode(p.as_slice()))),
    };
    Ok(html(StatusCode::OK, page.render(), None))
}

pub(crate) async fn withdraw<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Path(raw): Path<String>,
    Supervisor(SignedIn { session: s, clerk }): Supervisor,
    Form(form): Form<ReasonForm>,
) -> Page {
    let (ticket, back) = case_form(&s, &form.csrf, &raw)?;
    let reason = reason(&s, &form.reason, &back)?;
    let kind = if form.kind == "cancel" { "cancelled" } else { "withdrawn" };
    let text = format!("{kind}: {reason}");
    let lang = s.lang;
    let kind_de = if form.kind == "cancel" { "storniert" } else { "eingestellt" };
    let done = o.store.withdraw(&ticket, &text, clerk.id, now_ms()).await.map_err(|e| db_failed(&s, e))?;
    let f = case_frame(&s, &ticket);
    let f = match done {
        Some(a) if a.refund_due_cents > 0 => f.with(
            "ok",
            lang.pick(
                format!("The case is {kind}. {} received is now due for refund.", money(a.refund_due_cents)),
                format!(
                    "Der Fall ist {kind_de}. Die erhaltenen {} sind jetzt zu erstatten.",
                    money(a.refund_due_cents)
                ),
            ),
        ),
        Some(_) => f.with("ok", lang.pick(format!("The case is {kind}."), format!("Der Fall ist {kind_de}."))),
        None => f.with(
            "warning",
            lang.pick(
                "The case was withdrawn already; nothing was changed.",
                "Der Fall war schon eingestellt; es wurde nichts geändert.",
            ),
        ),
    };
    case_page(&o, &s, &ticket, f, None).await
}

#[derive(Deserialize)]
pub(crate) struct RefundForm {
    csrf: String,
    amount: String,
    reference: String,
}

/// Parses "12.50", "12,50" or "12" into cents.
pub(crate) fn parse_amount(raw: &str) -> Option<u64> {
    let raw = raw.trim().trim_end_matches("EUR").trim_end_matches('€').trim();
    let (whole, frac) = match raw.split_once(['.', ',']) {
        Some((w, f)) => (w, f),
        None => (raw, ""),
    };
    if whole.is_empty() || whole.len() > 9 || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<u64>().ok()? * 10,
        _ => frac.parse::<u64>().ok()?,
    };
    whole.parse::<u64>().ok()?.checked_mul(100)?.checked_add(frac_cents)
}

pub(crate) async fn refund<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Path(raw): Path<String>,
    Supervisor(SignedIn { session: s, clerk }): Supervisor,
    Form(form): Form<RefundForm>,
) -> Page {
    let (ticket, back) = case_form(&s, &form.csrf, &raw)?;
    let lang = s.lang;
    let Some(amount) = parse_amount(&form.amount) else {
        let (title, text) = lang.pick(
            ("Amount not valid", "Write the amount as 12.50."),
            ("Betrag ungültig", "Schreiben Sie den Betrag als 12,50."),
        );
        return Err(message(&s, StatusCode::UNPROCESSABLE_ENTITY, title, text, &back));
    };
    let reference = form.reference.trim();
    if !(3..=140).contains(&reference.chars().count()) {
        let (title, text) = lang.pick(
            ("Reference needed", "Give the outgoing transfer's reference (3 to 140 characters)."),
            (
                "Verwendungszweck nötig",
                "Geben Sie den Verwendungszweck der ausgehenden Überweisung an (3 bis 140 Zeichen).",
            ),
        );
        return Err(message(&s, StatusCode::UNPROCESSABLE_ENTITY, title, text, &back));
    }
    let done =
        o.store.record_refund(&ticket, amount, reference, clerk.id, now_ms()).await.map_err(|e| db_failed(&s, e))?;
    let f = case_frame(&s, &ticket);
    let f = match done {
        Ok(a) => f.with(
            "ok",
            lang.pick(
                format!("Refund of {} recorded; {} still due.", money(amount), money(a.refund_due_cents)),
                format!(
                    "Erstattung von {} erfasst; {} sind noch zu erstatten.",
                    money(amount),
                    money(a.refund_due_cents)
                ),
            ),
        ),
        Err(e) => f.with("error", resolve_reason(&e, lang)),
    };
    case_page(&o, &s, &ticket, f, None).await
}

pub(crate) async fn hearing_form<B: OfficeBackend>(
    State(o): State<Arc<Office<B>>>,
    Path(raw): Path<String>,
    SignedIn { session: s, clerk }: SignedIn,
    Form(form): Form<PurposeForm>,
) -> Page {
    let (ticket, back) = case_form(&s, &form.csrf, &raw)?;
    let purpose = purpose(&s, &form.purpose, &back)?;
    let case = o.store.ledger_case(&ticket).await.map_err(|e| db_failed(&s, e))?;
    let Some(case) = case.filter(|c| c.escalated_at_ms.is_some()) else {
        let (title, text) = s.lang.pick(
            ("Not escalated", "A hearing form is made for escalated cases only. Run the deadline policy first."),
            (
                "Nicht eskaliert",
                "Ein Anhörungsbogen wird nur für eskalierte Fälle erstellt. Führen Sie zuerst die Fristenregel aus.",
            ),
        );
        return Err(message(&s, StatusCode::CONFLICT, title, text, &back));
    };
    let view = documents::clerk_view(&o, &clerk, &ticket, &purpose)
        .await
        .map_err(|e| failed(&s, ("opening the case", "Das Öffnen des Falls"), e))?;
    let body = documents::hearing_form(&o, &case, &view)
        .map_err(|e| failed(&s, ("the hearing form", "Der Anhörungsbogen"), e))?;
    Ok(html(StatusCode::OK, Ok(body), None))
}
