//! Resolving in a release, as Sentry does it: "resolved in next release" stays resolved for
//! events of the project's latest release when resolving and of older ones, and regresses on a
//! newer release; "resolved in release X" regresses on X and newer ones. Newer is by semver
//! for versions of one package, else by when each release was first seen.

use serde_json::{Value, json};

use crate::helpers::{TestApp, activity_kinds, error_event, spawn_app};
use crate::web::{Browser, hidden};

const ISSUE: &str = "/api/0/issues/DEFAULT-1/";

/// An event of the one bug these tests follow, from `release` (none when `None`).
fn bug_in(release: Option<&str>) -> Value {
    let mut event = error_event();
    if let Some(release) = release {
        event["release"] = release.into();
    }
    event
}

/// Another bug's event from `release`: makes the release known to the project without
/// touching the followed issue.
fn other_bug_in(release: &str) -> Value {
    let mut event = crate::helpers::error_event_of("OtherError");
    event["release"] = release.into();
    event
}

/// A webhook channel, so that a regression queues its alert in the outbox.
fn add_channel(app: &TestApp) {
    let out = app.cli(&[
        "alerts",
        "add",
        "--project",
        "default",
        "--webhook",
        "https://hooks.example/tocsin",
    ]);
    assert!(out.success, "{}", out.stderr);
}

async fn resolve(app: &TestApp, details: Value) -> Value {
    let (status, body) = app
        .api_put(ISSUE, &json!({"status": "resolved", "statusDetails": details}))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Sends `release`'s event of the bug and answers the issue's status and count.
async fn event_then_status(app: &TestApp, release: Option<&str>) -> (String, String) {
    app.send(&bug_in(release)).await;
    let (_, _, issue) = app.api_get(ISSUE).await;
    (
        issue["status"].as_str().unwrap().into(),
        issue["count"].as_str().unwrap().into(),
    )
}

async fn activity(app: &TestApp) -> Value {
    app.api_get(&format!("{ISSUE}activity/")).await.2
}

async fn regression_alerts(app: &TestApp) -> usize {
    app.outbox().await.iter().filter(|r| r.trigger == "regression").count()
}

#[tokio::test]
async fn resolved_in_next_release_stays_resolved_for_the_latest_semver_release_and_older_and_regresses_on_a_newer_one()
{
    let app = spawn_app().await;
    add_channel(&app);
    // Seen first 1.10.0, then 1.9.0: by text and by first seen 1.9.0 would be the latest; by
    // semver it is 1.10.0.
    app.send(&bug_in(Some("app@1.10.0"))).await;
    app.send(&bug_in(Some("app@1.9.0"))).await;
    let resolved = resolve(&app, json!({"inNextRelease": true})).await;
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["statusDetails"]["inNextRelease"], true, "{resolved}");
    let log = activity(&app).await;
    let entry = log.as_array().unwrap().last().unwrap().clone();
    assert_eq!(entry["type"], "set_resolved_in_release");
    assert_eq!(entry["data"]["version"], "");
    assert_eq!(entry["data"]["current_release_version"], "app@1.10.0");

    for (release, count) in [("app@1.9.0", "3"), ("app@1.10.0", "4"), ("app@1.2.0", "5")] {
        assert_eq!(
            event_then_status(&app, Some(release)).await,
            ("resolved".to_string(), count.to_string()),
            "an event of {release} is stored and counted and leaves the issue resolved"
        );
    }
    assert_eq!(regression_alerts(&app).await, 0);

    let newer = bug_in(Some("app@1.11.0"));
    app.send(&newer).await;
    let (_, _, issue) = app.api_get(ISSUE).await;
    assert_eq!(issue["status"], "unresolved");
    assert_eq!(issue["statusDetails"], json!({}));
    let sql = app.sql().await;
    let kept: (Option<String>, Option<String>) = crate::on_sql!(sql, |p| sqlx::query_as(
        "SELECT resolved_in, resolved_in_release FROM issues"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(kept, (None, None), "the regression drops the resolution");
    let log = activity(&app).await;
    assert_eq!(activity_kinds(&log).last(), Some(&"set_regression"));
    assert_eq!(
        log.as_array().unwrap().last().unwrap()["data"]["event_id"],
        newer["event_id"]
    );
    assert_eq!(regression_alerts(&app).await, 1, "the regression alert is queued once");
}

#[tokio::test]
async fn resolved_in_next_release_orders_other_versions_by_first_seen_and_a_release_never_seen_is_newer() {
    let app = spawn_app().await;
    // First seen zulu, then yankee: yankee is the latest, whatever the alphabet says.
    app.send(&bug_in(Some("zulu"))).await;
    app.send(&other_bug_in("yankee")).await;
    resolve(&app, json!({"inNextRelease": true})).await;
    let entry = activity(&app).await.as_array().unwrap().last().unwrap().clone();
    assert_eq!(entry["data"]["current_release_version"], "yankee");
    assert_eq!(event_then_status(&app, Some("zulu")).await.0, "resolved");
    assert_eq!(event_then_status(&app, Some("yankee")).await.0, "resolved");
    assert_eq!(
        event_then_status(&app, Some("alpha")).await.0,
        "unresolved",
        "alpha is first seen now: the next release"
    );

    // Sentry's rule for an event without a release: it regresses the issue.
    resolve(&app, json!({"inNextRelease": true})).await;
    assert_eq!(event_then_status(&app, None).await.0, "unresolved");
}

#[tokio::test]
async fn resolved_in_next_release_without_any_release_regresses_on_the_first_event_with_one() {
    let app = spawn_app().await;
    app.send(&bug_in(None)).await;
    let resolved = resolve(&app, json!({"inNextRelease": true})).await;
    assert_eq!(resolved["statusDetails"]["inNextRelease"], true);
    let entry = activity(&app).await.as_array().unwrap().last().unwrap().clone();
    assert_eq!(entry["data"]["current_release_version"], Value::Null);
    assert_eq!(event_then_status(&app, Some("shop@1.0.0")).await.0, "unresolved");
}

#[tokio::test]
async fn resolved_in_release_x_stays_resolved_for_older_releases_and_regresses_on_x_and_newer_ones() {
    let app = spawn_app().await;
    add_channel(&app);
    for release in ["app@1.10.0", "app@1.9.0", "app@1.11.0"] {
        app.send(&bug_in(Some(release))).await;
    }
    let resolved = resolve(&app, json!({"inRelease": "app@1.10.0"})).await;
    assert_eq!(resolved["statusDetails"]["inRelease"], "app@1.10.0", "{resolved}");
    let entry = activity(&app).await.as_array().unwrap().last().unwrap().clone();
    assert_eq!(entry["type"], "set_resolved_in_release");
    assert_eq!(entry["data"]["version"], "app@1.10.0");
    // As text 1.9.0 sorts after 1.10.0; by semver it is older.
    assert_eq!(event_then_status(&app, Some("app@1.9.0")).await.0, "resolved");
    assert_eq!(regression_alerts(&app).await, 0);
    assert_eq!(event_then_status(&app, Some("app@1.10.0")).await.0, "unresolved");
    assert_eq!(regression_alerts(&app).await, 1);

    resolve(&app, json!({"inRelease": "app@1.10.0"})).await;
    assert_eq!(event_then_status(&app, Some("app@1.11.0")).await.0, "unresolved");
    assert_eq!(activity_kinds(&activity(&app).await).last(), Some(&"set_regression"));
}

#[tokio::test]
async fn resolved_in_release_x_orders_other_versions_by_first_seen() {
    let app = spawn_app().await;
    for release in ["zulu", "yankee", "xray"] {
        app.send(&bug_in(Some(release))).await;
    }
    resolve(&app, json!({"inRelease": "yankee"})).await;
    assert_eq!(event_then_status(&app, Some("zulu")).await.0, "resolved");
    assert_eq!(event_then_status(&app, Some("yankee")).await.0, "unresolved");
    resolve(&app, json!({"inRelease": "yankee"})).await;
    assert_eq!(event_then_status(&app, Some("xray")).await.0, "unresolved");
}

#[tokio::test]
async fn a_release_made_through_the_api_counts_as_first_seen_when_it_was_made() {
    let app = spawn_app().await;
    // "beta" is made (by sentry-cli, say) before "alpha"'s first event, and no event names it
    // yet: it is the older of the two.
    let (status, body) = app
        .api_post(
            "/api/0/organizations/default/releases/",
            &json!({"version": "beta", "projects": ["default"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app.send(&bug_in(Some("alpha"))).await;
    resolve(&app, json!({"inRelease": "alpha"})).await;
    assert_eq!(event_then_status(&app, Some("beta")).await.0, "resolved");
    resolve(&app, json!({"inNextRelease": true})).await;
    let entry = activity(&app).await.as_array().unwrap().last().unwrap().clone();
    assert_eq!(entry["data"]["current_release_version"], "alpha");
}

#[tokio::test]
async fn the_api_takes_in_release_latest_and_answers_400_for_a_release_the_project_does_not_have() {
    let app = spawn_app().await;
    app.send(&bug_in(Some("shop@2.0.0"))).await;
    app.send(&other_bug_in("shop@1.0.0")).await;
    let latest = resolve(&app, json!({"inRelease": "latest"})).await;
    assert_eq!(latest["statusDetails"]["inRelease"], "shop@2.0.0", "{latest}");

    for (details, says) in [
        (json!({"inRelease": "shop@9.9.9"}), "shop@9.9.9"),
        (json!({"inRelease": 7}), "inRelease"),
        (json!({"inNextRelease": "yes"}), "inNextRelease"),
        (json!({"inCommit": {"commit": "abc"}}), "inCommit"),
    ] {
        let (status, body) = app
            .api_put(ISSUE, &json!({"status": "resolved", "statusDetails": details}))
            .await;
        assert_eq!(status, 400, "{details}: {body}");
        assert!(body["detail"].as_str().unwrap().contains(says), "{body}");
    }
    let (_, _, issue) = app.api_get(ISSUE).await;
    assert_eq!(
        issue["statusDetails"]["inRelease"], "shop@2.0.0",
        "a refused change changes nothing"
    );

    // A plain resolve, and unresolving, drop the release.
    let plain = resolve(&app, json!({})).await;
    assert_eq!(plain["statusDetails"], json!({}));
    assert_eq!(event_then_status(&app, Some("shop@1.0.0")).await.0, "unresolved");
}

#[tokio::test]
async fn the_bulk_update_resolves_in_the_next_release_or_a_named_one() {
    let app = spawn_app().await;
    app.send(&bug_in(Some("shop@1.0.0"))).await;
    let bulk = "/api/0/projects/default/default/issues/?id=1";
    let (status, body) = app
        .api_put(
            bulk,
            &json!({"status": "resolved", "statusDetails": {"inNextRelease": true}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["statusDetails"]["inNextRelease"], true, "{body}");
    let (_, _, issue) = app.api_get(ISSUE).await;
    assert_eq!(issue["statusDetails"]["inNextRelease"], true, "{issue}");

    let (status, body) = app
        .api_put(
            bulk,
            &json!({"status": "resolved", "statusDetails": {"inRelease": "latest"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["statusDetails"]["inRelease"], "shop@1.0.0", "{body}");
    let (status, body) = app
        .api_put(
            bulk,
            &json!({"status": "resolved", "statusDetails": {"inRelease": "nope"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].is_string(), "{body}");

    let (status, _) = app.api_put(bulk, &json!({"status": "unresolved"})).await;
    assert_eq!(status, 200);
    let (_, _, issue) = app.api_get(ISSUE).await;
    assert_eq!(
        (issue["status"].as_str(), &issue["statusDetails"]),
        (Some("unresolved"), &json!({}))
    );
}

#[tokio::test]
async fn the_issue_page_resolves_in_the_next_release_or_a_chosen_one_without_javascript() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    app.send(&bug_in(Some("app@1.10.0"))).await;
    app.send(&bug_in(Some("app@1.9.0"))).await;
    let page = browser.get("/issues/1/").await.body;
    assert!(page.contains(r#"value="resolved_in_next_release" id="resolve-next-release">Resolve in next release<"#));
    let select = page
        .split(r#"id="resolve-release-select""#)
        .nth(1)
        .expect("a select of the project's releases")
        .split("</select>")
        .next()
        .unwrap();
    assert!(
        select.find("app@1.10.0").unwrap() < select.find("app@1.9.0").unwrap(),
        "newest first: {select}"
    );
    let csrf = hidden(&page, "csrf");

    let choose = |release: &'static str| {
        [
            ("csrf", csrf.as_str()),
            ("status", "resolved_in_release"),
            ("release", release),
        ]
    };
    let forged = [
        ("csrf", "forged"),
        ("status", "resolved_in_release"),
        ("release", "app@1.9.0"),
    ];
    assert_eq!(browser.post("/issues/1/status", &forged).await.status, 403);
    assert_eq!(browser.post("/issues/1/status", &choose("app@7.0.0")).await.status, 400);
    let done = browser.post("/issues/1/status", &choose("app@1.10.0")).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/issues/1/")));
    let resolved = browser.get("/issues/1/").await.body;
    assert!(resolved.contains("id=\"issue-status\">resolved<"));
    assert!(resolved.contains("Resolved in release app@1.10.0."), "{resolved}");
    // An older release's event leaves it resolved.
    app.send(&bug_in(Some("app@1.9.0"))).await;
    assert!(
        browser
            .get("/issues/1/")
            .await
            .body
            .contains("Resolved in release app@1.10.0.")
    );

    assert_eq!(
        browser
            .post("/issues/1/status", &[("csrf", &csrf), ("status", "unresolved")])
            .await
            .status,
        303
    );
    let next = [("csrf", csrf.as_str()), ("status", "resolved_in_next_release")];
    assert_eq!(browser.post("/issues/1/status", &next).await.status, 303);
    let resolved = browser.get("/issues/1/").await.body;
    assert!(
        resolved.contains("Resolved in next release (after app@1.10.0)."),
        "{resolved}"
    );
    let activity = browser.get("/issues/1/activity/").await.body;
    assert!(activity.contains("Marked resolved in release app@1.10.0"), "{activity}");
    assert!(
        activity.contains("Marked resolved in next release (after app@1.10.0)"),
        "{activity}"
    );
}
