//! A browser-less web client for the portal and the office: keeps the session cookie itself
//! and never follows redirects. Plain `http://` goes to the host; `https://` goes through the
//! host's relay to the sealed zone, trusting only the pinned key hash the attestation names.

use fieldseal_core::notice::Notice;

use crate::csrf_of;
use crate::zone::{Answer, request};

/// A client with its session cookie.
pub struct WebClient {
    /// The HTTP agent for `http://` addresses.
    pub agent: ureq::Agent,
    /// The `name=value` of the session cookie.
    pub cookie: String,
    /// The zone's TLS key hash, for `https://` addresses.
    pin: Option<[u8; 32]>,
}

impl Default for WebClient {
    fn default() -> Self {
        Self::new()
    }
}

impl WebClient {
    /// A client without a session, for plain-http addresses.
    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).build().new_agent();
        Self { agent, cookie: String::new(), pin: None }
    }

    /// A client without a session that reaches the zone's `https://` pages, trusting `spki`.
    pub fn pinned(spki: [u8; 32]) -> Self {
        Self { pin: Some(spki), ..Self::new() }
    }

    /// The zone's key hash this client trusts, if it was made with [`WebClient::pinned`].
    pub fn pin(&self) -> Option<[u8; 32]> {
        self.pin
    }

    /// This client, signed in to the portal at `url` with the notice's ticket number and code.
    pub fn sign_in(mut self, url: &str, notice: &Notice) -> Self {
        let (_, _, start) = self.get(&format!("{url}/"));
        let (status, location) = self.post(
            &format!("{url}/login"),
            &[
                ("csrf", &csrf_of(&start)),
                ("ticket", &notice.ticket_number.grouped()),
                ("code", &notice.access_code.grouped()),
            ],
        );
        assert_eq!((status, location.as_str()), (303, "/case"), "signed in");
        self
    }

    /// Sends one request; keeps a session cookie the answer sets.
    pub fn exchange(&mut self, method: &str, url: &str, content_type: Option<&str>, body: &[u8]) -> Answer {
        let answer = self.send(method, url, content_type, body);
        if let Some(c) = answer.headers.iter().find_map(|h| h.strip_prefix("set-cookie: ")) {
            self.cookie = c.split(';').next().unwrap_or_default().to_owned();
        }
        answer
    }

    /// Sends one request without touching the cookie (for many threads sharing one client).
    pub fn send(&self, method: &str, url: &str, content_type: Option<&str>, body: &[u8]) -> Answer {
        if let Some(rest) = url.strip_prefix("https://") {
            let (addr, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
            let pin = self.pin.expect("an https address needs a client made with WebClient::pinned");
            let mut headers = vec![("cookie", self.cookie.as_str())];
            if let Some(t) = content_type {
                headers.push(("content-type", t));
            }
            return request(addr, pin, method, path, &headers, body).expect("the zone answers");
        }
        let mut res = match method {
            "GET" => self.agent.get(url).header("cookie", &self.cookie).call(),
            _ => self
                .agent
                .post(url)
                .header("cookie", &self.cookie)
                .header("content-type", content_type.unwrap_or("application/octet-stream"))
                .send(body),
        }
        .expect("answers");
        let headers =
            res.headers().iter().map(|(n, v)| format!("{}: {}", n.as_str(), v.to_str().unwrap_or_default())).collect();
        let status = res.status().as_u16();
        Answer { status, headers, body: res.body_mut().read_to_vec().expect("body") }
    }

    /// GET: status, `Location`, body.
    pub fn get(&mut self, url: &str) -> (u16, String, String) {
        let a = self.exchange("GET", url, None, &[]);
        (a.status, a.header("location"), a.text())
    }

    /// POST a form: status and `Location`.
    pub fn post(&mut self, url: &str, form: &[(&str, &str)]) -> (u16, String) {
        let (status, location, _) = self.post_page(url, form);
        (status, location)
    }

    /// POST a form: status, `Location` and the page it answers with.
    pub fn post_page(&mut self, url: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        let body = form_urlencoded(form);
        let a = self.exchange("POST", url, Some("application/x-www-form-urlencoded"), body.as_bytes());
        (a.status, a.header("location"), a.text())
    }

    /// POST `multipart/form-data`: text fields and one file; status and the page.
    pub fn post_file(&mut self, url: &str, fields: &[(&str, &str)], file: (&str, &str, &[u8])) -> (u16, String) {
        let boundary = format!("----fieldseal{}", fieldseal_core::wire::envelope::Id16::make_random().to_hex());
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        let (name, filename, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                 Content-Type: application/xml\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let a = self.exchange("POST", url, Some(&content_type), &body);
        (a.status, a.text())
    }

    /// This client signed in to the back office at `url` (no TOTP).
    pub fn clerk(self, url: &str, username: &str, password: &str) -> Self {
        let mut c = self;
        let (_, _, page) = c.get(&format!("{url}/office/login"));
        let (status, location) = c.post(
            &format!("{url}/office/login"),
            &[("csrf", &csrf_of(&page)), ("username", username), ("password", password)],
        );
        assert_eq!((status, location.as_str()), (303, "/office/"), "{username} signed in");
        c
    }
}

/// `application/x-www-form-urlencoded` of `form`.
pub fn form_urlencoded(form: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}
