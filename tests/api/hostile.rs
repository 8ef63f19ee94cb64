//! Hostile input: each request gets a clear 4xx (or is trimmed, with the reason recorded),
//! and while it is being handled another client's event is still accepted promptly.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    TestApp, envelope_of, error_event, new_event_id, read_response, sentry_auth, spawn_app, spawn_app_with,
};

/// Sends `body` as an envelope over TCP in two halves and, between them and again while the
/// answer is awaited, a good event from another client, which must be accepted within five
/// seconds each time: the hostile request is in the server's hands (half read, then being
/// parsed) while the other client is served. Returns the hostile request's status and JSON body.
async fn send_beside_a_good_client(app: &TestApp, body: Vec<u8>) -> (u16, Value) {
    let bystander = || async {
        let started = Instant::now();
        let resp = app.post_envelope(envelope_of(&error_event())).await;
        assert_eq!(resp.status(), 200, "the other client is served");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the other client waited {:?}",
            started.elapsed()
        );
    };
    let mut stream = tokio::net::TcpStream::connect(&app.address).await.unwrap();
    let head = format!(
        "POST /api/{}/envelope/ HTTP/1.1\r\nHost: x\r\nX-Sentry-Auth: {}\r\nContent-Length: {}\r\n\r\n",
        app.project_id,
        sentry_auth(&app.key),
        body.len()
    );
    let half = body.len() / 2;
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..half]).await.unwrap();
    bystander().await;
    // The server may answer before the rest arrives (a declared length over the cap).
    let _ = stream.write_all(&body[half..]).await;
    let (resp, ()) = tokio::join!(read_response(&mut stream), bystander());
    let json = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    (resp.status, json)
}

fn raw_envelope(event_json: &[u8]) -> Vec<u8> {
    let mut out = format!("{{}}\n{{\"type\":\"event\",\"length\":{}}}\n", event_json.len()).into_bytes();
    out.extend_from_slice(event_json);
    out.push(b'\n');
    out
}

fn detail(body: &Value) -> &str {
    body["detail"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn json_nested_ten_thousand_deep_is_refused_with_400() {
    let app = spawn_app().await;
    let json = format!(
        "{{\"event_id\":\"{}\",\"extra\":{{\"deep\":{}{}}}}}",
        new_event_id(),
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let (status, body) = send_beside_a_good_client(&app, raw_envelope(json.as_bytes())).await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains("invalid JSON"), "{body}");
}

#[tokio::test]
async fn a_stack_trace_of_100000_frames_is_trimmed_to_250_and_says_which_were_omitted() {
    let app = spawn_app().await;
    let frames: Vec<Value> = (0..100_000).map(|i| json!({"function": format!("f{i}")})).collect();
    let mut event = error_event();
    event["exception"]["values"][0]["stacktrace"] = json!({ "frames": frames });
    let body = envelope_of(&event);
    assert!(body.len() < 3 * 1024 * 1024);
    // Over 1 MiB as JSON: refused whole, cheaply.
    let (status, refused) = send_beside_a_good_client(&app, body).await;
    assert_eq!(status, 413, "{refused}");
    // 100,000 frames in under 1 MiB: accepted and trimmed.
    let mut small = error_event();
    small["exception"]["values"][0]["stacktrace"] = json!({ "frames": vec![json!({}); 100_000] });
    let id = small["event_id"].as_str().unwrap().to_string();
    let (status, body) = send_beside_a_good_client(&app, envelope_of(&small)).await;
    assert_eq!(status, 200, "{body}");
    let stored = app.event_json("default", &id).await;
    let stacktrace = &stored["exception"]["values"][0]["stacktrace"];
    assert_eq!(stacktrace["frames"].as_array().unwrap().len(), 250);
    assert_eq!(stacktrace["frames_omitted"], json!([125, 99_875]), "{stacktrace}");
}

#[tokio::test]
async fn a_one_mib_tag_key_and_100000_tags_are_refused_or_dropped_with_the_count_recorded() {
    let app = spawn_app().await;
    let mut event = error_event();
    event["tags"] = json!({ "k".repeat(1024 * 1024): "v" });
    let (status, body) = send_beside_a_good_client(&app, envelope_of(&event)).await;
    assert_eq!(status, 413, "{body}");
    assert!(detail(&body).contains("exceeds 1 MiB"), "{body}");

    // 900 KiB fits: the tag is dropped (its key breaks the 32-character limit) and counted.
    let mut event = error_event();
    event["tags"] = json!({ "k".repeat(900 * 1024): "v", "ok": "yes" });
    let id = event["event_id"].as_str().unwrap().to_string();
    let (status, body) = send_beside_a_good_client(&app, envelope_of(&event)).await;
    assert_eq!(status, 200, "{body}");
    let stored = app.event_json("default", &id).await;
    let tags: Vec<&str> = stored["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["key"].as_str())
        .collect();
    assert!(tags.contains(&"ok") && tags.iter().all(|k| k.len() <= 32), "{tags:?}");

    let many: serde_json::Map<String, Value> = (0..100_000).map(|i| (format!("t{i}"), json!("v"))).collect();
    let mut event = error_event();
    event["tags"] = Value::Object(many);
    let (status, body) = send_beside_a_good_client(&app, envelope_of(&event)).await;
    assert_eq!(status, 413, "{body}");

    let many: serde_json::Map<String, Value> = (0..20_000).map(|i| (format!("t{i}"), json!("v"))).collect();
    let mut event = error_event();
    event["tags"] = Value::Object(many);
    let (status, body) = send_beside_a_good_client(&app, envelope_of(&event)).await;
    assert_eq!(status, 200, "{body}");
    let dropped = app.metric("tocsin_tags_dropped_total").await;
    assert!(dropped >= 19_900.0, "tags over the limits are counted: {dropped}");
}

#[tokio::test]
async fn invalid_utf8_is_refused_with_400_and_nan_and_duplicate_keys_are_accepted() {
    let app = spawn_app().await;
    let mut bad = format!("{{\"event_id\":\"{}\",\"message\":\"", new_event_id()).into_bytes();
    bad.extend_from_slice(b"\xff\xfe broken \xc3\x28");
    bad.extend_from_slice(b"\"}");
    let (status, body) = send_beside_a_good_client(&app, raw_envelope(&bad)).await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains("invalid JSON"), "{body}");

    let id = new_event_id();
    let odd = format!(
        "{{\"event_id\":\"{id}\",\"message\":\"odd numbers\",\"extra\":{{\"a\":NaN,\"b\":Infinity,\"c\":-Infinity}},\
         \"level\":\"warning\",\"level\":\"error\"}}"
    );
    let (status, body) = send_beside_a_good_client(&app, raw_envelope(odd.as_bytes())).await;
    assert_eq!(status, 200, "{body}");
    let stored = app.event_json("default", &id).await;
    assert_eq!(
        stored["level"], "error",
        "the last duplicate key wins, as in every JSON parser SDKs test with"
    );
    assert_eq!(stored["extra"], json!({"a": null, "b": null, "c": null}), "{stored}");
}

#[tokio::test]
async fn an_envelope_declaring_a_length_past_its_end_is_refused_with_400() {
    let app = spawn_app().await;
    let body = b"{}\n{\"type\":\"event\",\"length\":5000}\n{\"message\":\"short\"}\n".to_vec();
    let (status, body) = send_beside_a_good_client(&app, body).await;
    assert_eq!(status, 400, "{body}");
    assert!(detail(&body).contains("malformed envelope"), "{body}");
}

#[tokio::test]
async fn a_slow_loris_body_is_cut_off_after_the_body_timeout_and_others_are_served_meanwhile() {
    let app = spawn_app_with(&["--body-timeout", "2"]).await;
    let mut stream = tokio::net::TcpStream::connect(&app.address).await.unwrap();
    let head = format!(
        "POST /api/{}/envelope/ HTTP/1.1\r\nHost: x\r\nX-Sentry-Auth: {}\r\nContent-Length: 100000\r\n\r\n{{}}\n",
        app.project_id,
        sentry_auth(&app.key)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // Trickle a byte a second; the server must give up at about two seconds.
    let trickle = async {
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if stream.write_all(b" ").await.is_err() {
                break;
            }
            let mut buf = [0u8; 4096];
            if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(10), stream.read(&mut buf)).await {
                return String::from_utf8_lossy(&buf[..n]).into_owned();
            }
        }
        String::new()
    };
    let served = async {
        let resp = app.post_envelope(envelope_of(&error_event())).await;
        assert_eq!(resp.status(), 200, "another client is served meanwhile");
    };
    let (answer, ()) = tokio::join!(trickle, served);
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("body"), "{answer:?}");
    assert!(took < Duration::from_secs(6), "cut off after {took:?}");
}
