//! The `/store/` body decoder: JSON, base64, or base64 of zlib, within its size cap.
#![no_main]

use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(out) = tocsin::ingest::decode::store_body(data.to_vec(), LIMIT) {
        assert!(out.len() <= LIMIT);
    }
});
