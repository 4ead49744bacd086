//! [`Store`]: the referrals a sandbox serves.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use partner_center_api::types::Referral;
use serde_json::Value;

use crate::query::{Cursor, ListQuery};

/// The typed form of a referral's JSON. Decoded from its text, not with
/// `serde_json::from_value`, which hands a number past 64 bits over as a 128-bit integer: an
/// `extra` map (a `#[serde(flatten)]` field) cannot take one.
pub(crate) fn typed(referral: &Value) -> serde_json::Result<Referral> {
    serde_json::from_str(&referral.to_string())
}

/// The referrals of one sandbox, as JSON, in the order they were added; shared by its handlers
/// and its handle. Every one conforms to the spec's `Referral` (writes are checked first).
#[derive(Clone, Debug)]
pub(crate) struct Store {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<Entry>,
    /// Where each id's entry is in `entries`.
    by_id: HashMap<String, usize>,
}

#[derive(Debug)]
struct Entry {
    /// The insertion number: the order of creation, and the tie-breaker of every sort.
    seq: u64,
    referral: Value,
}

/// One page of a listing.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) referrals: Vec<Value>,
    /// How many referrals match in all.
    pub(crate) count: usize,
    /// Where the next page starts, when there is one.
    pub(crate) next: Option<Cursor>,
}

impl Store {
    pub(crate) fn new(referrals: Vec<Referral>) -> serde_json::Result<Self> {
        let store = Self {
            inner: Arc::default(),
        };
        for referral in referrals {
            store.insert(serde_json::to_value(referral)?);
        }
        Ok(store)
    }

    /// The referral with this id (compared exactly, as the service's ids are opaque).
    pub(crate) fn get(&self, id: &str) -> Option<Value> {
        let inner = self.read();
        let index = *inner.by_id.get(id)?;
        inner.entries.get(index).map(|e| e.referral.clone())
    }

    /// Every referral, in order.
    pub(crate) fn all(&self) -> Vec<Referral> {
        self.read()
            .entries
            .iter()
            // Every stored referral conforms to the spec, so it decodes.
            .filter_map(|e| typed(&e.referral).ok())
            .collect()
    }

    /// Every referral's id, in order.
    pub(crate) fn ids(&self) -> Vec<String> {
        self.read().entries.iter().filter_map(id).collect()
    }

    /// Whether a referral other than `id` is of the engagement `engagement_id`.
    pub(crate) fn has_related(&self, id: &str, engagement_id: &str) -> bool {
        self.read().entries.iter().any(|e| {
            let text = |name: &str| e.referral.get(name).and_then(Value::as_str);
            text("engagementId") == Some(engagement_id) && text("id") != Some(id)
        })
    }

    /// Adds a referral (with an `id` the store does not have yet).
    pub(crate) fn insert(&self, referral: Value) {
        let mut inner = self.write();
        let (index, seq) = (inner.entries.len(), inner.entries.len() as u64);
        if let Some(id) = referral.get("id").and_then(Value::as_str) {
            inner.by_id.insert(id.to_owned(), index);
        }
        inner.entries.push(Entry { seq, referral });
    }

    /// Replaces the referral `id` with what `change` makes of it, atomically: no other write
    /// comes between the read and the write. `None` when there is no such referral.
    pub(crate) fn update<E>(
        &self,
        id: &str,
        change: impl FnOnce(&Value) -> Result<Value, E>,
    ) -> Option<Result<Value, E>> {
        let mut inner = self.write();
        let index = *inner.by_id.get(id)?;
        let entry = inner.entries.get_mut(index)?;
        Some(change(&entry.referral).inspect(|updated| entry.referral = updated.clone()))
    }

    /// The page of referrals `query` asks for.
    pub(crate) fn page(&self, query: &ListQuery) -> Page {
        let inner = self.read();
        let mut matching: Vec<(Vec<_>, &Entry)> = inner
            .entries
            .iter()
            .filter(|e| query.filter.as_ref().is_none_or(|f| f.matches(&e.referral)))
            .map(|e| (query.keys(&e.referral), e))
            .collect();
        matching.sort_by(|(a, x), (b, y)| query.compare((a, x.seq), (b, y.seq)));
        let start = query.after.as_ref().map_or(0, |after| {
            matching.partition_point(|(keys, e)| {
                query
                    .compare((keys, e.seq), (&after.keys, after.seq))
                    .is_le()
            })
        });
        let rest = matching.get(start..).unwrap_or_default();
        let shown = rest.get(query.skip..).unwrap_or_default();
        let (page, more) = match shown.get(..query.top) {
            Some(page) => (page, shown.len() > query.top),
            None => (shown, false),
        };
        let next = page.last().filter(|_| more).map(|(keys, e)| Cursor {
            keys: keys.clone(),
            seq: e.seq,
        });
        Page {
            referrals: page
                .iter()
                .map(|(_, e)| query.project(&e.referral))
                .collect(),
            count: matching.len(),
            next,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // No code holding the lock can panic, and every write is one assignment: a poisoned
        // lock still guards consistent data.
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn id(entry: &Entry) -> Option<String> {
    entry.referral.get("id")?.as_str().map(str::to_owned)
}
