//! A transfer whose bank key was booked before: the same transfer again (nothing to do), or
//! another transfer under a reused reference (never dropped: it goes to the exceptions queue).
//!
//! Banks do reuse references: two real PostFinance statements carry the same reference on the
//! same account for 778.29 one day and 522.10 two years later. Counting the second as "imported
//! before" would lose a payment and escalate a citizen who paid.

use sha2::{Digest as _, Sha256};
use time::Date;

/// What the ledger knows of a booked transfer, or learns of a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking<'a> {
    /// Amount in cents.
    pub amount_cents: u64,
    /// ISO 4217 currency.
    pub currency: &'a str,
    /// The day the bank booked it.
    pub booking_date: Date,
}

/// The decision for a transfer whose key is in the ledger already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebooking {
    /// Amount, currency and date agree: the same transfer, imported again. Nothing to do.
    Same,
    /// Another transfer under the same bank reference, or a bank error: book it under `key`
    /// (its own, so importing it again is a no-op too) into the exceptions queue with `note`.
    Other { key: String, note: String },
}

/// Compares a transfer with the one first booked under the same `key`. The payer is not
/// compared: it is sealed to the zone, and amount, currency and date already tell transfers
/// apart in every case seen.
pub fn compare(key: &str, first: &Booking<'_>, again: &Booking<'_>) -> Rebooking {
    if first == again {
        return Rebooking::Same;
    }
    let mut hash = Sha256::new();
    hash.update(b"fieldseal reused bank reference v1\0");
    hash.update(again.amount_cents.to_be_bytes());
    hash.update((again.currency.len() as u64).to_be_bytes());
    hash.update(again.currency.as_bytes());
    hash.update(again.booking_date.to_string().as_bytes());
    let digest = hash.finalize();
    let note = format!(
        "the bank used this reference before for another transfer ({} {} booked {}): a different payment or a bank error; check it with the bank before booking it",
        cents(first.amount_cents),
        first.currency,
        first.booking_date
    );
    Rebooking::Other { key: format!("{key}|other:{}", hex::encode(&digest[..16])), note }
}

fn cents(amount: u64) -> String {
    format!("{}.{:02}", amount / 100, amount % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn booking(amount_cents: u64, currency: &str, booking_date: Date) -> Booking<'_> {
        Booking { amount_cents, currency, booking_date }
    }

    #[test]
    fn the_same_transfer_again_is_the_same() {
        let first = booking(77829, "CHF", date!(2017 - 03 - 01));
        assert_eq!(compare("acct:X|asr:R1", &first, &first.clone()), Rebooking::Same);
    }

    #[test]
    fn a_reused_reference_is_another_transfer_with_a_stable_key_of_its_own() {
        let first = booking(77829, "CHF", date!(2017 - 03 - 01));
        let later = booking(52210, "CHF", date!(2019 - 05 - 14));
        let Rebooking::Other { key, note } = compare("acct:X|asr:R1", &first, &later) else { panic!("not the same") };
        assert!(key.starts_with("acct:X|asr:R1|other:"), "{key}");
        assert!(note.contains("778.29 CHF booked 2017-03-01"), "{note}");
        // Importing the later transfer again gives the same key, so it counts once.
        assert_eq!(compare("acct:X|asr:R1", &first, &later), Rebooking::Other { key, note });
        // Each field alone makes another transfer, each with its own key.
        let keys: Vec<String> = [
            booking(52210, "CHF", date!(2017 - 03 - 01)),
            booking(77829, "EUR", date!(2017 - 03 - 01)),
            booking(77829, "CHF", date!(2017 - 03 - 02)),
        ]
        .iter()
        .map(|b| match compare("k", &first, b) {
            Rebooking::Other { key, .. } => key,
            Rebooking::Same => panic!("{b:?} is another transfer"),
        })
        .collect();
        assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2], "{keys:?}");
    }
}
