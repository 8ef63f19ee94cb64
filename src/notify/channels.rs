//! Validating alert channels, the one way for the CLI, the API and the UI.

use crate::project::random_hex;
use crate::store::Triggers;

/// A checked channel, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    pub kind: &'static str,
    pub target: String,
    /// Generated for webhooks when not given; shown to the person once.
    pub secret: Option<String>,
}

/// An email channel's target that means "the members of the project": every user, since each
/// sees every project. Read when a message goes out, so people who join later get it too.
pub const MEMBERS: &str = "members";

/// `kind` is `email` (target: comma-separated addresses, or [`MEMBERS`]), or a chat service or
/// `webhook` (target: URL).
pub fn parse(kind: &str, target: &str, secret: Option<String>) -> Result<ChannelSpec, String> {
    let target = target.trim();
    match kind {
        "email" if target.eq_ignore_ascii_case(MEMBERS) => Ok(ChannelSpec {
            kind: "email",
            target: MEMBERS.into(),
            secret: None,
        }),
        "email" => {
            let list: Vec<&str> = target.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
            if list.is_empty() || list.iter().any(|a| !a.contains('@') || a.contains(char::is_whitespace)) {
                return Err(format!(
                    "email channels need comma-separated email addresses, or {MEMBERS:?} for everyone with an account"
                ));
            }
            Ok(ChannelSpec {
                kind: "email",
                target: list.join(","),
                secret: None,
            })
        }
        "slack" | "webhook" | "discord" | "teams" | "mattermost" | "rocketchat" | "googlechat" | "ntfy" => {
            let url = reqwest::Url::parse(target).map_err(|e| format!("{target:?} is not an http(s) URL: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(format!("{target:?} is not an http(s) URL"));
            }
            if kind == "ntfy" && super::chat::ntfy_target(target).is_none() {
                return Err(format!(
                    "{target:?} is not an ntfy topic URL (https://ntfy.sh/your-topic)"
                ));
            }
            let (kind, secret) = match kind {
                "webhook" => (
                    "webhook",
                    Some(secret.filter(|s| !s.is_empty()).unwrap_or_else(|| random_hex(32))),
                ),
                "slack" => ("slack", None),
                "discord" => ("discord", None),
                "teams" => ("teams", None),
                "mattermost" => ("mattermost", None),
                "rocketchat" => ("rocketchat", None),
                "googlechat" => ("googlechat", None),
                _ => ("ntfy", None),
            };
            Ok(ChannelSpec {
                kind,
                target: target.to_string(),
                secret,
            })
        }
        other => Err(format!(
            "unknown channel kind {other:?}: use email, slack, discord, teams, mattermost, rocketchat, googlechat, ntfy or webhook"
        )),
    }
}

/// `new,regression,unignored` (any subset, at least one).
pub fn parse_triggers(list: &str) -> Result<Triggers, String> {
    let mut t = Triggers {
        new: false,
        regression: false,
        unignored: false,
    };
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item {
            "new" => t.new = true,
            "regression" => t.regression = true,
            "unignored" => t.unignored = true,
            other => return Err(format!("unknown trigger {other:?}: use new, regression or unignored")),
        }
    }
    if t == (Triggers {
        new: false,
        regression: false,
        unignored: false,
    }) {
        return Err("name at least one trigger: new, regression, unignored".into());
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_checked_and_webhooks_get_a_secret() {
        assert_eq!(
            parse("email", " a@x.org, b@y.org ", None).unwrap().target,
            "a@x.org,b@y.org"
        );
        assert!(parse("email", "not-an-address", None).is_err());
        assert!(parse("slack", "ftp://x", None).is_err());
        assert_eq!(
            parse("webhook", "https://h.example/x", None)
                .unwrap()
                .secret
                .unwrap()
                .len(),
            64
        );
        assert!(parse("pager", "x", None).is_err());
    }

    #[test]
    fn trigger_lists_parse() {
        assert_eq!(
            parse_triggers("new,regression").unwrap(),
            Triggers {
                new: true,
                regression: true,
                unignored: false
            }
        );
        assert!(parse_triggers("").is_err());
        assert!(parse_triggers("new,loud").is_err());
    }
}
