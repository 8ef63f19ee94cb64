//! Module names for JavaScript frames loaded from a URL, as Sentry's JavaScript processing
//! gives them before grouping (`generate_module`): `https://cdn.example.com/static/js/cart.min.js?v=3`
//! becomes `cart`, `/assets/index-3f9a2c1b.js` becomes `assets/index`. Query strings, folders
//! and content hashes then change nothing, while different scripts stay apart. It runs at ingest
//! after source maps (a mapped frame is named by its original file), never inside grouping:
//! Sentry's grouping itself uses only the module a frame has.

use std::sync::LazyLock;

use regex::Regex;

use crate::event::{Event, Frame};

/// Folder prefixes (`/static/js/`, versions, short shas) and a trailing content hash that say
/// nothing about the script (Sentry's `CLEAN_MODULE_RE`).
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        ^(?:/|(?:(?:java)?scripts?|js|build|static|node_modules|bower_components|[_.~].*?
              |v?(?:\d+\.)*\d+|[a-f0-9]{7,8}|[a-f0-9]{32}|[a-f0-9]{40})/)+
        |(?:[-.][a-f0-9]{7,}$)",
    )
    .expect("the JS module pattern compiles")
});
/// A path segment that is a full md5 or sha1 (Sentry's `VERSION_RE`, as `re.match` reads it).
static VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(?:[a-f0-9]{32}|[a-f0-9]{40}$)").expect("the JS version pattern compiles"));

/// Names the module of every JavaScript frame that has none and was loaded from a URL.
pub fn generate_modules(event: &mut Event) {
    if !is_js(&event.platform) {
        return;
    }
    let platform = event.platform.clone();
    let exceptions = event.exception.iter_mut().flat_map(|e| e.values.iter_mut());
    let stacks = exceptions
        .filter_map(|e| e.stacktrace.as_mut())
        .chain(event.stacktrace.as_mut());
    for frame in stacks.flat_map(|st| st.frames.iter_mut()) {
        if !is_js(frame.platform.as_deref().unwrap_or(&platform))
            || frame.module.as_deref().is_some_and(|m| !m.is_empty())
        {
            continue;
        }
        if let Some(module) = origin(frame).and_then(module_from_url) {
            frame.module = Some(module);
        }
    }
}

fn is_js(platform: &str) -> bool {
    matches!(platform, "javascript" | "node")
}

fn origin(frame: &Frame) -> Option<&str> {
    frame.abs_path.as_deref().or(frame.filename.as_deref())
}

/// The module Sentry makes of a script URL; `None` for anything not loaded from one.
pub fn module_from_url(url: &str) -> Option<String> {
    let rest = ["http:", "https:", "webpack:", "app:"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme))?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    // As `urlsplit`: the path starts after the `//authority`.
    let path = match rest.strip_prefix("//") {
        Some(authority_and_path) => authority_and_path.find('/').map_or("", |at| &authority_and_path[at..]),
        None => rest,
    };
    // As `splitext`: drop the last segment's extension, unless the name starts with the dot.
    let name_start = path.rfind('/').map_or(0, |slash| slash + 1);
    let stem = match path[name_start..].trim_start_matches('.').rfind('.') {
        Some(_) => &path[..path.rfind('.').unwrap_or(path.len())],
        None => path,
    };
    let stem = stem.strip_suffix(".min").unwrap_or(stem);
    let segments: Vec<&str> = stem.split('/').collect();
    if let Some(at) = segments.iter().position(|s| VERSION.is_match(s)) {
        return Some(segments[at + 1..].join("/"));
    }
    let cleaned = NOISE.replace_all(stem, "");
    Some(if cleaned.is_empty() {
        "<unknown module>".to_string()
    } else {
        cleaned.into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::module_from_url;

    #[test]
    fn js_frames_from_urls_get_the_module_sentry_generates() {
        // Sentry's `generate_module` docstring example first, then paths it cleans the same way.
        let cases = [
            ("http://google.com/js/v1.0/foo/bar/baz.js", "foo/bar/baz"),
            ("http://example.com/foo.js", "foo"),
            ("http://example.com/js/foo/bar.js", "foo/bar"),
            ("http://example.com/javascript/foo/bar.js", "foo/bar"),
            ("http://example.com/v1.0.0/foo/bar.js", "foo/bar"),
            ("http://example.com/_baz/foo/bar.js", "foo/bar"),
            ("http://example.com/abcdef0/foo/bar.js", "foo/bar"),
            ("http://example.com/foo/bar.js?v=1234", "foo/bar"),
            (
                "http://example.com/92cd589eca8235e7b373bf5ae94ebf898e3b949c/foo/bar.js",
                "foo/bar",
            ),
            (
                "http://example.com/vendor.92cd589eca8235e7b373bf5ae94ebf898e3b949c.js",
                "vendor",
            ),
            ("https://example.com/libs/libs-20150417171659.min.js", "libs/libs"),
            (
                "webpack:///92cd589eca8235e7b373bf5ae94ebf898e3b949c/vendor.js",
                "vendor",
            ),
            ("https://shop.example.com/assets/index-3f9a2c1b.js", "assets/index"),
            ("app:///index.android.bundle", "index.android"),
        ];
        for (url, module) in cases {
            assert_eq!(module_from_url(url).as_deref(), Some(module), "{url}");
        }
        assert_eq!(module_from_url("/srv/app/server.js"), None);
    }
}
