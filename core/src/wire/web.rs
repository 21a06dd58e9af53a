//! The web relay's preamble. The host accepts a browser's TCP connection and relays its bytes,
//! still TLS-encrypted, to the zone over a local socket. Before the first TLS byte it writes
//! one line naming the client's address (the PROXY protocol's version 1 text form), so the
//! zone can rate-limit per client. The host could lie in it; that costs it nothing it does not
//! already have (it can drop connections anyway), and the zone uses it for nothing else.

use std::net::{IpAddr, SocketAddr};

/// Longest preamble line, with its `\r\n` (the PROXY v1 limit).
pub const MAX_PREAMBLE: usize = 107;

/// Why a preamble was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreambleError {
    /// Longer than [`MAX_PREAMBLE`] or not ended by `\r\n`.
    #[error("the relay preamble is too long or not terminated")]
    TooLong,
    /// Not of the form `PROXY TCP4|TCP6 SRC DST SPORT DPORT` or `PROXY UNKNOWN`.
    #[error("the relay preamble is malformed")]
    Malformed,
}

/// The line the host writes for a client at `client` that connected to `local`.
pub fn encode(client: SocketAddr, local: SocketAddr) -> String {
    let family = |a: &SocketAddr| if a.is_ipv4() { "TCP4" } else { "TCP6" };
    if family(&client) != family(&local) {
        return "PROXY UNKNOWN\r\n".into();
    }
    format!("PROXY {} {} {} {} {}\r\n", family(&client), client.ip(), local.ip(), client.port(), local.port())
}

/// The client's address from a whole preamble line (with its `\r\n`); `None` for `UNKNOWN`.
pub fn parse(line: &[u8]) -> Result<Option<SocketAddr>, PreambleError> {
    if line.len() > MAX_PREAMBLE {
        return Err(PreambleError::TooLong);
    }
    let text = line.strip_suffix(b"\r\n").ok_or(PreambleError::TooLong)?;
    let text = std::str::from_utf8(text).map_err(|_| PreambleError::Malformed)?;
    let mut parts = text.split(' ');
    if parts.next() != Some("PROXY") {
        return Err(PreambleError::Malformed);
    }
    let family = parts.next().ok_or(PreambleError::Malformed)?;
    if family == "UNKNOWN" {
        return Ok(None);
    }
    let fields: Vec<&str> = parts.collect();
    let [src, dst, sport, _dport] = fields.as_slice() else { return Err(PreambleError::Malformed) };
    let src: IpAddr = src.parse().map_err(|_| PreambleError::Malformed)?;
    let dst: IpAddr = dst.parse().map_err(|_| PreambleError::Malformed)?;
    let port: u16 = sport.parse().map_err(|_| PreambleError::Malformed)?;
    let matches = match family {
        "TCP4" => src.is_ipv4() && dst.is_ipv4(),
        "TCP6" => src.is_ipv6() && dst.is_ipv6(),
        _ => false,
    };
    if !matches {
        return Err(PreambleError::Malformed);
    }
    Ok(Some(SocketAddr::new(src, port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_round_trips_for_both_families() {
        let c4: SocketAddr = "203.0.113.7:51000".parse().expect("addr");
        let l4: SocketAddr = "127.0.0.1:8443".parse().expect("addr");
        let line = encode(c4, l4);
        assert_eq!(line, "PROXY TCP4 203.0.113.7 127.0.0.1 51000 8443\r\n");
        assert_eq!(parse(line.as_bytes()), Ok(Some(c4)));
        let c6: SocketAddr = "[2001:db8::1]:40000".parse().expect("addr");
        let l6: SocketAddr = "[::1]:8443".parse().expect("addr");
        assert_eq!(parse(encode(c6, l6).as_bytes()), Ok(Some(c6)));
        assert_eq!(parse(encode(c6, l4).as_bytes()), Ok(None), "mixed families say UNKNOWN");
        let longest = encode(
            "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535".parse().expect("addr"),
            "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535".parse().expect("addr"),
        );
        assert!(longest.len() <= MAX_PREAMBLE);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            &b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2"[..],
            b"GET / HTTP/1.1\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            b"PROXY TCP4 ::1 ::1 1 2\r\n",
            b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
            b"PROXY TCP4 \xff 5.6.7.8 1 2\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse(&[b'P'; 200]), Err(PreambleError::TooLong));
    }
}
