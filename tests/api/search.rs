//! The issue search of the web UI, as a table of queries and the issues each finds: Sentry's
//! keys where users reach for them, `*` wildcards, relative and absolute times, comparisons;
//! a short id or event id typed alone jumps to it; and every unknown key or bad value is an
//! error beside the box, never an empty list.

use serde_json::{Value, json};

use crate::helpers::{TestApp, new_event_id, spawn_app};
use crate::web::{Browser, hidden};

fn event(ty: &str, extra: Value) -> Value {
    let mut e = json!({
        "event_id": new_event_id(),
        "platform": "python",
        "level": "error",
        "exception": {"values": [{"type": ty, "value": "boom"}]},
    });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

/// The types of the issues a list page shows, sorted (`AlphaError: boom` → `Alpha`).
fn listed(body: &str) -> Vec<String> {
    let mut found: Vec<String> = body
        .split("class=\"title\" href=\"/issues/")
        .skip(1)
        .map(|rest| {
            let text = rest.split_once('>').unwrap().1;
            text.split("Error:").next().unwrap().to_string()
        })
        .collect();
    found.sort();
    found
}

/// Six issues with the attributes the searches tell apart; returns Alpha's event id.
async fn seed(app: &TestApp, browser: &Browser) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let alpha = event(
        "AlphaError",
        json!({
            "contexts": {"browser": {"name": "Chrome", "version": "120.0.0.0"}, "os": {"name": "Mac OS X", "version": "14.1"}},
            "user": {"id": "42", "email": "ann@example.org"},
            "release": "shop@1.0",
            "environment": "production",
            "tags": {"shard": "eu-1"},
        }),
    );
    let alpha_id = alpha["event_id"].as_str().unwrap().to_string();
    app.send(&alpha).await;
    for _ in 0..6 {
        let beta = event(
            "BetaError",
            json!({
                "contexts": {"browser": {"name": "Firefox", "version": "119.0"}},
                "user": {"email": "bob@example.org"},
                "release": "shop@2.0",
                "environment": "staging",
            }),
        );
        app.send(&beta).await;
    }
    let ten_days_ago = now - 10.0 * 86_400.0;
    app.send(&event(
        "GammaError",
        json!({"level": "warning", "timestamp": ten_days_ago}),
    ))
    .await;
    app.send(&event("DeltaError", json!({}))).await;
    app.send(&event("EpsilonError", json!({}))).await;
    app.send(&event("ZetaError", json!({"timestamp": ten_days_ago}))).await;

    let issues = browser.get("/issues/?status=all").await.body;
    let csrf = hidden(&issues, "csrf");
    // Delta assigned to the admin (user 1); Epsilon resolved; Zeta resolved and then back.
    let assigned = browser
        .post("/issues/4/assign", &[("csrf", &csrf), ("user", "1")])
        .await;
    assert_eq!(assigned.status, 303, "{}", assigned.body);
    for id in [5, 6] {
        let resolved = browser
            .post(
                &format!("/issues/{id}/status"),
                &[("csrf", &csrf), ("status", "resolved")],
            )
            .await;
        assert_eq!(resolved.status, 303, "{}", resolved.body);
    }
    app.send(&event("ZetaError", json!({}))).await;
    alpha_id
}

#[tokio::test]
async fn each_search_finds_exactly_its_issues_and_bad_ones_say_what_is_wrong() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let alpha_event = seed(&app, &browser).await;

    let table: &[(&str, &[&str])] = &[
        ("", &["Alpha", "Beta", "Delta", "Gamma", "Zeta"]),
        ("browser.name:Chrome", &["Alpha"]),
        ("browser:Chrome*", &["Alpha"]),
        ("browser:Chrome", &[]),
        ("browser:\"Chrome 120.0.0.0\"", &["Alpha"]),
        ("os.name:\"Mac OS X\"", &["Alpha"]),
        ("!browser.name:Chrome has:browser", &["Beta"]),
        ("has:user", &["Alpha", "Beta"]),
        ("!has:user", &["Delta", "Gamma", "Zeta"]),
        ("user.id:42", &["Alpha"]),
        ("user.email:ann@example.org", &["Alpha"]),
        ("user.email:bob@example.org", &["Beta"]),
        ("user.email:*@example.org", &["Alpha", "Beta"]),
        ("is:assigned", &["Delta"]),
        ("assigned:me", &["Delta"]),
        ("assigned:admin@example.org", &["Delta"]),
        ("is:unassigned", &["Alpha", "Beta", "Gamma", "Zeta"]),
        ("is:for_review", &["Alpha", "Beta", "Delta", "Zeta"]),
        ("lastSeen:-1h", &["Alpha", "Beta", "Delta", "Zeta"]),
        ("lastSeen:+1d", &["Gamma"]),
        ("firstSeen:-1d", &["Alpha", "Beta", "Delta"]),
        ("times_seen:>5", &["Beta"]),
        ("times_seen:6", &["Beta"]),
        ("times_seen:<=1", &["Alpha", "Delta", "Gamma"]),
        ("users_seen:>=1", &["Alpha", "Beta"]),
        ("release:latest", &["Beta"]),
        ("release:shop@1.0", &["Alpha"]),
        ("shard:eu-*", &["Alpha"]),
        ("level:warning", &["Gamma"]),
        ("is:resolved", &["Epsilon"]),
        ("is:resolved EpsilonError", &["Epsilon"]),
        ("Delta", &["Delta"]),
    ];
    let mut wrong = Vec::new();
    for (query, expected) in table {
        let page = browser
            .get(&format!(
                "/issues/?{}",
                serde_urlencoded::to_string([("query", query)]).unwrap()
            ))
            .await;
        let found = listed(&page.body);
        if page.status != 200 || found != *expected {
            wrong.push(format!("{query:?}: {} {found:?}, expected {expected:?}", page.status));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // The tab follows the status the query names.
    let resolved = browser.get("/issues/?query=is%3Aresolved").await.body;
    assert!(
        resolved.contains(r#"status=resolved" class="active" aria-current="page">resolved</a>"#),
        "the Resolved tab is highlighted: {}",
        resolved
            .split("<nav class=\"tabs\">")
            .nth(1)
            .unwrap_or_default()
            .split("</nav>")
            .next()
            .unwrap()
    );

    let errors: &[(&str, &str)] = &[
        ("shrad:eu-1", "unknown key \"shrad\""),
        ("user.email:nobody@example.org shrad:x", "unknown key \"shrad\""),
        ("lastSeen:yesterday", "\"lastSeen:yesterday\": not a time"),
        ("times_seen:>many", "\"times_seen:>many\": not a count"),
        ("is:bogus", "\"is:bogus\": unknown status"),
        ("assigned:ghost@example.org", "no user has this email"),
    ];
    for (query, message) in errors {
        let page = browser
            .get(&format!(
                "/issues/?{}",
                serde_urlencoded::to_string([("query", query)]).unwrap()
            ))
            .await;
        assert_eq!(page.status, 400, "{query}");
        let shown = page
            .body
            .split("id=\"search-error\" role=\"alert\">")
            .nth(1)
            .unwrap_or_default();
        let shown = html_unescape(shown.split('<').next().unwrap_or_default());
        assert!(shown.contains(message), "{query}: {shown:?}");
    }

    // A short id or an event id alone jumps to it; short ids work in URLs.
    for typed in ["DEFAULT-2", "default-2"] {
        let jump = browser.get(&format!("/issues/?query={typed}")).await;
        assert_eq!(
            (jump.status, jump.location.as_deref()),
            (303, Some("/issues/2/")),
            "{typed}"
        );
    }
    let jump = browser.get(&format!("/issues/?query={alpha_event}")).await;
    assert_eq!(jump.location, Some(format!("/issues/1/events/{alpha_event}/")));
    let by_short_id = browser.get("/issues/DEFAULT-2/").await;
    assert_eq!(by_short_id.status, 200);
    assert!(by_short_id.body.contains("BetaError: boom"));
    let missing = browser.get("/issues/?query=DEFAULT-99").await;
    assert_eq!(missing.status, 200, "an unknown short id is searched as text");
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&lt;", "<")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
