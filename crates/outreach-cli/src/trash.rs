//! `template` and `campaign` `delete`, `restore` and `list --deleted`.

use anyhow::Result;
use outreach_api::store::trash::Trashed;
use outreach_api::{Api, ApiError, CampaignRef, ErrorCode, TemplateRef, WorkspaceRef};
use serde::Serialize;

use crate::cli::workspace;
use crate::output;

/// What is moved to the trash and back.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A template.
    Template,
    /// A campaign.
    Campaign,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Template => "template",
            Kind::Campaign => "campaign",
        }
    }
}

/// Says what went to the trash and how to bring it back.
pub fn deleted(
    json: bool,
    kind: Kind,
    workspace: &str,
    id: i64,
    name: &str,
    value: &impl Serialize,
) -> Result<()> {
    if json {
        output::json(value)?;
    } else {
        let noun = kind.noun();
        println!(
            "moved {noun} '{name}' (#{id}) to the trash; undo with `outreach {noun} restore -w \"{workspace}\" {id}`"
        );
    }
    Ok(())
}

/// The workspace's templates or campaigns in the trash.
async fn trashed(api: &Api, kind: Kind, workspace_id: i64) -> Result<Vec<Trashed>> {
    let all = api.trash(WorkspaceRef { workspace_id }).await?;
    Ok(match kind {
        Kind::Template => all.templates,
        Kind::Campaign => all.campaigns,
    })
}

/// `list --deleted`.
pub async fn list(api: &Api, kind: Kind, ws: &str, json: bool) -> Result<()> {
    let w = workspace(api, ws).await?;
    let all = trashed(api, kind, w.id).await?;
    if json {
        return output::json(&all);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|t| vec![t.id.to_string(), t.name.clone(), t.deleted_at.clone()])
        .collect();
    output::table(&["ID", "NAME", "DELETED"], &rows);
    if rows.is_empty() {
        eprintln!("no {} in the trash", plural(kind));
    }
    Ok(())
}

fn plural(kind: Kind) -> String {
    format!("{}s", kind.noun())
}

/// `restore`: only what is in this workspace's trash.
pub async fn restore(api: &Api, kind: Kind, ws: &str, id: i64, json: bool) -> Result<()> {
    let w = workspace(api, ws).await?;
    if !trashed(api, kind, w.id).await?.iter().any(|t| t.id == id) {
        let noun = kind.noun();
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!(
            "no {noun} #{id} in the trash of '{}'; `outreach {noun} list -w \"{}\" --deleted` lists them",
            w.name, w.name
        ))
        .into());
    }
    let name = match kind {
        Kind::Template => {
            let t = api
                .restore_template(TemplateRef { template_id: id })
                .await?;
            if json {
                return output::json(&t);
            }
            t.name
        }
        Kind::Campaign => {
            let c = api
                .restore_campaign(CampaignRef { campaign_id: id })
                .await?;
            if json {
                return output::json(&c);
            }
            c.fields.name
        }
    };
    println!("restored {} '{name}' (#{id})", kind.noun());
    Ok(())
}
