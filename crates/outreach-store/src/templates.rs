//! Message templates of a workspace.

use outreach_core::campaign::Template;

use crate::audit::record;
use crate::error::conflict_or;
use crate::trash::quoted_list;
use crate::{Actor, Store, StoreError};

/// Longest subject or body a template may have: far above any real email, low enough that a
/// pasted file by mistake is refused instead of rendered thousands of times.
const MAX_TEMPLATE_CHARS: usize = 100_000;

fn validated(name: &str, subject: &str, body: &str) -> Result<String, StoreError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid("a template needs a name".into()));
    }
    if subject.chars().count() > 998 {
        return Err(StoreError::Invalid(
            "a subject can have at most 998 characters".into(),
        ));
    }
    if body.chars().count() > MAX_TEMPLATE_CHARS {
        return Err(StoreError::Invalid(format!(
            "a body can have at most {MAX_TEMPLATE_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

impl Store {
    /// Saves a new template (its syntax is checked by the caller, which owns the engine).
    pub async fn create_template(
        &self,
        workspace_id: i64,
        name: &str,
        subject: &str,
        body: &str,
        actor: Actor,
    ) -> Result<Template, StoreError> {
        let name = validated(name, subject, body)?;
        let mut tx = self.begin_write().await?;
        let id = sqlx::query!(
            "INSERT INTO templates (workspace_id, name, subject, body) VALUES (?, ?, ?, ?)",
            workspace_id,
            name,
            subject,
            body
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_or(e, || format!("a template named '{name}' already exists")))?
        .last_insert_rowid();
        record(
            &mut tx,
            Some(workspace_id),
            actor,
            "template.create",
            &format!("Created template #{id}"),
            None,
        )
        .await?;
        tx.commit().await?;
        self.template(id).await
    }

    /// Changes a template. Messages of running or paused campaigns written from it and not
    /// yet tried are taken back, to be written again with the new text; see
    /// [`crate::outbox::withdraw_unsent`]. Returns the template and how many were taken back.
    pub async fn update_template(
        &self,
        id: i64,
        name: &str,
        subject: &str,
        body: &str,
        actor: Actor,
    ) -> Result<(Template, u32), StoreError> {
        let name = validated(name, subject, body)?;
        // Read in the write: a template moved to the trash meanwhile is not changed (nor
        // audited as changed).
        let mut tx = self.begin_write().await?;
        let current = sqlx::query!(
            "SELECT workspace_id, subject, body FROM templates WHERE id = ? AND deleted_at IS NULL",
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("template #{id}")))?;
        sqlx::query!(
            "UPDATE templates SET name = ?, subject = ?, body = ?,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?",
            name,
            subject,
            body,
            id
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_or(e, || format!("a template named '{name}' already exists")))?;
        let rewritten = if current.subject != subject || current.body != body {
            crate::outbox::withdraw_written_from(&mut tx, crate::outbox::WrittenFrom::Template(id))
                .await?
        } else {
            0
        };
        let mut summary = format!("Changed template #{id}");
        if rewritten > 0 {
            summary.push_str(&format!(
                "; {rewritten} queued message(s) written from it taken back, to be written again"
            ));
        }
        record(
            &mut tx,
            Some(current.workspace_id),
            actor,
            "template.update",
            &summary,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok((self.template(id).await?, rewritten))
    }

    /// Moves a template to the trash. Refused while a campaign outside the trash uses it (in
    /// a step or as its positive follow-up), naming them: a campaign must never point at a
    /// template nobody can see. Messages already rendered from it keep their text.
    pub async fn delete_template(&self, id: i64, actor: Actor) -> Result<Template, StoreError> {
        let t = self.template(id).await?;
        let mut tx = self.begin_write().await?;
        let users = campaigns_using(&mut tx, id).await?;
        if !users.is_empty() {
            return Err(StoreError::Conflict(format!(
                "template '{}' is used by {}; take it out of {} or move {} to the trash first",
                t.name,
                quoted_list(&users),
                if users.len() == 1 {
                    "that campaign"
                } else {
                    "those campaigns"
                },
                if users.len() == 1 { "it" } else { "them" },
            )));
        }
        let moved = sqlx::query!(
            "UPDATE templates SET deleted_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ? AND deleted_at IS NULL",
            id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Err(StoreError::NotFound(format!("template #{id}")));
        }
        record(
            &mut tx,
            Some(t.workspace_id),
            actor,
            "template.delete",
            &format!("Moved template #{id} to the trash"),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(t)
    }

    /// Takes a template out of the trash, unless another template has its name now.
    pub async fn restore_template(&self, id: i64, actor: Actor) -> Result<Template, StoreError> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query!(
            "SELECT workspace_id, name FROM templates WHERE id = ? AND deleted_at IS NOT NULL",
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("trashed template #{id}")))?;
        sqlx::query!(
            "UPDATE templates SET deleted_at = NULL,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?",
            id
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_or(e, || {
                format!(
                    "another template is named '{}' now; rename it to restore this one",
                    r.name
                )
            })
        })?;
        record(
            &mut tx,
            Some(r.workspace_id),
            actor,
            "template.restore",
            &format!("Restored template #{id} from the trash"),
            None,
        )
        .await?;
        tx.commit().await?;
        self.template(id).await
    }

    /// One template by id.
    pub async fn template(&self, id: i64) -> Result<Template, StoreError> {
        sqlx::query_as!(
            Template,
            r#"SELECT id AS "id!", workspace_id, name, subject, body, updated_at
               FROM templates WHERE id = ? AND deleted_at IS NULL"#,
            id
        )
        .fetch_optional(self.readers())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("template #{id}")))
    }

    /// A workspace's templates, by name.
    pub async fn list_templates(&self, workspace_id: i64) -> Result<Vec<Template>, StoreError> {
        Ok(sqlx::query_as!(
            Template,
            r#"SELECT id AS "id!", workspace_id, name, subject, body, updated_at
               FROM templates WHERE workspace_id = ? AND deleted_at IS NULL
               ORDER BY name COLLATE NOCASE"#,
            workspace_id
        )
        .fetch_all(self.readers())
        .await?)
    }

    /// A template by workspace and name (case-insensitive), for the CLI.
    pub async fn template_by_name(
        &self,
        workspace_id: i64,
        name: &str,
    ) -> Result<Template, StoreError> {
        let name = name.trim();
        sqlx::query_as!(
            Template,
            r#"SELECT id AS "id!", workspace_id, name, subject, body, updated_at
               FROM templates
               WHERE workspace_id = ? AND name = ? COLLATE NOCASE AND deleted_at IS NULL"#,
            workspace_id,
            name
        )
        .fetch_optional(self.readers())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("template '{name}'")))
    }
}

/// The campaigns outside the trash that use a template, by name, each once.
async fn campaigns_using(
    tx: &mut sqlx::SqliteConnection,
    template_id: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT DISTINCT c.name AS "name!" FROM campaigns c
           WHERE c.deleted_at IS NULL
             AND (c.positive_template_id = ?1
                  OR EXISTS (SELECT 1 FROM sequence_steps s
                             JOIN step_variants v ON v.step_id = s.id
                             WHERE s.campaign_id = c.id AND v.template_id = ?1))
           ORDER BY c.name COLLATE NOCASE"#,
        template_id
    )
    .fetch_all(&mut *tx)
    .await?)
}
