//! [`Store`]: the referrals a sandbox serves.
//!
//! Each referral is kept as its compact JSON text, not as a `Value` tree (a map node and a
//! string for every field: several times the text), with the few fields that listing reads
//! for every referral at hand beside it: the top-level date-times (the common filters and
//! every sort), the engagement. The JSON is decoded only for what a request shows, and for a
//! filter on other fields only the fields it reads.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};
use partner_center_api::types::Referral;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::query::{self, Cursor, ListQuery, SortKey};

/// The typed form of a referral's JSON. Decoded from its text, not with
/// `serde_json::from_value`, which hands a number past 64 bits over as a 128-bit integer: an
/// `extra` map (a `#[serde(flatten)]` field) cannot take one.
pub(crate) fn typed(referral: &Value) -> serde_json::Result<Referral> {
    serde_json::from_str(&referral.to_string())
}

/// The top-level date-time fields of a `Referral` in the spec: an entry has them at hand.
const DATE_FIELDS: [&str; 5] = [
    "createdDateTime",
    "updatedDateTime",
    "expirationDateTime",
    "acceptedDateTime",
    "closedDateTime",
];

/// The referrals of one sandbox, in the order they were added; shared by its handlers and its
/// handle. Every one conforms to the spec's `Referral` (writes are checked first).
#[derive(Clone, Debug)]
pub(crate) struct Store {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// In the order of creation: an entry's index is its insertion number, the tie-breaker
    /// of every sort.
    entries: Vec<Entry>,
    /// Where each id's entry is in `entries`.
    by_id: HashMap<Box<str>, usize>,
    /// The last order a listing of top-level dates asked for, until the next write: a
    /// listing reads page after page in the same order.
    sorted: Mutex<Option<Sorted>>,
}

/// Every entry, in the order of one `$orderby`.
#[derive(Debug)]
struct Sorted {
    order: Vec<SortKey>,
    /// Indexes into `entries`.
    indexes: Vec<usize>,
}

/// A referral's sort keys when they are all top-level dates (as many as there are date
/// fields, at most: a sort by one field twice is no fast path).
type DateKeys = [Option<DateTime<Utc>>; DATE_FIELDS.len()];

#[derive(Debug)]
struct Entry {
    /// The referral's JSON as `Value` writes it (compact, keys in order): decoding it and
    /// writing it again gives the same text.
    json: Box<str>,
    /// The instants of [`DATE_FIELDS`] (`None`: missing, or not a date-time).
    dates: [Option<DateTime<Utc>>; DATE_FIELDS.len()],
    /// Its `engagementId`, which every change looks for in the others (webhooks).
    engagement_id: Option<Box<str>>,
}

impl Entry {
    fn new(referral: &Value) -> Self {
        let text = |field: &str| referral.get(field).and_then(Value::as_str);
        Self {
            json: referral.to_string().into_boxed_str(),
            dates: DATE_FIELDS.map(|field| referral.get(field).and_then(crate::filter::instant)),
            engagement_id: text("engagementId").map(Box::from),
        }
    }

    fn decode(&self) -> Value {
        // `Value` wrote the text, and every stored referral decoded from its text when it was
        // written (see `typed`): it parses.
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }

    /// The referral with only its top-level fields `wanted`, for what reads no others: most
    /// of the text is skipped rather than decoded.
    fn decode_fields(&self, wanted: &[&str]) -> Value {
        let mut json = serde_json::Deserializer::from_str(&self.json);
        // As in `decode`: the text parses.
        Fields(wanted)
            .deserialize(&mut json)
            .map_or(Value::Null, Value::Object)
    }

    /// The instant of the top-level date-time field `name`, when the entry has it at hand.
    fn date(&self, name: &str) -> Option<Option<DateTime<Utc>>> {
        let index = DATE_FIELDS.iter().position(|field| *field == name)?;
        self.dates.get(index).copied()
    }

    /// The instant of the date-time field `path`: at hand for a top-level one, else read from
    /// its JSON, `json()`.
    fn date_at<'v>(
        &self,
        path: &[String],
        json: impl FnOnce() -> &'v Value,
    ) -> Option<DateTime<Utc>> {
        if let [name] = path
            && let Some(date) = self.date(name)
        {
            return date;
        }
        query::date_at(json(), path)
    }
}

/// Decodes a referral's JSON keeping only these top-level fields.
struct Fields<'w>(&'w [&'w str]);

impl<'de> DeserializeSeed<'de> for Fields<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fields<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a referral (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Map::new();
        while let Some(Key(name)) = map.next_key()? {
            if self.0.contains(&name.as_ref()) {
                fields.insert(name.into_owned(), map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(fields)
    }
}

/// A field name, borrowed from the text unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(name)))
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(name.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// One page of a listing.
#[derive(Debug)]
pub(crate) struct Page {
    /// The referrals' JSON, as `Value` writes it.
    pub(crate) referrals: Vec<String>,
    /// How many referrals match in all, when `$count=true` asks.
    pub(crate) count: Option<usize>,
    /// Where the next page starts, when there is one.
    pub(crate) next: Option<Cursor>,
}

impl Store {
    /// A store of `referrals`, taken one at a time.
    pub(crate) fn new(referrals: impl IntoIterator<Item = Referral>) -> serde_json::Result<Self> {
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
        inner.entries.get(index).map(Entry::decode)
    }

    /// Every referral, in order.
    pub(crate) fn all(&self) -> Vec<Referral> {
        self.read()
            .entries
            .iter()
            // Every stored referral conforms to the spec, so it decodes; its text is what
            // `typed` decodes.
            .filter_map(|e| serde_json::from_str(&e.json).ok())
            .collect()
    }

    /// Every referral's id, in order.
    pub(crate) fn ids(&self) -> Vec<String> {
        let inner = self.read();
        let mut ids = vec![None; inner.entries.len()];
        for (id, &index) in &inner.by_id {
            if let Some(slot) = ids.get_mut(index) {
                *slot = Some(id.to_string());
            }
        }
        ids.into_iter().flatten().collect()
    }

    /// Whether a referral other than `id` is of the engagement `engagement_id`.
    pub(crate) fn has_related(&self, id: &str, engagement_id: &str) -> bool {
        let inner = self.read();
        let own = inner.by_id.get(id).copied();
        inner.entries.iter().enumerate().any(|(index, e)| {
            e.engagement_id.as_deref() == Some(engagement_id) && Some(index) != own
        })
    }

    /// Adds a referral (with an `id` the store does not have yet).
    pub(crate) fn insert(&self, referral: Value) {
        let entry = Entry::new(&referral);
        let mut inner = self.write();
        let index = inner.entries.len();
        if let Some(id) = referral.get("id").and_then(Value::as_str) {
            inner.by_id.insert(id.into(), index);
        }
        inner.entries.push(entry);
        inner.forget_order();
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
        let changed = change(&entry.decode()).inspect(|updated| *entry = Entry::new(updated));
        if changed.is_ok() {
            inner.forget_order();
        }
        Some(changed)
    }

    /// The page of referrals `query` asks for.
    pub(crate) fn page(&self, query: &ListQuery) -> Page {
        let inner = self.read();
        let at_hand = |name: &str| DATE_FIELDS.contains(&name);
        let dates_only = query
            .filter
            .as_ref()
            .is_none_or(|f| f.reads_only_dates(&at_hand));
        match date_slots(query) {
            Some(slots) if dates_only => inner.dates_page(query, &slots),
            _ => inner.any_page(query, dates_only),
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

/// Where each sort key of `query` is in an entry's dates, when every one is at hand (and
/// there are no more than the dates).
fn date_slots(query: &ListQuery) -> Option<Vec<usize>> {
    let slots = query
        .order()
        .iter()
        .map(|key| match key.path() {
            [name] => DATE_FIELDS.iter().position(|field| field == name),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    (slots.len() <= DATE_FIELDS.len()).then_some(slots)
}

impl Inner {
    fn forget_order(&mut self) {
        *self
            .sorted
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The page of a query that reads top-level dates only, its sort keys at `slots` of the
    /// dates: read in the order kept for it (made if need be) from the cursor on, only as far
    /// as the page goes (all the way only to count, for `$count=true`).
    fn dates_page(&self, query: &ListQuery, slots: &[usize]) -> Page {
        let key_count = slots.len();
        let keys = |index: usize| -> DateKeys {
            let mut keys = DateKeys::default();
            if let Some(entry) = self.entries.get(index) {
                for (key, slot) in keys.iter_mut().zip(slots) {
                    *key = entry.dates.get(*slot).copied().flatten();
                }
            }
            keys
        };
        let mut sorted = self.sorted.lock().unwrap_or_else(PoisonError::into_inner);
        if sorted.as_ref().is_none_or(|s| s.order != query.order()) {
            let mut indexes: Vec<usize> = (0..self.entries.len()).collect();
            indexes.sort_unstable_by(|a, b| {
                let (x, y) = (keys(*a), keys(*b));
                query.compare((&x[..key_count], *a as u64), (&y[..key_count], *b as u64))
            });
            *sorted = Some(Sorted {
                order: query.order().to_vec(),
                indexes,
            });
        }
        let indexes = sorted.as_ref().map_or(&[][..], |s| &s.indexes[..]);
        let matches = |index: &usize| {
            let entry = self.entries.get(*index);
            query.filter.as_ref().is_none_or(|filter| {
                filter.matches_dates(&|name| entry.and_then(|e| e.date(name)).flatten())
            })
        };
        let start = query.after.as_ref().map_or(0, |after| {
            indexes.partition_point(|index| {
                let keys = keys(*index);
                let position = (&keys[..key_count], *index as u64);
                query.compare(position, (&after.keys, after.seq)).is_le()
            })
        });
        let needed = query.skip.saturating_add(query.top).saturating_add(1);
        let rest: Vec<usize> = indexes
            .get(start..)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(matches)
            .take(needed)
            .collect();
        let count = query
            .count
            .then(|| indexes.iter().filter(|i| matches(i)).count());
        let (referrals, next) = self.cut(query, &rest, |index| keys(index)[..key_count].to_vec());
        Page {
            referrals,
            count,
            next,
        }
    }

    /// The page of any query: every referral read (what the filter and the sort read of it
    /// decoded, when not at hand), the matching ones after the cursor ordered as far as the
    /// page goes.
    fn any_page(&self, query: &ListQuery, dates_only: bool) -> Page {
        // What a filter on other fields, or a sort by a nested date, reads of each referral.
        let mut read: Vec<&str> = query
            .filter
            .as_ref()
            .map(|f| f.fields())
            .unwrap_or_default();
        read.extend(query.sort_fields());
        let mut count = 0;
        // The sort keys of the matching referrals after the cursor, `key_count` a referral, in
        // one buffer; and where each referral's start, with its insertion number.
        let key_count = query.key_count();
        let mut keys = Vec::new();
        let mut rest: Vec<(usize, usize)> = Vec::new();
        for (index, entry) in self.entries.iter().enumerate() {
            let decoded = OnceCell::new();
            let json = || decoded.get_or_init(|| entry.decode_fields(&read));
            let matches = match &query.filter {
                None => true,
                Some(filter) if dates_only => {
                    filter.matches_dates(&|name| entry.date(name).flatten())
                }
                Some(filter) => filter.matches(json()),
            };
            if !matches {
                continue;
            }
            count += 1;
            let start = keys.len();
            query.keys_into(&mut keys, |path| entry.date_at(path, json));
            let after = query.after.as_ref().is_none_or(|after| {
                query
                    .compare((&keys[start..], index as u64), (&after.keys, after.seq))
                    .is_gt()
            });
            if after {
                rest.push((start, index));
            } else {
                keys.truncate(start);
            }
        }
        let keys_of = |start: usize| &keys[start..start + key_count];
        let order = |(a, x): &(usize, usize), (b, y): &(usize, usize)| {
            query.compare((keys_of(*a), *x as u64), (keys_of(*b), *y as u64))
        };
        // Only the first `$skip + $top` (and one more, to tell whether there is a next page)
        // need sorting: the order is total (insertion numbers break ties).
        let needed = query.skip.saturating_add(query.top).saturating_add(1);
        if rest.len() > needed {
            rest.select_nth_unstable_by(needed - 1, order);
            rest.truncate(needed);
        }
        rest.sort_unstable_by(order);
        let indexes: Vec<usize> = rest.iter().map(|(_, index)| *index).collect();
        let (referrals, next) = self.cut(query, &indexes, |index| {
            rest.iter()
                .find(|(_, i)| *i == index)
                .map_or_else(Vec::new, |(start, _)| keys_of(*start).to_vec())
        });
        Page {
            referrals,
            count: query.count.then_some(count),
            next,
        }
    }

    /// `$skip` and `$top` applied to `rest` (the matching referrals after the cursor, in
    /// order, at least the first `$skip + $top + 1` of them): the page's referrals, and where
    /// the next page starts (`keys` gives a referral's sort keys).
    fn cut(
        &self,
        query: &ListQuery,
        rest: &[usize],
        keys: impl Fn(usize) -> Vec<Option<DateTime<Utc>>>,
    ) -> (Vec<String>, Option<Cursor>) {
        let shown = rest.get(query.skip..).unwrap_or_default();
        let (page, more) = match shown.get(..query.top) {
            Some(page) => (page, shown.len() > query.top),
            None => (shown, false),
        };
        let next = page.last().filter(|_| more).map(|index| Cursor {
            keys: keys(*index),
            seq: *index as u64,
        });
        // Whole, a referral is its stored text: decoding and writing it would give the same.
        let referrals = page
            .iter()
            .filter_map(|index| self.entries.get(*index))
            .map(|e| {
                if query.selects() {
                    query.project(&e.decode()).to_string()
                } else {
                    e.json.to_string()
                }
            })
            .collect();
        (referrals, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page of `query`, following the cursors, read by `page`; the referral at `touch`
    /// is changed after the first page (a write between pages).
    fn listing(
        store: &Store,
        query: &str,
        touch: &str,
        page: impl Fn(&Inner, &ListQuery) -> Page,
    ) -> Vec<(Vec<String>, Option<usize>)> {
        let mut query = ListQuery::parse(Some(query)).unwrap();
        let mut pages = Vec::new();
        loop {
            let next = {
                let page = page(&store.read(), &query);
                pages.push((page.referrals, page.count));
                page.next
            };
            if pages.len() == 1 {
                store
                    .update(touch, |r| {
                        let mut r = r.clone();
                        r["updatedDateTime"] = "2025-07-01T00:00:00.0000000Z".into();
                        Ok::<_, ()>(r)
                    })
                    .unwrap()
                    .unwrap();
            }
            match next {
                Some(cursor) => query.after = Some(cursor),
                None => return pages,
            }
        }
    }

    #[test]
    fn the_order_kept_for_dates_gives_the_pages_that_reading_every_referral_does() {
        for query in [
            "$top=40",
            "$orderby=createdDateTime desc&$top=17&$count=true",
            "$filter=updatedDateTime ge 2025-05-01T00:00:00Z and not (closedDateTime lt \
             2025-05-20T00:00:00Z)&$orderby=updatedDateTime&$top=9&$skip=2&$count=true",
            "$orderby=closedDateTime,createdDateTime desc&$top=13",
        ] {
            // Two stores alike, as each listing changes its own.
            let [kept, read] = [(); 2].map(|()| Store::new(crate::seed::generate(3, 200)).unwrap());
            let touch = kept.ids()[150].clone();
            assert!(date_slots(&ListQuery::parse(Some(query)).unwrap()).is_some());
            let dates = |inner: &Inner, q: &ListQuery| {
                inner.dates_page(q, &date_slots(q).unwrap_or_default())
            };
            let expected = listing(&read, query, &touch, |inner, q| inner.any_page(q, false));
            assert!(expected.len() > 1, "{query}");
            assert_eq!(listing(&kept, query, &touch, dates), expected, "{query}");
        }
    }
}
