//! `spawn_app()` and friends: every test talks to a real `tocsin serve` process on port 0 with
//! its own temporary data directory, exactly as a user would run it.
//!
//! The suite runs twice, once per backend: this crate (`tests/api`) on SQLite and
//! `tests/postgres` on PostgreSQL, the same test files compiled with another `crate::BACKEND`.
//! On PostgreSQL each app gets a database of its own (see `postgres.rs`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const BIN: &str = env!("CARGO_BIN_EXE_tocsin");

/// Which database the suite's servers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend of this test crate.
pub const BACKEND: Backend = crate::BACKEND;

/// A running Tocsin and what a test needs to talk to it.
pub struct TestApp {
    pub base_url: String,
    pub address: String,
    pub data_dir: PathBuf,
    /// The PostgreSQL database of this app (`None` on SQLite, whose file is in `data_dir`).
    pub database_url: Option<String>,
    /// The `default` project created on first start.
    pub project_id: i64,
    pub key: String,
    pub dsn: String,
    pub token: String,
    /// The one-time first-admin link the server printed (while no user existed).
    pub setup_link: Option<String>,
    pub client: reqwest::Client,
    extra_args: Vec<String>,
    child: Option<Child>,
    tmp: TempDir,
}

/// What a CLI command printed.
pub struct CliOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server with extra `serve` arguments (e.g. `--queue-capacity 2`).
pub async fn spawn_app_with(extra_args: &[&str]) -> TestApp {
    spawn_app_at(
        (BACKEND == Backend::Postgres).then(crate::postgres::database),
        extra_args,
    )
}

/// Starts a server on the PostgreSQL database at `database_url`: one of a private cluster a
/// test stops and starts, or one an installation was copied into.
pub async fn spawn_app_on(database_url: String, extra_args: &[&str]) -> TestApp {
    spawn_app_at(Some(database_url), extra_args)
}

fn spawn_app_at(database_url: Option<String>, extra_args: &[&str]) -> TestApp {
    let mut app = new_app(database_url, extra_args);
    app.start();
    app.token = app.cli(&["token", "create", "tests"]).last_line().to_string();
    app
}

/// Another node on `first`'s PostgreSQL database: a `tocsin serve` of its own (own port and
/// data directory), sharing every project, token and event with `first`.
// Only the PostgreSQL suite runs several nodes (`tests/postgres/nodes.rs`).
#[allow(dead_code)]
pub async fn spawn_node_of(first: &TestApp, extra_args: &[&str]) -> TestApp {
    let mut node = new_app(first.database_url.clone(), extra_args);
    node.start();
    node.token = first.token.clone();
    node
}

/// `n` nodes started at the same moment on the PostgreSQL database at `database_url` (a new
/// one: whichever node is first creates the schema and the default project).
#[allow(dead_code)]
pub fn nodes_starting_together(database_url: &str, n: usize) -> Vec<TestApp> {
    let mut nodes: Vec<TestApp> = (0..n).map(|_| new_app(Some(database_url.to_string()), &[])).collect();
    std::thread::scope(|scope| {
        for node in &mut nodes {
            scope.spawn(move || node.start());
        }
    });
    nodes
}

fn new_app(database_url: Option<String>, extra_args: &[&str]) -> TestApp {
    // reqwest is built without a default TLS provider (Tocsin picks ring); so do the tests.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tmp = tempfile::tempdir().expect("temp dir");
    let data_dir = tmp.path().join("data");
    TestApp {
        base_url: String::new(),
        address: String::new(),
        data_dir,
        database_url,
        project_id: 0,
        key: String::new(),
        dsn: String::new(),
        token: String::new(),
        setup_link: None,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client"),
        extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        child: None,
        tmp,
    }
}

impl TestApp {
    /// Starts (or restarts) the server process on the same data directory.
    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.tmp.path().join("server.log"))
            .expect("log file");
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(self.database_args())
            .args(&self.extra_args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "info,tocsin=debug")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn tocsin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        // Keep draining stdout for the life of the process so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        self.child = Some(child);
        let mut address = None;
        let mut dsn = None;
        while address.is_none() || dsn.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("tocsin did not start; log:\n{}", self.server_log()));
            if let Some(rest) = line.strip_prefix("Tocsin is listening on http://") {
                address = Some(rest.trim().to_string());
            } else if let Some(rest) = line.strip_prefix("Create the first admin account (this link works once): ") {
                self.setup_link = Some(rest.trim().to_string());
            } else if let Some(rest) = line.strip_prefix("DSN for project default: ") {
                dsn = Some(rest.trim().to_string());
            }
        }
        let address = address.unwrap();
        let dsn = dsn.unwrap();
        self.base_url = format!("http://{address}");
        self.address = address;
        self.key = dsn.split("://").nth(1).unwrap().split('@').next().unwrap().to_string();
        self.project_id = dsn.rsplit('/').next().unwrap().parse().unwrap();
        self.dsn = dsn;
    }

    /// SIGKILL: no shutdown hook runs, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill");
            child.wait().expect("wait");
        }
    }

    /// SIGTERM, then waits for the process to exit (at most 30 s); returns how long it took
    /// and whether it exited successfully.
    pub fn terminate(&mut self) -> (Duration, bool) {
        let mut child = self.child.take().expect("the server runs");
        let started = std::time::Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        loop {
            if let Some(exit) = child.try_wait().expect("wait") {
                return (started.elapsed(), exit.success());
            }
            if started.elapsed() > Duration::from_secs(30) {
                child.kill().expect("kill");
                child.wait().expect("wait");
                return (started.elapsed(), false);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's peak resident memory so far, in KiB (`VmHWM` in Linux's /proc).
    pub fn server_peak_memory_kib(&self) -> u64 {
        let pid = self.child.as_ref().expect("the server runs").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc status")
    }

    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("server.log")).unwrap_or_default()
    }

    /// Runs a CLI command against this server's data directory.
    pub fn cli(&self, args: &[&str]) -> CliOutput {
        let mut all: Vec<&str> = args.to_vec();
        let database = self.database_args();
        all.extend(database.iter().map(String::as_str));
        cli_in(&self.data_dir, &self.base_url, &all)
    }

    /// `--database-url …` on PostgreSQL; nothing on SQLite.
    pub fn database_args(&self) -> Vec<String> {
        match &self.database_url {
            Some(url) => vec!["--database-url".into(), url.clone()],
            None => Vec::new(),
        }
    }

    /// Where this app's data is, for opening it through `tocsin::store`.
    pub fn location(&self) -> tocsin::store::Location {
        match &self.database_url {
            Some(url) => tocsin::store::Location::Postgres { url: url.clone() },
            None => tocsin::store::Location::Sqlite {
                data_dir: self.data_dir.clone(),
                synchronous: tocsin::config::Synchronous::Normal,
            },
        }
    }

    /// The app's database opened through `tocsin::store`, as a second process would.
    pub async fn database(&self) -> tocsin::store::Database {
        tocsin::store::Database::open_at(&self.location())
            .await
            .expect("open the database")
    }

    /// Creates a project from the CLI; returns its id and public key.
    pub fn create_project(&self, slug: &str, key: Option<&str>) -> (i64, String) {
        let mut args = vec!["project", "create", slug];
        if let Some(key) = key {
            args.extend(["--key", key]);
        }
        let out = self.cli(&args);
        assert!(out.success, "project create failed: {}", out.stderr);
        let dsn = out.last_line();
        let key = dsn.split("://").nth(1).unwrap().split('@').next().unwrap().to_string();
        (dsn.rsplit('/').next().unwrap().parse().unwrap(), key)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// POSTs an envelope to the default project with `X-Sentry-Auth`.
    pub async fn post_envelope(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.envelope_request(body).send().await.expect("request")
    }

    /// An envelope POST to the default project with `X-Sentry-Auth`, to add headers to.
    pub fn envelope_request(&self, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
        self.ingest_request("envelope", body)
    }

    /// A legacy `/store/` POST to the default project with `X-Sentry-Auth`, to add headers to.
    pub fn store_request(&self, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
        self.ingest_request("store", body)
    }

    fn ingest_request(&self, endpoint: &str, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(&format!("/api/{}/{endpoint}/", self.project_id)))
            .header("X-Sentry-Auth", sentry_auth(&self.key))
            .body(body)
    }

    /// Reads an event back through the JSON API.
    pub async fn get_event(&self, project_slug: &str, event_id: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/api/0/projects/default/{project_slug}/events/{event_id}/")))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request")
    }

    /// Reads an event back and returns its JSON, failing the test if it is not there.
    pub async fn event_json(&self, project_slug: &str, event_id: &str) -> Value {
        let resp = self.get_event(project_slug, event_id).await;
        assert_eq!(resp.status(), 200, "event {event_id} should be stored");
        resp.json().await.expect("json")
    }

    /// GET an API path with the test token; returns the status, the `Link` header and the body.
    pub async fn api_get(&self, path: &str) -> (u16, Option<String>, Value) {
        let resp = self
            .client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let link = resp.headers().get("link").map(|v| v.to_str().unwrap().to_string());
        (status, link, resp.json().await.unwrap_or(Value::Null))
    }

    /// POST JSON to an API path with the test token.
    #[allow(dead_code)]
    pub async fn api_post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.api_json(self.client.post(self.url(path)), body).await
    }

    /// PUT JSON to an API path with the test token.
    pub async fn api_put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.api_json(self.client.put(self.url(path)), body).await
    }

    async fn api_json(&self, request: reqwest::RequestBuilder, body: &Value) -> (u16, Value) {
        let resp = request
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Creates a web UI user with the CLI, the password typed on stdin as a person would.
    pub fn create_user(&self, email: &str, password: &str) {
        let mut child = Command::new(BIN)
            .args(["user", "create", "--email", email, "--data-dir"])
            .arg(&self.data_dir)
            .args(self.database_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("run tocsin user create");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{password}\n").as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "tocsin user create failed");
    }

    /// DELETE an API path with the test token; returns the status.
    pub async fn api_delete(&self, path: &str) -> u16 {
        let resp = self
            .client
            .delete(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        resp.status().as_u16()
    }

    /// The server's process id (`None` once it was killed).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Posts an event to the default project and asserts it was accepted.
    pub async fn send(&self, event: &Value) {
        let resp = self.post_envelope(envelope_of(event)).await;
        assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    }

    /// `/metrics` as the test token sees it.
    pub async fn metrics_text(&self) -> String {
        let resp = self
            .client
            .get(self.url("/metrics"))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
        resp.text().await.expect("text")
    }

    /// The value of one metric line (`name{labels}` exactly as exposed), 0 when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let prefix = format!("{series} ");
        self.metrics_text()
            .await
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0.0)
    }

    /// Asserts that every event answered 200 (`acked`) is in the database, read straight from
    /// it: a 200 means committed, whatever happened after.
    // Only the PostgreSQL suite's fault tests need it (SQLite's check more, in `durability`).
    #[allow(dead_code)]
    pub async fn assert_stored(&self, acked: &[String]) {
        let sql = self.sql().await;
        let stored: std::collections::HashSet<String> =
            crate::on_sql!(sql, |p| sqlx::query_scalar("SELECT event_id FROM events")
                .fetch_all(p)
                .await
                .expect("event ids"))
            .into_iter()
            .collect();
        let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
        assert!(
            lost.is_empty(),
            "{} of {} acknowledged events are not in the database: {lost:?}",
            lost.len(),
            acked.len()
        );
    }

    /// Events in the database, read straight from it.
    pub async fn stored_event_count(&self) -> i64 {
        let db = self.database().await;
        let pool = db.read_pool().await.expect("pool");
        let n = tocsin::store::count_events(&pool).await.expect("count");
        pool.close().await;
        n
    }

    /// The notification outbox, read straight from the database.
    pub async fn outbox(&self) -> Vec<tocsin::store::OutboxRecord> {
        let db = self.database().await;
        let pool = db.read_pool().await.expect("pool");
        let rows = tocsin::store::outbox(&pool, None).await.expect("outbox");
        pool.close().await;
        rows
    }

    /// A read-only sqlx pool straight on the SQLite file, for checks no store function makes.
    /// (Tocsin itself reaches the database only through `tocsin::store`.)
    pub async fn sql_reader(&self) -> sqlx::SqlitePool {
        sqlx::sqlite::SqlitePoolOptions::new()
            .connect_with(self.sql_options().read_only(true))
            .await
            .expect("open the database")
    }

    /// A pool straight on the app's database, whichever backend: for checks and changes no store
    /// function makes. Statements use `$N` placeholders and go through [`on_sql!`].
    pub async fn sql(&self) -> Sql {
        match &self.database_url {
            Some(url) => Sql::Postgres(sqlx::PgPool::connect(url).await.expect("connect to PostgreSQL")),
            None => Sql::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .connect_with(self.sql_options())
                    .await
                    .expect("open the database"),
            ),
        }
    }

    /// A writer of the test's own on the app's database, beside the app's, to hand it jobs
    /// directly (a batch made of exactly the writes queued before its task next runs).
    pub async fn spawn_writer(&self) -> (tocsin::store::writer::WriterHandle, tokio::task::JoinHandle<()>) {
        let guard = tocsin::store::FloodGuard {
            limit: 100,
            window_secs: 60.0,
        };
        tocsin::store::writer::spawn(&self.database().await, 1_000, guard, tocsin::metrics::Metrics::new())
            .await
            .expect("a writer")
    }

    /// A write connection straight on the SQLite file, to change data behind the server's back;
    /// SQLite's lock and the busy timeout serialise it with the server's writer.
    pub async fn sql_writer(&self) -> sqlx::SqliteConnection {
        use sqlx::ConnectOptions;
        self.sql_options().connect().await.expect("open the database")
    }

    fn sql_options(&self) -> sqlx::sqlite::SqliteConnectOptions {
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(self.data_dir.join("tocsin.db"))
            .busy_timeout(Duration::from_secs(10))
    }

    /// Sends raw bytes as one HTTP request over TCP and returns the raw response.
    pub async fn raw_request(&self, request: &[u8]) -> RawResponse {
        let mut stream = tokio::net::TcpStream::connect(&self.address).await.expect("connect");
        stream.write_all(request).await.expect("write");
        read_response(&mut stream).await
    }
}

/// Reads an HTTP response until it is complete (Content-Length) or the server closes.
pub async fn read_response(stream: &mut tokio::net::TcpStream) -> RawResponse {
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 8192];
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut chunk))
            .await
            .expect("response in time")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(resp) = RawResponse::parse(&buf) {
            return resp;
        }
    }
    RawResponse::parse(&buf).unwrap_or_else(|| panic!("incomplete response: {:?}", String::from_utf8_lossy(&buf)))
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How often [`poll`] looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Polls `probe` until it yields a value; fails, naming `what` and the last thing the probe
/// saw, once `within` has passed. Every wait for background work goes through here: no test
/// sleeps a fixed time and hopes.
pub async fn poll<T>(what: &str, within: Duration, mut probe: impl AsyncFnMut() -> Result<T, String>) -> T {
    let deadline = std::time::Instant::now() + within;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(seen) => assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting until {what}: {seen}"
            ),
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Runs a command to its end and panics, with what it printed, unless it succeeded.
pub fn run_checked(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A direct pool on a test app's database, of either backend.
pub enum Sql {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$p` bound to the [`Sql`] pool of either backend (the same code twice).
#[macro_export]
macro_rules! on_sql {
    ($sql:expr, |$p:ident| $body:expr) => {
        match &$sql {
            $crate::helpers::Sql::Sqlite($p) => $body,
            $crate::helpers::Sql::Postgres($p) => $body,
        }
    };
}

/// Runs the CLI on a data directory; `--public-url` makes printed DSNs point at the server.
pub fn cli_in(data_dir: &Path, public_url: &str, args: &[&str]) -> CliOutput {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--public-url")
        .arg(public_url)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run tocsin");
    CliOutput {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A parsed raw HTTP response.
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    fn parse(buf: &[u8]) -> Option<RawResponse> {
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&buf[..end]).ok()?;
        let mut lines = head.split("\r\n");
        let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers.iter().find(|(k, _)| k == "content-length")?.1.parse().ok()?;
        let body = buf.get(end + 4..end + 4 + len)?.to_vec();
        Some(RawResponse { status, headers, body })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

/// Asserts that ingest accepted an event (`200 {"id": …}`) and returns the id.
pub async fn accepted_id(resp: reqwest::Response) -> String {
    let status = resp.status();
    let body = resp.text().await.expect("body");
    assert_eq!(status, 200, "the event should be accepted; body: {body}");
    let json: Value = serde_json::from_str(&body).expect("json body");
    json["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {body}"))
        .to_string()
}

/// The `type` of each entry of an issue's activity (`/api/0/issues/{id}/activity/`), in order.
pub fn activity_kinds(activity: &Value) -> Vec<&str> {
    activity
        .as_array()
        .expect("an activity list")
        .iter()
        .map(|a| a["type"].as_str().expect("an activity type"))
        .collect()
}

pub fn sentry_auth(key: &str) -> String {
    format!("Sentry sentry_key={key}, sentry_version=7, sentry_client=tocsin-tests/1.0")
}

pub fn new_event_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A minimal error event with a fresh id.
pub fn error_event() -> Value {
    json!({
        "event_id": new_event_id(),
        "platform": "python",
        "level": "error",
        "exception": {"values": [{"type": "ZeroDivisionError", "value": "division by zero"}]},
    })
}

/// [`error_event`] with another exception type, so that it makes an issue of its own.
pub fn error_event_of(ty: &str) -> Value {
    let mut event = error_event();
    event["exception"]["values"][0]["type"] = ty.into();
    event
}

/// An envelope holding one event item, with `length`, the way sentry-python writes it.
pub fn envelope_of(event: &Value) -> Vec<u8> {
    let payload = serde_json::to_vec(event).unwrap();
    let mut out = serde_json::to_vec(&json!({"event_id": event["event_id"]})).unwrap();
    out.push(b'\n');
    out.extend(serde_json::to_vec(&json!({"type": "event", "length": payload.len()})).unwrap());
    out.push(b'\n');
    out.extend(payload);
    out.push(b'\n');
    out
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}
