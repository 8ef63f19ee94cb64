//! A project's fingerprint rules (Sentry's "server-side fingerprinting"), one rule a line:
//!
//! ```text
//! # every lost database connection is one issue, whatever the stack trace
//! error.type:OperationalError message:"*could not connect*" -> db-down title="Database down"
//! stack.module:"vendor.*" !app:yes -> {{ default }}, vendor
//! ```
//!
//! Matchers (`key:value`, `!` negates, values may be quoted) all have to match; the first rule
//! that matches gives the event its fingerprint, variables left for grouping to resolve.
//!
//! The semantics are Sentry's (`sentry/grouping/fingerprinting`: parser.py, matchers.py,
//! rules.py, utils.py). A rule's matchers are grouped by what they read — messages, exceptions,
//! frames, or the event itself — and each group needs ONE item that satisfies all of its
//! matchers: `function:a module:b` asks for a frame that is both, and `!function:a` for a frame
//! that is not `a`, not for the absence of `a` (a negated matcher holds where the positive one
//! does not, item by item). A group with no items (no exception, no frame) never matches.

use std::borrow::Cow;
use std::cell::OnceCell;

use globset::{GlobBuilder, GlobMatcher};

use super::enhancer::family;
use super::native_names;
use crate::event::{Event, Exception, Frame, Stacktrace, tags};

/// A project's fingerprint rules, in file order.
#[derive(Debug, Clone, Default)]
pub struct FingerprintRules {
    rules: Vec<Rule>,
}

/// The first rule matching an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerprintMatch {
    /// The rule's fingerprint, variables NOT yet resolved (e.g. ["{{ default }}", "db-down"] or ["{{ type }}", "x"]).
    pub fingerprint: Vec<String>,
    /// The rule's `title="..."` attribute, if any.
    pub title: Option<String>,
    /// The rule as written (normalised text), for hints: "matched fingerprint rule (type:\"X\" -> x)".
    pub text: String,
}

#[derive(Debug, Clone)]
struct Rule {
    matchers: Vec<Matcher>,
    result: FingerprintMatch,
}

#[derive(Debug, Clone)]
struct Matcher {
    negated: bool,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Message(GlobMatcher),
    Type(GlobMatcher),
    Value(GlobMatcher),
    Function(GlobMatcher),
    Module(GlobMatcher),
    Path(GlobMatcher),
    Package(GlobMatcher),
    App(bool),
    Logger(GlobMatcher),
    Level(GlobMatcher),
    Tag(String, GlobMatcher),
    Release(GlobMatcher),
    /// `family:` and `sdk:` take a comma-separated list (or `all`), compared exactly.
    Family(Vec<String>),
    Sdk(Vec<String>),
}

/// What a matcher reads; a rule's matchers reading the same source must hold for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The log message and every exception (`message:` reads both, as Sentry users expect).
    TopLevel,
    Exceptions,
    Frames,
    /// Facts the event has once: logger, level, tags, release, family, SDK.
    Event,
}

const SOURCES: [Source; 4] = [Source::TopLevel, Source::Exceptions, Source::Frames, Source::Event];

impl FingerprintRules {
    /// Parses rule text; an error names the line number and what is wrong (e.g. "line 3: unknown matcher \"foo\"").
    pub fn parse(text: &str) -> Result<FingerprintRules, String> {
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if let Some(rule) = parse_rule(line).map_err(|e| format!("line {}: {e}", n + 1))? {
                rules.push(rule);
            }
        }
        Ok(FingerprintRules { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// The first rule (in order) whose matchers all match the event.
    pub fn matching(&self, event: &Event) -> Option<FingerprintMatch> {
        if self.rules.is_empty() {
            return None;
        }
        // Sentry's frames: every exception's stack trace; failing those, the event's own;
        // failing that, the crashing thread's (the model keeps threads as JSON: parse it here).
        let has_frames = |s: &Option<Stacktrace>| s.as_ref().is_some_and(|s| !s.frames.is_empty());
        let thread;
        let stacks: Vec<&Stacktrace> = if exceptions(event).any(|e| has_frames(&e.stacktrace)) {
            exceptions(event).filter_map(|e| e.stacktrace.as_ref()).collect()
        } else if has_frames(&event.stacktrace) {
            event.stacktrace.iter().collect()
        } else {
            thread = crashing_thread(event);
            thread.iter().collect()
        };
        let frames: Vec<&Frame> = stacks.into_iter().flat_map(|s| &s.frames).collect();
        let facts = Facts::new(event, frames);
        let rule = self.rules.iter().find(|rule| rule.matches(&facts))?;
        Some(rule.result.clone())
    }
}

fn exceptions(event: &Event) -> impl Iterator<Item = &Exception> {
    event.exception.iter().flat_map(|e| &e.values)
}

/// The only thread, else the one crashed thread, else the one current thread.
fn crashing_thread(event: &Event) -> Option<Stacktrace> {
    let threads = &event.threads.as_ref()?.values;
    let single = |flag: &str| {
        let mut flagged = threads.iter().filter(|t| t.get(flag) == Some(&true.into()));
        flagged.next().filter(|_| flagged.next().is_none())
    };
    let thread = match threads.as_slice() {
        [only] => only,
        _ => single("crashed").or_else(|| single("current"))?,
    };
    serde_json::from_value(thread.get("stacktrace")?.clone()).ok()
}

impl Rule {
    fn matches(&self, facts: &Facts<'_>) -> bool {
        SOURCES.into_iter().all(|source| {
            let group: Vec<&Matcher> = self.matchers.iter().filter(|m| m.test.source() == source).collect();
            group.is_empty()
                || facts
                    .items(source)
                    .into_iter()
                    .any(|item| group.iter().all(|m| m.test.holds(&item, facts) != m.negated))
        })
    }
}

impl Test {
    fn source(&self) -> Source {
        match self {
            Test::Message(_) => Source::TopLevel,
            Test::Type(_) | Test::Value(_) => Source::Exceptions,
            Test::Function(_) | Test::Module(_) | Test::Path(_) | Test::Package(_) | Test::App(_) => Source::Frames,
            _ => Source::Event,
        }
    }

    /// Whether the positive matcher holds for `item`.
    fn holds(&self, item: &Item<'_>, facts: &Facts<'_>) -> bool {
        let event = facts.event;
        let some = |value: Option<&str>, g: &GlobMatcher| value.is_some_and(|v| g.is_match(v));
        let path = |value: &Option<String>, g| nonempty(value.as_deref()).is_some_and(|v| path_match(g, v));
        match (self, item) {
            (Test::Message(g), Item::Message(m)) => g.is_match(m),
            (Test::Message(g) | Test::Value(g), Item::Exception(e)) => some(nonempty(e.value.as_deref()), g),
            (Test::Type(g), Item::Exception(e)) => some(e.ty.as_deref(), g),
            (Test::Function(g), Item::Frame(_, name)) => g.is_match(name),
            (Test::Module(g), Item::Frame(f, _)) => some(f.module.as_deref(), g),
            // abs_path (else filename), and filename: either one may be what the rule names.
            (Test::Path(g), Item::Frame(f, _)) => path(&f.abs_path, g) || path(&f.filename, g),
            (Test::Package(g), Item::Frame(f, _)) => path(&f.package, g),
            // A frame the client did not mark is neither in-app nor out of it.
            (Test::App(app), Item::Frame(f, _)) => f.in_app == Some(*app),
            (Test::Logger(g), Item::Event) => some(nonempty(event.logger.as_deref()), g),
            (Test::Level(g), Item::Event) => g.is_match(event.level.as_str()),
            (Test::Tag(name, g), Item::Event) => some(facts.tag(name), g),
            (Test::Release(g), Item::Event) => path(&event.release, g),
            (Test::Family(list), Item::Event) => listed(list, family(&event.platform)),
            (Test::Sdk(list), Item::Event) => {
                let name = event.sdk.as_ref().and_then(|s| s.name.as_deref()).unwrap_or("");
                listed(list, name) || listed(list, &sdk_tag(name))
            }
            _ => false,
        }
    }
}

fn listed(list: &[String], value: &str) -> bool {
    list.iter().any(|v| v == "all" || v == value)
}

fn nonempty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// A path as Sentry matches one: `\` read as `/`, and a relative path also as if it began with
/// `/`, so `/src/*.js` finds `src/app.js`.
fn path_match(glob: &GlobMatcher, value: &str) -> bool {
    let value = value.replace('\\', "/");
    glob.is_match(&value) || (!value.starts_with('/') && glob.is_match(format!("/{value}")))
}

/// The SDK as Sentry's `sdk:` matcher names it: `sentry.python.django` is `sentry.python`; a
/// JavaScript SDK keeps its framework (`sentry.javascript.react`), a native one its target;
/// other SDKs are `other`. (Sentry also maps a few old names and unknown ones to `other`.)
fn sdk_tag(name: &str) -> String {
    let parts: Vec<&str> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    let keep = match parts.as_slice() {
        ["sentry", "javascript", ..] => parts.len(),
        ["sentry", "native", ..] => 3,
        ["sentry", _, ..] => 2,
        _ => return "other".to_string(),
    };
    parts[..keep.min(parts.len())].join(".")
}

/// The event as matchers read it, gathered once per event.
struct Facts<'a> {
    event: &'a Event,
    message: Option<&'a str>,
    frames: Vec<&'a Frame>,
    /// Each frame's function name, trimmed (costly for native names): only when a rule reads frames.
    functions: OnceCell<Vec<Cow<'a, str>>>,
    /// Built-in tags (level, transaction, …) and the client's: only when a rule reads a tag.
    tags: OnceCell<tags::Tags>,
}

enum Item<'a> {
    Message(&'a str),
    Exception(&'a Exception),
    /// A frame and its function's name.
    Frame(&'a Frame, &'a str),
    Event,
}

impl<'a> Facts<'a> {
    fn new(event: &'a Event, frames: Vec<&'a Frame>) -> Facts<'a> {
        let log = event.logentry.as_ref();
        Facts {
            event,
            message: nonempty(log.and_then(|l| l.formatted.as_deref().or(l.message.as_deref()))),
            frames,
            functions: OnceCell::new(),
            tags: OnceCell::new(),
        }
    }

    fn items(&self, source: Source) -> Vec<Item<'_>> {
        let exceptions = exceptions(self.event).map(Item::Exception);
        match source {
            Source::TopLevel => self.message.map(Item::Message).into_iter().chain(exceptions).collect(),
            Source::Exceptions => exceptions.collect(),
            Source::Frames => {
                let platform = |f: &'a Frame| f.platform.as_deref().unwrap_or(&self.event.platform);
                let names = self
                    .functions
                    .get_or_init(|| self.frames.iter().map(|f| function_name(f, platform(f))).collect());
                self.frames
                    .iter()
                    .zip(names)
                    .map(|(f, name)| Item::Frame(f, name))
                    .collect()
            }
            Source::Event => vec![Item::Event],
        }
    }

    fn tag(&self, name: &str) -> Option<&str> {
        let tags = self.tags.get_or_init(|| tags::extract(self.event));
        tags.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The function name as Sentry's matchers see it: a native one trimmed to its name, unless the
/// client sent the raw symbol beside it.
fn function_name<'a>(frame: &'a Frame, platform: &str) -> Cow<'a, str> {
    let raw = frame.raw_function.as_deref().is_some_and(|r| !r.is_empty());
    match frame.function.as_deref().filter(|f| !f.is_empty()) {
        None => Cow::Borrowed("<unknown>"),
        Some(f) if !raw && family(platform) == "native" => Cow::Owned(native_names::trim(f, platform)),
        Some(f) => Cow::Borrowed(f),
    }
}

/// A line's text still to read.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    /// Nothing but spaces or a `#` comment is left.
    fn at_end(&mut self) -> bool {
        self.rest = self.rest.trim_start();
        self.rest.is_empty() || self.rest.starts_with('#')
    }

    fn eat(&mut self, prefix: &str) -> bool {
        self.rest.strip_prefix(prefix).map(|rest| self.rest = rest).is_some()
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(|c| !keep(c)).unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    /// A `"…"` string at the cursor. `\"` and `\\` are escapes; any other backslash stays, for
    /// the glob (`\*` is a literal star).
    fn quoted(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let mut chars = self.rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &self.rest[i + 1..];
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\'))) => out.push(e),
                    Some((_, e)) => out.extend(['\\', e]),
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err("an unclosed quote".into())
    }

    /// A quoted string, or the characters up to one of `stop`.
    fn value(&mut self, stop: impl Fn(char) -> bool) -> Result<String, String> {
        match self.rest.starts_with('"') {
            true => self.quoted(),
            false => Ok(self.take_while(|c| !stop(c)).to_string()),
        }
    }
}

fn parse_rule(line: &str) -> Result<Option<Rule>, String> {
    let mut cur = Cursor { rest: line };
    if cur.at_end() {
        return Ok(None);
    }
    let (mut matchers, mut text) = (Vec::new(), Vec::new());
    let no_arrow = "no `->` between the matchers and the fingerprint";
    loop {
        if cur.at_end() {
            return Err(no_arrow.into());
        }
        if cur.eat("->") {
            break;
        }
        // Without an arrow ahead, a word that is no matcher is most likely the fingerprint.
        let arrow_ahead = cur.rest.contains("->");
        let (matcher, written) = parse_matcher(&mut cur).map_err(|e| if arrow_ahead { e } else { no_arrow.into() })?;
        matchers.push(matcher);
        text.push(written);
    }
    if matchers.is_empty() {
        return Err("no matcher before `->`".into());
    }
    let mut fingerprint = Vec::new();
    let mut title = None;
    while !cur.at_end() {
        if cur.rest.starts_with("{{") {
            let end = cur.rest.find("}}").ok_or("an unclosed `{{`")? + 2;
            let (var, rest) = cur.rest.split_at(end);
            cur.rest = rest;
            let name = variable(var).ok_or_else(|| format!("{var:?} is not a variable like {{{{ default }}}}"))?;
            fingerprint.push(format!("{{{{ {name} }}}}"));
        } else if cur.rest.starts_with(',') {
            return Err("a `,` without a value before it".into());
        } else {
            let value = cur.value(|c| c.is_whitespace() || c == ',' || c == '"')?;
            match value.strip_suffix('=') {
                // `key="…"` is an attribute; Sentry knows only `title`.
                Some(key) if cur.rest.starts_with('"') => match key {
                    "title" => title = Some(cur.quoted()?),
                    other => return Err(format!("unknown attribute {other:?} (only title=\"…\")")),
                },
                _ if value.starts_with("title=") => return Err("title needs a quoted value: title=\"…\"".into()),
                _ => fingerprint.push(match variable(&value) {
                    Some(name) => format!("{{{{ {name} }}}}"),
                    None => value,
                }),
            }
        }
        cur.at_end();
        cur.eat(",");
    }
    if fingerprint.is_empty() {
        return Err("an empty fingerprint after `->`".into());
    }
    // One canonical spelling (short keys, quoted patterns) that parses back to the same rule.
    text.push("->".into());
    text.extend(fingerprint.iter().map(|v| if bare(v) { v.clone() } else { quote(v) }));
    text.extend(title.as_deref().map(|t| format!("title={}", quote(t))));
    let result = FingerprintMatch {
        text: text.join(" "),
        fingerprint,
        title,
    };
    Ok(Some(Rule { matchers, result }))
}

/// A matcher, and its canonical text.
fn parse_matcher(cur: &mut Cursor<'_>) -> Result<(Matcher, String), String> {
    let negated = cur.eat("!");
    let key = cur.value(|c| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))?;
    if key.is_empty() || !cur.eat(":") {
        let found = cur.take_while(|c| !c.is_whitespace());
        return Err(format!(
            "expected a matcher `key:value`, found {:?}",
            format!("{key}{found}")
        ));
    }
    let pattern = cur.value(char::is_whitespace)?;
    if pattern.is_empty() {
        return Err(format!("matcher {key:?} has no value"));
    }
    let glob_as = |kind| glob(&pattern, kind);
    let list = || pattern.split(',').map(|v| v.trim().to_string()).collect();
    let (short, test) = match key.as_str() {
        "message" => ("message", Test::Message(glob_as(Kind::IgnoreCase)?)),
        "type" | "error.type" => ("type", Test::Type(glob_as(Kind::Exact)?)),
        "value" | "error.value" => ("value", Test::Value(glob_as(Kind::IgnoreCase)?)),
        "function" | "stack.function" => ("function", Test::Function(glob_as(Kind::Exact)?)),
        "module" | "stack.module" => ("module", Test::Module(glob_as(Kind::Exact)?)),
        "path" | "stack.abs_path" => ("path", Test::Path(glob_as(Kind::Path)?)),
        "package" | "stack.package" => ("package", Test::Package(glob_as(Kind::Path)?)),
        "app" => ("app", Test::App(yes_no(&pattern)?)),
        "logger" => ("logger", Test::Logger(glob_as(Kind::Exact)?)),
        "level" => ("level", Test::Level(glob_as(Kind::IgnoreCase)?)),
        "release" => ("release", Test::Release(glob_as(Kind::Path)?)),
        "family" => ("family", Test::Family(list())),
        "sdk" => ("sdk", Test::Sdk(list())),
        tag if tag.len() > 5 && tag.starts_with("tags.") => {
            (tag, Test::Tag(tag[5..].to_string(), glob_as(Kind::Exact)?))
        }
        other => return Err(format!("unknown matcher {other:?}")),
    };
    let text = format!("{}{short}:{}", if negated { "!" } else { "" }, quote(&pattern));
    Ok((Matcher { negated, test }, text))
}

fn yes_no(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" => Ok(true),
        "0" | "no" | "false" => Ok(false),
        _ => Err(format!("app:{value} (yes or no)")),
    }
}

/// How a pattern compares, per field as Sentry's matchers do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `*` matches anything, case counts.
    Exact,
    IgnoreCase,
    /// Case-insensitive, `\` read as `/`, `*` within one folder and `**` across.
    Path,
}

fn glob(pattern: &str, kind: Kind) -> Result<GlobMatcher, String> {
    let pattern = match kind {
        Kind::Path => pattern.replace('\\', "/"),
        _ => pattern.to_string(),
    };
    GlobBuilder::new(&pattern)
        .case_insensitive(kind != Kind::Exact)
        .literal_separator(kind == Kind::Path)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("bad pattern {pattern:?}: {e}"))
}

/// The name in `{{ name }}`, any spaces inside the braces.
fn variable(value: &str) -> Option<&str> {
    let name = value.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    (!name.is_empty() && !name.contains(char::is_whitespace)).then_some(name)
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A fingerprint value that reads back the same unquoted.
fn bare(value: &str) -> bool {
    variable(value).is_some()
        || !(value.is_empty() || value.contains(|c: char| c.is_whitespace() || "\",#{}=\\".contains(c)))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn rules(text: &str) -> FingerprintRules {
        FingerprintRules::parse(text).unwrap()
    }

    /// Asserts, for each line of `hits` and `misses` (a rule's matchers), whether it matches.
    fn check(raw: Value, hits: &'static str, misses: &'static str) {
        let event = crate::event::test_event(raw);
        let lines = |text: &'static str, expected| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(move |l| (l, expected))
        };
        for (matchers, expected) in lines(hits, true).chain(lines(misses, false)) {
            let found = rules(&format!("{matchers} -> x")).matching(&event).is_some();
            assert_eq!(found, expected, "{matchers}");
        }
    }

    fn python_error(frames: Value) -> Value {
        json!({"platform": "python", "exception": {"values": [
            {"type": "ConnectionError", "value": "Could not reach db-1", "stacktrace": {"frames": frames}},
            {"type": "OperationalError", "value": "  server closed the connection  "}
        ]}})
    }

    #[test]
    fn rules_read_quotes_comments_negation_variables_and_titles() {
        let r = rules(
            r#"# a comment

            error.type:"Bad \"quoted\" \\ type" -> {{ default }} "two words", x  # trailing
            !app:yes stack.function:"*" -> {{type}} "{{  message}}" title="DB is down"
            "#,
        );
        assert_eq!(r.len(), 2);
        let [first, second] = [&r.rules[0].result, &r.rules[1].result];
        assert_eq!(
            first.text,
            r#"type:"Bad \"quoted\" \\ type" -> {{ default }} "two words" x"#
        );
        assert_eq!(&rules(&first.text).rules[0].result.text, &first.text);
        assert_eq!(first.fingerprint, ["{{ default }}", "two words", "x"]);
        assert!(r.rules[1].matchers[0].negated && !r.rules[1].matchers[1].negated);
        assert_eq!(second.fingerprint, ["{{ type }}", "{{ message }}"]);
        assert_eq!(second.title.as_deref(), Some("DB is down"));
        assert!(rules("  # only comments\n").is_empty());
        assert_eq!(rules(r#"type:X -> "",x"#).rules[0].result.fingerprint, ["", "x"]);
    }

    #[test]
    fn a_bad_rule_is_an_error_naming_its_line_and_the_mistake() {
        let cases = [
            ("type:X x", "line 1: no `->`"),
            ("# ok\n\nfoo:bar -> x", "line 3: unknown matcher \"foo\""),
            ("type:X ->   # nothing", "line 1: an empty fingerprint"),
            ("type:X -> title=\"t\"", "line 1: an empty fingerprint"),
            ("-> x", "line 1: no matcher"),
            ("type:\"X -> x", "line 1: an unclosed quote"),
            ("app:maybe -> x", "line 1: app:maybe (yes or no)"),
            ("type:X -> x color=\"red\"", "line 1: unknown attribute \"color\""),
            ("type:X -> {{ a b }}", "is not a variable"),
            ("type:X -> title=t", "title needs a quoted value"),
            ("type X -> x", "expected a matcher `key:value`, found \"type\""),
            ("type:X -> a,,b", "line 1: a `,` without a value"),
        ];
        for (text, expected) in cases {
            let err = FingerprintRules::parse(text).unwrap_err();
            assert!(err.starts_with(expected) || err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn type_and_value_match_any_exception_of_the_chain_value_ignoring_case() {
        let hits = r#"type:OperationalError
                      value:"server closed*"
                      error.value:"COULD NOT*""#;
        // Both read exceptions, so one exception has to satisfy both.
        let misses = r#"type:operationalerror
                        type:OperationalError value:"could*""#;
        check(python_error(json!([])), hits, misses);
    }

    #[test]
    fn message_matches_the_log_message_or_any_exception_value_ignoring_case() {
        let log = json!({"logentry": {"message": "User %s failed", "params": ["bob"]}});
        check(log, r#"message:"user bob *""#, r#"message:"user %s *""#);
        check(python_error(json!([])), r#"message:"*CLOSED the*""#, "");
    }

    #[test]
    fn a_rules_frame_matchers_must_all_hold_for_one_frame() {
        let frames = json!([
            {"function": "connect", "module": "app.db", "in_app": true},
            {"function": "send", "module": "psycopg2.net"}
        ]);
        let hits = "function:connect module:app.*
                    function:connect app:yes
                    function:send !app:yes";
        // A frame without in_app is neither in the app nor out of it.
        let misses = "function:send module:app.*
                      stack.function:CONNECT
                      function:send app:no";
        check(python_error(frames), hits, misses);
    }

    #[test]
    fn paths_match_ignoring_case_with_double_stars_across_folders_and_backslashes_as_slashes() {
        let frames = json!([
            {"function": "connect", "abs_path": "/srv/App/db.py"},
            {"function": "send", "filename": "net\\socket.py", "package": "/usr/lib/libpq.so"}
        ]);
        let hits = "path:**/app/*.py
                    stack.abs_path:/net/*.py function:send
                    package:**/LIBPQ*";
        check(python_error(frames), hits, "path:/srv/*.py");
    }

    #[test]
    fn family_reads_the_event_platform() {
        let cocoa = json!({"platform": "cocoa", "exception": {"values": [{"type": "NSException"}]}});
        check(
            cocoa,
            "family:native type:NSException\nfamily:all",
            "family:javascript,other",
        );
    }

    #[test]
    fn tags_level_logger_release_and_sdk_match_what_the_event_says() {
        let raw = json!({
            "level": "warning", "logger": "db.pool", "release": "backend@2.1.0", "transaction": "/checkout",
            "tags": {"region": "eu-west"}, "sdk": {"name": "sentry.python.django", "version": "2.0"},
            "message": "pool exhausted"
        });
        let hits = "tags.region:eu-*
                    tags.transaction:/checkout
                    level:WARNING
                    logger:db.*
                    release:BACKEND@2.*
                    sdk:sentry.python
                    sdk:sentry.python.django";
        let misses = "tags.region:us-*
                      tags.missing:*
                      level:error
                      sdk:sentry.go";
        check(raw, hits, misses);
    }

    #[test]
    fn a_negated_matcher_holds_for_any_item_the_positive_one_misses() {
        // Sentry's reading: "some exception is not X", not "no exception is X". Without frames
        // there is nothing for a frame matcher to hold for, negated or not.
        let misses = "!type:*Error
                      !function:anything";
        check(
            python_error(json!([])),
            "!type:OperationalError\n!tags.missing:*",
            misses,
        );
    }

    #[test]
    fn the_first_matching_rule_wins_and_gives_its_title_and_text() {
        let r = rules("type:Nope -> a\ntype:ConnectionError -> {{ default }} b title=\"B\"\ntype:* -> c");
        let event = crate::event::test_event(python_error(json!([])));
        let expected = FingerprintMatch {
            fingerprint: vec!["{{ default }}".into(), "b".into()],
            title: Some("B".into()),
            text: r#"type:"ConnectionError" -> {{ default }} b title="B""#.into(),
        };
        assert_eq!(r.matching(&event), Some(expected));
        assert_eq!(FingerprintRules::default().matching(&event), None);
    }

    #[test]
    fn without_exception_frames_the_crashing_threads_frames_are_matched_with_native_names_trimmed() {
        let raw = json!({"platform": "native", "threads": {"values": [
            {"id": 1, "stacktrace": {"frames": [{"function": "idle"}]}},
            {"id": 2, "crashed": true, "stacktrace": {"frames": [{"function": "std::vector<int>::push_back(int)"}]}}
        ]}});
        check(raw, "function:std::vector<T>::push_back", "function:idle");
    }

    #[test]
    fn sentrys_builtin_hydration_rule_reads_and_matches_by_transaction() {
        let rule = r#"family:javascript tags.transaction:"*" message:"Hydration failed*" -> hydrationerror, {{tags.transaction}}"#;
        let raw = json!({"platform": "javascript", "transaction": "/cart",
            "exception": {"values": [{"type": "Error", "value": "Hydration failed because of x"}]}});
        let found = rules(rule).matching(&crate::event::test_event(raw)).unwrap();
        assert_eq!(found.fingerprint, ["hydrationerror", "{{ tags.transaction }}"]);
    }
}
