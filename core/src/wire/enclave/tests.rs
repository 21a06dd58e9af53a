use super::*;
use proptest::prelude::*;

fn sample_requests() -> Vec<Request> {
    vec![Request::Health, Request::OpenIndex { device_key: VerifyingKey([7; 32]), envelope: vec![1, 2, 3] }]
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

/// The retired kinds: a citizen's view (0x03) and a clerk's view of a case, an objection and a
/// payer's bank details (0x04 to 0x06), with their answers (0x83 to 0x85). Tried as a rogue
/// operator with the socket would: each well-formed old request, with a purpose and an actor,
/// is an unknown kind now; so is each old answer.
#[test]
fn retired_kinds_that_released_personal_data_are_unknown() {
    let ticket = TicketNumber::issue(42, 7).expect("valid ticket");
    let requests: [(u8, Vec<&[u8]>); 4] = [
        (0x03, vec![&[1; 32], &[2], b"ABCD-EFGH-JKMN"]),
        (0x04, vec![&[9; 32], &[4; 10], b"objection review", b"clerk:1", &[2; 3]]),
        (0x05, vec![ticket.digits().as_bytes(), &[5; 90], b"objection review", b"clerk:1"]),
        (0x06, vec![b"2026-11-30/STMT-0042/7", &[6; 85], b"find the payer", b"clerk:1"]),
    ];
    for (kind, fields) in requests {
        // More fields than any request has now are refused before the kind is even looked at.
        let refused = Request::from_payload(&encode(kind, &fields)).err();
        assert!(
            matches!(refused, Some(ProtocolError::UnknownKind(k)) if k == kind)
                || refused == Some(ProtocolError::Invalid("too many fields")),
            "{kind:#x}: {refused:?}"
        );
        assert_eq!(Request::from_payload(&encode(kind, &fields[..2])).err(), Some(ProtocolError::UnknownKind(kind)));
    }
    for kind in [0x83, 0x84, 0x85] {
        assert_eq!(Response::from_payload(&encode(kind, &[b"{}"])).err(), Some(ProtocolError::UnknownKind(kind)));
    }
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
    let extra = encode(HEALTH, &[b"x"]);
    assert_eq!(Request::from_payload(&extra).err(), Some(ProtocolError::Invalid("wrong number of fields")));
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
