//! The `X-Sentry-Auth` / `Authorization: Sentry` header parser and the DSN parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = tocsin::ingest::auth::parse_header(text);
    if let Some((key, project)) = tocsin::ingest::auth::parse_dsn(text) {
        assert!(!key.is_empty() && !project.is_empty());
    }
});
