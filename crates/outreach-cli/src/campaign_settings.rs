//! A campaign's settings as the command line writes them (`--step first,first-b@3`,
//! `--window 09:00-17:00`, `--gap 60-180`), shared by `campaign create` and `campaign edit`,
//! and `campaign edit` itself: the sequence, sender account, window, caps and follow-up of a
//! draft or paused campaign, changed without the app.

use anyhow::Result;
use clap::Args;
use outreach_api::core::campaign::{CampaignFields, PositiveMode, Step, StepCondition};
use outreach_api::core::schedule::{SendWindow, Weekday};
use outreach_api::{Api, ApiError, SaveCampaign};

use crate::cli::workspace;
use crate::edits;

/// What `campaign edit` changes; everything left out stays as it is.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// The workspace.
    #[arg(long, short)]
    workspace: String,
    /// The campaign.
    name: String,
    /// A new name.
    #[arg(long, value_name = "NEW_NAME")]
    rename: Option<String>,
    /// The sender account's name.
    #[arg(long)]
    account: Option<String>,
    /// The whole sequence again, one `--step TEMPLATE[,TEMPLATE_B...][@DAYS]` per step, in
    /// order (steps already sent to someone stay as they were for them).
    #[arg(long = "step")]
    steps: Vec<String>,
    /// Send days, e.g. mon,tue,wed,thu,fri.
    #[arg(long)]
    days: Option<String>,
    /// Send window in each prospect's time zone, HH:MM-HH:MM.
    #[arg(long)]
    window: Option<String>,
    /// At most this many of the campaign's messages per 24 hours.
    #[arg(long, conflicts_with = "no_daily_cap")]
    daily_cap: Option<u32>,
    /// No daily cap of the campaign's own (the account's caps still hold).
    #[arg(long)]
    no_daily_cap: bool,
    /// Random gap between sends in seconds, MIN-MAX.
    #[arg(long)]
    gap: Option<String>,
    /// The template answering a prospect who replies with interest.
    #[arg(long, value_name = "TEMPLATE", conflicts_with = "no_positive")]
    positive: Option<String>,
    /// No positive follow-up.
    #[arg(long)]
    no_positive: bool,
    /// `draft`: prepared in the inbox for a person to send; `queue`: sent at once.
    #[arg(long, value_parser = ["draft", "queue"])]
    positive_mode: Option<String>,
}

/// Changes a draft or paused campaign (`campaign edit`); the store refuses a running or ended
/// one with the reason.
pub async fn edit(api: &Api, args: EditArgs, json: bool) -> Result<()> {
    let w = workspace(api, &args.workspace).await?;
    let current = api.campaign_by_name(w.id, &args.name).await?;
    let mut f = current.fields.clone();
    if let Some(name) = args.rename {
        f.name = name;
    }
    if let Some(account) = &args.account {
        f.account_id = Some(api.account_by_name(w.id, account).await?.id);
    }
    if !args.steps.is_empty() {
        f.steps = sequence(api, w.id, &args.steps).await?;
    }
    if let Some(days) = &args.days {
        f.window.days = weekdays(days)?;
    }
    if let Some(hours) = &args.window {
        (f.window.start_minute, f.window.end_minute) = hours_of(hours)?;
    }
    if args.no_daily_cap {
        f.daily_cap = None;
    } else if args.daily_cap.is_some() {
        f.daily_cap = args.daily_cap;
    }
    if let Some(gap) = &args.gap {
        (f.min_gap_seconds, f.max_gap_seconds) = range(gap)?;
    }
    if args.no_positive {
        f.positive_follow_up.template_id = None;
    } else if let Some(t) = &args.positive {
        f.positive_follow_up.template_id = Some(api.template_by_name(w.id, t).await?.id);
    }
    if let Some(mode) = &args.positive_mode {
        f.positive_follow_up.mode = PositiveMode::parse(mode).unwrap_or_default();
    }
    let changed = changes(&current.fields, &f);
    if changed.is_empty() {
        return Err(edits::nothing_to_change("campaign", &current.fields.name));
    }
    let c = api
        .save_campaign(SaveCampaign {
            workspace_id: w.id,
            id: Some(current.id),
            fields: f,
        })
        .await?;
    edits::report(json, "campaign", (&c.fields.name, c.id), &changed, &c)
}

/// What differs between two versions of a campaign's settings, in words.
fn changes(before: &CampaignFields, after: &CampaignFields) -> Vec<&'static str> {
    edits::named([
        (before.name != after.name, "name"),
        (before.account_id != after.account_id, "sender account"),
        (before.steps != after.steps, "sequence"),
        (before.window != after.window, "send window"),
        (before.daily_cap != after.daily_cap, "daily cap"),
        (
            (before.min_gap_seconds, before.max_gap_seconds)
                != (after.min_gap_seconds, after.max_gap_seconds),
            "gap between sends",
        ),
        (
            before.positive_follow_up != after.positive_follow_up,
            "positive follow-up",
        ),
    ])
}

/// A sequence from `--step` values: `TEMPLATE[,TEMPLATE_B...][@DAYS]`, the first step always
/// sent, each later one only to those who have not replied.
pub async fn sequence(api: &Api, workspace_id: i64, specs: &[String]) -> Result<Vec<Step>> {
    let mut out = Vec::new();
    for s in specs {
        let (names, delay) = match s.rsplit_once('@') {
            Some((n, d)) => (
                n,
                d.trim()
                    .parse::<u32>()
                    .map_err(|_| ApiError::invalid(format!("'{d}' is not a number of days")))?,
            ),
            None => (s.as_str(), 0),
        };
        let mut ids = Vec::new();
        for n in names.split(',') {
            ids.push(api.template_by_name(workspace_id, n).await?.id);
        }
        out.push(Step {
            delay_business_days: delay,
            condition: if out.is_empty() {
                StepCondition::Always
            } else {
                StepCondition::NoReply
            },
            template_ids: ids,
        });
    }
    Ok(out)
}

/// Minutes since midnight from `HH:MM`.
fn minutes(hhmm: &str) -> Result<u16> {
    let not_a_time = || ApiError::invalid(format!("'{hhmm}' is not HH:MM"));
    let (h, m) = hhmm.trim().split_once(':').ok_or_else(not_a_time)?;
    let h: u16 = h.parse().map_err(|_| not_a_time())?;
    let m: u16 = m.parse().map_err(|_| not_a_time())?;
    Ok(h * 60 + m)
}

/// Weekdays from `mon,tue,...`.
fn weekdays(days: &str) -> Result<Vec<Weekday>> {
    Ok(days
        .split(',')
        .map(|d| {
            serde_json::from_value::<Weekday>(serde_json::Value::String(d.trim().to_lowercase()))
                .map_err(|_| ApiError::invalid(format!("'{d}' is not a weekday (mon..sun)")))
        })
        .collect::<Result<Vec<_>, _>>()?)
}

/// Opening and closing minute from `HH:MM-HH:MM`.
fn hours_of(window: &str) -> Result<(u16, u16)> {
    let (a, b) = window
        .split_once('-')
        .ok_or_else(|| ApiError::invalid(format!("'{window}' is not HH:MM-HH:MM")))?;
    Ok((minutes(a)?, minutes(b)?))
}

/// A send window from `--days` and `--window`.
pub fn window(days: &str, hours: &str) -> Result<SendWindow> {
    let (start_minute, end_minute) = hours_of(hours)?;
    Ok(SendWindow {
        days: weekdays(days)?,
        start_minute,
        end_minute,
    })
}

/// `MIN-MAX` (or one number for both).
pub fn range(s: &str) -> Result<(u32, u32)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let p = |v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| ApiError::invalid(format!("'{s}' is not MIN-MAX seconds")))
    };
    Ok((p(a)?, p(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_and_days_read_as_written_and_nonsense_is_refused() {
        assert_eq!(hours_of("08:30-17:00").unwrap(), (510, 1020));
        assert_eq!(
            weekdays("Mon, sat").unwrap(),
            vec![Weekday::Mon, Weekday::Sat]
        );
        assert!(
            hours_of("9-17")
                .unwrap_err()
                .to_string()
                .contains("not HH:MM")
        );
        assert!(
            weekdays("mon,someday")
                .unwrap_err()
                .to_string()
                .contains("'someday'")
        );
        assert_eq!(range("30").unwrap(), (30, 30));
        assert!(range("a-b").is_err());
    }

    #[test]
    fn the_changes_are_named_in_the_order_the_settings_appear() {
        let before = CampaignFields {
            name: "Launch".into(),
            account_id: Some(1),
            window: SendWindow::default(),
            daily_cap: None,
            min_gap_seconds: 60,
            max_gap_seconds: 180,
            steps: Vec::new(),
            positive_follow_up: Default::default(),
        };
        let mut after = before.clone();
        assert!(changes(&before, &after).is_empty());
        after.max_gap_seconds = 240;
        after.account_id = Some(2);
        after.daily_cap = Some(50);
        assert_eq!(
            changes(&before, &after),
            ["sender account", "daily cap", "gap between sends"]
        );
    }
}
