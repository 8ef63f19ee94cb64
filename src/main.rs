//! The `tocsin` binary: parse the command line and hand over to [`tocsin::cli`].

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = tocsin::cli::Cli::parse();
    tocsin::telemetry::init();
    // One TLS implementation for every client (webhooks, SMTP): ring, no C toolchain beyond it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match tocsin::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
