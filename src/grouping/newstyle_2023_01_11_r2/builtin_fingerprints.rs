//! Sentry's built-in fingerprint rules (`builtin_fingerprints.txt`): known errors whose stack
//! traces differ with every build or page, grouped by what they are instead (all chunk-load
//! failures of an app in one issue; hydration errors per transaction).

use std::sync::LazyLock;

use globset::{GlobBuilder, GlobMatcher};

use crate::event::Event;
use crate::grouping::enhancer::family;

struct Rule {
    matchers: Vec<(Key, GlobMatcher)>,
    fingerprint: Vec<String>,
}

#[derive(Clone, Copy)]
enum Key {
    Family,
    Type,
    Value,
    Message,
    Transaction,
}

static RULES: LazyLock<Vec<Rule>> =
    LazyLock::new(|| parse(include_str!("builtin_fingerprints.txt")).expect("the built-in fingerprints parse"));

fn parse(text: &str) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (left, right) = line.split_once("->").ok_or_else(|| format!("no `->`: {line}"))?;
        let mut matchers = Vec::new();
        let mut rest = left.trim();
        while !rest.is_empty() {
            let (key, after) = rest
                .split_once(':')
                .ok_or_else(|| format!("a matcher without `:`: {line}"))?;
            let (pattern, after) = match after.strip_prefix('"') {
                Some(quoted) => quoted
                    .split_once('"')
                    .ok_or_else(|| format!("an unclosed quote: {line}"))?,
                None => after.split_once(' ').unwrap_or((after, "")),
            };
            let key = match key.trim() {
                "family" => Key::Family,
                "error.type" | "type" => Key::Type,
                "error.value" | "value" => Key::Value,
                "message" => Key::Message,
                "tags.transaction" => Key::Transaction,
                other => return Err(format!("unknown matcher {other:?}: {line}")),
            };
            // Types and families compare exactly; values and messages ignore case.
            let insensitive = matches!(key, Key::Value | Key::Message);
            let glob = GlobBuilder::new(pattern)
                .case_insensitive(insensitive)
                .build()
                .map_err(|e| format!("{e}: {line}"))?
                .compile_matcher();
            matchers.push((key, glob));
            rest = after.trim();
        }
        let fingerprint = right.split(',').map(|v| v.trim().to_string()).collect();
        rules.push(Rule { matchers, fingerprint });
    }
    Ok(rules)
}

/// The fingerprint of the first built-in rule the event matches.
pub(super) fn matching(event: &Event) -> Option<Vec<String>> {
    let exceptions: Vec<_> = event.exception.iter().flat_map(|e| e.values.iter()).collect();
    let message = event
        .logentry
        .as_ref()
        .and_then(|l| l.formatted.as_deref().or(l.message.as_deref()));
    let rule = RULES.iter().find(|rule| {
        rule.matchers.iter().all(|(key, glob)| match key {
            Key::Family => glob.is_match(family(&event.platform)),
            Key::Type => exceptions
                .iter()
                .any(|e| e.ty.as_deref().is_some_and(|t| glob.is_match(t))),
            Key::Value => exceptions
                .iter()
                .any(|e| e.value.as_deref().is_some_and(|v| glob.is_match(v))),
            // The message, or any exception's value.
            Key::Message => {
                message.is_some_and(|m| glob.is_match(m))
                    || exceptions
                        .iter()
                        .any(|e| e.value.as_deref().is_some_and(|v| glob.is_match(v)))
            }
            Key::Transaction => event.transaction.as_deref().is_some_and(|t| glob.is_match(t)),
        })
    })?;
    Some(
        rule.fingerprint
            .iter()
            .map(|v| match v.as_str() {
                "{{tags.transaction}}" | "{{ tags.transaction }}" => event.transaction.clone().unwrap_or_default(),
                other => other.to_string(),
            })
            .collect(),
    )
}
