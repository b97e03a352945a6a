//! Turning what people type into CSV files into values that compare equal when they mean the
//! same thing: e-mail addresses, websites, X handles, LinkedIn profile URLs, follower counts and
//! countries.

use std::str::FromStr;

use email_address::EmailAddress;
use thiserror::Error;
use url::Url;

/// Why a value could not be normalised. The text is shown to users as is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NormalizeError {
    /// Not an e-mail address.
    #[error("'{0}' is not a valid e-mail address")]
    Email(String),
    /// Not a web address.
    #[error("'{0}' is not a valid website address")]
    Website(String),
    /// Not an X handle or profile URL.
    #[error("'{0}' is not a valid X handle (1-15 letters, digits or _)")]
    XHandle(String),
    /// Not a LinkedIn profile URL.
    #[error("'{0}' is not a LinkedIn profile URL (expected linkedin.com/in/…)")]
    Linkedin(String),
    /// Not a count.
    #[error("'{0}' is not a follower count (expected e.g. 1200, 1,200 or 1.2k)")]
    Followers(String),
    /// Not a time zone name.
    #[error("'{0}' is not a time zone name (expected an IANA name such as Europe/Berlin)")]
    TimeZone(String),
}

/// A normalised e-mail address and its domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedEmail {
    /// Trimmed and lower-cased, so that `Bob@Example.COM` and `bob@example.com` are one person.
    pub address: String,
    /// The part after the `@`.
    pub domain: String,
}

/// Normalises an e-mail address: trims, drops a `mailto:` prefix, lower-cases, checks syntax.
pub fn normalize_email(raw: &str) -> Result<NormalizedEmail, NormalizeError> {
    let trimmed = raw.trim();
    let trimmed = strip_prefix_ignore_case(trimmed, "mailto:").unwrap_or(trimmed);
    let address = trimmed.to_lowercase();
    let bad = || NormalizeError::Email(raw.trim().to_string());
    // The RFC allows addresses no mail provider accepts (quoted locals, IP literals, no TLD);
    // prospects' addresses must be deliverable, so require a dotted domain as well.
    let parsed = EmailAddress::from_str(&address).map_err(|_| bad())?;
    let domain = parsed.domain().to_string();
    let labels_ok = domain.split('.').count() >= 2
        && domain.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if !labels_ok || address.contains(['"', ' ', '[']) {
        return Err(bad());
    }
    Ok(NormalizedEmail { address, domain })
}

/// Checks an IANA time zone name (`Europe/Berlin`, `UTC`; any case). Returns the name as the
/// time zone database spells it, so a stored zone always resolves. `None` for a blank value.
/// Abbreviations such as `CET` or `PST` are refused where the database does not know them:
/// a wrong zone would send at night.
pub fn normalize_time_zone(raw: &str) -> Result<Option<String>, NormalizeError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    let zone = jiff::tz::TimeZone::get(name).map_err(|_| NormalizeError::TimeZone(name.into()))?;
    Ok(Some(zone.iana_name().unwrap_or(name).to_string()))
}

/// A normalised website.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedWebsite {
    /// `https://host/path` when a scheme was given, `host/path` when it was not: we do not
    /// pretend to know whether a site serves HTTPS before anyone has looked.
    pub url: String,
    /// The host without a leading `www.`.
    pub host: String,
    /// Whether the address given was an `https://` one.
    pub https: bool,
}

/// Normalises a website: lower-cases the host, drops fragments, default ports and a trailing `/`.
pub fn normalize_website(raw: &str) -> Result<NormalizedWebsite, NormalizeError> {
    let trimmed = raw.trim();
    let bad = || NormalizeError::Website(trimmed.to_string());
    if trimmed.is_empty() || trimmed.contains(char::is_whitespace) {
        return Err(bad());
    }
    let has_scheme = trimmed.contains("://");
    let parsed = if has_scheme {
        Url::parse(trimmed).map_err(|_| bad())?
    } else {
        Url::parse(&format!("https://{trimmed}")).map_err(|_| bad())?
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad());
    }
    let host = parsed.host_str().ok_or_else(bad)?.to_string();
    if !host.contains('.') {
        return Err(bad());
    }
    let mut rest = parsed.path().trim_end_matches('/').to_string();
    if let Some(q) = parsed.query() {
        rest.push('?');
        rest.push_str(q);
    }
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let url = if has_scheme {
        format!("{}://{host}{port}{rest}", parsed.scheme())
    } else {
        format!("{host}{port}{rest}")
    };
    Ok(NormalizedWebsite {
        url,
        host: host.strip_prefix("www.").unwrap_or(&host).to_string(),
        https: has_scheme && parsed.scheme() == "https",
    })
}

/// Normalises an X handle given as `@Name`, `Name` or a twitter.com / x.com profile URL to the
/// lower-cased handle without `@` (handles are case-insensitive on X).
pub fn normalize_x_handle(raw: &str) -> Result<String, NormalizeError> {
    let trimmed = raw.trim();
    let bad = || NormalizeError::XHandle(trimmed.to_string());
    let without_scheme = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed);
    let without_www = without_scheme
        .strip_prefix("www.")
        .or_else(|| without_scheme.strip_prefix("mobile."))
        .unwrap_or(without_scheme);
    let lower = without_www.to_lowercase();
    let handle = if let Some(path) = lower
        .strip_prefix("twitter.com/")
        .or_else(|| lower.strip_prefix("x.com/"))
    {
        path.split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_string()
    } else {
        lower.strip_prefix('@').unwrap_or(&lower).to_string()
    };
    let valid = (1..=15).contains(&handle.len())
        && handle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid { Ok(handle) } else { Err(bad()) }
}

/// Normalises a LinkedIn profile URL to `https://www.linkedin.com/in/<slug>` (or the Sales
/// Navigator `/sales/lead/…` form), whatever country subdomain, scheme, query or trailing slash
/// the export used.
pub fn normalize_linkedin_url(raw: &str) -> Result<String, NormalizeError> {
    let trimmed = raw.trim();
    let bad = || NormalizeError::Linkedin(trimmed.to_string());
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("https://{trimmed}")
    };
    let parsed = Url::parse(&with_scheme).map_err(|_| bad())?;
    let host = parsed.host_str().ok_or_else(bad)?.to_lowercase();
    if host != "linkedin.com" && !host.ends_with(".linkedin.com") {
        return Err(bad());
    }
    let segments: Vec<&str> = parsed
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    match segments.as_slice() {
        ["in" | "pub", slug, ..] => Ok(format!(
            "https://www.linkedin.com/in/{}",
            slug.to_lowercase()
        )),
        ["sales", "lead" | "people", id, ..] => Ok(format!(
            "https://www.linkedin.com/sales/lead/{}",
            id.split(',').next().unwrap_or(id)
        )),
        _ => Err(bad()),
    }
}

/// Parses a follower count such as `1200`, `1,200`, `1 200`, `1.2k` or `3M`.
pub fn parse_followers(raw: &str) -> Result<i64, NormalizeError> {
    let trimmed = raw.trim();
    let bad = || NormalizeError::Followers(trimmed.to_string());
    let compact: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '_' | '\u{a0}'))
        .collect::<String>()
        .to_lowercase();
    let (number, factor) = match compact.chars().last() {
        Some('k') => (&compact[..compact.len() - 1], 1_000.0),
        Some('m') => (&compact[..compact.len() - 1], 1_000_000.0),
        _ => (compact.as_str(), 1.0),
    };
    if factor == 1.0 {
        return number
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(bad);
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    if !value.is_finite() || !(0.0..=1e7).contains(&value) {
        return Err(bad());
    }
    Ok((value * factor).round() as i64)
}

/// Trims a free-text value and folds inner runs of white space (including newlines from quoted
/// CSV cells) to one space; `None` when nothing is left.
pub fn clean_text(raw: &str) -> Option<String> {
    let folded = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    (!folded.is_empty()).then_some(folded)
}

/// Normalises a country to its ISO 3166-1 alpha-2 code when it is one we recognise (`Germany`,
/// `Deutschland` and `DEU` all become `DE`), so that filters, time zones and consent rules see
/// one value per country. Anything else (a city, a region, a typo) is kept as typed, with white
/// space folded: it is still useful to a person, and rejecting the row over it would lose the
/// prospect. `None` for a blank value.
pub fn normalize_country(raw: &str) -> Option<String> {
    let cleaned = clean_text(raw)?;
    Some(match crate::schedule::country::country_code(&cleaned) {
        Some(code) => code.to_string(),
        None => cleaned,
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_lowercased_and_split() {
        let e = normalize_email("  Bob.Smith@Example.COM ").unwrap();
        assert_eq!(e.address, "bob.smith@example.com");
        assert_eq!(e.domain, "example.com");
        assert_eq!(
            normalize_email("MAILTO:ann@x.io").unwrap().address,
            "ann@x.io"
        );
    }

    #[test]
    fn email_rejects_undeliverable_shapes() {
        for bad in [
            "",
            "bob",
            "bob@",
            "@example.com",
            "bob@localhost",
            "bob@@example.com",
            "bob smith@example.com",
            "\"bob\"@example.com",
            "bob@[10.0.0.1]",
            "bob@-example.com",
            "bob@example..com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn website_keeps_known_scheme_and_strips_noise() {
        let w = normalize_website("HTTPS://WWW.Example.com/Shop/?ref=1").unwrap();
        assert_eq!(w.url, "https://www.example.com/Shop?ref=1");
        assert_eq!(w.host, "example.com");
        assert!(w.https);
        let w = normalize_website("example.org/").unwrap();
        assert_eq!(w.url, "example.org");
        assert!(!w.https);
        assert!(normalize_website("http://shop.example.org").is_ok_and(|w| !w.https));
        for bad in [
            "",
            "not a site",
            "ftp://example.com",
            "localhost",
            "http://",
        ] {
            assert!(normalize_website(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn x_handles_in_every_common_shape_become_one() {
        for raw in [
            "@JaneDoe",
            "janedoe",
            "https://twitter.com/JaneDoe",
            "https://x.com/janedoe?lang=en",
            "www.twitter.com/JaneDoe/status/1",
            " x.com/JaneDoe ",
        ] {
            assert_eq!(normalize_x_handle(raw).unwrap(), "janedoe", "{raw}");
        }
        for bad in ["@", "jane doe", "this_handle_is_far_too_long", "x.com/"] {
            assert!(normalize_x_handle(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn linkedin_urls_in_every_common_shape_become_one() {
        for raw in [
            "https://www.linkedin.com/in/Jane-Doe-123/",
            "linkedin.com/in/jane-doe-123",
            "http://de.linkedin.com/in/jane-doe-123?trk=x",
        ] {
            assert_eq!(
                normalize_linkedin_url(raw).unwrap(),
                "https://www.linkedin.com/in/jane-doe-123"
            );
        }
        assert_eq!(
            normalize_linkedin_url("https://www.linkedin.com/sales/lead/ACwAAB,NAME_SEARCH,x")
                .unwrap(),
            "https://www.linkedin.com/sales/lead/ACwAAB"
        );
        for bad in [
            "https://example.com/in/jane",
            "linkedin.com/company/acme",
            "jane",
        ] {
            assert!(
                normalize_linkedin_url(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn followers_accept_human_notations() {
        assert_eq!(parse_followers("1200").unwrap(), 1200);
        assert_eq!(parse_followers("1,200").unwrap(), 1200);
        assert_eq!(parse_followers("1.2k").unwrap(), 1200);
        assert_eq!(parse_followers("3M").unwrap(), 3_000_000);
        for bad in ["", "-5", "many", "1.2.3k", "NaNk", "infk"] {
            assert!(parse_followers(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn countries_become_iso_codes_when_recognised() {
        for (raw, code) in [
            ("Germany", "DE"),
            (" deutschland ", "DE"),
            ("DEU", "DE"),
            ("de", "DE"),
            ("United\nKingdom", "GB"),
            ("U.S.A.", "US"),
            ("Österreich", "AT"),
        ] {
            assert_eq!(normalize_country(raw).as_deref(), Some(code), "{raw:?}");
        }
    }

    #[test]
    fn unrecognised_countries_are_kept_as_typed() {
        assert_eq!(
            normalize_country("  Greater   Munich Area ").as_deref(),
            Some("Greater Munich Area")
        );
        assert_eq!(
            normalize_country("Berlin, Germany").as_deref(),
            Some("Berlin, Germany")
        );
        assert_eq!(normalize_country("Atlantis").as_deref(), Some("Atlantis"));
        assert_eq!(normalize_country(" \t "), None);
    }

    #[test]
    fn clean_text_folds_whitespace() {
        assert_eq!(clean_text("  Acme\n  Inc. ").as_deref(), Some("Acme Inc."));
        assert_eq!(clean_text(" \t\n"), None);
    }
}
