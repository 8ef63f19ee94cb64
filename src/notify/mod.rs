//! The dispatcher: delivers outbox rows by email, Slack(-compatible) webhook or signed generic
//! webhook, retrying failures with exponential backoff for up to 24 hours.
//!
//! Delivery is at least once: a row is marked delivered after the send succeeds, so a crash
//! between the two sends it again on restart; once marked, never again.

pub mod channels;
mod chat;
mod email;
mod guard;
mod message;
pub mod rule_json;
pub mod rules;
mod webhook;

use std::time::Duration;

pub use email::SmtpSettings;
pub use message::Message;

use crate::event::unix_now;
use crate::store::{self, DueItem, Pool};

/// How long a notification keeps being retried.
const GIVE_UP_AFTER_SECS: f64 = 24.0 * 3600.0;
/// The dispatcher looks for due rows at least this often.
const MAX_IDLE: Duration = Duration::from_millis(500);
/// How long a claimed notification is this node's to deliver. Longer than a batch of attempts
/// takes (each is bounded by its SMTP or HTTP timeout), so no other node sends it meanwhile;
/// if this node dies, another sends it once the lease is over.
const CLAIM_LEASE_SECS: f64 = 300.0;

/// What the dispatcher needs to know.
#[derive(Clone)]
pub struct NotifySettings {
    pub public_url: String,
    /// Delay before the first retry; each further retry waits twice as long (capped at 1 h).
    pub retry_base_secs: f64,
    pub allow_private_webhooks: bool,
    pub smtp: Option<SmtpSettings>,
}

/// The result of one delivery attempt.
#[derive(Debug)]
pub enum Attempt {
    Delivered,
    /// Worth trying again (server down, timeout, 5xx, 429).
    Retry(String),
    /// Never going to work (4xx, refused address, bad recipient).
    Fail(String),
}

/// Starts the dispatcher; it runs for the life of the process.
pub fn spawn(
    pool: Pool,
    admin: Pool,
    settings: NotifySettings,
    metrics: crate::metrics::Metrics,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(pool, admin, settings, metrics))
}

async fn run(pool: Pool, admin: Pool, settings: NotifySettings, metrics: crate::metrics::Metrics) {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        // A webhook that redirects could send us anywhere, past the address check.
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "notifications are off: cannot build the HTTP client");
            return;
        }
    };
    let mailer = settings.smtp.as_ref().map(email::Mailer::new).transpose();
    let mailer = match mailer {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "email notifications are off: bad SMTP settings");
            None
        }
    };
    loop {
        // Claimed on the read-write pool: with several nodes, each notification goes out once.
        match store::claim_due(&admin, unix_now(), CLAIM_LEASE_SECS, 20).await {
            Ok(items) => {
                for item in items {
                    let attempt = deliver(&item, &pool, &settings, &http, mailer.as_ref()).await;
                    let result = match &attempt {
                        Attempt::Delivered => "sent",
                        Attempt::Retry(_) => "retry",
                        Attempt::Fail(_) => "failed",
                    };
                    metrics.notification(&item.kind, result);
                    if let Err(e) = record(&admin, &item, attempt, settings.retry_base_secs).await {
                        tracing::error!(error = %e, outbox_id = item.id, "cannot record a notification attempt");
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read the outbox"),
        }
        let wait = match store::next_due(&pool).await {
            Ok(Some(at)) => Duration::from_secs_f64((at - unix_now()).clamp(0.0, MAX_IDLE.as_secs_f64())),
            _ => MAX_IDLE,
        };
        tokio::time::sleep(wait.max(Duration::from_millis(20))).await;
    }
}

async fn deliver(
    item: &DueItem,
    pool: &Pool,
    settings: &NotifySettings,
    http: &reqwest::Client,
    mailer: Option<&email::Mailer>,
) -> Attempt {
    let msg = Message::build(item, &settings.public_url);
    match item.kind.as_str() {
        "email" => {
            let Some(mailer) = mailer else {
                return Attempt::Fail("no SMTP server is configured (set --smtp-host)".into());
            };
            let recipients = if item.target == channels::MEMBERS {
                match store::all_users(pool).await {
                    Ok(users) if users.is_empty() => {
                        return Attempt::Fail("the project has no members: nobody has an account yet".into());
                    }
                    Ok(users) => users.into_iter().map(|(_, email)| email).collect::<Vec<_>>().join(","),
                    Err(e) => return Attempt::Retry(format!("cannot read the project's members: {e}")),
                }
            } else {
                item.target.clone()
            };
            mailer.send(&recipients, &msg).await
        }
        "slack" | "webhook" | "discord" | "teams" | "mattermost" | "rocketchat" | "googlechat" | "ntfy" => {
            if let Err(why) = guard::check(&item.target, settings.allow_private_webhooks).await {
                return Attempt::Fail(why);
            }
            webhook::send(http, item, &msg).await
        }
        other => Attempt::Fail(format!("unknown channel kind {other:?}")),
    }
}

async fn record(admin: &Pool, item: &DueItem, attempt: Attempt, base: f64) -> Result<(), store::StoreError> {
    let now = unix_now();
    match attempt {
        Attempt::Delivered => {
            tracing::info!(outbox_id = item.id, kind = %item.kind, trigger = %item.trigger, "notification delivered");
            store::mark_delivered(admin, item.id, now).await
        }
        Attempt::Retry(error) => {
            let delay = (base * 2f64.powi(item.attempts.min(20) as i32)).min(3600.0);
            let retry_at = now + delay;
            let retry = (retry_at - item.created_at <= GIVE_UP_AFTER_SECS).then_some(retry_at);
            tracing::warn!(outbox_id = item.id, %error, retry_in_secs = delay, "notification failed");
            let error = if retry.is_some() {
                error
            } else {
                format!("gave up after 24 hours: {error}")
            };
            store::mark_attempt_failed(admin, item.id, &error, retry).await
        }
        Attempt::Fail(error) => {
            tracing::warn!(outbox_id = item.id, %error, "notification failed for good");
            store::mark_attempt_failed(admin, item.id, &error, None).await
        }
    }
}
