//! Event severity, with the spellings old and new clients use.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
    Fatal,
}

impl Level {
    /// Reads a level the way Relay does: names in any case, `log`/`critical`/`warn` aliases, and
    /// raven's Python logging integers (10…50). Unknown input gives `None`.
    pub fn parse(value: &serde_json::Value) -> Option<Level> {
        match value {
            serde_json::Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "debug" => Some(Level::Debug),
                "info" | "log" => Some(Level::Info),
                "warning" | "warn" => Some(Level::Warning),
                "error" => Some(Level::Error),
                "fatal" | "critical" => Some(Level::Fatal),
                other => other.parse::<i64>().ok().and_then(Level::from_logging_int),
            },
            serde_json::Value::Number(n) => n.as_i64().and_then(Level::from_logging_int),
            _ => None,
        }
    }

    fn from_logging_int(n: i64) -> Option<Level> {
        match n {
            10 => Some(Level::Debug),
            20 => Some(Level::Info),
            30 => Some(Level::Warning),
            40 => Some(Level::Error),
            50 => Some(Level::Fatal),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn raven_integer_levels_map_to_names() {
        assert_eq!(Level::parse(&json!(40)), Some(Level::Error));
        assert_eq!(Level::parse(&json!(30)), Some(Level::Warning));
        assert_eq!(Level::parse(&json!("50")), Some(Level::Fatal));
    }

    #[test]
    fn aliases_and_case_are_accepted() {
        assert_eq!(Level::parse(&json!("WARN")), Some(Level::Warning));
        assert_eq!(Level::parse(&json!("critical")), Some(Level::Fatal));
        assert_eq!(Level::parse(&json!("log")), Some(Level::Info));
        assert_eq!(Level::parse(&json!("loud")), None);
        assert_eq!(Level::parse(&json!(35)), None);
    }
}
