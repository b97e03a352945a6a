//! Building the wire form of one [`OutgoingEmail`]: headers, `List-Unsubscribe`, a plain-text MIME
//! body and, when the account has a key, a DKIM signature.
//!
//! Header values come from templates and prospect records, so a value carrying CR, LF or NUL is
//! refused ([`BuildError::HeaderInjection`]) rather than encoded: such a value is a bug or an
//! attempt to smuggle in headers (a `Bcc:` say), and neither should leave the machine in any form.

mod dkim;
mod unsubscribe;

use lettre::{
    Address, Message,
    message::{
        Mailbox,
        header::{ContentType, MIME_VERSION_1_0},
    },
};

pub use dkim::{DkimAlgorithm, DkimKey, DkimKeyError};

use crate::email::OutgoingEmail;

/// Why an [`OutgoingEmail`] cannot be turned into a message. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A header value contains CR, LF or NUL, which could end the header and start another.
    #[error("the {header} header would contain a line break or NUL character")]
    HeaderInjection {
        /// The header the offending value belongs to, e.g. `"To"`.
        header: &'static str,
    },
    /// An address is not a valid email address.
    #[error("the {header} address is invalid: {reason}")]
    InvalidAddress {
        /// `"From"`, `"To"` or `"Reply-To"`.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The Message-ID is not of the form `local@domain` in plain ASCII.
    #[error("the Message-ID must look like local@domain, in ASCII without spaces or brackets")]
    InvalidMessageId,
    /// An unsubscribe URI cannot be put in `List-Unsubscribe`.
    #[error("the List-Unsubscribe {scheme} URI is invalid: {reason}")]
    InvalidUnsubscribeUri {
        /// `"mailto"` or `"https"`.
        scheme: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// lettre refused to assemble the message.
    #[error("the message could not be assembled: {0}")]
    Assemble(String),
}

/// Builds the RFC 5322 message for `email`, CRLF line endings, ready for SMTP `DATA`, and signs it
/// with `dkim` when given.
///
/// The message carries From, To, optional Reply-To, Subject (RFC 2047 encoded when not ASCII),
/// Date, `Message-ID: <{message_id}>`, `In-Reply-To` and `References` when it answers a mail, a
/// `text/plain; charset=utf-8` body, `List-Unsubscribe`, and
/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` when an HTTPS unsubscribe URL is given.
pub fn build_message(email: &OutgoingEmail, dkim: Option<&DkimKey>) -> Result<Vec<u8>, BuildError> {
    Ok(compose(email, dkim)?.formatted())
}

/// Builds the lettre message (whose envelope the SMTP sender needs) for [`build_message`].
pub(crate) fn compose(
    email: &OutgoingEmail,
    dkim: Option<&DkimKey>,
) -> Result<Message, BuildError> {
    reject_line_breaks(email)?;
    if !is_valid_message_id(&email.message_id) {
        return Err(BuildError::InvalidMessageId);
    }
    let unsubscribe = unsubscribe::headers(
        &email.unsubscribe_mailto,
        email.unsubscribe_https.as_deref(),
    )?;

    let mut builder = Message::builder()
        .from(mailbox(
            "From",
            Some(&email.from_name),
            &email.from_address,
        )?)
        .to(mailbox("To", email.to_name.as_deref(), &email.to_address)?);
    if let Some(reply_to) = &email.reply_to {
        builder = builder.reply_to(mailbox("Reply-To", None, reply_to)?);
    }
    builder = builder
        .subject(email.subject.as_str())
        .date_now()
        .message_id(Some(format!("<{}>", email.message_id)))
        .header(MIME_VERSION_1_0)
        .header(ContentType::TEXT_PLAIN);
    if let Some(id) = &email.in_reply_to {
        if !is_valid_message_id(id) {
            return Err(BuildError::InvalidMessageId);
        }
        builder = builder
            .in_reply_to(format!("<{id}>"))
            .references(format!("<{id}>"));
    }
    for header in unsubscribe {
        builder = builder.raw_header(header);
    }
    let mut message = builder
        .body(email.body_text.clone())
        .map_err(|err| BuildError::Assemble(err.to_string()))?;
    if let Some(key) = dkim {
        key.sign(&mut message);
    }
    Ok(message)
}

/// Refuses any header value with CR, LF or NUL before lettre gets a chance to encode it.
fn reject_line_breaks(email: &OutgoingEmail) -> Result<(), BuildError> {
    let values: [(&'static str, Option<&str>); 10] = [
        ("From", Some(&email.from_name)),
        ("From", Some(&email.from_address)),
        ("Reply-To", email.reply_to.as_deref()),
        ("To", email.to_name.as_deref()),
        ("To", Some(&email.to_address)),
        ("Subject", Some(&email.subject)),
        ("Message-ID", Some(&email.message_id)),
        ("List-Unsubscribe", Some(&email.unsubscribe_mailto)),
        ("List-Unsubscribe", email.unsubscribe_https.as_deref()),
        ("In-Reply-To", email.in_reply_to.as_deref()),
    ];
    match values
        .into_iter()
        .find(|(_, value)| value.is_some_and(|v| v.contains(['\r', '\n', '\0'])))
    {
        Some((header, _)) => Err(BuildError::HeaderInjection { header }),
        None => Ok(()),
    }
}

fn mailbox(header: &'static str, name: Option<&str>, address: &str) -> Result<Mailbox, BuildError> {
    // Internationalised addresses would need SMTPUTF8 end to end and UTF-8 headers; refusing them
    // here keeps every message plain ASCII on the wire, which any server accepts.
    if !address.is_ascii() {
        return Err(BuildError::InvalidAddress {
            header,
            reason: "internationalised (non-ASCII) addresses are not supported".to_owned(),
        });
    }
    let address: Address = address
        .parse()
        .map_err(
            |err: lettre::address::AddressError| BuildError::InvalidAddress {
                header,
                reason: err.to_string(),
            },
        )?;
    let name = name.map(str::trim).filter(|name| !name.is_empty());
    Ok(Mailbox::new(name.map(str::to_owned), address))
}

/// `id-left "@" id-right` of RFC 5322 §3.6.4, limited to dot-atom text on both sides, which is
/// what the engine generates and what every receiver parses.
pub fn is_valid_message_id(id: &str) -> bool {
    let Some((left, right)) = id.split_once('@') else {
        return false;
    };
    let is_dot_atom = |part: &str| {
        !part.is_empty()
            && !part.starts_with('.')
            && !part.ends_with('.')
            && !part.contains("..")
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
    };
    is_dot_atom(left) && is_dot_atom(right)
}
