//! One engine per data folder: an exclusive OS lock on a file, released by the OS when the
//! process exits or is killed, so a restart never waits for a stale heartbeat.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::EngineError;

/// Held while an engine runs.
#[derive(Debug)]
pub struct EngineLock {
    _file: File,
}

impl EngineLock {
    /// Takes the lock of the data folder `dir`, or fails with [`EngineError::AlreadyRunning`].
    pub fn acquire(dir: &Path) -> Result<Self, EngineError> {
        let path = dir.join("engine.lock");
        let err = |m: String| EngineError::Lock {
            path: path.display().to_string(),
            message: m,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| err(e.to_string()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(EngineError::AlreadyRunning),
            Err(TryLockError::Error(e)) => Err(err(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_engine_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = EngineLock::acquire(dir.path()).unwrap();
        assert!(matches!(
            EngineLock::acquire(dir.path()),
            Err(EngineError::AlreadyRunning)
        ));
        drop(first);
        assert!(EngineLock::acquire(dir.path()).is_ok());
    }
}
