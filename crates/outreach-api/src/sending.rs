//! Commands for sending: accounts, templates, campaigns, enrolment, lawful basis, the outbox
//! and the engine.

use outreach_channels::smtp::test_connection;
use outreach_core::campaign::{
    AccountFields, Campaign, CampaignFields, CampaignStatus, LegitimateInterestAssessment,
    MessageStatus, SenderAccount, SendingSettings, Step, Template, Transport, UnconfirmedChoice,
};
use outreach_core::compliance;
use outreach_core::prospect::Prospect;
use outreach_core::template::{self, MessageTemplate, Problem, RenderedMessage, Variables};
use outreach_engine::variables;
use outreach_store::campaigns::CampaignProgress;
use outreach_store::consent::{ConsentEvent, SuppressionEntry};
use outreach_store::enrolments::{EnrolmentGroup, EnrolmentSummary, ProspectEnrolment};
use outreach_store::outbox::MessageSummary;
use outreach_store::prospects::ProspectQuery;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Api, ApiError, ChangedEntity, ErrorCode, Saved, secrets};

/// A workspace's new sending settings.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SetSendingSettings {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The settings.
    pub settings: SendingSettings,
}

/// A legitimate-interest assessment to record.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RecordAssessment {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The assessment.
    pub assessment: LegitimateInterestAssessment,
}

/// Consent of one prospect.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RecordConsent {
    /// The prospect.
    #[ts(type = "number")]
    pub prospect_id: i64,
    /// What was agreed, when and how.
    pub evidence: String,
}

/// A new account and its secrets (which go to the keychain only).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SaveAccount {
    /// The workspace (new accounts).
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The account to change, or none for a new one.
    #[ts(type = "number | null")]
    pub id: Option<i64>,
    /// Settings.
    pub fields: AccountFields,
    /// SMTP password or SendGrid API key; none leaves the stored one.
    pub secret: Option<String>,
    /// DKIM private key (PEM); none leaves the stored one.
    pub dkim_private_key: Option<String>,
    /// Takes the stored DKIM key out of the keychain, and the selector and signing domain off
    /// the account: its messages are no longer signed.
    #[serde(default)]
    pub remove_dkim_key: bool,
}

/// An account.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AccountRef {
    /// Its id.
    #[ts(type = "number")]
    pub account_id: i64,
}

/// What a connection test found.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AccountTest {
    /// Everything worked.
    pub ok: bool,
    /// Where it failed: `dns`, `tcp`, `tls`, `auth`, `protocol`, `config`.
    pub stage: Option<String>,
    /// What happened.
    pub message: String,
}

/// A template to save.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SaveTemplate {
    /// The workspace (new templates).
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The template to change, or none for a new one.
    #[ts(type = "number | null")]
    pub id: Option<i64>,
    /// Name.
    pub name: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
}

/// A template text to preview for a prospect.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PreviewTemplate {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// The prospect to render for; none picks the first one.
    #[ts(type = "number | null")]
    pub prospect_id: Option<i64>,
    /// The account whose sender fields to use; none picks the first.
    #[ts(type = "number | null")]
    pub account_id: Option<i64>,
    /// Check as the first step (needs the Art. 14 notice).
    pub first_step: bool,
}

/// A preview and what the pre-send check says about it.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct TemplatePreview {
    /// The rendered message, when it renders.
    pub rendered: Option<RenderedMessage>,
    /// The prospect it was rendered for.
    #[ts(type = "number | null")]
    pub prospect_id: Option<i64>,
    /// Their name as the app shows it, for "rendered for ...".
    pub prospect_name: Option<String>,
    /// Problems, each with its sentence.
    pub problems: Vec<ProblemView>,
}

/// A problem and its sentence.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ProblemView {
    /// The structured problem.
    pub problem: Problem,
    /// What to tell people.
    pub message: String,
}

/// A campaign to save.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SaveCampaign {
    /// The workspace (new campaigns).
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The campaign to change, or none for a new one.
    #[ts(type = "number | null")]
    pub id: Option<i64>,
    /// Settings and sequence.
    pub fields: CampaignFields,
}

/// A template to copy into a new one.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CopyTemplate {
    /// The template copied.
    #[ts(type = "number")]
    pub template_id: i64,
    /// The copy's name; none gives "Copy of …".
    pub name: Option<String>,
}

/// A campaign to copy into a new draft.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CopyCampaign {
    /// The campaign copied.
    #[ts(type = "number")]
    pub campaign_id: i64,
    /// The copy's name; none gives "Copy of …".
    pub name: Option<String>,
}

/// A campaign.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CampaignRef {
    /// Its id.
    #[ts(type = "number")]
    pub campaign_id: i64,
}

/// Prospects to enrol: those matching a filter of the campaign's workspace.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct EnrolFilter {
    /// The campaign.
    #[ts(type = "number")]
    pub campaign_id: i64,
    /// The filter (its workspace must be the campaign's; paging is ignored).
    pub query: ProspectQuery,
}

/// Who an enrolment would take, and who not and why.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
pub struct EnrolPreview {
    /// Prospects that will be enrolled.
    pub will_enrol: u32,
    /// Prospects already in the campaign.
    pub already_enrolled: u32,
    /// Prospects that would be refused, grouped by reason.
    pub refused: Vec<RefusedGroup>,
    /// A few of those that will be enrolled, for a look.
    pub sample: Vec<Prospect>,
}

/// What an enrolment did: the preview's counts, as the enrolment itself found them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
pub struct EnrolResult {
    /// Prospects enrolled now.
    pub enrolled: u32,
    /// Matching prospects that were in the campaign already.
    pub already_enrolled: u32,
    /// Matching prospects the compliance gate refused, grouped by reason.
    pub refused: Vec<RefusedGroup>,
}

/// Prospects refused for one reason.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RefusedGroup {
    /// Stable code.
    pub code: String,
    /// The reason.
    pub reason: String,
    /// How many.
    pub count: u32,
    /// Up to five of them.
    pub examples: Vec<String>,
}

/// The pre-send check of a whole campaign.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CampaignCheck {
    /// No problem: the campaign may start.
    pub ready: bool,
    /// Problems by step and variant.
    pub steps: Vec<StepCheck>,
    /// Problems of the campaign itself (no account, nobody enrolled, no postal address...).
    pub general: Vec<String>,
    /// Messages that can go out today at most (until midnight in the workspace's time zone):
    /// the steps due by then whose send window opens by then in the prospect's time zone,
    /// within what the daily caps (the account's lowered by its ramp-up) leave after the last
    /// 24 hours, and what the campaign's gaps and the account's hourly and per-minute caps let
    /// through in the hours left. Prospects in [`CampaignCheck::refused`] are not counted.
    pub today_estimate: u32,
    /// Enrolled prospects whose next step the compliance gate refuses as things stand
    /// (opted out or suppressed since they were enrolled, deleted, no lawful basis...), by
    /// reason. They do not hold up the start: the engine blocks each such step, with its
    /// reason, when it falls due.
    pub refused: Vec<RefusedGroup>,
}

/// The problems of one step's variant.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct StepCheck {
    /// Step number (1-based).
    pub step: u32,
    /// Variant label.
    pub variant: String,
    /// Template name.
    pub template: String,
    /// Its problems.
    pub problems: Vec<ProblemView>,
}

/// A campaign's messages.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ListMessages {
    /// The campaign.
    #[ts(type = "number")]
    pub campaign_id: i64,
    /// Only this status.
    pub status: Option<MessageStatus>,
    /// At most this many (default 200).
    pub limit: Option<u32>,
}

/// A campaign's people.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ListEnrolments {
    /// The campaign.
    #[ts(type = "number")]
    pub campaign_id: i64,
    /// Only this group, as the progress view counts them.
    pub group: Option<EnrolmentGroup>,
    /// At most this many, 1 to [`MAX_LISTED`] (default 200), the latest changed first.
    pub limit: Option<u32>,
}

/// The most rows a list command returns at once.
pub const MAX_LISTED: u32 = 10_000;

/// A decision about unconfirmed messages.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ResolveUnconfirmed {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The messages.
    #[ts(type = "Array<number>")]
    pub message_ids: Vec<i64>,
    /// What to do.
    pub choice: UnconfirmedChoice,
}

/// Enrolments the campaign check loads and renders at a time: each recipient's variables
/// are needed only until every step has been rendered for them.
const CHECK_LOAD_CHUNK: usize = 500;

/// Prospects loaded at once to decide an enrolment: one query and one suppression lookup each.
const GATE_CHUNK: usize = 1000;

/// A prospect with the compliance gate's verdict on it.
type Gated = (Prospect, Result<(), compliance::Refusal>);

/// A recipient of the campaign check: (enrolment, prospect, A/B label, variables).
type CheckedRecipient = (i64, i64, String, Variables);

/// The pre-send check of each step's variants over the recipients who get them, each
/// rendered as the gate will render the step. Recipients arrive a chunk at a time, and only
/// what they turned up is kept.
fn check_steps(
    sequence: &[Step],
    templates: &[Vec<Template>],
    mut recipients: tokio::sync::mpsc::Receiver<Vec<CheckedRecipient>>,
) -> Vec<StepCheck> {
    let sources: Vec<Vec<MessageTemplate>> = templates
        .iter()
        .map(|variants| {
            variants
                .iter()
                .map(|t| MessageTemplate {
                    subject: t.subject.clone(),
                    body: t.body.clone(),
                })
                .collect()
        })
        .collect();
    let mut checks: Vec<Vec<template::PreSendCheck<'_>>> = sources
        .iter()
        .enumerate()
        .map(|(i, variants)| {
            variants
                .iter()
                .map(|t| template::PreSendCheck::new(t, i == 0))
                .collect()
        })
        .collect();
    while let Some(chunk) = recipients.blocking_recv() {
        for (enrolment, pid, label, vars) in &chunk {
            for (i, (step, variants)) in sequence.iter().zip(&mut checks).enumerate() {
                let position = i64::try_from(i + 1).unwrap_or(i64::MAX);
                // The enrolment fixes each step's variant and spintax draw.
                if let Some(check) = variants.get_mut(step.variant_index(label)) {
                    check.add(template::CheckRecipient {
                        prospect_id: *pid,
                        spin_seed: template::spin_seed(*enrolment, position),
                        vars,
                    });
                }
            }
        }
    }
    let mut steps = Vec::new();
    for (i, (variants, checks)) in templates.iter().zip(checks).enumerate() {
        for (v, (t, check)) in variants.iter().zip(checks).enumerate() {
            steps.push(StepCheck {
                step: u32::try_from(i + 1).unwrap_or(u32::MAX),
                variant: outreach_store::campaigns::variant_label(v),
                template: t.name.clone(),
                // Named once the check is done (see `name_examples`).
                problems: views(check.finish(), |_| None),
            });
        }
    }
    steps
}

/// Refusals of the compliance gate grouped by reason, with a few names each.
#[derive(Default)]
struct Refusals(Vec<RefusedGroup>);

impl Refusals {
    fn add(&mut self, code: &str, reason: String, name: String) {
        match self.0.iter_mut().find(|g| g.code == code) {
            Some(g) => {
                g.count = g.count.saturating_add(1);
                if g.examples.len() < 5 {
                    g.examples.push(name);
                }
            }
            None => self.0.push(RefusedGroup {
                code: code.to_string(),
                reason,
                count: 1,
                examples: vec![name],
            }),
        }
    }

    /// The groups, largest first.
    fn into_groups(mut self) -> Vec<RefusedGroup> {
        self.0.sort_by_key(|g| std::cmp::Reverse(g.count));
        self.0
    }
}

/// The problems with their sentences, naming example prospects as `name` does.
fn views(problems: Vec<Problem>, name: impl Fn(i64) -> Option<String>) -> Vec<ProblemView> {
    problems
        .into_iter()
        .map(|p| ProblemView {
            message: p.message_naming(&name),
            problem: p,
        })
        .collect()
}

fn invalid(m: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, m)
}

/// Refuses a change, through a request naming workspace `requested`, to `what` of workspace
/// `owner`: one client's things never change through another's.
fn same_workspace(owner: i64, requested: i64, what: &str) -> Result<(), ApiError> {
    if owner == requested {
        Ok(())
    } else {
        Err(invalid(format!("{what} belongs to another workspace")))
    }
}

impl Api {
    /// The workspace's sending settings.
    pub async fn get_sending_settings(
        &self,
        args: crate::WorkspaceRef,
    ) -> Result<SendingSettings, ApiError> {
        Ok(self.store.sending_settings(args.workspace_id).await?)
    }

    /// Changes the workspace's sending settings.
    pub async fn set_sending_settings(
        &self,
        args: SetSendingSettings,
    ) -> Result<Saved<SendingSettings>, ApiError> {
        let mut s = args.settings;
        s.time_zone = s.time_zone.trim().to_string();
        if jiff::tz::TimeZone::get(&s.time_zone).is_err() {
            return Err(invalid(format!(
                "'{}' is not a time zone name (such as Europe/Berlin)",
                s.time_zone
            )));
        }
        let mut countries = Vec::new();
        for c in &s.consent_only_countries {
            let code = outreach_core::schedule::country_code(c)
                .ok_or_else(|| invalid(format!("'{c}' is not a country")))?;
            if !countries.iter().any(|x: &String| x == code) {
                countries.push(code.to_string());
            }
        }
        s.consent_only_countries = countries;
        s.unsubscribe_url = s
            .unsubscribe_url
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty());
        if let Some(u) = &s.unsubscribe_url {
            let parsed =
                url::Url::parse(u).map_err(|e| invalid(format!("unsubscribe URL: {e}")))?;
            if parsed.scheme() != "https" {
                return Err(invalid("the one-click unsubscribe URL must use https"));
            }
        }
        let rewritten = self
            .store
            .set_sending_settings(args.workspace_id, &s, self.config.actor())
            .await?;
        self.changed(Some(args.workspace_id), ChangedEntity::Workspaces);
        self.rewrote(args.workspace_id, rewritten);
        Ok(Saved { item: s, rewritten })
    }

    /// The legitimate-interest assessment in force, if any.
    pub async fn get_assessment(
        &self,
        args: crate::WorkspaceRef,
    ) -> Result<Option<LegitimateInterestAssessment>, ApiError> {
        Ok(self
            .store
            .current_assessment(args.workspace_id)
            .await?
            .map(|(_, a)| a))
    }

    /// Records the workspace's legitimate-interest assessment.
    pub async fn record_assessment(
        &self,
        args: RecordAssessment,
    ) -> Result<LegitimateInterestAssessment, ApiError> {
        self.store
            .record_assessment(args.workspace_id, &args.assessment, self.config.actor())
            .await?;
        self.changed(Some(args.workspace_id), ChangedEntity::Workspaces);
        Ok(args.assessment)
    }

    /// Assigns legitimate interest to prospects.
    pub async fn assign_legitimate_interest(
        &self,
        args: crate::ProspectIds,
    ) -> Result<u32, ApiError> {
        let n = self
            .store
            .assign_legitimate_interest(args.workspace_id, &args.ids, self.config.actor())
            .await?;
        self.changed(Some(args.workspace_id), ChangedEntity::Prospects);
        Ok(n)
    }

    /// Records a prospect's consent with its evidence.
    pub async fn record_consent(&self, args: RecordConsent) -> Result<Prospect, ApiError> {
        self.store
            .record_consent(args.prospect_id, &args.evidence, self.config.actor())
            .await?;
        let p = self.store.prospect(args.prospect_id).await?;
        self.changed(Some(p.workspace_id), ChangedEntity::Prospects);
        Ok(p)
    }

    /// A prospect's consent history.
    pub async fn consent_history(
        &self,
        args: crate::ProspectId,
    ) -> Result<Vec<ConsentEvent>, ApiError> {
        Ok(self.store.consent_history(args.id).await?)
    }

    /// Opts a prospect out on every channel; returns how many queued messages were cancelled.
    pub async fn opt_out_prospect(&self, args: crate::ProspectId) -> Result<u32, ApiError> {
        let p = self.store.prospect(args.id).await?;
        let hashes: Vec<SuppressionEntry> =
            outreach_engine::suppression_entries(&self.keys.suppression, &p);
        let n = self
            .store
            .opt_out(p.id, &hashes, "opted out by a person", self.config.actor())
            .await?;
        self.changed(Some(p.workspace_id), ChangedEntity::Prospects);
        Ok(n)
    }

    /// A workspace's sender accounts.
    pub async fn list_accounts(
        &self,
        args: crate::WorkspaceRef,
    ) -> Result<Vec<SenderAccount>, ApiError> {
        Ok(self.store.list_accounts(args.workspace_id).await?)
    }

    /// Creates or changes an account; secrets go to the keychain.
    pub async fn save_account(
        &self,
        mut args: SaveAccount,
    ) -> Result<Saved<SenderAccount>, ApiError> {
        if args.remove_dkim_key {
            if args
                .dkim_private_key
                .as_deref()
                .is_some_and(|k| !k.is_empty())
            {
                return Err(invalid(
                    "give a new DKIM key or remove the stored one, not both",
                ));
            }
            args.dkim_private_key = None;
            args.fields.dkim_selector = None;
            args.fields.dkim_domain = None;
        }
        if let Some(pem) = &args.dkim_private_key {
            let f = &args.fields;
            let selector = f
                .dkim_selector
                .as_deref()
                .ok_or_else(|| invalid("a DKIM key needs its selector"))?;
            let domain = f
                .dkim_domain
                .clone()
                .or_else(|| f.from_address.rsplit_once('@').map(|(_, d)| d.to_string()))
                .unwrap_or_default();
            outreach_channels::message::DkimKey::parse(selector, &domain, pem)
                .map_err(|e| invalid(format!("DKIM key: {e}")))?;
        }
        let current = match args.id {
            Some(id) => Some(self.store.account(id).await?),
            None => None,
        };
        if args.fields.transport == Transport::Smtp {
            // Checked with the password the account will have (given now, or kept in the
            // keychain from before), never with none: a username always comes with one.
            let will_have_secret = args.secret.as_deref().is_some_and(|s| !s.is_empty())
                || current.as_ref().is_some_and(|c| c.has_secret);
            outreach_engine::transport::smtp_settings(
                &args.fields,
                will_have_secret.then(|| "(the password)".to_string()),
            )
            .map_err(invalid)?
            .validate()
            .map_err(|e| invalid(e.to_string()))?;
        }
        let (account, rewritten) = match current {
            Some(current) => {
                same_workspace(
                    current.workspace_id,
                    args.workspace_id,
                    "the sender account",
                )?;
                self.store
                    .update_account(current.id, &args.fields, self.config.actor())
                    .await?
            }
            None => (
                self.store
                    .create_account(args.workspace_id, &args.fields, self.config.actor())
                    .await?,
                0,
            ),
        };
        let mut has_secret = account.has_secret;
        let mut has_dkim = account.has_dkim_key && !args.remove_dkim_key;
        if let Some(secret) = args.secret.filter(|s| !s.is_empty()) {
            secrets::store(&self.config, account.id, secrets::Kind::Secret, &secret).await?;
            has_secret = true;
        }
        if let Some(pem) = args.dkim_private_key.filter(|s| !s.is_empty()) {
            secrets::store(&self.config, account.id, secrets::Kind::Dkim, &pem).await?;
            has_dkim = true;
        }
        if let Err(e) = self
            .store
            .set_account_secret_flags(account.id, has_secret, has_dkim)
            .await
        {
            if matches!(e, outreach_store::StoreError::NotFound(_)) {
                // Removed meanwhile (another window or process): nothing would ever read or
                // remove what was just put in the keychain.
                secrets::delete_all(&self.config, account.id).await?;
            }
            return Err(e.into());
        }
        // Out of the keychain once the account no longer says it has one: a crash in between
        // leaves an unused key behind, never an account whose key is missing.
        if args.remove_dkim_key {
            secrets::delete(&self.config, account.id, secrets::Kind::Dkim).await?;
        }
        self.changed(Some(account.workspace_id), ChangedEntity::Campaigns);
        Ok(Saved {
            item: self.store.account(account.id).await?,
            rewritten,
        })
    }

    /// Removes a sender account for good (refused while a campaign sends from it or a message
    /// of it waits), then takes its password, keys and mailbox secret out of the keychain.
    pub async fn delete_account(&self, args: AccountRef) -> Result<SenderAccount, ApiError> {
        let a = self
            .store
            .delete_account(args.account_id, self.config.actor())
            .await?;
        self.poke_engine();
        self.changed(Some(a.workspace_id), ChangedEntity::Campaigns);
        secrets::delete_all(&self.config, a.id)
            .await
            .map_err(|e| ApiError {
                message: format!(
                    "the account is removed, but its password or keys could not be taken out of the keychain: {}",
                    e.message
                ),
                ..e
            })?;
        Ok(a)
    }

    /// Connects to the account's server and reports exactly what failed, if anything.
    pub async fn test_account(&self, args: AccountRef) -> Result<AccountTest, ApiError> {
        let a = self.store.account(args.account_id).await?;
        let secret = if a.has_secret {
            secrets::read(&self.config, a.id, secrets::Kind::Secret).await?
        } else {
            None
        };
        match a.fields.transport {
            Transport::Smtp => {
                let settings = outreach_engine::transport::smtp_settings(&a.fields, secret)
                    .map_err(invalid)?;
                Ok(match test_connection(&settings).await {
                    Ok(r) => AccountTest {
                        ok: true,
                        stage: None,
                        message: format!(
                            "connected to {} ({}){}{}",
                            r.server_name,
                            r.peer,
                            if r.encrypted {
                                ", encrypted"
                            } else {
                                ", loopback relay without TLS"
                            },
                            if r.authenticated { ", signed in" } else { "" }
                        ),
                    },
                    Err(e) => AccountTest {
                        ok: false,
                        stage: serde_json::to_value(e.stage)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string)),
                        message: e.to_string(),
                    },
                })
            }
            Transport::Sendgrid => {
                let key = secret.ok_or_else(|| invalid("no SendGrid API key is stored"))?;
                let key = outreach_channels::sendgrid::SecretString::from(key);
                let client = match a.fields.api_base_url.as_deref() {
                    Some(u) => outreach_channels::sendgrid::SendGridClient::new(u, key),
                    None => outreach_channels::sendgrid::SendGridClient::production(key),
                }
                .map_err(|e| invalid(e.to_string()))?;
                Ok(match client.verify().await {
                    Ok(()) => AccountTest {
                        ok: true,
                        stage: None,
                        message: "SendGrid accepted the API key".into(),
                    },
                    Err(e) => AccountTest {
                        ok: false,
                        stage: Some("auth".into()),
                        message: e.to_string(),
                    },
                })
            }
        }
    }

    /// A workspace's templates.
    pub async fn list_templates(
        &self,
        args: crate::WorkspaceRef,
    ) -> Result<Vec<Template>, ApiError> {
        Ok(self.store.list_templates(args.workspace_id).await?)
    }

    /// Creates or changes a template; its syntax must be valid.
    pub async fn save_template(&self, args: SaveTemplate) -> Result<Saved<Template>, ApiError> {
        template::check_syntax(&MessageTemplate {
            subject: args.subject.clone(),
            body: args.body.clone(),
        })
        .map_err(|e| invalid(e.to_string()))?;
        let a = self.config.actor();
        let (template, rewritten) = match args.id {
            Some(id) => {
                let current = self.store.template(id).await?;
                same_workspace(current.workspace_id, args.workspace_id, "the template")?;
                self.store
                    .update_template(id, &args.name, &args.subject, &args.body, a)
                    .await?
            }
            None => (
                self.store
                    .create_template(args.workspace_id, &args.name, &args.subject, &args.body, a)
                    .await?,
                0,
            ),
        };
        // What the editor kept of the edit as it was typed is now saved.
        self.store
            .discard_template_draft(template.workspace_id, args.id)
            .await?;
        self.changed(Some(template.workspace_id), ChangedEntity::Campaigns);
        Ok(Saved {
            item: template,
            rewritten,
        })
    }

    /// Copies a template into a new one with the same subject and body.
    pub async fn copy_template(&self, args: CopyTemplate) -> Result<Template, ApiError> {
        let t = self
            .store
            .copy_template(args.template_id, args.name.as_deref(), self.config.actor())
            .await?;
        self.changed(Some(t.workspace_id), ChangedEntity::Campaigns);
        Ok(t)
    }

    /// Renders a template for a prospect and runs the pre-send check on it. Works offline.
    pub async fn preview_template(
        &self,
        args: PreviewTemplate,
    ) -> Result<TemplatePreview, ApiError> {
        let tpl = MessageTemplate {
            subject: args.subject,
            body: args.body,
        };
        let workspace = self.store.workspace(args.workspace_id).await?;
        let prospect = match args.prospect_id {
            Some(id) => Some(self.store.prospect(id).await?),
            None => {
                let q = ProspectQuery {
                    workspace_id: args.workspace_id,
                    limit: 1,
                    ..Default::default()
                };
                self.store.list_prospects(&q).await?.rows.into_iter().next()
            }
        };
        let account = match args.account_id {
            Some(id) => self.store.account(id).await?,
            // Drafting works before any account exists: the preview then uses a stand-in sender.
            None => match self
                .store
                .list_accounts(args.workspace_id)
                .await?
                .into_iter()
                .next()
            {
                Some(a) => a,
                None => placeholder_account(&workspace),
            },
        };
        let settings = self.store.sending_settings(args.workspace_id).await?;
        let Some(p) = prospect else {
            return Ok(TemplatePreview {
                rendered: None,
                prospect_id: None,
                prospect_name: None,
                problems: views(template::pre_send_check(&tpl, args.first_step, &[]), |_| {
                    None
                }),
            });
        };
        let (_, vars) =
            variables::for_recipient(&self.keys.unsubscribe, &workspace, &settings, &account, &p);
        // The preview shows one spintax draw, and its problems are those of that very text.
        let seed = 0;
        let problems = template::pre_send_check(
            &tpl,
            args.first_step,
            &[template::CheckRecipient {
                prospect_id: p.id,
                spin_seed: seed,
                vars: &vars,
            }],
        );
        Ok(TemplatePreview {
            rendered: template::render(&tpl, &vars, seed).ok(),
            prospect_id: Some(p.id),
            prospect_name: Some(p.display_name()),
            problems: views(problems, |id| (id == p.id).then(|| p.display_name())),
        })
    }

    /// A workspace's campaigns.
    pub async fn list_campaigns(
        &self,
        args: crate::WorkspaceRef,
    ) -> Result<Vec<Campaign>, ApiError> {
        Ok(self.store.list_campaigns(args.workspace_id).await?)
    }

    /// One campaign.
    pub async fn get_campaign(&self, args: CampaignRef) -> Result<Campaign, ApiError> {
        Ok(self.store.campaign(args.campaign_id).await?)
    }

    /// Creates or changes a campaign.
    pub async fn save_campaign(&self, args: SaveCampaign) -> Result<Campaign, ApiError> {
        if let Some(a) = args.fields.account_id {
            let account = self.store.account(a).await?;
            same_workspace(
                account.workspace_id,
                args.workspace_id,
                "the sender account",
            )?;
        }
        let a = self.config.actor();
        let c = match args.id {
            Some(id) => {
                let current = self.store.campaign(id).await?;
                same_workspace(current.workspace_id, args.workspace_id, "the campaign")?;
                self.store.update_campaign(id, &args.fields, a).await?
            }
            None => {
                self.store
                    .create_campaign(args.workspace_id, &args.fields, a)
                    .await?
            }
        };
        self.changed(Some(c.workspace_id), ChangedEntity::Campaigns);
        Ok(c)
    }

    /// Copies a campaign's settings and sequence into a new draft with nobody enrolled.
    pub async fn copy_campaign(&self, args: CopyCampaign) -> Result<Campaign, ApiError> {
        let c = self
            .store
            .copy_campaign(args.campaign_id, args.name.as_deref(), self.config.actor())
            .await?;
        self.changed(Some(c.workspace_id), ChangedEntity::Campaigns);
        Ok(c)
    }

    /// The campaign, the ids of the live prospects its filter matches that it has not
    /// enrolled yet (in the filter's order), and how many it matches that are enrolled.
    async fn enrol_candidates(
        &self,
        args: &EnrolFilter,
    ) -> Result<(Campaign, Vec<i64>, u32), ApiError> {
        let c = self.store.campaign(args.campaign_id).await?;
        if args.query.workspace_id != c.workspace_id {
            return Err(invalid("the filter is for another workspace"));
        }
        let mut q = args.query.clone();
        q.deleted = false;
        let enrolled: std::collections::HashSet<i64> = self
            .store
            .enrolments(c.id)
            .await?
            .into_iter()
            .map(|(_, prospect, _)| prospect)
            .collect();
        let (already, open): (Vec<i64>, Vec<i64>) = self
            .store
            .matching_prospect_ids(&q)
            .await?
            .into_iter()
            .partition(|id| enrolled.contains(id));
        let already = u32::try_from(already.len()).unwrap_or(u32::MAX);
        Ok((c, open, already))
    }

    /// The live prospects among `ids`, in order and each once (deleted ones left out), with
    /// the compliance gate's verdict on each: one query to load them and one suppression
    /// lookup.
    async fn gated(
        &self,
        ids: &[i64],
        settings: &SendingSettings,
        has_assessment: bool,
    ) -> Result<Vec<Gated>, ApiError> {
        let mut loaded = self.store.prospects_by_ids(ids).await?;
        let prospects: Vec<Prospect> = ids.iter().filter_map(|id| loaded.remove(id)).collect();
        let verdicts = outreach_engine::gate::check_prospects(
            &self.store,
            &self.keys.suppression,
            &prospects,
            settings,
            has_assessment,
        )
        .await?;
        Ok(prospects.into_iter().zip(verdicts).collect())
    }

    /// Hands each of `ids` (in order) to `each` with the compliance gate's verdict on it, as
    /// the campaign's workspace stands. Prospects are loaded a thousand at a time, so that a
    /// whole list is never in memory at once.
    async fn gate_each(
        &self,
        c: &Campaign,
        ids: &[i64],
        mut each: impl FnMut(Prospect, Result<(), compliance::Refusal>),
    ) -> Result<(), ApiError> {
        let settings = self.store.sending_settings(c.workspace_id).await?;
        let has_assessment = self
            .store
            .current_assessment(c.workspace_id)
            .await?
            .is_some();
        for chunk in ids.chunks(GATE_CHUNK) {
            for (p, verdict) in self.gated(chunk, &settings, has_assessment).await? {
                each(p, verdict);
            }
        }
        Ok(())
    }

    /// Who an enrolment by this filter would take, and who not and why.
    pub async fn preview_enrolment(&self, args: EnrolFilter) -> Result<EnrolPreview, ApiError> {
        let (c, ids, already_enrolled) = self.enrol_candidates(&args).await?;
        let mut preview = EnrolPreview {
            already_enrolled,
            ..Default::default()
        };
        let mut refusals = Refusals::default();
        self.gate_each(&c, &ids, |p, verdict| match verdict {
            Ok(()) => {
                preview.will_enrol += 1;
                if preview.sample.len() < 5 {
                    preview.sample.push(p);
                }
            }
            Err(r) => refusals.add(r.code.as_str(), r.reason, p.display_name()),
        })
        .await?;
        preview.refused = refusals.into_groups();
        Ok(preview)
    }

    /// Enrols the prospects matching the filter that the compliance gate lets through, and
    /// says who was not and why, so that a caller need not preview first to tell.
    pub async fn enrol_prospects(&self, args: EnrolFilter) -> Result<EnrolResult, ApiError> {
        let (c, ids, already_enrolled) = self.enrol_candidates(&args).await?;
        let mut passed = Vec::new();
        let mut refusals = Refusals::default();
        self.gate_each(&c, &ids, |p, verdict| match verdict {
            Ok(()) => passed.push(p.id),
            Err(r) => refusals.add(r.code.as_str(), r.reason, p.display_name()),
        })
        .await?;
        let enrolled = self.store.enrol(c.id, &passed, self.config.actor()).await?;
        self.changed(Some(c.workspace_id), ChangedEntity::Campaigns);
        Ok(EnrolResult {
            enrolled,
            already_enrolled,
            refused: refusals.into_groups(),
        })
    }

    /// The pre-send check of every step over every enrolled prospect, the gate's verdict on
    /// each active enrolment, and what can go out today. Reports its progress as
    /// [`ApiEvent::CheckProgress`](crate::ApiEvent::CheckProgress).
    pub async fn check_campaign(&self, args: CampaignRef) -> Result<CampaignCheck, ApiError> {
        let c = self.store.campaign(args.campaign_id).await?;
        let workspace = self.store.workspace(c.workspace_id).await?;
        let settings = self.store.sending_settings(c.workspace_id).await?;
        let mut general = Vec::new();
        let account = match c.fields.account_id {
            Some(a) => Some(self.store.account(a).await?),
            None => {
                general.push("choose a sender account".to_string());
                None
            }
        };
        if workspace.postal_address.trim().is_empty() {
            general
                .push("the workspace has no postal address, which every message must carry".into());
        }
        if workspace.legal_notice.trim().is_empty() {
            general.push("the workspace has no legal notice (who writes and why), which the GDPR Art. 14 notice needs".into());
        }
        let enrolled = self.store.enrolment_steps(c.id).await?;
        if enrolled.is_empty() {
            general.push("nobody is enrolled yet".into());
        }
        let mut templates = Vec::new();
        for step in &c.fields.steps {
            let mut variants = Vec::new();
            for &tid in &step.template_ids {
                variants.push(self.store.template(tid).await?);
            }
            templates.push(variants);
        }
        let has_assessment = self
            .store
            .current_assessment(c.workspace_id)
            .await?
            .is_some();
        let mut today =
            outreach_engine::today::Today::new(&self.store, &c, &settings, jiff::Timestamp::now())
                .await?;
        let mut refusals = Refusals::default();
        // Every recipient, step and variant is rendered: for a large campaign that is seconds
        // of work, done on a blocking thread (so that no async worker and no command waiting
        // on one is held up) while the next chunk loads.
        let (chunks, received) = tokio::sync::mpsc::channel(1);
        let sequence = c.fields.steps.clone();
        let renders =
            tokio::task::spawn_blocking(move || check_steps(&sequence, &templates, received));
        let total = u64::try_from(enrolled.len()).unwrap_or(u64::MAX);
        let mut done = 0u64;
        for chunk in enrolled.chunks(CHECK_LOAD_CHUNK) {
            let ids: Vec<i64> = chunk.iter().map(|e| e.prospect_id).collect();
            let gated = self.gated(&ids, &settings, has_assessment).await?;
            let by_id: std::collections::HashMap<i64, &Gated> =
                gated.iter().map(|g| (g.0.id, g)).collect();
            let mut recipients = Vec::with_capacity(chunk.len());
            for e in chunk {
                let Some((p, verdict)) = by_id.get(&e.prospect_id).copied() else {
                    if e.active {
                        let gone = compliance::Refusal::prospect_gone();
                        let name = format!("prospect #{}", e.prospect_id);
                        refusals.add(gone.code.as_str(), gone.reason, name);
                    }
                    continue;
                };
                if e.active {
                    match verdict {
                        Ok(()) => today.add(e.next_position, e.next_run_at.as_deref(), p),
                        Err(r) => refusals.add(r.code.as_str(), r.reason.clone(), p.display_name()),
                    }
                }
                if let Some(account) = account.as_ref() {
                    let (_, vars) = variables::for_recipient(
                        &self.keys.unsubscribe,
                        &workspace,
                        &settings,
                        account,
                        p,
                    );
                    recipients.push((e.id, e.prospect_id, e.variant.clone(), vars));
                }
            }
            if chunks.send(recipients).await.is_err() {
                // The renders ended early: only a panic does that, reported below.
                break;
            }
            done += u64::try_from(chunk.len()).unwrap_or(u64::MAX);
            self.emit(crate::ApiEvent::CheckProgress {
                campaign_id: c.id,
                done,
                total,
            });
        }
        drop(chunks);
        let mut steps = renders.await?;
        self.name_examples(&mut steps).await?;
        let ready = general.is_empty() && steps.iter().all(|s| s.problems.is_empty());
        let today_estimate = today.finish(&self.store, account.as_ref()).await?;
        Ok(CampaignCheck {
            ready,
            steps,
            general,
            today_estimate,
            refused: refusals.into_groups(),
        })
    }

    /// Words the check's problems again, naming their example prospects: there are at most
    /// five a problem, so their names are loaded once the check is done rather than kept for
    /// every recipient while it runs.
    async fn name_examples(&self, steps: &mut [StepCheck]) -> Result<(), ApiError> {
        let ids: std::collections::BTreeSet<i64> = steps
            .iter()
            .flat_map(|s| &s.problems)
            .flat_map(|v| v.problem.examples())
            .copied()
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = ids.into_iter().collect();
        let prospects = self.store.prospects_by_ids(&ids).await?;
        for v in steps.iter_mut().flat_map(|s| &mut s.problems) {
            v.message = v
                .problem
                .message_naming(|id| prospects.get(&id).map(Prospect::display_name));
        }
        Ok(())
    }

    /// Starts (or resumes) a campaign after its pre-send check passes.
    pub async fn start_campaign(&self, args: CampaignRef) -> Result<Campaign, ApiError> {
        let check = self.check_campaign(args.clone()).await?;
        if !check.ready {
            let first = check
                .general
                .first()
                .cloned()
                .or_else(|| {
                    check.steps.iter().find_map(|s| {
                        s.problems
                            .first()
                            .map(|p| format!("step {} ({}): {}", s.step, s.variant, p.message))
                    })
                })
                .unwrap_or_default();
            return Err(ApiError::new(
                ErrorCode::PreSendCheck,
                format!("the pre-send check found problems; fix them first: {first}"),
            ));
        }
        self.set_status(args.campaign_id, CampaignStatus::Running)
            .await
    }

    /// Pauses a campaign; queued messages wait.
    pub async fn pause_campaign(&self, args: CampaignRef) -> Result<Campaign, ApiError> {
        self.set_status(args.campaign_id, CampaignStatus::Paused)
            .await
    }

    /// Stops a campaign for good; queued messages are cancelled.
    pub async fn stop_campaign(&self, args: CampaignRef) -> Result<Campaign, ApiError> {
        self.set_status(args.campaign_id, CampaignStatus::Stopped)
            .await
    }

    async fn set_status(&self, id: i64, status: CampaignStatus) -> Result<Campaign, ApiError> {
        let c = self
            .store
            .set_campaign_status(id, status, self.config.actor())
            .await?;
        self.changed(Some(c.workspace_id), ChangedEntity::Campaigns);
        Ok(c)
    }

    /// Lets a running or paused campaign's blocked people meet the compliance gate again, once
    /// what it refused is fixed; returns how many.
    pub async fn retry_blocked(&self, args: CampaignRef) -> Result<u32, ApiError> {
        let n = self
            .store
            .retry_blocked(args.campaign_id, self.config.actor())
            .await?;
        let c = self.store.campaign(args.campaign_id).await?;
        self.changed(Some(c.workspace_id), ChangedEntity::Campaigns);
        Ok(n)
    }

    /// Counts for the campaign's progress view.
    pub async fn campaign_progress(&self, args: CampaignRef) -> Result<CampaignProgress, ApiError> {
        let mut progress = self.store.campaign_progress(args.campaign_id).await?;
        let due = progress
            .next_send_at
            .as_deref()
            .and_then(outreach_engine::parse_iso);
        if let Some(due) = due {
            let campaign = self.store.campaign(args.campaign_id).await?;
            let (at, hold) = outreach_engine::governor::next_send_at(
                &self.store,
                &campaign,
                due,
                jiff::Timestamp::now(),
            )
            .await?;
            progress.next_send_at = Some(outreach_engine::iso(at));
            progress.next_send_held_by = hold.map(|h| h.describe().to_owned());
        }
        Ok(progress)
    }

    /// A campaign's messages.
    pub async fn list_messages(&self, args: ListMessages) -> Result<Vec<MessageSummary>, ApiError> {
        Ok(self
            .store
            .list_messages(
                args.campaign_id,
                args.status,
                i64::from(args.limit.unwrap_or(200)),
            )
            .await?)
    }

    /// A campaign's people and where each stands, of one group or all.
    pub async fn list_enrolments(
        &self,
        args: ListEnrolments,
    ) -> Result<Vec<EnrolmentSummary>, ApiError> {
        let limit = args.limit.unwrap_or(200);
        if !(1..=MAX_LISTED).contains(&limit) {
            return Err(invalid(format!(
                "ask for 1 to {MAX_LISTED} people at a time, not {limit}"
            )));
        }
        let people = self
            .store
            .list_enrolments(args.campaign_id, args.group, i64::from(limit))
            .await?;
        if people.is_empty() {
            // A campaign that does not exist is `not_found`, not an empty list. Asked only
            // then: the app reads this list again as the campaign's figures move.
            self.store.campaign(args.campaign_id).await?;
        }
        Ok(people)
    }

    /// The campaigns a prospect is enrolled in, and where they stand in each.
    pub async fn prospect_campaigns(
        &self,
        args: crate::ProspectId,
    ) -> Result<Vec<ProspectEnrolment>, ApiError> {
        let campaigns = self.store.prospect_enrolments(args.id).await?;
        if campaigns.is_empty() {
            // A prospect that does not exist is `not_found`, not an empty list.
            self.store.prospect(args.id).await?;
        }
        Ok(campaigns)
    }

    /// Applies a person's decision to unconfirmed messages.
    pub async fn resolve_unconfirmed(&self, args: ResolveUnconfirmed) -> Result<u32, ApiError> {
        let n = self
            .store
            .resolve_unconfirmed(
                args.workspace_id,
                &args.message_ids,
                args.choice,
                self.config.actor(),
            )
            .await?;
        self.changed(Some(args.workspace_id), ChangedEntity::Campaigns);
        // Answers to replies are among them: a cancelled one leaves its reply needing one.
        self.changed(Some(args.workspace_id), ChangedEntity::Replies);
        Ok(n)
    }
}

fn placeholder_account(w: &outreach_core::prospect::Workspace) -> SenderAccount {
    SenderAccount {
        id: 0,
        workspace_id: w.id,
        fields: AccountFields::new(
            "preview",
            Transport::Smtp,
            w.name.clone(),
            "sender@example.com",
        ),
        has_secret: false,
        has_dkim_key: false,
        created_at: String::new(),
    }
}
