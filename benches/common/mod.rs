//! What the benchmarks share: a release `tocsin serve` on a temporary data directory, and what
//! they read of it in `/proc`. Each benchmark compiles this module and uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running server, its base URL and the default project's public key.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub key: String,
    /// What [`Server::command`] needs to reach the same data.
    binary: PathBuf,
    data: PathBuf,
    /// `--database-url`'s value among the `serve` arguments: PostgreSQL's database.
    pub database_url: Option<String>,
}

impl Server {
    /// Starts the server with extra `serve` arguments. `TOCSIN_BENCH_BINARY` names another
    /// build to measure (e.g. the previous main's), for before/after figures from one command.
    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        let binary = std::env::var_os("TOCSIN_BENCH_BINARY").unwrap_or_else(|| env!("CARGO_BIN_EXE_tocsin").into());
        Server::start_binary(Path::new(&binary), data, extra)
    }

    /// Starts `binary` (a build of `tocsin`) with extra `serve` arguments.
    pub fn start_binary(binary: &Path, data: &Path, extra: &[&str]) -> Server {
        let mut command = Command::new(binary);
        command.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"]).arg(data);
        command.args(extra);
        without_bench_settings(&mut command);
        // Retention off the path unless asked for (TOCSIN_RETENTION_MAX_EVENTS=…): the figures
        // are about ingest and storage, not thinning.
        if std::env::var_os("TOCSIN_RETENTION_MAX_EVENTS").is_none() {
            command.args(["--retention-max-events", "1000000000"]);
        }
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tocsin");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut base, mut dsn) = (String::new(), String::new());
        while dsn.is_empty() {
            let line = lines.next().expect("the banner").unwrap();
            if let Some(a) = line.strip_prefix("Tocsin is listening on ") {
                base = a.to_string();
            } else if let Some(d) = line.strip_prefix("DSN for project default: ") {
                dsn = d.to_string();
            }
        }
        let key = dsn.split("://").nth(1).unwrap().split('@').next().unwrap().to_string();
        let database_url = extra
            .windows(2)
            .find(|w| w[0] == "--database-url")
            .map(|w| w[1].to_string());
        Server {
            child,
            base,
            key,
            binary: binary.to_path_buf(),
            data: data.to_path_buf(),
            database_url,
        }
    }

    /// A `tocsin` command (`user create`, …) on the server's data: its data directory and, on
    /// PostgreSQL, its database.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command.args(args).arg("--data-dir").arg(&self.data);
        if let Some(url) = &self.database_url {
            command.args(["--database-url", url]);
        }
        without_bench_settings(&mut command);
        command
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The benchmark's own settings are not the server's (it would warn about them).
fn without_bench_settings(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TOCSIN_BENCH_") {
            command.env_remove(name);
        }
    }
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS:`, `VmHWM:`), 0 when unreadable.
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds the process has used (`/proc/<pid>/stat`, in clock ticks of 10 ms).
pub fn cpu_seconds(pid: u32) -> f64 {
    stat_ticks(pid, &[11, 12]) / 100.0
}

/// CPU seconds of a process and of every child it forked, living or exited: PostgreSQL's
/// postmaster with the backend it forks per connection. An exited child's time moves into its
/// parent's `cutime`/`cstime` when the parent reaps it, so nothing is counted twice or lost.
pub fn cpu_seconds_with_children(pid: u32) -> f64 {
    let own = stat_ticks(pid, &[11, 12, 13, 14]);
    let living: f64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| stat_ticks(child, &[1]) as u32 == pid)
        .map(|child| stat_ticks(child, &[11, 12]))
        .sum();
    (own + living) / 100.0
}

/// The sum of numeric fields of `/proc/<pid>/stat`, counted from the one after the command
/// name (in parentheses): 1 is the parent's pid, 11 and 12 user and system time, 13 and 14
/// those of reaped children.
fn stat_ticks(pid: u32, fields: &[usize]) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let values: Vec<&str> = rest.split_whitespace().collect();
    fields
        .iter()
        .filter_map(|&i| values.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

/// The value after `--name` on the benchmark's command line.
pub fn arg(name: &str) -> Option<String> {
    args(name).into_iter().next()
}

/// The value after each `--name` on the benchmark's command line, for a repeatable option.
pub fn args(name: &str) -> Vec<String> {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2).filter(|w| w[0] == name).map(|w| w[1].clone()).collect()
}

/// The load generator's runtime: two threads (the machine's cores are shared with the server),
/// and the TLS provider reqwest is built without.
pub fn runtime() -> tokio::runtime::Runtime {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
