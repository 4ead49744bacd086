//! [`Syncer::follow`]: a sync driven by change notices (webhooks), with periodic
//! reconciliation sweeps for what the notices missed.

use std::time::Duration;

use futures_util::stream::{self, Stream, StreamExt};

use crate::syncer::{Summary, Syncer};
use crate::{Error, Result};

/// What [`Syncer::follow`] did: an item for each changed referral handled and each sweep.
#[derive(Debug)]
#[non_exhaustive]
pub enum Followed {
    /// A changed referral, read by id and stored: how many of its versions were new (0: it was
    /// stored already, e.g. by a sweep or a repeated notice).
    Stored {
        /// The referral's id.
        id: String,
        /// Versions new to the store.
        new_versions: u64,
    },
    /// A changed referral that could not be read or stored; a later sweep stores it.
    Missed {
        /// The referral's id.
        id: String,
        /// Why.
        error: Error,
    },
    /// A reconciliation sweep ran.
    Swept(Summary),
    /// A reconciliation sweep failed, or another instance was sweeping
    /// ([`Error::SweepInProgress`]); the next one tries again.
    SweepFailed(Error),
}

impl Syncer {
    /// Reads referral `id` and stores it: a new (id, eTag) becomes a version, and the current
    /// referral unless a later version is stored (a compare-and-set, safe beside a sweep of
    /// another instance). Idempotent: a repeated notice stores nothing. Returns how many
    /// versions were new.
    pub async fn fetch(&self, id: &str) -> Result<u64> {
        let referral = self.client.referrals().get(id).await?;
        self.store().store_referrals(&[referral]).await
    }

    /// Follows the referrals named by `changed` (the ids of webhook events, say): each is
    /// [fetched](Self::fetch), at most `concurrency` at a time (the client's retry policy
    /// and rate limit apply). A sweep ([`Self::run`]) starts at once, then every
    /// `reconcile_every` after the last one ended, catching what the notices missed.
    ///
    /// The stream does not end by itself (sweeps go on when `changed` ends): drop it to stop.
    /// Dropped in the middle of a page, the page's transaction rolls back; the next sweep
    /// reads it again.
    pub fn follow<'a>(
        &'a self,
        changed: impl Stream<Item = String> + Send + 'a,
        reconcile_every: Duration,
        concurrency: usize,
    ) -> impl Stream<Item = Followed> + Send + 'a {
        let fetched = changed
            .map(move |id| async move {
                match self.fetch(&id).await {
                    Ok(new_versions) => Followed::Stored { id, new_versions },
                    Err(error) => Followed::Missed { id, error },
                }
            })
            .buffer_unordered(concurrency.max(1));
        let sweeps = stream::unfold(true, move |first| async move {
            if !first {
                tokio::time::sleep(reconcile_every).await;
            }
            let swept = match self.run().await {
                Ok(summary) => Followed::Swept(summary),
                Err(error) => Followed::SweepFailed(error),
            };
            Some((swept, false))
        });
        stream::select(fetched, sweeps)
    }
}
