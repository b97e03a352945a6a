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

mod answers;
pub mod bindings;
mod commands;
mod config;
mod demo;
mod error;
mod events;
mod filters;
mod model;
mod personal_data;
mod referrals;
mod replies;
mod retention;
mod secrets;
mod sending;
mod template_drafts;
mod trash;
mod workspace_deletion;

pub use outreach_alloc::{end_process, limit_malloc_arenas};
use outreach_engine::{Change, Engine, EngineConfig, EngineLock, EngineStatus};
use outreach_store::{Actor, Store};
use tokio::sync::broadcast;

pub use answers::{DraftRef, WriteAnswer};
pub use commands::*;
pub use config::{ApiConfig, Caller, KeyChoice};
pub use error::{ApiError, ErrorCode};
pub use events::{ApiEvent, ChangedEntity, ImportPhase};
pub use filters::{FilterRef, SaveFilter};
pub use model::{DownloadModel, ModelStatus};
pub use personal_data::{ExportPersonalData, PersonalDataFile};
pub use referrals::ReferralRef;
pub use replies::*;
pub use retention::{RetentionQuery, SetRetention};
pub use sending::*;
pub use template_drafts::{KeepTemplateDraft, TemplateDraftRef};
pub use trash::TemplateRef;
pub use workspace_deletion::{DeleteWorkspace, WorkspaceDeletion};

/// Re-exported so adapters and tests name the same types the API uses.
pub use outreach_core as core;
pub use outreach_discovery as discovery;
pub use outreach_engine as engine;
pub use outreach_store as store;

/// How far ahead `outreach run --until-idle` waits for queued messages that caps, gaps or
/// retries hold: a few minutes of gaps are part of a run; a cap that frees up tomorrow is not.
pub const IDLE_HORIZON: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

/// The open application: its database and its event stream.
#[derive(Clone)]
pub struct Api {
    store: Store,
    events: broadcast::Sender<ApiEvent>,
    config: ApiConfig,
    keys: outreach_engine::Keys,
    engine_status:
        std::sync::Arc<std::sync::Mutex<Option<tokio::sync::watch::Receiver<EngineStatus>>>>,
    /// The reply classifier, loaded on first use; replaced when the model arrives.
    analyzer: std::sync::Arc<tokio::sync::Mutex<Option<std::sync::Arc<outreach_nlp::Analyzer>>>>,
    /// The running engine, so that a model fetched meanwhile reaches it.
    engine: std::sync::Arc<std::sync::Mutex<Option<std::sync::Weak<Engine>>>>,
}

impl Api {
    /// Opens the data folder: creates it if needed, gets the database key from its store,
    /// opens and migrates the database.
    pub async fn open(config: ApiConfig) -> Result<Self, ApiError> {
        let (store, keys) = config::open_store(&config).await?;
        let (events, _) = broadcast::channel(256);
        Ok(Self {
            store,
            events,
            config,
            keys,
            engine_status: Default::default(),
            analyzer: Default::default(),
            engine: Default::default(),
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

    /// Runs the sending engine until `shutdown` turns true (the app runs it in the background,
    /// the CLI as `outreach run`). Fails at once when another process already runs it for
    /// this data folder.
    pub async fn run_engine(
        &self,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), ApiError> {
        self.run_engine_with(EngineConfig::default(), shutdown)
            .await
    }

    /// [`Api::run_engine`] with explicit settings (tests and benchmarks shorten the idle tick).
    pub async fn run_engine_with(
        &self,
        config: EngineConfig,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), ApiError> {
        let lock = EngineLock::acquire(&self.config.data_dir)?;
        let engine = std::sync::Arc::new(Engine::new(
            self.store.clone(),
            self.keys.clone(),
            std::sync::Arc::new(secrets::KeychainSecrets {
                config: self.config.clone(),
            }),
            config,
        ));
        if let Ok(mut slot) = self.engine.lock() {
            *slot = Some(std::sync::Arc::downgrade(&engine));
        }
        // The model is loaded in the background: replies are classified with rules and the
        // lexicon meanwhile.
        let loader = {
            let api = self.clone();
            let engine = std::sync::Arc::clone(&engine);
            tokio::spawn(async move {
                if let Ok(a) = api.analyzer().await
                    && a.has_model()
                {
                    engine.set_analyzer(a).await;
                }
            })
        };
        let mut status = engine.status();
        if let Ok(mut slot) = self.engine_status.lock() {
            *slot = Some(status.clone());
        }
        let mut changes = engine.changes();
        let mut replies = engine.replies();
        let api = self.clone();
        let forward = tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = status.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        let s = status.borrow_and_update().clone();
                        api.emit(ApiEvent::Engine { status: s });
                    }
                    Ok((workspace, change)) = changes.recv() => {
                        let entities: &[ChangedEntity] = match change {
                            Change::Campaigns => &[ChangedEntity::Campaigns],
                            Change::Answers => &[ChangedEntity::Replies],
                            // Their enrolments, messages, replies and the saved searches
                            // that named them went with them.
                            Change::Prospects => &[
                                ChangedEntity::Prospects,
                                ChangedEntity::Campaigns,
                                ChangedEntity::Replies,
                                ChangedEntity::Filters,
                            ],
                        };
                        for entity in entities {
                            api.changed_by(Some(workspace), *entity, Actor::System);
                        }
                    }
                    Ok(notice) = replies.recv() => {
                        let ws = notice.workspace_id;
                        api.emit(ApiEvent::Reply { notice });
                        api.changed_by(Some(ws), ChangedEntity::Replies, Actor::System);
                        api.changed_by(Some(ws), ChangedEntity::Prospects, Actor::System);
                    }
                }
            }
        });
        let result = engine.run(&lock, shutdown).await;
        forward.abort();
        loader.abort();
        if let Ok(mut slot) = self.engine.lock() {
            *slot = None;
        }
        if let Ok(mut slot) = self.engine_status.lock() {
            *slot = None;
        }
        Ok(result?)
    }

    /// Whether nothing queued can go out within [`IDLE_HORIZON`], no step is due now, and
    /// every polled mailbox has been read (or has failed) and the retention purge has run
    /// since `since` (ISO 8601): for `outreach run --until-idle`, which must not stop before
    /// it has looked for replies and erased whom the workspaces no longer keep.
    pub async fn is_idle(&self, since: &str) -> Result<bool, ApiError> {
        let (purged, blocked) = self
            .engine_status
            .lock()
            .ok()
            .and_then(|s| {
                s.as_ref().map(|r| {
                    let status = r.borrow();
                    (
                        status.purge_done_at.clone(),
                        status
                            .blocked_accounts
                            .keys()
                            .copied()
                            .collect::<std::collections::BTreeSet<_>>(),
                    )
                })
            })
            .unwrap_or_default();
        if purged.is_none_or(|at| at.as_str() < since) {
            return Ok(false);
        }
        let now = jiff::Timestamp::now();
        let now_iso = outreach_engine::iso(now);
        let mailboxes_read = self
            .store
            .polled_mailboxes()
            .await?
            .iter()
            .all(|m| m.polled_at.as_deref().is_some_and(|at| at >= since));
        if !mailboxes_read || !self.store.due_enrollments(&now_iso, 1).await?.is_empty() {
            return Ok(false);
        }
        // What caps, a ramp-up, a send window or a retry hold for later is left for the next
        // run: otherwise a script's run would last until a daily cap frees up tomorrow. What
        // can go within the horizon (random gaps, per-minute caps, the first retries) is
        // waited for.
        // An account the engine cannot set up waits for a person: a scripted run ends, and
        // has said why (`outreach run` prints the problem).
        let next =
            outreach_engine::governor::next_send_anywhere(&self.store, now, &blocked).await?;
        Ok(next.is_none_or(|at| at > now + IDLE_HORIZON))
    }

    /// What the sending engine is doing (stopped when it does not run in this process).
    pub async fn engine_status(&self, _: NoArgs) -> Result<EngineStatus, ApiError> {
        let running = self
            .engine_status
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|r| r.borrow().clone()));
        let mut status = running.unwrap_or_default();
        status.queued = self.store.queued_count().await?;
        Ok(status)
    }

    fn emit(&self, event: ApiEvent) {
        // No subscriber (the CLI) is fine: events are notifications, not a queue.
        let _ = self.events.send(event);
    }
}
