//! Inputs the fuzzers (`fuzz/`) found crashing, kept as tests: each must now give an error.

use crate::helpers::spawn_app;

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

#[tokio::test]
async fn the_same_header_over_http_gets_401_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let mut request = format!(
        "POST /api/{}/envelope/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nX-Sentry-Auth: Sentry ",
        app.project_id
    )
    .into_bytes();
    request.extend_from_slice(
        AUTH_SPLIT_CHAR
            .iter()
            .filter(|b| **b >= 0x20)
            .copied()
            .collect::<Vec<_>>()
            .as_slice(),
    );
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n{}\n");
    let resp = app.raw_request(&request).await;
    assert_eq!(resp.status, 401, "{:?}", resp.body);
    assert!(resp.json()["detail"].is_string());
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
}
