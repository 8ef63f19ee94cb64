//! Retention: the background pass that keeps the disk bounded.
//!
//! Every `retention_interval` it persists the rate limits' refused counts, evicts events past a
//! project's age or count limit, and hands free pages back to the file system. Candidates are
//! chosen on a read connection; deletions go to the writer in small batches (one short
//! transaction each, between ingest batches), so ingest never waits more than a few
//! milliseconds. Issue counters, hourly counts and tag counts are never touched: an issue seen a
//! million times still says so after its events are thinned.

use std::sync::Arc;
use std::time::Duration;

use crate::event::codec::Codec;
use crate::event::unix_now;
use crate::ingest::quota::Quotas;
use crate::metrics::Metrics;
use crate::store::writer::{WriteError, WriterHandle};
use crate::store::{self, Pool, StoreError};

/// Candidates read per scan of a project's events.
const SCAN_LIMIT: i64 = 5_000;
/// Events deleted per writer job: a few milliseconds of the writer's time.
const DELETE_BATCH: usize = 500;
/// Pages freed per writer job (4 KiB each).
const VACUUM_PAGES: i64 = 256;
/// Uploaded chunks that no assemble used within a day are dropped.
const CHUNK_TTL: f64 = 86_400.0;
/// Breathing room for ingest between two of our writer jobs.
const PAUSE: Duration = Duration::from_millis(5);

#[derive(Debug, Clone)]
pub struct RetentionSettings {
    pub default_max_events: i64,
    pub default_max_age_days: f64,
    pub interval: Duration,
}

#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub deleted: u64,
    pub pages_freed: i64,
}

pub fn spawn(
    pool: Pool,
    // Artifacts are deleted outside the writer: rare, short, and not the ingest tables.
    pool_admin: Pool,
    writer: WriterHandle,
    quotas: Arc<Quotas>,
    codec: Arc<Codec>,
    metrics: Metrics,
    settings: RetentionSettings,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(settings.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if !writer.is_alive() {
                return;
            }
            persist_refused(&writer, &quotas).await;
            // With several nodes on one PostgreSQL, one runs the pass at a time.
            let turn = match store::Turn::try_take(&pool, store::Task::Retention).await {
                Ok(Some(turn)) => turn,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the retention turn");
                    continue;
                }
            };
            match pass(&pool, &writer, &metrics, &settings).await {
                Ok(report) if report != PassReport::default() => {
                    tracing::info!(
                        deleted = report.deleted,
                        pages_freed = report.pages_freed,
                        "retention pass"
                    );
                }
                Ok(_) => {}
                // A full queue means ingest is busy: try again next time.
                Err(e) => tracing::warn!(error = %e, "retention pass stopped early"),
            }
            // Source maps no event used for the retention period, and chunks never assembled.
            let now = unix_now();
            let unused_before = now - settings.default_max_age_days * 86_400.0;
            match store::artifacts::sweep_artifacts(&pool_admin, unused_before, now - CHUNK_TTL).await {
                Ok(swept) if swept != Default::default() => tracing::info!(
                    bundles = swept.bundles,
                    blobs = swept.blobs,
                    chunks = swept.chunks,
                    "retention swept artifacts"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot sweep unused artifacts"),
            }
            if let Err(e) = crate::compression::drop_unused(&pool, &writer, &codec).await {
                tracing::warn!(error = %e, "cannot drop unused compression dictionaries");
            }
            // Rate-limit windows of the nodes (PostgreSQL): an hour back is long over.
            let minute = (crate::event::unix_now() / 60.0).floor() as i64;
            if let Err(e) = store::forget_windows(&pool, minute - 60).await {
                tracing::warn!(error = %e, "cannot drop old rate-limit windows");
            }
            let past_throttle = crate::event::unix_now() - crate::web::throttle::WINDOW.as_secs_f64();
            if let Err(e) = store::forget_sign_in_failures(&pool, past_throttle).await {
                tracing::warn!(error = %e, "cannot drop old failed sign-ins");
            }
            turn.release().await;
        }
    })
}

async fn persist_refused(writer: &WriterHandle, quotas: &Quotas) {
    let refused = quotas.take_refused();
    if refused.is_empty() {
        return;
    }
    if let Err(e) = writer.record_rejections(refused.clone()).await {
        tracing::debug!(error = %e, "cannot persist rate-limit counts now; keeping them for the next pass");
        quotas.restore_refused(refused);
    }
}

async fn pass(
    pool: &Pool,
    writer: &WriterHandle,
    metrics: &Metrics,
    settings: &RetentionSettings,
) -> Result<PassReport, PassError> {
    let mut report = PassReport::default();
    let limits = store::project_limits(pool, settings.default_max_events, settings.default_max_age_days).await?;
    let stored = store::stored_per_project(pool).await?;
    let now = unix_now();
    for limits in limits {
        let mut count = stored.get(&limits.project_id).copied().unwrap_or(0);
        let older_than = now - limits.max_age_days * 86_400.0;
        while count > 0 {
            let ids = store::eviction_candidates(pool, &limits, older_than, count, SCAN_LIMIT).await?;
            if ids.is_empty() {
                break;
            }
            let full_scan = ids.len() as i64 == SCAN_LIMIT;
            for chunk in ids.chunks(DELETE_BATCH) {
                let n = writer.evict(chunk.to_vec()).await?;
                metrics.retention_deleted(n);
                report.deleted += n;
                count -= n as i64;
                tokio::time::sleep(PAUSE).await;
            }
            if !full_scan {
                break;
            }
        }
    }
    // Deleted rows (here, or by deleting an issue or project) leave free pages; return them.
    loop {
        let free = store::free_pages(pool).await?;
        if free == 0 {
            break;
        }
        writer.vacuum(VACUUM_PAGES).await?;
        let left = store::free_pages(pool).await?;
        report.pages_freed += free - left;
        if left >= free {
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    Ok(report)
}
