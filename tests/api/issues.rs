//! Issues end to end: grouping real SDK events, counters and tags, regressions, ignores, and
//! the Sentry-style issues API.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::{TestApp, activity_kinds, error_event, spawn_app};
use crate::python::run_script;

fn issues_path(query: &str) -> String {
    format!("/api/0/projects/default/default/issues/?{query}")
}

/// An exception event whose stack and message are fixed by `bug`, so equal bugs group together.
fn bug(bug: &str) -> Value {
    let mut event = error_event();
    event["exception"] = json!({"values": [{
        "type": "RuntimeError",
        "value": format!("{bug} failed"),
        "stacktrace": {"frames": [{
            "module": "shop.checkout", "function": bug, "context_line": format!("    {bug}()"),
            "lineno": 10, "in_app": true
        }]}
    }]});
    event
}

async fn only_issue(app: &TestApp, query: &str) -> Value {
    let (status, _, list) = app.api_get(&issues_path(query)).await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "exactly one issue for {query:?}: {list:?}");
    list[0].clone()
}

#[tokio::test]
async fn the_same_flask_bug_four_times_is_one_issue_with_counts_users_and_tag_shares() {
    let app = spawn_app().await;
    let out = run_script("flask_issue_demo.py", &[&app.dsn]);
    assert_eq!(
        out["event_ids"].as_array().unwrap().len(),
        5,
        "four divisions and one KeyError: {out}"
    );

    let (status, _, all) = app.api_get(&issues_path("query=")).await;
    assert_eq!(status, 200);
    let all = all.as_array().unwrap();
    assert_eq!(
        all.len(),
        2,
        "one ZeroDivisionError issue and one KeyError issue: {all:?}"
    );
    let zero: Vec<&Value> = all
        .iter()
        .filter(|i| i["metadata"]["type"] == "ZeroDivisionError")
        .collect();
    assert_eq!(zero.len(), 1);
    let issue = zero[0];
    assert_eq!(issue["count"], "4");
    assert_eq!(issue["userCount"], 3, "alice, bob, alice, carol");
    assert_eq!(issue["title"], "ZeroDivisionError: division by zero");
    assert_eq!(issue["culprit"], "division");
    assert_eq!(issue["status"], "unresolved");
    assert_eq!(issue["shortId"], "DEFAULT-1");
    assert_eq!(issue["project"]["slug"], "default");

    let id = issue["id"].as_str().unwrap();
    let (status, _, tags) = app.api_get(&format!("/api/0/issues/{id}/tags/")).await;
    assert_eq!(status, 200);
    let shares: HashMap<String, HashMap<String, f64>> = tags
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let total = t["totalValues"].as_f64().unwrap();
            let values = t["topValues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    (
                        v["value"].as_str().unwrap().to_string(),
                        v["count"].as_f64().unwrap() / total,
                    )
                })
                .collect();
            (t["key"].as_str().unwrap().to_string(), values)
        })
        .collect();
    let share = |key: &str, value: &str| shares.get(key).and_then(|v| v.get(value)).copied();
    assert_eq!(share("browser", "Chrome 120.0.0.0"), Some(0.75), "{shares:?}");
    assert_eq!(share("browser", "Firefox 121.0"), Some(0.25), "{shares:?}");
    assert_eq!(share("os", "Windows 10"), Some(0.75), "{shares:?}");
    assert_eq!(share("os", "Linux"), Some(0.25), "{shares:?}");
    assert_eq!(share("level", "error"), Some(1.0));
    assert_eq!(share("transaction", "division"), Some(1.0));
    assert_eq!(share("url", out["division_url"].as_str().unwrap()), Some(1.0));
    assert_eq!(share("user", "id:alice"), Some(0.5));
    assert_eq!(share("user", "id:bob"), Some(0.25));
    assert_eq!(share("user", "id:carol"), Some(0.25));
    assert!(shares["server_name"].values().sum::<f64>() == 1.0);
    assert_eq!(shares["request_id"].len(), 4, "a custom tag, four distinct values");

    // The short id finds the same issue; its events list newest first.
    let (status, _, by_short) = app.api_get("/api/0/issues/DEFAULT-1/").await;
    assert_eq!(status, 200);
    assert_eq!(by_short["id"], id);
    let (_, _, events) = app.api_get(&format!("/api/0/issues/{id}/events/")).await;
    assert_eq!(events.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn an_event_for_a_resolved_issue_reopens_it_and_records_the_regression() {
    let app = spawn_app().await;
    app.send(&bug("pay")).await;
    let issue = only_issue(&app, "query=").await;
    let id = issue["id"].as_str().unwrap();
    let path = format!("/api/0/issues/{id}/");

    let (status, resolved) = app.api_put(&path, &json!({"status": "resolved"})).await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["status"], "resolved");
    let (_, _, unresolved) = app.api_get(&issues_path("")).await;
    assert_eq!(
        unresolved.as_array().unwrap().len(),
        0,
        "the default search hides resolved issues"
    );

    let regression = bug("pay");
    app.send(&regression).await;
    let (_, _, reopened) = app.api_get(&path).await;
    assert_eq!(reopened["status"], "unresolved");
    assert_eq!(reopened["count"], "2");
    let (_, _, activity) = app.api_get(&format!("/api/0/issues/{id}/activity/")).await;
    let kinds = activity_kinds(&activity);
    assert_eq!(kinds, ["first_seen", "set_resolved", "set_regression"]);
    let entry = &activity[2];
    assert_eq!(entry["data"]["event_id"], regression["event_id"]);
    assert_eq!(activity[1]["user"], "token:tests", "the actor is recorded");
}

#[tokio::test]
async fn an_issue_ignored_until_five_more_events_reopens_on_the_fifth() {
    let app = spawn_app().await;
    app.send(&bug("ship")).await;
    let id = only_issue(&app, "query=").await["id"].as_str().unwrap().to_string();
    let path = format!("/api/0/issues/{id}/");
    let (status, ignored) = app
        .api_put(
            &path,
            &json!({"status": "ignored", "statusDetails": {"ignoreCount": 5}}),
        )
        .await;
    assert_eq!(status, 200, "{ignored}");
    assert_eq!(ignored["statusDetails"]["ignoreCount"], 5);
    for n in 1..=4 {
        app.send(&bug("ship")).await;
        let (_, _, issue) = app.api_get(&path).await;
        assert_eq!(issue["status"], "ignored", "after {n} more events");
    }
    app.send(&bug("ship")).await;
    let (_, _, issue) = app.api_get(&path).await;
    assert_eq!(issue["status"], "unresolved", "the fifth event ends the ignore");
    assert_eq!(issue["count"], "6");
    let (_, _, activity) = app.api_get(&format!("/api/0/issues/{id}/activity/")).await;
    let last = activity.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "set_unresolved");
    assert_eq!(last["data"]["reason"], "ignore_count_reached");
}

#[tokio::test]
async fn the_api_ignores_until_n_events_within_a_window_or_n_more_users_as_sentry_spells_them() {
    let app = spawn_app().await;
    app.send(&bug("burst")).await;
    let id = only_issue(&app, "query=").await["id"].as_str().unwrap().to_string();
    let path = format!("/api/0/issues/{id}/");
    let windowed =
        json!({"status": "ignored", "statusDetails": {"ignoreCount": 3, "ignoreWindow": 60, "ignoreUserCount": 10}});
    let (status, ignored) = app.api_put(&path, &windowed).await;
    assert_eq!(status, 200, "{ignored}");
    let (_, _, issue) = app.api_get(&path).await;
    assert_eq!(issue["statusDetails"]["ignoreCount"], 3);
    assert_eq!(issue["statusDetails"]["ignoreWindow"], 60);
    assert_eq!(issue["statusDetails"]["ignoreUserCount"], 10);
    for n in 1..=2 {
        app.send(&bug("burst")).await;
        let (_, _, issue) = app.api_get(&path).await;
        assert_eq!(issue["status"], "ignored", "after {n} events in the window");
    }
    app.send(&bug("burst")).await;
    let (_, _, issue) = app.api_get(&path).await;
    assert_eq!(issue["status"], "unresolved", "the third event within the hour ends it");
    let (_, _, activity) = app.api_get(&format!("/api/0/issues/{id}/activity/")).await;
    let last = activity.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["data"]["reason"], "ignore_window_reached");
    let (status, body) = app
        .api_put(
            &path,
            &json!({"status": "ignored", "statusDetails": {"ignoreWindow": 60}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("needs ignoreCount"), "{body}");
}

#[tokio::test]
async fn an_ignore_for_a_duration_that_has_passed_counts_as_unresolved_and_forever_stays_ignored() {
    let app = spawn_app().await;
    app.send(&bug("a")).await;
    app.send(&bug("b")).await;
    let (_, _, list) = app.api_get(&issues_path("query=")).await;
    let ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    let past = json!({"status": "ignored", "statusDetails": {"ignoreUntil": "2020-01-01T00:00:00Z"}});
    assert_eq!(app.api_put(&format!("/api/0/issues/{}/", ids[0]), &past).await.0, 200);
    assert_eq!(
        app.api_put(&format!("/api/0/issues/{}/", ids[1]), &json!({"status": "ignored"}))
            .await
            .0,
        200
    );
    let expired = only_issue(&app, "query=is:unresolved").await;
    assert_eq!(expired["id"], ids[0].as_str());
    let forever = only_issue(&app, "query=is:ignored").await;
    assert_eq!(forever["id"], ids[1].as_str());
    app.send(&bug("b")).await;
    let (_, _, still) = app.api_get(&format!("/api/0/issues/{}/", ids[1])).await;
    assert_eq!(still["status"], "ignored", "an ignored issue stays ignored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counters_stay_exact_under_many_parallel_senders() {
    let app = spawn_app().await;
    let bugs = ["alpha", "beta", "gamma"];
    let mut tasks = Vec::new();
    for sender in 0..8 {
        let (client, url, auth) = (
            app.client.clone(),
            app.url(&format!("/api/{}/envelope/", app.project_id)),
            crate::helpers::sentry_auth(&app.key),
        );
        tasks.push(tokio::spawn(async move {
            for n in 0..60 {
                let mut event = bug(bugs[(sender + n) % 3]);
                event["user"] = json!({"id": format!("u{}", n % 7)});
                event["tags"] = json!({"sender": sender.to_string()});
                let resp = client
                    .post(&url)
                    .header("X-Sentry-Auth", &auth)
                    .body(crate::helpers::envelope_of(&event))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (_, _, list) = app.api_get(&issues_path("query=&limit=100")).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    let total: u64 = list
        .iter()
        .map(|i| i["count"].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 8 * 60);
    for issue in list {
        assert_eq!(issue["count"], "160", "{issue}");
        assert_eq!(issue["userCount"], 7);
        let id = issue["id"].as_str().unwrap();
        let (_, _, sender) = app.api_get(&format!("/api/0/issues/{id}/tags/sender/")).await;
        assert_eq!(sender["totalValues"], 160);
        assert_eq!(sender["uniqueValues"], 8);
        let (_, _, level) = app.api_get(&format!("/api/0/issues/{id}/tags/level/")).await;
        assert_eq!(level["topValues"][0]["count"], 160);
    }
}

#[tokio::test]
async fn the_search_language_filters_by_status_tags_negation_and_text() {
    let app = spawn_app().await;
    for (name, env) in [("login", "prod"), ("logout", "staging"), ("search", "prod")] {
        let mut event = bug(name);
        event["environment"] = json!(env);
        app.send(&event).await;
    }
    let titles = |list: &Value| -> Vec<String> {
        let mut t: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect();
        t.sort();
        t
    };
    let (_, _, prod) = app.api_get(&issues_path("query=environment:prod")).await;
    assert_eq!(
        titles(&prod),
        ["RuntimeError: login failed", "RuntimeError: search failed"]
    );
    let (_, _, not_prod) = app.api_get(&issues_path("query=!environment:prod")).await;
    assert_eq!(titles(&not_prod), ["RuntimeError: logout failed"]);
    let (_, _, text) = app.api_get(&issues_path("query=is:unresolved%20logout")).await;
    assert_eq!(titles(&text), ["RuntimeError: logout failed"]);
    let (_, _, quoted) = app
        .api_get(&issues_path("query=title%20level:%22error%22%20login"))
        .await;
    assert_eq!(
        quoted.as_array().map(Vec::len),
        Some(0),
        "free text 'title' matches no issue"
    );
    let (_, _, resolved) = app.api_get(&issues_path("query=is:resolved")).await;
    assert_eq!(titles(&resolved), Vec::<String>::new());

    let (status, _, bad) = app.api_get(&issues_path("query=is:bogus")).await;
    assert_eq!(status, 400);
    assert!(bad["detail"].as_str().unwrap().contains("is:bogus"), "{bad}");
    let (status, _, bad_sort) = app.api_get(&issues_path("sort=loudest")).await;
    assert_eq!(status, 400);
    assert!(bad_sort["detail"].as_str().unwrap().contains("loudest"), "{bad_sort}");
}

#[tokio::test]
async fn issue_lists_sort_and_paginate_with_sentry_cursors() {
    let app = spawn_app().await;
    for (name, times) in [("one", 1), ("three", 3), ("two", 2)] {
        for _ in 0..times {
            app.send(&bug(name)).await;
        }
    }
    let (_, link, first) = app.api_get(&issues_path("sort=freq&limit=2")).await;
    let counts: Vec<&str> = first
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["count"].as_str().unwrap())
        .collect();
    assert_eq!(counts, ["3", "2"]);
    let link = link.expect("a Link header");
    assert!(link.contains("rel=\"previous\"; results=\"false\""), "{link}");
    assert!(
        link.contains("rel=\"next\"; results=\"true\"; cursor=\"0:2:0\""),
        "{link}"
    );
    let (_, link, second) = app.api_get(&issues_path("sort=freq&limit=2&cursor=0:2:0")).await;
    assert_eq!(second[0]["count"], "1");
    assert_eq!(second.as_array().unwrap().len(), 1);
    assert!(link.unwrap().contains("rel=\"next\"; results=\"false\""));
    let (_, _, newest) = app.api_get(&issues_path("sort=new")).await;
    assert_eq!(newest[0]["title"], "RuntimeError: two failed");
}

#[tokio::test]
async fn unknown_issues_are_404_bad_bodies_400_and_no_token_401() {
    let app = spawn_app().await;
    app.send(&bug("x")).await;
    let id = only_issue(&app, "query=").await["id"].as_str().unwrap().to_string();
    assert_eq!(app.api_get("/api/0/issues/999999/").await.0, 404);
    assert_eq!(app.api_get("/api/0/issues/NOPE-1/").await.0, 404);
    assert_eq!(app.api_get(&format!("/api/0/issues/{id}/events/newest/")).await.0, 404);
    let (status, body) = app
        .api_put(&format!("/api/0/issues/{id}/"), &json!({"status": "reprocessing"}))
        .await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("reprocessing"));
    let anonymous = app
        .client
        .get(app.url(&format!("/api/0/issues/{id}/")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn deleting_an_issue_removes_its_events_and_the_next_event_opens_a_new_issue() {
    let app = spawn_app().await;
    let first = bug("gone");
    app.send(&first).await;
    let id = only_issue(&app, "query=").await["id"].as_str().unwrap().to_string();
    let status = app.api_delete(&format!("/api/0/issues/{id}/")).await;
    assert_eq!(status, 202);
    assert_eq!(app.api_get(&format!("/api/0/issues/{id}/")).await.0, 404);
    assert_eq!(
        app.get_event("default", first["event_id"].as_str().unwrap())
            .await
            .status(),
        404
    );
    app.send(&bug("gone")).await;
    let fresh = only_issue(&app, "query=").await;
    assert_ne!(fresh["id"], id.as_str());
    assert_eq!(fresh["count"], "1");
}

#[tokio::test]
async fn the_api_assigns_by_email_and_searches_by_assignee() {
    let app = spawn_app().await;
    app.create_user("dev@example.org", "a long password");
    app.send(&bug("one")).await;
    app.send(&bug("two")).await;
    let (status, assigned) = app
        .api_put("/api/0/issues/DEFAULT-1/", &json!({"assignedTo": "dev@example.org"}))
        .await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(assigned["assignedTo"]["email"], "dev@example.org");
    assert_eq!(assigned["status"], "unresolved", "assigning leaves the status alone");
    let mine = only_issue(&app, "query=assigned:dev@example.org").await;
    assert_eq!(mine["shortId"], "DEFAULT-1");
    let free = only_issue(&app, "query=is:unassigned").await;
    assert_eq!(free["shortId"], "DEFAULT-2");
    let (status, _, me) = app.api_get(&issues_path("query=assigned:me")).await;
    assert_eq!(status, 400);
    assert!(me["detail"].as_str().unwrap().contains("assigned:me"));
    let (status, unassigned) = app
        .api_put("/api/0/issues/DEFAULT-1/", &json!({"assignedTo": ""}))
        .await;
    assert_eq!(status, 200);
    assert!(unassigned["assignedTo"].is_null());
    let (status, _) = app
        .api_put("/api/0/issues/DEFAULT-1/", &json!({"assignedTo": "nobody@example.org"}))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_issues_hashes_are_listed_with_their_config_and_newest_event() {
    let app = spawn_app().await;
    let event = error_event();
    app.send(&event).await;
    let id = crate::helpers::poll("the issue is listed", std::time::Duration::from_secs(10), async || {
        let (_, _, issues) = app.api_get("/api/0/projects/default/default/issues/").await;
        issues[0]["id"].as_str().map(str::to_string).ok_or(issues.to_string())
    })
    .await;
    let (status, _, hashes) = app.api_get(&format!("/api/0/issues/{id}/hashes/")).await;
    assert_eq!(status, 200, "{hashes}");
    let list = hashes.as_array().unwrap();
    assert!(!list.is_empty(), "{hashes}");
    let primary = list
        .iter()
        .find(|h| h["storedEvents"] == 1)
        .expect("the event's own hash");
    assert_eq!(primary["id"].as_str().unwrap().len(), 32);
    assert_eq!(primary["config"], tocsin::grouping::CURRENT_CONFIG);
    assert_eq!(primary["latestEvent"]["eventID"], event["event_id"]);
    let (status, _, _) = app.api_get("/api/0/issues/999999/hashes/").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_issue_grouped_before_a_grouping_upgrade_keeps_its_events_and_learns_the_new_hashes() {
    let app = spawn_app().await;
    // A Node error whose frames the current config weighs differently from the first one: a
    // dependency the client called in-app (not in-app by the built-in rules) and a runtime
    // frame that never groups. So every current hash differs from every first-config hash.
    let mut event = error_event();
    event["platform"] = json!("node");
    event["exception"]["values"][0]["stacktrace"] = json!({"frames": [
        {"function": "processTicksAndRejections", "abs_path": "node:internal/process/task_queues", "module": "task_queues"},
        {"function": "handle", "abs_path": "/srv/app/src/orders.js", "module": "orders", "in_app": true},
        {"function": "parse", "abs_path": "/srv/app/node_modules/qs/parse.js", "module": "qs.parse", "in_app": true},
    ]});
    let input = tocsin::event::NormalizeInput {
        envelope_event_id: None,
        client_ip: None,
        received: 1_795_543_200.0,
    };
    let grouping = tocsin::grouping::calculate(&tocsin::event::normalize(event.clone(), &input).unwrap());
    assert!(
        !grouping.secondary_hashes.is_empty(),
        "the configs disagree on this event"
    );
    app.send(&event).await;
    let first = app.event_json("default", event["event_id"].as_str().unwrap()).await;
    let issue = first["groupID"].as_str().unwrap().to_string();

    // As if the issue was made before the upgrade: it owns only the first config's hashes.
    let sql = app.sql().await;
    for hash in &grouping.hashes {
        crate::on_sql!(sql, |p| {
            sqlx::query("DELETE FROM grouphashes WHERE hash = $1")
                .bind(hash)
                .execute(p)
                .await
                .unwrap();
        });
    }
    let (_, _, owned) = app.api_get(&format!("/api/0/issues/{issue}/hashes/")).await;
    assert_eq!(owned, json!([]), "a new issue owns only the current config's hashes");
    for hash in &grouping.secondary_hashes {
        crate::on_sql!(sql, |p| {
            sqlx::query("INSERT INTO grouphashes (project_id, hash, config, issue_id) VALUES ($1, $2, $3, $4)")
                .bind(app.project_id)
                .bind(hash)
                .bind(tocsin::grouping::PREVIOUS_CONFIG)
                .bind(issue.parse::<i64>().unwrap())
                .execute(p)
                .await
                .unwrap();
        });
    }
    let (_, _, owned) = app.api_get(&format!("/api/0/issues/{issue}/hashes/")).await;
    let owned: Vec<&str> = owned
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert!(
        owned.iter().all(|h| !grouping.hashes.iter().any(|x| x == h)),
        "{owned:?}"
    );

    event["event_id"] = json!(crate::helpers::new_event_id());
    app.send(&event).await;
    let second = app.event_json("default", event["event_id"].as_str().unwrap()).await;
    assert_eq!(second["groupID"], first["groupID"], "found by the first config's hash");
    let (_, _, owned) = app.api_get(&format!("/api/0/issues/{issue}/hashes/")).await;
    let owned: Vec<&str> = owned
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert!(
        owned.contains(&grouping.hashes[0].as_str()),
        "the issue learned the new hash: {owned:?}"
    );
}

#[tokio::test]
async fn grouping_info_shows_each_variant_and_which_rule_dropped_a_frame() {
    let app = spawn_app().await;
    let mut event = error_event();
    event["platform"] = json!("node");
    event["exception"]["values"][0]["stacktrace"] = json!({"frames": [
        {"function": "handle", "abs_path": "/srv/app/src/orders.js", "module": "orders", "in_app": true},
        {"function": "parse", "abs_path": "/srv/app/node_modules/qs/parse.js", "module": "qs.parse", "in_app": true},
    ]});
    app.send(&event).await;
    let id = event["event_id"].as_str().unwrap();
    let stored = app.event_json("default", id).await;
    let (status, _, info) = app
        .api_get(&format!("/api/0/projects/default/default/events/{id}/grouping-info/"))
        .await;
    assert_eq!(status, 200, "{info}");
    let app_variant = &info["app"];
    assert_eq!(app_variant["contributes"], true, "{info}");
    assert_eq!(app_variant["config"]["id"], tocsin::grouping::CURRENT_CONFIG);
    // The event's issue owns the app variant's hash.
    let (_, _, hashes) = app
        .api_get(&format!(
            "/api/0/issues/{}/hashes/",
            stored["groupID"].as_str().unwrap()
        ))
        .await;
    assert!(
        hashes
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"] == app_variant["hash"]),
        "{hashes}"
    );
    // The dependency frame: out of the app variant, and the system variant says which rule.
    let text = info.to_string();
    assert!(text.contains("non app frame"), "{text}");
    assert!(
        text.contains("marked out of app by stack trace rule (path:**/node_modules/** -app)"),
        "{text}"
    );
    let (status, _, _) = app
        .api_get("/api/0/projects/default/default/events/00000000000000000000000000000000/grouping-info/")
        .await;
    assert_eq!(status, 404);

    // The event page says the same, as a tree.
    let browser = crate::web::Browser::set_up(&app).await;
    let page = browser
        .get(&format!("/issues/{}/", stored["groupID"].as_str().unwrap()))
        .await
        .body;
    assert!(page.contains("Why this issue?"), "{page}");
    assert!(
        page.contains(&format!("hash {}", app_variant["hash"].as_str().unwrap())),
        "the summary names the deciding hash"
    );
    assert!(page.contains("<span class=\"hint\">non app frame</span>"), "{page}");
    assert!(page.contains("<code>qs.parse</code>"), "{page}");
}

#[tokio::test]
async fn an_event_older_than_its_issue_moves_first_seen_back_and_a_later_one_moves_only_last_seen() {
    let app = spawn_app().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        .floor();
    let at = |secs_ago: f64| {
        let mut event = bug("reconcile");
        event["timestamp"] = json!(now - secs_ago);
        event
    };
    let seen = async |app: &TestApp| {
        let issue = only_issue(app, "query=").await;
        let time = |key: &str| issue[key].as_str().unwrap().to_string();
        (time("firstSeen"), time("lastSeen"), issue["count"].clone())
    };
    let rfc = |secs_ago: f64| tocsin::event::timestamp::format_rfc3339(now - secs_ago);

    app.send(&at(600.0)).await;
    assert_eq!(seen(&app).await, (rfc(600.0), rfc(600.0), json!("1")));
    // Events of an existing unresolved issue: the writer's fast path (one statement on PostgreSQL).
    let fast = app.metric("tocsin_writer_fast_batches_total").await;
    app.send(&at(3600.0)).await;
    assert_eq!(
        seen(&app).await,
        (rfc(3600.0), rfc(600.0), json!("2")),
        "a late, older event"
    );
    app.send(&at(1800.0)).await;
    assert_eq!(
        seen(&app).await,
        (rfc(3600.0), rfc(600.0), json!("3")),
        "an event between the two"
    );
    app.send(&at(60.0)).await;
    assert_eq!(seen(&app).await, (rfc(3600.0), rfc(60.0), json!("4")), "a newer event");
    assert_eq!(
        app.metric("tocsin_writer_fast_batches_total").await - fast,
        3.0,
        "the three later events took the fast path"
    );
}
