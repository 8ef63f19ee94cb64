//! Grouping config `newstyle:2023-01-11`, Sentry's default since 2023 (PROTOCOL.md §5.1), in
//! Tocsin's second implementation: the first (`newstyle_2023_01_11`, frozen) left out Sentry's
//! built-in stack-trace rules and several platforms' details that Sentry's own grouping
//! snapshots show (issue 16). Until this config is frozen in turn, it is the one to fix; events
//! also carry the first one's hashes, so issues made before keep receiving their events.
//!
//! Strategies in priority order; the first that contributes wins:
//! chained exception › single thread's stack trace › top-level stack trace › message.
//! Stack-based strategies have two variants: `app` (in-app frames only) and `system` (all
//! frames). A hash is the md5 of the contributing values concatenated, depth first.

mod builtin_fingerprints;
mod component;
mod exception_groups;
mod frames;
mod parameterize;
mod security;

use serde::Serialize;
use serde_json::Value;

pub use component::{Component, Part};

// Client fingerprints are the first implementation's, unchanged (copy the module here before
// changing it for this config).
use super::newstyle_2023_01_11::fingerprint;
// Which thread's stack trace counts is the first config's too.
use super::newstyle_2023_01_11::single_thread_stacktrace;
use crate::event::{Event, Exception, Stacktrace};
use crate::grouping::ProjectRules;
use crate::grouping::enhancer::{ExceptionFacts, Rule, RuleSet};

pub const CONFIG_ID: &str = "newstyle:2023-01-11@tocsin.2";

/// md5("") — the hash of an event where nothing contributes.
const FALLBACK_HASH: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// The two variants of a strategy: in-app frames only, and all frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Variants {
    pub app: Component,
    pub system: Component,
}

impl Variants {
    fn contributes(&self) -> bool {
        self.app.counts() || self.system.counts()
    }

    /// A strategy without an in-app variant (messages, security reports).
    fn single(system: Component) -> Variants {
        let mut app = system.clone();
        app.ignore("ignored because the system variant holds the same values");
        Variants { app, system }
    }
}

/// One way of grouping an event, as `grouping-info` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct VariantInfo {
    /// `app`, `system`, `custom-fingerprint`, `built-in-fingerprint`, `checksum`, `fallback`.
    pub key: &'static str,
    pub description: &'static str,
    /// Its hash, when it contributes.
    pub hash: Option<String>,
    pub contributes: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The values of a fingerprint, or the component tree of a strategy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<Component>,
}

impl VariantInfo {
    fn of(key: &'static str, description: &'static str, values: Vec<String>) -> VariantInfo {
        VariantInfo {
            key,
            description,
            hash: Some(super::md5_hex(values.iter().map(String::as_str))),
            contributes: true,
            hint: None,
            values: Some(values),
            component: None,
        }
    }
}

/// The config's built-in stack-trace rules followed by a project's own.
pub(super) fn with_builtin_rules(custom: Vec<Rule>) -> RuleSet {
    let mut all = frames::RULES.rules().to_vec();
    all.extend(custom);
    RuleSet::new(all)
}

/// The event's hashes, in look-up order (app first, system last), never empty.
pub fn hashes(event: &Event, rules: &ProjectRules) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(2);
    for v in variants_of(event, false, rules) {
        if let Some(hash) = v.hash.filter(|_| v.contributes)
            && !out.contains(&hash)
        {
            out.push(hash);
        }
    }
    if out.is_empty() {
        out.push(FALLBACK_HASH.to_string());
    }
    out
}

/// Every variant of the event with its hash and why it counts or not; the contributing ones,
/// in order, give [`hashes`].
pub fn variants(event: &Event, rules: &ProjectRules) -> Vec<VariantInfo> {
    variants_of(event, true, rules)
}

/// The variants, with their component trees when `trees` (ingest needs only the hashes).
fn variants_of(event: &Event, trees: bool, rules: &ProjectRules) -> Vec<VariantInfo> {
    if let Some(checksum) = event.checksum.as_deref().filter(|c| !c.is_empty()) {
        let is_hex32 = checksum.len() == 32 && checksum.bytes().all(|b| b.is_ascii_hexdigit());
        let mut v = VariantInfo::of("checksum", "legacy checksum", vec![checksum.to_string()]);
        if is_hex32 {
            v.hash = Some(checksum.to_ascii_lowercase());
        }
        return vec![v];
    }
    // A project's fingerprint rule wins over the client's fingerprint and the built-in rules,
    // which win over the stack trace and the client's fingerprint.
    let server = rules.fingerprints.as_ref().and_then(|f| f.matching(event));
    if server.is_none()
        && let Some(fingerprint) = builtin_fingerprints::matching(event)
    {
        return vec![VariantInfo::of(
            "built-in-fingerprint",
            "Sentry's built-in fingerprint rule",
            fingerprint,
        )];
    }
    let strategy = strategy_variants(event, rules.stack.as_deref().unwrap_or(&frames::RULES));
    let described = [
        ("app", "in-app frames", &strategy.app),
        ("system", "all frames", &strategy.system),
    ];
    let entries = match &server {
        Some(rule) => Some(rule.fingerprint.as_slice()),
        None => event.fingerprint.as_deref(),
    };
    let mut out: Vec<VariantInfo> = match fingerprint::classify(entries) {
        fingerprint::Kind::Custom(entries) => {
            let resolved = fingerprint::resolve(&entries, event);
            let mut v = VariantInfo::of(
                "custom-fingerprint",
                if server.is_some() {
                    "the project's fingerprint rule"
                } else {
                    "the client's fingerprint"
                },
                resolved,
            );
            v.hint = server
                .as_ref()
                .map(|rule| format!("matched fingerprint rule ({})", rule.text));
            vec![v]
        }
        kind => described
            .iter()
            .map(|(key, description, component)| {
                let contributes = component.counts();
                let (hash, hint) = match &kind {
                    fingerprint::Kind::Hybrid(entries) => {
                        let resolved = fingerprint::resolve(entries, event);
                        let values = fingerprint::expand_default(&resolved, &component.hash_values());
                        let whose = match &server {
                            Some(rule) => format!("the project's fingerprint rule ({})", rule.text),
                            None => "the client's fingerprint".to_string(),
                        };
                        (
                            super::md5_hex(values.iter().map(String::as_str)),
                            Some(format!("{whose} with {{{{ default }}}} as this variant")),
                        )
                    }
                    _ => (component.hash(), component.hint.clone()),
                };
                VariantInfo {
                    key,
                    description,
                    hash: contributes.then_some(hash),
                    contributes,
                    hint: if contributes { None } else { hint },
                    values: None,
                    component: trees.then(|| (*component).clone()),
                }
            })
            .collect(),
    };
    if !out.iter().any(|v| v.contributes) {
        out.push(VariantInfo::of("fallback", "nothing else contributed", Vec::new()));
    }
    out
}

/// The first strategy that contributes.
fn strategy_variants(event: &Event, rules: &RuleSet) -> Variants {
    let platform = event.platform.as_str();
    if let Some(exceptions) = event.exception.as_ref().filter(|e| !e.values.is_empty()) {
        let v = chained_exception(rules, &exceptions.values, platform);
        if v.contributes() {
            return v;
        }
    }
    if let Some(st) = single_thread_stacktrace(event) {
        let v = stacktrace_variants(rules, &st, platform, "threads");
        if v.contributes() {
            return v;
        }
    }
    if let Some(st) = &event.stacktrace {
        let v = stacktrace_variants(rules, st, platform, "stacktrace");
        if v.contributes() {
            return v;
        }
    }
    if let Some(component) = template_component(event) {
        return Variants::single(component);
    }
    if let Some(component) = security::component(event) {
        return Variants::single(component);
    }
    Variants::single(message_component(event))
}

/// Every exception of the chain, oldest first, each `[stacktrace, type, value]` (the 2023
/// config's "legacy" order); for exception groups, the exceptions Sentry picks.
///
/// When no in-app frame contributes but other frames do, the app variant (type and value only)
/// gives no hash: Sentry's `remove_non_stacktrace_variants` drops a variant without a
/// contributing stack trace when another variant has one. Otherwise every library crash
/// with the same message would share an issue whatever its stack.
fn chained_exception(rules: &RuleSet, values: &[Exception], platform: &str) -> Variants {
    let mut each: Vec<(Variants, StackContributes)> =
        values.iter().map(|e| single_exception(rules, e, platform)).collect();
    let kept = exception_groups::filter(values, &each);
    let id = if kept.len() == 1 {
        "exception-chain"
    } else {
        "chained-exception"
    };
    let (mut app, mut system) = (Component::new(id), Component::new(id));
    let (mut app_stack, mut system_stack) = (false, false);
    // An exception's components move into the chain at its last use (copied before that).
    let mut uses = vec![0usize; each.len()];
    for &i in &kept {
        uses[i] += 1;
    }
    for i in kept {
        let (one, stacks) = &mut each[i];
        uses[i] -= 1;
        if uses[i] == 0 {
            app.push(std::mem::replace(&mut one.app, Component::new(id)));
            system.push(std::mem::replace(&mut one.system, Component::new(id)));
        } else {
            app.push(one.app.clone());
            system.push(one.system.clone());
        }
        app_stack |= stacks.app;
        system_stack |= stacks.system;
    }
    if system_stack && !app_stack {
        app.ignore("ignored because this variant does not have a contributing stacktrace, but the system variant does");
    }
    Variants { app, system }
}

/// Whether each variant's stack trace contributes.
pub(super) struct StackContributes {
    app: bool,
    system: bool,
}

fn single_exception(rules: &RuleSet, exc: &Exception, platform: &str) -> (Variants, StackContributes) {
    let frames = exc.stacktrace.as_ref().map(|st| st.frames.as_slice()).unwrap_or(&[]);
    let synthetic = exc
        .mechanism
        .as_ref()
        .and_then(|m| m.get("synthetic"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let facts = ExceptionFacts {
        ty: exc.ty.as_deref(),
        value: exc.value.as_deref(),
        mechanism: exc
            .mechanism
            .as_ref()
            .and_then(|m| m.get("type"))
            .and_then(Value::as_str),
    };
    let (app_stack, system_stack) = frames::stacktrace_components(rules, frames, platform, &facts);
    let ns_error = ns_error(exc);
    let variant = |stack: Component| {
        // The value counts only when no frame does ("stacktrace takes precedence"), and not
        // when an NSError's domain and code do.
        let stack_contributes = stack.counts();
        let mut c = Component::new("exception");
        c.push(stack);
        if let Some(ty) = exc.ty.as_deref().filter(|t| !t.is_empty()) {
            let mut t = Component::leaf("type", ty.to_string());
            if synthetic {
                t.ignore("ignored because exception is synthetic");
            }
            c.push(t);
        }
        if !ns_error.is_empty() {
            let mut ns = Component::new("ns-error");
            for v in &ns_error {
                ns.values.push(Part::Value(v.clone()));
            }
            c.push(ns);
        }
        if let Some(raw) = exc.value.as_deref() {
            let normalized = parameterize::normalize(raw);
            if !normalized.is_empty() {
                let mut v = Component::leaf("value", normalized.clone());
                if normalized != raw {
                    v.hint = Some("stripped event-specific values".into());
                }
                if stack_contributes {
                    v.ignore("ignored because stacktrace takes precedence");
                } else if !ns_error.is_empty() {
                    v.ignore("ignored because ns-error info takes precedence");
                }
                c.push(v);
            }
        }
        (c, stack_contributes)
    };
    let (app, app_stack) = variant(app_stack);
    // An exception without a stack trace has an app variant only (Sentry gives it no system
    // component): in a chain, it counts in the app hash and not in the system hash.
    let (system, system_stack) = match exc.stacktrace {
        Some(_) => variant(system_stack),
        None => {
            let mut none = Component::new("exception");
            none.ignore("no stack trace: counts in the app variant only");
            (none, false)
        }
    };
    (
        Variants { app, system },
        StackContributes {
            app: app_stack,
            system: system_stack,
        },
    )
}

/// An NSError's domain and code (`mechanism.meta.ns_error`), which name the error better than
/// its description does.
fn ns_error(exc: &Exception) -> Vec<String> {
    let Some(ns) = exc
        .mechanism
        .as_ref()
        .and_then(|m| m.get("meta"))
        .and_then(|m| m.get("ns_error"))
    else {
        return Vec::new();
    };
    ["domain", "code"]
        .iter()
        .filter_map(|k| match ns.get(*k)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        })
        .collect()
}

fn stacktrace_variants(rules: &RuleSet, st: &Stacktrace, platform: &str, id: &'static str) -> Variants {
    let (app, system) = frames::stacktrace_components(rules, &st.frames, platform, &ExceptionFacts::default());
    let wrap = |stack: Component| {
        let mut c = Component::new(id);
        c.push(stack);
        c
    };
    Variants {
        app: wrap(app),
        system: wrap(system),
    }
}

/// A template error (Django's, Jinja's: the `template` interface): the template's file name and
/// the failing line.
fn template_component(event: &Event) -> Option<Component> {
    let template = event.other.get("template").filter(|t| t.is_object())?;
    let mut c = Component::new("template");
    if let Some(name) = template.get("filename").and_then(Value::as_str) {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        c.push(Component::leaf("filename", base.to_string()));
    }
    if let Some(line) = template.get("context_line").and_then(Value::as_str) {
        c.push(Component::leaf("context-line", line.to_string()));
    }
    Some(c)
}

/// The message strategy: the template wins over the formatted text (`User %s failed` groups
/// every user's failure together).
fn message_component(event: &Event) -> Component {
    let mut c = Component::new("message");
    let raw = event
        .logentry
        .as_ref()
        .and_then(|entry| entry.message.as_deref().or(entry.formatted.as_deref()));
    if let Some(raw) = raw {
        let normalized = parameterize::normalize(raw);
        if !normalized.is_empty() {
            let changed = normalized != raw;
            c.values.push(Part::Value(normalized));
            if changed {
                c.hint = Some("stripped event-specific values".into());
            }
        }
    }
    c
}
