//! Keep a database in step with the referrals of Microsoft Partner Center.
//!
//! A [`Syncer`] reads referrals with the `partner-center` SDK (its retry policy, rate limit
//! and page bounds) into a [`Store`]: SQLite (`sqlite:PATH`, the embedded default) or
//! PostgreSQL (`postgres://...`, for shared and multi-instance use), one schema by
//! migrations, one set of queries. The first run backfills every referral; later runs list
//! only those updated since the watermark minus an overlap, in `updatedDateTime` order,
//! de-duplicated on (`id`, `eTag`). The store keeps:
//!
//! - `referrals`: the current version of each, with the columns people filter on (status,
//!   substatus, type, direction, qualification, customer name and country, deal value and
//!   currency, closing date) and the JSON as received: a view of the table `current_referrals`
//!   (the columns) and of the current version's JSON, so that the JSON is stored once;
//! - `referral_versions`: every distinct (id, eTag) received, with when it was and its JSON;
//! - `sync_state` and `sync_runs`: the watermark, the last full sweep, whether the service
//!   accepts the range filter, and each run with its counts and error.
//!
//! Each page commits in one transaction with the watermark it reaches, so a run killed at any
//! point and started again loses no version and stores none twice. If the service refuses
//! the `updatedDateTime` range filter (a 400), the store remembers it and later runs are full
//! sweeps.
//!
//! Several instances may share a database. One sweeps at a time (a PostgreSQL advisory lock,
//! a lock file beside a SQLite database; both go with a killed holder): another run meanwhile
//! fails at once with [`Error::SweepInProgress`]. The current row of a referral is replaced
//! only by a later `updatedDateTime`, in one statement, so a version stored late (an event
//! fetched concurrently, another instance's page) never hides a later one.
//! [`Syncer::follow`] drives a sync from change notices (webhooks), with periodic
//! reconciliation sweeps for what they missed.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sandbox = partner_center_sandbox::Sandbox::builder().referral_count(5).start().await?;
//! # let dir = tempfile::tempdir()?;
//! use partner_center_sync::{Store, Syncer};
//!
//! let client = partner_center::PartnerCenter::builder()
//!     .base_url(sandbox.base_url())
//!     .token("t")
//!     .build()?;
//! let store = Store::open(&format!("sqlite:{}", dir.path().join("sync.db").display())).await?;
//! let syncer = Syncer::new(client, store);
//! let first = syncer.run().await?; // the backfill
//! assert_eq!(first.new_versions, 6);
//! let second = syncer.run().await?; // incremental: nothing changed
//! assert_eq!(second.new_versions, 0);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

mod follow;
mod store;
mod sweep_lock;
mod syncer;
#[cfg(feature = "testing")]
pub mod testing;

pub use follow::Followed;
pub use store::{COLUMNS, RunRecord, Status, Store, StoredReferral, SyncState};
pub use syncer::{DEFAULT_MAX_PAGES, DEFAULT_OVERLAP, Progress, RunKind, Summary, Syncer};

/// Why a sync, or reading its store, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A call to Partner Center failed (after the client's retries).
    #[error("a call to Partner Center failed")]
    Call(#[source] partner_center::Error),
    /// The database failed, or cannot be opened.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The database's schema cannot be brought up to date.
    #[error("cannot migrate the database's schema")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A referral cannot be encoded as JSON.
    #[error("cannot encode a referral as JSON")]
    Encode(#[source] serde_json::Error),
    /// The database URL is of a kind not supported: `sqlite:PATH` and `postgres://...` are.
    #[error("unsupported database {0:?}: use sqlite:PATH or postgres://USER@HOST/DATABASE")]
    UnsupportedDatabase(String),
    /// Another run (in this process or another, on this machine or, with PostgreSQL,
    /// another) is sweeping this database: this one did nothing. The other run stores what
    /// this one would have.
    #[error("another sync is running on this database")]
    SweepInProgress,
    /// The lock file beside a SQLite database cannot be opened or locked.
    #[error("cannot lock {}", path.display())]
    Lock {
        /// The lock file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A result of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
