//! fieldseal-tests: end-to-end tests that start the real `fieldseal` server (which starts the
//! real `fieldseal-enclave`) on loopback and drive them like a phone and an administrator do.
//! Every test runs against SQLite and against PostgreSQL (`FIELDSEAL_TEST_PG`, which the README
//! test command sets up).
//!
//! The binaries must be built first: `cargo build --workspace --bins` (the test script does).

pub mod browser;
pub mod camt;
pub mod office;
mod web_client;
pub mod zone;

use std::io::{BufRead as _, BufReader, Read as _, Seek as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
pub use web_client::WebClient;

use fieldseal_core::attestation::{AttestationPolicy, PinnedRoot, SIMULATED_PLATFORM};
use fieldseal_core::sync::HttpTransport;

/// Where a test's server keeps its tables.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The SQLite file in the data folder.
    Sqlite,
    /// A fresh PostgreSQL database of its own.
    Postgres(String),
}

impl Backend {
    /// SQLite.
    pub fn sqlite() -> Self {
        Self::Sqlite
    }

    /// A new, empty PostgreSQL database on the test server named by `FIELDSEAL_TEST_PG`.
    pub fn postgres() -> Self {
        let admin = std::env::var("FIELDSEAL_TEST_PG").unwrap_or_else(|_| {
            panic!(
                "FIELDSEAL_TEST_PG is not set: run `bash scripts/test.sh`, or start one with \
                 `bash scripts/postgres.sh start /tmp/fs-pg` and export the URL it prints"
            )
        });
        let name = format!("fs_{}", fieldseal_core::wire::envelope::Id16::make_random().to_hex());
        block_on(async {
            use sqlx::Connection as _;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&admin).await.expect("the test PostgreSQL answers");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("creates a database");
        });
        let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).expect("a URL with a database name");
        Self::Postgres(format!("{base}/{name}"))
    }

    /// `DATABASE_URL` for the server, if any.
    pub fn url(&self) -> Option<&str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres(u) => Some(u),
        }
    }
}

/// Makes `sqlite` and `postgres` tests of each named function (which takes a [`Backend`]).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::Backend::sqlite());
            }
            #[test]
            fn postgres() {
                super::$name($crate::Backend::postgres());
            }
        }
    )*};
}

/// Every regular file under `dir` (sockets and other special files left out), for canary scans.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("lists").flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else if p.is_file() {
            out.push(p);
        }
    }
    out
}

/// Runs a future to completion on the test binary's one runtime (database pools made in one
/// call stay usable in the next).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
        })
        .block_on(f)
}

/// Sends only the head of a request announcing `content_length` body bytes, and returns the
/// status line the server answers before any body arrives.
pub fn status_for_announced_body(url: &str, path: &str, content_length: usize) -> String {
    use std::io::Write as _;
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(s, "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {content_length}\r\n\r\n").expect("sends");
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).expect("an answer");
    line.trim().to_owned()
}

/// A built binary of the workspace (beside this test's `deps` folder).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let p = dir.join(name);
    assert!(p.is_file(), "{} is missing: run `cargo build --workspace --bins` first", p.display());
    p
}

/// A fresh folder under the temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty folder.
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir()
            .join(format!("fieldseal-e2e-{tag}-{}", fieldseal_core::wire::envelope::Id16::make_random().to_hex()));
        std::fs::create_dir_all(&p).expect("temp dir");
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `fieldseal serve`.
pub struct Server {
    child: Child,
    /// Base URL.
    pub url: String,
    /// The web relay to the sealed zone's pages, `127.0.0.1:PORT`.
    pub web_addr: String,
    /// Everything it (and its enclave child) wrote to stderr.
    pub log: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    /// Starts `fieldseal serve` on a free port and waits until it listens.
    pub fn start(data: &Path, backend: &Backend) -> Self {
        Self::start_on(data, backend, 0)
    }

    /// Starts `fieldseal serve` on `port` (0: any free port) and waits until it listens.
    pub fn start_on(data: &Path, backend: &Backend, port: u16) -> Self {
        Self::start_with(data, backend, port, &[])
    }

    /// Starts `fieldseal serve` on `port` with extra command-line options.
    pub fn start_with(data: &Path, backend: &Backend, port: u16, extra: &[&str]) -> Self {
        let mut cmd = Command::new(bin("fieldseal"));
        cmd.args(["serve", "--port", &port.to_string(), "--web-port", "0", "--data"])
            .arg(data)
            .args(extra)
            .env("RUST_LOG", "info");
        match backend.url() {
            Some(u) => cmd.env("DATABASE_URL", u),
            None => cmd.env_remove("DATABASE_URL"),
        };
        Self::spawn(cmd)
    }

    /// Runs `cmd` (a `fieldseal serve` command line made by the caller, e.g. as another user)
    /// and waits until it listens on both of its ports.
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("fieldseal serve starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("log").extend_from_slice(&buf[..n]);
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let (mut url, mut web_addr) = (None, None);
        while web_addr.is_none() {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(u) = line.strip_prefix("fieldseal listening on ") {
                        url = Some(u.to_owned());
                    } else if let Some(rest) = line.strip_prefix("fieldseal zone pages on https://") {
                        web_addr = rest.split_whitespace().next().map(str::to_owned);
                    }
                }
                _ => {
                    let log = String::from_utf8_lossy(&log.lock().expect("log")).into_owned();
                    panic!("fieldseal serve did not start:\n{log}");
                }
            }
            assert!(Instant::now() < deadline, "fieldseal serve took too long to start");
        }
        let url = url.expect("the API address comes first");
        Self { child, url, web_addr: web_addr.expect("read above"), log }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A sync transport to it.
    pub fn transport(&self) -> HttpTransport {
        HttpTransport::new(&self.url, Duration::from_secs(30))
    }

    /// Kills it with SIGKILL, as a power cut would (its enclave child follows it).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The log so far, as text.
    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().expect("log")).into_owned()
    }

    /// The sealed zone's pages, `https://…` through this server's relay.
    pub fn zone_url(&self) -> String {
        format!("https://{}", self.web_addr)
    }

    /// A client of the zone's pages (citizen portal and back office), trusting the TLS key
    /// the verified attestation names.
    pub fn client(&self) -> WebClient {
        WebClient::pinned(zone::attested_tls_key(&self.url, &policy_for()))
    }

    /// A headless Chromium that trusts only the TLS key the zone's verified attestation names.
    pub fn browser(&self, test_name: &str, width: u32, height: u32) -> browser::Result<browser::Browser> {
        let spki = zone::attested_tls_key(&self.url, &policy_for());
        let pin = zone::chromium_spki_pin(&spki);
        browser::Browser::start_with(test_name, width, height, &[pin])
    }

    /// The process id of the sealed zone this server started (its child `fieldseal-enclave`).
    pub fn zone_pid(&self) -> u32 {
        let server = self.pid();
        std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // "pid (comm) state ppid …": the name may hold spaces, so read after the last ')'.
                let (name, rest) = stat.rsplit_once(')').unwrap_or_default();
                let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok());
                name.ends_with("(fieldseal-encla") && ppid == Some(server)
            })
            .expect("the server's zone process")
    }

    /// Searches the server process's readable memory for `needle`.
    pub fn memory_contains(&self, needle: &[u8]) -> bool {
        process_memory_contains(self.pid(), needle)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (free when asked; a process started right after takes it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64
}

/// An officer's phone: the core's device store in a temp folder, enrolled with a server.
pub struct Phone {
    _dir: TempDir,
    /// The device store.
    pub store: fieldseal_core::store::DeviceStore,
}

impl Phone {
    /// A new phone enrolled with `server` through a code from `fieldseal admin`.
    pub fn enrolled(server: &Server, data: &Path, backend: &Backend) -> Self {
        Self::enrolled_with(server, &issue_code(data, backend), &policy_for())
    }

    /// A new phone enrolled with `server` through `code`, pinning what `policy` pins.
    pub fn enrolled_with(server: &Server, code: &str, policy: &AttestationPolicy) -> Self {
        use fieldseal_core::store::{DeviceStore, StorageKey};
        let dir = TempDir::new("phone");
        let mut store = DeviceStore::open(&dir.0.join("device.sqlite3"), StorageKey::make_random()).expect("opens");
        fieldseal_core::sync::enrol(&mut store, &server.transport(), code, policy, now_ms()).expect("enrols");
        Self { _dir: dir, store }
    }

    /// Captures `n` tickets offline for `plate`, two generated photos each; returns their notices.
    pub fn capture(&mut self, n: u64, plate: &str) -> Vec<fieldseal_core::notice::Notice> {
        self.capture_at(n, plate, now_ms())
    }

    /// As [`Phone::capture`], observed at `at_ms` (e.g. weeks ago, so the deadline has passed).
    pub fn capture_at(&mut self, n: u64, plate: &str, at_ms: i64) -> Vec<fieldseal_core::notice::Notice> {
        use fieldseal_core::demo::{demo_draft, street_photo};
        (0..n)
            .map(|i| {
                let photos = [street_photo(i * 2 + 1, 480, 360), street_photo(i * 2 + 2, 360, 480)];
                let draft =
                    demo_draft(self.store.catalogue().expect("catalogue"), i, plate, &photos, at_ms).expect("draft");
                self.store.capture(draft).expect("sealed offline").notice
            })
            .collect()
    }

    /// Envelopes still waiting for a receipt.
    pub fn unsynced(&self) -> usize {
        self.store.unsynced().expect("outbox").len()
    }
}

/// A running `fieldseal-paysandbox` (the sandbox card-payment provider).
pub struct PaySandbox {
    child: Child,
    /// Its base URL.
    pub url: String,
    /// Its API key.
    pub api_key: String,
    /// Its webhook signing secret.
    pub webhook_secret: String,
}

impl PaySandbox {
    /// Starts the sandbox posting webhooks to `webhook_url` after `delay_ms`.
    pub fn start(webhook_url: &str, delay_ms: u64) -> Self {
        let api_key = format!("sk_test_{}", fieldseal_core::wire::envelope::Id16::make_random().to_hex());
        let webhook_secret = format!("whsec_{}", fieldseal_core::wire::envelope::Id16::make_random().to_hex());
        let mut child = Command::new(bin("fieldseal-paysandbox"))
            .args(["--port", "0", "--api-key", &api_key, "--webhook-secret", &webhook_secret])
            .args(["--webhook-url", webhook_url, "--webhook-delay-ms", &delay_ms.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("fieldseal-paysandbox starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(u) = line.strip_prefix("fieldseal-paysandbox listening on ") {
                        break u.trim().to_owned();
                    }
                }
                _ => panic!("fieldseal-paysandbox did not start"),
            }
        };
        Self { child, url, api_key, webhook_secret }
    }

    /// The `payments.json` a server's data folder needs to use this sandbox.
    pub fn write_config(&self, data: &Path) {
        let config = serde_json::json!({
            "provider": "sandbox",
            "api_base": self.url,
            "api_key": self.api_key,
            "webhook_secret": self.webhook_secret,
        });
        std::fs::write(data.join("payments.json"), config.to_string()).expect("writes payments.json");
    }

    /// Every charge the sandbox has made.
    pub fn charges(&self) -> Vec<serde_json::Value> {
        let body: serde_json::Value = ureq::get(&format!("{}/v1/charges", self.url))
            .header("authorization", &format!("Bearer {}", self.api_key))
            .call()
            .expect("charges answer")
            .body_mut()
            .read_json()
            .expect("JSON");
        body["data"].as_array().cloned().expect("a list of charges")
    }
}

impl Drop for PaySandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response header as text (empty when absent).
pub fn header(res: &ureq::http::Response<ureq::Body>, name: &str) -> String {
    res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// The CSRF token of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[start..].split('"').next().expect("token").to_owned()
}

/// Issues a one-time enrolment code with `fieldseal admin`, as an administrator does.
pub fn issue_code(data: &Path, backend: &Backend) -> String {
    let mut cmd = Command::new(bin("fieldseal"));
    cmd.args(["admin", "--data"]).arg(data).args(["issue-code", "--label", "e2e test device"]);
    match backend.url() {
        Some(u) => cmd.env("DATABASE_URL", u),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let out = cmd.output().expect("fieldseal admin runs");
    assert!(out.status.success(), "issue-code failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
}

/// This machine's SIMULATED platform, as the zones the tests start use it (their default
/// platform folder, outside every data folder).
fn simulated_platform() -> fieldseal_enclave::platform::SimulatedPlatform {
    // The debug enclave binary is hundreds of megabytes: hash it once per test process.
    static MEASUREMENT: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    let measurement = *MEASUREMENT.get_or_init(|| {
        fieldseal_core::seal::sha256(&std::fs::read(bin("fieldseal-enclave")).expect("enclave binary"))
    });
    let dir = fieldseal_enclave::platform::default_platform_dir().expect("a platform folder");
    fieldseal_enclave::platform::SimulatedPlatform::load_or_create(&dir, measurement)
        .expect("the server's enclave made its platform root")
}

/// The policy an app would ship for the enclaves the tests start: the
/// SIMULATED platform's key (from the machine's root file) and the measurement of the built
/// enclave.
pub fn policy_for() -> AttestationPolicy {
    use fieldseal_enclave::platform::Platform as _;
    let platform = simulated_platform();
    let measurement = platform.measurement();
    AttestationPolicy {
        roots: vec![PinnedRoot { platform: SIMULATED_PLATFORM.into(), key: platform.root_key() }],
        measurements: vec![measurement],
        accept_simulated: true,
    }
}

/// The enclave's private key, unsealed from the server's data folder with the machine's
/// SIMULATED platform root: only tests do this, to check that what the portal sealed opens for
/// the enclave.
pub fn enclave_key_for(data: &Path) -> Box<fieldseal_core::seal::EnclaveSecretKey> {
    use fieldseal_enclave::platform::Platform as _;
    let platform = simulated_platform();
    let (key, created) = fieldseal_enclave::keys::load_or_create(&data.join("enclave-keys"), &platform.sealing_key())
        .expect("the sealed enclave key opens");
    assert!(!created, "the enclave had made its key already");
    key
}

/// Whether `needle` occurs in any readable mapping of process `pid`.
pub fn process_memory_contains(pid: u32, needle: &[u8]) -> bool {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).expect("mem");
    for line in maps.lines() {
        let mut parts = line.split_whitespace();
        let (Some(range), Some(perms)) = (parts.next(), parts.next()) else { continue };
        if !perms.starts_with('r') || line.ends_with("[vvar]") || line.ends_with("[vsyscall]") {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else { continue };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) else { continue };
        let mut buf = vec![0u8; (end - start) as usize];
        if mem.seek(std::io::SeekFrom::Start(start)).is_err() || mem.read_exact(&mut buf).is_err() {
            continue;
        }
        if memchr::memmem::find(&buf, needle).is_some() {
            return true;
        }
    }
    false
}
