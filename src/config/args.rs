//! The command-line side of the settings: every flag, and the `TOCSIN_*` variable clap reads
//! when the flag is absent. Where the data is ([`PlaceArgs`]) every command takes; how the
//! server runs ([`ServerArgs`]) only `serve` (the default) and `config show` take, so that the
//! other commands' help lists their own options.

use std::path::PathBuf;

use super::{SmtpTls, Synchronous};

/// Where the data is, and the settings file: every command's. Each field is `None` when that
/// layer did not set it.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Where the data is")]
pub struct PlaceArgs {
    /// Directory holding `tocsin.db`; created if missing.
    #[arg(long, env = "TOCSIN_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL to keep the data in, shared by every node pointed at it
    /// (`postgres://user:password@host:5432/db`) [default: SQLite in the data directory].
    #[arg(long, env = "TOCSIN_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Base URL used in DSNs and links [default: http://<bind>].
    #[arg(long, env = "TOCSIN_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Optional TOML file of settings, keyed as `tocsin config show` prints them (`data_dir = "…"`).
    #[arg(long, env = "TOCSIN_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// How the server runs. Each field is `None` when that layer did not set it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServerArgs {
    /// Address the HTTP server listens on.
    #[arg(long, env = "TOCSIN_BIND")]
    pub bind: Option<String>,
    /// Organization slug of the JSON API (`/api/0/projects/{org}/…`).
    #[arg(long, env = "TOCSIN_ORG")]
    pub org: Option<String>,
    /// Events that may wait for the writer before ingest answers 429.
    #[arg(long, env = "TOCSIN_QUEUE_CAPACITY")]
    pub queue_capacity: Option<usize>,
    /// SQLite `synchronous` mode: `normal` survives a crash of the process, `full` also power loss.
    #[arg(long, env = "TOCSIN_SQLITE_SYNCHRONOUS")]
    pub sqlite_synchronous: Option<Synchronous>,
    /// Notifications per alert channel and hour; beyond it one summary is sent when the hour ends.
    #[arg(long, env = "TOCSIN_ALERT_FLOOD_LIMIT")]
    pub alert_flood_limit: Option<i64>,
    /// Take the client address from `X-Forwarded-For` (set this only behind a reverse proxy
    /// that overwrites the header; otherwise clients could claim any address).
    #[arg(long, env = "TOCSIN_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: Option<bool>,
    /// Seconds of the flood guard's window (default one hour).
    #[arg(long, env = "TOCSIN_ALERT_FLOOD_WINDOW")]
    pub alert_flood_window: Option<f64>,
    /// Seconds before the first retry of a failed notification; each retry waits twice as long.
    #[arg(long, env = "TOCSIN_ALERT_RETRY_SECONDS")]
    pub alert_retry_seconds: Option<f64>,
    /// Allow webhooks to loopback, private and link-local addresses (off: such URLs are refused).
    #[arg(long, env = "TOCSIN_ALLOW_PRIVATE_WEBHOOKS")]
    pub allow_private_webhooks: Option<bool>,
    /// SMTP server for email alerts; unset disables email.
    #[arg(long, env = "TOCSIN_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port.
    #[arg(long, env = "TOCSIN_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// SMTP transport security: none, starttls or tls.
    #[arg(long, env = "TOCSIN_SMTP_TLS")]
    pub smtp_tls: Option<SmtpTls>,
    /// SMTP user, if the server wants one.
    #[arg(long, env = "TOCSIN_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// SMTP password (never printed).
    #[arg(long, env = "TOCSIN_SMTP_PASSWORD")]
    pub smtp_password: Option<String>,
    /// Sender of alert emails.
    #[arg(long, env = "TOCSIN_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Refuse ingest (503) while the data directory's disk has fewer free bytes than this.
    #[arg(long, env = "TOCSIN_MIN_FREE_DISK")]
    pub min_free_disk: Option<u64>,
    /// Events kept per project unless the project sets its own limit (older events of busy issues are thinned first).
    #[arg(long, env = "TOCSIN_RETENTION_MAX_EVENTS")]
    pub retention_max_events: Option<i64>,
    /// Days an event is kept unless the project sets its own limit.
    #[arg(long, env = "TOCSIN_RETENTION_MAX_AGE_DAYS")]
    pub retention_max_age_days: Option<f64>,
    /// Seconds between retention passes (eviction, vacuum, persisting rejected counts).
    #[arg(long, env = "TOCSIN_RETENTION_INTERVAL")]
    pub retention_interval: Option<f64>,
    /// Events per second the whole server accepts before answering 429 (0: no limit).
    #[arg(long, env = "TOCSIN_SERVER_RATE_LIMIT")]
    pub server_rate_limit: Option<u64>,
    /// Seconds a client has to send a request body; slower bodies get 408 (slow-loris defence).
    #[arg(long, env = "TOCSIN_BODY_TIMEOUT")]
    pub body_timeout: Option<f64>,
    /// Bytes that request bodies, their decoders and the events parsed from them may hold at
    /// once, server-wide; past it, ingest answers 503 + Retry-After (a quarter is kept for
    /// small requests, and one request may hold at most half).
    #[arg(long, env = "TOCSIN_REQUEST_MEMORY")]
    pub request_memory: Option<usize>,
    /// Bytes of source maps and minified files (distinct contents) a project may keep; an
    /// upload past it answers 413.
    #[arg(long, env = "TOCSIN_ARTIFACTS_MAX_PROJECT_BYTES")]
    pub artifacts_max_project_bytes: Option<i64>,
    /// Largest file in an uploaded bundle, decompressed (larger: 413).
    #[arg(long, env = "TOCSIN_ARTIFACTS_MAX_FILE_BYTES")]
    pub artifacts_max_file_bytes: Option<u64>,
    /// Memory for parsed source maps kept between events (by an estimate of their size).
    #[arg(long, env = "TOCSIN_SOURCEMAP_CACHE_BYTES")]
    pub sourcemap_cache_bytes: Option<usize>,
}

impl ServerArgs {
    /// These flags, with `other`'s where these have none (`tocsin --bind … serve --org …`).
    pub fn or(self, other: ServerArgs) -> ServerArgs {
        ServerArgs {
            bind: self.bind.or(other.bind),
            org: self.org.or(other.org),
            queue_capacity: self.queue_capacity.or(other.queue_capacity),
            sqlite_synchronous: self.sqlite_synchronous.or(other.sqlite_synchronous),
            alert_flood_limit: self.alert_flood_limit.or(other.alert_flood_limit),
            trust_forwarded_for: self.trust_forwarded_for.or(other.trust_forwarded_for),
            alert_flood_window: self.alert_flood_window.or(other.alert_flood_window),
            alert_retry_seconds: self.alert_retry_seconds.or(other.alert_retry_seconds),
            allow_private_webhooks: self.allow_private_webhooks.or(other.allow_private_webhooks),
            smtp_host: self.smtp_host.or(other.smtp_host),
            smtp_port: self.smtp_port.or(other.smtp_port),
            smtp_tls: self.smtp_tls.or(other.smtp_tls),
            smtp_user: self.smtp_user.or(other.smtp_user),
            smtp_password: self.smtp_password.or(other.smtp_password),
            smtp_from: self.smtp_from.or(other.smtp_from),
            min_free_disk: self.min_free_disk.or(other.min_free_disk),
            retention_max_events: self.retention_max_events.or(other.retention_max_events),
            retention_max_age_days: self.retention_max_age_days.or(other.retention_max_age_days),
            retention_interval: self.retention_interval.or(other.retention_interval),
            server_rate_limit: self.server_rate_limit.or(other.server_rate_limit),
            body_timeout: self.body_timeout.or(other.body_timeout),
            request_memory: self.request_memory.or(other.request_memory),
            artifacts_max_project_bytes: self.artifacts_max_project_bytes.or(other.artifacts_max_project_bytes),
            artifacts_max_file_bytes: self.artifacts_max_file_bytes.or(other.artifacts_max_file_bytes),
            sourcemap_cache_bytes: self.sourcemap_cache_bytes.or(other.sourcemap_cache_bytes),
        }
    }
}

/// Every setting's command-line layer, for [`super::Settings::resolve`].
#[derive(Debug, Clone, Default)]
pub struct SettingsArgs {
    pub place: PlaceArgs,
    pub server: ServerArgs,
}
