//! Access control: every route registered in the routing code answers 401 or a redirect to the
//! sign-in page without a session or token (except ingest, sign-in, setup, static files and
//! health), a project's DSN key reads nothing, and a read token cannot change anything.

use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

// A path of its own: `tests/postgres` includes this file by path, where `mod` alone would look
// beside it rather than in `access/`.
#[path = "access/route_table.rs"]
mod route_table;

use route_table::{Route, routes};

fn concrete(pattern: &str) -> String {
    let mut path = String::new();
    for segment in pattern.split('/') {
        if !path.is_empty() || segment.is_empty() {
            path.push('/');
        }
        let value = match segment {
            "{org}" | "{project_slug}" | "{slug}" => "default",
            "{event_id}" => "0123456789abcdef0123456789abcdef",
            "{which}" => "latest",
            "{key}" => "level",
            "{name}" => "tocsin.css",
            s if s.starts_with('{') => "1",
            s => s,
        };
        path.push_str(value);
    }
    path.replace("//", "/")
}

fn public(pattern: &str) -> bool {
    pattern.starts_with("/api/{project_id}/")
        || ["/login", "/setup/{token}", "/static/{name}", "/healthz", "/readyz"].contains(&pattern)
}

async fn request(app: &TestApp, method: &str, path: &str, auth: Option<(&str, String)>) -> (u16, Option<String>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client.request(method, app.url(path));
    if let Some((name, value)) = auth {
        req = req.header(name, value);
    }
    let resp = req
        .header("content-type", "application/x-www-form-urlencoded")
        .body("csrf=x")
        .send()
        .await
        .unwrap();
    let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    (resp.status().as_u16(), location)
}

fn refused(status: u16, location: &Option<String>) -> bool {
    status == 401 || (status == 303 && location.as_deref().is_some_and(|l| l.starts_with("/login")))
}

#[tokio::test]
async fn every_route_without_a_session_or_token_answers_401_or_redirects_to_sign_in() {
    let app = spawn_app().await;
    app.send(&crate::helpers::error_event()).await;
    let routes = routes();
    assert!(routes.len() >= 40, "the routing code was read: {routes:?}");
    for Route { method, pattern, .. } in &routes {
        let path = concrete(pattern);
        let (status, location) = request(&app, method, &path, None).await;
        assert!(
            public(pattern) || refused(status, &location),
            "{method} {path} answered {status} {location:?} without credentials"
        );
    }
    // The server's request metrics name the route pattern each request matched: every route
    // read from the source is one the app serves, and its request reached it (not the
    // fallback for unknown paths, where a refusal would prove nothing).
    let metrics = app.metrics_text().await;
    for Route {
        method,
        pattern,
        metric_pattern,
    } in &routes
    {
        let series =
            format!("tocsin_http_request_duration_seconds_count{{route=\"{metric_pattern}\",method=\"{method}\"}} ");
        assert!(
            metrics.lines().any(|l| l.starts_with(&series)),
            "{method} {} did not reach the route {pattern}:\n{metrics}",
            concrete(pattern)
        );
    }
}

#[tokio::test]
async fn a_project_dsn_key_reads_nothing() {
    let app = spawn_app().await;
    app.send(&crate::helpers::error_event()).await;
    let key = app.key.clone();
    for Route { method, pattern, .. } in routes() {
        if public(&pattern) {
            continue;
        }
        let path = concrete(&pattern);
        for auth in [
            ("authorization", format!("Bearer {key}")),
            ("x-sentry-auth", crate::helpers::sentry_auth(&key)),
            ("authorization", format!("Sentry sentry_key={key}")),
        ] {
            let (status, location) = request(&app, &method, &path, Some((auth.0, auth.1.clone()))).await;
            assert!(
                refused(status, &location),
                "{method} {path} with {auth:?} answered {status}"
            );
        }
        let with_query = format!("{path}?sentry_key={key}");
        let (status, location) = request(&app, &method, &with_query, None).await;
        assert!(refused(status, &location), "{method} {with_query} answered {status}");
    }
}

#[tokio::test]
async fn a_read_token_reads_but_cannot_change_or_delete_and_a_revoked_token_stops_working() {
    let app = spawn_app().await;
    app.send(&crate::helpers::error_event()).await;
    let out = app.cli(&["token", "create", "dashboard", "--scope", "read"]);
    assert!(out.success, "{}", out.stderr);
    let read = out.last_line().to_string();
    let client = &app.client;
    let get = client
        .get(app.url("/api/0/projects/default/default/issues/"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let metrics = client.get(app.url("/metrics")).bearer_auth(&read).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    for (method, path, body) in [
        (reqwest::Method::PUT, "/api/0/issues/1/", json!({"status": "resolved"})),
        (reqwest::Method::DELETE, "/api/0/issues/1/", json!({})),
        (
            reqwest::Method::PUT,
            "/api/0/projects/default/default/",
            json!({"maxEvents": 5}),
        ),
        (reqwest::Method::DELETE, "/api/0/projects/default/default/", json!({})),
        (
            reqwest::Method::POST,
            "/api/0/projects/default/default/alerts/",
            json!({"kind": "email", "target": "a@b.c"}),
        ),
    ] {
        let resp = client
            .request(method.clone(), app.url(path))
            .bearer_auth(&read)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{method} {path}");
        let detail: serde_json::Value = resp.json().await.unwrap();
        assert!(detail["detail"].as_str().unwrap().contains("may only read"), "{detail}");
    }
    let (_, _, issue) = app.api_get("/api/0/issues/1/").await;
    assert_eq!(issue["status"], "unresolved", "nothing changed");

    let list = app.cli(&["token", "list"]);
    assert!(list.stdout.contains("read   dashboard"), "{}", list.stdout);
    let id = list
        .stdout
        .lines()
        .find(|l| l.contains("dashboard"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(app.cli(&["token", "revoke", &id]).success);
    let after = client
        .get(app.url("/api/0/projects/default/default/issues/"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
}
