//! Stack frames' contribution: module (else the lowercased basename of the filename), function,
//! and the whitespace-collapsed context line. Never line or column numbers, absolute paths or
//! variables, so the same bug on another line or in another checkout groups together.

use crate::event::Frame;

/// Platforms whose context lines are stable enough to group on.
const CONTEXT_LINE_PLATFORMS: &[&str] = &["javascript", "node", "python", "php", "ruby"];
/// Longer lines are usually minified code or generated data: they would split groups.
const MAX_CONTEXT_LINE: usize = 120;

/// The contributing values of a stack trace, oldest frame first. With `in_app_only`, frames not
/// marked `in_app: true` are left out (a missing `in_app` counts as false).
pub fn stacktrace_values(frames: &[Frame], event_platform: &str, in_app_only: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut previous: Option<&Frame> = None;
    for frame in frames {
        // A frame identical to the one before is recursion: it counts once, whatever the depth.
        let recursion = previous.is_some_and(|p| same_location(p, frame));
        previous = Some(frame);
        if recursion || (in_app_only && frame.in_app != Some(true)) {
            continue;
        }
        let platform = frame.platform.as_deref().unwrap_or(event_platform);
        out.extend(frame_values(frame, platform));
    }
    out
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

/// `[module | filename, function, context-line]`, each only when it contributes.
fn frame_values(frame: &Frame, platform: &str) -> Vec<String> {
    if is_js(platform) && js_frame_is_noise(frame) {
        return Vec::new();
    }
    let mut values = Vec::with_capacity(3);
    match frame.module.as_deref().filter(|m| !m.is_empty()) {
        Some(module) => values.push(module.to_string()),
        None => values.extend(filename_value(frame, platform)),
    }
    values.extend(function_value(frame, platform));
    values.extend(context_line_value(frame, platform));
    values
}

/// `eval` frames and native-code frames in JS say nothing about the bug.
fn js_frame_is_noise(frame: &Frame) -> bool {
    frame.function.as_deref() == Some("eval")
        || matches!(
            frame.abs_path.as_deref(),
            Some("[native code]" | "eval code" | "<anonymous>")
        )
}

/// The basename, lowercased; for JS without the query string.
fn filename_value(frame: &Frame, platform: &str) -> Option<String> {
    let name = frame.filename.as_deref().filter(|f| !f.is_empty())?;
    if matches!(name, "<anonymous>" | "[native code]") {
        return None;
    }
    let name = if is_js(platform) {
        name.split(['?', '#']).next().unwrap_or(name)
    } else {
        name
    };
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    (!base.is_empty()).then(|| base.to_lowercase())
}

fn function_value(frame: &Frame, platform: &str) -> Option<String> {
    let raw = frame
        .function
        .as_deref()
        .or(frame.raw_function.as_deref())
        .map(str::trim)
        .filter(|f| !f.is_empty())?;
    let function = match platform {
        "javascript" | "node" => {
            if matches!(raw, "?" | "<anonymous>" | "Anonymous function") {
                return None;
            }
            raw.rsplit('.').next().unwrap_or(raw)
        }
        "ruby" if raw.starts_with("block ") => "block",
        "php" if raw == "{closure}" || raw.contains("{closure}") => return None,
        "java" if raw.starts_with("lambda$") => return None,
        "native" | "cocoa" | "c" if matches!(raw, "<redacted>" | "<unknown>") => return None,
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
    let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
}
