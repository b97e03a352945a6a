//! The commands: their argument types and their implementations.

use std::path::{Path, PathBuf};

use outreach_core::mapping::ColumnMapping;
use outreach_core::prospect::{AuditActor, AuditEntry, AuditTopic, Prospect, Workspace};
use outreach_core::scoring::{Scorer, ScoringConfig};
use outreach_discovery::csv_source::{self, CsvPreview, ReadProgress};
use outreach_store::audit::AuditFilter;
use outreach_store::erasure::ErasureCounts;
use outreach_store::import::{ImportBatch, ImportReport};
use outreach_store::prospects::{Facets, ProspectPage, ProspectPatch, ProspectQuery, ScoreUpdate};
use outreach_store::workspace_deletion::DeletedWorkspace;
use outreach_store::workspaces::WorkspaceFields;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Api, ApiError, ApiEvent, ChangedEntity, ErrorCode, ImportPhase};

/// Every command: `name(Args) -> Response;`. Pass a macro that takes this list to generate
/// adapters (the Tauri shell) or bindings (`outreach-bindings`).
#[macro_export]
macro_rules! for_each_command {
    ($m:ident) => {
        $m! {
            app_info($crate::NoArgs) -> $crate::AppInfo;
            list_workspaces($crate::NoArgs) -> Vec<$crate::core::prospect::Workspace>;
            create_workspace($crate::store::workspaces::WorkspaceFields) -> $crate::core::prospect::Workspace;
            update_workspace($crate::UpdateWorkspace) -> $crate::Saved<$crate::core::prospect::Workspace>;
            workspace_contents($crate::WorkspaceRef) -> $crate::store::workspace_deletion::WorkspaceContents;
            deleted_workspaces($crate::NoArgs) -> Vec<$crate::store::workspace_deletion::DeletedWorkspace>;
            delete_workspace($crate::DeleteWorkspace) -> $crate::WorkspaceDeletion;
            set_scoring_config($crate::SetScoringConfig) -> $crate::core::prospect::Workspace;
            preview_import($crate::PreviewImport) -> $crate::ImportPreview;
            import_csv($crate::ImportCsv) -> $crate::store::import::ImportReport;
            export_import_errors($crate::ExportImportErrors) -> u32;
            list_prospects($crate::store::prospects::ProspectQuery) -> $crate::store::prospects::ProspectPage;
            matching_prospect_ids($crate::store::prospects::ProspectQuery) -> $crate::ProspectIds;
            get_prospect($crate::ProspectId) -> $crate::core::prospect::Prospect;
            update_prospect($crate::UpdateProspect) -> $crate::Saved<$crate::core::prospect::Prospect>;
            delete_prospects($crate::ProspectIds) -> u32;
            set_prospects_status($crate::SetProspectsStatus) -> $crate::store::prospects::StatusChange;
            restore_prospects($crate::ProspectIds) -> u32;
            preview_erasure($crate::ProspectIds) -> $crate::store::erasure::ErasureCounts;
            erase_prospects($crate::ProspectIds) -> $crate::store::erasure::ErasureCounts;
            export_personal_data($crate::ExportPersonalData) -> u32;
            retention_status($crate::RetentionQuery) -> $crate::store::retention::RetentionStatus;
            set_retention($crate::SetRetention) -> $crate::store::retention::RetentionStatus;
            purge_expired($crate::WorkspaceRef) -> $crate::store::erasure::ErasureCounts;
            prospect_facets($crate::WorkspaceRef) -> $crate::store::prospects::Facets;
            list_filters($crate::WorkspaceRef) -> Vec<$crate::store::saved_filters::SavedFilter>;
            save_filter($crate::SaveFilter) -> $crate::store::saved_filters::SavedFilter;
            delete_filter($crate::FilterRef) -> $crate::store::saved_filters::SavedFilter;
            score_prospects($crate::WorkspaceRef) -> $crate::ScoreSummary;
            list_audit($crate::AuditQuery) -> Vec<$crate::core::prospect::AuditEntry>;
            load_demo($crate::NoArgs) -> $crate::core::prospect::Workspace;
            get_sending_settings($crate::WorkspaceRef) -> $crate::core::campaign::SendingSettings;
            set_sending_settings($crate::SetSendingSettings) -> $crate::Saved<$crate::core::campaign::SendingSettings>;
            get_assessment($crate::WorkspaceRef) -> Option<$crate::core::campaign::LegitimateInterestAssessment>;
            record_assessment($crate::RecordAssessment) -> $crate::core::campaign::LegitimateInterestAssessment;
            assign_legitimate_interest($crate::ProspectIds) -> u32;
            record_consent($crate::RecordConsent) -> $crate::core::prospect::Prospect;
            consent_history($crate::ProspectId) -> Vec<$crate::store::consent::ConsentEvent>;
            opt_out_prospect($crate::ProspectId) -> u32;
            list_accounts($crate::WorkspaceRef) -> Vec<$crate::core::campaign::SenderAccount>;
            save_account($crate::SaveAccount) -> $crate::Saved<$crate::core::campaign::SenderAccount>;
            test_account($crate::AccountRef) -> $crate::AccountTest;
            delete_account($crate::AccountRef) -> $crate::core::campaign::SenderAccount;
            list_templates($crate::WorkspaceRef) -> Vec<$crate::core::campaign::Template>;
            save_template($crate::SaveTemplate) -> $crate::Saved<$crate::core::campaign::Template>;
            copy_template($crate::CopyTemplate) -> $crate::core::campaign::Template;
            preview_template($crate::PreviewTemplate) -> $crate::TemplatePreview;
            delete_template($crate::TemplateRef) -> $crate::core::campaign::Template;
            restore_template($crate::TemplateRef) -> $crate::core::campaign::Template;
            keep_template_draft($crate::KeepTemplateDraft) -> $crate::store::template_drafts::TemplateDraft;
            template_draft($crate::TemplateDraftRef) -> Option<$crate::store::template_drafts::TemplateDraft>;
            discard_template_draft($crate::TemplateDraftRef) -> bool;
            list_campaigns($crate::WorkspaceRef) -> Vec<$crate::core::campaign::Campaign>;
            get_campaign($crate::CampaignRef) -> $crate::core::campaign::Campaign;
            save_campaign($crate::SaveCampaign) -> $crate::core::campaign::Campaign;
            copy_campaign($crate::CopyCampaign) -> $crate::core::campaign::Campaign;
            preview_enrolment($crate::EnrolFilter) -> $crate::EnrolPreview;
            enrol_prospects($crate::EnrolFilter) -> $crate::EnrolResult;
            check_campaign($crate::CampaignRef) -> $crate::CampaignCheck;
            start_campaign($crate::CampaignRef) -> $crate::core::campaign::Campaign;
            pause_campaign($crate::CampaignRef) -> $crate::core::campaign::Campaign;
            stop_campaign($crate::CampaignRef) -> $crate::core::campaign::Campaign;
            delete_campaign($crate::CampaignRef) -> $crate::core::campaign::Campaign;
            restore_campaign($crate::CampaignRef) -> $crate::core::campaign::Campaign;
            trash($crate::WorkspaceRef) -> $crate::store::trash::Trash;
            campaign_progress($crate::CampaignRef) -> $crate::store::campaigns::CampaignProgress;
            list_messages($crate::ListMessages) -> Vec<$crate::store::outbox::MessageSummary>;
            list_enrolments($crate::ListEnrolments) -> Vec<$crate::store::enrolments::EnrolmentSummary>;
            prospect_campaigns($crate::ProspectId) -> Vec<$crate::store::enrolments::ProspectEnrolment>;
            resolve_unconfirmed($crate::ResolveUnconfirmed) -> u32;
            retry_blocked($crate::CampaignRef) -> u32;
            engine_status($crate::NoArgs) -> $crate::engine::EngineStatus;
            get_mailbox($crate::AccountRef) -> Option<$crate::core::inbox::Mailbox>;
            save_mailbox($crate::SaveMailbox) -> $crate::core::inbox::Mailbox;
            remove_mailbox($crate::AccountRef) -> u32;
            test_mailbox($crate::AccountRef) -> $crate::AccountTest;
            list_replies($crate::ListReplies) -> Vec<$crate::core::inbox::Reply>;
            get_reply($crate::ReplyRef) -> $crate::core::inbox::Reply;
            relabel_reply($crate::RelabelReply) -> $crate::core::inbox::Reply;
            reply_answers($crate::ReplyRef) -> Vec<$crate::core::inbox::ReplyDraft>;
            open_answer($crate::ReplyRef) -> $crate::core::inbox::ReplyDraft;
            save_answer($crate::WriteAnswer) -> $crate::core::inbox::ReplyDraft;
            send_answer($crate::WriteAnswer) -> $crate::core::inbox::ReplyDraft;
            discard_answer($crate::DraftRef) -> $crate::core::inbox::ReplyDraft;
            referrals($crate::ReplyRef) -> Vec<$crate::core::inbox::ReferralProposal>;
            accept_referral($crate::ReferralRef) -> $crate::core::inbox::ReferralProposal;
            dismiss_referral($crate::ReferralRef) -> $crate::core::inbox::ReferralProposal;
            unread_replies($crate::WorkspaceRef) -> u32;
            classify_texts($crate::ClassifyTexts) -> Vec<$crate::Classification>;
            model_status($crate::NoArgs) -> $crate::ModelStatus;
            download_model($crate::DownloadModel) -> $crate::ModelStatus;
        }
    };
}

/// The argument of commands that take none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
pub struct NoArgs {}

/// Facts about the running application.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AppInfo {
    /// Version of the application.
    pub version: String,
    /// The data folder.
    pub data_dir: String,
    /// Where the database key is kept, for people.
    pub key_store: String,
}

/// A workspace and its new fields.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct UpdateWorkspace {
    /// The workspace.
    #[ts(type = "number")]
    pub id: i64,
    /// New values.
    pub fields: WorkspaceFields,
}

/// A workspace's new scoring settings.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SetScoringConfig {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Weights and threshold.
    pub config: ScoringConfig,
}

/// A file to look at before importing.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PreviewImport {
    /// Path of the CSV file.
    pub path: String,
}

/// What a file looks like, and the proposed mapping.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ImportPreview {
    /// The file's name.
    pub file_name: String,
    /// Its size in bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// Headers, detected fields and sample rows.
    pub csv: CsvPreview,
}

/// An import to run.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ImportCsv {
    /// The workspace to import into.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Path of the CSV file.
    pub path: String,
    /// The mapping to use; `None` uses the detected one.
    pub columns: Option<Vec<ColumnMapping>>,
}

/// Where to write an import's row errors.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ExportImportErrors {
    /// The import.
    #[ts(type = "number")]
    pub import_id: i64,
    /// The CSV file to write.
    pub path: String,
}

/// One prospect.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ProspectId {
    /// Its id.
    #[ts(type = "number")]
    pub id: i64,
}

/// Some prospects of a workspace.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ProspectIds {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The prospects.
    #[ts(type = "Array<number>")]
    pub ids: Vec<i64>,
}

/// Prospects and the status to give them all.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SetProspectsStatus {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// The prospects.
    #[ts(type = "Array<number>")]
    pub ids: Vec<i64>,
    /// Their new status.
    pub status: outreach_core::ProspectStatus,
}

/// What was saved, with what saving it did to the outbox: queued messages never tried that
/// were written from the old values (a template's text, a prospect's details, a workspace's
/// address, a sender, the sending settings), taken back to be written again from the new.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct Saved<T: TS> {
    /// What was saved.
    #[serde(flatten)]
    pub item: T,
    /// How many queued messages were taken back, to be written again.
    pub rewritten: u32,
}

/// A prospect and the changes to make.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct UpdateProspect {
    /// The prospect.
    #[ts(type = "number")]
    pub id: i64,
    /// The changes.
    pub patch: ProspectPatch,
}

/// A workspace.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct WorkspaceRef {
    /// Its id.
    #[ts(type = "number")]
    pub workspace_id: i64,
}

/// The result of a scoring run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScoreSummary {
    /// Prospects scored.
    pub scored: u32,
    /// Prospects now qualified.
    pub qualified: u32,
    /// Prospects that became qualified in this run.
    pub newly_qualified: u32,
    /// Prospects that fell below the threshold in this run.
    pub no_longer_qualified: u32,
    /// The threshold used.
    pub threshold: u8,
    /// Queued messages to prospects whose score changed, taken back to be written again (a
    /// template can use the score).
    pub rewritten: u32,
}

/// A page of the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AuditQuery {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Entries to return (at most 500).
    pub limit: u32,
    /// Only entries older than this id.
    #[ts(type = "number | null")]
    pub before_id: Option<i64>,
    /// Only entries about this prospect (alone or among others), erased or not.
    #[serde(default)]
    #[ts(type = "number | null")]
    pub prospect_id: Option<i64>,
    /// Only actions of this topic.
    #[serde(default)]
    pub topic: Option<AuditTopic>,
    /// Only what this actor did.
    #[serde(default)]
    pub actor: Option<AuditActor>,
}

pub(crate) fn io_error(path: &Path, action: &str, e: std::io::Error) -> ApiError {
    ApiError::new(
        ErrorCode::Io,
        format!("cannot {action} {}: {e}", path.display()),
    )
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

async fn read_file(path: &Path) -> Result<Vec<u8>, ApiError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| io_error(path, "read", e))?;
    if meta.is_dir() {
        return Err(ApiError::invalid(format!(
            "{} is a folder, not a CSV file",
            path.display()
        )));
    }
    if meta.len() > csv_source::MAX_FILE_BYTES as u64 {
        return Err(ApiError::new(
            ErrorCode::CsvInvalid,
            format!(
                "{} is larger than 512 MiB; split it into smaller files",
                path.display()
            ),
        ));
    }
    tokio::fs::read(path)
        .await
        .map_err(|e| io_error(path, "read", e))
}

impl Api {
    pub(crate) fn changed(&self, workspace_id: Option<i64>, entity: ChangedEntity) {
        self.changed_by(workspace_id, entity, self.config.actor());
    }

    /// What a save did to the outbox: the campaigns whose waiting messages it took back, to be
    /// written again, show other figures.
    pub(crate) fn rewrote(&self, workspace_id: i64, rewritten: u32) {
        if rewritten > 0 {
            self.changed(Some(workspace_id), ChangedEntity::Campaigns);
        }
    }

    /// A change made by `actor` (the engine's are [`Actor::System`]); every change is audited,
    /// so the audit log changes with it.
    pub(crate) fn changed_by(
        &self,
        workspace_id: Option<i64>,
        entity: ChangedEntity,
        actor: outreach_store::Actor,
    ) {
        let source = actor.as_str().to_string();
        self.emit(ApiEvent::Changed {
            workspace_id,
            entity,
            source: source.clone(),
        });
        if entity != ChangedEntity::Audit {
            self.emit(ApiEvent::Changed {
                workspace_id,
                entity: ChangedEntity::Audit,
                source,
            });
        }
    }

    /// Prospects of the workspace were erased, and with them enrolments, messages, replies
    /// and saved searches naming them: every view of them refreshes.
    pub(crate) fn people_erased(&self, workspace_id: i64) {
        for entity in [
            ChangedEntity::Prospects,
            ChangedEntity::Campaigns,
            ChangedEntity::Replies,
            ChangedEntity::Filters,
        ] {
            self.changed(Some(workspace_id), entity);
        }
    }

    /// Facts about the running application.
    pub async fn app_info(&self, _: NoArgs) -> Result<AppInfo, ApiError> {
        Ok(AppInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            data_dir: self.config.data_dir.display().to_string(),
            key_store: match &self.config.key {
                crate::KeyChoice::Keychain => "OS keychain".to_string(),
                crate::KeyChoice::File(p) => format!("key file {}", p.display()),
            },
        })
    }

    /// Every workspace.
    pub async fn list_workspaces(&self, _: NoArgs) -> Result<Vec<Workspace>, ApiError> {
        Ok(self.store.list_workspaces().await?)
    }

    /// Deleted workspaces, whose audit logs stay readable (what each held, when it was
    /// erased), the most recently deleted first.
    pub async fn deleted_workspaces(&self, _: NoArgs) -> Result<Vec<DeletedWorkspace>, ApiError> {
        Ok(self.store.deleted_workspaces().await?)
    }

    /// A workspace by name, case-insensitively (for the CLI, which names workspaces; the UI
    /// holds ids).
    pub async fn workspace_by_name(&self, name: &str) -> Result<Workspace, ApiError> {
        Ok(self.store.workspace_by_name(name).await?)
    }

    /// An account by workspace and name (case-insensitive), for the CLI.
    pub async fn account_by_name(
        &self,
        workspace_id: i64,
        name: &str,
    ) -> Result<outreach_core::campaign::SenderAccount, ApiError> {
        Ok(self.store.account_by_name(workspace_id, name).await?)
    }

    /// A template by workspace and name (case-insensitive), for the CLI.
    pub async fn template_by_name(
        &self,
        workspace_id: i64,
        name: &str,
    ) -> Result<outreach_core::campaign::Template, ApiError> {
        Ok(self.store.template_by_name(workspace_id, name).await?)
    }

    /// A campaign by workspace and name (case-insensitive), for the CLI.
    pub async fn campaign_by_name(
        &self,
        workspace_id: i64,
        name: &str,
    ) -> Result<outreach_core::campaign::Campaign, ApiError> {
        Ok(self.store.campaign_by_name(workspace_id, name).await?)
    }

    /// Creates a workspace.
    pub async fn create_workspace(&self, fields: WorkspaceFields) -> Result<Workspace, ApiError> {
        let w = self
            .store
            .create_workspace(&fields, self.config.actor())
            .await?;
        self.changed(Some(w.id), ChangedEntity::Workspaces);
        Ok(w)
    }

    /// Changes a workspace's name, address and legal notice.
    pub async fn update_workspace(
        &self,
        args: UpdateWorkspace,
    ) -> Result<Saved<Workspace>, ApiError> {
        let (workspace, rewritten) = self
            .store
            .update_workspace(args.id, &args.fields, self.config.actor())
            .await?;
        self.changed(Some(workspace.id), ChangedEntity::Workspaces);
        self.rewrote(workspace.id, rewritten);
        Ok(Saved {
            item: workspace,
            rewritten,
        })
    }

    /// Saves a workspace's scoring weights and threshold (takes effect at the next scoring).
    pub async fn set_scoring_config(&self, args: SetScoringConfig) -> Result<Workspace, ApiError> {
        let w = self
            .store
            .set_scoring_config(args.workspace_id, &args.config, self.config.actor())
            .await?;
        self.changed(Some(w.id), ChangedEntity::Workspaces);
        Ok(w)
    }

    /// Reads a file's headers and first rows and proposes a column mapping.
    pub async fn preview_import(&self, args: PreviewImport) -> Result<ImportPreview, ApiError> {
        let path = PathBuf::from(&args.path);
        let bytes = read_file(&path).await?;
        let size = bytes.len() as u64;
        let csv = tokio::task::spawn_blocking(move || csv_source::preview(&bytes, 5)).await??;
        Ok(ImportPreview {
            file_name: file_name(&path),
            size,
            csv,
        })
    }

    /// Imports a CSV file into a workspace in one transaction, emitting progress events.
    pub async fn import_csv(&self, args: ImportCsv) -> Result<ImportReport, ApiError> {
        let workspace_id = args.workspace_id;
        // Fail before reading a large file into a workspace that is not there.
        self.store.workspace(workspace_id).await?;
        let path = PathBuf::from(&args.path);
        let name = file_name(&path);
        let result = self
            .run_import(workspace_id, &path, &name, args.columns)
            .await;
        if let Err(e) = &result {
            let details = serde_json::json!({ "file": name, "code": e.code });
            self.store
                .audit(
                    Some(workspace_id),
                    None,
                    self.config.actor(),
                    "prospects.import_failed",
                    &format!(
                        "Import of {name} failed; nothing was imported: {}",
                        e.message
                    ),
                    Some(&details),
                )
                .await?;
            self.changed(Some(workspace_id), ChangedEntity::Audit);
        }
        result
    }

    async fn run_import(
        &self,
        workspace_id: i64,
        path: &Path,
        name: &str,
        columns: Option<Vec<ColumnMapping>>,
    ) -> Result<ImportReport, ApiError> {
        let bytes = read_file(path).await?;
        self.import_bytes(
            workspace_id,
            name,
            bytes,
            columns,
            None,
            self.config.actor(),
        )
        .await
    }

    /// The import path every source of CSV bytes shares (files, the demo): read and validate
    /// off the async workers, then write in one transaction, with progress events throughout.
    pub(crate) async fn import_bytes(
        &self,
        workspace_id: i64,
        name: &str,
        bytes: Vec<u8>,
        columns: Option<Vec<ColumnMapping>>,
        source_type: Option<outreach_core::SourceType>,
        actor: outreach_store::Actor,
    ) -> Result<ImportReport, ApiError> {
        let events = self.events.clone();
        let (detected_source, outcome, columns) = tokio::task::spawn_blocking(move || {
            let preview = csv_source::preview(&bytes, 0)?;
            let columns = columns.unwrap_or(preview.columns);
            let outcome = csv_source::read_rows(&bytes, &columns, |p: ReadProgress| {
                let _ = events.send(ApiEvent::ImportProgress {
                    workspace_id,
                    phase: ImportPhase::Reading,
                    done: p.bytes_read,
                    total: p.bytes_total,
                });
            })?;
            Ok::<_, ApiError>((preview.source_type, outcome, columns))
        })
        .await??;
        let events = self.events.clone();
        let report = self
            .store
            .import_prospects(
                ImportBatch {
                    workspace_id,
                    file_name: name,
                    source_type: source_type.unwrap_or(detected_source),
                    mapping: &columns,
                    valid: outcome.valid,
                    invalid: outcome.invalid,
                    total_rows: outcome.total_rows,
                    actor,
                },
                move |done, total| {
                    let _ = events.send(ApiEvent::ImportProgress {
                        workspace_id,
                        phase: ImportPhase::Writing,
                        done,
                        total,
                    });
                },
            )
            .await?;
        self.changed(Some(workspace_id), ChangedEntity::Prospects);
        Ok(report)
    }

    /// Writes an import's row errors to a CSV file (line, column, value, problem). Returns the
    /// number of problems written.
    pub async fn export_import_errors(&self, args: ExportImportErrors) -> Result<u32, ApiError> {
        let rows = self.store.import_row_errors(args.import_id).await?;
        let path = PathBuf::from(&args.path);
        let mut out = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| ApiError::new(ErrorCode::Internal, e.to_string());
        out.write_record(["line", "column", "value", "problem"])
            .map_err(csv_err)?;
        let mut n = 0u32;
        for r in &rows {
            for e in &r.errors {
                out.write_record([r.row.to_string().as_str(), &e.column, &e.value, &e.message])
                    .map_err(csv_err)?;
                n += 1;
            }
        }
        let bytes = out
            .into_inner()
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        tokio::fs::write(&path, bytes)
            .await
            .map_err(|e| io_error(&path, "write", e))?;
        Ok(n)
    }

    /// One page of prospects.
    pub async fn list_prospects(&self, query: ProspectQuery) -> Result<ProspectPage, ApiError> {
        if query.limit > 1000 {
            return Err(ApiError::invalid(
                "at most 1000 prospects can be listed at once",
            ));
        }
        Ok(self.store.list_prospects(&query).await?)
    }

    /// Every prospect matching the query's filters, in its order (its offset and limit are
    /// ignored), to act on a whole filtered list at once, such as assigning a lawful basis.
    pub async fn matching_prospect_ids(
        &self,
        query: ProspectQuery,
    ) -> Result<ProspectIds, ApiError> {
        // A typo in a workspace is an error, not an empty list to act on.
        self.store.workspace(query.workspace_id).await?;
        Ok(ProspectIds {
            workspace_id: query.workspace_id,
            ids: self.store.matching_prospect_ids(&query).await?,
        })
    }

    /// One prospect with its score breakdown.
    pub async fn get_prospect(&self, args: ProspectId) -> Result<Prospect, ApiError> {
        Ok(self.store.prospect(args.id).await?)
    }

    /// Edits a prospect.
    pub async fn update_prospect(&self, args: UpdateProspect) -> Result<Saved<Prospect>, ApiError> {
        let (prospect, rewritten) = self
            .store
            .update_prospect(args.id, &args.patch, self.config.actor())
            .await?;
        self.changed(Some(prospect.workspace_id), ChangedEntity::Prospects);
        self.rewrote(prospect.workspace_id, rewritten);
        Ok(Saved {
            item: prospect,
            rewritten,
        })
    }

    /// Gives prospects a status (a review's outcome, in bulk). Returns those it changed with
    /// their status before, which undoing it sets again, and those left because they opted
    /// out; "unsubscribed" is refused (an opt-out sets it).
    pub async fn set_prospects_status(
        &self,
        args: SetProspectsStatus,
    ) -> Result<outreach_store::prospects::StatusChange, ApiError> {
        // A typo in a workspace is an error, not nothing to change.
        self.store.workspace(args.workspace_id).await?;
        let done = self
            .store
            .set_prospects_status(
                args.workspace_id,
                &args.ids,
                args.status,
                self.config.actor(),
            )
            .await?;
        if !done.changed.is_empty() {
            self.changed(Some(args.workspace_id), ChangedEntity::Prospects);
        }
        Ok(done)
    }

    /// Moves prospects to the trash; [`Api::restore_prospects`] undoes it.
    pub async fn delete_prospects(&self, args: ProspectIds) -> Result<u32, ApiError> {
        let n = self
            .store
            .set_prospects_deleted(args.workspace_id, &args.ids, false, self.config.actor())
            .await?;
        self.changed(Some(args.workspace_id), ChangedEntity::Prospects);
        Ok(n)
    }

    /// Brings prospects back from the trash.
    pub async fn restore_prospects(&self, args: ProspectIds) -> Result<u32, ApiError> {
        let n = self
            .store
            .set_prospects_deleted(args.workspace_id, &args.ids, true, self.config.actor())
            .await?;
        self.changed(Some(args.workspace_id), ChangedEntity::Prospects);
        Ok(n)
    }

    /// What erasing prospects would remove, for the confirmation that names it.
    pub async fn preview_erasure(&self, args: ProspectIds) -> Result<ErasureCounts, ApiError> {
        Ok(self
            .store
            .erasure_counts(args.workspace_id, &args.ids)
            .await?)
    }

    /// Erases prospects at their request (GDPR Art. 17), in the trash or not: everything the
    /// workspace holds about them, but the keyed hashes of their address and handles, which
    /// keep them from being contacted again from any workspace. Cannot be undone.
    pub async fn erase_prospects(&self, args: ProspectIds) -> Result<ErasureCounts, ApiError> {
        // Another workspace's prospect, or none, has no hashes here: the store refuses the
        // whole request.
        let hashes: Vec<_> = self
            .store
            .prospects_by_ids(&args.ids)
            .await?
            .values()
            .filter(|p| p.workspace_id == args.workspace_id)
            .flat_map(|p| outreach_engine::suppression_entries(&self.keys.suppression, p))
            .collect();
        let counts = self
            .store
            .erase_prospects(args.workspace_id, &args.ids, &hashes, self.config.actor())
            .await?;
        self.people_erased(args.workspace_id);
        Ok(counts)
    }

    /// Counts for the filter menus.
    pub async fn prospect_facets(&self, args: WorkspaceRef) -> Result<Facets, ApiError> {
        Ok(self.store.facets(args.workspace_id).await?)
    }

    /// Scores every live prospect of a workspace with its weights, and moves prospects between
    /// `new` and `qualified` by the threshold.
    pub async fn score_prospects(&self, args: WorkspaceRef) -> Result<ScoreSummary, ApiError> {
        let ws = self.store.workspace(args.workspace_id).await?;
        let prospects = self.store.scoring_inputs(ws.id).await?;
        let config = ws.scoring.clone();
        let (updates, summary) = tokio::task::spawn_blocking(move || {
            let scorer = Scorer::new(config.clone());
            let mut summary = ScoreSummary {
                scored: 0,
                qualified: 0,
                newly_qualified: 0,
                no_longer_qualified: 0,
                threshold: config.threshold,
                rewritten: 0,
            };
            let updates: Vec<ScoreUpdate> = prospects
                .iter()
                .map(|p| {
                    let breakdown = scorer.score(&p.facts());
                    let status = p.status.after_scoring(breakdown.qualified);
                    summary.scored += 1;
                    if breakdown.qualified {
                        summary.qualified += 1;
                    }
                    match status {
                        Some(outreach_core::ProspectStatus::Qualified) => {
                            summary.newly_qualified += 1
                        }
                        Some(_) => summary.no_longer_qualified += 1,
                        None => {}
                    }
                    ScoreUpdate {
                        id: p.id,
                        breakdown,
                        status,
                    }
                })
                .collect();
            (updates, summary)
        })
        .await?;
        let text = format!(
            "Scored {} prospect(s): {} qualified at threshold {} ({} newly)",
            summary.scored, summary.qualified, summary.threshold, summary.newly_qualified
        );
        let rewritten = self
            .store
            .apply_scores(ws.id, &updates, &text, self.config.actor())
            .await?;
        self.changed(Some(ws.id), ChangedEntity::Prospects);
        self.rewrote(ws.id, rewritten);
        Ok(ScoreSummary {
            rewritten,
            ..summary
        })
    }

    /// The newest audit entries of a workspace, all or those of a person, topic or actor.
    pub async fn list_audit(&self, args: AuditQuery) -> Result<Vec<AuditEntry>, ApiError> {
        let limit = i64::from(args.limit.clamp(1, 500));
        let filter = AuditFilter {
            prospect_id: args.prospect_id,
            topic: args.topic,
            actor: args.actor,
        };
        Ok(self
            .store
            .audit_log(args.workspace_id, &filter, limit, args.before_id)
            .await?)
    }

    /// Creates a demo workspace filled with clearly fake prospects, imported through the real
    /// import path.
    pub async fn load_demo(&self, _: NoArgs) -> Result<Workspace, ApiError> {
        let existing = self.store.list_workspaces().await?;
        let name = crate::demo::free_name(&existing);
        let ws = self
            .store
            .create_workspace(
                &WorkspaceFields {
                    name,
                    postal_address: "Demo Agency Ltd, 1 Example Street, 12345 Sample Town".into(),
                    legal_notice:
                        "Demo data: every person, company and address here is fictitious.".into(),
                },
                outreach_store::Actor::System,
            )
            .await?;
        self.import_bytes(
            ws.id,
            "demo data",
            crate::demo::csv(300).into_bytes(),
            None,
            Some(outreach_core::SourceType::Demo),
            outreach_store::Actor::System,
        )
        .await?;
        // Scored at once, so a new user sees qualified prospects and their explanations.
        self.score_prospects(WorkspaceRef {
            workspace_id: ws.id,
        })
        .await?;
        // Two saved filters, so that the prospect table shows what they are for.
        for (name, filter) in crate::demo::saved_filters() {
            self.store
                .save_filter(ws.id, name, &filter, outreach_store::Actor::System)
                .await?;
        }
        self.changed(Some(ws.id), ChangedEntity::Workspaces);
        Ok(ws)
    }
}
