//! Alert rules (issue 17): *when* an issue is new, regresses or comes back from being ignored,
//! *if* its event passes the rule's filters, *then* notify the rule's channels, not more than
//! once per issue every `interval_minutes`. What a rule is and whether an event passes it; the
//! store keeps rules and decides the interval inside the writer's transaction.

use serde::{Deserialize, Serialize};

use crate::event::Level;
use crate::store::{Trigger, Triggers};

/// The interval a new rule gets when none is given (Sentry's default for issue alerts).
pub const DEFAULT_INTERVAL_MINUTES: i64 = 30;
/// The longest interval accepted: 30 days.
const MAX_INTERVAL_MINUTES: i64 = 30 * 24 * 60;
/// Bounds that keep a rule small enough to evaluate per event without thought.
const MAX_ENVIRONMENTS: usize = 50;
const MAX_TAG_FILTERS: usize = 20;
const MAX_TEXT: usize = 200;

/// "More than `count` in `minutes`": of events, or of distinct users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    pub count: i64,
    pub minutes: i64,
}

/// The longest window of a frequency condition: 30 days (what `issue_minutes` keeps).
pub const MAX_WINDOW_MINUTES: i64 = 30 * 24 * 60;

/// A tag condition: the event has the tag `key` with `value` (`equals`), or does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagFilter {
    pub key: String,
    pub equals: bool,
    pub value: String,
}

/// A rule as a person writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub name: String,
    pub triggers: Triggers,
    /// The issue is seen more than N times in M minutes (by the events' timestamps).
    pub frequency: Option<Threshold>,
    /// The issue affects more than N distinct users in M minutes.
    pub users: Option<Threshold>,
    /// The event's environment is one of these (empty: any).
    pub environments: Vec<String>,
    /// The event's level is at least this.
    pub min_level: Option<Level>,
    /// Every one must hold.
    pub tags: Vec<TagFilter>,
    /// The event's release matches this pattern (`*`: any run of characters).
    pub release: Option<String>,
    /// The event's release is the project's latest (in the releases page's order).
    pub latest_release: bool,
    /// The issue is assigned (`true`) or unassigned (`false`).
    pub assigned: Option<bool>,
    /// At most once per issue in this many minutes; 0: every time.
    pub interval_minutes: i64,
    /// Where it sends (alert channel ids of the same project).
    pub channels: Vec<i64>,
}

/// What a rule's filters read of the event that set it off.
#[derive(Debug, Clone, Copy)]
pub struct AlertFacts<'a> {
    pub environment: Option<&'a str>,
    pub level: &'a str,
    pub tags: &'a [(String, String)],
    pub release: Option<&'a str>,
    /// Whether the issue has an assignee; read only when a rule asks ([`RuleSpec::admits`]
    /// takes `None` as "unknown", which no assignee filter admits).
    pub assigned: Option<bool>,
    /// Whether the event's release is the project's latest; read only when a rule asks, as
    /// `assigned` is.
    pub release_is_latest: Option<bool>,
}

impl RuleSpec {
    /// The rule a channel made with triggers brings: those triggers, no filter, every time,
    /// to that channel alone (what a channel's triggers meant before rules).
    pub fn for_channel(name: String, triggers: Triggers, channel: i64) -> RuleSpec {
        RuleSpec {
            name,
            triggers,
            frequency: None,
            users: None,
            environments: Vec::new(),
            min_level: None,
            tags: Vec::new(),
            release: None,
            latest_release: false,
            assigned: None,
            interval_minutes: 0,
            channels: vec![channel],
        }
    }

    pub fn hears(&self, trigger: Trigger) -> bool {
        match trigger {
            Trigger::New => self.triggers.new,
            Trigger::Regression => self.triggers.regression,
            Trigger::Unignored => self.triggers.unignored,
            // Decided by the writer's counts, rule by rule (`store::frequency`).
            Trigger::Frequency | Trigger::Users => false,
        }
    }

    /// Whether the event passes every filter.
    pub fn admits(&self, facts: &AlertFacts<'_>) -> bool {
        let environment = self.environments.is_empty()
            || facts
                .environment
                .is_some_and(|env| self.environments.iter().any(|e| e == env));
        let level = self.min_level.is_none_or(|min| {
            Level::parse(&serde_json::Value::String(facts.level.to_string())).is_some_and(|l| l >= min)
        });
        let tags = self.tags.iter().all(|f| {
            let has = facts.tags.iter().any(|(k, v)| *k == f.key && *v == f.value);
            has == f.equals
        });
        let release = self
            .release
            .as_deref()
            .is_none_or(|pattern| facts.release.is_some_and(|r| wildcard(pattern, r)));
        let assigned = self.assigned.is_none_or(|want| facts.assigned == Some(want));
        let latest = !self.latest_release || facts.release_is_latest == Some(true);
        environment && level && tags && release && assigned && latest
    }

    /// Whether a rule with this spec reads the assignee.
    pub fn needs_assignee(&self) -> bool {
        self.assigned.is_some()
    }

    /// Whether a rule with this spec reads the project's latest release.
    pub fn needs_latest_release(&self) -> bool {
        self.latest_release
    }

    /// Checks what a person wrote; the error says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_TEXT {
            return Err(format!("a rule needs a name of 1 to {MAX_TEXT} characters"));
        }
        if !(self.triggers.new || self.triggers.regression || self.triggers.unignored)
            && self.frequency.is_none()
            && self.users.is_none()
        {
            return Err(
                "a rule needs at least one trigger: new, regression, unignored, or a frequency or users condition"
                    .into(),
            );
        }
        for t in self.frequency.iter().chain(self.users.iter()) {
            if t.count < 0 || !(1..=MAX_WINDOW_MINUTES).contains(&t.minutes) {
                return Err(format!(
                    "a frequency condition needs a count of 0 or more and a window of 1 to {MAX_WINDOW_MINUTES} minutes"
                ));
            }
        }
        if !(0..=MAX_INTERVAL_MINUTES).contains(&self.interval_minutes) {
            return Err(format!(
                "the interval is {} minutes; use 0 (every time) to {MAX_INTERVAL_MINUTES} (30 days)",
                self.interval_minutes
            ));
        }
        if self.environments.len() > MAX_ENVIRONMENTS
            || self.environments.iter().any(|e| e.is_empty() || e.len() > MAX_TEXT)
        {
            return Err(format!(
                "environments: at most {MAX_ENVIRONMENTS} names of 1 to {MAX_TEXT} characters"
            ));
        }
        if self.tags.len() > MAX_TAG_FILTERS
            || self
                .tags
                .iter()
                .any(|t| t.key.is_empty() || t.key.len() > MAX_TEXT || t.value.len() > MAX_TEXT)
        {
            return Err(format!(
                "tag filters: at most {MAX_TAG_FILTERS}, each a key of 1 to {MAX_TEXT} characters and a value of at most {MAX_TEXT}"
            ));
        }
        if self
            .release
            .as_deref()
            .is_some_and(|p| p.is_empty() || p.len() > MAX_TEXT)
        {
            return Err(format!("a release pattern has 1 to {MAX_TEXT} characters"));
        }
        if self.channels.is_empty() {
            return Err("a rule needs at least one channel to send to".into());
        }
        Ok(())
    }
}

/// `pattern` with `*` matching any run of characters (and nothing else special) matches all of
/// `text`.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return text == pattern;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> RuleSpec {
        RuleSpec {
            name: "production errors".into(),
            triggers: Triggers {
                new: true,
                regression: false,
                unignored: false,
            },
            frequency: None,
            users: None,
            release: None,
            assigned: None,
            latest_release: false,
            environments: vec!["production".into()],
            min_level: Some(Level::Error),
            tags: vec![
                TagFilter {
                    key: "customer".into(),
                    equals: true,
                    value: "acme".into(),
                },
                TagFilter {
                    key: "canary".into(),
                    equals: false,
                    value: "yes".into(),
                },
            ],
            interval_minutes: 30,
            channels: vec![1],
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn an_event_passes_only_when_environment_level_and_every_tag_filter_hold() {
        let r = rule();
        let acme = tags(&[("customer", "acme")]);
        let facts = |environment, level, tags| AlertFacts {
            environment,
            level,
            tags,
            release: None,
            assigned: None,
            release_is_latest: None,
        };
        assert!(r.admits(&facts(Some("production"), "error", &acme)));
        assert!(r.admits(&facts(Some("production"), "fatal", &acme)));
        assert!(
            !r.admits(&facts(Some("staging"), "error", &acme)),
            "another environment"
        );
        assert!(!r.admits(&facts(None, "error", &acme)), "no environment");
        assert!(
            !r.admits(&facts(Some("production"), "warning", &acme)),
            "below the level"
        );
        let none = tags(&[]);
        assert!(!r.admits(&facts(Some("production"), "error", &none)), "no customer tag");
        let canary = tags(&[("customer", "acme"), ("canary", "yes")]);
        assert!(
            !r.admits(&facts(Some("production"), "error", &canary)),
            "canary=yes is excluded"
        );
        let open = RuleSpec {
            environments: vec![],
            min_level: None,
            tags: vec![],
            ..rule()
        };
        assert!(open.admits(&facts(None, "debug", &[])), "no filters: everything passes");
        assert!(r.hears(Trigger::New) && !r.hears(Trigger::Regression));
    }

    #[test]
    fn release_patterns_and_assignee_filters_decide_too() {
        let r = RuleSpec {
            environments: vec![],
            min_level: None,
            tags: vec![],
            release: Some("shop@2.*".into()),
            assigned: Some(false),
            ..rule()
        };
        let facts = |release, assigned| AlertFacts {
            environment: None,
            level: "error",
            tags: &[],
            release,
            assigned,
            release_is_latest: None,
        };
        assert!(r.admits(&facts(Some("shop@2.4.1"), Some(false))));
        assert!(!r.admits(&facts(Some("shop@1.9"), Some(false))), "another release");
        assert!(!r.admits(&facts(None, Some(false))), "no release");
        assert!(!r.admits(&facts(Some("shop@2.0"), Some(true))), "assigned");
        assert!(!r.admits(&facts(Some("shop@2.0"), None)), "assignee unknown");
        let latest = RuleSpec {
            release: None,
            assigned: None,
            latest_release: true,
            ..r.clone()
        };
        let facts = |release_is_latest| AlertFacts {
            environment: None,
            level: "error",
            tags: &[],
            release: Some("shop@2.4.1"),
            assigned: None,
            release_is_latest,
        };
        assert!(latest.admits(&facts(Some(true))));
        assert!(!latest.admits(&facts(Some(false))), "an older release");
        assert!(!latest.admits(&facts(None)), "not known");
        for (pattern, text, hit) in [
            ("*", "anything", true),
            ("1.*.3", "1.22.3", true),
            ("1.*.3", "1.22.4", false),
            ("*-beta", "2.0-beta", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("a*a", "a", false),
        ] {
            assert_eq!(wildcard(pattern, text), hit, "{pattern} {text}");
        }
    }

    #[test]
    fn a_rule_without_name_trigger_channel_or_with_a_wild_interval_is_refused() {
        assert!(rule().validate().is_ok());
        let bad = [
            RuleSpec {
                name: " ".into(),
                ..rule()
            },
            RuleSpec {
                triggers: Triggers {
                    new: false,
                    regression: false,
                    unignored: false,
                },
                ..rule()
            },
            RuleSpec {
                interval_minutes: -1,
                ..rule()
            },
            RuleSpec {
                interval_minutes: MAX_INTERVAL_MINUTES + 1,
                ..rule()
            },
            RuleSpec {
                channels: vec![],
                ..rule()
            },
            RuleSpec {
                environments: vec![String::new()],
                ..rule()
            },
        ];
        for spec in bad {
            assert!(spec.validate().is_err(), "{spec:?}");
        }
    }
}
