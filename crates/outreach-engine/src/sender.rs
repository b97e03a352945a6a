//! Drains the outbox: for each account, claim the next due message if the rate governor
//! allows, hand it to the transport, and record its fate.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use outreach_channels::email::OutgoingEmail;
use outreach_core::campaign::{CampaignFields, SenderAccount};
use outreach_core::schedule::{Decision, random_gap};
use outreach_store::outbox::{ClaimedMessage, Outcome};
use tokio::sync::{Mutex, watch};

use crate::governor;
use crate::transport::{Delivery, Transport};
use crate::variables::one_click_url;
use crate::{Change, Engine, EngineError, EngineState, PassReport, iso};

/// How long to wait before retrying after the `attempts`-th failure: 30 s doubling, at most an
/// hour, so an outage is ridden out without hammering the server.
fn backoff(attempts: i64) -> SignedDuration {
    let exp = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    SignedDuration::from_secs((30i64 << exp).min(3600))
}

impl Engine {
    /// The account's transport, set up again once the account changed (in the app, or from
    /// the command line in another process): a corrected password or host applies from the
    /// next attempt, with no restart.
    async fn transport(
        &self,
        account: &SenderAccount,
        changed_at: &str,
    ) -> Result<Arc<Transport>, EngineError> {
        let mut cache = self.transports.lock().await;
        match cache.get(&account.id) {
            Some((set_up_from, t)) if *set_up_from == changed_at => return Ok(t.clone()),
            Some(_) => {
                if let Some((_, old)) = cache.remove(&account.id) {
                    old.close().await;
                }
            }
            None => {}
        }
        let secrets = if account.has_secret || account.has_dkim_key {
            self.secrets
                .account_secrets(account.id)
                .map_err(|m| EngineError::Account {
                    account_id: account.id,
                    message: m,
                })?
        } else {
            Default::default()
        };
        let t = Arc::new(Transport::for_account(
            account,
            secrets,
            self.config.smtp_sessions,
        )?);
        cache.insert(account.id, (changed_at.to_owned(), t.clone()));
        Ok(t)
    }

    pub(crate) async fn send_due(
        &self,
        report: &mut PassReport,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<(), EngineError> {
        // Outcomes a failed write left in memory go first: until they are written down, their
        // messages stay `sending`, and their accounts may have nothing queued any more.
        self.record_kept().await?;
        for account_id in self.store.accounts_with_queued().await? {
            if *shutdown.borrow() {
                break;
            }
            let now = Timestamp::now();
            let held = self
                .account_wait
                .lock()
                .await
                .get(&account_id)
                .is_some_and(|until| *until > now);
            let unusable_since = self
                .status
                .borrow()
                .blocked_accounts
                .get(&account_id)
                .cloned();
            // Caps and outages are waited out; an account that could not be set up waits
            // only until a person changes it.
            if held && unusable_since.is_none() {
                continue;
            }
            let changed_at = self.store.account_changed_at(account_id).await?;
            if held && unusable_since.as_deref() == Some(changed_at.as_str()) {
                continue;
            }
            let account = self.store.account(account_id).await?;
            let transport = match self.transport(&account, &changed_at).await {
                Ok(t) => {
                    self.status
                        .send_if_modified(|s| s.blocked_accounts.remove(&account_id).is_some());
                    t
                }
                Err(e) => {
                    self.status.send_modify(|s| {
                        s.last_error = Some(e.to_string());
                        s.blocked_accounts.insert(account_id, changed_at);
                    });
                    // Tried again now and then: a keychain may be unlocked meanwhile.
                    self.hold(account_id, now + SignedDuration::from_secs(60))
                        .await;
                    continue;
                }
            };
            self.drain_account(&account, &transport, report, shutdown)
                .await?;
        }
        Ok(())
    }

    async fn hold(&self, account_id: i64, until: Timestamp) {
        self.account_wait.lock().await.insert(account_id, until);
    }

    /// Sends what the account has due, up to one pass's budget, over
    /// [`EngineConfig::send_lanes`](crate::EngineConfig::send_lanes) lanes: each lane claims a batch, sends
    /// it, and writes down its outcomes together with its next claim. The lanes take turns at
    /// the database (one at a time, so two never choose the same messages) and send side by
    /// side, so that the account's SMTP sessions are busy while the database records and
    /// claims, and the other way round.
    async fn drain_account(
        &self,
        account: &SenderAccount,
        transport: &Transport,
        report: &mut PassReport,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<(), EngineError> {
        // Loaded once per drain rather than once per batch: the send loop is the hot path.
        // Loaded before anything is claimed, so that nothing can fail between a claim and the
        // send but the send itself. An account sends only for its own workspace (campaigns and
        // answers are refused another workspace's account).
        let one_click_base = self
            .store
            .sending_settings(account.workspace_id)
            .await?
            .unsubscribe_url;
        let turn = Mutex::new(Drain {
            campaigns: HashMap::new(),
            budget: u32::try_from(self.config.schedule_batch.max(1)).unwrap_or(u32::MAX),
            stop: false,
        });
        let lane = Lane {
            account,
            transport,
            one_click_base: one_click_base.as_deref(),
            turn: &turn,
            shutdown,
        };
        let lanes = (0..self.config.send_lanes.max(1)).map(|_| async {
            let mut lane_report = PassReport::default();
            let result = self.drain_lane(&lane, &mut lane_report).await;
            (lane_report, result)
        });
        let mut first_error = Ok(());
        for (lane_report, result) in futures_util::future::join_all(lanes).await {
            *report += lane_report;
            if first_error.is_ok() {
                first_error = result;
            }
        }
        first_error
    }

    async fn drain_lane(
        &self,
        lane: &Lane<'_>,
        report: &mut PassReport,
    ) -> Result<(), EngineError> {
        let account = lane.account;
        // The batch this lane sent last, whose outcomes are written with its next claim.
        let mut pending: Option<SentBatch> = None;
        loop {
            let claimed = {
                let mut turn = lane.turn.lock().await;
                let next = self.next_claim(lane, &mut turn, pending.take()).await;
                if !matches!(next, Ok(Some(_))) {
                    // An error, or nothing left: the other lanes end after their batch too.
                    turn.stop = true;
                }
                next?
            };
            let Some((claimed_at, claimed)) = claimed else {
                return Ok(());
            };
            let emails = claimed
                .iter()
                .map(|m| outgoing(account, m, lane.one_click_base))
                .collect();
            let deliveries = lane.transport.send_batch(emails).await;
            let now = Timestamp::now();
            let mut outcomes = Vec::with_capacity(claimed.len());
            for (m, delivery) in claimed.iter().zip(deliveries) {
                outcomes.push(self.outcome(account, m, delivery, now, report).await);
            }
            // An outage or a server's "later" holds the account (see `outcome`).
            let stop = self
                .account_wait
                .lock()
                .await
                .get(&account.id)
                .is_some_and(|until| *until > Timestamp::now());
            pending = Some(SentBatch {
                claimed_at,
                claimed,
                outcomes,
                stop,
            });
        }
    }

    /// A lane's turn at the database: writes down `sent` (the lane's last batch) and claims the
    /// next batch, in one transaction. Returns the claim time and the claimed messages, or
    /// `None` when the drain ends (budget spent, the account must wait, shutdown, nothing due).
    async fn next_claim(
        &self,
        lane: &Lane<'_>,
        turn: &mut Drain,
        sent: Option<SentBatch>,
    ) -> Result<Option<(String, Vec<ClaimedMessage>)>, EngineError> {
        let account_id = lane.account.id;
        if sent.as_ref().is_some_and(|s| s.stop) {
            turn.stop = true;
        }
        let next = if turn.stop || *lane.shutdown.borrow() || turn.budget == 0 {
            None
        } else {
            match self
                .choose_next(lane.account, turn.budget, &mut turn.campaigns)
                .await
            {
                Ok(next) => next,
                Err(e) => {
                    if let Some(sent) = sent {
                        self.record_or_keep(account_id, sent, &[], &[]).await?;
                    }
                    return Err(e);
                }
            }
        };
        let (claimed_at, claimed) = match (sent, next) {
            (Some(sent), Some((rows, gaps))) => {
                self.record_or_keep(account_id, sent, &rows, &gaps).await?
            }
            (Some(sent), None) => {
                self.record_or_keep(account_id, sent, &[], &[]).await?;
                return Ok(None);
            }
            (None, Some((rows, gaps))) => {
                let now = iso(Timestamp::now());
                let claimed = self
                    .store
                    .claim_batch(&rows, account_id, &now, &gaps)
                    .await?;
                (now, claimed)
            }
            (None, None) => return Ok(None),
        };
        if claimed.is_empty() {
            return Ok(None);
        }
        turn.budget = turn
            .budget
            .saturating_sub(u32::try_from(claimed.len()).unwrap_or(u32::MAX));
        Ok(Some((claimed_at, claimed)))
    }

    /// What the account may claim next, as the rate governor and each campaign's own limits
    /// allow: message rows and the campaigns' next-send holds. `None` when nothing may go now
    /// (the account is held until the governor allows more).
    async fn choose_next(
        &self,
        account: &SenderAccount,
        budget: u32,
        campaigns: &mut HashMap<i64, CampaignFields>,
    ) -> Result<Option<(Vec<i64>, Vec<(i64, String)>)>, EngineError> {
        let now = Timestamp::now();
        let room = match governor::account_verdict(&self.store, account, now).await? {
            (Decision::Go, room) => room,
            (Decision::WaitUntil(until), _) => {
                self.hold(account.id, until).await;
                return Ok(None);
            }
            (Decision::Blocked, _) => {
                self.hold(account.id, now + SignedDuration::from_secs(300))
                    .await;
                return Ok(None);
            }
        };
        let limit = room.clamp(1, self.config.send_batch.max(1)).min(budget);
        let candidates = self
            .store
            .claim_candidates(account.id, &iso(now), i64::from(limit))
            .await?;
        // Each campaign's own limits: what is left of its daily cap, and one message per
        // random gap.
        let mut left: HashMap<i64, u32> = HashMap::new();
        let mut gaps = Vec::new();
        let mut chosen = Vec::new();
        for c in candidates {
            if let Some(cid) = c.campaign_id {
                let f = match campaigns.entry(cid) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => e.insert(self.store.campaign(cid).await?.fields),
                };
                let left = match left.entry(cid) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        let mut n = u32::MAX;
                        if let Some(cap) = f.daily_cap {
                            n = governor::campaign_day_room(&self.store, cid, cap, now).await?;
                        }
                        if f.max_gap_seconds > 0 {
                            n = n.min(1);
                        }
                        e.insert(n)
                    }
                };
                if *left == 0 {
                    continue;
                }
                *left -= 1;
                if f.max_gap_seconds > 0 {
                    let gap = random_gap(f.min_gap_seconds, f.max_gap_seconds, &mut rand::rng());
                    gaps.push((cid, iso(now + gap)));
                }
            }
            chosen.push(c.message_id);
        }
        Ok((!chosen.is_empty()).then_some((chosen, gaps)))
    }

    /// Writes down what became of a sent batch and, in the same transaction, claims `next`
    /// (when not empty); returns the claim time and the claimed messages. When the store
    /// fails (the disk, or another program holding the database past the busy timeout), the
    /// outcomes are kept in memory and written by a later pass: the messages went out, so
    /// dropping what the server said would leave them `sending`, to be shown as unconfirmed
    /// after a restart.
    async fn record_or_keep(
        &self,
        account_id: i64,
        sent: SentBatch,
        next: &[i64],
        gaps: &[(i64, String)],
    ) -> Result<(String, Vec<ClaimedMessage>), EngineError> {
        match self.record(account_id, &sent, next, gaps).await {
            Ok(claimed) => Ok(claimed),
            Err(e) => {
                self.unrecorded.lock().await.push((account_id, sent));
                Err(e)
            }
        }
    }

    /// Writes down the outcomes kept by [`Engine::record_or_keep`]; those the store still
    /// refuses stay kept.
    pub(crate) async fn record_kept(&self) -> Result<(), EngineError> {
        let kept = std::mem::take(&mut *self.unrecorded.lock().await);
        let mut kept = kept.into_iter();
        while let Some((account_id, sent)) = kept.next() {
            if let Err(e) = self.record(account_id, &sent, &[], &[]).await {
                let mut unrecorded = self.unrecorded.lock().await;
                unrecorded.push((account_id, sent));
                unrecorded.extend(kept);
                return Err(e);
            }
        }
        Ok(())
    }

    async fn record(
        &self,
        account_id: i64,
        sent: &SentBatch,
        next: &[i64],
        gaps: &[(i64, String)],
    ) -> Result<(String, Vec<ClaimedMessage>), EngineError> {
        let now = iso(Timestamp::now());
        let outcomes: Vec<(&ClaimedMessage, &Outcome)> =
            sent.claimed.iter().zip(&sent.outcomes).collect();
        let claimed = self
            .store
            .record_and_claim(account_id, &sent.claimed_at, &outcomes, &now, next, gaps)
            .await?;
        // Campaign messages show in progress views that poll; an answer shows in the reply
        // it answers, which reloads on this. Rare next to campaign messages.
        let answered: std::collections::BTreeSet<i64> = outcomes
            .iter()
            .filter(|(m, _)| m.campaign_id.is_none())
            .map(|(m, _)| m.workspace_id)
            .collect();
        for workspace in answered {
            let _ = self.changes.send((workspace, Change::Answers));
        }
        let sent = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Sent { .. }))
            .count();
        if sent > 0 {
            // Counted once recorded, so that the status never runs ahead of the database.
            self.status.send_modify(|s| {
                s.sent += u32::try_from(sent).unwrap_or(u32::MAX);
                s.state = EngineState::Running;
            });
        }
        Ok((now, claimed))
    }

    /// What a delivery means for the message, and for the account's status and schedule.
    async fn outcome(
        &self,
        account: &SenderAccount,
        m: &ClaimedMessage,
        delivery: Delivery,
        now: Timestamp,
        report: &mut PassReport,
    ) -> Outcome {
        let outcome = match delivery {
            Delivery::Sent(response) => {
                report.sent += 1;
                Outcome::Sent { response }
            }
            Delivery::Offline(error) => {
                report.retried += 1;
                let at = now + backoff(m.attempts);
                self.hold(account.id, at).await;
                self.status.send_modify(|s| {
                    s.state = EngineState::Offline;
                    s.last_error = Some(error.clone());
                });
                Outcome::Retry { error, at: iso(at) }
            }
            Delivery::Transient { error, retry_at } => {
                if m.attempts >= self.config.max_transient_attempts {
                    report.failed += 1;
                    Outcome::Failed {
                        error: format!("{error} (gave up after {} attempts)", m.attempts),
                    }
                } else {
                    report.retried += 1;
                    let at = retry_at.unwrap_or(now + backoff(m.attempts));
                    if retry_at.is_some() {
                        self.hold(account.id, at).await;
                    }
                    Outcome::Retry { error, at: iso(at) }
                }
            }
            Delivery::Failed(error) => {
                report.failed += 1;
                Outcome::Failed { error }
            }
            Delivery::Bounced(error) => {
                report.failed += 1;
                Outcome::Bounced { error }
            }
            Delivery::Unconfirmed(error) => {
                report.failed += 1;
                Outcome::Unconfirmed { error }
            }
        };
        if let Outcome::Failed { error }
        | Outcome::Bounced { error }
        | Outcome::Unconfirmed { error } = &outcome
        {
            let e = error.clone();
            self.status.send_modify(|s| s.last_error = Some(e));
        }
        outcome
    }
}

/// What the lanes of one account's drain share, and take turns at.
struct Drain {
    /// The campaigns whose messages were chosen so far, loaded once per drain.
    campaigns: HashMap<i64, CampaignFields>,
    /// How many more messages this drain may claim.
    budget: u32,
    /// Set when the account must wait, nothing is left, or a lane failed: every lane then
    /// ends once its batch in hand is written down.
    stop: bool,
}

/// What every lane of one account's drain works with.
struct Lane<'a> {
    account: &'a SenderAccount,
    transport: &'a Transport,
    one_click_base: Option<&'a str>,
    turn: &'a Mutex<Drain>,
    shutdown: &'a watch::Receiver<bool>,
}

/// A batch that went out (or tried to), its outcomes not yet written down.
pub(crate) struct SentBatch {
    claimed_at: String,
    claimed: Vec<ClaimedMessage>,
    outcomes: Vec<Outcome>,
    /// Whether the drain ends after it (offline, or the account must wait).
    stop: bool,
}

/// The message as the transport sends it: the stored, rendered row plus the account's sender
/// fields and the recipient's unsubscribe addresses.
fn outgoing(
    account: &SenderAccount,
    m: &ClaimedMessage,
    one_click_base: Option<&str>,
) -> OutgoingEmail {
    let f = &account.fields;
    let mailbox = f.reply_to.as_deref().unwrap_or(&f.from_address);
    OutgoingEmail {
        from_name: f.from_name.clone(),
        from_address: f.from_address.clone(),
        reply_to: f.reply_to.clone(),
        to_name: m.to_name.clone(),
        to_address: m.to_address.clone(),
        subject: m.subject.clone(),
        body_text: m.body.clone(),
        message_id: m.message_id.clone(),
        unsubscribe_mailto: format!(
            "mailto:{mailbox}?subject=unsubscribe%20{}",
            m.unsubscribe_token
        ),
        unsubscribe_https: one_click_base.map(|u| one_click_url(u, &m.unsubscribe_token)),
        in_reply_to: m.in_reply_to.clone(),
    }
}
