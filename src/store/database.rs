//! Opening the database: the SQLite file of a data directory, or a PostgreSQL server that
//! several nodes share, with its migrations applied; and the pools each part of a node uses.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, PgPool, Row, SqliteConnection};

use super::checkpointer::{self, Checkpointer};
use super::fast_path::FastPath;
use super::{Backend, Pool, StoreError, migrate, writer};
use crate::config::Synchronous;

/// How long a connection waits for another writer (a CLI command, the server) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const READ_POOL_SIZE: u32 = 4;

/// Where the database is: the default SQLite file in the data directory, or a PostgreSQL
/// server that several Tocsin nodes share.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite {
        data_dir: PathBuf,
        synchronous: Synchronous,
    },
    Postgres {
        url: String,
    },
}

/// An open database with its migrations applied.
#[derive(Debug, Clone)]
pub struct Database(Opened);

#[derive(Debug, Clone)]
enum Opened {
    Sqlite { path: PathBuf, synchronous: Synchronous },
    // PostgreSQL pools reconnect by themselves, so the node keeps one for everything but the
    // writer (which has its own connection, see `writer::spawn`).
    Postgres { url: String, pool: PgPool },
}

/// Connections each node keeps to PostgreSQL for handlers, the UI and background work; the
/// writer has one more of its own.
const PG_POOL_SIZE: u32 = 8;
/// How long a request waits for a PostgreSQL connection before it fails (and ingest answers
/// 503): a server that is restarting should not hold clients for long.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

impl Database {
    /// The SQLite database of a data directory: creates the directory if needed and runs
    /// pending migrations.
    pub async fn open(data_dir: &Path, synchronous: Synchronous) -> Result<Database, StoreError> {
        Database::open_at(&Location::Sqlite {
            data_dir: data_dir.to_path_buf(),
            synchronous,
        })
        .await
    }

    /// Opens the database at `location` and runs pending migrations. On PostgreSQL the
    /// migrations run under an advisory lock, so nodes starting together take turns.
    pub async fn open_at(location: &Location) -> Result<Database, StoreError> {
        match location {
            Location::Sqlite { data_dir, synchronous } => Database::open_sqlite(data_dir, *synchronous).await,
            Location::Postgres { url } => {
                let pool = pg_pool(url, PG_POOL_SIZE).await?;
                migrate::postgres().run(&pool).await?;
                Ok(Database(Opened::Postgres { url: url.clone(), pool }))
            }
        }
    }

    async fn open_sqlite(data_dir: &Path, synchronous: Synchronous) -> Result<Database, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join("tocsin.db");
        let db = Database(Opened::Sqlite { path, synchronous });
        let mut conn = db.sqlite_write_connection().await?;
        // Incremental auto-vacuum lets retention hand deleted space back to the file system in
        // small steps. A new file gets it from the connection options; a file created before
        // Tocsin used it is converted once (VACUUM rewrites the file).
        let mode: i64 = sqlx::query("PRAGMA auto_vacuum").fetch_one(&mut conn).await?.get(0);
        if mode != 2 {
            tracing::info!(path = %db.describe(), "converting the database to incremental auto-vacuum (once)");
            sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
                .execute(&mut conn)
                .await?;
            sqlx::query("VACUUM").execute(&mut conn).await?;
        }
        migrate::sqlite().run(&mut conn).await?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        match self.0 {
            Opened::Sqlite { .. } => Backend::Sqlite,
            Opened::Postgres { .. } => Backend::Postgres,
        }
    }

    /// The shared PostgreSQL pool, when that is the backend.
    pub(super) fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.0 {
            Opened::Postgres { pool, .. } => Some(pool),
            Opened::Sqlite { .. } => None,
        }
    }

    /// The SQLite file, when that is the backend.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.0 {
            Opened::Sqlite { path, .. } => Some(path),
            Opened::Postgres { .. } => None,
        }
    }

    /// Where the data is, for people: the SQLite file, or the PostgreSQL URL without its password.
    pub fn describe(&self) -> String {
        match &self.0 {
            Opened::Sqlite { path, .. } => path.display().to_string(),
            Opened::Postgres { url, .. } => redact_url(url),
        }
    }

    fn sqlite_options(path: &Path, synchronous: Synchronous) -> SqliteConnectOptions {
        let synchronous = match synchronous {
            Synchronous::Normal => SqliteSynchronous::Normal,
            Synchronous::Full => SqliteSynchronous::Full,
        };
        // `from_str` on a plain path cannot fail; the fallback keeps this infallible anyway.
        SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap_or_default()
            .filename(path)
            .create_if_missing(true)
            // WAL: readers never block the writer and the writer never blocks readers.
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a committed transaction survives a crash of the process; only
            // power loss can take the last commits. FULL (a setting) fsyncs every commit.
            .synchronous(synchronous)
            // Integrity between projects, keys and events is enforced by the database itself.
            .foreign_keys(true)
            // A CLI command and the server share the file; wait for the lock rather than fail.
            .busy_timeout(BUSY_TIMEOUT)
            // Statements are logged by our own spans; sqlx's per-statement logs are noise.
            .disable_statement_logging()
    }

    /// A read-only connection's options on the SQLite file at `path` (a copy's source).
    pub(super) fn sqlite_options_read_only(path: &Path) -> SqliteConnectOptions {
        Database::sqlite_options(path, Synchronous::Normal).read_only(true)
    }

    /// Write connections ask for incremental auto-vacuum; it takes effect when the file is
    /// created (sqlx sets it before the journal mode, as SQLite requires).
    fn sqlite_write_options(&self) -> Option<SqliteConnectOptions> {
        match &self.0 {
            Opened::Sqlite { path, synchronous } => {
                Some(Database::sqlite_options(path, *synchronous).auto_vacuum(SqliteAutoVacuum::Incremental))
            }
            Opened::Postgres { .. } => None,
        }
    }

    async fn sqlite_write_connection(&self) -> Result<SqliteConnection, StoreError> {
        let options = self.sqlite_write_options().ok_or(StoreError::WriterGone)?;
        Ok(options.connect().await?)
    }

    /// The writer's own connection(s): one SQLite write connection, or a one-connection
    /// PostgreSQL pool (it reconnects by itself after the server restarts).
    pub(super) async fn writer_connection(&self) -> Result<writer::WriteConnection, StoreError> {
        match &self.0 {
            Opened::Sqlite { path, synchronous } => {
                let options = self.sqlite_write_options().ok_or(StoreError::WriterGone)?;
                let options = options
                    // Checkpoints run beside the writer (`checkpointer`); this is the safety net.
                    .pragma("wal_autocheckpoint", checkpointer::WRITER_SAFETY_PAGES.to_string())
                    // A multi-row statement's journal (kept in case it fails half-way) stays in
                    // memory instead of spilling to a temporary file created and removed per
                    // batch; it is bounded by the pages one statement changes.
                    .pragma("temp_store", "memory");
                let checkpoints = Checkpointer::spawn(self.sqlite_write_connection().await?);
                let fast = FastPath::open(path, *synchronous, BUSY_TIMEOUT)?;
                Ok(writer::WriteConnection::Sqlite(writer::SqliteWriter {
                    fast,
                    conn: options.connect().await?,
                    checkpoints,
                }))
            }
            Opened::Postgres { url, .. } => Ok(writer::WriteConnection::Postgres(
                pg_pool_options(1)
                    // No ping before each batch: it was a round trip per batch (about a fifth of
                    // a batch's time under load). A connection the server dropped fails the
                    // batch's BEGIN instead; its clients get a 503 and send again, and the pool
                    // replaces the connection.
                    .test_before_acquire(false)
                    .connect_with(PgConnectOptions::from_str(url)?.disable_statement_logging())
                    .await?,
            )),
        }
    }

    /// One write connection behind a [`Pool`], for a CLI command or a start-up step.
    pub async fn write_pool(&self) -> Result<Pool, StoreError> {
        self.pool_for_writes(1).await
    }

    /// A small read-write pool for rare writes outside the event path: users, sessions, setup.
    pub async fn admin_pool(&self) -> Result<Pool, StoreError> {
        self.pool_for_writes(2).await
    }

    async fn pool_for_writes(&self, size: u32) -> Result<Pool, StoreError> {
        match &self.0 {
            Opened::Sqlite { path, synchronous } => {
                let options = Database::sqlite_options(path, *synchronous).auto_vacuum(SqliteAutoVacuum::Incremental);
                sqlite_pool(size, options).await
            }
            Opened::Postgres { pool, .. } => Ok(Pool::postgres(pool.clone())),
        }
    }

    /// The read-only pool for handlers.
    pub async fn read_pool(&self) -> Result<Pool, StoreError> {
        match &self.0 {
            Opened::Sqlite { path, synchronous } => {
                sqlite_pool(
                    READ_POOL_SIZE,
                    Database::sqlite_options(path, *synchronous).read_only(true),
                )
                .await
            }
            Opened::Postgres { pool, .. } => Ok(Pool::postgres(pool.clone())),
        }
    }
}

async fn sqlite_pool(size: u32, options: SqliteConnectOptions) -> Result<Pool, StoreError> {
    let pool: SqlitePool = SqlitePoolOptions::new()
        .max_connections(size)
        .connect_with(options)
        .await?;
    Ok(Pool::sqlite(pool))
}

async fn pg_pool(url: &str, size: u32) -> Result<PgPool, StoreError> {
    let options = PgConnectOptions::from_str(url)?.disable_statement_logging();
    Ok(pg_pool_options(size).connect_with(options).await?)
}

fn pg_pool_options(size: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(PG_ACQUIRE_TIMEOUT)
}

/// A database URL with its password replaced, for logs, banners and `config show`.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((user_info, host)) => {
                let user = user_info.split(':').next().unwrap_or("");
                if user_info.contains(':') {
                    format!("{scheme}://{user}:***@{host}")
                } else {
                    format!("{scheme}://{user}@{host}")
                }
            }
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}
