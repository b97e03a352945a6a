//! Reading the server's replies during a mail transaction and turning failures into
//! [`SendError`]s, with the stage deciding between "nothing was sent" and "may have been sent".

use std::error::Error as _;

use lettre::transport::smtp::Error as SmtpError;

use super::{
    connect::StepError,
    error::{SendError, SendErrorKind},
};

/// The step of a mail transaction a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxStage {
    /// `MAIL FROM`.
    MailFrom,
    /// `RCPT TO`.
    RcptTo,
    /// The `DATA` command, before any message data.
    Data,
    /// The message data, the final "." and the reply to it.
    Content,
}

/// A failed transaction step, and whether the session can carry the next message.
pub(crate) struct TxFailure {
    pub(crate) error: SendError,
    pub(crate) stage: TxStage,
    /// The server replied and did not announce it is closing (421): after `RSET` the session is
    /// still good.
    pub(crate) session_usable: bool,
}

impl TxFailure {
    /// The failure looks like a session the server dropped while it sat idle: the first command
    /// of the transaction found the connection gone, or the server said it is closing.
    pub(crate) fn looks_stale(&self) -> bool {
        self.stage == TxStage::MailFrom
            && (self.error.code.is_none() || self.error.code == Some(421))
    }
}

/// Classifies the failure of one transaction step.
pub(crate) fn classify(stage: TxStage, err: StepError<SmtpError>) -> TxFailure {
    let Some(err) = err.into_failure() else {
        let error = match stage {
            TxStage::Content => SendError::new(
                SendErrorKind::Unconfirmed,
                None,
                "the server did not confirm the message in time after it was transmitted; it may \
                 or may not have been accepted",
            ),
            _ => SendError::new(
                SendErrorKind::Offline,
                None,
                format!(
                    "the server did not answer {} in time; nothing was transmitted",
                    stage.command()
                ),
            ),
        };
        return TxFailure {
            error,
            stage,
            session_usable: false,
        };
    };
    let Some(code) = err.status().map(u16::from) else {
        let error = match stage {
            TxStage::Content => SendError::new(
                SendErrorKind::Unconfirmed,
                None,
                format!(
                    "the connection failed after the message was transmitted, before the server \
                     confirmed it; it may or may not have been accepted ({err})"
                ),
            ),
            _ => SendError::new(
                SendErrorKind::Offline,
                None,
                format!(
                    "the connection failed at {}; nothing was transmitted ({err})",
                    stage.command()
                ),
            ),
        };
        return TxFailure {
            error,
            stage,
            session_usable: false,
        };
    };
    let text = reply_text(&err);
    let limit = is_session_limit(code, &text);
    let kind = if limit {
        SendErrorKind::SessionLimit
    } else if is_quota_spent(&text) {
        SendErrorKind::QuotaSpent
    } else if code < 500 {
        SendErrorKind::Transient
    } else {
        SendErrorKind::Permanent {
            recipient: is_recipient_rejection(stage, code, &text),
        }
    };
    TxFailure {
        error: SendError::new(
            kind,
            Some(code),
            format!("the server {}: {code} {text}", stage.refusal()),
        ),
        stage,
        // A session over the server's limit is given up, so that the server counts it no more.
        session_usable: code != 421 && !limit,
    }
}

/// Words of temporary refusals that are about the sessions the account has open at once rather
/// than about the message: Exchange Online's "432 4.3.2 Concurrent connections limit exceeded"
/// and "4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded", Postfix's "421 4.7.0 …
/// too many connections from …", Exim's "421 Too many concurrent SMTP connections …", and
/// Microsoft's "451 4.7.652 … has exceeded the maximum number of connections".
const SESSION_LIMIT_WORDS: [&str; 5] = [
    "concurrent connection",
    "too many connections",
    "too many concurrent",
    "thread limit",
    "maximum number of connections",
];

/// Words of refusals, 4xx or 5xx, that say the account sent what its provider allows in a
/// period rather than anything about the message: Gmail's "550 5.4.5 Daily user sending limit
/// exceeded" (and "Daily SMTP relay sending limit exceeded"), Exchange Online's "554 5.2.0
/// STOREDRV.Submission.Exception:SubmissionQuotaExceededException".
const QUOTA_WORDS: [&str; 3] = [
    "sending limit exceeded",
    "submissionquotaexceeded",
    "sending quota exceeded",
];

/// Whether a reply refuses the account's mail for a while because it sent its allowance.
pub(crate) fn is_quota_spent(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    QUOTA_WORDS.iter().any(|w| text.contains(w))
}

/// Whether a reply refuses the session because the account has too many open at once.
pub(crate) fn is_session_limit(code: u16, text: &str) -> bool {
    if !(400..500).contains(&code) {
        return false;
    }
    let text = text.to_ascii_lowercase();
    SESSION_LIMIT_WORDS.iter().any(|w| text.contains(w))
}

impl TxStage {
    fn command(self) -> &'static str {
        match self {
            Self::MailFrom => "MAIL FROM",
            Self::RcptTo => "RCPT TO",
            Self::Data => "DATA",
            Self::Content => "the message data",
        }
    }

    fn refusal(self) -> &'static str {
        match self {
            Self::MailFrom => "refused the sender",
            Self::RcptTo => "refused the recipient",
            Self::Data => "refused to take a message",
            Self::Content => "rejected the message",
        }
    }
}

/// Whether a 5xx reply says the recipient address itself is bad, so it should count as a bounce
/// rather than a failure of this one message.
fn is_recipient_rejection(stage: TxStage, code: u16, text: &str) -> bool {
    match enhanced_status(text) {
        // RFC 3463: X.1.x is about the address, X.2.x about the mailbox (disabled, full).
        Some((5, 1)) => true,
        Some((5, 2)) => stage == TxStage::RcptTo,
        // An enhanced code naming anything else (5.7.1 policy, say) outranks the basic code.
        Some(_) => false,
        None => stage == TxStage::RcptTo && matches!(code, 550 | 551 | 553),
    }
}

/// The class and subject of an RFC 3463 enhanced status code at the start of the reply text.
fn enhanced_status(text: &str) -> Option<(u8, u16)> {
    let token = text.split_whitespace().next()?;
    let mut parts = token.split('.');
    let class = parts.next()?.parse::<u8>().ok()?;
    let subject = parts.next()?.parse::<u16>().ok()?;
    let detail = parts.next()?;
    let well_formed = matches!(class, 2 | 4 | 5)
        && !detail.is_empty()
        && detail.len() <= 3
        && detail.bytes().all(|b| b.is_ascii_digit())
        && parts.next().is_none();
    well_formed.then_some((class, subject))
}

/// The text of the server's reply carried by a lettre error, without the code.
pub(crate) fn reply_text(err: &SmtpError) -> String {
    err.source().map(ToString::to_string).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_codes_are_read_only_when_well_formed() {
        assert_eq!(enhanced_status("5.1.1 <bob@x>: unknown"), Some((5, 1)));
        assert_eq!(enhanced_status("4.7.0 try later"), Some((4, 7)));
        assert_eq!(enhanced_status("mailbox unavailable"), None);
        assert_eq!(enhanced_status("5.1 short"), None);
        assert_eq!(enhanced_status("1.2.3 wrong class"), None);
    }

    #[test]
    fn refusals_of_one_session_too_many_are_told_from_other_refusals() {
        for (code, text) in [
            (
                432,
                "4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending",
            ),
            (
                432,
                "4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded",
            ),
            (
                421,
                "4.7.0 mail.example: Error: too many connections from 192.0.2.7",
            ),
            (
                421,
                "Too many concurrent SMTP connections from this IP address; please try again later.",
            ),
            (
                451,
                "4.7.652 The mail server [192.0.2.7] has exceeded the maximum number of connections.",
            ),
        ] {
            assert!(is_session_limit(code, text), "{code} {text}");
        }
        for (code, text) in [
            (
                450,
                "4.2.0 <bob@example.com>: Recipient address rejected: greylisted",
            ),
            (421, "4.3.2 Service shutting down"),
            (451, "4.3.0 Temporary lookup failure"),
            // A permanent refusal is never a reason to use fewer sessions.
            (550, "5.7.1 too many connections from your network, blocked"),
        ] {
            assert!(!is_session_limit(code, text), "{code} {text}");
        }
    }

    #[test]
    fn an_allowance_spent_is_told_from_a_full_mailbox_and_other_refusals() {
        for text in [
            "5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852",
            "5.4.5 Daily SMTP relay sending limit exceeded for customer C01abc",
            "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception",
        ] {
            assert!(is_quota_spent(text), "{text}");
        }
        for text in [
            "5.2.2 <bob@example.com>: mailbox full; quota exceeded",
            "5.7.1 Message rejected as spam",
            "4.2.0 greylisted, try again later",
        ] {
            assert!(!is_quota_spent(text), "{text}");
        }
    }

    #[test]
    fn recipient_rejections_depend_on_stage_and_enhanced_code() {
        assert!(is_recipient_rejection(
            TxStage::RcptTo,
            550,
            "5.1.1 no such user"
        ));
        assert!(is_recipient_rejection(TxStage::RcptTo, 550, "no such user"));
        assert!(is_recipient_rejection(
            TxStage::Content,
            550,
            "5.1.1 no such user"
        ));
        assert!(!is_recipient_rejection(
            TxStage::RcptTo,
            550,
            "5.7.1 rejected by policy"
        ));
        assert!(!is_recipient_rejection(TxStage::Content, 550, "spam"));
        assert!(!is_recipient_rejection(
            TxStage::MailFrom,
            553,
            "sender not allowed"
        ));
    }
}
