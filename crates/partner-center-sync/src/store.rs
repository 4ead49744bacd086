//! [`Store`]: the SQLite database a sync keeps, its schema by embedded migrations.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use partner_center::models::{Referral, Timestamp};
use serde::Serialize;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use crate::{Error, Result};

/// The schema, one file a version (`migrations/sqlite`), applied by [`Store::open`].
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// A sync database: the current referrals, every version received, the sync state and the
/// runs.
///
/// Only SQLite for now (`sqlite:PATH`); the file is created if missing.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
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

impl Store {
    /// Opens (creating it if missing) the database at `url`, `sqlite:PATH`, and brings its
    /// schema up to date.
    pub async fn open(url: &str) -> Result<Self> {
        Self::connect(url, true).await
    }

    /// Opens the database at `url` as [`Store::open`] does, but fails if it does not exist:
    /// for reading one back, where an empty new database would only hide a wrong path.
    pub async fn open_existing(url: &str) -> Result<Self> {
        Self::connect(url, false).await
    }

    async fn connect(url: &str, create: bool) -> Result<Self> {
        if !url.starts_with("sqlite:") {
            return Err(Error::UnsupportedDatabase(url_scheme(url).to_owned()));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(Error::Database)?
            .create_if_missing(create)
            // WAL: readers (`sync status`) do not block a running sync. A committed page
            // survives the process being killed; a power cut may roll back the last pages,
            // watermark with them, and the next run fetches them again.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true);
        // One writer at a time is all SQLite does; one connection avoids `database is busy`.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(Error::Database)?;
        MIGRATOR.run(&pool).await.map_err(Error::Migrate)?;
        Ok(Self { pool })
    }

    /// The sync state.
    pub async fn state(&self) -> Result<SyncState> {
        let row = sqlx::query(
            "SELECT watermark, last_full_sweep_at, range_filter_supported FROM sync_state",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(SyncState {
            watermark: parse_time(row.try_get("watermark")?),
            last_full_sweep_at: parse_time(row.try_get("last_full_sweep_at")?),
            range_filter_supported: row.try_get("range_filter_supported")?,
        })
    }

    /// Records whether the service accepts the `updatedDateTime` range filter.
    pub(crate) async fn set_range_filter_supported(&self, supported: bool) -> Result<()> {
        sqlx::query("UPDATE sync_state SET range_filter_supported = ?")
            .bind(supported)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Starts recording a run of `kind`; its id.
    pub(crate) async fn start_run(&self, kind: &str) -> Result<i64> {
        let row =
            sqlx::query("INSERT INTO sync_runs (started_at, kind) VALUES (?, ?) RETURNING run_id")
                .bind(instant_text(Utc::now()))
                .bind(kind)
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get("run_id")?)
    }

    /// Renames the run (a fallback changes its kind).
    pub(crate) async fn set_run_kind(&self, run: i64, kind: &str) -> Result<()> {
        sqlx::query("UPDATE sync_runs SET kind = ? WHERE run_id = ?")
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
        sqlx::query("UPDATE sync_runs SET finished_at = ?, error = ? WHERE run_id = ?")
            .bind(&now)
            .bind(error)
            .bind(run)
            .execute(&mut *tx)
            .await?;
        if let Some(watermark) = full_sweep_watermark {
            advance_watermark(&mut tx, watermark).await?;
            sqlx::query("UPDATE sync_state SET last_full_sweep_at = ?")
                .bind(&now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores one page in one transaction: each referral whose (id, eTag) is new becomes a
    /// version and the current referral; the run's counts, and the watermark if given (never
    /// moved back), commit with them.
    pub(crate) async fn store_page(
        &self,
        run: i64,
        referrals: &[Referral],
        watermark: Option<DateTime<Utc>>,
    ) -> Result<PageOutcome> {
        let received_at = instant_text(Utc::now());
        let mut outcome = PageOutcome::default();
        let mut tx = self.pool.begin().await?;
        for referral in referrals {
            outcome.seen += 1;
            let Some(row) = StoredReferral::of(referral)? else {
                tracing::warn!("a referral without an id was received; it is not stored");
                continue;
            };
            let inserted = sqlx::query(
                "INSERT INTO referral_versions (id, etag, updated_at, received_at, json) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT (id, etag) DO NOTHING",
            )
            .bind(&row.id)
            .bind(&row.etag)
            .bind(&row.updated_at)
            .bind(&received_at)
            .bind(&row.json)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                continue;
            }
            outcome.new_versions += 1;
            // An older version seen late (the overlap, a listing reordered while paging) is
            // history, not the current referral.
            sqlx::query(
                "INSERT INTO referrals (id, etag, updated_at, status, substatus, type, direction, \
                 qualification, customer_name, customer_country, deal_value, currency, closing_at, json) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET etag = excluded.etag, updated_at = excluded.updated_at, \
                 status = excluded.status, substatus = excluded.substatus, type = excluded.type, \
                 direction = excluded.direction, qualification = excluded.qualification, \
                 customer_name = excluded.customer_name, customer_country = excluded.customer_country, \
                 deal_value = excluded.deal_value, currency = excluded.currency, \
                 closing_at = excluded.closing_at, json = excluded.json \
                 WHERE referrals.updated_at IS NULL OR excluded.updated_at IS NULL \
                 OR excluded.updated_at >= referrals.updated_at",
            )
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
            .bind(&row.closing_at)
            .bind(&row.json)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE sync_runs SET pages = pages + 1, seen = seen + ?, new_versions = new_versions + ? \
             WHERE run_id = ?",
        )
        .bind(count(outcome.seen))
        .bind(count(outcome.new_versions))
        .bind(run)
        .execute(&mut *tx)
        .await?;
        advance_watermark(&mut tx, watermark).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The recorded runs, oldest first.
    pub async fn runs(&self) -> Result<Vec<RunRecord>> {
        let rows = sqlx::query(RUN_COLUMNS_ORDERED)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(run_record).collect()
    }

    /// Counts, the state, the last run and the last failed one.
    pub async fn status(&self) -> Result<Status> {
        let referrals: i64 = sqlx::query("SELECT COUNT(*) AS n FROM referrals")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let versions: i64 = sqlx::query("SELECT COUNT(*) AS n FROM referral_versions")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let mut by_status = BTreeMap::new();
        let rows = sqlx::query(
            "SELECT COALESCE(status, '') AS status, COUNT(*) AS n FROM referrals GROUP BY 1",
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
            "SELECT etag, json FROM referral_versions WHERE id = ? ORDER BY updated_at, rowid",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("etag")?, row.try_get("json")?)))
            .collect()
    }

    /// Closes the database, waiting for its connection to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

const RUN_COLUMNS: &str =
    "SELECT run_id, started_at, finished_at, kind, pages, seen, new_versions, error FROM sync_runs";
const RUN_COLUMNS_ORDERED: &str = "SELECT run_id, started_at, finished_at, kind, pages, seen, new_versions, error FROM sync_runs ORDER BY run_id";

/// Moves the watermark forward to `watermark`, never back.
async fn advance_watermark(
    tx: &mut Transaction<'_, Sqlite>,
    watermark: Option<DateTime<Utc>>,
) -> Result<()> {
    if let Some(watermark) = watermark {
        sqlx::query(
            "UPDATE sync_state SET watermark = ?1 WHERE watermark IS NULL OR watermark < ?1",
        )
        .bind(instant_text(watermark))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A count as SQLite stores it (a page holds at most a few hundred).
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn run_record(row: &sqlx::sqlite::SqliteRow) -> Result<RunRecord> {
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

fn stored_referral(row: &sqlx::sqlite::SqliteRow) -> Result<StoredReferral> {
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
