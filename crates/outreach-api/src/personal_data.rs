//! A person's own record, written out for their rights of access and portability (GDPR
//! Art. 15 and 20): one JSON file that a person can read and another service can load.

use std::path::PathBuf;

use outreach_store::personal_data::PersonalData;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::commands::io_error;
use crate::{Api, ApiError, ChangedEntity, ErrorCode};

/// Where to write a prospect's personal data.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ExportPersonalData {
    /// The prospect.
    #[ts(type = "number")]
    pub id: i64,
    /// The JSON file to write.
    pub path: String,
}

/// The file's contents: what it is, when and from where, then the record itself.
#[derive(Debug, Serialize)]
pub struct PersonalDataFile {
    /// Names the format, for whoever loads the file.
    pub format: &'static str,
    /// Its version: fields are only ever added.
    pub version: u32,
    /// When it was written (ISO 8601).
    pub exported_at: String,
    /// The workspace (the client) that holds the record.
    pub workspace: String,
    /// Whether their address or a handle is on the suppression list (kept as a keyed hash,
    /// so that no workspace contacts them).
    pub suppressed: bool,
    /// The record.
    #[serde(flatten)]
    pub data: PersonalData,
}

impl Api {
    /// A prospect's whole record, in the trash or not, as the export writes it; audited as an
    /// export.
    pub async fn personal_data(&self, id: i64) -> Result<PersonalDataFile, ApiError> {
        let data = self.store.personal_data(id).await?;
        let workspace = self.store.workspace(data.prospect.workspace_id).await?;
        let hashes: Vec<String> =
            outreach_engine::suppression_entries(&self.keys.suppression, &data.prospect)
                .into_iter()
                .map(|e| e.hash)
                .collect();
        let suppressed = self.store.is_suppressed(&hashes).await?;
        self.store
            .audit(
                Some(workspace.id),
                Some(id),
                self.config.actor(),
                "prospect.export",
                &format!("Exported the personal data of prospect #{id}"),
                None,
            )
            .await?;
        self.changed(Some(workspace.id), ChangedEntity::Audit);
        Ok(PersonalDataFile {
            format: "outreach-desk personal data",
            version: 1,
            exported_at: jiff::Timestamp::now().to_string(),
            workspace: workspace.name,
            suppressed,
            data,
        })
    }

    /// Writes a prospect's whole record to a JSON file; returns its size in bytes.
    pub async fn export_personal_data(&self, args: ExportPersonalData) -> Result<u32, ApiError> {
        let path = PathBuf::from(&args.path);
        if path.as_os_str().is_empty() {
            return Err(ApiError::invalid(
                "choose a file to write the personal data to",
            ));
        }
        let file = self.personal_data(args.id).await?;
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        tokio::fs::write(&path, &bytes)
            .await
            .map_err(|e| io_error(&path, "write", e))?;
        Ok(u32::try_from(bytes.len()).unwrap_or(u32::MAX))
    }
}
