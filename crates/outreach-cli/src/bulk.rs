//! Changes to many prospects at once, named by id or chosen by criteria (or a saved filter):
//! `outreach prospects set-status`.

use anyhow::Result;
use outreach_api::core::ProspectStatus;
use outreach_api::core::prospect::Workspace;
use outreach_api::store::prospects::ProspectQuery;
use outreach_api::{Api, ApiError, SetProspectsStatus};

use crate::filters::FilterArgs;
use crate::output;

/// The live prospects `ids` names, or else those `criteria` select.
async fn chosen(
    api: &Api,
    workspace: &Workspace,
    ids: Vec<i64>,
    criteria: &FilterArgs,
) -> Result<Vec<i64>> {
    match (ids.is_empty(), criteria.is_empty()) {
        (false, true) => Ok(ids),
        (true, false) => {
            let query = criteria.resolve(api, workspace).await?.apply(ProspectQuery {
                workspace_id: workspace.id,
                ..Default::default()
            });
            Ok(api.matching_prospect_ids(query).await?.ids)
        }
        (true, true) => Err(ApiError::invalid(
            "name the prospects by id, or choose them with --filter or criteria such as --max-score",
        )
        .into()),
        (false, false) => Err(ApiError::invalid(
            "name the prospects by id or choose them by criteria, not both",
        )
        .into()),
    }
}

/// `outreach prospects set-status`: one status for many prospects, audited once.
pub(crate) async fn set_status(
    api: &Api,
    workspace: &Workspace,
    status: ProspectStatus,
    ids: Vec<i64>,
    criteria: &FilterArgs,
    json: bool,
) -> Result<()> {
    let ids = chosen(api, workspace, ids, criteria).await?;
    let asked = ids.len();
    let done = api
        .set_prospects_status(SetProspectsStatus {
            workspace_id: workspace.id,
            ids,
            status,
        })
        .await?;
    let (changed, opted_out) = (done.changed.len(), done.opted_out.len());
    if json {
        output::json(&serde_json::json!({
            "changed": changed,
            "before": done.changed,
            "opted_out": done.opted_out,
        }))
    } else {
        let mut said = format!(
            "set {changed} prospect(s) to {}; {} already had it or are not live prospects of '{}'",
            status.as_str(),
            asked - changed - opted_out,
            workspace.name
        );
        if opted_out > 0 {
            said.push_str(&format!("; {opted_out} opted out and stay unsubscribed"));
        }
        println!("{said}");
        Ok(())
    }
}
