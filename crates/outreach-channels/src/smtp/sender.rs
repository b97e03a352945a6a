//! Sending messages over one SMTP session kept open between sends.
//!
//! Opening a session costs a TCP (and TLS) handshake, a greeting, EHLO and often AUTH, several
//! times what one message costs; so the session is kept and reused, and replaced transparently
//! when the server has closed it while idle. The transaction is driven step by step (MAIL, RCPT
//! and DATA pipelined when the server allows, then the data) so that a failure is known to have
//! happened before the message data (nothing sent, safe to retry) or after it (the server may
//! have accepted it).

use std::{borrow::Cow, fmt};

use lettre::{
    Address, Message,
    address::Envelope,
    transport::smtp::{
        Error as SmtpError,
        client::AsyncSmtpConnection,
        commands::{Data, Mail, Quit, Rcpt, Rset},
        response::Response,
    },
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{
    connect::{Connector, Session, StepError, within},
    error::{ConnectError, SendError, SendErrorKind},
    reply::{TxFailure, TxStage, classify},
    settings::SmtpSettings,
};
use crate::{
    email::OutgoingEmail,
    message::{DkimKey, compose},
};

/// The server accepted the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpReceipt {
    /// The server's reply to the end of the message, e.g. "250 2.0.0 Ok: queued as 4Xq3".
    pub response: String,
}

/// Sends messages for one SMTP account, one at a time, over a reused session.
pub struct SmtpSender {
    connector: Connector,
    dkim: Option<DkimKey>,
    /// `None` until the first send, and after a failure that left the session unusable.
    session: Mutex<Option<Session>>,
}

impl SmtpSender {
    /// Checks the settings and prepares TLS; connects on the first send.
    pub fn new(settings: &SmtpSettings, dkim: Option<DkimKey>) -> Result<Self, ConnectError> {
        Ok(Self {
            connector: Connector::new(settings)?,
            dkim,
            session: Mutex::new(None),
        })
    }

    /// Builds, signs and sends one message. Concurrent calls queue behind each other.
    ///
    /// If the future is dropped mid-send the session is dropped with it; if the data had
    /// started to go out, treat the message as
    /// [`SendErrorKind::Unconfirmed`](super::SendErrorKind::Unconfirmed).
    pub async fn send(&self, email: &OutgoingEmail) -> Result<SmtpReceipt, SendError> {
        self.send_all(std::slice::from_ref(email))
            .await
            .pop()
            .unwrap_or_else(|| Err(SendError::new(SendErrorKind::Invalid, None, "no message")))
    }

    /// Builds, signs and sends messages in order over this session, and says for each what
    /// became of it. When the server takes pipelined commands, each message's `MAIL FROM`,
    /// `RCPT TO` and `DATA` go out in the same write as the previous message's data (RFC 2920
    /// lets message data open a group): one round trip a message instead of two. The data of
    /// a message still goes out only after the server accepted its `DATA`, so the pipelined
    /// commands change nothing about what may have been sent.
    ///
    /// Once the server is unreachable ([`SendErrorKind::Offline`]), refuses the session for
    /// having too many open at once ([`SendErrorKind::SessionLimit`], which also gives up the
    /// session) or says the account spent its allowance ([`SendErrorKind::QuotaSpent`]) the
    /// rest are not tried and get the same error: nothing of them went out.
    /// Concurrent calls queue behind each other; a dropped future drops the session, as
    /// [`SmtpSender::send`] says.
    pub async fn send_all(&self, emails: &[OutgoingEmail]) -> Vec<Result<SmtpReceipt, SendError>> {
        let composed: Vec<Result<(Message, Vec<u8>), SendError>> = emails
            .iter()
            .map(|email| {
                let message = compose(email, self.dkim.as_ref())?;
                let data = message.formatted();
                Ok((message, data))
            })
            .collect();
        let mut results = Vec::with_capacity(emails.len());
        let mut slot = self.session.lock().await;
        // Taken out of the slot for as long as messages go out, so that a cancelled send
        // cannot leave a half-finished session behind for the next call. `reused`: the session
        // carried a message before, so the server may have dropped it meanwhile.
        let mut current: Option<(Session, bool)> = slot.take().map(|session| (session, true));
        // The message at hand's envelope already went out, after the previous message's data.
        let mut opened = false;
        // Set when the rest cannot go over this session (see above).
        let mut stopped: Option<SendError> = None;
        for (index, item) in composed.iter().enumerate() {
            let (message, data) = match item {
                Ok(built) => built,
                Err(err) => {
                    results.push(Err(err.clone()));
                    continue;
                }
            };
            if let Some(err) = &stopped {
                results.push(Err(err.clone()));
                continue;
            }
            let accepted = loop {
                let (mut session, reused) = match current.take() {
                    Some(open) => open,
                    None => match self.connector.open().await {
                        Ok(session) => (session, false),
                        Err(err) => break Err(SendError::from(err)),
                    },
                };
                let opening = if std::mem::take(&mut opened) {
                    let stages = opening_stages(message.envelope());
                    self.read_opening(&mut session.connection, stages, None)
                        .await
                } else {
                    self.open(&mut session, message.envelope()).await
                };
                match opening {
                    Ok(()) => break Ok(session),
                    // Nothing of this message reached the old session; one fresh try.
                    Err(failure) if reused && failure.looks_stale() => {}
                    Err(failure) => {
                        if failure.session_usable && self.reset(&mut session.connection).await {
                            current = Some((session, true));
                        }
                        break Err(failure.error);
                    }
                }
            };
            let mut session = match accepted {
                Ok(session) => session,
                Err(err) => {
                    if stops_the_rest(&err) {
                        stopped = Some(err.clone());
                    }
                    results.push(Err(err));
                    continue;
                }
            };
            // The next message that was built, whose envelope can ride along with this data.
            let next = composed[index + 1..]
                .iter()
                .find_map(|item| item.as_ref().ok())
                .filter(|_| session.report.pipelining)
                .map(|(next, _)| opening_commands(next.envelope()));
            let (sent, pipelined) = self.content(&mut session.connection, data, next).await;
            match sent {
                Ok(response) => results.push(Ok(SmtpReceipt { response })),
                Err(failure) => {
                    if stops_the_rest(&failure.error) {
                        stopped = Some(failure.error.clone());
                    }
                    results.push(Err(failure.error));
                    if !failure.session_usable {
                        continue;
                    }
                    // The server ended this message's transaction with its refusal; with no
                    // pipelined commands behind it, RSET makes sure.
                    if !pipelined && !self.reset(&mut session.connection).await {
                        continue;
                    }
                }
            }
            opened = pipelined;
            current = Some((session, true));
        }
        // Every pipelined envelope belongs to a message sent above; a session left with one
        // open would start the next call in the middle of a transaction.
        if !opened {
            *slot = current.map(|(session, _)| session);
        }
        results
    }

    /// Whether a session is open (or busy with a send): the server took it.
    pub fn is_open(&self) -> bool {
        self.session.try_lock().map_or(true, |slot| slot.is_some())
    }

    /// Ends the session politely, if one is open. Sending later opens a new one.
    pub async fn close(&self) {
        if let Some(mut session) = self.session.lock().await.take() {
            let _ = within(self.connector.timeout(), session.connection.command(Quit)).await;
        }
    }

    /// Sends the message's envelope and `DATA`, and reads their replies.
    async fn open(&self, session: &mut Session, envelope: &Envelope) -> Result<(), TxFailure> {
        let connection = &mut session.connection;
        if session.report.pipelining {
            let commands = opening_commands(envelope);
            let first = within(self.connector.timeout(), connection.command(&commands)).await;
            self.read_opening(connection, opening_stages(envelope), Some(first))
                .await
        } else {
            self.open_lockstep(connection, envelope).await
        }
    }

    /// `MAIL FROM`, `RCPT TO` and `DATA`, each awaiting its reply.
    async fn open_lockstep(
        &self,
        connection: &mut AsyncSmtpConnection,
        envelope: &Envelope,
    ) -> Result<(), TxFailure> {
        let limit = self.connector.timeout();
        within(limit, connection.command(mail_from(envelope)))
            .await
            .map_err(|err| classify(TxStage::MailFrom, err))?;
        for recipient in envelope.to() {
            within(limit, connection.command(rcpt_to(recipient)))
                .await
                .map_err(|err| classify(TxStage::RcptTo, err))?;
        }
        within(limit, connection.command(Data))
            .await
            .map_err(|err| classify(TxStage::Data, err))
            .map(drop)
    }

    /// Reads the replies to pipelined `MAIL FROM`, `RCPT TO` and `DATA` (RFC 2920) in order,
    /// `first` being the first when it was read as the commands went out. Every reply is read
    /// even after a refusal so the session stays in step; the first refusal is the one
    /// reported.
    async fn read_opening(
        &self,
        connection: &mut AsyncSmtpConnection,
        stages: Vec<TxStage>,
        mut first: Option<Reply>,
    ) -> Result<(), TxFailure> {
        let limit = self.connector.timeout();
        let mut refusal: Option<TxFailure> = None;
        for stage in stages {
            let reply = match first.take() {
                Some(reply) => reply,
                None => within(limit, connection.read_response()).await,
            };
            match (reply, refusal.take()) {
                (Ok(_), None) => {}
                (Ok(_), Some(mut earlier)) if stage == TxStage::Data => {
                    // The server wants the data although the transaction was refused: only
                    // dropping the connection ends it without sending anything.
                    earlier.session_usable = false;
                    return Err(earlier);
                }
                (Ok(_), Some(earlier)) => refusal = Some(earlier),
                (Err(err), earlier) => {
                    let failure = classify(stage, err);
                    if !failure.session_usable {
                        return Err(match earlier {
                            Some(mut earlier) => {
                                earlier.session_usable = false;
                                earlier
                            }
                            None => failure,
                        });
                    }
                    refusal = Some(earlier.unwrap_or(failure));
                }
            }
        }
        refusal.map_or(Ok(()), Err)
    }

    /// Sends the message data and the final ".", followed in the same write by `next` (the
    /// next message's pipelined envelope) when given, and reads the reply to the data. Says
    /// whether `next` went out.
    async fn content(
        &self,
        connection: &mut AsyncSmtpConnection,
        data: &[u8],
        next: Option<String>,
    ) -> (Result<String, TxFailure>, bool) {
        let limit = self.connector.timeout();
        // The formatted message is ASCII (lettre encodes headers and body for 7-bit transport),
        // which the command writer needs; anything else goes out on its own.
        let (reply, pipelined) = match std::str::from_utf8(data) {
            Ok(text) => {
                let pipelined = next.is_some();
                let write = DataWrite {
                    data: dot_stuffed(text),
                    next: next.as_deref().unwrap_or_default(),
                };
                (within(limit, connection.command(write)).await, pipelined)
            }
            Err(_) => (within(limit, connection.message(data)).await, false),
        };
        match reply {
            Ok(response) => (
                Ok(format!(
                    "{} {}",
                    u16::from(response.code()),
                    response.message().collect::<Vec<_>>().join(" ")
                )),
                pipelined,
            ),
            Err(err) => {
                let failure = classify(TxStage::Content, err);
                let pipelined = pipelined && failure.session_usable;
                (Err(failure), pipelined)
            }
        }
    }

    /// Clears a refused transaction so the session can carry the next message.
    async fn reset(&self, connection: &mut AsyncSmtpConnection) -> bool {
        within(self.connector.timeout(), connection.command(Rset))
            .await
            .is_ok()
    }
}

/// Whether the rest of a call's messages must not be tried after this error.
fn stops_the_rest(err: &SendError) -> bool {
    matches!(
        err.kind,
        SendErrorKind::Offline | SendErrorKind::SessionLimit | SendErrorKind::QuotaSpent
    )
}

/// A reply as the session reads it.
type Reply = Result<Response, StepError<SmtpError>>;

/// `MAIL FROM`, one `RCPT TO` per recipient and `DATA`, as one pipelined write.
fn opening_commands(envelope: &Envelope) -> String {
    let mut commands = mail_from(envelope).to_string();
    for recipient in envelope.to() {
        commands.push_str(&rcpt_to(recipient).to_string());
    }
    commands.push_str(&Data.to_string());
    commands
}

/// The stage each reply to [`opening_commands`] answers, in order.
fn opening_stages(envelope: &Envelope) -> Vec<TxStage> {
    let mut stages = vec![TxStage::MailFrom];
    stages.extend(envelope.to().iter().map(|_| TxStage::RcptTo));
    stages.push(TxStage::Data);
    stages
}

/// One write of the message data, its final "." and the commands pipelined behind them. The
/// connection writes what it is given as text; this gives it the parts without first copying
/// them into one string of their own.
struct DataWrite<'a> {
    data: Cow<'a, str>,
    next: &'a str,
}

impl fmt::Display for DataWrite<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.data)?;
        f.write_str("\r\n.\r\n")?;
        f.write_str(self.next)
    }
}

/// The message data with SMTP's transparency (RFC 5321 4.5.2): a line that starts with "."
/// gets another, so that no line of the message can end the data early. Most messages have
/// none, and are used as they are.
fn dot_stuffed(data: &str) -> Cow<'_, str> {
    if !data.starts_with('.') && !data.contains("\r\n.") {
        return Cow::Borrowed(data);
    }
    let mut out = String::with_capacity(data.len() + 16);
    for (index, line) in data.split("\r\n").enumerate() {
        if index > 0 {
            out.push_str("\r\n");
        }
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    Cow::Owned(out)
}

fn mail_from(envelope: &Envelope) -> Mail {
    Mail::new(envelope.from().cloned(), Vec::new())
}

fn rcpt_to(recipient: &Address) -> Rcpt {
    Rcpt::new(recipient.clone(), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::dot_stuffed;

    #[test]
    fn every_line_that_starts_with_a_dot_gets_another() {
        assert_eq!(
            dot_stuffed(".first\r\nmiddle\r\n.\r\n..two\r\nend."),
            "..first\r\nmiddle\r\n..\r\n...two\r\nend."
        );
        // Only CRLF ends a line, as on the wire.
        assert_eq!(dot_stuffed("a\r.b\n.c"), "a\r.b\n.c");
        assert_eq!(dot_stuffed(""), "");
    }
}
