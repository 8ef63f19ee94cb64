//! The `tocsin` binary: parse the command line and hand over to [`tocsin::cli`].

use clap::Parser;

// mimalloc: under ingest load glibc malloc/free took ~10% of the server's CPU (perf); events
// are parsed into many short-lived allocations, which mimalloc's thread-local pages serve cheaply.
// `.cargo/config.toml` builds it to commit memory as it is used, not a whole arena up front.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
