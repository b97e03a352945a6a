//! Turns due sequence steps into outbox messages: works out when each step is due, renders it
//! for its prospect, and lets it through only if the compliance gate agrees.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use outreach_core::campaign::{Campaign, SenderAccount, SendingSettings, StepCondition, Template};
use outreach_core::compliance::{self, Refusal};
use outreach_core::normalize::{normalize_email, normalize_linkedin_url, normalize_x_handle};
use outreach_core::prospect::{Prospect, ProspectStatus, Workspace};
use outreach_core::schedule::{
    ScheduleError, add_business_days, next_send_time, resolve_time_zone,
};
use outreach_core::template::{self, SendCheck, TemplateError};
use outreach_core::tokens::{PurposeKey, suppression_hash};
use outreach_store::StoreError;
use outreach_store::outbox::{DueEnrollment, NewMessage};

use crate::{Engine, EngineError, PassReport, gate, iso, parse_iso, variables};

/// What a pass loads once per campaign.
struct CampaignContext {
    campaign: Campaign,
    workspace: Workspace,
    settings: SendingSettings,
    account: Option<SenderAccount>,
    has_assessment: bool,
    templates: HashMap<i64, Template>,
}

/// The suppression hashes of a prospect's addresses and handles.
pub fn prospect_hashes(
    key: &outreach_core::tokens::PurposeKey,
    p: &Prospect,
) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    if let Some(e) = p.email.as_deref().and_then(|e| normalize_email(e).ok()) {
        out.push((suppression_hash(key, "email", &e.address), "email"));
    }
    if let Some(x) = p
        .x_handle
        .as_deref()
        .and_then(|x| normalize_x_handle(x).ok())
    {
        out.push((suppression_hash(key, "x_handle", &x), "x_handle"));
    }
    if let Some(l) = p
        .linkedin_url
        .as_deref()
        .and_then(|l| normalize_linkedin_url(l).ok())
    {
        out.push((suppression_hash(key, "linkedin_url", &l), "linkedin_url"));
    }
    out
}

impl Engine {
    async fn campaign_context(&self, campaign_id: i64) -> Result<CampaignContext, EngineError> {
        let campaign = self.readers.campaign(campaign_id).await?;
        let workspace = self.readers.workspace(campaign.workspace_id).await?;
        let settings = self.readers.sending_settings(campaign.workspace_id).await?;
        let account = match campaign.fields.account_id {
            Some(a) => match self.readers.account(a).await {
                Ok(a) => Some(a),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let has_assessment = self
            .readers
            .current_assessment(campaign.workspace_id)
            .await?
            .is_some();
        let mut templates = HashMap::new();
        for step in &campaign.fields.steps {
            for &t in &step.template_ids {
                if let std::collections::hash_map::Entry::Vacant(e) = templates.entry(t) {
                    e.insert(self.readers.template(t).await?);
                }
            }
        }
        Ok(CampaignContext {
            campaign,
            workspace,
            settings,
            account,
            has_assessment,
            templates,
        })
    }

    pub(crate) async fn schedule_due(&self, report: &mut PassReport) -> Result<(), EngineError> {
        let now = Timestamp::now();
        let due = self
            .readers
            .due_enrollments(&iso(now), self.config.schedule_batch)
            .await?;
        if due.is_empty() {
            return Ok(());
        }
        let mut contexts: HashMap<i64, CampaignContext> = HashMap::new();
        for e in &due {
            if let std::collections::hash_map::Entry::Vacant(v) = contexts.entry(e.campaign_id) {
                v.insert(self.campaign_context(e.campaign_id).await?);
            }
        }
        // The batch's prospects and their suppression in two queries, not two per enrolment.
        let ids: Vec<i64> = due.iter().map(|e| e.prospect_id).collect();
        let prospects = self.readers.prospects_by_ids(&ids).await?;
        let suppressed =
            gate::suppressed(&self.readers, &self.keys.suppression, prospects.values()).await?;
        let batch = PlanInput {
            unsubscribe_key: self.keys.unsubscribe.clone(),
            due,
            contexts,
            prospects,
            suppressed,
            now,
        };
        // Rendering and checking a batch is the scheduler's CPU-heavy part: it runs off the
        // async workers, so that the sender's claims, SMTP sessions and records go on meanwhile.
        let (batch, plans) = tokio::task::spawn_blocking(move || {
            let plans = batch.plan();
            (batch, plans)
        })
        .await
        .map_err(|e| EngineError::Task(e.to_string()))?;
        let mut queue = Vec::new();
        for (e, plan) in batch.due.iter().zip(plans) {
            match plan {
                Plan::Queue(m) => queue.push(*m),
                Plan::Schedule(at) => self.store.schedule_enrollment(e.id, &at).await?,
                Plan::End { state, reason } => {
                    self.store.end_enrollment(e.id, state, reason).await?;
                }
                Plan::Block {
                    workspace_id,
                    code,
                    reason,
                } => {
                    let seen = batch.prospects.get(&e.prospect_id).map(|p| &*p.updated_at);
                    if self
                        .store
                        .block_enrollment(workspace_id, e, seen, code, &reason)
                        .await?
                    {
                        report.blocked += 1;
                    }
                }
                Plan::Wait => {}
            }
        }
        if !queue.is_empty() {
            report.queued += self.store.enqueue(&queue).await?;
        }
        Ok(())
    }
}

/// What becomes of one due enrolment, decided without the database.
enum Plan {
    /// Put this message in the outbox.
    Queue(Box<NewMessage>),
    /// The step's delay runs from now: it is due at this instant (ISO 8601).
    Schedule(String),
    /// The enrolment ends without sending.
    End {
        state: &'static str,
        reason: &'static str,
    },
    /// The compliance gate (or a missing piece) refuses the step.
    Block {
        workspace_id: i64,
        code: &'static str,
        reason: String,
    },
    /// The step has no template: nothing to do until it has one.
    Wait,
}

/// Everything a batch of due enrolments is planned from, loaded beforehand.
struct PlanInput {
    unsubscribe_key: PurposeKey,
    due: Vec<DueEnrollment>,
    contexts: HashMap<i64, CampaignContext>,
    prospects: HashMap<i64, Prospect>,
    /// Prospects on the suppression list.
    suppressed: HashSet<i64>,
    now: Timestamp,
}

impl PlanInput {
    /// A plan for each due enrolment, in order. An enrolment that cannot go ahead is blocked
    /// with its reason, never failing the batch: one broken step must not hold up the rest.
    fn plan(&self) -> Vec<Plan> {
        // Each (template, first step or not) is parsed and compiled once per batch.
        let mut checks = HashMap::new();
        let mut plans = Vec::with_capacity(self.due.len());
        for e in &self.due {
            let Some(ctx) = self.contexts.get(&e.campaign_id) else {
                plans.push(Plan::Wait);
                continue;
            };
            plans.push(self.prepare(ctx, e, &mut checks));
        }
        plans
    }

    /// Decides what to do with one due enrolment: schedule it, end it, block it, or queue its
    /// message, rendered once and checked as it will be sent.
    fn prepare<'s>(
        &'s self,
        ctx: &'s CampaignContext,
        e: &DueEnrollment,
        checks: &mut HashMap<(i64, bool), Result<SendCheck<'s>, TemplateError>>,
    ) -> Plan {
        let now = self.now;
        let block = |code: &'static str, reason: String| Plan::Block {
            workspace_id: ctx.workspace.id,
            code,
            reason,
        };
        let steps = &ctx.campaign.fields.steps;
        let Some(step) = usize::try_from(e.next_position - 1)
            .ok()
            .and_then(|i| steps.get(i))
        else {
            return Plan::End {
                state: "completed",
                reason: "sequence finished",
            };
        };
        let Some(prospect) = self.prospects.get(&e.prospect_id) else {
            let gone = Refusal::prospect_gone();
            return block(gone.code.as_str(), gone.reason);
        };
        let tz = match resolve_time_zone(
            prospect.time_zone.as_deref(),
            prospect.country.as_deref(),
            &ctx.settings.time_zone,
        ) {
            Ok(tz) => tz,
            Err(err) => return block("time_zone", err.to_string()),
        };
        let due_at = match step_due(e.next_run_at.as_deref(), step.delay_business_days, now, &tz) {
            // A time just worked out is kept, so the delay counts from now only once.
            Ok((at, true)) if at > now => return Plan::Schedule(iso(at)),
            Ok((at, _)) => at,
            Err(err) => return block("schedule", err.to_string()),
        };
        if step.condition == StepCondition::NoReply
            && e.next_position > 1
            && matches!(
                prospect.status,
                ProspectStatus::Replied
                    | ProspectStatus::Interested
                    | ProspectStatus::NotInterested
                    | ProspectStatus::Converted
            )
        {
            return Plan::End {
                state: "replied",
                reason: "the prospect replied",
            };
        }
        let Some(account) = &ctx.account else {
            return block("no_account", "the campaign has no sender account".into());
        };
        let Some(t) = template_for(ctx, e.next_position, &e.variant) else {
            return Plan::Wait;
        };
        let (token, vars) = variables::for_recipient(
            &self.unsubscribe_key,
            &ctx.workspace,
            &ctx.settings,
            account,
            prospect,
        );
        let is_first = e.next_position == 1;
        let checked = match checks
            .entry((t.id, is_first))
            .or_insert_with(|| SendCheck::new(&t.subject, &t.body, is_first))
        {
            Ok(check) => check.render(
                prospect.id,
                &vars,
                template::spin_seed(e.id, e.next_position),
            ),
            Err(err) => Err(err.clone()),
        };
        let (rendered, mut problems) = match checked {
            Ok((message, problems)) => (
                Some(message),
                problems.iter().map(|p| p.message_for_one()).collect(),
            ),
            Err(err) => (None, vec![err.to_string()]),
        };
        if is_first && ctx.workspace.legal_notice.trim().is_empty() {
            problems.push(
                "the workspace has no legal notice saying who writes and why, which the GDPR Art. 14 notice needs".into(),
            );
        }
        if let Err(refusal) = gate::check(
            prospect,
            self.suppressed.contains(&prospect.id),
            &ctx.settings,
            ctx.has_assessment,
            &problems,
        ) {
            return block(refusal.code.as_str(), refusal.reason);
        }
        // Without problems the render succeeded; this only guards against a gate that lets
        // problems through.
        let Some(rendered) = rendered else {
            return block("template_problem", problems.join("; "));
        };
        let to_name = vars
            .get("full_name")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        if let Err(refusal) = check_headers(&rendered.subject, to_name.as_deref()) {
            return block(refusal.code.as_str(), refusal.reason);
        }
        let send_at = match next_send_time(due_at.max(now), &ctx.campaign.fields.window, &tz) {
            Ok(at) => at,
            Err(err) => return block("schedule", err.to_string()),
        };
        Plan::Queue(Box::new(NewMessage {
            workspace_id: ctx.workspace.id,
            campaign_id: ctx.campaign.id,
            enrollment_id: e.id,
            step_position: e.next_position,
            prospect_id: prospect.id,
            account_id: account.id,
            variant: e.variant.clone(),
            message_id: new_message_id(&account.fields.from_address),
            to_address: prospect.email.clone().unwrap_or_default(),
            to_name,
            subject: rendered.subject,
            body: rendered.body,
            unsubscribe_token: token,
            due_at: iso(send_at),
            template_id: t.id,
            template_changed_at: t.updated_at.clone(),
        }))
    }
}

/// When a step is due: the time stored for it or, for a step without one yet, its delay in
/// business days counted from `now` (the start, or the moment the previous step went out).
/// The flag says whether the time was worked out here rather than stored.
pub(crate) fn step_due(
    stored: Option<&str>,
    delay_business_days: u32,
    now: Timestamp,
    tz: &jiff::tz::TimeZone,
) -> Result<(Timestamp, bool), ScheduleError> {
    match stored.and_then(parse_iso) {
        Some(at) => Ok((at, false)),
        None => Ok((add_business_days(now, delay_business_days, tz)?, true)),
    }
}

/// The template of a step's variant (`A` is the first), or the step's first template.
fn template_for<'c>(
    ctx: &'c CampaignContext,
    position: i64,
    variant: &str,
) -> Option<&'c Template> {
    let step = ctx
        .campaign
        .fields
        .steps
        .get(usize::try_from(position - 1).ok()?)?;
    let id = step.template_ids.get(step.variant_index(variant))?;
    ctx.templates.get(id)
}

/// A fresh Message-ID (without angle brackets) in the sender's domain, fixed before the first
/// attempt so that a retry carries the same one.
pub(crate) fn new_message_id(from_address: &str) -> String {
    let domain = from_address
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    let bytes: [u8; 16] = rand::random();
    format!("{}@{domain}", hex::encode(bytes))
}

/// Refuses a subject or recipient name that would carry a line break into a header.
pub(crate) fn check_headers(subject: &str, to_name: Option<&str>) -> Result<(), Refusal> {
    compliance::check_header_value("subject", subject)?;
    compliance::check_header_value("recipient name", to_name.unwrap_or_default())
}
