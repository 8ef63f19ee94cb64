//! Notifications delivered to real receivers: aiosmtpd for email, a loopback HTTP server for
//! Slack and signed webhooks; exactly once per trigger, through outages and crashes.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, error_event, poll, spawn_app_with};
use crate::receivers::{HttpReceiver, SmtpSink};

fn bug(name: &str) -> Value {
    let mut event = error_event();
    event["release"] = json!("shop@1.2.3");
    event["environment"] = json!("production");
    event["exception"]["values"][0]["stacktrace"] =
        json!({"frames": [{"module": "shop.pay", "function": name, "lineno": 12, "in_app": true}]});
    event
}

fn add_channel(app: &TestApp, args: &[&str]) {
    let mut all = vec!["alerts", "add", "--project", "default"];
    all.extend_from_slice(args);
    let out = app.cli(&all);
    assert!(out.success, "{}", out.stderr);
}

/// Waits (bounded) until `cond` holds for the outbox rows.
pub async fn wait_outbox(
    app: &TestApp,
    cond: impl Fn(&[tocsin::store::OutboxRecord]) -> bool,
) -> Vec<tocsin::store::OutboxRecord> {
    poll("the outbox gets there", Duration::from_secs(30), async || {
        let rows = app.outbox().await;
        if cond(&rows) {
            Ok(rows)
        } else {
            Err(format!("{rows:?}"))
        }
    })
    .await
}

fn settled(rows: &[tocsin::store::OutboxRecord]) -> bool {
    !rows.is_empty() && rows.iter().all(|r| r.state != "pending")
}

/// Waits until the dispatcher is done with every row queued so far (none is left `pending`).
/// It marks a row only after the receiver acknowledged it (HTTP 2xx, SMTP 250), and the
/// receivers record a request before they acknowledge it; so from here on, what the
/// receivers hold is everything that was sent, and a second delivery would show in a count.
/// Callers must have had their events committed (`send` waits for the 200) before calling.
pub async fn dispatched(app: &TestApp) -> Vec<tocsin::store::OutboxRecord> {
    wait_outbox(app, settled).await
}

fn delivered(rows: &[tocsin::store::OutboxRecord]) -> usize {
    rows.iter().filter(|r| r.state == "delivered").count()
}

async fn app_with(extra: &[&str]) -> TestApp {
    let mut args = vec!["--allow-private-webhooks", "true", "--alert-retry-seconds", "0.2"];
    args.extend_from_slice(extra);
    spawn_app_with(&args).await
}

#[tokio::test]
async fn slack_and_a_signed_webhook_get_exactly_one_post_per_new_issue_and_regression() {
    let receiver = HttpReceiver::start().await;
    let app = app_with(&[]).await;
    add_channel(&app, &["--slack", &format!("{}/slack", receiver.base)]);
    add_channel(
        &app,
        &["--webhook", &format!("{}/hook", receiver.base), "--secret", "s3cret"],
    );
    for _ in 0..11 {
        app.send(&bug("charge")).await;
    }
    let rows = dispatched(&app).await;
    assert_eq!(delivered(&rows), 2, "one per channel, not one per event: {rows:?}");
    let got = receiver.received();
    assert_eq!(got.len(), 2, "one post per channel, not one per event: {got:?}");
    let slack = got.iter().find(|r| r.path == "/slack").unwrap().json();
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .contains("/issues/1/|ZeroDivisionError: division by zero>"),
        "{slack}"
    );
    let fields = slack["attachments"][0]["fields"].to_string();
    assert!(
        fields.contains("production") && fields.contains("shop@1.2.3") && fields.contains("default"),
        "{fields}"
    );

    let hook = got.iter().find(|r| r.path == "/hook").unwrap();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"s3cret").unwrap();
    mac.update(hook.body.as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        hook.header("X-Tocsin-Signature"),
        Some(expected.as_str()),
        "the HMAC verifies"
    );
    let body = hook.json();
    assert_eq!(body["trigger"], "new");
    assert_eq!(body["issue"]["shortId"], "DEFAULT-1");
    assert!(body["issue"]["userCount"].is_i64(), "{body}");
    for time in ["firstSeen", "lastSeen"] {
        assert!(body["issue"][time].as_str().is_some_and(|t| t.ends_with('Z')), "{body}");
    }
    assert_eq!(body["event"]["frames"], json!(["shop.pay in charge at line 12"]));

    assert_eq!(
        app.api_put("/api/0/issues/1/", &json!({"status": "resolved"})).await.0,
        200
    );
    app.send(&bug("charge")).await;
    let rows = dispatched(&app).await;
    assert_eq!(delivered(&rows), 4, "{rows:?}");
    let got = receiver.received();
    assert_eq!(got.len(), 4, "exactly one regression post per channel: {got:?}");
    assert_eq!(
        got[2..]
            .iter()
            .map(|r| r.path.as_str())
            .collect::<std::collections::BTreeSet<_>>(),
        ["/hook", "/slack"].into(),
        "{got:?}"
    );
    assert!(
        got.iter()
            .filter(|r| r.path == "/hook")
            .any(|r| r.json()["trigger"] == "regression")
    );
    for kind in ["slack", "webhook"] {
        let series = format!("tocsin_notifications_total{{kind=\"{kind}\",result=\"sent\"}}");
        assert_eq!(app.metric(&series).await, 2.0, "{series}");
    }
}

#[tokio::test]
async fn a_webhook_to_a_private_address_is_refused_unless_allowed() {
    let receiver = HttpReceiver::start().await;
    let app = spawn_app_with(&[]).await;
    add_channel(&app, &["--webhook", &format!("{}/hook", receiver.base)]);
    app.send(&bug("probe")).await;
    let rows = dispatched(&app).await;
    assert_eq!(rows[0].state, "failed");
    assert!(
        rows[0].last_error.as_deref().unwrap().contains("private address"),
        "{rows:?}"
    );
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn a_4xx_answer_fails_at_once_and_a_5xx_is_retried_until_delivered() {
    let receiver = HttpReceiver::start().await;
    receiver.status.store(503, std::sync::atomic::Ordering::SeqCst);
    let app = app_with(&[]).await;
    add_channel(&app, &["--slack", &format!("{}/down", receiver.base)]);
    app.send(&bug("retry")).await;
    receiver.wait_for(2).await;
    receiver.status.store(200, std::sync::atomic::Ordering::SeqCst);
    let rows = dispatched(&app).await;
    assert_eq!(rows[0].state, "delivered");
    assert!(rows[0].attempts >= 3, "two failures and a success: {rows:?}");

    receiver.status.store(404, std::sync::atomic::Ordering::SeqCst);
    app.send(&bug("gone")).await;
    let rows = wait_outbox(&app, |r| r.len() == 2 && settled(r)).await;
    assert_eq!(rows[1].state, "failed");
    assert_eq!(rows[1].attempts, 1, "a 4xx is not retried");
    assert!(rows[1].last_error.as_deref().unwrap().contains("404"));

    assert_eq!(
        receiver.received().len() as i64,
        rows.iter().map(|r| r.attempts).sum::<i64>(),
        "one request per attempt: {rows:?}"
    );

    // The metrics count every attempt by channel kind and result.
    let count = |result: &'static str| {
        let series = format!("tocsin_notifications_total{{kind=\"slack\",result=\"{result}\"}}");
        let app = &app;
        async move { app.metric(&series).await as i64 }
    };
    assert_eq!(count("sent").await, 1);
    assert_eq!(count("failed").await, 1);
    assert_eq!(count("retry").await, rows[0].attempts - 1);
}

#[tokio::test]
async fn a_new_issue_mails_once_and_its_regression_mails_again() {
    let sink = SmtpSink::start();
    let port = sink.port.to_string();
    let app = app_with(&[
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        &port,
        "--smtp-from",
        "Tocsin <alerts@tocsin.test>",
    ])
    .await;
    add_channel(&app, &["--email", "oncall@example.org,lead@example.org"]);
    app.send(&bug("mail")).await;
    let mails = sink.wait_for(1).await;
    for _ in 0..10 {
        app.send(&bug("mail")).await;
    }
    let rows = dispatched(&app).await;
    assert_eq!(rows.len(), 1, "ten more events queue nothing: {rows:?}");
    assert_eq!(sink.mails().len(), 1, "ten more events send nothing");
    let mail = &mails[0];
    assert_eq!(mail["rcpt_tos"], json!(["oncall@example.org", "lead@example.org"]));
    let data = mail["data"].as_str().unwrap();
    assert!(
        data.contains("Subject: [DEFAULT] ZeroDivisionError: division by zero"),
        "{data}"
    );
    assert!(
        data.contains("multipart/alternative") && data.contains("text/html"),
        "{data}"
    );
    assert!(data.contains(&format!("{}/issues/1/", app.base_url)), "{data}");
    assert!(
        data.contains("First seen:") && data.contains("shop.pay in mail at line 12"),
        "{data}"
    );

    assert_eq!(
        app.api_put("/api/0/issues/1/", &json!({"status": "resolved"})).await.0,
        200
    );
    app.send(&bug("mail")).await;
    let rows = dispatched(&app).await;
    assert_eq!(delivered(&rows), 2, "{rows:?}");
    let mails = sink.mails();
    assert_eq!(mails.len(), 2, "the regression mails once");
    let data = mails[1]["data"].as_str().unwrap();
    assert!(data.contains("Regression"), "{data}");
    // The counts and times as they are when it is sent: twelve events by now.
    assert!(
        data.contains("Events:      12") && data.contains("Last seen:") && data.contains("First seen:"),
        "{data}"
    );
}

/// Waits until the first notification's delivery has been tried, and asserts that the SMTP
/// server refused it (it is down) and that it is still pending, to be retried.
async fn refused_and_pending(app: &TestApp) {
    let rows = wait_outbox(app, |r| r.first().is_some_and(|r| r.attempts >= 1)).await;
    assert_eq!(rows[0].state, "pending", "a refused connection is retried: {rows:?}");
    assert!(
        rows[0].last_error.as_deref().is_some_and(|e| e.contains("refused")),
        "the SMTP server was down: {rows:?}"
    );
}

#[tokio::test]
async fn a_mail_queued_while_the_smtp_server_is_down_arrives_once_it_is_back() {
    let mut sink = SmtpSink::down();
    let port = sink.port.to_string();
    let app = app_with(&["--smtp-host", "127.0.0.1", "--smtp-port", &port]).await;
    add_channel(&app, &["--email", "oncall@example.org"]);
    app.send(&bug("outage")).await;
    refused_and_pending(&app).await;
    assert!(sink.mails().is_empty());
    sink.come_up();
    let rows = dispatched(&app).await;
    assert_eq!(rows[0].state, "delivered", "{rows:?}");
    assert_eq!(sink.mails().len(), 1);
}

#[tokio::test]
async fn a_pending_notification_survives_a_crash_and_is_delivered_once() {
    let mut sink = SmtpSink::down();
    let port = sink.port.to_string();
    let mut app = app_with(&["--smtp-host", "127.0.0.1", "--smtp-port", &port]).await;
    add_channel(&app, &["--email", "oncall@example.org"]);
    app.send(&bug("crash")).await;
    refused_and_pending(&app).await;
    app.kill();
    sink.come_up();
    app.start();
    let rows = dispatched(&app).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].state, "delivered", "{rows:?}");
    assert_eq!(sink.mails().len(), 1, "delivered exactly once after the restart");
}

/// A flood window length close to `about` seconds under which a window began half a second
/// ago, and when that window began. The flood guard's windows are multiples of the length in
/// Unix time; choosing the length so that one starts now makes a test independent of where
/// the clock stands.
fn flood_window_starting_now(about: f64) -> (f64, f64) {
    let start = tocsin::event::unix_now() - 0.5;
    let length = start / (start / about).round();
    (length, start)
}

#[tokio::test]
async fn fifty_new_issues_send_thirty_notifications_and_one_summary() {
    let receiver = HttpReceiver::start().await;
    let (window, start) = flood_window_starting_now(8.0);
    let app = app_with(&["--alert-flood-window", &window.to_string()]).await;
    add_channel(&app, &["--slack", &format!("{}/flood", receiver.base)]);
    for n in 0..50 {
        app.send(&bug(&format!("f{n}"))).await;
    }
    // The summary is due when the window ends, about eight seconds after it began.
    let rows = dispatched(&app).await;
    let new: Vec<_> = rows.iter().filter(|r| r.trigger == "new").collect();
    assert_eq!(new.len(), 50, "{rows:?}");
    assert!(
        new.iter().all(|r| r.created_at < start + window),
        "the fifty events did not fit into one {window} s window (a very slow machine?); \
         the counts below would not mean anything"
    );
    let states = |state: &str| new.iter().filter(|r| r.state == state).count();
    assert_eq!((states("delivered"), states("suppressed")), (30, 20), "{rows:?}");
    let summaries: Vec<_> = rows.iter().filter(|r| r.trigger == "summary").collect();
    assert_eq!(summaries.len(), 1, "{rows:?}");
    assert_eq!(summaries[0].state, "delivered");

    let texts: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts.len(), 31, "thirty notifications and one summary: {texts:?}");
    assert!(
        texts[30].contains("20 more new issues") && !texts[..30].iter().any(|t| t.contains("more new issues")),
        "the summary comes last, when the window ends: {texts:?}"
    );
}

#[tokio::test]
async fn channels_are_managed_through_the_api_and_a_test_notification_arrives() {
    let receiver = HttpReceiver::start().await;
    let app = app_with(&[]).await;
    let base = "/api/0/projects/default/default/alerts/";
    let resp = app
        .client
        .post(app.url(base))
        .bearer_auth(&app.token)
        .json(&json!({"kind": "webhook", "target": format!("{}/api-hook", receiver.base), "triggers": ["new"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(
        created["secret"].as_str().unwrap().len(),
        64,
        "a generated secret, shown once"
    );
    let (status, _, list) = app.api_get(base).await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["triggers"], json!(["new"]));
    assert!(list[0].get("secret").is_none(), "listing never shows secrets");
    let bad = app
        .client
        .post(app.url(base))
        .bearer_auth(&app.token)
        .json(&json!({"kind": "pager", "target": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let test = app
        .client
        .post(app.url(&format!("{base}test/")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(test.status(), 202);
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].json()["trigger"], "test");

    let id = created["id"].as_str().unwrap();
    let gone = app
        .client
        .delete(app.url(&format!("{base}{id}/")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    assert_eq!(app.api_get(base).await.2, json!([]));
}
