//! How many of a campaign's messages can go out today, for the confirmation before it starts.
//! "Today" ends at midnight in the workspace's time zone (the agency's own day); each step
//! goes when it is due and its send window is open in the prospect's zone, as the scheduler
//! will decide it, and then only as far as the caps and the campaign's pacing allow.

use jiff::Timestamp;
use outreach_core::campaign::{Campaign, SenderAccount, SendingSettings};
use outreach_core::prospect::Prospect;
use outreach_core::schedule::{end_of_day, next_send_time, pacing_room, resolve_time_zone};
use outreach_store::Store;

use crate::scheduler::step_due;
use crate::{EngineError, governor, iso};

/// Counts what can go out between now and the end of the day: the campaign's queued messages
/// due by then, plus each active enrolment handed to [`Today::add`] whose next step falls due
/// and finds its send window open by then. [`Today::finish`] caps the count by what the caps
/// and the campaign's pacing let through.
pub struct Today<'c> {
    campaign: &'c Campaign,
    settings: &'c SendingSettings,
    now: Timestamp,
    end: Timestamp,
    due: u32,
}

impl<'c> Today<'c> {
    /// Starts the count with the campaign's queued messages due today; `settings` are its
    /// workspace's sending settings.
    pub async fn new(
        store: &Store,
        campaign: &'c Campaign,
        settings: &'c SendingSettings,
        now: Timestamp,
    ) -> Result<Self, EngineError> {
        let end = end_of_day(now, &resolve_time_zone(None, None, &settings.time_zone)?)?;
        let due = store.queued_due_before(campaign.id, &iso(end)).await?;
        Ok(Self {
            campaign,
            settings,
            now,
            end,
            due,
        })
    }

    /// Counts an active enrolment of `prospect` whose next step is `next_position` (1-based),
    /// stored as due at `next_run_at` if it has been scheduled, when it goes today.
    pub fn add(&mut self, next_position: i64, next_run_at: Option<&str>, prospect: &Prospect) {
        let fields = &self.campaign.fields;
        let Some(step) = usize::try_from(next_position - 1)
            .ok()
            .and_then(|i| fields.steps.get(i))
        else {
            return;
        };
        // A step whose time cannot be worked out is blocked when it falls due: it does not
        // go today.
        let Ok(tz) = resolve_time_zone(
            prospect.time_zone.as_deref(),
            prospect.country.as_deref(),
            &self.settings.time_zone,
        ) else {
            return;
        };
        let at = step_due(next_run_at, step.delay_business_days, self.now, &tz)
            .and_then(|(at, _)| next_send_time(at.max(self.now), &fields.window, &tz));
        if at.is_ok_and(|at| at < self.end) {
            self.due = self.due.saturating_add(1);
        }
    }

    /// The most messages that can go out today: those counted, within what the caps (the
    /// account's, lowered by its ramp-up, and the campaign's) leave after the last 24 hours,
    /// and what the campaign's gaps and the account's hourly and per-minute caps let through
    /// in the hours left.
    pub async fn finish(
        self,
        store: &Store,
        account: Option<&SenderAccount>,
    ) -> Result<u32, EngineError> {
        let fields = &self.campaign.fields;
        let caps = governor::room_today(store, self.campaign, account, self.now).await?;
        let pacing = pacing_room(
            self.now,
            self.end,
            fields.min_gap_seconds,
            account.and_then(|a| a.fields.per_minute_cap),
            account.and_then(|a| a.fields.hourly_cap),
        );
        Ok(self.due.min(caps).min(pacing))
    }
}
