//! Moving an installation from SQLite to PostgreSQL with `tocsin copy-to-postgres`.

use serde_json::json;

use crate::helpers::{error_event, spawn_app, spawn_app_on};
use crate::python::run_script;

/// Every table of the SQLite installation, read from its own catalogue (so a table added
/// later is checked too), except the nodes' short-lived limits, which are not copied.
async fn tables_of(sql: &crate::helpers::Sql) -> Vec<String> {
    crate::on_sql!(sql, |p| sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN \
         ('_sqlx_migrations', 'sqlite_sequence', 'rate_windows', 'sign_in_failures') ORDER BY name"
    )
    .fetch_all(p)
    .await
    .unwrap())
}

async fn counts_in(sql: &crate::helpers::Sql, tables: &[String]) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for table in tables {
        let query = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = crate::on_sql!(sql, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(query.clone()))
            .fetch_one(p)
            .await
            .unwrap());
        out.push((table.clone(), n));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_running_sqlite_installation_copied_into_postgres_keeps_every_row_and_its_dsn() {
    // A lived-in installation: real SDK events, more events with users and tags, a resolved
    // issue, a second project, an alert channel with its notifications, a user.
    let app = spawn_app().await;
    let flask = run_script("flask_division.py", &[&app.dsn]);
    for n in 0..12 {
        let mut event = error_event();
        event["user"] = json!({ "id": format!("user{}", n % 3) });
        event["tags"] = json!({ "region": if n % 2 == 0 { "eu" } else { "us" } });
        event["exception"]["values"][0]["type"] = json!(format!("Moving{}", n % 4));
        app.send(&event).await;
    }
    let (_, _, issues) = app.api_get("/api/0/projects/default/default/issues/?query=").await;
    let first = issues[0]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .api_put(&format!("/api/0/issues/{first}/"), &json!({"status": "resolved"}))
        .await;
    assert_eq!(status, 200);
    assert!(app.cli(&["project", "create", "shop"]).success);
    assert!(
        app.cli(&["alerts", "add", "--project", "default", "--email", "oncall@example.org"])
            .success
    );
    app.send(&{
        let mut e = error_event();
        e["exception"]["values"][0]["type"] = json!("AfterTheChannel");
        e
    })
    .await;
    app.create_user("dev@example.org", "long enough secret");
    // An uploaded source map, with its release.
    let (status, _) = app
        .api_post(
            "/api/0/organizations/default/releases/",
            &json!({"version": "shop@1.0.0", "projects": ["default"]}),
        )
        .await;
    assert_eq!(status, 201);
    let map = br#"{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}"#;
    let (status, body) = crate::sourcemaps::post_release_file(&app, "shop@1.0.0", "~/a.js.map", map, None).await;
    assert_eq!(status, 201, "{body}");

    // Copied while the server runs.
    let url = crate::postgres::database();
    let out = app.cli(&["copy-to-postgres", &url]);
    assert!(out.success, "{}", out.stderr);
    assert!(out.stdout.contains("every table's count verified"), "{}", out.stdout);

    let sqlite = app.sql().await;
    let tables = tables_of(&sqlite).await;
    assert!(tables.len() >= 20, "the catalogue lists Tocsin's tables: {tables:?}");
    let source = counts_in(&sqlite, &tables).await;
    let target = counts_in(
        &crate::helpers::Sql::Postgres(sqlx::PgPool::connect(&url).await.unwrap()),
        &tables,
    )
    .await;
    assert_eq!(source, target, "every table has the same rows");
    for (table, n) in &source {
        if [
            "projects",
            "project_keys",
            "api_tokens",
            "users",
            "issues",
            "events",
            "activity",
            "alert_channels",
            "alert_rules",
            "alert_rule_channels",
            "outbox",
            "releases",
            "artifact_bundles",
            "artifact_files",
            "artifact_blobs",
        ]
        .contains(&table.as_str())
        {
            assert!(*n > 0, "the installation had {table} to copy");
        }
        assert!(out.stdout.contains(&format!("{table:>20}  {n}")), "{}", out.stdout);
    }

    // A node on PostgreSQL serves the same DSN and every event reads back the same.
    let node = spawn_app_on(url.clone(), &[]).await;
    assert_eq!((node.key.as_str(), node.project_id), (app.key.as_str(), app.project_id));
    let sql = app.sql().await;
    let ids: Vec<String> = crate::on_sql!(sql, |p| sqlx::query_scalar("SELECT event_id FROM events")
        .fetch_all(p)
        .await
        .unwrap());
    for id in &ids {
        assert_eq!(
            node.event_json("default", id).await,
            app.event_json("default", id).await,
            "event {id} reads the same"
        );
    }
    let (_, _, moved) = node.api_get(&format!("/api/0/issues/{first}/")).await;
    assert_eq!(moved["status"], "resolved");

    // The real SDK goes on sending to the same DSN (key and project id), now at the new node.
    let before = node.stored_event_count().await;
    let again = run_script("flask_division.py", &[&node.dsn]);
    let new_id = again["event_ids"][0].as_str().unwrap();
    node.event_json("default", new_id).await;
    assert_eq!(node.stored_event_count().await, before + 1);
    let old_id = flask["event_ids"][0].as_str().unwrap();
    let (old, new) = (
        node.event_json("default", old_id).await,
        node.event_json("default", new_id).await,
    );
    assert_eq!(old["groupID"], new["groupID"], "the same bug joins its copied issue");

    // A second copy into the now-used database is refused, and changes nothing.
    let refused = app.cli(&["copy-to-postgres", &url]);
    assert!(!refused.success);
    assert!(refused.stderr.contains("not empty"), "{}", refused.stderr);

    // A database holding someone else's table is refused before Tocsin's schema goes in.
    let theirs = crate::postgres::database();
    crate::postgres::psql(&theirs, "CREATE TABLE invoices (id bigint)");
    let refused = app.cli(&["copy-to-postgres", &theirs]);
    assert!(!refused.success);
    assert!(refused.stderr.contains("other tables (invoices)"), "{}", refused.stderr);
    let tables = crate::postgres::psql(
        &theirs,
        "SELECT string_agg(table_name, ',') FROM information_schema.tables WHERE table_schema = 'public'",
    );
    assert_eq!(tables, "invoices", "nothing was created beside it");
}
