//! The tags an event is indexed and counted by: built-in ones derived from the event (level,
//! release, url, user, os, browser, …) plus every custom tag the SDK sent, within Sentry's limits.

use serde_json::{Map, Value};

use super::Event;

pub const MAX_TAGS: usize = 100;
pub const MAX_KEY_CHARS: usize = 32;
pub const MAX_VALUE_CHARS: usize = 200;

/// The event's tags and how many were dropped for breaking a limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    pub pairs: Vec<(String, String)>,
    pub dropped: usize,
}

impl Tags {
    fn push(&mut self, key: &str, value: Option<String>) {
        let Some(value) = value else { return };
        let value = value.trim();
        if value.is_empty() || self.pairs.iter().any(|(k, _)| k == key) {
            return;
        }
        let valid = !key.is_empty()
            && key.chars().count() <= MAX_KEY_CHARS
            && value.chars().count() <= MAX_VALUE_CHARS
            && !value.contains(['\n', '\r'])
            && self.pairs.len() < MAX_TAGS;
        if valid {
            self.pairs.push((key.to_string(), value.to_string()));
        } else {
            self.dropped += 1;
        }
    }
}

/// `id:42`, else `email:…`, else `username:…`, else `ip:…`: who was affected, for distinct
/// user counts.
pub fn user_key(event: &Event) -> Option<String> {
    let user = event.user.as_ref()?;
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    nonempty(&user.id)
        .map(|v| format!("id:{v}"))
        .or_else(|| nonempty(&user.email).map(|v| format!("email:{v}")))
        .or_else(|| nonempty(&user.username).map(|v| format!("username:{v}")))
        .or_else(|| nonempty(&user.ip_address).map(|v| format!("ip:{v}")))
}

/// Built-in tags first (a custom tag of the same name is ignored), then custom tags in order.
pub fn extract(event: &Event) -> Tags {
    let mut tags = Tags::default();
    tags.push("level", Some(event.level.as_str().to_string()));
    tags.push("environment", event.environment.clone());
    tags.push("release", event.release.clone());
    tags.push("server_name", event.server_name.clone());
    tags.push("transaction", event.transaction.clone());
    tags.push("logger", event.logger.clone());
    let url = event
        .request
        .as_ref()
        .and_then(|r| r.url.as_deref())
        .map(strip_query);
    tags.push("url", url);
    tags.push("user", user_key(event));
    let mechanism = event
        .exception
        .as_ref()
        .and_then(|e| e.values.last())
        .and_then(|e| e.mechanism.as_ref());
    if let Some(mechanism) = mechanism {
        let handled = mechanism.get("handled").and_then(Value::as_bool);
        tags.push(
            "handled",
            handled.map(|h| if h { "yes" } else { "no" }.to_string()),
        );
        tags.push(
            "mechanism",
            mechanism
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_string),
        );
    }
    let contexts = event.contexts.as_ref();
    // Browser SDKs send os/browser contexts; server SDKs only forward the request's User-Agent.
    let ua = user_agent(event).map(parse_user_agent).unwrap_or_default();
    tags.push("os", context_name_version(contexts, "os").or(ua.os));
    tags.push(
        "browser",
        context_name_version(contexts, "browser").or(ua.browser),
    );
    let device = context(contexts, "device").and_then(|d| {
        ["model", "family", "name"]
            .iter()
            .find_map(|k| d.get(*k).and_then(Value::as_str).map(str::to_string))
    });
    tags.push("device", device);
    tags.push("runtime", context_name_version(contexts, "runtime"));
    for (key, value) in &event.tags {
        tags.push(key, Some(value.clone()));
    }
    tags
}

/// A URL without its query string and fragment (they hold ids and secrets).
fn strip_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

/// A context by type: the key is an alias and `type` defaults to it.
fn context<'a>(
    contexts: Option<&'a Map<String, Value>>,
    ty: &str,
) -> Option<&'a Map<String, Value>> {
    let contexts = contexts?;
    contexts
        .get(ty)
        .and_then(Value::as_object)
        .filter(|c| {
            c.get("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t == ty)
        })
        .or_else(|| {
            contexts
                .values()
                .filter_map(Value::as_object)
                .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
        })
}

/// `CPython 3.11.7`, `Chrome 120.0`: the context's name and version.
fn context_name_version(contexts: Option<&Map<String, Value>>, ty: &str) -> Option<String> {
    let c = context(contexts, ty)?;
    let name = c.get("name").and_then(Value::as_str)?;
    Some(match c.get("version").and_then(Value::as_str) {
        Some(version) if !version.is_empty() => format!("{name} {version}"),
        _ => name.to_string(),
    })
}

/// What a User-Agent header says, as tag values.
#[derive(Default)]
struct UserAgent {
    browser: Option<String>,
    os: Option<String>,
}

fn parse_user_agent(header: &str) -> UserAgent {
    let Some(ua) = woothee::parser::Parser::new().parse(header) else {
        return UserAgent::default();
    };
    let known =
        |s: &str| (!s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN).then(|| s.to_string());
    let with_version = |name: Option<String>, version: &str| {
        name.map(|n| match known(version) {
            Some(v) => format!("{n} {v}"),
            None => n,
        })
    };
    let is_browser = matches!(ua.category, "pc" | "smartphone" | "mobilephone");
    // woothee names Windows with its marketing version already ("Windows 10"); its os_version
    // ("NT 10.0") would only repeat it.
    let os = if ua.os.starts_with("Windows") {
        known(ua.os)
    } else {
        with_version(known(ua.os), &ua.os_version)
    };
    UserAgent {
        browser: with_version(known(ua.name).filter(|_| is_browser), ua.version),
        os,
    }
}

fn user_agent(event: &Event) -> Option<&str> {
    let headers = event.request.as_ref()?.other.get("headers")?;
    match headers {
        Value::Object(map) => map
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
            .and_then(|(_, v)| v.as_str()),
        Value::Array(pairs) => pairs.iter().find_map(|pair| {
            let pair = pair.as_array()?;
            let key = pair.first()?.as_str()?;
            key.eq_ignore_ascii_case("user-agent")
                .then(|| pair.get(1)?.as_str())
                .flatten()
        }),
        _ => None,
    }
}
