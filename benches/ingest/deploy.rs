//! What the ingest load runs against: one server on SQLite, or N nodes on one PostgreSQL
//! database of a cluster on this machine; and what each costs (CPU of every process that serves
//! the load, bytes the database takes).

use std::path::Path;

use crate::common::{self, Server};
use crate::postgres::Cluster;

/// A deployment the benchmark measures.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    Sqlite,
    Postgres { nodes: usize },
}

impl Setup {
    pub fn label(self) -> String {
        match self {
            Setup::Sqlite => "SQLite".to_string(),
            Setup::Postgres { nodes: 1 } => "PostgreSQL, 1 node".to_string(),
            Setup::Postgres { nodes } => format!("PostgreSQL, {nodes} nodes"),
        }
    }
}

/// PostgreSQL set up so that a 200 means durable, as on SQLite: every commit waits for the disk
/// (PostgreSQL's defaults, named so that none of the tests' settings slips in).
const DURABLE: &[&str] = &["fsync=on", "synchronous_commit=on", "max_connections=200"];

/// A cluster for the benchmark's PostgreSQL runs, with `extra` settings (`name=value`) after the
/// durable ones, and a line saying how it is set up.
pub fn cluster(extra: &[String]) -> (Cluster, String) {
    let statements: &[&str] = if statements_wanted() { &STATEMENTS } else { &[] };
    let settings: Vec<&str> = DURABLE
        .iter()
        .chain(statements)
        .copied()
        .chain(extra.iter().map(String::as_str))
        .collect();
    let cluster = Cluster::create(&settings);
    let shown = crate::postgres::psql(
        &cluster.database(),
        "SELECT concat_ws(', ', split_part(version(), ' ', 2), 'fsync=' || current_setting('fsync'), \
         'synchronous_commit=' || current_setting('synchronous_commit'), \
         'shared_buffers=' || current_setting('shared_buffers'), \
         'autovacuum_naptime=' || current_setting('autovacuum_naptime'))",
    );
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(" (set by --pg-setting: {})", extra.join(", "))
    };
    (cluster, format!("PostgreSQL {shown}{extra}, on this machine"))
}

/// `TOCSIN_BENCH_PG_STATEMENTS=1`: after each PostgreSQL run, print where PostgreSQL spent
/// its time, statement by statement (pg_stat_statements, planning included).
fn statements_wanted() -> bool {
    std::env::var_os("TOCSIN_BENCH_PG_STATEMENTS").is_some()
}

const STATEMENTS: [&str; 2] = [
    "shared_preload_libraries=pg_stat_statements",
    "pg_stat_statements.track_planning=on",
];

/// The statements that took most of the run's time, grouped by their first 60 characters (a
/// multi-row statement has one text per row count).
fn top_statements(url: &str) -> String {
    let table = crate::postgres::psql(
        url,
        "SELECT string_agg(format('%s calls, %s ms executing, %s ms planning: %s', calls, exec, plan, q), E'\\n') FROM ( \
           SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS q, sum(calls) AS calls, \
                  round(sum(total_exec_time)::numeric) AS exec, round(sum(total_plan_time)::numeric) AS plan \
           FROM pg_stat_statements GROUP BY 1 ORDER BY sum(total_exec_time + total_plan_time) DESC LIMIT 12) AS s",
    );
    format!("PostgreSQL's statements, costliest first:\n{table}")
}

/// The servers of one run.
pub struct Deployment {
    pub nodes: Vec<Server>,
    /// PostgreSQL: this run's database and the postmaster, whose processes serve it too.
    postgres: Option<(String, u32)>,
    dir: tempfile::TempDir,
}

impl Deployment {
    /// Starts `setup`'s servers; PostgreSQL's on a fresh database of `cluster`.
    pub fn start(setup: Setup, binary: &Path, cluster: Option<&Cluster>) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        let (nodes, postgres) = match setup {
            Setup::Sqlite => (vec![Server::start_binary(binary, &dir.path().join("data"), &[])], None),
            Setup::Postgres { nodes } => {
                let cluster = cluster.expect("a PostgreSQL cluster for the PostgreSQL runs");
                let url = cluster.database();
                if statements_wanted() {
                    // The counts are the cluster's: start each run's from zero.
                    crate::postgres::psql(&url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
                    crate::postgres::psql(&url, "SELECT pg_stat_statements_reset()");
                }
                // One after another: the first creates the schema and the default project.
                let nodes = (0..nodes)
                    .map(|n| {
                        let data = dir.path().join(format!("node{n}"));
                        Server::start_binary(binary, &data, &["--database-url", &url])
                    })
                    .collect();
                (nodes, Some((url, cluster.postmaster_pid())))
            }
        };
        Deployment { nodes, postgres, dir }
    }

    /// CPU seconds used so far by the nodes, and by PostgreSQL (0 on SQLite, which runs inside
    /// the node).
    pub fn cpu_seconds(&self) -> (f64, f64) {
        let nodes = self.nodes.iter().map(|n| common::cpu_seconds(n.child.id())).sum();
        let database = self
            .postgres
            .as_ref()
            .map_or(0.0, |(_, postmaster)| common::cpu_seconds_with_children(*postmaster));
        (nodes, database)
    }

    /// Stops the nodes; returns the bytes the database takes and the events it holds.
    pub async fn finish(self) -> (u64, i64) {
        for node in self.nodes {
            node.stop();
        }
        if let Some((url, _)) = &self.postgres {
            // Each deadlock stalls a node's writer for `deadlock_timeout` (1 s by default) before
            // PostgreSQL breaks it and the batch runs again; races roll back and run again too.
            let stats = crate::postgres::psql(
                url,
                "SELECT xact_commit || ' commits, ' || xact_rollback || ' rollbacks, ' || deadlocks || ' deadlocks' \
                 FROM pg_stat_database WHERE datname = current_database()",
            );
            println!("PostgreSQL: {stats}");
            if statements_wanted() {
                println!("{}", top_statements(url));
            }
        }
        let location = match &self.postgres {
            Some((url, _)) => tocsin::store::Location::Postgres { url: url.clone() },
            None => tocsin::store::Location::Sqlite {
                data_dir: self.dir.path().join("data"),
                synchronous: tocsin::config::Synchronous::Normal,
            },
        };
        let db = tocsin::store::Database::open_at(&location).await.unwrap();
        let pool = db.write_pool().await.unwrap();
        // SQLite: fold the WAL into the database so the file size is what the data takes.
        tocsin::store::checkpoint(&pool).await.unwrap();
        let stored = tocsin::store::count_events(&pool).await.unwrap();
        let bytes = tocsin::store::database_bytes(&pool).await.unwrap();
        pool.close().await;
        if let Some((url, _)) = &self.postgres {
            // Dropped, not left to autovacuum: vacuuming it would take CPU from the next run.
            let (base, name) = url.rsplit_once('/').expect("a database URL");
            crate::postgres::psql(&format!("{base}/postgres"), &format!("DROP DATABASE {name}"));
        }
        if std::env::var_os("TOCSIN_BENCH_KEEP").is_some() && self.postgres.is_none() {
            println!("kept the data directory {}", self.dir.path().join("data").display());
            std::mem::forget(self.dir);
        }
        (u64::try_from(bytes).unwrap_or(0), stored)
    }
}
