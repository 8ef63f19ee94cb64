//! A 200 means stored: through a SIGKILL, and under overload (429, never a silent drop).

use std::time::Duration;

use tokio::sync::mpsc;

use crate::helpers::{TestApp, envelope_of, error_event, new_event_id, spawn_app, spawn_app_with};

/// Posts one event; `Some(status)` or `None` when the connection failed (server gone).
async fn post(app_client: &reqwest::Client, url: &str, auth: &str, event_id: &str) -> Option<u16> {
    let mut event = error_event();
    event["event_id"] = event_id.into();
    let resp = app_client
        .post(url)
        .header("X-Sentry-Auth", auth)
        .body(envelope_of(&event))
        .send()
        .await
        .ok()?;
    Some(resp.status().as_u16())
}

fn envelope_url(app: &TestApp) -> String {
    app.url(&format!("/api/{}/envelope/", app.project_id))
}

/// Eight clients posting events back to back (at most 2,000 each); the ids answered 200 arrive
/// on the channel. A client stops at its first failed connection; any other status than 200
/// fails the test when `only_200`, else stops that client too (a server shutting down may
/// answer 503).
fn start_senders(app: &TestApp, only_200: bool) -> (Vec<tokio::task::JoinHandle<()>>, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let mut senders = Vec::new();
    for _ in 0..8 {
        let (client, url, auth, tx) = (
            app.client.clone(),
            envelope_url(app),
            crate::helpers::sentry_auth(&app.key),
            tx.clone(),
        );
        senders.push(tokio::spawn(async move {
            for _ in 0..2_000 {
                let id = new_event_id();
                match post(&client, &url, &auth, &id).await {
                    Some(200) => {
                        if tx.send(id).is_err() {
                            return;
                        }
                    }
                    Some(status) if only_200 => panic!("unexpected status {status} before the crash"),
                    Some(_) | None => return,
                }
            }
        }));
    }
    (senders, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_answered_200_survives_a_sigkill_of_the_server() {
    let mut app = spawn_app().await;
    let (senders, mut rx) = start_senders(&app, true);
    let mut accepted = Vec::new();
    while accepted.len() < 300 {
        let id = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("events are accepted")
            .expect("senders are running");
        accepted.push(id);
    }
    // Kill mid-stream: senders are still posting.
    app.kill();
    for sender in senders {
        sender.await.unwrap();
    }
    while let Ok(id) = rx.try_recv() {
        accepted.push(id);
    }

    app.start();
    for id in &accepted {
        let resp = app.get_event("default", id).await;
        assert_eq!(
            resp.status(),
            200,
            "event {id} was answered 200 before the crash but is gone"
        );
    }
    assert!(app.stored_event_count().await >= accepted.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_write_queue_answers_429_with_retry_after_and_keeps_every_event_it_accepted() {
    let app = spawn_app_with(&["--queue-capacity", "2"]).await;
    // Hold SQLite's write lock from outside, so the writer waits at BEGIN IMMEDIATE while
    // requests pile up: at most one batch (≤ 2) plus a full queue (2) can be pending.
    let mut lock = app.sql_writer().await;
    sqlx::query("BEGIN IMMEDIATE").execute(&mut lock).await.unwrap();

    const REQUESTS: usize = 20;
    let (tx, mut rx) = mpsc::unbounded_channel();
    for _ in 0..REQUESTS {
        let (client, url, auth, tx) = (
            app.client.clone(),
            envelope_url(&app),
            crate::helpers::sentry_auth(&app.key),
            tx.clone(),
        );
        tokio::spawn(async move {
            let mut event = error_event();
            let id = new_event_id();
            event["event_id"] = id.clone().into();
            let resp = client
                .post(&url)
                .header("X-Sentry-Auth", &auth)
                .body(envelope_of(&event))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let limits = resp
                .headers()
                .get("x-sentry-rate-limits")
                .map(|v| v.to_str().unwrap().to_string());
            let body: serde_json::Value = resp.json().await.unwrap();
            tx.send((id, status, retry_after, limits, body)).unwrap();
        });
    }
    drop(tx);
    let mut results = Vec::new();
    for _ in 0..REQUESTS - 4 {
        results.push(
            tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    for (_, status, retry_after, limits, body) in &results {
        assert_eq!(*status, 429, "only the refused can answer while the writer is blocked");
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert_eq!(limits.as_deref(), Some("1::organization"));
        assert!(body["detail"].as_str().unwrap().contains("retry"), "{body}");
    }
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    while let Some(result) = rx.recv().await {
        results.push(result);
    }
    let accepted: Vec<&String> = results.iter().filter(|r| r.1 == 200).map(|r| &r.0).collect();
    assert!(results.iter().all(|r| r.1 == 200 || r.1 == 429), "only 200 or 429");
    assert!(
        !accepted.is_empty(),
        "the queued events are stored once the lock is released"
    );
    assert_eq!(app.stored_event_count().await, accepted.len() as i64);
    for id in accepted {
        assert_eq!(app.get_event("default", id).await.status(), 200);
    }
}

#[tokio::test]
async fn ingest_is_refused_with_503_while_the_disk_is_nearly_full() {
    // Demand 4 EiB free: no real disk has it, so the guard must refuse.
    let app = spawn_app_with(&["--min-free-disk", "4611686018427387904"]).await;
    let resp = app.post_envelope(envelope_of(&error_event())).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("disk is nearly full"),
        "{body}"
    );
    assert_eq!(app.stored_event_count().await, 0);
    // The rest of the server keeps working.
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_events_arrive_restores_into_a_working_server() {
    let app = spawn_app().await;
    for _ in 0..20 {
        app.send(&error_event()).await;
    }
    // Events keep arriving while the backup runs.
    let (client, url, auth) = (
        app.client.clone(),
        envelope_url(&app),
        crate::helpers::sentry_auth(&app.key),
    );
    let writer = tokio::spawn(async move {
        for _ in 0..200 {
            assert_eq!(post(&client, &url, &auth, &new_event_id()).await, Some(200));
        }
    });
    let file = app.data_dir.with_file_name("backup.db");
    let out = app.cli(&["backup", file.to_str().unwrap()]);
    assert!(out.success, "{}", out.stderr);
    assert!(out.stdout.contains("backed up"), "{}", out.stdout);
    writer.await.unwrap();
    let again = app.cli(&["backup", file.to_str().unwrap()]);
    assert!(!again.success, "a backup never overwrites a file");

    // Restore: a fresh data directory holding only the copy.
    let mut restored = spawn_app().await;
    restored.kill();
    std::fs::remove_dir_all(&restored.data_dir).unwrap();
    std::fs::create_dir_all(&restored.data_dir).unwrap();
    std::fs::copy(&file, restored.data_dir.join("tocsin.db")).unwrap();
    restored.start();
    restored.token = restored.cli(&["token", "create", "restore"]).last_line().to_string();
    let (status, _, issues) = restored.api_get("/api/0/projects/default/default/issues/").await;
    assert_eq!(status, 200);
    let issue = &issues.as_array().unwrap()[0];
    let count: i64 = issue["count"].as_str().unwrap().parse().unwrap();
    assert!((20..=220).contains(&count), "{issue}");
    let id = issue["id"].as_str().unwrap();
    let (status, _, latest) = restored.api_get(&format!("/api/0/issues/{id}/events/latest/")).await;
    assert_eq!(status, 200);
    assert_eq!(latest["exception"]["values"][0]["type"], "ZeroDivisionError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_answers_what_it_accepted_commits_it_and_exits_within_ten_seconds() {
    let mut app = spawn_app().await;
    // After SIGTERM new connections are refused or answered 503: both end a client.
    let (senders, mut rx) = start_senders(&app, false);
    let mut accepted = Vec::new();
    while accepted.len() < 200 {
        accepted.push(rx.recv().await.expect("events are accepted"));
    }
    let (took, clean) = tokio::task::block_in_place(|| app.terminate());
    assert!(clean, "the server exits with success on SIGTERM:\n{}", app.server_log());
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    for s in senders {
        s.await.unwrap();
    }
    while let Some(id) = rx.recv().await {
        accepted.push(id);
    }
    assert_eq!(
        app.stored_event_count().await,
        accepted.len() as i64,
        "every event answered 200 is stored, and nothing else"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_sigkills_under_load_lose_nothing_answered_store_nothing_twice_and_keep_counters_exact() {
    // Retention off: with it, counters rightly exceed the events kept.
    let mut app = spawn_app_with(&["--retention-max-events", "10000000"]).await;
    let mut accepted: Vec<String> = Vec::new();
    for round in 0..10 {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let mut senders = Vec::new();
        for worker in 0..8 {
            let (client, url, auth, tx) = (
                app.client.clone(),
                envelope_url(&app),
                crate::helpers::sentry_auth(&app.key),
                tx.clone(),
            );
            senders.push(tokio::spawn(async move {
                for n in 0..5_000 {
                    let mut event = error_event();
                    // Five issues, so issue counters are exercised as well as events.
                    event["exception"]["values"][0]["type"] = format!("Crash{}Error", (worker + n) % 5).into();
                    let id = event["event_id"].as_str().unwrap().to_string();
                    let sent = client
                        .post(&url)
                        .header("X-Sentry-Auth", &auth)
                        .body(crate::helpers::envelope_of(&event))
                        .send()
                        .await;
                    match sent.map(|r| r.status().as_u16()) {
                        Ok(200) => {
                            if tx.send(id).is_err() {
                                return;
                            }
                        }
                        Ok(status) => panic!("unexpected status {status} before the kill"),
                        Err(_) => return,
                    }
                }
            }));
        }
        drop(tx);
        // A random moment: 150 to 900 ms into the load.
        let wait = 150 + (uuid::Uuid::new_v4().as_u128() % 750) as u64;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        app.kill();
        for s in senders {
            s.await.unwrap();
        }
        let before = accepted.len();
        while let Some(id) = rx.recv().await {
            accepted.push(id);
        }
        // This round's own acceptances: the total would pass on the first round's alone.
        assert!(
            accepted.len() > before,
            "round {round} accepted no event before the kill"
        );
        app.start();
    }

    let pool = app.sql_reader().await;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let stored: std::collections::HashSet<String> = sqlx::query_scalar("SELECT event_id FROM events")
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows as usize, stored.len(), "no event is stored twice");
    let missing: Vec<&String> = accepted.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} accepted events lost",
        missing.len(),
        accepted.len()
    );
    let mismatched: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT i.id, i.times_seen, (SELECT COUNT(*) FROM events e WHERE e.issue_id = i.id) AS n \
         FROM issues i WHERE i.times_seen != (SELECT COUNT(*) FROM events e WHERE e.issue_id = i.id)",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        mismatched.is_empty(),
        "issue counters differ from stored events: {mismatched:?}"
    );
    let hourly: i64 = sqlx::query_scalar("SELECT SUM(count) FROM issue_hourly")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(hourly, rows, "hourly counts add up to the stored events");
    pool.close().await;
}

#[tokio::test]
async fn a_batch_that_fails_half_way_through_its_writes_stores_none_of_it_and_the_next_batch_commits() {
    use tocsin::store::{EventRow, IssueFacts};
    let app = spawn_app().await;
    // Make a batch's writes fail after its events and issues are in: a tag value inserted
    // later in the same transaction aborts. First on the general path (the batch creates its
    // issues), then on the fast path (its issues exist).
    let mut side = app.sql_writer().await;
    sqlx::query(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON issue_tag_values WHEN NEW.value = 'boom' \
         BEGIN SELECT RAISE(ABORT, 'boom refused'); END",
    )
    .execute(&mut side)
    .await
    .expect("trigger");
    let (handle, _task) = app.spawn_writer().await;
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let row = |hash: &str, tag: &str| EventRow {
        project_id: app.project_id,
        event_id: new_event_id(),
        timestamp: at,
        received: at,
        level: "error",
        platform: "python".into(),
        release: None,
        environment: None,
        user_key: Some("alice".into()),
        tags: vec![("k".into(), tag.into())],
        issue: IssueFacts {
            grouping_config: "test",
            hashes: vec![hash.into()],
            title: "ValueError".into(),
            ..IssueFacts::default()
        },
        payload: Vec::new(),
        dict_id: None,
    };
    // Both writes are queued before the writer runs again (one-thread runtime): one batch.
    let (fine, boom) = tokio::join!(handle.write(row("a", "fine")), handle.write(row("b", "boom")));
    assert!(
        fine.is_err() && boom.is_err(),
        "the whole batch fails: {fine:?} {boom:?}"
    );
    assert_eq!(
        app.stored_event_count().await,
        0,
        "nothing of the failed batch is stored"
    );
    let issues: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM issues")
        .fetch_one(&mut side)
        .await
        .unwrap();
    assert_eq!(issues, 0, "the issues it created are gone with it");
    // The writer's connection was left outside any transaction: the next batch commits.
    let outcome = handle.write(row("a", "fine")).await.expect("the next batch commits");
    assert!(outcome.inserted && outcome.new_issue);
    assert_eq!(app.stored_event_count().await, 1);
    // The same on the fast path, which takes batches whose issues all exist already.
    let (fine, boom) = tokio::join!(handle.write(row("a", "fine")), handle.write(row("a", "boom")));
    assert!(
        fine.is_err() && boom.is_err(),
        "the whole batch fails: {fine:?} {boom:?}"
    );
    assert_eq!(app.stored_event_count().await, 1, "nothing of it is stored");
    let outcome = handle.write(row("a", "fine")).await.expect("the next batch commits");
    assert!(outcome.inserted && !outcome.new_issue);
    assert_eq!(app.stored_event_count().await, 2);
    let seen: i64 = sqlx::query_scalar("SELECT times_seen FROM issues")
        .fetch_one(&mut side)
        .await
        .unwrap();
    assert_eq!(seen, 2, "counters count committed events only");
}

#[tokio::test]
async fn committed_events_reach_the_database_file_through_checkpoints_beside_the_writer() {
    let app = spawn_app().await;
    let file = app.data_dir.join("tocsin.db");
    let size = || std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let before = size();
    // In WAL mode only a checkpoint writes the database file. The writer checkpoints itself
    // only past 64 MiB of WAL, far more than these events take, so the file grows only if
    // the background checkpointer copies their commits into it.
    for _ in 0..40 {
        let mut event = error_event();
        event["extra"] = serde_json::json!({ "filler": "x".repeat(4_000) });
        let answer = app.post_envelope(envelope_of(&event)).await;
        assert_eq!(answer.status(), 200);
    }
    crate::helpers::poll(
        "a checkpoint writes the database file",
        Duration::from_secs(10),
        async || match size() {
            now if now > before => Ok(()),
            now => Err(format!("it stayed at {now} bytes")),
        },
    )
    .await;
}
