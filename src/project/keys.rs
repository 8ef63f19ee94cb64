//! An in-memory cache of public keys, so ingest does not read the database per request.
//!
//! Misses go to the database, so a project created by the CLI while the server runs is accepted
//! at once; unknown keys are remembered only briefly (`NEGATIVE_TTL`) so that they cannot make
//! a newly created key wait, and known keys are re-read now and then so a disabled key stops
//! working without a restart.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::{self, KeyOwner, Pool, StoreError};

const POSITIVE_TTL: Duration = Duration::from_secs(30);
const NEGATIVE_TTL: Duration = Duration::from_millis(500);
/// A flood of random keys must not grow the cache without bound.
const MAX_ENTRIES: usize = 10_000;

pub struct KeyCache {
    pool: Pool,
    entries: Mutex<HashMap<String, (Option<KeyOwner>, Instant)>>,
}

impl KeyCache {
    pub fn new(pool: Pool) -> KeyCache {
        KeyCache {
            pool,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The owner of `key`, or `None` for a key no project has.
    pub async fn lookup(&self, key: &str) -> Result<Option<KeyOwner>, StoreError> {
        if let Some(hit) = self.cached(key) {
            return Ok(hit);
        }
        let owner = store::key_owner(&self.pool, key).await?;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key.to_string(), (owner.clone(), Instant::now()));
        Ok(owner)
    }

    /// Forgets every cached key, so a changed project (its rate limit, or its deletion) is
    /// read afresh by the next request. Cheap: the cache refills on the next look-ups.
    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn cached(&self, key: &str) -> Option<Option<KeyOwner>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (owner, at) = entries.get(key)?;
        let ttl = if owner.is_some() { POSITIVE_TTL } else { NEGATIVE_TTL };
        (at.elapsed() < ttl).then(|| owner.clone())
    }
}
