//! The ingest load benchmark: `cargo bench --bench ingest -- [--connections 32] [--seconds 15]
//! [--size small|large] [--issues 50] [--variants 20] [--runs 3]` (with `--runs`, a fresh server per run and
//! the median of each figure at the end; `TOCSIN_BENCH_KEEP=1` keeps the data directory).
//!
//! Starts the release `tocsin serve` on a temporary data directory and posts sentry-python-shaped
//! envelopes to it over HTTP: gzip-compressed, a fresh random event id per request, drawn from
//! `--issues` distinct stack traces (so grouping and issue updates run), ~7 KB decoded (`small`)
//! or ~50 KB with large `vars` and breadcrumbs (`large`). A 200 from Tocsin means committed, so
//! accepted = committed when the run ends. Prints events/s, latency percentiles, non-2xx counts,
//! the server's idle and peak RSS, and database bytes per stored event. The load generator shares
//! the machine's cores with the server.

use std::collections::BTreeMap;
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Options {
    connections: usize,
    seconds: f64,
    large: bool,
    issues: usize,
    runs: usize,
    variants: usize,
}

/// What one run measured.
#[derive(Clone, Copy, Default)]
struct Figures {
    events_per_sec: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    non_2xx: u64,
    idle_rss_mb: f64,
    peak_rss_mb: f64,
    /// Cores the server kept busy on average while the load ran.
    server_cores: f64,
    bytes_per_event: f64,
}

fn options() -> Options {
    let get = common::arg;
    Options {
        connections: get("--connections").and_then(|v| v.parse().ok()).unwrap_or(32),
        seconds: get("--seconds").and_then(|v| v.parse().ok()).unwrap_or(15.0),
        large: get("--size").as_deref() == Some("large"),
        issues: get("--issues").and_then(|v| v.parse().ok()).unwrap_or(50),
        runs: get("--runs").and_then(|v| v.parse().ok()).unwrap_or(1).max(1),
        variants: get("--variants").and_then(|v| v.parse().ok()).unwrap_or(20).max(1),
    }
}

/// `issues` distinct realistic events built from the recorded sentry-python Flask error, each in
/// `variants` versions whose per-request details differ the way real traffic does (time, URL,
/// user, trace and request ids, local variable values, breadcrumbs), so storage figures are not
/// flattered by byte-identical payloads.
fn templates(issues: usize, variants: usize, large: bool) -> Vec<Value> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let rand = || uuid::Uuid::new_v4().as_u128();
    let hex = || uuid::Uuid::new_v4().simple().to_string();
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
    let mut all = Vec::new();
    for n in 1..=opts.runs {
        if opts.runs > 1 {
            println!("--- run {n} of {}", opts.runs);
        }
        all.push(rt.block_on(run(&opts)));
    }
    if all.len() > 1 {
        let median = |f: fn(&Figures) -> f64| {
            let mut v: Vec<f64> = all.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!(
            "median of {} runs: {:.0} events/s committed (server CPU {:.2} cores); latency p50 {:.2} / p95 {:.2} / p99 {:.2} ms; \
             non-2xx {:.0}; RSS idle {:.1} MB, peak {:.1} MB; {:.0} bytes per stored event",
            all.len(),
            median(|f| f.events_per_sec),
            median(|f| f.server_cores),
            median(|f| f.p50),
            median(|f| f.p95),
            median(|f| f.p99),
            median(|f| f.non_2xx as f64),
            median(|f| f.idle_rss_mb),
            median(|f| f.peak_rss_mb),
            median(|f| f.bytes_per_event),
        );
    }
}

async fn run(opts: &Options) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = common::Server::start_with(&data, &[]);
    let pid = server.child.id();
    let (base, key) = (server.base.clone(), server.key.clone());
    let events = templates(opts.issues, opts.variants, opts.large);
    let sample = serde_json::to_vec(&events[0]).unwrap();
    // Each request is one gzip stream of two members: a fresh envelope header (with a new
    // event id, which wins over the payload's) and the pre-compressed item. Valid gzip that
    // every decoder reads whole, and it keeps the generator's CPU off the server's cores.
    let templates: Arc<Vec<Vec<u8>>> = Arc::new(
        events
            .iter()
            .map(|event| {
                let payload = serde_json::to_vec(event).unwrap();
                let mut item = format!("{{\"type\":\"event\",\"length\":{}}}\n", payload.len()).into_bytes();
                item.extend_from_slice(&payload);
                item.push(b'\n');
                gzip(&item)
            })
            .collect(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss = common::proc_status_kib(pid, "VmRSS:");
    println!(
        "load: {} connections, {:.0} s, {} issues × {} variants, events of ~{:.1} KB decoded ({:.1} KB gzipped)",
        opts.connections,
        opts.seconds,
        opts.issues,
        opts.variants,
        sample.len() as f64 / 1024.0,
        gzip(&sample).len() as f64 / 1024.0
    );

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.connections)
        .build()
        .unwrap();
    let url = format!("{base}/api/1/envelope/");
    let auth = format!("Sentry sentry_key={key}, sentry_version=7, sentry_client=sentry.python/2.75.0");
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let statuses = Arc::new(Mutex::new(BTreeMap::<u16, u64>::new()));
    let cpu_before = common::cpu_seconds(pid);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(opts.seconds);
    let mut tasks = Vec::new();
    for worker in 0..opts.connections {
        let (client, url, auth, templates) = (client.clone(), url.clone(), auth.clone(), templates.clone());
        let (latencies, statuses) = (latencies.clone(), statuses.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut n = worker;
            let step = opts_step();
            while Instant::now() < deadline {
                let item = &templates[n % templates.len()];
                n += step;
                let id = uuid::Uuid::new_v4().simple().to_string();
                let mut body = gzip(format!("{{\"event_id\":\"{id}\"}}\n").as_bytes());
                body.extend_from_slice(item);
                let t = Instant::now();
                let resp = client
                    .post(&url)
                    .header("X-Sentry-Auth", &auth)
                    .header("Content-Encoding", "gzip")
                    .header("Content-Type", "application/x-sentry-envelope")
                    .body(body)
                    .send()
                    .await;
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
    let server_cores = (common::cpu_seconds(pid) - cpu_before) / elapsed;
    let peak_rss = common::proc_status_kib(pid, "VmHWM:");
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
        "accepted = committed: {ok} events in {elapsed:.1} s = {:.0} events/s; server CPU {server_cores:.2} cores",
        ok as f64 / elapsed
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
    println!(
        "server RSS: idle {:.1} MB, peak {:.1} MB",
        idle_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0
    );

    server.stop();
    // Fold the WAL into the database so the file size is what the data takes.
    let db = tocsin::store::Database::open(&data, tocsin::config::Synchronous::Normal)
        .await
        .unwrap();
    let pool = db.write_pool().await.unwrap();
    tocsin::store::checkpoint(&pool).await.unwrap();
    let stored = tocsin::store::count_events(&pool).await.unwrap();
    let bytes = std::fs::metadata(data.join("tocsin.db")).map(|m| m.len()).unwrap_or(0);
    if std::env::var_os("TOCSIN_BENCH_KEEP").is_some() {
        println!("kept the data directory {}", data.display());
        std::mem::forget(dir);
    }
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
        idle_rss_mb: idle_rss as f64 / 1024.0,
        peak_rss_mb: peak_rss as f64 / 1024.0,
        server_cores,
        bytes_per_event,
    }
}

/// Workers walk the templates with a stride so concurrent requests hit different issues.
fn opts_step() -> usize {
    7
}
