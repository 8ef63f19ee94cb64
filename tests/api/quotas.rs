//! Rate limits: a project over its events-per-minute limit, and the server-wide limit, get 429
//! with the headers SDKs obey; refusals are counted per project.

use std::time::Duration;

use crate::helpers::{TestApp, envelope_of, error_event, spawn_app_with};

/// Posts one event; returns the status and the two rate-limit headers.
pub async fn post(app: &TestApp) -> (u16, Option<String>, Option<String>, serde_json::Value) {
    let resp = app.post_envelope(envelope_of(&error_event())).await;
    let header = |name: &str| resp.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    let (retry_after, limits) = (header("retry-after"), header("x-sentry-rate-limits"));
    let status = resp.status().as_u16();
    (status, retry_after, limits, resp.json().await.unwrap_or_default())
}

async fn metrics(app: &TestApp) -> String {
    app.metrics_text().await
}

/// The Unix minute now: the project limit's windows are these minutes.
pub fn minute() -> i64 {
    (tocsin::event::unix_now() / 60.0).floor() as i64
}

/// Waits for the start of a minute if this one is nearly over, so a test's burst falls into
/// one fixed window; returns the minute the burst starts in.
pub async fn not_near_a_minute_boundary() -> i64 {
    let second = tocsin::event::unix_now().rem_euclid(60.0);
    if second > 50.0 {
        tokio::time::sleep(Duration::from_secs_f64(60.5 - second)).await;
    }
    minute()
}

#[tokio::test]
async fn a_project_over_its_rate_limit_gets_429_for_errors_and_the_refusals_are_recorded() {
    let app = spawn_app_with(&["--retention-interval", "0.3"]).await;
    let out = app.cli(&["project", "set", "default", "--rate-limit", "5"]);
    assert!(out.success, "{}", out.stderr);
    assert!(out.stdout.contains("rate_limit = 5 per minute"), "{}", out.stdout);
    let started_in = not_near_a_minute_boundary().await;

    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (status, retry_after, limits, body) = post(&app).await;
        if status == 429 {
            let retry: u64 = retry_after.expect("Retry-After").parse().unwrap();
            assert!((1..=60).contains(&retry), "{retry}");
            let limits = limits.expect("X-Sentry-Rate-Limits");
            assert_eq!(limits, format!("{retry}:error;default:project:project_quota"));
            assert!(body["detail"].as_str().unwrap().contains("rate limit"), "{body}");
        }
        statuses.push(status);
    }
    assert_eq!(
        minute(),
        started_in,
        "the burst took more than ten seconds and ran into the next minute: {statuses:?}"
    );
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    assert_eq!(app.stored_event_count().await, 5, "refused events are not stored");

    let text = metrics(&app).await;
    assert!(
        text.contains("tocsin_events_rejected_total{project=\"1\",reason=\"project_quota\"} 3"),
        "{text}"
    );
    assert!(text.contains("tocsin_events_accepted_total{project=\"1\"} 5"), "{text}");
    assert!(text.contains("tocsin_events_received_total{project=\"1\"} 8"), "{text}");

    // The retention pass persists the count; the project API (and page) shows it.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, project) = app.api_get("/api/0/projects/default/default/").await;
        assert_eq!(status, 200, "{project}");
        if project["eventsRefusedLast24h"]["project_quota"] == 3 {
            assert_eq!(project["rateLimitPerMinute"], 5);
            assert_eq!(project["eventsStored"], 5);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "refusals never persisted: {project}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_server_wide_limit_refuses_events_beyond_its_rate_per_second() {
    let app = spawn_app_with(&["--server-rate-limit", "3"]).await;
    let mut accepted = 0;
    let mut refused = Vec::new();
    // Post until the server refuses (a fourth event within one second), for at most ten seconds.
    let started = std::time::Instant::now();
    while refused.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{accepted} events accepted and none refused"
        );
        match post(&app).await {
            (200, ..) => accepted += 1,
            (429, retry, limits, _) => refused.push((retry, limits)),
            (other, ..) => panic!("unexpected status {other}"),
        }
    }
    assert!(
        accepted >= 3,
        "the first second's three events are accepted: {accepted}"
    );
    let (retry, limits) = &refused[0];
    assert_eq!(retry.as_deref(), Some("1"));
    assert_eq!(limits.as_deref(), Some("1:error;default:organization:server_quota"));
    assert_eq!(app.stored_event_count().await, accepted);
    let text = metrics(&app).await;
    assert!(
        text.contains(&format!(
            "tocsin_events_rejected_total{{project=\"1\",reason=\"server_quota\"}} {}",
            refused.len()
        )),
        "{text}"
    );
}
