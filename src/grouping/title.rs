//! Titles, culprits and metadata: how an issue is named. Not part of any hash, so these may
//! improve without regrouping anything.

use crate::event::{Event, Exception, Frame};

/// Longest title we keep, in characters.
const MAX_TITLE: usize = 200;

/// `type` and `value` of the main exception, as Sentry's API shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub ty: Option<String>,
    pub value: Option<String>,
}

/// The main exception: the last of the chain (the one raised last), as Sentry shows it.
pub fn main_exception(event: &Event) -> Option<&Exception> {
    event.exception.as_ref().and_then(|e| e.values.last())
}

/// The frame a human looks at first: the newest in-app frame, else the newest frame.
pub fn crash_frame(frames: &[Frame]) -> Option<&Frame> {
    frames
        .iter()
        .rev()
        .find(|f| f.in_app == Some(true))
        .or_else(|| frames.last())
}

/// The frames of the main exception, else of the top-level stack trace.
pub fn main_frames(event: &Event) -> &[Frame] {
    main_exception(event)
        .and_then(|e| e.stacktrace.as_ref())
        .or(event.stacktrace.as_ref())
        .map(|st| st.frames.as_slice())
        .unwrap_or(&[])
}

pub fn metadata(event: &Event) -> Metadata {
    match main_exception(event) {
        Some(exc) => Metadata {
            ty: Some(exc.ty.clone().unwrap_or_else(|| "Error".into())),
            value: exc.value.clone(),
        },
        None => Metadata {
            ty: None,
            value: message_text(event).map(str::to_string),
        },
    }
}

/// `ZeroDivisionError: division by zero`; for messages the first line of the formatted text.
pub fn title(event: &Event) -> String {
    let title = match main_exception(event) {
        Some(exc) => {
            let ty = exc.ty.as_deref().filter(|t| !t.is_empty()).unwrap_or("Error");
            match exc.value.as_deref().map(first_line).filter(|v| !v.is_empty()) {
                Some(value) => format!("{ty}: {value}"),
                None => ty.to_string(),
            }
        }
        None => message_text(event)
            .map(first_line)
            .filter(|m| !m.is_empty())
            .unwrap_or("<unlabeled event>")
            .to_string(),
    };
    truncate(title, MAX_TITLE)
}

/// The `transaction` if the SDK sent one, else `module in function` of the crash frame.
pub fn culprit(event: &Event) -> Option<String> {
    if let Some(t) = event.transaction.as_deref().filter(|t| !t.is_empty()) {
        return Some(t.to_string());
    }
    if let Some(c) = event.culprit.as_deref().filter(|c| !c.is_empty()) {
        return Some(c.to_string());
    }
    let frame = crash_frame(main_frames(event))?;
    let place = frame
        .module
        .as_deref()
        .or(frame.filename.as_deref())
        .filter(|s| !s.is_empty());
    let function = frame.function.as_deref().filter(|s| !s.is_empty());
    match (place, function) {
        (Some(p), Some(f)) => Some(format!("{p} in {f}")),
        (Some(p), None) => Some(p.to_string()),
        (None, Some(f)) => Some(f.to_string()),
        (None, None) => None,
    }
}

/// The formatted message, else the template.
fn message_text(event: &Event) -> Option<&str> {
    let entry = event.logentry.as_ref()?;
    entry.formatted.as_deref().or(entry.message.as_deref())
}

fn first_line(s: &str) -> &str {
    s.trim().lines().next().unwrap_or("").trim()
}

fn truncate(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max - 3).collect();
    out.push_str("...");
    out
}

/// The newest in-app frames of the main exception (all frames when none is in-app), as
/// `module in function at line N`, newest first: what a notification shows.
pub fn top_frames(event: &Event, limit: usize) -> Vec<String> {
    let frames = main_frames(event);
    let any_in_app = frames.iter().any(|f| f.in_app == Some(true));
    frames
        .iter()
        .rev()
        .filter(|f| !any_in_app || f.in_app == Some(true))
        .take(limit)
        .map(|f| {
            let place = f.module.as_deref().or(f.filename.as_deref()).unwrap_or("?");
            let function = f.function.as_deref().unwrap_or("?");
            match f.lineno {
                Some(line) => format!("{place} in {function} at line {line}"),
                None => format!("{place} in {function}"),
            }
        })
        .collect()
}
