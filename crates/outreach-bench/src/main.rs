//! Benchmarks for Outreach Desk. Run `cargo run --release -p outreach-bench -- NAME`; each
//! prints its figures and ends with one `key=value` summary line.
//!
//! - `import`: imports a generated 100,000-row CSV through the real import path (validate,
//!   normalise, de-duplicate, index) and, side by side, with the `sqlite3` shell's `.import`
//!   into a plain table; then times listing, filtering and searching the 100k prospects.

mod import;

fn main() -> anyhow::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_default();
    match name.as_str() {
        "import" => import::run(),
        _ => {
            eprintln!("usage: outreach-bench import");
            std::process::exit(2);
        }
    }
}
