//! Data scrubbing: the real sentry-sdk sends a crash full of secrets (send_default_pii=True,
//! its own scrubber off) and none of them reaches the database file.

use serde_json::{Value, json};

use crate::helpers::{TestApp, new_event_id, spawn_app};
use crate::python::run_script;

/// Every byte Tocsin wrote: the database file, its WAL, and every payload decompressed (a
/// compressed secret would not show in the raw bytes).
async fn everything_stored(app: &TestApp) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["tocsin.db", "tocsin.db-wal"] {
        all.extend(std::fs::read(app.data_dir.join(name)).unwrap_or_default());
    }
    let db = tocsin::store::Database::open(&app.data_dir, tocsin::config::Synchronous::Normal)
        .await
        .unwrap();
    let pool = db.read_pool().await.unwrap();
    let codec = tocsin::event::codec::Codec::new();
    tocsin::compression::load(&pool, &codec).await.unwrap();
    let rows: Vec<(Vec<u8>, Option<i64>)> = sqlx::query_as("SELECT payload, dict_id FROM events")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for (payload, dict) in rows {
        all.extend(codec.decompress(&payload, dict).unwrap());
    }
    pool.close().await;
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn secrets_sent_by_the_real_sdk_never_reach_the_database_file() {
    let app = spawn_app().await;
    let secrets: Vec<String> = (0..9).map(|i| format!("sekrit{i}x{}", &new_event_id()[..12])).collect();
    let file = app.data_dir.with_file_name("secrets.txt");
    std::fs::write(&file, format!("{}\n4111 1111 1111 1111", secrets.join("\n"))).unwrap();
    let out = run_script("flask_secrets.py", &[&app.dsn, file.to_str().unwrap()]);
    let id = out["event_ids"][0]
        .as_str()
        .expect("the SDK sent the crash")
        .to_string();

    let event = app.event_json("default", &id).await;
    let text = event.to_string();
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{secret} is in the stored event: {text}"
        );
    }
    let stored = everything_stored(&app).await;
    for secret in &secrets {
        assert!(!contains(&stored, secret), "{secret} is somewhere in the database file");
    }
    assert!(!contains(&stored, "4111 1111 1111 1111"), "the card number is stored");

    // What is filtered says so, and what is not secret is kept.
    let request = &event["request"];
    assert_eq!(request["headers"]["Authorization"], "[Filtered]", "{request}");
    assert!(text.contains("[Filtered]"));
    assert!(text.contains("\"ann\""), "the username stays: {text}");
    assert!(text.contains("page=1"), "harmless query parameters stay: {text}");
}

#[tokio::test]
async fn project_settings_add_sensitive_fields_keep_safe_ones_and_can_drop_ip_addresses() {
    let app = spawn_app().await;
    let (status, body) = app
        .api_put(
            "/api/0/projects/default/default/",
            &json!({"sensitiveFields": ["Order-Ref"], "safeFields": ["session_count"], "scrubIpAddresses": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sensitiveFields"], json!(["order_ref"]));
    assert_eq!(body["scrubIpAddresses"], true);
    let (bad, detail) = app
        .api_put("/api/0/projects/default/default/", &json!({"scrubIpAddresses": "yes"}))
        .await;
    assert_eq!(bad, 400, "{detail}");

    let mut event = crate::helpers::error_event();
    event["user"] = json!({"id": "42", "ip_address": "{{auto}}"});
    event["extra"] = json!({"order_ref": "ORD-991", "session_count": 3, "session_id": "abc"});
    event["request"] = json!({"url": "http://shop/checkout", "env": {"REMOTE_ADDR": "203.0.113.9"}});
    app.send(&event).await;
    let stored: Value = app.event_json("default", event["event_id"].as_str().unwrap()).await;
    assert_eq!(stored["extra"]["order_ref"], "[Filtered]");
    assert_eq!(stored["extra"]["session_count"], 3);
    assert_eq!(stored["extra"]["session_id"], "[Filtered]");
    assert_eq!(stored["user"]["id"], "42");
    assert!(stored["user"].get("ip_address").is_none(), "{stored}");
    assert_eq!(stored["request"]["env"]["REMOTE_ADDR"], "[Filtered]");
    let stored_bytes = everything_stored(&app).await;
    assert!(!contains(&stored_bytes, "203.0.113.9"));
    assert!(!contains(&stored_bytes, "ip:127.0.0.1"), "no IP-based user tag either");
}
