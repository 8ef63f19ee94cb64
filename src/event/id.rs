//! Event ids: UUIDs, always stored and shown as 32 lowercase hex characters.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A normalised event id (`be70da9690c54370bac4a67489a20069`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(uuid::Uuid);

impl EventId {
    /// A fresh random (v4) id, for events that arrive without one.
    pub fn new_random() -> EventId {
        EventId(uuid::Uuid::new_v4())
    }

    /// Accepts the simple (32 hex) and the dashed (36 chars) forms in any case, as SDKs write
    /// both (the Rust SDK dashes its envelope headers). The nil UUID counts as "no id".
    pub fn parse(s: &str) -> Option<EventId> {
        let s = s.trim();
        if s.len() != 32 && s.len() != 36 {
            return None;
        }
        uuid::Uuid::try_parse(s).ok().filter(|u| !u.is_nil()).map(EventId)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.simple())
    }
}

impl Serialize for EventId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EventId::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("invalid event id {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashed_and_uppercase_ids_normalise_to_lowercase_simple_hex() {
        let id = EventId::parse("22D00B3F-D1B1-4B5D-8D20-49D138CD8A9C").unwrap();
        assert_eq!(id.to_string(), "22d00b3fd1b14b5d8d2049d138cd8a9c");
    }

    #[test]
    fn garbage_and_nil_ids_are_rejected() {
        assert!(EventId::parse("not-an-id").is_none());
        assert!(EventId::parse("00000000000000000000000000000000").is_none());
        assert!(EventId::parse("{22d00b3f-d1b1-4b5d-8d20-49d138cd8a9c}").is_none());
    }
}
