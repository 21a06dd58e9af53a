#![no_main]
//! Finding ticket numbers in remittance text (what payers type) on arbitrary text: never panics,
//! and every candidate is a valid ticket number whose digits occur in the input in order.
use fieldseal_office::reference::find_tickets;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split('\u{0}').collect();
    let found = find_tickets(&lines);
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    for c in &found.candidates {
        assert_eq!(fieldseal_core::ticket::TicketNumber::parse(c.ticket.digits()).as_ref(), Ok(&c.ticket));
        let mut rest = digits.chars();
        assert!(c.ticket.digits().chars().all(|d| rest.any(|x| x == d)), "digits come from the input");
    }
    for n in &found.near_misses {
        assert!(n.len() == 12 && n.bytes().all(|b| b.is_ascii_digit()));
    }
});
