//! The sealed zone's web door, end to end with real processes: `fieldseal serve` relays the
//! browser's bytes to the zone, TLS ends inside the zone with a key that never leaves it
//! unsealed, and clients trust it only by the key hash that the verified attestation names.
//! ASVS V9.1.1 (TLS for all client connectivity), V9.2.1 (trusted certificates for server
//! connections), V6.4.1 (key material kept inside the isolated module).

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use fieldseal_tests::browser::Browser;
use fieldseal_tests::zone::{attested_tls_key, chromium_spki_pin, get};
use fieldseal_tests::{Backend, Server, TempDir, files_under, policy_for};

#[test]
fn pages_come_over_tls_that_ends_in_the_zone_and_clients_pin_the_attested_key() {
    let scratch = TempDir::new("zone-web");
    let server = Server::start(scratch.0.as_path(), &Backend::sqlite());
    let policy = policy_for();
    let spki = attested_tls_key(&server.url, &policy);

    // Through the host's relay, the zone answers over TLS with exactly the attested key, and
    // serves its attestation on that same session: the hash in it is the key we talk to.
    let answer = get(&server.web_addr, spki, "/zone/attestation").expect("a TLS session with the attested key");
    assert_eq!(answer.status, 200);
    assert!(answer.headers.iter().any(|h| h == "cache-control: no-store"), "{:?}", answer.headers);
    let report: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
    let doc: fieldseal_core::attestation::AttestationDocument =
        serde_json::from_value(report["attestation"].clone()).expect("an attestation");
    let inside = doc.verify(&policy, fieldseal_tests::now_ms()).expect("verifies");
    assert_eq!(inside.tls_spki_sha256, Some(spki));
    assert_eq!(get(&server.web_addr, spki, "/no/such/page").expect("TLS").status, 404);

    // Asked with a nonce, the document is made for this question: a recorded one (the answer
    // above) is not fresh for it, and one made for another nonce is not either.
    let nonce = fieldseal_core::seal::make_random_key();
    let ask = |nonce: &[u8]| {
        let path = format!("/zone/attestation?nonce={}", fieldseal_core::seal::hex_lower(nonce));
        let answer = get(&server.web_addr, spki, &path).expect("TLS");
        assert_eq!(answer.status, 200);
        let report: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
        serde_json::from_value::<fieldseal_core::attestation::AttestationDocument>(report["attestation"].clone())
            .expect("an attestation")
    };
    let fresh = ask(nonce.as_slice()).verify_fresh(&policy, fieldseal_tests::now_ms(), nonce.as_slice());
    assert_eq!(fresh.expect("fresh for this nonce").tls_spki_sha256, Some(spki));
    let replayed = doc.verify_fresh(&policy, fieldseal_tests::now_ms(), nonce.as_slice());
    assert_eq!(replayed.err(), Some(fieldseal_core::attestation::AttestationError::NotFresh));
    let other = ask(&[7; 16]).verify_fresh(&policy, fieldseal_tests::now_ms(), nonce.as_slice());
    assert_eq!(other.err(), Some(fieldseal_core::attestation::AttestationError::NotFresh));
    for bad in ["?nonce=abc", "?nonce=00", "?other=1"] {
        let answer = get(&server.web_addr, spki, &format!("/zone/attestation{bad}")).expect("TLS");
        assert_eq!(answer.status, 400, "{bad}");
        assert!(String::from_utf8_lossy(&answer.body).contains("nonce"), "says what to send: {bad}");
    }

    // A client pinning any other key (a host that put its own certificate in between would
    // present one) is refused in the handshake.
    let mut other = spki;
    other[0] ^= 1;
    let refused = get(&server.web_addr, other, "/zone/attestation").expect_err("another key is refused");
    assert!(refused.contains("TLS"), "{refused}");

    // The key leaves the zone only sealed: no file of the data folder holds a P-256 PKCS#8.
    let p256_oid = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let sealed = scratch.0.as_path().join("enclave-keys/tls-key.sealed");
    assert!(sealed.is_file(), "the zone keeps its TLS key sealed in the key folder");
    for file in files_under(scratch.0.as_path()) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(!bytes.windows(8).any(|w| w == p256_oid), "{} holds an unsealed EC key", file.display());
    }

    // Whoever holds the zone's web socket (the host) and sends it anything but a preamble and
    // a TLS handshake gets the connection closed, and the zone goes on serving.
    let web_socket = scratch.0.as_path().join("enclave.web.sock");
    for junk in
        [&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nnot tls at all", &[b'P'; 300]]
    {
        let mut s = UnixStream::connect(&web_socket).expect("the zone's web socket");
        s.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
        let _ = s.write_all(junk);
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        assert!(!text.contains("HTTP/1.1 200"), "plain HTTP is never served: {text}");
    }
    assert_eq!(get(&server.web_addr, spki, "/zone/attestation").expect("still serving").status, 200);

    // A real browser trusts the zone by the attested key hash (not by ignoring certificate
    // errors) and loads the page; without the pin it refuses the certificate.
    let pin = chromium_spki_pin(&spki);
    let url = format!("https://{}/zone/attestation", server.web_addr);
    let pinned = Browser::start_with("zone_web_pinned", 800, 600, &[pin]).expect("browser");
    pinned.goto(&url).expect("the pinned browser opens the zone's page");
    let text = pinned.text("body").expect("page text");
    assert!(text.contains("tls_spki_sha256"), "the attestation is shown: {text}");
    pinned.screenshot("attestation over tls").expect("screenshot");
    drop(pinned);
    let unpinned = Browser::start("zone_web_unpinned", 800, 600).expect("browser");
    // Chromium answers with its certificate interstitial (or WebDriver reports the insecure
    // certificate): either way the page itself is never shown.
    if unpinned.goto(&url).is_ok() {
        let text = unpinned.text("body").unwrap_or_default();
        unpinned.screenshot("certificate refused").expect("screenshot");
        assert!(!text.contains("tls_spki_sha256"), "the unpinned browser must not show the page");
        assert!(text.contains("ERR_CERT"), "Chromium names the certificate error: {text}");
    }
}

/// The zone links only what it needs: no database and no HTTP client reach its executable, so
/// nothing in it can open a file-backed store or call out (the seccomp filter refuses both
/// anyway). Read from the symbol table; the host's executable is the control that the search
/// finds them where they are.
#[test]
fn the_zone_executable_holds_no_database_and_no_http_client() {
    let symbols = |name: &str| {
        let out = std::process::Command::new("nm")
            .arg("-C")
            .arg(fieldseal_tests::bin(name))
            .output()
            .expect("nm (binutils, installed with gcc) runs");
        assert!(out.status.success(), "nm {name}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // (A drop of core's store error type, which wraps the database crate's error, may remain:
    // a type, no database code.)
    let forbidden = ["sqlite3_", "rusqlite::Connection", "ureq::", "sqlx", "reqwest::"];
    let host = symbols("fieldseal");
    assert!(host.contains("sqlite3_") && host.contains("ureq::"), "the control finds them in the host");
    let zone = symbols("fieldseal-enclave");
    assert!(zone.contains("rustls::"), "the zone's own symbols are read");
    for needle in forbidden {
        assert!(!zone.contains(needle), "the zone's executable holds {needle}");
    }
}
