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

use globset::GlobMatcher;

use super::enhancer::family;
use super::native_names;
use crate::event::{Event, Exception, Frame, Stacktrace, tags};

mod parse;

use parse::parse_rule;

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

#[cfg(test)]
mod tests;
