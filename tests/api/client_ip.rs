//! `{{auto}}` user addresses: the peer, or X-Forwarded-For only when the operator trusts it.

use serde_json::json;

use crate::helpers::{TestApp, envelope_of, error_event, sentry_auth, spawn_app, spawn_app_with};

async fn auto_ip_event(app: &TestApp) -> serde_json::Value {
    let mut event = error_event();
    event["user"] = json!({"ip_address": "{{auto}}"});
    let resp = app
        .client
        .post(app.url(&format!("/api/{}/envelope/", app.project_id)))
        .header("X-Sentry-Auth", sentry_auth(&app.key))
        .header("X-Forwarded-For", "198.51.100.7, 10.0.0.1")
        .body(envelope_of(&event))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    app.event_json("default", event["event_id"].as_str().unwrap()).await
}

#[tokio::test]
async fn a_forwarded_for_header_is_ignored_unless_the_operator_trusts_it() {
    let app = spawn_app().await;
    let event = auto_ip_event(&app).await;
    assert_eq!(event["user"]["ip_address"], "127.0.0.1");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_first_forwarded_hop_is_the_client() {
    let app = spawn_app_with(&["--trust-forwarded-for", "true"]).await;
    let event = auto_ip_event(&app).await;
    assert_eq!(event["user"]["ip_address"], "198.51.100.7");
}
