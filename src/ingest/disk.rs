//! The disk guard: when the data directory's disk runs low, refuse ingest with 503 up front
//! rather than fail half-way through a write. A background task measures free space once a
//! second; handlers only read an atomic.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::IngestError;

#[derive(Clone)]
pub struct DiskGuard {
    free: Arc<AtomicU64>,
    min_free: u64,
}

impl DiskGuard {
    /// Measures once now, then keeps measuring in the background.
    pub fn start(dir: PathBuf, min_free: u64) -> DiskGuard {
        let free = Arc::new(AtomicU64::new(measure(&dir)));
        let guard = DiskGuard {
            free: free.clone(),
            min_free,
        };
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let dir = dir.clone();
                if let Ok(bytes) = tokio::task::spawn_blocking(move || measure(&dir)).await {
                    free.store(bytes, Ordering::Relaxed);
                }
            }
        });
        guard
    }

    /// No guard: on PostgreSQL the data is on the database server's disk, not this node's;
    /// a full disk there fails the commit, which ingest answers with 503.
    pub fn off() -> DiskGuard {
        DiskGuard {
            free: Arc::new(AtomicU64::new(u64::MAX)),
            min_free: 0,
        }
    }

    pub fn check(&self) -> Result<(), IngestError> {
        let free = self.free.load(Ordering::Relaxed);
        if free < self.min_free {
            return Err(IngestError::DiskFull {
                free_mib: free >> 20,
                min_mib: self.min_free >> 20,
            });
        }
        Ok(())
    }
}

/// Free bytes for an unprivileged writer; if the call fails, assume plenty rather than refuse
/// every event for a measuring problem (the failure is logged).
fn measure(dir: &std::path::Path) -> u64 {
    fs4::available_space(dir).unwrap_or_else(|e| {
        tracing::warn!(error = %e, dir = %dir.display(), "cannot measure free disk space");
        u64::MAX
    })
}
