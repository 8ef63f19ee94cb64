//! Notifications are queued in the durable outbox exactly once per trigger and channel, in the
//! transaction that creates or reopens the issue; a flood is summarised.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_event, spawn_app, spawn_app_with};

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

#[tokio::test]
async fn a_new_issue_queues_one_notification_per_channel_and_its_later_events_queue_none() {
    let app = spawn_app().await;
    add_channel(&app, &["--email", "oncall@example.org, lead@example.org"]);
    add_channel(&app, &["--slack", "https://hooks.slack.example/T000/B000/XXX"]);
    for _ in 0..11 {
        app.send(&bug("checkout")).await;
    }
    let rows = app.outbox().await;
    assert_eq!(
        triggers(&rows),
        [("new".into(), "pending".into()), ("new".into(), "pending".into())]
    );
    assert_ne!(rows[0].channel_id, rows[1].channel_id);
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

#[tokio::test]
async fn beyond_the_hourly_limit_notifications_are_suppressed_and_summarised_once() {
    let app = spawn_app_with(&["--alert-flood-limit", "5"]).await;
    add_channel(&app, &["--email", "oncall@example.org"]);
    for n in 0..12 {
        app.send(&bug(&format!("f{n}"))).await;
    }
    let rows = app.outbox().await;
    let count = |trigger: &str, state: &str| rows.iter().filter(|r| r.trigger == trigger && r.state == state).count();
    assert_eq!(count("new", "pending"), 5);
    assert_eq!(count("new", "suppressed"), 7);
    assert_eq!(count("summary", "pending"), 1);
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
