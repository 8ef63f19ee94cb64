//! Stack frames' contribution: module (else the lowercased basename of the filename), function,
//! and the whitespace-collapsed context line. Never line or column numbers, absolute paths or
//! variables, so the same bug on another line or in another checkout groups together. Code
//! loaded from a URL contributes no filename; a JS frame from one gets the module Sentry derives
//! from its URL. Generated ids in names (Java proxies, Rails views) are blanked out.

use std::sync::LazyLock;

use regex::Regex;

use crate::event::Frame;

/// Platforms whose context lines are stable enough to group on.
const CONTEXT_LINE_PLATFORMS: &[&str] = &["javascript", "node", "python", "php", "ruby"];
/// Longer lines are usually minified code or generated data: they would split groups.
pub(in crate::grouping) const MAX_CONTEXT_LINE: usize = 120;

/// The contributing values of a stack trace, oldest frame first. With `in_app_only`, frames not
/// marked `in_app: true` are left out (a missing `in_app` counts as false).
pub fn stacktrace_values(frames: &[Frame], event_platform: &str, in_app_only: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut previous: Option<&Frame> = None;
    for frame in frames {
        // A frame identical to the one before is recursion: it counts once, whatever the depth.
        let recursion = previous.is_some_and(|p| same_location(p, frame));
        previous = Some(frame);
        if recursion || (in_app_only && frame.in_app != Some(true)) {
            continue;
        }
        let platform = frame.platform.as_deref().unwrap_or(event_platform);
        out.extend(frame_values(frame, platform));
    }
    out
}

pub(in crate::grouping) fn same_location(a: &Frame, b: &Frame) -> bool {
    a.abs_path == b.abs_path
        && a.package == b.package
        && a.module == b.module
        && a.filename == b.filename
        && a.function == b.function
        && a.lineno == b.lineno
        && a.colno == b.colno
}

pub(in crate::grouping) fn is_js(platform: &str) -> bool {
    matches!(platform, "javascript" | "node")
}

/// `[module | filename, function, context-line]`, each only when it contributes.
fn frame_values(frame: &Frame, platform: &str) -> Vec<String> {
    if is_js(platform) && js_frame_is_noise(frame) {
        return Vec::new();
    }
    let mut values = Vec::with_capacity(3);
    match module_value(frame, platform) {
        Some(module) => values.push(module),
        None => values.extend(filename_value(frame, platform)),
    }
    values.extend(function_value(frame, platform));
    values.extend(context_line_value(frame, platform));
    values
}

/// Where the frame's code came from. Relay moves a browser frame's `filename` (the script URL)
/// into a missing `abs_path` before grouping; reading the filename as a fallback does the same.
pub(in crate::grouping) fn origin(frame: &Frame) -> Option<&str> {
    frame.abs_path.as_deref().or(frame.filename.as_deref())
}

/// Sentry's `has_url_origin`. A `file:` path is a URL only where `allow_file` is false.
fn has_url_origin(path: Option<&str>, allow_file: bool) -> bool {
    let Some(path) = path else { return false };
    if ["http:", "https:", "applewebdata:", "blob:"]
        .iter()
        .any(|scheme| path.starts_with(scheme))
    {
        return true;
    }
    path.starts_with("file:") && !allow_file
}

/// The function name JS fuzzing looks at: the last `.` segment of the raw (else the) function.
pub(in crate::grouping) fn js_short_function(frame: &Frame) -> Option<&str> {
    let raw = frame
        .raw_function
        .as_deref()
        .filter(|f| !f.is_empty())
        .or(frame.function.as_deref())?;
    raw.rsplit('.').next()
}

/// `eval` frames and native-code frames in JS say nothing about the bug.
pub(in crate::grouping) fn js_frame_is_noise(frame: &Frame) -> bool {
    js_short_function(frame) == Some("eval")
        || matches!(
            origin(frame),
            Some("[native code]" | "native code" | "eval code" | "<anonymous>")
        )
}

fn module_value(frame: &Frame, platform: &str) -> Option<String> {
    let module = match frame.module.as_deref().filter(|m| !m.is_empty()) {
        Some(module) => module.to_string(),
        None if is_js(platform) => js_module_from_url(origin(frame)?)?,
        None => return None,
    };
    match platform {
        // Old browser SDKs sent the script path as the module.
        "javascript" if module.contains('/') && origin(frame).is_some_and(|p| p.ends_with(&module)) => None,
        "java" => java_module(&module),
        _ => Some(module),
    }
}

/// Folder prefixes (`/static/js/`, versions, short shas) and a trailing content hash that say
/// nothing about the script (Sentry's `CLEAN_MODULE_RE`).
static JS_MODULE_NOISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        ^(?:/|(?:(?:java)?scripts?|js|build|static|node_modules|bower_components|[_.~].*?
              |v?(?:\d+\.)*\d+|[a-f0-9]{7,8}|[a-f0-9]{32}|[a-f0-9]{40})/)+
        |(?:[-.][a-f0-9]{7,}$)",
    )
    .expect("the JS module pattern compiles")
});
/// A path segment that is a full md5 or sha1 (Sentry's `VERSION_RE`, as `re.match` reads it).
static JS_MODULE_VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(?:[a-f0-9]{32}|[a-f0-9]{40}$)").expect("the JS version pattern compiles"));

/// Sentry's JavaScript plugin names every JS frame loaded from a URL before grouping
/// (`generate_modules`): `https://cdn.example.com/static/js/cart.min.js?v=3` becomes `cart`,
/// `/assets/index-3f9a2c1b.js` becomes `assets/index`. Query strings, folders and content
/// hashes then change nothing, while different scripts stay apart.
fn js_module_from_url(url: &str) -> Option<String> {
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
    if let Some(at) = segments.iter().position(|s| JS_MODULE_VERSION.is_match(s)) {
        return Some(segments[at + 1..].join("/"));
    }
    let cleaned = JS_MODULE_NOISE.replace_all(stem, "");
    Some(if cleaned.is_empty() {
        "<unknown module>".to_string()
    } else {
        cleaned.into_owned()
    })
}

/// javassist proxies, in class names and in file names (`EntriesResource_$$_javassist_seam_74`).
const JAVASSIST: &str = r"(\$\$_javassist)(?:_seam)?(?:_[0-9]+)?";
static JAVASSIST_FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(JAVASSIST).expect("the javassist pattern compiles"));

/// Java class names with code-generation markers whose ids change from one JVM run to the next:
/// Spring/CGLIB proxies, reflection accessors, javassist, Guice, Hibernate proxies, Clojure.
static JAVA_CODEGEN: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(sun\.reflect\.Generated(?:Serialization)?ConstructorAccessor)\d+",
        r"(\$\$[\w_]+?CGLIB\$\$)[a-fA-F0-9]+(_[0-9]+)?",
        JAVASSIST,
        r"(\$fn__)\d+",
        r"(\$\$?EnhancerBy[\w_]+?\$?\$)[a-fA-F0-9]+(_[0-9]+)?",
        r"(\$\$?FastClassBy[\w_]+?\$?\$)[a-fA-F0-9]+(_[0-9]+)?",
        r"(\$\$?HibernateProxy\$?\$)\w+(_[0-9]+)?",
    ]
    .iter()
    .map(|re| Regex::new(re).expect("the Java codegen patterns compile"))
    .collect()
});

pub(in crate::grouping) fn java_module(module: &str) -> Option<String> {
    if module.contains("$$Lambda$") {
        return None;
    }
    for accessor in [
        "sun.reflect.GeneratedMethodAccessor",
        "jdk.internal.reflect.GeneratedMethodAccessor",
    ] {
        if module.starts_with(accessor) {
            return Some(accessor.to_string());
        }
    }
    let mut cleaned = module.to_string();
    for re in JAVA_CODEGEN.iter() {
        cleaned = re.replace_all(&cleaned, "${1}<auto>").into_owned();
    }
    Some(cleaned)
}

/// The basename, lowercased; for JS without the query string. Not for code loaded from a URL,
/// whose file names change with every deploy.
pub(in crate::grouping) fn filename_value(frame: &Frame, platform: &str) -> Option<String> {
    let name = frame.filename.as_deref().filter(|f| !f.is_empty())?;
    if has_url_origin(origin(frame), true) {
        return None;
    }
    let name = if is_js(platform) {
        name.split(['?', '#']).next().unwrap_or(name)
    } else {
        name
    };
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name).to_lowercase();
    if base.is_empty() || matches!(base.as_str(), "<anonymous>" | "[native code]") {
        return None;
    }
    if platform == "java" {
        return Some(JAVASSIST_FILE.replace_all(&base, "${1}<auto>").into_owned());
    }
    Some(base)
}

/// A Rails view's compiled method name ends in ids that differ per process.
pub(in crate::grouping) static RUBY_ERB_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"__\d{4,}_\d{4,}$").expect("the erb pattern compiles"));

fn function_value(frame: &Frame, platform: &str) -> Option<String> {
    let raw = frame
        .function
        .as_deref()
        .or(frame.raw_function.as_deref())
        .map(str::trim)
        .filter(|f| !f.is_empty())?;
    let function = match platform {
        "javascript" | "node" => {
            // Browsers name anonymous functions differently (`?`, `<anonymous>`, Firefox's
            // `outer/<`); none of them names the code.
            let short = js_short_function(frame).unwrap_or(raw);
            if matches!(
                short,
                "" | "?" | "<anonymous>" | "<anonymous function>" | "Anonymous function"
            ) || short.ends_with("/<")
            {
                return None;
            }
            raw.rsplit('.').next().unwrap_or(raw)
        }
        "ruby" if raw.starts_with("block ") => "block",
        "ruby" => return Some(RUBY_ERB_SUFFIX.replace(raw, "").into_owned()),
        "php" if raw == "{closure}" || raw.contains("{closure}") => return None,
        "java" if raw.starts_with("lambda$") => return None,
        "native" | "cocoa" | "c" if matches!(raw, "<redacted>" | "<unknown>") => return None,
        _ => raw,
    };
    (!function.is_empty()).then(|| function.to_string())
}

pub(in crate::grouping) fn context_line_value(frame: &Frame, platform: &str) -> Option<String> {
    if !CONTEXT_LINE_PLATFORMS.contains(&platform) {
        return None;
    }
    let line = frame.context_line.as_deref()?;
    if line.chars().count() > MAX_CONTEXT_LINE {
        return None;
    }
    // A script fetched from a URL, in a function without a name, is usually inline or generated.
    let unnamed = frame.function.as_deref().is_none_or(str::is_empty);
    if is_js(platform) && unnamed && has_url_origin(origin(frame), false) {
        return None;
    }
    let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
}

#[cfg(test)]
mod tests {
    use super::{java_module, js_module_from_url};

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
            assert_eq!(js_module_from_url(url).as_deref(), Some(module), "{url}");
        }
        assert_eq!(js_module_from_url("/srv/app/server.js"), None);
    }

    #[test]
    fn java_codegen_ids_are_replaced() {
        let cases = [
            (
                "com.acme.OrderService$$EnhancerBySpringCGLIB$$8f3c2a1d",
                "com.acme.OrderService$$EnhancerBySpringCGLIB$$<auto>",
            ),
            (
                "jdk.internal.reflect.GeneratedMethodAccessor214",
                "jdk.internal.reflect.GeneratedMethodAccessor",
            ),
            (
                "sun.reflect.GeneratedConstructorAccessor12",
                "sun.reflect.GeneratedConstructorAccessor<auto>",
            ),
            (
                "com.acme.api.EntriesResource_$$_javassist_seam_74",
                "com.acme.api.EntriesResource_$$_javassist<auto>",
            ),
            (
                "com.acme.api.OutboundController$$EnhancerByGuice$$ae46b1bf",
                "com.acme.api.OutboundController$$EnhancerByGuice$$<auto>",
            ),
            (
                "com.acme.model.User$HibernateProxy$oRWxjAWT",
                "com.acme.model.User$HibernateProxy$<auto>",
            ),
            ("myapp.core$fn__12345", "myapp.core$fn__<auto>"),
            ("com.acme.OrderService", "com.acme.OrderService"),
        ];
        for (module, cleaned) in cases {
            assert_eq!(java_module(module).as_deref(), Some(cleaned), "{module}");
        }
        assert_eq!(java_module("com.acme.Jobs$$Lambda$312/0x0000000800c4b440"), None);
    }
}
