//! [`Syncer`]: one run of a sync, a full sweep or an incremental one, page by page.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt;
use partner_center::PartnerCenter;
use partner_center::error::Report;
use partner_center::paging::{Page, Pages};
use partner_center::referrals::{Direction, Filter, MAX_PAGE_SIZE};

use crate::store::Store;
use crate::{Error, Result};

/// How far before the watermark an incremental run starts by default: the service promises
/// nothing about consistency while data changes, and (id, eTag) de-duplication makes the
/// overlap free of duplicates.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(5 * 60);

/// The most pages one run reads by default (10 million referrals): a listing whose links
/// never end stops there, with an error.
pub const DEFAULT_MAX_PAGES: usize = 100_000;

/// What kind of run it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    /// Every referral, ordered by `createdDateTime`: the first run (the backfill).
    Full,
    /// Only the referrals updated since the watermark minus the overlap, ordered by
    /// `updatedDateTime`.
    Incremental,
    /// A full sweep because the service refuses the `updatedDateTime` range filter.
    Fallback,
}

impl RunKind {
    /// Its name in `sync_runs.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Incremental => "incremental",
            Self::Fallback => "full (range filter refused)",
        }
    }

    fn is_full(self) -> bool {
        !matches!(self, Self::Incremental)
    }
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a successful run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Its id in `sync_runs`.
    pub run_id: i64,
    /// Its kind (an incremental run whose filter was refused becomes a fallback).
    pub kind: RunKind,
    /// Pages read and committed.
    pub pages: u64,
    /// Referrals received.
    pub seen: u64,
    /// Referrals received with an (id, eTag) not stored before.
    pub new_versions: u64,
    /// The watermark after the run.
    pub watermark: Option<DateTime<Utc>>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let watermark = self
            .watermark
            .map_or_else(|| "none".to_owned(), crate::store::instant_text);
        write!(
            f,
            "sync ({}): pages {}, referrals seen {}, new versions {}, watermark {watermark}",
            self.kind, self.pages, self.seen, self.new_versions
        )
    }
}

/// Keeps a [`Store`] in step with the referrals of a client.
///
/// The first run backfills every referral; later runs list only those updated since the
/// watermark minus [`Syncer::overlap`]. Each page's new versions, the run's counts and the
/// new watermark commit in one transaction: a run killed between pages resumes from the
/// watermark without losing or storing twice a version. A full sweep sets the watermark only
/// when it ends (its pages are not in `updatedDateTime` order); killed, it is done again,
/// writing only what it did not store before.
#[derive(Clone, Debug)]
pub struct Syncer {
    pub(crate) client: PartnerCenter,
    store: Store,
    overlap: Duration,
    max_pages: usize,
    observer: Observer,
}

/// A run's progress so far, as [`Syncer::on_progress`] sees it after each page.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The run's kind (so far: an incremental run may turn into a fallback).
    pub kind: RunKind,
    /// Pages read and committed.
    pub pages: u64,
    /// Referrals received.
    pub seen: u64,
    /// Referrals received with an (id, eTag) not stored before.
    pub new_versions: u64,
    /// How many referrals the listing holds, if the service said (`@odata.count`).
    pub total: Option<u64>,
    /// The latest `updatedDateTime` received.
    latest: Option<DateTime<Utc>>,
}

impl Progress {
    fn new(kind: RunKind) -> Self {
        Self {
            kind,
            pages: 0,
            seen: 0,
            new_versions: 0,
            total: None,
            latest: None,
        }
    }
}

/// What [`Syncer::on_progress`] calls.
type ProgressFn = dyn Fn(&Progress) + Send + Sync;

/// What is told of each page: nothing by default.
#[derive(Clone, Default)]
struct Observer(Option<Arc<ProgressFn>>);

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(set)"
        } else {
            "Observer(none)"
        })
    }
}

impl Syncer {
    /// A syncer of `client`'s referrals into `store`.
    pub fn new(client: PartnerCenter, store: Store) -> Self {
        Self {
            client,
            store,
            overlap: DEFAULT_OVERLAP,
            max_pages: DEFAULT_MAX_PAGES,
            observer: Observer::default(),
        }
    }

    /// Calls `observer` after each page a run commits: for a progress bar. It runs on the
    /// sync's task, between pages: keep it short.
    pub fn on_progress(mut self, observer: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.observer = Observer(Some(Arc::new(observer)));
        self
    }

    /// How far before the watermark an incremental run starts ([`DEFAULT_OVERLAP`]).
    pub fn overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap;
        self
    }

    /// Reads at most `pages` pages a run (at least 1; [`DEFAULT_MAX_PAGES`]): a run with more
    /// to read fails with the SDK's `PageLimit` after committing them.
    pub fn max_pages(mut self, pages: usize) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// The store it writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// One run: a full sweep the first time (or when the service refuses the range filter),
    /// then incremental. Recorded in `sync_runs` with its counts, and its error if it fails.
    ///
    /// One run sweeps a database at a time: while another holds it (another process,
    /// another host on one PostgreSQL), this fails at once with [`Error::SweepInProgress`].
    pub async fn run(&self) -> Result<Summary> {
        let Some(lock) = self.store.lock_sweep().await? else {
            return Err(Error::SweepInProgress);
        };
        let outcome = self.sweep().await;
        lock.release().await;
        outcome
    }

    /// A run, the sweep lock held.
    async fn sweep(&self) -> Result<Summary> {
        let state = self.store.state().await?;
        let mut kind = match (state.watermark, state.range_filter_supported) {
            (None, _) => RunKind::Full,
            (Some(_), Some(false)) => RunKind::Fallback,
            (Some(_), _) => RunKind::Incremental,
        };
        if kind == RunKind::Fallback {
            tracing::info!("the service refuses the updatedDateTime range filter: a full sweep");
        }
        let run = self.store.start_run(kind.as_str()).await?;
        let started = Utc::now();
        let mut progress = Progress::new(kind);
        let outcome = match state.watermark {
            Some(watermark) if kind == RunKind::Incremental => {
                self.incremental(run, watermark, state.range_filter_supported, &mut progress)
                    .await
            }
            _ => self.full(run, &mut progress).await.map(|()| kind),
        };
        match outcome {
            Ok(ran) => {
                kind = ran;
                let full = kind
                    .is_full()
                    .then(|| sweep_watermark(progress.latest, started));
                self.store.finish_run(run, None, full).await?;
                Ok(Summary {
                    run_id: run,
                    kind,
                    pages: progress.pages,
                    seen: progress.seen,
                    new_versions: progress.new_versions,
                    watermark: self.store.state().await?.watermark,
                })
            }
            Err(error) => {
                let shown = Report::new(&error).to_string();
                // The run failed: recording it is best effort, the run's error comes first.
                if let Err(record) = self.store.finish_run(run, Some(&shown), None).await {
                    tracing::warn!(error = %Report::new(&record), "cannot record the failed run");
                }
                Err(error)
            }
        }
    }

    /// The referrals updated since `watermark` minus the overlap, the watermark advancing
    /// with each page; a refused filter turns the run into a full sweep. Returns the kind
    /// the run turned out to be.
    async fn incremental(
        &self,
        run: i64,
        watermark: DateTime<Utc>,
        supported: Option<bool>,
        progress: &mut Progress,
    ) -> Result<RunKind> {
        let overlap = TimeDelta::from_std(self.overlap).unwrap_or(TimeDelta::MAX);
        let since = watermark
            .checked_sub_signed(overlap)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut pages = self
            .client
            .referrals()
            .list()
            .filter(Filter::updated_since(since))
            .order_by("updatedDateTime", Direction::Ascending)
            .top(MAX_PAGE_SIZE)
            .count(true)
            .max_pages(self.max_pages)
            .pages();
        match pages.next().await {
            Some(Err(error)) if error.status().map(|s| s.as_u16()) == Some(400) => {
                tracing::warn!(
                    error = %Report::new(&error),
                    "the service refused the updatedDateTime range filter; falling back to full sweeps"
                );
                self.store.set_range_filter_supported(false).await?;
                self.store
                    .set_run_kind(run, RunKind::Fallback.as_str())
                    .await?;
                progress.kind = RunKind::Fallback;
                self.full(run, progress).await?;
                Ok(RunKind::Fallback)
            }
            Some(first) => {
                let first = first?;
                if supported.is_none() {
                    self.store.set_range_filter_supported(true).await?;
                }
                self.rest(run, Some(first), pages, true, progress).await?;
                Ok(RunKind::Incremental)
            }
            None => Ok(RunKind::Incremental),
        }
    }

    /// Every referral, ordered by `createdDateTime`.
    async fn full(&self, run: i64, progress: &mut Progress) -> Result<()> {
        let pages = self
            .client
            .referrals()
            .list()
            .order_by("createdDateTime", Direction::Ascending)
            .top(MAX_PAGE_SIZE)
            .count(true)
            .max_pages(self.max_pages)
            .pages();
        self.rest(run, None, pages, false, progress).await
    }

    /// Commits `first` (if given) and each page of `pages` after it (at most the listing's
    /// `max_pages`: the SDK bounds it). The next page is read while one is stored, so the
    /// service and the database work at once; pages still commit one after the other, and one
    /// read but not stored when the run stops is read again by the next run.
    async fn rest(
        &self,
        run: i64,
        first: Option<Page>,
        mut pages: Pages,
        advance: bool,
        progress: &mut Progress,
    ) -> Result<()> {
        let mut page = match first {
            Some(page) => page,
            None => match pages.next().await {
                Some(page) => page?,
                None => return Ok(()),
            },
        };
        loop {
            let storing = self.commit(run, &page, advance, progress);
            let (stored, next) = futures_util::future::join(storing, pages.next()).await;
            stored?;
            match next {
                Some(next) => page = next?,
                None => return Ok(()),
            }
        }
    }

    /// One page in one transaction; the watermark moves with it when `advance` (a listing in
    /// `updatedDateTime` order).
    async fn commit(
        &self,
        run: i64,
        page: &Page,
        advance: bool,
        progress: &mut Progress,
    ) -> Result<()> {
        let referrals = &page.items;
        let latest = referrals
            .iter()
            .filter_map(|r| r.updated_date_time.as_ref()?.instant())
            .max();
        let stored = self
            .store
            .store_page(Some(run), referrals, latest.filter(|_| advance))
            .await?;
        progress.pages += 1;
        progress.seen += stored.seen;
        progress.new_versions += stored.new_versions;
        progress.latest = progress.latest.max(latest);
        if let Some(count) = page.count {
            progress.total = u64::try_from(count).ok();
        }
        if let Some(observer) = &self.observer.0 {
            observer(progress);
        }
        Ok(())
    }
}

/// The watermark a full sweep leaves: the latest `updatedDateTime` it read, but never later
/// than when it started. A referral changed during the sweep, after its page was read, has a
/// later time than the start (give or take the clocks' skew, which the overlap covers): the
/// next incremental run must still reach it, however late the referrals of the last pages were
/// changed.
fn sweep_watermark(latest: Option<DateTime<Utc>>, started: DateTime<Utc>) -> Option<DateTime<Utc>> {
    latest.map(|latest| latest.min(started))
}

impl From<partner_center::Error> for Error {
    fn from(error: partner_center::Error) -> Self {
        Self::Call(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_never_leaves_a_watermark_past_its_start() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        let started = at("2026-12-01T10:00:00Z");
        // All read before the sweep began: the latest of them.
        let before = Some(at("2026-11-30T09:00:00Z"));
        assert_eq!(sweep_watermark(before, started), before);
        // A referral of the last page changed during the sweep: the start, so that what changed
        // on the pages read earlier is read again.
        let during = Some(at("2026-12-01T10:20:00Z"));
        assert_eq!(sweep_watermark(during, started), Some(started));
        assert_eq!(sweep_watermark(None, started), None);
    }
}
