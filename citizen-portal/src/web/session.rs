//! Browser sessions, kept only in server memory: a random id in an HttpOnly, SameSite=Strict
//! cookie, a CSRF token per session, the language, and — once signed in — who signed in: for
//! the citizen portal the ticket and the access code, so each page can ask the enclave again
//! (nothing of the case itself is kept); for the back office the clerk. Sessions end after an
//! idle time-out, an absolute lifetime, or the "end session" button.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fieldseal_core::ticket::{AccessCode, TicketNumber};
use subtle::ConstantTimeEq as _;

use super::text::Lang;

/// Name of the session cookie. The `__Host-` prefix (ASVS 3.3.1) makes browsers keep it only
/// when set `Secure`, for this host alone (no `Domain`) and for the whole site (`Path=/`): a
/// neighbouring subdomain or a plain-http page cannot plant or overwrite it.
pub const COOKIE: &str = "__Host-fs_session";
/// A session without requests for this long is gone.
pub const IDLE: Duration = Duration::from_secs(10 * 60);
/// No session lives longer than this.
pub const LIFETIME: Duration = Duration::from_secs(60 * 60);
/// Most sessions held at once; the oldest idle ones go first beyond it.
pub const MAX_SESSIONS: usize = 100_000;

/// The case a session has opened.
#[derive(Clone)]
pub struct SignedIn {
    /// Ticket number.
    pub ticket: TicketNumber,
    /// The access code the citizen typed (asked of the enclave when the case is not kept).
    pub code: AccessCode,
    /// The case opened at sign-in, kept for this session while the budget allows.
    pub opened: Option<std::sync::Arc<super::opened::OpenedCase>>,
}

/// One browser session; `T` is who signed in.
#[derive(Clone)]
pub struct Session<T = SignedIn> {
    /// The session id (cookie value).
    pub id: String,
    /// CSRF token every form carries.
    pub csrf: String,
    /// Page language.
    pub lang: Lang,
    /// Who signed in (the citizen's case, or a clerk).
    pub signed: Option<T>,
    created: Instant,
    last_seen: Instant,
}

impl<T> Session<T> {
    /// Whether a submitted CSRF token is this session's (constant time).
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        self.csrf.len() == submitted.len() && bool::from(self.csrf.as_bytes().ct_eq(submitted.as_bytes()))
    }
}

/// What a cookie led to.
pub enum Lookup<T = SignedIn> {
    /// A live session.
    Live(Session<T>),
    /// The cookie named a session that timed out.
    Expired,
    /// No cookie, or an unknown id.
    None,
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(*fieldseal_core::seal::make_random_key())
}

/// All sessions.
pub struct Sessions<T = SignedIn> {
    map: Mutex<HashMap<String, Session<T>>>,
    idle: Duration,
}

impl<T: Clone> Sessions<T> {
    /// An empty store with the given idle time-out.
    pub fn new(idle: Duration) -> Self {
        Self { map: Mutex::new(HashMap::new()), idle }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session<T>>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An anonymous session for one answer only: kept nowhere, so no cookie names it.
    pub fn passing(lang: Lang) -> Session<T> {
        let now = Instant::now();
        Session { id: random_token(), csrf: random_token(), lang, signed: None, created: now, last_seen: now }
    }

    /// A new anonymous session.
    pub fn create(&self, lang: Lang) -> Session<T> {
        let now = Instant::now();
        let session = Self::passing(lang);
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            let idle = self.idle;
            map.retain(|_, s| now.duration_since(s.last_seen) < idle);
            if map.len() >= MAX_SESSIONS
                && let Some(oldest) = map.values().min_by_key(|s| s.last_seen).map(|s| s.id.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(session.id.clone(), session.clone());
        session
    }

    /// The session a cookie names, touched.
    pub fn get(&self, id: Option<&str>) -> Lookup<T> {
        let Some(id) = id else { return Lookup::None };
        let now = Instant::now();
        let mut map = self.lock();
        match map.get_mut(id) {
            Some(s) if now.duration_since(s.last_seen) >= self.idle || now.duration_since(s.created) >= LIFETIME => {
                map.remove(id);
                Lookup::Expired
            }
            Some(s) => {
                s.last_seen = now;
                Lookup::Live(s.clone())
            }
            None => Lookup::None,
        }
    }

    /// Sets the language of a session.
    pub fn set_lang(&self, id: &str, lang: Lang) {
        if let Some(s) = self.lock().get_mut(id) {
            s.lang = lang;
        }
    }

    /// Signs a session in under a new id (the old id stops working), with a new CSRF token.
    pub fn sign_in(&self, old_id: &str, who: T) -> Option<Session<T>> {
        let mut map = self.lock();
        let mut session = map.remove(old_id)?;
        session.id = random_token();
        session.csrf = random_token();
        session.signed = Some(who);
        session.created = Instant::now();
        map.insert(session.id.clone(), session.clone());
        Some(session)
    }

    /// Ends a session: its id and who signed in are gone from memory.
    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Drops timed-out sessions (run now and then).
    pub fn sweep(&self) {
        let now = Instant::now();
        let idle = self.idle;
        self.lock().retain(|_, s| now.duration_since(s.last_seen) < idle && now.duration_since(s.created) < LIFETIME);
    }

    /// How many sessions are held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The portal's session id from a `Cookie` header.
pub fn cookie_value(header: Option<&str>) -> Option<&str> {
    named_cookie_value(header, COOKIE)
}

/// The session id in cookie `name` from a `Cookie` header.
pub fn named_cookie_value<'h>(header: Option<&'h str>, name: &str) -> Option<&'h str> {
    header?.split(';').map(str::trim).find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')).filter(|v| {
        (20..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Sweeps the sessions `sessions` picks out of `owner` once a minute, for as long as `owner`
/// lives (call it inside the tokio runtime that serves the pages).
pub fn sweep_while_alive<O, T>(owner: &std::sync::Arc<O>, sessions: fn(&O) -> &Sessions<T>)
where
    O: Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    let owner = std::sync::Arc::downgrade(owner);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            match owner.upgrade() {
                Some(o) => sessions(&o).sweep(),
                None => break,
            }
        }
    });
}

/// The `Set-Cookie` value for a portal session id (always `Secure`: the portal is served only
/// over the zone's TLS).
pub fn set_cookie(id: &str) -> String {
    set_named_cookie(COOKIE, "/", id, true)
}

/// The `Set-Cookie` value for session cookie `name` on `path`.
pub fn set_named_cookie(name: &str, path: &str, id: &str, secure: bool) -> String {
    format!("{name}={id}; Path={path}; HttpOnly; SameSite=Strict{}", if secure { "; Secure" } else { "" })
}

/// The `Set-Cookie` value that deletes the portal's cookie.
pub fn clear_cookie() -> String {
    clear_named_cookie(COOKIE, "/", true)
}

/// The `Set-Cookie` value that deletes cookie `name` on `path`.
pub fn clear_named_cookie(name: &str, path: &str, secure: bool) -> String {
    format!("{name}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0{}", if secure { "; Secure" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_rotate_on_sign_in_expire_and_end() {
        let store = Sessions::new(Duration::from_millis(50));
        let s = store.create(Lang::En);
        assert!(matches!(store.get(Some(&s.id)), Lookup::Live(_)));
        let case = SignedIn {
            ticket: TicketNumber::issue(1, 1).expect("ticket"),
            code: AccessCode::parse("ABCD-EFGH-JKMN").expect("code"),
            opened: None,
        };
        let signed = store.sign_in(&s.id, case).expect("signs in");
        assert_ne!(signed.id, s.id);
        assert_ne!(signed.csrf, s.csrf);
        assert!(matches!(store.get(Some(&s.id)), Lookup::None), "the old id no longer works");
        assert!(signed.csrf_ok(&signed.csrf.clone()));
        assert!(!signed.csrf_ok(&s.csrf));
        assert!(!signed.csrf_ok(""));
        std::thread::sleep(Duration::from_millis(60));
        assert!(matches!(store.get(Some(&signed.id)), Lookup::Expired));
        assert!(matches!(store.get(Some(&signed.id)), Lookup::None));

        let t = store.create(Lang::De);
        store.end(&t.id);
        assert!(matches!(store.get(Some(&t.id)), Lookup::None));
        assert!(store.is_empty());
    }

    #[test]
    fn cookies_parse_strictly() {
        let id = "abcdefghijklmnopqrstuvwxyz012345";
        assert_eq!(cookie_value(Some(&format!("x=1; {COOKIE}={id}; y=2"))), Some(id));
        assert_eq!(cookie_value(Some(&format!("{COOKIE}=short"))), None);
        assert_eq!(cookie_value(Some(&format!("{COOKIE}={id}\"<"))), None);
        assert_eq!(cookie_value(None), None);
        let cookie = set_cookie(id);
        assert!(cookie.starts_with("__Host-fs_session=") && cookie.contains("Path=/;"), "{cookie}");
        assert!(cookie.contains("HttpOnly; SameSite=Strict; Secure") && !cookie.contains("Domain"), "{cookie}");
        assert!(!set_named_cookie("fs_office", "/office", id, false).contains("Secure"));
    }
}
