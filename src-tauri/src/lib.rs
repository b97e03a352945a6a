//! The desktop shell: it opens the API, exposes each API command to the web UI through a
//! one-line adapter generated from `outreach_api::for_each_command!`, forwards API events to
//! the UI, and keeps running in the tray with its window closed. It holds no logic of its own.

use std::path::PathBuf;

mod quit;
mod tray;

use outreach_api::{Api, ApiConfig, ApiError, ApiEvent, Caller};
use tauri::{Emitter, Manager};
use tauri_plugin_notification::NotificationExt;

/// The event name the UI listens on.
const EVENT: &str = "outreach://event";

/// The API, or why it could not be opened. Every command answers with that error, so the UI
/// shows one clear screen (for example "no keychain available") instead of failing later.
struct Backend(Result<Api, ApiError>);

impl Backend {
    fn api(&self) -> Result<&Api, ApiError> {
        self.0.as_ref().map_err(Clone::clone)
    }
}

macro_rules! adapters {
    ($( $name:ident ( $args:ty ) -> $ret:ty ; )*) => {
        mod commands {
            use super::*;
            $(
                #[tauri::command]
                pub async fn $name(state: tauri::State<'_, Backend>, args: $args) -> Result<$ret, ApiError> {
                    state.api()?.$name(args).await
                }
            )*
        }

        fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$(commands::$name,)* quit::answer_quit]
        }
    };
}

outreach_api::for_each_command!(adapters);

/// `--data-dir DIR` (or `--data-dir=DIR`) on the app's command line, as for the CLI.
fn data_dir_arg() -> Option<PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--data-dir" {
            return args.next().map(PathBuf::from);
        }
        if let Some(v) = a.strip_prefix("--data-dir=") {
            return Some(PathBuf::from(v));
        }
    }
    None
}

/// A desktop notification for a person's reply. A desktop without a notification service
/// only loses the pop-up: the inbox and its badge still show the reply.
fn notify_reply(handle: &tauri::AppHandle, notice: &outreach_api::engine::ReplyNotice) {
    let intent = notice.intent.as_str().replace('_', " ");
    let body = if notice.actions.is_empty() {
        intent
    } else {
        format!("{intent} ({})", notice.actions)
    };
    if let Err(e) = handle
        .notification()
        .builder()
        .title(format!("Reply from {}", notice.prospect_name))
        .body(body)
        .show()
    {
        eprintln!("outreach-desk: notification: {e}");
    }
}

/// Starts the app.
pub fn run() {
    let opened = tauri::async_runtime::block_on(async {
        let config = ApiConfig::from_env(data_dir_arg(), Caller::App)?;
        Api::open(config).await
    });
    if let Err(e) = &opened {
        eprintln!("outreach-desk: {}", e.message);
    }
    let events = opened.as_ref().ok().map(Api::subscribe);
    // The sending engine runs beside the window; quitting asks it to finish the message in hand.
    let (stop_engine, engine_stop) = tokio::sync::watch::channel(false);
    let engine = opened.as_ref().ok().cloned().map(|api| {
        tauri::async_runtime::spawn(async move {
            if let Err(e) = api.run_engine(engine_stop).await {
                // Another process (`outreach run`) may already send for this data folder.
                eprintln!("outreach-desk: sending engine: {}", e.message);
            }
        })
    });
    let mut engine = engine;
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .manage(Backend(opened))
        .manage(tray::Tray::default())
        .manage(quit::QuitGate::default())
        .invoke_handler(handler())
        .on_window_event(tray::on_window_event)
        .setup(move |app| {
            tray::install(app.handle());
            if let Some(mut rx) = events {
                let handle = app.handle().clone();
                tauri::async_runtime::spawn(async move {
                    use tokio::sync::broadcast::error::RecvError;
                    loop {
                        match rx.recv().await {
                            Ok(event) => {
                                if let ApiEvent::Reply { notice } = &event {
                                    notify_reply(&handle, notice);
                                }
                                let _ = handle.emit(EVENT, event);
                            }
                            // A slow UI misses some progress ticks; the next one catches up.
                            Err(RecvError::Lagged(_)) => continue,
                            Err(RecvError::Closed) => break,
                        }
                    }
                });
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("outreach-desk: cannot start the window: {e}");
            std::process::exit(1);
        }
    };
    // A session manager's or `kill`'s SIGTERM (Ctrl+C in a terminal) quits like the tray's
    // "Quit", through the exit path below, so the engine finishes the message in hand.
    let on_signal = app.handle().clone();
    tauri::async_runtime::spawn(async move {
        outreach_api::engine::shutdown::requested().await;
        on_signal.exit(0);
    });
    app.run(move |handle, event| {
        if let tauri::RunEvent::Exit = event
            && let Ok(api) = handle.state::<Backend>().api()
        {
            let _ = stop_engine.send(true);
            if let Some(task) = engine.take() {
                let _ = tauri::async_runtime::block_on(task);
            }
            // Checkpoint the write-ahead log and release the database before the process ends.
            tauri::async_runtime::block_on(api.close());
        }
    });
}
