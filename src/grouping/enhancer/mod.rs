//! Stack-trace rules ("grouping enhancements"): which frames are in-app, which belong to a
//! category, and which count for grouping. Sentry's grouping configs each come with a built-in
//! rule set in this syntax; a config module here embeds its set as a data file and applies it
//! before hashing, instead of special cases in code.

mod apply;
mod index;
mod parse;

pub use apply::{ExceptionFacts, FrameOutcome, StackOutcome, apply, family};
pub use index::RuleSet;
pub use parse::{Rule, parse_rules};
