//! Sending from the command line: accounts, templates, campaigns, lawful basis, and the engine.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use outreach_api::core::campaign::{
    AccountFields, CampaignFields, LegitimateInterestAssessment, PositiveFollowUp, PositiveMode,
    SmtpSecurityMode, Transport, UnconfirmedChoice,
};
use outreach_api::store::enrolments::EnrolmentGroup;
use outreach_api::store::prospects::ProspectQuery;
use outreach_api::{
    AccountRef, Api, ApiError, CampaignRef, CopyCampaign, CopyTemplate, EnrolFilter,
    ListEnrolments, ListMessages, PreviewTemplate, ProspectId, ProspectIds, RecordAssessment,
    RecordConsent, ResolveUnconfirmed, SaveAccount, SaveCampaign, SaveTemplate, TemplateRef,
    WorkspaceRef,
};

use crate::campaign_settings::{range, sequence, window};
use crate::cli::{parse_status, workspace};
use crate::output;
use crate::trash::{self, Kind};

/// Sender accounts.
// Parsed once per process: the size of a variant costs nothing worth boxing clap's fields for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add an SMTP or SendGrid account. The password or API key is read from the
    /// OUTREACH_SECRET environment variable (never from the command line) and kept in the
    /// OS keychain.
    Add {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// A name for the account.
        name: String,
        /// smtp or sendgrid.
        #[arg(long, default_value = "smtp")]
        transport: String,
        /// SMTP host.
        #[arg(long)]
        host: Option<String>,
        /// SMTP port (default 465, 587 or 25 by security).
        #[arg(long)]
        port: Option<u16>,
        /// implicit_tls, start_tls, or plain_loopback (only to a relay on this machine).
        #[arg(long, default_value = "start_tls")]
        security: String,
        /// SMTP user name.
        #[arg(long)]
        username: Option<String>,
        /// SendGrid API base URL (default: the public API).
        #[arg(long)]
        api_url: Option<String>,
        /// Sender name.
        #[arg(long)]
        from_name: String,
        /// Sender address.
        #[arg(long)]
        from: String,
        /// Reply-to address.
        #[arg(long)]
        reply_to: Option<String>,
        /// At most this many per minute.
        #[arg(long)]
        per_minute: Option<u32>,
        /// At most this many per hour.
        #[arg(long)]
        per_hour: Option<u32>,
        /// At most this many per 24 hours.
        #[arg(long)]
        per_day: Option<u32>,
        /// Ramp-up for a new account: at most this many on its first sending day.
        #[arg(long)]
        ramp_start: Option<u32>,
        /// Ramp-up: this many more on each following day (with --ramp-start).
        #[arg(long, requires = "ramp_start")]
        ramp_increase: Option<u32>,
        /// DKIM selector (with --dkim-key).
        #[arg(long)]
        dkim_selector: Option<String>,
        /// DKIM private key file (PEM).
        #[arg(long)]
        dkim_key: Option<PathBuf>,
    },
    /// Change an account: its server, sender, caps, ramp-up, DKIM key, or (with --new-secret
    /// and OUTREACH_SECRET) its password or API key; what is left out stays.
    Edit(crate::account_settings::EditArgs),
    /// Connect to the account's server and say exactly what fails, if anything.
    Test {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The account's name.
        name: String,
    },
    /// List accounts.
    List {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
    },
    /// Remove an account for good: its password, keys and reply mailbox go; what it sent and
    /// the replies it read stay. Refused while a campaign sends from it or a message of it
    /// waits.
    Delete {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The account's name.
        name: String,
        /// Confirm: it cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

/// Message templates.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Add or replace a template.
    Save {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Its name.
        name: String,
        /// Subject line.
        #[arg(long)]
        subject: String,
        /// File holding the body.
        #[arg(long)]
        body_file: PathBuf,
    },
    /// Render a template for a prospect and run the pre-send check.
    Preview {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The template's name.
        name: String,
        /// The prospect (default: the first).
        #[arg(long)]
        prospect: Option<i64>,
        /// Check it as a follow-up (no Art. 14 notice needed).
        #[arg(long)]
        follow_up: bool,
    },
    /// List templates.
    List {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Those in the trash instead.
        #[arg(long)]
        deleted: bool,
    },
    /// Copy a template into a new one with the same subject and body (for an A/B variant).
    Copy {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The template's name.
        name: String,
        /// The copy's name (default: "Copy of NAME").
        #[arg(long = "as", value_name = "NEW_NAME")]
        new_name: Option<String>,
    },
    /// Move a template to the trash (refused while a campaign uses it; undo with `restore`).
    Delete {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The template's name.
        name: String,
    },
    /// Take a template out of the trash.
    Restore {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Its id, as `template list --deleted` shows it.
        id: i64,
    },
}

/// Campaigns.
#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Create a campaign (a draft).
    Create {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Its name.
        name: String,
        /// The sender account's name.
        #[arg(long)]
        account: String,
        /// A step: `TEMPLATE[,TEMPLATE_B...][@DAYS]` (DAYS: business days after the previous
        /// step); repeatable, in order.
        #[arg(long = "step", required = true)]
        steps: Vec<String>,
        /// Send days, e.g. mon,tue,wed,thu,fri.
        #[arg(long, default_value = "mon,tue,wed,thu,fri")]
        days: String,
        /// Send window in each prospect's time zone, HH:MM-HH:MM.
        #[arg(long, default_value = "09:00-17:00")]
        window: String,
        /// At most this many of the campaign's messages per 24 hours.
        #[arg(long)]
        daily_cap: Option<u32>,
        /// Random gap between sends in seconds, MIN-MAX.
        #[arg(long, default_value = "60-180")]
        gap: String,
        /// The template answering a prospect who replies with interest.
        #[arg(long, value_name = "TEMPLATE")]
        positive: Option<String>,
        /// `draft`: prepared in the inbox for a person to send; `queue`: sent at once.
        #[arg(long, default_value = "draft", value_parser = ["draft", "queue"])]
        positive_mode: String,
    },
    /// Change a draft or paused campaign: its name, sender account, sequence, send window,
    /// caps or positive follow-up; what is left out stays.
    Edit(crate::campaign_settings::EditArgs),
    /// Enrol prospects by filter (shows who will and will not be enrolled with --dry-run).
    Enrol {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The campaign.
        name: String,
        /// Whom: a saved filter, criteria, or both (default: every prospect).
        #[command(flatten)]
        criteria: crate::filters::FilterArgs,
        /// Only this prospect (repeatable); the criteria narrow them further.
        #[arg(long = "id", value_name = "ID")]
        ids: Vec<i64>,
        /// Show the preview and stop.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run the pre-send check of every step over every enrolled prospect.
    Check {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The campaign.
        name: String,
    },
    /// Start (or resume) a campaign; the engine (`outreach run` or the app) sends.
    Start {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The campaign.
        name: String,
    },
    /// Pause a campaign.
    Pause {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The campaign.
        name: String,
    },
    /// Check a running, paused or completed campaign's blocked people again with the
    /// compliance gate, once what it refused is fixed (those it still refuses are blocked
    /// again; suppressed addresses stay blocked, people in the trash go on once restored).
    RetryBlocked {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The campaign.
        name: String,
    },
    /// Stop a campaign for good (queued messages are cancelled).
    Stop {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The campaign.
        name: String,
    },
    /// List a workspace's campaigns with their status and progress.
    List {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Those in the trash instead.
        #[arg(long)]
        deleted: bool,
    },
    /// Move a campaign that sends nothing more (a draft, or stopped or completed with nothing
    /// queued or unconfirmed) to the trash; its history with each prospect stays. Undo with
    /// `restore`.
    Delete {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The campaign.
        name: String,
    },
    /// Copy a campaign's settings and sequence into a new draft with nobody enrolled (how a
    /// sequence that ended runs again).
    Copy {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The campaign.
        name: String,
        /// The copy's name (default: "Copy of NAME").
        #[arg(long = "as", value_name = "NEW_NAME")]
        new_name: Option<String>,
    },
    /// Take a campaign out of the trash, as it was.
    Restore {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Its id, as `campaign list --deleted` shows it.
        id: i64,
    },
    /// Show progress: queued, sent, failed, blocked with reasons, unconfirmed, next send.
    Status {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The campaign.
        name: String,
    },
    /// List a campaign's people and where each stands (the latest changed first).
    People {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The campaign.
        name: String,
        /// Only one group: active, replied, completed or stopped.
        #[arg(long)]
        group: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// Decide about unconfirmed messages: mark-sent, resend or cancel.
    Resolve {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The campaign.
        name: String,
        /// mark-sent, resend or cancel.
        #[arg(long)]
        choice: String,
        /// Message ids (default: every unconfirmed message of the campaign).
        ids: Vec<i64>,
    },
}

/// Lawful basis and consent.
#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Record the workspace's legitimate-interest assessment.
    Assess {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Purpose of the processing.
        #[arg(long)]
        purpose: String,
        /// Why it is necessary.
        #[arg(long)]
        necessity: String,
        /// The balancing test.
        #[arg(long)]
        balancing: String,
        /// Who assessed it.
        #[arg(long)]
        author: String,
        /// Date (YYYY-MM-DD; default today).
        #[arg(long)]
        date: Option<String>,
    },
    /// Assign legitimate interest to prospects (all live ones of a status, or by id).
    Assign {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Only this status; repeatable.
        #[arg(long)]
        status: Vec<String>,
        /// Prospect ids (default: all matching).
        ids: Vec<i64>,
    },
    /// Record a prospect's consent with its evidence.
    Record {
        /// The prospect.
        id: i64,
        /// What was agreed, when and how.
        #[arg(long)]
        evidence: String,
    },
    /// Opt a prospect out on every channel.
    OptOut {
        /// The prospect.
        id: i64,
    },
}

fn security(s: &str) -> Result<SmtpSecurityMode> {
    SmtpSecurityMode::parse(s).ok_or_else(|| {
        ApiError::invalid(format!(
            "unknown security '{s}'; use implicit_tls, start_tls or plain_loopback"
        ))
        .into()
    })
}

async fn campaign_by_name(api: &Api, ws: i64, name: &str) -> Result<i64> {
    Ok(api.campaign_by_name(ws, name).await?.id)
}

/// The id of campaign `name` in the workspace named `ws`.
async fn campaign_id(api: &Api, ws: &str, name: &str) -> Result<i64> {
    let w = workspace(api, ws).await?;
    campaign_by_name(api, w.id, name).await
}

/// Runs an account command.
pub async fn account(api: &Api, cmd: AccountCommand, json: bool) -> Result<()> {
    match cmd {
        AccountCommand::Add {
            workspace: ws,
            name,
            transport,
            host,
            port,
            security: sec,
            username,
            api_url,
            from_name,
            from,
            reply_to,
            per_minute,
            per_hour,
            per_day,
            ramp_start,
            ramp_increase,
            dkim_selector,
            dkim_key,
        } => {
            let w = workspace(api, &ws).await?;
            let transport = Transport::parse(&transport).ok_or_else(|| {
                ApiError::invalid(format!(
                    "unknown transport '{transport}'; use smtp or sendgrid"
                ))
            })?;
            let dkim_private_key = match dkim_key {
                Some(p) => Some(
                    std::fs::read_to_string(&p)
                        .with_context(|| format!("reading the DKIM key {}", p.display()))?,
                ),
                None => None,
            };
            let a = api
                .save_account(SaveAccount {
                    workspace_id: w.id,
                    id: None,
                    fields: AccountFields {
                        name,
                        transport,
                        host,
                        port,
                        security: match transport {
                            Transport::Smtp => Some(security(&sec)?),
                            Transport::Sendgrid => None,
                        },
                        username,
                        api_base_url: api_url,
                        from_name,
                        from_address: from,
                        reply_to,
                        per_minute_cap: per_minute,
                        hourly_cap: per_hour,
                        daily_cap: per_day,
                        ramp_start,
                        ramp_increase,
                        dkim_selector,
                        dkim_domain: None,
                    },
                    secret: std::env::var("OUTREACH_SECRET").ok(),
                    dkim_private_key,
                    remove_dkim_key: false,
                })
                .await?;
            if json {
                output::json(&a)?;
            } else {
                println!("added account '{}' (#{})", a.item.fields.name, a.item.id);
            }
        }
        AccountCommand::Edit(args) => crate::account_settings::edit(api, args, json).await?,
        AccountCommand::Test {
            workspace: ws,
            name,
        } => {
            let w = workspace(api, &ws).await?;
            let a = api.account_by_name(w.id, &name).await?;
            let t = api.test_account(AccountRef { account_id: a.id }).await?;
            output::connection_test(&t, json)?;
        }
        AccountCommand::Delete {
            workspace: ws,
            name,
            yes,
        } => {
            let w = workspace(api, &ws).await?;
            let a = api.account_by_name(w.id, &name).await?;
            if !yes {
                return Err(ApiError::invalid(format!(
                    "nothing removed: removing sender account '{}' cannot be undone (its password and keys leave the keychain); run the command again with --yes",
                    a.fields.name
                ))
                .into());
            }
            let a = api.delete_account(AccountRef { account_id: a.id }).await?;
            if json {
                output::json(&a)?;
            } else {
                println!(
                    "removed sender account '{}' (#{}); its password and keys left the keychain",
                    a.fields.name, a.id
                );
            }
        }
        AccountCommand::List { workspace: ws } => {
            let w = workspace(api, &ws).await?;
            let all = api
                .list_accounts(WorkspaceRef { workspace_id: w.id })
                .await?;
            if json {
                output::json(&all)?;
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|a| {
                        vec![
                            a.id.to_string(),
                            a.fields.name.clone(),
                            a.fields.transport.as_str().to_string(),
                            a.fields.from_address.clone(),
                        ]
                    })
                    .collect();
                output::table(&["ID", "NAME", "TRANSPORT", "FROM"], &rows);
            }
        }
    }
    Ok(())
}

/// Runs a template command.
pub async fn template(api: &Api, cmd: TemplateCommand, json: bool) -> Result<()> {
    match cmd {
        TemplateCommand::Save {
            workspace: ws,
            name,
            subject,
            body_file,
        } => {
            let w = workspace(api, &ws).await?;
            let body = std::fs::read_to_string(&body_file)
                .with_context(|| format!("reading {}", body_file.display()))?;
            let existing = match api.template_by_name(w.id, &name).await {
                Ok(t) => Some(t.id),
                Err(e) if e.code == outreach_api::ErrorCode::NotFound => None,
                Err(e) => return Err(e.into()),
            };
            let t = api
                .save_template(SaveTemplate {
                    workspace_id: w.id,
                    id: existing,
                    name,
                    subject,
                    body,
                })
                .await?;
            if json {
                output::json(&t)?;
            } else {
                println!("saved template '{}' (#{})", t.item.name, t.item.id);
                if t.rewritten > 0 {
                    println!(
                        "{} queued message(s) written from the old text will be written again from the new one",
                        t.rewritten
                    );
                }
            }
        }
        TemplateCommand::Preview {
            workspace: ws,
            name,
            prospect,
            follow_up,
        } => {
            let w = workspace(api, &ws).await?;
            let t = api.template_by_name(w.id, &name).await?;
            let p = api
                .preview_template(PreviewTemplate {
                    workspace_id: w.id,
                    subject: t.subject,
                    body: t.body,
                    prospect_id: prospect,
                    account_id: None,
                    first_step: !follow_up,
                })
                .await?;
            if json {
                output::json(&p)?;
            } else {
                if let Some(r) = &p.rendered {
                    println!("Subject: {}\n\n{}", r.subject, r.body);
                }
                for problem in &p.problems {
                    eprintln!("problem: {}", problem.message);
                }
            }
        }
        TemplateCommand::List {
            workspace: ws,
            deleted: true,
        } => trash::list(api, Kind::Template, &ws, json).await?,
        TemplateCommand::Copy {
            workspace: ws,
            name,
            new_name,
        } => {
            let w = workspace(api, &ws).await?;
            let t = api.template_by_name(w.id, &name).await?;
            let t = api
                .copy_template(CopyTemplate {
                    template_id: t.id,
                    name: new_name,
                })
                .await?;
            if json {
                output::json(&t)?;
            } else {
                println!("copied '{name}' as '{}' (#{})", t.name, t.id);
            }
        }
        TemplateCommand::Delete {
            workspace: ws,
            name,
        } => {
            let w = workspace(api, &ws).await?;
            let t = api.template_by_name(w.id, &name).await?;
            let t = api
                .delete_template(TemplateRef { template_id: t.id })
                .await?;
            trash::deleted(json, Kind::Template, &w.name, t.id, &t.name, &t)?;
        }
        TemplateCommand::Restore { workspace: ws, id } => {
            trash::restore(api, Kind::Template, &ws, id, json).await?;
        }
        TemplateCommand::List {
            workspace: ws,
            deleted: false,
        } => {
            let w = workspace(api, &ws).await?;
            let all = api
                .list_templates(WorkspaceRef { workspace_id: w.id })
                .await?;
            if json {
                output::json(&all)?;
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|t| vec![t.id.to_string(), t.name.clone(), t.subject.clone()])
                    .collect();
                output::table(&["ID", "NAME", "SUBJECT"], &rows);
            }
        }
    }
    Ok(())
}

/// Runs a campaign command.
pub async fn campaign(api: &Api, cmd: CampaignCommand, json: bool) -> Result<()> {
    match cmd {
        CampaignCommand::Create {
            workspace: ws,
            name,
            account,
            steps,
            days,
            window: win,
            daily_cap,
            gap,
            positive,
            positive_mode,
        } => {
            let w = workspace(api, &ws).await?;
            let positive_follow_up = PositiveFollowUp {
                template_id: match &positive {
                    Some(name) => Some(api.template_by_name(w.id, name).await?.id),
                    None => None,
                },
                mode: PositiveMode::parse(&positive_mode).unwrap_or_default(),
            };
            let account = api.account_by_name(w.id, &account).await?;
            let out = sequence(api, w.id, &steps).await?;
            let (min_gap, max_gap) = range(&gap)?;
            let c = api
                .save_campaign(SaveCampaign {
                    workspace_id: w.id,
                    id: None,
                    fields: CampaignFields {
                        name,
                        account_id: Some(account.id),
                        window: window(&days, &win)?,
                        daily_cap,
                        min_gap_seconds: min_gap,
                        max_gap_seconds: max_gap,
                        steps: out,
                        positive_follow_up,
                    },
                })
                .await?;
            if json {
                output::json(&c)?;
            } else {
                println!("created campaign '{}' (#{}), a draft", c.fields.name, c.id);
            }
        }
        CampaignCommand::Edit(args) => crate::campaign_settings::edit(api, args, json).await?,
        CampaignCommand::Enrol {
            workspace: ws,
            name,
            criteria,
            ids,
            dry_run,
        } => {
            let w = workspace(api, &ws).await?;
            let id = campaign_by_name(api, w.id, &name).await?;
            let filter = EnrolFilter {
                campaign_id: id,
                query: criteria.resolve(api, &w).await?.apply(ProspectQuery {
                    workspace_id: w.id,
                    ids: (!ids.is_empty()).then_some(ids),
                    ..Default::default()
                }),
            };
            if dry_run {
                let preview = api.preview_enrolment(filter).await?;
                if json {
                    output::json(&preview)?;
                } else {
                    println!(
                        "{} will be enrolled, {} already are",
                        preview.will_enrol, preview.already_enrolled
                    );
                    for g in &preview.refused {
                        println!("{} refused ({}): {}", g.count, g.code, g.reason);
                    }
                }
                return Ok(());
            }
            let result = api.enrol_prospects(filter).await?;
            if json {
                output::json(&result)?;
            } else {
                println!("enrolled {} prospect(s)", result.enrolled);
                for g in &result.refused {
                    println!("{} not enrolled ({}): {}", g.count, g.code, g.reason);
                }
            }
        }
        CampaignCommand::Check {
            workspace: ws,
            name,
        } => {
            let id = campaign_id(api, &ws, &name).await?;
            let check = api.check_campaign(CampaignRef { campaign_id: id }).await?;
            if json {
                output::json(&check)?;
            } else {
                for g in &check.general {
                    println!("problem: {g}");
                }
                for s in &check.steps {
                    for p in &s.problems {
                        println!(
                            "step {} ({}, {}): {}",
                            s.step, s.variant, s.template, p.message
                        );
                    }
                }
                for g in &check.refused {
                    println!(
                        "refused: {} enrolled prospect(s) ({}): {}",
                        g.count, g.code, g.reason
                    );
                }
                if check.ready {
                    println!("ready: up to {} message(s) today", check.today_estimate);
                }
            }
            if !check.ready {
                anyhow::bail!(ApiError::new(
                    outreach_api::ErrorCode::PreSendCheck,
                    "the pre-send check found problems"
                ));
            }
        }
        CampaignCommand::Start {
            workspace: ws,
            name,
        } => {
            let id = campaign_id(api, &ws, &name).await?;
            let c = api.start_campaign(CampaignRef { campaign_id: id }).await?;
            status_line(json, &c)?;
        }
        CampaignCommand::Pause {
            workspace: ws,
            name,
        } => {
            let id = campaign_id(api, &ws, &name).await?;
            let c = api.pause_campaign(CampaignRef { campaign_id: id }).await?;
            status_line(json, &c)?;
        }
        CampaignCommand::RetryBlocked {
            workspace: ws,
            name,
        } => {
            let id = campaign_id(api, &ws, &name).await?;
            let n = api.retry_blocked(CampaignRef { campaign_id: id }).await?;
            if json {
                output::json(&serde_json::json!({ "checked_again": n }))?;
            } else {
                println!(
                    "campaign '{name}': {n} blocked enrolment(s) go to the compliance gate again"
                );
            }
        }
        CampaignCommand::Stop {
            workspace: ws,
            name,
        } => {
            let id = campaign_id(api, &ws, &name).await?;
            let c = api.stop_campaign(CampaignRef { campaign_id: id }).await?;
            status_line(json, &c)?;
        }
        CampaignCommand::List {
            workspace: ws,
            deleted: true,
        } => trash::list(api, Kind::Campaign, &ws, json).await?,
        CampaignCommand::Delete {
            workspace: ws,
            name,
        } => {
            let w = workspace(api, &ws).await?;
            let id = campaign_by_name(api, w.id, &name).await?;
            let c = api.delete_campaign(CampaignRef { campaign_id: id }).await?;
            trash::deleted(json, Kind::Campaign, &w.name, c.id, &c.fields.name, &c)?;
        }
        CampaignCommand::Copy {
            workspace: ws,
            name,
            new_name,
        } => {
            let id = campaign_id(api, &ws, &name).await?;
            let c = api
                .copy_campaign(CopyCampaign {
                    campaign_id: id,
                    name: new_name,
                })
                .await?;
            if json {
                output::json(&c)?;
            } else {
                println!(
                    "copied '{name}' as '{}' (#{}), a draft with nobody enrolled{}",
                    c.fields.name,
                    c.id,
                    if c.fields.account_id.is_none() {
                        "; choose its sender account with `campaign edit --account` before it starts"
                    } else {
                        ""
                    }
                );
            }
        }
        CampaignCommand::Restore { workspace: ws, id } => {
            trash::restore(api, Kind::Campaign, &ws, id, json).await?;
        }
        CampaignCommand::List {
            workspace: ws,
            deleted: false,
        } => {
            let w = workspace(api, &ws).await?;
            let scope = WorkspaceRef { workspace_id: w.id };
            let accounts: std::collections::HashMap<i64, String> = api
                .list_accounts(scope.clone())
                .await?
                .into_iter()
                .map(|a| (a.id, a.fields.name))
                .collect();
            let mut listed = Vec::new();
            for c in api.list_campaigns(scope).await? {
                let p = api
                    .campaign_progress(CampaignRef { campaign_id: c.id })
                    .await?;
                listed.push((c, p));
            }
            if json {
                let all: Vec<serde_json::Value> =
                    listed.iter().map(|(c, p)| campaign_json(c, p)).collect();
                output::json(&all)?;
            } else {
                let rows: Vec<Vec<String>> = listed
                    .iter()
                    .map(|(c, p)| {
                        let account = c.fields.account_id.map_or_else(String::new, |a| {
                            accounts.get(&a).cloned().unwrap_or_else(|| format!("#{a}"))
                        });
                        vec![
                            c.id.to_string(),
                            c.fields.name.clone(),
                            c.status.as_str().to_string(),
                            account,
                            c.fields.steps.len().to_string(),
                            p.enrolled.to_string(),
                            p.queued.to_string(),
                            p.sent.to_string(),
                            p.replied.to_string(),
                            (p.failed + p.bounced).to_string(),
                            p.blocked.to_string(),
                            p.unconfirmed.to_string(),
                            p.next_send_at.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "ID",
                        "NAME",
                        "STATUS",
                        "ACCOUNT",
                        "STEPS",
                        "ENROLLED",
                        "QUEUED",
                        "SENT",
                        "REPLIED",
                        "FAILED",
                        "BLOCKED",
                        "UNCONFIRMED",
                        "NEXT SEND",
                    ],
                    &rows,
                );
                if rows.is_empty() {
                    eprintln!(
                        "no campaigns in this workspace yet: `outreach campaign create` makes one"
                    );
                }
            }
        }
        CampaignCommand::Status {
            workspace: ws,
            name,
        } => {
            let id = campaign_id(api, &ws, &name).await?;
            let c = api.get_campaign(CampaignRef { campaign_id: id }).await?;
            let p = api
                .campaign_progress(CampaignRef { campaign_id: id })
                .await?;
            if json {
                output::json(&campaign_json(&c, &p))?;
            } else {
                println!("{} ({})", c.fields.name, c.status.as_str());
                if let Some(t) = c.fields.positive_follow_up.template_id {
                    println!(
                        "interested replies: template #{t}, {}",
                        match c.fields.positive_follow_up.mode {
                            PositiveMode::Draft => "drafted for approval",
                            PositiveMode::Queue => "queued at once",
                        }
                    );
                }
                println!(
                    "enrolled {}  in sequence {}  replied {}  completed {}  stopped {}",
                    p.enrolled, p.active, p.replied, p.completed, p.stopped
                );
                println!(
                    "queued {}  sent {}  failed {}  bounced {}  unconfirmed {}  cancelled {}  blocked {}",
                    p.queued, p.sent, p.failed, p.bounced, p.unconfirmed, p.cancelled, p.blocked
                );
                for r in &p.blocked_reasons {
                    println!("  blocked {} ({}): {}", r.count, r.code, r.reason);
                }
                if p.held > 0 {
                    println!(
                        "  held {}: tried before, waiting while the prospect is in the trash",
                        p.held
                    );
                }
                if let Some(n) = &p.next_send_at {
                    match &p.next_send_held_by {
                        Some(by) => println!("next send {n} (held by {by})"),
                        None => println!("next send {n}"),
                    }
                }
                if let Some(e) = &p.last_error {
                    println!("last error: {e}");
                }
            }
        }
        CampaignCommand::People {
            workspace: ws,
            name,
            group,
            limit,
        } => {
            let id = campaign_id(api, &ws, &name).await?;
            let group = group.as_deref().map(enrolment_group).transpose()?;
            let people = api
                .list_enrolments(ListEnrolments {
                    campaign_id: id,
                    group,
                    limit: Some(limit),
                })
                .await?;
            if json {
                output::json(&people)?;
            } else {
                let rows: Vec<Vec<String>> = people
                    .iter()
                    .map(|e| {
                        vec![
                            e.prospect_id.to_string(),
                            e.name.clone(),
                            e.email.clone().unwrap_or_default(),
                            e.state.as_str().to_string(),
                            e.next_position.to_string(),
                            e.reason.clone().unwrap_or_default(),
                            e.updated_at.clone(),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "PROSPECT",
                        "NAME",
                        "EMAIL",
                        "STATE",
                        "NEXT STEP",
                        "REASON",
                        "CHANGED",
                    ],
                    &rows,
                );
                if people.len() == limit as usize {
                    eprintln!("showing the latest {limit}; --limit shows more");
                }
            }
        }
        CampaignCommand::Resolve {
            workspace: ws,
            name,
            choice,
            ids,
        } => {
            let w = workspace(api, &ws).await?;
            let id = campaign_by_name(api, w.id, &name).await?;
            let choice = unconfirmed_choice(&choice)?;
            let ids = if ids.is_empty() {
                api.list_messages(ListMessages {
                    campaign_id: id,
                    status: Some(outreach_api::core::campaign::MessageStatus::Unconfirmed),
                    limit: Some(100_000),
                })
                .await?
                .into_iter()
                .map(|m| m.id)
                .collect()
            } else {
                ids
            };
            let n = api
                .resolve_unconfirmed(ResolveUnconfirmed {
                    workspace_id: w.id,
                    message_ids: ids,
                    choice,
                })
                .await?;
            if json {
                output::json(&n)?;
            } else {
                println!("{n} message(s) resolved");
            }
        }
    }
    Ok(())
}

/// A person's decision about unconfirmed messages, as the commands spell it.
fn enrolment_group(group: &str) -> Result<EnrolmentGroup, ApiError> {
    EnrolmentGroup::parse(group).ok_or_else(|| {
        ApiError::invalid(format!(
            "unknown group '{group}'; use active, replied, completed or stopped"
        ))
    })
}

pub fn unconfirmed_choice(choice: &str) -> Result<UnconfirmedChoice, ApiError> {
    match choice {
        "mark-sent" => Ok(UnconfirmedChoice::MarkSent),
        "resend" => Ok(UnconfirmedChoice::Resend),
        "cancel" => Ok(UnconfirmedChoice::Cancel),
        other => Err(ApiError::invalid(format!(
            "unknown choice '{other}'; use mark-sent, resend or cancel"
        ))),
    }
}

fn status_line(json: bool, c: &outreach_api::core::campaign::Campaign) -> Result<()> {
    if json {
        output::json(c)?;
    } else {
        println!("campaign '{}' is {}", c.fields.name, c.status.as_str());
    }
    Ok(())
}

/// Runs a consent command.
pub async fn consent(api: &Api, cmd: ConsentCommand, json: bool) -> Result<()> {
    match cmd {
        ConsentCommand::Assess {
            workspace: ws,
            purpose,
            necessity,
            balancing,
            author,
            date,
        } => {
            let w = workspace(api, &ws).await?;
            let assessed_on = date.unwrap_or_else(|| jiff::Zoned::now().date().to_string());
            let a = api
                .record_assessment(RecordAssessment {
                    workspace_id: w.id,
                    assessment: LegitimateInterestAssessment {
                        purpose,
                        necessity,
                        balancing,
                        assessed_on,
                        author,
                    },
                })
                .await?;
            if json {
                output::json(&a)?;
            } else {
                println!(
                    "recorded the legitimate-interest assessment of {}",
                    a.assessed_on
                );
            }
        }
        ConsentCommand::Assign {
            workspace: ws,
            status,
            ids,
        } => {
            let w = workspace(api, &ws).await?;
            let ids = if ids.is_empty() {
                let statuses = status
                    .iter()
                    .map(|s| parse_status(s))
                    .collect::<Result<Vec<_>>>()?;
                api.matching_prospect_ids(ProspectQuery {
                    workspace_id: w.id,
                    statuses,
                    ..Default::default()
                })
                .await?
                .ids
            } else {
                ids
            };
            let n = api
                .assign_legitimate_interest(ProspectIds {
                    workspace_id: w.id,
                    ids,
                })
                .await?;
            if json {
                output::json(&n)?;
            } else {
                println!("legitimate interest assigned to {n} prospect(s)");
            }
        }
        ConsentCommand::Record { id, evidence } => {
            let p = api
                .record_consent(RecordConsent {
                    prospect_id: id,
                    evidence,
                })
                .await?;
            if json {
                output::json(&p)?;
            } else {
                println!("consent recorded for {}", p.display_name());
            }
        }
        ConsentCommand::OptOut { id } => {
            let n = api.opt_out_prospect(ProspectId { id }).await?;
            if json {
                output::json(&n)?;
            } else {
                println!("opted out; {n} queued message(s) cancelled");
            }
        }
    }
    Ok(())
}

/// Runs the engine until Ctrl-C / SIGTERM (or, with `until_idle`, until nothing is left to
/// send now).
pub async fn run_engine(api: &Api, until_idle: bool, json: bool) -> Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let started = outreach_api::engine::iso(jiff::Timestamp::now());
    let stopper = {
        let api = api.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut idle_checks = 0u32;
            // One listener for the whole run: one made afresh at every tick would leave a gap
            // in which a SIGTERM finds no listener and is lost.
            let stop = outreach_api::engine::shutdown::requested();
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {
                        if until_idle && api.is_idle(&started).await.unwrap_or(false) {
                            idle_checks += 1;
                            // Twice in a row: a pass may be between enqueue and claim.
                            if idle_checks >= 2 {
                                break;
                            }
                        } else {
                            idle_checks = 0;
                        }
                    }
                }
            }
            let _ = tx.send(true);
        })
    };
    if !json {
        eprintln!(
            "engine starting (sending, and reading replies); Ctrl-C stops it after the message in hand"
        );
    }
    // Someone running the engine headless must see an outage and its end as they happen.
    let reporter = (!json).then(|| {
        let mut events = api.subscribe();
        tokio::spawn(async move {
            let mut last = outreach_api::engine::EngineState::Stopped;
            let mut last_error: Option<String> = None;
            let mut purged = 0;
            while let Ok(event) = events.recv().await {
                match event {
                    outreach_api::ApiEvent::Engine { status } => {
                        if status.purged > purged {
                            eprintln!(
                                "erased {} prospect(s) whose retention period ended",
                                status.purged - purged
                            );
                            purged = status.purged;
                        }
                        if status.state != last {
                            if let Some(line) = state_line(last, &status) {
                                eprintln!("{line}");
                            }
                            last = status.state;
                        } else if let Some(line) = problem_line(last_error.as_deref(), &status) {
                            eprintln!("{line}");
                        }
                        last_error.clone_from(&status.last_error);
                    }
                    outreach_api::ApiEvent::Reply { notice } => {
                        eprintln!(
                            "reply #{} from {}: {}{}",
                            notice.reply_id,
                            notice.prospect_name,
                            notice.intent.as_str(),
                            if notice.actions.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", notice.actions)
                            }
                        );
                    }
                    _ => {}
                }
            }
        })
    });
    let result = api
        .run_engine_with(
            outreach_api::engine::EngineConfig {
                idle_tick: std::time::Duration::from_millis(500),
                ..Default::default()
            },
            rx,
        )
        .await;
    stopper.abort();
    if let Some(r) = reporter {
        r.abort();
    }
    result?;
    let status = api.engine_status(outreach_api::NoArgs {}).await?;
    if json {
        output::json(&status)?;
    } else {
        eprintln!("engine stopped; {} queued", status.queued);
    }
    Ok(())
}

/// The line `outreach run` prints when the engine meets a new problem (a failed message, a
/// database that refuses writes) without changing its state; an outage has its own line.
fn problem_line(before: Option<&str>, now: &outreach_api::engine::EngineStatus) -> Option<String> {
    match now.last_error.as_deref() {
        Some(e) if Some(e) != before && now.state != outreach_api::engine::EngineState::Offline => {
            Some(format!("problem: {e}"))
        }
        _ => None,
    }
}

/// The line `outreach run` prints when the engine's state changes, if any.
fn state_line(
    before: outreach_api::engine::EngineState,
    now: &outreach_api::engine::EngineStatus,
) -> Option<String> {
    use outreach_api::engine::EngineState;
    match (before, now.state) {
        (_, EngineState::Offline) => Some(format!(
            "offline: {}; {} queued, retried with backoff",
            now.last_error
                .as_deref()
                .unwrap_or("the server cannot be reached"),
            now.queued
        )),
        (EngineState::Offline, EngineState::Running) => {
            Some(format!("back online; {} sent so far", now.sent))
        }
        _ => None,
    }
}

/// A campaign with its progress, as `campaign status --json` prints it and `campaign list
/// --json` lists it.
fn campaign_json(
    c: &outreach_api::core::campaign::Campaign,
    p: &outreach_api::store::campaigns::CampaignProgress,
) -> serde_json::Value {
    serde_json::json!({ "status": c.status, "progress": p, "campaign": c })
}
