//! Server-side render time of the web UI's two busiest pages for a project with 10,000 events
//! across 500 issues. Run: `cargo bench --bench pages`.
//!
//! Starts the real (release) `tocsin serve` on a temporary data directory, fills it through the
//! ingest endpoint, signs in, then times `GET /issues/` (the list) and `GET /issues/{id}/`
//! (an issue page with its latest event) over loopback; the numbers include the HTTP round trip,
//! so they bound the render time from above.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::json;

const ISSUES: usize = 500;
const EVENTS: usize = 10_000;
const RUNS: usize = 200;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(run());
}

async fn run() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bin = env!("CARGO_BIN_EXE_tocsin");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut user = Command::new(bin)
        .args([
            "user",
            "create",
            "--email",
            "bench@example.org",
            "--admin",
            "--data-dir",
        ])
        .arg(&data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    user.stdin.take().unwrap().write_all(b"benchmark password\n").unwrap();
    assert!(user.wait().unwrap().success());
    let server = common::Server::start_with(&data, &[]);
    let (base, key) = (server.base.clone(), server.key.clone());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let started = Instant::now();
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sentry-python-2.75-gzip/001.body"
    ))
    .unwrap();
    let envelope = tocsin::ingest::envelope::parse(&fixture).unwrap();
    let template: serde_json::Value = serde_json::from_slice(&envelope.items[0].payload).unwrap();
    let auth = format!("Sentry sentry_key={key}, sentry_version=7");
    let url = format!("{base}/api/1/envelope/");
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let (client, url, auth, template) = (client.clone(), url.clone(), auth.clone(), template.clone());
        tasks.push(tokio::spawn(async move {
            for n in (worker..EVENTS).step_by(8) {
                let mut event = template.clone();
                event["event_id"] = json!(uuid::Uuid::new_v4().simple().to_string());
                // A distinct function per issue makes 500 groups of 20 events each.
                let frames = event["exception"]["values"][0]["stacktrace"]["frames"]
                    .as_array_mut()
                    .unwrap();
                frames.last_mut().unwrap()["function"] = json!(format!("division_{}", n % ISSUES));
                event["user"] = json!({"id": format!("user-{}", n % 37)});
                let body = format!("{{}}\n{{\"type\":\"event\"}}\n{event}\n");
                let resp = client
                    .post(&url)
                    .header("X-Sentry-Auth", &auth)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "ingested {EVENTS} events into {ISSUES} issues in {:.1} s",
        started.elapsed().as_secs_f64()
    );

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
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let resp = client
        .post(format!("{base}/login"))
        .form(&[
            ("email", "bench@example.org"),
            ("password", "benchmark password"),
            ("form_token", token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    for (name, path) in [
        ("issue list (50 rows)", "/issues/".to_string()),
        ("issue page", "/issues/250/".to_string()),
    ] {
        let mut ms = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let t = Instant::now();
            let resp = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            let body = resp.bytes().await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(body);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "{name}: median {:.2} ms, p95 {:.2} ms, max {:.2} ms ({RUNS} requests)",
            ms[RUNS / 2],
            ms[RUNS * 95 / 100],
            ms[RUNS - 1]
        );
    }
    server.stop();
}
