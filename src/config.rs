//! Typed settings, layered: command-line flag > `TOCSIN_*` environment variable > TOML file >
//! built-in default. `tocsin config show` prints the result with where each value came from.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The settings every command shares. Each field is `None` when that layer did not set it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SettingsArgs {
    /// Address the HTTP server listens on.
    #[arg(long, env = "TOCSIN_BIND", global = true)]
    pub bind: Option<String>,
    /// Directory holding `tocsin.db`; created if missing.
    #[arg(long, env = "TOCSIN_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Base URL used in DSNs and links [default: http://<bind>].
    #[arg(long, env = "TOCSIN_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Organization slug of the JSON API (`/api/0/projects/{org}/…`).
    #[arg(long, env = "TOCSIN_ORG", global = true)]
    pub org: Option<String>,
    /// Events that may wait for the writer before ingest answers 429.
    #[arg(long, env = "TOCSIN_QUEUE_CAPACITY", global = true)]
    pub queue_capacity: Option<usize>,
    /// SQLite `synchronous` mode: `normal` survives a crash of the process, `full` also power loss.
    #[arg(long, env = "TOCSIN_SQLITE_SYNCHRONOUS", global = true)]
    pub sqlite_synchronous: Option<Synchronous>,
    /// Notifications per alert channel and hour; beyond it one summary is sent when the hour ends.
    #[arg(long, env = "TOCSIN_ALERT_FLOOD_LIMIT", global = true)]
    pub alert_flood_limit: Option<i64>,
    /// Take the client address from `X-Forwarded-For` (set this only behind a reverse proxy
    /// that overwrites the header; otherwise clients could claim any address).
    #[arg(long, env = "TOCSIN_TRUST_FORWARDED_FOR", global = true)]
    pub trust_forwarded_for: Option<bool>,
    /// Seconds of the flood guard's window (default one hour).
    #[arg(long, env = "TOCSIN_ALERT_FLOOD_WINDOW", global = true)]
    pub alert_flood_window: Option<f64>,
    /// Seconds before the first retry of a failed notification; each retry waits twice as long.
    #[arg(long, env = "TOCSIN_ALERT_RETRY_SECONDS", global = true)]
    pub alert_retry_seconds: Option<f64>,
    /// Allow webhooks to loopback, private and link-local addresses (off: such URLs are refused).
    #[arg(long, env = "TOCSIN_ALLOW_PRIVATE_WEBHOOKS", global = true)]
    pub allow_private_webhooks: Option<bool>,
    /// SMTP server for email alerts; unset disables email.
    #[arg(long, env = "TOCSIN_SMTP_HOST", global = true)]
    pub smtp_host: Option<String>,
    /// SMTP port.
    #[arg(long, env = "TOCSIN_SMTP_PORT", global = true)]
    pub smtp_port: Option<u16>,
    /// SMTP transport security: none, starttls or tls.
    #[arg(long, env = "TOCSIN_SMTP_TLS", global = true)]
    pub smtp_tls: Option<SmtpTls>,
    /// SMTP user, if the server wants one.
    #[arg(long, env = "TOCSIN_SMTP_USER", global = true)]
    pub smtp_user: Option<String>,
    /// SMTP password (never printed).
    #[arg(long, env = "TOCSIN_SMTP_PASSWORD", global = true)]
    pub smtp_password: Option<String>,
    /// Sender of alert emails.
    #[arg(long, env = "TOCSIN_SMTP_FROM", global = true)]
    pub smtp_from: Option<String>,
    /// Refuse ingest (503) while the data directory's disk has fewer free bytes than this.
    #[arg(long, env = "TOCSIN_MIN_FREE_DISK", global = true)]
    pub min_free_disk: Option<u64>,
    /// Events kept per project unless the project sets its own limit (older events of busy issues are thinned first).
    #[arg(long, env = "TOCSIN_RETENTION_MAX_EVENTS", global = true)]
    pub retention_max_events: Option<i64>,
    /// Days an event is kept unless the project sets its own limit.
    #[arg(long, env = "TOCSIN_RETENTION_MAX_AGE_DAYS", global = true)]
    pub retention_max_age_days: Option<f64>,
    /// Seconds between retention passes (eviction, vacuum, persisting rejected counts).
    #[arg(long, env = "TOCSIN_RETENTION_INTERVAL", global = true)]
    pub retention_interval: Option<f64>,
    /// Events per second the whole server accepts before answering 429 (0: no limit).
    #[arg(long, env = "TOCSIN_SERVER_RATE_LIMIT", global = true)]
    pub server_rate_limit: Option<u64>,
    /// Seconds a client has to send a request body; slower bodies get 408 (slow-loris defence).
    #[arg(long, env = "TOCSIN_BODY_TIMEOUT", global = true)]
    pub body_timeout: Option<f64>,
    /// Bytes that request bodies, their decoders and the events parsed from them may hold at
    /// once, server-wide; past it, ingest answers 503 + Retry-After (a quarter is kept for
    /// small requests, and one request may hold at most half).
    #[arg(long, env = "TOCSIN_REQUEST_MEMORY", global = true)]
    pub request_memory: Option<usize>,
    /// Optional TOML file with any of the keys above (as `data_dir = "…"`).
    #[arg(long, env = "TOCSIN_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// The same keys as read from the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    bind: Option<String>,
    data_dir: Option<PathBuf>,
    public_url: Option<String>,
    org: Option<String>,
    queue_capacity: Option<usize>,
    sqlite_synchronous: Option<Synchronous>,
    trust_forwarded_for: Option<bool>,
    alert_flood_limit: Option<i64>,
    min_free_disk: Option<u64>,
    alert_flood_window: Option<f64>,
    alert_retry_seconds: Option<f64>,
    allow_private_webhooks: Option<bool>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_tls: Option<SmtpTls>,
    smtp_user: Option<String>,
    smtp_password: Option<String>,
    smtp_from: Option<String>,
    retention_max_events: Option<i64>,
    retention_max_age_days: Option<f64>,
    retention_interval: Option<f64>,
    server_rate_limit: Option<u64>,
    body_timeout: Option<f64>,
    request_memory: Option<usize>,
}

/// How hard SQLite works to make a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// A commit survives the process crashing (WAL + NORMAL); the default.
    Normal,
    /// A commit also survives the machine losing power, at the cost of an fsync per commit.
    Full,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same machine or network).
    None,
    /// Upgrade with STARTTLS (usually port 587).
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

impl SmtpTls {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::None => "none",
            SmtpTls::Starttls => "starttls",
            SmtpTls::Tls => "tls",
        }
    }
}

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

/// The effective settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: Setting<String>,
    pub data_dir: Setting<PathBuf>,
    /// `None` means "derive from the address actually bound".
    pub public_url: Setting<Option<String>>,
    pub org: Setting<String>,
    pub queue_capacity: Setting<usize>,
    pub sqlite_synchronous: Setting<Synchronous>,
    pub trust_forwarded_for: Setting<bool>,
    pub alert_flood_limit: Setting<i64>,
    pub min_free_disk: Setting<u64>,
    pub alert_flood_window: Setting<f64>,
    pub alert_retry_seconds: Setting<f64>,
    pub allow_private_webhooks: Setting<bool>,
    pub smtp_host: Setting<Option<String>>,
    pub smtp_port: Setting<u16>,
    pub smtp_tls: Setting<SmtpTls>,
    pub smtp_user: Setting<Option<String>>,
    pub smtp_password: Setting<Option<String>>,
    pub smtp_from: Setting<String>,
    pub retention_max_events: Setting<i64>,
    pub retention_max_age_days: Setting<f64>,
    pub retention_interval: Setting<f64>,
    pub server_rate_limit: Setting<u64>,
    pub body_timeout: Setting<f64>,
    pub request_memory: Setting<usize>,
    pub config_file: Option<PathBuf>,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8000";
pub const DEFAULT_DATA_DIR: &str = "./tocsin-data";
pub const DEFAULT_ORG: &str = "default";
pub const DEFAULT_QUEUE_CAPACITY: usize = 5_000;
/// 64 MiB: room for hundreds of ordinary requests at once, and a server that stays well under
/// 200 MB whatever clients send.
pub const DEFAULT_REQUEST_MEMORY: usize = 64 * 1024 * 1024;
pub const DEFAULT_ALERT_FLOOD_LIMIT: i64 = 30;

/// Every environment variable Tocsin reads; others with the `TOCSIN_` prefix are probably typos.
const KNOWN_ENV: &[&str] = &[
    "TOCSIN_BIND",
    "TOCSIN_DATA_DIR",
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
    "TOCSIN_CONFIG",
];

impl Settings {
    /// Resolves the layers. `args` already merged flags over environment (clap does that); to tell
    /// the two apart for `config show`, we look at whether the variable is set.
    pub fn resolve(args: &SettingsArgs) -> anyhow::Result<Settings> {
        warn_unknown_env();
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let settings = Settings {
            bind: layer(args.bind.clone(), "TOCSIN_BIND", file.bind, DEFAULT_BIND.into()),
            data_dir: layer(
                args.data_dir.clone(),
                "TOCSIN_DATA_DIR",
                file.data_dir,
                PathBuf::from(DEFAULT_DATA_DIR),
            ),
            public_url: layer(
                args.public_url.clone().map(Some),
                "TOCSIN_PUBLIC_URL",
                file.public_url.map(Some),
                None,
            ),
            org: layer(args.org.clone(), "TOCSIN_ORG", file.org, DEFAULT_ORG.into()),
            queue_capacity: layer(
                args.queue_capacity,
                "TOCSIN_QUEUE_CAPACITY",
                file.queue_capacity,
                DEFAULT_QUEUE_CAPACITY,
            ),
            sqlite_synchronous: layer(
                args.sqlite_synchronous,
                "TOCSIN_SQLITE_SYNCHRONOUS",
                file.sqlite_synchronous,
                Synchronous::Normal,
            ),
            trust_forwarded_for: layer(
                args.trust_forwarded_for,
                "TOCSIN_TRUST_FORWARDED_FOR",
                file.trust_forwarded_for,
                false,
            ),
            alert_flood_limit: layer(
                args.alert_flood_limit,
                "TOCSIN_ALERT_FLOOD_LIMIT",
                file.alert_flood_limit,
                DEFAULT_ALERT_FLOOD_LIMIT,
            ),
            alert_flood_window: layer(
                args.alert_flood_window,
                "TOCSIN_ALERT_FLOOD_WINDOW",
                file.alert_flood_window,
                3600.0,
            ),
            alert_retry_seconds: layer(
                args.alert_retry_seconds,
                "TOCSIN_ALERT_RETRY_SECONDS",
                file.alert_retry_seconds,
                10.0,
            ),
            allow_private_webhooks: layer(
                args.allow_private_webhooks,
                "TOCSIN_ALLOW_PRIVATE_WEBHOOKS",
                file.allow_private_webhooks,
                false,
            ),
            smtp_host: layer(
                args.smtp_host.clone().map(Some),
                "TOCSIN_SMTP_HOST",
                file.smtp_host.map(Some),
                None,
            ),
            smtp_port: layer(args.smtp_port, "TOCSIN_SMTP_PORT", file.smtp_port, 25),
            smtp_tls: layer(args.smtp_tls, "TOCSIN_SMTP_TLS", file.smtp_tls, SmtpTls::None),
            smtp_user: layer(
                args.smtp_user.clone().map(Some),
                "TOCSIN_SMTP_USER",
                file.smtp_user.map(Some),
                None,
            ),
            smtp_password: layer(
                args.smtp_password.clone().map(Some),
                "TOCSIN_SMTP_PASSWORD",
                file.smtp_password.map(Some),
                None,
            ),
            smtp_from: layer(
                args.smtp_from.clone(),
                "TOCSIN_SMTP_FROM",
                file.smtp_from,
                "Tocsin <tocsin@localhost>".to_string(),
            ),
            min_free_disk: layer(args.min_free_disk, "TOCSIN_MIN_FREE_DISK", file.min_free_disk, 1 << 30),
            retention_max_events: layer(
                args.retention_max_events,
                "TOCSIN_RETENTION_MAX_EVENTS",
                file.retention_max_events,
                10_000,
            ),
            retention_max_age_days: layer(
                args.retention_max_age_days,
                "TOCSIN_RETENTION_MAX_AGE_DAYS",
                file.retention_max_age_days,
                90.0,
            ),
            retention_interval: layer(
                args.retention_interval,
                "TOCSIN_RETENTION_INTERVAL",
                file.retention_interval,
                60.0,
            ),
            server_rate_limit: layer(
                args.server_rate_limit,
                "TOCSIN_SERVER_RATE_LIMIT",
                file.server_rate_limit,
                0,
            ),
            body_timeout: layer(args.body_timeout, "TOCSIN_BODY_TIMEOUT", file.body_timeout, 30.0),
            request_memory: layer(
                args.request_memory,
                "TOCSIN_REQUEST_MEMORY",
                file.request_memory,
                DEFAULT_REQUEST_MEMORY,
            ),
            config_file: args.config.clone(),
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.alert_flood_window.value < 1.0 || self.alert_retry_seconds.value <= 0.0 {
            anyhow::bail!(
                "alert_flood_window must be at least 1 second and alert_retry_seconds positive (see --alert-flood-window, --alert-retry-seconds)"
            );
        }
        if self.alert_flood_limit.value < 1 {
            anyhow::bail!("alert_flood_limit must be at least 1 (set --alert-flood-limit or TOCSIN_ALERT_FLOOD_LIMIT)");
        }
        if self.retention_max_events.value < 1 || self.retention_max_age_days.value <= 0.0 {
            anyhow::bail!(
                "retention_max_events must be at least 1 and retention_max_age_days positive (see --retention-max-events, --retention-max-age-days)"
            );
        }
        if self.body_timeout.value.is_nan() || self.body_timeout.value < 0.5 {
            anyhow::bail!("body_timeout must be at least 0.5 seconds (set --body-timeout or TOCSIN_BODY_TIMEOUT)");
        }
        if self.request_memory.value < 8 * 1024 * 1024 {
            anyhow::bail!(
                "request_memory must be at least 8388608 bytes (set --request-memory or TOCSIN_REQUEST_MEMORY)"
            );
        }
        if self.retention_interval.value < 0.1 {
            anyhow::bail!("retention_interval must be at least 0.1 seconds (set --retention-interval)");
        }
        if self.queue_capacity.value == 0 {
            anyhow::bail!("queue_capacity must be at least 1 (set --queue-capacity or TOCSIN_QUEUE_CAPACITY)");
        }
        if let Some(url) = &self.public_url.value
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            anyhow::bail!(
                "public_url {url:?} must start with http:// or https:// (set --public-url or TOCSIN_PUBLIC_URL)"
            );
        }
        Ok(())
    }

    /// Path of the SQLite database inside the data directory.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.value.join("tocsin.db")
    }

    /// The public base URL without a trailing slash, given the address the server really bound.
    pub fn public_url_for(&self, bound: &str) -> String {
        match &self.public_url.value {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{bound}"),
        }
    }

    /// Human-readable listing for `tocsin config show`. Nothing secret is configured yet; when
    /// secrets arrive (SMTP passwords, webhook URLs) they are printed as `<redacted>` here.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Some(path) = &self.config_file {
            out.push_str(&format!("# config file: {}\n", path.display()));
        }
        let mut line = |key: &str, value: String, source: Source| {
            out.push_str(&format!("{key} = {value}  # {source}\n"));
        };
        line("bind", quote(&self.bind.value), self.bind.source);
        line(
            "data_dir",
            quote(&self.data_dir.value.display().to_string()),
            self.data_dir.source,
        );
        let public = match &self.public_url.value {
            Some(url) => quote(url),
            None => quote(&format!("http://{}", self.bind.value)),
        };
        line("public_url", public, self.public_url.source);
        line("org", quote(&self.org.value), self.org.source);
        line(
            "queue_capacity",
            self.queue_capacity.value.to_string(),
            self.queue_capacity.source,
        );
        let sync = match self.sqlite_synchronous.value {
            Synchronous::Normal => "normal",
            Synchronous::Full => "full",
        };
        line("sqlite_synchronous", quote(sync), self.sqlite_synchronous.source);
        line(
            "trust_forwarded_for",
            self.trust_forwarded_for.value.to_string(),
            self.trust_forwarded_for.source,
        );
        line(
            "alert_flood_limit",
            self.alert_flood_limit.value.to_string(),
            self.alert_flood_limit.source,
        );
        line(
            "alert_flood_window",
            self.alert_flood_window.value.to_string(),
            self.alert_flood_window.source,
        );
        line(
            "alert_retry_seconds",
            self.alert_retry_seconds.value.to_string(),
            self.alert_retry_seconds.source,
        );
        line(
            "allow_private_webhooks",
            self.allow_private_webhooks.value.to_string(),
            self.allow_private_webhooks.source,
        );
        line(
            "smtp_host",
            quote(self.smtp_host.value.as_deref().unwrap_or("")),
            self.smtp_host.source,
        );
        line("smtp_port", self.smtp_port.value.to_string(), self.smtp_port.source);
        line("smtp_tls", quote(self.smtp_tls.value.as_str()), self.smtp_tls.source);
        line(
            "smtp_user",
            quote(self.smtp_user.value.as_deref().unwrap_or("")),
            self.smtp_user.source,
        );
        line(
            "smtp_password",
            quote(if self.smtp_password.value.is_some() {
                "<redacted>"
            } else {
                ""
            }),
            self.smtp_password.source,
        );
        line("smtp_from", quote(&self.smtp_from.value), self.smtp_from.source);
        line(
            "min_free_disk",
            self.min_free_disk.value.to_string(),
            self.min_free_disk.source,
        );
        line(
            "retention_max_events",
            self.retention_max_events.value.to_string(),
            self.retention_max_events.source,
        );
        line(
            "retention_max_age_days",
            self.retention_max_age_days.value.to_string(),
            self.retention_max_age_days.source,
        );
        line(
            "retention_interval",
            self.retention_interval.value.to_string(),
            self.retention_interval.source,
        );
        line(
            "server_rate_limit",
            self.server_rate_limit.value.to_string(),
            self.server_rate_limit.source,
        );
        line(
            "body_timeout",
            self.body_timeout.value.to_string(),
            self.body_timeout.source,
        );
        line(
            "request_memory",
            self.request_memory.value.to_string(),
            self.request_memory.source,
        );
        out
    }
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

fn layer<T>(arg: Option<T>, env: &str, file: Option<T>, default: T) -> Setting<T> {
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

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {} (--config / TOCSIN_CONFIG)", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

fn warn_unknown_env() {
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

    #[test]
    fn unknown_keys_in_the_file_are_an_error() {
        let err = toml::from_str::<FileSettings>("datadir = \"x\"").unwrap_err();
        assert!(err.to_string().contains("datadir"), "{err}");
    }
}
