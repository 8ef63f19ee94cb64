//! URLs of artifacts: the names under which a frame's script may have been uploaded, and the
//! URLs a source map's references resolve to.

/// The URLs a file loaded from `abs_path` may have been uploaded under, most specific first:
/// the URL itself, then `~/` + its path (any host), each also without the query string and
/// fragment. That is how sentry-cli names uploads (`--url-prefix '~/static'`).
pub fn candidates(abs_path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(4);
    let mut push = |url: String| {
        if !url.is_empty() && !out.contains(&url) {
            out.push(url);
        }
    };
    let bare = abs_path.split(['?', '#']).next().unwrap_or(abs_path);
    for url in [abs_path, bare] {
        push(url.to_string());
        if let Some(path) = path_of(url) {
            push(format!("~{path}"));
        }
    }
    out
}

/// The path (with query) of an absolute URL: `https://cdn.example.com/a/b.js?v=1` → `/a/b.js?v=1`;
/// `app:///main.js` → `/main.js`. `None` for a URL without a scheme.
fn path_of(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    Some(rest.find('/').map_or("/", |i| &rest[i..]))
}

/// `reference` resolved against `base` (the URL of the file that names it), as a browser would:
/// absolute URLs and `~/` names stay, `/x` keeps the base's origin, `x` and `../x` replace the
/// base's last segment.
pub fn join(base: &str, reference: &str) -> String {
    if reference.contains("://") || reference.starts_with("~/") || reference.starts_with("data:") {
        return reference.to_string();
    }
    let (origin, path) = match base.split_once("://") {
        Some((scheme, rest)) => {
            let split = rest.find('/').unwrap_or(rest.len());
            (format!("{scheme}://{}", &rest[..split]), &rest[split..])
        }
        None if base.starts_with("~/") => ("~".to_string(), &base[1..]),
        None => (String::new(), base),
    };
    if reference.starts_with('/') {
        return format!("{origin}{}", normalize(reference));
    }
    let dir = path.rfind('/').map_or("", |i| &path[..=i]);
    format!("{origin}{}", normalize(&format!("{dir}{reference}")))
}

/// Removes `.` and `..` segments (never above the root).
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "." => {}
            ".." => {
                if parts.len() > 1 {
                    parts.pop();
                }
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The file name a frame shows for an original source: the path without scheme and host
/// (`webpack:///./src/app.js` → `./src/app.js`, `https://x.com/src/a.js` → `/src/a.js`).
pub fn display_name(abs_path: &str) -> String {
    if let Some(rest) = abs_path.strip_prefix("webpack://") {
        // webpack:///./src/a.js and webpack://app/./src/a.js
        let rest = rest.find('/').map_or(rest, |i| &rest[i + 1..]);
        return rest.to_string();
    }
    match path_of(abs_path) {
        Some(path) => path.to_string(),
        None => abs_path.trim_start_matches('~').to_string(),
    }
}

/// The `sourceMappingURL` a minified file names in its last comment, if any.
pub fn source_mapping_url(source: &str) -> Option<&str> {
    // It is at the end; reading the last few KiB is enough and bounds the work.
    let start = source.len().saturating_sub(4096);
    let start = (start..source.len()).find(|&i| source.is_char_boundary(i))?;
    let tail = &source[start..];
    tail.lines().rev().find_map(|line| {
        let line = line.trim();
        let rest = line
            .strip_prefix("//# sourceMappingURL=")
            .or_else(|| line.strip_prefix("//@ sourceMappingURL="))?;
        Some(rest.trim()).filter(|r| !r.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_url_is_looked_up_as_itself_and_under_any_host() {
        assert_eq!(
            candidates("https://shop.example.com/static/main.js?v=3"),
            [
                "https://shop.example.com/static/main.js?v=3",
                "~/static/main.js?v=3",
                "https://shop.example.com/static/main.js",
                "~/static/main.js"
            ]
        );
        assert_eq!(candidates("app:///main.js"), ["app:///main.js", "~/main.js"]);
    }

    #[test]
    fn references_resolve_as_a_browser_resolves_them() {
        assert_eq!(join("~/static/main.js", "main.js.map"), "~/static/main.js.map");
        assert_eq!(
            join("https://x.com/a/b/main.js", "../maps/main.js.map"),
            "https://x.com/a/maps/main.js.map"
        );
        assert_eq!(
            join("https://x.com/a/main.js", "/m/main.js.map"),
            "https://x.com/m/main.js.map"
        );
        assert_eq!(join("~/static/main.js.map", "../src/app.js"), "~/src/app.js");
        assert_eq!(
            join("~/main.js.map", "webpack:///./src/app.js"),
            "webpack:///./src/app.js"
        );
    }

    #[test]
    fn original_sources_show_their_path() {
        assert_eq!(display_name("webpack:///./src/app.js"), "./src/app.js");
        assert_eq!(display_name("https://x.com/src/app.js"), "/src/app.js");
        assert_eq!(display_name("~/src/app.js"), "/src/app.js");
    }

    #[test]
    fn the_last_source_mapping_comment_names_the_map() {
        assert_eq!(
            source_mapping_url("var a;\n//# sourceMappingURL=main.js.map\n"),
            Some("main.js.map")
        );
        assert_eq!(source_mapping_url("var a;"), None);
    }
}
