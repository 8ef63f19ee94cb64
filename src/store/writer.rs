//! The writer: ONE task owns the write connection and commits events in groups.
//!
//! Group commit without a timer: the writer takes everything queued the moment the previous
//! commit ends, writes it in one `BEGIN IMMEDIATE` transaction and only then acknowledges each
//! event. Under light load a batch is one event and latency is one commit; under heavy load
//! batches grow and throughput rises, because SQLite pays per transaction, not per row.
//!
//! The queue is bounded. A full queue is refused at once (`try_submit`), so ingest can answer
//! 429 instead of accepting an event it might lose.

use sqlx::SqliteConnection;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::StoreError;
use super::digest::{Outcome, digest};
use super::events::EventRow;
use crate::metrics::Metrics;

/// Most events written in one transaction; bounds commit latency for the first in the batch.
const MAX_BATCH: usize = 1_000;

type Ack = oneshot::Sender<Result<Outcome, StoreError>>;

struct WriteRequest {
    row: EventRow,
    ack: Ack,
}

/// Why an event could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the write queue is full")]
    Full,
    #[error("the writer has stopped")]
    Closed,
}

/// A cheap, cloneable handle to the writer task.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<WriteRequest>,
}

impl WriterHandle {
    /// Queues an event; the returned receiver resolves once its transaction has committed.
    pub fn try_submit(
        &self,
        row: EventRow,
    ) -> Result<oneshot::Receiver<Result<Outcome, StoreError>>, SubmitError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .try_send(WriteRequest { row, ack })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Full,
                mpsc::error::TrySendError::Closed(_) => SubmitError::Closed,
            })?;
        Ok(done)
    }

    /// Queues an event and waits for its commit.
    pub async fn write(&self, row: EventRow) -> Result<Outcome, WriteError> {
        let done = self.try_submit(row)?;
        done.await
            .map_err(|_| WriteError::Store(StoreError::WriterGone))?
            .map_err(WriteError::Store)
    }

    /// False once the writer task has ended (it panicked or the server is shutting down).
    pub fn is_alive(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// Either the event was never queued, or its transaction failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error(transparent)]
    Store(StoreError),
}

/// Starts the writer on `conn`. It runs until every handle is dropped, then drains the queue.
pub fn spawn(
    conn: SqliteConnection,
    capacity: usize,
    metrics: Metrics,
) -> (WriterHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(capacity);
    let task = tokio::spawn(run(conn, rx, metrics));
    (WriterHandle { tx }, task)
}

async fn run(mut conn: SqliteConnection, mut rx: mpsc::Receiver<WriteRequest>, metrics: Metrics) {
    let mut batch: Vec<WriteRequest> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let span = tracing::debug_span!("write_batch", events = batch.len());
        let started = std::time::Instant::now();
        let result = write_batch(&mut conn, &batch).instrument(span).await;
        metrics.observe_batch(batch.len(), started.elapsed());
        match result {
            Ok(outcomes) => {
                for (req, outcome) in batch.drain(..).zip(outcomes) {
                    // The client may have gone away; the event is stored all the same.
                    let _ = req.ack.send(Ok(outcome));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, events = batch.len(), "writing a batch failed; nothing of it was stored");
                for req in batch.drain(..) {
                    let _ = req.ack.send(Err(StoreError::BatchFailed(err.to_string())));
                }
            }
        }
    }
    tracing::debug!("writer stopped: every handle was dropped and the queue is empty");
}

async fn write_batch(
    conn: &mut SqliteConnection,
    batch: &[WriteRequest],
) -> Result<Vec<Outcome>, StoreError> {
    // IMMEDIATE takes the write lock up front, so a CLI command holding it makes us wait
    // (busy timeout) at BEGIN instead of failing half-way through the batch.
    let mut tx = sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await?;
    let rows: Vec<&EventRow> = batch.iter().map(|r| &r.row).collect();
    let outcomes = digest(&mut tx, &rows, crate::event::unix_now()).await?;
    tx.commit().await?;
    Ok(outcomes)
}
