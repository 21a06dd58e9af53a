use super::*;
use proptest::prelude::*;

fn sample_requests() -> Vec<Request> {
    vec![
        Request::Health,
        Request::OpenIndex { device_key: VerifyingKey([7; 32]), envelope: vec![1, 2, 3] },
        Request::ClerkView {
            device_key: VerifyingKey([9; 32]),
            envelope: vec![4; 10],
            purpose: "objection review".into(),
            actor: "clerk-17".into(),
            blobs: vec![vec![2; 3]],
        },
        Request::ClerkObjection {
            ticket: TicketNumber::issue(42, 7).expect("valid ticket"),
            sealed: vec![5; 90],
            purpose: "objection 2026-114 review".into(),
            actor: "clerk-17".into(),
        },
        Request::ClerkBankDetails {
            entry_key: "2026-11-30/STMT-0042/7".into(),
            sealed: vec![6; 85],
            purpose: "unmatched payment, find the payer".into(),
            actor: "clerk-17".into(),
        },
    ]
}

fn sample_details() -> BankDetails {
    BankDetails {
        payer_name: Some("Erika Mustermann".into()),
        payer_account: Some("DE02120300000000202051".into()),
        remittance: vec!["Verwarnung 0042 0000 0990".into()],
        references: vec![("EndToEndId".into(), "E2E-4711".into())],
    }
}

#[test]
fn requests_round_trip() {
    for req in sample_requests() {
        let bytes = req.to_payload();
        let back = Request::from_payload(&bytes).expect("parses");
        assert_eq!(back.to_payload(), bytes, "{req:?}");
    }
}

#[test]
fn pinned_request_bytes() {
    let req = Request::OpenIndex { device_key: VerifyingKey([0xAA; 32]), envelope: vec![0x01, 0x02] };
    insta::assert_snapshot!(crate::seal::hex_lower(&req.to_payload()));
    let err = Response::Error(EnclaveError::new(ErrorCode::AccessDenied, "wrong access code"));
    insta::assert_snapshot!(crate::seal::hex_lower(&err.to_payload()));
}

#[test]
fn pinned_clerk_request_and_reply_bytes() {
    let objection = Request::ClerkObjection {
        ticket: TicketNumber::issue(42, 7).expect("valid ticket"),
        sealed: vec![0xAB, 0xCD],
        purpose: "review 114".into(),
        actor: "c1".into(),
    };
    insta::assert_snapshot!("clerk_objection_request", crate::seal::hex_lower(&objection.to_payload()));
    let details = Request::ClerkBankDetails {
        entry_key: "E/1".into(),
        sealed: vec![0xEF],
        purpose: "find payer".into(),
        actor: "c1".into(),
    };
    insta::assert_snapshot!("clerk_bank_details_request", crate::seal::hex_lower(&details.to_payload()));
    let reply = Response::Objection { statement: Zeroizing::new("Ich war es nicht.".into()), photo: None };
    insta::assert_snapshot!("objection_reply", crate::seal::hex_lower(&reply.to_payload()));
    let reply = Response::BankDetails(BankDetails {
        payer_name: Some("E M".into()),
        payer_account: None,
        remittance: vec!["0042".into()],
        references: vec![],
    });
    insta::assert_snapshot!("bank_details_reply", crate::seal::hex_lower(&reply.to_payload()));
}

#[test]
fn clerk_requests_carry_their_fields() {
    let sample = sample_requests();
    for req in sample.iter().filter(|r| matches!(r, Request::ClerkObjection { .. } | Request::ClerkBankDetails { .. }))
    {
        match (req, Request::from_payload(&req.to_payload()).expect("parses")) {
            (
                Request::ClerkObjection { ticket, sealed, purpose, actor },
                Request::ClerkObjection { ticket: t, sealed: s, purpose: p, actor: a },
            ) => assert_eq!((ticket, sealed, purpose, actor), (&t, &s, &p, &a)),
            (
                Request::ClerkBankDetails { entry_key, sealed, purpose, actor },
                Request::ClerkBankDetails { entry_key: k, sealed: s, purpose: p, actor: a },
            ) => assert_eq!((entry_key, sealed, purpose, actor), (&k, &s, &p, &a)),
            (want, got) => panic!("{want:?} came back as {got:?}"),
        }
    }
}

#[test]
fn clerk_replies_round_trip() {
    for photo in [None, Some(vec![]), Some(vec![0xFF, 0xD8, 1, 2])] {
        let reply = Response::Objection {
            statement: Zeroizing::new("Ich war zu der Zeit nicht dort, äöü.".into()),
            photo: photo.clone().map(Zeroizing::new),
        };
        let bytes = reply.to_payload();
        let Response::Objection { statement, photo: back } = Response::from_payload(&bytes).expect("parses") else {
            panic!("expected an objection")
        };
        assert_eq!(statement.as_str(), "Ich war zu der Zeit nicht dort, äöü.");
        assert_eq!(back.map(|p| p.to_vec()), photo);
    }
    for details in [sample_details(), BankDetails::default()] {
        let bytes = Response::BankDetails(details.clone()).to_payload();
        let Response::BankDetails(back) = Response::from_payload(&bytes).expect("parses") else {
            panic!("expected bank details")
        };
        assert_eq!(back, details);
    }
}

#[test]
fn clerk_messages_print_no_content() {
    let shown = format!("{:?}", sample_requests());
    for text in ["objection 2026-114", "find the payer", "clerk-17", "STMT-0042"] {
        assert!(!shown.contains(text), "{shown}");
    }
    let objection = Response::Objection {
        statement: Zeroizing::new("Erika was not driving".into()),
        photo: Some(Zeroizing::new(vec![1, 2, 3])),
    };
    let shown = format!("{objection:?} {:?}", Response::BankDetails(sample_details()));
    for text in ["Erika", "driving", "DE02", "Verwarnung", "E2E-4711"] {
        assert!(!shown.contains(text), "{shown}");
    }
}

#[test]
fn malformed_clerk_messages_are_refused() {
    let ticket = TicketNumber::issue(42, 7).expect("valid ticket");
    let digits = ticket.digits().as_bytes();
    let ok = encode(CLERK_OBJECTION, &[digits, &[1; 90], b"a purpose", b"c1"]);
    assert!(matches!(Request::from_payload(&ok), Ok(Request::ClerkObjection { .. })));
    let mut bad_check = digits.to_vec();
    bad_check[11] = if bad_check[11] == b'0' { b'1' } else { b'0' };
    let grouped = ticket.grouped();
    for bad in [&bad_check[..], &digits[..11], grouped.as_bytes(), b"00420000007x", b""] {
        let payload = encode(CLERK_OBJECTION, &[bad, &[1; 90], b"a purpose", b"c1"]);
        assert!(
            matches!(Request::from_payload(&payload), Err(ProtocolError::Invalid(m)) if m.starts_with("ticket")),
            "{bad:?}"
        );
    }
    let long = vec![b'x'; MAX_TEXT_BYTES + 1];
    for (kind, first) in [(CLERK_OBJECTION, digits), (CLERK_BANK_DETAILS, &b"E/1"[..])] {
        let wrong_count = encode(kind, &[first, &[1; 90], b"a purpose"]);
        assert_eq!(Request::from_payload(&wrong_count).err(), Some(ProtocolError::Invalid("wrong number of fields")));
        let extra = encode(kind, &[first, &[1; 90], b"a purpose", b"c1", b"blob"]);
        assert_eq!(Request::from_payload(&extra).err(), Some(ProtocolError::Invalid("wrong number of fields")));
        let purpose = encode(kind, &[first, &[1; 90], &long, b"c1"]);
        assert_eq!(Request::from_payload(&purpose).err(), Some(ProtocolError::Invalid("purpose is not short UTF-8")));
        let actor = encode(kind, &[first, &[1; 90], b"a purpose", &[0xC3]]);
        assert_eq!(Request::from_payload(&actor).err(), Some(ProtocolError::Invalid("actor is not short UTF-8")));
    }
    let key = encode(CLERK_BANK_DETAILS, &[&long, &[1; 90], b"a purpose", b"c1"]);
    assert_eq!(Request::from_payload(&key).err(), Some(ProtocolError::Invalid("bank entry key is not short UTF-8")));

    let two_photos = encode(OBJECTION_REPLY, &[b"a statement", &[1], &[2]]);
    assert_eq!(Response::from_payload(&two_photos).err(), Some(ProtocolError::Invalid("wrong number of fields")));
    let none = encode(OBJECTION_REPLY, &[]);
    assert_eq!(Response::from_payload(&none).err(), Some(ProtocolError::Invalid("wrong number of fields")));
    let not_utf8 = encode(OBJECTION_REPLY, &[&[0xFF, 0xFE]]);
    assert!(matches!(Response::from_payload(&not_utf8), Err(ProtocolError::Invalid(_))));
    let too_long = encode(OBJECTION_REPLY, &[&vec![b'x'; MAX_STATEMENT_BYTES + 1]]);
    assert!(matches!(Response::from_payload(&too_long), Err(ProtocolError::Invalid(_))));
    let body = sample_details().to_body().expect("fits");
    let mut trailing = body.to_vec();
    trailing.push(0);
    for bad in [&body[..body.len() - 1], &trailing[..], &[][..], &[8, 0, 0, 0, 0, 0, 0, 0, 0][..]] {
        let payload = encode(BANK_DETAILS_REPLY, &[bad]);
        assert!(matches!(Response::from_payload(&payload), Err(ProtocolError::Invalid(_))), "{bad:?}");
    }
    let huge = encode(BANK_DETAILS_REPLY, &[&vec![0; MAX_SEALED_DETAILS + 1]]);
    assert_eq!(Response::from_payload(&huge).err(), Some(ProtocolError::Invalid("bank details are too large")));
    let two = encode(BANK_DETAILS_REPLY, &[&body, &body]);
    assert_eq!(Response::from_payload(&two).err(), Some(ProtocolError::Invalid("wrong number of fields")));
    // Reply kinds are not requests and request kinds are not replies.
    assert_eq!(Request::from_payload(&encode(OBJECTION_REPLY, &[b"x"])).err(), Some(ProtocolError::UnknownKind(0x84)));
    assert_eq!(Response::from_payload(&ok).err(), Some(ProtocolError::UnknownKind(0x05)));
}

#[test]
fn oversize_statements_are_not_answered() {
    let huge = Response::Objection { statement: Zeroizing::new("ä".repeat(MAX_STATEMENT_CHARS * 2 + 1)), photo: None };
    let back = Response::from_payload(&huge.to_payload()).expect("parses");
    assert!(matches!(back, Response::Error(e) if e.code == ErrorCode::TooLarge));
    let longest = "😀".repeat(MAX_STATEMENT_CHARS);
    let reply = Response::Objection { statement: Zeroizing::new(longest.clone()), photo: None };
    let back = Response::from_payload(&reply.to_payload()).expect("parses");
    assert!(matches!(back, Response::Objection { statement, .. } if *statement == longest));
}

#[test]
fn oversize_bank_details_are_not_answered() {
    let huge = BankDetails {
        payer_name: None,
        payer_account: None,
        remittance: vec!["x".repeat(MAX_SEALED_DETAILS)],
        references: vec![],
    };
    let back = Response::from_payload(&Response::BankDetails(huge).to_payload()).expect("parses");
    assert!(matches!(back, Response::Error(e) if e.code == ErrorCode::TooLarge));
}

#[test]
fn error_responses_round_trip() {
    let err = Response::Error(EnclaveError::new(ErrorCode::BadSignature, "device signature does not verify"));
    let back = Response::from_payload(&err.to_payload()).expect("parses");
    assert!(matches!(back, Response::Error(e) if e.code == ErrorCode::BadSignature));
}

#[test]
fn malformed_payloads_are_refused_with_a_reason() {
    let good = Request::OpenIndex { device_key: VerifyingKey([1; 32]), envelope: vec![5; 8] }.to_payload();
    assert_eq!(Request::from_payload(&[]).err(), Some(ProtocolError::Truncated));
    let mut v2 = good.clone();
    v2[0] = 2;
    assert_eq!(Request::from_payload(&v2).err(), Some(ProtocolError::UnsupportedVersion(2)));
    let mut kind = good.clone();
    kind[1] = 0x42;
    assert_eq!(Request::from_payload(&kind).err(), Some(ProtocolError::UnknownKind(0x42)));
    let mut count = good.clone();
    count[2] = 1;
    assert_eq!(Request::from_payload(&count).err(), Some(ProtocolError::TrailingBytes(good.len() - 3 - 4 - 32)));
    let mut many = good.clone();
    many[2] = 200;
    assert_eq!(Request::from_payload(&many).err(), Some(ProtocolError::Invalid("too many fields")));
    assert_eq!(Request::from_payload(&good[..good.len() - 1]).err(), Some(ProtocolError::Truncated));
    let mut extra = good.clone();
    extra.push(0);
    assert_eq!(Request::from_payload(&extra).err(), Some(ProtocolError::TrailingBytes(1)));
    let short_key = encode(OPEN_INDEX, &[&[1; 31], &[2; 3]]);
    assert_eq!(Request::from_payload(&short_key).err(), Some(ProtocolError::Invalid("device key is not 32 bytes")));
    let missing = encode(OPEN_INDEX, &[&[1; 32]]);
    assert_eq!(Request::from_payload(&missing).err(), Some(ProtocolError::Invalid("wrong number of fields")));
    let bad_purpose = encode(CLERK_VIEW, &[&[1; 32], &[2], &[0xff, 0xfe], b"clerk-1"]);
    assert!(matches!(Request::from_payload(&bad_purpose), Err(ProtocolError::Invalid(_))));
    // The retired citizen view (0x03) is no request any more.
    let retired = encode(0x03, &[&[1; 32], &[2], b"ABCD-EFGH-JKMN"]);
    assert_eq!(Request::from_payload(&retired).err(), Some(ProtocolError::UnknownKind(0x03)));
    // A response kind is not a request.
    assert_eq!(Request::from_payload(&encode(INDEX_REPLY, &[b"{}"])).err(), Some(ProtocolError::UnknownKind(0x82)));
}

#[test]
fn oversize_frames_are_refused_before_reading_them() {
    let prefix = ((MAX_FRAME_LEN + 1) as u32).to_be_bytes();
    assert_eq!(frame_len(prefix), Err(ProtocolError::TooLarge(MAX_FRAME_LEN + 1)));
    let mut stream: &[u8] = &[0xff, 0xff, 0xff, 0xff, 1, 2, 3];
    assert!(matches!(read_frame(&mut stream), Err(FrameError::Protocol(ProtocolError::TooLarge(_)))));
}

#[test]
fn frames_read_back_and_detect_truncation() {
    let mut buf = Vec::new();
    write_frame(&mut buf, b"hello").expect("writes");
    write_frame(&mut buf, b"").expect("writes");
    let mut r = buf.as_slice();
    assert_eq!(read_frame(&mut r).expect("reads").as_deref(), Some(&b"hello"[..]));
    assert_eq!(read_frame(&mut r).expect("reads").as_deref(), Some(&b""[..]));
    assert!(read_frame(&mut r).expect("clean end").is_none());
    let mut cut = &buf[..6];
    assert!(matches!(read_frame(&mut cut), Err(FrameError::Protocol(ProtocolError::Truncated))));
    let mut cut_prefix = &buf[..2];
    assert!(matches!(read_frame(&mut cut_prefix), Err(FrameError::Protocol(ProtocolError::Truncated))));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Request::from_payload(&bytes);
        let _ = Response::from_payload(&bytes);
    }

    #[test]
    fn open_requests_round_trip(key in any::<[u8; 32]>(), envelope in proptest::collection::vec(any::<u8>(), 0..300)) {
        let req = Request::OpenIndex { device_key: VerifyingKey(key), envelope: envelope.clone() };
        match Request::from_payload(&req.to_payload()) {
            Ok(Request::OpenIndex { device_key, envelope: e }) => {
                prop_assert_eq!(device_key.0, key);
                prop_assert_eq!(e, envelope);
            }
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}
