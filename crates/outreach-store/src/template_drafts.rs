//! What a person was typing in the template editor and had not saved yet, kept as they type
//! so that a crash or a power cut loses none of it. Saving the template, or giving the edit
//! up, removes it. Not audited: nothing is sent or decided from a draft.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Store, StoreError};

/// The longest name, subject and body a draft keeps, together (in characters): more than any
/// template may have, so that a draft is never refused for what saving would refuse anyway.
const MAX_DRAFT_CHARS: usize = 200_000;

/// Unsaved edits of a template, or of a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TemplateDraft {
    /// The template edited; none for a new one.
    #[ts(type = "number | null")]
    pub template_id: Option<i64>,
    /// Name as typed.
    pub name: String,
    /// Subject as typed.
    pub subject: String,
    /// Body as typed.
    pub body: String,
    /// When it was kept (ISO 8601).
    pub saved_at: String,
}

impl Store {
    /// Keeps unsaved edits of a template of the workspace (`None`: a new one), replacing
    /// those kept before, and returns them.
    pub async fn save_template_draft(
        &self,
        workspace_id: i64,
        template_id: Option<i64>,
        name: &str,
        subject: &str,
        body: &str,
    ) -> Result<TemplateDraft, StoreError> {
        let size = name.chars().count() + subject.chars().count() + body.chars().count();
        if size > MAX_DRAFT_CHARS {
            return Err(StoreError::Invalid(format!(
                "a template being written can have at most {MAX_DRAFT_CHARS} characters"
            )));
        }
        let mut tx = self.begin_write().await?;
        // Of a workspace and a template still there (not deleted or moved to the trash
        // meanwhile), read in the write.
        let there = sqlx::query!(
            r#"SELECT EXISTS (SELECT 1 FROM workspaces WHERE id = ?1 AND deleted_at IS NULL)
                   AS "workspace!: bool",
               ?2 IS NULL OR EXISTS (SELECT 1 FROM templates
                                      WHERE id = ?2 AND workspace_id = ?1 AND deleted_at IS NULL)
                   AS "template!: bool""#,
            workspace_id,
            template_id
        )
        .fetch_one(&mut *tx)
        .await?;
        if !there.workspace {
            return Err(StoreError::NotFound(format!("workspace #{workspace_id}")));
        }
        if !there.template {
            return Err(StoreError::NotFound(format!(
                "template #{}",
                template_id.unwrap_or_default()
            )));
        }
        sqlx::query!(
            "DELETE FROM template_drafts WHERE workspace_id = ? AND template_id IS ?",
            workspace_id,
            template_id
        )
        .execute(&mut *tx)
        .await?;
        let draft = sqlx::query_as!(
            TemplateDraft,
            r#"INSERT INTO template_drafts (workspace_id, template_id, name, subject, body)
               VALUES (?, ?, ?, ?, ?)
               RETURNING template_id, name, subject, body, saved_at"#,
            workspace_id,
            template_id,
            name,
            subject,
            body
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(draft)
    }

    /// The unsaved edits kept of a template of the workspace (`None`: a new one), if any.
    pub async fn template_draft(
        &self,
        workspace_id: i64,
        template_id: Option<i64>,
    ) -> Result<Option<TemplateDraft>, StoreError> {
        Ok(sqlx::query_as!(
            TemplateDraft,
            r#"SELECT template_id, name, subject, body, saved_at FROM template_drafts
               WHERE workspace_id = ? AND template_id IS ?"#,
            workspace_id,
            template_id
        )
        .fetch_optional(self.readers())
        .await?)
    }

    /// Forgets the unsaved edits kept of a template of the workspace (`None`: a new one);
    /// whether there were any.
    pub async fn discard_template_draft(
        &self,
        workspace_id: i64,
        template_id: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query!(
            "DELETE FROM template_drafts WHERE workspace_id = ? AND template_id IS ?",
            workspace_id,
            template_id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }
}
