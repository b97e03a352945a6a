//! Writes the UI's TypeScript bindings (default: `ui/src/lib/generated`).

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/lib/generated").to_string()
    });
    if let Err(e) = outreach_api::bindings::write_all(std::path::Path::new(&dir)) {
        eprintln!("error: cannot write bindings to {dir}: {e}");
        std::process::exit(1);
    }
    println!("bindings written to {dir}");
}
