//! Decode + parse + normalise + group cost per event, for a typical sentry-python event (the
//! recorded Flask `ZeroDivisionError`, tests/fixtures/sentry-python-2.75-gzip/001): gunzip of
//! the envelope, envelope parse, JSON parse, data scrubbing, normalisation, grouping (hashes, title, culprit)
//! and tag extraction — the CPU work an ingest handler does before compressing and queueing.
//! Run: `cargo bench --bench grouping`.
//!
//! Then grouping alone (`grouping::calculate`: both configs' hashes, title, culprit) for that
//! Python event and for a Java and a JavaScript event of Sentry's grouping inputs.
//!
//! A plain harness (no criterion): warm up, then time batches and report the median and the
//! best batch, in µs per event.

use std::hint::black_box;
use std::time::Instant;

use tocsin::event::{self, NormalizeInput};
use tocsin::grouping;
use tocsin::ingest::decode;

// The server's allocator (src/main.rs): the pipeline is mostly short-lived allocations, and
// glibc's malloc made it look ~20% slower than it runs in the server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 2_000;
const BATCHES: usize = 15;

fn main() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sentry-python-2.75-gzip/001.body"
    ))
    .expect("fixture");
    let envelope = tocsin::ingest::envelope::parse(&body).expect("envelope");
    let payload = envelope.items[0].payload.to_vec();
    let gzipped = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&body).unwrap();
        enc.finish().unwrap()
    };
    println!(
        "event payload: {} bytes of JSON; envelope {} bytes gzipped",
        payload.len(),
        gzipped.len()
    );
    let encodings = decode::content_encodings(Some("gzip")).expect("gzip");
    let scrub_config = event::scrub::ScrubConfig::default();

    let one = || {
        let body = decode::decode_all(black_box(gzipped.clone()), &encodings, 1 << 24, "envelope").expect("gunzip");
        let envelope = tocsin::ingest::envelope::parse(&body).expect("envelope");
        let mut raw = event::parse_lenient(&envelope.items[0].payload).expect("json");
        event::scrub::scrub(&mut raw, &scrub_config);
        let input = NormalizeInput {
            envelope_event_id: None,
            client_ip: Some("127.0.0.1"),
            received: event::unix_now(),
        };
        let event = event::normalize(raw, &input).expect("normalise");
        let grouping = grouping::calculate(&event);
        let tags = event::tags::extract(&event);
        black_box((grouping, tags));
    };
    for _ in 0..BATCH {
        one();
    }
    let mut per_event: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..BATCH {
                one();
            }
            start.elapsed().as_secs_f64() * 1e6 / BATCH as f64
        })
        .collect();
    per_event.sort_by(f64::total_cmp);
    println!(
        "gunzip + envelope + parse + scrub + normalise + group + tags: median {:.1} µs/event, best {:.1} µs/event ({BATCHES} batches of {BATCH})",
        per_event[BATCHES / 2],
        per_event[0]
    );

    // Grouping alone (both configs, as ingest computes them: the current one and the previous
    // one's secondary hashes), for a Python, a Java and a JavaScript event.
    let input = NormalizeInput {
        envelope_event_id: None,
        client_ip: None,
        received: event::unix_now(),
    };
    let python = event::normalize(event::parse_lenient(&payload).expect("json"), &input).expect("normalise");
    let sentry_input = |name: &str| {
        let path = format!("{}/tests/grouping/sentry/{name}", env!("CARGO_MANIFEST_DIR"));
        let raw = event::parse_lenient(&std::fs::read(&path).expect("a Sentry grouping input")).expect("json");
        event::normalize(raw, &input).expect("normalise")
    };
    let java = sentry_input("java-chained.json");
    let javascript = sentry_input("exception-javascript-no-in-app.json");
    for (name, event) in [("python", &python), ("java", &java), ("javascript", &javascript)] {
        let frames: usize = event
            .exception
            .iter()
            .flat_map(|e| e.values.iter())
            .filter_map(|e| e.stacktrace.as_ref())
            .map(|st| st.frames.len())
            .sum();
        let mut per_event: Vec<f64> = (0..BATCHES)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..BATCH {
                    black_box(grouping::calculate(black_box(event)));
                }
                start.elapsed().as_secs_f64() * 1e6 / BATCH as f64
            })
            .collect();
        per_event.sort_by(f64::total_cmp);
        println!(
            "group only, {name} event ({frames} frames): median {:.1} µs/event, best {:.1}",
            per_event[BATCHES / 2],
            per_event[0]
        );
        // Where it goes: the current config's hashes, the previous config's (secondary).
        for config in [grouping::CURRENT_CONFIG, grouping::PREVIOUS_CONFIG] {
            let start = Instant::now();
            for _ in 0..BATCH {
                black_box(grouping::hashes_with(config, black_box(event)));
            }
            println!(
                "    of which {config}: {:.1} µs/event",
                start.elapsed().as_secs_f64() * 1e6 / BATCH as f64
            );
        }
    }
}
