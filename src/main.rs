//! The `tocsin` binary: parse the command line and hand over to [`tocsin::cli`].

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = tocsin::cli::Cli::parse();
    tocsin::telemetry::init();
    match tocsin::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
