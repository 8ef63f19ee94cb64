//! Rate limits: a per-project limit in events per minute (set per project, off by default) and
//! a server-wide limit in events per second (`server_rate_limit`, off by default).
//!
//! Fixed windows, counted in memory: a refusal costs a mutex and a hash look-up, no database
//! work, which is the point when a client floods. What was refused is counted per project and
//! reason; the retention pass persists those counts, so the project page can show them.
//!
//! With several nodes on one PostgreSQL database the limits hold for the cluster: a node
//! spends allowance it reserved in chunks from the shared windows (`store::reserve`), and
//! asks for more only when its chunk is spent; an exhausted window is remembered locally until
//! it ends, so a flood past the limit costs no database work either.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::{self, Pool};

/// Why an event was refused; also its metrics label and stored reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaReason {
    /// The project's events-per-minute limit.
    Project,
    /// The server-wide events-per-second limit.
    Server,
}

impl QuotaReason {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaReason::Project => "project_quota",
            QuotaReason::Server => "server_quota",
        }
    }
}

/// A refusal: why, and how many whole seconds until the window that refused it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub reason: QuotaReason,
    pub retry_after: u64,
}

#[derive(Default)]
struct Windows {
    /// project → (minute, events admitted in it)
    projects: HashMap<i64, (i64, i64)>,
    /// (second, events admitted in it)
    server: (i64, u64),
    /// (project, hour, reason) → refused events not yet persisted
    refused: HashMap<(i64, i64, QuotaReason), i64>,
    /// Shared mode: what this node holds of each scope's current window.
    allowance: HashMap<Scope, Allowance>,
}

/// A node's share of one shared window.
#[derive(Clone, Copy)]
struct Allowance {
    window: i64,
    /// Events this node reserved and has not spent yet.
    left: i64,
    /// The cluster has spent the window: no use asking the database again before it ends.
    exhausted: bool,
}

impl Windows {
    /// The node's allowance of `scope` in `window`, fresh when the scope's last window ended.
    fn allowance(&mut self, scope: Scope, window: i64) -> &mut Allowance {
        let fresh = Allowance {
            window,
            left: 0,
            exhausted: false,
        };
        let slot = self.allowance.entry(scope).or_insert(fresh);
        if slot.window != window {
            *slot = fresh;
        }
        slot
    }
}

/// What a shared window limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    Project(i64),
    Server,
}

impl Scope {
    fn key(self) -> String {
        match self {
            Scope::Project(id) => format!("project:{id}"),
            Scope::Server => "server".into(),
        }
    }
}

pub struct Quotas {
    server_per_second: u64,
    windows: Mutex<Windows>,
    /// The database whose windows every node shares; `None`: this node counts alone.
    shared: Option<Pool>,
}

impl Quotas {
    /// `server_per_second`: 0 for no server-wide limit.
    pub fn new(server_per_second: u64) -> Quotas {
        Quotas {
            server_per_second,
            windows: Mutex::new(Windows::default()),
            shared: None,
        }
    }

    /// Limits shared by every node on `pool`'s database (PostgreSQL).
    pub fn shared(server_per_second: u64, pool: Pool) -> Quotas {
        Quotas {
            shared: Some(pool),
            ..Quotas::new(server_per_second)
        }
    }

    /// Admits one event of `project_id` at `now` (epoch seconds), or says why not.
    /// `per_minute`: the project's limit; `None` or ≤ 0 for none.
    pub async fn admit(&self, project_id: i64, per_minute: Option<i64>, now: f64) -> Result<(), Refused> {
        match &self.shared {
            None => self.admit_alone(project_id, per_minute, now),
            Some(pool) => self.admit_shared(pool, project_id, per_minute, now).await,
        }
    }

    async fn admit_shared(
        &self,
        pool: &Pool,
        project_id: i64,
        per_minute: Option<i64>,
        now: f64,
    ) -> Result<(), Refused> {
        let per_minute = per_minute.filter(|l| *l > 0);
        let second = now.floor() as i64;
        // The project's minute first; a refusal by the server's second gives it back.
        if let Some(limit) = per_minute
            && !self
                .spend(pool, Scope::Project(project_id), second.div_euclid(60), limit)
                .await
        {
            let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
            return Err(refuse(&mut w, project_id, QuotaReason::Project, now, 60.0));
        }
        if self.server_per_second > 0 {
            let limit = i64::try_from(self.server_per_second).unwrap_or(i64::MAX);
            if !self.spend(pool, Scope::Server, second, limit).await {
                let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
                if per_minute.is_some()
                    && let Some(slot) = w.allowance.get_mut(&Scope::Project(project_id))
                {
                    slot.left += 1;
                }
                return Err(refuse(&mut w, project_id, QuotaReason::Server, now, 1.0));
            }
        }
        Ok(())
    }

    /// Spends one event of the scope's window: from this node's reserve, else from a new
    /// reservation. `false` when the window is spent by the cluster.
    async fn spend(&self, pool: &Pool, scope: Scope, window: i64, limit: i64) -> bool {
        {
            let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
            let slot = w.allowance(scope, window);
            if slot.left > 0 {
                slot.left -= 1;
                return true;
            }
            if slot.exhausted {
                return false;
            }
        }
        let chunk = (limit + 9) / 10;
        let granted = match store::reserve(pool, &scope.key(), window, chunk, limit).await {
            Ok(n) => n,
            Err(e) => {
                // The event cannot be stored without the database either; its write will
                // answer 503. Refusing it here as over a limit would be a lie.
                tracing::warn!(error = %e, "cannot reserve rate-limit allowance; admitting");
                return true;
            }
        };
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let slot = w.allowance(scope, window);
        if granted <= 0 {
            slot.exhausted = true;
            return false;
        }
        slot.left += granted - 1;
        true
    }

    fn admit_alone(&self, project_id: i64, per_minute: Option<i64>, now: f64) -> Result<(), Refused> {
        let per_minute = per_minute.filter(|l| *l > 0);
        // No limit to check: no lock taken on the ingest path (the usual case).
        if self.server_per_second == 0 && per_minute.is_none() {
            return Ok(());
        }
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let second = now.floor() as i64;
        if self.server_per_second > 0 {
            if w.server.0 != second {
                w.server = (second, 0);
            }
            if w.server.1 >= self.server_per_second {
                return Err(refuse(&mut w, project_id, QuotaReason::Server, now, 1.0));
            }
        }
        if let Some(limit) = per_minute {
            let minute = second.div_euclid(60);
            let slot = w.projects.entry(project_id).or_insert((minute, 0));
            if slot.0 != minute {
                *slot = (minute, 0);
            }
            if slot.1 >= limit {
                return Err(refuse(&mut w, project_id, QuotaReason::Project, now, 60.0));
            }
            slot.1 += 1;
        }
        if self.server_per_second > 0 {
            w.server.1 += 1;
        }
        Ok(())
    }

    /// Takes the refused counts gathered since the last call: `(project, hour, reason, count)`.
    pub fn take_refused(&self) -> Vec<(i64, i64, &'static str, i64)> {
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        w.refused
            .drain()
            .map(|((project, hour, reason), n)| (project, hour, reason.as_str(), n))
            .collect()
    }

    /// Puts counts back that could not be persisted, so a busy writer loses none.
    pub fn restore_refused(&self, counts: Vec<(i64, i64, &'static str, i64)>) {
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        for (project, hour, reason, n) in counts {
            let reason = if reason == QuotaReason::Server.as_str() {
                QuotaReason::Server
            } else {
                QuotaReason::Project
            };
            *w.refused.entry((project, hour, reason)).or_default() += n;
        }
    }
}

fn refuse(w: &mut Windows, project_id: i64, reason: QuotaReason, now: f64, window: f64) -> Refused {
    let hour = (now / 3600.0).floor() as i64;
    *w.refused.entry((project_id, hour, reason)).or_default() += 1;
    // Whole seconds until the window ends, at least 1.
    let retry_after = (window - now.rem_euclid(window)).ceil().max(1.0) as u64;
    Refused { reason, retry_after }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_over_its_minute_limit_is_refused_until_the_minute_ends() {
        let q = Quotas::new(0);
        let t = 1_800_000_000.0; // on a minute boundary
        for _ in 0..3 {
            assert_eq!(q.admit_alone(1, Some(3), t + 10.0), Ok(()));
        }
        let refused = q.admit_alone(1, Some(3), t + 10.0).unwrap_err();
        assert_eq!(refused.reason, QuotaReason::Project);
        assert_eq!(refused.retry_after, 50);
        // Another project and the next minute are not affected.
        assert_eq!(q.admit_alone(2, Some(3), t + 10.0), Ok(()));
        assert_eq!(q.admit_alone(1, Some(3), t + 60.0), Ok(()));
        assert_eq!(
            q.take_refused(),
            vec![(1, (t / 3600.0).floor() as i64, "project_quota", 1)]
        );
        assert!(q.take_refused().is_empty());
    }

    #[test]
    fn the_server_limit_counts_every_project_per_second() {
        let q = Quotas::new(2);
        let t = 1_800_000_000.25;
        assert!(q.admit_alone(1, None, t).is_ok());
        assert!(q.admit_alone(2, None, t).is_ok());
        let refused = q.admit_alone(3, None, t).unwrap_err();
        assert_eq!((refused.reason, refused.retry_after), (QuotaReason::Server, 1));
        assert!(q.admit_alone(3, None, t + 1.0).is_ok());
    }

    #[test]
    fn no_limit_admits_everything() {
        let q = Quotas::new(0);
        for _ in 0..10_000 {
            assert!(q.admit_alone(1, None, 1_800_000_000.0).is_ok());
            assert!(q.admit_alone(1, Some(0), 1_800_000_000.0).is_ok());
        }
        assert!(q.take_refused().is_empty());
    }
}
