//! Sign-in throttling: failed sign-ins are counted per client address and per account over a
//! sliding window; past the limit the form answers 429 without checking the password, so
//! guessing costs the attacker time and the server no argon2 work.
//!
//! With several nodes on one PostgreSQL database the failures are kept in the database, so
//! spreading guesses over the nodes gains an attacker nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::event::unix_now;
use crate::store::{self, Pool};

/// Failed attempts allowed per window from one address, and against one account.
pub const PER_ADDRESS: usize = 20;
pub const PER_ACCOUNT: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Beyond this many tracked keys the oldest state is dropped: memory stays bounded under a
/// flood of addresses.
const MAX_KEYS: usize = 50_000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
    /// The database the nodes share (PostgreSQL); `None`: this node counts alone, in memory.
    shared: Option<Pool>,
}

impl LoginThrottle {
    /// Failures kept in `pool`'s database, for every node on it.
    pub fn shared(pool: Pool) -> LoginThrottle {
        LoginThrottle {
            shared: Some(pool),
            ..LoginThrottle::default()
        }
    }

    /// `Err(seconds to wait)` when this address or account has failed too often lately.
    pub async fn check_attempt(&self, address: &str, account: &str) -> Result<(), u64> {
        let Some(pool) = &self.shared else {
            return self.check(address, account);
        };
        let now = unix_now();
        let keys = [addr_key(address), account_key(account)];
        let counts = match store::sign_in_failures(pool, &keys, now - WINDOW.as_secs_f64()).await {
            Ok(c) => c,
            // Without the database no password can be checked either; the sign-in fails there.
            Err(_) => return Ok(()),
        };
        let mut wait = None;
        for (key, failures, oldest) in counts {
            let limit = if key == keys[0] { PER_ADDRESS } else { PER_ACCOUNT };
            if failures >= limit as i64 {
                let left = (oldest + WINDOW.as_secs_f64() - now).ceil().max(1.0) as u64;
                wait = Some(wait.map_or(left, |w: u64| w.max(left)));
            }
        }
        wait.map_or(Ok(()), Err)
    }

    pub async fn attempt_failed(&self, address: &str, account: &str) {
        let Some(pool) = &self.shared else {
            return self.failed(address, account);
        };
        let keys = [addr_key(address), account_key(account)];
        if let Err(e) = store::record_sign_in_failure(pool, &keys, unix_now()).await {
            tracing::warn!(error = %e, "cannot record a failed sign-in");
        }
    }

    pub async fn attempt_succeeded(&self, account: &str) {
        let Some(pool) = &self.shared else {
            return self.succeeded(account);
        };
        if let Err(e) = store::clear_sign_in_failures(pool, &account_key(account)).await {
            tracing::warn!(error = %e, "cannot clear the failed sign-ins of an account");
        }
    }

    /// `Err(seconds to wait)` when this address or account has failed too often lately.
    pub fn check(&self, address: &str, account: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for (key, limit) in [(addr_key(address), PER_ADDRESS), (account_key(account), PER_ACCOUNT)] {
            if let Some(times) = map.get_mut(&key) {
                prune(times, now);
                if times.len() >= limit
                    && let Some(oldest) = times.front()
                {
                    let left = WINDOW.saturating_sub(now.duration_since(*oldest)).as_secs().max(1);
                    wait = Some(wait.map_or(left, |w: u64| w.max(left)));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    pub fn failed(&self, address: &str, account: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, times| {
                prune(times, now);
                !times.is_empty()
            });
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        for key in [addr_key(address), account_key(account)] {
            let times = map.entry(key).or_default();
            prune(times, now);
            times.push_back(now);
        }
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub fn succeeded(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&account_key(account));
    }
}

fn addr_key(address: &str) -> String {
    format!("ip:{address}")
}

fn account_key(account: &str) -> String {
    format!("account:{}", account.trim().to_lowercase())
}

fn prune(times: &mut VecDeque<Instant>, now: Instant) {
    while times.front().is_some_and(|t| now.duration_since(*t) > WINDOW) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_locked_after_its_limit_of_failures_from_any_address() {
        let t = LoginThrottle::default();
        for i in 0..PER_ACCOUNT {
            assert!(t.check(&format!("10.0.0.{i}"), "Ann@example.org").is_ok());
            t.failed(&format!("10.0.0.{i}"), "Ann@example.org");
        }
        let wait = t.check("10.0.0.99", "ann@example.org").unwrap_err();
        assert!(wait > 0 && wait <= WINDOW.as_secs());
        assert!(
            t.check("10.0.0.99", "bob@example.org").is_ok(),
            "other accounts are not affected"
        );
    }

    #[test]
    fn an_address_is_locked_after_its_limit_across_accounts_and_success_clears_an_account() {
        let t = LoginThrottle::default();
        for i in 0..PER_ADDRESS {
            t.failed("192.0.2.1", &format!("user{i}@example.org"));
        }
        assert!(t.check("192.0.2.1", "new@example.org").is_err());
        assert!(t.check("192.0.2.2", "new@example.org").is_ok());
        t.failed("192.0.2.3", "carol@example.org");
        t.succeeded("carol@example.org");
        assert!(t.check("192.0.2.4", "carol@example.org").is_ok());
    }
}
