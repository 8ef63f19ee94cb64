//! Server time of the web UI's busiest pages at scale: `cargo bench --bench pages -- [--events
//! 1000000] [--issues 10000] [--backend sqlite|postgres|both] [--runs 100]`
//! (`TOCSIN_BENCH_KEEP=1` keeps SQLite's data directory, and holds PostgreSQL's database up until
//! Enter is pressed, to run the pages' queries by hand).
//!
//! For each backend it starts the release `tocsin serve`, on SQLite in a temporary data
//! directory, on PostgreSQL as one node on a fresh database of a throwaway cluster on this
//! machine (made as the ingest benchmark makes it), and fills it through the ingest endpoint:
//! `--events` copies of the recorded sentry-python Flask error, spread evenly over `--issues`
//! issues (a distinct last-frame function each), one event per envelope as the endpoint takes
//! them, from 32 concurrent connections. The events vary the way searches and tags need:
//! timestamps over the last 7 days, environment `production` or `staging` (4:1), release
//! `shop@1.0` to `shop@1.19` (each issue in 4 consecutive ones, so a release matches a fifth of
//! the issues), user `user-0` to `user-4999`, a custom tag `shard` (`s0` to `s7`) and a browser
//! context (Chrome, Firefox or Safari, two to four versions each).
//!
//! Then (PostgreSQL's tables vacuumed and analyzed, as autovacuum keeps them, and the server left
//! to go idle) it signs in and requests, `--runs` times each, one request after another over
//! loopback: the issue list (50 rows), the page of issue `--issues / 2` (or of the next id that
//! exists), a search with three tag filters, and that issue's Tags tab. The median and p95
//! include the HTTP round trip, so they bound the server's time from above; beside them is the
//! CPU the server (the node, and PostgreSQL's processes) spent per request, so that a page that
//! waits tells from one that computes. The table at the end holds each page to the project's
//! target: a median under 50 ms on both backends.

mod common;
#[path = "ingest/deploy.rs"]
mod deploy;
// The tests' PostgreSQL harness, through which `deploy` makes its cluster (as in the ingest
// benchmark).
#[path = "../tests/api/debian.rs"]
mod debian;
#[allow(dead_code)]
#[path = "../tests/api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../tests/api/postgres.rs"]
mod postgres;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use deploy::{Deployment, Setup};

/// The backend `helpers` would give the apps it spawns; the benchmark spawns its own servers.
const BACKEND: helpers::Backend = helpers::Backend::Postgres;

/// Concurrent connections that seed the data: enough to keep the server's writer batching.
const CONNECTIONS: usize = 32;
const TARGET_MS: f64 = 50.0;
const EMAIL: &str = "bench@example.org";
const PASSWORD: &str = "benchmark password";

/// Matches about a fifth of the issues: the release does; nearly every issue has both of the
/// others.
const SEARCH: &str = "environment:production release:shop@1.3 shard:s2";
/// What marks a row of the issue list.
const ROW: &str = r#"class="title" href="/issues/"#;

const RELEASES: usize = 20;
const USERS: u64 = 5_000;
const SHARDS: u64 = 8;
const BROWSERS: [(&str, &str); 9] = [
    ("Chrome", "120.0"),
    ("Chrome", "121.0"),
    ("Chrome", "122.0"),
    ("Chrome", "123.0"),
    ("Firefox", "121.0"),
    ("Firefox", "122.0"),
    ("Firefox", "123.0"),
    ("Safari", "17.1"),
    ("Safari", "17.2"),
];
const WEEK_MS: u64 = 7 * 24 * 3600 * 1000;

struct Options {
    events: usize,
    issues: usize,
    backend: String,
    runs: usize,
}

impl Options {
    fn setups(&self) -> Vec<Setup> {
        match self.backend.as_str() {
            "sqlite" => vec![Setup::Sqlite],
            "postgres" => vec![Setup::Postgres { nodes: 1 }],
            "both" => vec![Setup::Sqlite, Setup::Postgres { nodes: 1 }],
            other => panic!("--backend {other}: expected sqlite, postgres or both"),
        }
    }
}

fn options() -> Options {
    let get = common::arg;
    Options {
        events: get("--events").and_then(|v| v.parse().ok()).unwrap_or(1_000_000),
        issues: get("--issues").and_then(|v| v.parse().ok()).unwrap_or(10_000).max(1),
        backend: get("--backend").unwrap_or_else(|| "both".to_string()),
        runs: get("--runs").and_then(|v| v.parse().ok()).unwrap_or(100).max(1),
    }
}

/// A page the benchmark times.
struct Page {
    name: &'static str,
    path: String,
    rows: Rows,
}

/// What a page must show of the issue list (rows marked by [`ROW`]).
enum Rows {
    Exactly(usize),
    AtLeastOne,
    Any,
}

/// What is timed, in this order: the list, the page of issue `issue`, a search, its Tags tab.
fn pages(opts: &Options, issue: usize) -> [Page; 4] {
    let search = serde_urlencoded::to_string([("query", SEARCH)]).unwrap();
    [
        Page {
            name: "issue list (50 rows)",
            path: "/issues/".to_string(),
            rows: Rows::Exactly(opts.issues.min(50)),
        },
        Page {
            name: "issue page",
            path: format!("/issues/{issue}/"),
            rows: Rows::Any,
        },
        Page {
            name: "search, 3 filters",
            path: format!("/issues/?{search}"),
            rows: Rows::AtLeastOne,
        },
        Page {
            name: "Tags tab",
            path: format!("/issues/{issue}/tags/"),
            rows: Rows::Any,
        },
    ]
}

/// One page's figures, in milliseconds.
#[derive(Clone, Copy)]
struct Timing {
    page: &'static str,
    median: f64,
    p95: f64,
    max: f64,
    /// CPU per request of the node, and of PostgreSQL's processes (0 on SQLite).
    node_cpu: f64,
    database_cpu: f64,
}

fn main() {
    let opts = options();
    println!(
        "pages: --events {} --issues {} ({} events per issue) --backend {} --runs {}",
        opts.events,
        opts.issues,
        opts.events / opts.issues,
        opts.backend,
        opts.runs
    );
    let setups = opts.setups();
    let rt = common::runtime();
    let cluster = setups.iter().any(|s| matches!(s, Setup::Postgres { .. })).then(|| {
        let (cluster, settings) = deploy::cluster(&[]);
        println!("{settings}");
        cluster
    });
    let binary =
        PathBuf::from(std::env::var_os("TOCSIN_BENCH_BINARY").unwrap_or_else(|| env!("CARGO_BIN_EXE_tocsin").into()));
    let results: Vec<(Setup, Vec<Timing>)> = setups
        .iter()
        .map(|&setup| (setup, rt.block_on(run(&opts, setup, &binary, cluster.as_ref()))))
        .collect();
    table(&opts, &results);
}

async fn run(opts: &Options, setup: Setup, binary: &Path, cluster: Option<&postgres::Cluster>) -> Vec<Timing> {
    println!("--- {}", setup.label());
    let deployment = Deployment::start(setup, binary, cluster);
    let server = &deployment.nodes[0];
    seed(opts, server).await;
    if let Some(url) = &server.database_url {
        // Planner statistics and visibility maps as autovacuum keeps them on a database that grew
        // over weeks; right after a bulk load they are missing, and autovacuum would get to them
        // in the middle of the timing.
        let started = Instant::now();
        postgres::psql(url, "VACUUM ANALYZE");
        println!("VACUUM ANALYZE: {:.1} s", started.elapsed().as_secs_f64());
    }
    settle(&deployment).await;
    let client = sign_in(server).await;
    let base = &server.base;
    let issue = issue_to_show(&client, base, (opts.issues / 2).max(1)).await;
    let mut timings = Vec::new();
    for Page { name, path, rows } in pages(opts, issue) {
        let (timing, body) = time_page(name, &client, &format!("{base}{path}"), opts.runs, &deployment).await;
        let shown = body.matches(ROW).count();
        match rows {
            Rows::Exactly(n) => assert_eq!(shown, n, "rows of {path}"),
            Rows::AtLeastOne => assert!(shown > 0, "{path} found nothing"),
            Rows::Any => {}
        }
        let database = if server.database_url.is_some() {
            format!(" (node {:.2} + PostgreSQL {:.2})", timing.node_cpu, timing.database_cpu)
        } else {
            String::new()
        };
        println!(
            "{name} ({path}): median {:.2} ms, p95 {:.2} ms, max {:.2} ms; server CPU {:.2} ms per request{database}",
            timing.median,
            timing.p95,
            timing.max,
            timing.node_cpu + timing.database_cpu,
        );
        timings.push(timing);
    }
    hold(server);
    let (bytes, stored) = deployment.finish().await;
    println!("database: {:.0} MB for {stored} events", bytes as f64 / 1e6);
    timings
}

/// The seed's envelopes: the recorded event once per issue, serialized ahead of time but for
/// the fields that vary per event, which each envelope writes in front of it.
struct Events {
    /// Per issue: the event's JSON after its opening brace, without the fields that vary.
    rest: Vec<String>,
    /// The recorded contexts (runtime, trace) without their closing brace: the browser follows.
    contexts: String,
    now: f64,
    /// Event ids differ from one run to the next.
    salt: u64,
}

impl Events {
    fn new(issues: usize) -> Events {
        let fixture = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sentry-python-2.75-gzip/001.body"
        ))
        .unwrap();
        let envelope = tocsin::ingest::envelope::parse(&fixture).unwrap();
        let mut base: serde_json::Map<String, Value> = serde_json::from_slice(&envelope.items[0].payload).unwrap();
        let contexts = serde_json::to_string(&base.remove("contexts").unwrap()).unwrap();
        for varies in ["event_id", "timestamp", "environment", "release", "user", "tags"] {
            base.remove(varies);
        }
        let rest = (0..issues)
            .map(|n| {
                let mut event = Value::Object(base.clone());
                let frames = event["exception"]["values"][0]["stacktrace"]["frames"]
                    .as_array_mut()
                    .unwrap();
                frames.last_mut().unwrap()["function"] = format!("handler_{n}").into();
                serde_json::to_string(&event).unwrap()[1..].to_string()
            })
            .collect();
        Events {
            rest,
            contexts: contexts.strip_suffix('}').unwrap().to_string(),
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64(),
            salt: uuid::Uuid::new_v4().as_u64_pair().0,
        }
    }

    /// The envelope of event `n`, of issue `n % issues`.
    fn envelope(&self, n: usize) -> bytes::Bytes {
        let issue = n % self.rest.len();
        // Each field from a hash of its own: independent of the issue and of each other.
        let draw = |field: u64| mix(self.salt ^ ((n as u64) << 4) ^ field);
        let id = format!("{:016x}{:016x}", draw(0), draw(1));
        let timestamp = self.now - (draw(2) % WEEK_MS) as f64 / 1000.0;
        let environment = if draw(3) % 5 == 0 { "staging" } else { "production" };
        let release = (issue + (draw(4) % 4) as usize) % RELEASES;
        let user = draw(5) % USERS;
        let shard = draw(6) % SHARDS;
        let (browser, version) = BROWSERS[(draw(7) % BROWSERS.len() as u64) as usize];
        format!(
            "{{\"event_id\":\"{id}\"}}\n{{\"type\":\"event\"}}\n{{\"timestamp\":{timestamp:.3},\
             \"environment\":\"{environment}\",\"release\":\"shop@1.{release}\",\"user\":{{\"id\":\"user-{user}\"}},\
             \"tags\":{{\"shard\":\"s{shard}\"}},\"contexts\":{},\"browser\":{{\"name\":\"{browser}\",\"version\":\"{version}\"}}}},{}\n",
            self.contexts, self.rest[issue]
        )
        .into()
    }
}

/// SplitMix64's finalizer: a well-spread 64-bit hash, far cheaper than a random number.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Posts the events, `CONNECTIONS` at a time, and says how fast that went.
async fn seed(opts: &Options, server: &common::Server) {
    let events = Arc::new(Events::new(opts.issues));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let url = format!("{}/api/1/envelope/", server.base);
    let auth = format!(
        "Sentry sentry_key={}, sentry_version=7, sentry_client=sentry.python/2.75.0",
        server.key
    );
    let (total, done) = (opts.events, Arc::new(AtomicUsize::new(0)));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|worker| {
            let (events, client, url, auth, done) =
                (events.clone(), client.clone(), url.clone(), auth.clone(), done.clone());
            tokio::spawn(async move {
                let mut refused = 0;
                for n in (worker..total).step_by(CONNECTIONS) {
                    let body = events.envelope(n);
                    // A busy server may say "later" (429, 503); every event must get in.
                    loop {
                        let resp = client
                            .post(&url)
                            .header("X-Sentry-Auth", &auth)
                            .header("Content-Type", "application/x-sentry-envelope")
                            .body(body.clone())
                            .send()
                            .await
                            .unwrap();
                        match resp.status().as_u16() {
                            200 => break,
                            429 | 503 => {
                                refused += 1;
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                            status => panic!("ingest answered {status}: {}", resp.text().await.unwrap_or_default()),
                        }
                    }
                    let done = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if done % (total / 10).max(1) == 0 {
                        println!("  {done} events in {:.0} s", started.elapsed().as_secs_f64());
                    }
                }
                refused
            })
        })
        .collect();
    let mut refused = 0;
    for task in tasks {
        refused += task.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {total} events into {} issues in {secs:.1} s: {:.0} events/s ({CONNECTIONS} connections, \
         {refused} requests refused and sent again)",
        opts.issues,
        total as f64 / secs
    );
}

/// Waits (up to a minute) until the server is idle: what it does in the background after the
/// seed (WAL checkpoints, a compression dictionary, PostgreSQL's writers) must not weigh on
/// the pages' times.
async fn settle(deployment: &Deployment) {
    let busy = || {
        let (nodes, database) = deployment.cpu_seconds();
        nodes + database
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let before = busy();
        tokio::time::sleep(Duration::from_secs(1)).await;
        if busy() - before < 0.05 {
            return;
        }
    }
    println!("the server was still busy a minute after the seed; timing anyway");
}

/// Creates the admin with the CLI and signs in as them: a client that holds the session cookie.
async fn sign_in(server: &common::Server) -> reqwest::Client {
    let mut user = server
        .command(&["user", "create", "--email", EMAIL, "--admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    user.stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    assert!(user.wait().unwrap().success(), "tocsin user create failed");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = &server.base;
    let login = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = login
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form_token on the sign-in page");
    let resp = client
        .post(format!("{base}/login"))
        .form(&[("email", EMAIL), ("password", PASSWORD), ("form_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "signing in");
    client
}

/// The issue the issue pages show: `from`, or the next id that exists (on PostgreSQL, an insert
/// rolled back and run again leaves its id unused).
async fn issue_to_show(client: &reqwest::Client, base: &str, from: usize) -> usize {
    for id in from..from + 100 {
        let status = client
            .get(format!("{base}/issues/{id}/"))
            .send()
            .await
            .unwrap()
            .status();
        if status == 200 {
            return id;
        }
        assert_eq!(status, 404, "/issues/{id}/");
    }
    panic!("no issue from id {from} to {}", from + 99);
}

/// Requests `url` once to warm up (returning that body, for checks), then `runs` times one after
/// another; every answer must be a 200.
async fn time_page(
    page: &'static str,
    client: &reqwest::Client,
    url: &str,
    runs: usize,
    deployment: &Deployment,
) -> (Timing, String) {
    let get = || async {
        let resp = client.get(url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        resp.text().await.unwrap()
    };
    let first = get().await;
    let (nodes_before, database_before) = deployment.cpu_seconds();
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(get().await);
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (nodes, database) = deployment.cpu_seconds();
    ms.sort_by(f64::total_cmp);
    let per_request = |seconds: f64| seconds * 1000.0 / runs as f64;
    let timing = Timing {
        page,
        median: ms[runs / 2],
        p95: ms[(runs * 95 / 100).min(runs - 1)],
        max: ms[runs - 1],
        node_cpu: per_request(nodes - nodes_before),
        database_cpu: per_request(database - database_before),
    };
    (timing, first)
}

/// `TOCSIN_BENCH_KEEP`: PostgreSQL's database goes when this process does (the cluster is
/// removed with it), so hold it up while someone looks into it.
fn hold(server: &common::Server) {
    if let (Some(_), Some(url)) = (std::env::var_os("TOCSIN_BENCH_KEEP"), &server.database_url) {
        println!("TOCSIN_BENCH_KEEP: the database {url} stays up until Enter is pressed");
        let _ = std::io::stdin().read_line(&mut String::new());
    }
}

/// Each page on each backend: median / p95 and the server's CPU per request, against the target.
fn table(opts: &Options, results: &[(Setup, Vec<Timing>)]) {
    println!(
        "\n{} events in {} issues, {} requests per page; median / p95 (server CPU per request):",
        opts.events, opts.issues, opts.runs
    );
    let mut header = "| page |".to_string();
    let mut rule = "| --- |".to_string();
    for (setup, _) in results {
        header += &format!(" {} | target < {TARGET_MS:.0} ms |", setup.label());
        rule += " --- | --- |";
    }
    println!("{header}\n{rule}");
    let Some((_, first)) = results.first() else { return };
    for (n, page) in first.iter().enumerate() {
        let mut row = format!("| {} |", page.page);
        for (_, timings) in results {
            let t = timings[n];
            row += &format!(
                " {:.1} / {:.1} ms ({:.1} ms) | {} |",
                t.median,
                t.p95,
                t.node_cpu + t.database_cpu,
                if t.median < TARGET_MS { "met" } else { "NOT met" }
            );
        }
        println!("{row}");
    }
}
