//! [`SweepLock`]: one sweep at a time on a database, whichever process runs it.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use sqlx::{AnyConnection, Connection};

use crate::{Error, Result};

/// Held while a run sweeps. The operating system or the server releases it when its holder
/// dies, so a killed run never blocks the next one.
#[derive(Debug)]
pub(crate) enum SweepLock {
    /// An exclusive lock on a file beside the SQLite database.
    File(#[expect(dead_code, reason = "held: closing it releases the lock")] File),
    /// A PostgreSQL connection of its own holding a session advisory lock: closing it (the
    /// guard dropped, the process gone) releases the lock.
    Session(AnyConnection),
    /// A database no other process can open (SQLite in memory).
    Unshared,
}

impl SweepLock {
    /// Locks the file at `path` (created if missing); `None` if another holds it.
    pub(crate) fn file(path: &Path) -> Result<Option<Self>> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|source| Error::Lock {
                path: path.to_owned(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self::File(file))),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(Error::Lock {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

impl SweepLock {
    /// Releases the lock now. Dropping it releases it too, but a dropped PostgreSQL
    /// connection is let go by the server a moment later: a next run started at once would
    /// find the lock still held.
    pub(crate) async fn release(self) {
        if let Self::Session(mut conn) = self {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(crate::store::SWEEP_LOCK_KEY)
                .execute(&mut conn)
                .await;
            if let Err(error) = unlocked {
                tracing::warn!(%error, "cannot release the sweep lock; it goes with its connection");
            }
            conn.close().await.ok();
        }
    }
}

/// The lock file of the SQLite database at `database`: beside it, so that every process
/// opening that database finds the same one.
pub(crate) fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".sync-lock");
    PathBuf::from(name)
}
