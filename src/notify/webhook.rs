//! Chat services' incoming webhooks (bodies in `chat`) and generic JSON webhooks signed with
//! HMAC-SHA256.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Attempt, Message, chat};
use crate::store::DueItem;

/// The header carrying `sha256=<hex HMAC of the body>` on generic webhooks.
pub const SIGNATURE_HEADER: &str = "X-Tocsin-Signature";

pub async fn send(http: &reqwest::Client, item: &DueItem, msg: &Message) -> Attempt {
    let mut url = item.target.clone();
    let body = match item.kind.as_str() {
        "slack" => chat::slack_payload(msg, false),
        "mattermost" | "rocketchat" => chat::slack_payload(msg, true),
        "discord" => chat::discord_payload(msg),
        "teams" => chat::teams_payload(msg),
        "googlechat" => chat::google_chat_payload(msg),
        "ntfy" => {
            let Some((root, topic)) = chat::ntfy_target(&item.target) else {
                return Attempt::Fail(format!("{} is not an ntfy topic URL", item.target));
            };
            url = root;
            chat::ntfy_payload(msg, &topic)
        }
        _ => generic_payload(item, msg),
    }
    .to_string();
    let mut request = http
        .post(&url)
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
            "userCount": item.users_seen,
            "firstSeen": item.first_seen.map(crate::event::format_rfc3339),
            "lastSeen": item.last_seen.map(crate::event::format_rfc3339),
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
