//! Arguments and the command implementations.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use outreach_api::core::ProspectStatus;
use outreach_api::core::mapping::Field;
use outreach_api::core::prospect::{AuditActor, AuditTopic, Prospect, Workspace};
use outreach_api::core::scoring::{FactorId, FactorWeight};
use outreach_api::store::enrolments::EnrolmentState;
use outreach_api::store::prospects::{ProspectPatch, ProspectQuery, SortField};
use outreach_api::store::workspaces::WorkspaceFields;
use outreach_api::{
    Api, ApiConfig, ApiError, ApiEvent, AuditQuery, Caller, ImportCsv, NoArgs, PreviewImport,
    ProspectId, ProspectIds, SetScoringConfig, UpdateProspect, WorkspaceRef,
};

use crate::output;

/// Outreach Desk on the command line.
#[derive(Debug, Parser)]
#[command(name = "outreach", version, about)]
pub struct Args {
    /// The data folder (default: OUTREACH_DATA_DIR, else the platform's application-data folder).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print results and errors as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

impl Args {
    /// Whether output is JSON.
    pub fn json(&self) -> bool {
        self.json
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create and list workspaces (one per client).
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Import prospects from a CSV file (LinkedIn, Sales Navigator or any CSV).
    Import {
        /// The CSV file.
        file: PathBuf,
        /// The workspace to import into.
        #[arg(long, short)]
        workspace: String,
        /// Override the detected mapping: `COLUMN=FIELD` (COLUMN is a header as written in
        /// the file; FIELD is one of first_name, last_name, full_name, email, website,
        /// x_handle, linkedin_url, instagram, company, title, country, time_zone, followers,
        /// notes, connected_on, custom, or `skip`).
        #[arg(long = "map", value_name = "COLUMN=FIELD")]
        map: Vec<String>,
        /// Show the detected mapping and stop.
        #[arg(long)]
        dry_run: bool,
        /// Write the rejected rows' problems to this CSV file.
        #[arg(long, value_name = "FILE")]
        errors_out: Option<PathBuf>,
    },
    /// List and inspect prospects.
    #[command(subcommand)]
    Prospects(ProspectsCommand),
    /// Score every prospect of a workspace and qualify those at or above the threshold.
    Score {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
    },
    /// Show or change a workspace's scoring weights and threshold.
    Scoring {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// `FACTOR=WEIGHT` (email_domain, website, social); repeatable.
        #[arg(long = "weight", value_name = "FACTOR=WEIGHT")]
        weights: Vec<String>,
        /// Scores at or above this qualify (0-100).
        #[arg(long)]
        threshold: Option<u8>,
    },
    /// Show a workspace's audit log, newest first: all of it, or what concerned one prospect,
    /// one topic or one actor.
    Audit {
        /// The workspace.
        #[arg(long, short, required_unless_present = "deleted_workspace")]
        workspace: Option<String>,
        /// A deleted workspace instead, by the id `outreach workspace list --deleted` shows.
        #[arg(long, value_name = "ID", conflicts_with = "workspace")]
        deleted_workspace: Option<i64>,
        /// Only entries about this prospect (by id; an erased prospect's id still works).
        #[arg(long, value_name = "ID")]
        prospect: Option<i64>,
        /// Only one topic: prospects, consent, campaigns, sending, replies, accounts, workspace.
        #[arg(long, value_parser = parse_topic)]
        topic: Option<AuditTopic>,
        /// Only what one actor did: app, cli or system.
        #[arg(long, value_parser = parse_actor)]
        actor: Option<AuditActor>,
        /// How many entries (at most 500).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show or change a workspace's sending settings: the time zone used when a prospect's
    /// own is unknown, the countries whose recipients must have consented, and the one-click
    /// unsubscribe endpoint.
    SendingSettings {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// IANA time zone, such as Europe/Berlin.
        #[arg(long)]
        time_zone: Option<String>,
        /// Countries (names or ISO codes) whose recipients must have consented, comma
        /// separated; an empty value clears the list.
        #[arg(long, value_delimiter = ',')]
        consent_only: Option<Vec<String>>,
        /// The HTTPS endpoint for one-click unsubscribe (RFC 8058); an empty value removes it.
        #[arg(long)]
        unsubscribe_url: Option<String>,
    },
    /// Show or change how long a workspace keeps prospects who do not reply, and erase those
    /// it has reached (the engine does so every hour).
    Retention {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Keep prospects this many months after their last reply, or after they were added
        /// (1-120).
        #[arg(long)]
        months: Option<u16>,
        /// Erase now the prospects whose retention period has ended.
        #[arg(long)]
        purge: bool,
        /// With --purge: erase them; it cannot be undone.
        #[arg(long, requires = "purge")]
        yes: bool,
    },
    /// Sender accounts (SMTP or SendGrid).
    #[command(subcommand)]
    Account(crate::sending::AccountCommand),
    /// Message templates.
    #[command(subcommand)]
    Template(crate::sending::TemplateCommand),
    /// Campaigns: create, edit, list, enrol, check, start, pause, stop, status.
    #[command(subcommand)]
    Campaign(crate::sending::CampaignCommand),
    /// Lawful basis: the legitimate-interest assessment, assignments, consent, opt-outs.
    #[command(subcommand)]
    Consent(crate::sending::ConsentCommand),
    /// The IMAP mailbox each sender account's replies are read from.
    #[command(subcommand)]
    Mailbox(crate::replies::MailboxCommand),
    /// Replies: list, show, correct their intent.
    #[command(subcommand)]
    Replies(crate::replies::RepliesCommand),
    /// Classify texts as replies: one per line on stdin, one JSON object per line on stdout
    /// (`{"sentiment": -1..1, "intent": "...", "confidence": 0..1}`).
    Classify {
        /// Use this workspace's intent corrections too.
        #[arg(long, short)]
        workspace: Option<String>,
    },
    /// The reply model (MiniLM): status, download.
    #[command(subcommand)]
    Model(crate::replies::ModelCommand),
    /// Run the engine until stopped (Ctrl-C or SIGTERM): sending, and reading replies.
    Run {
        /// Stop once every reply mailbox has been read and nothing is due that can go out
        /// within ten minutes (for scripts and cron): what caps, a ramp-up or a send window
        /// hold for later waits for the next run.
        #[arg(long)]
        until_idle: bool,
    },
    /// Create a demo workspace with a few hundred fictitious prospects.
    Demo,
    /// Show the data folder, key store and version.
    Info,
}

#[derive(Debug, Subcommand)]
enum WorkspaceCommand {
    /// Create a workspace.
    Create {
        /// Its name.
        name: String,
        /// Postal address printed in every message.
        #[arg(long, default_value = "")]
        address: String,
        /// Legal notice text.
        #[arg(long, default_value = "")]
        legal_notice: String,
    },
    /// List workspaces; with --deleted, those deleted, whose audit logs stay readable with
    /// `outreach audit --deleted-workspace ID`.
    List {
        /// Deleted workspaces instead.
        #[arg(long)]
        deleted: bool,
    },
    /// Delete a workspace and everything in it (a client who left): prospects, campaigns,
    /// messages, replies, templates, sender accounts and their keychain secrets. Without
    /// --yes, says what it holds and stops.
    Delete {
        /// Its name.
        name: String,
        /// Delete it: it cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ProspectsCommand {
    /// Show one prospect with its score breakdown.
    Show {
        /// The prospect's id.
        id: i64,
    },
    /// Change fields of a prospect: `--set company="Acme Ltd"`; an empty value clears.
    Edit {
        /// The prospect's id.
        id: i64,
        /// `FIELD=VALUE` (first_name, last_name, email, website, x_handle, linkedin_url,
        /// company, title, country, time_zone, followers, notes, status).
        #[arg(long = "set", value_name = "FIELD=VALUE", required = true)]
        set: Vec<String>,
    },
    /// Move prospects to the trash (undo with `restore`).
    Delete {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Prospect ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Erase prospects for good at their request (GDPR Art. 17), in the trash or not: their
    /// messages, replies, enrolments and consent history go too; their address stays on the
    /// suppression list as a keyed hash. Without --yes, only says what would go.
    Erase {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Prospect ids.
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Erase: it cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// Write everything held about a prospect as JSON (GDPR Art. 15 and 20: their details,
    /// consent history, campaigns, the messages sent to them, their replies, and what was done
    /// with their data).
    Export {
        /// The prospect's id.
        id: i64,
        /// The file to write (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Bring prospects back from the trash.
    Restore {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Prospect ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// List prospects: all of them, those a saved filter selects, or those the criteria do.
    List {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        #[command(flatten)]
        criteria: crate::filters::FilterArgs,
        /// At most this many (default: all).
        #[arg(long)]
        limit: Option<u32>,
        /// Sort by name, company, score, country, status or created_at.
        #[arg(long, default_value = "name")]
        sort: String,
        /// Sort descending.
        #[arg(long)]
        desc: bool,
    },
    /// List the workspace's saved filters (made here or in the app's prospect table).
    Filters {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
    },
    /// Save criteria under a name, for `--filter NAME` here and in `campaign enrol`, and in
    /// the app; a filter of the same name is replaced.
    SaveFilter {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The filter's name.
        name: String,
        #[command(flatten)]
        criteria: crate::filters::FilterArgs,
    },
    /// Give many prospects one status (say, disqualify a reviewed list): by id, or chosen by
    /// a saved filter or criteria. Audited as one change.
    SetStatus {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The new status (new, qualified, disqualified, interested, not_interested, …; not
        /// unsubscribed: `consent opt-out` records that, and those who opted out keep it).
        #[arg(long, value_name = "STATUS")]
        to: String,
        /// Prospect ids (or choose them with the options below).
        ids: Vec<i64>,
        #[command(flatten)]
        criteria: crate::filters::FilterArgs,
    },
    /// Delete a saved filter (the prospects it selects stay).
    DeleteFilter {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The filter's name.
        name: String,
    },
}

pub(crate) async fn workspace(api: &Api, name: &str) -> Result<Workspace> {
    api.workspace_by_name(name).await.map_err(|e| match e.code {
        outreach_api::ErrorCode::NotFound => ApiError::new(
            e.code,
            format!(
                "no workspace named '{name}'; create it with `outreach workspace create \"{name}\"`"
            ),
        )
        .into(),
        _ => e.into(),
    })
}

fn parse_sort(s: &str) -> Result<SortField> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
        ApiError::invalid(format!(
            "unknown sort '{s}'; use name, company, score, country, status or created_at"
        ))
        .into()
    })
}

/// `id` if it is a deleted workspace's.
async fn deleted_workspace_id(api: &Api, id: i64) -> Result<i64> {
    if api
        .deleted_workspaces(NoArgs {})
        .await?
        .iter()
        .any(|w| w.id == id)
    {
        Ok(id)
    } else {
        Err(ApiError::new(
            outreach_api::ErrorCode::NotFound,
            format!("no deleted workspace #{id}; `outreach workspace list --deleted` lists them"),
        )
        .into())
    }
}

fn parse_topic(s: &str) -> Result<AuditTopic, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_string())).map_err(|_| {
        "use prospects, consent, campaigns, sending, replies, accounts or workspace".to_string()
    })
}

fn parse_actor(s: &str) -> Result<AuditActor, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_string()))
        .map_err(|_| "use app, cli or system".to_string())
}

pub(crate) fn parse_status(s: &str) -> Result<ProspectStatus> {
    ProspectStatus::parse(s.trim()).ok_or_else(|| {
        let all: Vec<&str> = ProspectStatus::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::invalid(format!(
            "unknown status '{s}'; use one of {}",
            all.join(", ")
        ))
        .into()
    })
}

/// Runs one command.
pub async fn run(args: Args) -> Result<()> {
    let config = ApiConfig::from_env(args.data_dir.clone(), Caller::Cli)?;
    let api = Api::open(config).await?;
    let result = dispatch(&api, args.command, args.json).await;
    api.close().await;
    result
}

async fn dispatch(api: &Api, command: Command, json: bool) -> Result<()> {
    match command {
        Command::Workspace(WorkspaceCommand::Create {
            name,
            address,
            legal_notice,
        }) => {
            let w = api
                .create_workspace(WorkspaceFields {
                    name,
                    postal_address: address,
                    legal_notice,
                })
                .await?;
            if json {
                output::json(&w)?;
            } else {
                println!("created workspace '{}' (#{})", w.name, w.id);
            }
        }
        Command::SendingSettings {
            workspace: ws,
            time_zone,
            consent_only,
            unsubscribe_url,
        } => {
            let w = workspace(api, &ws).await?;
            let mut settings = api
                .get_sending_settings(WorkspaceRef { workspace_id: w.id })
                .await?;
            let change = time_zone.is_some() || consent_only.is_some() || unsubscribe_url.is_some();
            if let Some(tz) = time_zone {
                settings.time_zone = tz;
            }
            if let Some(countries) = consent_only {
                // `--consent-only ""` gives one empty item: no country.
                settings.consent_only_countries = countries
                    .into_iter()
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .collect();
            }
            if let Some(url) = unsubscribe_url {
                settings.unsubscribe_url = Some(url);
            }
            let mut rewritten = 0;
            if change {
                let saved = api
                    .set_sending_settings(outreach_api::SetSendingSettings {
                        workspace_id: w.id,
                        settings,
                    })
                    .await?;
                (settings, rewritten) = (saved.item, saved.rewritten);
            }
            if json {
                output::json(&settings)?;
            } else {
                println!("{:<16} {}", "time zone", settings.time_zone);
                println!(
                    "{:<16} {}",
                    "consent only",
                    settings.consent_only_countries.join(", ")
                );
                println!(
                    "{:<16} {}",
                    "unsubscribe url",
                    settings.unsubscribe_url.as_deref().unwrap_or("(none)")
                );
                if rewritten > 0 {
                    println!(
                        "{rewritten} message(s) waiting to go out will be checked and written again"
                    );
                }
            }
        }
        Command::Retention {
            workspace: ws,
            months,
            purge,
            yes,
        } => {
            let w = workspace(api, &ws).await?;
            crate::rights::retention(api, &w, months, purge.then_some(yes), json).await?;
        }
        Command::Account(c) => crate::sending::account(api, c, json).await?,
        Command::Template(c) => crate::sending::template(api, c, json).await?,
        Command::Campaign(c) => crate::sending::campaign(api, c, json).await?,
        Command::Consent(c) => crate::sending::consent(api, c, json).await?,
        Command::Mailbox(c) => crate::replies::mailbox(api, c, json).await?,
        Command::Replies(c) => crate::replies::replies(api, c, json).await?,
        Command::Classify { workspace } => crate::replies::classify(api, workspace).await?,
        Command::Model(c) => crate::replies::model(api, c, json).await?,
        Command::Run { until_idle } => crate::sending::run_engine(api, until_idle, json).await?,
        Command::Workspace(WorkspaceCommand::Delete { name, yes }) => {
            let w = workspace(api, &name).await?;
            crate::rights::delete_workspace(api, &w, yes, json).await?;
        }
        Command::Workspace(WorkspaceCommand::List { deleted: true }) => {
            let all = api.deleted_workspaces(NoArgs {}).await?;
            if json {
                output::json(&all)?;
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|w| {
                        vec![
                            w.id.to_string(),
                            w.name.clone(),
                            w.deleted_at.clone(),
                            w.erased_at.clone().unwrap_or_else(|| "not yet".into()),
                        ]
                    })
                    .collect();
                output::table(&["ID", "NAME", "DELETED", "ERASED"], &rows);
            }
        }
        Command::Workspace(WorkspaceCommand::List { deleted: false }) => {
            let all = api.list_workspaces(NoArgs {}).await?;
            if json {
                output::json(&all)?;
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|w| vec![w.id.to_string(), w.name.clone(), w.created_at.clone()])
                    .collect();
                output::table(&["ID", "NAME", "CREATED"], &rows);
            }
        }
        Command::Import {
            file,
            workspace: ws,
            map,
            dry_run,
            errors_out,
        } => import(api, file, &ws, &map, dry_run, errors_out, json).await?,
        Command::Prospects(ProspectsCommand::List {
            workspace: ws,
            criteria,
            limit,
            sort,
            desc,
        }) => {
            let w = workspace(api, &ws).await?;
            let sort = parse_sort(&sort)?;
            let mut query = criteria.resolve(api, &w).await?.apply(ProspectQuery {
                workspace_id: w.id,
                sort,
                descending: desc,
                limit: 1000,
                ..Default::default()
            });
            let wanted = limit.unwrap_or(u32::MAX);
            // Page by page, each written out (JSON) or cut down to its cells (table) before
            // the next is loaded: a whole agency list at once took hundreds of megabytes.
            let mut json_out = json.then(output::JsonArray::stdout);
            let mut table: Vec<Vec<String>> = Vec::new();
            let mut listed: u32 = 0;
            loop {
                query.limit = 1000.min(wanted - listed).max(1);
                let page = api.list_prospects(query.clone()).await?;
                let n = page.rows.len() as u32;
                for p in &page.rows {
                    match json_out.as_mut() {
                        Some(out) => out.push(p)?,
                        None => table.push(prospect_cells(p)),
                    }
                }
                listed += n;
                query.offset += n;
                if n == 0 || listed >= wanted || query.offset >= page.total {
                    break;
                }
            }
            if let Some(out) = json_out {
                out.finish()?;
            } else {
                output::table(
                    &[
                        "ID", "NAME", "EMAIL", "COMPANY", "COUNTRY", "STATUS", "SCORE",
                    ],
                    &table,
                );
                eprintln!("{listed} prospect(s)");
            }
        }
        Command::Prospects(ProspectsCommand::Filters { workspace: ws }) => {
            let w = workspace(api, &ws).await?;
            crate::filters::list(api, &w, json).await?;
        }
        Command::Prospects(ProspectsCommand::SaveFilter {
            workspace: ws,
            name,
            criteria,
        }) => {
            let w = workspace(api, &ws).await?;
            crate::filters::save(api, &w, name, &criteria, json).await?;
        }
        Command::Prospects(ProspectsCommand::SetStatus {
            workspace: ws,
            to,
            ids,
            criteria,
        }) => {
            let w = workspace(api, &ws).await?;
            let status = parse_status(&to)?;
            crate::bulk::set_status(api, &w, status, ids, &criteria, json).await?;
        }
        Command::Prospects(ProspectsCommand::DeleteFilter {
            workspace: ws,
            name,
        }) => {
            let w = workspace(api, &ws).await?;
            crate::filters::delete(api, &w, &name, json).await?;
        }
        Command::Prospects(ProspectsCommand::Show { id }) => {
            let p = api.get_prospect(ProspectId { id }).await?;
            if json {
                output::json(&p)?;
            } else {
                print_prospect(&p);
                for e in api.prospect_campaigns(ProspectId { id }).await? {
                    let standing = match e.reason.as_deref() {
                        Some(why) if e.state != EnrolmentState::Replied => {
                            format!("{} ({why})", e.state.as_str())
                        }
                        _ => e.state.as_str().to_string(),
                    };
                    println!(
                        "campaign       {} ({}): {standing}, next step {}",
                        e.campaign_name,
                        e.campaign_status.as_str(),
                        e.next_position
                    );
                }
            }
        }
        Command::Prospects(ProspectsCommand::Edit { id, set }) => {
            let patch = parse_patch(&set)?;
            let saved = api.update_prospect(UpdateProspect { id, patch }).await?;
            if json {
                output::json(&saved)?;
            } else {
                let p = &saved.item;
                println!("saved prospect #{} ({})", p.id, p.display_name());
                if saved.rewritten > 0 {
                    println!(
                        "{} message(s) waiting to go to them will be written again with the new details",
                        saved.rewritten
                    );
                }
            }
        }
        Command::Prospects(ProspectsCommand::Delete { workspace: ws, ids }) => {
            let w = workspace(api, &ws).await?;
            let n = api
                .delete_prospects(ProspectIds {
                    workspace_id: w.id,
                    ids: ids.clone(),
                })
                .await?;
            if json {
                output::json(&serde_json::json!({ "deleted": n }))?;
            } else {
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                println!(
                    "moved {n} prospect(s) to the trash; undo with `outreach prospects restore -w \"{}\" {}`",
                    w.name,
                    list.join(" ")
                );
            }
        }
        Command::Prospects(ProspectsCommand::Erase {
            workspace: ws,
            ids,
            yes,
        }) => {
            let w = workspace(api, &ws).await?;
            crate::rights::erase(api, &w, ids, yes, json).await?;
        }
        Command::Prospects(ProspectsCommand::Export { id, out }) => {
            crate::rights::export(api, id, out, json).await?;
        }
        Command::Prospects(ProspectsCommand::Restore { workspace: ws, ids }) => {
            let w = workspace(api, &ws).await?;
            let n = api
                .restore_prospects(ProspectIds {
                    workspace_id: w.id,
                    ids,
                })
                .await?;
            if json {
                output::json(&serde_json::json!({ "restored": n }))?;
            } else {
                println!("restored {n} prospect(s)");
            }
        }
        Command::Scoring {
            workspace: ws,
            weights,
            threshold,
        } => {
            let w = workspace(api, &ws).await?;
            let mut config = w.scoring.clone();
            for spec in &weights {
                let (factor, weight) = spec.split_once('=').ok_or_else(|| {
                    ApiError::invalid(format!("--weight '{spec}' is not FACTOR=WEIGHT"))
                })?;
                let factor: FactorId =
                    serde_json::from_value(serde_json::Value::String(factor.trim().to_string()))
                        .map_err(|_| {
                            ApiError::invalid(format!(
                                "unknown factor '{factor}'; use email_domain, website or social"
                            ))
                        })?;
                let weight: u32 = weight.trim().parse().map_err(|_| {
                    ApiError::invalid(format!(
                        "--weight '{spec}': the weight must be a whole number"
                    ))
                })?;
                match config.weights.iter_mut().find(|fw| fw.factor == factor) {
                    Some(fw) => fw.weight = weight,
                    None => config.weights.push(FactorWeight { factor, weight }),
                }
            }
            if let Some(t) = threshold {
                config.threshold = t;
            }
            let config = if weights.is_empty() && threshold.is_none() {
                config
            } else {
                api.set_scoring_config(SetScoringConfig {
                    workspace_id: w.id,
                    config,
                })
                .await?
                .scoring
            };
            if json {
                output::json(&config)?;
            } else {
                for fw in &config.weights {
                    println!(
                        "{:<14} {}",
                        serde_json::to_value(fw.factor)?
                            .as_str()
                            .unwrap_or_default(),
                        fw.weight
                    );
                }
                println!("{:<14} {}", "threshold", config.threshold);
            }
        }
        Command::Score { workspace: ws } => {
            let w = workspace(api, &ws).await?;
            let s = api
                .score_prospects(WorkspaceRef { workspace_id: w.id })
                .await?;
            if json {
                output::json(&s)?;
            } else {
                println!(
                    "scored {} prospect(s): {} qualified at threshold {} ({} newly qualified, {} no longer)",
                    s.scored, s.qualified, s.threshold, s.newly_qualified, s.no_longer_qualified
                );
                if s.rewritten > 0 {
                    println!(
                        "{} message(s) waiting to go to those whose score changed will be written again with the new score",
                        s.rewritten
                    );
                }
            }
        }
        Command::Audit {
            workspace: ws,
            deleted_workspace,
            prospect,
            topic,
            actor,
            limit,
        } => {
            let workspace_id = match (ws, deleted_workspace) {
                (Some(name), _) => workspace(api, &name).await?.id,
                (None, Some(id)) => deleted_workspace_id(api, id).await?,
                (None, None) => unreachable!("clap requires one of them"),
            };
            let entries = api
                .list_audit(AuditQuery {
                    workspace_id,
                    limit,
                    before_id: None,
                    prospect_id: prospect,
                    topic,
                    actor,
                })
                .await?;
            if json {
                output::json(&entries)?;
            } else {
                let rows: Vec<Vec<String>> = entries
                    .iter()
                    .map(|e| {
                        vec![
                            e.at.clone(),
                            e.actor.clone(),
                            e.action.clone(),
                            e.summary.clone(),
                        ]
                    })
                    .collect();
                output::table(&["AT", "ACTOR", "ACTION", "SUMMARY"], &rows);
            }
        }
        Command::Demo => {
            let w = api.load_demo(NoArgs {}).await?;
            if json {
                output::json(&w)?;
            } else {
                println!("created '{}' (#{}) with demo prospects", w.name, w.id);
            }
        }
        Command::Info => {
            let info = api.app_info(NoArgs {}).await?;
            if json {
                output::json(&info)?;
            } else {
                println!(
                    "version:   {}\ndata dir:  {}\nkey store: {}",
                    info.version, info.data_dir, info.key_store
                );
            }
        }
    }
    Ok(())
}

fn parse_patch(set: &[String]) -> Result<ProspectPatch> {
    let mut patch = ProspectPatch::default();
    for spec in set {
        let (field, value) = spec
            .split_once('=')
            .ok_or_else(|| ApiError::invalid(format!("--set '{spec}' is not FIELD=VALUE")))?;
        let value = value.to_string();
        let slot = match field.trim() {
            "first_name" => &mut patch.first_name,
            "last_name" => &mut patch.last_name,
            "email" => &mut patch.email,
            "website" => &mut patch.website,
            "x_handle" => &mut patch.x_handle,
            "linkedin_url" => &mut patch.linkedin_url,
            "company" => &mut patch.company,
            "title" => &mut patch.title,
            "country" => &mut patch.country,
            "time_zone" => &mut patch.time_zone,
            "followers" => &mut patch.followers,
            "notes" => &mut patch.notes,
            "status" => {
                patch.status = Some(parse_status(&value)?);
                continue;
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "--set '{spec}': unknown field '{other}'; use first_name, last_name, email, website, x_handle, linkedin_url, company, title, country, time_zone, followers, notes or status"
                ))
                .into());
            }
        };
        *slot = Some(value);
    }
    Ok(patch)
}

fn print_prospect(p: &Prospect) {
    let line = |label: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            println!("{label:<14} {v}");
        }
    };
    println!("#{} {}", p.id, p.display_name());
    line("email", p.email.clone());
    line("company", p.company.clone());
    line("title", p.title.clone());
    line("website", p.website.clone());
    line("x", p.x_handle.as_ref().map(|h| format!("@{h}")));
    line("linkedin", p.linkedin_url.clone());
    line("country", p.country.clone());
    line("time zone", p.time_zone.clone());
    line("followers", p.followers.map(|f| f.to_string()));
    line("notes", p.notes.clone());
    line("status", Some(p.status.as_str().to_string()));
    line(
        "source",
        Some(format!(
            "{} {}",
            p.source_type.as_str(),
            p.source_file.clone().unwrap_or_default()
        )),
    );
    line("lawful basis", Some(p.lawful_basis.as_str().to_string()));
    line("last reply", p.last_inbound_at.clone());
    line(
        "opted out",
        p.objection_at
            .as_ref()
            .map(|at| format!("{at} (no campaign reaches them)")),
    );
    match &p.score_breakdown {
        Some(b) => {
            println!(
                "score          {} (threshold {}, {})",
                b.total,
                b.threshold,
                if b.qualified {
                    "qualified"
                } else {
                    "not qualified"
                }
            );
            for f in &b.factors {
                println!(
                    "  {:<16} {:>3} points x weight {}",
                    f.factor.label(),
                    f.points,
                    f.weight
                );
                for r in &f.reasons {
                    println!("      {r}");
                }
            }
        }
        None => println!("score          not scored yet (run `outreach score`)"),
    }
}

async fn import(
    api: &Api,
    file: PathBuf,
    ws: &str,
    map: &[String],
    dry_run: bool,
    errors_out: Option<PathBuf>,
    json: bool,
) -> Result<()> {
    let w = workspace(api, ws).await?;
    let path = file.to_string_lossy().into_owned();
    let preview = api
        .preview_import(PreviewImport { path: path.clone() })
        .await?;
    let mut columns = preview.csv.columns.clone();
    for m in map {
        let (column, field) = m
            .rsplit_once('=')
            .ok_or_else(|| ApiError::invalid(format!("--map '{m}' is not COLUMN=FIELD")))?;
        let field = match field.trim() {
            "skip" | "" => None,
            f => Some(Field::parse(f).ok_or_else(|| {
                let all: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
                ApiError::invalid(format!(
                    "--map '{m}': unknown field '{f}'; use one of {} or skip",
                    all.join(", ")
                ))
            })?),
        };
        let col = columns
            .iter_mut()
            .find(|c| c.header.eq_ignore_ascii_case(column.trim()))
            .ok_or_else(|| {
                let headers: Vec<&str> = preview
                    .csv
                    .columns
                    .iter()
                    .map(|c| c.header.as_str())
                    .collect();
                ApiError::invalid(format!(
                    "--map '{m}': the file has no column '{column}' (columns: {})",
                    headers.join(", ")
                ))
            })?;
        col.field = field;
    }
    if dry_run {
        if json {
            output::json(
                &serde_json::json!({ "source_type": preview.csv.source_type, "columns": columns }),
            )?;
        } else {
            println!(
                "{} ({} bytes), detected: {:?}",
                preview.file_name, preview.size, preview.csv.source_type
            );
            let rows: Vec<Vec<String>> = columns
                .iter()
                .map(|c| {
                    vec![
                        c.header.clone(),
                        c.field.map_or("(skip)".into(), |f| f.as_str().into()),
                    ]
                })
                .collect();
            output::table(&["COLUMN", "FIELD"], &rows);
        }
        return Ok(());
    }
    let pick = |e| match e {
        ApiEvent::ImportProgress {
            phase, done, total, ..
        } => Some((format!("{phase:?}"), done, total)),
        _ => None,
    };
    let report = output::showing_progress(
        api,
        pick,
        api.import_csv(ImportCsv {
            workspace_id: w.id,
            path,
            columns: Some(columns),
        }),
    )
    .await?;
    if let Some(out) = errors_out {
        let n = api
            .export_import_errors(outreach_api::ExportImportErrors {
                import_id: report.import_id,
                path: out.to_string_lossy().into_owned(),
            })
            .await
            .with_context(|| format!("writing {}", out.display()))?;
        eprintln!("wrote {n} problem(s) to {}", out.display());
    }
    if json {
        output::json(&report)?;
    } else {
        println!(
            "imported {}: {} new, {} merged, {} invalid of {} rows",
            preview.file_name, report.created, report.merged, report.invalid, report.total_rows
        );
        for r in report.row_errors.iter().take(20) {
            for e in &r.errors {
                let col = if e.column.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", e.column)
                };
                println!("  line {}{col}: {}", r.row, e.message);
            }
        }
        if report.row_errors.len() > 20 {
            println!(
                "  … and {} more rows with problems (use --errors-out FILE)",
                report.row_errors.len() - 20
            );
        }
        for n in &report.notes {
            println!("  note: {n}");
        }
    }
    Ok(())
}

/// A prospect's cells in `prospects list`.
fn prospect_cells(p: &Prospect) -> Vec<String> {
    vec![
        p.id.to_string(),
        p.display_name(),
        p.email.clone().unwrap_or_default(),
        p.company.clone().unwrap_or_default(),
        p.country.clone().unwrap_or_default(),
        p.status.as_str().to_string(),
        p.score.map(|s| s.to_string()).unwrap_or_default(),
    ]
}
