//! An account's SMTP sessions used side by side, as many as its server takes at once.
//!
//! Servers limit how many sessions one account may have open: Exchange Online takes three
//! per mailbox and refuses a fourth with "432 4.3.2 Concurrent connections limit exceeded",
//! and a mail client of the same person may hold one of them. A session refused that way
//! ([`SendErrorKind::SessionLimit`]) is given up for an hour (the other client may have
//! closed its own by then), and its messages (nothing of which was accepted) go at once over
//! the sessions the server took. Without this, every batch would meet the refusal again: a
//! quarter of the messages retried later, each retry counted towards giving up on the message.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outreach_channels::email::OutgoingEmail;
use outreach_channels::smtp::{SendError, SendErrorKind, SmtpSender};

/// What became of one message: the server's reply to its data, or why it did not go.
pub type SmtpResult = Result<String, SendError>;

/// The SMTP sessions of one account.
pub struct SmtpSessions {
    senders: Vec<Arc<SmtpSender>>,
    /// Per sender: when the server refused it for having too many sessions open.
    given_up: Mutex<Vec<Option<Instant>>>,
    /// How long a session refused that way is left unused.
    given_up_for: Duration,
}

impl SmtpSessions {
    /// Sessions over `senders`, each connecting on its first send; one the server refuses for
    /// having too many open is left unused for an hour.
    pub fn new(senders: Vec<SmtpSender>) -> Self {
        Self::giving_up_for(senders, Duration::from_secs(60 * 60))
    }

    /// [`SmtpSessions::new`] with sessions refused for having too many open left unused for
    /// `given_up_for`.
    pub fn giving_up_for(senders: Vec<SmtpSender>, given_up_for: Duration) -> Self {
        Self {
            given_up: Mutex::new(vec![None; senders.len()]),
            senders: senders.into_iter().map(Arc::new).collect(),
            given_up_for,
        }
    }

    /// How many sessions are in use: all of them, but those the server refused lately.
    pub fn in_use(&self) -> usize {
        self.in_use_indices().len()
    }

    fn in_use_indices(&self) -> Vec<usize> {
        let mut given_up = self.given_up.lock().unwrap_or_else(|e| e.into_inner());
        for at in given_up.iter_mut() {
            if at.is_some_and(|at| at.elapsed() >= self.given_up_for) {
                *at = None;
            }
        }
        (0..self.senders.len())
            .filter(|&i| given_up[i].is_none())
            .collect()
    }

    /// Leaves `sessions` unused for a while, and ends them.
    async fn give_up(&self, sessions: &[usize]) {
        {
            let mut given_up = self.given_up.lock().unwrap_or_else(|e| e.into_inner());
            for &s in sessions {
                given_up[s] = Some(Instant::now());
            }
        }
        for &s in sessions {
            self.senders[s].close().await;
        }
    }

    /// Sends messages spread over the sessions in use, each sending its share in order, and
    /// says for each, in the given order, what became of it.
    ///
    /// When the server refuses some sessions for having too many open while it takes others,
    /// those are given up and their shares sent again over the others. When it refuses every
    /// one, the refusals are the answer: none of the sessions is given up, since the sessions
    /// open elsewhere (another client of the same account) may close.
    pub async fn send(&self, emails: Vec<OutgoingEmail>) -> Vec<SmtpResult> {
        let mut results: Vec<Option<SmtpResult>> = vec![None; emails.len()];
        let mut waiting: Vec<(usize, OutgoingEmail)> = emails.into_iter().enumerate().collect();
        // Fewer with each round that gives some up, so that the rounds end.
        let mut sessions = self.in_use_indices();
        while !waiting.is_empty() {
            let round = self.round(&sessions, std::mem::take(&mut waiting)).await;
            let refused: Vec<usize> = sessions
                .iter()
                .copied()
                .filter(|s| round.iter().any(|r| r.session == *s && r.over_limit()))
                .collect();
            // Taken: a session that carried messages this round without a refusal, or holds a
            // session the server took before.
            let others_took = sessions.iter().any(|s| {
                !refused.contains(s)
                    && (round.iter().any(|r| r.session == *s) || self.senders[*s].is_open())
            });
            for r in round {
                if others_took && r.over_limit() {
                    waiting.push((r.index, r.email));
                } else {
                    results[r.index] = Some(r.result);
                }
            }
            if others_took {
                self.give_up(&refused).await;
                sessions.retain(|s| !refused.contains(s));
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(unanswered())))
            .collect()
    }

    /// Sends `emails` spread over `sessions`, side by side.
    async fn round(&self, sessions: &[usize], emails: Vec<(usize, OutgoingEmail)>) -> Vec<Sent> {
        let mut shares: Vec<Vec<(usize, OutgoingEmail)>> = vec![Vec::new(); sessions.len()];
        for (n, item) in emails.into_iter().enumerate() {
            shares[n % sessions.len()].push(item);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (&session, share) in sessions.iter().zip(shares) {
            if share.is_empty() {
                continue;
            }
            let sender = Arc::clone(&self.senders[session]);
            tasks.spawn(async move {
                let (indices, emails): (Vec<usize>, Vec<OutgoingEmail>) = share.into_iter().unzip();
                let sent = sender.send_all(&emails).await;
                indices
                    .into_iter()
                    .zip(emails)
                    .zip(sent)
                    .map(|((index, email), result)| Sent {
                        index,
                        session,
                        email,
                        result: result.map(|r| r.response),
                    })
                    .collect::<Vec<_>>()
            });
        }
        // A session task that panicked leaves its messages without an answer: they may have
        // gone out, so `send` counts them unconfirmed.
        let mut round = Vec::new();
        while let Some(Ok(share)) = tasks.join_next().await {
            round.extend(share);
        }
        round
    }

    /// Ends the sessions politely.
    pub async fn close(&self) {
        for s in &self.senders {
            s.close().await;
        }
    }
}

/// One message of a round.
struct Sent {
    index: usize,
    session: usize,
    email: OutgoingEmail,
    result: SmtpResult,
}

impl Sent {
    fn over_limit(&self) -> bool {
        matches!(&self.result, Err(e) if e.kind == SendErrorKind::SessionLimit)
    }
}

fn unanswered() -> SendError {
    SendError {
        kind: SendErrorKind::Unconfirmed,
        code: None,
        message: "the sending task failed".into(),
    }
}
