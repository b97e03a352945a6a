//! The copies of the database an upgrade makes before it changes the schema
//! (`<file>.before-<version>`, beside the database). The latest one stays for a while, in case
//! the upgrade is regretted; older ones, and the latest once that while is over, are deleted,
//! so that people erased since (at their request or by retention) do not live on in them and
//! each upgrade does not leave a full copy of the data behind for good.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long the copy made before the latest upgrade is kept.
pub const KEPT_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The name of the copy made of `database` before the upgrade to schema `version`.
pub(crate) fn path_for(database: &Path, version: i64) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(format!(".before-{version}"));
    PathBuf::from(name)
}

/// Deletes the upgrade copies of `database` but the latest, and that one too once it is older
/// than `kept_for` at `now`. Returns the files deleted. A copy that cannot be deleted (or
/// read) is left for the next start: it is no reason to refuse to open the database.
pub(crate) fn prune(database: &Path, now: SystemTime, kept_for: Duration) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (database.parent(), database.file_name()) else {
        return Vec::new();
    };
    let prefix = format!("{}.before-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) else {
        return Vec::new();
    };
    let mut copies: Vec<(i64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let version = file.strip_prefix(&prefix)?;
            if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((version.parse().ok()?, e.path()))
        })
        .collect();
    copies.sort_unstable_by_key(|(version, _)| std::cmp::Reverse(*version));
    let latest_is_recent = copies.first().is_some_and(|(_, path)| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|at| now.duration_since(at).unwrap_or_default() < kept_for)
    });
    copies
        .into_iter()
        .skip(usize::from(latest_is_recent))
        .filter(|(_, path)| std::fs::remove_file(path).is_ok())
        .map(|(_, path)| path)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty file named as the copy before `version`, last written `age` ago.
    fn copy(database: &Path, version: i64, age: Duration) -> PathBuf {
        let path = path_for(database, version);
        let file = std::fs::File::create(&path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
        path
    }

    #[test]
    fn the_latest_copy_stays_for_a_while_and_older_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("outreach.db");
        let day = Duration::from_secs(24 * 60 * 60);
        let older = copy(&db, 20261125000000, 90 * day);
        let old = copy(&db, 20261205000000, 40 * day);
        let latest = copy(&db, 20261207000000, 2 * day);
        // Not upgrade copies of this database: left alone.
        let other_db = copy(&dir.path().join("other.db"), 20261125000000, 90 * day);
        let not_a_version = dir.path().join("outreach.db.before-manual");
        std::fs::write(&not_a_version, b"").unwrap();

        let mut gone = prune(&db, SystemTime::now(), KEPT_FOR);
        gone.sort();
        assert_eq!(gone, [older, old]);
        assert!(latest.exists() && other_db.exists() && not_a_version.exists());

        // A month on, the latest goes too.
        let gone = prune(&db, SystemTime::now() + KEPT_FOR, KEPT_FOR);
        assert_eq!(gone, [latest]);
        assert!(other_db.exists() && not_a_version.exists());
        assert!(prune(&db, SystemTime::now(), KEPT_FOR).is_empty());
    }
}
