//! Client fingerprints: `["{{ default }}"]` (the default), custom (no `{{ default }}`: the
//! entries alone decide), or hybrid (`{{ default }}` expands in place to the default grouping's
//! values, per variant).

use crate::event::Event;
use crate::grouping::title::{crash_frame, main_exception, main_frames};

pub enum Kind {
    Default,
    Custom(Vec<String>),
    Hybrid(Vec<String>),
}

pub fn classify(fingerprint: Option<&[String]>) -> Kind {
    let Some(entries) = fingerprint.filter(|f| !f.is_empty()) else {
        return Kind::Default;
    };
    let defaults = entries.iter().filter(|e| is_default(e)).count();
    if defaults == entries.len() {
        Kind::Default
    } else if defaults == 0 {
        Kind::Custom(entries.to_vec())
    } else {
        Kind::Hybrid(entries.to_vec())
    }
}

/// `{{ default }}` with any whitespace inside the braces.
fn is_default(entry: &str) -> bool {
    variable(entry) == Some("default")
}

/// The name inside `{{ … }}`, if `entry` is exactly one variable.
fn variable(entry: &str) -> Option<&str> {
    let inner = entry.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    (!inner.is_empty() && !inner.contains(char::is_whitespace)).then_some(inner)
}

/// Replaces the variables in each entry by their values for `event`. `{{ default }}` entries are
/// kept for [`expand_default`]; unknown variables stay literal, as in this config.
pub fn resolve(entries: &[String], event: &Event) -> Vec<String> {
    entries
        .iter()
        .map(|entry| match variable(entry) {
            Some("default") | None => entry.clone(),
            Some(name) => value_of(name, event).unwrap_or_else(|| entry.clone()),
        })
        .collect()
}

/// The entries with each `{{ default }}` replaced, in place, by the variant's values.
pub fn expand_default(resolved: &[String], variant_values: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(resolved.len() + variant_values.len());
    for entry in resolved {
        if is_default(entry) {
            out.extend(variant_values.iter().cloned());
        } else {
            out.push(entry.clone());
        }
    }
    out
}

fn value_of(name: &str, event: &Event) -> Option<String> {
    let exception = main_exception(event);
    let frame = crash_frame(main_frames(event));
    let or = |v: Option<&str>, placeholder: &str| Some(v.filter(|s| !s.is_empty()).unwrap_or(placeholder).to_string());
    match name {
        "transaction" => or(event.transaction.as_deref(), "<no-transaction>"),
        "message" => {
            let entry = event.logentry.as_ref();
            let text = entry
                .and_then(|e| e.formatted.as_deref().or(e.message.as_deref()))
                .or(exception.and_then(|e| e.value.as_deref()));
            or(text, "<no-message>")
        }
        "type" | "error.type" => or(exception.and_then(|e| e.ty.as_deref()), "<no-type>"),
        "value" | "error.value" => or(exception.and_then(|e| e.value.as_deref()), "<no-value>"),
        "function" => or(frame.and_then(|f| f.function.as_deref()), "<no-function>"),
        "module" => or(frame.and_then(|f| f.module.as_deref()), "<no-module>"),
        "package" => or(frame.and_then(|f| f.package.as_deref()), "<no-package>"),
        "path" | "stack.abs_path" => or(frame.and_then(|f| f.abs_path.as_deref()), "<no-abs-path>"),
        "stack.filename" => or(frame.and_then(|f| f.filename.as_deref()), "<no-filename>"),
        "level" => Some(event.level.as_str().to_string()),
        "logger" => or(event.logger.as_deref(), "<no-logger>"),
        _ => {
            let tag = name.strip_prefix("tags.")?;
            let value = event.tags.iter().find(|(k, _)| k == tag).map(|(_, v)| v.clone());
            Some(value.unwrap_or_else(|| format!("<no-value-for-tag-{tag}>")))
        }
    }
}
