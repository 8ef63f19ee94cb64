//! The web UI over HTTP: setup, sign-in, sessions, CSRF, and every page's key content. (The
//! real-browser test drives the same pages in Chromium.)

use serde_json::json;

use crate::helpers::{TestApp, error_event, spawn_app};
use crate::python::run_script;

/// A cookie-keeping client that does not follow redirects, like a careful browser.
pub struct Browser {
    client: reqwest::Client,
    base: String,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base_url.clone(),
        }
    }

    async fn page(resp: reqwest::Response) -> Page {
        Page {
            status: resp.status().as_u16(),
            location: resp.headers().get("location").map(|v| v.to_str().unwrap().to_string()),
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        Self::page(self.client.get(url).send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        Self::page(self.client.post(url).form(form).send().await.unwrap()).await
    }

    /// Completes the setup link as the first admin.
    pub async fn set_up(app: &TestApp) -> Browser {
        let browser = Browser::new(app);
        let link = app.setup_link.clone().expect("a setup link while no user exists");
        let form = browser.get(&link).await;
        assert_eq!(form.status, 200);
        let token = hidden(&form.body, "form_token");
        let done = browser
            .post(
                &link,
                &[
                    ("email", "admin@example.org"),
                    ("password", "correct horse"),
                    ("password_again", "correct horse"),
                    ("form_token", &token),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        browser
    }
}

/// The value of a hidden input in a page.
pub fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).unwrap_or_else(|| panic!("no {name} in page")) + marker.len();
    body[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once_and_then_stops_working() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let home = browser.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("admin@example.org"));
    let again = Browser::new(&app).get(app.setup_link.as_deref().unwrap()).await;
    assert_eq!(again.status, 404);
    assert!(again.body.contains("no longer valid"));
}

#[tokio::test]
async fn pages_require_sign_in_and_a_wrong_password_is_refused() {
    let app = spawn_app().await;
    let _admin = Browser::set_up(&app).await;
    let stranger = Browser::new(&app);
    for path in ["/", "/issues/", "/projects/", "/issues/1/"] {
        let page = stranger.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        assert!(page.location.unwrap().starts_with("/login?next="), "{path}");
    }
    // Static files, health and ingest need no session.
    assert_eq!(stranger.get("/static/tocsin.css").await.status, 200);
    assert_eq!(stranger.get("/healthz").await.status, 200);

    let login = stranger.get("/login?next=/projects/").await;
    let token = hidden(&login.body, "form_token");
    let wrong = stranger
        .post(
            "/login",
            &[
                ("email", "admin@example.org"),
                ("password", "nope nope"),
                ("form_token", &token),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("Wrong email or password"));
    let token = hidden(&wrong.body, "form_token");
    let resp = stranger
        .client
        .post(format!("{}/login", stranger.base))
        .form(&[
            ("email", "admin@example.org"),
            ("password", "correct horse"),
            ("form_token", token.as_str()),
            ("next", "/projects/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/projects/");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_eq!(stranger.get("/projects/").await.status, 200);
}

#[tokio::test]
async fn a_login_form_without_its_token_is_refused() {
    let app = spawn_app().await;
    let _admin = Browser::set_up(&app).await;
    let page = Browser::new(&app)
        .post(
            "/login",
            &[
                ("email", "admin@example.org"),
                ("password", "correct horse"),
                ("form_token", "forged"),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
}

#[tokio::test]
async fn a_user_created_on_the_command_line_can_sign_in_and_out() {
    let app = spawn_app().await;
    app.create_user("dev@example.org", "long enough secret");

    let browser = Browser::new(&app);
    let login = browser.get("/login").await;
    let token = hidden(&login.body, "form_token");
    let signed_in = browser
        .post(
            "/login",
            &[
                ("email", "dev@example.org"),
                ("password", "long enough secret"),
                ("form_token", &token),
            ],
        )
        .await;
    assert_eq!(signed_in.status, 303);
    let home = browser.get("/").await;
    let csrf = hidden(&home.body, "csrf");
    assert_eq!(browser.post("/logout", &[("csrf", "wrong")]).await.status, 403);
    assert_eq!(browser.post("/logout", &[("csrf", &csrf)]).await.status, 303);
    assert_eq!(browser.get("/").await.status, 303, "signed out");
}

#[tokio::test]
async fn the_issue_page_shows_the_flask_bug_with_its_frame_source_vars_charts_and_tags() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    run_script("flask_issue_demo.py", &[&app.dsn]);
    let list = browser.get("/issues/").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("ZeroDivisionError: division by zero"));
    assert!(list.body.contains("DEFAULT-1"));
    assert!(list.body.contains("<svg class=\"chart\""), "a sparkline per row");

    let issue = browser.get("/issues/1/").await;
    assert_eq!(issue.status, 200);
    let body = &issue.body;
    assert!(body.contains("Last 24 hours") && body.contains("Last 30 days"));
    assert!(body.contains("<span class=\"function\">division</span>"));
    assert!(
        body.contains("<li class=\"current\"><span class=\"lineno\">")
            && body.contains("return str(numerator / denominator)"),
        "the crashing line is highlighted"
    );
    assert!(body.contains("<tr><th>denominator</th><td><code>0</code></td></tr>"));
    assert!(body.contains("library frames hidden"), "App only hides flask's frames");
    assert!(
        body.contains("75%") && body.contains("Chrome 120.0.0.0"),
        "tag distribution"
    );
    assert!(body.contains("First seen") && body.contains("release tocsin-e2e@2.0.0"));

    let full = browser.get("/issues/1/?frames=full").await;
    assert!(full.body.contains("full_dispatch_request"));
    let raw = browser.get("/issues/1/?frames=raw").await;
    assert!(raw.body.contains("Traceback (most recent call last):"));
    let events = browser.get("/issues/1/events/").await;
    assert_eq!(
        events
            .body
            .matches("<td data-label=\"Event\"><a href=\"/issues/1/events/")
            .count(),
        4,
        "four events listed"
    );
}

#[tokio::test]
async fn resolving_from_the_page_needs_the_csrf_token_and_a_new_event_reopens_the_issue() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let mut event = error_event();
    event["exception"]["values"][0]["stacktrace"] =
        json!({"frames": [{"function": "pay", "module": "shop", "in_app": true}]});
    app.send(&event).await;
    let page = browser.get("/issues/1/").await;
    let csrf = hidden(&page.body, "csrf");
    let forged = browser
        .post("/issues/1/status", &[("csrf", "forged"), ("status", "resolved")])
        .await;
    assert_eq!(forged.status, 403);
    let done = browser
        .post("/issues/1/status", &[("csrf", &csrf), ("status", "resolved")])
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location.as_deref(), Some("/issues/1/"));
    assert!(
        browser
            .get("/issues/1/")
            .await
            .body
            .contains("id=\"issue-status\">resolved<")
    );
    event["event_id"] = crate::helpers::new_event_id().into();
    app.send(&event).await;
    let reopened = browser.get("/issues/1/").await.body;
    assert!(reopened.contains("id=\"issue-status\">unresolved<"));
    let activity = browser.get("/issues/1/activity/").await.body;
    assert!(activity.contains("Regression: the resolved issue happened again"));
    assert!(activity.contains("Marked resolved</strong> <span class=\"meta\">by admin@example.org"));
}

#[tokio::test]
async fn event_data_is_shown_as_text_never_as_markup() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let evil = "<script>alert(1)</script>";
    let event = json!({
        "event_id": crate::helpers::new_event_id(),
        "message": evil,
        "tags": {"evil": evil},
        "breadcrumbs": [{"message": evil, "category": evil}],
        "exception": {"values": [{"type": evil, "value": evil, "stacktrace": {"frames": [
            {"function": evil, "module": "m", "in_app": true, "context_line": evil, "vars": {"x": evil}}
        ]}}]},
        "request": {"url": "http://x/<script>", "headers": {"X-Evil": evil}},
    });
    app.send(&event).await;
    let list = browser.get("/issues/").await.body;
    let page = browser.get("/issues/1/").await.body;
    for body in [&list, &page] {
        assert!(
            !body.contains("<script>alert"),
            "raw markup from an event reached the page"
        );
        assert!(
            body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "shown, escaped"
        );
    }
}

#[tokio::test]
async fn unknown_pages_and_ids_get_the_styled_404_page() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    for path in ["/issues/999/", "/issues/abc/", "/projects/nope/", "/no/such/page"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.body.contains("<h1 class=\"status-code\">404</h1>"), "{path}");
    }
}

#[tokio::test]
async fn the_issue_list_filters_by_status_tab_search_and_environment() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    for (function, env) in [("login", "prod"), ("logout", "staging")] {
        let mut event = error_event();
        event["environment"] = json!(env);
        event["exception"]["values"][0]["value"] = json!(format!("{function} broke"));
        event["exception"]["values"][0]["stacktrace"] =
            json!({"frames": [{"function": function, "module": "auth", "in_app": true}]});
        app.send(&event).await;
    }
    let staging = browser.get("/issues/?environment=staging").await.body;
    assert!(staging.contains("logout broke") && !staging.contains("login broke"));
    let search = browser.get("/issues/?query=login").await.body;
    assert!(search.contains("login broke") && !search.contains("logout broke"));
    let resolved = browser.get("/issues/?status=resolved").await.body;
    assert!(resolved.contains("No issues match."));
    let bad = browser.get("/issues/?query=is:bogus").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("is:bogus"));

    // Bulk resolve both, then the resolved tab lists them.
    let csrf = hidden(&browser.get("/issues/").await.body, "csrf");
    let bulk = browser
        .post(
            "/issues/bulk",
            &[("csrf", &csrf), ("action", "resolve"), ("issue", "1"), ("issue", "2")],
        )
        .await;
    assert_eq!(bulk.status, 303);
    let resolved = browser.get("/issues/?status=resolved").await.body;
    assert!(resolved.contains("login broke") && resolved.contains("logout broke"));
}

#[tokio::test]
async fn projects_list_their_dsn_and_admins_create_projects() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let list = browser.get("/projects/").await;
    assert!(list.body.contains(&app.dsn));
    let csrf = hidden(&list.body, "csrf");
    let created = browser
        .post(
            "/projects",
            &[("csrf", &csrf), ("slug", "web-shop"), ("name", "Web shop")],
        )
        .await;
    assert_eq!(created.status, 303);
    assert_eq!(created.location.as_deref(), Some("/projects/web-shop/"));
    let project = browser.get("/projects/web-shop/").await.body;
    assert!(
        project.contains("sentry_sdk.init(dsn=\"http://"),
        "a Python snippet with the new DSN"
    );
    assert!(project.contains("@sentry/browser") && project.contains("sentry::init"));

    let bad = browser
        .post("/projects", &[("csrf", &csrf), ("slug", "Bad Slug")])
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("invalid project slug"));
}

#[tokio::test]
async fn issues_are_assigned_linked_and_commented_from_the_issue_page() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    app.send(&error_event()).await;
    let csrf = hidden(&browser.get("/issues/1/").await.body, "csrf");
    assert_eq!(
        browser
            .post("/issues/1/assign", &[("csrf", &csrf), ("user", "1")])
            .await
            .status,
        303
    );
    let mine = browser.get("/issues/?query=assigned:me").await.body;
    assert!(mine.contains("href=\"/issues/1/\""), "assigned:me lists the issue");
    assert!(mine.contains("class=\"badge assignee\">admin@example.org"));
    let nobody = browser.get("/issues/?query=is:unassigned").await.body;
    assert!(nobody.contains("No issues match."));

    let link = [
        ("csrf", csrf.as_str()),
        ("url", "https://tracker.example/BUG-7"),
        ("label", "BUG-7"),
    ];
    assert_eq!(browser.post("/issues/1/links", &link).await.status, 303);
    let evil = [("csrf", csrf.as_str()), ("url", "javascript:alert(1)"), ("label", "x")];
    assert_eq!(browser.post("/issues/1/links", &evil).await.status, 400);
    let comment = [("csrf", csrf.as_str()), ("text", "Looking into it <b>now</b>")];
    assert_eq!(browser.post("/issues/1/comments", &comment).await.status, 303);

    let page = browser.get("/issues/1/").await.body;
    assert!(page.contains("<p id=\"assignee\">admin@example.org</p>"));
    assert!(page.contains("<a href=\"https://tracker.example/BUG-7\" rel=\"noopener noreferrer\">BUG-7</a>"));
    let activity = browser.get("/issues/1/activity/").await.body;
    assert!(activity.contains("Commented: Looking into it &#60;b&#62;now&#60;/b&#62;"));
    assert!(activity.contains("Assigned to admin@example.org</strong> <span class=\"meta\">by admin@example.org"));
}

#[tokio::test]
async fn user_feedback_from_user_report_and_feedback_items_shows_on_the_issue() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let event = error_event();
    let id = event["event_id"].as_str().unwrap().to_string();
    let payload = serde_json::to_string(&event).unwrap();
    let report = json!({"event_id": id, "name": "Ada", "email": "ada@example.org", "comments": "It broke when I paid"});
    let body = format!(
        "{{\"event_id\":\"{id}\"}}\n{{\"type\":\"event\"}}\n{payload}\n{{\"type\":\"user_report\"}}\n{report}\n"
    );
    assert_eq!(app.post_envelope(body).await.status(), 200);
    let widget = json!({"contexts": {"feedback": {"message": "Still broken", "contact_email": "bob@example.org", "associated_event_id": id}}});
    let body = format!("{{}}\n{{\"type\":\"feedback\"}}\n{widget}\n");
    assert_eq!(app.post_envelope(body).await.status(), 200);
    let bad = app
        .post_envelope("{}\n{\"type\":\"user_report\"}\n{\"name\":\"no comments\"}\n")
        .await;
    assert_eq!(bad.status(), 400);

    let page = browser.get("/issues/1/").await.body;
    assert!(page.contains("User Feedback (2)"));
    assert!(page.contains("Ada &#60;ada@example.org&#62;") && page.contains("It broke when I paid"));
    assert!(page.contains("bob@example.org") && page.contains("Still broken"));
}

#[tokio::test]
async fn the_tags_page_and_the_raw_json_view_show_the_issues_data() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let mut event = error_event();
    event["tags"] = json!({"region": "eu-west"});
    app.send(&event).await;
    let tags = browser.get("/issues/1/tags/").await;
    assert_eq!(tags.status, 200);
    assert!(tags.body.contains("region") && tags.body.contains("eu-west") && tags.body.contains("100%"));
    let id = event["event_id"].as_str().unwrap();
    let raw = browser.get(&format!("/issues/1/events/{id}/json")).await;
    assert_eq!(raw.status, 200);
    let stored: serde_json::Value = serde_json::from_str(&raw.body).unwrap();
    assert_eq!(stored["event_id"], id);
    assert_eq!(
        browser
            .get("/issues/1/events/0123456789abcdef0123456789abcdef/")
            .await
            .status,
        404
    );
    assert_eq!(
        Browser::new(&app)
            .get(&format!("/issues/1/events/{id}/json"))
            .await
            .status,
        303,
        "needs sign-in"
    );
}

#[tokio::test]
async fn the_alerts_page_adds_channels_and_the_issue_page_shows_delivery_history() {
    let receiver = crate::receivers::HttpReceiver::start().await;
    let app = crate::helpers::spawn_app_with(&["--allow-private-webhooks", "true"]).await;
    let browser = Browser::set_up(&app).await;
    let page = browser.get("/projects/default/alerts/").await;
    assert_eq!(page.status, 200);
    let csrf = hidden(&page.body, "csrf");
    let target = format!("{}/slack", receiver.base);
    let add = browser
        .post(
            "/projects/default/alerts",
            &[
                ("csrf", &csrf),
                ("kind", "slack"),
                ("target", &target),
                ("on_new", "on"),
                ("on_regression", "on"),
            ],
        )
        .await;
    assert_eq!(add.status, 303);
    let bad = browser
        .post(
            "/projects/default/alerts",
            &[
                ("csrf", &csrf),
                ("kind", "email"),
                ("target", "nobody"),
                ("on_new", "on"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("email addresses"));
    let listed = browser.get("/projects/default/alerts/").await.body;
    assert!(listed.contains(&target) && listed.contains("new regression"));

    app.send(&error_event()).await;
    receiver.wait_for(1).await;
    crate::helpers::poll(
        "the issue page shows the delivery",
        std::time::Duration::from_secs(20),
        async || {
            let issue = browser.get("/issues/1/").await.body;
            let shown = issue.contains(r#"<td data-label="Channel">slack</td><td data-label="Trigger">new</td>"#)
                && issue.contains(r#"<td data-label="Outcome">delivered</td>"#);
            if shown { Ok(()) } else { Err(issue) }
        },
    )
    .await;
    let test = browser.post("/projects/default/alerts/test", &[("csrf", &csrf)]).await;
    assert!(test.body.contains("A test notification is on its way to 1 channel(s)."));
    receiver.wait_for(2).await;
}

#[tokio::test]
async fn an_admin_sets_project_limits_on_the_project_page_and_bad_values_are_explained() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    for _ in 0..3 {
        app.send(&error_event()).await;
    }
    let page = browser.get("/projects/default/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("3 events stored (at most 10000"), "{}", page.body);
    assert!(page.body.contains("No events refused by rate limits"));
    let csrf = hidden(&page.body, "csrf");

    let bad = browser
        .post(
            "/projects/default/settings",
            &[
                ("csrf", &csrf),
                ("max_events", "lots"),
                ("max_age_days", ""),
                ("rate_limit", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("Max events must be a whole number"), "{}", bad.body);

    let forged = browser
        .post(
            "/projects/default/settings",
            &[
                ("csrf", "forged"),
                ("max_events", "50"),
                ("max_age_days", ""),
                ("rate_limit", ""),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);

    let saved = browser
        .post(
            "/projects/default/settings",
            &[
                ("csrf", &csrf),
                ("max_events", "50"),
                ("max_age_days", "7"),
                ("rate_limit", "120"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = browser.get("/projects/default/").await.body;
    assert!(page.contains("at most 50, each kept up to 7 days"), "{page}");
    assert!(page.contains("name=\"rate_limit\" value=\"120\""), "{page}");
    let (_, _, api) = app.api_get("/api/0/projects/default/default/").await;
    assert_eq!(api["maxEvents"], 50);
    assert_eq!(api["rateLimitPerMinute"], 120);

    let issue = browser.get("/issues/1/").await.body;
    assert!(issue.contains("3 events stored of 3"), "{issue}");
}

#[tokio::test]
async fn an_admin_deletes_a_project_only_after_typing_its_slug() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    app.send(&error_event()).await;
    let csrf = hidden(&browser.get("/projects/default/").await.body, "csrf");
    let wrong = browser
        .post("/projects/default/delete", &[("csrf", &csrf), ("confirm", "yes")])
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("(default) to delete it."), "{}", wrong.body);
    assert_eq!(app.stored_event_count().await, 1);
    let done = browser
        .post("/projects/default/delete", &[("csrf", &csrf), ("confirm", "default")])
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location.as_deref(), Some("/projects/"));
    assert_eq!(browser.get("/projects/default/").await.status, 404);
    assert_eq!(app.stored_event_count().await, 0);
    // Its key is refused at once (the key cache was cleared).
    assert_eq!(
        app.post_envelope(crate::helpers::envelope_of(&error_event()))
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_account_for_a_while_even_for_the_right_one() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let _ = browser; // the admin exists: admin@example.org / "correct horse"
    let attempt = |password: &'static str| {
        let b = Browser::new(&app);
        async move {
            let token = hidden(&b.get("/login").await.body, "form_token");
            b.post(
                "/login",
                &[
                    ("email", "admin@example.org"),
                    ("password", password),
                    ("form_token", &token),
                ],
            )
            .await
        }
    };
    for _ in 0..10 {
        assert_eq!(attempt("wrong guess").await.status, 401);
    }
    let locked = attempt("correct horse").await;
    assert_eq!(locked.status, 429, "the account is locked after 10 failures");
    assert!(locked.body.contains("Too many failed sign-ins"), "{}", locked.body);
}

#[tokio::test]
async fn an_admin_creates_a_read_token_on_the_tokens_page_sees_it_once_and_revokes_it() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let page = browser.get("/settings/tokens/").await;
    assert_eq!(page.status, 200);
    let csrf = hidden(&page.body, "csrf");
    let created = browser
        .post(
            "/settings/tokens",
            &[("csrf", &csrf), ("name", "grafana"), ("scope", "read")],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let token = created
        .body
        .split("id=\"new-token\"")
        .nth(1)
        .and_then(|s| s.split("<code>").nth(1))
        .and_then(|s| s.split("</code>").next())
        .unwrap()
        .to_string();
    assert_eq!(token.len(), 64, "{token}");
    assert!(
        !browser.get("/settings/tokens/").await.body.contains(&token),
        "shown only once"
    );
    let use_it = |t: String| {
        let client = app.client.clone();
        let url = app.url("/api/0/projects/default/default/issues/");
        async move { client.get(url).bearer_auth(t).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(use_it(token.clone()).await, 200);
    let list = browser.get("/settings/tokens/").await.body;
    let id = list
        .split("action=\"/settings/tokens/")
        .filter_map(|s| s.split('/').next())
        .last()
        .unwrap()
        .to_string();
    let revoked = browser
        .post(&format!("/settings/tokens/{id}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(revoked.status, 303);
    assert_eq!(use_it(token).await, 401);
}
