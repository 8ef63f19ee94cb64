//! Alert rules as JSON, in the shape of Sentry's issue alert rules where they meet (issue 17):
//! what the API and the CLI read and write.
//!
//! ```json
//! {"name": "Production errors",
//!  "conditions": [{"id": "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition"}],
//!  "filters": [{"id": "sentry.rules.filters.level.LevelFilter", "match": "gte", "level": "40"},
//!              {"id": "sentry.rules.filters.tagged_event.TaggedEventFilter",
//!               "key": "customer", "match": "eq", "value": "acme"}],
//!  "environments": ["production"],
//!  "actions": [{"id": "tocsin.rules.actions.NotifyChannelAction", "channel": "3"}],
//!  "frequency": 30}
//! ```
//!
//! Sentry's one `environment` is taken too; Tocsin's `environments` allows several. `frequency`
//! is the per-issue interval in minutes (0: every time). Conditions are any-of, filters all-of,
//! as Sentry's `actionMatch: any` and `filterMatch: all`, which are the only matches taken.

use serde_json::{Value, json};

use super::rules::{DEFAULT_INTERVAL_MINUTES, RuleSpec, TagFilter, Threshold};
use crate::event::{Level, format_rfc3339};
use crate::store::{AlertRule, Triggers};

const NEW: &str = "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition";
const REGRESSION: &str = "sentry.rules.conditions.regression_event.RegressionEventCondition";
const UNIGNORED: &str = "sentry.rules.conditions.reappeared_event.ReappearedEventCondition";
const FREQUENCY: &str = "sentry.rules.conditions.event_frequency.EventFrequencyCondition";
const USERS: &str = "sentry.rules.conditions.event_frequency.EventUniqueUserFrequencyCondition";
const LEVEL: &str = "sentry.rules.filters.level.LevelFilter";
const TAG: &str = "sentry.rules.filters.tagged_event.TaggedEventFilter";
const ASSIGNED: &str = "sentry.rules.filters.assigned_to.AssignedToFilter";
const RELEASE: &str = "tocsin.rules.filters.release.ReleaseFilter";
const LATEST: &str = "sentry.rules.filters.latest_release.LatestReleaseFilter";
const NOTIFY: &str = "tocsin.rules.actions.NotifyChannelAction";

/// Sentry's numbers for levels (Python logging's).
fn level_number(level: Level) -> &'static str {
    match level {
        Level::Debug => "10",
        Level::Info => "20",
        Level::Warning => "30",
        Level::Error => "40",
        Level::Fatal => "50",
    }
}

pub fn to_json(rule: &AlertRule, last_fired: Option<f64>) -> Value {
    let s = &rule.spec;
    let mut conditions = Vec::new();
    for (on, id) in [
        (s.triggers.new, NEW),
        (s.triggers.regression, REGRESSION),
        (s.triggers.unignored, UNIGNORED),
    ] {
        if on {
            conditions.push(json!({ "id": id }));
        }
    }
    for (t, id) in [(s.frequency, FREQUENCY), (s.users, USERS)] {
        if let Some(t) = t {
            conditions.push(json!({"id": id, "value": t.count, "interval": interval_text(t.minutes)}));
        }
    }
    let mut filters: Vec<Value> = s
        .min_level
        .map(|l| json!({"id": LEVEL, "match": "gte", "level": level_number(l)}))
        .into_iter()
        .collect();
    filters.extend(
        s.tags
            .iter()
            .map(|t| json!({"id": TAG, "key": t.key, "match": if t.equals { "eq" } else { "ne" }, "value": t.value})),
    );
    if let Some(pattern) = &s.release {
        filters.push(json!({"id": RELEASE, "value": pattern}));
    }
    if s.latest_release {
        filters.push(json!({ "id": LATEST }));
    }
    if let Some(assigned) = s.assigned {
        filters.push(json!({"id": ASSIGNED, "targetType": if assigned { "Member" } else { "Unassigned" }}));
    }
    json!({
        "id": rule.id.to_string(),
        "name": s.name,
        "actionMatch": "any",
        "filterMatch": "all",
        "conditions": conditions,
        "filters": filters,
        "environment": if s.environments.len() == 1 { json!(s.environments[0]) } else { Value::Null },
        "environments": s.environments,
        "actions": s.channels.iter().map(|c| json!({"id": NOTIFY, "channel": c.to_string()})).collect::<Vec<_>>(),
        "frequency": s.interval_minutes,
        "lastTriggered": last_fired.map(format_rfc3339),
    })
}

/// Sentry's intervals: `1m`, `5m`, `15m`, `1h`, `1d`, `1w`, `30d` (any number of these units is
/// taken), or a number of minutes.
fn interval_minutes(value: &Value) -> Option<i64> {
    if let Some(n) = value.as_i64() {
        return Some(n);
    }
    let text = value.as_str()?.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = number.parse().ok()?;
    let per = match unit {
        "m" => 1,
        "h" => 60,
        "d" => 24 * 60,
        "w" => 7 * 24 * 60,
        _ => return None,
    };
    n.checked_mul(per)
}

fn interval_text(minutes: i64) -> String {
    match minutes {
        m if m % (24 * 60) == 0 => format!("{}d", m / (24 * 60)),
        m if m % 60 == 0 => format!("{}h", m / 60),
        m => format!("{m}m"),
    }
}

/// A frequency condition's `value` (more than this many) and `interval`.
fn threshold_of(c: &Value) -> Result<Threshold, String> {
    let count = c
        .get("value")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .ok_or_else(|| bad(format!("a frequency condition needs a whole-number value: {c}")))?;
    let minutes = c.get("interval").and_then(interval_minutes).ok_or_else(|| {
        bad(format!(
            "a frequency condition needs an interval such as \"5m\" or \"1h\": {c}"
        ))
    })?;
    Ok(Threshold { count, minutes })
}

fn bad(msg: impl Into<String>) -> String {
    msg.into()
}

fn list_of<'a>(body: &'a Value, key: &str) -> Result<&'a [Value], String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(list)) => Ok(list),
        Some(other) => Err(bad(format!("{key} must be a list, got {other}"))),
    }
}

fn text_of<'a>(item: &'a Value, key: &str, what: &str) -> Result<&'a str, String> {
    match item.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(Value::Number(_)) => Err(bad(format!("{what}: {key} must be a string"))),
        _ => Err(bad(format!("{what} needs {key}"))),
    }
}

/// Reads a rule as the API takes it; `channels` are the project's channel ids.
pub fn from_json(body: &Value, channels: &[i64]) -> Result<RuleSpec, String> {
    if !body.is_object() {
        return Err(bad("the body must be a JSON object"));
    }
    for (key, only) in [("actionMatch", "any"), ("filterMatch", "all")] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null())
            && v.as_str() != Some(only)
        {
            return Err(bad(format!("{key} {v} is not supported: use \"{only}\"")));
        }
    }
    let mut triggers = Triggers {
        new: false,
        regression: false,
        unignored: false,
    };
    let (mut frequency, mut users) = (None, None);
    for c in list_of(body, "conditions")? {
        match text_of(c, "id", "a condition")? {
            NEW => triggers.new = true,
            REGRESSION => triggers.regression = true,
            UNIGNORED => triggers.unignored = true,
            FREQUENCY => frequency = Some(threshold_of(c)?),
            USERS => users = Some(threshold_of(c)?),
            other => {
                return Err(bad(format!(
                    "condition {other:?} is not supported: use {NEW}, {REGRESSION}, {UNIGNORED}, {FREQUENCY} or {USERS}"
                )));
            }
        }
    }
    let (mut min_level, mut tags, mut release, mut assigned) = (None, Vec::new(), None, None);
    let mut latest_release = false;
    for f in list_of(body, "filters")? {
        match text_of(f, "id", "a filter")? {
            LEVEL => {
                if f.get("match").and_then(Value::as_str).unwrap_or("gte") != "gte" {
                    return Err(bad("the level filter takes match \"gte\" (at least) only"));
                }
                let raw = f.get("level").cloned().unwrap_or(Value::Null);
                min_level = Some(Level::parse(&raw).ok_or_else(|| {
                    bad(format!(
                        "level {raw} is not a level: use debug, info, warning, error, fatal or 10 to 50"
                    ))
                })?);
            }
            TAG => {
                let equals = match f.get("match").and_then(Value::as_str).unwrap_or("eq") {
                    "eq" => true,
                    "ne" => false,
                    other => {
                        return Err(bad(format!(
                            "tag match {other:?} is not supported: use \"eq\" or \"ne\""
                        )));
                    }
                };
                tags.push(TagFilter {
                    key: text_of(f, "key", "a tag filter")?.to_string(),
                    equals,
                    value: text_of(f, "value", "a tag filter")?.to_string(),
                });
            }
            // The event's release matches a pattern (`*` for any run of characters).
            RELEASE => release = Some(text_of(f, "value", "a release filter")?.to_string()),
            // The event's release is the project's latest.
            LATEST => latest_release = true,
            // Sentry's filter names a member or team; here any assignee is "assigned".
            ASSIGNED => assigned = Some(text_of(f, "targetType", "an assignee filter")? != "Unassigned"),
            other => {
                return Err(bad(format!(
                    "filter {other:?} is not supported: use {LEVEL}, {TAG}, {RELEASE}, {LATEST} or {ASSIGNED}"
                )));
            }
        }
    }
    let mut environments: Vec<String> = Vec::new();
    if let Some(env) = body.get("environment").filter(|v| !v.is_null()) {
        environments.push(
            env.as_str()
                .ok_or_else(|| bad(format!("environment must be a string, got {env}")))?
                .to_string(),
        );
    }
    for env in list_of(body, "environments")? {
        let name = env
            .as_str()
            .ok_or_else(|| bad(format!("environments must hold strings, got {env}")))?;
        if !environments.iter().any(|e| e == name) {
            environments.push(name.to_string());
        }
    }
    let mut targets = Vec::new();
    for a in list_of(body, "actions")? {
        if let Some(id) = a.get("id").and_then(Value::as_str)
            && id != NOTIFY
        {
            return Err(bad(format!("action {id:?} is not supported: use {NOTIFY}")));
        }
        let raw = match a.get("channel") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(bad("an action needs the channel it sends to")),
        };
        let id: i64 = raw
            .parse()
            .ok()
            .filter(|id| channels.contains(id))
            .ok_or_else(|| bad(format!("channel {raw:?} is not one of this project's alert channels")))?;
        if !targets.contains(&id) {
            targets.push(id);
        }
    }
    let interval_minutes = match body.get("frequency") {
        None | Some(Value::Null) => DEFAULT_INTERVAL_MINUTES,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| bad(format!("frequency must be a whole number of minutes, got {v}")))?,
    };
    let spec = RuleSpec {
        name: body.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
        triggers,
        frequency,
        users,
        environments,
        min_level,
        tags,
        release,
        latest_release,
        assigned,
        interval_minutes,
        channels: targets,
    };
    spec.validate()?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_reads_sentrys_shape_and_writes_it_back() {
        let body = json!({
            "name": "Production errors",
            "actionMatch": "any",
            "conditions": [{"id": NEW}, {"id": REGRESSION}],
            "filters": [{"id": LEVEL, "match": "gte", "level": "40"},
                        {"id": TAG, "key": "customer", "match": "ne", "value": "test"}],
            "environment": "production",
            "environments": ["production", "eu"],
            "actions": [{"id": NOTIFY, "channel": "3"}, {"channel": 3}],
            "frequency": 5,
        });
        let spec = from_json(&body, &[3]).unwrap();
        assert!(spec.triggers.new && spec.triggers.regression && !spec.triggers.unignored);
        assert_eq!(spec.min_level, Some(Level::Error));
        assert_eq!(spec.environments, ["production", "eu"]);
        assert_eq!(spec.channels, [3]);
        assert_eq!(spec.interval_minutes, 5);
        assert!(!spec.tags[0].equals);
        let back = to_json(
            &AlertRule {
                id: 7,
                project_id: 1,
                spec: spec.clone(),
            },
            None,
        );
        assert_eq!(from_json(&back, &[3]).unwrap(), spec, "{back}");
        assert_eq!(back["filters"][0]["level"], "40");
    }

    #[test]
    fn intervals_read_sentrys_units_and_write_back_the_same() {
        for (text, minutes) in [
            ("1m", 1),
            ("5m", 5),
            ("15m", 15),
            ("1h", 60),
            ("1d", 1440),
            ("1w", 10080),
            ("30d", 43200),
        ] {
            assert_eq!(interval_minutes(&json!(text)), Some(minutes), "{text}");
            assert_eq!(interval_minutes(&json!(interval_text(minutes))), Some(minutes));
        }
        assert_eq!(interval_minutes(&json!(90)), Some(90));
        assert_eq!(interval_minutes(&json!("5 minutes")), None);
        assert_eq!(interval_minutes(&json!("h")), None);
    }

    #[test]
    fn what_a_rule_cannot_say_is_refused_with_the_reason() {
        let base = json!({"name": "r", "conditions": [{"id": NEW}], "actions": [{"channel": "3"}]});
        assert_eq!(
            from_json(&base, &[3]).unwrap().interval_minutes,
            DEFAULT_INTERVAL_MINUTES
        );
        let with = |key: &str, value: Value| {
            let mut b = base.clone();
            b[key] = value;
            b
        };
        for (body, says) in [
            (with("actions", json!([{"channel": "4"}])), "not one of this project's"),
            (
                with(
                    "conditions",
                    json!([{"id": "sentry.rules.conditions.every_event.EveryEventCondition"}]),
                ),
                "not supported",
            ),
            (
                with("filters", json!([{"id": LEVEL, "match": "eq", "level": "40"}])),
                "gte",
            ),
            (with("filters", json!([{"id": LEVEL, "level": "loud"}])), "not a level"),
            (
                with("filters", json!([{"id": TAG, "key": "k", "match": "sw", "value": "v"}])),
                "eq",
            ),
            (with("frequency", json!("often")), "whole number"),
            (with("actionMatch", json!("all")), "not supported"),
            (with("conditions", json!([])), "at least one trigger"),
            (with("name", json!("")), "name"),
        ] {
            let detail = from_json(&body, &[3]).unwrap_err();
            assert!(detail.contains(says), "{body}: {detail}");
        }
    }
}
