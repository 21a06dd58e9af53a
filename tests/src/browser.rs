//! A real headless Chromium, driven over WebDriver (chromedriver), for the web-page tests.
//!
//! [`Browser::start`] finds Chromium and chromedriver (`bash scripts/browser.sh` installs them),
//! starts chromedriver on a free loopback port and opens a session with a fresh profile. Its
//! methods block, so tests stay plain synchronous code. Screenshots are kept as test artefacts in
//! `target/test-artefacts/<test name>/NN-<step>.png`. A missing browser is an error, never a skip.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use thirtyfour::error::WebDriverError;
use thirtyfour::prelude::*;
use thirtyfour::{Cookie, LoggingPrefsLogLevel};

/// Where Debian's `chromium` package puts the real browser (`/usr/bin/chromium` is a shell wrapper).
const DEFAULT_CHROMIUM: &str = "/usr/lib/chromium/chromium";
/// Where Debian's `chromium-driver` package puts chromedriver.
const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long chromedriver may take to answer `/status` as ready.
const DRIVER_START: Duration = Duration::from_secs(30);
/// The longest any one WebDriver request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`Browser::wait_for`] waits.
const WAIT: Duration = Duration::from_secs(10);

/// What went wrong while driving the browser; each message names the step, selector or URL.
#[derive(Debug)]
pub enum BrowserError {
    /// Chromium or chromedriver is not installed (or an override points nowhere).
    NotInstalled {
        /// What was looked for, and where.
        missing: String,
    },
    /// chromedriver or the browser session did not start.
    Start {
        /// What failed, with the end of chromedriver's log.
        detail: String,
    },
    /// A WebDriver command failed.
    Step {
        /// The step, with its selector or URL (`click \`#send\``).
        step: String,
        /// What the driver said.
        source: Box<WebDriverError>,
    },
    /// The window could not be given the viewport asked for.
    Window {
        /// What was asked for and what came.
        detail: String,
    },
    /// Something awaited did not happen in time.
    Timeout {
        /// What was awaited, and where.
        step: String,
    },
    /// A file could not be written or read.
    Io {
        /// Which file, and why it was touched.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An image could not be decoded, or held no readable QR code.
    Image {
        /// What failed.
        detail: String,
    },
}

impl fmt::Display for BrowserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotInstalled { missing } => {
                write!(f, "headless Chromium is not installed: run `bash scripts/browser.sh` ({missing})")
            }
            Self::Start { detail } => write!(f, "the browser did not start: {detail}"),
            Self::Step { step, source } => write!(f, "browser step failed: {step}: {source}"),
            Self::Window { detail } => write!(f, "the browser window could not be sized: {detail}"),
            Self::Timeout { step } => write!(f, "timed out: {step}"),
            Self::Io { what, source } => write!(f, "{what}: {source}"),
            Self::Image { detail } => write!(f, "{detail}"),
        }
    }
}

impl std::error::Error for BrowserError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Step { source, .. } => Some(source.as_ref()),
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Results of browser steps.
pub type Result<T, E = BrowserError> = std::result::Result<T, E>;

/// A headless Chromium with its own chromedriver and a fresh profile; all are gone on drop.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    driver: WebDriver,
    chromedriver: Child,
    /// The temp folder holding the profile and chromedriver's log.
    scratch: PathBuf,
    artefacts: PathBuf,
    test_name: String,
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Browser").field("artefacts", &self.artefacts).finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium whose viewport is `width` × `height`.
    /// Screenshots go to `target/test-artefacts/<test_name>/`, which the first browser of that name
    /// in this test process empties; further browsers of the same name continue its numbering.
    pub fn start(test_name: &str, width: u32, height: u32) -> Result<Self> {
        Self::start_with(test_name, width, height, &[])
    }

    /// As [`Browser::start`], with more Chromium command-line switches (e.g. the sealed zone's
    /// `--ignore-certificate-errors-spki-list=…` pin).
    pub fn start_with(test_name: &str, width: u32, height: u32, switches: &[String]) -> Result<Self> {
        let chromium = find_chromium()?;
        let chromedriver_bin = find_chromedriver()?;
        let test_name = sanitize(test_name);
        let artefacts = target_dir().join("test-artefacts").join(&test_name);
        if first_browser_of(&test_name) {
            // Stale shots from an earlier run would be mistaken for this run's.
            let _ = std::fs::remove_dir_all(&artefacts);
        }
        std::fs::create_dir_all(&artefacts)
            .map_err(|source| BrowserError::Io { what: format!("creating {}", artefacts.display()), source })?;

        let scratch = scratch_dir(&test_name)?;
        let profile = scratch.join("profile");
        let log_path = scratch.join("chromedriver.log");
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(source) => {
                let _ = std::fs::remove_dir_all(&scratch);
                return Err(BrowserError::Io { what: "building a tokio runtime".into(), source });
            }
        };
        let (mut chromedriver, url) = match spawn_chromedriver(&chromedriver_bin, &log_path) {
            Ok(started) => started,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&scratch);
                return Err(e);
            }
        };

        let session = (|| {
            let mut caps = DesiredCapabilities::chrome();
            let arg_err =
                |e: WebDriverError| BrowserError::Step { step: "building capabilities".into(), source: Box::new(e) };
            caps.set_binary(&chromium.to_string_lossy()).map_err(arg_err)?;
            for arg in [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.display()),
            ]
            .into_iter()
            .chain(switches.iter().map(String::as_str))
            {
                caps.add_arg(arg).map_err(arg_err)?;
            }
            caps.set_browser_log_level(LoggingPrefsLogLevel::All).map_err(arg_err)?;
            rt.block_on(WebDriver::builder(url.clone(), caps).request_timeout(REQUEST_TIMEOUT).connect()).map_err(|e| {
                BrowserError::Start {
                    detail: format!(
                        "no WebDriver session with {} through {url}: {e}\n{}",
                        chromium.display(),
                        log_tail(&log_path)
                    ),
                }
            })
        })();
        let driver = match session {
            Ok(d) => d,
            Err(e) => {
                let _ = chromedriver.kill();
                let _ = chromedriver.wait();
                kill_strays(&profile);
                let _ = std::fs::remove_dir_all(&scratch);
                return Err(e);
            }
        };
        let browser = Self { rt, driver, chromedriver, scratch, artefacts, test_name };
        // `--window-size` sizes the outer window; headless Chromium keeps ~140 px of it for a frame.
        browser.set_window(width, height)?;
        Ok(browser)
    }

    /// The folder this browser's screenshots go to.
    pub fn artefacts_dir(&self) -> &Path {
        &self.artefacts
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) -> Result<()> {
        self.step(format!("open {url}"), self.driver.goto(url))
    }

    /// The URL of the page now shown.
    pub fn current_url(&self) -> Result<String> {
        self.step("read the current URL".into(), self.driver.current_url()).map(String::from)
    }

    /// The page title.
    pub fn title(&self) -> Result<String> {
        self.step("read the page title".into(), self.driver.title())
    }

    /// The rendered text of the first element matching `css`.
    pub fn text(&self, css: &str) -> Result<String> {
        self.step(format!("read the text of `{css}`"), async { self.find(css).await?.text().await })
    }

    /// Attribute `name` of the first element matching `css` (`None` when it has none).
    pub fn attr(&self, css: &str, name: &str) -> Result<Option<String>> {
        self.step(format!("read attribute `{name}` of `{css}`"), async { self.find(css).await?.attr(name).await })
    }

    /// The current `value` of the form field matching `css` (what the user typed).
    pub fn value(&self, css: &str) -> Result<Option<String>> {
        self.step(format!("read the value of `{css}`"), async { self.find(css).await?.value().await })
    }

    /// Whether any element matches `css` now (no waiting).
    pub fn exists(&self, css: &str) -> Result<bool> {
        self.step(format!("look for `{css}`"), async { Ok(!self.driver.find_all(By::Css(css)).await?.is_empty()) })
    }

    /// Waits up to 10 s for an element matching `css` to appear (after a navigation or script).
    pub fn wait_for(&self, css: &str) -> Result<()> {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.exists(css)? {
                return Ok(());
            }
            if Instant::now() > deadline {
                let url = self.current_url().unwrap_or_default();
                return Err(BrowserError::Timeout { step: format!("`{css}` did not appear on {url} within {WAIT:?}") });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits up to 10 s for the first element matching `css` to hold `text` (after a click that
    /// loads a page showing the same element with other text: the old page's element may still be
    /// there, or go stale while it is read).
    pub fn wait_for_text(&self, css: &str, text: &str) -> Result<String> {
        let deadline = Instant::now() + WAIT;
        let mut last = String::new();
        loop {
            if let Ok(found) = self.text(css) {
                if found.contains(text) {
                    return Ok(found);
                }
                last = found;
            }
            if Instant::now() > deadline {
                let url = self.current_url().unwrap_or_default();
                return Err(BrowserError::Timeout {
                    step: format!("`{css}` did not say {text:?} on {url} within {WAIT:?} (it said {last:?})"),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks the first element matching `css`.
    pub fn click(&self, css: &str) -> Result<()> {
        self.step(format!("click `{css}`"), async { self.find(css).await?.click().await })
    }

    /// Clears the field matching `css` and types `text` into it, key by key.
    pub fn type_into(&self, css: &str, text: &str) -> Result<()> {
        self.step(format!("type into `{css}`"), async {
            let el = self.find(css).await?;
            el.clear().await?;
            el.send_keys(text).await
        })
    }

    /// Chooses the file at `path` in the `<input type=file>` matching `css`, as a user picking it does.
    pub fn attach_file(&self, css: &str, path: &Path) -> Result<()> {
        let abs = std::path::absolute(path)
            .map_err(|source| BrowserError::Io { what: format!("resolving {}", path.display()), source })?;
        if !abs.is_file() {
            return Err(BrowserError::Io {
                what: format!("attaching {} to `{css}`", abs.display()),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        self.step(format!("attach {} to `{css}`", abs.display()), async {
            self.find(css).await?.send_keys(abs.to_string_lossy().into_owned()).await
        })
    }

    /// Submits the form matching `css` as its submit button would (`requestSubmit`, so constraint
    /// validation and submit handlers run). Follow with [`Browser::wait_for`] when it navigates.
    pub fn submit_form(&self, css: &str) -> Result<()> {
        self.step(format!("submit the form `{css}`"), async {
            let form = self.find(css).await?;
            self.driver.execute("arguments[0].requestSubmit()", vec![form.to_json()?]).await.map(drop)
        })
    }

    /// Presses Tab on whatever has the keyboard focus, as a keyboard-only user does.
    pub fn press_tab(&self) -> Result<()> {
        self.press(Key::Tab, "Tab")
    }

    /// Presses Enter on whatever has the keyboard focus.
    pub fn press_enter(&self) -> Result<()> {
        self.press(Key::Enter, "Enter")
    }

    fn press(&self, key: Key, name: &str) -> Result<()> {
        self.step(format!("press {name}"), self.driver.action_chain().send_keys(key).perform())
    }

    /// The `id` of the element with the keyboard focus (empty when it has none, or for `<body>`).
    pub fn focused_element_id(&self) -> Result<String> {
        let v = self.eval("const a = document.activeElement; return a && a !== document.body ? a.id : '';")?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Runs `js` as a function body in the page and returns what it `return`s, as JSON
    /// (`return document.querySelector('img').naturalWidth`).
    pub fn eval(&self, js: &str) -> Result<serde_json::Value> {
        let short: String = js.chars().take(80).collect();
        self.step(format!("run script `{short}`"), async { Ok(self.driver.execute(js, vec![]).await?.json().clone()) })
    }

    /// Goes back one page in the history.
    pub fn back(&self) -> Result<()> {
        self.step("go back".into(), self.driver.back())
    }

    /// Resizes the window so that the page's viewport (what layout and screenshots see) is
    /// `width` × `height` CSS pixels.
    pub fn set_window(&self, width: u32, height: u32) -> Result<()> {
        let frame =
            self.eval("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]")?;
        let extra = |i: usize| frame[i].as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
        let (w, h) = (width + extra(0), height + extra(1));
        self.step(format!("resize the window to {width}x{height}"), self.driver.set_window_rect(0, 0, w, h))?;
        let inner = self.eval("return [window.innerWidth, window.innerHeight]")?;
        if inner != serde_json::json!([width, height]) {
            return Err(BrowserError::Window { detail: format!("asked for a {width}x{height} viewport, got {inner}") });
        }
        Ok(())
    }

    /// Saves a screenshot of the viewport as `NN-<step>.png` among the test's artefacts and returns
    /// (and prints) its path.
    pub fn screenshot(&self, step: &str) -> Result<PathBuf> {
        let png = self.step(format!("screenshot `{step}`"), self.driver.screenshot_as_png())?;
        let n = next_shot(&self.test_name);
        let path = self.artefacts.join(format!("{n:02}-{}.png", sanitize(step)));
        std::fs::write(&path, png)
            .map_err(|source| BrowserError::Io { what: format!("saving {}", path.display()), source })?;
        println!("screenshot: {}", path.display());
        Ok(path)
    }

    /// A PNG screenshot of just the first element matching `css`.
    pub fn element_png(&self, css: &str) -> Result<Vec<u8>> {
        self.step(format!("screenshot `{css}`"), async { self.find(css).await?.screenshot_as_png().await })
    }

    /// The cookies the page can see, with their flags (`http_only`, `secure`, `same_site`).
    pub fn cookies(&self) -> Result<Vec<Cookie>> {
        self.step("read cookies".into(), self.driver.get_all_cookies())
    }

    /// Console errors and uncaught exceptions since the last call (chromedriver's `SEVERE` entries).
    pub fn console_errors(&self) -> Result<Vec<String>> {
        let log = self.step("read the browser console".into(), self.driver.browser_log())?;
        Ok(log.into_iter().filter(|e| e.level == "SEVERE").map(|e| e.message).collect())
    }

    async fn find(&self, css: &str) -> WebDriverResult<WebElement> {
        self.driver.find(By::Css(css)).await
    }

    fn step<T>(&self, step: String, fut: impl Future<Output = WebDriverResult<T>>) -> Result<T> {
        self.rt.block_on(fut).map_err(|e| BrowserError::Step { step, source: Box::new(e) })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Quit through a clone: they share one session handle, so the field's own drop sees it quit.
        if self.rt.block_on(self.driver.clone().quit()).is_err() {
            // Already gone (the browser crashed): skip thirtyfour's blocking retry on drop.
            let _ = self.driver.clone().leak();
        }
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
        kill_strays(&self.scratch.join("profile"));
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// Decodes the (first) QR code in an image (PNG or JPEG bytes) and returns its text.
pub fn decode_qr(png: &[u8]) -> Result<String> {
    let img = image::load_from_memory(png)
        .map_err(|e| BrowserError::Image { detail: format!("not a readable image ({} bytes): {e}", png.len()) })?;
    let mut prepared = rqrr::PreparedImage::prepare(img.to_luma8());
    let grids = prepared.detect_grids();
    let Some(grid) = grids.first() else {
        return Err(BrowserError::Image {
            detail: format!("no QR code found in a {}x{} image", img.width(), img.height()),
        });
    };
    grid.decode()
        .map(|(_, text)| text)
        .map_err(|e| BrowserError::Image { detail: format!("a QR code was found but does not decode: {e}") })
}

/// The Chromium binary: `FIELDSEAL_CHROMIUM`, Debian's real binary, or one on `PATH`.
fn find_chromium() -> Result<PathBuf> {
    find_binary("FIELDSEAL_CHROMIUM", DEFAULT_CHROMIUM, &["chromium", "chromium-browser", "google-chrome"], "Chromium")
}

/// The chromedriver binary: `FIELDSEAL_CHROMEDRIVER`, Debian's, or one on `PATH`.
fn find_chromedriver() -> Result<PathBuf> {
    find_binary("FIELDSEAL_CHROMEDRIVER", DEFAULT_CHROMEDRIVER, &["chromedriver"], "chromedriver")
}

fn find_binary(env: &str, default: &str, names: &[&str], what: &str) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(BrowserError::NotInstalled { missing: format!("{env}={} is not a file", p.display()) })
        };
    }
    if Path::new(default).is_file() {
        return Ok(PathBuf::from(default));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(BrowserError::NotInstalled {
        missing: format!("no {what} at {default}, none of {} on PATH, and {env} is not set", names.join(", ")),
    })
}

/// Starts chromedriver on a free loopback port and waits until `/status` says it is ready;
/// returns it and its URL. A port taken between choosing and binding is retried.
fn spawn_chromedriver(bin: &Path, log_path: &Path) -> Result<(Child, String)> {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        let log = std::fs::File::create(log_path)
            .map_err(|source| BrowserError::Io { what: format!("creating {}", log_path.display()), source })?;
        let err_log = log
            .try_clone()
            .map_err(|source| BrowserError::Io { what: format!("opening {}", log_path.display()), source })?;
        let mut child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .spawn()
            .map_err(|e| BrowserError::Start { detail: format!("{} does not run: {e}", bin.display()) })?;
        let url = format!("http://127.0.0.1:{port}");
        match wait_ready(&mut child, &url) {
            Ok(()) => return Ok((child, url)),
            Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                last = format!("{} on port {port}: {why}\n{}", bin.display(), log_tail(log_path));
            }
        }
    }
    Err(BrowserError::Start { detail: last })
}

fn wait_ready(child: &mut Child, url: &str) -> std::result::Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(2))).build().into();
    let deadline = Instant::now() + DRIVER_START;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited with {status}"));
        }
        match agent.get(format!("{url}/status")).call() {
            Ok(mut resp) => match resp.body_mut().read_json::<serde_json::Value>() {
                Ok(v) if v["value"]["ready"] == serde_json::Value::Bool(true) => return Ok(()),
                Ok(v) => last = format!("not ready yet: {v}"),
                Err(e) => last = format!("unreadable /status: {e}"),
            },
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("/status not ready after {DRIVER_START:?} ({last})"))
}

fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|source| BrowserError::Io { what: "finding a free loopback port".into(), source })
}

/// The last lines of chromedriver's log, for error messages.
fn log_tail(log_path: &Path) -> String {
    let text = std::fs::read_to_string(log_path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    format!("chromedriver log ({}):\n{}", log_path.display(), lines[lines.len().saturating_sub(20)..].join("\n"))
}

/// Kills any browser process still using `profile` (left behind when the session could not quit).
/// The profile path is unique to one [`Browser`], so this touches only processes it started.
fn kill_strays(profile: &Path) {
    let needle = format!("--user-data-dir={}", profile.display());
    let Ok(procs) = std::fs::read_dir("/proc") else { return };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(cmdline) = std::fs::read(p.path().join("cmdline")) else { continue };
        if cmdline.split(|b| *b == 0).any(|arg| arg == needle.as_bytes()) {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).stderr(Stdio::null()).status();
        }
    }
}

/// Screenshots taken so far per test name in this process, shared by its browsers.
static SHOTS: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());

/// Whether no browser of `test_name` was started in this process before (and notes that one is).
fn first_browser_of(test_name: &str) -> bool {
    let mut shots = SHOTS.lock().unwrap_or_else(PoisonError::into_inner);
    if shots.contains_key(test_name) {
        return false;
    }
    shots.insert(test_name.to_owned(), 0);
    true
}

/// The number of the next screenshot of `test_name`: 1, 2, …
fn next_shot(test_name: &str) -> u32 {
    let mut shots = SHOTS.lock().unwrap_or_else(PoisonError::into_inner);
    let n = shots.entry(test_name.to_owned()).or_insert(0);
    *n += 1;
    *n
}

/// A fresh, empty temp folder for one browser (profile and chromedriver log).
fn scratch_dir(test_name: &str) -> Result<PathBuf> {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "fieldseal-browser-{}-{}-{}-{}",
        sanitize(test_name),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos.unwrap_or_default()
    ));
    std::fs::create_dir_all(dir.join("profile"))
        .map_err(|source| BrowserError::Io { what: format!("creating {}", dir.display()), source })?;
    Ok(dir)
}

/// The workspace's target folder: `CARGO_TARGET_DIR` (relative to the workspace root when
/// relative), else `<workspace>/target`.
fn target_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().unwrap_or(manifest);
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(d) => workspace.join(d),
        None => workspace.join("target"),
    }
}

/// `name` with anything but letters, digits, `-` and `_` turned into `-`, for file names.
fn sanitize(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    if s.is_empty() { "unnamed".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_browser_is_an_error_that_says_what_to_run() {
        let err =
            find_binary("FIELDSEAL_TEST_NEVER_SET", "/nonexistent/chromium", &["no-such-browser-here"], "Chromium")
                .expect_err("nothing to find");
        let msg = err.to_string();
        assert!(msg.starts_with("headless Chromium is not installed: run `bash scripts/browser.sh`"), "{msg}");
        assert!(msg.contains("/nonexistent/chromium") && msg.contains("no-such-browser-here"), "{msg}");
    }

    #[test]
    fn the_qr_fixture_decodes_and_a_blank_image_does_not() {
        assert_eq!(decode_qr(include_bytes!("../fixtures/qr-hello.png")).expect("decodes"), "hello, fieldseal");
        let blank = image::GrayImage::from_pixel(64, 64, image::Luma([255]));
        let mut png = std::io::Cursor::new(Vec::new());
        blank.write_to(&mut png, image::ImageFormat::Png).expect("encodes");
        assert!(decode_qr(png.get_ref()).is_err());
        assert!(decode_qr(b"not an image").is_err());
    }

    #[test]
    fn browsers_of_one_test_share_its_screenshot_numbering() {
        assert!(first_browser_of("numbering-test"));
        assert_eq!((next_shot("numbering-test"), next_shot("numbering-test")), (1, 2));
        assert!(!first_browser_of("numbering-test"), "a second browser does not empty the folder");
        assert_eq!(next_shot("numbering-test"), 3);
        assert_eq!(next_shot("another-test"), 1);
    }

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(sanitize("page loaded/../x"), "page-loaded----x");
        assert_eq!(sanitize(""), "unnamed");
    }
}
