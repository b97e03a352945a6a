//! Templates and campaigns to the trash and back.

use outreach_core::campaign::{Campaign, Template};
use outreach_store::trash::Trash;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Api, ApiError, CampaignRef, ChangedEntity, WorkspaceRef};

/// A template.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct TemplateRef {
    /// Its id.
    #[ts(type = "number")]
    pub template_id: i64,
}

impl Api {
    /// Moves a template to the trash (refused while a campaign uses it) and returns it.
    pub async fn delete_template(&self, args: TemplateRef) -> Result<Template, ApiError> {
        let t = self
            .store
            .delete_template(args.template_id, self.config.actor())
            .await?;
        self.changed(Some(t.workspace_id), ChangedEntity::Campaigns);
        Ok(t)
    }

    /// Takes a template out of the trash.
    pub async fn restore_template(&self, args: TemplateRef) -> Result<Template, ApiError> {
        let t = self
            .store
            .restore_template(args.template_id, self.config.actor())
            .await?;
        self.changed(Some(t.workspace_id), ChangedEntity::Campaigns);
        Ok(t)
    }

    /// Moves a campaign that sends nothing more to the trash and returns it; its history with
    /// each prospect stays.
    pub async fn delete_campaign(&self, args: CampaignRef) -> Result<Campaign, ApiError> {
        let c = self
            .store
            .delete_campaign(args.campaign_id, self.config.actor())
            .await?;
        self.changed(Some(c.workspace_id), ChangedEntity::Campaigns);
        Ok(c)
    }

    /// Takes a campaign out of the trash, as it was.
    pub async fn restore_campaign(&self, args: CampaignRef) -> Result<Campaign, ApiError> {
        let c = self
            .store
            .restore_campaign(args.campaign_id, self.config.actor())
            .await?;
        self.changed(Some(c.workspace_id), ChangedEntity::Campaigns);
        Ok(c)
    }

    /// The workspace's templates and campaigns in the trash.
    pub async fn trash(&self, args: WorkspaceRef) -> Result<Trash, ApiError> {
        Ok(self.store.trash(args.workspace_id).await?)
    }
}
