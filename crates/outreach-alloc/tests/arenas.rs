//! Counts the arenas glibc creates for eight threads that allocate at once. The setting is
//! process-wide and cannot be undone, so the test runs itself again as child processes: one
//! with the limit, which must stay within [`MALLOC_ARENAS`], and one without, which must
//! exceed it, so that the count shows what the setting changed.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::process::Command;
use std::sync::{Arc, Barrier};

use outreach_alloc::{MALLOC_ARENAS, limit_malloc_arenas};

const ROLE: &str = "OUTREACH_ALLOC_TEST_CHILD";
const TEST: &str = "eight_threads_allocating_at_once_share_the_limited_arenas";

#[test]
fn eight_threads_allocating_at_once_share_the_limited_arenas() {
    if let Ok(role) = std::env::var(ROLE) {
        allocate_and_report(role == "limited");
        return;
    }
    let limited = arenas("limited");
    let default = arenas("default");
    println!("arenas for 8 threads: {limited} limited, {default} by default");
    assert!(
        (1..=MALLOC_ARENAS as usize).contains(&limited),
        "{limited} arenas with the limit"
    );
    assert!(
        default > MALLOC_ARENAS as usize,
        "glibc's default made only {default} arenas, so this test shows nothing"
    );
}

/// Runs this test in a child process in `role`; returns how many arenas it reported.
fn arenas(role: &str) -> usize {
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env_remove("MALLOC_ARENA_MAX")
        .output()
        .expect("child runs");
    assert!(out.status.success(), "{role} child failed: {out:?}");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("Arena "))
        .count()
}

/// The child's part: eight threads that each hold an allocation until all have made theirs,
/// then glibc's statistics, one `Arena N:` block per arena, on standard error.
fn allocate_and_report(limit: bool) {
    if limit {
        limit_malloc_arenas();
    }
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let held = vec![u8::try_from(i).unwrap_or(0); 64 * 1024];
                barrier.wait();
                held.len()
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    #[allow(unsafe_code)]
    // SAFETY: prints the allocator's statistics to standard error; it takes no arguments.
    unsafe {
        libc::malloc_stats()
    };
}
