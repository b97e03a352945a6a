//! `outreach`: the Outreach Desk command line.
//!
//! Every command goes through `outreach-api`, the same surface the desktop app uses, against
//! the same data folder (`--data-dir` or `OUTREACH_DATA_DIR`, else the platform's
//! application-data folder). Errors print as `error [code]: message` (or as a JSON object with
//! `--json`) and exit with status 1.

mod cli;
mod output;
mod replies;
mod sending;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    outreach_api::limit_malloc_arenas();
    let args = cli::Args::parse();
    let json = args.json();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error [internal]: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&e, json);
            ExitCode::FAILURE
        }
    }
}
