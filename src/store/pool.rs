//! The one database handle the rest of Tocsin holds, and how `store/` reaches either backend.
//!
//! Why a type of our own rather than sqlx's pool: only `store/` knows the database. Handlers,
//! workers and the CLI hold a [`Pool`] and pass it to store functions; they never name an sqlx
//! type, so the backend can change behind this handle.
//!
//! Two backends, one SQL text. Every statement is written once with `$N` placeholders, which
//! both SQLite and PostgreSQL bind by number, and run through [`on!`]: the macro expands the
//! same code once per backend, each arm with its own concrete sqlx types. This is sqlx's `Any`
//! driver done at compile time: no value conversion at run time, and the compiler checks every
//! statement's Rust types against both drivers. Where the dialects really differ (a handful of
//! spots: `MAX(a, b)` against `GREATEST`, JSON functions, PRAGMAs), [`Dialect`] says how.

use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};

/// A pool of database connections, as code outside `store/` sees it.
#[derive(Clone, Debug)]
pub struct Pool(Inner);

#[derive(Clone, Debug)]
enum Inner {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One value per backend: what [`on!`] matches on.
pub(super) enum Db<S, P> {
    Sqlite(S),
    Postgres(P),
}

/// Which database a handle reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl Pool {
    pub(super) fn sqlite(pool: SqlitePool) -> Pool {
        Pool(Inner::Sqlite(pool))
    }

    pub(super) fn postgres(pool: PgPool) -> Pool {
        Pool(Inner::Postgres(pool))
    }

    pub(super) fn db(&self) -> Db<&SqlitePool, &PgPool> {
        match &self.0 {
            Inner::Sqlite(p) => Db::Sqlite(p),
            Inner::Postgres(p) => Db::Postgres(p),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.0 {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection and waits until they are closed.
    pub async fn close(&self) {
        match &self.0 {
            Inner::Sqlite(p) => p.close().await,
            Inner::Postgres(p) => p.close().await,
        }
    }
}

/// A connection inside a transaction, for the statements of one unit of work (the writer's
/// batch, a project's creation). Functions that take part in someone else's transaction take
/// `&mut Conn`.
pub(super) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    pub(super) fn db(&mut self) -> Db<&mut SqliteConnection, &mut PgConnection> {
        match self {
            Conn::Sqlite(c) => Db::Sqlite(&mut **c),
            Conn::Postgres(c) => Db::Postgres(&mut **c),
        }
    }
}

impl<'c> From<&'c mut SqliteConnection> for Conn<'c> {
    fn from(c: &'c mut SqliteConnection) -> Self {
        Conn::Sqlite(c)
    }
}

impl<'c> From<&'c mut PgConnection> for Conn<'c> {
    fn from(c: &'c mut PgConnection) -> Self {
        Conn::Postgres(c)
    }
}

/// The few places where the two SQL dialects differ, as constants of each backend's sqlx type
/// (the `$DB` that [`on!`] names).
pub(super) trait Dialect {
    /// Opens a transaction that will write. SQLite takes its write lock up front (IMMEDIATE),
    /// so a busy database makes us wait at BEGIN instead of failing half-way through.
    const BEGIN_WRITE: &'static str;
    /// The larger of two values (`MAX(a, b)` is an aggregate in PostgreSQL).
    const GREATEST: &'static str;
    /// After a `SELECT … LIMIT`: skip rows another transaction holds, so nodes claiming work
    /// at once take different rows instead of waiting for each other.
    const SKIP_LOCKED: &'static str;
}

impl Dialect for Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const GREATEST: &'static str = "MAX";
    const SKIP_LOCKED: &'static str = "";
}

impl Dialect for Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";
    const GREATEST: &'static str = "GREATEST";
    const SKIP_LOCKED: &'static str = "FOR UPDATE SKIP LOCKED";
}

/// Runs `$body` once per backend: `$c` is the backend's executor (`&SqlitePool`/`&PgPool` for a
/// [`Pool`], `&mut SqliteConnection`/`&mut PgConnection` for a [`Conn`]) and, when named, `$DB`
/// its sqlx database type (for `QueryBuilder::<$DB>` and [`Dialect`] constants).
macro_rules! on {
    ($x:expr, |$c:ident| $body:expr) => {
        match $x.db() {
            $crate::store::pool::Db::Sqlite($c) => $body,
            $crate::store::pool::Db::Postgres($c) => $body,
        }
    };
    ($x:expr, |$c:ident, $DB:ident| $body:expr) => {
        match $x.db() {
            $crate::store::pool::Db::Sqlite($c) => {
                #[allow(dead_code)]
                type $DB = sqlx::Sqlite;
                $body
            }
            $crate::store::pool::Db::Postgres($c) => {
                #[allow(dead_code)]
                type $DB = sqlx::Postgres;
                $body
            }
        }
    };
}
pub(super) use on;
