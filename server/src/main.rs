//! The `fieldseal` command.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fieldseal_server::{admin, authority, db, demo, serve};

/// fieldseal: traffic and parking offences captured offline, sealed on the device, readable only by the enclave.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start enclave and server, enrol a simulated officer device, capture tickets offline, sync them, show what happened.
    Demo {
        /// Data folder (created if missing).
        #[arg(long, env = "FIELDSEAL_DATA", default_value = "fieldseal-data")]
        data: PathBuf,
        /// Number of tickets to capture.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        tickets: u32,
        /// Plate used for every case (for canary checks), e.g. "B-FS 2026".
        #[arg(long)]
        plate: Option<String>,
        /// Finish and exit instead of serving afterwards.
        #[arg(long)]
        exit: bool,
        /// Port of the server (0: any free port).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Run the relay server; it starts the enclave as a child process.
    Serve {
        /// Data folder: database file, photo blobs, keys, the enclave's key folder.
        #[arg(long, env = "FIELDSEAL_DATA", default_value = "fieldseal-data")]
        data: PathBuf,
        /// Port to listen on (device API, health).
        #[arg(long, env = "FIELDSEAL_PORT", default_value_t = 8080)]
        port: u16,
        /// Port of the HTTPS relay to the sealed zone's pages (TLS ends inside the zone).
        #[arg(long, env = "FIELDSEAL_WEB_PORT", default_value_t = 8443)]
        web_port: u16,
        /// Address to listen on.
        #[arg(long, env = "FIELDSEAL_BIND", default_value = "127.0.0.1")]
        bind: IpAddr,
        /// Attach to an enclave already listening on this socket instead of starting one.
        #[arg(long, env = "FIELDSEAL_ENCLAVE_SOCKET")]
        enclave_socket: Option<PathBuf>,
        /// The enclave program (default: fieldseal-enclave next to this program).
        #[arg(long, env = "FIELDSEAL_ENCLAVE_BIN")]
        enclave_bin: Option<PathBuf>,
        /// The https:// address citizens reach the portal at, e.g. https://bussgeld.example (the sealed zone's pages behind --web-port; default: https:// and this server's web address).
        #[arg(long, env = "FIELDSEAL_PUBLIC_URL")]
        public_url: Option<String>,
        /// End a portal session after this many seconds without a request (default 600).
        #[arg(long, env = "FIELDSEAL_SESSION_IDLE_SECS", value_parser = clap::value_parser!(u64).range(2..=86_400))]
        session_idle_secs: Option<u64>,
        /// The authority's public key (from `fieldseal authority new-key`), pinned by the zone at
        /// its first start; it signs the back office's first administrator. Never replaced.
        #[arg(long, env = "FIELDSEAL_AUTHORITY_KEY")]
        authority_key: Option<String>,
    },
    /// The authority (the data controller), on its own machine: its key and the first
    /// administrator's statement.
    Authority {
        #[command(subcommand)]
        action: AuthorityAction,
    },
    /// Administration: enrolment codes, devices and the list of back-office accounts.
    Admin {
        /// Data folder of the server (before or after the action).
        #[arg(long, env = "FIELDSEAL_DATA", default_value = "fieldseal-data", global = true)]
        data: PathBuf,
        #[command(subcommand)]
        action: AdminAction,
    },
    /// The audit log: check its hash chain.
    Audit {
        /// Data folder of the server (before or after the action).
        #[arg(long, env = "FIELDSEAL_DATA", default_value = "fieldseal-data", global = true)]
        data: PathBuf,
        #[command(subcommand)]
        action: AuditAction,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Check the whole chain and name the first broken entry (exit 0 intact, 1 broken, 2 cannot read).
    Verify,
}

#[derive(Subcommand)]
enum AdminAction {
    /// Issue a one-time officer enrolment code.
    IssueCode {
        /// What the code is for, e.g. "unit 4, device 2" (no citizen data).
        #[arg(long)]
        label: String,
        /// Hours until the code expires.
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720))]
        hours: u32,
    },
    /// List enrolled devices.
    Devices,
    /// List back-office clerk accounts (names only: roles and credentials are sealed to the zone;
    /// administrators make and disable accounts in the office, at /office/staff).
    Clerks,
}

#[derive(Subcommand)]
enum AuthorityAction {
    /// Make the authority's key (run it on the authority's own offline machine; keep the file
    /// there). Prints the public key for the zone's --authority-key.
    NewKey {
        /// Where to write the key (mode 0600; an existing file is never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign the statement that makes the back office's first administrator, with a one-time
    /// setup code: hand both to that person, who enters them at /office/setup.
    FirstAdmin {
        /// The authority's key file (from new-key).
        #[arg(long)]
        key: PathBuf,
        /// The zone's public key, 64 hex digits (the office's setup page shows it).
        #[arg(long)]
        zone_key: String,
        /// The administrator's sign-in name: 3 to 64 characters of a-z, 0-9, '.', '_', '-'.
        #[arg(long)]
        username: String,
    },
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| format!("cannot start: {e}"))
}

fn database_url() -> Option<String> {
    std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), String> = match cli.command {
        Command::Demo { data, tickets, plate, exit, port } => {
            init_logging("warn");
            demo::run(&demo::DemoOptions { data, tickets, plate, exit, port, database_url: database_url() })
                .map_err(|e| e.to_string())
        }
        Command::Serve {
            data,
            port,
            web_port,
            bind,
            enclave_socket,
            enclave_bin,
            public_url,
            session_idle_secs,
            authority_key,
        } => {
            init_logging("info");
            let opts = serve::ServeOptions {
                data,
                bind,
                port,
                web_port: Some(web_port),
                database_url: database_url(),
                enclave_socket,
                enclave_bin,
                public_url,
                session_idle: session_idle_secs.map(std::time::Duration::from_secs),
                authority_key,
            };
            runtime().and_then(|rt| {
                rt.block_on(async {
                    let server = serve::start(&opts).await.map_err(|e| e.to_string())?;
                    println!("fieldseal listening on {}", server.url());
                    if let Some(web) = server.web_url() {
                        let health = server.relay.enclave.health().await.map_err(|e| e.to_string())?;
                        let spki = health.attestation.claimed_body().and_then(|b| b.tls_spki_sha256).unwrap_or_default();
                        println!("fieldseal zone pages on {web} (TLS ends in the zone; its key's SHA-256, as attested: {spki})");
                    }
                    server.run_until_signal().await;
                    Ok(())
                })
            })
        }
        Command::Audit { data, action: AuditAction::Verify } => {
            init_logging("warn");
            let url = database_url();
            if url.is_none() && !data.join("server.sqlite3").is_file() {
                eprintln!("error: no database in {}; give the server's data folder with --data", data.display());
                return ExitCode::from(2);
            }
            let verdict = runtime().and_then(|rt| {
                rt.block_on(async {
                    let db = db::Db::open(url.as_deref(), &data).await.map_err(|e| e.to_string())?;
                    let progress = |n: u64| {
                        if n > 0 && n.is_multiple_of(100_000) {
                            eprintln!("checked {n} entries …");
                        }
                    };
                    let verdict = db.verify_audit(progress).await.map_err(|e| e.to_string());
                    db.close().await;
                    verdict
                })
            });
            return match verdict {
                Ok(Ok(v)) => {
                    match v.head_at_ms {
                        Some(at) => println!(
                            "audit log intact: {} entries, last entry {} at {}, head {}",
                            v.entries,
                            v.head_seq,
                            db::format_utc(at),
                            hex::encode(v.head_hash)
                        ),
                        None => println!("audit log intact: 0 entries"),
                    }
                    eprintln!("keep the head elsewhere: only comparing it shows the newest entries were not removed");
                    ExitCode::SUCCESS
                }
                Ok(Err(broken)) => {
                    println!("audit log BROKEN: {broken}");
                    match broken.intact_through {
                        0 => println!("restore the database from a backup and compare, from the first entry on"),
                        n => println!(
                            "restore the database from a backup and compare; the entries before {} are intact",
                            n + 1
                        ),
                    }
                    ExitCode::from(1)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            };
        }
        Command::Authority { action } => match action {
                AuthorityAction::NewKey { out } => authority::new_key(&out).map(|public| {
                    println!("{public}");
                    eprintln!(
                        "authority key written to {} (keep it offline); the line above is its public key: the operator \
                         starts the zone once with --authority-key and it, and the zone never takes another",
                        out.display()
                    );
                }),
                AuthorityAction::FirstAdmin { key, zone_key, username } => {
                    authority::first_admin(&key, &zone_key, &username).map(|(statement, code)| {
                        println!("{statement}");
                        println!("{code}");
                        eprintln!(
                            "first line: the statement; second line: the one-time setup code. Hand both to {username} \
                             (the code by another way than the statement); they enter them at /office/setup and choose a password"
                        );
                    })
                }
        },
        Command::Admin { data, action } => {
            init_logging("warn");
            runtime().and_then(|rt| {
                rt.block_on(async {
                    std::fs::create_dir_all(&data).map_err(|e| format!("cannot use {}: {e}", data.display()))?;
                    let db = db::Db::open(database_url().as_deref(), &data).await.map_err(|e| e.to_string())?;
                    match action {
                        AdminAction::IssueCode { label, hours } => {
                            let code = admin::issue_code(&db, &label, hours).await.map_err(|e| e.to_string())?;
                            println!("{code}");
                            eprintln!("one-time enrolment code for {label:?}, valid {hours} h; enter it in the officer app");
                        }
                        AdminAction::Clerks => {
                            println!("id    record                       user name");
                            for c in admin::clerks(&db).await.map_err(|e| e.to_string())? {
                                let record = if c.sealed.is_some() {
                                    "sealed to the zone"
                                } else {
                                    "none (cannot sign in)"
                                };
                                println!("{:<5} {:<28} {}", c.id, record, c.username);
                            }
                        }
                        AdminAction::Devices => {
                            println!("prefix  device id                         enrolled (unix ms)  envelopes  last seq  label");
                            for d in admin::devices(&db).await.map_err(|e| e.to_string())? {
                                println!(
                                    "{:04}    {}  {:>18}  {:>9}  {:>8}  {}",
                                    d.device_prefix, d.device_id, d.enrolled_at_ms, d.envelopes, d.last_sequence, d.label
                                );
                            }
                        }
                    }
                    db.close().await;
                    Ok(())
                })
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
