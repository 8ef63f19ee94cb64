//! The server-wide budget of request memory: the bytes that request bodies, their decoders and
//! the events parsed from them may hold at once.
//!
//! DSN keys are public, so any client can send what costs the server memory: a decompression
//! bomb, an 18 MiB envelope, a thousand slow bodies. Each request *charges* what it is about to
//! hold before it holds it (a base for its buffers, each decoder's window, each kept byte, the
//! estimated size of a parsed event); when the budget cannot take a charge the request is refused
//! at once (ingest answers 503 + `Retry-After`) instead of growing the process.
//!
//! A part of the budget is kept for small requests: a request may hold more than
//! [`SMALL_REQUEST`] only while that reserve stays free, so a handful of large or hostile
//! requests can fill the rest but never refuse an ordinary 7 KB event.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A request holding at most this much counts as small and may use the reserve.
pub const SMALL_REQUEST: usize = 1024 * 1024;

/// What parsing `json` into a tree may hold at its peak: the text, a serialised copy and the
/// tree, whose every value (a `serde_json::Value` in an ordered map) costs about 100 bytes
/// however short its text (`0,` is two bytes). Counting the characters that start or separate
/// values is a cheap upper bound on their number.
pub fn json_cost(json: &[u8]) -> usize {
    let values = json.iter().filter(|&&b| matches!(b, b',' | b':' | b'[' | b'{')).count();
    json.len() * 3 + values * 128
}

/// The budget, shared by every request of the server.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    reserve: usize,
    used: AtomicUsize,
    refused: AtomicUsize,
}

/// Why a charge was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverBudget {
    /// The server holds too much right now: retry later.
    Busy,
    /// This one request would hold more than the server ever lets one request hold.
    TooLarge,
}

impl MemoryBudget {
    /// A budget of `limit` bytes; a quarter of it is kept for small requests.
    pub fn new(limit: usize) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget {
            limit,
            reserve: limit / 4,
            used: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
        })
    }

    /// Bytes charged right now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The budget's size.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Charges refused since start.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::Relaxed)
    }

    /// The most one request may hold: half the budget.
    pub fn per_request(&self) -> usize {
        self.limit / 2
    }

    /// A new, empty charge for one request.
    pub fn charge(self: &Arc<Self>) -> Charge {
        Charge {
            budget: self.clone(),
            held: AtomicUsize::new(0),
        }
    }

    fn try_take(&self, bytes: usize, request_total: usize) -> Result<(), OverBudget> {
        if request_total > self.per_request() {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(OverBudget::TooLarge);
        }
        // Small requests may use the whole budget; large ones leave the reserve free.
        let ceiling = if request_total <= SMALL_REQUEST {
            self.limit
        } else {
            self.limit - self.reserve
        };
        let taken = self.used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            used.checked_add(bytes).filter(|&after| after <= ceiling)
        });
        if taken.is_err() {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(OverBudget::Busy);
        }
        Ok(())
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// What one request holds of the budget; dropping it gives everything back.
///
/// Shared by reference between a request's parts (its decoders' allocators among them), hence
/// the atomic: a request is handled on one thread at a time, but its parts need `Sync`.
#[derive(Debug)]
pub struct Charge {
    budget: Arc<MemoryBudget>,
    held: AtomicUsize,
}

impl Charge {
    /// Takes `bytes` more, or refuses without taking anything.
    pub fn grow(&self, bytes: usize) -> Result<(), OverBudget> {
        if bytes == 0 {
            return Ok(());
        }
        let total = self.held().saturating_add(bytes);
        self.budget.try_take(bytes, total)?;
        self.held.fetch_add(bytes, Ordering::AcqRel);
        Ok(())
    }

    /// Gives `bytes` back (at most what is held).
    pub fn shrink(&self, bytes: usize) {
        let bytes = bytes.min(self.held());
        self.held.fetch_sub(bytes, Ordering::AcqRel);
        self.budget.give_back(bytes);
    }

    /// Holds exactly `bytes`: grows or shrinks to it.
    pub fn set(&self, bytes: usize) -> Result<(), OverBudget> {
        let held = self.held();
        if bytes > held {
            self.grow(bytes - held)
        } else {
            self.shrink(held - bytes);
            Ok(())
        }
    }

    /// Appends `bytes` to `buf`, charging what its allocation grows by first (doubling, never
    /// past `ceiling` unless the bytes need more); refuses without appending anything.
    pub fn append(&self, buf: &mut Vec<u8>, bytes: &[u8], ceiling: usize) -> Result<(), OverBudget> {
        let needed = buf.len() + bytes.len();
        if needed > buf.capacity() {
            let grown = (buf.capacity() * 2).clamp(needed, ceiling.max(needed));
            self.grow(grown - buf.capacity())?;
            buf.reserve_exact(grown - buf.len());
        }
        buf.extend_from_slice(bytes);
        Ok(())
    }

    /// Bytes this request holds.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.give_back(*self.held.get_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_are_refused_past_the_limit_and_given_back_on_drop() {
        let budget = MemoryBudget::new(8 * SMALL_REQUEST);
        let a = budget.charge();
        a.grow(SMALL_REQUEST).unwrap();
        let b = budget.charge();
        b.grow(SMALL_REQUEST).unwrap();
        assert_eq!(budget.used(), 2 * SMALL_REQUEST);
        drop(a);
        assert_eq!(budget.used(), SMALL_REQUEST);
        b.shrink(10 * SMALL_REQUEST);
        assert_eq!((b.held(), budget.used()), (0, 0));
    }

    #[test]
    fn large_requests_leave_the_reserve_to_small_ones() {
        let budget = MemoryBudget::new(8 * SMALL_REQUEST); // reserve: 2 MiB
        let big: Vec<Charge> = (0..3).map(|_| budget.charge()).collect();
        for charge in &big {
            charge.grow(2 * SMALL_REQUEST).unwrap();
        }
        // 6 MiB held: a fourth large request would eat the reserve.
        let another = budget.charge();
        assert_eq!(another.grow(2 * SMALL_REQUEST), Err(OverBudget::Busy));
        assert_eq!(another.held(), 0);
        // Small ones still fit, up to the whole budget.
        let small: Vec<Charge> = (0..2).map(|_| budget.charge()).collect();
        for charge in &small {
            charge.grow(SMALL_REQUEST).unwrap();
        }
        assert_eq!(budget.charge().grow(1), Err(OverBudget::Busy));
        assert_eq!(budget.refused(), 2);
    }

    #[test]
    fn a_json_tree_costs_by_its_values_not_only_its_bytes() {
        assert_eq!(json_cost(b"[0,1]"), 5 * 3 + 2 * 128);
        let dense = b"0,".repeat(1000);
        let sparse = vec![b'a'; 2000];
        assert!(json_cost(&dense) > 20 * json_cost(&sparse) / 3);
    }

    #[test]
    fn no_request_may_hold_more_than_half_the_budget() {
        let budget = MemoryBudget::new(8 * SMALL_REQUEST);
        let charge = budget.charge();
        assert_eq!(charge.grow(5 * SMALL_REQUEST), Err(OverBudget::TooLarge));
        charge.set(3 * SMALL_REQUEST).unwrap();
        charge.set(SMALL_REQUEST).unwrap();
        assert_eq!(budget.used(), SMALL_REQUEST);
    }
}
