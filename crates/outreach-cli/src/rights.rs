//! A person's rights from the command line: `outreach prospects erase` (Art. 17), which cannot
//! be undone, so it says what would go unless `--yes` confirms it, and `outreach prospects
//! export` (Art. 15 and 20); the storage limit, `outreach retention`, whose purge asks for
//! `--yes` the same way; and `outreach workspace delete`, when a client leaves.

use anyhow::Result;
use outreach_api::core::prospect::Workspace;
use outreach_api::store::erasure::ErasureCounts;
use outreach_api::store::workspace_deletion::WorkspaceContents;
use outreach_api::{
    Api, ApiError, DeleteWorkspace, ExportPersonalData, ProspectIds, RetentionQuery, SetRetention,
    WorkspaceRef,
};

use crate::output;

/// Erases `ids` of the workspace with `yes`; without it, prints what would go and fails, so
/// that a script that forgot the flag stops there.
pub(crate) async fn erase(
    api: &Api,
    workspace: &Workspace,
    ids: Vec<i64>,
    yes: bool,
    json: bool,
) -> Result<()> {
    let args = ProspectIds {
        workspace_id: workspace.id,
        ids,
    };
    if !yes {
        let counts = api.preview_erasure(args).await?;
        if json {
            output::json(&serde_json::json!({ "erased": false, "would_erase": counts }))?;
        } else {
            println!("would erase {}", describe(&counts));
        }
        return Err(without_yes("erased"));
    }
    let counts = api.erase_prospects(args).await?;
    if json {
        output::json(&serde_json::json!({ "erased": true, "counts": counts }))?;
    } else {
        println!("erased {}", describe(&counts));
        println!(
            "their addresses stay on the suppression list (as keyed hashes), so no workspace contacts them again"
        );
    }
    Ok(())
}

/// Shows the workspace's retention period and whom it has reached, after setting `months`;
/// `purge` is `Some(yes)` when asked to erase them, which it does only with `yes`.
pub(crate) async fn retention(
    api: &Api,
    workspace: &Workspace,
    months: Option<u16>,
    purge: Option<bool>,
    json: bool,
) -> Result<()> {
    let at = WorkspaceRef {
        workspace_id: workspace.id,
    };
    let status = match months {
        Some(months) => {
            api.set_retention(SetRetention {
                workspace_id: workspace.id,
                months,
            })
            .await?
        }
        None => {
            api.retention_status(RetentionQuery {
                workspace_id: workspace.id,
                months: None,
            })
            .await?
        }
    };
    match purge {
        None => {
            if json {
                output::json(&status)?;
            } else {
                println!(
                    "prospects are kept {} month(s) after their last reply, or after they were added",
                    status.months
                );
                if status.due.prospects == 0 {
                    println!("nobody is due for erasure");
                } else {
                    println!("due for erasure: {}", describe(&status.due));
                }
                if let Some(at) = &status.next_due_at {
                    println!("next due: {at}");
                }
            }
        }
        Some(false) => {
            if json {
                output::json(&serde_json::json!({ "purged": false, "would_purge": status.due }))?;
            } else {
                println!("would erase {}", describe(&status.due));
            }
            return Err(without_yes("erased"));
        }
        Some(true) => {
            let counts = api.purge_expired(at).await?;
            if json {
                output::json(&serde_json::json!({ "purged": true, "counts": counts }))?;
            } else {
                println!("erased {}", describe(&counts));
            }
        }
    }
    Ok(())
}

/// Deletes the workspace with `yes`; without it, prints what it holds and fails.
pub(crate) async fn delete_workspace(
    api: &Api,
    workspace: &Workspace,
    yes: bool,
    json: bool,
) -> Result<()> {
    if !yes {
        let held = api
            .workspace_contents(WorkspaceRef {
                workspace_id: workspace.id,
            })
            .await?;
        if json {
            output::json(&serde_json::json!({ "deleted": false, "holds": held }))?;
        } else {
            println!(
                "workspace '{}' holds {}",
                workspace.name,
                describe_contents(&held)
            );
        }
        return Err(without_yes("deleted"));
    }
    let pick = |e| match e {
        outreach_api::ApiEvent::DeletionProgress { done, total, .. } => {
            Some(("erasing".to_string(), done, total))
        }
        _ => None,
    };
    let done = output::showing_progress(
        api,
        pick,
        api.delete_workspace(DeleteWorkspace {
            workspace_id: workspace.id,
            confirm_name: workspace.name.clone(),
        }),
    )
    .await?;
    if json {
        output::json(&serde_json::json!({ "deleted": true, "result": done }))?;
    } else {
        println!(
            "deleted workspace '{}' with {}",
            workspace.name,
            describe_contents(&done.held)
        );
        if !done.finished {
            println!(
                "a message of it was still being sent: the engine erases the rest once its fate is written down"
            );
        }
    }
    Ok(())
}

/// What an action that cannot be undone fails with when `--yes` did not confirm it, so that
/// a script that forgot the flag stops there.
fn without_yes(nothing: &str) -> anyhow::Error {
    ApiError::invalid(format!(
        "nothing {nothing}: it cannot be undone; run the command again with --yes"
    ))
    .into()
}

/// "2 prospects, 1 campaign, 1 template, 1 sender account, 3 messages and 0 replies".
fn describe_contents(c: &WorkspaceContents) -> String {
    format!(
        "{}, {}, {}, {}, {} and {}",
        plural(c.prospects, "prospect", "prospects"),
        plural(c.campaigns, "campaign", "campaigns"),
        plural(c.templates, "template", "templates"),
        plural(c.accounts, "sender account", "sender accounts"),
        plural(c.messages, "message", "messages"),
        plural(c.replies, "reply", "replies"),
    )
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Writes the prospect's record to `out`, or prints it.
pub(crate) async fn export(
    api: &Api,
    id: i64,
    out: Option<std::path::PathBuf>,
    json: bool,
) -> Result<()> {
    let Some(path) = out else {
        return output::json(&api.personal_data(id).await?);
    };
    let bytes = api
        .export_personal_data(ExportPersonalData {
            id,
            path: path.to_string_lossy().into_owned(),
        })
        .await?;
    if json {
        output::json(&serde_json::json!({ "path": path, "bytes": bytes }))?;
    } else {
        println!(
            "wrote the personal data of prospect #{id} to {} ({bytes} bytes)",
            path.display()
        );
    }
    Ok(())
}

/// "2 prospects with 3 messages (1 queued, which will not go out), 1 reply, 2 enrolments and
/// 1 consent record".
fn describe(c: &ErasureCounts) -> String {
    let mut messages = plural(c.messages, "message", "messages");
    if c.queued > 0 {
        messages.push_str(&format!(" ({} queued, which will not go out)", c.queued));
    }
    let mut parts = vec![
        messages,
        plural(c.replies, "reply", "replies"),
        plural(c.enrolments, "enrolment", "enrolments"),
        plural(c.consent_events, "consent record", "consent records"),
    ];
    if c.saved_filters > 0 {
        parts.push(format!(
            "{} whose search finds them by name",
            plural(c.saved_filters, "saved filter", "saved filters")
        ));
    }
    let last = parts.pop().unwrap_or_default();
    format!(
        "{} with {} and {last}",
        plural(c.prospects, "prospect", "prospects"),
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_a_sentence_with_singulars_and_the_queued_named() {
        let one = ErasureCounts {
            prospects: 1,
            enrolments: 1,
            messages: 1,
            queued: 0,
            replies: 1,
            consent_events: 1,
            saved_filters: 0,
        };
        assert_eq!(
            describe(&one),
            "1 prospect with 1 message, 1 reply, 1 enrolment and 1 consent record"
        );
        let many = ErasureCounts {
            prospects: 2,
            enrolments: 2,
            messages: 3,
            queued: 1,
            replies: 0,
            consent_events: 4,
            saved_filters: 0,
        };
        assert_eq!(
            describe(&many),
            "2 prospects with 3 messages (1 queued, which will not go out), 0 replies, 2 enrolments and 4 consent records"
        );
        let named = ErasureCounts {
            saved_filters: 2,
            ..one
        };
        assert_eq!(
            describe(&named),
            "1 prospect with 1 message, 1 reply, 1 enrolment, 1 consent record and 2 saved filters whose search finds them by name"
        );
    }
}
