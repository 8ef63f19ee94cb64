//! Several `tocsin serve` nodes on one PostgreSQL database: what must hold across nodes.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, accepted_id, activity_kinds, error_event, poll, spawn_app_with, spawn_node_of};
use crate::receivers::SmtpSink;

/// An error event grouped by `fingerprint`, from `user`.
fn event(fingerprint: &str, user: &str) -> Value {
    let mut event = error_event();
    event["fingerprint"] = json!([fingerprint]);
    event["exception"]["values"][0]["type"] = json!(format!("Err{fingerprint}"));
    event["user"] = json!({ "id": user });
    event["tags"] = json!({ "shard": user });
    event
}

/// Every issue of the default project, by title.
async fn issues_by_title(app: &TestApp) -> HashMap<String, Value> {
    let (status, _, list) = app
        .api_get("/api/0/projects/default/default/issues/?query=&limit=100")
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["title"].as_str().unwrap().split(':').next().unwrap().to_string(),
                i.clone(),
            )
        })
        .collect()
}

/// Sends `events` spread over `nodes` (event i to node i mod n), all at once; each must be
/// answered 200.
async fn send_spread(nodes: &[&TestApp], events: Vec<Value>) {
    let sends = events.into_iter().enumerate().map(|(i, e)| {
        let node = nodes[i % nodes.len()];
        async move { node.send(&e).await }
    });
    futures_util::future::join_all(sends).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_events_of_a_new_fingerprint_on_two_nodes_at_once_make_one_issue() {
    let a = spawn_app_with(&[]).await;
    let b = spawn_node_of(&a, &[]).await;
    // 12 new fingerprints, each arriving on both nodes in the same instant, twice.
    let events: Vec<Value> = (0..12)
        .flat_map(|fp| (0..4).map(move |n| event(&format!("Race{fp}"), &format!("u{n}"))))
        .collect();
    send_spread(&[&a, &b], events).await;

    let issues = issues_by_title(&a).await;
    assert_eq!(issues.len(), 12, "one issue per fingerprint: {:?}", issues.keys());
    let mut short_ids = HashSet::new();
    for (title, issue) in &issues {
        assert_eq!(issue["count"], "4", "{title}: {issue}");
        assert!(
            short_ids.insert(issue["shortId"].as_str().unwrap().to_string()),
            "{issue}"
        );
    }
    let expected: HashSet<String> = (1..=12).map(|n| format!("DEFAULT-{n}")).collect();
    assert_eq!(short_ids, expected, "short ids stay unique and dense");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counters_stay_exact_when_three_nodes_take_events_of_the_same_issues_at_once() {
    let a = spawn_app_with(&[]).await;
    let b = spawn_node_of(&a, &[]).await;
    let c = spawn_node_of(&a, &[]).await;
    // 240 events: 4 issues, 7 users, the same tag values written by every node at once.
    let events: Vec<Value> = (0..240)
        .map(|n| event(&format!("Busy{}", n % 4), &format!("user{}", n % 7)))
        .collect();
    send_spread(&[&a, &b, &c], events).await;

    let issues = issues_by_title(&b).await;
    assert_eq!(issues.len(), 4, "{:?}", issues.keys());
    for (title, issue) in &issues {
        assert_eq!(issue["count"], "60", "{title}: {issue}");
        assert_eq!(issue["userCount"], 7, "{title}: {issue}");
        let id = issue["id"].as_str().unwrap();
        let (_, _, tag) = c.api_get(&format!("/api/0/issues/{id}/tags/shard/")).await;
        assert_eq!(tag["totalValues"], 60, "{title}: {tag}");
        assert_eq!(tag["uniqueValues"], 7, "{title}: {tag}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_resolved_issue_seen_again_on_three_nodes_at_once_regresses_once() {
    let a = spawn_app_with(&[]).await;
    let b = spawn_node_of(&a, &[]).await;
    let c = spawn_node_of(&a, &[]).await;
    let out = a.cli(&["alerts", "add", "--project", "default", "--email", "oncall@example.org"]);
    assert!(out.success, "{}", out.stderr);
    send_spread(&[&a], vec![event("Again", "u0")]).await;
    let issue = issues_by_title(&a).await.remove("ErrAgain").expect("the issue");
    let path = format!("/api/0/issues/{}/", issue["id"].as_str().unwrap());
    let (status, resolved) = b.api_put(&path, &json!({"status": "resolved"})).await;
    assert_eq!(status, 200, "{resolved}");

    // Each node's batch reads the issue's status and may reopen it; the first to lock the
    // issue does, the others find it unresolved.
    send_spread(
        &[&a, &b, &c],
        (0..90).map(|n| event("Again", &format!("u{}", n % 5))).collect(),
    )
    .await;
    let (_, _, issue) = c.api_get(&path).await;
    assert_eq!(issue["status"], "unresolved");
    assert_eq!(issue["count"], "91");
    let (_, _, activity) = a.api_get(&format!("{path}activity/")).await;
    let kinds = activity_kinds(&activity);
    assert_eq!(kinds, ["first_seen", "set_resolved", "set_regression"], "{activity}");
    let triggers: Vec<String> = a.outbox().await.into_iter().map(|r| r.trigger).collect();
    assert_eq!(triggers, ["new", "regression"], "one notification per change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_issue_resolved_while_a_batch_of_its_events_waits_for_it_is_reopened_by_that_batch() {
    use sqlx::Connection;
    let a = spawn_app_with(&[]).await;
    a.send(&event("Held", "u0")).await;
    let issue = issues_by_title(&a).await.remove("ErrHeld").expect("the issue");
    let id: i64 = issue["id"].as_str().unwrap().parse().unwrap();
    // Another session (another node's batch, say) holds the issue's row, so the next event's
    // batch reads the issue unresolved and then waits for the row; meanwhile that session
    // resolves the issue and commits.
    let url = a.database_url.clone().expect("a PostgreSQL node");
    let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut watcher = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query("SELECT id FROM issues WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_one(&mut other)
        .await
        .unwrap();
    let resolve_meanwhile = async {
        poll(
            "the batch waits for the issue's row",
            Duration::from_secs(30),
            async || {
                let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
            )
            .fetch_one(&mut watcher)
            .await
            .unwrap();
                if waiting > 0 {
                    Ok(())
                } else {
                    Err("no session waits".to_string())
                }
            },
        )
        .await;
        sqlx::query("UPDATE issues SET status = 'resolved', resolved_at = $2 WHERE id = $1")
            .bind(id)
            .bind(issue_time_now())
            .execute(&mut other)
            .await
            .unwrap();
        sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    };
    let second = event("Held", "u1");
    tokio::join!(a.send(&second), resolve_meanwhile);

    // The event came after the resolution, so it reopened the issue.
    let (_, _, issue) = a.api_get(&format!("/api/0/issues/{id}/")).await;
    assert_eq!(issue["status"], "unresolved", "{issue}");
    assert_eq!(issue["count"], "2", "{issue}");
    let (_, _, activity) = a.api_get(&format!("/api/0/issues/{id}/activity/")).await;
    assert_eq!(
        activity_kinds(&activity),
        ["first_seen", "set_regression"],
        "{activity}"
    );
}

/// Now, as the store writes times: epoch seconds.
fn issue_time_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_issue_seen_on_every_node_sends_one_mail() {
    let sink = SmtpSink::start();
    let port = sink.port.to_string();
    let args = ["--smtp-host", "127.0.0.1", "--smtp-port", port.as_str()];
    let a = spawn_app_with(&args).await;
    let b = spawn_node_of(&a, &args).await;
    let c = spawn_node_of(&a, &args).await;
    let out = a.cli(&["alerts", "add", "--project", "default", "--email", "oncall@example.org"]);
    assert!(out.success, "{}", out.stderr);
    send_spread(
        &[&a, &b, &c],
        (0..6).map(|n| event("Alarm", &format!("u{n}"))).collect(),
    )
    .await;

    // Every dispatcher polls the same outbox; once its one row is delivered, whatever the
    // sink holds is everything that was sent.
    let rows = poll("the notification is delivered", Duration::from_secs(30), async || {
        let rows = a.outbox().await;
        if !rows.is_empty() && rows.iter().all(|r| r.state == "delivered") {
            Ok(rows)
        } else {
            Err(format!("{rows:?}"))
        }
    })
    .await;
    assert_eq!(rows.len(), 1, "one notification for one new issue: {rows:?}");
    assert_eq!(sink.mails().len(), 1, "mailed once, not once per node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frequency_rule_crossed_by_events_on_three_nodes_at_once_fires_once() {
    let a = spawn_app_with(&[]).await;
    let b = spawn_node_of(&a, &[]).await;
    let c = spawn_node_of(&a, &[]).await;
    let (status, channel) = a
        .api_post(
            "/api/0/projects/default/default/alerts/",
            &json!({"kind": "webhook", "target": "http://127.0.0.1:9/none", "triggers": []}),
        )
        .await;
    assert_eq!(status, 201, "{channel}");
    let (status, rule) = a
        .api_post(
            "/api/0/projects/default/default/rules/",
            &json!({"name": "Bursts", "frequency": 30, "actions": [{"channel": channel["id"]}],
                    "conditions": [{"id": "sentry.rules.conditions.event_frequency.EventFrequencyCondition",
                                    "value": 10, "interval": "5m"}]}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    // 30 events of one issue within one minute, ten on each node at the same time: the
    // counts of every node add up, and only one node may fire the rule for the issue.
    let base = ((tocsin::event::unix_now() - 600.0) / 60.0).floor() * 60.0;
    let events = (0..30)
        .map(|i| {
            let mut e = event("Burst", &format!("u{i}"));
            e["timestamp"] = json!(base + f64::from(i));
            e
        })
        .collect();
    send_spread(&[&a, &b, &c], events).await;
    let fired: Vec<_> = a
        .outbox()
        .await
        .into_iter()
        .filter(|r| r.trigger == "frequency")
        .collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    let (_, _, issues) = a.api_get("/api/0/projects/default/default/issues/?query=").await;
    assert_eq!(issues[0]["count"], "30", "{issues}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_project_changed_by_the_cli_takes_effect_on_every_node_within_a_second() {
    let a = spawn_app_with(&[]).await;
    let b = spawn_node_of(&a, &[]).await;
    let created = a.cli(&["project", "create", "shop"]);
    assert!(created.success, "{}", created.stderr);
    let dsn = created.last_line().to_string();
    let key = dsn.split("://").nth(1).unwrap().split('@').next().unwrap().to_string();
    let project_id = dsn.rsplit('/').next().unwrap().to_string();
    let send = |node: &TestApp| {
        node.client
            .post(node.url(&format!("/api/{project_id}/store/")))
            .header("x-sentry-auth", crate::helpers::sentry_auth(&key))
            .json(&error_event())
            .send()
    };
    // Both nodes accept the key, so both have its project (without a rate limit) cached for
    // far longer than a second.
    for node in [&a, &b] {
        accepted_id(send(node).await.unwrap()).await;
    }
    // A rate limit set by the CLI, a process of its own: only the database can tell the
    // nodes. Within a second each refuses the project's second event of the minute.
    let set = a.cli(&["project", "set", "shop", "--rate-limit", "1"]);
    assert!(set.success, "{}", set.stderr);
    for node in [&b, &a] {
        poll("the new rate limit holds", Duration::from_secs(1), async || {
            let status = send(node).await.map_err(|e| e.to_string())?.status().as_u16();
            if status == 429 {
                Ok(())
            } else {
                Err(format!("answered {status}"))
            }
        })
        .await;
    }
    // Deleting the project refuses its key everywhere too.
    let deleted = a.cli(&["project", "delete", "shop"]);
    assert!(deleted.success, "{}", deleted.stderr);
    for node in [&b, &a] {
        poll(
            "the deleted project's key is refused",
            Duration::from_secs(1),
            async || {
                let status = send(node).await.map_err(|e| e.to_string())?.status().as_u16();
                if status == 403 {
                    Ok(())
                } else {
                    Err(format!("answered {status}"))
                }
            },
        )
        .await;
    }
}

/// A client that keeps cookies (for every node: same host, other ports) and shows redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Fills in and posts the sign-in form of `node`; returns the status.
async fn sign_in(client: &reqwest::Client, node: &TestApp, email: &str, password: &str) -> u16 {
    let form = client
        .get(node.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = form
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-in form has a token")
        .to_string();
    client
        .post(node.url("/login"))
        .form(&[("email", email), ("password", password), ("form_token", token.as_str())])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_signed_in_on_one_node_works_on_another() {
    let a = spawn_app_with(&[]).await;
    let b = spawn_node_of(&a, &[]).await;
    a.create_user("dev@example.org", "long enough secret");
    let client = browser();
    assert_eq!(sign_in(&client, &a, "dev@example.org", "long enough secret").await, 303);
    // The cookie store sends A's session cookie to B.
    let page = client.get(b.url("/issues/")).send().await.unwrap();
    assert_eq!(page.status(), 200, "node B knows the session node A made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_passwords_spread_over_two_nodes_lock_the_account_on_both() {
    let a = spawn_app_with(&[]).await;
    let b = spawn_node_of(&a, &[]).await;
    a.create_user("dev@example.org", "long enough secret");
    // Ten guesses, five per node: each node alone would allow more.
    for n in 0..10 {
        let node = if n % 2 == 0 { &a } else { &b };
        assert_eq!(sign_in(&browser(), node, "dev@example.org", "wrong guess").await, 401);
    }
    for node in [&a, &b] {
        assert_eq!(
            sign_in(&browser(), node, "dev@example.org", "long enough secret").await,
            429,
            "the account is locked on every node"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_under_load_loses_no_acknowledged_event_and_the_other_keeps_serving() {
    let mut a = spawn_app_with(&[]).await;
    let b = spawn_node_of(&a, &[]).await;
    let (a_url, b_url) = (a.url("/api/1/store/"), b.url("/api/1/store/"));
    let auth = crate::helpers::sentry_auth(&a.key);
    let client = a.client.clone();
    // Four senders per node, each sending until told to stop; every 200 is recorded.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for (n, url) in (0..8).map(|n| (n, if n % 2 == 0 { a_url.clone() } else { b_url.clone() })) {
        let (client, auth, stop) = (client.clone(), auth.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut refused_after_stop = 0;
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let e = event(&format!("Load{}", i % 5), &format!("s{n}"));
                i += 1;
                match client.post(&url).header("x-sentry-auth", &auth).json(&e).send().await {
                    Ok(r) if r.status() == 200 => acked.push(e["event_id"].as_str().unwrap().to_string()),
                    _ => refused_after_stop += 1,
                }
            }
            (n, acked, refused_after_stop)
        }));
    }
    // Kill node A once both have acknowledged some events.
    poll("both nodes store events", Duration::from_secs(30), async || {
        let n = b.stored_event_count().await;
        if n >= 100 { Ok(()) } else { Err(format!("{n} stored")) }
    })
    .await;
    a.kill();
    let before = b.stored_event_count().await;
    poll(
        "node B keeps storing after A died",
        Duration::from_secs(30),
        async || {
            let n = b.stored_event_count().await;
            if n >= before + 100 {
                Ok(())
            } else {
                Err(format!("{n} stored"))
            }
        },
    )
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acked = Vec::new();
    for s in senders {
        let (n, ids, _) = s.await.unwrap();
        if n % 2 == 1 {
            assert!(ids.len() > 10, "node B's sender {n} kept being served");
        }
        acked.extend(ids);
    }
    b.assert_stored(&acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_project_rate_limit_holds_for_the_cluster_not_per_node() {
    use crate::quotas::{minute, not_near_a_minute_boundary, post};
    let a = spawn_app_with(&[]).await;
    let b = spawn_node_of(&a, &[]).await;
    let c = spawn_node_of(&a, &[]).await;
    let out = a.cli(&["project", "set", "default", "--rate-limit", "5"]);
    assert!(out.success, "{}", out.stderr);
    let started_in = not_near_a_minute_boundary().await;
    // 15 events, each node taking every third, all at once: per node, 5 would each be fine.
    let sends = (0..15).map(|n| {
        let node = [&a, &b, &c][n % 3];
        async move { post(node).await.0 }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert_eq!(minute(), started_in, "the burst ran into the next minute: {statuses:?}");
    let accepted = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((accepted, refused), (5, 10), "{statuses:?}");
    assert_eq!(a.stored_event_count().await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_alert_flood_guard_counts_the_notifications_of_every_node() {
    // A flood limit of 3 per (hour-long) window, on a channel for regressions.
    let args = ["--alert-flood-limit", "3"];
    let a = spawn_app_with(&args).await;
    let b = spawn_node_of(&a, &args).await;
    let c = spawn_node_of(&a, &args).await;
    let (status, channel) = a
        .api_post(
            "/api/0/projects/default/default/alerts/",
            &json!({"kind": "email", "target": "oncall@example.org", "triggers": ["regression"]}),
        )
        .await;
    assert_eq!(status, 201, "{channel}");
    // Twelve resolved issues; then each regresses at once, on any of three nodes. (New issues
    // would not show a race: creating one locks its project's row until the commit.)
    for n in 0..12 {
        a.send(&event(&format!("Flood{n}"), "u")).await;
    }
    for issue in issues_by_title(&a).await.values() {
        let path = format!("/api/0/issues/{}/", issue["id"].as_str().unwrap());
        assert_eq!(a.api_put(&path, &json!({"status": "resolved"})).await.0, 200);
    }
    send_spread(
        &[&a, &b, &c],
        (0..12).map(|n| event(&format!("Flood{n}"), "u")).collect(),
    )
    .await;

    let rows = a.outbox().await;
    let regressions: Vec<_> = rows.iter().filter(|r| r.trigger == "regression").collect();
    assert_eq!(regressions.len(), 12, "{rows:?}");
    let sent = regressions.iter().filter(|r| r.state != "suppressed").count();
    assert_eq!(sent, 3, "three go out, whichever nodes made them: {rows:?}");
    let summaries: Vec<_> = rows.iter().filter(|r| r.trigger == "summary").collect();
    assert_eq!(summaries.len(), 1, "one summary for the cluster: {rows:?}");
    let payload: Value = serde_json::from_str(&summaries[0].payload).unwrap();
    assert_eq!(payload["suppressed"], 9, "{payload}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn notifications_due_on_three_nodes_at_once_are_each_mailed_once() {
    // The SMTP server is down at first: every notification fails once and is retried a second
    // later, so all three nodes' dispatchers find the same rows due at the same moment.
    let mut sink = SmtpSink::down();
    let port = sink.port.to_string();
    let args = [
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        port.as_str(),
        "--alert-retry-seconds",
        "1",
        "--alert-flood-limit",
        "100",
    ];
    let a = spawn_app_with(&args).await;
    let b = spawn_node_of(&a, &args).await;
    let c = spawn_node_of(&a, &args).await;
    let out = a.cli(&["alerts", "add", "--project", "default", "--email", "oncall@example.org"]);
    assert!(out.success, "{}", out.stderr);
    send_spread(&[&a, &b, &c], (0..24).map(|n| event(&format!("Due{n}"), "u")).collect()).await;
    poll(
        "every notification was tried once",
        Duration::from_secs(30),
        async || {
            let rows = a.outbox().await;
            if rows.len() == 24 && rows.iter().all(|r| r.attempts >= 1 && r.state == "pending") {
                Ok(())
            } else {
                Err(format!("{rows:?}"))
            }
        },
    )
    .await;
    sink.come_up();
    poll("every notification is delivered", Duration::from_secs(30), async || {
        let rows = a.outbox().await;
        if rows.iter().all(|r| r.state == "delivered") {
            Ok(())
        } else {
            Err(format!("{rows:?}"))
        }
    })
    .await;
    // A row is marked delivered only after the sink took its mail, and the sink records a
    // mail before it answers: the count is final.
    assert_eq!(sink.mails().len(), 24, "each notification mailed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_compressed_with_a_dictionary_one_node_trained_reads_back_on_another() {
    use crate::retention::{id_of, realistic_event, recorded_events, send_concurrently, stored_payloads};
    let a = spawn_app_with(&[]).await;
    let b = spawn_node_of(&a, &[]).await;
    let recorded = recorded_events();
    // Past node A's training threshold (500 events without a dictionary).
    let early: Vec<Value> = (0..550).map(|n| realistic_event(&recorded, n)).collect();
    send_concurrently(&a, &early).await;
    let mut n = early.len();
    let probe = poll(
        "node A compresses an event with a dictionary",
        Duration::from_secs(60),
        async || {
            let probe = realistic_event(&recorded, n);
            n += 1;
            a.send(&probe).await;
            match stored_payloads(&a).await[&id_of(&probe)].1 {
                Some(_) => Ok(probe),
                None => Err("no event was compressed with a dictionary yet".to_string()),
            }
        },
    )
    .await;
    // Node B never trained (its own events are far below the threshold) and has read nothing:
    // it compresses with the dictionary it heard of from node A.
    let mut m = n + 1;
    poll(
        "node B uses the dictionary node A trained",
        Duration::from_secs(2),
        async || {
            let from_b = realistic_event(&recorded, m);
            m += 1;
            b.send(&from_b).await;
            match stored_payloads(&b).await[&id_of(&from_b)].1 {
                Some(_) => Ok(()),
                None => Err("node B compressed without a dictionary".to_string()),
            }
        },
    )
    .await;
    // And reads what node A compressed.
    assert_eq!(
        b.event_json("default", &id_of(&probe)).await["event_id"],
        probe["event_id"],
        "node B reads what node A compressed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_token_revoked_by_the_cli_stops_working_on_every_node_at_once() {
    let a = spawn_app_with(&[]).await;
    let b = spawn_node_of(&a, &[]).await;
    let created = a.cli(&["token", "create", "ci", "--scope", "read"]);
    assert!(created.success, "{}", created.stderr);
    let token = created.last_line().to_string();
    let get = |node: &TestApp| {
        node.client
            .get(node.url("/api/0/projects/default/default/issues/"))
            .bearer_auth(&token)
            .send()
    };
    for node in [&a, &b] {
        assert_eq!(get(node).await.unwrap().status(), 200);
    }
    let listed = a.cli(&["token", "list"]);
    let id = listed
        .stdout
        .lines()
        .find(|l| l.contains("ci"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the token is listed")
        .to_string();
    assert!(a.cli(&["token", "revoke", &id]).success);
    // Tokens are looked up per request: no cache to wait for.
    for node in [&b, &a] {
        assert_eq!(get(node).await.unwrap().status(), 401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_started_together_on_a_new_database_share_one_schema_and_one_default_project() {
    let url = crate::postgres::database();
    let nodes = crate::helpers::nodes_starting_together(&url, 3);
    // Every node started (the migrations took turns under their advisory lock) and serves the
    // one default project that whichever node came first created.
    let dsns: HashSet<String> = nodes
        .iter()
        .map(|n| n.dsn.rsplit_once('@').unwrap().0.to_string())
        .collect();
    assert_eq!(dsns.len(), 1, "one default project and key: {dsns:?}");
    for node in &nodes {
        let resp = node.client.get(node.url("/readyz")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        accepted_id(node.post_envelope(crate::helpers::envelope_of(&error_event())).await).await;
    }
    let sql = crate::helpers::Sql::Postgres(sqlx::PgPool::connect(&url).await.unwrap());
    let (projects, migrations): (i64, i64) = crate::on_sql!(sql, |p| sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM projects), (SELECT COUNT(*) FROM _sqlx_migrations)"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(projects, 1);
    // Counted from the files, so that a new migration needs no edit here.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "sql"))
        .count();
    assert_eq!(migrations, files as i64, "each PostgreSQL migration applied once");
}
