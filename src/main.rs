//! The `foi-triage` binary: parse the command line, set up logging, run. Everything else is in the
//! library (`foi_triage::cli`).

use clap::Parser;
use foi_triage::cli::{self, Cli, LogFormat};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr so command output on stdout stays machine-readable. RUST_LOG overrides
    // the default level (info).
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    cli::run(cli)
}
