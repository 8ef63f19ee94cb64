//! The ingest load benchmark: `cargo bench --bench ingest -- [--connections 32] [--seconds 15]
//! [--size small|large] [--issues 50] [--variants 20] [--runs 3] [--backend sqlite|postgres]
//! [--nodes 2] [--compare] [--pg-setting name=value] [--shape sentry-python|django]
//! [--baseline PATH]…` (with `--runs`, a fresh server per run and the median of each figure
//! at the end; `TOCSIN_BENCH_KEEP=1` keeps SQLite's data directory).
//!
//! Starts the release `tocsin serve` on a temporary data directory and posts sentry-python-shaped
//! envelopes to it over HTTP: gzip-compressed, a fresh random event id per request, drawn from
//! `--issues` distinct stack traces (so grouping and issue updates run), ~7 KB decoded (`small`)
//! or ~50 KB with large `vars` and breadcrumbs (`large`). A 200 from Tocsin means committed, so
//! accepted = committed when the run ends. Prints events/s, latency percentiles, non-2xx counts,
//! each server's idle and peak RSS, the CPU its processes used, and database bytes per stored
//! event. The load generator shares the machine's cores with the server.
//!
//! `--baseline PATH` runs every setup by that build of `tocsin` too (the previous main's, say),
//! turn about with this build, and prints both with their ratio.
//!
//! `--shape django` posts the second load shape instead (`ingest/django.rs`): ~2.4 KB Django
//! errors, uncompressed, with custom tags, a user, a release and an environment.
//!
//! `--shape javascript` posts browser errors of ten frames in a minified bundle
//! (`ingest/javascript.rs`, uncompressed as `@sentry/browser` sends them); with `--maps` the
//! bundle's source map is uploaded first (as sentry-cli does), so every event is symbolicated;
//! without, the same events are stored minified (their debug id finds no map).
//!
//! `--backend postgres --nodes N` runs N nodes on one PostgreSQL database instead, the
//! connections spread over them round-robin; PostgreSQL runs on this machine (a throwaway
//! cluster, as the tests make, but with fsync on: a 200 must mean durable) and its processes'
//! CPU counts as the server's. `--compare` measures SQLite, PostgreSQL with 1 node and with 2
//! nodes in one invocation, runs interleaved, and prints them side by side. `--pg-setting`
//! (repeatable) adds a PostgreSQL setting, e.g. `autovacuum_naptime=1`.

mod common;
#[path = "ingest/deploy.rs"]
mod deploy;
#[path = "ingest/django.rs"]
mod django;
#[path = "ingest/javascript.rs"]
mod javascript;
#[path = "ingest/vary.rs"]
mod vary;
// The tests' PostgreSQL harness, for a cluster of the benchmark's own; it runs its commands
// with the tests' checked runner and installs packages the tests' way.
#[path = "../tests/api/debian.rs"]
mod debian;
#[allow(dead_code)]
#[path = "../tests/api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../tests/api/postgres.rs"]
mod postgres;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use deploy::{Deployment, Setup};
use vary::{hex, rand};

/// The backend `helpers` would give the apps it spawns; the benchmark spawns its own servers.
const BACKEND: helpers::Backend = helpers::Backend::Postgres;

struct Options {
    connections: usize,
    seconds: f64,
    large: bool,
    /// `--shape django`: uncompressed Django-style events instead of gzipped sentry-python ones.
    django: bool,
    /// `--shape javascript`: browser errors in a minified bundle; `--maps`: its map uploaded.
    javascript: bool,
    maps: bool,
    /// `--rules N`: N alert rules on the project before the load, half of them frequency
    /// rules (issue 17's figure: within 5% of none).
    rules: usize,
    issues: usize,
    runs: usize,
    variants: usize,
    /// What each round runs: every setup by the previous build (`--baseline PATH`), if given,
    /// and by this one.
    entries: Vec<Entry>,
    /// `name=value` for PostgreSQL, after the durable settings (`--pg-setting`, repeatable).
    pg_settings: Vec<String>,
}

/// What one run measured.
#[derive(Clone, Copy, Default)]
struct Figures {
    events_per_sec: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    non_2xx: u64,
    /// Of the node with the most (the only one on SQLite).
    idle_rss_mb: f64,
    peak_rss_mb: f64,
    /// Cores the nodes kept busy on average while the load ran.
    node_cores: f64,
    /// Cores PostgreSQL's processes kept busy (0 on SQLite).
    database_cores: f64,
    /// Cores the load generator (this process) kept busy: the machine's cores are shared.
    generator_cores: f64,
    bytes_per_event: f64,
}

fn options() -> Options {
    let get = common::arg;
    let nodes = get("--nodes").and_then(|v| v.parse().ok()).unwrap_or(1usize).max(1);
    let setups = if std::env::args().any(|a| a == "--compare") {
        vec![
            Setup::Sqlite,
            Setup::Postgres { nodes: 1 },
            Setup::Postgres { nodes: 2 },
        ]
    } else if get("--backend").as_deref() == Some("postgres") {
        vec![Setup::Postgres { nodes }]
    } else {
        vec![Setup::Sqlite]
    };
    Options {
        connections: get("--connections").and_then(|v| v.parse().ok()).unwrap_or(32),
        seconds: get("--seconds").and_then(|v| v.parse().ok()).unwrap_or(15.0),
        large: get("--size").as_deref() == Some("large"),
        django: get("--shape").as_deref() == Some("django"),
        javascript: get("--shape").as_deref() == Some("javascript"),
        maps: std::env::args().any(|a| a == "--maps"),
        rules: get("--rules").and_then(|v| v.parse().ok()).unwrap_or(0),
        issues: get("--issues").and_then(|v| v.parse().ok()).unwrap_or(50),
        runs: get("--runs").and_then(|v| v.parse().ok()).unwrap_or(1).max(1),
        variants: get("--variants").and_then(|v| v.parse().ok()).unwrap_or(20).max(1),
        entries: entries(&setups),
        pg_settings: common::args("--pg-setting"),
    }
}

/// `n` alert rules on the default project, sending to one channel that only rules feed: every
/// other one "seen more than 100,000 times in 5 minutes" (so its counts are kept and checked
/// for every event, as in a project that uses them), the rest new-issue rules for production.
async fn add_rules(deployment: &Deployment, n: usize) {
    let node = &deployment.nodes[0];
    let out = node.command(&["token", "create", "bench-rules"]).output().unwrap();
    let token = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{}{path}", node.base))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let channel: serde_json::Value = post(
        "/api/0/projects/default/default/alerts/",
        serde_json::json!({"kind": "webhook", "target": "http://127.0.0.1:9/none", "triggers": []}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    for i in 0..n {
        let condition = if i % 2 == 0 {
            serde_json::json!({"id": "sentry.rules.conditions.event_frequency.EventFrequencyCondition", "value": 100000, "interval": "5m"})
        } else {
            serde_json::json!({"id": "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition"})
        };
        let status = post(
            "/api/0/projects/default/default/rules/",
            serde_json::json!({"name": format!("rule {i}"), "conditions": [condition], "environments": ["production"],
                               "actions": [{"channel": channel["id"]}]}),
        )
        .await
        .unwrap()
        .status();
        assert!(status.is_success(), "rule {i}: {status}");
    }
    println!("rules: {n} on the project ({} frequency rules)", n.div_ceil(2));
}

/// One line of the benchmark: a setup served by a build of `tocsin`.
#[derive(Clone)]
struct Entry {
    setup: Setup,
    binary: PathBuf,
    /// Run by `--baseline`'s build (the previous main, say), for before/after in one run.
    baseline: bool,
}

impl Entry {
    fn label(&self, builds: bool) -> String {
        match (builds, self.baseline) {
            (false, _) => self.setup.label(),
            (true, true) => format!("previous: {}", self.setup.label()),
            (true, false) => format!("this build: {}", self.setup.label()),
        }
    }
}

/// Each setup by `--baseline`'s binary (when given) and then by this build's
/// (`TOCSIN_BENCH_BINARY`, or the one cargo built).
fn entries(setups: &[Setup]) -> Vec<Entry> {
    let this = std::env::var_os("TOCSIN_BENCH_BINARY").unwrap_or_else(|| env!("CARGO_BIN_EXE_tocsin").into());
    let mut entries = Vec::new();
    for &setup in setups {
        if let Some(previous) = common::arg("--baseline") {
            entries.push(Entry {
                setup,
                binary: PathBuf::from(previous),
                baseline: true,
            });
        }
        entries.push(Entry {
            setup,
            binary: PathBuf::from(&this),
            baseline: false,
        });
    }
    entries
}

/// `issues` distinct realistic events built from the recorded sentry-python Flask error, each in
/// `variants` versions whose per-request details differ the way real traffic does (time, URL,
/// user, trace and request ids, local variable values, breadcrumbs), so storage figures are not
/// flattered by byte-identical payloads.
fn templates(issues: usize, variants: usize, large: bool) -> Vec<Value> {
    let now = vary::now();
    issue_templates(issues, large)
        .into_iter()
        .flat_map(|base| {
            (0..variants).map(move |_| {
                let mut event = base.clone();
                let (a, b) = (rand() % 1000, rand() % 1000);
                event["timestamp"] = json!(now - (rand() % 3_600_000) as f64 / 1000.0);
                event["request"]["url"] = json!(format!("http://127.0.0.1:45027/division/{a}/{b}?req={}", hex()));
                event["user"] = json!({"id": format!("user-{}", rand() % 100_000), "ip_address": format!("10.{}.{}.{}", rand() % 256, rand() % 256, rand() % 256)});
                event["contexts"]["trace"]["trace_id"] = json!(hex());
                event["contexts"]["trace"]["span_id"] = json!(hex()[..16].to_string());
                event["extra"]["request_id"] = json!(hex());
                if let Some(frames) = event["exception"]["values"][0]["stacktrace"]["frames"].as_array_mut()
                    && let Some(vars) = frames.last_mut().and_then(|f| f["vars"].as_object_mut())
                {
                    vars.insert("numerator".into(), json!(format!("'{a}'")));
                    vars.insert("denominator".into(), json!(format!("'{b}'")));
                }
                let crumbs: Vec<Value> = (0..5)
                    .map(|i| json!({"timestamp": now - 10.0 + i as f64, "category": "query", "level": "info",
                        "message": format!("SELECT * FROM items WHERE id = {}", rand() % 1_000_000)}))
                    .collect();
                if !large {
                    event["breadcrumbs"] = json!({ "values": crumbs });
                }
                event
            })
        })
        .collect()
}

fn issue_templates(issues: usize, large: bool) -> Vec<Value> {
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sentry-python-2.75-gzip/001.body"
    ))
    .unwrap();
    let envelope = tocsin::ingest::envelope::parse(&fixture).unwrap();
    let base: Value = serde_json::from_slice(&envelope.items[0].payload).unwrap();
    (0..issues)
        .map(|n| {
            let mut event = base.clone();
            let frames = event["exception"]["values"][0]["stacktrace"]["frames"].as_array_mut().unwrap();
            let last = frames.last_mut().unwrap();
            last["function"] = json!(format!("handler_{n}"));
            last["context_line"] = json!(format!("    return compute_{n}(numerator, denominator)"));
            if large {
                // 95 locals of ~400 characters of random hex (not a repeated letter, which any
                // compressor shrinks to nothing): ~50 KB decoded with the breadcrumbs.
                let blob = || (0..12).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect::<String>();
                let vars: serde_json::Map<String, Value> =
                    (0..95).map(|i| (format!("var_{i}"), json!(format!("'{}'", blob())))).collect();
                last["vars"] = Value::Object(vars);
                event["breadcrumbs"] = json!({"values": (0..40).map(|i| json!({
                    "timestamp": 1795546474.0 + i as f64, "category": "http", "level": "info",
                    "message": format!("GET /api/items/{i} -> 200"), "data": {"url": format!("http://svc/items/{i}"), "status_code": 200}
                })).collect::<Vec<_>>()});
            }
            event
        })
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn main() {
    let opts = options();
    let rt = common::runtime();
    // One cluster serves every PostgreSQL run, each on a fresh database.
    let cluster = opts
        .entries
        .iter()
        .any(|e| matches!(e.setup, Setup::Postgres { .. }))
        .then(|| {
            let (cluster, settings) = deploy::cluster(&opts.pg_settings);
            println!("{settings}");
            cluster
        });
    let builds = opts.entries.iter().any(|e| e.baseline);
    let mut all: Vec<Vec<Figures>> = vec![Vec::new(); opts.entries.len()];
    // Entries take turns run by run, so that whatever drifts on the machine meanwhile (other
    // load, caches) weighs on each alike.
    for n in 1..=opts.runs {
        for (entry, runs) in opts.entries.iter().zip(&mut all) {
            if opts.runs > 1 || opts.entries.len() > 1 {
                println!("--- {}, run {n} of {}", entry.label(builds), opts.runs);
            }
            runs.push(rt.block_on(run(&opts, entry, cluster.as_ref())));
        }
    }
    let medians: Vec<Figures> = all.iter().map(|runs| median(runs)).collect();
    if opts.runs > 1 {
        for (entry, m) in opts.entries.iter().zip(&medians) {
            println!(
                "{}, median of {} runs: {:.0} events/s committed (server CPU {:.2} cores: nodes {:.2} + database {:.2}; load generator {:.2}); \
                 latency p50 {:.2} / p95 {:.2} / p99 {:.2} ms; non-2xx {}; RSS per node idle {:.1} MB, peak {:.1} MB; \
                 {:.0} bytes per stored event",
                entry.label(builds),
                opts.runs,
                m.events_per_sec,
                m.node_cores + m.database_cores,
                m.node_cores,
                m.database_cores,
                m.generator_cores,
                m.p50,
                m.p95,
                m.p99,
                m.non_2xx,
                m.idle_rss_mb,
                m.peak_rss_mb,
                m.bytes_per_event,
            );
        }
    }
    if opts.entries.len() > 1 {
        compare(&opts.entries, &medians, opts.runs);
    }
}

/// Each figure's median over the runs (on its own: the median run of one figure need not be
/// that of another).
fn median(runs: &[Figures]) -> Figures {
    let m = |f: fn(&Figures) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Figures {
        events_per_sec: m(|f| f.events_per_sec),
        p50: m(|f| f.p50),
        p95: m(|f| f.p95),
        p99: m(|f| f.p99),
        non_2xx: m(|f| f.non_2xx as f64) as u64,
        idle_rss_mb: m(|f| f.idle_rss_mb),
        peak_rss_mb: m(|f| f.peak_rss_mb),
        node_cores: m(|f| f.node_cores),
        database_cores: m(|f| f.database_cores),
        generator_cores: m(|f| f.generator_cores),
        bytes_per_event: m(|f| f.bytes_per_event),
    }
}

/// The entries side by side: each against its build's first setup (SQLite with `--compare`)
/// and, with `--baseline`, against the previous build's same setup; and whether the PostgreSQL
/// target holds for this build: 2 nodes commit at least 0.8× what SQLite commits, p99 under
/// 100 ms, no non-2xx.
fn compare(entries: &[Entry], medians: &[Figures], runs: usize) {
    let builds = entries.iter().any(|e| e.baseline);
    let first_of = |baseline: bool| {
        entries
            .iter()
            .position(|e| e.baseline == baseline)
            .map_or(1.0, |i| medians[i].events_per_sec.max(1.0))
    };
    let previous = |setup: Setup| {
        entries
            .iter()
            .position(|e| e.baseline && e.setup == setup)
            .map(|i| medians[i].events_per_sec.max(1.0))
    };
    println!("\nmedians of {runs} run(s):");
    println!(
        "| setup | events/s | × first setup | × previous build | p50 / p99 | non-2xx | RSS per node, peak | CPU: nodes + PostgreSQL (+ load generator) | bytes per event |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (entry, m) in entries.iter().zip(medians) {
        let against_previous = match (entry.baseline, previous(entry.setup)) {
            (false, Some(before)) => format!("{:.2}", m.events_per_sec / before),
            _ => "".to_string(),
        };
        println!(
            "| {} | {:.0} | {:.2} | {} | {:.1} / {:.1} ms | {} | {:.0} MB | {:.2} + {:.2} (+ {:.2}) cores | {:.0} |",
            entry.label(builds),
            m.events_per_sec,
            m.events_per_sec / first_of(entry.baseline),
            against_previous,
            m.p50,
            m.p99,
            m.non_2xx,
            m.peak_rss_mb,
            m.node_cores,
            m.database_cores,
            m.generator_cores,
            m.bytes_per_event,
        );
    }
    let two_nodes = entries
        .iter()
        .position(|e| !e.baseline && e.setup == Setup::Postgres { nodes: 2 });
    let sqlite = entries.iter().position(|e| !e.baseline && e.setup == Setup::Sqlite);
    if let (Some(two), Some(sqlite)) = (two_nodes, sqlite) {
        let (two, base) = (medians[two], medians[sqlite].events_per_sec.max(1.0));
        let ratio = two.events_per_sec / base;
        let met = ratio >= 0.8 && two.p99 < 100.0 && two.non_2xx == 0;
        println!(
            "target (2 nodes on PostgreSQL ≥ 0.8× SQLite, p99 < 100 ms, no non-2xx): {} ({ratio:.2}×, p99 {:.1} ms, {} non-2xx)",
            if met { "met" } else { "MISSED" },
            two.p99,
            two.non_2xx
        );
    }
}

async fn run(opts: &Options, entry: &Entry, cluster: Option<&postgres::Cluster>) -> Figures {
    let setup = entry.setup;
    let deployment = Deployment::start(setup, &entry.binary, cluster);
    let pids: Vec<u32> = deployment.nodes.iter().map(|n| n.child.id()).collect();
    let key = deployment.nodes[0].key.clone();
    let urls: Vec<String> = deployment
        .nodes
        .iter()
        .map(|n| format!("{}/api/1/envelope/", n.base))
        .collect();
    if opts.rules > 0 {
        add_rules(&deployment, opts.rules).await;
    }
    let events = if opts.javascript {
        let bundle = javascript::bundle(2000);
        if opts.maps {
            let out = deployment.nodes[0]
                .command(&["token", "create", "bench"])
                .output()
                .unwrap();
            let token = String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .unwrap_or_default()
                .to_string();
            javascript::upload(&deployment.nodes[0].base, &token, &bundle).await;
        }
        javascript::templates(&bundle, opts.issues, opts.variants)
    } else if opts.django {
        django::templates(opts.issues, opts.variants)
    } else {
        templates(opts.issues, opts.variants, opts.large)
    };
    let sample = serde_json::to_vec(&events[0]).unwrap();
    // Each request is a fresh envelope header (with a new event id, which wins over the
    // payload's) and a prepared item. Gzipped, the two are one gzip stream of two members:
    // valid gzip that every decoder reads whole, and it keeps the generator's CPU off the
    // server's cores.
    let compress = !opts.django && !opts.javascript;
    let templates: Arc<Vec<Vec<u8>>> = Arc::new(
        events
            .iter()
            .map(|event| {
                let payload = serde_json::to_vec(event).unwrap();
                let mut item = format!("{{\"type\":\"event\",\"length\":{}}}\n", payload.len()).into_bytes();
                item.extend_from_slice(&payload);
                item.push(b'\n');
                if compress { gzip(&item) } else { item }
            })
            .collect(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss: Vec<u64> = pids.iter().map(|&p| common::proc_status_kib(p, "VmRSS:")).collect();
    println!(
        "load: {} connections over {} node(s) ({}), {:.0} s, {} {} issues × {} variants, events of ~{:.1} KB decoded ({})",
        opts.connections,
        urls.len(),
        setup.label(),
        opts.seconds,
        opts.issues,
        match (opts.django, opts.javascript, opts.maps) {
            (true, _, _) => "Django",
            (_, true, true) => "browser (source maps uploaded)",
            (_, true, false) => "browser (no source maps)",
            _ => "sentry-python",
        },
        opts.variants,
        sample.len() as f64 / 1024.0,
        if compress {
            format!("{:.1} KB gzipped", gzip(&sample).len() as f64 / 1024.0)
        } else {
            "sent uncompressed".to_string()
        }
    );

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.connections)
        .build()
        .unwrap();
    let auth = format!("Sentry sentry_key={key}, sentry_version=7, sentry_client=sentry.python/2.75.0");
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let statuses = Arc::new(Mutex::new(BTreeMap::<u16, u64>::new()));
    let (nodes_cpu_before, database_cpu_before) = deployment.cpu_seconds();
    let generator_cpu_before = common::cpu_seconds(std::process::id());
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(opts.seconds);
    let mut tasks = Vec::new();
    for worker in 0..opts.connections {
        // Connections spread over the nodes round-robin, as a load balancer would.
        let url = urls[worker % urls.len()].clone();
        let (client, auth, templates) = (client.clone(), auth.clone(), templates.clone());
        let (latencies, statuses) = (latencies.clone(), statuses.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut n = worker;
            let step = opts_step();
            while Instant::now() < deadline {
                let item = &templates[n % templates.len()];
                n += step;
                let id = uuid::Uuid::new_v4().simple().to_string();
                let header = format!("{{\"event_id\":\"{id}\"}}\n");
                let mut body = if compress {
                    gzip(header.as_bytes())
                } else {
                    header.into_bytes()
                };
                body.extend_from_slice(item);
                let t = Instant::now();
                let mut request = client
                    .post(&url)
                    .header("X-Sentry-Auth", &auth)
                    .header("Content-Type", "application/x-sentry-envelope");
                if compress {
                    request = request.header("Content-Encoding", "gzip");
                }
                let resp = request.body(body).send().await;
                let status = match resp {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        s
                    }
                    Err(_) => 0,
                };
                mine.push(t.elapsed().as_secs_f64() * 1000.0);
                *statuses.lock().unwrap().entry(status).or_default() += 1;
            }
            latencies.lock().unwrap().extend(mine);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (nodes_cpu, database_cpu) = deployment.cpu_seconds();
    let node_cores = (nodes_cpu - nodes_cpu_before) / elapsed;
    let database_cores = (database_cpu - database_cpu_before) / elapsed;
    let generator_cores = (common::cpu_seconds(std::process::id()) - generator_cpu_before) / elapsed;
    let peak_rss: Vec<u64> = pids.iter().map(|&p| common::proc_status_kib(p, "VmHWM:")).collect();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let statuses = statuses.lock().unwrap().clone();
    let ok = statuses.get(&200).copied().unwrap_or(0);
    println!(
        "accepted = committed: {ok} events in {elapsed:.1} s = {:.0} events/s; server CPU {:.2} cores (nodes {node_cores:.2} + database {database_cores:.2}); load generator {generator_cores:.2} cores",
        ok as f64 / elapsed,
        node_cores + database_cores,
    );
    println!(
        "latency: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
        pct(0.50),
        pct(0.95),
        pct(0.99)
    );
    let errors: Vec<String> = statuses
        .iter()
        .filter(|(s, _)| **s != 200)
        .map(|(s, n)| format!("{s}: {n}"))
        .collect();
    println!(
        "non-2xx: {}",
        if errors.is_empty() {
            "none".to_string()
        } else {
            errors.join(", ")
        }
    );
    let mb = |kib: u64| kib as f64 / 1024.0;
    for (n, (idle, peak)) in idle_rss.iter().zip(&peak_rss).enumerate() {
        let which = if pids.len() > 1 {
            format!(" (node {})", n + 1)
        } else {
            String::new()
        };
        println!("server RSS{which}: idle {:.1} MB, peak {:.1} MB", mb(*idle), mb(*peak));
    }

    let (bytes, stored) = deployment.finish().await;
    let bytes_per_event = bytes as f64 / stored.max(1) as f64;
    println!(
        "database: {:.1} MB for {stored} events = {bytes_per_event:.0} bytes per stored event",
        bytes as f64 / 1e6,
    );
    Figures {
        events_per_sec: ok as f64 / elapsed,
        p50: pct(0.50),
        p95: pct(0.95),
        p99: pct(0.99),
        non_2xx: statuses.iter().filter(|(s, _)| **s != 200).map(|(_, n)| n).sum(),
        idle_rss_mb: mb(idle_rss.iter().copied().max().unwrap_or(0)),
        peak_rss_mb: mb(peak_rss.iter().copied().max().unwrap_or(0)),
        node_cores,
        database_cores,
        generator_cores,
        bytes_per_event,
    }
}

/// Workers walk the templates with a stride so concurrent requests hit different issues.
fn opts_step() -> usize {
    7
}
