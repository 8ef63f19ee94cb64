//! "Why this issue?" on the event page: which variant of the grouping config decided the
//! issue, and its component tree (which frames counted, which were dropped and by what rule,
//! whether a fingerprint was used), rendered as a nested list.

use serde_json::{Map, Value};

use super::escape_html;
use crate::grouping::{Component, Part, VariantInfo};

pub struct WhyView {
    /// What decided: "Grouped by in-app frames (app variant)…".
    pub summary: String,
    /// The deciding variant's tree or fingerprint, as HTML (escaped).
    pub tree_html: String,
    /// Every variant: (key, description, hash or "", why not).
    pub variants: Vec<(String, String, String, String)>,
}

/// How `event` groups now, with its project's `rules`.
pub fn build(event: &Map<String, Value>, rules: &crate::grouping::ProjectRules) -> Option<WhyView> {
    let event: crate::event::Event = serde_json::from_value(Value::Object(event.clone())).ok()?;
    let variants = crate::grouping::variants(&event, rules);
    let deciding = variants.iter().find(|v| v.contributes)?;
    let summary = format!(
        "Grouped by {} ({} variant), hash {}, config {}.",
        deciding.description,
        deciding.key,
        deciding.hash.as_deref().unwrap_or(""),
        crate::grouping::CURRENT_CONFIG
    );
    let tree_html = match (&deciding.component, &deciding.values) {
        (Some(c), _) => format!("<ul class=\"grouping-tree\">{}</ul>", node(c)),
        (None, Some(values)) => format!(
            "<p>Fingerprint: {}</p>",
            values
                .iter()
                .map(|v| format!("<code>{}</code>", escape_html(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (None, None) => String::new(),
    };
    let rows = variants.iter().map(row).collect();
    Some(WhyView {
        summary,
        tree_html,
        variants: rows,
    })
}

fn row(v: &VariantInfo) -> (String, String, String, String) {
    (
        v.key.to_string(),
        v.description.to_string(),
        v.hash.clone().unwrap_or_default(),
        if v.contributes {
            "contributes".to_string()
        } else {
            v.hint.clone().unwrap_or_else(|| "does not contribute".to_string())
        },
    )
}

fn node(c: &Component) -> String {
    let counts = c.counts();
    let mut out = format!(
        "<li class=\"{}\"><span class=\"component\">{}</span>",
        if counts { "counts" } else { "ignored" },
        escape_html(c.id)
    );
    let values: Vec<String> = c
        .values
        .iter()
        .filter_map(|p| match p {
            Part::Value(v) => Some(format!(" <code>{}</code>", escape_html(v))),
            Part::Component(_) => None,
        })
        .collect();
    out.push_str(&values.concat());
    if let Some(hint) = &c.hint {
        out.push_str(&format!(" <span class=\"hint\">{}</span>", escape_html(hint)));
    }
    let children: Vec<String> = c
        .values
        .iter()
        .filter_map(|p| match p {
            Part::Component(child) => Some(node(child)),
            Part::Value(_) => None,
        })
        .collect();
    if !children.is_empty() {
        out.push_str(&format!("<ul>{}</ul>", children.concat()));
    }
    out.push_str("</li>");
    out
}
