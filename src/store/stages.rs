//! Where a writer transaction's time goes, stage by stage: `/metrics` shows it as
//! `tocsin_writer_stage_seconds{stage=…}`, so an operator (and a benchmark) can tell a writer
//! waiting on its database from one busy with its own work.

use std::time::{Duration, Instant};

/// The stages of one transaction, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Opening the transaction (on SQLite, waiting for the write lock).
    Begin,
    /// The batch's one look-up: projects, stored ids, hash owners, issue states.
    Lookup,
    /// Creating the issues of new fingerprints and linking their hashes.
    NewIssues,
    /// The batch's events, counters, buckets, tag values and activity.
    Write,
    /// Everything else: commands, feedback, retention, notifications.
    Other,
    Commit,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Begin,
        Stage::Lookup,
        Stage::NewIssues,
        Stage::Write,
        Stage::Other,
        Stage::Commit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Begin => "begin",
            Stage::Lookup => "lookup",
            Stage::NewIssues => "new_issues",
            Stage::Write => "write",
            Stage::Other => "other",
            Stage::Commit => "commit",
        }
    }
}

/// Time per stage of one transaction (all its attempts, when it lost a race and ran again).
#[derive(Debug, Default, Clone)]
pub struct StageTimes {
    times: [Duration; Stage::ALL.len()],
    /// SQLite's fast path committed it, or PostgreSQL as one statement.
    pub fast_path: bool,
}

impl StageTimes {
    /// Adds the time since `started` to `stage`.
    pub fn add(&mut self, stage: Stage, started: Instant) {
        self.add_duration(stage, started.elapsed());
    }

    pub fn add_duration(&mut self, stage: Stage, took: Duration) {
        self.times[stage as usize] += took;
    }

    /// Gives [`Stage::Other`] what of the transaction's `total` no other stage took.
    pub fn settle(&mut self, total: Duration) {
        let timed: Duration = self.iter().filter(|(s, _)| *s != Stage::Other).map(|(_, d)| d).sum();
        self.add_duration(Stage::Other, total.saturating_sub(timed));
    }

    pub fn get(&self, stage: Stage) -> Duration {
        self.times[stage as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (Stage, Duration)> + '_ {
        Stage::ALL.iter().map(|&s| (s, self.get(s)))
    }
}
