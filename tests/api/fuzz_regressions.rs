//! Inputs the fuzzers (`fuzz/`) found crashing, kept as tests: each must now give an error.

use serde_json::{Value, json};

use crate::helpers::{envelope_of, error_event, spawn_app};

/// `fuzz/artifacts/auth/crash-665092…`: a multi-byte character across byte 6 made the
/// `Sentry` prefix check slice inside it and panic.
const AUTH_SPLIT_CHAR: &[u8] = b"'ynte\xd0\x85ry_#=\x00y_=\x00\x00\x00S";

#[test]
fn an_auth_header_with_a_multibyte_character_at_byte_six_is_an_error_not_a_panic() {
    let text = std::str::from_utf8(AUTH_SPLIT_CHAR).unwrap();
    assert!(tocsin::ingest::auth::parse_header(text).is_err());
    assert!(tocsin::ingest::auth::parse_header("Sentr\u{0405}y sentry_key=abc").is_err());
    assert!(tocsin::ingest::auth::parse_dsn(text).is_none());
}

/// `fuzz/artifacts/auth/crash-108401…`: a DSN whose path is only slashes parsed with an empty
/// project id.
const DSN_WITHOUT_PROJECT: &[u8] = b"=\x03e\x00\x00\x00\x00\x000://\x00@///////";

#[test]
fn a_dsn_whose_path_is_only_slashes_has_no_project_and_is_refused() {
    let text = std::str::from_utf8(DSN_WITHOUT_PROJECT).unwrap();
    assert_eq!(tocsin::ingest::auth::parse_dsn(text), None);
    assert_eq!(
        tocsin::ingest::auth::parse_dsn("https://abc@errors.example.com///"),
        None
    );
    assert_eq!(
        tocsin::ingest::auth::parse_dsn("https://abc@errors.example.com/sentry/7"),
        Some(("abc".to_string(), "7".to_string()))
    );
}

/// An envelope whose only credential is its `dsn` header, posted to the default project.
fn envelope_with_dsn(dsn: &str) -> Vec<u8> {
    let event = error_event();
    let mut body = serde_json::to_vec(&json!({"event_id": event["event_id"], "dsn": dsn})).unwrap();
    body.push(b'\n');
    body.extend(envelope_of(&event).splitn(2, |b| *b == b'\n').nth(1).unwrap());
    body
}

/// Over HTTP the DSN parser is reached through an envelope's `dsn` header. Before the fix a DSN
/// whose path held only slashes took its project id from the host (or had an empty one), so
/// `http://KEY@1///` passed for project 1 and its event was stored.
#[tokio::test]
async fn envelopes_whose_dsn_has_no_project_in_its_path_get_401_over_http_and_store_nothing() {
    let app = spawn_app().await;
    let host_named = format!("http://{}@{}///", app.key, app.project_id);
    let fuzzed = std::str::from_utf8(DSN_WITHOUT_PROJECT).unwrap();
    for dsn in [host_named.as_str(), fuzzed] {
        let resp = app
            .client
            .post(app.url(&format!("/api/{}/envelope/", app.project_id)))
            .body(envelope_with_dsn(dsn))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 401, "dsn {dsn:?}: {body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains("is not a DSN")),
            "dsn {dsn:?}: {body}"
        );
    }
    assert_eq!(app.stored_event_count().await, 0, "no event got in");
    // The same envelope with a well-formed DSN is accepted: the refusals above are the path's.
    let good = format!("http://{}@{}/{}", app.key, app.address, app.project_id);
    let resp = app
        .client
        .post(app.url(&format!("/api/{}/envelope/", app.project_id)))
        .body(envelope_with_dsn(&good))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
}

/// The `Sentry` prefix check cannot see a multi-byte character over HTTP: header values must be
/// visible ASCII and anything else is refused first, which is why the prefix panic was reachable
/// only in-process (`an_auth_header_with_a_multibyte_character_at_byte_six_…` tests the check
/// itself). This guards that refusal: without it the fuzzed value panics the server's worker.
#[tokio::test]
async fn an_auth_header_with_non_ascii_bytes_gets_401_before_it_is_parsed_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    for name in ["X-Sentry-Auth", "Authorization"] {
        // The fuzzed value with the multi-byte character at bytes 5 and 6 (control bytes cannot
        // travel in a header at all).
        let value: Vec<u8> = AUTH_SPLIT_CHAR.iter().copied().filter(|b| *b >= 0x20).collect();
        let mut request = format!(
            "POST /api/{}/envelope/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n{name}: ",
            app.project_id
        )
        .into_bytes();
        request.extend_from_slice(&value);
        request.extend_from_slice(b"\r\nConnection: close\r\n\r\n{}\n");
        let resp = app.raw_request(&request).await;
        assert_eq!(resp.status, 401, "{name}: {:?}", String::from_utf8_lossy(&resp.body));
        let detail = resp.json()["detail"].as_str().unwrap_or_default().to_string();
        assert!(detail.contains("not valid ASCII"), "{name}: {detail}");
    }
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
}
