//! Source maps end to end over HTTP: the real `sentry-cli` injects debug ids and uploads a
//! build, events of that build read like the source (by debug id, and by release + URL for a
//! build without debug ids), both builds share one issue; the legacy release files; and hostile
//! uploads refused with a clear 4xx, storing nothing.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use crate::helpers::{TestApp, new_event_id, poll, spawn_app, spawn_app_with};
use crate::npm::{cli, cli_2};

/// The original source of the test app, as the map's `sourcesContent` carries it.
const SOURCE: &str = "export function parseQuantity(text) {
  throw new Error('bad quantity: ' + text);
}

function checkout() {
  parseQuantity('x');
}
checkout();
";

/// A build: the minified line (names `f` for parseQuantity, `g` for checkout) and its map.
fn build(f: &str, g: &str, pad: &str) -> (String, String) {
    let min =
        format!("{pad}function {f}(b){{throw new Error(\"bad quantity: \"+b)}}function {g}(){{{f}(\"x\")}}{g}();");
    let col = |needle: &str| min.find(needle).unwrap() as u32;
    let mut b = sourcemap::SourceMapBuilder::new(Some("main.js"));
    let src = b.add_source("../src/checkout.js");
    b.set_source_contents(src, Some(SOURCE));
    let mut token = |dst_col: u32, src_line: u32, src_col: u32, name: Option<&str>| {
        let name = name.map(|n| b.add_name(n));
        b.add_raw(0, dst_col, src_line, src_col, Some(src), name, false);
    };
    token(col(&format!("function {f}(")), 0, 7, None);
    token(col(&format!("{f}(b)")), 0, 16, Some("parseQuantity"));
    token(col("throw"), 1, 2, None);
    token(col(&format!("function {g}(")), 4, 0, None);
    token(col(&format!("{g}(){{")), 4, 9, Some("checkout"));
    token(col(&format!("{f}(\"x\")")), 5, 2, Some("parseQuantity"));
    token(col(&format!("{g}();")), 7, 0, Some("checkout"));
    let mut map = Vec::new();
    b.into_sourcemap().to_writer(&mut map).unwrap();
    (
        format!("{min}\n//# sourceMappingURL=main.js.map\n"),
        String::from_utf8(map).unwrap(),
    )
}

fn write_build(dir: &Path, f: &str, g: &str, pad: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let (min, map) = build(f, g, pad);
    std::fs::write(dir.join("main.js"), min).unwrap();
    std::fs::write(dir.join("main.js.map"), map).unwrap();
}

/// The frames the browser SDK reports for the build in `dir` (after sentry-cli rewrote it):
/// checkout(); → g → f throws, oldest first, 1-based lines and columns of the minified file.
fn minified_frames(dir: &Path, f: &str, g: &str, url: &str) -> Value {
    let text = std::fs::read_to_string(dir.join("main.js")).unwrap();
    let (index, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(&format!("function {f}(b)")))
        .unwrap();
    let at = |needle: &str, function: &str| {
        json!({"abs_path": url, "filename": url, "function": function,
               "lineno": index + 1, "colno": line.find(needle).unwrap() + 1})
    };
    json!([
        at(&format!("{g}();"), "?"),
        at(&format!("{f}(\"x\")"), g),
        at("throw", f)
    ])
}

fn js_event(frames: Value, release: &str, images: Value) -> Value {
    json!({
        "event_id": new_event_id(),
        "platform": "javascript",
        "release": release,
        "exception": {"values": [{"type": "Error", "value": "bad quantity: x", "stacktrace": {"frames": frames}}]},
        "debug_meta": {"images": images},
    })
}

async fn stored(app: &TestApp, event: &Value) -> Value {
    app.send(event).await;
    let id = event["event_id"].as_str().unwrap().to_string();
    poll("the event is stored", std::time::Duration::from_secs(10), async || {
        let e = app.event_json("default", &id).await;
        if e.get("groupID").is_some() {
            Ok(e)
        } else {
            Err(e.to_string())
        }
    })
    .await
}

fn frames_of(event: &Value) -> Vec<Value> {
    event["exception"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .unwrap()
        .clone()
}

/// (filename, function, line, context line) of each frame.
fn readable(event: &Value) -> Vec<(String, String, i64, String)> {
    frames_of(event)
        .iter()
        .map(|f| {
            (
                f["filename"].as_str().unwrap_or_default().to_string(),
                f["function"].as_str().unwrap_or_default().to_string(),
                f["lineno"].as_i64().unwrap_or_default(),
                f["context_line"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn expected() -> Vec<(String, String, i64, String)> {
    let s = |file: &str, function: &str, line: i64, context: &str| {
        (file.to_string(), function.to_string(), line, context.to_string())
    };
    vec![
        s("/src/checkout.js", "?", 8, "checkout();"),
        s("/src/checkout.js", "checkout", 6, "  parseQuantity('x');"),
        s(
            "/src/checkout.js",
            "parseQuantity",
            2,
            "  throw new Error('bad quantity: ' + text);",
        ),
    ]
}

#[tokio::test]
async fn sentry_cli_uploads_a_build_and_its_events_read_like_the_source_in_one_issue_per_bug() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("build-1");
    write_build(&one, "a", "c", "");
    cli(&app, &["sourcemaps", "inject", one.to_str().unwrap()]);
    let map: Value = serde_json::from_str(&std::fs::read_to_string(one.join("main.js.map")).unwrap()).unwrap();
    let debug_id = map["debugId"].as_str().expect("inject wrote a debug id").to_string();
    let upload = [
        "sourcemaps",
        "upload",
        "--url-prefix",
        "~/static",
        one.to_str().unwrap(),
    ];
    let report = cli(&app, &upload);
    assert!(report.contains("~/static/main.js.map"), "{report}");
    // The same build again is stored once.
    cli(&app, &upload);
    let (status, _, bundles) = app
        .api_get("/api/0/projects/default/default/files/artifact-bundles/")
        .await;
    assert_eq!(status, 200);
    assert_eq!(bundles.as_array().unwrap().len(), 1, "{bundles}");
    assert_eq!(bundles[0]["fileCount"], 2);

    // Build 1 in the browser: found by its debug id.
    let url = "https://shop.example.com/static/main.js";
    let images = json!([{"type": "sourcemap", "code_file": url, "debug_id": debug_id}]);
    let first = stored(
        &app,
        &js_event(minified_frames(&one, "a", "c", url), "shop@1.0.0", images),
    )
    .await;
    assert_eq!(readable(&first), expected(), "{first}");
    let top = frames_of(&first)[2].clone();
    assert_eq!(top["data"]["resolved_with"], "debug-id");
    assert_eq!(top["in_app"], true);
    assert_eq!(top["pre_context"], json!(["export function parseQuantity(text) {"]));
    assert_eq!(top["abs_path"], "~/src/checkout.js");
    // The minified frames are kept beside the readable ones.
    let raw = &first["exception"]["values"][0]["raw_stacktrace"]["frames"];
    assert_eq!(raw[2]["function"], "a");
    assert_eq!(raw[2]["abs_path"], url);

    // Build 2, minified differently and without debug ids: found by release and URL.
    let two = tmp.path().join("build-2");
    write_build(&two, "q", "z", "var pad=1;");
    cli(
        &app,
        &[
            "sourcemaps",
            "upload",
            "--release",
            "shop@2.0.0",
            "--url-prefix",
            "~/static",
            two.to_str().unwrap(),
        ],
    );
    let second = stored(
        &app,
        &js_event(minified_frames(&two, "q", "z", url), "shop@2.0.0", json!([])),
    )
    .await;
    assert_eq!(readable(&second), expected(), "{second}");
    assert_eq!(frames_of(&second)[2]["data"]["resolved_with"], "release");
    assert_eq!(
        second["groupID"], first["groupID"],
        "two builds of one bug share its issue"
    );
    let (_, _, issues) = app.api_get("/api/0/projects/default/default/issues/?query=").await;
    assert_eq!(issues.as_array().unwrap().len(), 1, "{issues}");
    // The release lists what was uploaded for it.
    let (status, _, files) = app
        .api_get("/api/0/organizations/default/releases/shop@2.0.0/files/")
        .await;
    assert_eq!(status, 200);
    let mut names: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["~/static/main.js", "~/static/main.js.map"]);
    let m = app.metric("tocsin_sourcemap_frames_mapped_total").await;
    assert_eq!(m, 6.0);

    // Deleting build 1's bundle: its events are no longer mapped.
    let bundle = bundles[0]["id"].as_str().unwrap();
    let path = format!("/api/0/projects/default/default/files/artifact-bundles/?bundleId={bundle}");
    assert_eq!(app.api_delete(&path).await, 204);
    let images = json!([{"type": "sourcemap", "code_file": url, "debug_id": debug_id}]);
    let third = stored(
        &app,
        &js_event(minified_frames(&one, "a", "c", url), "shop@1.0.0", images),
    )
    .await;
    assert_eq!(frames_of(&third)[2]["function"], "a", "{third}");
    assert_eq!(app.api_delete(&path).await, 404);
}

/// A zip of `entries`.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
    out.into_inner()
}

/// A bundle holding one map at `path` with `content`, as sentry-cli builds them.
fn bundle_of(path: &str, content: &[u8]) -> Vec<u8> {
    let manifest = json!({"files": {path: {"type": "source_map", "url": "~/static/main.js.map", "headers": {}}}});
    zip_of(&[("manifest.json", manifest.to_string().as_bytes()), (path, content)])
}

fn sha1_hex(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

/// `POST chunk-upload` with one part named `filename`.
async fn upload_chunk(app: &TestApp, filename: &str, data: &[u8]) -> (u16, Value) {
    let boundary = "tocsin-test-boundary";
    let mut body = Vec::new();
    write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .unwrap();
    body.extend_from_slice(data);
    write!(body, "\r\n--{boundary}--\r\n").unwrap();
    let resp = app
        .client
        .post(app.url("/api/0/organizations/default/chunk-upload/"))
        .bearer_auth(&app.token)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn assemble(app: &TestApp, checksum: &str, chunks: &[&str]) -> (u16, Value) {
    let body = json!({"checksum": checksum, "chunks": chunks, "projects": ["default"]});
    app.api_post("/api/0/organizations/default/artifactbundle/assemble/", &body)
        .await
}

/// Uploads `bundle` as one chunk and assembles it.
async fn upload_bundle(app: &TestApp, bundle: &[u8]) -> (u16, Value) {
    let sum = sha1_hex(bundle);
    let (status, missing) = assemble(app, &sum, &[&sum]).await;
    assert_eq!((status, &missing["state"]), (200, &json!("not_found")), "{missing}");
    assert_eq!(
        missing["missingChunks"],
        json!([sum]),
        "sentry-cli uploads what the answer says is missing"
    );
    assert_eq!(upload_chunk(app, &sum, bundle).await.0, 200);
    assemble(app, &sum, &[&sum]).await
}

#[tokio::test]
async fn hostile_uploads_get_a_clear_error_and_store_nothing() {
    let app = spawn_app_with(&["--artifacts-max-file-bytes", "1048576"]).await;

    // A chunk whose content is not what its name says.
    let (status, body) = upload_chunk(&app, &sha1_hex(b"something else"), b"this chunk").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("SHA-1"), "{body}");
    let (_, answer) = assemble(&app, &sha1_hex(b"this chunk"), &[&sha1_hex(b"this chunk")]).await;
    assert_eq!(answer["state"], "not_found", "the bad chunk was not stored: {answer}");

    // A zip bomb: 64 MiB of zeros in a few KiB, past the 1 MiB file cap.
    let bomb = bundle_of("files/_/_/main.js.map", &vec![0u8; 64 * 1024 * 1024]);
    assert!(bomb.len() < 1024 * 1024, "the bomb is small as uploaded");
    let (status, body) = upload_bundle(&app, &bomb).await;
    assert_eq!(status, 413, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("bytes"), "{body}");

    // A path that climbs out of the bundle.
    let map = br#"{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}"#;
    let (status, body) = upload_bundle(&app, &bundle_of("../../etc/main.js.map", map)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("climbs out"), "{body}");

    // A source map that is not one.
    let (status, body) = upload_bundle(
        &app,
        &bundle_of("files/_/_/main.js.map", b"{\"version\":3,\"mappings\":7}"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("not a valid source map"),
        "{body}"
    );

    // Chunks that do not make the bundle they claim to.
    let chunk = b"a real chunk";
    assert_eq!(upload_chunk(&app, &sha1_hex(chunk), chunk).await.0, 200);
    let (status, body) = assemble(&app, &sha1_hex(b"another bundle"), &[&sha1_hex(chunk)]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("SHA-1"), "{body}");

    // Not a zip at all.
    let (status, body) = upload_bundle(&app, b"PK but not really a zip").await;
    assert_eq!(status, 400, "{body}");

    let (_, _, bundles) = app
        .api_get("/api/0/projects/default/default/files/artifact-bundles/")
        .await;
    assert_eq!(bundles, json!([]), "nothing was stored");
    let (status, _, _) = app.api_get("/api/0/").await;
    assert_eq!(status, 200, "the server is steady");
    // A good bundle still goes in.
    let (status, body) = upload_bundle(&app, &bundle_of("files/_/_/main.js.map", map)).await;
    assert_eq!((status, &body["state"]), (200, &json!("ok")), "{body}");
}

#[tokio::test]
async fn a_project_past_its_artifact_cap_gets_413_and_keeps_what_it_had() {
    let app = spawn_app_with(&["--artifacts-max-project-bytes", "300"]).await;
    let small = br#"{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}"#;
    let (status, body) = upload_bundle(&app, &bundle_of("files/_/_/a.js.map", small)).await;
    assert_eq!((status, &body["state"]), (200, &json!("ok")), "{body}");
    let big = format!(
        r#"{{"version":3,"sources":["a.js"],"sourcesContent":["{}"],"names":[],"mappings":"AAAA"}}"#,
        "x".repeat(400)
    );
    let (status, body) = upload_bundle(&app, &bundle_of("files/_/_/b.js.map", big.as_bytes())).await;
    assert_eq!(status, 413, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("per project"), "{body}");
    let (_, _, bundles) = app
        .api_get("/api/0/projects/default/default/files/artifact-bundles/")
        .await;
    assert_eq!(bundles.as_array().unwrap().len(), 1);
}

/// `POST …/releases/{version}/files/` with a file, its URL and headers, as old build setups do.
pub async fn post_release_file(
    app: &TestApp,
    version: &str,
    name: &str,
    data: &[u8],
    header: Option<&str>,
) -> (u16, Value) {
    let boundary = "tocsin-release-file";
    let mut body = Vec::new();
    let mut field = |name: &str, filename: Option<&str>, value: &[u8]| {
        let filename = filename.map(|f| format!("; filename=\"{f}\"")).unwrap_or_default();
        write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n"
        )
        .unwrap();
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    };
    field("file", Some("main.js"), data);
    field("name", None, name.as_bytes());
    if let Some(h) = header {
        field("header", None, h.as_bytes());
    }
    write!(body, "--{boundary}--\r\n").unwrap();
    let resp = app
        .client
        .post(app.url(&format!("/api/0/organizations/default/releases/{version}/files/")))
        .bearer_auth(&app.token)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn release_files_uploaded_the_legacy_way_map_events_of_that_release_and_can_be_deleted() {
    let app = spawn_app().await;
    let (status, _) = post_release_file(&app, "legacy@1.0.0", "~/static/main.js", b"x", None).await;
    assert_eq!(status, 404, "files need their release");
    cli(&app, &["releases", "new", "legacy@1.0.0"]);
    let (min, map) = build("m", "n", "");
    let (status, body) = post_release_file(
        &app,
        "legacy@1.0.0",
        "~/static/main.js",
        min.as_bytes(),
        Some("Sourcemap: main.js.map"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post_release_file(&app, "legacy@1.0.0", "~/static/main.js.map", map.as_bytes(), None).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post_release_file(&app, "legacy@1.0.0", "~/static/broken.js.map", b"{nope", None).await;
    assert_eq!(status, 400, "{body}");

    let tmp = tempfile::tempdir().unwrap();
    write_build(tmp.path(), "m", "n", "");
    let url = "http://127.0.0.1:1/static/main.js";
    let event = stored(
        &app,
        &js_event(minified_frames(tmp.path(), "m", "n", url), "legacy@1.0.0", json!([])),
    )
    .await;
    assert_eq!(readable(&event), expected(), "{event}");

    let (_, _, files) = app
        .api_get("/api/0/organizations/default/releases/legacy@1.0.0/files/")
        .await;
    assert_eq!(files.as_array().unwrap().len(), 2, "{files}");
    let id = files[0]["id"].as_str().unwrap();
    let path = format!("/api/0/projects/default/default/releases/legacy@1.0.0/files/{id}/");
    assert_eq!(app.api_delete(&path).await, 204);
    assert_eq!(app.api_delete(&path).await, 404);
    let (_, _, files) = app
        .api_get("/api/0/organizations/default/releases/legacy@1.0.0/files/")
        .await;
    assert_eq!(files.as_array().unwrap().len(), 1, "{files}");

    // The release-bound bundle (`releases/{version}/assemble/`).
    let bundle = zip_of(&[
        (
            "manifest.json",
            json!({"files": {"f/a.js.map": {"type": "source_map", "url": "~/static/a.js.map"}}})
                .to_string()
                .as_bytes(),
        ),
        ("f/a.js.map", map.as_bytes()),
    ]);
    let sum = sha1_hex(&bundle);
    assert_eq!(upload_chunk(&app, &sum, &bundle).await.0, 200);
    let (status, body) = app
        .api_post(
            "/api/0/organizations/default/releases/legacy@1.0.0/assemble/",
            &json!({"checksum": sum, "chunks": [sum]}),
        )
        .await;
    assert_eq!((status, &body["state"]), (200, &json!("ok")), "{body}");
    let (_, _, files) = app
        .api_get("/api/0/organizations/default/releases/legacy@1.0.0/files/")
        .await;
    assert_eq!(files.as_array().unwrap().len(), 2, "{files}");
}

#[tokio::test]
async fn retention_sweeps_bundles_no_event_used_for_the_retention_period() {
    // 0.00002 days is under two seconds.
    let app = spawn_app_with(&["--retention-max-age-days", "0.00002", "--retention-interval", "0.2"]).await;
    let map = br#"{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}"#;
    let (status, _) = upload_bundle(&app, &bundle_of("files/_/_/main.js.map", map)).await;
    assert_eq!(status, 200);
    poll(
        "the unused bundle is swept",
        std::time::Duration::from_secs(20),
        async || {
            let (_, _, bundles) = app
                .api_get("/api/0/projects/default/default/files/artifact-bundles/")
                .await;
            if bundles == json!([]) {
                Ok(())
            } else {
                Err(bundles.to_string())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn maps_uploaded_after_the_events_apply_on_reprocess_and_the_pages_show_and_delete_uploads() {
    use crate::web::{Browser, hidden};
    let app = spawn_app().await;
    let browser = Browser::set_up(&app).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("build");
    write_build(&dir, "a", "c", "");
    let url = "https://shop.example.com/static/main.js";

    // The event comes before its maps: it is stored minified.
    let early = stored(
        &app,
        &js_event(minified_frames(&dir, "a", "c", url), "shop@3.0.0", json!([])),
    )
    .await;
    assert_eq!(frames_of(&early)[2]["function"], "a");
    let issue = early["groupID"].as_str().unwrap().to_string();
    cli(
        &app,
        &[
            "sourcemaps",
            "upload",
            "--release",
            "shop@3.0.0",
            "--url-prefix",
            "~/static",
            dir.to_str().unwrap(),
        ],
    );
    // A mapped event would open another issue, until the issue is reprocessed.
    let page = browser.get(&format!("/issues/{issue}/")).await;
    assert!(page.body.contains("Reprocess with source maps"), "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    let forged = browser
        .post(&format!("/issues/{issue}/reprocess"), &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, 403);
    let done = browser
        .post(&format!("/issues/{issue}/reprocess"), &[("csrf", &csrf)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let shown = browser.get(done.location.as_deref().unwrap()).await.body;
    assert!(shown.contains("source maps applied to 1 of the issue"), "{shown}");
    let again = app.event_json("default", early["event_id"].as_str().unwrap()).await;
    assert_eq!(
        readable(&again),
        expected(),
        "the stored event now reads like the source"
    );
    let later = stored(
        &app,
        &js_event(minified_frames(&dir, "a", "c", url), "shop@3.0.0", json!([])),
    )
    .await;
    assert_eq!(readable(&later), expected());
    assert_eq!(
        later["groupID"].as_str(),
        Some(issue.as_str()),
        "new events join the reprocessed issue"
    );

    // The issue page shows the original frames, and the minified ones on request.
    let page = browser.get(&format!("/issues/{issue}/?frames=full")).await.body;
    assert!(
        page.contains("/src/checkout.js") && page.contains("parseQuantity"),
        "{page}"
    );
    assert!(
        page.contains("throw new Error(&#39;bad quantity: &#39; + text);"),
        "{page}"
    );
    let minified = browser.get(&format!("/issues/{issue}/?frames=minified")).await.body;
    assert!(minified.contains("id=\"mode-minified\""), "{minified}");
    // Three frames of the bundle, there; none on the readable page.
    assert!(minified.matches(url).count() >= 3, "{minified}");
    assert!(!page.contains(url), "{page}");

    // The uploads: on the project's source maps page and the release's page, deletable.
    let list = browser.get("/projects/default/sourcemaps/").await.body;
    assert!(
        list.contains("~/static/main.js.map") && list.contains("release <code>shop@3.0.0</code>"),
        "{list}"
    );
    let release = browser.get("/projects/default/releases/shop@3.0.0/").await.body;
    assert!(release.contains("~/static/main.js.map"), "{release}");
    let (_, _, bundles) = app
        .api_get("/api/0/projects/default/default/files/artifact-bundles/")
        .await;
    let id = bundles[0]["id"].as_str().unwrap();
    let back = "/projects/default/releases/shop@3.0.0/";
    let deleted = browser
        .post(
            &format!("/projects/default/sourcemaps/{id}/delete"),
            &[("csrf", &csrf), ("back", back)],
        )
        .await;
    assert_eq!((deleted.status, deleted.location.as_deref()), (303, Some(back)));
    let release = browser.get(back).await.body;
    assert!(release.contains("id=\"no-artifacts\""), "{release}");
    let (_, _, bundles) = app
        .api_get("/api/0/projects/default/default/files/artifact-bundles/")
        .await;
    assert_eq!(bundles, json!([]));
}

#[tokio::test]
async fn sentry_cli_2s_deprecated_release_files_commands_upload_list_and_delete() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().unwrap();
    write_build(tmp.path(), "a", "c", "");
    cli_2(&app, &["releases", "new", "legacy@2.0.0"]);
    let dir = tmp.path().to_str().unwrap();
    cli_2(
        &app,
        &[
            "releases",
            "files",
            "legacy@2.0.0",
            "upload-sourcemaps",
            dir,
            "--url-prefix",
            "~/static",
        ],
    );
    let listed = cli_2(&app, &["releases", "files", "legacy@2.0.0", "list"]);
    assert!(
        listed.contains("~/static/main.js.map") && listed.contains("~/static/main.js "),
        "{listed}"
    );
    let url = "https://shop.example.com/static/main.js";
    let event = stored(
        &app,
        &js_event(minified_frames(tmp.path(), "a", "c", url), "legacy@2.0.0", json!([])),
    )
    .await;
    assert_eq!(readable(&event), expected(), "{event}");

    // One file by name, one file uploaded alone, then all.
    cli_2(
        &app,
        &["releases", "files", "legacy@2.0.0", "delete", "~/static/main.js.map"],
    );
    let main_js = tmp.path().join("main.js");
    cli_2(
        &app,
        &[
            "releases",
            "files",
            "legacy@2.0.0",
            "upload",
            main_js.to_str().unwrap(),
            "~/static/extra.js",
        ],
    );
    let listed = cli_2(&app, &["releases", "files", "legacy@2.0.0", "list"]);
    assert!(
        !listed.contains("~/static/main.js.map") && listed.contains("~/static/extra.js"),
        "{listed}"
    );
    cli_2(&app, &["releases", "files", "legacy@2.0.0", "delete", "--all"]);
    let listed = cli_2(&app, &["releases", "files", "legacy@2.0.0", "list"]);
    assert!(!listed.contains("~/static/main.js"), "{listed}");
    let (_, _, bundles) = app
        .api_get("/api/0/projects/default/default/files/artifact-bundles/")
        .await;
    assert_eq!(bundles, json!([]));
}
