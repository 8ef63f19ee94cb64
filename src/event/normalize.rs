//! Normalisation: any accepted event JSON → the canonical [`Event`]. A cheap subset of Relay's
//! (PROTOCOL.md §4.5): legacy aliases, list wrappers, ids, timestamps, levels, tags, user IP.

use serde_json::{Map, Value};

use super::coerce::{self, Errors, Kind};
use super::{Event, EventId, Level, timestamp};

/// Relay clamps event timestamps to [received − 30 days, received + 60 s].
const MAX_SECS_IN_PAST: f64 = 30.0 * 24.0 * 3600.0;
const MAX_SECS_IN_FUTURE: f64 = 60.0;

/// raven 6.x and older clients send the long interface names.
const LEGACY_ALIASES: &[(&str, &str)] = &[
    ("sentry.interfaces.Exception", "exception"),
    ("sentry.interfaces.Message", "logentry"),
    ("sentry.interfaces.Stacktrace", "stacktrace"),
    ("sentry.interfaces.Template", "template"),
    ("sentry.interfaces.Http", "request"),
    ("sentry.interfaces.User", "user"),
    ("sentry.interfaces.Breadcrumbs", "breadcrumbs"),
    ("sentry.interfaces.Contexts", "contexts"),
    ("sentry.interfaces.Csp", "csp"),
    ("sentry.interfaces.Hpkp", "hpkp"),
    ("sentry.interfaces.ExpectCT", "expectct"),
    ("sentry.interfaces.ExpectStaple", "expectstaple"),
];

const TOP_LEVEL_STRINGS: &[(&str, Kind)] = &[
    ("logger", Kind::Str),
    ("transaction", Kind::Str),
    ("server_name", Kind::Str),
    ("release", Kind::Str),
    ("dist", Kind::Str),
    ("environment", Kind::Str),
    ("culprit", Kind::Str),
    ("checksum", Kind::Str),
    ("platform", Kind::Str),
    ("type", Kind::Str),
    ("user", Kind::Object),
    ("request", Kind::Object),
    ("sdk", Kind::Object),
    ("contexts", Kind::Object),
    ("extra", Kind::Object),
    ("modules", Kind::Object),
];

const FRAME_FIELDS: &[(&str, Kind)] = &[
    ("filename", Kind::Str),
    ("abs_path", Kind::Str),
    ("module", Kind::Str),
    ("function", Kind::Str),
    ("raw_function", Kind::Str),
    ("package", Kind::Str),
    ("platform", Kind::Str),
    ("context_line", Kind::Str),
    ("lineno", Kind::Int),
    ("colno", Kind::Int),
    ("in_app", Kind::Bool),
];

const EXCEPTION_FIELDS: &[(&str, Kind)] = &[
    ("type", Kind::Str),
    ("value", Kind::Str),
    ("module", Kind::Str),
    ("mechanism", Kind::Object),
    ("stacktrace", Kind::Object),
];

/// Facts about the request that normalisation needs.
pub struct NormalizeInput<'a> {
    /// The envelope header's `event_id`, which wins over the payload's.
    pub envelope_event_id: Option<EventId>,
    /// The peer address, for `user.ip_address = "{{auto}}"`.
    pub client_ip: Option<&'a str>,
    /// Receive time, epoch seconds.
    pub received: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum NormalizeError {
    #[error("event payload must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    #[error("invalid event: {0}")]
    Invalid(String),
}

/// Normalises one event.
pub fn normalize(raw: Value, input: &NormalizeInput<'_>) -> Result<Event, NormalizeError> {
    let Value::Object(mut obj) = raw else {
        return Err(NormalizeError::NotAnObject(json_kind(&raw)));
    };
    let mut errors = Errors::default();
    let client_errors = take_client_errors(&mut obj, &mut errors);

    apply_legacy_aliases(&mut obj);
    message_to_logentry(&mut obj, &mut errors);
    coerce::fields(&mut obj, TOP_LEVEL_STRINGS, "", &mut errors);
    trim_empty(
        &mut obj,
        &["release", "environment", "dist", "transaction", "server_name", "logger"],
    );

    let event_id = input
        .envelope_event_id
        .or_else(|| obj.get("event_id").and_then(Value::as_str).and_then(EventId::parse))
        .unwrap_or_else(EventId::new_random);
    obj.insert("event_id".into(), Value::String(event_id.to_string()));

    let ts = clamp_timestamp(obj.remove("timestamp"), input.received, &mut errors);
    obj.insert("timestamp".into(), Value::from(ts));
    obj.insert("received".into(), Value::from(input.received));

    let level = match obj.remove("level") {
        None | Some(Value::Null) => Level::Error,
        Some(raw) => Level::parse(&raw).unwrap_or_else(|| {
            errors.invalid("level", raw);
            Level::Error
        }),
    };
    obj.insert("level".into(), Value::String(level.as_str().into()));
    obj.entry("platform").or_insert_with(|| Value::String("other".into()));

    normalize_exceptions(&mut obj, &mut errors);
    normalize_list("threads", &mut obj, &mut errors, normalize_thread);
    normalize_list("breadcrumbs", &mut obj, &mut errors, |_, _, _| true);
    if let Some(Value::Object(st)) = obj.get_mut("stacktrace") {
        normalize_stacktrace(st, "stacktrace", &mut errors);
    } else if let Some(bad) = obj.remove("stacktrace") {
        errors.invalid("stacktrace", bad);
    }
    normalize_tags(&mut obj, &mut errors);
    normalize_user(&mut obj, input.client_ip, &mut errors);
    normalize_sub_fields(
        &mut obj,
        "request",
        &[("url", Kind::Str), ("method", Kind::Str)],
        &mut errors,
    );
    normalize_sub_fields(
        &mut obj,
        "sdk",
        &[("name", Kind::Str), ("version", Kind::Str)],
        &mut errors,
    );
    normalize_fingerprint(&mut obj, &mut errors);

    let ty = if obj.contains_key("exception") {
        "error"
    } else {
        "default"
    };
    obj.entry("type").or_insert_with(|| Value::String(ty.into()));

    let mut all_errors = client_errors;
    all_errors.extend(errors.0);
    if !all_errors.is_empty() {
        obj.insert("errors".into(), Value::Array(all_errors));
    }
    super::convert::event(obj).map_err(NormalizeError::Invalid)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Keeps an `errors` array the client sent (Relay-processed events carry one).
fn take_client_errors(obj: &mut Map<String, Value>, errors: &mut Errors) -> Vec<Value> {
    match obj.remove("errors") {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) => Vec::new(),
        Some(bad) => {
            errors.invalid("errors", bad);
            Vec::new()
        }
    }
}

fn apply_legacy_aliases(obj: &mut Map<String, Value>) {
    for &(legacy, modern) in LEGACY_ALIASES {
        // When both are present the modern key wins and the legacy one stays, unchanged, with
        // the other unknown fields: nothing the client sent is dropped.
        if !obj.contains_key(modern)
            && let Some(v) = obj.remove(legacy)
        {
            obj.insert(modern.to_string(), v);
        }
    }
}

/// A top-level `message` is an alias of `logentry`: a string becomes `logentry.formatted`.
fn message_to_logentry(obj: &mut Map<String, Value>, errors: &mut Errors) {
    if !obj.contains_key("logentry") {
        match obj.remove("message") {
            Some(Value::String(s)) => {
                obj.insert("logentry".into(), serde_json::json!({ "formatted": s }));
            }
            Some(v @ Value::Object(_)) => {
                obj.insert("logentry".into(), v);
            }
            Some(Value::Null) | None => {}
            Some(other) => {
                obj.insert("message".into(), other);
            }
        }
    }
    match obj.get_mut("logentry") {
        Some(Value::String(s)) => {
            let s = std::mem::take(s);
            obj.insert("logentry".into(), serde_json::json!({ "formatted": s }));
        }
        Some(Value::Object(entry)) => {
            coerce::fields(
                entry,
                &[("message", Kind::Str), ("formatted", Kind::Str)],
                "logentry",
                errors,
            );
            if entry.is_empty() {
                obj.remove("logentry");
            } else if !entry.contains_key("formatted")
                && let Some(Value::String(template)) = entry.get("message")
            {
                // raven sends the template and its params with `formatted: null`; titles
                // read the formatted text, so build it as Relay does.
                let formatted = format_params(template, entry.get("params"));
                entry.insert("formatted".into(), Value::String(formatted));
            }
        }
        Some(_) => {
            let bad = obj.remove("logentry").unwrap_or_default();
            errors.invalid("logentry", bad);
        }
        None => {}
    }
}

/// Python `%`-style interpolation of a log template: `%s`, `%r`, `%d`, `%i` and `%f` take the
/// next parameter, `%%` is a percent sign. Missing parameters leave the placeholder.
fn format_params(template: &str, params: Option<&Value>) -> String {
    let params: &[Value] = match params {
        Some(Value::Array(list)) => list,
        _ => &[],
    };
    let mut next = params.iter();
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('%') => {
                chars.next();
                out.push('%');
            }
            Some(spec @ ('s' | 'r' | 'd' | 'i' | 'f')) => {
                chars.next();
                match next.next() {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(other) => out.push_str(&other.to_string()),
                    None => {
                        out.push('%');
                        out.push(spec);
                    }
                }
            }
            _ => out.push('%'),
        }
    }
    out
}

fn trim_empty(obj: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(Value::String(s)) = obj.get_mut(*key) {
            let trimmed = s.trim();
            if trimmed.is_empty() {
                obj.remove(*key);
            } else if trimmed.len() != s.len() {
                *s = trimmed.to_string();
            }
        }
    }
}

fn clamp_timestamp(raw: Option<Value>, received: f64, errors: &mut Errors) -> f64 {
    let Some(raw) = raw.filter(|v| !v.is_null()) else {
        return received;
    };
    match timestamp::parse(&raw) {
        Some(ts) if ts < received - MAX_SECS_IN_PAST => {
            errors.push("past_timestamp", "timestamp", raw);
            received
        }
        Some(ts) if ts > received + MAX_SECS_IN_FUTURE => {
            errors.push("future_timestamp", "timestamp", raw);
            received
        }
        Some(ts) => ts,
        None => {
            errors.invalid("timestamp", raw);
            received
        }
    }
}

/// Wraps `key` in `{"values": [...]}` and runs `item` on each element; elements `item` rejects
/// are dropped and recorded.
fn normalize_list(
    key: &str,
    obj: &mut Map<String, Value>,
    errors: &mut Errors,
    item: impl Fn(&mut Value, &str, &mut Errors) -> bool,
) {
    let Some(value) = obj.get_mut(key) else {
        return;
    };
    if value.is_null() {
        obj.remove(key);
        return;
    }
    if !coerce::values_wrapper(value) {
        let bad = obj.remove(key).unwrap_or_default();
        errors.invalid(key, bad);
        return;
    }
    if let Some(Value::Array(values)) = value.get_mut("values") {
        let mut kept = Vec::with_capacity(values.len());
        for (i, mut v) in std::mem::take(values).into_iter().enumerate() {
            let path = format!("{key}.values.{i}");
            if item(&mut v, &path, errors) {
                kept.push(v);
            } else {
                errors.invalid(&path, v);
            }
        }
        *values = kept;
    }
}

fn normalize_exceptions(obj: &mut Map<String, Value>, errors: &mut Errors) {
    normalize_list("exception", obj, errors, |v, path, errors| {
        let Value::Object(exc) = v else { return false };
        coerce::fields(exc, EXCEPTION_FIELDS, path, errors);
        if let Some(Value::Object(st)) = exc.get_mut("stacktrace") {
            normalize_stacktrace(st, &coerce::join(path, "stacktrace"), errors);
        }
        true
    });
    // An exception list that ended up empty says nothing; drop it so the event is a message.
    let empty = matches!(obj.get("exception").and_then(|e| e.get("values")), Some(Value::Array(v)) if v.is_empty());
    if empty {
        obj.remove("exception");
    }
}

fn normalize_thread(v: &mut Value, path: &str, errors: &mut Errors) -> bool {
    let Value::Object(thread) = v else {
        return false;
    };
    if let Some(Value::Object(st)) = thread.get_mut("stacktrace") {
        normalize_stacktrace(st, &coerce::join(path, "stacktrace"), errors);
    }
    true
}

/// Frames kept per stack trace: the oldest half and the newest half of this many (Sentry keeps
/// 250 too). A runaway recursion of 100,000 frames is stored and grouped as 250, with
/// `frames_omitted: [start, end]` (Sentry's field) saying which were left out.
const MAX_FRAMES: usize = 250;

fn normalize_stacktrace(st: &mut Map<String, Value>, path: &str, errors: &mut Errors) {
    if let Some(Value::Array(frames)) = st.get_mut("frames")
        && frames.len() > MAX_FRAMES
    {
        let (start, end) = (MAX_FRAMES / 2, frames.len() - MAX_FRAMES / 2);
        frames.drain(start..end);
        st.insert("frames_omitted".into(), serde_json::json!([start, end]));
    }
    match st.get_mut("frames") {
        Some(Value::Array(frames)) => {
            let mut kept = Vec::with_capacity(frames.len());
            for (i, frame) in std::mem::take(frames).into_iter().enumerate() {
                let frame_path = format!("{path}.frames.{i}");
                match frame {
                    Value::Object(mut f) => {
                        coerce::fields(&mut f, FRAME_FIELDS, &frame_path, errors);
                        kept.push(Value::Object(f));
                    }
                    bad => errors.invalid(&frame_path, bad),
                }
            }
            *frames = kept;
        }
        None | Some(Value::Null) => {
            st.insert("frames".into(), Value::Array(vec![]));
        }
        Some(_) => {
            let bad = st.insert("frames".into(), Value::Array(vec![])).unwrap_or_default();
            errors.invalid(&coerce::join(path, "frames"), bad);
        }
    }
}

/// Tags arrive as an object or as a list of `[key, value]` pairs; the model keeps ordered pairs
/// with string values. `null` values mean "no tag".
fn normalize_tags(obj: &mut Map<String, Value>, errors: &mut Errors) {
    let Some(raw) = obj.remove("tags") else {
        return;
    };
    let pairs: Vec<(String, Value)> = match raw {
        Value::Object(map) => map.into_iter().collect(),
        Value::Array(items) => {
            let mut pairs = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Array(mut kv) if kv.len() == 2 => {
                        let v = kv.pop().unwrap_or_default();
                        match kv.pop().unwrap_or_default() {
                            Value::String(k) => pairs.push((k, v)),
                            bad_key => errors.invalid("tags", Value::Array(vec![bad_key, v])),
                        }
                    }
                    bad => errors.invalid("tags", bad),
                }
            }
            pairs
        }
        Value::Null => return,
        bad => {
            errors.invalid("tags", bad);
            return;
        }
    };
    let mut tags = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        let key = key.trim().to_string();
        let value = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Number(_) | Value::Bool(_) => value.to_string(),
            bad => {
                errors.invalid(&format!("tags.{key}"), bad);
                continue;
            }
        };
        if key.is_empty() {
            errors.invalid("tags", Value::String(value));
            continue;
        }
        tags.push(Value::Array(vec![Value::String(key), Value::String(value)]));
    }
    if !tags.is_empty() {
        obj.insert("tags".into(), Value::Array(tags));
    }
}

fn normalize_user(obj: &mut Map<String, Value>, client_ip: Option<&str>, errors: &mut Errors) {
    let user_fields = [
        ("id", Kind::Str),
        ("email", Kind::Str),
        ("username", Kind::Str),
        ("ip_address", Kind::Str),
    ];
    normalize_sub_fields(obj, "user", &user_fields, errors);
    let Some(Value::Object(user)) = obj.get_mut("user") else {
        return;
    };
    if user.get("ip_address").and_then(Value::as_str) == Some("{{auto}}") {
        match client_ip {
            Some(ip) => user.insert("ip_address".into(), Value::String(ip.to_string())),
            None => user.remove("ip_address"),
        };
    }
}

fn normalize_sub_fields(obj: &mut Map<String, Value>, key: &str, spec: &[(&str, Kind)], errors: &mut Errors) {
    if let Some(Value::Object(sub)) = obj.get_mut(key) {
        coerce::fields(sub, spec, key, errors);
    }
}

fn normalize_fingerprint(obj: &mut Map<String, Value>, errors: &mut Errors) {
    let Some(raw) = obj.remove("fingerprint") else {
        return;
    };
    let list = match raw {
        Value::Array(items) => items,
        Value::String(s) => vec![Value::String(s)],
        Value::Null => return,
        bad => {
            errors.invalid("fingerprint", bad);
            return;
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        match item {
            Value::String(s) => out.push(Value::String(s)),
            Value::Number(_) | Value::Bool(_) => out.push(Value::String(item.to_string())),
            bad => errors.invalid("fingerprint", bad),
        }
    }
    if !out.is_empty() {
        obj.insert("fingerprint".into(), Value::Array(out));
    }
}

#[cfg(test)]
mod tests;
