//! The `fieldseal` command.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fieldseal_server::{admin, db, demo, serve};

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
    },
    /// Administration: enrolment codes, devices and back-office clerks.
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
    /// Create a back-office clerk account; the password is read from standard input.
    AddClerk {
        /// Sign-in name: 3 to 64 characters of a-z, 0-9, '.', '_', '-'.
        #[arg(long)]
        username: String,
        /// clerk (payments, exceptions, opening cases with a purpose), supervisor (also withdrawals,
        /// refunds, book-outs, the deadline run, exports, the audit log) or admin.
        #[arg(long, default_value = "clerk")]
        role: String,
        /// Also require a TOTP code from an authenticator app at sign-in (prints the secret once).
        #[arg(long)]
        totp: bool,
    },
    /// List back-office clerk accounts.
    Clerks,
    /// Disable a clerk account: no more sign-ins, open sessions end at their next page.
    DisableClerk {
        /// The clerk's sign-in name.
        #[arg(long)]
        username: String,
    },
}

/// Reads a new password: twice, without echo, from a terminal; one line from a pipe.
fn read_password(username: &str) -> Result<zeroize::Zeroizing<String>, String> {
    use std::io::{BufRead as _, IsTerminal as _};
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    let read = |prompt: &str| -> Result<zeroize::Zeroizing<String>, String> {
        if terminal {
            eprint!("{prompt}");
            let _ = std::process::Command::new("stty").arg("-echo").status();
        }
        let mut line = zeroize::Zeroizing::new(String::new());
        let got = stdin.lock().read_line(&mut line);
        if terminal {
            let _ = std::process::Command::new("stty").arg("echo").status();
            eprintln!();
        }
        got.map_err(|e| format!("cannot read the password: {e}"))?;
        let trimmed = zeroize::Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
        Ok(trimmed)
    };
    let first = read(&format!("password for {username} (at least 12 characters): "))?;
    if terminal {
        let again = read("the same password again: ")?;
        if *again != *first {
            return Err("the two passwords differ; run the command again".into());
        }
    }
    Ok(first)
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
        Command::Serve { data, port, web_port, bind, enclave_socket, enclave_bin, public_url, session_idle_secs } => {
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
                        AdminAction::AddClerk { username, role, totp } => {
                            let role = fieldseal_office::auth::Role::parse(&role).map_err(|e| e.to_string())?;
                            let password = read_password(&username)?;
                            let clerk = admin::add_clerk(&db, &username, role, &password, totp)
                                .await
                                .map_err(|e| e.to_string())?;
                            println!("clerk {username} created (id {}, role {})", clerk.id, role.as_str());
                            if let Some(secret) = clerk.totp {
                                println!("TOTP secret (enter it in the authenticator app, shown once): {}", *secret.to_base32());
                                println!("{}", fieldseal_office::auth::otpauth_uri(&secret, "fieldseal", &username));
                            }
                        }
                        AdminAction::DisableClerk { username } => {
                            let done = admin::disable_clerk(&db, &username).await.map_err(|e| e.to_string())?;
                            if !done {
                                return Err(format!(
                                    "no active clerk is named {username:?}; `fieldseal admin clerks` lists them"
                                ));
                            }
                            println!("clerk {username} disabled");
                        }
                        AdminAction::Clerks => {
                            println!("id    role        TOTP  disabled  user name");
                            for c in admin::clerks(&db).await.map_err(|e| e.to_string())? {
                                println!(
                                    "{:<5} {:<11} {:<5} {:<9} {}",
                                    c.id,
                                    c.role.as_str(),
                                    if c.totp_secret.is_some() { "yes" } else { "no" },
                                    if c.disabled { "yes" } else { "no" },
                                    c.username
                                );
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
