//! The real `@sentry/cli` (npm, pinned) against a real Tocsin, as a team's pipeline runs it:
//! `info` checks the token, `organizations list` and `projects list` find where to work,
//! `send-event` reports, and `issues list|resolve|mute|unresolve` triage in bulk.

use crate::helpers::spawn_app;
use crate::npm::cli;

/// The issue table's status column for each issue id, as `sentry-cli issues list` prints it.
fn statuses(table: &str) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.contains("Issue ID"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].to_string(), cells[5].to_string())
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn sentry_cli_checks_its_token_finds_the_project_and_triages_issues_in_bulk() {
    let app = spawn_app().await;

    let info = cli(&app, &["info"]);
    assert!(
        info.contains("Method: Auth Token") && info.contains("project:write"),
        "{info}"
    );
    let orgs = cli(&app, &["organizations", "list"]);
    assert!(orgs.contains("| default"), "{orgs}");
    let projects = cli(&app, &["projects", "list"]);
    assert!(
        projects.contains("| default") && projects.contains("Default"),
        "{projects}"
    );

    for message in ["first from the cli", "second from the cli", "third from the cli"] {
        assert!(cli(&app, &["send-event", "-m", message]).contains("Event id:"));
    }
    let listed = crate::helpers::poll(
        "three issues are listed",
        std::time::Duration::from_secs(20),
        async || {
            let table = cli(&app, &["issues", "list"]);
            if statuses(&table).len() == 3 {
                Ok(table)
            } else {
                Err(table)
            }
        },
    )
    .await;
    assert!(listed.contains("DEFAULT-3"));

    cli(&app, &["issues", "resolve", "-i", "1"]);
    cli(&app, &["issues", "mute", "-i", "2", "-i", "3"]);
    let s = |id: &str, status: &str| (id.to_string(), status.to_string());
    assert_eq!(
        statuses(&cli(&app, &["issues", "list"])),
        [s("1", "resolved"), s("2", "ignored"), s("3", "ignored")]
    );
    // Every muted issue back; then every unresolved one resolved.
    cli(&app, &["issues", "unresolve", "-s", "muted"]);
    assert_eq!(
        statuses(&cli(&app, &["issues", "list"])),
        [s("1", "resolved"), s("2", "unresolved"), s("3", "unresolved")]
    );
    cli(&app, &["issues", "resolve", "-a"]);
    assert_eq!(
        statuses(&cli(&app, &["issues", "list"])),
        [s("1", "resolved"), s("2", "resolved"), s("3", "resolved")]
    );
}

#[tokio::test]
async fn the_bulk_update_and_organization_endpoints_refuse_what_they_cannot_do() {
    use serde_json::json;
    let app = spawn_app().await;
    let (project_id, key) = app.create_project("other", None);
    app.send(&crate::helpers::error_event()).await;
    let theirs = app
        .client
        .post(app.url(&format!("/api/{project_id}/envelope/")))
        .header("X-Sentry-Auth", crate::helpers::sentry_auth(&key))
        .body(crate::helpers::envelope_of(&crate::helpers::error_event()))
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), 200);

    let bulk = "/api/0/projects/default/default/issues/";
    let resolve = json!({"status": "resolved"});
    // An issue of another project is not this project's to change.
    let (status, body) = app.api_put(&format!("{bulk}?id=2"), &resolve).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = app.api_put(&format!("{bulk}?id=x"), &resolve).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app.api_put(bulk, &json!({"status": "sleeping"})).await;
    assert_eq!(status, 400, "{body}");
    // Nothing matches: 204, as Sentry answers.
    let (status, _) = app.api_put(&format!("{bulk}?status=resolved"), &resolve).await;
    assert_eq!(status, 204);
    let (status, body) = app
        .api_put(bulk, &json!({"status": "muted", "snoozeDuration": 30}))
        .await;
    assert_eq!((status, &body["status"]), (200, &json!("ignored")), "{body}");
    let (_, _, issue) = app.api_get("/api/0/issues/1/").await;
    assert_eq!(issue["status"], "ignored");
    assert!(
        issue["statusDetails"]["ignoreUntil"].is_string(),
        "snoozed for 30 minutes: {issue}"
    );
    let (_, _, theirs) = app.api_get("/api/0/issues/2/").await;
    assert_eq!(theirs["status"], "unresolved", "the other project's issue is untouched");

    // A read token reads but may not change; no token is refused.
    let read = app
        .cli(&["token", "create", "reader", "--scope", "read"])
        .last_line()
        .to_string();
    let put = app
        .client
        .put(app.url(bulk))
        .bearer_auth(&read)
        .json(&resolve)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 403);
    let root = app
        .client
        .get(app.url("/api/0/"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    let scopes: serde_json::Value = root.json().await.unwrap();
    assert!(
        !scopes["auth"]["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("project:write"))
    );
    assert_eq!(app.client.get(app.url("/api/0/")).send().await.unwrap().status(), 401);
    let (status, _, _) = app.api_get("/api/0/organizations/elsewhere/projects/").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn sentry_cli_makes_finalizes_deploys_lists_and_deletes_releases_and_events_name_them_too() {
    let app = spawn_app().await;
    assert!(cli(&app, &["releases", "new", "shop@2.0.0"]).contains("Created release shop@2.0.0"));
    // Again: the release exists already (Sentry answers 208), which sentry-cli takes too.
    cli(&app, &["releases", "new", "shop@2.0.0"]);
    assert!(cli(&app, &["releases", "finalize", "shop@2.0.0"]).contains("Finalized release shop@2.0.0"));
    cli(
        &app,
        &["deploys", "new", "-r", "shop@2.0.0", "-e", "production", "-n", "blue"],
    );
    let deploys = cli(&app, &["deploys", "list", "-r", "shop@2.0.0"]);
    assert!(deploys.contains("production") && deploys.contains("blue"), "{deploys}");

    // An event names another release: it is listed beside the one the CLI made.
    let mut event = crate::helpers::error_event();
    event["release"] = "shop@1.9.0".into();
    app.send(&event).await;
    let listed = cli(&app, &["releases", "list"]);
    assert!(
        listed.contains("shop@2.0.0") && listed.contains("shop@1.9.0"),
        "{listed}"
    );
    let (_, _, release) = app.api_get("/api/0/organizations/default/releases/shop@2.0.0/").await;
    assert!(release["dateReleased"].is_string(), "finalized: {release}");
    assert_eq!(release["deployCount"], 1);
    assert_eq!(release["lastDeploy"]["environment"], "production");
    let (_, _, seen) = app
        .api_get("/api/0/projects/default/default/releases/shop@1.9.0/")
        .await;
    assert_eq!(seen["newGroups"], 1, "{seen}");
    assert!(seen["firstEvent"].is_string());

    // A release no event names can be deleted; one that events name cannot (409).
    assert!(cli(&app, &["releases", "delete", "shop@2.0.0"]).contains("Deleted release shop@2.0.0"));
    assert!(!cli(&app, &["releases", "list"]).contains("shop@2.0.0"));
    assert_eq!(
        app.api_delete("/api/0/organizations/default/releases/shop@1.9.0/")
            .await,
        409
    );
    let (status, body) = app
        .api_post(
            "/api/0/organizations/default/releases/",
            &serde_json::json!({"version": "a/b"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn the_latest_release_is_the_highest_semver_not_the_last_seen_when_every_version_parses() {
    let app = spawn_app().await;
    for (ty, release) in [("NewerError", "shop@1.10.0"), ("OlderError", "shop@1.9.0")] {
        let mut event = crate::helpers::error_event_of(ty);
        event["release"] = release.into();
        app.send(&event).await;
    }
    let (status, _, list) = app
        .api_get("/api/0/projects/default/default/issues/?query=release%3Alatest")
        .await;
    assert_eq!(status, 200);
    let titles: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["NewerError: division by zero"],
        "1.10.0 is newer than 1.9.0, seen later"
    );
    let listed = cli(&app, &["releases", "list"]);
    let newer = listed.find("shop@1.10.0").unwrap();
    let older = listed.find("shop@1.9.0").unwrap();
    assert!(newer < older, "newest first:\n{listed}");
}
