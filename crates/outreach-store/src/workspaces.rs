//! Workspaces: one per agency client.

use outreach_core::prospect::Workspace;
use outreach_core::scoring::ScoringConfig;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::record;
use crate::error::{conflict_or, corrupt};
use crate::{Actor, Store, StoreError};

/// The editable fields of a workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WorkspaceFields {
    /// Unique name, 1 to 100 characters.
    pub name: String,
    /// Postal address carried by every message.
    pub postal_address: String,
    /// Legal notice text.
    pub legal_notice: String,
}

impl WorkspaceFields {
    fn validated(&self) -> Result<Self, StoreError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("a workspace needs a name".into()));
        }
        if name.chars().count() > 100 {
            return Err(StoreError::Invalid(
                "a workspace name can have at most 100 characters".into(),
            ));
        }
        Ok(Self {
            name: name.to_string(),
            postal_address: self.postal_address.trim().to_string(),
            legal_notice: self.legal_notice.trim().to_string(),
        })
    }
}

struct Row {
    id: i64,
    name: String,
    postal_address: String,
    legal_notice: String,
    scoring_config: String,
    retention_months: i64,
    created_at: String,
}

impl TryFrom<Row> for Workspace {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(Workspace {
            id: r.id,
            name: r.name,
            postal_address: r.postal_address,
            legal_notice: r.legal_notice,
            scoring: serde_json::from_str(&r.scoring_config)
                .map_err(|e| StoreError::Corrupt(format!("scoring settings: {e}")))?,
            retention_months: u16::try_from(r.retention_months).map_err(|_| {
                StoreError::Corrupt(format!("retention of {} months", r.retention_months))
            })?,
            created_at: r.created_at,
        })
    }
}

impl Store {
    /// Creates a workspace.
    pub async fn create_workspace(
        &self,
        fields: &WorkspaceFields,
        actor: Actor,
    ) -> Result<Workspace, StoreError> {
        let f = fields.validated()?;
        let mut tx = self.begin_write().await?;
        let id = sqlx::query!(
            "INSERT INTO workspaces (name, postal_address, legal_notice) VALUES (?, ?, ?)",
            f.name,
            f.postal_address,
            f.legal_notice
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_or(e, || {
                format!("a workspace named '{}' already exists", f.name)
            })
        })?
        .last_insert_rowid();
        record(
            &mut tx,
            Some(id),
            actor,
            "workspace.create",
            &format!("Created workspace #{id}"),
            None,
        )
        .await?;
        tx.commit().await?;
        self.workspace(id).await
    }

    /// Every workspace that is not deleted, by name.
    pub async fn list_workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        sqlx::query_as!(
            Row,
            r#"SELECT id AS "id!", name, postal_address, legal_notice, scoring_config, retention_months, created_at
               FROM workspaces WHERE deleted_at IS NULL ORDER BY name COLLATE NOCASE"#
        )
        .fetch_all(self.readers())
        .await?
        .into_iter()
        .map(Workspace::try_from)
        .collect()
    }

    /// One workspace by id.
    pub async fn workspace(&self, id: i64) -> Result<Workspace, StoreError> {
        sqlx::query_as!(
            Row,
            r#"SELECT id AS "id!", name, postal_address, legal_notice, scoring_config, retention_months, created_at
               FROM workspaces WHERE id = ? AND deleted_at IS NULL"#,
            id
        )
        .fetch_optional(self.readers())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("workspace #{id}")))?
        .try_into()
    }

    /// One workspace by name (case-insensitive).
    pub async fn workspace_by_name(&self, name: &str) -> Result<Workspace, StoreError> {
        let name = name.trim();
        sqlx::query_as!(
            Row,
            r#"SELECT id AS "id!", name, postal_address, legal_notice, scoring_config, retention_months, created_at
               FROM workspaces WHERE name = ? COLLATE NOCASE AND deleted_at IS NULL"#,
            name
        )
        .fetch_optional(self.readers())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("workspace '{name}'")))?
        .try_into()
    }

    /// Changes a workspace's name, address and legal notice. A change takes back the queued
    /// messages of its campaigns never tried, to be written again with it. Returns the
    /// workspace and how many were taken back.
    pub async fn update_workspace(
        &self,
        id: i64,
        fields: &WorkspaceFields,
        actor: Actor,
    ) -> Result<(Workspace, u32), StoreError> {
        let f = fields.validated()?;
        let mut tx = self.begin_write().await?;
        let before = sqlx::query!(
            "SELECT name, postal_address, legal_notice FROM workspaces WHERE id = ? AND deleted_at IS NULL",
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("workspace #{id}")))?;
        let changed = sqlx::query!(
            r#"UPDATE workspaces SET name = ?, postal_address = ?, legal_notice = ?,
                   updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
               WHERE id = ? AND deleted_at IS NULL"#,
            f.name,
            f.postal_address,
            f.legal_notice,
            id
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_or(e, || {
                format!("a workspace named '{}' already exists", f.name)
            })
        })?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound(format!("workspace #{id}")));
        }
        let mut summary = format!("Updated workspace #{id}");
        // Each is a variable of every template (`workspace`, `postal_address`, the notice).
        let mut rewritten = 0;
        if (&before.name, &before.postal_address, &before.legal_notice)
            != (&f.name, &f.postal_address, &f.legal_notice)
        {
            rewritten = crate::outbox::withdraw_written_from(
                &mut tx,
                crate::outbox::WrittenFrom::Workspace(id),
            )
            .await?;
            if rewritten > 0 {
                summary.push_str(&format!(
                    "; {rewritten} queued message(s) taken back, to be written again with the change"
                ));
            }
        }
        record(&mut tx, Some(id), actor, "workspace.update", &summary, None).await?;
        tx.commit().await?;
        Ok((self.workspace(id).await?, rewritten))
    }

    /// Saves a workspace's scoring weights and threshold.
    pub async fn set_scoring_config(
        &self,
        id: i64,
        config: &ScoringConfig,
        actor: Actor,
    ) -> Result<Workspace, StoreError> {
        config
            .validate()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let json = serde_json::to_string(config).map_err(corrupt)?;
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query!(
            r#"UPDATE workspaces SET scoring_config = ?,
                   updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
               WHERE id = ? AND deleted_at IS NULL"#,
            json,
            id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound(format!("workspace #{id}")));
        }
        let details = serde_json::to_value(config).ok();
        record(
            &mut tx,
            Some(id),
            actor,
            "settings.scoring",
            &format!("Changed scoring settings (threshold {})", config.threshold),
            details.as_ref(),
        )
        .await?;
        tx.commit().await?;
        self.workspace(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditFilter;
    use crate::testing::store;

    fn fields(name: &str) -> WorkspaceFields {
        WorkspaceFields {
            name: name.into(),
            postal_address: "1 Example Street".into(),
            legal_notice: String::new(),
        }
    }

    #[tokio::test]
    async fn workspaces_are_created_listed_and_unique_by_name() {
        let (store, _dir) = store().await;
        let a = store
            .create_workspace(&fields("  Acme  "), Actor::Cli)
            .await
            .unwrap();
        assert_eq!(a.name, "Acme");
        assert_eq!(a.scoring, ScoringConfig::default());
        let err = store
            .create_workspace(&fields("acme"), Actor::Cli)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        store
            .create_workspace(&fields("Beta"), Actor::Cli)
            .await
            .unwrap();
        let names: Vec<String> = store
            .list_workspaces()
            .await
            .unwrap()
            .into_iter()
            .map(|w| w.name)
            .collect();
        assert_eq!(names, vec!["Acme", "Beta"]);
        assert_eq!(store.workspace_by_name("ACME").await.unwrap().id, a.id);
        let log = store
            .audit_log(a.id, &AuditFilter::default(), 10, None)
            .await
            .unwrap();
        assert_eq!(log[0].action, "workspace.create");
        store.close().await;
    }

    #[tokio::test]
    async fn empty_names_and_bad_scoring_change_nothing() {
        let (store, _dir) = store().await;
        assert!(matches!(
            store.create_workspace(&fields("  "), Actor::Cli).await,
            Err(StoreError::Invalid(_))
        ));
        let w = store
            .create_workspace(&fields("A"), Actor::Cli)
            .await
            .unwrap();
        let bad = ScoringConfig {
            threshold: 150,
            ..Default::default()
        };
        assert!(
            store
                .set_scoring_config(w.id, &bad, Actor::Cli)
                .await
                .is_err()
        );
        assert_eq!(
            store.workspace(w.id).await.unwrap().scoring,
            ScoringConfig::default()
        );
        let good = ScoringConfig {
            threshold: 60,
            ..Default::default()
        };
        assert_eq!(
            store
                .set_scoring_config(w.id, &good, Actor::Cli)
                .await
                .unwrap()
                .scoring
                .threshold,
            60
        );
        store.close().await;
    }
}
