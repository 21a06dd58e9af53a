//! `fieldseal-paysandbox`: the sandbox card-payment provider as its own process.

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fieldseal_portal::pay::{check_secret, http_origin};
use fieldseal_portal::sandbox::{self, SandboxConfig};
use tracing_subscriber::EnvFilter;
use zeroize::Zeroizing;

/// A sandbox card-payment provider: checkout sessions, a test payment page and signed webhooks.
/// No real money. State lives in memory and is gone after a restart.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "FIELDSEAL_PAYSANDBOX_BIND", default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port to listen on (0: any free port; the line on stdout tells which).
    #[arg(long, env = "FIELDSEAL_PAYSANDBOX_PORT", default_value_t = 8090)]
    port: u16,
    /// API key callers present as `Authorization: Bearer …` (payments.json `api_key`).
    #[arg(long, env = "FIELDSEAL_PAYSANDBOX_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Webhook signing secret (payments.json `webhook_secret`).
    #[arg(long, env = "FIELDSEAL_PAYSANDBOX_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: String,
    /// Where webhooks are posted, e.g. http://127.0.0.1:8080/pay/webhook/sandbox.
    #[arg(long, env = "FIELDSEAL_PAYSANDBOX_WEBHOOK_URL")]
    webhook_url: String,
    /// Wait before the first webhook attempt, in milliseconds.
    #[arg(long, env = "FIELDSEAL_PAYSANDBOX_WEBHOOK_DELAY_MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=600_000))]
    webhook_delay_ms: u64,
    /// `http://host:port` browsers reach this sandbox at (default: the listening address).
    #[arg(long, env = "FIELDSEAL_PAYSANDBOX_PUBLIC_URL")]
    public_url: Option<String>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let cli = Cli::parse();
    let config = match config(cli.api_key, cli.webhook_secret, cli.webhook_url, cli.webhook_delay_ms, cli.public_url) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("fieldseal-paysandbox: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("fieldseal-paysandbox: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(SocketAddr::new(cli.bind, cli.port), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fieldseal-paysandbox: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(addr: SocketAddr, config: SandboxConfig) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;
    // Listen for SIGTERM before saying "listening": a supervisor may send it right after.
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "fieldseal-paysandbox listening on http://{local}")?;
        stdout.flush()?;
    }
    tracing::info!(webhook_url = %config.webhook_url, "sandbox ready; no real money");
    sandbox::serve(listener, config, shutdown_signal(term)).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal(mut term: Option<tokio::signal::unix::Signal>) {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(term) => { term.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
    tracing::info!("shutting down");
}

fn config(
    api_key: String,
    webhook_secret: String,
    webhook_url: String,
    webhook_delay_ms: u64,
    public_url: Option<String>,
) -> Result<SandboxConfig, String> {
    let api_key = Zeroizing::new(api_key);
    let webhook_secret = Zeroizing::new(webhook_secret);
    check_secret(&api_key).map_err(|reason| format!("--api-key {reason}"))?;
    check_secret(&webhook_secret).map_err(|reason| format!("--webhook-secret {reason}"))?;
    if !webhook_url.starts_with("http://") || sandbox::web_origin(&webhook_url).is_none() {
        return Err(
            "--webhook-url must be an http:// URL (this build has no TLS), e.g. http://127.0.0.1:8080/pay/webhook/sandbox"
                .to_owned(),
        );
    }
    let public_url = match public_url {
        Some(url) => Some(http_origin(&url).map_err(|reason| format!("--public-url {reason}"))?),
        None => None,
    };
    Ok(SandboxConfig {
        api_key,
        webhook_url,
        webhook_secret: Zeroizing::new(webhook_secret.as_bytes().to_vec()),
        webhook_delay: Duration::from_millis(webhook_delay_ms),
        public_url,
    })
}
