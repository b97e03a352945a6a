//! Unsaved template edits, kept as they are typed so that a crash loses none of them.

use outreach_store::template_drafts::TemplateDraft;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Api, ApiError};

/// The unsaved edits of a template, or of a new one.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct TemplateDraftRef {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The template edited; none for a new one.
    #[ts(type = "number | null")]
    pub template_id: Option<i64>,
}

/// Edits of a template as typed so far.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct KeepTemplateDraft {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The template edited; none for a new one.
    #[ts(type = "number | null")]
    pub template_id: Option<i64>,
    /// Name.
    pub name: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
}

impl Api {
    /// Keeps what is typed in a template editor, replacing what was kept before; saving the
    /// template ([`Api::save_template`]) or [`Api::discard_template_draft`] forgets it.
    pub async fn keep_template_draft(
        &self,
        args: KeepTemplateDraft,
    ) -> Result<TemplateDraft, ApiError> {
        Ok(self
            .store
            .save_template_draft(
                args.workspace_id,
                args.template_id,
                &args.name,
                &args.subject,
                &args.body,
            )
            .await?)
    }

    /// What was typed in a template editor and not saved, if anything was kept.
    pub async fn template_draft(
        &self,
        args: TemplateDraftRef,
    ) -> Result<Option<TemplateDraft>, ApiError> {
        Ok(self
            .store
            .template_draft(args.workspace_id, args.template_id)
            .await?)
    }

    /// Forgets what was kept of a template editor's unsaved edits (the person gave them up);
    /// whether anything was kept.
    pub async fn discard_template_draft(&self, args: TemplateDraftRef) -> Result<bool, ApiError> {
        Ok(self
            .store
            .discard_template_draft(args.workspace_id, args.template_id)
            .await?)
    }
}
