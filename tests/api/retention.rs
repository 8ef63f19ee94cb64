//! Retention: per-project limits thin stored events in the background, keep each issue's key
//! events, never touch the counters, and hand freed pages back to the file system.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_event, spawn_app_with};

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
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn pragma(app: &TestApp, name: &str) -> i64 {
    let db = tocsin::store::Database::open(&app.data_dir, tocsin::config::Synchronous::Normal)
        .await
        .unwrap();
    let pool = db.read_pool().await.unwrap();
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
    let db = tocsin::store::Database::open(&app.data_dir, tocsin::config::Synchronous::Normal)
        .await
        .unwrap();
    let pool = db.read_pool().await.unwrap();
    let hourly: i64 = sqlx::query_scalar("SELECT SUM(count) FROM issue_hourly WHERE issue_id = ?")
        .bind(id.parse::<i64>().unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
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
    // Make four of them two days old, straight in the SQLite file (the server keeps running;
    // SQLite's lock serialises us with its writer).
    let db = tocsin::store::Database::open(&app.data_dir, tocsin::config::Synchronous::Normal)
        .await
        .unwrap();
    let mut conn = db.write_connection().await.unwrap();
    for id in &ids[..4] {
        sqlx::query("UPDATE events SET received = received - 2 * 86400 WHERE event_id = ?")
            .bind(id)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    drop(conn);

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
    let before = pragma(&app, "page_count").await;
    let id = issue(&app, "BulkyError").await["id"].as_str().unwrap().to_string();
    let status = app.api_delete(&format!("/api/0/issues/{id}/")).await;
    assert!((200..300).contains(&status), "{status}");
    assert_eq!(app.stored_event_count().await, 0);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_enough_events_payloads_shrink_with_a_trained_dictionary_and_every_event_stays_readable() {
    let mut app = spawn_app_with(&[]).await;
    // Past the training threshold (500 events), sent concurrently to keep the test short.
    let mut early = Vec::new();
    for chunk in 0..11 {
        let sends: Vec<_> = (0..50)
            .map(|_| {
                let event = event_of(&format!("Variant{}Error", chunk % 3));
                let id = event["event_id"].as_str().unwrap().to_string();
                let client = app.client.clone();
                let url = app.url(&format!("/api/{}/envelope/", app.project_id));
                let auth = crate::helpers::sentry_auth(&app.key);
                tokio::spawn(async move {
                    let resp = client
                        .post(url)
                        .header("X-Sentry-Auth", auth)
                        .body(crate::helpers::envelope_of(&event))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(resp.status(), 200);
                    id
                })
            })
            .collect();
        for s in sends {
            early.push(s.await.unwrap());
        }
    }
    let dictionaries = || async {
        let db = tocsin::store::Database::open(&app.data_dir, tocsin::config::Synchronous::Normal)
            .await
            .unwrap();
        let pool = db.read_pool().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dictionaries")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    };
    eventually("a dictionary is trained", || async { dictionaries().await == 1 }).await;
    let late = send_all(&app, "Variant1Error", 5).await;

    let db = tocsin::store::Database::open(&app.data_dir, tocsin::config::Synchronous::Normal)
        .await
        .unwrap();
    let pool = db.read_pool().await.unwrap();
    let sizes: Vec<(Option<i64>, f64)> =
        sqlx::query_as("SELECT dict_id, AVG(LENGTH(payload)) FROM events GROUP BY dict_id ORDER BY dict_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    let (plain, with_dict) = (sizes[0].1, sizes.last().unwrap().1);
    assert!(sizes.last().unwrap().0.is_some(), "{sizes:?}");
    assert!(
        with_dict * 2.0 < plain,
        "payloads shrink with the dictionary: {sizes:?}"
    );

    // Through a restart (dictionaries are loaded again), old and new events read back whole.
    app.kill();
    app.start();
    for id in [&early[0], &early[549], &late[4]] {
        let event = app.event_json("default", id).await;
        assert_eq!(event["exception"]["values"][0]["value"], "it broke", "{event}");
    }
}
