//! What the running engine tells the app about changes it makes on its own, on a real
//! encrypted database file and a real SMTP server (Postfix's `smtp-sink`).
// Test helpers fail the test on any error, which is what unwrap does.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use outreach_core::campaign::{AccountFields, SmtpSecurityMode, Transport};
use outreach_core::inbox::ReplyKind;
use outreach_core::reply::Intent;
use outreach_discovery::csv_source::{preview, read_rows};
use outreach_engine::{
    AccountSecrets, Change, Engine, EngineConfig, EngineLock, Keys, SecretSource,
};
use outreach_store::drafts::AnswerMessage;
use outreach_store::import::ImportBatch;
use outreach_store::key::DbKey;
use outreach_store::prospects::ProspectQuery;
use outreach_store::replies::{Effect, Matched, NewReply};
use outreach_store::workspaces::WorkspaceFields;
use outreach_store::{Actor, Store};
use outreach_testkit::smtp_sink::SmtpSink;

/// A loopback relay needs no password.
struct NoSecrets;

impl SecretSource for NoSecrets {
    fn account_secrets(&self, _: i64) -> Result<AccountSecrets, String> {
        Ok(AccountSecrets::default())
    }
}

/// A new database (in its folder) holding [`question`]: the folder, the store, the
/// workspace and the reply.
async fn asked(port: u16) -> (tempfile::TempDir, Store, i64, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("o.db"), &DbKey::generate())
        .await
        .unwrap();
    let (ws, reply) = question(&store, port).await;
    (dir, store, ws, reply)
}

/// A workspace with Ada, a loopback account to `port`, and Ada's question; returns the
/// workspace and the reply.
async fn question(store: &Store, port: u16) -> (i64, i64) {
    let ws = store
        .create_workspace(
            &WorkspaceFields {
                name: "Acme".into(),
                ..Default::default()
            },
            Actor::Cli,
        )
        .await
        .unwrap()
        .id;
    let csv = "email,first_name\nada@engines.example,Ada\n";
    let p = preview(csv.as_bytes(), 3).unwrap();
    let rows = read_rows(csv.as_bytes(), &p.columns, |_| {}).unwrap();
    store
        .import_prospects(
            ImportBatch {
                workspace_id: ws,
                file_name: "list.csv",
                source_type: p.source_type,
                mapping: &p.columns,
                valid: rows.valid,
                invalid: rows.invalid,
                total_rows: rows.total_rows,
                actor: Actor::Cli,
            },
            |_, _| {},
        )
        .await
        .unwrap();
    let ada = store
        .list_prospects(&ProspectQuery {
            workspace_id: ws,
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .rows[0]
        .id;
    let account = store
        .create_account(
            ws,
            &AccountFields {
                host: Some("127.0.0.1".into()),
                port: Some(port),
                security: Some(SmtpSecurityMode::PlainLoopback),
                ..AccountFields::new("relay", Transport::Smtp, "Alex", "alex@brand.example")
            },
            Actor::Cli,
        )
        .await
        .unwrap();
    let reply = NewReply {
        account_id: account.id,
        matched: Matched {
            prospect_id: ada,
            workspace_id: ws,
            message_row: None,
            campaign_id: None,
            email: Some("ada@engines.example".into()),
        },
        matched_by: "sender".into(),
        rfc_message_id: Some("q1@engines.example".into()),
        imap_uid: 1,
        from_address: Some("ada@engines.example".into()),
        from_name: Some("Ada".into()),
        subject: "Re: A partnership".into(),
        received_at: "2026-11-25T10:00:00Z".into(),
        kind: ReplyKind::Human,
        new_text: "What do you pay?".into(),
        full_text: "What do you pay?".into(),
        html: None,
        sentiment: Some(0.0),
        intent: Intent::Question,
        confidence: 0.9,
        intent_source: "rules".into(),
        return_date: None,
        bounce_status: None,
        bounce_diagnostic: None,
        needs_reply: true,
    };
    let effects = [Effect::Draft {
        subject: "Re: A partnership".into(),
        body: "Thanks for your question.".into(),
    }];
    let stored = store
        .record_reply(&reply, &effects, 1)
        .await
        .unwrap()
        .unwrap();
    (ws, stored.reply_id)
}

/// Queues an answer to `reply` (a new draft each time) with Message-ID `id`.
async fn queue_answer(store: &Store, reply: i64, id: &str) {
    let draft = store.open_draft(reply).await.unwrap();
    let answer = AnswerMessage {
        account_id: draft.account_id,
        message_id: id.into(),
        to_address: "ada@engines.example".into(),
        to_name: Some("Ada".into()),
        subject: "Re: A partnership".into(),
        body: "We pay 20%.\n\n-- \nopt out\n".into(),
        unsubscribe_token: "t1".into(),
        due_at: "2026-11-25T10:00:00Z".into(),
        in_reply_to: Some("q1@engines.example".into()),
    };
    store
        .queue_draft(draft.id, &answer, Actor::Cli)
        .await
        .unwrap();
}

/// An engine running on a test's database.
struct Running {
    /// What it tells the app, from before it started.
    changes: tokio::sync::broadcast::Receiver<(i64, Change)>,
    /// What it is doing.
    status: tokio::sync::watch::Receiver<outreach_engine::EngineStatus>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), outreach_engine::EngineError>>,
}

impl Running {
    /// Starts the engine on `store` (its lock in `dir`), polling every 50 ms.
    fn start(store: &Store, dir: &std::path::Path) -> Self {
        Self::start_with(store, dir, Arc::new(NoSecrets))
    }

    /// [`Running::start`] with the keychain `secrets`.
    fn start_with(store: &Store, dir: &std::path::Path, secrets: Arc<dyn SecretSource>) -> Self {
        let engine = Arc::new(Engine::new(
            store.clone(),
            Keys::derive(b"test master key"),
            secrets,
            EngineConfig {
                idle_tick: Duration::from_millis(50),
                ..Default::default()
            },
        ));
        let changes = engine.changes();
        let status = engine.status();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let lock = EngineLock::acquire(dir).unwrap();
        let task = tokio::spawn(async move { engine.run(&lock, shutdown).await });
        Self {
            changes,
            status,
            stop,
            task,
        }
    }

    /// Stops it and waits until it has.
    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_went_out_is_reported_to_the_app() {
    let sink = SmtpSink::start();
    let (dir, store, ws, reply) = asked(sink.port()).await;
    queue_answer(&store, reply, "a1@brand.example").await;
    let mut engine = Running::start(&store, dir.path());
    // The answer belongs to no campaign, so no campaign's completion would tell the app: the
    // open reply learns of it only from this.
    let change = tokio::time::timeout(Duration::from_secs(30), engine.changes.recv())
        .await
        .expect("a change within 30 s")
        .unwrap();
    assert_eq!(change, (ws, Change::Answers));
    let drafts = store.reply_drafts(reply).await.unwrap();
    assert_eq!(
        drafts[0].message_status.as_deref(),
        Some("sent"),
        "recorded first"
    );
    assert_eq!(sink.wait_for(1, Duration::from_secs(5)).len(), 1);

    engine.stop().await;
    store.close().await;
}

#[tokio::test]
async fn a_retention_purge_tells_the_app_whose_prospects_went() {
    // Ada asked a question; nobody needs a server here.
    let (_dir, store, ws, _) = asked(1).await;
    store.set_retention_months(ws, 1, Actor::Cli).await.unwrap();
    let engine = Engine::new(
        store.clone(),
        Keys::derive(b"test master key"),
        Arc::new(NoSecrets),
        EngineConfig::default(),
    );
    let mut changes = engine.changes();
    let (_keep, shutdown) = tokio::sync::watch::channel(false);

    // Today nobody is due, and the app hears nothing.
    let now = jiff::Timestamp::now();
    let none = engine.purge_expired(now, &shutdown).await.unwrap();
    assert_eq!(none.prospects, 0);
    assert!(changes.try_recv().is_err());

    // Forty days on, her month is over (her reply is older than her import): she goes with
    // her reply, and the app hears which workspace's prospects changed.
    let later = now + jiff::SignedDuration::from_hours(40 * 24);
    let purged = engine.purge_expired(later, &shutdown).await.unwrap();
    assert_eq!((purged.prospects, purged.replies), (1, 1));
    assert_eq!(changes.try_recv().unwrap(), (ws, Change::Prospects));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_engine_sends_through_an_account_as_it_was_last_changed() {
    let old_relay = SmtpSink::start();
    let new_relay = SmtpSink::start();
    let (dir, store, ws, reply) = asked(old_relay.port()).await;
    let account = store.list_accounts(ws).await.unwrap().remove(0);
    queue_answer(&store, reply, "a1@brand.example").await;
    let engine = Running::start(&store, dir.path());
    assert_eq!(old_relay.wait_for(1, Duration::from_secs(30)).len(), 1);

    // The agency moves the account to another relay (as the app or `account edit` saves it,
    // here or in another process) while the engine keeps running.
    let mut moved = account.fields.clone();
    moved.port = Some(new_relay.port());
    store
        .update_account(account.id, &moved, Actor::Cli)
        .await
        .unwrap();
    store
        .set_account_secret_flags(account.id, false, false)
        .await
        .unwrap();
    queue_answer(&store, reply, "a2@brand.example").await;
    assert_eq!(
        new_relay.wait_for(1, Duration::from_secs(30)).len(),
        1,
        "the second answer goes to the new relay"
    );
    let arrived = new_relay.texts();
    assert!(arrived[0].contains("a2@brand.example"), "{}", arrived[0]);
    assert_eq!(old_relay.texts().len(), 1, "nothing more to the old relay");

    engine.stop().await;
    store.close().await;
}

/// A keychain that gives nothing until it is unlocked.
struct LockedKeychain(Arc<std::sync::atomic::AtomicBool>);

impl SecretSource for LockedKeychain {
    fn account_secrets(&self, _: i64) -> Result<AccountSecrets, String> {
        if self.0.load(std::sync::atomic::Ordering::SeqCst) {
            Ok(AccountSecrets::default())
        } else {
            Err("the keychain is locked".into())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_that_could_not_be_set_up_sends_as_soon_as_it_is_fixed() {
    let sink = SmtpSink::start();
    let (dir, store, ws, reply) = asked(sink.port()).await;
    let account = store.list_accounts(ws).await.unwrap().remove(0).id;
    store
        .set_account_secret_flags(account, true, false)
        .await
        .unwrap();
    queue_answer(&store, reply, "a1@brand.example").await;
    let unlocked = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut engine = Running::start_with(
        &store,
        dir.path(),
        Arc::new(LockedKeychain(unlocked.clone())),
    );
    tokio::time::timeout(
        Duration::from_secs(30),
        engine
            .status
            .wait_for(|s| s.blocked_accounts.contains_key(&account)),
    )
    .await
    .expect("the engine tried the account within 30 s")
    .unwrap();
    assert!(sink.texts().is_empty(), "nothing without the password");

    // The person enters the password again: the account changes, and the answer goes out
    // without waiting out the engine's retry minute.
    unlocked.store(true, std::sync::atomic::Ordering::SeqCst);
    store
        .set_account_secret_flags(account, true, false)
        .await
        .unwrap();
    assert_eq!(sink.wait_for(1, Duration::from_secs(10)).len(), 1);
    engine.stop().await;
    store.close().await;
}
