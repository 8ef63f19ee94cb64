//! Security reports (CSP, HPKP, Expect-CT, Expect-Staple) group as Sentry groups them: by the
//! kind of report and what it is about, never by the page it came from.
//! - CSP: the directive, then either the kind of local script violation (`'unsafe-inline'`,
//!   `'unsafe-eval'`) or the blocked resource's host (`'self'` when local, `data:` for schemes);
//! - the others: the kind and the host name.

use serde_json::Value;

use super::component::Component;
use crate::event::Event;

/// A security report's component; `None` for an event without a report.
pub(super) fn component(event: &Event) -> Option<Component> {
    let (id, values) = values(event)?;
    let mut c = Component::new(id);
    let names: &[&'static str] = if id == "csp" {
        &["salt", "violation-or-uri"]
    } else {
        &["salt", "hostname"]
    };
    for (name, value) in names.iter().zip(values) {
        c.push(Component::leaf(name, value));
    }
    Some(c)
}

/// The values of a security report's hash, with its kind.
fn values(event: &Event) -> Option<(&'static str, Vec<String>)> {
    if let Some(csp) = event.other.get("csp").filter(|v| v.is_object()) {
        return Some(("csp", csp_values(csp)));
    }
    for (key, salt) in [
        ("expectct", "expect-ct"),
        ("expectstaple", "expect-staple"),
        ("hpkp", "hpkp"),
    ] {
        if let Some(report) = event.other.get(key).filter(|v| v.is_object()) {
            let host = report.get("hostname").and_then(Value::as_str).unwrap_or_default();
            return Some((salt, vec![salt.to_string(), host.to_string()]));
        }
    }
    None
}

const LOCAL: &str = "'self'";

fn csp_values(csp: &Value) -> Vec<String> {
    let text = |key: &str| csp.get(key).and_then(Value::as_str);
    let violated = text("violated_directive");
    // Relay fills the effective directive from the violated one's first word when a browser
    // leaves it out.
    let directive = text("effective_directive")
        .or_else(|| violated.and_then(|v| v.split_whitespace().next()))
        .unwrap_or_default();
    let blocked = normalized_uri(text("blocked_uri").unwrap_or(""));
    let local_violation = match violated {
        Some(v) if directive == "script-src" && blocked == LOCAL => {
            if v.contains("'unsafe-inline'") {
                Some("unsafe-inline")
            } else if v.contains("'unsafe-eval'") {
                Some("unsafe-eval")
            } else {
                None
            }
        }
        _ => None,
    };
    match local_violation {
        Some(kind) => vec![directive.to_string(), format!("'{kind}'")],
        None => vec![directive.to_string(), blocked],
    }
}

/// The blocked resource as Sentry names it: the host of an http(s) URL, `'self'` for the page
/// itself, `scheme:` (or `scheme://host`) for other schemes.
fn normalized_uri(value: &str) -> String {
    if value.is_empty() || value == LOCAL || value == "self" {
        return LOCAL.to_string();
    }
    let Some((scheme, rest)) = value.split_once(':') else {
        return format!("{value}:");
    };
    let host = rest
        .strip_prefix("//")
        .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    if matches!(scheme, "http" | "https") {
        return host.to_string();
    }
    if host.is_empty() {
        format!("{scheme}:")
    } else {
        format!("{scheme}://{host}")
    }
}

#[cfg(test)]
mod tests {
    use super::normalized_uri;

    #[test]
    fn blocked_uris_are_named_by_host_or_scheme() {
        assert_eq!(normalized_uri(""), "'self'");
        assert_eq!(normalized_uri("self"), "'self'");
        assert_eq!(normalized_uri("https://cdn.example.com/a.js?x=1"), "cdn.example.com");
        assert_eq!(normalized_uri("data"), "data:");
        assert_eq!(normalized_uri("data:image/png;base64,AAA"), "data:");
        assert_eq!(
            normalized_uri("chrome-extension://abcdef/x.js"),
            "chrome-extension://abcdef"
        );
    }
}
