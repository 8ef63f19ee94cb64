//! The event model: protocol types that keep every field a client sent, and the normalisation
//! that turns whatever an SDK of any age sent into that one canonical shape.

pub mod codec;
mod coerce;
mod convert;
pub mod scrub;

mod id;
mod json_repair;
mod level;
mod model;
mod normalize;
pub mod tags;
pub mod timestamp;

pub use id::EventId;
pub use json_repair::parse_lenient;
pub use level::Level;
pub use model::{ClientSdk, Event, Exception, Frame, LogEntry, Request, Stacktrace, User, Values};
pub use normalize::{NormalizeError, NormalizeInput, normalize};
pub use timestamp::{format_rfc3339, unix_now};

/// Normalises raw event JSON received at a fixed time, for unit tests of what reads events.
#[cfg(test)]
pub(crate) fn test_event(raw: serde_json::Value) -> Event {
    let input = NormalizeInput {
        envelope_event_id: None,
        client_ip: None,
        received: 1_795_543_200.0,
    };
    normalize(raw, &input).expect("the test event normalises")
}
