//! The app's route table, read from its source: `routes()` finds every route registration
//! under `src/` and fails, naming file and line, on any form it cannot read.

/// Every route the app registers (method and path pattern), read from the source of every
/// file under `src/`, so a route added later is walked without anyone remembering to list it.
/// The reader knows the forms the code uses:
///
/// - `.route("PATH", web::get())` (any method: `web::post()`, `web::method(Method::OPTIONS)`, …);
/// - `.service(web::resource(PATHS)…)`, where `PATHS` is `"PATH"`, `["A", "B"]` or
///   `format!("{prefix}PATH")` (a mount prefix in front of the root mount), followed by
///   `.route(web::METHOD())` calls and an optional `.default_service(…)`, which answers every
///   other method and is walked with one of them;
/// - `.configure(f)` or `.configure(|cfg| f(cfg, …))` with a function `f` defined in `src/`
///   (so its registrations are read too), and the app's `.default_service(…)` for paths no
///   route matches.
///
/// Any other registration (`web::scope`, `web::route`, `#[get(…)]`, `Files::new`, a path that is
/// not a literal, …) fails the test with its file and line instead of being skipped.
pub fn routes() -> Vec<Route> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let sources: Vec<(String, Source)> = files
        .iter()
        .map(|path| {
            (
                path.strip_prefix(root).unwrap().display().to_string(),
                Source::read(path),
            )
        })
        .collect();
    let functions: Vec<String> = sources.iter().flat_map(|(_, source)| source.functions()).collect();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, source) in &sources {
        source.routes(&functions, &mut out, &mut |at, why| {
            errors.push(format!("{name}:{}: {why}", source.line(at)));
        });
    }
    assert!(
        errors.is_empty(),
        "route registrations this test cannot read (teach `routes()` the form, or it would \
         skip the route):\n{}",
        errors.join("\n")
    );
    out.sort_by(|a, b| (&a.pattern, &a.method).cmp(&(&b.pattern, &b.method)));
    out.dedup_by(|a, b| (&a.pattern, &a.method) == (&b.pattern, &b.method));
    out
}

/// A route as registered.
#[derive(Debug)]
pub struct Route {
    pub method: String,
    pub pattern: String,
    /// The pattern the server's request metrics name it by: a resource with several paths is
    /// named by its first.
    pub metric_pattern: String,
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A Rust file in two views of the same length: `text` without comments, and `code`, which
/// also blanks what is inside string and char literals, so searching and bracket matching
/// never land in a literal or a comment.
struct Source {
    text: Vec<u8>,
    code: Vec<u8>,
}

/// Whether the `r` at `at` opens a raw string (`r"…"`, `r#"…"#`, `br"…"`), not a raw
/// identifier (`r#type`) or the end of a name.
fn raw_string_start(text: &[u8], at: usize) -> bool {
    let ident = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let name_start = match at.checked_sub(1).map(|j| text[j]) {
        Some(b'b') => at < 2 || !ident(&text[at - 2]),
        Some(b) => !ident(&b),
        None => true,
    };
    let hashes = text[at + 1..].iter().take_while(|&&b| b == b'#').count();
    name_start && text.get(at + 1 + hashes) == Some(&b'"')
}

/// How a registration found in the code is read.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    Route,
    Resource,
    Service,
    DefaultService,
    Configure,
    /// A way to register routes that `routes()` does not read.
    Unknown,
}

/// What registers routes in actix-web, as it appears in code.
const REGISTRATIONS: &[(&str, Form)] = &[
    (".route(", Form::Route),
    ("web::resource(", Form::Resource),
    (".service(", Form::Service),
    (".default_service(", Form::DefaultService),
    (".configure(", Form::Configure),
    ("web::scope(", Form::Unknown),
    ("web::route(", Form::Unknown),
    ("web::service(", Form::Unknown),
    ("Scope::new(", Form::Unknown),
    ("Resource::new(", Form::Unknown),
    ("Route::new(", Form::Unknown),
    ("Files::new(", Form::Unknown),
    (".external_resource(", Form::Unknown),
    ("#[get(", Form::Unknown),
    ("#[post(", Form::Unknown),
    ("#[put(", Form::Unknown),
    ("#[delete(", Form::Unknown),
    ("#[patch(", Form::Unknown),
    ("#[head(", Form::Unknown),
    ("#[route(", Form::Unknown),
    ("#[routes]", Form::Unknown),
    // Imported forms (`use actix_web::web::resource;` then `resource("/x")`).
    ("resource(", Form::Unknown),
    ("scope(", Form::Unknown),
];

impl Source {
    fn read(path: &std::path::Path) -> Source {
        let mut text = std::fs::read(path).unwrap();
        let mut code = text.clone();
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            let (end, literal) = if rest.starts_with(b"//") {
                (i + rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len()), false)
            } else if rest.starts_with(b"/*") {
                let mut depth = 0;
                let mut j = i;
                loop {
                    if text[j..].starts_with(b"/*") {
                        depth += 1;
                        j += 2;
                    } else if text[j..].starts_with(b"*/") {
                        depth -= 1;
                        j += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                (j, false)
            } else if rest[0] == b'"' {
                let mut j = i + 1;
                while text[j] != b'"' {
                    j += if text[j] == b'\\' { 2 } else { 1 };
                }
                (j + 1, true)
            } else if rest[0] == b'r' && raw_string_start(&text, i) {
                let hashes = rest[1..].iter().take_while(|&&b| b == b'#').count();
                let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
                let body = i + 2 + hashes;
                let len = text[body..].windows(close.len()).position(|w| w == close).unwrap();
                (body + len + close.len(), true)
            } else if rest[0] == b'\'' {
                // A char literal ('x', '\n', '"', 'é'), else a lifetime.
                let len = if rest.get(1) == Some(&b'\\') {
                    rest[3..].iter().position(|&b| b == b'\'').map(|p| p + 4)
                } else {
                    (2..=5)
                        .find(|&n| {
                            rest.get(n) == Some(&b'\'')
                                && std::str::from_utf8(&rest[1..n]).is_ok_and(|c| c.chars().count() == 1)
                        })
                        .map(|n| n + 1)
                };
                match len {
                    Some(len) => (i + len, true),
                    None => (i + 1, false),
                }
            } else {
                // Bytes of a multi-byte character become spaces; offsets stay those of `text`.
                if !rest[0].is_ascii() {
                    code[i] = b' ';
                }
                i += 1;
                continue;
            };
            if literal {
                // Keep the delimiters in `code`, blank the contents.
                for b in &mut code[i + 1..end - 1] {
                    *b = if *b == b'\n' { b'\n' } else { b' ' };
                }
            } else {
                for j in i..end {
                    if text[j] != b'\n' {
                        text[j] = b' ';
                        code[j] = b' ';
                    }
                }
            }
            i = end;
        }
        Source { text, code }
    }

    /// The names of the functions this file defines.
    fn functions(&self) -> Vec<String> {
        let code = String::from_utf8_lossy(&self.code);
        code.split("fn ")
            .skip(1)
            .map(|rest| rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
            .collect()
    }

    fn line(&self, at: usize) -> usize {
        1 + self.text[..at].iter().filter(|&&b| b == b'\n').count()
    }

    fn code_at(&self, at: usize, what: &str) -> bool {
        self.code[at..].starts_with(what.as_bytes())
    }

    fn skip_space(&self, mut at: usize) -> usize {
        while self.code.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        at
    }

    /// The position after the bracket closing the one at `open`.
    fn after_close(&self, open: usize) -> usize {
        let mut depth = 0;
        for (j, b) in self.code.iter().enumerate().skip(open) {
            match b {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return j + 1;
                    }
                }
                _ => {}
            }
        }
        panic!("unbalanced brackets")
    }

    /// The string literal at `at` (after spaces) and the position after it.
    fn literal(&self, at: usize) -> Option<(String, usize)> {
        let at = self.skip_space(at);
        if self.code.get(at) != Some(&b'"') {
            return None;
        }
        let end = at + 1 + self.code[at + 1..].iter().position(|&b| b == b'"')?;
        let value = std::str::from_utf8(&self.text[at + 1..end]).ok()?;
        (!value.contains('\\')).then(|| (value.to_string(), end + 1))
    }

    /// The method of `web::get()`, `web::method(Method::OPTIONS)` and the like at `at`.
    fn method(&self, at: usize) -> Option<String> {
        let at = self.skip_space(at);
        for m in ["get", "post", "put", "delete", "patch", "head"] {
            if self.code_at(at, &format!("web::{m}()")) {
                return Some(m.to_uppercase());
            }
        }
        if self.code_at(at, "web::method(") {
            let open = at + "web::method".len();
            let inner = std::str::from_utf8(&self.code[open + 1..self.after_close(open) - 1]).ok()?;
            let name = inner.trim().rsplit("::").next()?;
            return name.chars().all(|c| c.is_ascii_uppercase()).then(|| name.to_string());
        }
        None
    }

    /// The paths of `web::resource(` whose bracket opens at `open`.
    fn resource_paths(&self, open: usize) -> Option<Vec<String>> {
        let close = self.after_close(open) - 1;
        let at = self.skip_space(open + 1);
        let mut paths = Vec::new();
        if self.code_at(at, "format!(") {
            let (template, end) = self.literal(at + "format!(".len())?;
            let format_close = self.after_close(at + "format!".len());
            if self.skip_space(end) != format_close - 1 || self.skip_space(format_close) != close {
                return None;
            }
            // `{prefix}/path`: the route mounted under a prefix, and at the root.
            let rest = match template.strip_prefix('{').and_then(|t| t.split_once('}')) {
                Some((prefix, rest)) if prefix.chars().all(|c| c.is_alphanumeric() || c == '_') => rest,
                _ => &template,
            };
            if rest.replace("{{", "").replace("}}", "").contains(['{', '}']) {
                return None;
            }
            paths.push(rest.replace("{{", "{").replace("}}", "}"));
        } else if self.code[at] == b'[' {
            let end = self.after_close(at);
            let mut item = self.skip_space(at + 1);
            while item != end - 1 {
                let (path, after) = self.literal(item)?;
                paths.push(path);
                item = self.skip_space(after);
                if self.code[item] == b',' {
                    item = self.skip_space(item + 1);
                } else if item != end - 1 {
                    return None;
                }
            }
            if self.skip_space(end) != close {
                return None;
            }
        } else {
            let (path, end) = self.literal(at)?;
            paths.push(path);
            if self.skip_space(end) != close {
                return None;
            }
        }
        paths.iter().all(|p| p.starts_with('/')).then_some(paths)
    }

    /// Adds the routes of this file to `out`; `error(position, why)` for what it cannot read.
    fn routes(&self, functions: &[String], out: &mut Vec<Route>, error: &mut dyn FnMut(usize, String)) {
        let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut found = Vec::new();
        for &(token, form) in REGISTRATIONS {
            let bytes = token.as_bytes();
            for (at, _) in self.code.windows(bytes.len()).enumerate().filter(|(_, w)| *w == bytes) {
                let before = at.checked_sub(1).map(|j| self.code[j]);
                let named = ident(bytes[0]);
                let bare = !token.contains([':', '.', '#']);
                // Part of a longer name (`myweb::resource(`), or, for the bare forms, a method
                // or a path (`token.scope(`, `web::resource(`, found as such).
                if named && before.is_some_and(|b| ident(b) || bare && (b == b'.' || b == b':')) {
                    continue;
                }
                found.push((at, token, form));
            }
        }
        found.sort_by_key(|&(at, ..)| at);
        // `.route(web::…)` and `.default_service(…)` that belong to a resource.
        let mut in_resource = Vec::new();
        for &(at, token, form) in &found {
            if form != Form::Resource {
                continue;
            }
            let open = at + token.len() - 1;
            let Some(paths) = self.resource_paths(open) else {
                error(at, "`web::resource(…)` with paths other than string literals".into());
                continue;
            };
            let mut methods = Vec::new();
            let mut default_service = false;
            let mut next = self.after_close(open);
            loop {
                let at = self.skip_space(next);
                if self.code_at(at, ".route(") {
                    match self.method(at + ".route(".len()) {
                        Some(m) => methods.push(m),
                        None => error(at, "`.route(…)` of a resource without a plain method".into()),
                    }
                    in_resource.push(at);
                    next = self.after_close(at + ".route".len());
                } else if self.code_at(at, ".default_service(") {
                    default_service = true;
                    in_resource.push(at);
                    next = self.after_close(at + ".default_service".len());
                } else if self.code[at] == b'.' {
                    error(at, "a resource option this test does not know".into());
                    break;
                } else {
                    break;
                }
            }
            if default_service {
                // Every other method reaches the default service; walk it with one of them.
                let other = ["PATCH", "PUT", "DELETE", "GET"]
                    .into_iter()
                    .find(|m| !methods.iter().any(|x| x == m));
                methods.extend(other.map(str::to_string));
            }
            if methods.is_empty() {
                error(at, "a resource without routes".into());
            }
            for path in &paths {
                for m in &methods {
                    out.push(Route {
                        method: m.clone(),
                        pattern: path.clone(),
                        metric_pattern: paths[0].clone(),
                    });
                }
            }
        }
        for &(at, token, form) in &found {
            let open = at + token.len() - 1;
            match form {
                Form::Resource => {}
                Form::Configure => {
                    let arg = String::from_utf8_lossy(&self.code[open + 1..self.after_close(open) - 1]).into_owned();
                    // `|cfg| f(cfg, …)` or `f`: the configured function's name.
                    let call = match arg.trim().strip_prefix('|').and_then(|a| a.split_once('|')) {
                        Some((_, body)) => body.trim().split('(').next().unwrap_or(""),
                        None => arg.trim(),
                    };
                    let function = call.rsplit("::").next().unwrap_or("");
                    if !functions.iter().any(|f| f == function) {
                        error(
                            at,
                            format!("`.configure({})` of a function not defined in src/", arg.trim()),
                        );
                    }
                }
                Form::Route | Form::DefaultService if in_resource.contains(&at) => {}
                // The app's fallback for requests that no route matched.
                Form::DefaultService => {}
                Form::Service if self.code_at(self.skip_space(open + 1), "web::resource(") => {}
                Form::Service => error(at, "`.service(…)` of something other than `web::resource(…)`".into()),
                Form::Route => {
                    let parsed = self.literal(open + 1).and_then(|(path, end)| {
                        let end = self.skip_space(end);
                        (self.code[end] == b',' && path.starts_with('/'))
                            .then(|| self.method(end + 1))
                            .flatten()
                            .map(|method| Route {
                                method,
                                metric_pattern: path.clone(),
                                pattern: path,
                            })
                    });
                    match parsed {
                        Some(route) => out.push(route),
                        None => error(at, "`.route(…)` without a literal path and a plain method".into()),
                    }
                }
                Form::Unknown => error(
                    at,
                    format!("`{token}` registers routes in a way this test does not read"),
                ),
            }
        }
    }
}
