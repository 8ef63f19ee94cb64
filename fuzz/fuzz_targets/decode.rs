//! The Content-Encoding decoders with their size cap: the first byte picks the encoding (and
//! stacks a second one), the rest is the body. Output never exceeds the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin::ingest::decode::{self, Encoding};

const LIMIT: usize = 1 << 20;

fn encoding(b: u8) -> Encoding {
    match b % 4 {
        0 => Encoding::Gzip,
        1 => Encoding::Deflate,
        2 => Encoding::Brotli,
        _ => Encoding::Zstd,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let mut encodings = vec![encoding(first)];
    if first & 0x80 != 0 {
        encodings.push(encoding(first >> 2));
    }
    if let Ok(out) = decode::decode_all(body.to_vec(), &encodings, LIMIT, "fuzz input") {
        assert!(out.len() <= LIMIT);
    }
});
