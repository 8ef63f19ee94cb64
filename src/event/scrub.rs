//! Server-side data scrubbing, on by default, before anything is stored (Relay's defaults).
//!
//! Runs on the raw event JSON, before normalisation, so every shape any SDK sends is covered
//! (objects, `[key, value]` pair lists, query strings, cookie strings, URLs):
//! - the value of every key that looks sensitive (`password`, `secret`, `token`, `auth`,
//!   `cookie`, `session`, `csrf`, … — a substring match on the lower-cased key, `-` read as
//!   `_`) becomes `"[Filtered]"`, wherever it is: headers, cookies, form data, frame `vars`,
//!   `extra`, contexts, breadcrumbs, tags;
//! - `key=value` pairs with such keys inside strings (query strings, URLs, cookie headers)
//!   keep their key and lose their value; a URL's `user:password@` loses the password;
//! - strings holding a credit-card number (13–19 digits, Luhn-valid) become `"[Filtered]"`.
//!
//! A project can add sensitive field names, exempt exact field names, and ask for IP addresses
//! not to be stored. Event identity (ids, timestamps, stack frames' code) is never touched, so
//! grouping is the same with or without scrubbing.

use serde_json::{Map, Value};

pub const FILTERED: &str = "[Filtered]";

/// Key fragments whose values are secrets (Relay's and Sentry's default list).
const DEFAULT_SENSITIVE: &[&str] = &[
    "password",
    "passwd",
    "mysql_pwd",
    "secret",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "privatekey",
    "token",
    "auth",
    "credentials",
    "cookie",
    "session",
    "csrf",
    "xsrf",
];

/// Key fragments that hold a client's address; filtered when a project stores no IPs.
const IP_KEYS: &[&str] = &[
    "ip_address",
    "remote_addr",
    "x_forwarded_for",
    "x_real_ip",
    "client_ip",
    "forwarded",
];

/// Keys whose subtrees are the event's identity and code, never personal data.
fn untouched(key: &str) -> bool {
    matches!(
        key,
        "event_id"
            | "timestamp"
            | "start_timestamp"
            | "fingerprint"
            | "release"
            | "dist"
            | "platform"
            | "sdk"
            | "pre_context"
            | "context_line"
            | "post_context"
            | "filename"
            | "abs_path"
            | "module"
            | "function"
            | "debug_meta"
            | "trace_id"
            | "span_id"
    )
}

/// One pass over a key finds any default fragment (a loop of `contains` was a third of the
/// scrubber's time on a typical event: it looks at every key of the event).
static DEFAULT_MATCHER: std::sync::LazyLock<aho_corasick::AhoCorasick> =
    std::sync::LazyLock::new(|| aho_corasick::AhoCorasick::new(DEFAULT_SENSITIVE).expect("fixed patterns build"));
static IP_MATCHER: std::sync::LazyLock<aho_corasick::AhoCorasick> =
    std::sync::LazyLock::new(|| aho_corasick::AhoCorasick::new(IP_KEYS).expect("fixed patterns build"));

/// A project's scrubbing settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrubConfig {
    /// Extra key fragments to treat as sensitive (lower case).
    pub sensitive_fields: Vec<String>,
    /// Exact key names (lower case) never filtered, even if they look sensitive.
    pub safe_fields: Vec<String>,
    /// Store no IP addresses: `user.ip_address` (and `{{auto}}`) and address-like keys go.
    pub scrub_ip_addresses: bool,
}

impl ScrubConfig {
    /// Parses a comma- or newline-separated list of field names as a person types it.
    pub fn parse_fields(text: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for name in text.split([',', '\n']).map(str::trim).filter(|n| !n.is_empty()) {
            if name.len() > 100 || name.chars().any(|c| c.is_control()) {
                return Err(format!("field name {name:?} is too long or has control characters"));
            }
            out.push(normal_key(name).into_owned());
        }
        if out.len() > 200 {
            return Err("at most 200 field names".into());
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn is_sensitive(&self, key: &str) -> bool {
        self.is_sensitive_normal(&normal_key(key))
    }

    /// `key` already lower-cased with `-` as `_`.
    fn is_sensitive_normal(&self, key: &str) -> bool {
        if !self.safe_fields.is_empty() && self.safe_fields.iter().any(|f| f == key) {
            return false;
        }
        DEFAULT_MATCHER.is_match(key)
            || self.sensitive_fields.iter().any(|s| key.contains(s.as_str()))
            || (self.scrub_ip_addresses && IP_MATCHER.is_match(key))
    }
}

/// Lower case with `-` read as `_`; borrowed when the key already is (most keys are).
fn normal_key(key: &str) -> std::borrow::Cow<'_, str> {
    let key = key.trim();
    if key
        .bytes()
        .all(|b| !b.is_ascii_uppercase() && b != b'-' && b.is_ascii())
    {
        std::borrow::Cow::Borrowed(key)
    } else {
        std::borrow::Cow::Owned(key.to_lowercase().replace('-', "_"))
    }
}

/// Scrubs the raw event in place; returns how many values were filtered.
pub fn scrub(event: &mut Value, config: &ScrubConfig) -> usize {
    let mut filtered = 0;
    if config.scrub_ip_addresses
        && let Some(Value::Object(user)) = event.get_mut("user")
        && user.remove("ip_address").is_some()
    {
        filtered += 1;
    }
    if let Value::Object(obj) = event {
        scrub_object(obj, config, &mut filtered, 0);
    }
    filtered
}

/// Recursion stays bounded: the JSON parser already refuses nesting deeper than 128, so every
/// value it returns is scrubbed; anything deeper would be replaced whole.
const MAX_DEPTH: usize = 256;

fn scrub_object(obj: &mut Map<String, Value>, config: &ScrubConfig, filtered: &mut usize, depth: usize) {
    for (key, value) in obj.iter_mut() {
        let lower = normal_key(key);
        if untouched(&lower) {
            continue;
        }
        if config.is_sensitive_normal(&lower) {
            if !is_empty(value) && value.as_str() != Some(FILTERED) {
                *value = Value::String(FILTERED.into());
                *filtered += 1;
            }
            continue;
        }
        scrub_value(value, config, filtered, depth + 1);
    }
}

fn scrub_value(value: &mut Value, config: &ScrubConfig, filtered: &mut usize, depth: usize) {
    if depth > MAX_DEPTH {
        *value = Value::String(FILTERED.into());
        *filtered += 1;
        return;
    }
    match value {
        Value::Object(obj) => scrub_object(obj, config, filtered, depth),
        Value::Array(items) => {
            for item in items.iter_mut() {
                // `[key, value]` pairs: headers, cookies and query strings as lists.
                if let Value::Array(pair) = item
                    && pair.len() == 2
                    && let Some(key) = pair[0].as_str()
                {
                    if config.is_sensitive(key) {
                        if !is_empty(&pair[1]) {
                            pair[1] = Value::String(FILTERED.into());
                            *filtered += 1;
                        }
                        continue;
                    }
                    scrub_value(&mut pair[1], config, filtered, depth + 1);
                    continue;
                }
                scrub_value(item, config, filtered, depth + 1);
            }
        }
        Value::String(s) => {
            if let Some(clean) = scrub_string(s, config) {
                *s = clean;
                *filtered += 1;
            }
        }
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// The cleaned string, or `None` when nothing in it is sensitive.
fn scrub_string(s: &str, config: &ScrubConfig) -> Option<String> {
    // Most strings are short names and messages: skip them without a second look.
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    if digits >= 13 && has_card_number(s) {
        return Some(FILTERED.into());
    }
    let mut out = None::<String>;
    if s.contains("://")
        && let Some(clean) = strip_url_password(s)
    {
        out = Some(clean);
    }
    if s.contains('=') {
        let current = out.as_deref().unwrap_or(s);
        if let Some(clean) = scrub_pairs(current, config) {
            out = Some(clean);
        }
    }
    out
}

/// `scheme://user:password@host` → `scheme://user:[Filtered]@host`.
fn strip_url_password(s: &str) -> Option<String> {
    let start = s.find("://")? + 3;
    let rest = &s[start..];
    let authority_end = rest.find(['/', '?', '#', ' ']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    if colon + 1 == at || &authority[colon + 1..at] == FILTERED {
        return None;
    }
    Some(format!(
        "{}{}{FILTERED}{}",
        &s[..start],
        &authority[..colon + 1],
        &s[start + at..]
    ))
}

/// Filters the values of sensitive `key=value` pairs separated by `&`, `;` or `?` (query
/// strings, URLs, cookie headers).
fn scrub_pairs(s: &str, config: &ScrubConfig) -> Option<String> {
    let sensitive = s
        .split(['&', ';', '?', '#', ' ', '\n'])
        .filter_map(|segment| segment.split_once('='))
        .any(|(key, value)| !value.is_empty() && value != FILTERED && config.is_sensitive(key));
    if !sensitive {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut rest = s;
    while !rest.is_empty() {
        let end = rest.find(['&', ';', '?', '#', ' ', '\n']).map_or(rest.len(), |i| i);
        let (segment, tail) = rest.split_at(end);
        match segment.split_once('=') {
            Some((key, value)) if !value.is_empty() && value != FILTERED && config.is_sensitive(key) => {
                out.push_str(key);
                out.push('=');
                out.push_str(FILTERED);
                changed = true;
            }
            _ => out.push_str(segment),
        }
        if let Some(sep) = tail.chars().next() {
            out.push(sep);
            rest = &tail[sep.len_utf8()..];
        } else {
            rest = tail;
        }
    }
    changed.then_some(out)
}

/// A run of 13–19 digits (spaces or dashes between them allowed) that passes the Luhn check.
fn has_card_number(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let mut digits = [0u8; 20];
        let mut n = 0;
        let mut j = i;
        while j < bytes.len() && n < digits.len() {
            match bytes[j] {
                b'0'..=b'9' => {
                    digits[n] = bytes[j] - b'0';
                    n += 1;
                }
                b' ' | b'-' if j + 1 < bytes.len() && bytes[j + 1].is_ascii_digit() => {}
                _ => break,
            }
            j += 1;
        }
        let bounded = j >= bytes.len() || !bytes[j].is_ascii_alphanumeric();
        if bounded && (13..=19).contains(&n) && luhn(&digits[..n]) {
            return true;
        }
        i = j.max(i + 1);
    }
    false
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scrubbed(mut event: Value, config: &ScrubConfig) -> Value {
        scrub(&mut event, config);
        event
    }

    #[test]
    fn sensitive_keys_are_filtered_in_every_databag_and_shape() {
        let event = scrubbed(
            json!({
                "request": {
                    "headers": {"Authorization": "Bearer abc", "X-Api-Key": "k1", "Accept": "*/*"},
                    "cookies": "theme=dark; sessionid=s3cr3t",
                    "query_string": [["api_key", "k2"], ["page", "2"]],
                    "data": {"username": "ann", "password": "hunter2"},
                    "env": {"HTTP_COOKIE": "a=b"},
                },
                "extra": {"db": {"passwd": "x", "host": "db1"}, "raw_header": "theme=dark; sessionid=s3cr3t"},
                "breadcrumbs": {"values": [{"data": {"csrf_token": "t"}}]},
                "exception": {"values": [{"stacktrace": {"frames": [
                    {"function": "login", "context_line": "password = request.form['password']",
                     "vars": {"password": "'hunter2'", "user": "'ann'"}}
                ]}}]},
            }),
            &ScrubConfig::default(),
        );
        let r = &event["request"];
        assert_eq!(r["headers"]["Authorization"], FILTERED);
        assert_eq!(r["headers"]["X-Api-Key"], FILTERED);
        assert_eq!(r["headers"]["Accept"], "*/*");
        assert_eq!(
            r["cookies"], FILTERED,
            "cookies are filtered whole, like the Cookie header"
        );
        assert_eq!(
            event["extra"]["raw_header"],
            format!("theme=dark; sessionid={FILTERED}")
        );
        assert_eq!(r["query_string"], json!([["api_key", FILTERED], ["page", "2"]]));
        assert_eq!(r["data"], json!({"username": "ann", "password": FILTERED}));
        assert_eq!(r["env"]["HTTP_COOKIE"], FILTERED);
        assert_eq!(event["extra"]["db"], json!({"passwd": FILTERED, "host": "db1"}));
        assert_eq!(event["breadcrumbs"]["values"][0]["data"]["csrf_token"], FILTERED);
        let frame = &event["exception"]["values"][0]["stacktrace"]["frames"][0];
        assert_eq!(frame["vars"]["password"], FILTERED);
        assert_eq!(frame["vars"]["user"], "'ann'");
        assert_eq!(
            frame["context_line"], "password = request.form['password']",
            "code is kept"
        );
    }

    #[test]
    fn urls_lose_passwords_and_sensitive_query_values() {
        let config = ScrubConfig::default();
        assert_eq!(
            scrub_string("https://bob:pa55@db.example.com/x?token=abc&page=2", &config).unwrap(),
            format!("https://bob:{FILTERED}@db.example.com/x?token={FILTERED}&page=2")
        );
        assert_eq!(scrub_string("https://example.com/?page=2", &config), None);
        assert_eq!(scrub_string("a=1&b=2", &config), None);
    }

    #[test]
    fn card_numbers_are_filtered_and_other_numbers_kept() {
        let config = ScrubConfig::default();
        assert_eq!(
            scrub_string("paid with 4111 1111 1111 1111", &config).unwrap(),
            FILTERED
        );
        assert_eq!(scrub_string("4111-1111-1111-1111", &config).unwrap(), FILTERED);
        assert_eq!(
            scrub_string("order 4111111111111112 failed", &config),
            None,
            "not Luhn-valid"
        );
        assert_eq!(scrub_string("call +1 555 123 4567", &config), None);
        assert_eq!(scrub_string("2026-11-25T04:40:00Z", &config), None);
        assert_eq!(scrub_string("d41d8cd98f00b204e9800998ecf8427e", &config), None);
    }

    #[test]
    fn project_settings_add_fields_exempt_fields_and_drop_ip_addresses() {
        let config = ScrubConfig {
            sensitive_fields: ScrubConfig::parse_fields("ssn, Internal-Note").unwrap(),
            safe_fields: ScrubConfig::parse_fields("session_count").unwrap(),
            scrub_ip_addresses: true,
        };
        let event = scrubbed(
            json!({
                "user": {"id": "7", "ip_address": "{{auto}}"},
                "extra": {"user_ssn": "123", "internal_note": "x", "session_count": 3, "session_id": "abc"},
                "request": {"env": {"REMOTE_ADDR": "10.0.0.1"}},
            }),
            &config,
        );
        assert_eq!(event["user"], json!({"id": "7"}));
        assert_eq!(event["extra"]["user_ssn"], FILTERED);
        assert_eq!(event["extra"]["internal_note"], FILTERED);
        assert_eq!(event["extra"]["session_count"], 3);
        assert_eq!(event["extra"]["session_id"], FILTERED);
        assert_eq!(event["request"]["env"]["REMOTE_ADDR"], FILTERED);
    }

    #[test]
    fn identity_and_code_are_never_touched() {
        let event = json!({
            "event_id": "4111111111111111aaaaaaaaaaaaaaaa",
            "sdk": {"name": "sentry.python", "integrations": ["auth"]},
            "fingerprint": ["token-refresh"],
        });
        assert_eq!(scrubbed(event.clone(), &ScrubConfig::default()), event);
    }
}
