//! The tray icon: the app keeps reading replies (and sending) with its window closed. Closing
//! the window hides it; "Open" brings it back; "Quit" ends the app (once the page has no
//! unsaved work, see `quit`), which lets the engine finish the message in hand (see `run`).

use std::sync::atomic::{AtomicBool, Ordering};

use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime, Window, WindowEvent};
use tauri_plugin_notification::NotificationExt;

/// Whether the tray icon exists: without one, closing the window must quit, or the app would
/// run on with no way back to it.
#[derive(Default)]
pub struct Tray {
    present: AtomicBool,
    /// The hint that the app still runs is shown once per session.
    hinted: AtomicBool,
}

const OPEN: &str = "open";
const QUIT: &str = "quit";

/// Adds the tray icon with its menu. A desktop without a tray (or without the indicator
/// library) only loses the icon: the window then quits when closed, as usual.
pub fn install<R: Runtime>(app: &AppHandle<R>) {
    match build(app) {
        Ok(()) => app.state::<Tray>().present.store(true, Ordering::SeqCst),
        Err(e) => eprintln!("outreach-desk: no tray icon ({e}); closing the window quits"),
    }
}

fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, OPEN, "Open Outreach Desk", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, QUIT, "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let mut tray = TrayIconBuilder::with_id("main")
        .tooltip("Outreach Desk: reading replies")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id.as_ref() {
            OPEN => show_main(app),
            QUIT => crate::quit::request(app),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_main(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

/// Shows, unminimises and focuses the main window.
pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Closing the main window hides it while the tray icon is there; the first time, a
/// notification says where the app went.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let app = window.app_handle();
    if window.label() != "main" {
        return;
    }
    api.prevent_close();
    let tray = app.state::<Tray>();
    // Without a tray icon there would be no way back: closing quits, once the page agrees.
    if !tray.present.load(Ordering::SeqCst) {
        crate::quit::request(app);
        return;
    }
    let _ = window.hide();
    if !tray.hinted.swap(true, Ordering::SeqCst)
        && let Err(e) = app
            .notification()
            .builder()
            .title("Outreach Desk is still running")
            .body("Replies are read and messages sent in the background. Quit from the tray icon.")
            .show()
    {
        eprintln!("outreach-desk: notification: {e}");
    }
}
