//! The TOML file layer (`--config` / `TOCSIN_CONFIG`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use super::{SmtpTls, Synchronous};

/// The same keys as read from the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSettings {
    pub(super) bind: Option<String>,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) database_url: Option<String>,
    pub(super) public_url: Option<String>,
    pub(super) org: Option<String>,
    pub(super) queue_capacity: Option<usize>,
    pub(super) sqlite_synchronous: Option<Synchronous>,
    pub(super) trust_forwarded_for: Option<bool>,
    pub(super) alert_flood_limit: Option<i64>,
    pub(super) min_free_disk: Option<u64>,
    pub(super) alert_flood_window: Option<f64>,
    pub(super) alert_retry_seconds: Option<f64>,
    pub(super) allow_private_webhooks: Option<bool>,
    pub(super) smtp_host: Option<String>,
    pub(super) smtp_port: Option<u16>,
    pub(super) smtp_tls: Option<SmtpTls>,
    pub(super) smtp_user: Option<String>,
    pub(super) smtp_password: Option<String>,
    pub(super) smtp_from: Option<String>,
    pub(super) retention_max_events: Option<i64>,
    pub(super) retention_max_age_days: Option<f64>,
    pub(super) retention_interval: Option<f64>,
    pub(super) server_rate_limit: Option<u64>,
    pub(super) body_timeout: Option<f64>,
    pub(super) request_memory: Option<usize>,
    pub(super) artifacts_max_project_bytes: Option<i64>,
    pub(super) artifacts_max_file_bytes: Option<u64>,
    pub(super) sourcemap_cache_bytes: Option<usize>,
}

pub(super) fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {} (--config / TOCSIN_CONFIG)", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_in_the_file_are_an_error() {
        let err = toml::from_str::<FileSettings>("datadir = \"x\"").unwrap_err();
        assert!(err.to_string().contains("datadir"), "{err}");
    }
}
