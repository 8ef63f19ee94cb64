//! Memory is no lever for an attacker (issue 11): decompression bombs of every encoding, 18 MiB
//! envelopes of attachments and slow bodies, 64 at once, each get the right answer while a real
//! sentry-python client keeps sending — every one of its events accepted and stored — and the
//! server's peak RSS stays under 200 MB. DSN keys are public, so the keyed attacks are as real as
//! the anonymous ones.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::attack::{ENCODINGS, content_encoding, encode, envelope_of_attachments, envelope_of_zeros, zeros};
use crate::helpers::{TestApp, envelope_of, error_event, new_event_id, poll, sentry_auth, spawn_app, spawn_app_with};

/// The acceptance bound on the server's peak resident memory.
const PEAK_RSS_LIMIT_KIB: u64 = 200 * 1024;
const CONCURRENT: usize = 64;

/// A real sentry-python client sending an event every 50 ms until told to stop.
struct Bystander {
    child: Child,
    stop: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bystander {
    /// Starts the client and waits until its first event was stored, so the attack that
    /// follows really happens while it sends.
    async fn start(app: &TestApp) -> Bystander {
        let dir = tempfile::tempdir().unwrap();
        let stop = dir.path().join("stop");
        let child = Command::new(crate::python::python())
            .arg(crate::python::script("steady_sender.py"))
            .arg(&app.dsn)
            .arg("0.05")
            .arg(&stop)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the python client");
        let bystander = Bystander { child, stop, _dir: dir };
        let series = format!("tocsin_events_accepted_total{{project=\"{}\"}}", app.project_id);
        poll(
            "the python client's first event is stored",
            Duration::from_secs(60),
            async || match app.metric(&series).await {
                n if n >= 1.0 => Ok(()),
                _ => Err("no event yet".into()),
            },
        )
        .await;
        bystander
    }

    /// Stops the client and checks that every event it sent was accepted and stored.
    async fn assert_every_event_stored(self, app: &TestApp) -> usize {
        std::fs::write(&self.stop, b"").unwrap();
        let out = tokio::task::spawn_blocking(move || self.child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "the client failed:\n{stdout}\n{stderr}");
        let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
            .unwrap_or_else(|e| panic!("client printed {stdout:?}: {e}"));
        let ids: Vec<&str> = report["event_ids"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            ids.len() >= 2,
            "the client sent before and after the attack: {} events",
            ids.len()
        );
        let mut missing = Vec::new();
        for id in &ids {
            if app.get_event("default", id).await.status() != 200 {
                missing.push(*id);
            }
        }
        let refusals: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("status") || l.contains("rror"))
            .take(20)
            .collect();
        assert!(
            missing.is_empty(),
            "{} of {} events of the real client were not stored; its log:\n{}",
            missing.len(),
            ids.len(),
            refusals.join("\n")
        );
        ids.len()
    }
}

/// The bombs of one encoding: zeros (no envelope), an event of zeros (kept until its 1 MiB cap),
/// and an attachment of zeros (skipped until the 100 MiB decoded cap).
struct Bombs {
    zeros: Vec<u8>,
    event: Vec<u8>,
    attachment: Vec<u8>,
}

static BOMBS: LazyLock<Vec<(&'static str, Bombs)>> = LazyLock::new(|| {
    ENCODINGS
        .iter()
        .map(|&encoding| {
            let bombs = Bombs {
                zeros: encode(encoding, &zeros(16)),
                event: encode(encoding, &envelope_of_zeros("event", 16)),
                attachment: encode(encoding, &envelope_of_zeros("attachment", 110)),
            };
            (encoding, bombs)
        })
        .collect()
});

/// What a hostile request got: its status, `detail` and `Retry-After`.
#[derive(Debug)]
struct Answer {
    status: u16,
    detail: String,
    retry_after: Option<String>,
}

async fn post(client: &reqwest::Client, app: &TestApp, body: Vec<u8>, headers: &[(&str, String)]) -> Answer {
    let mut req = client
        .post(app.url(&format!("/api/{}/envelope/", app.project_id)))
        .body(body);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let resp = req.send().await.expect("every hostile request is answered");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        detail: body["detail"].as_str().unwrap_or_default().to_string(),
        retry_after,
    }
}

/// Every answer has the expected status, or 503 + `Retry-After` when the memory budget was
/// full, and a `detail`. Returns how many were 503.
fn assert_answers(what: &str, answers: &[(u16, Answer)]) -> usize {
    for (expected, answer) in answers {
        let busy = answer.status == 503 && answer.retry_after.is_some() && answer.detail.contains("retry");
        assert!(
            (answer.status == *expected || busy) && (answer.status == 200 || !answer.detail.is_empty()),
            "{what}: {answer:?} (expected {expected}, or 503 when memory is short)"
        );
    }
    answers.iter().filter(|(_, a)| a.status == 503).count()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// After the attack: every charge was given back, the server answers, and a new event is stored.
async fn assert_steady(app: &TestApp) {
    poll("the budget holds nothing", Duration::from_secs(10), async || match app
        .metric("tocsin_request_memory_bytes")
        .await
    {
        0.0 => Ok(()),
        held => Err(format!("it still holds {held} bytes")),
    })
    .await;
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app.post_envelope(envelope_of(&error_event())).await;
    assert_eq!(resp.status(), 200);
}

fn assert_peak_under_limit(app: &TestApp, scenario: &str) {
    let peak = app.server_peak_memory_kib();
    eprintln!("{scenario}: server peak RSS {} MiB", peak / 1024);
    assert!(
        peak < PEAK_RSS_LIMIT_KIB,
        "{scenario}: the server's memory peaked at {} MiB",
        peak / 1024
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_bombs_of_every_encoding_with_and_without_a_key_leave_memory_bounded_and_a_real_client_served()
 {
    LazyLock::force(&BOMBS);
    let app = spawn_app().await;
    let bystander = Bystander::start(&app).await;
    let client = client();
    let auth = sentry_auth(&app.key);
    let mut refused_for_memory = 0;
    for (encoding, bombs) in BOMBS.iter() {
        for keyed in [false, true] {
            let requests = (0..CONCURRENT).map(|i| {
                // Zeros are no envelope: refused once the first line passes its cap, with or
                // without a key. An event of zeros is refused at 1 MiB when keyed, and for want
                // of credentials after the envelope's first line when not. An attachment of
                // zeros streams past, unkept, until the decoded cap.
                let (body, expected) = match (i % 8, keyed) {
                    (0, true) => (&bombs.attachment, 413),
                    (1..=4, true) => (&bombs.event, 413),
                    (1..=4, false) => (&bombs.event, 401),
                    _ => (&bombs.zeros, 413),
                };
                let mut headers = vec![("Content-Encoding", content_encoding(encoding).to_string())];
                if keyed {
                    headers.push(("X-Sentry-Auth", auth.clone()));
                }
                let (client, app) = (&client, &app);
                async move { (expected, post(client, app, body.clone(), &headers).await) }
            });
            let answers = join_all(requests).await;
            let what = format!("{encoding} bombs {}", if keyed { "with a key" } else { "without one" });
            refused_for_memory += assert_answers(&what, &answers);
        }
    }
    eprintln!("bombs: {refused_for_memory} refused with 503 for memory");
    let sent = bystander.assert_every_event_stored(&app).await;
    eprintln!("bombs: the real client's {sent} events were all stored");
    assert_peak_under_limit(&app, "bombs");
    assert_steady(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_18_mib_envelopes_of_attachments_store_their_events_and_hold_no_attachment() {
    let app = spawn_app().await;
    let bystander = Bystander::start(&app).await;
    let client = client();
    let auth = sentry_auth(&app.key);
    let mut ids = Vec::new();
    let requests = (0..CONCURRENT).map(|_| {
        let event = error_event();
        ids.push(event["event_id"].as_str().unwrap().to_string());
        let body = envelope_of_attachments(&event, 18);
        assert!(body.len() > 18 * 1000 * 1000 && body.len() < 20 * 1024 * 1024);
        let headers = [("X-Sentry-Auth", auth.clone())];
        let (client, app) = (&client, &app);
        async move { (200, post(client, app, body, &headers).await) }
    });
    let answers = join_all(requests).await;
    let busy = assert_answers("18 MiB envelopes", &answers);
    assert_eq!(busy, 0, "attachments are not held, so nothing is short of memory");
    for id in &ids {
        let event = app.event_json("default", id).await;
        assert_eq!(event["event_id"], json!(id));
    }
    let dropped = app
        .metric("tocsin_envelope_items_dropped_total{item_type=\"attachment\"}")
        .await;
    assert_eq!(
        dropped,
        (CONCURRENT * 18) as f64,
        "every attachment was counted and skipped"
    );
    bystander.assert_every_event_stored(&app).await;
    assert_peak_under_limit(&app, "18 MiB envelopes");
    assert_steady(&app).await;
}

/// Opens a connection, sends the head of an envelope POST and its first bytes, then a byte a
/// second until the server answers; returns the answer's status line. With a key, the
/// envelope's first line is whole; without, it never ends (it would carry the DSN).
async fn slow_body(app: &TestApp, auth: Option<String>) -> String {
    let mut stream = tokio::net::TcpStream::connect(&app.address).await.unwrap();
    let end_of_line = if auth.is_some() { "\n" } else { "" };
    let auth = auth.map(|a| format!("X-Sentry-Auth: {a}\r\n")).unwrap_or_default();
    let head = format!(
        "POST /api/{}/envelope/ HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 100000\r\n\r\n{{\"event_id\":\"{}\"}}{end_of_line}",
        app.project_id,
        new_event_id()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                let text = String::from_utf8_lossy(&buf[..n]);
                return text.lines().next().unwrap_or_default().to_string();
            }
            Ok(_) => return "closed without an answer".into(),
            Err(_) => {
                if stream.write_all(b" ").await.is_err() {
                    return "reset".into();
                }
            }
        }
    }
    "no answer within 30 s".into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_slow_bodies_at_once_are_cut_off_with_408_while_a_real_client_is_served() {
    let app = spawn_app_with(&["--body-timeout", "3"]).await;
    let bystander = Bystander::start(&app).await;
    let auth = sentry_auth(&app.key);
    let started = Instant::now();
    let loris = (0..CONCURRENT).map(|i| slow_body(&app, (i % 2 == 0).then(|| auth.clone())));
    let answers = join_all(loris).await;
    for answer in &answers {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "cut off after {:?}",
        started.elapsed()
    );
    bystander.assert_every_event_stored(&app).await;
    assert_peak_under_limit(&app, "slow bodies");
    assert_steady(&app).await;
}
