#![no_main]
//! Parsers of text a citizen or a QR scanner hands in: EPC payloads, ticket numbers, access
//! codes, portal links.
use fieldseal_core::notice::{EpcTransfer, parse_portal_link};
use fieldseal_core::ticket::{AccessCode, TicketNumber};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(t) = EpcTransfer::from_payload(s) {
        if s.lines().nth(1) == Some("002") && s.lines().nth(2) == Some("1") && !s.contains('\r') {
            let _ = t.to_payload();
        }
    }
    if let Ok(t) = TicketNumber::parse(s) {
        assert_eq!(TicketNumber::parse(&t.grouped()).expect("round trip"), t);
    }
    if let Ok(c) = AccessCode::parse(s) {
        assert_eq!(AccessCode::parse(&c.grouped()).expect("round trip"), c);
    }
    let _ = parse_portal_link(s);
});
