//! What a template sees for one recipient: the prospect's fields, the sender, and the
//! compliance blocks (opt-out line, postal address, GDPR Art. 14 notice) that every message
//! must carry.

use outreach_core::campaign::{SenderAccount, SendingSettings};
use outreach_core::prospect::{Prospect, Workspace};
use outreach_core::schedule::country_name;
use outreach_core::template::Variables;
use outreach_core::tokens::{PurposeKey, unsubscribe_token};
use serde_json::Value;

/// The RFC 8058 one-click URL: the workspace's endpoint with the recipient's token.
pub fn one_click_url(base: &str, token: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}t={token}")
}

/// A recipient's unsubscribe token and everything a template may use for them: what the
/// engine renders with, and what previews and the campaign check render with.
pub fn for_recipient(
    unsubscribe_key: &PurposeKey,
    workspace: &Workspace,
    settings: &SendingSettings,
    account: &SenderAccount,
    p: &Prospect,
) -> (String, Variables) {
    let token = unsubscribe_token(unsubscribe_key, workspace.id, p.id);
    let one_click = settings
        .unsubscribe_url
        .as_deref()
        .map(|u| one_click_url(u, &token));
    let vars = build(workspace, account, p, one_click.as_deref());
    (token, vars)
}

/// The visible opt-out line. It names the unsubscribe URL when the workspace runs one.
pub fn opt_out_line(one_click_url: Option<&str>) -> String {
    match one_click_url {
        Some(url) => format!(
            "Not interested? Reply \"unsubscribe\" or open {url} and we will not write to you again."
        ),
        None => "Not interested? Reply \"unsubscribe\" and we will not write to you again.".into(),
    }
}

fn source_description(p: &Prospect) -> String {
    let what = match p.source_type.as_str() {
        "linkedin_export" => "a LinkedIn connections export".to_string(),
        "sales_navigator" => "a LinkedIn Sales Navigator lead list".to_string(),
        "demo" => "demonstration data".to_string(),
        _ => match &p.source_file {
            Some(f) => format!("a contact list ({f})"),
            None => "a contact list".to_string(),
        },
    };
    let date = p.collected_at.get(..10).unwrap_or(&p.collected_at);
    format!("{what}, collected on {date}")
}

/// The GDPR Art. 14 notice for a prospect whose data was not collected from them: who writes
/// and why (the workspace's legal notice), where the data came from, and how to object.
pub fn privacy_notice(workspace: &Workspace, p: &Prospect) -> String {
    let who = workspace.legal_notice.trim();
    format!(
        "Why you are receiving this: {who}\n\
         Where your details come from: {}.\n\
         Your rights: you may object at any time by replying \"unsubscribe\"; we will then stop \
         writing and keep only what prevents us from contacting you again.",
        source_description(p)
    )
}

fn put(vars: &mut Variables, key: &str, value: Option<&str>) {
    // Blank values are left out so that `default(...)` in templates applies.
    if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
        vars.insert(key.to_string(), Value::String(v.to_string()));
    }
}

/// Everything a template may use for this recipient.
fn build(
    workspace: &Workspace,
    account: &SenderAccount,
    p: &Prospect,
    one_click_url: Option<&str>,
) -> Variables {
    let mut v = Variables::new();
    put(&mut v, "first_name", p.first_name.as_deref());
    put(&mut v, "last_name", p.last_name.as_deref());
    let full = [p.first_name.as_deref(), p.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    put(&mut v, "full_name", Some(&full));
    put(&mut v, "email", p.email.as_deref());
    put(&mut v, "company", p.company.as_deref());
    put(&mut v, "title", p.title.as_deref());
    put(&mut v, "website", p.website.as_deref());
    put(&mut v, "domain", p.domain.as_deref());
    put(&mut v, "x_handle", p.x_handle.as_deref());
    put(&mut v, "linkedin_url", p.linkedin_url.as_deref());
    put(&mut v, "country", p.country.as_deref());
    put(
        &mut v,
        "country_name",
        p.country.as_deref().and_then(country_name),
    );
    put(&mut v, "notes", p.notes.as_deref());
    if let Some(score) = p.score {
        v.insert("score".into(), Value::from(score));
    }
    if let Some(f) = p.followers {
        v.insert("followers".into(), Value::from(f));
    }
    put(&mut v, "sender_name", Some(&account.fields.from_name));
    put(&mut v, "sender_email", Some(&account.fields.from_address));
    put(&mut v, "workspace", Some(&workspace.name));
    v.insert("opt_out".into(), Value::String(opt_out_line(one_click_url)));
    v.insert(
        "postal_address".into(),
        Value::String(workspace.postal_address.trim().to_string()),
    );
    v.insert(
        "privacy_notice".into(),
        Value::String(privacy_notice(workspace, p)),
    );
    // Custom columns are usable as `{{ custom.score }}`, and by plain name (`{{ last_post }}`)
    // unless a built-in variable has that name, so `score` never changes meaning by prospect.
    for (key, value) in &p.custom_fields {
        if !BUILT_IN.contains(&key.as_str()) {
            put(&mut v, key, Some(value));
        }
    }
    if !p.custom_fields.is_empty() {
        v.insert(
            "custom".into(),
            Value::Object(
                p.custom_fields
                    .iter()
                    .map(|(k, val)| (k.clone(), Value::String(val.clone())))
                    .collect(),
            ),
        );
    }
    v
}

/// The names [`build`] gives its own meaning.
const BUILT_IN: &[&str] = &[
    "first_name",
    "last_name",
    "full_name",
    "email",
    "company",
    "title",
    "website",
    "domain",
    "x_handle",
    "linkedin_url",
    "country",
    "country_name",
    "notes",
    "score",
    "followers",
    "sender_name",
    "sender_email",
    "workspace",
    "opt_out",
    "postal_address",
    "privacy_notice",
    "custom",
];
