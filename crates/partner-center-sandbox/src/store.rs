//! [`Store`]: the referrals a sandbox serves.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use partner_center_api::types::Referral;

/// The referrals of one sandbox, in the order they were added, shared by its handlers and its
/// handle. Behind a lock so that write operations can join the read ones.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    referrals: Arc<RwLock<Vec<Referral>>>,
}

impl Store {
    pub(crate) fn new(referrals: Vec<Referral>) -> Self {
        Self {
            referrals: Arc::new(RwLock::new(referrals)),
        }
    }

    /// The referral with this id (compared exactly, as the service's ids are opaque).
    pub(crate) fn get(&self, id: &str) -> Option<Referral> {
        self.read()
            .iter()
            .find(|r| r.id.as_deref() == Some(id))
            .cloned()
    }

    /// Every referral, in order.
    pub(crate) fn all(&self) -> Vec<Referral> {
        self.read().clone()
    }

    /// Every referral's id, in order.
    pub(crate) fn ids(&self) -> Vec<String> {
        self.read().iter().filter_map(|r| r.id.clone()).collect()
    }

    fn read(&self) -> RwLockReadGuard<'_, Vec<Referral>> {
        // No code holding the lock can panic, and a reader cannot leave the data half-changed:
        // a poisoned lock is still safe to read.
        self.referrals
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
