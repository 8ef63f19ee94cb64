//! The hostile-load benchmark: `cargo bench --bench hostile -- [--concurrency 64]
//! [--scenario bombs|attachments|loris]`; `TOCSIN_BENCH_BINARY=/path/to/tocsin` measures another
//! build (e.g. the previous main) with the same load.
//!
//! For each scenario a fresh release server on a temporary data directory is attacked with
//! `--concurrency` requests at once while a bystander posts a small gzipped sentry-python event
//! every 50 ms. Prints, per scenario: the server's peak RSS (VmHWM), the CPU seconds it used,
//! how the hostile requests were answered (status counts, or the client-side error), and how many
//! of the bystander's events were accepted.
//!
//! Scenarios: `bombs` — for each of six encodings (gzip, zlib, raw deflate, br with a 16 MiB
//! window, zstd with an 8 MiB window, gzip over br), once without and once with a valid key,
//! bombs of 16 MiB of zeros, of an envelope whose event is 16 MiB of zeros and of an envelope
//! whose attachment is 110 MiB of zeros; `attachments` — envelopes of 18 MiB (one small event,
//! 18 attachments of 1 MiB); `loris` — bodies sent a byte a second (server `--body-timeout 5`).

#[path = "../tests/api/attack.rs"]
mod attack;
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Options {
    concurrency: usize,
    scenario: Option<String>,
}

fn options() -> Options {
    let get = common::arg;
    Options {
        concurrency: get("--concurrency").and_then(|v| v.parse().ok()).unwrap_or(64),
        scenario: get("--scenario"),
    }
}

/// What the hostile requests got: a status, or the client's error.
type Outcomes = BTreeMap<String, u64>;

async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>, headers: &[(&'static str, String)]) -> String {
    let mut req = client.post(url).body(body);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    match req.send().await {
        Ok(resp) => resp.status().as_u16().to_string(),
        Err(e) if e.is_timeout() => "timeout".into(),
        Err(_) => "connection error".into(),
    }
}

/// Posts a small event every 50 ms until stopped; counts (accepted, refused).
async fn bystander(url: String, key: String, stop: Arc<AtomicBool>, accepted: Arc<AtomicU64>, refused: Arc<AtomicU64>) {
    let client = reqwest::Client::new();
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sentry-python-2.75-gzip/001.body"
    ))
    .unwrap();
    let envelope = tocsin::ingest::envelope::parse(&fixture).unwrap();
    let event: serde_json::Value = serde_json::from_slice(&envelope.items[0].payload).unwrap();
    while !stop.load(Ordering::Relaxed) {
        let mut event = event.clone();
        event["event_id"] = json!(uuid::Uuid::new_v4().simple().to_string());
        let body = format!("{{}}\n{{\"type\":\"event\"}}\n{event}\n").into_bytes();
        let status = post(
            &client,
            &url,
            attack::encode("gzip", &body),
            &[
                ("Content-Encoding", "gzip".into()),
                ("X-Sentry-Auth", format!("Sentry sentry_key={key}, sentry_version=7")),
            ],
        )
        .await;
        let counter = if status == "200" { &accepted } else { &refused };
        counter.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn bombs(url: &str, key: &str, concurrency: usize) -> Outcomes {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let mut outcomes = Outcomes::new();
    for encoding in attack::ENCODINGS {
        let bodies = [
            attack::encode(encoding, &attack::zeros(16)),
            attack::encode(encoding, &attack::envelope_of_zeros("event", 16)),
            attack::encode(encoding, &attack::envelope_of_zeros("attachment", 110)),
        ];
        for keyed in [false, true] {
            let requests = (0..concurrency).map(|i| {
                let body = bodies[i % 3].clone();
                let mut headers = vec![("Content-Encoding", attack::content_encoding(encoding).to_string())];
                if keyed {
                    headers.push(("X-Sentry-Auth", format!("Sentry sentry_key={key}, sentry_version=7")));
                }
                let client = &client;
                async move { post(client, url, body, &headers).await }
            });
            for outcome in futures_util::future::join_all(requests).await {
                *outcomes.entry(outcome).or_default() += 1;
            }
        }
    }
    outcomes
}

async fn attachments(url: &str, key: &str, concurrency: usize) -> Outcomes {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let requests = (0..concurrency).map(|_| {
        let event = json!({"event_id": uuid::Uuid::new_v4().simple().to_string(), "message": "with dumps"});
        let body = attack::envelope_of_attachments(&event, 18);
        let headers = [("X-Sentry-Auth", format!("Sentry sentry_key={key}, sentry_version=7"))];
        let client = &client;
        async move { post(client, url, body, &headers).await }
    });
    let mut outcomes = Outcomes::new();
    for outcome in futures_util::future::join_all(requests).await {
        *outcomes.entry(outcome).or_default() += 1;
    }
    outcomes
}

/// A body sent a byte a second; returns the status line's code, or what happened instead.
async fn slow_body(address: &str, path: &str, auth: Option<String>) -> String {
    let Ok(mut stream) = tokio::net::TcpStream::connect(address).await else {
        return "connect failed".into();
    };
    let auth = auth.map(|a| format!("X-Sentry-Auth: {a}\r\n")).unwrap_or_default();
    let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 100000\r\n\r\n{{}}\n");
    if stream.write_all(head.as_bytes()).await.is_err() {
        return "reset".into();
    }
    for _ in 0..120 {
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                let text = String::from_utf8_lossy(&buf[..n]);
                return text.split_whitespace().nth(1).unwrap_or("?").to_string();
            }
            Ok(_) => return "closed".into(),
            Err(_) => {
                if stream.write_all(b" ").await.is_err() {
                    return "reset".into();
                }
            }
        }
    }
    "no answer".into()
}

async fn loris(address: &str, path: &str, key: &str, concurrency: usize) -> Outcomes {
    let requests = (0..concurrency).map(|i| {
        let auth = (i % 2 == 0).then(|| format!("Sentry sentry_key={key}, sentry_version=7"));
        slow_body(address, path, auth)
    });
    let mut outcomes = Outcomes::new();
    for outcome in futures_util::future::join_all(requests).await {
        *outcomes.entry(outcome).or_default() += 1;
    }
    outcomes
}

fn main() {
    let opts = options();
    let rt = common::runtime();
    let binary = std::env::var("TOCSIN_BENCH_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tocsin").to_string());
    println!("hostile load against {binary}, {} requests at once", opts.concurrency);
    for scenario in ["bombs", "attachments", "loris"] {
        if opts.scenario.as_deref().is_some_and(|s| s != scenario) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let extra: &[&str] = if scenario == "loris" {
            &["--body-timeout", "5"]
        } else {
            &[]
        };
        let server = common::Server::start_with(dir.path(), extra);
        let pid = server.child.id();
        let url = format!("{}/api/1/envelope/", server.base);
        let address = server.base.trim_start_matches("http://").to_string();
        let (stop, accepted, refused) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
        );
        let idle_kib = common::proc_status_kib(pid, "VmRSS:");
        let cpu_before = common::cpu_seconds(pid);
        let started = Instant::now();
        let outcomes = rt.block_on(async {
            let watcher = tokio::spawn(bystander(
                url.clone(),
                server.key.clone(),
                stop.clone(),
                accepted.clone(),
                refused.clone(),
            ));
            let outcomes = match scenario {
                "bombs" => bombs(&url, &server.key, opts.concurrency).await,
                "attachments" => attachments(&url, &server.key, opts.concurrency).await,
                _ => loris(&address, "/api/1/envelope/", &server.key, opts.concurrency).await,
            };
            stop.store(true, Ordering::Relaxed);
            let _ = watcher.await;
            outcomes
        });
        let took = started.elapsed().as_secs_f64();
        let cpu = common::cpu_seconds(pid) - cpu_before;
        let peak_kib = common::proc_status_kib(pid, "VmHWM:");
        let answered: Vec<String> = outcomes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        println!(
            "{scenario:<12} peak RSS {:>6.1} MB (idle {:.1}); server CPU {cpu:.1} s over {took:.1} s; \
             hostile answers {{{}}}; bystander accepted {} of {}",
            peak_kib as f64 / 1024.0,
            idle_kib as f64 / 1024.0,
            answered.join(", "),
            accepted.load(Ordering::Relaxed),
            accepted.load(Ordering::Relaxed) + refused.load(Ordering::Relaxed),
        );
        server.stop();
    }
}
