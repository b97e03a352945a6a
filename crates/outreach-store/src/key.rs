//! The database key: 32 random bytes, created on first run, kept in the OS keychain (or a key
//! file when the user opts in with `OUTREACH_KEY_FILE`). There is deliberately no plaintext
//! fallback: without a key store the app refuses to start and says why.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::StoreError;

/// The keychain service name under which the key is filed.
pub const KEYCHAIN_SERVICE: &str = "outreach-desk";

/// A database key. Its `Debug` output is redacted so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct DbKey([u8; 32]);

impl fmt::Debug for DbKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DbKey(<redacted>)")
    }
}

impl DbKey {
    /// A new random key from the OS random source.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Parses 64 hexadecimal digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let bytes = hex::decode(s.trim()).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// The key as hexadecimal, for SQLCipher's raw-key pragma and the key stores only.
    pub fn expose_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Where the key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The OS keychain (macOS Keychain, Windows Credential Manager, Secret Service on Linux),
    /// under [`KEYCHAIN_SERVICE`] and this account name.
    Keychain {
        /// The account name; one key per data folder.
        account: String,
    },
    /// A file that only its owner may read.
    File(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Keychain { .. } => f.write_str("OS keychain"),
            Self::File(p) => write!(f, "key file {}", p.display()),
        }
    }
}

impl KeySource {
    /// The key for this source, created and saved there if none exists yet. `fresh_database`
    /// says whether the database file is new: a missing key for an existing database is an
    /// error, never a reason to make a new key (which would lock the data away for good).
    pub fn load_or_create(&self, fresh_database: bool) -> Result<DbKey, StoreError> {
        match self {
            Self::Keychain { account } => keychain_load_or_create(account, fresh_database),
            Self::File(path) => file_load_or_create(path, fresh_database),
        }
    }
}

fn keychain_error(e: keyring::Error) -> StoreError {
    StoreError::KeychainUnavailable(e.to_string())
}

fn keychain_load_or_create(account: &str, fresh: bool) -> Result<DbKey, StoreError> {
    let entry = keyring::Entry::new(KEYCHAIN_SERVICE, account).map_err(keychain_error)?;
    match entry.get_password() {
        Ok(hex) => DbKey::from_hex(&hex).ok_or_else(|| {
            StoreError::KeychainUnavailable(format!(
                "the keychain entry '{KEYCHAIN_SERVICE}/{account}' does not hold a valid key"
            ))
        }),
        Err(keyring::Error::NoEntry) if fresh => {
            let key = DbKey::generate();
            entry
                .set_password(&key.expose_hex())
                .map_err(keychain_error)?;
            Ok(key)
        }
        Err(keyring::Error::NoEntry) => Err(StoreError::KeychainUnavailable(format!(
            "the keychain has no key '{KEYCHAIN_SERVICE}/{account}' for the existing database; restore the keychain entry or point OUTREACH_KEY_FILE at the key file that was used"
        ))),
        Err(e) => Err(keychain_error(e)),
    }
}

fn key_file_error(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::KeyFile {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn file_load_or_create(path: &Path, fresh: bool) -> Result<DbKey, StoreError> {
    match std::fs::metadata(path) {
        Ok(meta) => {
            check_private(path, &meta)?;
            let text = std::fs::read_to_string(path)
                .map_err(|e| key_file_error(path, format!("cannot be read: {e}")))?;
            DbKey::from_hex(&text)
                .ok_or_else(|| key_file_error(path, "does not hold a key (64 hexadecimal digits)"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && fresh => {
            let key = DbKey::generate();
            write_private(path, &key)
                .map_err(|e| key_file_error(path, format!("cannot be created: {e}")))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(key_file_error(
            path,
            "does not exist, but the database does; a new key would not open it",
        )),
        Err(e) => Err(key_file_error(path, format!("cannot be read: {e}"))),
    }
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(key_file_error(
            path,
            format!(
                "can be read by other users (mode {:o}); run `chmod 600` on it",
                mode & 0o777
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), StoreError> {
    // Windows files inherit the ACL of the user's profile folder; there is no mode to check.
    Ok(())
}

fn write_private(path: &Path, key: &DbKey) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(key.expose_hex().as_bytes())?;
    file.sync_all()
}

/// Stores a secret (a password, an API key, a private key) in the OS keychain under
/// [`KEYCHAIN_SERVICE`] and `account`. Blocking: call it off the async workers.
pub fn store_secret(account: &str, secret: &str) -> Result<(), StoreError> {
    keyring::Entry::new(KEYCHAIN_SERVICE, account)
        .and_then(|e| e.set_password(secret))
        .map_err(keychain_error)
}

/// Reads a secret stored with [`store_secret`]; `None` when there is none. Blocking.
pub fn read_secret(account: &str) -> Result<Option<String>, StoreError> {
    let entry = keyring::Entry::new(KEYCHAIN_SERVICE, account).map_err(keychain_error)?;
    match entry.get_password() {
        Ok(s) => Ok(Some(s)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keychain_error(e)),
    }
}

/// Deletes a secret stored with [`store_secret`]; one that is not there is no error.
/// Blocking.
pub fn delete_secret(account: &str) -> Result<(), StoreError> {
    let entry = keyring::Entry::new(KEYCHAIN_SERVICE, account).map_err(keychain_error)?;
    match entry.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(keychain_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_debug_is_redacted() {
        let k = DbKey::generate();
        assert_eq!(format!("{k:?}"), "DbKey(<redacted>)");
        assert_eq!(DbKey::from_hex(&k.expose_hex()), Some(k));
        assert_eq!(DbKey::from_hex("abc"), None);
    }

    #[test]
    fn key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.key");
        let source = KeySource::File(path.clone());
        let a = source.load_or_create(true).unwrap();
        let b = source.load_or_create(false).unwrap();
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.key");
        std::fs::write(&path, DbKey::generate().expose_hex()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeySource::File(path).load_or_create(false).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn missing_key_for_existing_database_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let err = KeySource::File(dir.path().join("gone.key"))
            .load_or_create(false)
            .unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
