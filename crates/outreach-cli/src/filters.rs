//! Which prospects a command acts on: `--filter NAME` (a filter saved in the app or with
//! `outreach prospects save-filter`) and the criteria options, shared by `prospects list`,
//! `prospects save-filter` and `campaign enrol`; and the saved filters' own commands.

use anyhow::Result;
use outreach_api::core::mapping::SourceType;
use outreach_api::core::prospect::Workspace;
use outreach_api::store::saved_filters::{ProspectFilter, SavedFilter};
use outreach_api::{Api, ApiError, FilterRef, SaveFilter, WorkspaceRef};

use crate::cli::parse_status;
use crate::output;

/// Prospect criteria. With `--filter`, the saved filter's criteria are the start and each
/// option given replaces the criterion it names.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct FilterArgs {
    /// A saved filter of the workspace, by name (`outreach prospects filters` lists them).
    #[arg(long, value_name = "NAME")]
    filter: Option<String>,
    /// Only this status (new, qualified, disqualified, contacted, …); repeatable.
    #[arg(long)]
    status: Vec<String>,
    /// Words to find in names, e-mail, company, website, notes, job title, X handle,
    /// LinkedIn profile and custom field values.
    #[arg(long)]
    search: Option<String>,
    /// Only this source: linkedin_export, sales_navigator, csv, manual or demo.
    #[arg(long, value_parser = parse_source)]
    source: Option<SourceType>,
    /// Only this country.
    #[arg(long)]
    country: Option<String>,
    /// Only scores at or above (0-100).
    #[arg(long)]
    min_score: Option<u8>,
    /// Only scores at or below (0-100).
    #[arg(long)]
    max_score: Option<u8>,
}

impl FilterArgs {
    /// Whether no saved filter and no criterion was given.
    pub(crate) fn is_empty(&self) -> bool {
        self.filter.is_none()
            && self.status.is_empty()
            && self.search.is_none()
            && self.source.is_none()
            && self.country.is_none()
            && self.min_score.is_none()
            && self.max_score.is_none()
    }

    /// The criteria these options select in `workspace`.
    pub(crate) async fn resolve(&self, api: &Api, workspace: &Workspace) -> Result<ProspectFilter> {
        let mut f = match &self.filter {
            Some(name) => saved(api, workspace, name).await?.filter,
            None => ProspectFilter::default(),
        };
        if !self.status.is_empty() {
            f.statuses = self
                .status
                .iter()
                .map(|s| parse_status(s))
                .collect::<Result<Vec<_>>>()?;
        }
        if self.search.is_some() {
            f.search = self.search.clone();
        }
        if self.source.is_some() {
            f.source_type = self.source;
        }
        if self.country.is_some() {
            f.country = self.country.clone();
        }
        if self.min_score.is_some() {
            f.min_score = self.min_score;
        }
        if self.max_score.is_some() {
            f.max_score = self.max_score;
        }
        Ok(f)
    }
}

fn parse_source(s: &str) -> Result<SourceType, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_string())).map_err(|_| {
        format!("unknown source '{s}'; use linkedin_export, sales_navigator, csv, manual or demo")
    })
}

async fn saved(api: &Api, workspace: &Workspace, name: &str) -> Result<SavedFilter> {
    api.filter_by_name(workspace.id, name)
        .await
        .map_err(|e| match e.code {
            outreach_api::ErrorCode::NotFound => ApiError::new(
                e.code,
                format!(
                    "no saved filter named '{name}' in '{}'; `outreach prospects filters -w \"{}\"` lists them",
                    workspace.name, workspace.name
                ),
            )
            .into(),
            _ => e.into(),
        })
}

/// The criteria in words, for tables and confirmations.
pub(crate) fn describe(f: &ProspectFilter) -> String {
    let mut parts = Vec::new();
    if !f.statuses.is_empty() {
        let names: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
        parts.push(format!("status {}", names.join(" or ")));
    }
    match (f.min_score, f.max_score) {
        (Some(min), Some(max)) => parts.push(format!("score {min}-{max}")),
        (Some(min), None) => parts.push(format!("score >= {min}")),
        (None, Some(max)) => parts.push(format!("score <= {max}")),
        (None, None) => {}
    }
    if let Some(c) = &f.country {
        parts.push(format!("country {c}"));
    }
    if let Some(s) = f.source_type {
        parts.push(format!("source {}", s.as_str()));
    }
    if let Some(s) = &f.search {
        parts.push(format!("search \"{s}\""));
    }
    parts.join(", ")
}

/// `outreach prospects filters`: the workspace's saved filters.
pub(crate) async fn list(api: &Api, workspace: &Workspace, json: bool) -> Result<()> {
    let filters = api
        .list_filters(WorkspaceRef {
            workspace_id: workspace.id,
        })
        .await?;
    if json {
        return output::json(&filters);
    }
    if filters.is_empty() {
        eprintln!(
            "no saved filters in '{}' yet: `outreach prospects save-filter` makes one",
            workspace.name
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = filters
        .iter()
        .map(|f| vec![f.id.to_string(), f.name.clone(), describe(&f.filter)])
        .collect();
    output::table(&["ID", "NAME", "SELECTS"], &rows);
    Ok(())
}

/// `outreach prospects save-filter`: saves (or replaces) a filter.
pub(crate) async fn save(
    api: &Api,
    workspace: &Workspace,
    name: String,
    criteria: &FilterArgs,
    json: bool,
) -> Result<()> {
    let filter = criteria.resolve(api, workspace).await?;
    let saved = api
        .save_filter(SaveFilter {
            workspace_id: workspace.id,
            name,
            filter,
        })
        .await?;
    if json {
        output::json(&saved)
    } else {
        println!(
            "saved filter '{}' (#{}): {}",
            saved.name,
            saved.id,
            describe(&saved.filter)
        );
        Ok(())
    }
}

/// `outreach prospects delete-filter`: deletes a saved filter (the prospects stay).
pub(crate) async fn delete(api: &Api, workspace: &Workspace, name: &str, json: bool) -> Result<()> {
    let id = saved(api, workspace, name).await?.id;
    let deleted = api.delete_filter(FilterRef { id }).await?;
    if json {
        output::json(&deleted)
    } else {
        println!("deleted filter '{}'", deleted.name);
        Ok(())
    }
}
