//! Quitting with unsaved work in the window. The tray's "Quit" (or closing the window where
//! there is no tray) first asks the page whether an editor holds unsaved changes; if one
//! does, the window comes back and the user chooses, and the app ends only once they discard
//! them. A page that does not answer (hung, or still loading) does not keep the app from
//! quitting. A session's end (SIGTERM) does not ask: nobody would be there to answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager, Runtime};

/// The event the page receives when the user asks to quit.
pub const QUIT_REQUESTED: &str = "outreach://quit-requested";

/// How long the page has to say whether to hold the quit.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// The request to quit that waits for the page's answer, by number (0: none).
#[derive(Default)]
pub struct QuitGate {
    asked: AtomicU64,
    pending: AtomicU64,
}

/// Asks the page whether to quit; ends the app if it does not answer in time.
pub fn request<R: Runtime>(app: &AppHandle<R>) {
    let gate = app.state::<QuitGate>();
    let n = gate.asked.fetch_add(1, Ordering::SeqCst) + 1;
    gate.pending.store(n, Ordering::SeqCst);
    if let Err(e) = app.emit_to("main", QUIT_REQUESTED, ()) {
        eprintln!("outreach-desk: cannot ask the window before quitting ({e}); quitting");
        app.exit(0);
        return;
    }
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(ANSWER_WITHIN).await;
        if handle.state::<QuitGate>().pending.load(Ordering::SeqCst) == n {
            eprintln!("outreach-desk: the window did not answer the request to quit; quitting");
            handle.exit(0);
        }
    });
}

/// The page's answer: `hold` while the user decides about unsaved work (the window shows),
/// otherwise the app ends.
#[tauri::command]
pub fn answer_quit(app: AppHandle, hold: bool) {
    if hold {
        app.state::<QuitGate>().pending.store(0, Ordering::SeqCst);
        crate::tray::show_main(&app);
    } else {
        app.exit(0);
    }
}
