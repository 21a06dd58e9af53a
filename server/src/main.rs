//! The `fieldseal` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// fieldseal: traffic and parking offences captured offline, sealed on the device, readable only by the enclave.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Capture and seal realistic sample tickets on a simulated officer device, and show what happened.
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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { data, tickets, plate } => {
            fieldseal_server::demo::run(&fieldseal_server::demo::DemoOptions { data, tickets, plate })
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
