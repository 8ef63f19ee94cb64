//! Moving an installation: copies a SQLite database, running or stopped, into an empty
//! PostgreSQL database, so a team can go from one node to several without losing anything.
//!
//! Everything is read in ONE read transaction of SQLite (a snapshot: a running server goes on
//! writing to the WAL and none of it is half-seen) and written in ONE PostgreSQL transaction,
//! which commits only after every table's count matched. Ids are kept, so DSNs (project ids
//! and keys), permalinks and dictionary references stay valid, and identity sequences restart
//! above the highest id SQLite ever gave (`sqlite_sequence`), so no deleted id comes back.

use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, PgConnection, Postgres, QueryBuilder, Row, SqliteConnection};

use super::pool::Db;
use super::{Database, Location, StoreError};

/// Every table, parents before children (the foreign keys are checked as rows arrive).
/// Not copied: `rate_windows` and `sign_in_failures`, the nodes' limits of the last minutes.
const TABLES: &[&str] = &[
    "projects",
    "project_keys",
    "api_tokens",
    "users",
    "issues",
    "grouphashes",
    "events",
    "issue_hourly",
    "issue_tag_values",
    "issue_users",
    "issue_minutes",
    "issue_user_minutes",
    "activity",
    "web_sessions",
    "setup_tokens",
    "issue_links",
    "user_feedback",
    "alert_channels",
    "alert_rules",
    "alert_rule_channels",
    "alert_rule_fires",
    "outbox",
    "project_rejections",
    "dictionaries",
    "counters",
    "releases",
    "deploys",
    "artifact_bundles",
    "artifact_files",
    "artifact_blobs",
    "upload_chunks",
];

/// Rows per INSERT: PostgreSQL allows 65,535 parameters; the widest table has 28 columns.
const ROWS_PER_INSERT: usize = 500;

/// What was copied: rows per table, in copy order.
#[derive(Debug, Clone, Default)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, i64)>,
}

/// A column as PostgreSQL declares it, which says how to read it from SQLite.
struct Column {
    name: String,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Integer,
    Real,
    Text,
    Blob,
}

/// Copies the SQLite database `source` into the empty PostgreSQL database at `target_url`
/// (migrated first, if it has no schema yet). Refuses a target that holds any data.
pub async fn copy_to_postgres(source: &Database, target_url: &str) -> Result<CopyReport, StoreError> {
    let Some(path) = source.sqlite_path() else {
        return Err(StoreError::Conflict(
            "the source of a copy must be a SQLite database".into(),
        ));
    };
    // Someone else's tables: refused before our schema is created beside them.
    refuse_foreign_tables(&mut PgConnection::connect(target_url).await?).await?;
    let target = Database::open_at(&Location::Postgres {
        url: target_url.to_string(),
    })
    .await?;
    let pool = target.read_pool().await?;
    let Db::Postgres(pg) = pool.db() else {
        return Err(StoreError::Conflict("the target of a copy must be PostgreSQL".into()));
    };
    let mut pg = pg.acquire().await?;
    refuse_non_empty(&mut pg).await?;

    let mut sqlite = SqliteConnection::connect_with(&Database::sqlite_options_read_only(path)).await?;
    // One read transaction: the snapshot every table is read from.
    let mut snapshot = sqlite.begin().await?;
    let mut tx = pg.begin().await?;
    // The schema's seed row; the source's counters replace it.
    sqlx::query("DELETE FROM counters").execute(&mut *tx).await?;
    let mut report = CopyReport::default();
    for &table in TABLES {
        let columns = columns_of(&mut tx, table).await?;
        let copied = copy_table(&mut snapshot, &mut tx, table, &columns).await?;
        let (source_count, target_count) = (count(&mut snapshot, table).await?, count_pg(&mut tx, table).await?);
        if copied != source_count || target_count != source_count {
            return Err(StoreError::Conflict(format!(
                "{table}: {source_count} rows in SQLite, {copied} copied, {target_count} in PostgreSQL; nothing was committed"
            )));
        }
        report.tables.push((table, target_count));
    }
    restart_sequences(&mut snapshot, &mut tx).await?;
    tx.commit().await?;
    snapshot.rollback().await?;
    Ok(report)
}

/// A target with any Tocsin row, or with tables that are not Tocsin's, is someone's data.
async fn refuse_non_empty(pg: &mut PgConnection) -> Result<(), StoreError> {
    for &table in TABLES {
        let rows = count_pg(pg, table).await?;
        // The fresh schema's own seed row in `counters` is not data.
        let seeded = if table == "counters" {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM counters WHERE NOT (name = 'project_id' AND value = 0)")
                .fetch_one(&mut *pg)
                .await?
        } else {
            rows
        };
        if seeded > 0 {
            return Err(StoreError::Conflict(format!(
                "the target database is not empty ({table} has {rows} rows); copy into a new, empty database \
                 (and start no node on it before the copy)"
            )));
        }
    }
    refuse_foreign_tables(pg).await
}

/// A database that holds tables Tocsin does not know is someone else's.
async fn refuse_foreign_tables(pg: &mut PgConnection) -> Result<(), StoreError> {
    let others: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
          WHERE table_schema = current_schema() AND table_name::text <> ALL($1) \
            AND table_name NOT IN ('_sqlx_migrations', 'rate_windows', 'sign_in_failures')",
    )
    .bind(TABLES)
    .fetch_all(&mut *pg)
    .await?;
    if !others.is_empty() {
        return Err(StoreError::Conflict(format!(
            "the target database holds other tables ({}); copy into a new, empty database",
            others.join(", ")
        )));
    }
    Ok(())
}

async fn columns_of(pg: &mut PgConnection, table: &str) -> Result<Vec<Column>, StoreError> {
    let rows = sqlx::query(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
          WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *pg)
    .await?;
    rows.iter()
        .map(|r| {
            let (name, ty): (String, String) = (r.get(0), r.get(1));
            let kind = match ty.as_str() {
                "bigint" => Kind::Integer,
                "double precision" => Kind::Real,
                "text" => Kind::Text,
                "bytea" => Kind::Blob,
                other => {
                    return Err(StoreError::Conflict(format!(
                        "{table}.{name}: no copy for PostgreSQL type {other}"
                    )));
                }
            };
            Ok(Column { name, kind })
        })
        .collect()
}

/// Streams the table's rows from SQLite into PostgreSQL, `ROWS_PER_INSERT` at a time; returns
/// how many.
async fn copy_table(
    sqlite: &mut SqliteConnection,
    pg: &mut PgConnection,
    table: &str,
    columns: &[Column],
) -> Result<i64, StoreError> {
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let list = names.join(", ");
    let select = format!("SELECT {list} FROM {table}");
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&mut *sqlite);
    let mut chunk: Vec<SqliteRow> = Vec::with_capacity(ROWS_PER_INSERT);
    let mut copied = 0;
    while let Some(row) = rows.try_next().await? {
        chunk.push(row);
        if chunk.len() == ROWS_PER_INSERT {
            copied += insert(pg, table, &list, columns, &chunk).await?;
            chunk.clear();
        }
    }
    copied += insert(pg, table, &list, columns, &chunk).await?;
    Ok(copied)
}

async fn insert(
    pg: &mut PgConnection,
    table: &str,
    list: &str,
    columns: &[Column],
    rows: &[SqliteRow],
) -> Result<i64, StoreError> {
    if rows.is_empty() {
        return Ok(0);
    }
    // Identity columns are written as they were: ids are kept.
    let mut qb: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("INSERT INTO {table} ({list}) OVERRIDING SYSTEM VALUE "));
    let mut bad = None;
    qb.push_values(rows, |mut b, row| {
        for (i, column) in columns.iter().enumerate() {
            let read = match column.kind {
                Kind::Integer => row.try_get::<Option<i64>, _>(i).map(|v| {
                    b.push_bind(v);
                }),
                Kind::Real => row.try_get::<Option<f64>, _>(i).map(|v| {
                    b.push_bind(v);
                }),
                Kind::Text => row.try_get::<Option<String>, _>(i).map(|v| {
                    b.push_bind(v);
                }),
                Kind::Blob => row.try_get::<Option<Vec<u8>>, _>(i).map(|v| {
                    b.push_bind(v);
                }),
            };
            if let Err(e) = read {
                bad.get_or_insert_with(|| format!("{table}.{}: {e}", column.name));
                b.push_bind(None::<i64>);
            }
        }
    });
    if let Some(why) = bad {
        return Err(StoreError::Conflict(format!("cannot read a value to copy: {why}")));
    }
    Ok(qb.build().execute(&mut *pg).await?.rows_affected() as i64)
}

async fn count(sqlite: &mut SqliteConnection, table: &str) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(sqlite)
            .await?,
    )
}

async fn count_pg(pg: &mut PgConnection, table: &str) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(pg)
            .await?,
    )
}

/// Identity sequences go on above the highest id SQLite ever handed out: for AUTOINCREMENT
/// tables that is `sqlite_sequence` (a deleted top id is not reused), else the largest id.
async fn restart_sequences(sqlite: &mut SqliteConnection, pg: &mut PgConnection) -> Result<(), StoreError> {
    let identities: Vec<(String, String)> = sqlx::query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
          WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut *pg)
    .await?
    .iter()
    .map(|r: &PgRow| (r.get(0), r.get(1)))
    .collect();
    for (table, column) in identities {
        let given: Option<i64> = sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = $1")
            .bind(&table)
            .fetch_optional(&mut *sqlite)
            .await?;
        let highest: Option<i64> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT MAX({column}) FROM {table}")))
                .fetch_one(&mut *pg)
                .await?;
        let next = given.unwrap_or(0).max(highest.unwrap_or(0)) + 1;
        sqlx::query("SELECT setval(pg_get_serial_sequence($1, $2), $3, false)")
            .bind(&table)
            .bind(&column)
            .bind(next)
            .execute(&mut *pg)
            .await?;
    }
    Ok(())
}
