//! The `List-Unsubscribe` (RFC 2369) and `List-Unsubscribe-Post` (RFC 8058) headers.

use lettre::message::header::{HeaderName, HeaderValue};
use url::Url;

use super::BuildError;

/// Longer URIs risk breaking the 998-octet line limit once the header name is in front.
const MAX_URI_LEN: usize = 900;

/// The headers for a `mailto:` URI and, when configured, an HTTPS one-click URL.
///
/// URIs are checked rather than rewritten: the engine signs the unsubscribe token inside them, so
/// a silently re-encoded URI could stop matching what the reply poller or endpoint expects.
pub(super) fn headers(mailto: &str, https: Option<&str>) -> Result<Vec<HeaderValue>, BuildError> {
    check_uri(mailto, "mailto")?;
    let mut value = format!("<{mailto}>");
    if let Some(https) = https {
        check_uri(https, "https")?;
        value.push_str(&format!(", <{https}>"));
    }
    let mut headers = vec![HeaderValue::new(
        HeaderName::new_from_ascii_str("List-Unsubscribe"),
        value,
    )];
    if https.is_some() {
        headers.push(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ));
    }
    Ok(headers)
}

fn check_uri(uri: &str, scheme: &'static str) -> Result<(), BuildError> {
    let invalid = |reason| BuildError::InvalidUnsubscribeUri { scheme, reason };
    if uri.len() > MAX_URI_LEN {
        return Err(invalid("it is longer than 900 characters"));
    }
    // RFC 2369 delimits URIs with angle brackets and separates them with commas, so those (and
    // anything a receiver might split on) must arrive percent-encoded.
    if uri
        .bytes()
        .any(|b| !b.is_ascii_graphic() || matches!(b, b'<' | b'>' | b',' | b'"'))
    {
        return Err(invalid(
            "it contains a space, comma, quote, angle bracket or non-ASCII character that is not percent-encoded",
        ));
    }
    let url = Url::parse(uri).map_err(|_| invalid("it is not a valid URI"))?;
    if url.scheme() != scheme {
        return Err(invalid(if scheme == "https" {
            "it must be an https:// URL"
        } else {
            "it must be a mailto: URI"
        }));
    }
    let has_target = match scheme {
        "https" => url.host_str().is_some_and(|host| !host.is_empty()),
        _ => url.path().contains('@'),
    };
    if has_target {
        Ok(())
    } else {
        Err(invalid("it names no host or mailbox"))
    }
}
