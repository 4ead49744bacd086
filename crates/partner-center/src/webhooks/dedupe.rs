//! [`Deduplicator`]: the same delivery seen again within a window.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::Event;

/// Remembers the events seen lately, to tell a repeated delivery from a new event.
///
/// Partner Center delivers at least once (up to 10 attempts), so the same event can come
/// more than once. An event is identified by its name, resource URI and change time (as it
/// came): two updates of one referral differ by their change time.
///
/// Memory is bounded whatever arrives: at most `capacity` events are remembered, each for
/// `window` from when it was first seen; past the capacity the oldest is forgotten first.
/// Each is kept as a 64-bit hash (keyed at random per deduplicator, so no sender can make two
/// events collide on purpose), not as its text. It is safe to share between threads.
///
/// This only spares work: a handler must still be idempotent (a delivery can come after the
/// window, or after a restart).
///
/// ```
/// use std::time::Duration;
/// use partner_center::webhooks::{Deduplicator, Event};
///
/// let seen = Deduplicator::new(Duration::from_secs(3600), 10_000);
/// let event = Event::from_slice(br#"{"EventName": "referral-updated", "ResourceUri": "https://x/referrals/1",
///     "ResourceChangeUtcDate": "2024-05-01T10:00:00.1234567+00:00"}"#)?;
/// assert!(seen.first_time(&event));
/// assert!(!seen.first_time(&event.clone()));
/// # Ok::<(), partner_center::webhooks::EventError>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub struct Deduplicator {
    window: Duration,
    capacity: usize,
    hasher: RandomState,
    seen: Mutex<Seen>,
}

/// The same keys in a set (to look up) and in the order they were first seen (to forget).
#[derive(Default)]
struct Seen {
    keys: HashSet<u64>,
    order: VecDeque<(Instant, u64)>,
}

impl Deduplicator {
    /// Remembers up to `capacity` events (none if 0), each for `window`.
    pub fn new(window: Duration, capacity: usize) -> Self {
        Self {
            window,
            capacity,
            hasher: RandomState::new(),
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Whether `event` was not seen within the window (and remembers it): `false` for a
    /// repeated delivery.
    pub fn first_time(&self, event: &Event) -> bool {
        let key = self.hasher.hash_one((
            event.name().as_str(),
            event.resource_uri(),
            event.changed_at_text(),
        ));
        self.first_time_at(key, Instant::now())
    }

    fn first_time_at(&self, key: u64, now: Instant) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(&(at, old)) = seen.order.front() {
            if now.saturating_duration_since(at) < self.window {
                break;
            }
            seen.order.pop_front();
            seen.keys.remove(&old);
        }
        if seen.keys.contains(&key) {
            return false;
        }
        if self.capacity == 0 {
            return true;
        }
        while seen.order.len() >= self.capacity {
            if let Some((_, old)) = seen.order.pop_front() {
                seen.keys.remove(&old);
            }
        }
        seen.order.push_back((now, key));
        seen.keys.insert(key);
        true
    }
}

impl fmt::Debug for Deduplicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let remembered = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .order
            .len();
        f.debug_struct("Deduplicator")
            .field("window", &self.window)
            .field("capacity", &self.capacity)
            .field("remembered", &remembered)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(uri: &str, date: &str) -> Event {
        let body = serde_json::json!({
            "EventName": "referral-updated", "ResourceUri": uri, "ResourceChangeUtcDate": date,
        });
        Event::from_slice(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn a_replay_within_the_window_is_not_the_first_time() {
        let seen = Deduplicator::new(Duration::from_secs(60), 100);
        let update = event("https://x/referrals/1", "2024-05-01T10:00:00Z");
        assert!(seen.first_time(&update));
        assert!(!seen.first_time(&update));
        // Another change of the same referral, another referral, another event name: new.
        assert!(seen.first_time(&event("https://x/referrals/1", "2024-05-01T10:00:01Z")));
        assert!(seen.first_time(&event("https://x/referrals/2", "2024-05-01T10:00:00Z")));
        let created = Event::from_slice(
            br#"{"EventName": "referral-created", "ResourceUri": "https://x/referrals/1", "ResourceChangeUtcDate": "2024-05-01T10:00:00Z"}"#,
        )
        .unwrap();
        assert!(seen.first_time(&created));
    }

    #[test]
    fn events_are_forgotten_after_the_window() {
        let seen = Deduplicator::new(Duration::from_secs(60), 100);
        let t0 = Instant::now();
        assert!(seen.first_time_at(1, t0));
        assert!(!seen.first_time_at(1, t0 + Duration::from_secs(59)));
        // The window runs from the first sight, not the last.
        assert!(seen.first_time_at(1, t0 + Duration::from_secs(60)));
        assert!(!seen.first_time_at(1, t0 + Duration::from_secs(61)));
    }

    #[test]
    fn memory_stays_within_the_capacity_the_oldest_forgotten_first() {
        let seen = Deduplicator::new(Duration::from_secs(3600), 3);
        let t0 = Instant::now();
        for key in 0..10_000u64 {
            assert!(seen.first_time_at(key, t0 + Duration::from_millis(key)));
            let remembered = seen.seen.lock().unwrap();
            assert!(remembered.order.len() <= 3 && remembered.keys.len() <= 3);
        }
        let later = t0 + Duration::from_secs(11);
        assert!(!seen.first_time_at(9_999, later));
        assert!(seen.first_time_at(0, later), "the oldest was forgotten");
        let none = Deduplicator::new(Duration::from_secs(3600), 0);
        assert!(none.first_time_at(1, t0) && none.first_time_at(1, t0));
        assert!(format!("{seen:?}").contains("remembered: 3"));
    }

    #[test]
    fn it_is_shared_between_threads() {
        let seen = std::sync::Arc::new(Deduplicator::new(Duration::from_secs(60), 1000));
        let update = event("https://x/referrals/1", "2024-05-01T10:00:00Z");
        let firsts: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| (0..50).filter(|_| seen.first_time(&update)).count()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(firsts, 1);
    }
}
