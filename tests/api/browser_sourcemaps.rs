//! Source maps end to end, as a team ships a front end: a small app of two modules bundled and
//! minified by the real esbuild, debug ids injected and the maps uploaded with the real
//! sentry-cli, the page run in headless Chromium with the real `@sentry/browser` reporting its
//! uncaught error to Tocsin; the stored event and the issue page read like the source, and a
//! second build, minified otherwise, lands in the same issue.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::browser::{set_up_admin, text};
use crate::chromium::Browser;
use crate::helpers::{TestApp, poll, spawn_app};
use crate::npm::{cli, esbuild, node_modules};

const UTIL_JS: &str = r#"// Quantities as people type them: "3", " 12 ".
export function parseQuantity(text) {
  const quantity = Number.parseInt(text, 10);
  if (Number.isNaN(quantity)) {
    throw new Error('bad quantity: ' + text);
  }
  return quantity;
}
"#;
const THROWING_LINE: &str = "    throw new Error('bad quantity: ' + text);";

const APP_JS: &str = r#"import * as Sentry from '@sentry/browser';
import { parseQuantity } from './util.js';

Sentry.init({ dsn: window.TOCSIN_DSN, release: 'shop@1.0.0' });

function addToCart(form) {
  const quantity = parseQuantity(form.quantity);
  document.title = 'added ' + quantity;
}

setTimeout(() => addToCart({ quantity: 'x' }), 0);
"#;
const CALLING_LINE: &str = "  const quantity = parseQuantity(form.quantity);";

/// The app's sources with `node_modules` beside them (a link to the pinned packages), as in a
/// real project; `--preserve-symlinks` keeps the maps' paths inside the project.
fn write_app(root: &Path, dsn: &str) {
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/util.js"), UTIL_JS).unwrap();
    std::fs::write(root.join("src/app.js"), APP_JS).unwrap();
    std::os::unix::fs::symlink(node_modules(), root.join("node_modules")).unwrap();
    for build in ["one", "two"] {
        std::fs::create_dir_all(root.join(build)).unwrap();
        let page = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>shop</title>\
             <script>window.TOCSIN_DSN = {dsn:?};</script>\
             <script src=\"main.js\"></script></head><body>shop</body></html>"
        );
        std::fs::write(root.join(build).join("index.html"), page).unwrap();
    }
}

/// Serves `root`'s files over HTTP on 127.0.0.1 (a port of its own, so the SDK reports to
/// Tocsin across origins, as a site does); returns the base URL. The task ends with the test.
async fn serve(root: PathBuf) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let root = root.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 65536 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request);
                let path = head.split_whitespace().nth(1).unwrap_or("/");
                let path = path.split('?').next().unwrap_or("").trim_start_matches('/');
                let file = (!path.split('/').any(|p| p == ".." || p.is_empty()))
                    .then(|| std::fs::read(root.join(path)).ok())
                    .flatten();
                let response = match file {
                    Some(body) => {
                        let kind = match path.rsplit('.').next() {
                            Some("html") => "text/html; charset=utf-8",
                            Some("js") => "text/javascript; charset=utf-8",
                            _ => "application/octet-stream",
                        };
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
                             Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend_from_slice(&body);
                        r
                    }
                    None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                };
                let _ = stream.write_all(&response).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    base
}

/// The project's issues as the API lists them.
async fn issues(app: &TestApp) -> Vec<Value> {
    let (status, _, body) = app.api_get("/api/0/projects/default/default/issues/").await;
    assert_eq!(status, 200, "{body}");
    body.as_array().cloned().unwrap_or_default()
}

/// Waits until the project holds an event other than those `seen`, and returns it.
async fn wait_for_new_event(app: &TestApp, seen: &[&Value]) -> Value {
    poll("Tocsin stores the page's event", Duration::from_secs(30), async || {
        let mut events = Vec::new();
        for issue in issues(app).await {
            let id = issue["id"].as_str().unwrap_or_default();
            let (status, _, body) = app.api_get(&format!("/api/0/issues/{id}/events/")).await;
            assert_eq!(status, 200, "{body}");
            events.extend(body.as_array().cloned().unwrap_or_default());
        }
        events
            .iter()
            .find(|e| !seen.iter().any(|s| s["eventID"] == e["eventID"]))
            .cloned()
            .ok_or_else(|| format!("{} events, none new", events.len()))
    })
    .await
}

/// The frames of the event's (one) exception, oldest call first, and the minified ones.
fn frames(event: &Value) -> (Vec<Value>, Vec<Value>) {
    let values = event["exception"]["values"].as_array().expect("an exception");
    assert_eq!(values.len(), 1, "{event}");
    let list = |v: &Value| v["frames"].as_array().cloned().unwrap_or_default();
    (list(&values[0]["stacktrace"]), list(&values[0]["raw_stacktrace"]))
}

/// What a mapped frame must say: original file, function, line, column and context, in-app,
/// mapped by debug id with the map sentry-cli uploaded.
fn assert_frame(frame: &Value, file: &str, function: &str, (lineno, colno): (i64, i64), line: &str, event: &Value) {
    let shown = serde_json::to_string_pretty(event).unwrap();
    assert_eq!(frame["filename"], format!("/src/{file}"), "{frame}\n{shown}");
    assert_eq!(frame["abs_path"], format!("~/src/{file}"), "{frame}");
    assert_eq!(frame["function"], function, "{frame}");
    assert_eq!(
        (&frame["lineno"], &frame["colno"]),
        (&lineno.into(), &colno.into()),
        "{frame}"
    );
    assert_eq!(frame["context_line"], line, "{frame}");
    assert_eq!(frame["in_app"], true, "{frame}");
    assert_eq!(frame["data"]["symbolicated"], true, "{frame}");
    assert_eq!(frame["data"]["resolved_with"], "debug-id", "{frame}");
    assert_eq!(frame["data"]["sourcemap"], "~/main.js.map", "{frame}");
}

/// Checks one event of `build`: its innermost frames are `parseQuantity` in `src/util.js` at the
/// `throw` and `addToCart` in `src/app.js` at the call, with their source around them; the
/// frames as the browser saw them stay in `raw_stacktrace`.
fn assert_reads_like_source(event: &Value, build: &str) {
    let (mapped, raw) = frames(event);
    assert!(mapped.len() >= 3, "{event}");
    let n = mapped.len();
    let (thrower, caller) = (&mapped[n - 1], &mapped[n - 2]);
    // Line 5, column 11: the `new Error` the browser's stack points at.
    assert_frame(thrower, "util.js", "parseQuantity", (5, 11), THROWING_LINE, event);
    assert_eq!(
        thrower["pre_context"],
        serde_json::json!(UTIL_JS.lines().take(4).collect::<Vec<_>>()),
        "{thrower}"
    );
    assert_eq!(
        thrower["post_context"],
        serde_json::json!(UTIL_JS.lines().skip(5).collect::<Vec<_>>()),
        "{thrower}"
    );
    assert_frame(caller, "app.js", "addToCart", (7, 20), CALLING_LINE, event);
    // The arrow that setTimeout calls, at its call of addToCart.
    let timer = &mapped[n - 3];
    assert_eq!(
        (&timer["filename"], &timer["lineno"], &timer["colno"]),
        (&"/src/app.js".into(), &11.into(), &18.into()),
        "{timer}"
    );

    // The SDK's own frames (the wrapper of setTimeout, when the bundle's names hide it from
    // the SDK) map into node_modules and are not the app's.
    for f in &mapped[..n - 3] {
        let file = f["filename"].as_str().unwrap_or_default();
        assert!(
            file.starts_with("/node_modules/@sentry/") && f["in_app"] == false,
            "{f}"
        );
    }

    // As the browser saw them: positions in this build's main.js; the first build's names are
    // esbuild's short ones.
    assert_eq!(raw.len(), mapped.len(), "{event}");
    let script = |f: &Value| {
        f["filename"]
            .as_str()
            .or(f["abs_path"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    for f in &raw[n - 3..] {
        assert!(script(f).ends_with(&format!("/{build}/main.js")), "{f}");
        assert!(f.get("context_line").is_none_or(Value::is_null), "{f}");
    }
    let minified_name = raw[n - 1]["function"].as_str().unwrap_or_default();
    assert_eq!(minified_name == "parseQuantity", build == "two", "{}", raw[n - 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_a_minified_bundle_reads_like_its_source_and_two_builds_share_one_issue() {
    let app = spawn_app().await;
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    write_app(root, &app.dsn);

    // Two builds of the same code: fully minified, and with identifiers kept and an older
    // target (other names, other lines and columns).
    esbuild(
        root,
        &[
            "src/app.js",
            "--bundle",
            "--minify",
            "--sourcemap",
            "--preserve-symlinks",
            "--outfile=one/main.js",
        ],
    );
    esbuild(
        root,
        &[
            "src/app.js",
            "--bundle",
            "--minify-whitespace",
            "--minify-syntax",
            "--target=es2017",
            "--banner:js=/* shop, build two */",
            "--sourcemap",
            "--preserve-symlinks",
            "--outfile=two/main.js",
        ],
    );
    let one = std::fs::read_to_string(root.join("one/main.js")).unwrap();
    let two = std::fs::read_to_string(root.join("two/main.js")).unwrap();
    assert!(
        !one.contains("parseQuantity") && two.contains("parseQuantity"),
        "the builds differ"
    );
    for build in ["one", "two"] {
        let dir = root.join(build);
        let dir = dir.to_str().unwrap();
        cli(&app, &["sourcemaps", "inject", dir]);
        cli(&app, &["sourcemaps", "upload", "--release", "shop@1.0.0", dir]);
    }
    let injected = std::fs::read_to_string(root.join("one/main.js")).unwrap();
    assert!(injected.contains("_sentryDebugIds") && injected.contains("//# debugId="));

    let site = serve(root.to_path_buf()).await;
    let browser = Browser::start().await;
    let c = &browser.client;

    c.goto(&format!("{site}/one/index.html")).await.unwrap();
    let first = wait_for_new_event(&app, &[]).await;
    assert_reads_like_source(&first, "one");
    let exception = &first["exception"]["values"][0];
    assert_eq!(exception["type"], "Error");
    assert_eq!(exception["value"], "bad quantity: x");
    assert_eq!(exception["mechanism"]["handled"], false, "uncaught: {exception}");
    let issue_id = first["groupID"].as_str().expect("grouped").to_string();

    c.goto(&format!("{site}/two/index.html")).await.unwrap();
    let second = wait_for_new_event(&app, &[&first]).await;
    assert_reads_like_source(&second, "two");
    assert_eq!(
        second["groupID"],
        issue_id.as_str(),
        "the second build lands in the first's issue"
    );
    let listed = poll("the issues count both events", Duration::from_secs(20), async || {
        let listed = issues(&app).await;
        let total: u64 = listed
            .iter()
            .filter_map(|i| i["count"].as_str()?.parse::<u64>().ok())
            .sum();
        if total == 2 {
            Ok(listed)
        } else {
            Err(format!("{listed:?}"))
        }
    })
    .await;
    assert_eq!(listed.len(), 1, "one issue for both builds: {listed:?}");

    // The issue page shows the original frames.
    set_up_admin(&app, &browser).await;
    c.goto(&app.url(&format!("/issues/{issue_id}/"))).await.unwrap();
    assert_eq!(
        text(&browser, "details.frame.in-app summary .function").await,
        "parseQuantity"
    );
    assert_eq!(
        text(&browser, "details.frame.in-app summary .path").await,
        "/src/util.js"
    );
    assert_eq!(
        text(&browser, "details.frame.in-app li.current code").await.trim(),
        THROWING_LINE.trim()
    );
    let page = text(&browser, ".exception").await;
    assert!(page.contains("/src/app.js in addToCart at line 7"), "{page}");
    assert!(!page.contains("main.js"), "App only shows the original frames: {page}");
}
