//! Stack frames' contribution: module (else the lowercased basename of the filename), function,
//! and the whitespace-collapsed context line. Never line or column numbers, absolute paths or
//! variables, so the same bug on another line or in another checkout groups together. Code
//! loaded from a URL contributes no filename; a JS frame from one gets the module Sentry derives
//! from its URL. Generated ids in names (Java proxies, Rails views) are blanked out.

use std::sync::LazyLock;

use regex::Regex;

use super::component::{Component, Part};
use crate::event::Frame;
use crate::grouping::enhancer::{self, ExceptionFacts, RuleSet};

/// The config's built-in stack-trace rules.
pub(super) static RULES: LazyLock<RuleSet> =
    LazyLock::new(|| RuleSet::parse(include_str!("stack_rules.txt")).expect("the built-in rules parse"));

/// Platforms whose context lines are stable enough to group on.
const CONTEXT_LINE_PLATFORMS: &[&str] = &["javascript", "node", "python", "php", "ruby"];
/// Longer lines are usually minified code or generated data: they would split groups.
const MAX_CONTEXT_LINE: usize = 120;

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

fn same_location(a: &Frame, b: &Frame) -> bool {
    a.abs_path == b.abs_path
        && a.package == b.package
        && a.module == b.module
        && a.filename == b.filename
        && a.function == b.function
        && a.lineno == b.lineno
        && a.colno == b.colno
}

fn is_js(platform: &str) -> bool {
    matches!(platform, "javascript" | "node")
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

/// Where the frame's code came from. Relay moves a browser frame's `filename` (the script URL)
/// into a missing `abs_path` before grouping; reading the filename as a fallback does the same.
fn origin(frame: &Frame) -> Option<&str> {
    frame.abs_path.as_deref().or(frame.filename.as_deref())
}

/// Sentry's `has_url_origin`. A `file:` path is a URL only where `allow_file` is false.
fn has_url_origin(path: Option<&str>, allow_file: bool) -> bool {
    let Some(path) = path else { return false };
    if ["http:", "https:", "applewebdata:", "blob:"]
        .iter()
        .any(|scheme| path.starts_with(scheme))
    {
        return true;
    }
    path.starts_with("file:") && !allow_file
}

/// The function name JS fuzzing looks at: the last `.` segment of the raw (else the) function.
fn js_short_function(frame: &Frame) -> Option<&str> {
    let raw = frame
        .raw_function
        .as_deref()
        .filter(|f| !f.is_empty())
        .or(frame.function.as_deref())?;
    raw.rsplit('.').next()
}

/// `eval` frames and native-code frames in JS say nothing about the bug.
fn js_frame_is_noise(frame: &Frame) -> bool {
    js_short_function(frame) == Some("eval")
        || matches!(
            origin(frame),
            Some("[native code]" | "native code" | "eval code" | "<anonymous>")
        )
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

/// javassist proxies, in class names and in file names (`EntriesResource_$$_javassist_seam_74`).
const JAVASSIST: &str = r"(\$\$_javassist)(?:_seam)?(?:_[0-9]+)?";
static JAVASSIST_FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(JAVASSIST).expect("the javassist pattern compiles"));

/// Java class names with code-generation markers whose ids change from one JVM run to the next:
/// Spring/CGLIB proxies, reflection accessors, javassist, Guice, Hibernate proxies, Clojure.
static JAVA_CODEGEN: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(sun\.reflect\.Generated(?:Serialization)?ConstructorAccessor)\d+",
        r"(\$\$[\w_]+?CGLIB\$\$)[a-fA-F0-9]+(_[0-9]+)?",
        JAVASSIST,
        r"(\$fn__)\d+",
        r"(\$\$?EnhancerBy[\w_]+?\$?\$)[a-fA-F0-9]+(_[0-9]+)?",
        r"(\$\$?FastClassBy[\w_]+?\$?\$)[a-fA-F0-9]+(_[0-9]+)?",
        r"(\$\$?HibernateProxy\$?\$)\w+(_[0-9]+)?",
    ]
    .iter()
    .map(|re| Regex::new(re).expect("the Java codegen patterns compile"))
    .collect()
});

fn java_module(module: &str) -> Option<String> {
    if module.contains("$$Lambda$") {
        return None;
    }
    for accessor in [
        "sun.reflect.GeneratedMethodAccessor",
        "jdk.internal.reflect.GeneratedMethodAccessor",
    ] {
        if module.starts_with(accessor) {
            return Some(accessor.to_string());
        }
    }
    let mut cleaned = module.to_string();
    for re in JAVA_CODEGEN.iter() {
        cleaned = re.replace_all(&cleaned, "${1}<auto>").into_owned();
    }
    Some(cleaned)
}

/// The basename, lowercased; for JS without the query string. Not for code loaded from a URL,
/// whose file names change with every deploy.
fn filename_value(frame: &Frame, platform: &str) -> Option<String> {
    let name = frame.filename.as_deref().filter(|f| !f.is_empty())?;
    if has_url_origin(origin(frame), true) {
        return None;
    }
    let name = if is_js(platform) {
        name.split(['?', '#']).next().unwrap_or(name)
    } else {
        name
    };
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name).to_lowercase();
    if base.is_empty() || matches!(base.as_str(), "<anonymous>" | "[native code]") {
        return None;
    }
    if platform == "java" {
        return Some(JAVASSIST_FILE.replace_all(&base, "${1}<auto>").into_owned());
    }
    Some(base)
}

/// A Rails view's compiled method name ends in ids that differ per process.
static RUBY_ERB_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"__\d{4,}_\d{4,}$").expect("the erb pattern compiles"));

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

fn context_line_value(frame: &Frame, platform: &str) -> Option<String> {
    if !CONTEXT_LINE_PLATFORMS.contains(&platform) {
        return None;
    }
    let line = frame.context_line.as_deref()?;
    if line.chars().count() > MAX_CONTEXT_LINE {
        return None;
    }
    // A script fetched from a URL, in a function without a name, is usually inline or generated.
    let unnamed = frame.function.as_deref().is_none_or(str::is_empty);
    if is_js(platform) && unnamed && has_url_origin(origin(frame), false) {
        return None;
    }
    let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
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
