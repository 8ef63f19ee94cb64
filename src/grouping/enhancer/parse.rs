//! Reading stack-trace rules in Sentry's syntax, one rule a line:
//!
//! ```text
//! # a comment
//! family:native function:std::*            -app
//! path:**/node_modules/**                  -app
//! module:io.sentry.*                        category=framework -group
//! [ category:driver ] | category:driver    category=internals
//! category:throw                            ^-group
//! ```
//!
//! Matchers (`key:value`, `!` negates, values may be quoted) all have to match a frame; an
//! optional `[ matcher ] |` before them matches the frame's caller, `| [ matcher ]` after them
//! its callee. Actions: `+app`/`-app`, `+group`/`-group` (with `^` for the frames it called,
//! `v` for its callers), and `category=…`.

use globset::{GlobBuilder, GlobMatcher};

/// A compiled pattern. Most of the built-in rules' patterns are a literal, a prefix or
/// `**/dir/**`: those are matched with string operations, the rest with the glob (grouping runs
/// every rule against every frame of every event, so this is on the hot path).
#[derive(Debug, Clone)]
pub enum Pattern {
    Exact(String),
    Prefix(String),
    /// `*text*` (`**text**` in paths): the value holds `text`.
    Contains(String),
    /// `**/dir/**`: `dir` is one of the path's folders.
    Within {
        inner: String,
        leading: String,
    },
    Glob(GlobMatcher),
}

impl Pattern {
    pub fn is_match(&self, value: &str) -> bool {
        match self {
            Pattern::Exact(p) => value == p,
            Pattern::Prefix(p) => value.starts_with(p.as_str()),
            Pattern::Contains(p) => value.contains(p.as_str()),
            Pattern::Within { inner, leading } => value.contains(inner.as_str()) || value.starts_with(leading.as_str()),
            Pattern::Glob(g) => g.is_match(value),
        }
    }

    /// A path matches as itself, or (a relative one) with a leading `/`, as Sentry tries both.
    pub fn is_path_match(&self, value: &str) -> bool {
        if self.is_match(value) {
            return true;
        }
        if value.starts_with('/') {
            return false;
        }
        match self {
            Pattern::Exact(p) => p.strip_prefix('/') == Some(value),
            Pattern::Prefix(p) => p.strip_prefix('/').is_some_and(|p| value.starts_with(p)),
            Pattern::Contains(p) => p.starts_with('/') && value.starts_with(&p[1..]),
            // `/` + value holds `/dir/` exactly when value does or starts with `dir/`.
            Pattern::Within { .. } => false,
            Pattern::Glob(g) => g.is_match(format!("/{value}")),
        }
    }
}

/// One matcher of a rule.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Applies to the frame itself.
    Frame(FrameMatcher),
    /// Applies to the frame before it (its caller).
    Caller(FrameMatcher),
    /// Applies to the frame after it (the one it called).
    Callee(FrameMatcher),
}

#[derive(Debug, Clone)]
pub struct FrameMatcher {
    pub negated: bool,
    pub test: Test,
    /// As written, for hints ("ignored by stack trace rule (category:throw ^-group)").
    pub text: String,
}

#[derive(Debug, Clone)]
pub enum Test {
    /// `family:native,javascript` (or `all`).
    Family(Vec<String>),
    /// `app:yes|no`.
    App(bool),
    /// `path:` (the frame's abs_path, else filename) and `package:`: paths, case-insensitive,
    /// `\` read as `/`, `*` within a segment, `**` across.
    Path(Pattern),
    Package(Pattern),
    /// `function:`, `module:`, `category:`: `*` matches anything.
    Function(Pattern),
    Module(Pattern),
    Category(Pattern),
    /// `type:`, `value:`, `mechanism:` of the exception the stack trace belongs to.
    ExceptionType(Pattern),
    ExceptionValue(Pattern),
    Mechanism(Pattern),
}

/// Which frames an action changes, relative to the matched one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    This,
    /// `^`: the frames it called (later in the list, up to the crash).
    Up,
    /// `v`: its callers (earlier in the list).
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    App {
        set: bool,
        range: Range,
    },
    Group {
        set: bool,
        range: Range,
    },
    Category(String),
    /// `max-frames=N`: only the N contributing frames nearest the crash count (0: no limit).
    MaxFrames(usize),
    /// `min-frames=N`: a stack trace with fewer contributing frames does not count (0: no minimum).
    MinFrames(usize),
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub matchers: Vec<Matcher>,
    pub actions: Vec<Action>,
    /// The rule as written (without comment), for hints.
    pub text: String,
    /// The frame families it can match ([`family_bit`]s): most built-in rules are for native
    /// frames only, and a stack trace without any is spared them at once.
    pub families: u8,
    /// It needs the frame to have a category (most frames have none until a rule gives one).
    pub needs_category: bool,
}

/// A family's bit in [`Rule::families`].
pub fn family_bit(family: &str) -> u8 {
    match family {
        "native" => 1,
        "javascript" => 2,
        _ => 4,
    }
}

/// Parses a rule file; a line that cannot be read is an error naming it.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let tokens = tokens(raw).map_err(|e| format!("line {}: {e}", n + 1))?;
        if tokens.is_empty() {
            continue;
        }
        let rule = rule(&tokens).map_err(|e| format!("line {}: {e}: {raw}", n + 1))?;
        rules.push(rule);
    }
    Ok(rules)
}

/// A line's tokens: words (a quoted part kept whole, quotes removed), `[`, `]` and `|`; a `#`
/// outside quotes starts a comment.
fn tokens(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    let flush = |current: &mut String, out: &mut Vec<String>| {
        if !current.is_empty() {
            out.push(std::mem::take(current));
        }
    };
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' => quoted = false,
                // `\\` and `\"` are escapes; any other backslash stays, for the glob (`\[`).
                '\\' => match chars.peek() {
                    Some(&next @ ('\\' | '"')) => {
                        current.push(next);
                        chars.next();
                    }
                    _ => current.push('\\'),
                },
                c => current.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '#' => break,
            '[' | ']' | '|' => {
                flush(&mut current, &mut out);
                out.push(c.to_string());
            }
            c if c.is_whitespace() => flush(&mut current, &mut out),
            c => current.push(c),
        }
    }
    if quoted {
        return Err("an unclosed quote".into());
    }
    flush(&mut current, &mut out);
    Ok(out)
}

fn rule(tokens: &[String]) -> Result<Rule, String> {
    let mut matchers = Vec::new();
    let mut actions = Vec::new();
    let mut i = 0;
    // `[ m ] |` first: the caller.
    if tokens.first().map(String::as_str) == Some("[") {
        let (m, next) = bracketed(tokens, 0)?;
        if tokens.get(next).map(String::as_str) != Some("|") {
            return Err("a caller matcher `[ … ]` must be followed by `|`".into());
        }
        matchers.push(Matcher::Caller(m));
        i = next + 1;
    }
    while i < tokens.len() {
        let t = tokens[i].as_str();
        if t == "|" {
            if tokens.get(i + 1).map(String::as_str) != Some("[") {
                return Err("`|` must be followed by a callee matcher `[ … ]`".into());
            }
            let (m, next) = bracketed(tokens, i + 1)?;
            matchers.push(Matcher::Callee(m));
            i = next;
            continue;
        }
        match action(t)? {
            Some(a) => actions.push(a),
            None if actions.is_empty() => matchers.push(Matcher::Frame(frame_matcher(t)?)),
            None => return Err(format!("matcher {t:?} after the actions")),
        }
        i += 1;
    }
    if matchers.is_empty() || actions.is_empty() {
        return Err("a rule needs matchers and actions".into());
    }
    let mut families = 0b111;
    let mut needs_category = false;
    for m in &matchers {
        match m {
            Matcher::Frame(FrameMatcher {
                negated: false,
                test: Test::Family(list),
                ..
            }) if !list.iter().any(|f| f == "all") => {
                families &= list.iter().map(|f| family_bit(f)).fold(0, |a, b| a | b);
            }
            Matcher::Frame(FrameMatcher {
                negated: false,
                test: Test::Category(_),
                ..
            }) => needs_category = true,
            _ => {}
        }
    }
    Ok(Rule {
        matchers,
        actions,
        text: tokens.join(" "),
        families,
        needs_category,
    })
}

/// `[ matcher ]` at `at`; returns it and the index after `]`.
fn bracketed(tokens: &[String], at: usize) -> Result<(FrameMatcher, usize), String> {
    let inner = tokens.get(at + 1).ok_or("an empty `[`")?;
    if tokens.get(at + 2).map(String::as_str) != Some("]") {
        return Err("`[ … ]` holds one matcher".into());
    }
    Ok((frame_matcher(inner)?, at + 3))
}

fn action(t: &str) -> Result<Option<Action>, String> {
    if let Some((var, value)) = t.split_once('=') {
        return match var {
            "category" => Ok(Some(Action::Category(value.to_string()))),
            "max-frames" | "min-frames" => {
                let n: usize = value
                    .parse()
                    .map_err(|_| format!("{var}={value}: a number of frames (0 for none)"))?;
                Ok(Some(if var == "max-frames" {
                    Action::MaxFrames(n)
                } else {
                    Action::MinFrames(n)
                }))
            }
            // Reverses the frames Sentry shows; it does not change grouping, and Tocsin shows
            // frames as sent.
            "invert-stacktrace" => Err(format!("{var} is not supported")),
            other => Err(format!("unknown variable {other:?}")),
        };
    }
    let (range, rest) = match t.as_bytes().first() {
        Some(b'^') => (Range::Up, &t[1..]),
        Some(b'v') if t.len() > 1 && matches!(t.as_bytes()[1], b'+' | b'-') => (Range::Down, &t[1..]),
        _ => (Range::This, t),
    };
    let (set, key) = match rest.as_bytes().first() {
        Some(b'+') => (true, &rest[1..]),
        Some(b'-') => (false, &rest[1..]),
        _ => return Ok(None),
    };
    match key {
        "app" => Ok(Some(Action::App { set, range })),
        "group" => Ok(Some(Action::Group { set, range })),
        other => Err(format!("unknown action {other:?}")),
    }
}

fn frame_matcher(t: &str) -> Result<FrameMatcher, String> {
    let (negated, body) = match t.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (key, value) = body
        .split_once(':')
        .ok_or_else(|| format!("{t:?} is neither a matcher nor an action"))?;
    let key = key
        .strip_prefix("stack.")
        .or_else(|| key.strip_prefix("error."))
        .unwrap_or(key);
    let test = match key {
        "family" => Test::Family(value.split(',').map(str::to_string).collect()),
        "app" => Test::App(match value {
            "yes" | "1" | "true" => true,
            "no" | "0" | "false" => false,
            other => return Err(format!("app:{other} (yes or no)")),
        }),
        "path" | "abs_path" | "filename" => Test::Path(glob(value, true)?),
        "package" => Test::Package(glob(value, true)?),
        "function" => Test::Function(glob(value, false)?),
        "module" => Test::Module(glob(value, false)?),
        "category" => Test::Category(glob(value, false)?),
        "type" => Test::ExceptionType(glob(value, false)?),
        "value" => Test::ExceptionValue(glob(value, false)?),
        "mechanism" => Test::Mechanism(glob(value, false)?),
        other => return Err(format!("unknown matcher {other:?}")),
    };
    Ok(FrameMatcher {
        negated,
        test,
        text: t.to_string(),
    })
}

/// A glob as Sentry's rules read it: paths case-insensitively, with `*` inside one segment and
/// `**` across; other fields with `*` matching anything.
fn glob(pattern: &str, path: bool) -> Result<Pattern, String> {
    let pattern = if path {
        pattern.to_lowercase().replace('\\', "/")
    } else {
        pattern.to_string()
    };
    let literal = |p: &str| !p.contains(['*', '?', '[', ']', '{', '}', '\\']);
    if literal(&pattern) {
        return Ok(Pattern::Exact(pattern));
    }
    // A single `*` at the end crosses `/` only outside paths; `/**` does in paths.
    let prefix = if path {
        pattern.strip_suffix("/**").map(|p| format!("{p}/"))
    } else {
        Some(pattern.trim_end_matches('*').to_string()).filter(|p| p.len() < pattern.len())
    };
    if let Some(prefix) = prefix.filter(|p| literal(p) && !p.is_empty()) {
        return Ok(Pattern::Prefix(prefix));
    }
    // `*text*` outside paths, `**text**` in them (a `**` crosses `/`).
    let stars = if path { "**" } else { "*" };
    if let Some(inner) = pattern.strip_prefix(stars).and_then(|p| p.strip_suffix(stars))
        && literal(inner)
        && !inner.is_empty()
        && !(path && inner.starts_with('/'))
    {
        return Ok(Pattern::Contains(inner.to_string()));
    }
    if path
        && let Some(dir) = pattern.strip_prefix("**/").and_then(|p| p.strip_suffix("/**"))
        && literal(dir)
        && !dir.is_empty()
    {
        return Ok(Pattern::Within {
            inner: format!("/{dir}/"),
            leading: format!("{dir}/"),
        });
    }
    compile(&pattern, path).map(Pattern::Glob)
}

fn compile(pattern: &str, path: bool) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pattern)
        .literal_separator(path)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("bad pattern {pattern:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_matchers_contexts_and_actions() {
        let rules = parse_rules(
            "# comment\n\
             family:native function:std::*  -app   # trailing\n\
             [ category:driver ] | category:driver category=internals\n\
             [ !category:system ] | category:system | [ !category:system ] category=indirection\n\
             category:throw ^-group\n\
             category:threadbase -group v-group\n\
             family:native function:\"?[[]KSCrash*\" -app -group\n",
        )
        .unwrap();
        assert_eq!(rules.len(), 6);
        assert_eq!(
            rules[0].actions,
            [Action::App {
                set: false,
                range: Range::This
            }]
        );
        assert!(matches!(rules[2].matchers[0], Matcher::Caller(ref m) if m.negated));
        assert!(matches!(rules[2].matchers[2], Matcher::Callee(_)));
        assert_eq!(
            rules[3].actions,
            [Action::Group {
                set: false,
                range: Range::Up
            }]
        );
        assert_eq!(
            rules[4].actions[1],
            Action::Group {
                set: false,
                range: Range::Down
            }
        );
        let Matcher::Frame(FrameMatcher {
            test: Test::Function(g),
            ..
        }) = &rules[5].matchers[1]
        else {
            panic!("a function matcher")
        };
        assert!(g.is_match("+[KSCrash install]") && !g.is_match("+[Other install]"));
    }

    #[test]
    fn path_globs_keep_single_stars_in_one_segment() {
        let g = glob("**/node_modules/**", true).unwrap();
        assert!(g.is_match("/app/node_modules/react/index.js"));
        let g = glob("/usr/lib/*", true).unwrap();
        assert!(g.is_match("/usr/lib/libc.so") && !g.is_match("/usr/lib/x/libc.so"));
        let g = glob("std::*", false).unwrap();
        assert!(g.is_match("std::panicking::begin_panic"));
    }

    #[test]
    fn fast_patterns_match_as_the_glob_does() {
        let cases: &[(&str, bool, &[&str])] = &[
            (
                "io.sentry.*",
                false,
                &["io.sentry.Hub", "io.sentryx", "org.io.sentry.A", "io.sentry."],
            ),
            ("@babel/**", false, &["@babel/core/x", "@babel", "x@babel/y"]),
            ("*CUDA*", false, &["cuCUDAInit", "cuda", "CUDA"]),
            (
                "**/node_modules/**",
                true,
                &["/a/node_modules/b.js", "node_modules/b.js", "/a/node_modulesx/b"],
            ),
            (
                "**https://unpkg.com/**",
                true,
                &["https://unpkg.com/react", "x https://unpkg.com/", "https://unpkg.co/"],
            ),
            ("/usr/lib/**", true, &["/usr/lib/libc.so", "/usr/lib/x/y", "/usr/libx"]),
            ("memcpy", false, &["memcpy", "memcpy2"]),
        ];
        for (pattern, path, values) in cases {
            let fast = glob(pattern, *path).unwrap();
            assert!(!matches!(fast, Pattern::Glob(_)), "{pattern} has a fast form");
            let slow = compile(
                &if *path {
                    pattern.to_lowercase()
                } else {
                    pattern.to_string()
                },
                *path,
            )
            .unwrap();
            for v in *values {
                assert_eq!(fast.is_match(v), slow.is_match(v), "{pattern} on {v}");
                if *path {
                    let retried = slow.is_match(v) || (!v.starts_with('/') && slow.is_match(format!("/{v}")));
                    assert_eq!(fast.is_path_match(v), retried, "{pattern} on {v} as a path");
                }
            }
        }
    }

    #[test]
    fn a_bad_line_is_an_error_that_names_it() {
        let err = parse_rules("function:x -app\nfunction:y +nonsense\n").unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
    }
}
