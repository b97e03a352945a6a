//! The reply poller: one watcher per mailbox, each holding an IMAP session that reads what
//! arrived since its last place, then waits with IDLE (or sleeps, on servers without it) until
//! there is more. A watcher that loses its server backs off and reconnects; a mailbox set or
//! enabled while the engine runs gets a watcher within [`EngineConfig::mailbox_rescan`].
//!
//! [`EngineConfig::mailbox_rescan`]: crate::EngineConfig::mailbox_rescan

use std::collections::HashSet;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use outreach_channels::imap::{ImapAuth, ImapSecurity, ImapSession, ImapSettings};
use outreach_channels::inbound::MailKind;
use outreach_core::inbox::{Mailbox, MailboxAuth, MailboxSecurity};
use tokio::sync::watch;

use crate::replies::Handled;
use crate::{Engine, EngineError};

/// What one poll of a mailbox did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollReport {
    /// Messages read.
    pub read: u32,
    /// Stored as replies.
    pub stored: u32,
    /// Answering nothing of ours: left alone.
    pub ignored: u32,
    /// Could not be read (over a limit, not a message): audited and skipped.
    pub unparseable: u32,
}

impl Engine {
    /// Watches every polled mailbox until `shutdown`.
    pub(crate) async fn reply_loop(&self, shutdown: watch::Receiver<bool>) {
        let mut running: HashSet<i64> = HashSet::new();
        let mut watchers = FuturesUnordered::new();
        let mut stop = shutdown.clone();
        loop {
            if *stop.borrow() {
                break;
            }
            match self.store.polled_mailboxes().await {
                Ok(boxes) => {
                    for mb in boxes {
                        if running.insert(mb.account_id) {
                            watchers.push(self.watch(mb.account_id, shutdown.clone()));
                        }
                    }
                }
                Err(e) => self.note_error(format!("reply poller: {e}")),
            }
            tokio::select! {
                Some(account) = watchers.next(), if !watchers.is_empty() => {
                    running.remove(&account);
                }
                () = tokio::time::sleep(self.config.mailbox_rescan) => {}
                () = self.mailboxes_changed.notified() => {}
                _ = stop.changed() => {}
            }
        }
        while watchers.next().await.is_some() {}
    }

    /// One mailbox's watcher. Returns its account when the mailbox is removed or disabled.
    async fn watch(&self, account_id: i64, shutdown: watch::Receiver<bool>) -> i64 {
        let mut session: Option<(ImapSession, Mailbox)> = None;
        let mut failures: u32 = 0;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let mailbox = match self.store.mailbox(account_id).await {
                Ok(Some(mb)) if mb.fields.enabled => mb,
                Ok(_) => break,
                Err(e) => {
                    self.note_error(format!("reply poller: {e}"));
                    if !pause(backoff(failures), &shutdown).await {
                        break;
                    }
                    failures += 1;
                    continue;
                }
            };
            // Settings changed while connected: reconnect with the new ones.
            if let Some((s, used)) = session.take() {
                if used.fields == mailbox.fields && used.has_secret == mailbox.has_secret {
                    session = Some((s, used));
                } else {
                    s.close().await;
                }
            }
            let mut current = match session.take() {
                Some((s, _)) => s,
                None => match self.open_mailbox(&mailbox).await {
                    Ok(s) => s,
                    Err(e) => {
                        self.mailbox_failed(account_id, &e).await;
                        failures += 1;
                        if !pause(backoff(failures), &shutdown).await {
                            break;
                        }
                        continue;
                    }
                },
            };
            match self.poll_mailbox(&mailbox, &mut current).await {
                Ok(_) => failures = 0,
                Err(e) => {
                    self.mailbox_failed(account_id, &e).await;
                    current.close().await;
                    failures += 1;
                    if !pause(backoff(failures), &shutdown).await {
                        break;
                    }
                    continue;
                }
            }
            let wait = if current.supports_idle() {
                self.config.idle_max
            } else {
                self.config.poll_interval
            };
            let mut stop = shutdown.clone();
            let changed = self.mailboxes_changed.notified();
            let stopped = async move {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => {}
                    () = changed => {}
                }
            };
            match current.wait(wait, stopped).await {
                Ok(s) => session = Some((s, mailbox)),
                // The connection broke while idling: reconnect on the next round.
                Err(_) => session = None,
            }
        }
        if let Some((s, _)) = session {
            s.close().await;
        }
        account_id
    }

    async fn mailbox_failed(&self, account_id: i64, e: &EngineError) {
        let message = e.to_string();
        let _ = self.store.mailbox_error(account_id, Some(&message)).await;
        self.note_error(message);
    }

    fn note_error(&self, message: String) {
        self.status.send_modify(|s| s.last_error = Some(message));
    }

    /// Connects to a mailbox with its secret from the keychain (the account's sending password
    /// when the mailbox has none of its own).
    pub async fn open_mailbox(&self, mailbox: &Mailbox) -> Result<ImapSession, EngineError> {
        let account_id = mailbox.account_id;
        let secrets = self
            .secrets
            .account_secrets(account_id)
            .map_err(|message| EngineError::Mailbox {
                account_id,
                message,
            })?;
        let password =
            secrets
                .mailbox_secret
                .or(secrets.secret)
                .ok_or_else(|| EngineError::Mailbox {
                    account_id,
                    message: "no password or token for the mailbox is in the keychain".into(),
                })?;
        let settings = imap_settings(mailbox, password);
        ImapSession::open(&settings)
            .await
            .map_err(|e| EngineError::Mailbox {
                account_id,
                message: e.to_string(),
            })
    }

    /// Reads everything that arrived in the mailbox since the poller's place, stores the
    /// replies with their effects, and tells [`Engine::replies`] about the human ones.
    pub async fn poll_mailbox(
        &self,
        mailbox: &Mailbox,
        session: &mut ImapSession,
    ) -> Result<PollReport, EngineError> {
        let account_id = mailbox.account_id;
        let imap = |e: outreach_channels::imap::ImapError| EngineError::Mailbox {
            account_id,
            message: e.to_string(),
        };
        let position = self.store.mailbox_position(account_id).await?;
        let validity = session.uid_validity();
        let mut after = if position.uid_validity == Some(validity) {
            position.last_uid
        } else {
            0
        };
        let mut report = PollReport::default();
        loop {
            let poll = session
                .fetch_after(after, self.config.reply_batch)
                .await
                .map_err(imap)?;
            let Some(last) = poll.messages.last().map(|m| m.uid) else {
                self.store
                    .advance_mailbox(account_id, validity, after)
                    .await?;
                break;
            };
            let mut pending = Vec::new();
            let mut unreadable = Vec::new();
            for msg in &poll.messages {
                report.read += 1;
                match self.read_message(mailbox, msg).await? {
                    Ok(p) => pending.push(p),
                    Err(Handled::Unparseable) => {
                        report.unparseable += 1;
                        unreadable.push(msg.uid);
                    }
                    Err(_) => report.ignored += 1,
                }
            }
            // One batch through the classifier: a person's replies only, without the
            // unsubscribe requests the token already settles.
            let texts: Vec<String> = pending
                .iter()
                .filter(|p| p.mail.kind == MailKind::Human && !p.token)
                .map(|p| p.new_text.clone())
                .collect();
            let mut verdicts = self
                .classifier
                .classify(&self.store, mailbox.workspace_id, texts)
                .await?
                .into_iter();
            let mut processed = Vec::new();
            for p in pending {
                let verdict = if p.mail.kind == MailKind::Human && !p.token {
                    verdicts.next()
                } else {
                    None
                };
                let uid = p.uid;
                match self.store_reply(mailbox, validity, p, verdict).await? {
                    Handled::Stored(notice) => {
                        report.stored += 1;
                        processed.push(uid);
                        if let Some(n) = notice {
                            let _ = self.replies.send(n);
                        }
                    }
                    Handled::Duplicate => processed.push(uid),
                    Handled::Ignored | Handled::Unparseable => {}
                }
            }
            self.store
                .advance_mailbox(account_id, validity, last)
                .await?;
            // The keyword only helps a person see what the app read; the place in the
            // database is what counts, so a failure here is not worth a retry.
            let _ = session.mark_processed(&processed).await;
            let _ = session.mark_unparseable(&unreadable).await;
            after = last;
        }
        Ok(report)
    }
}

/// The IMAP settings of a mailbox with its password or token.
pub fn imap_settings(mailbox: &Mailbox, password: String) -> ImapSettings {
    let f = &mailbox.fields;
    ImapSettings {
        host: f.host.clone(),
        port: f.port.unwrap_or(993),
        security: match f.security {
            MailboxSecurity::ImplicitTls => ImapSecurity::ImplicitTls,
            MailboxSecurity::PlainLoopback => ImapSecurity::PlainLoopback,
        },
        username: f.username.clone(),
        auth: match f.auth {
            MailboxAuth::Password => ImapAuth::Password,
            MailboxAuth::Xoauth2 => ImapAuth::Xoauth2,
        },
        password: password.into(),
        mailbox: f.mailbox.clone(),
        timeout: Duration::from_secs(30),
    }
}

/// Sleeps unless shutdown comes first; false when it did.
async fn pause(d: Duration, shutdown: &watch::Receiver<bool>) -> bool {
    let mut stop = shutdown.clone();
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        _ = stop.wait_for(|s| *s) => false,
    }
}

/// 4 s after a first failure, then 8 s, 16 s … up to 5 minutes between attempts on a failing
/// mailbox: a passing hiccup (a busy database, a slow keychain) costs seconds, a server that
/// stays down is not hammered.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(2u64.saturating_mul(1 << failures.min(8)).min(300))
}

#[cfg(test)]
mod backoff_tests {
    use super::backoff;

    #[test]
    fn a_first_failure_is_retried_in_seconds_and_a_lasting_one_every_five_minutes() {
        let secs: Vec<u64> = (0..10).map(|f| backoff(f).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(u32::MAX).as_secs(), 300);
    }
}
