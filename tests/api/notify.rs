//! Notifications are queued in the durable outbox exactly once per trigger and channel, in the
//! transaction that creates or reopens the issue; a flood is summarised.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, error_event, poll, spawn_app, spawn_app_with};

fn add_channel(app: &TestApp, args: &[&str]) {
    let mut all = vec!["alerts", "add", "--project", "default"];
    all.extend_from_slice(args);
    let out = app.cli(&all);
    assert!(out.success, "{}", out.stderr);
}

/// An event of the bug called `name` (same name, same issue).
fn bug(name: &str) -> Value {
    let mut event = error_event();
    event["exception"]["values"][0]["stacktrace"] =
        json!({"frames": [{"module": "shop", "function": name, "lineno": 7, "in_app": true}]});
    event
}

fn triggers(rows: &[tocsin::store::OutboxRecord]) -> Vec<(String, String)> {
    rows.iter().map(|r| (r.trigger.clone(), r.state.clone())).collect()
}

/// A receiver that is up but busy, as a real one says "try again later": SMTP clients get a
/// `421` greeting, HTTP clients a `503`. Both are transient, so the dispatcher (which looks at the
/// outbox every 500 ms) keeps each notification `pending` for its retry. With the first retry an
/// hour away, a row's state no longer depends on whether the dispatcher has got to it yet.
/// Returns the port.
async fn busy_receiver(smtp: bool) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                if smtp {
                    let _ = sock.write_all(b"421 4.3.2 busy, try again later\r\n").await;
                } else {
                    // Read the request head before answering, as an HTTP server does.
                    let mut seen = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy",
                        )
                        .await;
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    port
}

/// A server whose email and webhook receivers are busy (see `busy_receiver`), with retries an
/// hour apart; the second value is the URL of the busy webhook receiver.
async fn app_with_busy_receivers(extra: &[&str]) -> (TestApp, String) {
    let smtp_port = busy_receiver(true).await.to_string();
    let http = format!("http://127.0.0.1:{}/hook", busy_receiver(false).await);
    let mut args = vec![
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        &smtp_port,
        "--allow-private-webhooks",
        "true",
        "--alert-retry-seconds",
        "3600",
    ];
    args.extend_from_slice(extra);
    (spawn_app_with(&args).await, http)
}

/// The outbox once the dispatcher has tried every due `pending` row once; each then waits an
/// hour for its retry, so nothing changes while the test looks.
async fn outbox_after_first_attempts(app: &TestApp) -> Vec<tocsin::store::OutboxRecord> {
    poll(
        "the dispatcher tried every due row",
        Duration::from_secs(30),
        async || {
            let rows = app.outbox().await;
            // A summary is not due before its window ends.
            let untried = rows
                .iter()
                .any(|r| r.state == "pending" && r.attempts == 0 && r.trigger != "summary");
            if untried { Err(format!("{rows:?}")) } else { Ok(rows) }
        },
    )
    .await
}

#[tokio::test]
async fn a_new_issue_queues_one_notification_per_channel_and_its_later_events_queue_none() {
    let (app, hook) = app_with_busy_receivers(&[]).await;
    add_channel(&app, &["--email", "oncall@example.org, lead@example.org"]);
    add_channel(&app, &["--slack", &hook]);
    for _ in 0..11 {
        app.send(&bug("checkout")).await;
    }
    let rows = outbox_after_first_attempts(&app).await;
    assert_eq!(
        triggers(&rows),
        [("new".into(), "pending".into()), ("new".into(), "pending".into())],
        "{rows:?}"
    );
    assert_ne!(rows[0].channel_id, rows[1].channel_id);
    for row in &rows {
        assert_eq!(row.attempts, 1, "{row:?}");
        assert!(
            row.last_error.as_deref().is_some_and(|e| e.contains("busy")),
            "kept for a retry because the receiver was busy: {row:?}"
        );
    }
    let payload: Value = serde_json::from_str(&rows[0].payload).unwrap();
    assert_eq!(payload["title"], "ZeroDivisionError: division by zero");
    assert_eq!(payload["frames"], json!(["shop in checkout at line 7"]));
}

#[tokio::test]
async fn a_regression_and_an_ended_ignore_each_queue_one_notification() {
    let app = spawn_app().await;
    add_channel(
        &app,
        &["--webhook", "https://hooks.example/tocsin", "--secret", "s3cret"],
    );
    app.send(&bug("pay")).await;
    let issue = "/api/0/issues/DEFAULT-1/";
    assert_eq!(app.api_put(issue, &json!({"status": "resolved"})).await.0, 200);
    app.send(&bug("pay")).await;
    app.send(&bug("pay")).await;
    let ignore = json!({"status": "ignored", "statusDetails": {"ignoreCount": 2}});
    assert_eq!(app.api_put(issue, &ignore).await.0, 200);
    app.send(&bug("pay")).await;
    app.send(&bug("pay")).await;
    app.send(&bug("pay")).await;
    let kinds: Vec<String> = app.outbox().await.iter().map(|r| r.trigger.clone()).collect();
    assert_eq!(kinds, ["new", "regression", "unignored"]);
}

/// A flood window length close to `about` seconds under which a window began half a second
/// ago. The guard's windows are multiples of the length in Unix time; one that starts now keeps
/// a test from straddling two windows, and its summary from falling due while the test runs.
fn flood_window_starting_now(about: f64) -> f64 {
    let start = tocsin::event::unix_now() - 0.5;
    start / (start / about).round()
}

#[tokio::test]
async fn beyond_the_hourly_limit_notifications_are_suppressed_and_summarised_once() {
    let window = flood_window_starting_now(3600.0).to_string();
    let (app, _) = app_with_busy_receivers(&["--alert-flood-limit", "5", "--alert-flood-window", &window]).await;
    add_channel(&app, &["--email", "oncall@example.org"]);
    for n in 0..12 {
        app.send(&bug(&format!("f{n}"))).await;
    }
    let rows = outbox_after_first_attempts(&app).await;
    let count = |trigger: &str, state: &str| rows.iter().filter(|r| r.trigger == trigger && r.state == state).count();
    assert_eq!(count("new", "pending"), 5, "{rows:?}");
    assert_eq!(count("new", "suppressed"), 7, "{rows:?}");
    assert_eq!(count("summary", "pending"), 1, "{rows:?}");
    assert_eq!(rows.len(), 13, "{rows:?}");
    let summary = rows.iter().find(|r| r.trigger == "summary").unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&summary.payload).unwrap()["suppressed"],
        7
    );
    assert!(summary.created_at <= rows.last().unwrap().created_at);
}

#[tokio::test]
async fn projects_without_channels_queue_nothing_and_bad_channels_are_refused() {
    let app = spawn_app().await;
    app.send(&bug("quiet")).await;
    assert!(app.outbox().await.is_empty());
    let bad = app.cli(&["alerts", "add", "--project", "default", "--slack", "ftp://nope"]);
    assert!(
        !bad.success && bad.stderr.contains("not an http(s) URL"),
        "{}",
        bad.stderr
    );
    let none = app.cli(&["alerts", "add", "--project", "nope", "--email", "a@b.c"]);
    assert!(!none.success && none.stderr.contains("no project"), "{}", none.stderr);
    let list = app.cli(&["alerts", "list"]);
    assert!(list.success && list.stdout.lines().count() == 1, "{}", list.stdout);
}
