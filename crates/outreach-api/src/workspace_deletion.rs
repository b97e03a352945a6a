//! Deleting a workspace when an agency's client leaves: everything it holds is erased and its
//! accounts' secrets leave the keychain. The name must be typed to confirm, through every
//! adapter, since nothing brings it back.

use std::time::Duration;

use outreach_store::workspace_deletion::WorkspaceContents;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Api, ApiError, ApiEvent, ChangedEntity, WorkspaceRef};

/// A workspace to delete.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct DeleteWorkspace {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Its name, as the person typed it to confirm (case and surrounding spaces aside).
    pub confirm_name: String,
}

/// What a deletion removed.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct WorkspaceDeletion {
    /// What the workspace held.
    pub held: WorkspaceContents,
    /// False while a message of it was still on the wire: the engine erases the rest once
    /// that message's fate is written down (within the hour, or at its next start).
    pub finished: bool,
}

/// How long a deletion waits for a message on the wire before leaving the rest to the engine.
const WIRE_WAIT: Duration = Duration::from_secs(10);

impl Api {
    /// What the workspace holds, for the confirmation.
    pub async fn workspace_contents(
        &self,
        args: WorkspaceRef,
    ) -> Result<WorkspaceContents, ApiError> {
        Ok(self.store.workspace_contents(args.workspace_id).await?)
    }

    /// Deletes a workspace and everything in it: hidden and its sending stopped at once, its
    /// accounts' secrets removed from the keychain, then its data erased (the audit log stays,
    /// naming people only by number). Cannot be undone.
    pub async fn delete_workspace(
        &self,
        args: DeleteWorkspace,
    ) -> Result<WorkspaceDeletion, ApiError> {
        let ws = self.store.workspace(args.workspace_id).await?;
        if args.confirm_name.trim().to_lowercase() != ws.name.to_lowercase() {
            return Err(ApiError::invalid(format!(
                "type the workspace's name, “{}”, to delete it",
                ws.name
            )));
        }
        let held = self.store.workspace_contents(ws.id).await?;
        let accounts = self
            .store
            .mark_workspace_deleted(ws.id, self.config.actor())
            .await?;
        self.changed(Some(ws.id), ChangedEntity::Workspaces);
        self.poke_engine();
        let mut kept_secrets = None;
        for account in accounts {
            if let Err(e) = crate::secrets::delete_all(&self.config, account).await {
                kept_secrets.get_or_insert(e);
            }
        }
        let deadline = tokio::time::Instant::now() + WIRE_WAIT;
        let total = u64::from(held.prospects);
        let mut done = 0u64;
        let finished = loop {
            let progress = |erased: u32| {
                done += u64::from(erased);
                self.emit(ApiEvent::DeletionProgress {
                    workspace_id: ws.id,
                    done,
                    total,
                });
            };
            if self
                .store
                .finish_workspace_deletion(ws.id, self.config.actor(), progress)
                .await?
            {
                break true;
            }
            if tokio::time::Instant::now() >= deadline {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        if let Some(e) = kept_secrets {
            return Err(ApiError {
                message: format!(
                    "the workspace is deleted, but its accounts' passwords or keys could not be removed from the keychain: {}",
                    e.message
                ),
                ..e
            });
        }
        Ok(WorkspaceDeletion { held, finished })
    }
}
