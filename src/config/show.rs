//! What `tocsin config show` prints.

use super::{Settings, Source, Synchronous};

impl Settings {
    /// Human-readable listing for `tocsin config show`: each setting, its value and where it came
    /// from. Secrets (the SMTP password) print as `<redacted>`.
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
        // The backend first, as its own line: which database this node uses matters most when
        // several nodes share one. The password never prints.
        let backend = match &self.database_url.value {
            Some(_) => "postgres",
            None => "sqlite",
        };
        line("# backend", quote(backend), self.database_url.source);
        match &self.database_url.value {
            Some(url) => line(
                "database_url",
                quote(&crate::store::redact_url(url)),
                self.database_url.source,
            ),
            None => line(
                "# database_url",
                "unset (SQLite in data_dir)".into(),
                self.database_url.source,
            ),
        }
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
        line(
            "artifacts_max_project_bytes",
            self.artifacts_max_project_bytes.value.to_string(),
            self.artifacts_max_project_bytes.source,
        );
        line(
            "artifacts_max_file_bytes",
            self.artifacts_max_file_bytes.value.to_string(),
            self.artifacts_max_file_bytes.source,
        );
        line(
            "sourcemap_cache_bytes",
            self.sourcemap_cache_bytes.value.to_string(),
            self.sourcemap_cache_bytes.source,
        );
        out
    }
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}
