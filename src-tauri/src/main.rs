//! The Outreach Desk desktop app.
// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    outreach_api::limit_malloc_arenas();
    outreach_desk_lib::run();
}
