//! Build script: reruns the build when migrations change.
// Rebuild when a migration is added: `migrate!` embeds the folder at compile time, and without
// this a new migration file would not trigger a recompile and the binary would ship without it.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
