//! The writer: ONE task owns the write connection and commits in groups.
//!
//! Group commit without a timer: the writer takes everything queued the moment the previous
//! commit ends, writes it in one `BEGIN IMMEDIATE` transaction and only then acknowledges each
//! job. Under light load a batch is one event and latency is one commit; under heavy load
//! batches grow and throughput rises, because SQLite pays per transaction, not per row.
//!
//! Jobs are events (digested into issues) and issue commands from the API and UI (status
//! changes, deletions). Both go through this one queue, so they are applied in arrival order
//! inside the same transactions and never contend for SQLite's lock.
//!
//! On SQLite, a batch of events only is first offered to the fast path (`fast_path`: a
//! connection of the writer's own, used synchronously on this task's thread), which commits it
//! when it needs nothing but look-ups and writes; the rest goes through sqlx.
//!
//! The queue is bounded. A full queue is refused at once (`try_send`), so ingest can answer
//! 429 instead of accepting an event it might lose.

use sqlx::{Connection, PgPool, SqliteConnection};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::checkpointer::Checkpointer;
use super::digest::{Outcome, digest, single_statement};
use super::events::EventRow;
use super::fast_path::FastPath;
use super::feedback::{self, FeedbackRow};
use super::issue_commands::{self, CommandOutcome, IssueCommand};
use super::outbox::FloodGuard;
use super::pool::Conn;
use super::stages::{Stage, StageTimes};
use super::{Database, StoreError};
use super::{dictionaries, retention};
use crate::metrics::Metrics;

/// Most jobs written in one transaction; bounds commit latency for the first in the batch.
const MAX_BATCH: usize = 1_000;
/// How often a batch that lost a race with another node (PostgreSQL) is run again.
const RACE_RETRIES: u32 = 8;

/// The writer's connection: SQLite's one write connection, or a one-connection PostgreSQL
/// pool, which reconnects by itself after the server restarted.
pub enum WriteConnection {
    Sqlite(SqliteWriter),
    Postgres(PgPool),
}

/// The SQLite writer's connections: its fast path's, its sqlx one for everything else, and the
/// task that checkpoints the WAL beside them.
pub struct SqliteWriter {
    pub(super) fast: FastPath,
    pub(super) conn: SqliteConnection,
    pub(super) checkpoints: Checkpointer,
}

enum Job {
    // Boxed: events are most jobs and the large variant; the queue moves pointers.
    Event(Box<EventRow>),
    Command(IssueCommand),
    Feedback(FeedbackRow),
    /// Retention: delete these event rows (a small batch, chosen off the writer).
    Evict(Vec<i64>),
    /// Return up to this many free pages to the file system.
    Vacuum(i64),
    /// Rate-limit rejections to add: `(project_id, hour, reason, count)`.
    Rejections(Vec<(i64, i64, &'static str, i64)>),
    /// A trained dictionary of a project.
    AddDictionary {
        project_id: i64,
        data: Vec<u8>,
    },
    /// Dictionaries no event uses any more.
    DropDictionaries(Vec<i64>),
}

enum Done {
    Event(Outcome),
    Command(CommandOutcome),
    Feedback,
    Evicted(u64),
    Maintenance,
    Dictionary(i64),
}

struct WriteRequest {
    job: Job,
    ack: oneshot::Sender<Result<Done, StoreError>>,
}

/// Why a job could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the write queue is full")]
    Full,
    #[error("the writer has stopped")]
    Closed,
}

/// Either the job was never queued, or its transaction failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error(transparent)]
    Store(StoreError),
}

/// A cheap, cloneable handle to the writer task.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<WriteRequest>,
}

impl WriterHandle {
    /// Queues an event and waits until its transaction has committed.
    pub async fn write(&self, row: EventRow) -> Result<Outcome, WriteError> {
        match self.submit(Job::Event(Box::new(row))).await? {
            Done::Event(outcome) => Ok(outcome),
            _ => Err(WriteError::Store(StoreError::WriterGone)),
        }
    }

    /// Queues an issue command and waits until it has committed.
    pub async fn command(&self, cmd: IssueCommand) -> Result<CommandOutcome, WriteError> {
        match self.submit(Job::Command(cmd)).await? {
            Done::Command(outcome) => Ok(outcome),
            _ => Err(WriteError::Store(StoreError::WriterGone)),
        }
    }

    /// Queues user feedback and waits until it is stored.
    pub async fn feedback(&self, row: FeedbackRow) -> Result<(), WriteError> {
        match self.submit(Job::Feedback(row)).await? {
            Done::Feedback => Ok(()),
            _ => Err(WriteError::Store(StoreError::WriterGone)),
        }
    }

    /// Deletes the events with these row ids; returns how many were still there.
    pub async fn evict(&self, ids: Vec<i64>) -> Result<u64, WriteError> {
        match self.submit(Job::Evict(ids)).await? {
            Done::Evicted(n) => Ok(n),
            _ => Err(WriteError::Store(StoreError::WriterGone)),
        }
    }

    /// Returns up to `pages` free pages of the database file to the file system.
    pub async fn vacuum(&self, pages: i64) -> Result<(), WriteError> {
        self.submit(Job::Vacuum(pages)).await.map(|_| ())
    }

    /// Persists rate-limit rejection counts.
    pub async fn record_rejections(&self, counts: Vec<(i64, i64, &'static str, i64)>) -> Result<(), WriteError> {
        self.submit(Job::Rejections(counts)).await.map(|_| ())
    }

    /// Stores a trained dictionary; returns its id.
    pub async fn add_dictionary(&self, project_id: i64, data: Vec<u8>) -> Result<i64, WriteError> {
        match self.submit(Job::AddDictionary { project_id, data }).await? {
            Done::Dictionary(id) => Ok(id),
            _ => Err(WriteError::Store(StoreError::WriterGone)),
        }
    }

    /// Deletes dictionaries that no event uses (checked again inside the transaction).
    pub async fn drop_dictionaries(&self, ids: Vec<i64>) -> Result<(), WriteError> {
        self.submit(Job::DropDictionaries(ids)).await.map(|_| ())
    }

    /// Jobs waiting for the writer right now.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    async fn submit(&self, job: Job) -> Result<Done, WriteError> {
        let (ack, done) = oneshot::channel();
        self.tx.try_send(WriteRequest { job, ack }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::Full,
            mpsc::error::TrySendError::Closed(_) => SubmitError::Closed,
        })?;
        done.await
            .map_err(|_| WriteError::Store(StoreError::WriterGone))?
            .map_err(WriteError::Store)
    }

    /// False once the writer task has ended (it panicked or the server is shutting down).
    pub fn is_alive(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// Starts the writer on a write connection of its own. It runs until every handle is dropped,
/// then drains the queue. `guard`: how many notifications per channel and window before the
/// rest are summarised.
pub async fn spawn(
    db: &Database,
    capacity: usize,
    guard: FloodGuard,
    metrics: Metrics,
) -> Result<(WriterHandle, tokio::task::JoinHandle<()>), StoreError> {
    let conn = db.writer_connection().await?;
    let (tx, rx) = mpsc::channel(capacity);
    let task = tokio::spawn(run(conn, rx, guard, metrics));
    Ok((WriterHandle { tx }, task))
}

async fn run(mut conn: WriteConnection, mut rx: mpsc::Receiver<WriteRequest>, guard: FloodGuard, metrics: Metrics) {
    let mut batch: Vec<WriteRequest> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let span = tracing::debug_span!("write_batch", jobs = batch.len());
        let started = std::time::Instant::now();
        let mut times = StageTimes::default();
        let result = write_with_retries(&mut conn, &batch, guard, &mut times)
            .instrument(span)
            .await;
        let took = started.elapsed();
        times.settle(took);
        metrics.observe_batch(batch.len(), took, &times);
        match result {
            Ok(done) => {
                for (req, done) in batch.drain(..).zip(done) {
                    // The client may have gone away; the job is committed all the same.
                    let _ = req.ack.send(Ok(done));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, jobs = batch.len(), "writing a batch failed; nothing of it was stored");
                for req in batch.drain(..) {
                    let _ = req.ack.send(Err(StoreError::BatchFailed(err.to_string())));
                }
            }
        }
    }
    tracing::debug!("writer stopped: every handle was dropped and the queue is empty");
}

/// Runs the batch's transaction again while it loses races with other nodes: each attempt
/// starts afresh and sees what the winner committed.
async fn write_with_retries(
    conn: &mut WriteConnection,
    batch: &[WriteRequest],
    guard: FloodGuard,
    times: &mut StageTimes,
) -> Result<Vec<Done>, StoreError> {
    let mut attempt = 0;
    loop {
        match write_batch(conn, batch, guard, times).await {
            Err(StoreError::Race(why)) if attempt < RACE_RETRIES => {
                attempt += 1;
                tracing::debug!(attempt, why, "a batch lost a race with another node; running it again");
            }
            other => return other,
        }
    }
}

/// One transaction for the whole batch; a 200 only after its COMMIT.
async fn write_batch(
    conn: &mut WriteConnection,
    batch: &[WriteRequest],
    guard: FloodGuard,
    times: &mut StageTimes,
) -> Result<Vec<Done>, StoreError> {
    let started = std::time::Instant::now();
    match conn {
        WriteConnection::Sqlite(w) => {
            // The fast path first, synchronously on this thread: under a millisecond for most
            // batches. Whatever it leaves goes through sqlx.
            let fast = match events_only(batch) {
                Some(rows) => w.fast.try_batch(&rows, crate::event::unix_now(), times)?,
                None => None,
            };
            let done = match fast {
                Some(outcomes) => outcomes.into_iter().map(Done::Event).collect(),
                None => {
                    // IMMEDIATE takes the write lock up front, so a CLI command holding it
                    // makes us wait (busy timeout) at BEGIN instead of failing half-way.
                    let tx = w.conn.begin_with("BEGIN IMMEDIATE").await?;
                    apply_and_commit(tx, started, batch, guard, times).await?
                }
            };
            w.checkpoints.committed();
            Ok(done)
        }
        // `synchronous_commit` is left as the server has it (on by default): COMMIT returns
        // once the batch is durable.
        WriteConnection::Postgres(pool) => {
            if let Some(rows) = events_only(batch) {
                // Most batches under load are written in one statement, outside a transaction.
                let mut conn = pool.acquire().await?;
                let now = crate::event::unix_now();
                if let Some(outcomes) = single_statement(&mut conn, &rows, now, times).await? {
                    return Ok(outcomes.into_iter().map(Done::Event).collect());
                }
            }
            let tx = pool.begin().await?;
            apply_and_commit(tx, started, batch, guard, times).await
        }
    }
}

/// The rows of a batch made of events only (the common case under load), or `None`.
fn events_only(batch: &[WriteRequest]) -> Option<Vec<&EventRow>> {
    batch
        .iter()
        .map(|req| match &req.job {
            Job::Event(row) => Some(&**row),
            _ => None,
        })
        .collect()
}

/// The batch inside `tx` (begun at `started`), then its COMMIT.
async fn apply_and_commit<DB: sqlx::Database>(
    mut tx: sqlx::Transaction<'_, DB>,
    started: std::time::Instant,
    batch: &[WriteRequest],
    guard: FloodGuard,
    times: &mut StageTimes,
) -> Result<Vec<Done>, StoreError>
where
    for<'c> Conn<'c>: From<&'c mut DB::Connection>,
{
    times.add(Stage::Begin, started);
    let done = apply_jobs(&mut Conn::from(&mut *tx), batch, guard, times).await?;
    let committing = std::time::Instant::now();
    tx.commit().await?;
    times.add(Stage::Commit, committing);
    Ok(done)
}

/// Everything a batch writes, the same SQL on both backends. Runs of consecutive events are
/// digested together; a command in between is applied at its place, so arrival order holds.
async fn apply_jobs(
    conn: &mut Conn<'_>,
    batch: &[WriteRequest],
    guard: FloodGuard,
    times: &mut StageTimes,
) -> Result<Vec<Done>, StoreError> {
    let now = crate::event::unix_now();
    let mut done = Vec::with_capacity(batch.len());
    let mut run: Vec<&EventRow> = Vec::new();
    for req in batch {
        match &req.job {
            Job::Event(row) => run.push(row),
            Job::Command(cmd) => {
                flush(conn, &mut run, &mut done, now, guard, times).await?;
                done.push(Done::Command(issue_commands::apply(conn, cmd, now).await?));
            }
            Job::Feedback(row) => {
                flush(conn, &mut run, &mut done, now, guard, times).await?;
                feedback::insert(conn, row).await?;
                done.push(Done::Feedback);
            }
            Job::Evict(ids) => {
                flush(conn, &mut run, &mut done, now, guard, times).await?;
                done.push(Done::Evicted(retention::delete_events(conn, ids).await?));
            }
            Job::Vacuum(pages) => {
                flush(conn, &mut run, &mut done, now, guard, times).await?;
                retention::incremental_vacuum(conn, *pages).await?;
                done.push(Done::Maintenance);
            }
            Job::Rejections(counts) => {
                flush(conn, &mut run, &mut done, now, guard, times).await?;
                retention::add_rejections(conn, counts).await?;
                done.push(Done::Maintenance);
            }
            Job::AddDictionary { project_id, data } => {
                flush(conn, &mut run, &mut done, now, guard, times).await?;
                let id = dictionaries::insert_dictionary(conn, *project_id, data, now).await?;
                done.push(Done::Dictionary(id));
            }
            Job::DropDictionaries(ids) => {
                flush(conn, &mut run, &mut done, now, guard, times).await?;
                dictionaries::delete_dictionaries(conn, ids).await?;
                done.push(Done::Maintenance);
            }
        }
    }
    flush(conn, &mut run, &mut done, now, guard, times).await?;
    Ok(done)
}

async fn flush(
    conn: &mut Conn<'_>,
    run: &mut Vec<&EventRow>,
    done: &mut Vec<Done>,
    now: f64,
    guard: FloodGuard,
    times: &mut StageTimes,
) -> Result<(), StoreError> {
    if !run.is_empty() {
        done.extend(digest(conn, run, now, guard, times).await?.into_iter().map(Done::Event));
        run.clear();
    }
    Ok(())
}
