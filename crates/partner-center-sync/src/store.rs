//! [`Store`]: the database a sync keeps (SQLite or PostgreSQL), its schema by embedded migrations.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use partner_center::models::{Referral, Timestamp};
use serde::Serialize;
use sqlx::AnyPool;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, Executor, Row, Transaction};

use crate::sweep_lock::{SweepLock, lock_path};
use crate::{Error, Result};

/// The schema, one file a version for each database (the same tables, in each one's types),
/// applied by [`Store::open`].
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// A sync database: the current referrals, every version received, the sync state and the
/// runs.
///
/// SQLite (`sqlite:PATH`, the embedded default) or PostgreSQL (`postgres://...`, for shared
/// and multi-instance use): one schema, one set of queries.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Where the next run starts, and what the service was found to support.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    /// The latest `updatedDateTime` stored (UTC RFC 3339), or `None` before the first
    /// complete run.
    pub watermark: Option<DateTime<Utc>>,
    /// When the last full sweep finished.
    pub last_full_sweep_at: Option<DateTime<Utc>>,
    /// Whether the service accepts a `updatedDateTime ge ...` filter; `None` until tried.
    pub range_filter_supported: Option<bool>,
}

/// One recorded run of [`crate::Syncer::run`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// Its number, in the order runs started.
    pub run_id: i64,
    /// When it started (UTC RFC 3339).
    pub started_at: String,
    /// When it finished; `None` if it is running or was killed.
    pub finished_at: Option<String>,
    /// `full`, `incremental`, or `full (range filter refused)`.
    pub kind: String,
    /// Pages committed.
    pub pages: i64,
    /// Referrals received.
    pub seen: i64,
    /// Referrals received with an (id, eTag) not stored before.
    pub new_versions: i64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// What `sync status` shows: counts, the state, the last run and the last failed one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Referrals stored.
    pub referrals: i64,
    /// Versions stored, over all referrals.
    pub versions: i64,
    /// Referrals by status (a referral with no status counts under `""`).
    pub by_status: BTreeMap<String, i64>,
    /// The sync state.
    #[serde(flatten)]
    pub state: SyncState,
    /// The last run, if any.
    pub last_run: Option<RunRecord>,
    /// The last run that failed, if any.
    pub last_error: Option<RunRecord>,
}

/// A stored current referral: the filter columns and the JSON as received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredReferral {
    /// Its id.
    pub id: String,
    /// Its `eTag` (empty if the service sent none).
    pub etag: String,
    /// Its `updatedDateTime`, UTC RFC 3339 with nanoseconds (as received if not a date-time).
    pub updated_at: Option<String>,
    /// Its `status`.
    pub status: Option<String>,
    /// Its `substatus`.
    pub substatus: Option<String>,
    /// Its `type`.
    #[serde(rename = "type")]
    pub referral_type: Option<String>,
    /// Its `direction`.
    pub direction: Option<String>,
    /// Its `qualification`.
    pub qualification: Option<String>,
    /// `customerProfile.name`.
    pub customer_name: Option<String>,
    /// `customerProfile.address.country`.
    pub customer_country: Option<String>,
    /// `details.dealValue`, exactly as the service wrote the number.
    pub deal_value: Option<String>,
    /// `details.currency`.
    pub currency: Option<String>,
    /// `details.closingDateTime`, normalized as `updated_at`.
    pub closing_at: Option<String>,
    /// The referral's JSON as received.
    #[serde(skip)]
    pub json: String,
}

/// The column names of [`StoredReferral`] but its JSON, in order: the CSV header.
pub const COLUMNS: [&str; 13] = [
    "id",
    "etag",
    "updated_at",
    "status",
    "substatus",
    "type",
    "direction",
    "qualification",
    "customer_name",
    "customer_country",
    "deal_value",
    "currency",
    "closing_at",
];

impl StoredReferral {
    /// The row of `referral`, or `None` if it has no id (it cannot be stored).
    pub fn of(referral: &Referral) -> Result<Option<Self>> {
        let Some(id) = referral.id.clone() else {
            return Ok(None);
        };
        let customer = referral.customer_profile.as_ref();
        let details = referral.details.as_ref();
        Ok(Some(Self {
            id,
            etag: referral
                .e_tag
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            updated_at: referral.updated_date_time.as_ref().map(time_text),
            status: referral.status.as_ref().map(|s| s.as_str().to_owned()),
            substatus: referral.substatus.as_ref().map(|s| s.as_str().to_owned()),
            referral_type: referral.type_.as_ref().map(|s| s.as_str().to_owned()),
            direction: referral.direction.as_ref().map(|s| s.as_str().to_owned()),
            qualification: referral
                .qualification
                .as_ref()
                .map(|s| s.as_str().to_owned()),
            customer_name: customer.and_then(|c| c.name.clone()),
            customer_country: customer
                .and_then(|c| c.address.as_ref())
                .and_then(|a| a.country.clone()),
            deal_value: details
                .and_then(|d| d.deal_value.as_ref())
                .map(ToString::to_string),
            currency: details.and_then(|d| d.currency.clone()),
            closing_at: details
                .and_then(|d| d.closing_date_time.as_ref())
                .map(time_text),
            // The SDK's model keeps every field, drifted ones included: this is what was sent.
            json: serde_json::to_string(referral).map_err(Error::Encode)?,
        }))
    }

    /// The CSV fields, in the order of [`COLUMNS`].
    pub fn fields(&self) -> [&str; 13] {
        fn text(field: &Option<String>) -> &str {
            field.as_deref().unwrap_or("")
        }
        [
            &self.id,
            &self.etag,
            text(&self.updated_at),
            text(&self.status),
            text(&self.substatus),
            text(&self.referral_type),
            text(&self.direction),
            text(&self.qualification),
            text(&self.customer_name),
            text(&self.customer_country),
            text(&self.deal_value),
            text(&self.currency),
            text(&self.closing_at),
        ]
    }
}

/// A time as stored: UTC with nine fractional digits, so text order is time order.
pub(crate) fn instant_text(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A service time as stored: [`instant_text`], or the text as received if it is not a
/// date-time.
fn time_text(time: &Timestamp) -> String {
    time.instant()
        .map(instant_text)
        .unwrap_or_else(|| time.as_str().to_owned())
}

/// A stored time read back; `None` for NULL or text that is not one (never written by us).
fn parse_time(text: Option<String>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// What one page did to the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PageOutcome {
    pub(crate) seen: u64,
    pub(crate) new_versions: u64,
}

/// The backend of a [`Store`]: what the one set of queries needs to know of it.
#[derive(Clone, Debug)]
enum Backend {
    /// A file (or memory) database; the sweep lock is a lock on `lock_path`, `None` in memory.
    Sqlite { lock_path: Option<PathBuf> },
    /// A server; the sweep lock is a session advisory lock.
    Postgres,
}

/// Each SQLite connection's settings.
/// - WAL: readers (`sync status`) do not block a running sync. With `synchronous = NORMAL` a
///   committed page survives the process being killed; a power cut may roll back the last
///   pages, watermark with them, and the next run fetches them again.
/// - A page's rows land on random leaves of the id indexes, so each commit appends about one
///   index page a referral to the WAL. A 16 MiB cache keeps most of the indexes' pages from
///   being read back, and a checkpoint every 16,384 pages (64 MiB) writes a page that many
///   commits rewrote once. Both are bounds, whatever the number of referrals; the WAL file is
///   cut back to 64 MiB.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA cache_size = -16384; \
     PRAGMA wal_autocheckpoint = 16384; PRAGMA journal_size_limit = 67108864";

/// The most rows one multi-row statement carries: 13 values a row stays below SQLite's 32766
/// bound parameters (and PostgreSQL's 65535), whatever a hostile page holds.
const ROWS_A_STATEMENT: usize = 1000;

impl Store {
    /// Opens the database at `url`, `sqlite:PATH` (the file created if missing) or
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (the database must exist), and
    /// brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self> {
        Self::connect(url, true).await
    }

    /// Opens the database at `url` as [`Store::open`] does, but fails if a SQLite file does
    /// not exist: for reading one back, where an empty new database would only hide a wrong
    /// path.
    pub async fn open_existing(url: &str) -> Result<Self> {
        Self::connect(url, false).await
    }

    async fn connect(url: &str, create: bool) -> Result<Self> {
        // The drivers this crate was built with; an application that installed its own set
        // first keeps it (and a missing driver is a connection error, not a panic).
        let _ =
            sqlx::any::install_drivers(&[sqlx::sqlite::any::DRIVER, sqlx::postgres::any::DRIVER]);
        let scheme = url_scheme(url);
        let (backend, migrator, url, pool) = match scheme {
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url).map_err(Error::Database)?;
                let path = options.get_filename();
                let in_memory = path.as_os_str().is_empty() || path == Path::new(":memory:");
                let lock_path = (!in_memory).then(|| lock_path(path));
                // The Any driver reads SQLite's options from the URL alone: `mode=rwc`
                // creates the file. The pragmas follow on each connection.
                let url = if create && !url.contains("mode=") {
                    format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
                } else {
                    url.to_owned()
                };
                // One writer at a time is all SQLite does; one connection avoids `database is
                // busy` inside a process (other processes wait on its busy timeout). Its
                // settings: `SQLITE_PRAGMAS`.
                let pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    });
                (Backend::Sqlite { lock_path }, &SQLITE_MIGRATIONS, url, pool)
            }
            "postgres" | "postgresql" => {
                // A sweep holds one connection for its lock; the page writes and event upserts
                // use the others.
                let pool = AnyPoolOptions::new().max_connections(4);
                (
                    Backend::Postgres,
                    &POSTGRES_MIGRATIONS,
                    url.to_owned(),
                    pool,
                )
            }
            other => return Err(Error::UnsupportedDatabase(other.to_owned())),
        };
        let pool = pool.connect(&url).await.map_err(Error::Database)?;
        migrator.run(&pool).await.map_err(Error::Migrate)?;
        Ok(Self { pool, backend })
    }

    /// Takes the sweep lock: `None` if another process (or store) holds it. Held until the
    /// guard drops, or the process dies: a killed sweep never blocks the next one.
    pub(crate) async fn lock_sweep(&self) -> Result<Option<SweepLock>> {
        match &self.backend {
            Backend::Sqlite { lock_path: None } => Ok(Some(SweepLock::Unshared)),
            Backend::Sqlite {
                lock_path: Some(path),
            } => SweepLock::file(path),
            Backend::Postgres => {
                let mut conn = self.pool.acquire().await?.detach();
                let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(SWEEP_LOCK_KEY)
                    .fetch_one(&mut conn)
                    .await?;
                Ok(locked.then(|| SweepLock::Session(conn)))
            }
        }
    }

    /// The sync state.
    pub async fn state(&self) -> Result<SyncState> {
        let row = sqlx::query(
            "SELECT watermark, last_full_sweep_at, range_filter_supported FROM sync_state",
        )
        .fetch_one(&self.pool)
        .await?;
        let supported: Option<i64> = row.try_get("range_filter_supported")?;
        Ok(SyncState {
            watermark: parse_time(row.try_get("watermark")?),
            last_full_sweep_at: parse_time(row.try_get("last_full_sweep_at")?),
            range_filter_supported: supported.map(|s| s != 0),
        })
    }

    /// Records whether the service accepts the `updatedDateTime` range filter.
    pub(crate) async fn set_range_filter_supported(&self, supported: bool) -> Result<()> {
        sqlx::query("UPDATE sync_state SET range_filter_supported = $1")
            .bind(i64::from(supported))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Starts recording a run of `kind`; its id.
    pub(crate) async fn start_run(&self, kind: &str) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO sync_runs (started_at, kind) VALUES ($1, $2) RETURNING run_id",
        )
        .bind(instant_text(Utc::now()))
        .bind(kind)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("run_id")?)
    }

    /// Renames the run (a fallback changes its kind).
    pub(crate) async fn set_run_kind(&self, run: i64, kind: &str) -> Result<()> {
        sqlx::query("UPDATE sync_runs SET kind = $1 WHERE run_id = $2")
            .bind(kind)
            .bind(run)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends the run, with its error if it failed; a successful full sweep also sets the
    /// watermark and `last_full_sweep_at`, in the same transaction.
    pub(crate) async fn finish_run(
        &self,
        run: i64,
        error: Option<&str>,
        full_sweep_watermark: Option<Option<DateTime<Utc>>>,
    ) -> Result<()> {
        let now = instant_text(Utc::now());
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE sync_runs SET finished_at = $1, error = $2 WHERE run_id = $3")
            .bind(&now)
            .bind(error)
            .bind(run)
            .execute(&mut *tx)
            .await?;
        if let Some(watermark) = full_sweep_watermark {
            advance_watermark(&mut tx, watermark).await?;
            sqlx::query("UPDATE sync_state SET last_full_sweep_at = $1")
                .bind(&now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores referrals received outside a run (a webhook's, fetched by id) in one
    /// transaction, as a run's page is stored: a new (id, eTag) becomes a version, and the
    /// current referral unless a later one is stored. Returns how many versions were new.
    ///
    /// Safe beside a running sweep, in this process or another: the current row is only
    /// replaced by a later `updatedDateTime` (a compare-and-set in one statement).
    pub async fn store_referrals(&self, referrals: &[Referral]) -> Result<u64> {
        Ok(self.store_page(None, referrals, None).await?.new_versions)
    }

    /// Stores one page in one transaction: each referral whose (id, eTag) is new becomes a
    /// version and, unless a later version is stored, the current referral; the run's counts
    /// (if a run's page), and the watermark if given (never moved back), commit with them.
    pub(crate) async fn store_page(
        &self,
        run: Option<i64>,
        referrals: &[Referral],
        watermark: Option<DateTime<Utc>>,
    ) -> Result<PageOutcome> {
        let received_at = instant_text(Utc::now());
        let mut rows = Vec::with_capacity(referrals.len());
        for referral in referrals {
            match StoredReferral::of(referral)? {
                Some(row) => rows.push(row),
                None => tracing::warn!("a referral without an id was received; it is not stored"),
            }
        }
        // In (id, eTag) order, each once: concurrent writers (several instances on one
        // PostgreSQL) then lock rows in one order and cannot deadlock.
        rows.sort_unstable_by(|a, b| (&a.id, &a.etag).cmp(&(&b.id, &b.etag)));
        rows.dedup_by(|a, b| a.id == b.id && a.etag == b.etag);
        let mut outcome = PageOutcome {
            seen: count_u64(referrals.len()),
            new_versions: 0,
        };
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(ROWS_A_STATEMENT) {
            let new = insert_versions(&mut tx, &self.backend, chunk, &received_at).await?;
            outcome.new_versions += count_u64(new.len());
            upsert_current(&mut tx, &self.backend, &latest_by_id(chunk, &new)).await?;
        }
        if let Some(run) = run {
            sqlx::query(
                "UPDATE sync_runs SET pages = pages + 1, seen = seen + $1, \
                 new_versions = new_versions + $2 WHERE run_id = $3",
            )
            .bind(count(outcome.seen))
            .bind(count(outcome.new_versions))
            .bind(run)
            .execute(&mut *tx)
            .await?;
        }
        advance_watermark(&mut tx, watermark).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The recorded runs, oldest first.
    pub async fn runs(&self) -> Result<Vec<RunRecord>> {
        let query = format!("{RUN_COLUMNS} ORDER BY run_id");
        let rows = sqlx::query(&query).fetch_all(&self.pool).await?;
        rows.iter().map(run_record).collect()
    }

    /// Counts, the state, the last run and the last failed one.
    pub async fn status(&self) -> Result<Status> {
        let referrals: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM current_referrals")
            .fetch_one(&self.pool)
            .await?;
        let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM referral_versions")
            .fetch_one(&self.pool)
            .await?;
        let mut by_status = BTreeMap::new();
        let rows = sqlx::query(
            "SELECT COALESCE(status, '') AS status, COUNT(*) AS n FROM current_referrals \
             GROUP BY 1",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            by_status.insert(row.try_get("status")?, row.try_get("n")?);
        }
        let last = |filter: &'static str| async move {
            let query = format!("{RUN_COLUMNS} {filter} ORDER BY run_id DESC LIMIT 1");
            let row = sqlx::query(&query).fetch_optional(&self.pool).await?;
            row.as_ref().map(run_record).transpose()
        };
        Ok(Status {
            referrals,
            versions,
            by_status,
            state: self.state().await?,
            last_run: last("").await?,
            last_error: last("WHERE error IS NOT NULL").await?,
        })
    }

    /// The current referrals, by id, read as they are streamed.
    pub fn referrals(&self) -> BoxStream<'_, Result<StoredReferral>> {
        sqlx::query(
            "SELECT id, etag, updated_at, status, substatus, type, direction, qualification, \
             customer_name, customer_country, deal_value, currency, closing_at, json \
             FROM referrals ORDER BY id",
        )
        .fetch(&self.pool)
        .map_err(Error::Database)
        .and_then(|row| async move { stored_referral(&row) })
        .boxed()
    }

    /// The versions stored of referral `id`, oldest `updatedDateTime` first: (eTag, JSON).
    pub async fn versions(&self, id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT etag, json FROM referral_versions WHERE id = $1 \
             ORDER BY updated_at, received_at, etag",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("etag")?, row.try_get("json")?)))
            .collect()
    }

    /// Closes the database, waiting for its connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

const RUN_COLUMNS: &str =
    "SELECT run_id, started_at, finished_at, kind, pages, seen, new_versions, error FROM sync_runs";

/// The advisory lock a PostgreSQL sweep holds: any constant, the same in every instance
/// ("pcsync" in ASCII).
pub(crate) const SWEEP_LOCK_KEY: i64 = 0x7063_7379_6e63;

/// `rows` groups of `width` placeholders, `(?, ?), (?, ?)` for SQLite and `($1, $2), ($3, $4)`
/// for PostgreSQL (the values are bound, never written into the SQL). Not `$N` for SQLite:
/// it binds a named parameter by a linear search of the statement's names, quadratic in a
/// 1,400-value page.
fn placeholders(backend: &Backend, rows: usize, width: usize) -> String {
    let mut sql = String::with_capacity(rows * width * 5);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..width {
            if column > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite { .. } => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", row * width + column + 1)),
            }
        }
        sql.push(')');
    }
    sql
}

/// Inserts the versions of `rows` not stored yet; the (id, eTag) of those inserted.
async fn insert_versions(
    tx: &mut Transaction<'_, Any>,
    backend: &Backend,
    rows: &[StoredReferral],
    received_at: &str,
) -> Result<HashSet<(String, String)>> {
    if rows.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "INSERT INTO referral_versions (id, etag, updated_at, received_at, json) VALUES {} \
         ON CONFLICT (id, etag) DO NOTHING RETURNING id, etag",
        placeholders(backend, rows.len(), 5)
    );
    let mut query = sqlx::query(&sql);
    for row in rows {
        query = query
            .bind(&row.id)
            .bind(&row.etag)
            .bind(&row.updated_at)
            .bind(received_at)
            .bind(&row.json);
    }
    let inserted = query.fetch_all(&mut **tx).await?;
    inserted
        .iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("etag")?)))
        .collect()
}

/// Of the rows whose version is `new`, the latest of each id (in id order): one statement
/// may change a row only once.
fn latest_by_id<'a>(
    rows: &'a [StoredReferral],
    new: &HashSet<(String, String)>,
) -> Vec<&'a StoredReferral> {
    let mut latest: Vec<&StoredReferral> = Vec::new();
    for row in rows
        .iter()
        .filter(|r| new.contains(&(r.id.clone(), r.etag.clone())))
    {
        match latest.last_mut() {
            Some(last) if last.id == row.id => {
                if later_or_same(row.updated_at.as_deref(), last.updated_at.as_deref()) {
                    *last = row;
                }
            }
            _ => latest.push(row),
        }
    }
    latest
}

/// The rule of [`upsert_current`]'s compare-and-set, for two versions of one page: a version
/// without a time (drift) replaces any, as the statement does.
fn later_or_same(candidate: Option<&str>, current: Option<&str>) -> bool {
    match (candidate, current) {
        (Some(candidate), Some(current)) => candidate >= current,
        _ => true,
    }
}

/// Makes each of `rows` the current referral unless a later version is stored: a
/// compare-and-set on `updatedDateTime`, atomic in either database. An older version seen
/// late (the overlap, a listing reordered while paging, an event fetched late) is history
/// only. The row names its version by (id, eTag), whose JSON the `referrals` view joins in:
/// the JSON is written once.
async fn upsert_current(
    tx: &mut Transaction<'_, Any>,
    backend: &Backend,
    rows: &[&StoredReferral],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO current_referrals (id, etag, updated_at, status, substatus, type, \
         direction, qualification, customer_name, customer_country, deal_value, currency, \
         closing_at) \
         VALUES {} \
         ON CONFLICT (id) DO UPDATE SET etag = excluded.etag, updated_at = excluded.updated_at, \
         status = excluded.status, substatus = excluded.substatus, type = excluded.type, \
         direction = excluded.direction, qualification = excluded.qualification, \
         customer_name = excluded.customer_name, customer_country = excluded.customer_country, \
         deal_value = excluded.deal_value, currency = excluded.currency, \
         closing_at = excluded.closing_at \
         WHERE current_referrals.updated_at IS NULL OR excluded.updated_at IS NULL \
         OR excluded.updated_at >= current_referrals.updated_at",
        placeholders(backend, rows.len(), 13)
    );
    let mut query = sqlx::query(&sql);
    for row in rows {
        query = query
            .bind(&row.id)
            .bind(&row.etag)
            .bind(&row.updated_at)
            .bind(&row.status)
            .bind(&row.substatus)
            .bind(&row.referral_type)
            .bind(&row.direction)
            .bind(&row.qualification)
            .bind(&row.customer_name)
            .bind(&row.customer_country)
            .bind(&row.deal_value)
            .bind(&row.currency)
            .bind(&row.closing_at);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Moves the watermark forward to `watermark`, never back.
async fn advance_watermark(
    tx: &mut Transaction<'_, Any>,
    watermark: Option<DateTime<Utc>>,
) -> Result<()> {
    if let Some(watermark) = watermark {
        sqlx::query(
            "UPDATE sync_state SET watermark = $1 WHERE watermark IS NULL OR watermark < $1",
        )
        .bind(instant_text(watermark))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A count as the databases store it.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn count_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn run_record(row: &AnyRow) -> Result<RunRecord> {
    Ok(RunRecord {
        run_id: row.try_get("run_id")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        kind: row.try_get("kind")?,
        pages: row.try_get("pages")?,
        seen: row.try_get("seen")?,
        new_versions: row.try_get("new_versions")?,
        error: row.try_get("error")?,
    })
}

fn stored_referral(row: &AnyRow) -> Result<StoredReferral> {
    Ok(StoredReferral {
        id: row.try_get("id")?,
        etag: row.try_get("etag")?,
        updated_at: row.try_get("updated_at")?,
        status: row.try_get("status")?,
        substatus: row.try_get("substatus")?,
        referral_type: row.try_get("type")?,
        direction: row.try_get("direction")?,
        qualification: row.try_get("qualification")?,
        customer_name: row.try_get("customer_name")?,
        customer_country: row.try_get("customer_country")?,
        deal_value: row.try_get("deal_value")?,
        currency: row.try_get("currency")?,
        closing_at: row.try_get("closing_at")?,
        json: row.try_get("json")?,
    })
}

/// The scheme of a database URL, for an error that must not show its password.
fn url_scheme(url: &str) -> &str {
    url.split_once(':').map_or("", |(scheme, _)| scheme)
}
