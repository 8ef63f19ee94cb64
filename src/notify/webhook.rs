//! Slack(-compatible) incoming webhooks and generic JSON webhooks signed with HMAC-SHA256.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Attempt, Message};
use crate::store::DueItem;

/// The header carrying `sha256=<hex HMAC of the body>` on generic webhooks.
pub const SIGNATURE_HEADER: &str = "X-Tocsin-Signature";

pub async fn send(http: &reqwest::Client, item: &DueItem, msg: &Message) -> Attempt {
    let body = match item.kind.as_str() {
        "slack" => slack_payload(msg),
        _ => generic_payload(item, msg),
    }
    .to_string();
    let mut request = http
        .post(&item.target)
        .header("Content-Type", "application/json")
        .header("User-Agent", concat!("Tocsin/", env!("CARGO_PKG_VERSION")));
    if item.kind == "webhook" {
        request = request.header(
            SIGNATURE_HEADER,
            format!("sha256={}", sign(item.secret.as_deref().unwrap_or(""), &body)),
        );
    }
    match request.body(body).send().await {
        Ok(resp) if resp.status().is_success() => Attempt::Delivered,
        Ok(resp) => {
            let status = resp.status();
            let text: String = resp.text().await.unwrap_or_default().chars().take(300).collect();
            let error = format!("HTTP {status}: {text}");
            if status.is_server_error() || status.as_u16() == 429 {
                Attempt::Retry(error)
            } else {
                Attempt::Fail(error)
            }
        }
        Err(e) => Attempt::Retry(format!("request failed: {e}")),
    }
}

/// Hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Slack's message format, which Mattermost, Rocket.Chat and others accept too.
fn slack_payload(msg: &Message) -> Value {
    let color = match msg.level.as_str() {
        "fatal" => "#b42318",
        "warning" => "#f5a524",
        "info" | "debug" => "#3b82f6",
        _ => "#e5484d",
    };
    let mut fields = vec![json!({"title": "Project", "value": msg.project, "short": true})];
    for (title, value) in [
        ("Environment", &msg.environment),
        ("Release", &msg.release),
        ("Level", &msg.level),
        ("Events", &msg.events),
    ] {
        if !value.is_empty() {
            fields.push(json!({"title": title, "value": value, "short": true}));
        }
    }
    json!({
        "text": format!("{}: <{}|{}>", msg.headline, msg.link, escape_slack(&msg.title)),
        "attachments": [{
            "color": color,
            "title": msg.title,
            "title_link": msg.link,
            "text": msg.culprit,
            "fields": fields,
            "footer": msg.short_id,
        }],
    })
}

/// `<`, `>` and `&` are markup in Slack's text.
fn escape_slack(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn generic_payload(item: &DueItem, msg: &Message) -> Value {
    json!({
        "trigger": item.trigger,
        "project": msg.project,
        "issue": item.issue_id.map(|id| json!({
            "id": id.to_string(),
            "shortId": msg.short_id,
            "title": msg.title,
            "culprit": msg.culprit,
            "level": msg.level,
            "count": msg.events,
            "url": msg.link,
        })),
        "event": serde_json::from_str::<Value>(&item.payload).unwrap_or(Value::Null),
        "text": format!("{}: {}", msg.headline, msg.title),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_the_rfc_4231_hmac() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::sign("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
