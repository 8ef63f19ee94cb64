//! Stack frames' contribution: module (else the lowercased basename of the filename), function,
//! and the whitespace-collapsed context line. Never line or column numbers, absolute paths or
//! variables, so the same bug on another line or in another checkout groups together. Code
//! loaded from a URL contributes no filename; a JS frame from one gets the module Sentry derives
//! from its URL. Generated ids in names (Java proxies, Rails views) are blanked out.

use std::sync::LazyLock;

use super::component::{Component, Part};
use crate::event::Frame;
use crate::grouping::enhancer::{self, ExceptionFacts, RuleSet};
// What this config does as the first one did is read from it (frozen, so it cannot move under
// this one); copy a piece here before changing it for this config.
use crate::grouping::newstyle_2023_01_11::frames::{
    MAX_CONTEXT_LINE, RUBY_ERB_SUFFIX, context_line_value, filename_value, is_js, java_module, js_frame_is_noise,
    js_short_function, origin, same_location,
};

/// The config's built-in stack-trace rules.
pub(super) static RULES: LazyLock<RuleSet> =
    LazyLock::new(|| RuleSet::parse(include_str!("stack_rules.txt")).expect("the built-in rules parse"));

/// A stack trace's components, oldest frame first: (app: in-app frames only, system: all
/// frames). The built-in rules decide first which frames are in-app (a missing `in_app` counts
/// as false) and which may not count at all.
pub fn stacktrace_components(
    rules: &RuleSet,
    frames: &[Frame],
    event_platform: &str,
    exception: &ExceptionFacts,
) -> (Component, Component) {
    let stack = enhancer::apply(rules, frames, event_platform, exception);
    let (mut app, mut system) = (Component::new("stacktrace"), Component::new("stacktrace"));
    let mut previous: Option<&Frame> = None;
    for (frame, outcome) in frames.iter().zip(&stack.frames) {
        // A frame identical to the one before is recursion: it counts once, whatever the depth.
        let recursion = previous.is_some_and(|p| same_location(p, frame));
        previous = Some(frame);
        let platform = frame.platform.as_deref().unwrap_or(event_platform);
        let mut component = frame_component(frame, platform);
        if let Some(hint) = &outcome.hint {
            component.hint = Some(hint.clone());
        }
        if recursion {
            component.ignore("ignored due to recursion");
        } else if !outcome.contributes {
            component.contributes = false;
        }
        let mut in_app = component.clone();
        if outcome.in_app != Some(true) && in_app.contributes {
            in_app.ignore("non app frame");
        }
        app.push(in_app);
        system.push(component);
    }
    for variant in [&mut app, &mut system] {
        limit_frames(variant, &stack);
    }
    (app, system)
}

/// A project's `max-frames=` and `min-frames=` rules, per variant, on the frames that still
/// contribute: beyond the N nearest the crash, frames stop counting; with fewer than the
/// minimum, the whole stack trace does.
fn limit_frames(stack: &mut Component, outcome: &enhancer::StackOutcome) {
    let frames = stack.values.iter_mut().filter_map(|p| match p {
        Part::Component(c) if c.contributes => Some(c),
        _ => None,
    });
    if let Some((max, rule)) = &outcome.max_frames {
        let frames: Vec<&mut Component> = frames.collect();
        let keep_from = frames.len().saturating_sub(*max);
        let noun = if *max == 1 { "frame is" } else { "frames are" };
        for frame in frames.into_iter().take(keep_from) {
            frame.ignore(format!(
                "ignored because only {max} {noun} considered (stack trace rule {rule})"
            ));
        }
    }
    if let Some((min, rule)) = &outcome.min_frames {
        let counting = stack
            .values
            .iter()
            .filter(|p| matches!(p, Part::Component(c) if c.counts()))
            .count();
        if counting < *min {
            let noun = if counting == 1 { "frame" } else { "frames" };
            stack.ignore(format!(
                "discarded because the stack trace only contains {counting} {noun}, under the threshold of stack trace rule {rule}"
            ));
        }
    }
}

/// A frame: `[module | filename, function, context-line]`, each only when it has a value.
fn frame_component(frame: &Frame, platform: &str) -> Component {
    let mut c = Component::new("frame");
    match module_value(frame, platform) {
        Some(module) => c.push(Component::leaf("module", module)),
        None => {
            if let Some(name) = filename_value(frame, platform) {
                c.push(Component::leaf("filename", name));
            }
        }
    }
    if is_js(platform)
        && sourcemapped_with_context(frame)
        && let Some(name) = frame.function.as_deref().filter(|f| !f.is_empty())
    {
        let mut function = Component::leaf("function", name.to_string());
        function.ignore("ignored because sourcemap used and context line available");
        c.push(function);
    } else if let Some(function) = function_value(frame, platform) {
        c.push(Component::leaf("function", function));
    }
    if let Some(line) = context_line_value(frame, platform) {
        c.push(Component::leaf("context-line", line));
    }
    if is_js(platform) && js_frame_is_noise(frame) {
        c.ignore("ignored because it is eval or native code");
    }
    c
}

fn module_value(frame: &Frame, platform: &str) -> Option<String> {
    // No module is made up from a script's URL: Sentry's grouping uses the module a frame
    // has (the first config derived one, as Sentry's JavaScript processing once did).
    let module = frame.module.as_deref().filter(|m| !m.is_empty())?.to_string();
    match platform {
        // Old browser SDKs sent the script path as the module.
        "javascript" if module.contains('/') && origin(frame).is_some_and(|p| p.ends_with(&module)) => None,
        "java" => java_module(&module),
        _ => Some(module),
    }
}

/// A frame a source map was applied to, with a usable context line: the line says more than
/// the function's name, which minifiers and bundlers change (Sentry ignores the name then). A
/// line too long to group on (minified code) leaves the name in.
fn sourcemapped_with_context(frame: &Frame) -> bool {
    frame.other.get("data").and_then(|d| d.get("sourcemap")).is_some()
        && frame
            .context_line
            .as_deref()
            .is_some_and(|l| !l.trim().is_empty() && l.chars().count() <= MAX_CONTEXT_LINE)
}

fn function_value(frame: &Frame, platform: &str) -> Option<String> {
    if is_js(platform) && sourcemapped_with_context(frame) {
        return None;
    }
    let raw = frame
        .function
        .as_deref()
        .or(frame.raw_function.as_deref())
        .map(str::trim)
        .filter(|f| !f.is_empty())?;
    let function = match platform {
        "javascript" | "node" => {
            // Browsers name anonymous functions differently (`?`, `<anonymous>`, Firefox's
            // `outer/<`); none of them names the code.
            let short = js_short_function(frame).unwrap_or(raw);
            if matches!(
                short,
                "" | "?" | "<anonymous>" | "<anonymous function>" | "Anonymous function"
            ) || short.ends_with("/<")
            {
                return None;
            }
            raw.rsplit('.').next().unwrap_or(raw)
        }
        "ruby" if raw.starts_with("block ") => "block",
        "ruby" => return Some(RUBY_ERB_SUFFIX.replace(raw, "").into_owned()),
        // An anonymous class's method is named by the method: the class name holds a file path
        // and an address. Closures (`Ns\Class::Ns\{closure}`) keep their name, as in Sentry.
        "php" if raw.starts_with("class@anonymous") => raw.rsplit("::").next().unwrap_or(raw),
        "java" if raw.starts_with("lambda$") => return None,
        _ if enhancer::family(platform) == "native" => {
            if matches!(raw, "<redacted>" | "<unknown>") {
                return None;
            }
            // The name symbolication already trimmed (a truncated `function` cannot be).
            if let Some(name) = frame
                .other
                .get("function_name")
                .and_then(|v| v.as_str())
                .filter(|n| !n.is_empty())
            {
                return Some(name.to_string());
            }
            // A client that sent the raw symbol trimmed the name itself; otherwise it is
            // trimmed here.
            if frame.raw_function.as_deref().is_some_and(|r| !r.is_empty()) {
                raw
            } else {
                return Some(crate::grouping::native_names::trim(raw, platform)).filter(|f| !f.is_empty());
            }
        }
        _ => raw,
    };
    (!function.is_empty()).then(|| function.to_string())
}

#[cfg(test)]
mod tests {
    use super::java_module;

    #[test]
    fn java_codegen_ids_are_replaced() {
        let cases = [
            (
                "com.acme.OrderService$$EnhancerBySpringCGLIB$$8f3c2a1d",
                "com.acme.OrderService$$EnhancerBySpringCGLIB$$<auto>",
            ),
            (
                "jdk.internal.reflect.GeneratedMethodAccessor214",
                "jdk.internal.reflect.GeneratedMethodAccessor",
            ),
            (
                "sun.reflect.GeneratedConstructorAccessor12",
                "sun.reflect.GeneratedConstructorAccessor<auto>",
            ),
            (
                "com.acme.api.EntriesResource_$$_javassist_seam_74",
                "com.acme.api.EntriesResource_$$_javassist<auto>",
            ),
            (
                "com.acme.api.OutboundController$$EnhancerByGuice$$ae46b1bf",
                "com.acme.api.OutboundController$$EnhancerByGuice$$<auto>",
            ),
            (
                "com.acme.model.User$HibernateProxy$oRWxjAWT",
                "com.acme.model.User$HibernateProxy$<auto>",
            ),
            ("myapp.core$fn__12345", "myapp.core$fn__<auto>"),
            ("com.acme.OrderService", "com.acme.OrderService"),
        ];
        for (module, cleaned) in cases {
            assert_eq!(java_module(module).as_deref(), Some(cleaned), "{module}");
        }
        assert_eq!(java_module("com.acme.Jobs$$Lambda$312/0x0000000800c4b440"), None);
    }
}
