//! Where the data lives and where its key comes from.

use std::path::{Path, PathBuf};

use outreach_store::key::KeySource;
use outreach_store::{Actor, Store};

use crate::{ApiError, ErrorCode};

/// The database file's name inside the data folder.
pub const DATABASE_FILE: &str = "outreach.db";

/// Who is calling: recorded as the actor of every audited change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The desktop app.
    App,
    /// The command line.
    Cli,
}

/// Where the database key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChoice {
    /// The OS keychain (the default).
    Keychain,
    /// A key file, chosen with `OUTREACH_KEY_FILE`.
    File(PathBuf),
}

/// How to open the application's data.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The data folder.
    pub data_dir: PathBuf,
    /// Where the key is kept.
    pub key: KeyChoice,
    /// Who is calling.
    pub caller: Caller,
}

impl ApiConfig {
    /// Resolves the data folder (`data_dir`, else `OUTREACH_DATA_DIR`, else the platform's
    /// application-data folder) and the key store (`OUTREACH_KEY_FILE` opts into a key file).
    pub fn from_env(data_dir: Option<PathBuf>, caller: Caller) -> Result<Self, ApiError> {
        let data_dir = data_dir
            .or_else(|| std::env::var_os("OUTREACH_DATA_DIR").filter(|v| !v.is_empty()).map(PathBuf::from))
            .or_else(|| dirs::data_dir().map(|d| d.join("outreach-desk")))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Io,
                    "no application-data folder is known on this system; pass --data-dir or set OUTREACH_DATA_DIR",
                )
            })?;
        let key = match std::env::var_os("OUTREACH_KEY_FILE").filter(|v| !v.is_empty()) {
            Some(path) => KeyChoice::File(PathBuf::from(path)),
            None => KeyChoice::Keychain,
        };
        Ok(Self {
            data_dir,
            key,
            caller,
        })
    }

    /// The audit actor for this caller.
    pub fn actor(&self) -> Actor {
        match self.caller {
            Caller::App => Actor::App,
            Caller::Cli => Actor::Cli,
        }
    }

    /// The database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join(DATABASE_FILE)
    }
}

pub(crate) fn absolute(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

pub(crate) async fn open_store(
    config: &ApiConfig,
) -> Result<(Store, outreach_engine::Keys), ApiError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        ApiError::new(
            ErrorCode::Io,
            format!(
                "cannot create the data folder {}: {e}",
                config.data_dir.display()
            ),
        )
    })?;
    let db = config.database_path();
    let fresh = !db.exists();
    let source = match &config.key {
        // One keychain entry per data folder, so a second folder (a test, a second agency
        // profile) never reuses or overwrites the first one's key.
        KeyChoice::Keychain => KeySource::Keychain {
            account: format!("database:{}", absolute(&config.data_dir).display()),
        },
        KeyChoice::File(path) => KeySource::File(path.clone()),
    };
    // Keychain calls block on D-Bus (Linux) or the OS; keep them off the async workers.
    let key = tokio::task::spawn_blocking(move || source.load_or_create(fresh)).await??;
    let keys = outreach_engine::Keys::derive(key.expose_hex().as_bytes());
    Ok((Store::open(&db, &key).await?, keys))
}
