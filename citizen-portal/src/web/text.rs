//! Every word the citizen pages show, in German and English. A missing translation is a
//! compile error, not a blank on the page.

/// The page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// German (the default).
    #[default]
    De,
    /// English.
    En,
}

impl Lang {
    /// From a `de`/`en` tag.
    pub fn parse(tag: &str) -> Option<Self> {
        match tag {
            "de" => Some(Self::De),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The texts of this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Self::De => &DE,
            Self::En => &EN,
        }
    }

    /// The other language (what the switch offers).
    pub fn other(self) -> Self {
        match self {
            Self::De => Self::En,
            Self::En => Self::De,
        }
    }

    /// Picks from an `Accept-Language` header: English only if it comes before German.
    pub fn from_accept_language(header: &str) -> Self {
        Self::named_first(header).unwrap_or(Self::De)
    }

    /// Which of German and English an `Accept-Language` header names first, if either.
    pub fn named_first(header: &str) -> Option<Self> {
        header.split(',').find_map(|part| {
            let tag = part.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            if tag.starts_with("de") {
                Some(Self::De)
            } else if tag.starts_with("en") {
                Some(Self::En)
            } else {
                None
            }
        })
    }

    /// The `de`/`en` tag (for `<html lang>` and the switch's address).
    pub fn tag(self) -> &'static str {
        match self {
            Self::De => "de",
            Self::En => "en",
        }
    }

    /// `en` in English, `de` in German: for texts written where they are used.
    pub fn pick<T>(self, en: T, de: T) -> T {
        match self {
            Self::De => de,
            Self::En => en,
        }
    }

    /// Why a photo was refused, in this language, keeping the specific detail.
    pub fn photo_reason(self, e: &fieldseal_core::photo::PhotoError) -> String {
        use fieldseal_core::photo::PhotoError as E;
        match self {
            Self::En => e.to_string(),
            Self::De => match e {
                E::Empty => "das Foto ist leer".to_owned(),
                E::FileTooLarge { got, max } => {
                    format!("die Datei hat {got} Bytes, angenommen werden höchstens {max}")
                }
                E::UnsupportedFormat => "das Foto ist kein JPEG- oder PNG-Bild".to_owned(),
                E::TooManyPixels { width, height, max_dimension, max_megapixels } => format!(
                    "das Foto hat {width}x{height} Pixel, erlaubt sind höchstens {max_dimension} Pixel je Seite und {max_megapixels} MP"
                ),
                E::MemoryLimit => "das Foto bräuchte zum Einlesen mehr Speicher als erlaubt".to_owned(),
                E::DimensionsOverLimit { max_dimension } => {
                    format!("das Foto ist breiter oder höher als {max_dimension} Pixel")
                }
                E::Corrupt => "das Foto ist beschädigt oder unvollständig und lässt sich nicht lesen".to_owned(),
                E::Encode => "das Foto ließ sich nicht neu speichern".to_owned(),
            },
        }
    }

    /// Formats cents: `25,00 €` or `€25.00`.
    pub fn money(self, cents: u64) -> String {
        match self {
            Self::De => format!("{},{:02} €", group(cents / 100, '.'), cents % 100),
            Self::En => format!("€{}.{:02}", group(cents / 100, ','), cents % 100),
        }
    }

    /// Formats a date: `01.12.2026` or `1 December 2026`.
    pub fn date(self, d: time::Date) -> String {
        match self {
            Self::De => format!("{:02}.{:02}.{}", d.day(), u8::from(d.month()), d.year()),
            Self::En => format!("{} {} {}", d.day(), d.month(), d.year()),
        }
    }

    /// Formats a local date and time.
    pub fn date_time(self, t: time::OffsetDateTime) -> String {
        let (h, m) = (t.hour(), t.minute());
        match self {
            Self::De => format!("{}, {h:02}:{m:02} Uhr", self.date(t.date())),
            Self::En => format!("{}, {h:02}:{m:02}", self.date(t.date())),
        }
    }
}

fn group(n: u64, sep: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// The texts of one language.
#[allow(missing_docs)]
pub struct Texts {
    pub lang: &'static str,
    pub other_lang_name: &'static str,
    pub switch_language: &'static str,
    pub portal_name: &'static str,
    pub skip: &'static str,
    pub start_title: &'static str,
    pub start_intro: &'static str,
    pub ticket_label: &'static str,
    pub ticket_hint: &'static str,
    pub code_label: &'static str,
    pub code_hint: &'static str,
    pub open_case: &'static str,
    pub login_failed: &'static str,
    pub too_many: &'static str,
    pub session_ended: &'static str,
    pub session_expired: &'static str,
    pub form_expired: &'static str,
    pub public_terminal: &'static str,
    pub notice_genuine_title: &'static str,
    pub notice_genuine_text: &'static str,
    pub notice_pending_title: &'static str,
    pub notice_pending_text: &'static str,
    pub notice_fake_title: &'static str,
    pub notice_fake_text: &'static str,
    pub case_title: &'static str,
    pub ticket_number: &'static str,
    pub offence: &'static str,
    pub legal_basis: &'static str,
    pub time: &'static str,
    pub place: &'static str,
    pub vehicle: &'static str,
    pub amount: &'static str,
    pub total: &'static str,
    pub due: &'static str,
    pub status: &'static str,
    pub status_open: &'static str,
    pub status_paid: &'static str,
    pub status_part_paid: &'static str,
    pub status_overdue: &'static str,
    pub status_escalated: &'static str,
    pub status_withdrawn: &'static str,
    /// `{amount}`: money the authority pays back.
    pub refund_note: &'static str,
    pub outstanding: &'static str,
    pub photos: &'static str,
    pub photo_alt: &'static str,
    pub what_next: &'static str,
    pub pay_online: &'static str,
    pub pay_transfer: &'static str,
    pub receipt: &'static str,
    pub object: &'static str,
    pub end_session: &'static str,
    pub online_unavailable: &'static str,
    pub already_paid: &'static str,
    pub transfer_title: &'static str,
    pub transfer_intro: &'static str,
    pub payee: &'static str,
    pub iban: &'static str,
    pub bic: &'static str,
    pub reference: &'static str,
    pub qr_alt: &'static str,
    pub back_to_case: &'static str,
    pub receipt_title: &'static str,
    pub receipt_none: &'static str,
    pub receipt_issuer: &'static str,
    pub print: &'static str,
    pub paid_on: &'static str,
    pub method: &'static str,
    pub method_online: &'static str,
    pub method_transfer: &'static str,
    pub payment_ref: &'static str,
    pub objection_title: &'static str,
    pub objection_intro: &'static str,
    pub statement_label: &'static str,
    pub statement_hint: &'static str,
    pub photo_label: &'static str,
    pub send_objection: &'static str,
    pub objection_received: &'static str,
    pub objection_already: &'static str,
    pub objection_bad_statement: &'static str,
    pub objection_bad_photo: &'static str,
    /// The reason for an upload that broke off or ran over the limit.
    pub objection_upload_broken: &'static str,
    pub payment_received_title: &'static str,
    pub payment_received_text: &'static str,
    pub payment_pending: &'static str,
    pub payment_cancelled: &'static str,
    pub payment_unknown: &'static str,
    pub unavailable_title: &'static str,
    pub unavailable: &'static str,
    pub not_found_title: &'static str,
    pub not_found: &'static str,
    pub to_start: &'static str,
    pub error_prefix: &'static str,
}

/// Deutsch.
pub static DE: Texts = Texts {
    lang: "de",
    other_lang_name: "English",
    switch_language: "Sprache wechseln",
    portal_name: "Bußgeldportal",
    skip: "Zum Inhalt springen",
    start_title: "Verwarnungsgeld ansehen und bezahlen",
    start_intro: "Geben Sie die Ticket-Nummer und den Zugangscode von Ihrem Hinweiszettel ein.",
    ticket_label: "Ticket-Nummer",
    ticket_hint: "12 Ziffern, zum Beispiel 1234-5678-9012",
    code_label: "Zugangscode",
    code_hint: "12 Zeichen, zum Beispiel ABCD-EFGH-JKMN",
    open_case: "Fall öffnen",
    login_failed: "Ticket-Nummer und Zugangscode passen zu keinem Fall. Bitte prüfen Sie beide Angaben auf Ihrem Hinweiszettel.",
    too_many: "Zu viele Fehlversuche. Bitte warten Sie {n} Minuten und versuchen Sie es dann erneut.",
    session_ended: "Ihre Sitzung ist beendet. Die Falldaten wurden aus diesem Browser entfernt.",
    session_expired: "Ihre Sitzung ist wegen Inaktivität abgelaufen. Bitte geben Sie Ihre Angaben erneut ein.",
    form_expired: "Das Formular war abgelaufen. Bitte versuchen Sie es noch einmal.",
    public_terminal: "An einem öffentlichen Gerät? Beenden Sie die Sitzung, wenn Sie fertig sind.",
    notice_genuine_title: "Dieser Hinweiszettel ist echt",
    notice_genuine_text: "Die Signatur des ausstellenden Geräts ist gültig, und der Fall ist bei uns bekannt.",
    notice_pending_title: "Dieser Fall ist noch nicht bei uns eingegangen",
    notice_pending_text: "Fälle erscheinen hier, sobald das Gerät der Beamtin oder des Beamten sie übermittelt hat, meist am selben Tag. Versuchen Sie es später noch einmal.",
    notice_fake_title: "Achtung: Dieser Hinweiszettel ist nicht echt",
    notice_fake_text: "Die Angaben passen zu keinem von uns ausgestellten Fall. Zahlen Sie nichts an die Bankverbindung auf diesem Zettel und wenden Sie sich an die Bußgeldstelle.",
    case_title: "Ihr Fall",
    ticket_number: "Ticket-Nummer",
    offence: "Tatbestand",
    legal_basis: "Rechtsgrundlage",
    time: "Zeit",
    place: "Ort",
    vehicle: "Fahrzeug",
    amount: "Betrag",
    total: "Gesamtbetrag",
    due: "Zahlbar bis",
    status: "Stand",
    status_open: "Offen",
    status_paid: "Bezahlt",
    status_part_paid: "Teilweise bezahlt",
    status_overdue: "Frist abgelaufen",
    status_escalated: "Bußgeldverfahren eingeleitet",
    status_withdrawn: "Eingestellt",
    refund_note: "{amount} werden Ihnen zurückgezahlt.",
    outstanding: "Noch zu zahlen",
    photos: "Beweisfotos",
    photo_alt: "Beweisfoto {n} von {of}",
    what_next: "Was möchten Sie tun?",
    pay_online: "Online bezahlen (Karte)",
    pay_transfer: "Per Überweisung bezahlen",
    receipt: "Quittung",
    object: "Widerspruch einlegen",
    end_session: "Sitzung beenden",
    online_unavailable: "Online-Zahlung ist gerade nicht möglich. Bitte zahlen Sie per Überweisung.",
    already_paid: "Dieser Fall ist vollständig bezahlt. Vielen Dank.",
    transfer_title: "Per Überweisung bezahlen",
    transfer_intro: "Überweisen Sie den Betrag mit genau dieser Ticket-Nummer als Verwendungszweck. Mit einer Banking-App können Sie den QR-Code scannen.",
    payee: "Empfänger",
    iban: "IBAN",
    bic: "BIC",
    reference: "Verwendungszweck",
    qr_alt: "QR-Code für die Überweisung (GiroCode) mit Empfänger, IBAN, Betrag und Verwendungszweck",
    back_to_case: "Zurück zum Fall",
    receipt_title: "Zahlungsquittung",
    receipt_none: "Für diesen Fall ist noch keine Zahlung eingegangen.",
    receipt_issuer: "Ausgestellt vom Bußgeldportal",
    print: "Drucken oder als PDF speichern",
    paid_on: "Eingegangen am",
    method: "Zahlungsart",
    method_online: "Online (Karte)",
    method_transfer: "Überweisung",
    payment_ref: "Zahlungsreferenz",
    objection_title: "Widerspruch einlegen",
    objection_intro: "Schildern Sie, warum Sie widersprechen. Ihre Angaben werden sofort verschlüsselt und nur in der Bußgeldstelle gelesen.",
    statement_label: "Ihre Begründung",
    statement_hint: "10 bis 5000 Zeichen",
    photo_label: "Foto (freiwillig, JPEG oder PNG, bis 10 MB)",
    send_objection: "Widerspruch absenden",
    objection_received: "Widerspruch eingegangen am {d}. Die Bußgeldstelle prüft ihn und meldet sich bei Ihnen.",
    objection_already: "Zu diesem Fall ist bereits ein Widerspruch eingegangen.",
    objection_bad_statement: "Bitte schreiben Sie eine Begründung mit 10 bis 5000 Zeichen.",
    objection_bad_photo: "Das Foto konnte nicht verwendet werden: {reason}. Wählen Sie ein JPEG- oder PNG-Foto bis 10 MB oder senden Sie ohne Foto.",
    objection_upload_broken: "die Übertragung brach ab oder war zu groß",
    payment_received_title: "Zahlung eingegangen",
    payment_received_text: "Vielen Dank. Wir haben {amount} für Ticket {ticket} erhalten.",
    payment_pending: "Ihre Zahlung wird noch bestätigt. Das dauert meist nur Sekunden; laden Sie die Seite neu.",
    payment_cancelled: "Die Zahlung wurde abgebrochen. Es wurde nichts abgebucht.",
    payment_unknown: "Diese Zahlung ist uns nicht bekannt.",
    unavailable_title: "Gerade nicht erreichbar",
    unavailable: "Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Minuten erneut.",
    not_found_title: "Seite nicht gefunden",
    not_found: "Diese Seite gibt es nicht.",
    to_start: "Zur Startseite",
    error_prefix: "Fehler",
};

/// English.
pub static EN: Texts = Texts {
    lang: "en",
    other_lang_name: "Deutsch",
    switch_language: "Change language",
    portal_name: "Fine portal",
    skip: "Skip to content",
    start_title: "View and pay your fine",
    start_intro: "Enter the ticket number and access code from the notice left on your vehicle.",
    ticket_label: "Ticket number",
    ticket_hint: "12 digits, for example 1234-5678-9012",
    code_label: "Access code",
    code_hint: "12 characters, for example ABCD-EFGH-JKMN",
    open_case: "Open case",
    login_failed: "The ticket number and access code do not match a case. Please check both against your notice.",
    too_many: "Too many failed attempts. Please wait {n} minutes, then try again.",
    session_ended: "Your session has ended. The case data has been removed from this browser.",
    session_expired: "Your session expired because it was inactive. Please enter your details again.",
    form_expired: "The form had expired. Please try again.",
    public_terminal: "On a public computer? End the session when you are done.",
    notice_genuine_title: "This notice is genuine",
    notice_genuine_text: "The issuing device's signature is valid and the case is known to us.",
    notice_pending_title: "This case has not reached us yet",
    notice_pending_text: "Cases appear here once the officer's device has sent them, usually the same day. Please try again later.",
    notice_fake_title: "Warning: this notice is not genuine",
    notice_fake_text: "Its details do not match any case we issued. Do not pay anything to the bank details on it, and contact the fines office.",
    case_title: "Your case",
    ticket_number: "Ticket number",
    offence: "Offence",
    legal_basis: "Legal basis",
    time: "Time",
    place: "Place",
    vehicle: "Vehicle",
    amount: "Amount",
    total: "Total",
    due: "Pay by",
    status: "Status",
    status_open: "Open",
    status_paid: "Paid",
    status_part_paid: "Partly paid",
    status_overdue: "Deadline passed",
    status_escalated: "Fine proceedings started",
    status_withdrawn: "Withdrawn",
    refund_note: "{amount} will be paid back to you.",
    outstanding: "Still to pay",
    photos: "Evidence photos",
    photo_alt: "Evidence photo {n} of {of}",
    what_next: "What would you like to do?",
    pay_online: "Pay online (card)",
    pay_transfer: "Pay by bank transfer",
    receipt: "Receipt",
    object: "Object to this ticket",
    end_session: "End session",
    online_unavailable: "Online payment is not available right now. Please pay by bank transfer.",
    already_paid: "This case is paid in full. Thank you.",
    transfer_title: "Pay by bank transfer",
    transfer_intro: "Transfer the amount with exactly this ticket number as the reference. A banking app can scan the QR code.",
    payee: "Payee",
    iban: "IBAN",
    bic: "BIC",
    reference: "Reference",
    qr_alt: "QR code for the transfer (EPC) with payee, IBAN, amount and reference",
    back_to_case: "Back to your case",
    receipt_title: "Payment receipt",
    receipt_none: "No payment has been received for this case yet.",
    receipt_issuer: "Issued by the fine portal",
    print: "Print or save as PDF",
    paid_on: "Received on",
    method: "Method",
    method_online: "Online (card)",
    method_transfer: "Bank transfer",
    payment_ref: "Payment reference",
    objection_title: "Object to this ticket",
    objection_intro: "Tell us why you object. What you write is encrypted at once and read only in the fines office.",
    statement_label: "Your statement",
    statement_hint: "10 to 5000 characters",
    photo_label: "Photo (optional, JPEG or PNG, up to 10 MB)",
    send_objection: "Send objection",
    objection_received: "Objection received on {d}. The fines office will review it and contact you.",
    objection_already: "An objection to this case has already been received.",
    objection_bad_statement: "Please write a statement of 10 to 5000 characters.",
    objection_bad_photo: "The photo could not be used: {reason}. Choose a JPEG or PNG photo up to 10 MB, or send without a photo.",
    objection_upload_broken: "the upload broke off or was too large",
    payment_received_title: "Payment received",
    payment_received_text: "Thank you. We have received {amount} for ticket {ticket}.",
    payment_pending: "Your payment is still being confirmed. This usually takes seconds; reload the page.",
    payment_cancelled: "The payment was cancelled. Nothing was charged.",
    payment_unknown: "We do not know this payment.",
    unavailable_title: "Not available right now",
    unavailable: "The service is not available right now. Please try again in a few minutes.",
    not_found_title: "Page not found",
    not_found: "This page does not exist.",
    to_start: "To the start page",
    error_prefix: "Error",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_dates_and_language_choice() {
        assert_eq!(Lang::De.money(123_456), "1.234,56 €");
        assert_eq!(Lang::En.money(2_500), "€25.00");
        assert_eq!(Lang::De.money(5), "0,05 €");
        let d = time::Date::from_calendar_date(2026, time::Month::December, 1).expect("date");
        assert_eq!(Lang::De.date(d), "01.12.2026");
        assert_eq!(Lang::En.date(d), "1 December 2026");
        assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9,de;q=0.8"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr-FR, de;q=0.5, en;q=0.4"), Lang::De);
        assert_eq!(Lang::from_accept_language(""), Lang::De);
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("xx"), None);
    }

    #[test]
    fn photo_reasons_read_in_german_with_their_detail() {
        use fieldseal_core::photo::PhotoError as E;
        let all = [
            E::Empty,
            E::FileTooLarge { got: 12_000_001, max: 10_485_760 },
            E::UnsupportedFormat,
            E::TooManyPixels { width: 9000, height: 7000, max_dimension: 8192, max_megapixels: 50 },
            E::MemoryLimit,
            E::DimensionsOverLimit { max_dimension: 8192 },
            E::Corrupt,
            E::Encode,
        ];
        for e in &all {
            let de = Lang::De.photo_reason(e);
            assert!(de.starts_with("d") && !de.contains("photo") && !de.contains(" the "), "{e:?}: {de}");
            assert_eq!(Lang::En.photo_reason(e), e.to_string());
        }
        let de = Lang::De.photo_reason(&all[3]);
        assert!(de.contains("9000x7000") && de.contains("8192") && de.contains("50 MP"), "{de}");
        assert!(Lang::De.photo_reason(&all[1]).contains("12000001"));
        assert!(!DE.objection_upload_broken.contains("upload"));
    }
}
