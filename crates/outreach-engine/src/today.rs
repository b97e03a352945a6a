//! How many of a campaign's messages can go out today, for the confirmation before it starts.
//! "Today" ends at midnight in the workspace's time zone (the agency's own day); each step
//! goes when it is due and its send window is open in the prospect's zone, as the scheduler
//! will decide it, and then only as far as the caps and the campaign's pacing allow.

use jiff::Timestamp;
use outreach_core::campaign::{Campaign, SenderAccount};
use outreach_core::schedule::{end_of_day, next_send_time, pacing_room, resolve_time_zone};
use outreach_store::Store;

use crate::scheduler::step_due;
use crate::{EngineError, governor, iso};

/// Prospects loaded at once: each is needed only until its step's time is known.
const LOAD_CHUNK: usize = 250;

/// The most messages of `campaign` that can go out between `now` and the end of the day.
/// Steps the compliance gate will refuse are still counted: the pre-send check lists those.
pub async fn messages_today(
    store: &Store,
    campaign: &Campaign,
    account: Option<&SenderAccount>,
    now: Timestamp,
) -> Result<u32, EngineError> {
    let settings = store.sending_settings(campaign.workspace_id).await?;
    let end = end_of_day(now, &resolve_time_zone(None, None, &settings.time_zone)?)?;
    let mut due = store.queued_due_before(campaign.id, &iso(end)).await?;
    let fields = &campaign.fields;
    let pending = store.pending_steps(campaign.id).await?;
    for chunk in pending.chunks(LOAD_CHUNK) {
        let ids: Vec<i64> = chunk.iter().map(|e| e.prospect_id).collect();
        let prospects = store.prospects_by_ids(&ids).await?;
        for e in chunk {
            let step = usize::try_from(e.next_position - 1)
                .ok()
                .and_then(|i| fields.steps.get(i));
            let (Some(step), Some(p)) = (step, prospects.get(&e.prospect_id)) else {
                continue;
            };
            // A step whose time cannot be worked out is blocked when it falls due: it does
            // not go today.
            let Ok(tz) = resolve_time_zone(
                p.time_zone.as_deref(),
                p.country.as_deref(),
                &settings.time_zone,
            ) else {
                continue;
            };
            let at = step_due(e.next_run_at.as_deref(), step.delay_business_days, now, &tz)
                .and_then(|(at, _)| next_send_time(at.max(now), &fields.window, &tz));
            if at.is_ok_and(|at| at < end) {
                due = due.saturating_add(1);
            }
        }
    }
    let caps = governor::room_today(store, campaign, account, now).await?;
    let pacing = pacing_room(
        now,
        end,
        fields.min_gap_seconds,
        account.and_then(|a| a.fields.per_minute_cap),
        account.and_then(|a| a.fields.hourly_cap),
    );
    Ok(due.min(caps).min(pacing))
}
