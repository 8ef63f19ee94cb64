//! The JavaScript load shape (`--shape javascript`, and the `sourcemaps` benchmark): errors
//! from a minified bundle as `@sentry/browser` sends them (uncompressed, ~3 KB, ten frames in
//! the bundle, `debug_meta` naming the bundle's debug id), and the bundle itself: a synthetic
//! app chunk of `functions` functions (one long minified line, a map with `sourcesContent`,
//! a few hundred KB each for 2,000 functions, like a real app's chunk), which `upload` sends as
//! sentry-cli does (chunks, then assemble).

use std::io::Write;

use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use crate::vary::{hex, rand};

/// The debug id `sentry-cli sourcemaps inject` would have written.
pub const DEBUG_ID: &str = "5b1f2a4c-8d3e-4f60-9a71-2c3d4e5f6a7b";
/// Where the browser loads the bundle from.
pub const SCRIPT_URL: &str = "https://shop.example.com/static/js/main.4f3c9a.js";

/// A minified bundle, its map, and where in it each function calls the next and throws.
pub struct Bundle {
    pub minified: String,
    pub map: String,
    /// 1-based columns on line 1 of each function's call to the next, and of its `throw`.
    pub calls: Vec<u32>,
    pub throws: Vec<u32>,
}

/// `functions` functions `handleOrderN(order)`, each checking a limit, throwing past it, and
/// calling the next one.
pub fn bundle(functions: usize) -> Bundle {
    let mut source = String::new();
    let mut minified = String::new();
    let mut b = sourcemap::SourceMapBuilder::new(Some("main.4f3c9a.js"));
    let src = b.add_source("webpack:///./src/orders.js");
    let (mut calls, mut throws) = (Vec::new(), Vec::new());
    for i in 0..functions {
        let next = (i + 1) % functions;
        let line = (i * 5) as u32;
        source.push_str(&format!(
            "function handleOrder{i}(order) {{\n  const total = order.items.length;\n  if (total > {i}) throw new Error('limit ' + total);\n  return handleOrder{next}(order);\n}}\n"
        ));
        let start = minified.len() as u32;
        let text = format!(
            "function f{i}(o){{var t=o.items.length;if(t>{i})throw new Error(\"limit \"+t);return f{next}(o)}}"
        );
        let at = |needle: &str| start + text.find(needle).unwrap() as u32;
        let mut token = |col: u32, src_line: u32, src_col: u32, name: Option<&str>| {
            let name = name.map(|n| b.add_name(n));
            b.add_raw(0, col, src_line, src_col, Some(src), name, false);
        };
        token(at("function"), line, 0, None);
        token(at(&format!("f{i}(")), line, 9, Some(&format!("handleOrder{i}")));
        token(at("var t"), line + 1, 2, None);
        token(at("if("), line + 2, 2, None);
        token(at("throw"), line + 2, 19, None);
        token(at("return"), line + 3, 2, None);
        token(
            at(&format!("f{next}(o)")),
            line + 3,
            9,
            Some(&format!("handleOrder{next}")),
        );
        calls.push(at(&format!("f{next}(o)")) + 1);
        throws.push(at("throw") + 1);
        minified.push_str(&text);
    }
    b.set_source_contents(src, Some(&source));
    let mut map = Vec::new();
    b.into_sourcemap().to_writer(&mut map).unwrap();
    let mut map: Value = serde_json::from_slice(&map).unwrap();
    map["debugId"] = json!(DEBUG_ID);
    minified.push_str(&format!(
        "\n//# debugId={DEBUG_ID}\n//# sourceMappingURL=main.4f3c9a.js.map\n"
    ));
    Bundle {
        minified,
        map: map.to_string(),
        calls,
        throws,
    }
}

/// `issues` stack traces × `variants` versions of each: ten frames (nine calls, then the throw)
/// in the bundle, from function `n` on.
pub fn templates(bundle: &Bundle, issues: usize, variants: usize) -> Vec<Value> {
    let functions = bundle.calls.len();
    let now = crate::vary::now();
    (0..issues)
        .flat_map(|n| {
            (0..variants).map(move |_| {
                let first = (n * 10) % functions;
                let mut frames: Vec<Value> = (0..9)
                    .map(|k| frame(bundle.calls[(first + k) % functions], &format!("f{}", (first + k) % functions)))
                    .collect();
                let top = (first + 9) % functions;
                frames.push(frame(bundle.throws[top], &format!("f{top}")));
                json!({
                    "platform": "javascript",
                    "level": "error",
                    "timestamp": now - (rand() % 3_600_000) as f64 / 1000.0,
                    "release": "shop@2.14.0",
                    "environment": "production",
                    "exception": {"values": [{
                        "type": "Error",
                        "value": format!("limit {}", rand() % 100),
                        "mechanism": {"type": "onerror", "handled": false},
                        "stacktrace": {"frames": frames},
                    }]},
                    "debug_meta": {"images": [{"type": "sourcemap", "code_file": SCRIPT_URL, "debug_id": DEBUG_ID}]},
                    "request": {
                        "url": format!("https://shop.example.com/orders/{}/", rand() % 100_000),
                        "headers": {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"},
                    },
                    "user": {"id": format!("{}", rand() % 50_000), "ip_address": "{{auto}}"},
                    "contexts": {"trace": {"trace_id": hex(), "span_id": hex()[..16].to_string()}},
                    "breadcrumbs": {"values": [
                        {"timestamp": now - 3.0, "category": "navigation", "data": {"from": "/cart", "to": "/checkout"}},
                        {"timestamp": now - 2.0, "category": "ui.click", "message": "button#pay"},
                        {"timestamp": now - 1.0, "category": "fetch", "data": {"method": "POST", "url": "/api/orders", "status_code": 200}},
                    ]},
                    "sdk": {"name": "sentry.javascript.browser", "version": "10.20.0"},
                })
            })
        })
        .collect()
}

fn frame(colno: u32, function: &str) -> Value {
    json!({"filename": SCRIPT_URL, "abs_path": SCRIPT_URL, "function": function, "lineno": 1, "colno": colno, "in_app": true})
}

/// The bundle as sentry-cli packs it: a zip with its manifest.
pub fn artifact_bundle(bundle: &Bundle) -> Vec<u8> {
    let manifest = json!({
        "files": {
            "files/_/_/main.4f3c9a.js": {"type": "minified_source", "url": "~/static/js/main.4f3c9a.js",
                "headers": {"debug-id": DEBUG_ID, "sourcemap": "main.4f3c9a.js.map"}},
            "files/_/_/main.4f3c9a.js.map": {"type": "source_map", "url": "~/static/js/main.4f3c9a.js.map",
                "headers": {"debug-id": DEBUG_ID}},
        },
    });
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in [
        ("manifest.json", manifest.to_string().into_bytes()),
        ("files/_/_/main.4f3c9a.js", bundle.minified.clone().into_bytes()),
        ("files/_/_/main.4f3c9a.js.map", bundle.map.clone().into_bytes()),
    ] {
        w.start_file(name, opts).unwrap();
        w.write_all(&data).unwrap();
    }
    w.finish().unwrap();
    out.into_inner()
}

fn sha1_hex(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

/// Uploads the bundle to the server at `base` as sentry-cli does: chunks of the size the server
/// asks for, then assemble; panics unless it ends `ok`.
pub async fn upload(base: &str, token: &str, bundle: &Bundle) {
    let client = reqwest::Client::new();
    let zip = artifact_bundle(bundle);
    let options: Value = client
        .get(format!("{base}/api/0/organizations/default/chunk-upload/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let size = options["chunkSize"].as_u64().unwrap() as usize;
    let chunks: Vec<&[u8]> = zip.chunks(size).collect();
    let sums: Vec<String> = chunks.iter().map(|c| sha1_hex(c)).collect();
    for (chunk, sum) in chunks.iter().zip(&sums) {
        let boundary = "bench-boundary";
        let mut body =
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{sum}\"\r\n\r\n")
                .into_bytes();
        body.extend_from_slice(chunk);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let resp = client
            .post(format!("{base}/api/0/organizations/default/chunk-upload/"))
            .bearer_auth(token)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    }
    let answer: Value = client
        .post(format!("{base}/api/0/organizations/default/artifactbundle/assemble/"))
        .bearer_auth(token)
        .json(&json!({"checksum": sha1_hex(&zip), "chunks": sums, "projects": ["default"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["state"], "ok", "{answer}");
}
