//! Data scrubbing: the real sentry-sdk sends a crash full of secrets (send_default_pii=True,
//! its own scrubber off), recorded on the wire to prove they were sent, and none of them
//! reaches the database file.

use std::io::Read;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, new_event_id, spawn_app};
use crate::python::run_script;

/// A recording step on the wire between an SDK and Tocsin: a loopback HTTP server that keeps
/// each request body as the SDK sent it (decoded from its `Content-Encoding`), then forwards the
/// request to Tocsin and relays the answer. Each answer closes the connection, so every request
/// comes on a fresh one and needs no keep-alive bookkeeping.
struct WireRecorder {
    /// `host:port` to put into the DSN in place of Tocsin's.
    address: String,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl WireRecorder {
    async fn start(app: &TestApp) -> WireRecorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let (kept, client, base) = (bodies.clone(), app.client.clone(), app.base_url.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(relay(sock, kept.clone(), client.clone(), base.clone()));
            }
        });
        WireRecorder { address, bodies }
    }

    fn bodies(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().unwrap().clone()
    }
}

async fn relay(mut sock: tokio::net::TcpStream, kept: Arc<Mutex<Vec<Vec<u8>>>>, client: reqwest::Client, base: String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).expect("an ASCII request head");
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap().split(' ');
    let (method, path) = (request_line.next().unwrap(), request_line.next().unwrap());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(
        header("transfer-encoding"),
        None,
        "the recorder reads Content-Length bodies only"
    );
    let len: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    kept.lock().unwrap().push(decoded(&body, header("content-encoding")));

    let mut forward = client.request(method.parse().unwrap(), format!("{base}{path}"));
    for (k, v) in &headers {
        if !matches!(k.as_str(), "host" | "content-length" | "connection") {
            forward = forward.header(k, v);
        }
    }
    let (status, answer) = match forward.body(body).send().await {
        Ok(resp) => (resp.status().as_u16(), resp.bytes().await.unwrap_or_default().to_vec()),
        Err(_) => (502, Vec::new()),
    };
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    )
    .into_bytes();
    out.extend(answer);
    let _ = sock.write_all(&out).await;
    let _ = sock.shutdown().await;
}

/// A body as the SDK meant it, whatever compression it chose for the wire.
fn decoded(body: &[u8], encoding: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        None | Some("identity") => out.extend_from_slice(body),
        Some("gzip") => {
            flate2::read::GzDecoder::new(body).read_to_end(&mut out).unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(body, 4096).read_to_end(&mut out).unwrap();
        }
        Some(other) => panic!("the SDK sent Content-Encoding {other}"),
    }
    out
}

/// Every byte Tocsin wrote: the database file, its WAL, and every payload decompressed (a
/// compressed secret would not show in the raw bytes).
async fn everything_stored(app: &TestApp) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["tocsin.db", "tocsin.db-wal"] {
        all.extend(std::fs::read(app.data_dir.join(name)).unwrap_or_default());
    }
    // On PostgreSQL, every row of every table as pg_dump writes it.
    if let Some(url) = &app.database_url {
        all.extend(crate::postgres::dump(url).into_bytes());
    }
    let db = app.database().await;
    let pool = db.read_pool().await.unwrap();
    let codec = tocsin::event::codec::Codec::new();
    tocsin::compression::load(&pool, &codec).await.unwrap();
    pool.close().await;
    let sql = app.sql().await;
    let rows: Vec<(Vec<u8>, Option<i64>)> =
        crate::on_sql!(sql, |p| sqlx::query_as("SELECT payload, dict_id FROM events")
            .fetch_all(p)
            .await
            .unwrap());
    assert!(!rows.is_empty());
    for (payload, dict) in rows {
        all.extend(codec.decompress(&payload, dict).unwrap());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn secrets_sent_by_the_real_sdk_never_reach_the_database_file() {
    let app = spawn_app().await;
    let secrets: Vec<String> = (0..9).map(|i| format!("sekrit{i}x{}", &new_event_id()[..12])).collect();
    let card = "4111 1111 1111 1111";
    let file = app.data_dir.with_file_name("secrets.txt");
    std::fs::write(&file, format!("{}\n{card}", secrets.join("\n"))).unwrap();
    // The SDK reports through the recorder, so the test knows what really went over the wire.
    let wire = WireRecorder::start(&app).await;
    let dsn = app.dsn.replace(&app.address, &wire.address);
    assert_ne!(dsn, app.dsn);
    // Off the runtime's thread, which the recorder needs while the script runs.
    let secrets_file = file.to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking(move || run_script("flask_secrets.py", &[&dsn, &secrets_file]))
        .await
        .unwrap();
    let id = out["event_ids"][0]
        .as_str()
        .expect("the SDK sent the crash")
        .to_string();

    // Each secret was in what the SDK sent (in its event, not only somewhere in the traffic);
    // else its absence below would prove nothing.
    let sent: Vec<Vec<u8>> = wire.bodies().into_iter().filter(|b| contains(b, &id)).collect();
    assert_eq!(sent.len(), 1, "one envelope carries the crash {id}");
    for secret in secrets.iter().map(String::as_str).chain([card]) {
        assert!(
            contains(&sent[0], secret),
            "the SDK did not send {secret}: {}",
            String::from_utf8_lossy(&sent[0])
        );
    }

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
    assert!(!contains(&stored, card), "the card number is stored");

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
