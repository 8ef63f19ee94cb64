//! The web UI in a real headless Chromium: set up, sign in, find the Flask bug from the real
//! sentry-sdk, read its frame, resolve it, see it regress; and event data that tries to run
//! script shows as text.

use fantoccini::Locator;

use crate::chromium::Browser;
use crate::helpers::{TestApp, spawn_app};
use crate::python::run_script;

pub async fn set_up_admin(app: &TestApp, browser: &Browser) {
    let c = &browser.client;
    c.goto(app.setup_link.as_deref().expect("setup link")).await.unwrap();
    let form = c.form(Locator::Css("form")).await.unwrap();
    form.set_by_name("email", "admin@example.org").await.unwrap();
    form.set_by_name("password", "correct horse").await.unwrap();
    form.set_by_name("password_again", "correct horse").await.unwrap();
    let old = c.find(Locator::Css("html")).await.unwrap();
    form.submit().await.unwrap();
    wait_until_gone(old, "setup did not submit").await;
    c.wait().for_element(Locator::Css(".who")).await.unwrap();
}

/// Waits (bounded) until `old` (an element of the page being left) is stale: the next page is
/// there, and no look-up can find an element of the old one.
pub async fn wait_until_gone(old: fantoccini::elements::Element, what: &str) {
    let started = std::time::Instant::now();
    while old.tag_name().await.is_ok() {
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Clicks something that loads a new page and waits until the old page is gone, so the next
/// look-up cannot find an element of the page being left.
pub async fn click_to_navigate(browser: &Browser, locator: Locator<'_>) {
    let c = &browser.client;
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(locator).await.unwrap().click().await.unwrap();
    wait_until_gone(old, "the page did not change").await;
}

pub async fn text(browser: &Browser, css: &str) -> String {
    browser
        .client
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_an_engineer_finds_reads_resolves_and_sees_the_flask_bug_regress() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    set_up_admin(&app, &browser).await;

    // Sign out, and back in through the login form.
    click_to_navigate(&browser, Locator::Css("form.logout button")).await;
    let form = c.form(Locator::Css("form")).await.unwrap();
    form.set_by_name("email", "admin@example.org").await.unwrap();
    form.set_by_name("password", "correct horse").await.unwrap();
    let old = c.find(Locator::Css("html")).await.unwrap();
    form.submit().await.unwrap();
    wait_until_gone(old, "sign-in did not submit").await;
    assert_eq!(text(&browser, ".who").await, "admin@example.org");

    run_script("flask_issue_demo.py", &[&app.dsn]);

    c.goto(&app.url("/issues/")).await.unwrap();
    c.wait()
        .for_element(Locator::LinkText("ZeroDivisionError: division by zero"))
        .await
        .unwrap();
    click_to_navigate(&browser, Locator::LinkText("ZeroDivisionError: division by zero")).await;

    // A picture of the issue page for people to look at: target/screenshots/issue-page.png.
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    c.wait().for_element(Locator::Css(".issue-head")).await.unwrap();
    std::fs::write(shots.join("issue-page.png"), c.screenshot().await.unwrap()).unwrap();

    // The division frame: its line highlighted, its locals listed.
    let current = text(&browser, "details.frame.in-app li.current code").await;
    assert_eq!(current.trim(), "return str(numerator / denominator)");
    let vars = text(&browser, "details.frame.in-app table.vars").await;
    assert!(
        vars.contains("denominator 0") || vars.contains("denominator\t0"),
        "{vars:?}"
    );
    click_to_navigate(&browser, Locator::Id("mode-full")).await;
    assert!(text(&browser, ".exception").await.contains("full_dispatch_request"));
    click_to_navigate(&browser, Locator::Id("mode-app")).await;
    assert!(
        !text(&browser, ".exception").await.contains("full_dispatch_request"),
        "App only hides flask"
    );

    click_to_navigate(&browser, Locator::Id("resolve")).await;
    assert_eq!(text(&browser, "#issue-status").await, "resolved");

    run_script("flask_division.py", &[&app.dsn]);
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.refresh().await.unwrap();
    assert!(old.tag_name().await.is_err(), "the page reloaded");

    assert_eq!(text(&browser, "#issue-status").await, "unresolved");
    click_to_navigate(&browser, Locator::LinkText("Activity")).await;
    let activity = text(&browser, "#activity").await;
    assert!(activity.contains("Regression"), "{activity}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_script_in_event_data_never_runs() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    set_up_admin(&app, &browser).await;
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    app.send(&serde_json::json!({
        "event_id": crate::helpers::new_event_id(),
        "message": evil,
        "tags": {"evil": evil},
        "breadcrumbs": [{"message": evil}],
        "exception": {"values": [{"type": "Evil", "value": evil, "stacktrace": {"frames": [
            {"function": "f", "module": "m", "in_app": true, "context_line": evil, "vars": {"x": evil}}
        ]}}]},
    }))
    .await;
    c.goto(&app.url("/issues/1/")).await.unwrap();
    let title = text(&browser, ".issue-head h1").await;
    assert_eq!(title, format!("Evil: {evil}"), "shown as text");
    assert!(c.get_alert_text().await.is_err(), "no alert dialog opened");
    let scripts = c.find_all(Locator::Css("script")).await.unwrap();
    for s in &scripts {
        assert_eq!(
            s.attr("src").await.unwrap().as_deref(),
            Some("/static/tocsin.js"),
            "only Tocsin's own script"
        );
    }
    assert!(
        c.find_all(Locator::Css("img")).await.unwrap().is_empty(),
        "no injected element"
    );
}

/// Presses each key in turn, as a person at the keyboard would.
async fn press(browser: &Browser, keys: &[char]) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut actions = KeyActions::new("keyboard".into());
    for &value in keys {
        actions = actions.then(KeyAction::Down { value }).then(KeyAction::Up { value });
    }
    browser.client.perform_actions(actions).await.unwrap();
}

/// What has the keyboard focus: its tag and, for links, where they lead.
async fn focused(browser: &Browser) -> String {
    let el = browser.client.active_element().await.unwrap();
    let tag = el.tag_name().await.unwrap();
    match el.attr("href").await.unwrap() {
        Some(href) => format!("{tag} {href}"),
        None => format!("{tag} {}", el.attr("type").await.unwrap().unwrap_or_default()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_the_keyboard_reaches_moves_through_and_triages_issues() {
    use fantoccini::key::Key;
    let app = spawn_app().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    set_up_admin(&app, &browser).await;
    for ty in ["FirstError", "SecondError", "ThirdError"] {
        let event = crate::helpers::error_event_of(ty);
        app.send(&event).await;
    }
    c.goto(&app.url("/issues/")).await.unwrap();
    c.wait().for_element(Locator::Css("tr.issue-row")).await.unwrap();

    // The first Tab lands on the skip link, which leads past the header, the search and the
    // bulk actions to the list: past the page's box and the row's box is the first issue.
    press(&browser, &[Key::Tab.into()]).await;
    assert_eq!(focused(&browser).await, "a #issue-list");
    press(
        &browser,
        &[Key::Enter.into(), Key::Tab.into(), Key::Tab.into(), Key::Tab.into()],
    )
    .await;
    assert_eq!(focused(&browser).await, "a /issues/3/", "the newest issue's title");

    // j and k move through the list; "/" goes to the search box.
    press(&browser, &['j', 'j']).await;
    assert_eq!(focused(&browser).await, "a /issues/2/");
    press(&browser, &['k']).await;
    assert_eq!(focused(&browser).await, "a /issues/3/");
    press(&browser, &['/']).await;
    assert_eq!(focused(&browser).await, "input search");

    // On an issue, r resolves it and a focuses the assignee.
    c.goto(&app.url("/issues/2/")).await.unwrap();
    let old = c.find(Locator::Css("html")).await.unwrap();
    press(&browser, &['r']).await;
    wait_until_gone(old, "r did not resolve").await;
    assert_eq!(text(&browser, "#issue-status").await, "resolved");
    press(&browser, &['a']).await;
    assert_eq!(focused(&browser).await, "select ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_bulk_actions_select_the_page_assign_and_delete_after_confirming() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    set_up_admin(&app, &browser).await;
    for ty in ["FirstError", "SecondError", "ThirdError"] {
        let event = crate::helpers::error_event_of(ty);
        app.send(&event).await;
    }
    c.goto(&app.url("/issues/")).await.unwrap();

    // Nothing ticked: the list says so instead of doing nothing.
    click_to_navigate(&browser, Locator::Css("button[value=resolve]")).await;
    assert!(text(&browser, "#bulk-notice").await.starts_with("Nothing was selected"));

    // The header box ticks the page; assigning then reaches all three.
    c.find(Locator::Id("select-page")).await.unwrap().click().await.unwrap();
    let who = c.find(Locator::Css(".bulk select[name=user]")).await.unwrap();
    who.select_by_label("admin@example.org").await.unwrap();
    click_to_navigate(&browser, Locator::Css("button[value=assign]")).await;
    assert_eq!(text(&browser, "#bulk-notice").await, "Assigned 3 issues.");
    assert_eq!(c.find_all(Locator::Css(".badge.assignee")).await.unwrap().len(), 3);

    // Deleting one asks first; confirming deletes it and says so.
    c.find(Locator::Css("input[name=issue][value='2']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click_to_navigate(&browser, Locator::Css("button[value=delete]")).await;
    assert_eq!(text(&browser, "h1").await, "Delete 1 issue?");
    click_to_navigate(&browser, Locator::Id("confirm")).await;
    assert_eq!(text(&browser, "#bulk-notice").await, "Deleted 1 issue.");
    let left: Vec<String> = {
        let mut v = Vec::new();
        for a in c.find_all(Locator::Css("a.title")).await.unwrap() {
            v.push(a.attr("href").await.unwrap().unwrap_or_default());
        }
        v
    };
    assert_eq!(left, ["/issues/3/", "/issues/1/"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_a_tag_value_leads_to_its_issues_and_issues_merge_and_unmerge() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    set_up_admin(&app, &browser).await;
    for (ty, shard) in [("MainError", "eu"), ("MainError", "eu"), ("SideError", "us")] {
        let mut event = crate::helpers::error_event_of(ty);
        event["tags"] = serde_json::json!({ "shard": shard });
        app.send(&event).await;
    }

    // The sidebar's value is a link to the project's issues with it.
    c.goto(&app.url("/issues/2/")).await.unwrap();
    click_to_navigate(&browser, Locator::Css("a.tag-bar[title^='us:']")).await;
    let search = c.find(Locator::Css("input[type=search]")).await.unwrap();
    assert_eq!(search.prop("value").await.unwrap().as_deref(), Some("shard:us"));
    assert_eq!(c.find_all(Locator::Css("a.title")).await.unwrap().len(), 1);

    // Tick both on the list, merge after confirming: the one with more events stays.
    c.goto(&app.url("/issues/")).await.unwrap();
    c.find(Locator::Id("select-page")).await.unwrap().click().await.unwrap();
    click_to_navigate(&browser, Locator::Css("button[value=merge]")).await;
    assert_eq!(text(&browser, "h1").await, "Merge 2 issues into DEFAULT-1?");
    click_to_navigate(&browser, Locator::Id("confirm")).await;
    assert_eq!(text(&browser, "#issue-events").await, "3");

    // Its Merged tab splits SideError's fingerprint off again.
    click_to_navigate(&browser, Locator::LinkText("Merged")).await;
    let buttons = c.find_all(Locator::Css("button.unmerge")).await.unwrap();
    assert_eq!(buttons.len(), 2, "two fingerprints, each with events");
    click_to_navigate(&browser, Locator::Css("tr:nth-child(2) button.unmerge")).await;
    assert_eq!(text(&browser, ".issue-head h1").await, "SideError: division by zero");
    assert_eq!(text(&browser, "#issue-events").await, "1");
}
