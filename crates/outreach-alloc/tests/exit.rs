//! A process that ends while database connections still close on their threads must end
//! cleanly.
//!
//! SQLCipher frees its global state in a C exit handler, and a connection closing at that
//! moment used it after it was freed: an `outreach` command that had printed its result
//! aborted with "malloc_consolidate(): invalid chunk size", and children of this test that end
//! through `std::process::exit` crashed in 6 to 10 runs of 60 (a segmentation fault in
//! SQLCipher's `sqlite3FreeCodecArg`, with the main thread in `sqlcipher_atexit`). The test
//! runs itself again as child processes that drop their stores mid-write, without closing
//! them, and end through [`end_process`].
#![cfg(unix)]

use std::process::Command;
use std::time::Duration;

use outreach_alloc::end_process;
use outreach_store::key::DbKey;
use outreach_store::workspaces::WorkspaceFields;
use outreach_store::{Actor, Store};

/// Set in the child processes to the folder their databases go to.
const CHILD: &str = "OUTREACH_EXIT_TEST_CHILD";
const TEST: &str = "processes_ending_while_connections_close_exit_cleanly";
const RUNS: usize = 60;

#[test]
fn processes_ending_while_connections_close_exit_cleanly() {
    if let Some(dir) = std::env::var_os(CHILD) {
        write_then_end(dir.into());
    }
    let mut crashes = Vec::new();
    for run in 0..RUNS {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let out = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD, dir.path())
            .output()
            .expect("child runs");
        if !out.status.success() {
            crashes.push(format!(
                "run {run}: {:?}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(
        crashes.is_empty(),
        "{} of {RUNS} crashed:\n{}",
        crashes.len(),
        crashes.join("\n")
    );
}

/// The child's part: several encrypted databases written from several tasks, dropped while the
/// writes go on, so that their connections close on their own threads as the process ends.
fn write_then_end(dir: std::path::PathBuf) -> ! {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut stores = Vec::new();
        for db in 0..6 {
            let path = dir.join(format!("{db}.db"));
            stores.push(
                Store::open(&path, &DbKey::generate())
                    .await
                    .expect("the store opens"),
            );
        }
        for task in 0..12 {
            let store = stores[task % stores.len()].clone();
            tokio::spawn(async move {
                for n in 0.. {
                    let fields = WorkspaceFields {
                        name: format!("w{task}-{n}"),
                        ..Default::default()
                    };
                    if store.create_workspace(&fields, Actor::Cli).await.is_err() {
                        break;
                    }
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    });
    drop(runtime);
    end_process(0)
}
