//! A real PostgreSQL server for the tests (issue 12): Debian's packages, installed when missing;
//! a throwaway cluster under `target/` created and run by an unprivileged user (`nobody` when the
//! tests run as root, as CI does) on a free loopback port; one database per test. When
//! `TOCSIN_TEST_DATABASE_URL` names a server, that server is used instead. Nothing depends on a
//! server the machine happens to run.
//!
//! Every cluster lives at most as long as the test process: a watchdog stops it and removes its
//! files once the process is gone, however the process ended. Besides the one shared cluster, a
//! test that stops PostgreSQL gets a [`private_cluster`] of its own; the ingest benchmark starts
//! one too (with fsync on), through this same file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::helpers::run_checked as run;

/// Debian's PostgreSQL, the version the `postgresql` package depends on.
const PACKAGES: &[&str] = &["postgresql", "postgresql-client"];

/// The tests' server settings: fsync off (a test's data need not survive a power cut, and
/// fsync makes every commit wait for the disk), and connections for many apps at once.
const TEST_SETTINGS: &[&str] = &["fsync=off", "max_connections=200"];

/// Where the shared test server is.
struct Server {
    /// A URL without a database name: `postgres://user@host:port`.
    base: String,
    /// The throwaway cluster (none for `TOCSIN_TEST_DATABASE_URL`).
    cluster: Option<Cluster>,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);
static CLUSTERS: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database of its own for one test; returns its URL.
pub fn database() -> String {
    create_database(&SERVER.get_or_init(shared).base)
}

/// A cluster of the caller's own, which it may stop and start (the shared one serves every
/// other test and must stay up). `None` when `TOCSIN_TEST_DATABASE_URL` names the server: then
/// there is no local cluster to restart.
// Only the PostgreSQL suite stops a server (`tests/postgres/faults.rs`).
#[allow(dead_code)]
pub fn private_cluster() -> Option<Cluster> {
    external_base().is_none().then(|| Cluster::create(TEST_SETTINGS))
}

/// Creates a database named for this process on the server at `base`; returns its URL.
fn create_database(base: &str) -> String {
    let name = format!(
        "tocsin_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    psql(&format!("{base}/postgres"), &format!("CREATE DATABASE {name}"));
    format!("{base}/{name}")
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

/// The server `TOCSIN_TEST_DATABASE_URL` names, as a URL without a database name.
fn external_base() -> Option<String> {
    let url = std::env::var("TOCSIN_TEST_DATABASE_URL").ok()?;
    Some(url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base).to_string())
}

fn shared() -> Server {
    if let Some(base) = external_base() {
        return Server { base, cluster: None };
    }
    let cluster = Cluster::create(TEST_SETTINGS);
    Server {
        base: cluster.base.clone(),
        cluster: Some(cluster),
    }
}

/// A throwaway PostgreSQL cluster: its own data directory, run by an unprivileged user on a
/// loopback port. Dropping it stops it and removes its files.
pub struct Cluster {
    /// `postgres://postgres@127.0.0.1:<port>`, without a database name.
    base: String,
    /// Holds `data/`, `server.log` and the Unix socket.
    dir: PathBuf,
    user: Option<String>,
    bin: PathBuf,
    /// The server's command-line settings, port included, so a restart takes the same port.
    options: String,
}

impl Cluster {
    /// Creates and starts a cluster with `settings` (`name=value`, PostgreSQL's defaults for
    /// the rest).
    pub fn create(settings: &[&str]) -> Cluster {
        crate::debian::ensure_packages(
            &["/usr/bin/psql", "/usr/bin/pg_ctlcluster"],
            PACKAGES,
            "the PostgreSQL tests",
        );
        let user = unprivileged_user();
        let name = format!("pg-{}-{}", std::process::id(), CLUSTERS.fetch_add(1, Ordering::Relaxed));
        let mut dir = cluster_dir(Path::new(env!("CARGO_TARGET_TMPDIR")).join(&name), &user);
        // A checkout whose parent folders the unprivileged user cannot enter: the system's temp dir.
        if !reachable(&dir, &user) {
            let _ = std::fs::remove_dir_all(&dir);
            dir = cluster_dir(std::env::temp_dir().join(format!("tocsin-{name}")), &user);
        }
        let mut cluster = Cluster {
            base: String::new(),
            dir,
            user,
            bin: bin_dir(),
            options: String::new(),
        };
        run(cluster
            .as_user("initdb")
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"])
            .arg(cluster.data()));
        let settings: String = settings.iter().map(|s| format!(" -c {s}")).collect();
        // A port is only free until someone takes it: try another when the server cannot bind.
        for _ in 0..20 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            cluster.options = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {}{settings}",
                cluster.dir.display()
            );
            if cluster.pg_ctl_start().success() {
                cluster.watchdog();
                cluster.base = format!("postgres://postgres@127.0.0.1:{port}");
                return cluster;
            }
        }
        panic!("the test PostgreSQL did not start; its log:\n{}", cluster.log());
    }

    /// A fresh, empty database in this cluster; returns its URL.
    pub fn database(&self) -> String {
        create_database(&self.base)
    }

    /// Stops the server the way an operator restarting it does (`-m fast`: sessions are ended,
    /// open transactions rolled back) and waits until it is down.
    pub fn stop(&self) {
        run(self.pg_ctl().args(["-w", "-m", "fast", "stop"]));
    }

    /// Starts the stopped server again: same data, same port.
    pub fn start(&self) {
        let started = self.pg_ctl_start();
        assert!(
            started.success(),
            "PostgreSQL did not start again; its log:\n{}",
            self.log()
        );
    }

    /// The postmaster's process id: the server's processes are it and its children.
    pub fn postmaster_pid(&self) -> u32 {
        let pid = std::fs::read_to_string(self.data().join("postmaster.pid")).expect("postmaster.pid");
        pid.lines().next().and_then(|l| l.trim().parse().ok()).expect("a pid")
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Starts the server and waits until it takes connections; what went wrong is in its log.
    fn pg_ctl_start(&self) -> std::process::ExitStatus {
        self.pg_ctl()
            .args(["-w", "-t", "30", "-l"])
            .arg(self.dir.join("server.log"))
            .args(["-o", &self.options, "start"])
            .output()
            .expect("pg_ctl runs")
            .status
    }

    fn pg_ctl(&self) -> Command {
        let mut cmd = self.as_user("pg_ctl");
        cmd.arg("-D").arg(self.data());
        cmd
    }

    /// One of the server's programs, run as the user who owns the cluster.
    fn as_user(&self, program: &str) -> Command {
        as_(&self.user, &self.bin.join(program))
    }

    /// Stops the cluster and removes it once this process has exited (if `Drop` did not).
    fn watchdog(&self) {
        let runuser = self
            .user
            .as_ref()
            .map(|u| format!("runuser -u {u} -- "))
            .unwrap_or_default();
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {runuser}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            pg_ctl = self.bin.join("pg_ctl").display(),
            data = self.data().display(),
            dir = self.dir.display(),
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
}

impl Drop for Cluster {
    /// Only private clusters are dropped (the shared one is a static): stop it at once and
    /// remove its files, whatever state the test left it in.
    fn drop(&mut self) {
        let _ = self
            .pg_ctl()
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
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
    if let Some(cluster) = &SERVER.get().unwrap().cluster {
        assert_runs_unprivileged(cluster);
    }
}

#[test]
fn a_private_cluster_restarts_on_its_port_with_its_data_and_is_removed_when_dropped() {
    let Some(cluster) = private_cluster() else {
        println!("skipped: TOCSIN_TEST_DATABASE_URL names the server; there is no local cluster");
        return;
    };
    let url = cluster.database();
    psql(&url, "CREATE TABLE t (n bigint); INSERT INTO t VALUES (7)");
    assert_runs_unprivileged(&cluster);
    cluster.stop();
    let down = Command::new("psql")
        .args(["-X", "-d", &url, "-c", "SELECT 1"])
        .output()
        .unwrap();
    assert!(!down.status.success(), "the stopped server still answers");
    cluster.start();
    assert_eq!(psql(&url, "SELECT n FROM t"), "7", "same port, same data");
    let dir = cluster.dir.clone();
    drop(cluster);
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

fn assert_runs_unprivileged(cluster: &Cluster) {
    let pid = cluster.postmaster_pid().to_string();
    let user = Command::new("ps").args(["-o", "user=", "-p", &pid]).output().unwrap();
    let user = String::from_utf8_lossy(&user.stdout).trim().to_string();
    assert!(!user.is_empty() && user != "root", "the server runs as {user:?}");
}
