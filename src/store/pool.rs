//! The one database handle the rest of Tocsin holds.

use sqlx::SqlitePool;

/// A pool of database connections, as code outside `store/` sees it.
///
/// Why a type of our own rather than sqlx's pool: only `store/` knows the database. Handlers,
/// workers and the CLI hold a `Pool` and pass it to store functions; they never name an sqlx
/// type, so the backend can change behind this handle. A PostgreSQL variant comes with issue 12
/// (several nodes on one database, DESIGN.md); SQLite stays the default.
#[derive(Clone, Debug)]
pub struct Pool(SqlitePool);

impl Pool {
    pub(super) fn new(inner: SqlitePool) -> Pool {
        Pool(inner)
    }

    /// The SQLite pool underneath, for the SQL in `store/`.
    pub(super) fn sqlite(&self) -> &SqlitePool {
        &self.0
    }

    /// Closes every connection and waits until they are closed.
    pub async fn close(&self) {
        self.0.close().await;
    }
}
