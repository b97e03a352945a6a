//! Storage for Outreach Desk: one encrypted SQLite database per data folder.
//!
//! The database is SQLCipher (through `libsqlite3-sys` with sqlx) and is opened with a 256-bit
//! key that lives in the OS keychain or, for headless servers that opt in, in a key file
//! ([`key`]). The schema comes from the repository's `migrations/` folder. Each aggregate has its
//! own module; every write that a user would want to know about appends to the audit log in the
//! same transaction, so the log never claims what did not happen nor misses what did.
//!
//! ```no_run
//! # async fn demo() -> Result<(), outreach_store::StoreError> {
//! use outreach_store::{key::DbKey, Store};
//! let key = DbKey::generate();
//! let store = Store::open(std::path::Path::new("outreach.db"), &key).await?;
//! let workspaces = store.list_workspaces().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod accounts;
pub mod audit;
pub mod campaigns;
pub mod consent;
mod copies;
pub mod drafts;
pub mod enrolments;
pub mod erasure;
mod error;
pub mod import;
pub mod key;
pub mod mailboxes;
pub mod outbox;
pub mod personal_data;
pub mod prospects;
pub mod referrals;
pub mod replies;
pub mod retention;
pub mod saved_filters;
pub mod template_drafts;
pub mod templates;
pub mod trash;
pub mod upgrade_backups;
pub mod workspace_deletion;
pub mod workspaces;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, SqlitePool};

pub use error::StoreError;
use key::DbKey;

/// Who did something, as recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A person using the desktop app.
    App,
    /// A person or script using the `outreach` command line.
    Cli,
    /// The application itself (migrations, demo data, background work).
    System,
}

impl Actor {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Cli => "cli",
            Self::System => "system",
        }
    }
}

/// Connections for reads beside the writer: a view and a search or export at once. Each
/// connection keeps its own page cache and its own allocator arena, so every one more costs
/// about a megabyte of resident memory even when idle.
const READERS: u32 = 2;

/// A pool whose connections stay open as long as it does: they hold the decrypted page cache,
/// and a local file has no server that drops idle clients. Without an idle timeout or a
/// lifetime (and no minimum) sqlx runs no background reaper; its reaper can spin forever on a
/// miscounted idle queue when the pool closes while a connection is handed back (sqlx issue
/// 3645), which left a command at full CPU, never exiting.
///
/// Nor does it ping a connection before handing it out: the ping finds a server that dropped
/// the client, which an in-process SQLite connection cannot do (a crashed worker thread fails
/// the next statement anyway), and it cost a round trip to the connection's thread, a
/// context switch each way, per transaction and per read: a quarter of the send benchmark's
/// worker time.
fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .test_before_acquire(false)
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
}

/// Pages the write-ahead log may hold before a commit also copies them into the database file
/// (a checkpoint, which ends with two `fsync`s). SQLite's default of 1,000 pages (4 MB) made
/// every twelfth commit of the sender about 7 ms slower, a tenth of the send benchmark's time.
/// 8,192 pages (32 MB) checkpoint eight times less often, each checkpoint copying a page once
/// however often it changed meanwhile. The cost: a log file of up to 32 MB beside the database.
const WRITER_AUTOCHECKPOINT_PAGES: u32 = 8192;

/// The database, open and migrated.
///
/// Every write goes through one connection, `writer`; reads use a small pool beside it. In WAL
/// mode SQLite drops a connection's page cache whenever another connection has committed since
/// its last transaction, so writes spread over several connections would make each of them
/// read and decrypt its pages again. One writer keeps its cache valid, and never waits on a
/// lock held by its own pool.
#[derive(Clone, Debug)]
pub struct Store {
    readers: SqlitePool,
    writer: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the encrypted database at `path` and brings its schema up to
    /// date.
    pub async fn open(path: &Path, key: &DbKey) -> Result<Self, StoreError> {
        silence_sqlcipher_log().await?;
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(StoreError::from)?
            .filename(path)
            // sqlx sends `key` before any other pragma, as SQLCipher requires.
            .pragma("key", format!("\"x'{}'\"", key.expose_hex()))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL keeps every committed transaction through a process crash; only
            // a power loss can roll back the last few, which a desktop app may accept.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Decrypted pages stay cached: re-reading (and re-decrypting) them from disk on
            // every scroll or search would dominate every query, and a bulk import that spills
            // its cache would encrypt the same pages again and again.
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "MEMORY");
        let writer = pool_options()
            .max_connections(1)
            .connect_with(options.clone().pragma(
                "wal_autocheckpoint",
                WRITER_AUTOCHECKPOINT_PAGES.to_string(),
            ))
            .await
            .map_err(error::classify_open_error)?;
        let readers = pool_options()
            .max_connections(READERS)
            // Readers only read: a write through one of them is a bug that SQLite then refuses.
            .connect_with(options.read_only(true))
            .await
            .map_err(error::classify_open_error)?;
        let store = Self { readers, writer };
        let migrator = sqlx::migrate!("../../migrations");
        if let Some(version) = pending_upgrade(&store.writer, &migrator).await? {
            // A failed or regretted upgrade then loses nothing.
            let target = upgrade_backups::path_for(path, version);
            if !target.exists() {
                store.backup(&target).await?;
            }
        }
        migrator.run(&store.writer).await?;
        upgrade_backups::prune(
            path,
            std::time::SystemTime::now(),
            upgrade_backups::KEPT_FOR,
        );
        Ok(store)
    }

    /// The same database, with its reads also going through the writer connection: for the
    /// engine, whose reads and writes alternate in quick succession and so find their pages
    /// in that connection's cache. A reader would have to fetch and decrypt them again after
    /// every write.
    pub fn reading_through_writer(&self) -> Self {
        Self {
            readers: self.writer.clone(),
            writer: self.writer.clone(),
        }
    }

    /// Writes a consistent copy of the whole database to `target` (which must not exist),
    /// encrypted with the same key, including what is still in the write-ahead log.
    pub async fn backup(&self, target: &Path) -> Result<(), StoreError> {
        if target.exists() {
            return Err(StoreError::Conflict(format!(
                "{} already exists; choose another file for the backup",
                target.display()
            )));
        }
        // SQLCipher writes VACUUM INTO's copy under the main database's key.
        let literal = target.to_string_lossy().replace('\'', "''");
        sqlx::query(AssertSqlSafe(format!("VACUUM INTO '{literal}'")))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The read-only connections, for modules of this crate.
    pub(crate) fn readers(&self) -> &SqlitePool {
        &self.readers
    }

    /// The writer connection, for modules of this crate: every statement that changes data.
    pub(crate) fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// Starts a write transaction that takes the write lock at once (`BEGIN IMMEDIATE`). A
    /// deferred transaction that reads first and then writes fails at once with "database is
    /// locked" when another connection wrote meanwhile, because SQLite will not wait for a lock
    /// it could deadlock on; taking the lock up front lets the busy timeout do its work.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Closes every connection, checkpointing the write-ahead log. Call it before the process
    /// exits: connections closed by a worker thread while the process is tearing down race
    /// with OpenSSL's exit-time cleanup, which crashed test binaries now and then.
    pub async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }
}

/// The newest migration a database that already holds data has not had yet, if any. A new,
/// empty database needs no backup.
async fn pending_upgrade(
    pool: &SqlitePool,
    migrator: &sqlx::migrate::Migrator,
) -> Result<Option<i64>, StoreError> {
    let has_table: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await?;
    if has_table == 0 {
        return Ok(None);
    }
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
        .fetch_all(pool)
        .await?;
    if applied.is_empty() {
        return Ok(None);
    }
    Ok(migrator
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .max())
}

/// SQLCipher writes its own diagnostics (such as "hmac check failed" for a wrong key) to
/// standard error, which would garble the CLI's output; every such failure already reaches the
/// caller as a typed error. The log level is process-wide, so one throwaway connection sets it,
/// once per process.
async fn silence_sqlcipher_log() -> Result<(), StoreError> {
    use sqlx::{Connection, Executor};
    static SILENCED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SILENCED
        .get_or_try_init(|| async {
            let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
            conn.execute("PRAGMA cipher_log_level = NONE").await?;
            conn.close().await?;
            Ok::<_, StoreError>(())
        })
        .await?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A fresh encrypted database in a temporary folder (kept alive by the returned guard).
    pub async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("test.db"), &DbKey::generate())
            .await
            .unwrap();
        (store, dir)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pools_run_no_background_reaper() {
        // The reaper is what spun; it only exists with a timeout, a lifetime or a minimum.
        let o = super::pool_options();
        assert_eq!(o.get_idle_timeout(), None);
        assert_eq!(o.get_max_lifetime(), None);
        assert_eq!(o.get_min_connections(), 0);
    }
}
