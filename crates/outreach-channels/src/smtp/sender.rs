//! Sending messages over one SMTP session kept open between sends.
//!
//! Opening a session costs a TCP (and TLS) handshake, a greeting, EHLO and often AUTH, several
//! times what one message costs; so the session is kept and reused, and replaced transparently
//! when the server has closed it while idle. The transaction is driven step by step (MAIL, RCPT
//! and DATA pipelined when the server allows, then the data) so that a failure is known to have
//! happened before the message data (nothing sent, safe to retry) or after it (the server may
//! have accepted it).

use lettre::{
    Address,
    address::Envelope,
    transport::smtp::{
        client::AsyncSmtpConnection,
        commands::{Data, Mail, Quit, Rcpt, Rset},
    },
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{
    connect::{Connector, Session, within},
    error::{ConnectError, SendError},
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
        let message = compose(email, self.dkim.as_ref())?;
        let data = message.formatted();
        let mut slot = self.session.lock().await;
        // Taken out of the slot for the length of the transaction, so that a cancelled send
        // cannot leave a half-finished session behind for the next message.
        let (mut session, mut reused) = match slot.take() {
            Some(session) => (session, true),
            None => (self.connector.open().await?, false),
        };
        loop {
            match self
                .transaction(&mut session, message.envelope(), &data)
                .await
            {
                Ok(response) => {
                    *slot = Some(session);
                    return Ok(SmtpReceipt { response });
                }
                Err(failure) if reused && failure.looks_stale() => {
                    // Nothing of this message reached the old session; one fresh try.
                    reused = false;
                    session = self.connector.open().await?;
                }
                Err(failure) => {
                    if failure.session_usable && self.reset(&mut session.connection).await {
                        *slot = Some(session);
                    }
                    return Err(failure.error);
                }
            }
        }
    }

    /// Ends the session politely, if one is open. Sending later opens a new one.
    pub async fn close(&self) {
        if let Some(mut session) = self.session.lock().await.take() {
            let _ = within(self.connector.timeout(), session.connection.command(Quit)).await;
        }
    }

    async fn transaction(
        &self,
        session: &mut Session,
        envelope: &Envelope,
        data: &[u8],
    ) -> Result<String, TxFailure> {
        let connection = &mut session.connection;
        if session.report.pipelining {
            self.open_pipelined(connection, envelope).await?;
        } else {
            self.open_lockstep(connection, envelope).await?;
        }
        let response = within(self.connector.timeout(), connection.message(data))
            .await
            .map_err(|err| classify(TxStage::Content, err))?;
        Ok(format!(
            "{} {}",
            u16::from(response.code()),
            response.message().collect::<Vec<_>>().join(" ")
        ))
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

    /// RFC 2920 pipelining: `MAIL FROM`, `RCPT TO` and `DATA` in one write, then their replies in
    /// order, which saves two round trips a message. Every reply is read even after a refusal so
    /// the session stays in step; the first refusal is the one reported.
    async fn open_pipelined(
        &self,
        connection: &mut AsyncSmtpConnection,
        envelope: &Envelope,
    ) -> Result<(), TxFailure> {
        let limit = self.connector.timeout();
        let mut batch = mail_from(envelope).to_string();
        let mut stages = vec![TxStage::MailFrom];
        for recipient in envelope.to() {
            batch.push_str(&rcpt_to(recipient).to_string());
            stages.push(TxStage::RcptTo);
        }
        batch.push_str(&Data.to_string());
        stages.push(TxStage::Data);

        let mut refusal: Option<TxFailure> = None;
        for (index, stage) in stages.into_iter().enumerate() {
            let reply = if index == 0 {
                within(limit, connection.command(&batch)).await
            } else {
                within(limit, connection.read_response()).await
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

    /// Clears a refused transaction so the session can carry the next message.
    async fn reset(&self, connection: &mut AsyncSmtpConnection) -> bool {
        within(self.connector.timeout(), connection.command(Rset))
            .await
            .is_ok()
    }
}

fn mail_from(envelope: &Envelope) -> Mail {
    Mail::new(envelope.from().cloned(), Vec::new())
}

fn rcpt_to(recipient: &Address) -> Rcpt {
    Rcpt::new(recipient.clone(), Vec::new())
}
