//! Alert rules (issue 17): when, if, then, and not more than once per issue every interval;
//! set through `/api/0/projects/{org}/{project}/rules/`, delivered to real receivers.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_event, spawn_app_with};
use crate::receivers::HttpReceiver;

const RULES: &str = "/api/0/projects/default/default/rules/";
const NEW: &str = "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition";
const REGRESSION: &str = "sentry.rules.conditions.regression_event.RegressionEventCondition";

/// A server that may post to loopback receivers, and a Slack-compatible channel on one that no
/// trigger of its own feeds: only rules send to it.
async fn app_with_channel() -> (TestApp, HttpReceiver, String) {
    let app = spawn_app_with(&["--allow-private-webhooks", "true"]).await;
    let receiver = HttpReceiver::start().await;
    let id = channel_for_rules(&app, "slack", &format!("{}/hook", receiver.base)).await;
    (app, receiver, id)
}

/// A channel of the default project with no triggers of its own (only rules send to it); its id.
async fn channel_for_rules(app: &TestApp, kind: &str, target: &str) -> String {
    let (status, channel) = app
        .api_post(
            "/api/0/projects/default/default/alerts/",
            &json!({"kind": kind, "target": target, "triggers": []}),
        )
        .await;
    assert_eq!(status, 201, "{channel}");
    channel["id"].as_str().unwrap().to_string()
}

/// An error of the bug called `name` (same name, same issue).
fn bug(name: &str, environment: &str) -> Value {
    let mut event = error_event();
    event["environment"] = json!(environment);
    event["exception"]["values"][0]["stacktrace"] =
        json!({"frames": [{"module": "shop", "function": name, "lineno": 7, "in_app": true}]});
    event
}

/// The notifications queued for `channel`, as (trigger, issue) pairs.
async fn queued(app: &TestApp, channel: &str) -> Vec<(String, Option<i64>)> {
    app.outbox()
        .await
        .into_iter()
        .filter(|r| r.channel_id.to_string() == channel)
        .map(|r| (r.trigger, r.issue_id))
        .collect()
}

async fn issue_status(app: &TestApp) -> Value {
    app.api_get("/api/0/issues/1/").await.2["status"].clone()
}

async fn add_rule(app: &TestApp, rule: Value) -> Value {
    let (status, body) = app.api_post(RULES, &rule).await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn a_production_only_rule_alerts_once_for_production_and_never_for_staging() {
    let (app, receiver, channel) = app_with_channel().await;
    add_rule(
        &app,
        json!({"name": "Production", "conditions": [{"id": NEW}], "environments": ["production"],
               "actions": [{"channel": channel}]}),
    )
    .await;

    app.send(&bug("checkout", "staging")).await;
    assert_eq!(queued(&app, &channel).await, [], "staging alerts nobody");
    app.send(&bug("login", "production")).await;
    app.send(&bug("login", "production")).await;
    let rows = queued(&app, &channel).await;
    assert_eq!(rows.len(), 1, "one new issue in production, one alert: {rows:?}");
    assert_eq!(rows[0].0, "new");

    let got = receiver.wait_for(1).await;
    assert!(got[0].body.contains("ZeroDivisionError"), "{}", got[0].body);
    let (_, _, rules) = app.api_get(RULES).await;
    assert!(rules[0]["lastTriggered"].is_string(), "{rules}");
}

#[tokio::test]
async fn level_and_tag_filters_must_all_hold() {
    let (app, _receiver, channel) = app_with_channel().await;
    add_rule(
        &app,
        json!({"name": "Acme errors", "conditions": [{"id": NEW}],
               "filters": [
                   {"id": "sentry.rules.filters.level.LevelFilter", "match": "gte", "level": "error"},
                   {"id": "sentry.rules.filters.tagged_event.TaggedEventFilter", "key": "customer", "match": "eq", "value": "acme"},
                   {"id": "sentry.rules.filters.tagged_event.TaggedEventFilter", "key": "canary", "match": "ne", "value": "yes"}],
               "actions": [{"channel": channel}]}),
    )
    .await;
    let with = |name: &str, level: &str, tags: Value| {
        let mut e = bug(name, "production");
        e["level"] = json!(level);
        e["tags"] = tags;
        e
    };
    app.send(&with("a", "warning", json!({"customer": "acme"}))).await;
    app.send(&with("b", "error", json!({"customer": "other"}))).await;
    app.send(&with("c", "fatal", json!({"customer": "acme", "canary": "yes"})))
        .await;
    assert_eq!(queued(&app, &channel).await, [], "each misses one filter");
    app.send(&with("d", "fatal", json!({"customer": "acme"}))).await;
    assert_eq!(queued(&app, &channel).await.len(), 1);
}

#[tokio::test]
async fn a_rule_fires_once_per_issue_within_its_interval_and_every_time_with_none() {
    let (app, _receiver, channel) = app_with_channel().await;
    let every_time = channel_for_rules(&app, "webhook", "http://127.0.0.1:9/none").await;
    add_rule(
        &app,
        json!({"name": "Regressions, half-hourly", "conditions": [{"id": REGRESSION}],
               "actions": [{"channel": channel}], "frequency": 30}),
    )
    .await;
    add_rule(
        &app,
        json!({"name": "Regressions, always", "conditions": [{"id": REGRESSION}],
               "actions": [{"channel": every_time}], "frequency": 0}),
    )
    .await;

    app.send(&bug("pay", "production")).await;
    let (_, _, issues) = app.api_get("/api/0/projects/default/default/issues/").await;
    let issue = issues[0]["id"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let (status, body) = app
            .api_put(&format!("/api/0/issues/{issue}/"), &json!({"status": "resolved"}))
            .await;
        assert_eq!(status, 200, "{body}");
        app.send(&bug("pay", "production")).await;
    }
    let regressions = |rows: Vec<(String, Option<i64>)>| rows.iter().filter(|r| r.0 == "regression").count();
    assert_eq!(regressions(queued(&app, &channel).await), 1, "once in 30 minutes");
    assert_eq!(regressions(queued(&app, &every_time).await), 3, "every regression");
}

#[tokio::test]
async fn rules_are_listed_changed_and_deleted_and_bad_ones_are_refused() {
    let (app, _receiver, channel) = app_with_channel().await;
    let rule = add_rule(
        &app,
        json!({"name": "New", "conditions": [{"id": NEW}], "environment": "production",
               "actions": [{"channel": channel}]}),
    )
    .await;
    assert_eq!(rule["frequency"], 30, "Sentry's default interval: {rule}");
    assert_eq!(rule["environments"], json!(["production"]));
    let path = format!("{RULES}{}/", rule["id"].as_str().unwrap());

    let mut changed = rule.clone();
    changed["name"] = json!("New, anywhere");
    changed["environment"] = Value::Null;
    changed["environments"] = json!([]);
    let (status, body) = app.api_put(&path, &changed).await;
    assert_eq!(status, 200, "{body}");
    let (_, _, read) = app.api_get(&path).await;
    assert_eq!(read["name"], "New, anywhere");
    assert_eq!(read["environments"], json!([]));

    for (bad, says) in [
        (
            json!({"name": "x", "conditions": [{"id": NEW}], "actions": [{"channel": "999"}]}),
            "channel",
        ),
        (
            json!({"name": "x", "conditions": [], "actions": [{"channel": channel}]}),
            "trigger",
        ),
        (
            json!({"name": "x", "conditions": [{"id": NEW}], "actions": [{"channel": channel}], "frequency": -5}),
            "interval",
        ),
        (json!([1, 2]), "object"),
    ] {
        let (status, body) = app.api_post(RULES, &bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["detail"].as_str().unwrap_or_default().contains(says),
            "{bad}: {body}"
        );
    }

    assert_eq!(app.api_delete(&path).await, 204);
    assert_eq!(app.api_delete(&path).await, 404);
    let (_, _, rules) = app.api_get(RULES).await;
    assert_eq!(rules, json!([]));
}

#[tokio::test]
async fn a_channel_made_with_triggers_brings_its_own_rule_that_fires_every_time() {
    let app = spawn_app_with(&["--allow-private-webhooks", "true"]).await;
    let (status, channel) = app
        .api_post(
            "/api/0/projects/default/default/alerts/",
            &json!({"kind": "webhook", "target": "http://127.0.0.1:9/none", "triggers": ["new", "regression"]}),
        )
        .await;
    assert_eq!(status, 201, "{channel}");
    let (_, _, rules) = app.api_get(RULES).await;
    assert_eq!(rules.as_array().unwrap().len(), 1, "{rules}");
    assert_eq!(rules[0]["frequency"], 0, "{rules}");
    assert_eq!(rules[0]["conditions"].as_array().unwrap().len(), 2);
    assert_eq!(rules[0]["actions"][0]["channel"], channel["id"]);
}

#[tokio::test]
async fn each_chat_service_gets_its_documented_shape_with_a_hostile_message_made_harmless() {
    let app = spawn_app_with(&["--allow-private-webhooks", "true"]).await;
    let receiver = HttpReceiver::start().await;
    let kinds = [
        "slack",
        "discord",
        "teams",
        "mattermost",
        "rocketchat",
        "googlechat",
        "ntfy",
    ];
    for kind in kinds {
        let (status, body) = app
            .api_post(
                "/api/0/projects/default/default/alerts/",
                &json!({"kind": kind, "target": format!("{}/{kind}", receiver.base), "triggers": ["new"]}),
            )
            .await;
        assert_eq!(status, 201, "{kind}: {body}");
    }
    let mut event = bug("pay", "production");
    event["release"] = json!("shop@1.0.0");
    event["user"] = json!({"id": "u1"});
    event["exception"]["values"][0]["value"] =
        json!("@everyone @here <!channel> <users/all> [win](https://evil.example) **now**");
    app.send(&event).await;

    let got = receiver.wait_for(kinds.len()).await;
    let body_of = |path: &str| -> Value {
        got.iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("nothing posted to {path}: {got:?}"))
            .json()
    };
    for (kind, body) in kinds
        .iter()
        .filter(|k| **k != "ntfy")
        .map(|k| (*k, body_of(&format!("/{k}"))))
    {
        let text = body.to_string();
        for mention in ["@everyone", "@here", "<!channel>", "<users/all>"] {
            assert!(!text.contains(mention), "{kind} carries a live {mention}: {text}");
        }
        // Markdown links are live where the service reads Markdown (Slack and Google Chat
        // link only with `<url|text>` and `<a>`, both escaped above).
        if ["discord", "teams", "mattermost", "rocketchat"].contains(&kind) {
            assert!(
                !text.contains("[win](https://evil.example)"),
                "{kind} carries a link: {text}"
            );
        }
        assert!(text.contains("/issues/"), "{kind} links to the issue: {text}");
        // What the on-call person needs: counts and times beside the title.
        for fact in ["Events", "Users", "First seen", "Last seen", "Environment", "Release"] {
            assert!(text.contains(fact), "{kind} says nothing of {fact}: {text}");
        }
    }
    let discord = body_of("/discord");
    assert_eq!(discord["allowed_mentions"], json!({"parse": []}));
    assert!(discord["embeds"][0]["title"].as_str().unwrap().chars().count() <= 256);
    let teams = body_of("/teams");
    assert_eq!(
        teams["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(teams["attachments"][0]["content"]["type"], "AdaptiveCard");
    assert!(body_of("/googlechat")["cardsV2"][0]["card"]["sections"].is_array());
    assert!(body_of("/mattermost")["attachments"][0]["title_link"].is_string());
    // ntfy is published as JSON to the server's root, the topic inside.
    let ntfy = body_of("/");
    assert_eq!(ntfy["topic"], "ntfy");
    assert!(ntfy["click"].as_str().unwrap().contains("/issues/"));
    assert!(
        ntfy["message"].as_str().unwrap().contains("Environment: production"),
        "{ntfy}"
    );
}

#[tokio::test]
async fn the_cli_adds_a_chat_service_channel_and_explains_a_bad_one() {
    let app = spawn_app_with(&[]).await;
    let ok = app.cli(&[
        "alerts",
        "add",
        "--project",
        "default",
        "--chat",
        "discord=https://discord.example/api/webhooks/1/x",
    ]);
    assert!(ok.success, "{}", ok.stderr);
    assert!(ok.stdout.contains("added discord channel"), "{}", ok.stdout);
    let list = app.cli(&["alerts", "list", "--project", "default"]);
    assert!(list.stdout.contains("discord"), "{}", list.stdout);
    // Rules from the command line, in the API's JSON.
    let channels = app.cli(&["alerts", "list", "--project", "default"]);
    let channel = channels
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let rule =
        json!({"name": "From the CLI", "conditions": [{"id": NEW}], "actions": [{"channel": channel}]}).to_string();
    let added = app.cli(&["alerts", "rule-add", "--project", "default", "--json", &rule]);
    assert!(added.success && added.stdout.contains("added rule"), "{}", added.stderr);
    let id = added.stdout.trim().rsplit(' ').next().unwrap().to_string();
    let listed = app.cli(&["alerts", "rules", "--project", "default"]);
    // The channel's own rule first, then this one.
    let last: Value = serde_json::from_str(listed.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["name"], "From the CLI", "{}", listed.stdout);
    assert_eq!(last["frequency"], 30);
    for (json, says) in [
        ("{nope", "not JSON"),
        (r#"{"name": "x", "conditions": [], "actions": []}"#, "trigger"),
    ] {
        let bad = app.cli(&["alerts", "rule-add", "--project", "default", "--json", json]);
        assert!(!bad.success && bad.stderr.contains(says), "{json}: {}", bad.stderr);
    }
    let changed =
        json!({"name": "Changed", "conditions": [{"id": REGRESSION}], "frequency": 5, "actions": [{"channel": channel}]})
            .to_string();
    let set = app.cli(&["alerts", "rule-set", "--project", "default", &id, "--json", &changed]);
    assert!(set.success && set.stdout.contains("replaced rule"), "{}", set.stderr);
    let relisted = app.cli(&["alerts", "rules", "--project", "default"]);
    assert_eq!(
        relisted.stdout.lines().count(),
        listed.stdout.lines().count(),
        "replaced, not added"
    );
    let last: Value = serde_json::from_str(relisted.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        (last["name"].as_str(), last["frequency"].as_i64()),
        (Some("Changed"), Some(5))
    );
    assert_eq!(last["conditions"], json!([{"id": REGRESSION}]));
    let missing = app.cli(&["alerts", "rule-set", "--project", "default", "999", "--json", &changed]);
    assert!(
        !missing.success && missing.stderr.contains("no rule 999"),
        "{}",
        missing.stderr
    );
    let removed = app.cli(&["alerts", "rule-remove", "--project", "default", &id]);
    assert!(removed.success, "{}", removed.stderr);
    assert!(!app.cli(&["alerts", "rule-remove", "--project", "default", &id]).success);
    for (arg, says) in [
        ("discord", "SERVICE=URL"),
        ("pager=https://x.example/", "unknown channel kind"),
        ("ntfy=https://ntfy.example/", "topic"),
    ] {
        let bad = app.cli(&["alerts", "add", "--project", "default", "--chat", arg]);
        assert!(!bad.success && bad.stderr.contains(says), "{arg}: {}", bad.stderr);
    }
}

#[tokio::test]
async fn an_admin_adds_and_removes_a_rule_on_the_alerts_page() {
    let (app, _receiver, channel) = app_with_channel().await;
    let browser = crate::web::Browser::set_up(&app).await;
    let page = browser.get("/projects/default/alerts/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No rules."), "{}", page.body);
    assert!(page.body.contains("Nothing has fired yet."), "{}", page.body);
    let csrf = crate::web::hidden(&page.body, "csrf");

    let bad = browser
        .post(
            "/projects/default/alerts/rules",
            &[
                ("csrf", &csrf),
                ("name", "No channel"),
                ("when_new", "on"),
                ("interval", "30"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("at least one channel"), "{}", bad.body);

    let saved = browser
        .post(
            "/projects/default/alerts/rules",
            &[
                ("csrf", &csrf),
                ("name", "Production only"),
                ("when_new", "on"),
                ("environments", "production"),
                ("min_level", "error"),
                ("tags", ""),
                ("channel", &channel),
                ("interval", "30"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    app.send(&bug("cart", "staging")).await;
    app.send(&bug("cart2", "production")).await;
    assert_eq!(queued(&app, &channel).await.len(), 1);
    let page = browser.get("/projects/default/alerts/").await.body;
    assert!(
        page.contains("Production only") && page.contains("environment is production"),
        "{page}"
    );
    assert!(page.contains("level is at least error"), "{page}");
    assert!(!page.contains(">never<"), "it has fired: {page}");
    // The history says what fired, by which rule, for which issue and channel.
    assert!(
        page.contains(r#"<td data-label="Trigger">new</td>"#) && page.contains(r#"<a href="/issues/2/">2</a>"#),
        "{page}"
    );

    let (_, _, rules) = app.api_get(RULES).await;
    let id = rules[0]["id"].as_str().unwrap().to_string();
    // A channel the rule does not send to gets no test of the rule.
    channel_for_rules(&app, "webhook", "http://127.0.0.1:9/none").await;
    let test = browser
        .post(&format!("/projects/default/alerts/rules/{id}/test"), &[("csrf", &csrf)])
        .await;
    assert!(
        test.body
            .contains("A test notification of rule “Production only” is on its way to 1 channel(s)."),
        "{}",
        test.body
    );
    assert_eq!(fired(&queued(&app, &channel).await, "test"), 1);
    let gone = browser
        .post(
            &format!("/projects/default/alerts/rules/{id}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(gone.status, 303);
    assert!(
        browser
            .get("/projects/default/alerts/")
            .await
            .body
            .contains("No rules.")
    );
}

#[tokio::test]
async fn an_email_alert_offers_to_ignore_the_issue_behind_sign_in_and_a_confirming_post() {
    let sink = crate::receivers::SmtpSink::start();
    let port = sink.port.to_string();
    let app = spawn_app_with(&["--smtp-host", "127.0.0.1", "--smtp-port", &port]).await;
    let out = app.cli(&["alerts", "add", "--project", "default", "--email", "oncall@example.org"]);
    assert!(out.success, "{}", out.stderr);
    app.send(&bug("mute", "production")).await;
    let mails = sink.wait_for(1).await;
    // Mail bodies may be quoted-printable, where `=` is written `=3D`.
    let data = mails[0]["data"]
        .as_str()
        .unwrap()
        .replace("=3D", "=")
        .replace("=\r\n", "");
    for minutes in ["60", "1440"] {
        assert!(
            data.contains(&format!("{}/issues/1/mute?minutes={minutes}", app.base_url)),
            "{data}"
        );
    }

    // Signed out, the link leads to sign-in and changes nothing.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client
        .get(format!("{}/issues/1/mute?minutes=60", app.base_url))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("login"), "{location}");

    // Signed in, the page asks; the GET still changes nothing; the button does.
    let browser = crate::web::Browser::set_up(&app).await;
    let page = browser.get("/issues/1/mute?minutes=60").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Ignore DEFAULT-1 for 1 hour?"), "{}", page.body);
    assert_eq!(issue_status(&app).await, "unresolved");
    let csrf = crate::web::hidden(&page.body, "csrf");
    let done = browser
        .post(
            "/issues/1/status",
            &[("csrf", &csrf), ("status", "ignored"), ("ignore_minutes", "60")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(issue_status(&app).await, "ignored");
    assert_eq!(browser.get("/issues/1/mute?minutes=0").await.status, 400);
}

const FREQUENCY: &str = "sentry.rules.conditions.event_frequency.EventFrequencyCondition";
const USERS: &str = "sentry.rules.conditions.event_frequency.EventUniqueUserFrequencyCondition";

/// An event of one bug at `offset` seconds after `base` (time is the events' own).
fn at(base: f64, offset: f64, user: Option<&str>) -> Value {
    let mut e = bug("often", "production");
    e["timestamp"] = json!(base + offset);
    if let Some(u) = user {
        e["user"] = json!({"id": u});
    }
    e
}

fn fired(rows: &[(String, Option<i64>)], trigger: &str) -> usize {
    rows.iter().filter(|r| r.0 == trigger).count()
}

#[tokio::test]
async fn more_than_ten_in_five_minutes_fires_at_the_eleventh_then_not_until_the_interval_is_over() {
    let (mut app, _receiver, channel) = app_with_channel().await;
    add_rule(
        &app,
        json!({"name": "Bursts", "conditions": [{"id": FREQUENCY, "value": 10, "interval": "5m"}],
               "actions": [{"channel": channel}], "frequency": 30}),
    )
    .await;
    // A whole minute two hours ago, so that offsets within it stay in one minute.
    let base = ((tocsin::event::unix_now() - 7200.0) / 60.0).floor() * 60.0;
    for i in 0..9 {
        app.send(&at(base, f64::from(i) * 30.0, None)).await;
    }
    assert_eq!(fired(&queued(&app, &channel).await, "frequency"), 0, "9 in 5 minutes");
    app.send(&at(base, 270.0, None)).await;
    assert_eq!(
        fired(&queued(&app, &channel).await, "frequency"),
        0,
        "10 is not more than 10"
    );
    app.send(&at(base, 275.0, None)).await;
    assert_eq!(
        fired(&queued(&app, &channel).await, "frequency"),
        1,
        "the 11th fires it"
    );

    // A restart keeps when it fired: 20 more within the interval fire nothing.
    app.kill();
    app.start();
    for i in 0..20 {
        app.send(&at(base, 280.0 + f64::from(i) * 60.0, None)).await;
    }
    assert_eq!(
        fired(&queued(&app, &channel).await, "frequency"),
        1,
        "once per 30 minutes"
    );

    // After the interval, a new burst fires again.
    for i in 0..11 {
        app.send(&at(base, 3600.0 + f64::from(i), None)).await;
    }
    assert_eq!(fired(&queued(&app, &channel).await, "frequency"), 2);
}

#[tokio::test]
async fn more_than_two_users_in_an_hour_counts_distinct_users() {
    let (app, _receiver, channel) = app_with_channel().await;
    add_rule(
        &app,
        json!({"name": "Spreading", "conditions": [{"id": USERS, "value": 2, "interval": "1h"}],
               "actions": [{"channel": channel}]}),
    )
    .await;
    let base = tocsin::event::unix_now() - 1800.0;
    for (i, user) in ["ann", "bob", "ann", "bob", "ann"].iter().enumerate() {
        app.send(&at(base, i as f64, Some(user))).await;
    }
    assert_eq!(
        fired(&queued(&app, &channel).await, "users"),
        0,
        "two users, however often"
    );
    app.send(&at(base, 10.0, Some("cid"))).await;
    assert_eq!(fired(&queued(&app, &channel).await, "users"), 1, "the third user");
    let (_, _, rules) = app.api_get(RULES).await;
    assert_eq!(rules[0]["conditions"][0]["interval"], "1h", "{rules}");
    assert_eq!(rules[0]["conditions"][0]["value"], 2);
}

#[tokio::test]
async fn release_pattern_and_assignee_filters_pick_the_regressions_that_alert() {
    let (app, _receiver, channel) = app_with_channel().await;
    app.create_user("dev@example.org", "a long password");
    add_rule(
        &app,
        json!({"name": "Unowned 2.x regressions", "conditions": [{"id": REGRESSION}], "frequency": 0,
               "filters": [{"id": "tocsin.rules.filters.release.ReleaseFilter", "value": "shop@2.*"},
                           {"id": "sentry.rules.filters.assigned_to.AssignedToFilter", "targetType": "Unassigned"}],
               "actions": [{"channel": channel}]}),
    )
    .await;
    let in_release = |version: &str| {
        let mut e = bug("pay", "production");
        e["release"] = json!(version);
        e
    };
    let regress = |version: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app.api_put("/api/0/issues/1/", &json!({"status": "resolved"})).await;
            assert_eq!(status, 200, "{body}");
            app.send(&in_release(version)).await;
        }
    };
    app.send(&in_release("shop@2.0")).await;
    regress("shop@1.9").await;
    assert_eq!(fired(&queued(&app, &channel).await, "regression"), 0, "1.9 is not 2.x");
    regress("shop@2.1").await;
    assert_eq!(fired(&queued(&app, &channel).await, "regression"), 1, "2.1, unassigned");
    let (status, body) = app
        .api_put("/api/0/issues/1/", &json!({"assignedTo": "dev@example.org"}))
        .await;
    assert_eq!(status, 200, "{body}");
    regress("shop@2.2").await;
    assert_eq!(fired(&queued(&app, &channel).await, "regression"), 1, "assigned now");
    let (_, _, rules) = app.api_get(RULES).await;
    let filters = rules[0]["filters"].to_string();
    assert!(
        filters.contains("shop@2.*") && filters.contains("Unassigned"),
        "{filters}"
    );
}

#[tokio::test]
async fn a_latest_release_rule_alerts_for_new_issues_of_the_newest_release_only() {
    let (app, _receiver, channel) = app_with_channel().await;
    add_rule(
        &app,
        json!({"name": "Latest release", "conditions": [{"id": NEW}], "frequency": 0,
               "filters": [{"id": "sentry.rules.filters.latest_release.LatestReleaseFilter"}],
               "actions": [{"channel": channel}]}),
    )
    .await;
    let in_release = |name: &str, version: Option<&str>| {
        let mut e = bug(name, "production");
        if let Some(v) = version {
            e["release"] = json!(v);
        }
        e
    };
    app.send(&in_release("a", Some("shop@1.0.0"))).await;
    assert_eq!(
        fired(&queued(&app, &channel).await, "new"),
        1,
        "the only release is the latest"
    );
    app.send(&in_release("b", Some("shop@2.0.0"))).await;
    assert_eq!(
        fired(&queued(&app, &channel).await, "new"),
        2,
        "a newer release's first event"
    );
    app.send(&in_release("c", Some("shop@1.0.0"))).await;
    app.send(&in_release("d", None)).await;
    assert_eq!(
        fired(&queued(&app, &channel).await, "new"),
        2,
        "an older release, and none"
    );
    // A release made through the API (sentry-cli before a deploy) is the latest from then on.
    let (status, body) = app
        .api_post(
            "/api/0/organizations/default/releases/",
            &json!({"version": "shop@3.0.0", "projects": ["default"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app.send(&in_release("e", Some("shop@2.0.0"))).await;
    assert_eq!(
        fired(&queued(&app, &channel).await, "new"),
        2,
        "2.0.0 is no longer the latest"
    );
    app.send(&in_release("f", Some("shop@3.0.0"))).await;
    assert_eq!(fired(&queued(&app, &channel).await, "new"), 3);
    let (_, _, rules) = app.api_get(RULES).await;
    assert!(
        rules[0]["filters"].to_string().contains("LatestReleaseFilter"),
        "{rules}"
    );
}

#[tokio::test]
async fn an_email_channel_for_the_projects_members_mails_everyone_with_an_account_when_it_fires() {
    let sink = crate::receivers::SmtpSink::start();
    let port = sink.port.to_string();
    let app = spawn_app_with(&["--smtp-host", "127.0.0.1", "--smtp-port", &port]).await;
    app.create_user("ana@example.org", "a long password");
    app.create_user("bo@example.org", "a long password");
    let out = app.cli(&["alerts", "add", "--project", "default", "--email", "members"]);
    assert!(out.success, "{}", out.stderr);
    app.send(&bug("first", "production")).await;
    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0]["rcpt_tos"], json!(["ana@example.org", "bo@example.org"]));

    // Someone who joins later gets the next alert: members are read when it goes out.
    app.create_user("cy@example.org", "a long password");
    app.send(&bug("second", "production")).await;
    let mails = sink.wait_for(2).await;
    assert_eq!(
        mails[1]["rcpt_tos"],
        json!(["ana@example.org", "bo@example.org", "cy@example.org"])
    );
    let (_, _, channels) = app.api_get("/api/0/projects/default/default/alerts/").await;
    assert_eq!(channels[0]["target"], "members", "{channels}");
}

#[tokio::test]
async fn an_admin_edits_a_rule_on_the_alerts_page_and_a_refused_edit_keeps_what_was_typed() {
    let (app, _receiver, channel) = app_with_channel().await;
    let rule = add_rule(
        &app,
        json!({"name": "Production", "conditions": [{"id": NEW}], "environments": ["production"],
               "filters": [{"id": "sentry.rules.filters.tagged_event.TaggedEventFilter", "key": "customer", "match": "ne", "value": "test"}],
               "actions": [{"channel": channel}], "frequency": 45}),
    )
    .await;
    let id = rule["id"].as_str().unwrap();
    let browser = crate::web::Browser::set_up(&app).await;
    let list = browser.get("/projects/default/alerts/").await.body;
    let edit_url = format!("/projects/default/alerts/rules/{id}/edit");
    assert!(list.contains(&format!(r#"href="{edit_url}""#)), "{list}");

    // The form shows the rule as stored.
    let form = browser.get(&edit_url).await;
    assert_eq!(form.status, 200);
    for shown in [
        r#"name="name" required placeholder="Production errors" value="Production""#,
        r#"name="environments" placeholder="production, eu-production (blank: any)" value="production""#,
        r#"value="customer!=test""#,
        r#"name="interval" value="45""#,
        &format!(r#"name="channel" value="{channel}" checked"#),
        r#"name="when_new" checked"#,
    ] {
        assert!(form.body.contains(shown), "{shown} in {}", form.body);
    }
    let csrf = crate::web::hidden(&form.body, "csrf");
    let action = format!("/projects/default/alerts/rules/{id}");

    let refused = browser
        .post(
            &action,
            &[
                ("csrf", &csrf),
                ("name", "Staging too"),
                ("when_new", "on"),
                ("environments", "staging"),
                ("channel", &channel),
                ("interval", "soon"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("not a whole number of minutes"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(r#"value="Staging too""#), "{}", refused.body);
    assert!(refused.body.contains(r#"value="soon""#), "{}", refused.body);

    let saved = browser
        .post(
            &action,
            &[
                ("csrf", &csrf),
                ("name", "Staging too"),
                ("when_new", "on"),
                ("environments", "production, staging"),
                ("latest_release", "on"),
                ("channel", &channel),
                ("interval", "10"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let (_, _, rules) = app.api_get(RULES).await;
    assert_eq!(rules.as_array().unwrap().len(), 1, "edited, not added: {rules}");
    assert_eq!(rules[0]["name"], "Staging too");
    assert_eq!(rules[0]["environments"], json!(["production", "staging"]));
    assert_eq!(rules[0]["frequency"], 10);
    assert_eq!(
        rules[0]["filters"],
        json!([{"id": "sentry.rules.filters.latest_release.LatestReleaseFilter"}]),
        "the tag filter is gone, the latest-release filter is new"
    );
    let mut staging = bug("deploy", "staging");
    staging["release"] = json!("1.0");
    app.send(&staging).await;
    assert_eq!(fired(&queued(&app, &channel).await, "new"), 1, "staging alerts now");

    assert_eq!(browser.get("/projects/default/alerts/rules/999/edit").await.status, 404);
    let stranger = browser
        .post("/projects/default/alerts/rules/999", &[("csrf", &csrf)])
        .await;
    assert_eq!(stranger.status, 404);
}

#[tokio::test]
async fn a_frequency_alert_crossed_across_restarts_is_delivered_exactly_once() {
    let mut sink = crate::receivers::SmtpSink::down();
    let port = sink.port.to_string();
    let mut app = spawn_app_with(&["--smtp-host", "127.0.0.1", "--smtp-port", &port]).await;
    let channel = channel_for_rules(&app, "email", "oncall@example.org").await;
    add_rule(
        &app,
        json!({"name": "Bursts", "conditions": [{"id": FREQUENCY, "value": 5, "interval": "5m"}],
               "actions": [{"channel": channel}]}),
    )
    .await;
    let base = ((tocsin::event::unix_now() - 7200.0) / 60.0).floor() * 60.0;
    for i in 0..5 {
        app.send(&at(base, f64::from(i), None)).await;
    }
    // The count up to the threshold survives a crash; the event after it crosses.
    app.kill();
    app.start();
    assert_eq!(
        fired(&queued(&app, &channel).await, "frequency"),
        0,
        "5 is not more than 5"
    );
    app.send(&at(base, 5.0, None)).await;
    assert_eq!(fired(&queued(&app, &channel).await, "frequency"), 1, "the 6th crosses");

    // Queued but not delivered (the SMTP server is down) when the process dies: it goes out
    // once after the restart, and the events after it fire nothing within the interval.
    crate::delivery::wait_outbox(&app, |rows| rows.iter().any(|r| r.attempts >= 1)).await;
    assert!(sink.mails().is_empty());
    app.kill();
    sink.come_up();
    app.start();
    for i in 6..12 {
        app.send(&at(base, f64::from(i), None)).await;
    }
    let rows = crate::delivery::dispatched(&app).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].state, "delivered", "{rows:?}");
    assert_eq!(sink.mails().len(), 1, "delivered exactly once");
}
