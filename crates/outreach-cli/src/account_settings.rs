//! `account edit`: a sender account's server, sender, caps, DKIM key or password changed
//! from the command line, so that a headless install (`outreach run` on a server) can follow
//! a rotated password or a provider's new limits without the app.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use outreach_api::core::campaign::{AccountFields, SmtpSecurityMode, Transport};
use outreach_api::{Api, ApiError, SaveAccount};

use crate::cli::workspace;
use crate::edits;

/// A value that may also be cleared: `none` takes it away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrNone<T>(Option<T>);

fn cap(s: &str) -> Result<OrNone<u32>, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(OrNone(None));
    }
    s.parse::<u32>()
        .map(|n| OrNone(Some(n)))
        .map_err(|_| format!("'{s}' is neither a number nor `none`"))
}

fn port(s: &str) -> Result<OrNone<u16>, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(OrNone(None));
    }
    s.parse::<u16>()
        .map(|p| OrNone(Some(p)))
        .map_err(|_| format!("'{s}' is neither a port nor `none`"))
}

fn text(s: &str) -> Result<OrNone<String>, String> {
    Ok(OrNone(
        (!s.eq_ignore_ascii_case("none")).then(|| s.to_string()),
    ))
}

/// A key file, or `none` (a file of that name is `./none`).
fn key_file(s: &str) -> Result<OrNone<PathBuf>, String> {
    Ok(OrNone(
        (!s.eq_ignore_ascii_case("none")).then(|| PathBuf::from(s)),
    ))
}

/// What `account edit` changes; everything left out stays as it is.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// The workspace.
    #[arg(long, short)]
    workspace: String,
    /// The account's name.
    name: String,
    /// A new name.
    #[arg(long, value_name = "NEW_NAME")]
    rename: Option<String>,
    /// SMTP host.
    #[arg(long)]
    host: Option<String>,
    /// SMTP port, or `none` for the security mode's usual one.
    #[arg(long, value_parser = port)]
    port: Option<OrNone<u16>>,
    /// implicit_tls, start_tls, or plain_loopback (only to a relay on this machine).
    #[arg(long)]
    security: Option<String>,
    /// SMTP user name, or `none`.
    #[arg(long, value_parser = text)]
    username: Option<OrNone<String>>,
    /// SendGrid API base URL, or `none` for the public API.
    #[arg(long, value_parser = text)]
    api_url: Option<OrNone<String>>,
    /// Sender name.
    #[arg(long)]
    from_name: Option<String>,
    /// Sender address.
    #[arg(long)]
    from: Option<String>,
    /// Reply-to address, or `none`.
    #[arg(long, value_parser = text)]
    reply_to: Option<OrNone<String>>,
    /// At most this many per minute, or `none`.
    #[arg(long, value_parser = cap)]
    per_minute: Option<OrNone<u32>>,
    /// At most this many per hour, or `none`.
    #[arg(long, value_parser = cap)]
    per_hour: Option<OrNone<u32>>,
    /// At most this many per 24 hours, or `none`.
    #[arg(long, value_parser = cap)]
    per_day: Option<OrNone<u32>>,
    /// Ramp-up: at most this many on the first sending day, or `none` for no ramp-up.
    #[arg(long, value_parser = cap)]
    ramp_start: Option<OrNone<u32>>,
    /// Ramp-up: this many more on each following day, or `none`.
    #[arg(long, value_parser = cap)]
    ramp_increase: Option<OrNone<u32>>,
    /// DKIM selector.
    #[arg(long)]
    dkim_selector: Option<String>,
    /// A new DKIM private key file (PEM), kept in the OS keychain; `none` takes the stored key
    /// out of the keychain (and the selector off the account): messages are no longer signed.
    #[arg(long, value_parser = key_file)]
    dkim_key: Option<OrNone<PathBuf>>,
    /// Replace the password or API key with the one in the OUTREACH_SECRET environment
    /// variable (never from the command line).
    #[arg(long)]
    new_secret: bool,
}

/// Changes a sender account (`account edit`). The same checks as the app's editor apply: the
/// SMTP settings must make sense together and a DKIM key must parse.
pub async fn edit(api: &Api, args: EditArgs, json: bool) -> Result<()> {
    let w = workspace(api, &args.workspace).await?;
    let current = api.account_by_name(w.id, &args.name).await?;
    let mut f = current.fields.clone();
    if let Some(name) = args.rename {
        f.name = name;
    }
    if let Some(host) = args.host {
        f.host = Some(host);
    }
    if let Some(OrNone(port)) = args.port {
        f.port = port;
    }
    if let Some(s) = &args.security {
        if f.transport == Transport::Sendgrid {
            return Err(ApiError::invalid("a SendGrid account has no SMTP security mode").into());
        }
        f.security = Some(SmtpSecurityMode::parse(s).ok_or_else(|| {
            ApiError::invalid(format!(
                "unknown security '{s}'; use implicit_tls, start_tls or plain_loopback"
            ))
        })?);
    }
    let set = |slot: &mut Option<String>, v: Option<OrNone<String>>| {
        if let Some(OrNone(v)) = v {
            *slot = v;
        }
    };
    set(&mut f.username, args.username);
    set(&mut f.api_base_url, args.api_url);
    set(&mut f.reply_to, args.reply_to);
    if let Some(n) = args.from_name {
        f.from_name = n;
    }
    if let Some(a) = args.from {
        f.from_address = a;
    }
    let set_cap = |slot: &mut Option<u32>, v: Option<OrNone<u32>>| {
        if let Some(OrNone(v)) = v {
            *slot = v;
        }
    };
    set_cap(&mut f.per_minute_cap, args.per_minute);
    set_cap(&mut f.hourly_cap, args.per_hour);
    set_cap(&mut f.daily_cap, args.per_day);
    set_cap(&mut f.ramp_start, args.ramp_start);
    set_cap(&mut f.ramp_increase, args.ramp_increase);
    if let Some(s) = args.dkim_selector {
        f.dkim_selector = Some(s);
    }
    let remove_dkim_key = matches!(args.dkim_key, Some(OrNone(None)));
    if remove_dkim_key && !current.has_dkim_key {
        return Err(ApiError::invalid(format!(
            "account '{}' has no DKIM key to remove",
            current.fields.name
        ))
        .into());
    }
    let dkim_private_key = match &args.dkim_key {
        Some(OrNone(Some(p))) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("reading the DKIM key {}", p.display()))?,
        ),
        _ => None,
    };
    let secret = if args.new_secret {
        match std::env::var("OUTREACH_SECRET") {
            Ok(s) if !s.is_empty() => Some(s),
            _ => {
                return Err(ApiError::invalid(
                    "--new-secret reads the new password or API key from OUTREACH_SECRET, which is not set",
                )
                .into());
            }
        }
    } else {
        None
    };
    let mut changed = changes(&current.fields, &f);
    if dkim_private_key.is_some() {
        changed.push("DKIM key");
    }
    if remove_dkim_key {
        changed.retain(|c| *c != "DKIM selector");
        changed.push("DKIM key removed");
    }
    if secret.is_some() {
        changed.push(match f.transport {
            Transport::Smtp => "password",
            Transport::Sendgrid => "API key",
        });
    }
    if changed.is_empty() {
        return Err(edits::nothing_to_change("account", &current.fields.name));
    }
    let saved = api
        .save_account(SaveAccount {
            workspace_id: w.id,
            id: Some(current.id),
            fields: f,
            secret,
            dkim_private_key,
            remove_dkim_key,
        })
        .await?;
    let a = &saved.item;
    edits::report(json, "account", (&a.fields.name, a.id), &changed, &saved)?;
    if !json && saved.rewritten > 0 {
        println!(
            "{} message(s) waiting to go out from it will be written again from the new sender",
            saved.rewritten
        );
    }
    Ok(())
}

/// What differs between two versions of an account's settings, in words.
fn changes(before: &AccountFields, after: &AccountFields) -> Vec<&'static str> {
    edits::named([
        (before.name != after.name, "name"),
        (
            (&before.host, before.port, before.security)
                != (&after.host, after.port, after.security),
            "server",
        ),
        (before.username != after.username, "user name"),
        (before.api_base_url != after.api_base_url, "API address"),
        (
            (&before.from_name, &before.from_address) != (&after.from_name, &after.from_address),
            "sender",
        ),
        (before.reply_to != after.reply_to, "reply-to"),
        (
            (before.per_minute_cap, before.hourly_cap, before.daily_cap)
                != (after.per_minute_cap, after.hourly_cap, after.daily_cap),
            "caps",
        ),
        (
            (before.ramp_start, before.ramp_increase) != (after.ramp_start, after.ramp_increase),
            "ramp-up",
        ),
        (before.dkim_selector != after.dkim_selector, "DKIM selector"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_clears_and_anything_else_must_be_a_number() {
        assert_eq!(cap("none"), Ok(OrNone(None)));
        assert_eq!(cap("NONE"), Ok(OrNone(None)));
        assert_eq!(cap("40"), Ok(OrNone(Some(40))));
        assert!(
            cap("-1")
                .unwrap_err()
                .contains("neither a number nor `none`")
        );
        assert_eq!(text("none"), Ok(OrNone(None)));
        assert_eq!(
            text("ops@acme.example"),
            Ok(OrNone(Some("ops@acme.example".into())))
        );
    }

    #[test]
    fn the_changes_are_named_by_what_a_person_edits() {
        let before = AccountFields::new("main", Transport::Smtp, "Alex", "alex@acme.example");
        let mut after = before.clone();
        assert!(changes(&before, &after).is_empty());
        after.daily_cap = Some(200);
        after.port = Some(2525);
        after.reply_to = Some("ops@acme.example".into());
        assert_eq!(changes(&before, &after), ["server", "reply-to", "caps"]);
    }
}
