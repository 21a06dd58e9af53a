//! HTTP for the sync: the app's own client (OkHttp, URLSession: the platform's TLS, proxy and
//! certificate pinning) through [`HttpClient`], or the built-in plain-HTTP client for
//! `http://` addresses (loopback, tests, the lab).

use std::sync::Arc;
use std::time::Duration;

use fieldseal_core::sync::{HttpResponse, Method, Transport};

use crate::error::FieldsealError;

/// One request header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    /// Lower-case name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// A request the sync wants sent.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET`, `POST` or `PUT`.
    pub method: String,
    /// Absolute URL (server address plus path).
    pub url: String,
    /// Headers to send besides the client's own.
    pub headers: Vec<HttpHeader>,
    /// Body (empty for GET).
    pub body: Vec<u8>,
}

/// The server's answer: every status counts as an answer, including 4xx and 5xx.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpReply {
    /// Status code (100–599).
    pub status: i32,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// No answer arrived (no network, refused, timed out, TLS failure).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum HttpClientError {
    /// The request failed before an answer arrived.
    #[error("{reason}")]
    Failed {
        /// What happened, for the log and the retry message.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for HttpClientError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { reason: format!("the app's HTTP client failed: {}", e.reason) }
    }
}

/// The app's HTTP client. Implementations return every status as an `HttpReply` and throw
/// `HttpClientError.Failed` only when no answer arrived; the sync then backs off and retries.
#[uniffi::export(foreign)]
pub trait HttpClient: Send + Sync {
    /// Sends one request and waits for the answer.
    fn send(&self, request: HttpRequest) -> Result<HttpReply, HttpClientError>;
}

/// The app's client as the sync client's transport.
pub(crate) struct ForeignTransport {
    pub(crate) client: Arc<dyn HttpClient>,
    pub(crate) base_url: String,
}

impl Transport for ForeignTransport {
    fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<HttpResponse, String> {
        let request = HttpRequest {
            method: match method {
                Method::Get => "GET",
                Method::Post => "POST",
                Method::Put => "PUT",
            }
            .to_owned(),
            url: format!("{}{path}", self.base_url),
            headers: headers.iter().map(|(n, v)| HttpHeader { name: (*n).to_owned(), value: v.clone() }).collect(),
            body: body.to_vec(),
        };
        let reply = self.client.send(request).map_err(|e| e.to_string())?;
        let status = u16::try_from(reply.status)
            .map_err(|_| format!("the app's HTTP client returned {}, which is no HTTP status", reply.status))?;
        Ok(HttpResponse { status, body: reply.body })
    }
}

/// The transport for `server_url`: the app's client if it passed one, else the built-in
/// plain-HTTP one, which only speaks `http://`.
pub(crate) fn transport(
    server_url: &str,
    client: Option<Arc<dyn HttpClient>>,
    timeout: Duration,
) -> Result<Box<dyn Transport + Send + Sync>, FieldsealError> {
    let base_url = server_url.trim_end_matches('/').to_owned();
    let scheme_ok = base_url.starts_with("https://") || base_url.starts_with("http://");
    if !scheme_ok || base_url.len() <= "https://".len() {
        return Err(FieldsealError::Configuration(format!(
            "the server address must start with https:// or http:// (got {server_url:?})"
        )));
    }
    match client {
        Some(client) => Ok(Box::new(ForeignTransport { client, base_url })),
        #[cfg(feature = "http")]
        None if base_url.starts_with("http://") => {
            Ok(Box::new(fieldseal_core::sync::HttpTransport::new(&base_url, timeout)))
        }
        None => {
            let _ = timeout;
            Err(FieldsealError::Configuration(
                "the built-in client speaks plain http:// only (and only in builds with the `http` feature); \
                 pass the platform's HTTP client (OkHttp, URLSession) with OfficerSession.open_with_client"
                    .into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;

    impl HttpClient for Echo {
        fn send(&self, request: HttpRequest) -> Result<HttpReply, HttpClientError> {
            Ok(HttpReply { status: 200, body: format!("{} {}", request.method, request.url).into_bytes() })
        }
    }

    #[test]
    fn the_transport_fits_the_address() {
        let t = Duration::from_secs(1);
        let foreign = transport("https://relay.example/", Some(Arc::new(Echo)), t).expect("a client speaks https");
        let reply = foreign.send(Method::Put, "/v1/blobs/x/0", &[], b"").expect("answer");
        assert_eq!(reply.body, b"PUT https://relay.example/v1/blobs/x/0");
        assert!(transport("http://127.0.0.1:9", None, t).is_ok());
        for (url, client) in [("https://relay.example", None), ("relay.example", None), ("https://", Some(Echo))] {
            let client = client.map(|c| Arc::new(c) as Arc<dyn HttpClient>);
            assert!(matches!(transport(url, client, t), Err(FieldsealError::Configuration(_))), "{url}");
        }
    }
}
