//! Lenient JSON parsing, data scrubbing and normalisation of any event an SDK could send; a
//! normalised event must serialise (it is what gets stored).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin::event::{self, NormalizeInput};

fuzz_target!(|data: &[u8]| {
    let Ok(mut raw) = event::parse_lenient(data) else {
        return;
    };
    event::scrub::scrub(&mut raw, &event::scrub::ScrubConfig::default());
    let input = NormalizeInput {
        envelope_event_id: None,
        client_ip: Some("127.0.0.1"),
        received: 1_795_543_200.0,
    };
    if let Ok(event) = event::normalize(raw, &input) {
        serde_json::to_vec(&event).expect("a normalised event serialises");
    }
});
