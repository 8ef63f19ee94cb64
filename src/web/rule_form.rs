//! The form that adds or edits an alert rule (issue 17): what it shows (blank, a stored rule,
//! or what was typed when it was refused) and the rule it describes.

use crate::event::Level;
use crate::notify::rules::{DEFAULT_INTERVAL_MINUTES, RuleSpec, TagFilter, Threshold};
use crate::store::{Channel, Triggers};

/// One option of a `<select>`.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// A channel the rule may send to, ticked when it does.
pub struct ChannelChoice {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub checked: bool,
}

/// The rule form's fields as shown (`templates/rule_form.html`).
pub struct RuleForm {
    /// Where it posts, its heading and its button.
    pub action: String,
    pub heading: String,
    pub button: &'static str,
    pub name: String,
    pub when_new: bool,
    pub when_regression: bool,
    pub when_unignored: bool,
    pub frequency_count: String,
    pub frequency_minutes: String,
    pub users_count: String,
    pub users_minutes: String,
    pub environments: String,
    pub levels: Vec<Choice>,
    pub tags: String,
    pub release: String,
    pub latest_release: bool,
    pub assigned: Vec<Choice>,
    pub channels: Vec<ChannelChoice>,
    pub interval: String,
}

const LEVELS: [(&str, &str); 5] = [
    ("", "any"),
    ("info", "info"),
    ("warning", "warning"),
    ("error", "error"),
    ("fatal", "fatal"),
];
const ASSIGNED: [(&str, &str); 3] = [
    ("", "assigned or not"),
    ("assigned", "assigned"),
    ("unassigned", "unassigned"),
];

fn choices(options: &[(&'static str, &'static str)], selected: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|&(value, label)| Choice {
            value,
            label,
            selected: value == selected,
        })
        .collect()
}

fn channel_choices(channels: &[Channel], checked: impl Fn(i64) -> bool) -> Vec<ChannelChoice> {
    channels
        .iter()
        .map(|c| ChannelChoice {
            id: c.id,
            kind: c.kind.clone(),
            target: c.target.clone(),
            checked: checked(c.id),
        })
        .collect()
}

/// A threshold's two boxes; blank when the rule has none.
fn threshold_text(t: Option<Threshold>) -> (String, String) {
    t.map(|t| (t.count.to_string(), t.minutes.to_string()))
        .unwrap_or_default()
}

impl RuleForm {
    /// The form that adds a rule to the project whose alerts page is at `base`.
    pub fn blank(base: &str, channels: &[Channel]) -> RuleForm {
        RuleForm {
            action: format!("{base}rules"),
            heading: "Add a rule".into(),
            button: "Add rule",
            name: String::new(),
            when_new: true,
            when_regression: false,
            when_unignored: false,
            frequency_count: String::new(),
            frequency_minutes: String::new(),
            users_count: String::new(),
            users_minutes: String::new(),
            environments: String::new(),
            levels: choices(&LEVELS, ""),
            tags: String::new(),
            release: String::new(),
            latest_release: false,
            assigned: choices(&ASSIGNED, ""),
            channels: channel_choices(channels, |_| false),
            interval: DEFAULT_INTERVAL_MINUTES.to_string(),
        }
    }

    /// The form that edits stored rule `id`, filled with `spec`.
    pub fn editing(base: &str, id: i64, spec: &RuleSpec, channels: &[Channel]) -> RuleForm {
        let (frequency_count, frequency_minutes) = threshold_text(spec.frequency);
        let (users_count, users_minutes) = threshold_text(spec.users);
        let tags: Vec<String> = spec
            .tags
            .iter()
            .map(|t| format!("{}{}{}", t.key, if t.equals { "=" } else { "!=" }, t.value))
            .collect();
        RuleForm {
            action: format!("{base}rules/{id}"),
            heading: format!("“{}”", spec.name),
            button: "Save rule",
            name: spec.name.clone(),
            when_new: spec.triggers.new,
            when_regression: spec.triggers.regression,
            when_unignored: spec.triggers.unignored,
            frequency_count,
            frequency_minutes,
            users_count,
            users_minutes,
            environments: spec.environments.join(", "),
            levels: choices(&LEVELS, spec.min_level.map(|l| l.as_str()).unwrap_or("")),
            tags: tags.join(", "),
            release: spec.release.clone().unwrap_or_default(),
            latest_release: spec.latest_release,
            assigned: choices(
                &ASSIGNED,
                match spec.assigned {
                    Some(true) => "assigned",
                    Some(false) => "unassigned",
                    None => "",
                },
            ),
            channels: channel_choices(channels, |id| spec.channels.contains(&id)),
            interval: spec.interval_minutes.to_string(),
        }
    }

    /// The same form showing what was typed, after it was refused: nothing typed is lost.
    pub fn with_typed(self, fields: &[(String, String)]) -> RuleForm {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let ticked = |k: &str| fields.iter().any(|(n, _)| n == k);
        let chosen: Vec<&str> = fields
            .iter()
            .filter(|(n, _)| n == "channel")
            .map(|(_, v)| v.as_str())
            .collect();
        RuleForm {
            name: get("name"),
            when_new: ticked("when_new"),
            when_regression: ticked("when_regression"),
            when_unignored: ticked("when_unignored"),
            frequency_count: get("frequency_count"),
            frequency_minutes: get("frequency_minutes"),
            users_count: get("users_count"),
            users_minutes: get("users_minutes"),
            environments: get("environments"),
            levels: choices(&LEVELS, &get("min_level")),
            tags: get("tags"),
            release: get("release"),
            latest_release: ticked("latest_release"),
            assigned: choices(&ASSIGNED, &get("assigned")),
            channels: self
                .channels
                .into_iter()
                .map(|c| ChannelChoice {
                    checked: chosen.contains(&c.id.to_string().as_str()),
                    ..c
                })
                .collect(),
            interval: get("interval"),
            ..self
        }
    }
}

/// `customer=acme, canary!=yes`: tag filters as typed.
fn tag_filters(text: &str) -> Result<Vec<TagFilter>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let (key, value, equals) = match t.split_once("!=") {
                Some((k, v)) => (k, v, false),
                None => match t.split_once('=') {
                    Some((k, v)) => (k, v, true),
                    None => return Err(format!("tag filter {t:?}: write key=value or key!=value")),
                },
            };
            Ok(TagFilter {
                key: key.trim().to_string(),
                equals,
                value: value.trim().to_string(),
            })
        })
        .collect()
}

/// The rule the form describes; repeated `channel` fields are its channels.
pub fn spec_of(fields: &[(String, String)], channels: &[Channel]) -> Result<RuleSpec, String> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let level = match get("min_level").unwrap_or("").trim() {
        "" => None,
        l => Some(Level::parse(&serde_json::Value::String(l.to_string())).ok_or(format!("{l:?} is not a level"))?),
    };
    let interval = get("interval").unwrap_or("30").trim();
    // "More than [count] in [minutes] minutes", both blank when unused.
    let threshold = |count: &str, minutes: &str| -> Result<Option<Threshold>, String> {
        let (c, m) = (get(count).unwrap_or("").trim(), get(minutes).unwrap_or("").trim());
        if c.is_empty() && m.is_empty() {
            return Ok(None);
        }
        match (c.parse(), m.parse()) {
            (Ok(count), Ok(minutes)) => Ok(Some(Threshold { count, minutes })),
            _ => Err(format!(
                "a frequency condition needs two whole numbers, got {c:?} and {m:?}"
            )),
        }
    };
    let spec = RuleSpec {
        name: get("name").unwrap_or("").trim().to_string(),
        triggers: Triggers {
            new: get("when_new").is_some(),
            regression: get("when_regression").is_some(),
            unignored: get("when_unignored").is_some(),
        },
        frequency: threshold("frequency_count", "frequency_minutes")?,
        users: threshold("users_count", "users_minutes")?,
        environments: get("environments")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect(),
        min_level: level,
        tags: tag_filters(get("tags").unwrap_or(""))?,
        release: Some(get("release").unwrap_or("").trim().to_string()).filter(|r| !r.is_empty()),
        latest_release: get("latest_release").is_some(),
        assigned: match get("assigned").unwrap_or("") {
            "assigned" => Some(true),
            "unassigned" => Some(false),
            _ => None,
        },
        interval_minutes: interval
            .parse()
            .map_err(|_| format!("the interval {interval:?} is not a whole number of minutes"))?,
        channels: fields
            .iter()
            .filter(|(n, _)| n == "channel")
            .filter_map(|(_, v)| v.parse::<i64>().ok())
            .filter(|id| channels.iter().any(|c| c.id == *id))
            .collect(),
    };
    spec.validate()?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_filters_are_typed_as_equals_or_not_equals_pairs() {
        let got = tag_filters(" customer=acme, canary != yes ,").unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].equals && got[0].key == "customer" && got[0].value == "acme");
        assert!(!got[1].equals && got[1].key == "canary" && got[1].value == "yes");
        assert!(tag_filters("customer").is_err());
    }
}
