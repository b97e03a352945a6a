//! Process setup shared by the desktop app, the `outreach` CLI and the benchmarks: how the C
//! allocator behaves, and how the process ends. Call [`limit_malloc_arenas`] first thing in
//! `main`, before any thread starts, and end a command-line process with [`end_process`].
//!
//! glibc's `malloc` gives each thread that allocates its own arena, up to eight per core. The
//! engine's work moves between the async workers, the blocking pool and one SQLite thread per
//! connection, so freed memory sits in many arenas at once, each holding pages the others
//! cannot reuse: the send benchmark's peak grew by about 9 MB from that alone. Two arenas keep
//! the peak down at no measurable cost in speed, because those threads spend their time in
//! SQLite, crypto and the network, not in `malloc`.
#![deny(missing_docs)]

/// The arenas the process may use.
pub const MALLOC_ARENAS: i32 = 2;

/// Limits glibc's allocator to [`MALLOC_ARENAS`] arenas, unless the user chose a number with
/// the `MALLOC_ARENA_MAX` environment variable (glibc has applied that already). Does nothing
/// on other platforms and C libraries, whose allocators do not keep an arena per thread.
///
/// Call it before any other thread starts: threads that allocated already keep their arenas.
pub fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    set_arena_max(MALLOC_ARENAS);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_arena_max(arenas: i32) {
    // SAFETY: `mallopt` only changes a tuning parameter of the allocator, takes no pointers and
    // is safe to call at any time. It returns 0 when it refuses a value; the process then runs
    // with glibc's default, which is correct, only larger.
    let _ = unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_arena_max(_arenas: i32) {}

/// Ends the process with `code` once standard output and standard error are flushed, without
/// running the C library's exit handlers.
///
/// SQLCipher frees its global state (its mutexes, private heap and crypto provider) in an exit
/// handler. A database connection still closing on its own thread at that moment uses the
/// freed state, and a process whose work is done crashes on its way out, with a segmentation
/// fault or "malloc_consolidate(): invalid chunk size". Nothing those handlers do matters to a
/// process that ends: the system takes its memory and files back, and what it committed is in
/// the database already. Call it once everything the process owns has been dropped.
pub fn end_process(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    exit_without_handlers(code)
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn exit_without_handlers(code: i32) -> ! {
    // SAFETY: `_exit` ends the process at once and never returns; it touches no memory of
    // ours. What it skips is listed above.
    unsafe { libc::_exit(code) }
}

#[cfg(not(unix))]
fn exit_without_handlers(code: i32) -> ! {
    std::process::exit(code)
}
