//! How long a workspace keeps prospects who do not reply (storage limitation, GDPR
//! Art. 5(1)(e)), and the purge the engine runs every hour, on demand.

use outreach_store::erasure::ErasureCounts;
use outreach_store::retention::RetentionStatus;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Api, ApiError, ChangedEntity, WorkspaceRef};

/// A workspace's retention status, as it is or would be with another period.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RetentionQuery {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The period to show it for instead of the one in force (before saving a change).
    pub months: Option<u16>,
}

/// A workspace's new retention period.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SetRetention {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Months a prospect is kept after their last reply (or after being added), 1 to 120.
    pub months: u16,
}

impl Api {
    /// The workspace's retention period, and whom it has reached (or would reach with
    /// `months`).
    pub async fn retention_status(
        &self,
        args: RetentionQuery,
    ) -> Result<RetentionStatus, ApiError> {
        let now = outreach_engine::iso(jiff::Timestamp::now());
        Ok(self
            .store
            .retention_status(args.workspace_id, &now, args.months)
            .await?)
    }

    /// Changes the workspace's retention period. Prospects it has now reached are erased by
    /// the engine's next purge (within the hour) or by [`Api::purge_expired`].
    pub async fn set_retention(&self, args: SetRetention) -> Result<RetentionStatus, ApiError> {
        self.store
            .set_retention_months(args.workspace_id, args.months, self.config.actor())
            .await?;
        self.changed(Some(args.workspace_id), ChangedEntity::Workspaces);
        self.retention_status(RetentionQuery {
            workspace_id: args.workspace_id,
            months: None,
        })
        .await
    }

    /// Erases now the workspace's prospects whose retention period has ended, as the engine
    /// would (nothing joins the suppression list). Cannot be undone.
    pub async fn purge_expired(&self, args: WorkspaceRef) -> Result<ErasureCounts, ApiError> {
        let now = outreach_engine::iso(jiff::Timestamp::now());
        let counts = self
            .store
            .purge_all_expired(args.workspace_id, &now, self.config.actor(), |_| true)
            .await?;
        if counts.prospects > 0 {
            self.people_erased(args.workspace_id);
        }
        Ok(counts)
    }
}
