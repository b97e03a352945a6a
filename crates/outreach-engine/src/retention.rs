//! The retention purge: prospects whose retention period has ended are erased, a batch per
//! transaction so that sends and replies are written in between. The same hourly round
//! finishes deleting workspaces.

use jiff::Timestamp;
use outreach_store::erasure::ErasureCounts;
use outreach_store::{Actor, Store, StoreError};
use tokio::sync::watch;

use crate::{Change, Engine, EngineError, iso};

/// Prospects erased per transaction.
const BATCH: u32 = 200;

/// Erases the workspace's prospects whose retention period ended by `now`, until none is left
/// or `stop` turns true; `on_batch` hears of each batch. Returns what went, in all.
pub async fn purge_workspace(
    store: &Store,
    workspace_id: i64,
    now: Timestamp,
    actor: Actor,
    stop: &watch::Receiver<bool>,
    mut on_batch: impl FnMut(&ErasureCounts),
) -> Result<ErasureCounts, StoreError> {
    let now = iso(now);
    let mut total = ErasureCounts::default();
    while !*stop.borrow() {
        let batch = store
            .purge_expired(workspace_id, &now, BATCH, actor)
            .await?;
        if batch.prospects == 0 {
            break;
        }
        on_batch(&batch);
        total += batch;
    }
    Ok(total)
}

impl Engine {
    /// Purges every workspace as of `now` (see [`purge_workspace`]).
    pub async fn purge_expired(
        &self,
        now: Timestamp,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<ErasureCounts, EngineError> {
        let mut total = ErasureCounts::default();
        for workspace in self.store.list_workspaces().await? {
            let notify = |_: &ErasureCounts| {
                let _ = self.changes.send((workspace.id, Change::Prospects));
            };
            match purge_workspace(
                &self.store,
                workspace.id,
                now,
                Actor::System,
                shutdown,
                notify,
            )
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
    pub(crate) async fn retention_loop(&self, mut shutdown: watch::Receiver<bool>) {
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
