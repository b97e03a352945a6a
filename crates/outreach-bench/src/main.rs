//! Benchmarks for Outreach Desk. Run `cargo run --release -p outreach-bench -- NAME`; each
//! prints its figures and ends with one `key=value` summary line.
//!
//! - `import`: imports a generated 100,000-row CSV through the real import path (validate,
//!   normalise, de-duplicate, index) and, side by side, with the `sqlite3` shell's `.import`
//!   into a plain table; then times listing, filtering and searching the 100k prospects.
//! - `send`: sends 2,000 personalised messages through the real engine to Postfix's
//!   `smtp-sink`, and the same list with PyPI's `mailmerge`; measures the sink with
//!   `smtp-source`; prints the CPU time per message of each part (database writer, async
//!   workers, sink), which shows what bounds the rate; then times deleting the workspace with
//!   everything it sent.
//! - `replies`: sentiment and intent accuracy next to Python's VADER and TextBlob, and 5,000
//!   replies read from Dovecot, parsed and classified, next to imaplib + sentence-transformers.

mod cpu;
mod import;
mod replies;
mod send;
mod venv;

fn main() -> anyhow::Result<()> {
    // As the app and the CLI do, so that the figures are theirs.
    outreach_api::limit_malloc_arenas();
    let name = std::env::args().nth(1).unwrap_or_default();
    match name.as_str() {
        "import" => import::run(),
        "send" => send::run(),
        "replies" => replies::run(),
        replies::ONE_CORE_CHILD => {
            replies::intent_one_core_child(&std::env::args().nth(2).unwrap_or_default())
        }
        _ => {
            eprintln!("usage: outreach-bench import|send|replies");
            std::process::exit(2);
        }
    }
}
