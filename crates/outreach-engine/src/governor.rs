//! The rate governor's view of the database: whether an account may send now, and when a
//! campaign's next message can go out. The decisions themselves are the core's
//! ([`outreach_core::schedule::decide`]); this module gathers the attempts they are made from.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use outreach_core::campaign::{Campaign, SenderAccount};
use outreach_core::schedule::{
    Caps, Decision, RampUp, decide, ramp_recheck, ramped_daily_cap, room,
};
use outreach_store::Store;

use crate::{EngineError, iso, parse_iso};

/// An account's caps in force at `now`: its daily cap lowered by its ramp-up while it is new.
struct AccountCaps {
    caps: Caps,
    ramp: Option<RampUp>,
    /// The day of its first attempt (UTC), for the ramp.
    first: Option<jiff::civil::Date>,
    today: jiff::civil::Date,
}

async fn account_caps(
    store: &Store,
    account: &SenderAccount,
    now: Timestamp,
) -> Result<AccountCaps, EngineError> {
    let f = &account.fields;
    let ramp = match (f.ramp_start, f.ramp_increase) {
        (Some(start), increase) => Some(RampUp {
            start_per_day: start,
            increase_per_day: increase.unwrap_or(0),
        }),
        _ => None,
    };
    let first = match ramp {
        Some(_) => store
            .account_first_attempt(account.id)
            .await?
            .as_deref()
            .and_then(parse_iso)
            .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date()),
        None => None,
    };
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let caps = Caps {
        per_minute: f.per_minute_cap,
        per_hour: f.hourly_cap,
        per_day: ramped_daily_cap(f.daily_cap, ramp.as_ref(), first, today),
    };
    Ok(AccountCaps {
        caps,
        ramp,
        first,
        today,
    })
}

/// What a campaign's daily cap leaves now, after its attempts of the last 24 hours.
pub async fn campaign_day_room(
    store: &Store,
    campaign_id: i64,
    cap: u32,
    now: Timestamp,
) -> Result<u32, EngineError> {
    let since = iso(now - SignedDuration::from_secs(86_400));
    let used = store.campaign_attempts_since(campaign_id, &since).await?;
    Ok(u32::try_from(i64::from(cap).saturating_sub(used).max(0)).unwrap_or(0))
}

/// How many of a campaign's messages its daily cap and its account's (ramped) daily cap still
/// allow in the coming hours, after what each sent in the last 24 hours; `u32::MAX` without
/// caps. The confirmation before a start shows it.
pub async fn room_today(
    store: &Store,
    campaign: &Campaign,
    account: Option<&SenderAccount>,
    now: Timestamp,
) -> Result<u32, EngineError> {
    let mut room = u32::MAX;
    if let Some(cap) = campaign.fields.daily_cap {
        room = room.min(campaign_day_room(store, campaign.id, cap, now).await?);
    }
    if let Some(account) = account
        && let Some(cap) = account_caps(store, account, now).await?.caps.per_day
    {
        let since = iso(now - SignedDuration::from_secs(86_400));
        let used = store
            .account_attempts(account.id, &since, i64::from(cap))
            .await?
            .len();
        room = room.min(cap.saturating_sub(u32::try_from(used).unwrap_or(u32::MAX)));
    }
    Ok(room)
}

/// The governor's verdict for an account at `now` (its caps and ramp-up over its recent
/// attempts), and how many may go at once.
pub async fn account_verdict(
    store: &Store,
    account: &SenderAccount,
    now: Timestamp,
) -> Result<(Decision, u32), EngineError> {
    let f = &account.fields;
    let AccountCaps {
        caps,
        ramp,
        first,
        today,
    } = account_caps(store, account, now).await?;
    let Some(largest) = [caps.per_minute, caps.per_hour, caps.per_day]
        .into_iter()
        .flatten()
        .max()
    else {
        return Ok((Decision::Go, u32::MAX));
    };
    // The longest capped window holds every attempt any cap counts.
    let window = if caps.per_day.is_some() {
        86_400
    } else if caps.per_hour.is_some() {
        3_600
    } else {
        60
    };
    let since = now - SignedDuration::from_secs(window);
    let recent: Vec<Timestamp> = store
        .account_attempts(account.id, &iso(since), i64::from(largest) + 1)
        .await?
        .iter()
        .filter_map(|s| parse_iso(s))
        .collect();
    let decision = match (decide(now, &caps, &recent), ramp) {
        (Decision::WaitUntil(until), Some(ramp)) => {
            Decision::WaitUntil(ramp_recheck(until, f.daily_cap, &ramp, first, today))
        }
        (d, _) => d,
    };
    Ok((decision, room(now, &caps, &recent)))
}

/// What holds a campaign's next message past its due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The random gap between two of the campaign's sends.
    Gap,
    /// The campaign's daily cap.
    CampaignDailyCap,
    /// The sender account's caps or its ramp-up.
    Account,
}

impl Hold {
    /// How the progress view names it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Gap => "the random gap between sends",
            Self::CampaignDailyCap => "the campaign's daily cap",
            Self::Account => "the sender account's caps or ramp-up",
        }
    }
}

/// When the next of a campaign's queued messages can go out, given that the earliest is due
/// at `due`, and what holds it past `due` if anything does: the campaign's random gap or daily
/// cap, or its account's caps or ramp-up. The status views show this; the earliest due time
/// alone would say "now" for a campaign that has used up its day.
pub async fn next_send_at(
    store: &Store,
    campaign: &Campaign,
    due: Timestamp,
    now: Timestamp,
) -> Result<(Timestamp, Option<Hold>), EngineError> {
    let (mut at, mut hold) = campaign_hold(store, campaign, due, now).await?;
    if let Some(account_id) = campaign.fields.account_id
        && let Some(until) = account_wait(store, account_id, now).await?
        && until > at
    {
        (at, hold) = (until, Some(Hold::Account));
    }
    Ok((at, hold))
}

/// When anything queued (campaign steps of running campaigns, and answers) can next go out,
/// by the same holds as [`next_send_at`], leaving out the accounts in `blocked` (which wait
/// for a person); `None` when nothing is queued.
pub async fn next_send_anywhere(
    store: &Store,
    now: Timestamp,
    blocked: &std::collections::BTreeSet<i64>,
) -> Result<Option<Timestamp>, EngineError> {
    let mut earliest: Option<Timestamp> = None;
    // An account sends for several campaigns (and answers): its verdict is worked out once.
    let mut waits: HashMap<i64, Option<Timestamp>> = HashMap::new();
    for group in store.queued_groups().await? {
        if blocked.contains(&group.account_id) {
            continue;
        }
        let due = parse_iso(&group.due_at).unwrap_or(now);
        let at = match group.campaign_id {
            Some(id) => {
                campaign_hold(store, &store.campaign(id).await?, due, now)
                    .await?
                    .0
            }
            None => due,
        };
        // The account the messages were queued for, which is the campaign's unless it was
        // changed since.
        let wait = match waits.get(&group.account_id) {
            Some(wait) => *wait,
            None => {
                let wait = account_wait(store, group.account_id, now).await?;
                waits.insert(group.account_id, wait);
                wait
            }
        };
        let at = wait.map_or(at, |until| at.max(until));
        earliest = Some(earliest.map_or(at, |e| e.min(at)));
    }
    Ok(earliest)
}

/// `at`, or later while the campaign waits out its random gap or its daily cap, with the
/// hold that decided.
async fn campaign_hold(
    store: &Store,
    campaign: &Campaign,
    at: Timestamp,
    now: Timestamp,
) -> Result<(Timestamp, Option<Hold>), EngineError> {
    let (mut at, mut hold) = (at, None);
    if let Some(after) = store
        .campaign_next_send_after(campaign.id)
        .await?
        .as_deref()
        .and_then(parse_iso)
        && after > at
    {
        (at, hold) = (after, Some(Hold::Gap));
    }
    if let Some(cap) = campaign.fields.daily_cap {
        let since = iso(now - SignedDuration::from_secs(86_400));
        let recent: Vec<Timestamp> = store
            .campaign_attempts(campaign.id, &since, i64::from(cap) + 1)
            .await?
            .iter()
            .filter_map(|s| parse_iso(s))
            .collect();
        let caps = Caps {
            per_day: Some(cap),
            ..Caps::default()
        };
        if let Decision::WaitUntil(until) = decide(now, &caps, &recent)
            && until > at
        {
            (at, hold) = (until, Some(Hold::CampaignDailyCap));
        }
    }
    Ok((at, hold))
}

/// Until when the account waits out its caps or ramp-up, if it must wait.
async fn account_wait(
    store: &Store,
    account_id: i64,
    now: Timestamp,
) -> Result<Option<Timestamp>, EngineError> {
    let account = store.account(account_id).await?;
    Ok(match account_verdict(store, &account, now).await? {
        (Decision::WaitUntil(until), _) => Some(until),
        _ => None,
    })
}
