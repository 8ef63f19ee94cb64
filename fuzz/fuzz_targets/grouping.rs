//! Grouping and tag extraction of any event that normalises: hashes are never empty and
//! tags stay within their limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin::event::{self, NormalizeInput};
use tocsin::grouping;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = event::parse_lenient(data) else {
        return;
    };
    let input = NormalizeInput {
        envelope_event_id: None,
        client_ip: None,
        received: 1_795_543_200.0,
    };
    let Ok(event) = event::normalize(raw, &input) else {
        return;
    };
    let g = grouping::calculate(&event);
    assert!(!g.hashes.is_empty());
    let _ = grouping::top_frames(&event, 5);
    let tags = event::tags::extract(&event);
    assert!(tags.pairs.len() <= event::tags::MAX_TAGS);
});
