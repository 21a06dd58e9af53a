//! The refusals of [`CamtError`] in German, with the same detail as the English `Display`, for
//! clerks who work in German.

use super::*;

impl CamtError {
    /// Why the file was refused, in German (what `Display` says in English).
    pub fn german(&self) -> String {
        match self {
            CamtError::TooLarge { size, limit } => format!(
                "die Datei hat {size} Bytes, mehr als die angenommenen {limit} Bytes: exportieren Sie einen kürzeren Zeitraum"
            ),
            CamtError::NotXml { what } => format!(
                "die Datei ist kein XML (Meldung des XML-Lesers: {what}): laden Sie die camt.053- oder camt.054-XML-Datei \
                 hoch, die Ihr Online-Banking exportiert"
            ),
            CamtError::NotUtf8 { offset } => format!(
                "die Datei ist kein UTF-8-Text (Byte {offset} ist kein gültiges UTF-8): ISO-20022-Nachrichten sind UTF-8, \
                 laden Sie die Datei so hoch, wie sie exportiert wurde, ohne sie umzuwandeln"
            ),
            CamtError::Doctype => "die Datei enthält eine Dokumenttyp-Deklaration (<!DOCTYPE>), die Kontoauszüge nie \
                                   haben; abgelehnt"
                .to_owned(),
            CamtError::TooManyNodes { limit } => {
                format!("die Datei hat mehr als {limit} XML-Knoten: exportieren Sie einen kürzeren Zeitraum")
            }
            CamtError::Unsupported { found } => format!(
                "diese Datei ist {}; angenommen werden camt.053-Kontoauszüge und camt.054-Soll-/Haben-Avise, Versionen \
                 001.02 bis 001.13: exportieren Sie den Auszug als camt.053 aus Ihrem Online-Banking",
                found.german()
            ),
            CamtError::NewerVersion { found } => format!(
                "diese Datei ist {found}, eine neuere Version als die hier gelesenen 001.02 bis 001.13: fordern Sie den \
                 Auszug bei der Bank als camt.053.001.08 an (alle Banken bieten ihn an), oder bitten Sie die \
                 Administration, fieldseal zu aktualisieren"
            ),
            CamtError::Invalid { at, problem } => format!("{}: {}", at.german(), problem.german()),
        }
    }
}

impl Found {
    /// What the file is, in German.
    pub fn german(&self) -> String {
        match self {
            Found::NoNamespace { root } => {
                format!("ein XML-Dokument ohne Namensraum (Wurzelelement {})", root.german())
            }
            Found::NotIso { root, namespace } => format!(
                "keine ISO-20022-Nachricht (Wurzelelement {} im Namensraum {})",
                root.german(),
                namespace.german()
            ),
            Found::WrongRoot { message, root } => format!(
                "eine ISO-20022-Datei vom Typ {} mit dem Wurzelelement {}, nicht <Document>",
                message.german(),
                root.german()
            ),
            Found::OtherVersion(m) => format!("{}, eine hier nicht gelesene Version von camt.053/camt.054", m.german()),
            Found::Intraday(m) => format!("ein camt.052-Umsatzbericht untertags ({}), kein Kontoauszug", m.german()),
            Found::Payment(m) => format!("ein Zahlungsauftrag ({}), kein Kontoauszug", m.german()),
            Found::Other(m) => format!("eine ISO-20022-Nachricht vom Typ {}, kein Kontoauszug", m.german()),
        }
    }
}

impl Shown {
    /// The text quoted, or in German how long it is.
    pub fn german(&self) -> String {
        match self {
            Shown::Quoted(text) => format!("\"{text}\""),
            Shown::Hidden(count) => format!("(Text mit {count} Zeichen, nicht angezeigt)"),
        }
    }
}

impl Place {
    /// Where, in German.
    pub fn german(&self) -> String {
        match self {
            Place::Message => "Nachricht".to_owned(),
            Place::GroupHeader => "Nachrichtenkopf".to_owned(),
            Place::Report { kind, number, id, entry, transaction } => {
                let mut out = match kind {
                    MessageKind::Statement => format!("Auszug {number}"),
                    MessageKind::Notification => format!("Avis {number}"),
                };
                if let Some(id) = id {
                    out.push_str(&format!(" (ID {})", id.german()));
                }
                if let Some(entry) = entry {
                    out.push_str(&format!(", Buchung {entry}"));
                }
                if let Some(tx) = transaction {
                    out.push_str(&format!(", Transaktion {tx}"));
                }
                out
            }
        }
    }
}

/// What was expected, in German.
fn expected_german(expected: &str) -> &str {
    match expected {
        read::DATE => "ISO-Datum (JJJJ-MM-TT)",
        read::DATE_TIME => "ISO-Datum mit Uhrzeit (JJJJ-MM-TTThh:mm:ss)",
        "sequence number" => "laufende Nummer",
        "boolean (true or false)" => "Wahrheitswert (true oder false)",
        other => other,
    }
}

impl Problem {
    /// What is wrong, in German.
    pub fn german(&self) -> String {
        match self {
            Problem::Missing(e) => format!("<{e}> fehlt"),
            Problem::WrongNamespace(e) => {
                format!("<{e}> fehlt (es gibt eines in einem anderen XML-Namensraum als dem der Nachricht)")
            }
            Problem::Repeated(e) => format!("<{e}> kommt mehr als einmal vor"),
            Problem::Empty(e) => format!("<{e}> ist leer"),
            Problem::NotText(e) => format!("<{e}> enthält Elemente, wo Text erwartet wird"),
            Problem::Amount { element, text, reason } => {
                format!("<{element}> {} ist kein Dezimalbetrag: {}", text.german(), reason.german())
            }
            Problem::NoCurrency(e) => format!("<{e}> hat kein Ccy-Attribut, das die Währung nennt"),
            Problem::Currency { element, text } => {
                format!("<{element}> Währung {} ist kein ISO-4217-Code aus drei Großbuchstaben", text.german())
            }
            Problem::Format { element, text, expected } => {
                format!("<{element}> {} ist kein gültiges {}", text.german(), expected_german(expected))
            }
            Problem::Code { element, text, expected } => {
                format!("<{element}> {} ist keiner von {expected}", text.german())
            }
            Problem::NoBookingDate => "die Buchung ist gebucht, hat aber kein <BookgDt> (Buchungsdatum)".to_owned(),
            Problem::TransactionAmountsMissing { missing, total } => format!(
                "{missing} der {total} <TxDtls> tragen keinen Betrag; enthält eine Buchung mehrere Transaktionen, muss \
                 jede ihren eigenen tragen"
            ),
            Problem::TransactionAmountsDiffer { sum, entry } => format!(
                "die Beträge der <TxDtls> ergeben {sum}, der Betrag der Buchung ist aber {entry}: fordern Sie bei der \
                 Bank eine berichtigte Datei an"
            ),
            Problem::NoReports(e) => format!("es gibt kein <{e}>"),
        }
    }
}

impl AmountError {
    /// Why the amount was refused, in German.
    pub fn german(&self) -> String {
        match self {
            AmountError::Empty => "er ist leer".to_owned(),
            AmountError::Comma => "ISO-20022-Beträge haben einen Punkt als Dezimaltrennzeichen, kein Komma".to_owned(),
            AmountError::Sign => "Beträge tragen kein Vorzeichen, die Richtung steht in <CdtDbtInd>".to_owned(),
            AmountError::Exponent => "Exponentenschreibweise ist nicht erlaubt".to_owned(),
            AmountError::Syntax => "erlaubt sind nur Ziffern mit einem optionalen Dezimalpunkt".to_owned(),
            AmountError::TooManyDecimals { currency, max } => format!("{currency} hat {max} Nachkommastellen"),
            AmountError::Overflow => "er ist zu groß".to_owned(),
        }
    }
}

#[cfg(test)]
mod german_tests {
    use super::*;

    #[test]
    fn refusals_read_in_german_with_their_detail() {
        let e = parse(b"hello").expect_err("not XML");
        assert!(e.german().starts_with("die Datei ist kein XML"), "{}", e.german());
        let e = parse(br#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>"#).expect_err("pain");
        assert!(e.german().contains("Zahlungsauftrag (\"pain.001.001.03\")"), "{}", e.german());
        assert!(e.to_string().contains("payment initiation message (\"pain.001.001.03\")"), "{e}");
        assert_eq!(Shown::Hidden(16).german(), "(Text mit 16 Zeichen, nicht angezeigt)");
        let place =
            Place::Report { kind: MessageKind::Statement, number: 1, id: None, entry: Some(2), transaction: None };
        let e = CamtError::Invalid { at: Box::new(place), problem: Box::new(Problem::Missing("Amt")) };
        assert_eq!(e.german(), "Auszug 1, Buchung 2: <Amt> fehlt");
        assert_eq!(e.to_string(), "statement 1, entry 2: <Amt> is missing");
    }
}
