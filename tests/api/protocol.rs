//! The accepted shapes of Sentry's ingest protocol (PROTOCOL.md §2–3): every way an SDK of any
//! age authenticates, encodes and frames an event is accepted and stored as the SDK meant it.

use std::io::Write;

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, accepted_id, envelope_of, error_event, gzip, new_event_id, sentry_auth, spawn_app, zlib,
};

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn is_simple_hex_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A JS-style envelope: no `length`, no final newline.
fn js_envelope(header: &Value, event: &Value) -> String {
    format!("{header}\n{{\"type\":\"event\"}}\n{event}")
}

/// Posts an event to `/store/` with `X-Sentry-Auth` and returns the stored JSON.
async fn store_and_read(app: &TestApp, event: &Value) -> Value {
    let resp = app
        .store_request(event.to_string())
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap();
    let id = accepted_id(resp).await;
    app.event_json("default", &id).await
}

/// Posts a JS-style envelope and returns the stored JSON.
async fn envelope_and_read(app: &TestApp, event: &Value) -> Value {
    let body = js_envelope(&json!({}), event);
    let id = accepted_id(app.post_envelope(body).await).await;
    app.event_json("default", &id).await
}

/// The categories of every quota limit in an `X-Sentry-Rate-Limits` header, checking each limit
/// has the `<int>:<categories>:<scope>` form that Python (integer seconds) and Rust (three
/// fields) need.
fn rate_limited_categories(header: &str) -> Vec<String> {
    let mut categories = Vec::new();
    for limit in header.split(',') {
        let fields: Vec<&str> = limit.trim().split(':').collect();
        assert!(fields.len() >= 3, "{limit:?} needs retry:categories:scope");
        let secs: u64 = fields[0]
            .parse()
            .unwrap_or_else(|_| panic!("{limit:?}: retry-after must be an integer"));
        assert!(secs > 0, "{limit:?}");
        // Empty categories would mean *all* categories, errors included.
        assert!(!fields[1].is_empty(), "{limit:?} would limit everything");
        categories.extend(fields[1].split(';').map(str::to_string));
    }
    categories
}

// ---- Authentication (§2.1) ----

#[tokio::test]
async fn an_authorization_sentry_header_authenticates_like_x_sentry_auth() {
    let app = spawn_app().await;
    let event = error_event();
    let resp = app
        .client
        .post(app.url("/api/1/envelope/"))
        .header("Authorization", sentry_auth(&app.key))
        .body(envelope_of(&event))
        .send()
        .await
        .unwrap();
    let id = accepted_id(resp).await;
    assert_eq!(app.event_json("default", &id).await["event_id"], event["event_id"]);
}

#[tokio::test]
async fn a_browser_sdk_authenticates_in_the_query_string_without_any_header() {
    let app = spawn_app().await;
    let event = error_event();
    let resp = app
        .client
        .post(app.url(&format!(
            "/api/1/envelope/?sentry_key={}&sentry_version=7&sentry_client=sentry.javascript.browser%2F10.63.0",
            app.key
        )))
        .header("Content-Type", "text/plain;charset=UTF-8")
        .body(js_envelope(&json!({"event_id": event["event_id"]}), &event))
        .send()
        .await
        .unwrap();
    let id = accepted_id(resp).await;
    assert_eq!(app.event_json("default", &id).await["event_id"], event["event_id"]);
}

#[tokio::test]
async fn an_envelope_authenticates_with_the_dsn_in_its_header_alone() {
    let app = spawn_app().await;
    let event = error_event();
    let header = json!({"event_id": event["event_id"], "dsn": app.dsn});
    let resp = app
        .client
        .post(app.url("/api/1/envelope/"))
        .body(js_envelope(&header, &event))
        .send()
        .await
        .unwrap();
    let id = accepted_id(resp).await;
    assert_eq!(app.event_json("default", &id).await["event_id"], event["event_id"]);
}

// ---- Content-Encoding (§3.4) ----

#[tokio::test]
async fn every_content_encoding_sdks_send_is_decoded() {
    let app = spawn_app().await;
    type Encoder = fn(&[u8]) -> Vec<u8>;
    let cases: &[(&str, Encoder)] = &[
        ("gzip", gzip),
        ("deflate", zlib),
        ("deflate", |data| {
            let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }),
        ("br", |data| {
            let mut enc = brotli::CompressorWriter::new(Vec::new(), 4096, 4, 22);
            enc.write_all(data).unwrap();
            enc.into_inner()
        }),
        ("zstd", |data| zstd::encode_all(data, 3).unwrap()),
        // sentry-ruby sends an empty header, sentry-java `UTF-8`: both mean none.
        ("", |data| data.to_vec()),
        ("identity", |data| data.to_vec()),
        ("UTF-8", |data| data.to_vec()),
    ];
    for (i, (encoding, encode)) in cases.iter().enumerate() {
        let event = error_event();
        let body = encode(&envelope_of(&event));
        let resp = app
            .envelope_request(body)
            .header("Content-Encoding", *encoding)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 200, "case {i} ({encoding:?}): {text}");
        let stored = app.event_json("default", event["event_id"].as_str().unwrap()).await;
        assert_eq!(
            stored["exception"]["values"][0]["type"], "ZeroDivisionError",
            "case {i} ({encoding:?})"
        );
    }
    // And no header at all, as the Rust SDK sends.
    let event = error_event();
    accepted_id(app.post_envelope(envelope_of(&event)).await).await;
    assert_eq!(app.stored_event_count().await, cases.len() as i64 + 1);
}

#[tokio::test]
async fn a_chunked_body_without_content_length_is_read_whole() {
    let app = spawn_app().await;
    let event = error_event();
    let body = envelope_of(&event);
    let (first, second) = body.split_at(body.len() / 2);
    let mut request = format!(
        "POST /api/1/envelope/ HTTP/1.1\r\nHost: {}\r\nX-Sentry-Auth: {}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.address,
        sentry_auth(&app.key)
    )
    .into_bytes();
    for chunk in [first, second] {
        request.extend(format!("{:x}\r\n", chunk.len()).bytes());
        request.extend_from_slice(chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n\r\n");
    let resp = app.raw_request(&request).await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.json()["id"], event["event_id"]);
    assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
    app.event_json("default", event["event_id"].as_str().unwrap()).await;
}

// ---- Envelope framing (§3.2) ----

#[tokio::test]
async fn a_js_style_envelope_without_lengths_or_final_newline_skips_unknown_items() {
    let app = spawn_app().await;
    let event = error_event();
    let body = format!(
        "{}\n{{\"type\":\"future_thing\"}}\n{{\"whatever\":[1,2,3]}}\n{{\"type\":\"event\"}}\n{}",
        json!({"event_id": event["event_id"], "sent_at": "2026-07-01T17:29:58.123Z",
               "sdk": {"name": "sentry.javascript.browser", "version": "10.63.0"}}),
        event
    );
    let id = accepted_id(app.post_envelope(body).await).await;
    assert_eq!(id, event["event_id"].as_str().unwrap());
    let stored = app.event_json("default", &id).await;
    assert_eq!(stored["exception"]["values"][0]["value"], "division by zero");
    assert_eq!(app.stored_event_count().await, 1);
}

#[tokio::test]
async fn a_rust_sdk_dashed_uppercase_header_id_wins_and_is_stored_as_lowercase_hex() {
    let app = spawn_app().await;
    let header_uuid = uuid::Uuid::new_v4();
    let header_id = header_uuid.hyphenated().to_string().to_uppercase();
    let mut event = error_event();
    let payload_id = event["event_id"].as_str().unwrap().to_string();
    event["platform"] = json!("native");
    let payload = event.to_string();
    let body = format!(
        "{{\"event_id\":\"{header_id}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{payload}\n",
        payload.len()
    );
    let id = accepted_id(app.post_envelope(body).await).await;
    let expected = header_uuid.simple().to_string();
    assert!(is_simple_hex_id(&id), "{id}");
    assert_eq!(id, expected);
    let stored = app.event_json("default", &id).await;
    assert_eq!(stored["event_id"], expected);
    assert_eq!(stored["id"], expected);
    assert_eq!(
        app.get_event("default", &payload_id).await.status(),
        404,
        "the payload's own id must not be used"
    );
}

#[tokio::test]
async fn a_sessions_only_envelope_is_answered_with_an_empty_object() {
    let app = spawn_app().await;
    let body = "{\"sent_at\":\"2026-07-01T17:29:58.123Z\"}\n{\"type\":\"session\"}\n\
                {\"sid\":\"7c7b6585f6e44c3e8c6b4f1e2b6a2d4d\",\"init\":true,\"started\":\"2026-07-01T17:29:00Z\",\"status\":\"ok\"}\n";
    let resp = app.post_envelope(body).await;
    assert_eq!(resp.status(), 200);
    let json: Value = resp.json().await.unwrap();
    assert_eq!(json, json!({}));
    assert_eq!(app.stored_event_count().await, 0);
}

// ---- Responses (§3.3, §3.6) ----

#[tokio::test]
async fn success_responses_switch_off_dropped_categories_but_never_errors() {
    let app = spawn_app().await;
    let from_envelope = app.post_envelope(envelope_of(&error_event())).await;
    let from_store = app.store_request(error_event().to_string()).send().await.unwrap();
    let from_sessions = app.post_envelope("{}\n{\"type\":\"session\"}\n{\"sid\":\"x\"}\n").await;
    for resp in [from_envelope, from_store, from_sessions] {
        assert_eq!(resp.status(), 200, "{}", resp.url());
        let header = resp
            .headers()
            .get("x-sentry-rate-limits")
            .expect("X-Sentry-Rate-Limits on success")
            .to_str()
            .unwrap()
            .to_string();
        let categories = rate_limited_categories(&header);
        for wanted in ["transaction", "session"] {
            assert!(categories.iter().any(|c| c == wanted), "{header}");
        }
        for never in ["error", "default"] {
            assert!(!categories.iter().any(|c| c == never), "{header}");
        }
    }
}

// ---- CORS (§3.5) ----

fn assert_cors(resp: &reqwest::Response) {
    let get = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    assert_eq!(get("access-control-allow-origin"), "*", "{}", resp.status());
    let exposed = get("access-control-expose-headers");
    for header in ["x-sentry-rate-limits", "retry-after"] {
        assert!(
            exposed.split(',').any(|h| h.trim() == header),
            "{header} not exposed on {}: {exposed:?}",
            resp.status()
        );
    }
}

#[tokio::test]
async fn a_preflight_without_credentials_is_answered_with_cors_headers() {
    let app = spawn_app().await;
    let resp = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/1/envelope/"))
        .header("Origin", "https://shop.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type, x-sentry-auth")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_cors(&resp);
    let methods = resp.headers()["access-control-allow-methods"].to_str().unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let allowed = resp.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for header in ["content-type", "x-sentry-auth", "content-encoding"] {
        assert!(allowed.contains(header), "{header} not in {allowed}");
    }
}

#[tokio::test]
async fn accepted_and_refused_posts_both_carry_cors_headers() {
    let app = spawn_app().await;
    let post = |key: &str| {
        app.client
            .post(app.url(&format!("/api/1/envelope/?sentry_key={key}&sentry_version=7")))
            .header("Origin", "https://shop.example.com")
            .body(envelope_of(&error_event()))
            .send()
    };
    let ok = post(&app.key).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_cors(&ok);
    let refused = post("ffffffffffffffffffffffffffffffff").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_cors(&refused);
}

// ---- Paths and duplicates ----

#[tokio::test]
async fn paths_without_trailing_slash_or_with_doubled_slashes_are_accepted() {
    let app = spawn_app().await;
    for path in [
        "/api/1/envelope",
        "//api//1//envelope//",
        "/api/1/store",
        "//api//1//store//",
    ] {
        let event = error_event();
        let body = if path.contains("envelope") {
            envelope_of(&event)
        } else {
            serde_json::to_vec(&event).unwrap()
        };
        let resp = app
            .client
            .post(app.url(path))
            .header("X-Sentry-Auth", sentry_auth(&app.key))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}: {}", resp.text().await.unwrap());
        app.event_json("default", event["event_id"].as_str().unwrap()).await;
    }
}

#[tokio::test]
async fn the_same_event_id_posted_twice_is_accepted_twice_and_stored_once() {
    let app = spawn_app().await;
    let event = error_event();
    let first = accepted_id(app.post_envelope(envelope_of(&event)).await).await;
    let second = accepted_id(app.post_envelope(envelope_of(&event)).await).await;
    assert_eq!(first, second);
    assert_eq!(first, event["event_id"].as_str().unwrap());
    assert_eq!(app.stored_event_count().await, 1);
}

#[tokio::test]
async fn one_batch_tells_ids_stored_in_one_project_from_the_same_ids_new_to_another() {
    use tocsin::store::{EventRow, IssueFacts};
    let app = spawn_app().await;
    let (other_id, _) = app.create_project("other", None);
    let (handle, _task) = app.spawn_writer().await;
    let row = |project_id: i64, event_id: &str| EventRow {
        project_id,
        event_id: event_id.to_string(),
        timestamp: now(),
        received: now(),
        level: "error",
        platform: "python".into(),
        release: None,
        environment: None,
        user_key: None,
        tags: Vec::new(),
        issue: IssueFacts {
            grouping_config: "test",
            hashes: vec![format!("hash-{project_id}")],
            title: "ValueError".into(),
            ..IssueFacts::default()
        },
        payload: Vec::new(),
        dict_id: None,
    };
    let ids: Vec<String> = (0..20).map(|_| new_event_id()).collect();
    for id in &ids {
        handle.write(row(app.project_id, id)).await.expect("stored");
    }
    // Every write is queued before the writer task runs again (this test's runtime has one
    // thread), so all of them make one batch: each id once more for the default project,
    // where it is stored, and once for the other project, where it is new.
    let writes = ids
        .iter()
        .flat_map(|id| [row(app.project_id, id), row(other_id, id)])
        .map(|r| handle.write(r));
    let outcomes = futures_util::future::join_all(writes).await;
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let outcome = outcome.expect("written");
        assert_eq!(
            outcome.inserted,
            i % 2 == 1,
            "write {i}: only the other project's copies are new"
        );
    }
    assert_eq!(app.stored_event_count().await, 40);
}

// ---- Legacy /store/ (§3.1) ----

#[tokio::test]
async fn store_accepts_a_plain_json_body() {
    let app = spawn_app().await;
    let event = error_event();
    let stored = store_and_read(&app, &event).await;
    assert_eq!(stored["event_id"], event["event_id"]);
    assert_eq!(stored["exception"]["values"][0]["type"], "ZeroDivisionError");
}

#[tokio::test]
async fn store_accepts_base64_of_zlib_json_without_content_encoding() {
    let app = spawn_app().await;
    let event = error_event();
    let body = base64::engine::general_purpose::STANDARD.encode(zlib(event.to_string().as_bytes()));
    let resp = app
        .store_request(body)
        .header("Content-Type", "application/octet-stream")
        .send()
        .await
        .unwrap();
    let id = accepted_id(resp).await;
    assert_eq!(id, event["event_id"].as_str().unwrap());
    let stored = app.event_json("default", &id).await;
    assert_eq!(stored["exception"]["values"][0]["value"], "division by zero");
}

#[tokio::test]
async fn raven_integer_levels_are_stored_as_names() {
    let app = spawn_app().await;
    for (raw, name) in [(10, "debug"), (30, "warning"), (40, "error"), (50, "fatal")] {
        let mut event = error_event();
        event["level"] = json!(raw);
        let stored = store_and_read(&app, &event).await;
        assert_eq!(stored["level"], name, "level {raw}");
        assert!(stored.get("errors").is_none(), "{}", stored["errors"]);
    }
}

#[tokio::test]
async fn a_raven_6_message_interface_lands_in_logentry() {
    let app = spawn_app().await;
    let event = json!({
        "event_id": new_event_id(),
        "platform": "python",
        "level": 40,
        "sentry.interfaces.Message": {
            "message": "User %s failed to log in",
            "params": ["bob"],
            "formatted": "User bob failed to log in",
        },
    });
    // raven-python 6.x: zlib-wrapped deflate, protocol version 6.
    let resp = app
        .client
        .post(app.url("/api/1/store/"))
        .header(
            "X-Sentry-Auth",
            format!(
                "Sentry sentry_timestamp=1716800000.5, sentry_client=raven-python/6.10.0, \
                 sentry_version=6, sentry_key={}",
                app.key
            ),
        )
        .header("Content-Encoding", "deflate")
        .header("Content-Type", "application/octet-stream")
        .body(zlib(event.to_string().as_bytes()))
        .send()
        .await
        .unwrap();
    let id = accepted_id(resp).await;
    let stored = app.event_json("default", &id).await;
    assert_eq!(stored["logentry"]["message"], "User %s failed to log in");
    assert_eq!(stored["logentry"]["formatted"], "User bob failed to log in");
    assert_eq!(stored["logentry"]["params"], json!(["bob"]));
    assert!(stored.get("sentry.interfaces.Message").is_none());
}

// ---- Event normalisation seen through ingest (§4.5) ----

#[tokio::test]
async fn a_timestamp_40_days_old_is_clamped_to_the_receive_time() {
    let app = spawn_app().await;
    let mut event = error_event();
    event["timestamp"] = json!(now() - 40.0 * 86400.0);
    let stored = envelope_and_read(&app, &event).await;
    let ts = stored["timestamp"].as_f64().expect("numeric timestamp");
    assert!((ts - now()).abs() < 60.0, "timestamp {ts} should be near now");
    let errors = stored["errors"].as_array().expect("errors recorded");
    assert!(errors.iter().any(|e| e["type"] == "past_timestamp"), "{errors:?}");
}

#[tokio::test]
async fn float_and_rfc3339_timestamps_are_both_accepted() {
    let app = spawn_app().await;
    let float_ts = (now() - 3600.0).floor() + 0.25;
    let mut event = error_event();
    event["timestamp"] = json!(float_ts);
    let stored = envelope_and_read(&app, &event).await;
    assert_eq!(stored["timestamp"].as_f64(), Some(float_ts));

    let two_hours_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(2);
    let two_hours_ago = two_hours_ago.replace_microsecond(123_456).unwrap();
    let text = two_hours_ago
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut event = error_event();
    event["timestamp"] = json!(text);
    let stored = envelope_and_read(&app, &event).await;
    let ts = stored["timestamp"].as_f64().expect("numeric timestamp");
    let expected = two_hours_ago.unix_timestamp_nanos() as f64 / 1e9;
    assert!((ts - expected).abs() < 1e-3, "{text} → {ts}, want {expected}");
    assert!(stored.get("errors").is_none(), "{}", stored["errors"]);
}

#[tokio::test]
async fn an_auto_ip_address_becomes_the_peer_address() {
    let app = spawn_app().await;
    let mut event = error_event();
    event["user"] = json!({"id": "42", "ip_address": "{{auto}}"});
    let stored = envelope_and_read(&app, &event).await;
    assert_eq!(stored["user"]["ip_address"], "127.0.0.1");
    assert_eq!(stored["user"]["id"], "42");
}

#[tokio::test]
async fn tags_sent_as_pairs_come_back_as_sentry_key_value_objects_beside_built_in_tags() {
    let app = spawn_app().await;
    let mut event = error_event();
    event["tags"] = json!([["browser", "Firefox"], ["os", "Linux"], ["build", 42]]);
    let stored = envelope_and_read(&app, &event).await;
    let tags = stored["tags"].as_array().unwrap();
    for expected in [
        json!({"key": "browser", "value": "Firefox"}),
        json!({"key": "os", "value": "Linux"}),
        json!({"key": "build", "value": "42"}),
        json!({"key": "level", "value": "error"}),
    ] {
        assert!(tags.contains(&expected), "{expected} in {tags:?}");
    }
}

#[tokio::test]
async fn unknown_top_level_fields_are_kept() {
    let app = spawn_app().await;
    let mut event = error_event();
    event["my_custom_field"] = json!({"a": 1});
    let stored = envelope_and_read(&app, &event).await;
    assert_eq!(stored["my_custom_field"], json!({"a": 1}));
}

#[tokio::test]
async fn an_event_without_an_id_gets_a_generated_one() {
    let app = spawn_app().await;
    let event = json!({"message": "no id here", "level": "info"});
    let stored = envelope_and_read(&app, &event).await;
    let id = stored["event_id"].as_str().unwrap();
    assert!(is_simple_hex_id(id), "{id}");
    assert_eq!(stored["logentry"]["formatted"], "no id here");

    let resp = app.store_request(event.to_string()).send().await.unwrap();
    let store_id = accepted_id(resp).await;
    assert!(is_simple_hex_id(&store_id), "{store_id}");
    assert_ne!(store_id, id);
    app.event_json("default", &store_id).await;
}

#[tokio::test]
async fn nan_tokens_from_old_python_agents_are_tolerated() {
    let app = spawn_app().await;
    let id = new_event_id();
    let payload =
        format!("{{\"event_id\":\"{id}\",\"message\":\"NaN in extra\",\"extra\":{{\"x\":NaN,\"y\":-Infinity}}}}");
    let resp = app
        .post_envelope(format!("{{}}\n{{\"type\":\"event\"}}\n{payload}\n"))
        .await;
    assert_eq!(accepted_id(resp).await, id);
    let stored = app.event_json("default", &id).await;
    assert_eq!(stored["extra"], json!({"x": null, "y": null}));
    assert_eq!(stored["logentry"]["formatted"], "NaN in extra");
}

/// Posts a browser's security report, as a browser does: no auth header, the key in the URL.
async fn post_report(app: &crate::helpers::TestApp, content_type: &str, body: &Value, key: &str) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url(&format!("/api/1/security/?sentry_key={key}")))
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn csp_reports_at_the_security_endpoint_become_issues_per_directive_and_blocked_host() {
    let app = spawn_app().await;
    let report = |page: &str, blocked: &str| {
        json!({"csp-report": {"document-uri": page, "blocked-uri": blocked,
            "violated-directive": "script-src 'self'", "original-policy": "script-src 'self'; report-uri /csp"}})
    };
    let (status, first) = post_report(
        &app,
        "application/csp-report",
        &report("https://shop.example.com/cart", "https://evil.example.net/x.js"),
        &app.key,
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let first = app.event_json("default", first["id"].as_str().unwrap()).await;
    assert_eq!(first["csp"]["effective_directive"], "script-src");
    // The same blocked host from another page: the same issue. Another host: another issue.
    let (_, same) = post_report(
        &app,
        "application/csp-report",
        &report("https://shop.example.com/checkout", "https://evil.example.net/y.js"),
        &app.key,
    )
    .await;
    let same = app.event_json("default", same["id"].as_str().unwrap()).await;
    assert_eq!(same["groupID"], first["groupID"]);
    // The Reporting API's batch form.
    let batch = json!([{"type": "csp-violation", "age": 1, "url": "https://shop.example.com/",
        "body": {"documentURL": "https://shop.example.com/", "blockedURL": "https://tracker.example.org/t.js",
                 "effectiveDirective": "script-src-elem", "disposition": "enforce"}}]);
    let (status, other) = post_report(&app, "application/reports+json", &batch, &app.key).await;
    assert_eq!(status, 200, "{other}");
    let other = app.event_json("default", other["id"].as_str().unwrap()).await;
    assert_ne!(other["groupID"], first["groupID"]);
    let (_, _, issues) = app.api_get("/api/0/projects/default/default/issues/").await;
    let titles: Vec<&str> = issues
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Blocked 'script' from 'evil.example.net'"),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"Blocked 'script' from 'tracker.example.org'"),
        "{titles:?}"
    );

    // Clear errors: not a report, no key.
    let (status, body) = post_report(&app, "application/json", &json!({"hello": 1}), &app.key).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("security report"), "{body}");
    let (status, _) = post_report(
        &app,
        "application/csp-report",
        &report("https://a/", "https://b/"),
        "0123456789abcdef0123456789abcdef",
    )
    .await;
    assert_eq!(status, 403);
}
