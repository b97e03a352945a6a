//! The engine's hourly housekeeping: it finishes deleting workspaces and erases, in every
//! workspace, the prospects whose retention period has ended.

use jiff::Timestamp;
use outreach_store::erasure::ErasureCounts;
use outreach_store::{Actor, StoreError};
use tokio::sync::watch;

use crate::{Change, Engine, EngineError, iso};

impl Engine {
    /// Erases, in every workspace, the prospects whose retention period ended by `now`, until
    /// none is left or `shutdown` turns true. Returns what went, in all.
    pub async fn purge_expired(
        &self,
        now: Timestamp,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<ErasureCounts, EngineError> {
        let now = iso(now);
        let mut total = ErasureCounts::default();
        for workspace in self.store.list_workspaces().await? {
            let each_batch = |_: &ErasureCounts| {
                let _ = self.changes.send((workspace.id, Change::Prospects));
                !*shutdown.borrow()
            };
            match self
                .store
                .purge_all_expired(workspace.id, &now, Actor::System, each_batch)
                .await
            {
                Ok(purged) => total += purged,
                // Deleted meanwhile.
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(total)
    }

    /// Finishes deleting the workspaces whose erasing was cut short (a crash) or waited for a
    /// message on the wire.
    pub async fn finish_workspace_deletions(&self) -> Result<(), EngineError> {
        for workspace in self.store.workspaces_being_deleted().await? {
            self.store
                .finish_workspace_deletion(workspace, Actor::System, |_| {})
                .await?;
        }
        Ok(())
    }

    /// Purges at once, then every `retention_interval`, until `shutdown` turns true; each time
    /// it first finishes deleting workspaces.
    pub(crate) async fn housekeeping_loop(&self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            if let Err(e) = self.finish_workspace_deletions().await {
                self.status
                    .send_modify(|s| s.last_error = Some(format!("deleting a workspace: {e}")));
            }
            let purged = self.purge_expired(Timestamp::now(), &shutdown).await;
            // The round is over either way: `outreach run --until-idle` must not wait for a
            // purge that keeps failing (the failure is shown).
            let done = iso(Timestamp::now());
            self.status.send_modify(|s| {
                match purged {
                    Ok(p) => s.purged += p.prospects,
                    Err(e) => s.last_error = Some(format!("retention purge: {e}")),
                }
                s.purge_done_at = Some(done);
            });
            tokio::select! {
                _ = tokio::time::sleep(self.config.retention_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
