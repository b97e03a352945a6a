//! `outreach`: the Outreach Desk command line.
//!
//! Every command goes through `outreach-api`, the same surface the desktop app uses, against
//! the same data folder (`--data-dir` or `OUTREACH_DATA_DIR`, else the platform's
//! application-data folder). Errors print as `error [code]: message` (or as a JSON object with
//! `--json`) and exit with status 1.

mod account_settings;
mod bulk;
mod campaign_settings;
mod cli;
mod edits;
mod filters;
mod output;
mod replies;
mod rights;
mod sending;
mod trash;

use clap::Parser;

fn main() {
    outreach_api::limit_malloc_arenas();
    let code = run();
    // Not a return from `main`: C exit handlers would race the database's closing threads
    // (see `end_process`).
    outreach_api::end_process(code)
}

/// Runs the command line and returns the exit status, with everything it opened dropped.
fn run() -> i32 {
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
            return 1;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => 0,
        Err(e) => {
            output::error(&e, json);
            1
        }
    }
}
