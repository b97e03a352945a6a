//! The background runtime of Outreach Desk: it turns due sequence steps into outbox messages
//! (rendering them and passing each through the compliance gate) and drains the outbox
//! within every account's caps.
//!
//! Crash safety comes from the store: a message is a row before it is sent, each change of its
//! fate is a committed transaction, and an engine that starts finds messages a dead engine left
//! `sending` and marks them `unconfirmed` for a person to decide. Only one engine may run per
//! data folder; [`EngineLock`] makes sure of that with an OS file lock, which the OS releases
//! when the process dies, however it dies.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod answers;
mod classifier;
pub mod gate;
pub mod governor;
mod housekeeping;
mod lock;
mod poller;
pub mod replies;
pub mod scheduler;
mod sender;
pub mod shutdown;
mod smtp_sessions;
pub mod today;
pub mod transport;
pub mod variables;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use outreach_core::tokens::PurposeKey;
use outreach_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, watch};
use ts_rs::TS;

pub use classifier::Verdict;
pub use lock::EngineLock;
pub use poller::{PollReport, imap_settings};
pub use replies::ReplyNotice;
pub use transport::AccountSecrets;

/// The suppression-list entries of a prospect: keyed hashes of their normalised address and
/// handles.
pub fn suppression_entries(
    key: &PurposeKey,
    p: &outreach_core::prospect::Prospect,
) -> Vec<outreach_store::consent::SuppressionEntry> {
    scheduler::prospect_hashes(key, p)
        .into_iter()
        .map(|(hash, kind)| outreach_store::consent::SuppressionEntry { hash, kind })
        .collect()
}

/// What can stop the engine or one of its steps.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another engine already runs on this data folder.
    #[error(
        "the sending engine is already running for this data folder (in the app or `outreach run`)"
    )]
    AlreadyRunning,
    /// The engine lock file could not be used.
    #[error("engine lock {path}: {message}")]
    Lock {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// A send window or delay cannot be worked out (an invalid window, a date past 9999).
    #[error(transparent)]
    Schedule(#[from] outreach_core::schedule::ScheduleError),
    /// A reply mailbox cannot be read.
    #[error("reply mailbox of sender account #{account_id}: {message}")]
    Mailbox {
        /// The account.
        account_id: i64,
        /// What failed.
        message: String,
    },
    /// The reply classifier failed.
    #[error("reply classifier: {0}")]
    Classifier(String),
    /// A background task of the engine failed (a bug: it panicked).
    #[error("engine task failed: {0}")]
    Task(String),
    /// An account cannot be used.
    #[error("sender account #{account_id}: {message}")]
    Account {
        /// The account.
        account_id: i64,
        /// What is wrong.
        message: String,
    },
}

/// Reads account secrets from wherever they are kept (the OS keychain in the app and CLI).
pub trait SecretSource: Send + Sync {
    /// The password / API key and DKIM key of an account.
    fn account_secrets(&self, account_id: i64) -> Result<AccountSecrets, String>;
}

/// Keys derived from the database key.
#[derive(Clone, Debug)]
pub struct Keys {
    /// Signs unsubscribe tokens.
    pub unsubscribe: PurposeKey,
    /// Keys suppression hashes.
    pub suppression: PurposeKey,
}

impl Keys {
    /// Derives both from the database key's bytes.
    pub fn derive(master: &[u8]) -> Self {
        Self {
            unsubscribe: PurposeKey::derive(master, "outreach-desk/unsubscribe-token/v1"),
            suppression: PurposeKey::derive(master, "outreach-desk/suppression/v1"),
        }
    }
}

/// How the engine behaves; the defaults suit a desktop app.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How long to sleep when there is nothing to do.
    pub idle_tick: Duration,
    /// Give up on a message after this many temporary (4xx) failures.
    pub max_transient_attempts: i64,
    /// Enrolments scheduled per pass. A pass holds their variables and rendered messages in
    /// memory at once, so this bounds the engine's peak memory as much as its pace. It is also
    /// the most messages an account sends per pass, so that scheduling keeps pace with sending
    /// and a long queue does not hold back steps that fall due meanwhile.
    pub schedule_batch: i64,
    /// Messages claimed and sent together. With `send_lanes`, this bounds what a crash can
    /// leave unconfirmed (see [`EngineConfig::max_in_flight`]).
    pub send_batch: u32,
    /// SMTP sessions an account sends over at once.
    pub smtp_sessions: usize,
    /// Batches of one account in flight at once, each claimed while the others are on the
    /// wire. Two keep both the SMTP sessions and the database busy; more add little, since
    /// claims and records take turns at the one database writer.
    pub send_lanes: usize,
    /// How often a mailbox without IDLE is polled.
    pub poll_interval: Duration,
    /// The longest IDLE before it is renewed (servers drop idle clients after 30 minutes).
    pub idle_max: Duration,
    /// Messages fetched from a mailbox at once.
    pub reply_batch: usize,
    /// How often the list of mailboxes is read again, to start watching new ones.
    pub mailbox_rescan: Duration,
    /// How often prospects whose retention period ended are looked for (and at start).
    pub retention_interval: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            idle_tick: Duration::from_secs(2),
            max_transient_attempts: 8,
            schedule_batch: 250,
            send_batch: 32,
            smtp_sessions: 4,
            send_lanes: 2,
            poll_interval: Duration::from_secs(60),
            idle_max: Duration::from_secs(10 * 60),
            reply_batch: 200,
            mailbox_rescan: Duration::from_secs(30),
            retention_interval: Duration::from_secs(60 * 60),
        }
    }
}

impl EngineConfig {
    /// The most messages of one account claimed and not yet written down at any instant:
    /// what a crash can leave unconfirmed.
    pub fn max_in_flight(&self) -> u64 {
        let lanes = u64::try_from(self.send_lanes.max(1)).unwrap_or(u64::MAX);
        u64::from(self.send_batch.max(1)).saturating_mul(lanes)
    }
}

/// What the engine is doing, for the status bar.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EngineStatus {
    /// `stopped`, `running` or `offline` (the last attempt could not reach the server).
    pub state: EngineState,
    /// Messages waiting in running campaigns.
    pub queued: u32,
    /// Messages sent since the engine started.
    pub sent: u32,
    /// Prospects erased at the end of their retention period since the engine started.
    pub purged: u32,
    /// When the latest retention purge finished, or failed (ISO 8601).
    pub purge_done_at: Option<String>,
    /// The latest problem, if any.
    pub last_error: Option<String>,
    /// Sender accounts the engine could not set up (settings, or secrets missing from the
    /// keychain), with the account's last change then: their messages wait for a person to
    /// change the account, so a scripted run does not wait for them.
    #[serde(skip)]
    #[ts(skip)]
    pub blocked_accounts: std::collections::BTreeMap<i64, String>,
}

/// The engine's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum EngineState {
    /// Not running.
    #[default]
    Stopped,
    /// Sending when something is due.
    Running,
    /// Could not reach a server; queued messages wait and are retried.
    Offline,
}

/// The engine.
pub struct Engine {
    store: Store,
    /// The store through its read-only connections, for the scheduler's loads, which then
    /// go on while the sender holds the writer.
    readers: Store,
    keys: Keys,
    secrets: Arc<dyn SecretSource>,
    config: EngineConfig,
    status: watch::Sender<EngineStatus>,
    /// What the engine changed on its own, and in which workspace.
    changes: tokio::sync::broadcast::Sender<(i64, Change)>,
    /// New human replies.
    replies: tokio::sync::broadcast::Sender<ReplyNotice>,
    classifier: classifier::Classifier,
    /// Woken when mailbox settings change, so that watchers start or reconnect at once.
    mailboxes_changed: tokio::sync::Notify,
    /// Each account's transport, with the account's last change it was set up from.
    transports: Mutex<HashMap<i64, (String, Arc<transport::Transport>)>>,
    /// Accounts that must wait (caps, rate limits, outages) until the given instant.
    account_wait: Mutex<HashMap<i64, Timestamp>>,
    /// Sent batches (with their account) whose outcomes the store refused to write yet.
    unrecorded: Mutex<Vec<(i64, sender::SentBatch)>>,
}

/// What the engine changed on its own, as [`Engine::changes`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Campaigns finished: their status changed.
    Campaigns,
    /// Prospects were erased at the end of their retention period.
    Prospects,
    /// Answers to replies went out, failed or wait for a retry: the replies' answers show
    /// their fate, and a failed one leaves its reply needing an answer again.
    Answers,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Messages put in the outbox.
    pub queued: u32,
    /// Sends refused by the compliance gate.
    pub blocked: u32,
    /// Messages accepted by a server.
    pub sent: u32,
    /// Attempts that will be retried.
    pub retried: u32,
    /// Messages failed, bounced or unconfirmed.
    pub failed: u32,
}

impl std::ops::AddAssign for PassReport {
    fn add_assign(&mut self, other: Self) {
        self.queued += other.queued;
        self.blocked += other.blocked;
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
    }
}

impl Engine {
    /// An engine over `store`. Call [`Engine::run`] (or [`Engine::pass`] in tests) while holding
    /// the [`EngineLock`].
    pub fn new(
        store: Store,
        keys: Keys,
        secrets: Arc<dyn SecretSource>,
        config: EngineConfig,
    ) -> Self {
        let (status, _) = watch::channel(EngineStatus::default());
        let (changes, _) = tokio::sync::broadcast::channel(64);
        let (replies, _) = tokio::sync::broadcast::channel(256);
        Self {
            // The engine writes after nearly every read, so its reads stay on the writer's
            // warm cache.
            store: store.reading_through_writer(),
            readers: store,
            keys,
            secrets,
            config,
            status,
            changes,
            replies,
            classifier: classifier::Classifier::new(),
            mailboxes_changed: tokio::sync::Notify::new(),
            transports: Mutex::new(HashMap::new()),
            account_wait: Mutex::new(HashMap::new()),
            unrecorded: Mutex::new(Vec::new()),
        }
    }

    /// Follows the engine's status.
    pub fn status(&self) -> watch::Receiver<EngineStatus> {
        self.status.subscribe()
    }

    /// Follows what the engine changes on its own, with the workspace it changed it in, so
    /// that what shows it can reload.
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<(i64, Change)> {
        self.changes.subscribe()
    }

    /// Follows new human replies (for notifications and the inbox).
    pub fn replies(&self) -> tokio::sync::broadcast::Receiver<ReplyNotice> {
        self.replies.subscribe()
    }

    /// Tells the reply poller that mailbox settings changed: a new mailbox gets its watcher,
    /// and a changed one reconnects, without waiting for the next rescan.
    pub fn mailboxes_changed(&self) {
        self.mailboxes_changed.notify_waiters();
    }

    /// Classifies with `analyzer` from now on (the app loads the model when its files are
    /// there; until then rules and the lexicon decide).
    pub async fn set_analyzer(&self, analyzer: Arc<outreach_nlp::Analyzer>) {
        self.classifier.set(analyzer).await;
    }

    /// Whether replies are classified with the model (rather than rules and the lexicon).
    pub fn has_model(&self) -> bool {
        self.classifier.current().has_model()
    }

    /// Classifies texts for a workspace as the poller would (for `outreach classify`).
    pub async fn classify(
        &self,
        workspace_id: i64,
        texts: Vec<String>,
    ) -> Result<Vec<Verdict>, EngineError> {
        self.classifier
            .classify(&self.store, workspace_id, texts)
            .await
    }

    /// Runs until `shutdown` turns true, then finishes the message in hand and returns. The
    /// caller must hold the [`EngineLock`]; messages a dead engine left `sending` are marked
    /// unconfirmed first. Sending, the reply poller and the retention purge run side by side.
    pub async fn run(
        &self,
        _lock: &EngineLock,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(), EngineError> {
        self.store.recover_interrupted().await?;
        self.status.send_modify(|s| s.state = EngineState::Running);
        tokio::join!(
            self.send_loop(shutdown.clone()),
            self.reply_loop(shutdown.clone()),
            self.housekeeping_loop(shutdown.clone())
        );
        // A last try: what stays unwritten is `sending`, and unconfirmed at the next start.
        if let Err(e) = self.record_kept().await {
            self.status
                .send_modify(|s| s.last_error = Some(e.to_string()));
        }
        for (_, t) in self.transports.lock().await.values() {
            t.close().await;
        }
        self.status.send_modify(|s| s.state = EngineState::Stopped);
        Ok(())
    }

    async fn send_loop(&self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            let report = match self.pass(&shutdown).await {
                Ok(r) => r,
                Err(e) => {
                    self.status
                        .send_modify(|s| s.last_error = Some(e.to_string()));
                    PassReport::default()
                }
            };
            let queued = self.store.queued_count().await.unwrap_or(0);
            self.status.send_modify(|s| s.queued = queued);
            if report.queued + report.sent + report.blocked == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(self.config.idle_tick) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// One pass: schedule what is due while sending what is queued, as far as the caps allow.
    pub async fn pass(&self, shutdown: &watch::Receiver<bool>) -> Result<PassReport, EngineError> {
        // The next batch is planned while what is queued goes out: scheduling is mostly CPU
        // (rendering, checks) and sending mostly waits on the SMTP server and the database.
        let mut report = PassReport::default();
        let mut sending = PassReport::default();
        let (scheduled, sent) = tokio::join!(
            self.schedule_due(&mut report),
            self.send_due(&mut sending, shutdown)
        );
        scheduled?;
        sent?;
        // The sender queues and blocks nothing: this adds what it sent, retried and failed.
        report += sending;
        for workspace in self.store.complete_finished_campaigns().await? {
            let _ = self.changes.send((workspace, Change::Campaigns));
        }
        Ok(report)
    }
}

/// ISO 8601 UTC with milliseconds, the format every timestamp in the database has, so that
/// they compare as text.
pub fn iso(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses a stored timestamp.
pub fn parse_iso(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}
