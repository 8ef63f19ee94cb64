//! Parsed source maps kept between events, bounded by an estimate of the memory they hold.
//!
//! Parsing a map costs milliseconds to seconds; mapping a frame with a parsed one costs
//! microseconds. The cache keeps the most recently used maps while their estimated size stays
//! under the bound and drops the least recently used past it. A look-up that found nothing is
//! remembered for a short while, so events from a build without maps do not each ask the
//! database; an upload on this node forgets those misses at once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long "no map here" is believed (other nodes' uploads are seen after at most this).
pub const MISS_TTL: Duration = Duration::from_secs(30);

struct Entry<V> {
    value: Option<Arc<V>>,
    cost: usize,
    used: u64,
    at: Instant,
}

struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    total: usize,
    clock: u64,
}

/// A cache of `Option<Arc<V>>` (a miss is a `None`) holding at most `capacity` bytes by the
/// costs it is told.
pub struct CostCache<K, V> {
    inner: Mutex<Inner<K, V>>,
    capacity: usize,
}

/// What a look-up found.
pub enum Cached<V> {
    Hit(Arc<V>),
    /// Known to be missing (recently).
    Miss,
    Unknown,
}

/// The cost of remembering a miss: its key and bookkeeping.
const MISS_COST: usize = 256;

impl<K: Hash + Eq + Clone, V> CostCache<K, V> {
    pub fn new(capacity: usize) -> Self {
        CostCache {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                total: 0,
                clock: 0,
            }),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock leaves the map consistent (every update is one step).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &K) -> Cached<V> {
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let Some(entry) = inner.entries.get_mut(key) else {
            return Cached::Unknown;
        };
        match &entry.value {
            Some(v) => {
                entry.used = clock;
                Cached::Hit(v.clone())
            }
            None if entry.at.elapsed() < MISS_TTL => Cached::Miss,
            None => {
                let cost = entry.cost;
                inner.entries.remove(key);
                inner.total -= cost;
                Cached::Unknown
            }
        }
    }

    /// Keeps `value` (or a miss) under `key`; a value larger than half the capacity is not kept
    /// (it would push out everything else), its user still has it.
    pub fn put(&self, key: K, value: Option<Arc<V>>, cost: usize) {
        let cost = if value.is_some() { cost.max(1) } else { MISS_COST };
        if cost > self.capacity / 2 {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let entry = Entry {
            value,
            cost,
            used: inner.clock,
            at: Instant::now(),
        };
        if let Some(old) = inner.entries.insert(key, entry) {
            inner.total -= old.cost;
        }
        inner.total += cost;
        while inner.total > self.capacity {
            // Least recently used first; a scan is fine for the few hundred maps that fit.
            let Some(oldest) = inner.entries.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| k.clone()) else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.total -= e.cost;
            }
        }
    }

    /// Forgets every remembered miss (after an upload).
    pub fn forget_misses(&self) {
        let mut inner = self.lock();
        let mut freed = 0;
        inner.entries.retain(|_, e| {
            let keep = e.value.is_some();
            if !keep {
                freed += e.cost;
            }
            keep
        });
        inner.total -= freed;
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.total = 0;
    }

    /// Bytes held, by the costs given.
    pub fn size(&self) -> usize {
        self.lock().total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_map_goes_when_the_bound_is_passed() {
        let cache: CostCache<&str, u32> = CostCache::new(1000);
        cache.put("a", Some(Arc::new(1)), 400);
        cache.put("b", Some(Arc::new(2)), 400);
        assert!(matches!(cache.get(&"a"), Cached::Hit(_)));
        cache.put("c", Some(Arc::new(3)), 400);
        assert!(
            matches!(cache.get(&"b"), Cached::Unknown),
            "b was the least recently used"
        );
        assert!(matches!(cache.get(&"a"), Cached::Hit(_)));
        assert!(cache.size() <= 1000);
    }

    #[test]
    fn a_map_larger_than_half_the_bound_is_not_kept() {
        let cache: CostCache<&str, u32> = CostCache::new(1000);
        cache.put("a", Some(Arc::new(1)), 600);
        assert!(matches!(cache.get(&"a"), Cached::Unknown));
        assert_eq!(cache.size(), 0);
    }

    #[test]
    fn misses_are_remembered_until_an_upload() {
        let cache: CostCache<&str, u32> = CostCache::new(10_000);
        cache.put("a", None, 0);
        assert!(matches!(cache.get(&"a"), Cached::Miss));
        cache.forget_misses();
        assert!(matches!(cache.get(&"a"), Cached::Unknown));
        assert_eq!(cache.size(), 0);
    }
}
