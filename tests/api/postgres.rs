//! A real PostgreSQL server for the tests (issue 12): Debian's packages, installed when missing;
//! a throwaway cluster under `target/` created and run by an unprivileged user (`nobody` when the
//! tests run as root, as CI does) on a free loopback port; one database per test. When
//! `TOCSIN_TEST_DATABASE_URL` names a server, that server is used instead. Nothing depends on a
//! server the machine happens to run.
//!
//! The cluster lives as long as the test process: a watchdog stops it and removes its files once
//! the process is gone, however the process ended.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::helpers::run_checked as run;

/// Debian's PostgreSQL, the version the `postgresql` package depends on.
const PACKAGES: &[&str] = &["postgresql", "postgresql-client"];

/// Where the test server is.
struct Server {
    /// A URL without a database name: `postgres://user@host:port`.
    base: String,
    /// The throwaway cluster's data directory (none for `TOCSIN_TEST_DATABASE_URL`).
    data: Option<PathBuf>,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database of its own for one test; returns its URL.
pub fn database() -> String {
    let server = SERVER.get_or_init(start);
    let name = format!(
        "tocsin_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    psql(&format!("{}/postgres", server.base), &format!("CREATE DATABASE {name}"));
    format!("{}/{name}", server.base)
}

/// Runs one SQL command with `psql`; returns what it printed (unaligned, tuples only).
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Every row of the database, as `pg_dump --data-only` writes it.
pub fn dump(url: &str) -> String {
    let out = Command::new("pg_dump")
        .args(["--data-only", "--no-owner", "-d", url])
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn start() -> Server {
    if let Ok(url) = std::env::var("TOCSIN_TEST_DATABASE_URL") {
        let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base).to_string();
        return Server { base, data: None };
    }
    crate::debian::ensure_packages(
        &["/usr/bin/psql", "/usr/bin/pg_ctlcluster"],
        PACKAGES,
        "the PostgreSQL tests",
    );
    let bin = bin_dir();
    let as_user = unprivileged_user();
    let name = format!("pg-{}", std::process::id());
    let mut dir = cluster_dir(Path::new(env!("CARGO_TARGET_TMPDIR")).join(&name), &as_user);
    // A checkout whose parent folders the unprivileged user cannot enter: the system's temp dir.
    if !reachable(&dir, &as_user) {
        let _ = std::fs::remove_dir_all(&dir);
        dir = cluster_dir(std::env::temp_dir().join(format!("tocsin-{name}")), &as_user);
    }
    let data = dir.join("data");
    run(as_(&as_user, &bin.join("initdb"))
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"])
        .arg(&data));
    // A port is only free until someone takes it: try another when the server cannot bind.
    for _ in 0..20 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c max_connections=200",
            dir.display()
        );
        let started = as_(&as_user, &bin.join("pg_ctl"))
            .args(["-w", "-t", "30", "-D"])
            .arg(&data)
            .args(["-l"])
            .arg(dir.join("server.log"))
            .args(["-o", &options, "start"])
            .status()
            .expect("pg_ctl runs");
        if started.success() {
            watchdog(&as_user, &bin, &dir);
            return Server {
                base: format!("postgres://postgres@127.0.0.1:{port}"),
                data: Some(data),
            };
        }
    }
    panic!(
        "the test PostgreSQL did not start; its log:\n{}",
        std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
    );
}

/// A new, empty folder for the cluster, owned by the user who runs it.
fn cluster_dir(dir: PathBuf, user: &Option<String>) -> PathBuf {
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cluster dir");
    if let Some(user) = user {
        run(Command::new("chown").args(["-R", user]).arg(&dir));
    }
    dir
}

/// Whether the user who runs the cluster can write in `dir` (every parent must let it in).
fn reachable(dir: &Path, user: &Option<String>) -> bool {
    as_(user, Path::new("/usr/bin/test"))
        .arg("-w")
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}

/// `/usr/lib/postgresql/<newest>/bin`, where Debian puts the server's programs.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("Debian's postgresql provides initdb")
}

/// PostgreSQL refuses to run as root: as root, the cluster belongs to `nobody`.
fn unprivileged_user() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().expect("id runs");
    (String::from_utf8_lossy(&uid.stdout).trim() == "0").then(|| "nobody".to_string())
}

fn as_(user: &Option<String>, program: &Path) -> Command {
    match user {
        Some(user) => {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", user, "--"]).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// Stops the cluster and removes it once this test process has exited.
fn watchdog(user: &Option<String>, bin: &Path, dir: &Path) {
    let runuser = user.as_ref().map(|u| format!("runuser -u {u} -- ")).unwrap_or_default();
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         {runuser}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = dir.join("data").display(),
        dir = dir.display(),
    );
    // Started in the background by a shell that exits at once, so nothing is left to wait for.
    Command::new("sh")
        .args(["-c", &format!("({script}) >/dev/null 2>&1 &")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start the cluster's watchdog");
}

#[test]
fn a_throwaway_postgresql_cluster_gives_each_test_a_database_of_its_own() {
    let first = database();
    let second = database();
    assert_ne!(first, second);
    psql(&first, "CREATE TABLE t (n bigint); INSERT INTO t VALUES (42)");
    assert_eq!(psql(&first, "SELECT n FROM t"), "42");
    assert_eq!(
        psql(&second, "SELECT count(*) FROM pg_tables WHERE tablename = 't'"),
        "0",
        "the second database is empty"
    );
    // On loopback only, and (for the throwaway cluster) never as root.
    assert_eq!(psql(&first, "SELECT current_setting('listen_addresses')"), "127.0.0.1");
    if let Some(data) = &SERVER.get().unwrap().data {
        let pid = std::fs::read_to_string(data.join("postmaster.pid")).unwrap();
        let pid = pid.lines().next().unwrap().trim();
        let user = Command::new("ps").args(["-o", "user=", "-p", pid]).output().unwrap();
        let user = String::from_utf8_lossy(&user.stdout).trim().to_string();
        assert!(!user.is_empty() && user != "root", "the server runs as {user:?}");
    }
}
