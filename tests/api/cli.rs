//! The command line: projects, tokens, configuration layering, and working beside a live server.

use std::time::{Duration, Instant};

use crate::helpers::{cli_in, envelope_of, error_event, sentry_auth, spawn_app};

#[tokio::test]
async fn serve_creates_the_default_project_with_id_1_and_prints_a_working_dsn() {
    let app = spawn_app().await;
    assert_eq!(app.project_id, 1);
    assert!(
        app.dsn.starts_with(&format!("http://{}@{}/1", app.key, app.address)),
        "{}",
        app.dsn
    );
    assert_eq!(app.key.len(), 32);
    let resp = app.post_envelope(envelope_of(&error_event())).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_project_created_by_the_cli_while_serving_accepts_events_within_a_second() {
    let app = spawn_app().await;
    // Make the server look the key up (and miss) before it exists, as a busy server would.
    let early = app
        .client
        .post(app.url("/api/2/envelope/"))
        .header("X-Sentry-Auth", sentry_auth("0123456789abcdef0123456789abcdef"))
        .body(envelope_of(&error_event()))
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), 403);

    let (id, key) = app.create_project("checkout", Some("0123456789abcdef0123456789abcdef"));
    assert_eq!(id, 2);
    let created = Instant::now();
    let status = loop {
        let resp = app
            .client
            .post(app.url(&format!("/api/{id}/envelope/")))
            .header("X-Sentry-Auth", sentry_auth(&key))
            .body(envelope_of(&error_event()))
            .send()
            .await
            .unwrap();
        if resp.status() == 200 || created.elapsed() > Duration::from_secs(1) {
            break resp.status();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 200, "a new project must accept events within 1 s of creation");
}

#[tokio::test]
async fn project_list_shows_id_slug_and_dsn_per_project() {
    let app = spawn_app().await;
    let (_, key) = app.create_project("web-shop", None);
    let out = app.cli(&["project", "list"]);
    assert!(out.success, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("1 ") && l.contains("default") && l.contains(&app.dsn)),
        "{}",
        out.stdout
    );
    let expected = format!("http://{key}@{}/2", app.address);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("2 ") && l.contains("web-shop") && l.contains(&expected)),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn a_duplicate_or_malformed_slug_is_a_clear_error() {
    let app = spawn_app().await;
    app.create_project("api", None);
    let dup = app.cli(&["project", "create", "api"]);
    assert!(!dup.success);
    assert!(dup.stderr.contains("already exists"), "{}", dup.stderr);
    let bad = app.cli(&["project", "create", "My_App"]);
    assert!(!bad.success);
    assert!(bad.stderr.contains("invalid project slug"), "{}", bad.stderr);
}

#[tokio::test]
async fn a_token_is_printed_once_and_only_its_hash_is_stored() {
    let app = spawn_app().await;
    let token = &app.token;
    assert_eq!(token.len(), 64);
    // Everything stored: the SQLite file and its WAL, or every row of the PostgreSQL database.
    let (db, wal) = match &app.database_url {
        None => (
            std::fs::read(app.data_dir.join("tocsin.db")).unwrap(),
            std::fs::read(app.data_dir.join("tocsin.db-wal")).unwrap_or_default(),
        ),
        Some(url) => (crate::postgres::dump(url).into_bytes(), Vec::new()),
    };
    // The search below could pass on an empty read: the token's name must be found.
    assert!(
        db.windows(5).chain(wal.windows(5)).any(|w| w == b"tests"),
        "what was read holds the token's name"
    );
    let needle = token.as_bytes();
    assert!(
        !db.windows(needle.len()).any(|w| w == needle),
        "the token must not be stored in clear"
    );
    assert!(
        !wal.windows(needle.len()).any(|w| w == needle),
        "the token must not be stored in clear"
    );
}

#[test]
fn config_show_reports_flag_over_env_over_file_over_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tocsin.toml");
    std::fs::write(
        &file,
        "bind = \"127.0.0.1:7001\"\norg = \"from-file\"\nqueue_capacity = 77\n",
    )
    .unwrap();
    let out = std::process::Command::new(crate::helpers::BIN)
        .args(["config", "show", "--config"])
        .arg(&file)
        .args(["--bind", "127.0.0.1:7003"])
        .env_clear()
        .env("TOCSIN_BIND", "127.0.0.1:7002")
        .env("TOCSIN_ORG", "from-env")
        .env("TOCSIN_SMTP_PASSWORD", "hunter2")
        .env(
            "TOCSIN_DATABASE_URL",
            "postgres://tocsin:sesame@db.internal:5432/tocsin",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("database_url = \"postgres://tocsin:***@db.internal:5432/tocsin\"  # environment"),
        "the backend shows, its password does not: {stdout}"
    );
    assert!(stdout.contains("# backend = \"postgres\""), "{stdout}");
    assert!(!stdout.contains("sesame"), "{stdout}");
    assert!(
        stdout.contains("bind = \"127.0.0.1:7003\"  # command-line flag"),
        "{stdout}"
    );
    assert!(stdout.contains("org = \"from-env\"  # environment"), "{stdout}");
    assert!(stdout.contains("queue_capacity = 77  # config file"), "{stdout}");
    assert!(stdout.contains("data_dir = \"./tocsin-data\"  # default"), "{stdout}");
    assert!(stdout.contains("trust_forwarded_for = false  # default"), "{stdout}");
    assert!(stdout.contains("alert_flood_limit = 30  # default"), "{stdout}");
    assert!(
        stdout.contains("smtp_password = \"<redacted>\"  # environment"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2"), "secrets are never printed");
}

#[test]
fn migrate_creates_the_database_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    for _ in 0..2 {
        let out = cli_in(&data, "http://127.0.0.1:8000", &["migrate"]);
        assert!(out.success, "{}", out.stderr);
    }
    assert!(data.join("tocsin.db").exists());
}

#[test]
fn a_bad_setting_names_the_flag_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli_in(dir.path(), "ftp://nope", &["project", "list"]);
    assert!(!out.success);
    assert!(out.stderr.contains("--public-url"), "{}", out.stderr);
}

#[tokio::test]
async fn project_set_validates_limits_and_project_delete_removes_the_events() {
    let app = crate::helpers::spawn_app().await;
    let bad = app.cli(&["project", "set", "default", "--max-events", "0"]);
    assert!(!bad.success);
    assert!(
        bad.stderr.contains("--max-events must be a whole number"),
        "{}",
        bad.stderr
    );
    let shown = app.cli(&["project", "set", "default"]);
    assert!(shown.success, "{}", shown.stderr);
    assert!(
        shown.stdout.contains("max_events = 10000 (default)"),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains("rate_limit = off"), "{}", shown.stdout);

    app.create_project("kept", None);
    app.send(&crate::helpers::error_event()).await;
    let gone = app.cli(&["project", "delete", "default"]);
    assert!(gone.success, "{}", gone.stderr);
    assert_eq!(app.stored_event_count().await, 0);
    let listed = app.cli(&["project", "list"]);
    assert!(!listed.stdout.contains(" default "), "{}", listed.stdout);
    assert!(listed.stdout.contains("kept"), "{}", listed.stdout);
    let missing = app.cli(&["project", "delete", "default"]);
    assert!(!missing.success);
    // Ids are never reused, even the highest one's after it is deleted.
    let (kept, _) = app.create_project("top", None);
    assert!(app.cli(&["project", "delete", "top"]).success);
    let (next, _) = app.create_project("after-top", None);
    assert_eq!(next, kept + 1, "a deleted project's id is not given again");
}

#[tokio::test]
async fn an_event_for_a_project_deleted_on_the_command_line_is_refused_and_harms_no_other_event() {
    let app = spawn_app().await;
    let (id, key) = app.create_project("short-lived", None);
    let post = |project: i64, key: String| {
        let client = app.client.clone();
        let url = app.url(&format!("/api/{project}/envelope/"));
        async move {
            client
                .post(url)
                .header("X-Sentry-Auth", sentry_auth(&key))
                .body(envelope_of(&error_event()))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // The server now has the key cached.
    assert_eq!(post(id, key.clone()).await, 200);
    let out = app.cli(&["project", "delete", "short-lived"]);
    assert!(out.success, "{}", out.stderr);
    // Sent together: the deleted project's event and the default project's share a batch.
    let (gone, fine) = tokio::join!(post(id, key.clone()), post(app.project_id, app.key.clone()));
    assert_eq!(gone, 403, "the deleted project's key no longer works");
    assert_eq!(fine, 200, "the other project's event is stored");
    assert_eq!(app.stored_event_count().await, 1);
}

/// The help text of `tocsin <args> --help`.
fn help(args: &[&str]) -> String {
    let out = std::process::Command::new(crate::helpers::BIN)
        .args(args)
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_commands_help_lists_its_own_options_first_and_server_settings_only_where_they_apply() {
    for cmd in [
        &["project"][..],
        &["project", "create"],
        &["alerts", "add"],
        &["token", "create"],
        &["user", "create"],
        &["backup"],
    ] {
        let text = help(cmd);
        for server_flag in [
            "--bind",
            "--smtp-host",
            "--retention-max-events",
            "--alert-flood-limit",
            "--request-memory",
        ] {
            assert!(
                !text.contains(server_flag),
                "`tocsin {} --help` lists {server_flag}:\n{text}",
                cmd.join(" ")
            );
        }
        let own = text.find("Options:").expect("its own options");
        let data = text.find("Where the data is:").expect("where the data is");
        assert!(
            own < data,
            "`tocsin {} --help`: its own options come first:\n{text}",
            cmd.join(" ")
        );
    }
    for cmd in [&["serve"][..], &["config", "show"], &[]] {
        let text = help(cmd);
        assert!(
            text.contains("--smtp-host") && text.contains("--bind"),
            "`tocsin {}`: {text}",
            cmd.join(" ")
        );
    }
}

#[test]
fn commands_without_server_flags_still_print_the_address_the_environment_gives_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::helpers::BIN)
        .args(["project", "create", "checkout", "--data-dir"])
        .arg(dir.path())
        .env_clear()
        .env("TOCSIN_BIND", "127.0.0.1:7654")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.trim_end().ends_with("@127.0.0.1:7654/1"), "{stdout}");
}
