//! Grouping config `newstyle:2023-01-11`, Sentry's default since 2023 (PROTOCOL.md §5.1).
//! FROZEN: hashes stored under this id must stay reproducible. Fix a bug by adding a new config
//! module beside this one, not by editing this one.
//!
//! Strategies in priority order; the first that contributes wins:
//! chained exception › single thread's stack trace › top-level stack trace › message.
//! Stack-based strategies have two variants: `app` (in-app frames only) and `system` (all
//! frames). A hash is the md5 of the contributing values concatenated, depth first.

// Shared with the second implementation (`newstyle_2023_01_11_r2`), which groups fingerprints
// and messages the same way: a change here must keep this config's hashes.
pub(super) mod fingerprint;
pub(super) mod frames;
pub(super) mod parameterize;

use serde_json::Value;

use crate::event::{Event, Exception, Stacktrace};

pub const CONFIG_ID: &str = "newstyle:2023-01-11";

/// md5("") — the hash of an event where nothing contributes.
const FALLBACK_HASH: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// The contributing values of one variant; empty means "does not contribute".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Variants {
    pub app: Vec<String>,
    pub system: Vec<String>,
}

impl Variants {
    fn contributes(&self) -> bool {
        !self.app.is_empty() || !self.system.is_empty()
    }

    fn single(values: Vec<String>) -> Variants {
        Variants {
            app: Vec::new(),
            system: values,
        }
    }
}

/// The event's hashes, in look-up order (app first, system last), never empty.
pub fn hashes(event: &Event) -> Vec<String> {
    if let Some(checksum) = event.checksum.as_deref().filter(|c| !c.is_empty()) {
        let is_hex32 = checksum.len() == 32 && checksum.bytes().all(|b| b.is_ascii_hexdigit());
        return vec![if is_hex32 {
            checksum.to_ascii_lowercase()
        } else {
            super::md5_hex([checksum])
        }];
    }
    let variants = strategy_variants(event);
    let mut hashes = match fingerprint::classify(event.fingerprint.as_deref()) {
        fingerprint::Kind::Default => {
            variant_hashes(&variants, |values| super::md5_hex(values.iter().map(String::as_str)))
        }
        fingerprint::Kind::Custom(entries) => {
            let resolved = fingerprint::resolve(&entries, event);
            vec![super::md5_hex(resolved.iter().map(String::as_str))]
        }
        fingerprint::Kind::Hybrid(entries) => {
            let resolved = fingerprint::resolve(&entries, event);
            variant_hashes(&variants, |values| {
                let expanded = fingerprint::expand_default(&resolved, values);
                super::md5_hex(expanded.iter().map(String::as_str))
            })
        }
    };
    if hashes.is_empty() {
        hashes.push(FALLBACK_HASH.to_string());
    }
    hashes
}

/// One hash per contributing variant, app first, duplicates removed.
fn variant_hashes(variants: &Variants, hash: impl Fn(&[String]) -> String) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(2);
    for values in [&variants.app, &variants.system] {
        if values.is_empty() {
            continue;
        }
        let h = hash(values);
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

/// The values of the first strategy that contributes.
fn strategy_variants(event: &Event) -> Variants {
    let platform = event.platform.as_str();
    if let Some(exceptions) = event.exception.as_ref().filter(|e| !e.values.is_empty()) {
        let v = chained_exception(&exceptions.values, platform);
        if v.contributes() {
            return v;
        }
    }
    if let Some(st) = single_thread_stacktrace(event) {
        let v = stacktrace_variants(&st, platform);
        if v.contributes() {
            return v;
        }
    }
    if let Some(st) = &event.stacktrace {
        let v = stacktrace_variants(st, platform);
        if v.contributes() {
            return v;
        }
    }
    Variants::single(message_values(event))
}

/// Every exception of the chain, oldest first, each `[stacktrace, type, value]` (the 2023
/// config's "legacy" order).
///
/// When no in-app frame contributes but other frames do, the app variant (type and value only)
/// gives no hash: Sentry's `remove_non_stacktrace_variants` drops a variant without a
/// contributing stack trace when another variant has one ("ignored because this variant does not
/// have a contributing stacktrace, but the system variant does"). Otherwise every library crash
/// with the same message would share an issue whatever its stack.
fn chained_exception(values: &[Exception], platform: &str) -> Variants {
    let mut out = Variants::default();
    let (mut app_stack, mut system_stack) = (false, false);
    for exc in values {
        let (one, stacks) = single_exception(exc, platform);
        out.app.extend(one.app);
        out.system.extend(one.system);
        app_stack |= stacks.app;
        system_stack |= stacks.system;
    }
    if system_stack && !app_stack {
        out.app.clear();
    }
    out
}

/// Whether each variant's stack trace contributes.
struct StackContributes {
    app: bool,
    system: bool,
}

fn single_exception(exc: &Exception, platform: &str) -> (Variants, StackContributes) {
    let frames = exc.stacktrace.as_ref().map(|st| st.frames.as_slice()).unwrap_or(&[]);
    let synthetic = exc
        .mechanism
        .as_ref()
        .and_then(|m| m.get("synthetic"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ty = exc.ty.as_deref().filter(|t| !t.is_empty() && !synthetic);
    let value = exc
        .value
        .as_deref()
        .map(parameterize::normalize)
        .filter(|v| !v.is_empty());
    let variant = |in_app_only: bool| {
        let mut values = frames::stacktrace_values(frames, platform, in_app_only);
        // The value counts only when no frame does: "stacktrace takes precedence".
        let stack_contributes = !values.is_empty();
        values.extend(ty.map(str::to_string));
        if !stack_contributes {
            values.extend(value.clone());
        }
        (values, stack_contributes)
    };
    let (app, app_stack) = variant(true);
    let (system, system_stack) = variant(false);
    (
        Variants { app, system },
        StackContributes {
            app: app_stack,
            system: system_stack,
        },
    )
}

fn stacktrace_variants(st: &Stacktrace, platform: &str) -> Variants {
    Variants {
        app: frames::stacktrace_values(&st.frames, platform, true),
        system: frames::stacktrace_values(&st.frames, platform, false),
    }
}

/// A thread's stack trace when exactly one thread has one (or exactly one crashed thread, or
/// exactly one current thread does).
pub(super) fn single_thread_stacktrace(event: &Event) -> Option<Stacktrace> {
    let threads = event.threads.as_ref()?;
    let with_stack: Vec<&Value> = threads
        .values
        .iter()
        .filter(|t| t.get("stacktrace").is_some())
        .collect();
    let pick = |flag: &str| {
        let flagged: Vec<&&Value> = with_stack
            .iter()
            .filter(|t| t.get(flag).and_then(Value::as_bool) == Some(true))
            .collect();
        (flagged.len() == 1).then(|| *flagged[0])
    };
    let thread = match with_stack.len() {
        1 => with_stack[0],
        _ => pick("crashed").or_else(|| pick("current"))?,
    };
    serde_json::from_value(thread.get("stacktrace")?.clone()).ok()
}

/// The message strategy: the template wins over the formatted text (`User %s failed` groups
/// every user's failure together).
fn message_values(event: &Event) -> Vec<String> {
    let Some(entry) = &event.logentry else {
        return Vec::new();
    };
    entry
        .message
        .as_deref()
        .or(entry.formatted.as_deref())
        .map(parameterize::normalize)
        .filter(|m| !m.is_empty())
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests;
