//! Saved prospect filters: named criteria the prospect table, the CLI and enrolment share.

use outreach_store::saved_filters::{ProspectFilter, SavedFilter};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Api, ApiError, ChangedEntity, WorkspaceRef};

/// A filter to save under a name (replacing the workspace's filter of that name).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SaveFilter {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Its name.
    pub name: String,
    /// What it selects.
    pub filter: ProspectFilter,
}

/// One saved filter.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct FilterRef {
    /// Its id.
    #[ts(type = "number")]
    pub id: i64,
}

impl Api {
    /// A workspace's saved filters, by name.
    pub async fn list_filters(&self, args: WorkspaceRef) -> Result<Vec<SavedFilter>, ApiError> {
        Ok(self.store.saved_filters(args.workspace_id).await?)
    }

    /// Saves a filter; a filter of the same name (ignoring case) is replaced.
    pub async fn save_filter(&self, args: SaveFilter) -> Result<SavedFilter, ApiError> {
        let saved = self
            .store
            .save_filter(
                args.workspace_id,
                &args.name,
                &args.filter,
                self.config.actor(),
            )
            .await?;
        self.changed(Some(saved.workspace_id), ChangedEntity::Filters);
        Ok(saved)
    }

    /// Deletes a saved filter and returns it, so that it can be saved again.
    pub async fn delete_filter(&self, args: FilterRef) -> Result<SavedFilter, ApiError> {
        let deleted = self
            .store
            .delete_filter(args.id, self.config.actor())
            .await?;
        self.changed(Some(deleted.workspace_id), ChangedEntity::Filters);
        Ok(deleted)
    }

    /// The workspace's filter of this name, for the CLI's `--filter`.
    pub async fn filter_by_name(
        &self,
        workspace_id: i64,
        name: &str,
    ) -> Result<SavedFilter, ApiError> {
        Ok(self.store.saved_filter(workspace_id, name).await?)
    }
}
