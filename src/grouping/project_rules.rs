//! A project's own grouping rules, as Sentry's project settings have them: stack-trace rules
//! ("grouping enhancements": which frames are in-app and which count, frame limits) and
//! fingerprint rules (events matching a rule get its fingerprint, whatever the client sent).
//!
//! Both are text a person writes in Sentry's syntax, parsed once when the project is loaded
//! (the key cache holds them) and applied by the current grouping config. The project's
//! stack-trace rules come after the config's built-in ones, so they have the last word, as in
//! Sentry. The previous config's hashes (secondary, for look-up) ignore them: that config is
//! frozen as it was.

use std::sync::Arc;

use super::enhancer::{RuleSet, parse_rules};
use super::fingerprint_rules::FingerprintRules;

/// Longest rule text accepted for each kind (Sentry's limit is 64 KiB too).
pub const MAX_RULES_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Default)]
pub struct ProjectRules {
    /// The config's built-in stack-trace rules followed by the project's; `None` when the project
    /// has none (the config's set alone applies).
    pub(super) stack: Option<Arc<RuleSet>>,
    pub(super) fingerprints: Option<Arc<FingerprintRules>>,
    /// The texts as the project owner wrote them.
    pub stack_text: String,
    pub fingerprint_text: String,
}

/// Rules are the same when their texts are.
impl PartialEq for ProjectRules {
    fn eq(&self, other: &Self) -> bool {
        self.stack_text == other.stack_text && self.fingerprint_text == other.fingerprint_text
    }
}

impl Eq for ProjectRules {}

impl ProjectRules {
    /// Reads both rule texts; an error says which text and which line.
    pub fn parse(stack_text: &str, fingerprint_text: &str) -> Result<ProjectRules, String> {
        for (name, text) in [
            ("stack trace rules", stack_text),
            ("fingerprint rules", fingerprint_text),
        ] {
            if text.len() > MAX_RULES_BYTES {
                return Err(format!(
                    "the {name} are {} bytes long; the limit is {MAX_RULES_BYTES}",
                    text.len()
                ));
            }
        }
        let custom = parse_rules(stack_text).map_err(|e| format!("stack trace rules, {e}"))?;
        let stack = (!custom.is_empty()).then(|| Arc::new(super::newstyle_2023_01_11_r2::with_builtin_rules(custom)));
        let fingerprints = FingerprintRules::parse(fingerprint_text).map_err(|e| format!("fingerprint rules, {e}"))?;
        Ok(ProjectRules {
            stack,
            fingerprints: (!fingerprints.is_empty()).then(|| Arc::new(fingerprints)),
            stack_text: stack_text.to_string(),
            fingerprint_text: fingerprint_text.to_string(),
        })
    }

    /// Whether the project has rules of its own (none written, or only comments).
    pub fn is_empty(&self) -> bool {
        self.stack.is_none() && self.fingerprints.is_none()
    }
}
