//! The UI holds up to hostile content at a desktop and a phone width, in a real headless
//! Chromium: 2 KB URLs, 5 KB messages, unbroken JSON in breadcrumbs, 300-character tag values
//! and a 250-frame trace with long paths and source lines never make a page wider than the
//! window. A screenshot of every page at both widths is kept in `target/screenshots/layout/`.

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::browser::set_up_admin;
use crate::chromium::Browser;
use crate::helpers::new_event_id;

/// An event with every kind of long value the pages show.
fn hostile_event() -> Value {
    let long_word = |prefix: &str, n: usize| format!("{prefix}{}", "x".repeat(n));
    let url = format!(
        "https://shop.example/checkout?{}",
        (0..120)
            .map(|i| format!("param{i}=value{i}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    let json_blob = serde_json::to_string(
        &(0..120)
            .map(|i| (format!("key{i}"), Value::String(format!("v{i}"))))
            .collect::<serde_json::Map<String, Value>>(),
    )
    .unwrap();
    let frames: Vec<Value> = (0..250)
        .map(|i| {
            json!({
                "filename": format!("/srv/app/{}/module_{i}.py", "very_long_directory_name".repeat(6)),
                "module": format!("app.{}.module_{i}", "deeply_nested_package".repeat(4)),
                "function": long_word("handler_", 90),
                "lineno": 10 + i,
                "in_app": i % 3 == 0,
                "context_line": format!("    result = compute({})", "argument_value, ".repeat(40)),
                "pre_context": ["def handler():", &"    # ".repeat(60)],
                "post_context": ["    return result"],
                "vars": {"payload": "y".repeat(2_000), "short": "1"},
            })
        })
        .collect();
    json!({
        "event_id": new_event_id(),
        "level": "error",
        "release": long_word("release-", 200),
        "environment": "production",
        "message": format!("{} {}", long_word("Unbroken", 2_000), "many words ".repeat(280)),
        "tags": {
            "long_value": long_word("v", 300),
            "browser": "Chrome 120.0.0.0",
            long_word("k", 150): "short",
        },
        "user": {"id": long_word("user-", 300), "email": format!("{}@example.org", "e".repeat(200))},
        "request": {"method": "GET", "url": url, "headers": {"User-Agent": long_word("Mozilla/5.0-", 400), "Referer": url}},
        "breadcrumbs": {"values": [
            {"category": "http", "message": long_word("GET ", 800), "data": {"blob": json_blob}, "timestamp": 1_700_000_000},
            {"category": "query", "message": "SELECT 1", "data": serde_json::from_str::<Value>(&json_blob).unwrap()},
        ]},
        "extra": {"blob": json_blob, "path": format!("/{}", "segment/".repeat(80))},
        "exception": {"values": [{
            "type": long_word("VeryLongExceptionTypeName", 120),
            "value": long_word("Unbroken", 3_000),
            "stacktrace": {"frames": frames},
        }]},
    })
}

/// A release made through the API with a long unbroken version.
const LONG_RELEASE: &str = "shop@1.0.0-buildxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/// The page's width beyond the window in CSS pixels (0 when it fits), and the innermost
/// elements that reach past the window's right edge, to say what to fix.
async fn overflow(browser: &Browser) -> (i64, Vec<String>) {
    let v = browser
        .client
        .execute(
            "const root = document.documentElement, edge = root.clientWidth + 1;
             const past = Array.from(document.querySelectorAll('body *'))
               .filter(e => e.getBoundingClientRect().right > edge);
             const inner = past.filter(e => !past.some(p => p !== e && e.contains(p)));
             return [root.scrollWidth - root.clientWidth,
                     inner.slice(0, 5).map(e => e.tagName.toLowerCase() +
                       (e.className ? '.' + String(e.className).split(' ').join('.') : ''))];",
            vec![],
        )
        .await
        .unwrap();
    let extra = v[0].as_i64().expect("a number");
    let culprits = v[1]
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e.as_str().unwrap_or_default().to_string())
        .collect();
    (extra, culprits)
}

/// Every page a signed-in engineer reaches, as (name, path).
fn pages(rule: &str) -> Vec<(&'static str, String)> {
    vec![
        ("issue-list", "/issues/".into()),
        ("project-issues", "/projects/default/issues/".into()),
        ("issue", "/issues/1/".into()),
        ("issue-full-frames", "/issues/1/?frames=full".into()),
        ("issue-raw", "/issues/1/?frames=raw".into()),
        ("events", "/issues/1/events/".into()),
        ("tags", "/issues/1/tags/".into()),
        ("tag-values", "/issues/1/tags/?key=long_value".into()),
        ("activity", "/issues/1/activity/".into()),
        ("merged", "/issues/1/merged/".into()),
        ("releases", "/projects/default/releases/".into()),
        ("release", format!("/projects/default/releases/{LONG_RELEASE}/")),
        ("sourcemaps", "/projects/default/sourcemaps/".into()),
        ("projects", "/projects/".into()),
        ("project", "/projects/default/".into()),
        ("alerts", "/projects/default/alerts/".into()),
        ("rule-edit", format!("/projects/default/alerts/rules/{rule}/edit")),
        ("tokens", "/settings/tokens/".into()),
        ("not-found", "/issues/999999/".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_is_wider_than_a_desktop_or_a_phone_window_even_with_hostile_content() {
    let app = crate::helpers::spawn_app().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    set_up_admin(&app, &browser).await;
    app.send(&hostile_event()).await;
    let (status, body) = app
        .api_post(
            "/api/0/organizations/default/releases/",
            &json!({"version": LONG_RELEASE, "projects": ["default"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // An uploaded file with a long URL, on the release's page and the source maps page.
    let long_url = format!("~/static/{}.js", "chunk".repeat(60));
    let (status, body) = crate::sourcemaps::post_release_file(&app, LONG_RELEASE, &long_url, b"var a;", None).await;
    assert_eq!(status, 201, "{body}");

    // A channel with a long URL and a rule that sends to it, on the alerts page and its editor.
    let (status, channel) = app
        .api_post(
            "/api/0/projects/default/default/alerts/",
            &json!({"kind": "slack", "target": format!("https://hooks.example.org/{}", "x".repeat(300)), "triggers": []}),
        )
        .await;
    assert_eq!(status, 201, "{channel}");
    let (status, rule) = app
        .api_post(
            "/api/0/projects/default/default/rules/",
            &json!({"name": "n".repeat(200), "environments": [LONG_RELEASE],
                    "conditions": [{"id": "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition"}],
                    "actions": [{"channel": channel["id"]}]}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    let rule = rule["id"].as_str().unwrap().to_string();
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../screenshots/layout");
    std::fs::create_dir_all(&shots).unwrap();
    let mut too_wide = Vec::new();
    for width in [1440u32, 390] {
        c.set_window_size(width, 900).await.unwrap();
        for (name, path) in pages(&rule) {
            c.goto(&app.url(&path)).await.unwrap();
            c.wait().for_element(Locator::Css("main")).await.unwrap();
            let (extra, culprits) = overflow(&browser).await;
            if extra > 0 {
                too_wide.push(format!(
                    "{path} at {width} px: {extra} px too wide, past the edge: {culprits:?}"
                ));
            }
            std::fs::write(shots.join(format!("{name}-{width}.png")), c.screenshot().await.unwrap()).unwrap();
        }
        // Signing out stays within reach: inside the window, not off its right edge.
        c.goto(&app.url("/issues/")).await.unwrap();
        let (right, window) = c
            .execute(
                "return [document.querySelector('form.logout button').getBoundingClientRect().right, \
                 document.documentElement.clientWidth];",
                vec![],
            )
            .await
            .unwrap()
            .as_array()
            .map(|v| (v[0].as_f64().unwrap(), v[1].as_f64().unwrap()))
            .unwrap();
        if right > window {
            too_wide.push(format!("Sign out ends at {right} px in a {window} px window"));
        }
    }
    assert!(too_wide.is_empty(), "{}", too_wide.join("\n"));

    // The DSN and the SDK snippets come first on the project page, each with a copy button.
    c.goto(&app.url("/projects/default/")).await.unwrap();
    let order = c
        .execute(
            "const h = Array.from(document.querySelectorAll('main h2')).map(e => e.textContent);
             return [h.indexOf('DSN'), h.indexOf('Storage and limits'),
                     document.querySelectorAll('button.copy + pre[data-copy]').length];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        order,
        json!([0, 5, 5]),
        "DSN first, then 4 snippets, each with a copy button"
    );

    // Signed out, the sign-in page fits too.
    crate::browser::click_to_navigate(&browser, Locator::Css("form.logout button")).await;
    for width in [1440u32, 390] {
        c.set_window_size(width, 900).await.unwrap();
        c.goto(&app.url("/login")).await.unwrap();
        c.wait().for_element(Locator::Css("main form")).await.unwrap();
        let (extra, culprits) = overflow(&browser).await;
        if extra > 0 {
            too_wide.push(format!(
                "/login at {width} px: {extra} px too wide, past the edge: {culprits:?}"
            ));
        }
        std::fs::write(shots.join(format!("login-{width}.png")), c.screenshot().await.unwrap()).unwrap();
    }
    assert!(too_wide.is_empty(), "{}", too_wide.join("\n"));
}
