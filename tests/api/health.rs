//! Health, readiness and metrics endpoints.

use crate::helpers::{BACKEND, Backend, envelope_of, error_event, new_event_id, spawn_app};

#[tokio::test]
async fn healthz_and_readyz_answer_ok_on_a_running_server() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn metrics_need_a_token_and_count_stored_events_and_dropped_items() {
    let app = spawn_app().await;
    assert_eq!(app.post_envelope(envelope_of(&error_event())).await.status(), 200);
    let sessions = b"{}\n{\"type\":\"sessions\"}\n{\"aggregates\":[]}\n".to_vec();
    assert_eq!(app.post_envelope(sessions).await.status(), 200);
    let no_key = app
        .client
        .post(app.url("/api/1/envelope/"))
        .body(envelope_of(&error_event()))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 401);
    let anonymous = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let text = app.metrics_text().await;
    assert!(text.contains("tocsin_events_accepted_total{project=\"1\"} 1"), "{text}");
    assert!(text.contains("tocsin_issues_created_total{project=\"1\"} 1"), "{text}");
    assert!(
        text.contains("tocsin_ingest_rejected_total{status=\"401\"} 1"),
        "{text}"
    );
    // Every metric of the README's list is exposed.
    for name in [
        "tocsin_events_received_total",
        "tocsin_writer_batch_events_bucket",
        "tocsin_writer_batch_seconds_bucket",
        "tocsin_writer_stage_seconds_bucket",
        "tocsin_writer_queue_depth",
        "tocsin_database_bytes",
        "tocsin_retention_events_deleted_total",
    ] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
    assert!(
        text.contains(
            "tocsin_http_request_duration_seconds_count{route=\"/api/{project_id}/envelope\",method=\"POST\"} 3"
        ),
        "{text}"
    );
    // Every batch observes each stage once, and the events' batches spent time writing.
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{name} missing from {text}"))
            .parse()
            .unwrap()
    };
    let batches = value("tocsin_writer_batch_seconds_count");
    assert!(batches >= 1.0, "{text}");
    for stage in ["begin", "lookup", "new_issues", "write", "other", "commit"] {
        let count = value(&format!("tocsin_writer_stage_seconds_count{{stage=\"{stage}\"}}"));
        assert_eq!(count, batches, "{stage}: one observation per batch");
    }
    assert!(
        value("tocsin_writer_stage_seconds_sum{stage=\"lookup\"}") > 0.0,
        "{text}"
    );
    assert!(
        value("tocsin_writer_stage_seconds_sum{stage=\"write\"}") > 0.0,
        "{text}"
    );
    assert!(
        value("tocsin_writer_stage_seconds_sum{stage=\"commit\"}") > 0.0,
        "{text}"
    );
    let size: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("tocsin_database_bytes "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(size > 10_000.0, "the database file has a size: {size}");
    assert!(
        text.contains("tocsin_envelope_items_dropped_total{item_type=\"sessions\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn the_read_back_api_needs_a_valid_token_and_answers_404_for_unknown_events() {
    let app = spawn_app().await;
    let event = error_event();
    let id = event["event_id"].as_str().unwrap();
    assert_eq!(app.post_envelope(envelope_of(&event)).await.status(), 200);
    let url = app.url(&format!("/api/0/projects/default/default/events/{id}/"));
    let anonymous = app.client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("Bearer"), "{body}");
    let wrong = app.client.get(&url).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let missing = app.get_event("default", &crate::helpers::new_event_id()).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.json::<serde_json::Value>().await.unwrap()["detail"].is_string());
    let found = app.event_json("default", id).await;
    assert_eq!(found["id"], id);
    assert_eq!(found["eventID"], id);
}

#[tokio::test]
async fn events_of_an_existing_issue_are_committed_by_the_fast_path_with_exact_counts() {
    let app = spawn_app().await;
    let event = error_event();
    // The first creates the issue (general path); the next ones only add to it.
    for _ in 0..3 {
        let mut again = event.clone();
        again["event_id"] = serde_json::json!(new_event_id());
        assert_eq!(app.post_envelope(envelope_of(&again)).await.status(), 200);
    }
    let text = app.metrics_text().await;
    let fast: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("tocsin_writer_fast_batches_total "))
        .unwrap_or_else(|| panic!("no fast-path counter in {text}"))
        .parse()
        .unwrap();
    // One event per request, one batch each: the second and third. SQLite's fast path commits
    // them; on PostgreSQL each is one statement outside a transaction.
    assert_eq!(fast, 2.0, "{text}");
    let (_, _, issues) = app.api_get("/api/0/projects/default/default/issues/").await;
    assert_eq!(issues[0]["count"], "3", "{issues}");
}

/// The nice value of each of the server's HTTP worker threads, read from `/proc`.
fn http_worker_niceness(pid: u32) -> Vec<i64> {
    let mut found = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let dir = task.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        if !comm.starts_with("actix-rt|system") {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
        // After the command's closing parenthesis: state is field 3, nice field 19.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        found.push(after.split(' ').nth(16).unwrap().parse().unwrap());
    }
    found
}

#[tokio::test]
async fn http_workers_step_back_for_postgresql_backends_and_not_for_sqlites_writer_thread() {
    let app = spawn_app().await;
    let niceness = http_worker_niceness(app.pid().expect("a running server"));
    assert!(!niceness.is_empty(), "the server has HTTP worker threads");
    let expected = match BACKEND {
        Backend::Sqlite => 0,
        Backend::Postgres => 5,
    };
    assert!(
        niceness.iter().all(|&n| n == expected),
        "workers' nice values {niceness:?}, expected {expected}"
    );
}
