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
    let url = event.request.as_ref().and_then(|r| r.url.as_deref()).map(strip_query);
    tags.push("url", url);
    let user = user_key(event);
    tags.push("user", user.clone());
    // The user's email and username besides the field that keys it (`id:42`), so that
    // `user.email:` finds them. Not the IP address: it changes per request, and a row per
    // address would cost ingest a write per event.
    if let Some(u) = &event.user {
        let primary = user.as_deref().and_then(|k| k.split_once(':')).map(|(f, _)| f);
        for (field, value) in [("email", &u.email), ("username", &u.username)] {
            if primary != Some(field) {
                tags.push(&format!("user.{field}"), value.clone());
            }
        }
    }
    let mechanism = event
        .exception
        .as_ref()
        .and_then(|e| e.values.last())
        .and_then(|e| e.mechanism.as_ref());
    if let Some(mechanism) = mechanism {
        let handled = mechanism.get("handled").and_then(Value::as_bool);
        tags.push("handled", handled.map(|h| if h { "yes" } else { "no" }.to_string()));
        tags.push(
            "mechanism",
            mechanism.get("type").and_then(Value::as_str).map(str::to_string),
        );
    }
    let contexts = event.contexts.as_ref();
    // Browser SDKs send os/browser contexts; server SDKs only forward the request's User-Agent.
    let ua = user_agent(event).map(parse_user_agent).unwrap_or_default();
    tags.push("os", context_name_version(contexts, "os").or(ua.os));
    tags.push("browser", context_name_version(contexts, "browser").or(ua.browser));
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
fn context<'a>(contexts: Option<&'a Map<String, Value>>, ty: &str) -> Option<&'a Map<String, Value>> {
    let contexts = contexts?;
    contexts
        .get(ty)
        .and_then(Value::as_object)
        .filter(|c| c.get("type").and_then(Value::as_str).is_none_or(|t| t == ty))
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
    let known = |s: &str| (!s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN).then(|| s.to_string());
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn event(raw: Value) -> Event {
        crate::event::test_event(raw)
    }

    fn get<'a>(tags: &'a Tags, key: &str) -> Option<&'a str> {
        tags.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn built_in_tags_come_from_the_event_and_its_contexts() {
        let tags = extract(&event(json!({
            "level": "warning", "environment": "prod", "release": "app@1", "server_name": "web-1",
            "transaction": "/checkout", "logger": "shop",
            "request": {"url": "https://shop.example/checkout?token=secret#top"},
            "user": {"email": "a@example.org", "ip_address": "10.0.0.1"},
            "contexts": {"os": {"name": "Ubuntu", "version": "22.04"}, "browser": {"name": "Chrome", "version": "120.0"},
                         "rt": {"type": "runtime", "name": "CPython", "version": "3.11.7"}, "device": {"model": "Pixel 8"}},
            "exception": {"values": [{"type": "E", "mechanism": {"type": "generic", "handled": true}}]},
        })));
        assert_eq!(get(&tags, "level"), Some("warning"));
        assert_eq!(
            get(&tags, "url"),
            Some("https://shop.example/checkout"),
            "no query string or fragment"
        );
        assert_eq!(get(&tags, "user"), Some("email:a@example.org"), "email before ip");
        assert_eq!(get(&tags, "os"), Some("Ubuntu 22.04"));
        assert_eq!(get(&tags, "browser"), Some("Chrome 120.0"));
        assert_eq!(
            get(&tags, "runtime"),
            Some("CPython 3.11.7"),
            "found by type under another key"
        );
        assert_eq!(get(&tags, "device"), Some("Pixel 8"));
        assert_eq!(get(&tags, "handled"), Some("yes"));
        assert_eq!(get(&tags, "mechanism"), Some("generic"));
        assert_eq!(get(&tags, "logger"), Some("shop"));
    }

    #[test]
    fn a_user_agent_fills_browser_and_os_when_no_context_says() {
        let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
        let tags = extract(&event(json!({"request": {"headers": [["User-Agent", ua]]}})));
        assert_eq!(get(&tags, "browser"), Some("Firefox 121.0"));
        assert_eq!(get(&tags, "os"), Some("Linux"));
    }

    #[test]
    fn tags_beyond_the_limits_are_dropped_and_counted() {
        let mut custom: Vec<Value> = (0..120).map(|i| json!([format!("k{i}"), "v"])).collect();
        custom.push(json!(["a".repeat(33), "v"]));
        custom.push(json!(["long", "x".repeat(201)]));
        custom.push(json!(["level", "custom levels lose to the built-in"]));
        let tags = extract(&event(json!({ "tags": custom })));
        assert_eq!(tags.pairs.len(), MAX_TAGS);
        assert_eq!(get(&tags, "level"), Some("error"));
        // 1 built-in (level) + 99 custom fit; 21 custom over the count, 2 over the lengths.
        assert_eq!(tags.dropped, 21 + 2);
    }

    #[test]
    fn the_user_key_prefers_id_then_email_then_username_then_ip() {
        assert_eq!(
            user_key(&event(json!({"user": {"id": 7, "email": "e@x"}}))).as_deref(),
            Some("id:7")
        );
        assert_eq!(
            user_key(&event(json!({"user": {"username": "u", "ip_address": "1.2.3.4"}}))).as_deref(),
            Some("username:u")
        );
        assert_eq!(
            user_key(&event(json!({"user": {"ip_address": "1.2.3.4"}}))).as_deref(),
            Some("ip:1.2.3.4")
        );
        assert_eq!(user_key(&event(json!({}))), None);
    }

    #[test]
    fn a_users_email_and_username_are_tags_beside_the_field_that_keys_it() {
        let tags = extract(&event(
            json!({"user": {"id": 7, "email": "e@x", "username": "u", "ip_address": "1.2.3.4"}}),
        ));
        assert_eq!(get(&tags, "user"), Some("id:7"));
        assert_eq!(get(&tags, "user.email"), Some("e@x"));
        assert_eq!(get(&tags, "user.username"), Some("u"));
        assert_eq!(get(&tags, "user.ip"), None, "addresses change per request");
        let keyed_by_email = extract(&event(json!({"user": {"email": "e@x"}})));
        assert_eq!(get(&keyed_by_email, "user"), Some("email:e@x"));
        assert_eq!(get(&keyed_by_email, "user.email"), None, "already in the user tag");
    }
}
