//! The request bodies of the chat services Tocsin alerts on (issue 17), each in the shape its
//! documentation gives, and each escaped for that service: an exception message is written by
//! whoever triggered the error, so it must not bring markup, links or mentions (`@channel`,
//! `@everyone`, `<users/all>`) into the team's chat.
//!
//! - Slack, Mattermost, Rocket.Chat: Slack's incoming-webhook message with an attachment.
//! - Discord: an execute-webhook body with one embed, within Discord's embed limits, and
//!   `allowed_mentions` empty so nothing in it can ping.
//! - Microsoft Teams: a message holding an Adaptive Card (Workflows and incoming webhooks).
//! - Google Chat: a message with a `cardsV2` card.
//! - ntfy: a JSON publish (`{"topic", "title", "message", "click", "priority", "tags"}`) to the
//!   server's root, which carries any text without header encoding.

use serde_json::{Value, json};

use super::Message;

/// Discord's embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
const DISCORD_TITLE: usize = 256;
const DISCORD_DESCRIPTION: usize = 4096;
const DISCORD_FIELD_VALUE: usize = 1024;
const DISCORD_FOOTER: usize = 2048;
/// Longest text put in any message, whatever the service takes: an alert is a pointer to the
/// issue, not a copy of it.
const MAX_TEXT: usize = 1000;

/// At most `max` characters, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `@` starting a word is a mention in several services: a word joiner after it keeps the text
/// readable and the mention dead. Inside a word (`shop@1.2.3`, `ann@example.com`) it is none.
fn no_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        let starts_word = previous.is_none_or(|p| !p.is_alphanumeric());
        if c == '@' && starts_word && chars.peek().is_some_and(|n| n.is_alphanumeric()) {
            out.push('\u{2060}');
        }
        previous = Some(c);
    }
    out
}

/// Markdown's special characters, backslash-escaped (Discord, Mattermost, Rocket.Chat, Teams).
fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in no_mentions(&cut(text, MAX_TEXT)).chars() {
        if "\\`*_~[]()#>|<!{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Slack's three markup characters as entities (`<!channel>` and `<url|text>` need `<`).
fn slack(text: &str) -> String {
    no_mentions(&cut(text, MAX_TEXT))
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// HTML's special characters as entities (Google Chat's card text is HTML).
fn html(text: &str) -> String {
    no_mentions(&cut(text, MAX_TEXT))
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What the on-call person reads beside the title, as (label, value), empty values left out.
fn facts(msg: &Message) -> Vec<(&'static str, String)> {
    [
        ("Project", msg.project.clone()),
        ("Environment", msg.environment.clone()),
        ("Level", msg.level.clone()),
        ("Release", msg.release.clone()),
        ("Events", msg.events.clone()),
        ("Users", msg.users.clone()),
        ("First seen", msg.first_seen.clone()),
        ("Last seen", msg.last_seen.clone()),
        ("Issue", msg.short_id.clone()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect()
}

/// The culprit and the top in-app frame, the "where" of the alert.
fn location(msg: &Message) -> Vec<String> {
    let mut lines = Vec::new();
    if !msg.culprit.is_empty() {
        lines.push(msg.culprit.clone());
    }
    if let Some(frame) = msg.frames.first() {
        lines.push(format!("at {frame}"));
    }
    lines
}

fn color(level: &str) -> u32 {
    match level {
        "fatal" => 0xb4_2318,
        "warning" => 0xf5_a524,
        "info" | "debug" => 0x3b_82f6,
        _ => 0xe5_484d,
    }
}

/// Slack's format, which Mattermost and Rocket.Chat accept; their text is Markdown too, so the
/// user's text is escaped for both.
pub fn slack_payload(msg: &Message, markdown_too: bool) -> Value {
    let esc = |t: &str| if markdown_too { markdown(t) } else { slack(t) };
    let fields: Vec<Value> = facts(msg)
        .into_iter()
        .map(|(title, value)| json!({"title": title, "value": esc(&value), "short": true}))
        .collect();
    json!({
        "text": format!("{}: <{}|{}>", msg.headline, msg.link, esc(&msg.title)),
        "attachments": [{
            "color": format!("#{:06x}", color(&msg.level)),
            "fallback": format!("{}: {}", msg.headline, esc(&msg.title)),
            "title": esc(&msg.title),
            "title_link": msg.link,
            "text": esc(&location(msg).join("\n")),
            "fields": fields,
            "footer": msg.short_id,
        }],
    })
}

pub fn discord_payload(msg: &Message) -> Value {
    let fields: Vec<Value> = facts(msg)
        .into_iter()
        .map(
            |(name, value)| json!({"name": name, "value": cut(&markdown(&value), DISCORD_FIELD_VALUE), "inline": true}),
        )
        .collect();
    json!({
        "username": "Tocsin",
        "allowed_mentions": {"parse": []},
        "embeds": [{
            "title": cut(&format!("{}: {}", msg.headline, markdown(&msg.title)), DISCORD_TITLE),
            "url": msg.link,
            "description": cut(&location(msg).iter().map(|l| markdown(l)).collect::<Vec<_>>().join("\n"), DISCORD_DESCRIPTION),
            "color": color(&msg.level),
            "fields": fields,
            "footer": {"text": cut(&format!("Tocsin · {}", msg.project), DISCORD_FOOTER)},
        }],
    })
}

pub fn teams_payload(msg: &Message) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": msg.headline, "wrap": true}),
        json!({"type": "TextBlock", "text": markdown(&msg.title), "wrap": true}),
    ];
    for line in location(msg) {
        body.push(json!({"type": "TextBlock", "text": markdown(&line), "wrap": true, "isSubtle": true, "fontType": "Monospace"}));
    }
    body.push(json!({
        "type": "FactSet",
        "facts": facts(msg).into_iter().map(|(t, v)| json!({"title": t, "value": markdown(&v)})).collect::<Vec<_>>(),
    }));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": [{"type": "Action.OpenUrl", "title": "Open in Tocsin", "url": msg.link}],
            },
        }],
    })
}

pub fn google_chat_payload(msg: &Message) -> Value {
    let mut widgets = vec![json!({"textParagraph": {"text": format!("<b>{}</b>", html(&msg.title))}})];
    for line in location(msg) {
        widgets.push(json!({"textParagraph": {"text": format!("<font color=\"#666666\">{}</font>", html(&line))}}));
    }
    for (label, value) in facts(msg) {
        widgets.push(json!({"decoratedText": {"topLabel": label, "text": html(&value)}}));
    }
    widgets.push(
        json!({"buttonList": {"buttons": [{"text": "Open in Tocsin", "onClick": {"openLink": {"url": msg.link}}}]}}),
    );
    json!({
        // The plain text holds nothing the error's sender wrote: Chat reads `<users/all>` there.
        "text": format!("{} in {} ({})", msg.headline, msg.project, msg.short_id),
        "cardsV2": [{
            "cardId": "tocsin-alert",
            "card": {
                "header": {"title": msg.headline, "subtitle": msg.project},
                "sections": [{"widgets": widgets}],
            },
        }],
    })
}

/// ntfy's topic URL split into the server's root (where JSON is published) and the topic.
pub(super) fn ntfy_target(url: &str) -> Option<(String, String)> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let topic = parsed.path().trim_matches('/').to_string();
    if topic.is_empty() || topic.contains('/') {
        return None;
    }
    let mut root = parsed.clone();
    root.set_path("/");
    root.set_query(None);
    Some((root.to_string(), topic))
}

pub fn ntfy_payload(msg: &Message, topic: &str) -> Value {
    let mut lines = location(msg);
    lines.extend(facts(msg).into_iter().map(|(k, v)| format!("{k}: {v}")));
    let priority = match msg.level.as_str() {
        "fatal" => 5,
        "error" | "" => 4,
        _ => 3,
    };
    json!({
        "topic": topic,
        "title": cut(&format!("{}: {}", msg.headline, msg.title), 250),
        "message": cut(&lines.join("\n"), MAX_TEXT * 2),
        "click": msg.link,
        "priority": priority,
        "tags": ["rotating_light"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An alert whose title and culprit were written by an attacker.
    fn hostile() -> Message {
        Message {
            subject: String::new(),
            headline: "New issue".into(),
            title: "ValueError: @everyone @here <!channel> <users/all> [win](https://evil.example) **now** <b>x</b>"
                .into(),
            link: "https://tocsin.example/issues/7/".into(),
            short_id: "SHOP-7".into(),
            project: "shop".into(),
            culprit: "views.pay <@123456> `rm -rf`".into(),
            environment: "production".into(),
            release: "1.2.3".into(),
            level: "error".into(),
            events: "12".into(),
            users: "3".into(),
            first_seen: "2026-11-27 01:02:03 UTC".into(),
            last_seen: "2026-11-27 02:03:04 UTC".into(),
            frames: vec!["shop/views.py in pay".into()],
            trigger: "new".into(),
            mute: None,
        }
    }

    fn no_live_mentions(text: &str) {
        for m in ["@everyone", "@here", "@channel"] {
            assert!(!text.contains(m), "{m} in {text}");
        }
    }

    #[test]
    fn an_at_sign_inside_a_word_is_no_mention_and_stays_as_it_is() {
        assert_eq!(
            no_mentions("shop@1.2.3 by ann@example.com"),
            "shop@1.2.3 by ann@example.com"
        );
        assert_eq!(no_mentions("@here (@all)"), "@\u{2060}here (@\u{2060}all)");
    }

    #[test]
    fn discord_gets_one_embed_within_its_limits_and_nothing_that_pings() {
        let mut msg = hostile();
        msg.title = format!("{} {}", msg.title, "x".repeat(5000));
        let body = discord_payload(&msg);
        assert_eq!(body["allowed_mentions"], json!({"parse": []}));
        let embed = &body["embeds"][0];
        let title = embed["title"].as_str().unwrap();
        assert!(title.chars().count() <= DISCORD_TITLE, "{}", title.len());
        assert!(!title.contains("[win](https"), "links are escaped: {title}");
        assert!(title.contains("\\[win\\]"), "{title}");
        no_live_mentions(&body.to_string());
        assert!(embed["description"].as_str().unwrap().contains("\\<@\u{2060}123456\\>"));
        assert!(embed["fields"].as_array().unwrap().len() <= 25);
        assert_eq!(embed["url"], "https://tocsin.example/issues/7/");
    }

    #[test]
    fn slack_compatible_text_has_its_markup_characters_as_entities() {
        let body = slack_payload(&hostile(), false);
        let text = body["text"].as_str().unwrap();
        assert!(
            text.starts_with("New issue: <https://tocsin.example/issues/7/|ValueError:"),
            "{text}"
        );
        assert!(text.contains("&lt;!channel&gt;"), "{text}");
        no_live_mentions(&body.to_string());
        // Mattermost and Rocket.Chat read Markdown as well.
        let md = slack_payload(&hostile(), true).to_string();
        assert!(md.contains("\\\\[win\\\\]"), "{md}");
        no_live_mentions(&md);
    }

    #[test]
    fn teams_gets_an_adaptive_card_with_a_link_to_the_issue() {
        let body = teams_payload(&hostile());
        assert_eq!(body["type"], "message");
        let card = &body["attachments"][0];
        assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(card["content"]["actions"][0]["url"], "https://tocsin.example/issues/7/");
        let facts = card["content"]["body"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(facts["type"], "FactSet");
        assert!(body.to_string().contains("\\\\*\\\\*now\\\\*\\\\*"), "{body}");
        no_live_mentions(&body.to_string());
    }

    #[test]
    fn google_chat_gets_a_card_with_html_escaped_text_and_a_plain_text_with_nothing_of_the_sender() {
        let body = google_chat_payload(&hostile());
        assert_eq!(body["text"], "New issue in shop (SHOP-7)");
        let card = body["cardsV2"][0]["card"].to_string();
        assert!(card.contains("&lt;users/all&gt;"), "{card}");
        assert!(!card.contains("<users/all>"), "{card}");
        assert!(card.contains("&lt;b&gt;x&lt;/b&gt;"), "{card}");
    }

    #[test]
    fn ntfy_publishes_json_to_the_servers_root_with_the_topic_inside() {
        assert_eq!(
            ntfy_target("https://ntfy.sh/shop-alerts"),
            Some(("https://ntfy.sh/".to_string(), "shop-alerts".to_string()))
        );
        assert_eq!(ntfy_target("https://ntfy.sh/"), None);
        assert_eq!(ntfy_target("https://ntfy.sh/a/b"), None);
        let body = ntfy_payload(&hostile(), "shop-alerts");
        assert_eq!(body["topic"], "shop-alerts");
        assert_eq!(body["click"], "https://tocsin.example/issues/7/");
        assert_eq!(body["priority"], 4);
        assert!(body["message"].as_str().unwrap().contains("Environment: production"));
    }
}
