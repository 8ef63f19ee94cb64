//! An event as the event view shows it: display-ready pieces cut from the stored JSON. Every
//! string here is untrusted client data; templates escape it.

use serde_json::{Map, Value};

use super::time;

/// Which frames to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameMode {
    App,
    Full,
    Raw,
    /// Every frame as the browser reported it, before source maps.
    Minified,
}

impl FrameMode {
    pub fn parse(s: Option<&str>) -> FrameMode {
        match s {
            Some("full") => FrameMode::Full,
            Some("raw") => FrameMode::Raw,
            Some("minified") => FrameMode::Minified,
            _ => FrameMode::App,
        }
    }
}

pub struct EventView {
    pub event_id: String,
    pub when: String,
    pub size: usize,
    pub message: Option<String>,
    /// The logged message's template (`User %s failed`) and parameters, when sent apart.
    pub message_template: Option<String>,
    pub message_params: Vec<String>,
    /// Newest exception first.
    pub exceptions: Vec<ExceptionView>,
    pub raw_traceback: String,
    /// Source maps were applied: the minified frames can be shown too.
    pub symbolicated: bool,
    /// A JavaScript event: source maps apply to it (reprocessing is offered).
    pub javascript: bool,
    pub breadcrumbs: Vec<Breadcrumb>,
    pub request: Option<RequestView>,
    pub user: Vec<(String, String)>,
    pub contexts: Vec<(String, Vec<(String, String)>)>,
    pub tags: Vec<(String, String)>,
    pub extra: Vec<(String, String)>,
    pub sdk: Option<String>,
    pub environment: Option<String>,
    pub release: Option<String>,
}

pub struct ExceptionView {
    pub ty: String,
    pub value: String,
    pub mechanism: Option<String>,
    pub handled: Option<bool>,
    /// Most recent call first.
    pub frames: Vec<FrameView>,
    /// Frames hidden by "App only".
    pub hidden_frames: usize,
    /// Shown above this exception when it caused (or was being handled during) the one above.
    pub separator: Option<&'static str>,
}

pub struct FrameView {
    pub path: String,
    pub function: String,
    pub lineno: Option<i64>,
    pub in_app: bool,
    /// `(line number, text, is the current line)`.
    pub lines: Vec<(Option<i64>, String, bool)>,
    pub vars: Vec<(String, String)>,
}

pub struct Breadcrumb {
    pub time: String,
    pub category: String,
    pub level: String,
    pub message: String,
    pub data: String,
}

pub struct RequestView {
    pub method: String,
    pub url: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub data: String,
}

fn s(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), s(Some(v)))).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|p| {
                let p = p.as_array()?;
                Some((s(p.first()), s(p.get(1))))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Local variables as rows of a key/value table: nested objects and lists become dotted and
/// indexed keys (`user.name`, `items[0]`) a few levels deep, instead of one line of JSON.
fn flatten_vars(vars: &Value) -> Vec<(String, String)> {
    const DEPTH: usize = 3;
    const ROWS: usize = 200;
    fn walk(key: String, v: &Value, depth: usize, out: &mut Vec<(String, String)>) {
        if out.len() >= ROWS {
            return;
        }
        match v {
            Value::Object(map) if depth < DEPTH && !map.is_empty() => {
                for (k, v) in map {
                    let key = if key.is_empty() {
                        k.clone()
                    } else {
                        format!("{key}.{k}")
                    };
                    walk(key, v, depth + 1, out);
                }
            }
            Value::Array(items) if depth < DEPTH && !items.is_empty() && !key.is_empty() => {
                for (i, v) in items.iter().enumerate() {
                    walk(format!("{key}[{i}]"), v, depth + 1, out);
                }
            }
            Value::String(text) => out.push((key, text.clone())),
            other => out.push((key, other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk(String::new(), vars, 0, &mut out);
    out
}

/// One line saying what happened: the newest exception's `Type: value`, else the message.
pub fn summary(event: &Map<String, Value>) -> String {
    let exception = event
        .get("exception")
        .and_then(|e| e.get("values"))
        .and_then(Value::as_array)
        .and_then(|v| v.last());
    if let Some(e) = exception {
        let ty = e.get("type").and_then(Value::as_str).unwrap_or("Error");
        return match e.get("value").and_then(Value::as_str) {
            Some(value) if !value.is_empty() => format!("{ty}: {value}"),
            _ => ty.to_string(),
        };
    }
    event
        .get("logentry")
        .and_then(|l| l.get("formatted").or_else(|| l.get("message")))
        .or_else(|| event.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

impl EventView {
    /// `tags` are the stored event's tags (built-in and custom).
    pub fn build(event: &Map<String, Value>, tags: &[(String, String)], size: usize, mode: FrameMode) -> EventView {
        let exceptions_raw: Vec<&Value> = event
            .get("exception")
            .and_then(|e| e.get("values"))
            .and_then(Value::as_array)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        let logentry = event.get("logentry");
        let message = logentry
            .and_then(|l| l.get("formatted").or_else(|| l.get("message")))
            .and_then(Value::as_str)
            .map(str::to_string);
        // A logged message's template and its parameters, when the SDK sent them apart.
        let message_template = logentry
            .filter(|l| l.get("formatted").is_some())
            .and_then(|l| l.get("message"))
            .and_then(Value::as_str)
            .filter(|t| Some(*t) != message.as_deref())
            .map(str::to_string);
        let message_params = match logentry.and_then(|l| l.get("params")) {
            Some(Value::Array(params)) => params.iter().map(|p| s(Some(p))).collect(),
            Some(Value::Object(named)) => named.iter().map(|(k, v)| format!("{k}={}", s(Some(v)))).collect(),
            _ => Vec::new(),
        };
        let mut exceptions: Vec<ExceptionView> = exceptions_raw.iter().map(|e| exception(e, mode)).collect();
        exceptions.reverse();
        let count = exceptions_raw.len();
        for (i, exc) in exceptions.iter_mut().enumerate().skip(1) {
            // Shown newest first, so display position i is payload position count-1-i; its
            // `mechanism.source` says how it relates to the exception shown above it.
            let source = exceptions_raw[count - 1 - i]
                .get("mechanism")
                .and_then(|m| m.get("source"))
                .and_then(Value::as_str);
            exc.separator = Some(if source == Some("__context__") {
                "The exception above happened while handling this one:"
            } else {
                "Caused by:"
            });
        }
        let breadcrumbs = event
            .get("breadcrumbs")
            .and_then(|b| b.get("values"))
            .and_then(Value::as_array)
            .map(|list| list.iter().map(breadcrumb).collect())
            .unwrap_or_default();
        let request = event.get("request").and_then(Value::as_object).map(|r| RequestView {
            method: s(r.get("method")),
            url: s(r.get("url")),
            query: match r.get("query_string") {
                Some(Value::String(q)) => q.clone(),
                other => pairs(other)
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&"),
            },
            headers: pairs(r.get("headers")),
            data: s(r.get("data")),
        });
        let contexts = event
            .get("contexts")
            .and_then(Value::as_object)
            .map(|c| c.iter().map(|(k, v)| (k.clone(), pairs(Some(v)))).collect())
            .unwrap_or_default();
        let sdk = event
            .get("sdk")
            .map(|sdk| format!("{} {}", s(sdk.get("name")), s(sdk.get("version"))));
        EventView {
            event_id: s(event.get("event_id")),
            when: event
                .get("timestamp")
                .and_then(Value::as_f64)
                .map(|t| time::html(t, crate::event::unix_now()))
                .unwrap_or_default(),
            size,
            message,
            message_template,
            message_params,
            raw_traceback: raw_traceback(&exceptions_raw),
            symbolicated: exceptions_raw.iter().any(|e| e.get("raw_stacktrace").is_some()),
            javascript: matches!(
                event.get("platform").and_then(Value::as_str),
                Some("javascript" | "node")
            ),
            exceptions,
            breadcrumbs,
            request,
            user: pairs(event.get("user")),
            contexts,
            tags: tags.to_vec(),
            extra: pairs(event.get("extra")),
            sdk,
            environment: event.get("environment").and_then(Value::as_str).map(str::to_string),
            release: event.get("release").and_then(Value::as_str).map(str::to_string),
        }
    }
}

fn exception(e: &Value, mode: FrameMode) -> ExceptionView {
    let which = match mode {
        FrameMode::Minified if e.get("raw_stacktrace").is_some() => "raw_stacktrace",
        _ => "stacktrace",
    };
    let frames_raw: Vec<&Value> = e
        .get(which)
        .and_then(|st| st.get("frames"))
        .and_then(Value::as_array)
        .map(|f| f.iter().collect())
        .unwrap_or_default();
    let any_in_app = frames_raw.iter().any(|f| f.get("in_app") == Some(&Value::Bool(true)));
    let mut frames: Vec<FrameView> = frames_raw
        .iter()
        .filter(|f| mode != FrameMode::App || !any_in_app || f.get("in_app") == Some(&Value::Bool(true)))
        .map(|f| frame(f))
        .collect();
    frames.reverse();
    let mechanism = e.get("mechanism");
    ExceptionView {
        ty: e.get("type").and_then(Value::as_str).unwrap_or("Error").to_string(),
        value: s(e.get("value")),
        mechanism: mechanism
            .and_then(|m| m.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string),
        handled: mechanism.and_then(|m| m.get("handled")).and_then(Value::as_bool),
        hidden_frames: frames_raw.len() - frames.len(),
        frames,
        separator: None,
    }
}

fn frame(f: &Value) -> FrameView {
    let lineno = f.get("lineno").and_then(Value::as_i64);
    let mut lines = Vec::new();
    let list = |key: &str| -> Vec<String> {
        f.get(key)
            .and_then(Value::as_array)
            .map(|l| l.iter().map(|v| s(Some(v))).collect())
            .unwrap_or_default()
    };
    let pre = list("pre_context");
    let n = pre.len() as i64;
    for (i, text) in pre.into_iter().enumerate() {
        lines.push((lineno.map(|l| l - n + i as i64), text, false));
    }
    if let Some(current) = f.get("context_line").and_then(Value::as_str) {
        lines.push((lineno, current.to_string(), true));
    }
    for (i, text) in list("post_context").into_iter().enumerate() {
        lines.push((lineno.map(|l| l + 1 + i as i64), text, false));
    }
    let path = ["filename", "abs_path", "module"]
        .iter()
        .find_map(|k| f.get(*k).and_then(Value::as_str))
        .unwrap_or("<unknown>")
        .to_string();
    FrameView {
        path,
        function: f.get("function").and_then(Value::as_str).unwrap_or("?").to_string(),
        lineno,
        in_app: f.get("in_app") == Some(&Value::Bool(true)),
        lines,
        vars: f.get("vars").map(flatten_vars).unwrap_or_default(),
    }
}

fn breadcrumb(b: &Value) -> Breadcrumb {
    // SDKs send epoch seconds or RFC 3339 strings; either shows as every other time does.
    let time = match b.get("timestamp") {
        Some(t) => crate::event::timestamp::parse(t)
            .map(|at| time::html(at, crate::event::unix_now()))
            .unwrap_or_else(|| super::escape_html(&s(Some(t)))),
        None => String::new(),
    };
    Breadcrumb {
        time,
        category: s(b.get("category")),
        level: s(b.get("level")),
        message: s(b.get("message")),
        data: b
            .get("data")
            .filter(|d| !d.is_null())
            .map(|d| d.to_string())
            .unwrap_or_default(),
    }
}

/// The traceback as Python prints it: oldest call first, causes before what they caused.
fn raw_traceback(exceptions: &[&Value]) -> String {
    let mut out = String::new();
    for (i, e) in exceptions.iter().enumerate() {
        if i > 0 {
            out.push_str("\nThe above exception was the direct cause of the following exception:\n\n");
        }
        out.push_str("Traceback (most recent call last):\n");
        let frames = e
            .get("stacktrace")
            .and_then(|st| st.get("frames"))
            .and_then(Value::as_array);
        for f in frames.into_iter().flatten() {
            let file = ["abs_path", "filename", "module"]
                .iter()
                .find_map(|k| f.get(*k).and_then(Value::as_str))
                .unwrap_or("<unknown>");
            let line = f
                .get("lineno")
                .and_then(Value::as_i64)
                .map(|l| l.to_string())
                .unwrap_or("?".into());
            let function = f.get("function").and_then(Value::as_str).unwrap_or("?");
            out.push_str(&format!("  File \"{file}\", line {line}, in {function}\n"));
            if let Some(code) = f.get("context_line").and_then(Value::as_str) {
                out.push_str(&format!("    {}\n", code.trim()));
            }
        }
        let ty = e.get("type").and_then(Value::as_str).unwrap_or("Error");
        match e.get("value").and_then(Value::as_str).filter(|v| !v.is_empty()) {
            Some(v) => out.push_str(&format!("{ty}: {v}\n")),
            None => out.push_str(&format!("{ty}\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_local_variables_become_key_value_rows() {
        let vars = json!({"order": {"name": "'stripe-ish'", "items": ["'a'", 2]}, "n": 3, "empty": {}});
        assert_eq!(
            flatten_vars(&vars),
            // Keys in sorted order, as Sentry keeps an event's objects (Relay's maps are sorted).
            vec![
                ("empty".to_string(), "{}".to_string()),
                ("n".into(), "3".into()),
                ("order.items[0]".into(), "'a'".into()),
                ("order.items[1]".into(), "2".into()),
                ("order.name".into(), "'stripe-ish'".into()),
            ]
        );
        let deep = json!({"a": {"b": {"c": {"d": 1}}}});
        assert_eq!(
            flatten_vars(&deep),
            vec![("a.b.c".to_string(), "{\"d\":1}".to_string())]
        );
    }

    #[test]
    fn a_logged_message_shows_its_template_and_parameters() {
        let event = json!({"logentry": {"message": "User %s failed %d times", "params": ["bob", 3], "formatted": "User bob failed 3 times"}});
        let view = EventView::build(event.as_object().unwrap(), &[], 0, FrameMode::App);
        assert_eq!(view.message.as_deref(), Some("User bob failed 3 times"));
        assert_eq!(view.message_template.as_deref(), Some("User %s failed %d times"));
        assert_eq!(view.message_params, vec!["bob", "3"]);
        let plain = json!({"logentry": {"message": "plain"}});
        let view = EventView::build(plain.as_object().unwrap(), &[], 0, FrameMode::App);
        assert_eq!((view.message.as_deref(), view.message_template), (Some("plain"), None));
    }
}
