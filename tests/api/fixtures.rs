//! Requests recorded from the real sentry-python SDK, replayed byte for byte (tests/fixtures/).

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// The key the fixtures were recorded with.
const RECORDED_KEY: &str = "0123456789abcdef0123456789abcdef";

fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The recorded request with only the project id of the request line changed.
fn recorded_request(dir: &str, n: &str, project_id: i64) -> Vec<u8> {
    let raw = std::fs::read(fixture_dir(dir).join(format!("{n}.http"))).unwrap();
    let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
    let line = std::str::from_utf8(&raw[..line_end]).unwrap();
    assert!(line.starts_with("POST /api/1/envelope/ "), "{line}");
    let mut out = line.replacen("/api/1/", &format!("/api/{project_id}/"), 1).into_bytes();
    out.extend_from_slice(&raw[line_end..]);
    out
}

fn summary(dir: &str, n: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture_dir(dir).join(format!("{n}.json"))).unwrap()).unwrap()
}

async fn replay_folder(dir: &str) {
    let app = spawn_app().await;
    let (project_id, _) = app.create_project("fixtures", Some(RECORDED_KEY));
    let mut events = 0;
    for n in ["001", "002", "003", "004", "005", "006", "007", "008"] {
        let resp = app.raw_request(&recorded_request(dir, n, project_id)).await;
        assert_eq!(resp.status, 200, "{dir}/{n}: {:?}", String::from_utf8_lossy(&resp.body));
        assert!(resp.header("x-sentry-rate-limits").is_some(), "{dir}/{n}");
        let summary = summary(dir, n);
        let item = &summary["envelope"]["items"][0];
        if item["headers"]["type"] == "event" {
            let id = summary["envelope"]["headers"]["event_id"].as_str().unwrap();
            assert_eq!(resp.json(), json!({ "id": id }), "{dir}/{n}");
            check_stored_event(&app, id, &item["payload"], &format!("{dir}/{n}")).await;
            events += 1;
        } else {
            assert_eq!(resp.json(), json!({}), "{dir}/{n}: no event, no id");
        }
    }
    assert_eq!(app.stored_event_count().await, events);

    // The SDK never retries, but a proxy might: the same bytes again are answered and not stored twice.
    let again = app.raw_request(&recorded_request(dir, "001", project_id)).await;
    assert_eq!(again.status, 200);
    assert_eq!(app.stored_event_count().await, events);
}

/// The stored event matches the recording's digest, field by field.
async fn check_stored_event(app: &TestApp, id: &str, digest: &Value, what: &str) {
    let event = app.event_json("fixtures", id).await;
    assert_eq!(event["id"], id, "{what}");
    for key in ["level", "platform", "release", "environment", "fingerprint"] {
        assert_eq!(event[key], digest[key], "{what}: {key}");
    }
    assert_eq!(event["sdk"]["name"], digest["sdk"]["name"], "{what}");
    assert_eq!(event["sdk"]["version"], digest["sdk"]["version"], "{what}");
    for (field, value) in digest["user"].as_object().unwrap() {
        assert_eq!(&event["user"][field], value, "{what}: user.{field}");
    }
    if let Some(message) = digest.get("message") {
        assert_eq!(&event["logentry"]["formatted"], message, "{what}: message → logentry");
    }
    if let Some(tags) = digest["tags"].as_object() {
        let stored: Vec<Value> = event["tags"].as_array().unwrap().clone();
        for (k, v) in tags {
            assert!(
                stored.contains(&json!({"key": k, "value": v})),
                "{what}: tag {k}={v} in {stored:?}"
            );
        }
    }
    let breadcrumbs = event["breadcrumbs"]["values"].as_array().map_or(0, Vec::len);
    assert_eq!(
        breadcrumbs as u64,
        digest["breadcrumbs"].as_u64().unwrap(),
        "{what}: breadcrumbs"
    );
    let expected = digest["exception"].as_array().cloned().unwrap_or_default();
    let stored = event["exception"]["values"].as_array().cloned().unwrap_or_default();
    assert_eq!(stored.len(), expected.len(), "{what}: exceptions");
    for (s, e) in stored.iter().zip(&expected) {
        assert_eq!(s["type"], e["type"], "{what}");
        assert_eq!(s["value"], e["value"], "{what}");
        assert_eq!(s["mechanism"], e["mechanism"], "{what}");
        assert_eq!(
            s["stacktrace"]["frames"].as_array().unwrap().len() as u64,
            e["frames"].as_u64().unwrap(),
            "{what}"
        );
    }
}

#[tokio::test]
async fn sentry_python_gzip_requests_replay_byte_for_byte_and_store_every_event() {
    replay_folder("sentry-python-2.75-gzip").await;
}

#[tokio::test]
async fn sentry_python_brotli_requests_replay_byte_for_byte_and_store_every_event() {
    replay_folder("sentry-python-2.75-brotli").await;
}

#[tokio::test]
async fn the_division_frame_keeps_its_source_context_and_local_variables() {
    let app = spawn_app().await;
    let (project_id, _) = app.create_project("fixtures", Some(RECORDED_KEY));
    let resp = app
        .raw_request(&recorded_request("sentry-python-2.75-gzip", "001", project_id))
        .await;
    let id = resp.json()["id"].as_str().unwrap().to_string();
    let event = app.event_json("fixtures", &id).await;
    let frames = event["exception"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .unwrap();
    let last = frames.last().unwrap();
    assert_eq!(last["function"], "division");
    assert_eq!(last["module"], "__main__");
    assert_eq!(last["in_app"], true);
    assert!(
        last["context_line"]
            .as_str()
            .unwrap()
            .contains("numerator / denominator"),
        "{last}"
    );
    assert_eq!(last["vars"]["denominator"], "0");
    assert_eq!(last["pre_context"].as_array().unwrap().len(), 5);
    assert!(event["request"]["url"].as_str().unwrap().ends_with("/division/6/0"));
    assert_eq!(event["transaction"], "division");
    // Fields Tocsin has no model for survive untouched.
    assert!(event["modules"]["flask"].is_string());
    assert!(event["contexts"]["runtime"]["name"].is_string());
}
