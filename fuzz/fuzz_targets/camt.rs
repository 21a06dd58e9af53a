#![no_main]
//! The bank statement parser (camt.053/camt.054) on arbitrary bytes: never panics, and what it
//! accepts keeps its promises (a report at least, a transaction per entry, keys computable).
use fieldseal_office::camt::{self, EntryStatus};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = camt::parse(data) {
        assert!(!message.reports.is_empty());
        for report in &message.reports {
            let keys = camt::transaction_keys(report);
            for (e, entry) in report.entries.iter().enumerate() {
                assert!(!entry.transactions.is_empty());
                assert!(entry.status != EntryStatus::Booked || entry.booking_date.is_some());
                for (t, tx) in entry.transactions.iter().enumerate() {
                    assert_eq!(camt::transaction_key(report, entry, t, tx), keys[e][t], "single and bulk keys agree");
                }
            }
        }
    }
});
