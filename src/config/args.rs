//! The command-line side of the settings: every flag, and the `TOCSIN_*` variable clap reads
//! when the flag is absent.

use std::path::PathBuf;

use super::{SmtpTls, Synchronous};

/// The settings every command shares. Each field is `None` when that layer did not set it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SettingsArgs {
    /// Address the HTTP server listens on.
    #[arg(long, env = "TOCSIN_BIND", global = true)]
    pub bind: Option<String>,
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
