//! A project's own grouping rules (issue 16): stack-trace rules and fingerprint rules in
//! Sentry's syntax, set through the API (Sentry's `groupingEnhancements` and
//! `fingerprintingRules`) or the project page, applied to the events that arrive after.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_event, poll, spawn_app};
use crate::web::{Browser, hidden};

const PROJECT: &str = "/api/0/projects/default/default/";

/// A Python error of `ty` whose in-app stack ends in `helper`.
fn event_through(ty: &str, helper: &str) -> Value {
    let mut event = error_event();
    event["exception"]["values"][0]["type"] = json!(ty);
    event["exception"]["values"][0]["value"] = json!(format!("raised in {helper}"));
    event["exception"]["values"][0]["stacktrace"] = json!({"frames": [
        {"module": "shop.views", "function": "checkout", "in_app": true, "lineno": 10},
        {"module": "shop.util", "function": helper, "in_app": true, "lineno": 20},
    ]});
    event
}

/// The id of the issue holding event `event_id`.
async fn issue_of(app: &TestApp, event_id: &str) -> String {
    let stored = app.event_json("default", event_id).await;
    stored["groupID"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| panic!("the stored event names its issue: {stored}"))
}

/// Sends two errors of `ty` ending in `helpers`; returns their event ids and their issues.
async fn send_pair(app: &TestApp, ty: &str, helpers: [&str; 2]) -> ([String; 2], [String; 2]) {
    let mut ids = [String::new(), String::new()];
    let mut issues = [String::new(), String::new()];
    for (i, helper) in helpers.iter().enumerate() {
        let event = event_through(ty, helper);
        app.send(&event).await;
        ids[i] = event["event_id"].as_str().unwrap().to_string();
        issues[i] = issue_of(app, &ids[i]).await;
    }
    (ids, issues)
}

async fn title_of(app: &TestApp, issue: &str) -> String {
    let (_, _, body) = app.api_get(&format!("/api/0/issues/{issue}/")).await;
    body["title"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn fingerprint_rules_send_matching_events_to_one_issue_named_by_the_rule() {
    let app = spawn_app().await;
    let (_, [x, y]) = send_pair(&app, "ValueError", ["parse_amount", "parse_date"]).await;
    assert_ne!(x, y, "different stacks, different issues before any rule");

    let rules = "# every ValueError is one bug\ntype:ValueError -> value-errors title=\"Bad input\"\n";
    let (status, body) = app.api_put(PROJECT, &json!({"fingerprintingRules": rules})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["fingerprintingRules"], rules);

    let ([a2, _], [issue, other_issue]) = send_pair(&app, "ValueError", ["parse_amount", "parse_date"]).await;
    assert_eq!(issue, other_issue);
    assert_eq!(title_of(&app, &issue).await, "Bad input");
    let (_, _, hashes) = app.api_get(&format!("/api/0/issues/{issue}/hashes/")).await;
    let owned: Vec<&str> = hashes
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["id"].as_str())
        .collect();
    // The rule's fingerprint is the hash, as in Sentry: md5 of its values.
    let expected = {
        use md5::{Digest, Md5};
        hex::encode(Md5::digest(b"value-errors"))
    };
    assert!(owned.contains(&expected.as_str()), "{hashes}");
    let other = event_through("KeyError", "parse_amount");
    app.send(&other).await;
    assert_ne!(
        issue_of(&app, other["event_id"].as_str().unwrap()).await,
        issue,
        "a KeyError is not matched"
    );

    // The explanation names the rule.
    let (status, _, info) = app
        .api_get(&format!("/api/0/projects/default/default/events/{}/grouping-info/", a2))
        .await;
    assert_eq!(status, 200, "{info}");
    let hint = info["custom-fingerprint"]["hint"].as_str().unwrap_or_default();
    assert!(
        hint.starts_with("matched fingerprint rule (") && hint.contains("ValueError"),
        "{info}"
    );
}

#[tokio::test]
async fn stack_trace_rules_decide_which_frames_count_for_new_events() {
    let app = spawn_app().await;
    let (_, [x, y]) = send_pair(&app, "RuntimeError", ["noisy_log", "noisy_trace"]).await;
    assert_ne!(x, y);

    let (status, body) = app
        .api_put(PROJECT, &json!({"groupingEnhancements": "function:noisy_* -group"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let ([_, b2], [x, y]) = send_pair(&app, "RuntimeError", ["noisy_log", "noisy_trace"]).await;
    assert_eq!(x, y, "only checkout counts now");
    let (_, _, info) = app
        .api_get(&format!("/api/0/projects/default/default/events/{}/grouping-info/", b2))
        .await;
    assert!(
        info.to_string()
            .contains("ignored by stack trace rule (function:noisy_* -group)"),
        "{info}"
    );
}

#[tokio::test]
async fn rules_that_do_not_parse_are_refused_with_the_line_and_change_nothing() {
    let app = spawn_app().await;
    let (status, _) = app
        .api_put(PROJECT, &json!({"groupingEnhancements": "path:**/vendor/** -app"}))
        .await;
    assert_eq!(status, 200);
    for (field, text, says) in [
        (
            "groupingEnhancements",
            "function:ok -group\nfunction:bad +nonsense",
            "line 2",
        ),
        (
            "groupingEnhancements",
            "family:native invert-stacktrace=1",
            "not supported",
        ),
        ("fingerprintingRules", "type:ValueError value-errors", "->"),
    ] {
        let (status, body) = app.api_put(PROJECT, &json!({field: text, "maxEvents": 5})).await;
        assert_eq!(status, 400, "{field}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(says), "{field}: {detail}");
    }
    let (status, body) = app.api_put(PROJECT, &json!({"groupingEnhancements": 3})).await;
    assert_eq!(status, 400, "{body}");
    let (_, _, project) = app.api_get(PROJECT).await;
    assert_eq!(project["groupingEnhancements"], "path:**/vendor/** -app");
    assert_eq!(project["fingerprintingRules"], "");
    assert!(
        project["maxEvents"].is_null(),
        "a refused change changes nothing: {project}"
    );
}

#[tokio::test]
async fn an_admin_edits_grouping_rules_on_the_project_page_and_a_mistake_keeps_what_was_typed() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let page = browser.get("/projects/default/").await;
    assert!(page.body.contains("Grouping rules"), "{}", page.body);
    let csrf = hidden(&page.body, "csrf");

    let typed = "type:ValueError -> value-errors\ntype:KeyError";
    let bad = browser
        .post(
            "/projects/default/grouping",
            &[("csrf", &csrf), ("stack_rules", ""), ("fingerprint_rules", typed)],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("fingerprint rules, line 2"), "{}", bad.body);
    assert!(
        bad.body.contains("type:KeyError</textarea>"),
        "what was typed stays: {}",
        bad.body
    );

    let forged = browser
        .post(
            "/projects/default/grouping",
            &[("csrf", "forged"), ("stack_rules", "function:x -group")],
        )
        .await;
    assert_eq!(forged.status, 403);

    let saved = browser
        .post(
            "/projects/default/grouping",
            &[
                ("csrf", &csrf),
                ("stack_rules", "function:noisy_* -group\r\n"),
                ("fingerprint_rules", "type:ValueError -> value-errors\r\n"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let (_, _, project) = app.api_get(PROJECT).await;
    assert_eq!(project["groupingEnhancements"], "function:noisy_* -group\n");
    assert_eq!(project["fingerprintingRules"], "type:ValueError -> value-errors\n");
    // The key cache forgot the old rules: the next event is grouped by the new ones.
    let a = event_through("ValueError", "one");
    let b = event_through("ValueError", "two");
    app.send(&a).await;
    app.send(&b).await;
    let same = poll(
        "both land in the rule's issue",
        std::time::Duration::from_secs(5),
        async || {
            let (x, y) = (
                issue_of(&app, a["event_id"].as_str().unwrap()).await,
                issue_of(&app, b["event_id"].as_str().unwrap()).await,
            );
            if x == y { Ok(x) } else { Err(format!("{x} and {y}")) }
        },
    )
    .await;
    assert!(!same.is_empty());
}
