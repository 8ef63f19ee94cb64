//! Applying stack-trace rules to a stack trace, in Sentry's two passes:
//! 1. rules that change frames (`+app`/`-app`, `category=`), rule after rule, each matching
//!    against what the rules before it left;
//! 2. rules that change what contributes to grouping (`+group`/`-group`), matched against the
//!    frames as the first pass left them.
//!
//! Within one rule every frame is matched first and the actions applied after, so a rule never
//! matches what it changed itself.

use crate::event::Frame;

use super::index::{FrameKeys, RuleSet};
use super::parse::{Action, FrameMatcher, Matcher, Pattern, Range, Rule, Test, family_bit};

/// What the rules made of one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameOutcome {
    /// The frame's in-app flag after the rules (the client's when no rule set it).
    pub in_app: Option<bool>,
    pub category: Option<String>,
    /// Whether it may contribute to grouping (a `-group` rule says no).
    pub contributes: bool,
    /// Why, when a rule decided: "ignored by stack trace rule (…)", "marked out of app by …".
    pub hint: Option<String>,
}

/// What the rules made of the stack trace as a whole: frame limits set by `max-frames=` and
/// `min-frames=` (the last matching rule's value wins), each with the rule that set it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackOutcome {
    pub frames: Vec<FrameOutcome>,
    pub max_frames: Option<(usize, String)>,
    pub min_frames: Option<(usize, String)>,
}

/// The exception a stack trace belongs to, for `type:`, `value:` and `mechanism:` matchers.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExceptionFacts<'a> {
    pub ty: Option<&'a str>,
    pub value: Option<&'a str>,
    pub mechanism: Option<&'a str>,
}

/// A frame as matchers read it: paths lowercased with `/` separators.
struct MatchFrame {
    family: &'static str,
    function: String,
    module: Option<String>,
    package: Option<String>,
    path: Option<String>,
    in_app: Option<bool>,
    category: Option<String>,
}

/// Sentry's behaviour families of platforms.
pub fn family(platform: &str) -> &'static str {
    match platform {
        "objc" | "cocoa" | "swift" | "native" | "c" => "native",
        "javascript" | "node" => "javascript",
        _ => "other",
    }
}

fn path_like(value: Option<&str>) -> Option<String> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| v.to_lowercase().replace('\\', "/"))
}

/// The function name rules match, as Sentry names it: a native one trimmed to the name unless
/// the client sent the raw symbol beside it.
fn function_name(frame: &Frame, platform: &str) -> String {
    let name = frame
        .function
        .as_deref()
        .or(frame.raw_function.as_deref())
        .filter(|f| !f.is_empty());
    match name {
        None => "<unknown>".to_string(),
        Some(f) if family(platform) == "native" && frame.raw_function.as_deref().is_none_or(str::is_empty) => {
            crate::grouping::native_names::trim(f, platform)
        }
        Some(f) => f.to_string(),
    }
}

fn match_frame(frame: &Frame, platform: &str) -> MatchFrame {
    let platform = frame.platform.as_deref().unwrap_or(platform);
    MatchFrame {
        family: family(platform),
        function: function_name(frame, platform),
        module: frame.module.clone().filter(|m| !m.is_empty()),
        package: path_like(frame.package.as_deref()),
        path: path_like(frame.abs_path.as_deref().or(frame.filename.as_deref())),
        in_app: frame.in_app,
        category: frame
            .other
            .get("data")
            .and_then(|d| d.get("category"))
            .and_then(|c| c.as_str())
            .map(str::to_string),
    }
}

fn test_frame(m: &FrameMatcher, frame: &MatchFrame, exception: &ExceptionFacts) -> bool {
    let glob_opt = |g: &Pattern, v: Option<&str>| v.is_some_and(|v| g.is_match(v));
    let path_glob = |g: &Pattern, v: Option<&str>| v.is_some_and(|v| g.is_path_match(v));
    let hit = match &m.test {
        Test::Family(families) => families.iter().any(|f| f == "all" || f == frame.family),
        Test::App(want) => frame.in_app.unwrap_or(false) == *want,
        Test::Path(g) => path_glob(g, frame.path.as_deref()),
        Test::Package(g) => path_glob(g, frame.package.as_deref()),
        Test::Function(g) => g.is_match(&frame.function),
        Test::Module(g) => glob_opt(g, frame.module.as_deref()),
        Test::Category(g) => glob_opt(g, frame.category.as_deref()),
        Test::ExceptionType(g) => g.is_match(exception.ty.unwrap_or("<unknown>")),
        Test::ExceptionValue(g) => g.is_match(exception.value.unwrap_or("<unknown>")),
        Test::Mechanism(g) => g.is_match(exception.mechanism.unwrap_or("<unknown>")),
    };
    hit != m.negated
}

fn matches(rule: &Rule, frames: &[MatchFrame], idx: usize, exception: &ExceptionFacts) -> bool {
    rule.matchers.iter().all(|m| match m {
        Matcher::Frame(f) => test_frame(f, &frames[idx], exception),
        Matcher::Caller(f) => idx > 0 && test_frame(f, &frames[idx - 1], exception),
        Matcher::Callee(f) => idx + 1 < frames.len() && test_frame(f, &frames[idx + 1], exception),
    })
}

/// The frames an action at `idx` changes.
fn range(range: Range, idx: usize, len: usize) -> std::ops::Range<usize> {
    match range {
        Range::This => idx..idx + 1,
        Range::Up => idx + 1..len,
        Range::Down => 0..idx,
    }
}

/// Applies `rules` to `frames` (oldest first) of a stack trace on `platform`.
pub fn apply(set: &RuleSet, frames: &[Frame], platform: &str, exception: &ExceptionFacts) -> StackOutcome {
    let mut state: Vec<MatchFrame> = frames.iter().map(|f| match_frame(f, platform)).collect();
    let candidates = set.candidates(state.iter().map(|f| FrameKeys {
        module: f.module.as_deref(),
        function: &f.function,
        path: f.path.as_deref(),
        package: f.package.as_deref(),
    }));
    let mut out: Vec<FrameOutcome> = state
        .iter()
        .map(|m| FrameOutcome {
            in_app: m.in_app,
            category: m.category.clone(),
            contributes: true,
            hint: None,
        })
        .collect();
    let len = state.len();
    let present = state.iter().fold(0u8, |acc, f| acc | family_bit(f.family));
    let mut any_category = state.iter().any(|f| f.category.is_some());
    // Pass 1: in-app and categories.
    for i in candidates.iter() {
        let rule = &set.rules[i];
        if !set.modifies[i] || rule.families & present == 0 || (rule.needs_category && !any_category) {
            continue;
        }
        let hits: Vec<usize> = (0..len).filter(|&i| matches(rule, &state, i, exception)).collect();
        for idx in hits {
            for action in &rule.actions {
                match action {
                    Action::App { set, range: r } => {
                        for j in range(*r, idx, len) {
                            if out[j].in_app != Some(*set) {
                                out[j].hint = Some(format!(
                                    "marked {} by stack trace rule ({})",
                                    if *set { "in-app" } else { "out of app" },
                                    rule.text
                                ));
                            }
                            state[j].in_app = Some(*set);
                            out[j].in_app = Some(*set);
                        }
                    }
                    Action::Category(c) => {
                        state[idx].category = Some(c.clone());
                        out[idx].category = Some(c.clone());
                        any_category = true;
                    }
                    Action::Group { .. } | Action::MaxFrames(_) | Action::MinFrames(_) => {}
                }
            }
        }
    }
    // Pass 2: contributions and frame limits, on the frames as pass 1 left them.
    let (mut max_frames, mut min_frames) = (None, None);
    for i in candidates.iter() {
        let rule = &set.rules[i];
        if !set.groups[i] || rule.families & present == 0 || (rule.needs_category && !any_category) {
            continue;
        }
        let hits: Vec<usize> = (0..len).filter(|&i| matches(rule, &state, i, exception)).collect();
        for idx in hits {
            for action in &rule.actions {
                match action {
                    Action::Group { set, range: r } => {
                        for j in range(*r, idx, len) {
                            if out[j].contributes != *set {
                                out[j].contributes = *set;
                                out[j].hint = Some(format!(
                                    "{} by stack trace rule ({})",
                                    if *set { "un-ignored" } else { "ignored" },
                                    rule.text
                                ));
                            }
                        }
                    }
                    Action::MaxFrames(n) => max_frames = Some((*n, rule.text.clone())),
                    Action::MinFrames(n) => min_frames = Some((*n, rule.text.clone())),
                    Action::App { .. } | Action::Category(_) => {}
                }
            }
        }
    }
    StackOutcome {
        frames: out,
        max_frames: max_frames.filter(|(n, _)| *n > 0),
        min_frames: min_frames.filter(|(n, _)| *n > 0),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn frames(list: serde_json::Value) -> Vec<Frame> {
        serde_json::from_value(list).unwrap()
    }

    #[test]
    fn in_app_and_group_follow_the_rules_with_ranges_and_contexts() {
        let rules = RuleSet::parse(
            "path:**/node_modules/** -app\n\
             module:io.sentry.* category=framework -group\n\
             category:framework -app\n\
             function:abort category=throw\n\
             category:throw ^-group\n\
             [ category:throw ] | function:raise category=internals\n\
             category:internals -group\n",
        )
        .unwrap();
        let f = frames(json!([
            {"function": "main", "abs_path": "/app/src/main.js", "in_app": true},
            {"function": "lib", "abs_path": "/app/node_modules/lib/index.js", "in_app": true},
            {"function": "capture", "module": "io.sentry.Hub"},
            {"function": "abort"},
            {"function": "raise"},
        ]));
        let out = apply(&rules, &f, "javascript", &ExceptionFacts::default()).frames;
        assert_eq!(out[0].in_app, Some(true));
        assert!(out[0].contributes);
        assert_eq!(out[1].in_app, Some(false), "node_modules is not in-app");
        assert!(out[1].hint.as_deref().unwrap().starts_with("marked out of app"));
        assert_eq!(out[2].category.as_deref(), Some("framework"));
        assert!(!out[2].contributes && out[2].in_app == Some(false));
        assert!(out[3].contributes, "abort itself groups");
        assert!(!out[4].contributes, "what abort called does not");
        assert_eq!(
            out[4].category.as_deref(),
            Some("internals"),
            "the caller context matched"
        );
    }

    #[test]
    fn a_negated_matcher_and_exception_matchers() {
        let rules = RuleSet::parse("!function:keep type:ValueError -group\n").unwrap();
        let f = frames(json!([{"function": "keep"}, {"function": "drop"}]));
        let exc = ExceptionFacts {
            ty: Some("ValueError"),
            ..Default::default()
        };
        let out = apply(&rules, &f, "python", &exc).frames;
        assert!(out[0].contributes && !out[1].contributes);
        let out = apply(&rules, &f, "python", &ExceptionFacts::default()).frames;
        assert!(out[1].contributes, "another exception type: the rule does not apply");
    }
}
