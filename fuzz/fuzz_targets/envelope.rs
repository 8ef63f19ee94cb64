//! The envelope parser: any bytes give an envelope or an error, never a panic or a read past
//! the end (a `length` header pointing beyond the body included).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = tocsin::ingest::envelope::parse(data) {
        for item in &envelope.items {
            assert!(item.payload.len() <= data.len());
        }
    }
});
