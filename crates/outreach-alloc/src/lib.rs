//! Process setup shared by the desktop app, the `outreach` CLI and the benchmarks: how the C
//! allocator behaves. Call [`limit_malloc_arenas`] first thing in `main`, before any thread
//! starts.
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
