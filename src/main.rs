//! The `foi-triage` binary: parse the command line, set up logging, run. Everything else is in the
//! library (`foi_triage::cli`).

use clap::Parser;
use foi_triage::cli::{self, Cli, LogFormat};
use foi_triage::io::sandbox::CappedAlloc;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// The system allocator, counting the heap in use: the attachment decoder child
/// (`foi-triage decode-worker`) caps it, since the service may not call `setrlimit`
/// (`io::sandbox`). The cap is off in every other command.
#[global_allocator]
static ALLOCATOR: CappedAlloc = CappedAlloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr so command output on stdout stays machine-readable. RUST_LOG overrides
    // the default level (info). Colour only on a terminal: the journal, a pipe or a log file
    // would keep the escape codes as text.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    cli::run(cli)
}
