//! Typed settings, layered: command-line flag > `TOCSIN_*` environment variable > TOML file >
//! built-in default. `tocsin config show` prints the result with where each value came from.

mod args;
mod file;
mod show;
mod source;

use std::path::PathBuf;

use serde::Deserialize;

pub use args::{PlaceArgs, ServerArgs, SettingsArgs};
use file::{FileSettings, read_file};
pub use source::{Setting, Source};
use source::{layer, warn_unknown_env};

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

// A new setting is declared in six places, and nothing fails if one of the last three is missed:
// 1. `SettingsArgs` (args.rs): the flag and its `TOCSIN_*` variable, with the help text;
// 2. `FileSettings` (file.rs): the TOML key;
// 3. `Settings` below, plus its `layer(…)` call in `resolve` (and a check in `validate`);
// 4. `render` (show.rs): its line in `tocsin config show`;
// 5. `KNOWN_ENV` (source.rs), or setting the variable logs an "unknown variable" warning;
// 6. the README's list of keys.

/// The effective settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: Setting<String>,
    pub data_dir: Setting<PathBuf>,
    /// `None`: the SQLite file in `data_dir`.
    pub database_url: Setting<Option<String>>,
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
    pub artifacts_max_project_bytes: Setting<i64>,
    pub artifacts_max_file_bytes: Setting<u64>,
    pub sourcemap_cache_bytes: Setting<usize>,
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

impl Settings {
    /// Resolves the layers. `args` already merged flags over environment (clap does that); to tell
    /// the two apart for `config show`, we look at whether the variable is set.
    pub fn resolve(args: &SettingsArgs) -> anyhow::Result<Settings> {
        warn_unknown_env();
        let file = match &args.place.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let settings = Settings {
            bind: layer(args.server.bind.clone(), "TOCSIN_BIND", file.bind, DEFAULT_BIND.into()),
            data_dir: layer(
                args.place.data_dir.clone(),
                "TOCSIN_DATA_DIR",
                file.data_dir,
                PathBuf::from(DEFAULT_DATA_DIR),
            ),
            database_url: layer(
                args.place.database_url.clone().map(Some),
                "TOCSIN_DATABASE_URL",
                file.database_url.map(Some),
                None,
            ),
            public_url: layer(
                args.place.public_url.clone().map(Some),
                "TOCSIN_PUBLIC_URL",
                file.public_url.map(Some),
                None,
            ),
            org: layer(args.server.org.clone(), "TOCSIN_ORG", file.org, DEFAULT_ORG.into()),
            queue_capacity: layer(
                args.server.queue_capacity,
                "TOCSIN_QUEUE_CAPACITY",
                file.queue_capacity,
                DEFAULT_QUEUE_CAPACITY,
            ),
            sqlite_synchronous: layer(
                args.server.sqlite_synchronous,
                "TOCSIN_SQLITE_SYNCHRONOUS",
                file.sqlite_synchronous,
                Synchronous::Normal,
            ),
            trust_forwarded_for: layer(
                args.server.trust_forwarded_for,
                "TOCSIN_TRUST_FORWARDED_FOR",
                file.trust_forwarded_for,
                false,
            ),
            alert_flood_limit: layer(
                args.server.alert_flood_limit,
                "TOCSIN_ALERT_FLOOD_LIMIT",
                file.alert_flood_limit,
                DEFAULT_ALERT_FLOOD_LIMIT,
            ),
            alert_flood_window: layer(
                args.server.alert_flood_window,
                "TOCSIN_ALERT_FLOOD_WINDOW",
                file.alert_flood_window,
                3600.0,
            ),
            alert_retry_seconds: layer(
                args.server.alert_retry_seconds,
                "TOCSIN_ALERT_RETRY_SECONDS",
                file.alert_retry_seconds,
                10.0,
            ),
            allow_private_webhooks: layer(
                args.server.allow_private_webhooks,
                "TOCSIN_ALLOW_PRIVATE_WEBHOOKS",
                file.allow_private_webhooks,
                false,
            ),
            smtp_host: layer(
                args.server.smtp_host.clone().map(Some),
                "TOCSIN_SMTP_HOST",
                file.smtp_host.map(Some),
                None,
            ),
            smtp_port: layer(args.server.smtp_port, "TOCSIN_SMTP_PORT", file.smtp_port, 25),
            smtp_tls: layer(args.server.smtp_tls, "TOCSIN_SMTP_TLS", file.smtp_tls, SmtpTls::None),
            smtp_user: layer(
                args.server.smtp_user.clone().map(Some),
                "TOCSIN_SMTP_USER",
                file.smtp_user.map(Some),
                None,
            ),
            smtp_password: layer(
                args.server.smtp_password.clone().map(Some),
                "TOCSIN_SMTP_PASSWORD",
                file.smtp_password.map(Some),
                None,
            ),
            smtp_from: layer(
                args.server.smtp_from.clone(),
                "TOCSIN_SMTP_FROM",
                file.smtp_from,
                "Tocsin <tocsin@localhost>".to_string(),
            ),
            min_free_disk: layer(
                args.server.min_free_disk,
                "TOCSIN_MIN_FREE_DISK",
                file.min_free_disk,
                1 << 30,
            ),
            retention_max_events: layer(
                args.server.retention_max_events,
                "TOCSIN_RETENTION_MAX_EVENTS",
                file.retention_max_events,
                10_000,
            ),
            retention_max_age_days: layer(
                args.server.retention_max_age_days,
                "TOCSIN_RETENTION_MAX_AGE_DAYS",
                file.retention_max_age_days,
                90.0,
            ),
            retention_interval: layer(
                args.server.retention_interval,
                "TOCSIN_RETENTION_INTERVAL",
                file.retention_interval,
                60.0,
            ),
            server_rate_limit: layer(
                args.server.server_rate_limit,
                "TOCSIN_SERVER_RATE_LIMIT",
                file.server_rate_limit,
                0,
            ),
            body_timeout: layer(args.server.body_timeout, "TOCSIN_BODY_TIMEOUT", file.body_timeout, 30.0),
            request_memory: layer(
                args.server.request_memory,
                "TOCSIN_REQUEST_MEMORY",
                file.request_memory,
                DEFAULT_REQUEST_MEMORY,
            ),
            artifacts_max_project_bytes: layer(
                args.server.artifacts_max_project_bytes,
                "TOCSIN_ARTIFACTS_MAX_PROJECT_BYTES",
                file.artifacts_max_project_bytes,
                1024 * 1024 * 1024,
            ),
            artifacts_max_file_bytes: layer(
                args.server.artifacts_max_file_bytes,
                "TOCSIN_ARTIFACTS_MAX_FILE_BYTES",
                file.artifacts_max_file_bytes,
                32 * 1024 * 1024,
            ),
            sourcemap_cache_bytes: layer(
                args.server.sourcemap_cache_bytes,
                "TOCSIN_SOURCEMAP_CACHE_BYTES",
                file.sourcemap_cache_bytes,
                128 * 1024 * 1024,
            ),
            config_file: args.place.config.clone(),
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.database_url.value
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            anyhow::bail!(
                "database_url {:?} must start with postgres:// (set --database-url or TOCSIN_DATABASE_URL; leave it unset for SQLite in the data directory)",
                crate::store::redact_url(url)
            );
        }
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
        if self.artifacts_max_project_bytes.value < 1 || self.artifacts_max_file_bytes.value < 1 {
            anyhow::bail!(
                "artifacts_max_project_bytes and artifacts_max_file_bytes must be positive (see --artifacts-max-project-bytes, --artifacts-max-file-bytes)"
            );
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

    /// Where the data lives: PostgreSQL when `database_url` is set, else SQLite in `data_dir`.
    pub fn database(&self) -> crate::store::Location {
        match &self.database_url.value {
            Some(url) => crate::store::Location::Postgres { url: url.clone() },
            None => crate::store::Location::Sqlite {
                data_dir: self.data_dir.value.clone(),
                synchronous: self.sqlite_synchronous.value,
            },
        }
    }

    /// What `--database-url`/`--data-dir` point at, for error messages (no password).
    pub fn database_description(&self) -> String {
        match &self.database_url.value {
            Some(url) => format!(
                "PostgreSQL at {} (--database-url / TOCSIN_DATABASE_URL)",
                crate::store::redact_url(url)
            ),
            None => format!(
                "the database in {} (--data-dir / TOCSIN_DATA_DIR)",
                self.data_dir.value.display()
            ),
        }
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
}
