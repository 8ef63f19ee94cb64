//! Retention: per-project limits thin stored events in the background, keep each issue's key
//! events, never touch the counters, and hand freed pages back to the file system.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_event, poll, spawn_app_with};

/// An event of the issue named `kind` (its exception type).
fn event_of(kind: &str) -> Value {
    let mut event = error_event();
    event["exception"] = json!({"values": [{"type": kind, "value": "it broke"}]});
    event
}

async fn send_all(app: &TestApp, kind: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let event = event_of(kind);
        app.send(&event).await;
        ids.push(event["event_id"].as_str().unwrap().to_string());
    }
    ids
}

/// The issue whose title starts with `kind`.
async fn issue(app: &TestApp, kind: &str) -> Value {
    let (status, _, list) = app
        .api_get("/api/0/projects/default/default/issues/?query=&statsPeriod=")
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with(kind))
        .unwrap_or_else(|| panic!("no issue {kind} in {list}"))
        .clone()
}

async fn is_stored(app: &TestApp, event_id: &str) -> bool {
    app.get_event("default", event_id).await.status() == 200
}

/// Polls until `cond` holds (the retention pass runs in the background).
async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    poll(what, Duration::from_secs(30), async || {
        if cond().await { Ok(()) } else { Err("not yet".into()) }
    })
    .await
}

async fn pragma(app: &TestApp, name: &str) -> i64 {
    let pool = app.sql_reader().await;
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn over_its_event_limit_a_project_loses_the_busiest_issues_middle_events_and_keeps_every_counter() {
    let app = spawn_app_with(&["--retention-interval", "0.3"]).await;
    let out = app.cli(&["project", "set", "default", "--max-events", "10"]);
    assert!(out.success, "{}", out.stderr);
    assert!(out.stdout.contains("max_events = 10"), "{}", out.stdout);

    // Busy: 10 events, resolved, then 20 more (the first of which is a regression).
    let mut busy = send_all(&app, "BusyError", 10).await;
    let busy_issue = issue(&app, "BusyError").await;
    let path = format!("/api/0/issues/{}/", busy_issue["id"].as_str().unwrap());
    assert_eq!(app.api_put(&path, &json!({"status": "resolved"})).await.0, 200);
    busy.extend(send_all(&app, "BusyError", 20).await);
    let regression = busy[10].clone();
    // Quiet: 5 events.
    let quiet = send_all(&app, "QuietError", 5).await;

    eventually("the project is down to 10 stored events", || async {
        app.stored_event_count().await == 10
    })
    .await;

    // Counters, tag counts and hourly counts still say 30 and 5.
    let busy_issue = issue(&app, "BusyError").await;
    assert_eq!(busy_issue["count"], "30", "{busy_issue}");
    assert_eq!(issue(&app, "QuietError").await["count"], "5");
    let id = busy_issue["id"].as_str().unwrap();
    let (_, _, level) = app.api_get(&format!("/api/0/issues/{id}/tags/level/")).await;
    assert_eq!(level["totalValues"], 30, "{level}");
    let sql = app.sql().await;
    let hourly: i64 = crate::on_sql!(sql, |p| sqlx::query_scalar(
        "SELECT CAST(SUM(count) AS BIGINT) FROM issue_hourly WHERE issue_id = $1"
    )
    .bind(id.parse::<i64>().unwrap())
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(hourly, 30, "hourly counts are not reduced");

    // The busy issue was thinned, the quiet one not at all; key events survive.
    for kept in [&busy[0], &regression, &busy[29]] {
        assert!(
            is_stored(&app, kept).await,
            "first, regression and latest events are kept"
        );
    }
    for q in &quiet {
        assert!(is_stored(&app, q).await, "the quiet issue keeps all its events");
    }
    assert!(!is_stored(&app, &busy[1]).await, "the busy issue's old events go first");

    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("tocsin_retention_events_deleted_total 25"),
        "{metrics}"
    );
}

#[tokio::test]
async fn events_older_than_the_project_age_limit_are_deleted_except_each_issues_first_and_latest() {
    let app = spawn_app_with(&["--retention-interval", "0.3"]).await;
    assert!(app.cli(&["project", "set", "default", "--max-age-days", "1"]).success);
    let ids = send_all(&app, "AgedError", 6).await;
    // Make four of them two days old, straight in the database (the server keeps running).
    let sql = app.sql().await;
    for id in &ids[..4] {
        crate::on_sql!(sql, |p| {
            sqlx::query("UPDATE events SET received = received - 2 * 86400 WHERE event_id = $1")
                .bind(id)
                .execute(p)
                .await
                .unwrap();
        });
    }

    eventually("the expired middle events are gone", || async {
        app.stored_event_count().await == 3
    })
    .await;
    assert!(
        is_stored(&app, &ids[0]).await,
        "the first event stays even when expired"
    );
    for gone in &ids[1..4] {
        assert!(!is_stored(&app, gone).await);
    }
    for fresh in &ids[4..] {
        assert!(is_stored(&app, fresh).await);
    }
    assert_eq!(issue(&app, "AgedError").await["count"], "6");
}

#[tokio::test]
async fn deleting_an_issue_removes_its_events_and_the_free_pages_are_returned() {
    let app = spawn_app_with(&["--retention-interval", "0.3"]).await;
    // 300 events with 29 KB of random extra data each: several MB of pages.
    for n in 0..300 {
        let mut event = event_of("BulkyError");
        // Random hex: zstd halves it at best, so each event takes ~15 KB of pages.
        let noise: String = (0..900).map(|_| crate::helpers::new_event_id()).collect();
        event["extra"] = json!({ "blob": noise, "n": n });
        app.send(&event).await;
    }
    let id = issue(&app, "BulkyError").await["id"].as_str().unwrap().to_string();
    // Pages are SQLite's: PostgreSQL's autovacuum reclaims space by itself, so there only the
    // events' deletion is checked.
    let sqlite = crate::helpers::BACKEND == crate::helpers::Backend::Sqlite;
    let before = if sqlite { pragma(&app, "page_count").await } else { 0 };
    let status = app.api_delete(&format!("/api/0/issues/{id}/")).await;
    assert!((200..300).contains(&status), "{status}");
    assert_eq!(app.stored_event_count().await, 0);
    if !sqlite {
        return;
    }
    eventually("the free pages are returned", || async {
        pragma(&app, "freelist_count").await == 0
    })
    .await;
    let after = pragma(&app, "page_count").await;
    assert!(
        after * 4 < before,
        "the file shrank: {before} pages before, {after} after"
    );
}

/// The event items of the real sentry-python requests in tests/fixtures: an unhandled error, a
/// message, a handled error with breadcrumbs and a chained exception, 2.5 to 6.5 KB each.
pub fn recorded_events() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sentry-python-2.75-gzip");
    ["001", "004", "005", "006"]
        .iter()
        .map(|n| {
            let body = std::fs::read(dir.join(format!("{n}.body"))).unwrap();
            let lines: Vec<&[u8]> = body.splitn(3, |b| *b == b'\n').collect();
            let item: Value = serde_json::from_slice(lines[1]).unwrap();
            assert_eq!(item["type"], "event", "{n}");
            let len = item["length"].as_u64().unwrap() as usize;
            serde_json::from_slice(&lines[2][..len]).unwrap()
        })
        .collect()
}

/// The `n`th event of a busy app: one of the recorded events with what differs between real
/// events of one app changed (id, time, user, trace, an order number among the tags, the
/// handler's locals). Its compressibility is that of real events, not of a few random bytes.
pub fn realistic_event(recorded: &[Value], n: usize) -> Value {
    let mut event = recorded[n % recorded.len()].clone();
    let random = crate::helpers::new_event_id();
    event["event_id"] = json!(crate::helpers::new_event_id());
    event["timestamp"] = json!(tocsin::event::unix_now() - n as f64 * 0.37);
    event["user"] = json!({"id": n.to_string(), "email": format!("customer{n}@example.org")});
    event["contexts"]["trace"]["trace_id"] = json!(crate::helpers::new_event_id());
    event["contexts"]["trace"]["span_id"] = json!(random[..16]);
    event["tags"]["order"] = json!(format!("ORD-{}", &random[16..24]));
    if let Some(frame) = event
        .pointer_mut("/exception/values/0/stacktrace/frames")
        .and_then(Value::as_array_mut)
        .and_then(|frames| frames.last_mut())
    {
        frame["vars"]["request_id"] = json!(format!("'{}'", &random[..20]));
        frame["vars"]["attempt"] = json!((n % 4).to_string());
    }
    event
}

/// Posts `events` concurrently, 50 at a time; every one must be accepted.
pub async fn send_concurrently(app: &TestApp, events: &[Value]) {
    for chunk in events.chunks(50) {
        let sends: Vec<_> = chunk
            .iter()
            .map(|event| {
                let request = app.envelope_request(crate::helpers::envelope_of(event));
                tokio::spawn(async move { request.send().await.unwrap().status() })
            })
            .collect();
        for s in sends {
            assert_eq!(s.await.unwrap(), 200);
        }
    }
}

/// `(payload, dict_id)` of each stored event, by event id.
pub async fn stored_payloads(app: &TestApp) -> std::collections::HashMap<String, (Vec<u8>, Option<i64>)> {
    let sql = app.sql().await;
    let rows: Vec<(String, Vec<u8>, Option<i64>)> =
        crate::on_sql!(sql, |p| sqlx::query_as("SELECT event_id, payload, dict_id FROM events")
            .fetch_all(p)
            .await
            .unwrap());
    rows.into_iter()
        .map(|(id, payload, dict)| (id, (payload, dict)))
        .collect()
}

pub fn id_of(event: &Value) -> String {
    event["event_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_enough_events_payloads_shrink_with_a_trained_dictionary_and_every_event_stays_readable() {
    let mut app = spawn_app_with(&[]).await;
    let recorded = recorded_events();
    // Past the training threshold (500 events without a dictionary).
    let early: Vec<Value> = (0..550).map(|n| realistic_event(&recorded, n)).collect();
    send_concurrently(&app, &early).await;

    // The trainer stores the dictionary, then hands it to ingest: keep sending until an event
    // is compressed with it.
    let mut n = early.len();
    let mut probes = Vec::new();
    let dictionary = poll(
        "an event is compressed with a dictionary",
        Duration::from_secs(60),
        async || {
            let probe = realistic_event(&recorded, n);
            n += 1;
            app.send(&probe).await;
            let used = stored_payloads(&app).await[&id_of(&probe)].1;
            probes.push(probe);
            used.ok_or_else(|| "no event was ever compressed with a dictionary".to_string())
        },
    )
    .await;
    let late: Vec<Value> = (n..n + 40).map(|n| realistic_event(&recorded, n)).collect();
    send_concurrently(&app, &late).await;

    // Compare each late event's payload with the same JSON compressed without a dictionary (as
    // the early events were). Real events of one app share most of their text, which the
    // dictionary carries: these shrink to 5–13 % of that size; a third leaves a wide margin.
    let stored = stored_payloads(&app).await;
    for event in &early {
        assert_eq!(stored[&id_of(event)].1, None, "the early events predate the dictionary");
    }
    let codec = tocsin::event::codec::Codec::new();
    let db = app.database().await;
    let pool = db.read_pool().await.unwrap();
    tocsin::compression::load(&pool, &codec).await.unwrap();
    pool.close().await;
    let without_dictionary = tocsin::event::codec::Codec::new();
    let mut sizes = Vec::new();
    for event in &late {
        let (payload, dict) = &stored[&id_of(event)];
        assert_eq!(
            *dict,
            Some(dictionary),
            "every event after training uses the dictionary"
        );
        let json = codec.decompress(payload, *dict).unwrap();
        let (plain, none) = without_dictionary.compress(app.project_id, &json).unwrap();
        assert_eq!(none, None);
        sizes.push((payload.len(), plain.len()));
    }
    assert!(
        sizes.iter().all(|(with, without)| with * 3 < *without),
        "each payload is under a third of its size without the dictionary (with, without): {sizes:?}"
    );

    // Through a restart (dictionaries are loaded again), old and new events read back whole.
    app.kill();
    app.start();
    for event in early.iter().chain(&probes).chain(&late) {
        let read = app.event_json("default", &id_of(event)).await;
        let order = json!({"key": "order", "value": event["tags"]["order"]});
        let last_vars = |e: &Value| {
            e.pointer("/exception/values/0/stacktrace/frames")
                .map(|f| f[f.as_array().unwrap().len() - 1]["vars"].clone())
        };
        assert_eq!(read["user"], event["user"], "{read}");
        assert_eq!(
            read["contexts"]["trace"]["trace_id"], event["contexts"]["trace"]["trace_id"],
            "{read}"
        );
        assert!(read["tags"].as_array().unwrap().contains(&order), "{read}");
        assert_eq!(last_vars(&read), last_vars(event), "{read}");
    }
}
