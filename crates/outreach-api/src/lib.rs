//! The command surface of Outreach Desk.
//!
//! Every operation the desktop app, the `outreach` CLI and the integration tests can perform is
//! a method of [`Api`], declared once in [`for_each_command!`] with its request and response
//! types. The Tauri shell generates one adapter per entry from that list (a missing adapter is
//! a compile error), and `outreach-bindings` writes the TypeScript types and the typed command
//! table the UI uses from the same list, so the two sides cannot drift.
//!
//! Errors cross every boundary as [`ApiError`] `{code, message}`: the UI and scripts branch on
//! the stable `code`, people read the `message`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), outreach_api::ApiError> {
//! use outreach_api::{Api, ApiConfig, Caller, NoArgs};
//! let api = Api::open(ApiConfig::from_env(None, Caller::Cli)?).await?;
//! for w in api.list_workspaces(NoArgs {}).await? {
//!     println!("{}", w.name);
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bindings;
mod commands;
mod config;
mod demo;
mod error;
mod events;

use outreach_store::Store;
use tokio::sync::broadcast;

pub use commands::*;
pub use config::{ApiConfig, Caller, KeyChoice};
pub use error::{ApiError, ErrorCode};
pub use events::{ApiEvent, ChangedEntity, ImportPhase};

/// Re-exported so adapters and tests name the same types the API uses.
pub use outreach_core as core;
pub use outreach_discovery as discovery;
pub use outreach_store as store;

/// The open application: its database and its event stream.
#[derive(Clone)]
pub struct Api {
    store: Store,
    events: broadcast::Sender<ApiEvent>,
    config: ApiConfig,
}

impl Api {
    /// Opens the data folder: creates it if needed, gets the database key from its store,
    /// opens and migrates the database.
    pub async fn open(config: ApiConfig) -> Result<Self, ApiError> {
        let store = config::open_store(&config).await?;
        let (events, _) = broadcast::channel(256);
        Ok(Self {
            store,
            events,
            config,
        })
    }

    /// Subscribes to change and progress events (the shell forwards them to the UI).
    pub fn subscribe(&self) -> broadcast::Receiver<ApiEvent> {
        self.events.subscribe()
    }

    /// Closes the database cleanly.
    pub async fn close(&self) {
        self.store.close().await;
    }

    fn emit(&self, event: ApiEvent) {
        // No subscriber (the CLI) is fine: events are notifications, not a queue.
        let _ = self.events.send(event);
    }
}
