//! The operating system's request to stop (SIGTERM from a session manager, `kill` or a service
//! manager; Ctrl+C in a terminal), which the app and `outreach run` answer like their own quit:
//! the engine finishes the message in hand and the database is closed cleanly.

/// Resolves when the process is asked to stop. Where the terminate signal cannot be watched,
/// only Ctrl+C counts.
pub async fn requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
