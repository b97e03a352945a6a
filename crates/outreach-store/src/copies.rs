//! Copies of campaigns and templates: new drafts to change and run again, named after what
//! they copy.

use outreach_core::campaign::{Campaign, Template};

use crate::{Actor, Store, StoreError};

/// What is copied, for its name.
#[derive(Debug, Clone, Copy)]
enum Named {
    Campaign,
    Template,
}

impl Store {
    /// Copies a campaign's settings and sequence into a new draft, with nobody enrolled: how a
    /// sequence that ended runs again, or one is tried on new people with changes. Its name is
    /// `name`, or "Copy of …" (numbered when taken); an account removed since is left out.
    pub async fn copy_campaign(
        &self,
        id: i64,
        name: Option<&str>,
        actor: Actor,
    ) -> Result<Campaign, StoreError> {
        let c = self.campaign(id).await?;
        let mut fields = c.fields.clone();
        if let Some(a) = fields.account_id
            && let Err(StoreError::NotFound(_)) = self.account(a).await
        {
            fields.account_id = None;
        }
        fields.name = match name {
            Some(n) => n.to_string(),
            None => {
                self.free_name(Named::Campaign, c.workspace_id, &c.fields.name)
                    .await?
            }
        };
        self.create_campaign(c.workspace_id, &fields, actor).await
    }

    /// Copies a template into a new one of the same subject and body (to write an A/B variant,
    /// say), named `name` or "Copy of …" (numbered when taken).
    pub async fn copy_template(
        &self,
        id: i64,
        name: Option<&str>,
        actor: Actor,
    ) -> Result<Template, StoreError> {
        let t = self.template(id).await?;
        let name = match name {
            Some(n) => n.to_string(),
            None => {
                self.free_name(Named::Template, t.workspace_id, &t.name)
                    .await?
            }
        };
        self.create_template(t.workspace_id, &name, &t.subject, &t.body, actor)
            .await
    }

    /// "Copy of `original`", or "Copy of `original` (2)", (3), ...: the first name nothing of
    /// that kind in the workspace has (outside the trash).
    async fn free_name(
        &self,
        named: Named,
        workspace_id: i64,
        original: &str,
    ) -> Result<String, StoreError> {
        let base = format!("Copy of {original}");
        let mut candidate = base.clone();
        for n in 2.. {
            let taken = match named {
                Named::Campaign => {
                    sqlx::query_scalar!(
                        "SELECT count(*) FROM campaigns
                         WHERE workspace_id = ? AND name = ? COLLATE NOCASE AND deleted_at IS NULL",
                        workspace_id,
                        candidate
                    )
                    .fetch_one(self.readers())
                    .await?
                }
                Named::Template => {
                    sqlx::query_scalar!(
                        "SELECT count(*) FROM templates
                         WHERE workspace_id = ? AND name = ? COLLATE NOCASE AND deleted_at IS NULL",
                        workspace_id,
                        candidate
                    )
                    .fetch_one(self.readers())
                    .await?
                }
            };
            if taken == 0 {
                break;
            }
            candidate = format!("{base} ({n})");
        }
        Ok(candidate)
    }
}
