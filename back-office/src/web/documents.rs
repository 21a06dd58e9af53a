//! What the back office opens through the enclave (a case, an objection, a payer's details) —
//! always after writing the clerk's purpose to the audit log — and the documents and exports
//! made from it: the hearing form per case, the hearing-form export, the ledger CSV.

use std::fmt::Write as _;

use askama::Template;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fieldseal_core::ticket::TicketNumber;
use fieldseal_core::wire::enclave::CaseView;
use zeroize::Zeroizing;

use super::backend::OfficeBackend;
use super::now_ms;
use super::pages::{money, when};
use super::{Clerk, Office};
use crate::store::{LedgerCase, StoreError, ms_day};

/// Ledger lines asked for at a time (each answer stays well under the store line's message limit).
const LEDGER_PAGE: u32 = 2_000;

/// Why something could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenFailure {
    /// Storage.
    #[error(transparent)]
    Db(#[from] StoreError),
    /// The zone's key did not open it.
    #[error("opening: {0}")]
    Enclave(String),
    /// Data is missing.
    #[error("{0}")]
    Missing(String),
    /// A page did not render.
    #[error("rendering: {0}")]
    Render(#[from] askama::Error),
}

/// Opens a case's full view (photos, notes) for `purpose`, audited first.
pub async fn clerk_view<B: OfficeBackend>(
    o: &Office<B>,
    clerk: &Clerk,
    ticket: &TicketNumber,
    purpose: &str,
) -> Result<CaseView, OpenFailure> {
    if o.store.ledger_case(ticket).await?.is_none() {
        return Err(OpenFailure::Missing(format!("no case {}", ticket.grouped())));
    }
    o.store.audit_access(clerk.id, "case", ticket.digits(), purpose, now_ms()).await?;
    let actor = format!("clerk:{}", clerk.id);
    match o.store.backend.open_case(ticket, purpose, &actor).await {
        Ok(Some(view)) if view.ticket_number == *ticket => Ok(view),
        Ok(Some(_)) => Err(OpenFailure::Enclave("the host sent another ticket's envelope".into())),
        Ok(None) => Err(OpenFailure::Missing(format!("no case {}", ticket.grouped()))),
        Err(e) => Err(OpenFailure::Enclave(e)),
    }
}

/// A case's personal data as the case page shows it.
pub struct Opened {
    /// Plate, country, make, colour.
    pub vehicle: String,
    /// Time of the offence, local.
    pub time: String,
    /// Address as the officer confirmed it.
    pub place: String,
    /// Coordinates and accuracy.
    pub position: String,
    /// Offences with catalogue text.
    pub offences: Vec<String>,
    /// Officer notes.
    pub notes: String,
    /// Photos as `data:` URLs, with alt texts.
    pub photos: Vec<(String, String)>,
}

fn vehicle_line(view: &CaseView) -> String {
    [view.vehicle.plate.as_str(), view.vehicle.nationality.as_str(), &view.vehicle.make, &view.vehicle.colour]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" · ")
}

fn local_time(view: &CaseView) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute] (UTC[offset_hour sign:mandatory]:[offset_minute])"
    );
    view.observed_at.local().format(&format).unwrap_or_default()
}

fn offence_lines<B: OfficeBackend>(o: &Office<B>, view: &CaseView) -> Vec<String> {
    view.offences
        .iter()
        .map(|off| match o.store.backend.offence(&off.code) {
            Some(e) => format!("{} — {} ({}) — {}", off.code, e.title_de, e.legal_basis, money(off.amount_cents)),
            None => format!("{} — {}", off.code, money(off.amount_cents)),
        })
        .collect()
}

impl Opened {
    /// The page form of a released case, its labels in `lang`.
    pub fn of<B: OfficeBackend>(o: &Office<B>, view: &CaseView, lang: fieldseal_portal::web::text::Lang) -> Self {
        let count = view.photos.len();
        Self {
            vehicle: vehicle_line(view),
            time: local_time(view),
            place: view.place.address.clone(),
            position: format!("{:.5}, {:.5} (± {:.0} m)", view.place.lat, view.place.lon, view.place.accuracy_m),
            offences: offence_lines(o, view),
            notes: view.notes.clone().unwrap_or_default(),
            photos: view
                .photos
                .iter()
                .enumerate()
                .map(|(i, jpeg)| {
                    (
                        format!("data:image/jpeg;base64,{}", STANDARD.encode(jpeg.as_slice())),
                        lang.pick(
                            format!("Evidence photo {} of {count}", i + 1),
                            format!("Beweisfoto {} von {count}", i + 1),
                        ),
                    )
                })
                .collect(),
        }
    }
}

/// Opens a case's objection (statement and photo) for `purpose`, audited first. `None` when the
/// case has no objection.
pub async fn objection<B: OfficeBackend>(
    o: &Office<B>,
    clerk: &Clerk,
    ticket: &TicketNumber,
    purpose: &str,
) -> Result<Option<(Zeroizing<String>, Option<Zeroizing<Vec<u8>>>)>, OpenFailure> {
    let Some(sealed) = o.store.objection(ticket).await? else { return Ok(None) };
    o.store.audit_access(clerk.id, "objection", ticket.digits(), purpose, now_ms()).await?;
    let opened = o
        .store
        .backend
        .open_objection(ticket, sealed, purpose, &format!("clerk:{}", clerk.id))
        .await
        .map_err(OpenFailure::Enclave)?;
    Ok(Some(opened))
}

/// A bank entry's payer details, as the exceptions page shows them.
pub struct Details {
    /// Payer's name.
    pub payer: String,
    /// Payer's account.
    pub account: String,
    /// Remittance lines.
    pub remittance: Vec<String>,
    /// Bank references.
    pub references: Vec<String>,
}

/// Opens a bank entry's sealed payer details for `purpose`, audited first.
pub async fn bank_details<B: OfficeBackend>(
    o: &Office<B>,
    clerk: &Clerk,
    entry_id: i64,
    purpose: &str,
) -> Result<Option<Details>, OpenFailure> {
    let Some(entry) = o.store.bank_entry(entry_id).await? else { return Ok(None) };
    o.store.audit_access(clerk.id, "bank details", &format!("entry:{entry_id}"), purpose, now_ms()).await?;
    let d = o
        .store
        .backend
        .open_bank_details(&entry.entry_key, entry.sealed_details, purpose, &format!("clerk:{}", clerk.id))
        .map_err(OpenFailure::Enclave)?;
    Ok(Some(Details {
        payer: d.payer_name.clone().unwrap_or_default(),
        account: d.payer_account.clone().unwrap_or_default(),
        remittance: d.remittance.clone(),
        references: d.references.iter().map(|(k, v)| format!("{k}: {v}")).collect(),
    }))
}

#[derive(Template)]
#[template(path = "office/hearing_form.html")]
struct HearingForm {
    authority: String,
    ticket: String,
    vehicle: String,
    plate: String,
    time: String,
    place: String,
    offences: Vec<String>,
    amount: String,
    due_date: String,
    escalated: String,
    paid: String,
    refund: String,
    photos: Vec<(String, String)>,
    today: String,
}

/// The hearing form (*Anhörungsbogen*) for an escalated case, as a printable page. The holder's
/// address comes from the vehicle register, which is not part of this system.
pub fn hearing_form<B: OfficeBackend>(
    o: &Office<B>,
    case: &LedgerCase,
    view: &CaseView,
) -> Result<String, OpenFailure> {
    // The hearing form is a German document.
    let opened = Opened::of(o, view, fieldseal_portal::web::text::Lang::De);
    let form = HearingForm {
        authority: o.store.backend.authority_name().to_owned(),
        ticket: case.ticket.grouped(),
        vehicle: opened.vehicle,
        plate: view.vehicle.plate.as_str().to_owned(),
        time: opened.time,
        place: opened.place,
        offences: opened.offences,
        amount: money(case.total_cents),
        due_date: case.due_date.to_string(),
        escalated: case.escalated_at_ms.map(when).unwrap_or_default(),
        paid: money(case.paid_cents),
        refund: money(case.refund_due_cents),
        photos: opened.photos,
        today: time::OffsetDateTime::now_utc().date().to_string(),
    };
    Ok(form.render()?)
}

/// One CSV field: quoted when needed, and a leading `=`, `+`, `-`, `@` defused so a
/// spreadsheet does not run it as a formula.
pub fn csv_field(raw: &str) -> String {
    let mut s = String::with_capacity(raw.len() + 2);
    let number = raw.strip_prefix('-').is_some_and(|n| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && n.bytes().filter(|b| *b == b'.').count() <= 1
    });
    if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) && !number {
        s.push('\'');
    }
    s.push_str(raw);
    if s.contains([',', '"', '\n', '\r', ';']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

fn csv_line(out: &mut String, fields: &[&str]) {
    let line = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    out.push_str(&line);
    out.push_str("\r\n");
}

/// The ledger for accounting: every payment and refund, oldest first. No personal data.
pub async fn ledger_csv<B: OfficeBackend>(o: &Office<B>, clerk: &Clerk) -> Result<String, StoreError> {
    let mut out = String::new();
    csv_line(
        &mut out,
        &[
            "kind",
            "ticket",
            "amount_cents",
            "amount_eur",
            "method",
            "account_or_provider",
            "reference",
            "booked_on",
            "recorded_at_utc",
            "clerk",
        ],
    );
    for refunds in [false, true] {
        let mut after = 0;
        loop {
            let page = o.store.ledger_page(refunds, after, LEDGER_PAGE).await?;
            let Some(last) = page.last() else { break };
            // Each page starts past the last: a host answering the same page again ends here.
            if last.id <= after || page.iter().any(|l| l.id <= after) {
                return Err(StoreError::Internal("the host's ledger pages do not move on".into()));
            }
            after = last.id;
            for l in &page {
                let cents = l.amount_cents.to_string();
                let eur = format!(
                    "{}{}.{:02}",
                    if l.amount_cents < 0 { "-" } else { "" },
                    l.amount_cents.unsigned_abs() / 100,
                    l.amount_cents.unsigned_abs() % 100
                );
                let booked = ms_day(l.booked_at_ms).to_string();
                let recorded = when(l.recorded_at_ms);
                let clerk = l.clerk.map(|c| c.to_string()).unwrap_or_default();
                csv_line(
                    &mut out,
                    &[
                        &l.kind,
                        &l.ticket,
                        &cents,
                        &eur,
                        &l.method,
                        &l.provider,
                        &l.reference,
                        &booked,
                        &recorded,
                        &clerk,
                    ],
                );
            }
        }
    }
    o.store.audit_export(clerk.id, "ledger.csv", now_ms()).await?;
    Ok(out)
}

/// The hearing-form export: every escalated case's data for the letters to vehicle holders,
/// opened through the enclave one case at a time (each opening audited).
pub async fn hearing_forms_csv<B: OfficeBackend>(
    o: &Office<B>,
    clerk: &Clerk,
    purpose: &str,
) -> Result<String, OpenFailure> {
    let mut out = String::new();
    csv_line(
        &mut out,
        &[
            "ticket",
            "plate",
            "country",
            "make",
            "colour",
            "offence_time",
            "place",
            "latitude",
            "longitude",
            "offences",
            "amount_eur",
            "due_date",
            "escalated_at_utc",
        ],
    );
    let mut offset = 0;
    loop {
        let cases = o.store.cases_by_status(Some(crate::policy::Status::Escalated), None, 500, offset).await?;
        if cases.is_empty() {
            break;
        }
        offset += 500;
        for case in &cases {
            let view = clerk_view(o, clerk, &case.ticket, purpose).await?;
            let mut lat = String::new();
            let mut lon = String::new();
            let _ = write!(lat, "{:.6}", view.place.lat);
            let _ = write!(lon, "{:.6}", view.place.lon);
            csv_line(
                &mut out,
                &[
                    &case.ticket.grouped(),
                    view.vehicle.plate.as_str(),
                    view.vehicle.nationality.as_str(),
                    &view.vehicle.make,
                    &view.vehicle.colour,
                    &local_time(&view),
                    &view.place.address,
                    &lat,
                    &lon,
                    &offence_lines(o, &view).join("; "),
                    &format!("{}.{:02}", case.total_cents / 100, case.total_cents % 100),
                    &case.due_date.to_string(),
                    &case.escalated_at_ms.map(when).unwrap_or_default(),
                ],
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-12.50"), "-12.50", "a negative amount stays a number");
        assert_eq!(csv_field("-1+1"), "'-1+1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
    }
}
