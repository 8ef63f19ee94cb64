//! Grouping: which issue an event belongs to. Pure functions, run in the ingest handler.
//!
//! An event yields a list of hashes, in look-up order (the in-app variant first, all frames
//! last). The writer joins the event to the first issue owning any of them, or creates an issue
//! owning all of them. Each hashing algorithm is frozen in a module of its own, named by its
//! config id (`newstyle_2023_01_11`), and every stored hash records that id: a later algorithm
//! is added beside it, never edited into it, so existing issues keep their hashes.
//!
//! Moving to a new algorithm is what Sentry does on a config upgrade: an event's hashes are
//! the current config's, followed by the previous config's (`secondary_hashes`). An event of a
//! bug seen before the upgrade finds its issue by the old hash, and its new hash joins that
//! issue, so later events find it directly.

pub mod enhancer;
pub mod fingerprint_rules;
mod native_names;
mod newstyle_2023_01_11;
mod newstyle_2023_01_11_r2;
mod project_rules;
mod title;

pub use newstyle_2023_01_11_r2::{Component, Part, VariantInfo};
pub use project_rules::{MAX_RULES_BYTES, ProjectRules};
pub use title::{Metadata, culprit, metadata, title, top_frames};

use crate::event::Event;

/// The config new events are grouped with.
pub const CURRENT_CONFIG: &str = newstyle_2023_01_11_r2::CONFIG_ID;
/// The config before it, whose hashes events also carry so issues made before the upgrade keep
/// receiving their events.
pub const PREVIOUS_CONFIG: &str = newstyle_2023_01_11::CONFIG_ID;

/// What grouping says about an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    /// The config id the hashes come from.
    pub config: &'static str,
    /// Hashes (32 hex, md5) in look-up order; never empty.
    pub hashes: Vec<String>,
    /// The previous config's hashes that the current ones do not already hold.
    pub secondary_hashes: Vec<String>,
    pub title: String,
    pub culprit: Option<String>,
    pub metadata: Metadata,
}

/// Groups `event` with the current config and no project rules.
pub fn calculate(event: &Event) -> Grouping {
    calculate_with(event, &ProjectRules::default())
}

/// Groups `event` with the current config and its project's rules.
pub fn calculate_with(event: &Event, rules: &ProjectRules) -> Grouping {
    let hashes = newstyle_2023_01_11_r2::hashes(event, rules);
    let secondary_hashes = newstyle_2023_01_11::hashes(event)
        .into_iter()
        .filter(|h| !hashes.contains(h))
        .collect();
    Grouping {
        config: CURRENT_CONFIG,
        hashes,
        secondary_hashes,
        // A matching fingerprint rule's `title=` names the issue.
        title: rules
            .fingerprints
            .as_ref()
            .and_then(|f| f.matching(event))
            .and_then(|rule| rule.title)
            .unwrap_or_else(|| title(event)),
        culprit: culprit(event),
        metadata: metadata(event),
    }
}

/// How the current config groups `event`: each variant with its hash, whether it counts and
/// why, and the component tree its hash comes from (what `grouping-info` shows).
pub fn variants(event: &Event, rules: &ProjectRules) -> Vec<VariantInfo> {
    newstyle_2023_01_11_r2::variants(event, rules)
}

/// The hashes of `event` under the config `config_id`, for re-grouping and tests.
pub fn hashes_with(config_id: &str, event: &Event) -> Option<Vec<String>> {
    match config_id {
        newstyle_2023_01_11::CONFIG_ID => Some(newstyle_2023_01_11::hashes(event)),
        newstyle_2023_01_11_r2::CONFIG_ID => Some(newstyle_2023_01_11_r2::hashes(event, &ProjectRules::default())),
        _ => None,
    }
}

/// Hex md5 of the concatenated values, as Sentry hashes grouping components.
pub(crate) fn md5_hex<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    use md5::{Digest, Md5};
    let mut hasher = Md5::new();
    for v in values {
        hasher.update(v.as_bytes());
    }
    hex::encode(hasher.finalize())
}
