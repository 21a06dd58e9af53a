//! Talking to the sealed zone's pages as a careful client does: TLS through the host's relay,
//! trusting the certificate only by the SHA-256 of its public key (SPKI) that a verified
//! attestation names, never by ignoring certificate errors.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use fieldseal_core::attestation::AttestationPolicy;
use fieldseal_core::seal::sha256;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// Accepts exactly the certificate whose public key hashes to the pinned value.
#[derive(Debug)]
struct PinnedSpki {
    spki_sha256: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedSpki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        if sha256(cert.subject_public_key_info().as_ref()) == self.spki_sha256 {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// An HTTP answer: status, headers (lower-case names) and body.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Header lines as `name: value`, names lower-cased.
    pub headers: Vec<String>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// `GET path` on the zone through the relay at `web_addr`, trusting only `spki_sha256`.
/// A handshake refused by the pin is an `Err` naming the TLS error.
pub fn get(web_addr: &str, spki_sha256: [u8; 32], path: &str) -> Result<Answer, String> {
    request(web_addr, spki_sha256, "GET", path, &[], &[])
}

fn pinned_config(spki_sha256: [u8; 32]) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = fieldseal_enclave::tls::crypto_provider();
    let verifier = Arc::new(PinnedSpki { spki_sha256, provider: Arc::clone(&provider) });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A TLS connection to the zone kept open for many requests, as a browser keeps one.
pub struct Connection {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

impl Connection {
    /// Connects through the relay at `web_addr`, trusting only `spki_sha256`.
    pub fn open(web_addr: &str, spki_sha256: [u8; 32]) -> Result<Self, String> {
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let conn = rustls::ClientConnection::new(pinned_config(spki_sha256)?, name).map_err(|e| e.to_string())?;
        let tcp = TcpStream::connect(web_addr).map_err(|e| format!("connect {web_addr}: {e}"))?;
        tcp.set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| e.to_string())?;
        Ok(Self { tls: rustls::StreamOwned::new(conn, tcp) })
    }

    /// `GET path` with `cookie` on this connection; the answer must carry a Content-Length.
    pub fn get(&mut self, path: &str, cookie: &str) -> Result<Answer, String> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\n\r\n");
        self.tls.write_all(request.as_bytes()).map_err(|e| format!("TLS: {e}"))?;
        let mut raw = Vec::with_capacity(64 * 1024);
        let mut buf = [0u8; 16 * 1024];
        let head_end = loop {
            if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.tls.read(&mut buf).map_err(|e| format!("TLS: {e}"))?;
            if n == 0 {
                return Err("the connection closed before the answer's headers".into());
            }
            raw.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or("an answer without Content-Length")?;
        while raw.len() < head_end + length {
            let n = self.tls.read(&mut buf).map_err(|e| format!("TLS: {e}"))?;
            if n == 0 {
                return Err("the connection closed inside the body".into());
            }
            raw.extend_from_slice(&buf[..n]);
        }
        parse_answer(&raw[..head_end + length])
    }
}

/// One HTTP/1.1 request on a new TLS connection through the relay at `web_addr`, trusting
/// only `spki_sha256`: `headers` as `(name, value)`, then `body`.
pub fn request(
    web_addr: &str,
    spki_sha256: [u8; 32],
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, String> {
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(pinned_config(spki_sha256)?, name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(web_addr).map_err(|e| format!("connect {web_addr}: {e}"))?;
    tcp.set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| e.to_string())?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if method != "GET" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    tls.write_all(head.as_bytes()).map_err(|e| format!("TLS: {e}"))?;
    tls.write_all(body).map_err(|e| format!("TLS: {e}"))?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        // A peer that closes without close_notify after a complete answer is fine here.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(format!("TLS: {e}")),
    }
    parse_answer(&raw)
}

impl Answer {
    /// A header's value (`name` lower-case), empty when absent.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find_map(|h| h.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
            .unwrap_or_default()
            .to_owned()
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn parse_answer(raw: &[u8]) -> Result<Answer, String> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no header end in the answer")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| "headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).ok_or("no status line")?;
    let headers: Vec<String> = lines
        .map(|l| match l.split_once(':') {
            Some((n, v)) => format!("{}: {}", n.to_ascii_lowercase(), v.trim()),
            None => l.to_owned(),
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|h| h == "transfer-encoding: chunked") {
        body = dechunk(&body)?;
    }
    Ok(Answer { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
        let size = std::str::from_utf8(&data[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .ok_or("bad chunk size")?;
        data = &data[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or("short chunk")?);
        data = data.get(size + 2..).ok_or("short chunk")?;
    }
}

/// The zone's TLS key hash from the attestation the host serves at `/v1/attestation`, after
/// checking that attestation against the pinned `policy` (as a device or auditor would).
pub fn attested_tls_key(api_url: &str, policy: &AttestationPolicy) -> [u8; 32] {
    attested(api_url, policy).tls_spki_sha256.expect("the attestation binds the zone's TLS key")
}

/// The zone's attestation from the host's API at `api_url`, verified against `policy`.
pub fn attested(api_url: &str, policy: &AttestationPolicy) -> fieldseal_core::attestation::AttestedEnclave {
    let doc: fieldseal_core::attestation::AttestationDocument = ureq::get(&format!("{api_url}/v1/attestation"))
        .call()
        .expect("attestation")
        .body_mut()
        .read_json()
        .expect("an attestation document");
    doc.verify(policy, crate::now_ms()).expect("the attestation verifies against the pinned policy")
}

/// Chromium's switch that trusts exactly this key hash (base64 SHA-256 of the SubjectPublicKeyInfo),
/// not any certificate: `--ignore-certificate-errors-spki-list=…`.
pub fn chromium_spki_pin(spki_sha256: &[u8; 32]) -> String {
    use base64::Engine as _;
    format!("--ignore-certificate-errors-spki-list={}", base64::engine::general_purpose::STANDARD.encode(spki_sha256))
}
