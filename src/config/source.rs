//! Where each effective value comes from: flag, environment, file or default.

use std::fmt;

/// Where an effective value came from; printed by `config show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    File,
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "command-line flag",
            Source::Env => "environment",
            Source::File => "config file",
            Source::Default => "default",
        })
    }
}

/// A resolved value and its origin.
#[derive(Debug, Clone)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

/// Every environment variable Tocsin reads; others with the `TOCSIN_` prefix are probably typos.
const KNOWN_ENV: &[&str] = &[
    "TOCSIN_BIND",
    "TOCSIN_DATA_DIR",
    "TOCSIN_DATABASE_URL",
    "TOCSIN_PUBLIC_URL",
    "TOCSIN_ORG",
    "TOCSIN_QUEUE_CAPACITY",
    "TOCSIN_SQLITE_SYNCHRONOUS",
    "TOCSIN_TRUST_FORWARDED_FOR",
    "TOCSIN_ALERT_FLOOD_LIMIT",
    "TOCSIN_ALERT_FLOOD_WINDOW",
    "TOCSIN_ALERT_RETRY_SECONDS",
    "TOCSIN_ALLOW_PRIVATE_WEBHOOKS",
    "TOCSIN_SMTP_HOST",
    "TOCSIN_SMTP_PORT",
    "TOCSIN_SMTP_TLS",
    "TOCSIN_SMTP_USER",
    "TOCSIN_SMTP_PASSWORD",
    "TOCSIN_SMTP_FROM",
    "TOCSIN_MIN_FREE_DISK",
    "TOCSIN_RETENTION_MAX_EVENTS",
    "TOCSIN_RETENTION_MAX_AGE_DAYS",
    "TOCSIN_RETENTION_INTERVAL",
    "TOCSIN_SERVER_RATE_LIMIT",
    "TOCSIN_BODY_TIMEOUT",
    "TOCSIN_REQUEST_MEMORY",
    "TOCSIN_ARTIFACTS_MAX_PROJECT_BYTES",
    "TOCSIN_ARTIFACTS_MAX_FILE_BYTES",
    "TOCSIN_SOURCEMAP_CACHE_BYTES",
    "TOCSIN_CONFIG",
];

pub(super) fn layer<T>(arg: Option<T>, env: &str, file: Option<T>, default: T) -> Setting<T> {
    match (arg, file) {
        (Some(value), _) => {
            let source = if std::env::var_os(env).is_some() {
                // clap fills the field from the variable when no flag was given; a flag given
                // together with the variable also lands here, and the flag won.
                if std::env::args().any(|a| a.starts_with(&flag_name(env))) {
                    Source::Flag
                } else {
                    Source::Env
                }
            } else {
                Source::Flag
            };
            Setting { value, source }
        }
        (None, Some(value)) => Setting {
            value,
            source: Source::File,
        },
        (None, None) => Setting {
            value: default,
            source: Source::Default,
        },
    }
}

/// `TOCSIN_DATA_DIR` → `--data-dir`.
fn flag_name(env: &str) -> String {
    let name = env.trim_start_matches("TOCSIN_").to_lowercase().replace('_', "-");
    format!("--{name}")
}

/// Logs a warning for each `TOCSIN_*` variable Tocsin does not read, since it is probably a typo.
pub(super) fn warn_unknown_env() {
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("TOCSIN_") && !KNOWN_ENV.contains(&key) {
            tracing::warn!(
                variable = key,
                "ignoring unknown environment variable; known: {}",
                KNOWN_ENV.join(", ")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names_follow_the_environment_names() {
        assert_eq!(flag_name("TOCSIN_DATA_DIR"), "--data-dir");
        assert_eq!(flag_name("TOCSIN_BIND"), "--bind");
    }

    #[test]
    fn a_file_value_beats_the_default_and_loses_to_a_flag() {
        let from_file = layer(None, "TOCSIN_NOT_SET_ANYWHERE", Some(7), 1);
        assert_eq!((from_file.value, from_file.source), (7, Source::File));
        let from_default = layer::<u32>(None, "TOCSIN_NOT_SET_ANYWHERE", None, 1);
        assert_eq!((from_default.value, from_default.source), (1, Source::Default));
        let from_flag = layer(Some(9), "TOCSIN_NOT_SET_ANYWHERE", Some(7), 1);
        assert_eq!((from_flag.value, from_flag.source), (9, Source::Flag));
    }
}
