//! `fieldseal serve`: checks the data folder and the port, starts the enclave as a child
//! process (or attaches to a running one), opens and migrates the database, and serves the API.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::blobs::LocalBlobStore;
use crate::db::{Backend, Db, DbError};
use crate::enclave_client::EnclaveClient;
use crate::relay::Relay;
use crate::settings::{self, SettingsError};

/// How the server starts.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Data folder (database file, blobs, keys, enclave key folder).
    pub data: PathBuf,
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// Port of the web relay to the sealed zone's HTTPS (0: any free port; `None`: no relay).
    pub web_port: Option<u16>,
    /// `postgres://…` or `sqlite:…`; the SQLite file in the data folder when absent.
    pub database_url: Option<String>,
    /// Attach to an enclave already listening here instead of starting one.
    pub enclave_socket: Option<PathBuf>,
    /// The enclave executable (default: `fieldseal-enclave` next to this program).
    pub enclave_bin: Option<PathBuf>,
    /// The portal's public `https://` address (default: `https://` and the web relay's address).
    pub public_url: Option<String>,
    /// Idle time-out of a portal session (default 10 minutes).
    pub session_idle: Option<Duration>,
    /// The authority's public key (hex) for the zone to pin at its first start.
    pub authority_key: Option<String>,
}

/// Why the server did not start, each with what to do.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data folder cannot be used.
    #[error("the data folder {path} is not usable ({source}); choose another with --data DIR or fix its permissions")]
    DataFolder { path: PathBuf, source: std::io::Error },
    /// The port is taken.
    #[error("port {port} on {bind} is already in use; stop the other program or choose another with --port")]
    PortBusy { bind: IpAddr, port: u16 },
    /// Listening failed otherwise.
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    /// The enclave program is missing or does not start.
    #[error("cannot start the enclave: {0}")]
    EnclaveStart(String),
    /// The enclave does not answer.
    #[error("the enclave at {socket} does not answer ({reason}); check that fieldseal-enclave runs and its log")]
    EnclaveNoAnswer { socket: PathBuf, reason: String },
    /// The enclave answers but is not confined.
    #[error("the enclave answers but its sandbox self-check failed: refusing to serve")]
    EnclaveUnconfined,
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A settings file.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The payment provider settings.
    #[error("{0}")]
    Payments(String),
    /// The deadline policy file.
    #[error("{0} (in the data folder)")]
    Policy(String),
}

/// A running server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where the web relay to the sealed zone listens, when it runs.
    pub web_addr: Option<SocketAddr>,
    /// The relay behind the API.
    pub relay: Arc<Relay>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    web_task: Option<tokio::task::JoinHandle<()>>,
    /// The connections answering the zone's store line.
    store_tasks: Vec<tokio::task::JoinHandle<()>>,
    enclave: Option<tokio::process::Child>,
}

/// The zone's web socket beside its control socket (`enclave.sock` -> `enclave.web.sock`).
pub fn zone_web_socket(control: &Path) -> PathBuf {
    control.with_extension("web.sock")
}

/// The zone's store socket beside its control socket (`enclave.sock` -> `enclave.store.sock`):
/// the host dials it and answers what the zone's pages ask of its storage.
pub fn zone_store_socket(control: &Path) -> PathBuf {
    control.with_extension("store.sock")
}

impl Server {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The sealed zone's pages, `https://…` through the web relay, when it runs.
    pub fn web_url(&self) -> Option<String> {
        self.web_addr.map(|a| format!("https://{a}"))
    }

    /// The enclave child's process id, when this server started it.
    pub fn enclave_pid(&self) -> Option<u32> {
        self.enclave.as_ref().and_then(tokio::process::Child::id)
    }

    /// Stops serving (in-flight requests finish), stops the enclave child, closes the database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        if let Some(web) = self.web_task.take() {
            web.abort();
        }
        for task in self.store_tasks.drain(..) {
            task.abort();
        }
        if let Some(mut child) = self.enclave.take() {
            let _ = child.kill().await;
        }
        self.relay.db.close().await;
    }

    /// Serves until Ctrl-C or SIGTERM, then stops.
    pub async fn run_until_signal(self) {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        eprintln!("fieldseal: stopping");
        self.stop().await;
    }
}

fn check_data_folder(data: &Path) -> Result<PathBuf, ServeError> {
    let err = |source| ServeError::DataFolder { path: data.to_path_buf(), source };
    std::fs::create_dir_all(data).map_err(err)?;
    let data = data.canonicalize().map_err(err)?;
    let probe = data.join(".write-test");
    std::fs::write(&probe, b"ok").and_then(|()| std::fs::remove_file(&probe)).map_err(err)?;
    Ok(data)
}

fn enclave_program(opts: &ServeOptions) -> Result<PathBuf, ServeError> {
    if let Some(p) = &opts.enclave_bin {
        return Ok(p.clone());
    }
    let exe = std::env::current_exe().map_err(|e| ServeError::EnclaveStart(e.to_string()))?;
    let beside = exe.with_file_name("fieldseal-enclave");
    // Test binaries live one folder deeper (target/debug/deps).
    let above = exe.parent().and_then(Path::parent).map(|p| p.join("fieldseal-enclave"));
    [Some(beside), above].into_iter().flatten().find(|p| p.is_file()).ok_or_else(|| {
        ServeError::EnclaveStart(
            "fieldseal-enclave is not next to fieldseal: build both (cargo build --workspace --bins) or pass --enclave-bin PATH"
                .into(),
        )
    })
}

async fn wait_for_enclave(client: &EnclaveClient, deadline: Duration) -> Result<(), ServeError> {
    let started = Instant::now();
    loop {
        match client.health().await {
            Ok(h) if h.sandbox.all_hold() => return Ok(()),
            Ok(_) => return Err(ServeError::EnclaveUnconfined),
            Err(e) if started.elapsed() > deadline => {
                return Err(ServeError::EnclaveNoAnswer {
                    socket: client.socket().to_path_buf(),
                    reason: e.to_string(),
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Starts everything and returns once the API answers.
pub async fn start(opts: &ServeOptions) -> Result<Server, ServeError> {
    let data = check_data_folder(&opts.data)?;
    let addr = SocketAddr::new(opts.bind, opts.port);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            ServeError::PortBusy { bind: opts.bind, port: opts.port }
        } else {
            ServeError::Listen { addr, source }
        }
    })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen { addr, source })?;
    let web_listener = match opts.web_port {
        Some(port) => {
            let web = SocketAddr::new(opts.bind, port);
            let l = tokio::net::TcpListener::bind(web).await.map_err(|source| {
                if source.kind() == std::io::ErrorKind::AddrInUse {
                    ServeError::PortBusy { bind: opts.bind, port }
                } else {
                    ServeError::Listen { addr: web, source }
                }
            })?;
            Some(l)
        }
        None => None,
    };

    let (socket, child) = match &opts.enclave_socket {
        Some(s) => (s.clone(), None),
        None => {
            let program = enclave_program(opts)?;
            let socket = data.join("enclave.sock");
            let mut command = tokio::process::Command::new(&program);
            command
                .arg("--socket")
                .arg(&socket)
                .arg("--key-dir")
                .arg(data.join("enclave-keys"))
                .arg("--exit-with-parent");
            if let Some(key) = &opts.authority_key {
                command.arg("--authority-key").arg(key);
            }
            if web_listener.is_some() {
                command.arg("--web-socket").arg(zone_web_socket(&socket));
                command.arg("--store-socket").arg(zone_store_socket(&socket));
            }
            let child = command
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| ServeError::EnclaveStart(format!("{}: {e}", program.display())))?;
            (socket, Some(child))
        }
    };
    if child.is_some() {
        tracing::warn!(
            "the sealed zone runs as this process's own child under the same user: that user (and root) can read \
             its keys and memory, so nothing is isolated from them. For the isolation the design promises, run \
             the zone as its own user (docs/design.md, \"Two users\")"
        );
    }
    let enclave = EnclaveClient::new(&socket, 4, Duration::from_secs(30));
    wait_for_enclave(&enclave, Duration::from_secs(20)).await?;

    let policy = match std::fs::read_to_string(data.join("policy.json")) {
        Ok(text) => {
            fieldseal_office::policy::Policy::from_json(&text).map_err(|e| ServeError::Policy(e.to_string()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fieldseal_office::policy::Policy::default(),
        Err(source) => return Err(ServeError::DataFolder { path: data.join("policy.json"), source }),
    };
    tracing::info!(policy = policy.name(), "deadline policy");
    let db = Db::open(opts.database_url.as_deref(), &data).await?.with_policy(policy);
    let blobs = LocalBlobStore::open(&data.join("blobs"))
        .map_err(|source| ServeError::DataFolder { path: data.join("blobs"), source })?;
    let web_addr = match &web_listener {
        Some(l) => Some(l.local_addr().map_err(|source| ServeError::Listen { addr, source })?),
        None => None,
    };
    // The zone's pages, and where notices send citizens (the host's address when no zone serves).
    let zone_url = web_addr.map(|web| match &opts.public_url {
        Some(u) if u.starts_with("https://") => u.trim_end_matches('/').to_owned(),
        _ => format!("https://{web}"),
    });
    let issued = settings::issued(&data, zone_url.as_deref().unwrap_or(&format!("http://{addr}")))?;
    let relay = Arc::new(Relay::new(db, Arc::new(blobs), enclave, issued, settings::receipt_key(&data)?));

    let (tx, rx) = oneshot::channel::<()>();
    let provider: Option<Arc<dyn fieldseal_portal::pay::PaymentProvider>> =
        fieldseal_portal::pay::load(&data.join("payments.json"))
            .map_err(|e| ServeError::Payments(e.to_string()))?
            .map(Arc::from);
    if provider.is_none() {
        tracing::info!("no payments.json in the data folder: online card payment is off (bank transfer only)");
    }
    let idle = opts.session_idle.unwrap_or(fieldseal_portal::web::session::IDLE);
    let store = zone_url.clone().map(|zone_url| {
        let settings = fieldseal_portal::remote::ZoneSettings {
            payee: relay.issued.payee.clone(),
            offences: relay
                .issued
                .catalogue
                .verify(&relay.issued.issuer_key)
                .map(|c| c.offences().to_vec())
                .unwrap_or_default(),
            public_base_url: zone_url,
            idle_secs: idle.as_secs(),
            provider: provider.as_ref().map(|p| fieldseal_portal::remote::ProviderInfo {
                name: p.name().to_owned(),
                checkout_origin: p.checkout_origin(),
            }),
        };
        crate::zone_store::StoreService::new(Arc::clone(&relay), provider.clone(), settings)
            .run(zone_store_socket(&socket))
    });
    // The citizen and office pages are the zone's; the host takes the provider's webhooks
    // (ledger only) and sends a browser that comes to its address on to the zone's.
    let mut pages =
        fieldseal_portal::web::webhook_router(Arc::new(crate::portal::ServerPortal::new(Arc::clone(&relay))), provider);
    if let Some(zone_url) = zone_url {
        pages = pages.merge(fieldseal_portal::web::redirect_to_zone(zone_url));
    }
    let app = crate::api::app(Arc::clone(&relay), pages).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    let backend = match relay.db.backend() {
        Backend::Sqlite => "SQLite (data folder)",
        Backend::Postgres => "PostgreSQL",
    };
    tracing::info!(%addr, database = backend, "serving");
    let web_task = match (web_listener, web_addr) {
        (Some(l), Some(web_addr)) => {
            tracing::info!(%web_addr, "relaying the web to the sealed zone (TLS ends inside it)");
            Some(tokio::spawn(crate::web_relay::run(l, zone_web_socket(&socket))))
        }
        _ => None,
    };
    Ok(Server {
        addr,
        web_addr,
        relay,
        shutdown: Some(tx),
        task,
        web_task,
        store_tasks: store.unwrap_or_default(),
        enclave: child,
    })
}
