//! Triage from the issue's pages: tag values lead to searches and event lists, shares add up to
//! 100 %, every tab keeps the issue's header, the Events tab says who, where and what.

use serde_json::json;

use crate::helpers::{error_event, spawn_app};
use crate::web::Browser;

/// The sidebar's bars for `key`: (value, percent) in order.
fn sidebar_bars(body: &str, key: &str) -> Vec<(String, u32)> {
    let panel = body
        .split("<div class=\"tag-panel\">")
        .find(|p| p.contains(&format!(">{key}</a></h3>")))
        .unwrap_or_else(|| panic!("no sidebar panel for {key}"));
    let panel = panel.split("</div>\n  \n  <div").next().unwrap();
    panel
        .split("<span class=\"pct\">")
        .skip(1)
        .map(|bar| {
            let pct = bar.split('%').next().unwrap().parse().unwrap();
            let value = bar
                .split("<span class=\"val\">")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap();
            (value.to_string(), pct)
        })
        .collect()
}

#[tokio::test]
async fn tag_values_link_to_searches_and_events_and_their_shares_add_up_to_a_hundred() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    // shard: s1 ×5, s2 ×3, s3 ×2, s4 ×1, s5 ×1; req: a distinct value per event, 60 in all.
    let shards = ["s1", "s1", "s1", "s1", "s1", "s2", "s2", "s2", "s3", "s3", "s4", "s5"];
    for i in 0..60 {
        let mut event = error_event();
        let mut tags = json!({"req": format!("r{i:02}")});
        if let Some(shard) = shards.get(i) {
            tags["shard"] = json!(shard);
        }
        event["tags"] = tags;
        event["user"] = json!({"id": format!("u{}", i % 7)});
        event["release"] = json!("shop@1.0");
        event["environment"] = json!("production");
        app.send(&event).await;
    }

    let page = browser.get("/issues/1/").await.body;
    let bars = sidebar_bars(&page, "shard");
    let values: Vec<&str> = bars.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(values, ["s1", "s2", "s3", "Other"], "{bars:?}");
    assert_eq!(bars.iter().map(|(_, p)| p).sum::<u32>(), 100, "{bars:?}");
    assert!(
        page.contains(r#"href="/projects/default/issues/?query=shard%3As1""#),
        "a bar links to its search"
    );
    assert!(
        page.contains(r#"<a class="v" href="/projects/default/issues/?query=req%3Ar59">r59</a>"#),
        "the event's tag pills link to their search"
    );

    // Following a value's link lists the issue; a value the issue lacks lists nothing.
    let found = browser.get("/projects/default/issues/?query=shard%3As2").await.body;
    assert!(found.contains("href=\"/issues/1/\""));
    let none = browser.get("/projects/default/issues/?query=shard%3As9").await.body;
    assert!(none.contains("No issues match."));

    // The Tags tab: counts per value, links to the events with it; every value of a key, paged.
    let tags = browser.get("/issues/1/tags/").await.body;
    assert!(tags.contains("5 values in 12 events"), "shard's counts");
    assert!(tags.contains("60 values in 60 events"), "req's counts");
    assert!(tags.contains("All 60 values of req"));
    assert!(tags.contains("<td data-label=\"Events\" class=\"num\">5</td>"));
    let s2_events = browser.get("/issues/1/events/?tag=shard&value=s2").await.body;
    assert_eq!(s2_events.matches("<td data-label=\"Event\">").count(), 3, "s2's events");
    let first = browser.get("/issues/1/tags/?key=req").await.body;
    assert_eq!(first.matches("<td data-label=\"Value\">").count(), 50);
    assert!(first.contains("Less frequent →"));
    let second = browser.get("/issues/1/tags/?key=req&page=2").await.body;
    assert_eq!(second.matches("<td data-label=\"Value\">").count(), 10);
    assert!(!second.contains("Less frequent →"));
    assert_eq!(browser.get("/issues/1/tags/?key=nope").await.status, 404);
}

#[tokio::test]
async fn every_tab_keeps_the_issue_header_and_the_events_tab_says_who_where_and_what() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let mut event = error_event();
    event["user"] = json!({"email": "ann@example.org"});
    event["release"] = json!("shop@2.1");
    event["environment"] = json!("staging");
    event["contexts"] = json!({"browser": {"name": "Firefox", "version": "120.0"}, "os": {"name": "Linux"}});
    app.send(&event).await;

    for tab in ["", "events/", "tags/", "activity/"] {
        let page = browser.get(&format!("/issues/1/{tab}")).await.body;
        assert!(
            page.contains("<h1>ZeroDivisionError: division by zero</h1>"),
            "{tab}: the header"
        );
        assert!(page.contains("id=\"resolve\""), "{tab}: the actions");
        assert!(
            page.contains("class=\"active\" aria-current=\"page\""),
            "{tab}: its tab marked"
        );
    }
    let events = browser.get("/issues/1/events/").await.body;
    for cell in [
        "<td data-label=\"User\">email:ann@example.org</td>",
        "<td data-label=\"Release\">shop@2.1</td>",
        "<td data-label=\"Environment\">staging</td>",
        "<td data-label=\"Browser · OS\">Firefox 120.0 · Linux</td>",
        "<td data-label=\"Message\" class=\"event-message\">ZeroDivisionError: division by zero</td>",
    ] {
        assert!(events.contains(cell), "{cell}");
    }
    let activity = browser.get("/issues/1/activity/").await.body;
    assert!(activity.contains("First seen (event"));

    // Charts: labelled axes, and every bar says its hour or day and its count.
    let details = browser.get("/issues/1/").await.body;
    assert!(
        details.contains(">-12h</text>") && details.contains(">today</text>"),
        "time axes"
    );
    assert!(
        details.contains(":00 UTC: 1 event</title>"),
        "an hour's bar names its hour and count"
    );
    let list = browser.get("/issues/").await.body;
    assert_eq!(
        list.matches("<rect class=\"hit\"").count(),
        24,
        "24 hours in the row's sparkline"
    );
}

#[tokio::test]
async fn bulk_actions_reach_the_selection_the_page_or_every_match_and_the_list_marks_new_and_regressed() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    for ty in ["FirstError", "SecondError", "ThirdError"] {
        let event = crate::helpers::error_event_of(ty);
        app.send(&event).await;
    }
    let list = browser.get("/issues/").await.body;
    assert_eq!(list.matches("marker-new\">New<").count(), 3, "first seen today");
    let csrf = crate::web::hidden(&list, "csrf");
    let post = |fields: Vec<(&'static str, String)>| {
        let mut all = vec![("csrf", csrf.clone()), ("base", "/issues/".to_string())];
        all.extend(fields);
        all
    };
    let send = |fields: Vec<(&'static str, String)>| {
        let browser = &browser;
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post("/issues/bulk", &pairs).await
        }
    };

    // Every issue matching "Second": only issue 2 is assigned.
    let done = send(post(vec![
        ("list", "query=Second".into()),
        ("scope", "matching".into()),
        ("action", "assign".into()),
        ("user", "1".into()),
    ]))
    .await;
    assert_eq!(done.status, 303);
    let back = done.location.unwrap();
    assert_eq!(back, "/issues/?query=Second&done=assign&count=1");
    assert!(browser.get(&back).await.body.contains("Assigned 1 issue."));
    assert!(
        browser
            .get("/issues/?query=assigned%3Ame")
            .await
            .body
            .contains("href=\"/issues/2/\"")
    );

    // The page's issues (2 and 3 here), whatever is ticked.
    let done = send(post(vec![
        ("scope", "page".into()),
        ("page_issue", "2".into()),
        ("page_issue", "3".into()),
        ("action", "ignore".into()),
    ]))
    .await;
    assert_eq!(done.location.as_deref(), Some("/issues/?done=ignore&count=2"));
    let ignored = browser.get("/issues/?status=ignored").await.body;
    assert!(ignored.contains("href=\"/issues/2/\"") && ignored.contains("href=\"/issues/3/\""));

    // A resolved issue that comes back is marked Regressed.
    let done = send(post(vec![("issue", "1".into()), ("action", "resolve".into())])).await;
    assert_eq!(done.location.as_deref(), Some("/issues/?done=resolve&count=1"));
    let again = crate::helpers::error_event_of("FirstError");
    app.send(&again).await;
    assert!(
        browser
            .get("/issues/")
            .await
            .body
            .contains("marker-regressed\">Regressed<")
    );

    // Delete asks first, then deletes; a base outside the lists is refused.
    let ask = send(post(vec![("issue", "1".into()), ("action", "delete".into())])).await;
    assert_eq!(ask.status, 200);
    assert!(ask.body.contains("Delete 1 issue?") && ask.body.contains("name=\"confirmed\" value=\"yes\""));
    assert_eq!(
        browser.get("/issues/1/").await.status,
        200,
        "not deleted before confirming"
    );
    let done = send(post(vec![
        ("issue", "1".into()),
        ("action", "delete".into()),
        ("confirmed", "yes".into()),
    ]))
    .await;
    assert_eq!(done.location.as_deref(), Some("/issues/?done=delete&count=1"));
    assert_eq!(browser.get("/issues/1/").await.status, 404);
    let mut outside = post(vec![("issue", "2".into()), ("action", "resolve".into())]);
    outside[1].1 = "https://evil.example/".into();
    assert_eq!(send(outside).await.status, 400);
}

#[tokio::test]
async fn an_issue_ignored_until_more_users_or_a_burst_comes_back_when_the_condition_is_met() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let event_of = |ty: &str, user: &str| {
        let mut e = crate::helpers::error_event_of(ty);
        e["user"] = json!({"id": user});
        e
    };
    let status = |id: i64| {
        let browser = &browser;
        async move {
            let page = browser.get(&format!("/issues/{id}/")).await.body;
            page.split("id=\"issue-status\">")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .to_string()
        }
    };
    app.send(&event_of("UsersError", "ann")).await;
    app.send(&event_of("BurstError", "ann")).await;
    let csrf = crate::web::hidden(&browser.get("/issues/1/").await.body, "csrf");
    let ignore = |id: i64, field: &'static str| {
        let (browser, csrf) = (&browser, csrf.clone());
        async move {
            let form = [("csrf", csrf.as_str()), ("status", "ignored"), (field, "2")];
            assert_eq!(browser.post(&format!("/issues/{id}/status"), &form).await.status, 303);
        }
    };

    // Until 2 more users: ann again and bob once keep it ignored; carl is the second new user.
    ignore(1, "ignore_users").await;
    let head = browser.get("/issues/1/").await.body;
    assert!(
        head.contains("Ignored until 2 more users"),
        "{}",
        head.split("<section class=\"actions\">")
            .nth(1)
            .unwrap_or_default()
            .split("</section>")
            .next()
            .unwrap()
    );
    for user in ["ann", "bob", "bob"] {
        app.send(&event_of("UsersError", user)).await;
        assert_eq!(status(1).await, "ignored", "after {user}");
    }
    app.send(&event_of("UsersError", "carl")).await;
    assert_eq!(status(1).await, "unresolved");
    let activity = browser.get("/issues/1/activity/").await.body;
    assert!(activity.contains("Ignored until 2 more users") && activity.contains("the number of users was reached"));

    // Until 2 events within an hour: the first keeps it ignored, the second ends it.
    ignore(2, "ignore_rate").await;
    assert!(
        browser
            .get("/issues/2/")
            .await
            .body
            .contains("Ignored until 2 events within an hour")
    );
    app.send(&event_of("BurstError", "ann")).await;
    assert_eq!(status(2).await, "ignored");
    app.send(&event_of("BurstError", "ann")).await;
    assert_eq!(status(2).await, "unresolved");
    assert!(
        browser
            .get("/issues/2/activity/")
            .await
            .body
            .contains("as often as allowed within the window")
    );
}

#[tokio::test]
async fn merged_issues_add_up_in_the_one_with_most_events_and_their_later_events_land_there() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let send = |ty: &'static str, shard: &'static str| {
        let app = &app;
        async move {
            let mut e = crate::helpers::error_event_of(ty);
            e["tags"] = json!({"shard": shard});
            e["user"] = json!({"id": shard});
            app.send(&e).await;
        }
    };
    for shard in ["a", "a", "b"] {
        send("MainError", shard).await;
    }
    send("SideError", "c").await;
    send("OtherError", "a").await;
    let csrf = crate::web::hidden(&browser.get("/issues/").await.body, "csrf");
    let form = |confirmed: bool| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("base", "/issues/".to_string()),
            ("issue", "1".into()),
            ("issue", "2".into()),
            ("action", "merge".into()),
        ];
        if confirmed {
            f.push(("confirmed", "yes".into()));
        }
        f
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let browser = &browser;
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post("/issues/bulk", &pairs).await
        }
    };
    let ask = post(form(false)).await;
    assert_eq!(ask.status, 200);
    assert!(
        ask.body.contains("Merge 2 issues into DEFAULT-1?"),
        "the one with most events stays"
    );
    assert_eq!(
        browser.get("/issues/2/").await.status,
        200,
        "nothing merged before confirming"
    );
    let done = post(form(true)).await;
    assert_eq!(done.location.as_deref(), Some("/issues/1/"));
    assert_eq!(browser.get("/issues/2/").await.status, 404);

    let page = browser.get("/issues/1/").await.body;
    assert!(page.contains("<dd id=\"issue-events\">4</dd>"), "3 + 1 events");
    assert!(page.contains("<dd id=\"issue-users\">3</dd>"), "users a, b and c");
    let tags = browser.get("/issues/1/tags/?key=shard").await.body;
    assert!(tags.contains("3 values in 4 events"), "tag values add up");
    let events = browser.get("/issues/1/events/").await.body;
    assert_eq!(
        events.matches("<td data-label=\"Event\">").count(),
        4,
        "the events moved"
    );
    assert!(
        browser
            .get("/issues/1/activity/")
            .await
            .body
            .contains("Merged DEFAULT-2 into this issue")
    );

    // A later SideError lands in the merged issue; OtherError stays apart.
    send("SideError", "d").await;
    let page = browser.get("/issues/1/").await.body;
    assert!(page.contains("<dd id=\"issue-events\">5</dd>"));
    assert!(
        browser
            .get("/issues/3/")
            .await
            .body
            .contains("<dd id=\"issue-events\">1</dd>")
    );

    // The Merged tab lists both fingerprints; unmerging SideError's (2 events) splits it off.
    let merged = browser.get("/issues/1/merged/").await.body;
    let rows: Vec<(String, String)> = merged
        .split("<td data-label=\"Fingerprint\"><code>")
        .skip(1)
        .map(|r| {
            let hash = r.split('<').next().unwrap().to_string();
            let count = r
                .split("class=\"num\">")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .to_string();
            (hash, count)
        })
        .collect();
    assert_eq!(
        rows.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
        ["3", "2"],
        "{rows:?}"
    );
    let side = rows[1].0.clone();
    let split = browser
        .post("/issues/1/unmerge", &[("csrf", csrf.as_str()), ("hash", side.as_str())])
        .await;
    assert_eq!(split.status, 303, "{}", split.body);
    let new_issue = split.location.unwrap();
    assert_eq!(new_issue, "/issues/4/");
    let side_page = browser.get(&new_issue).await.body;
    assert!(
        side_page.contains("<h1>SideError: division by zero</h1>"),
        "named by its newest event"
    );
    assert!(
        side_page.contains("<dd id=\"issue-events\">2</dd>") && side_page.contains("<dd id=\"issue-users\">2</dd>")
    );
    let main_page = browser.get("/issues/1/").await.body;
    assert!(main_page.contains("<dd id=\"issue-events\">3</dd>"));
    assert!(
        browser
            .get("/issues/1/tags/?key=shard")
            .await
            .body
            .contains("2 values in 3 events")
    );
    assert!(
        browser
            .get("/issues/4/tags/?key=shard")
            .await
            .body
            .contains("2 values in 2 events")
    );
    assert!(browser.get("/issues/1/activity/").await.body.contains("into DEFAULT-4"));
    let listed = |body: String| body.matches("<td data-label=\"Event\">").count();
    assert_eq!(
        listed(browser.get("/issues/4/events/").await.body),
        2,
        "the events moved"
    );
    assert_eq!(listed(browser.get("/issues/1/events/").await.body), 3);
    let only_one = browser.get("/issues/4/merged/").await.body;
    assert!(only_one.contains("nothing to unmerge") && !only_one.contains("class=\"unmerge\""));

    // Later events of the fingerprint go to the split-off issue.
    send("SideError", "e").await;
    assert!(
        browser
            .get("/issues/4/")
            .await
            .body
            .contains("<dd id=\"issue-events\">3</dd>")
    );
    assert!(
        browser
            .get("/issues/1/")
            .await
            .body
            .contains("<dd id=\"issue-events\">3</dd>")
    );
}

#[tokio::test]
async fn the_releases_page_lists_the_newest_release_first_by_semver_not_by_when_seen() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    for version in ["app@1.10.0", "app@1.9.0"] {
        let mut event = error_event();
        event["release"] = json!(version);
        app.send(&event).await;
    }
    let list = browser.get("/projects/default/releases/").await.body;
    let at = |v: &str| {
        list.find(&format!(">{v}</a>"))
            .unwrap_or_else(|| panic!("{v} listed: {list}"))
    };
    assert!(
        at("app@1.10.0") < at("app@1.9.0"),
        "1.10.0 is newer although seen first"
    );
}

#[tokio::test]
async fn a_projects_releases_and_a_release_page_show_deploys_new_and_reopened_issues() {
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let mut first = error_event();
    first["release"] = json!("shop@1.0+b1");
    app.send(&first).await;
    let (status, body) = app
        .api_post(
            "/api/0/organizations/default/releases/",
            &json!({"version": "shop@2.0", "projects": ["default"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = app
        .api_post(
            "/api/0/organizations/default/releases/shop@2.0/deploys/",
            &json!({"environment": "production", "name": "blue"}),
        )
        .await;
    assert_eq!(status, 201);
    let csrf = crate::web::hidden(&browser.get("/issues/1/").await.body, "csrf");
    let form = [("csrf", csrf.as_str()), ("status", "resolved")];
    assert_eq!(browser.post("/issues/1/status", &form).await.status, 303);
    let mut again = error_event();
    again["release"] = json!("shop@2.0");
    app.send(&again).await;

    let list = browser.get("/projects/default/releases/").await.body;
    assert!(
        list.contains(r#"<a href="/projects/default/releases/shop@1.0%2Bb1/">shop@1.0+b1</a>"#),
        "{list}"
    );
    assert!(list.contains(r#"<a href="/projects/default/releases/shop@2.0/">shop@2.0</a>"#));
    assert!(list.contains("production ×1 (last to production)"), "{list}");

    let old = browser.get("/projects/default/releases/shop@1.0%2Bb1/").await;
    assert_eq!(old.status, 200, "a version with + in it");
    assert!(
        old.body
            .contains(r#"<ul id="release-new" class="release-issues"><li><a href="/issues/1/">"#)
    );
    let new = browser.get("/projects/default/releases/shop@2.0/").await.body;
    assert!(
        new.contains(r#"<ul id="release-reopened" class="release-issues"><li><a href="/issues/1/">"#),
        "{new}"
    );
    assert!(new.contains("<td data-label=\"Environment\">production</td><td data-label=\"Name\">blue</td>"));
    assert_eq!(browser.get("/projects/default/releases/nope/").await.status, 404);

    // The issue names its first and last release as links.
    let issue = browser.get("/issues/1/").await.body;
    assert!(issue.contains(r#"href="/projects/default/releases/shop@1.0%2Bb1/">shop@1.0+b1</a>"#));
    assert!(issue.contains(r#"href="/projects/default/releases/shop@2.0/">shop@2.0</a>"#));
}
