//! What source maps cost an event: `cargo bench --bench sourcemaps -- [--functions 2000]
//! [--events 200] [--cold 20] [--runs 3]`.
//!
//! Starts the release `tocsin serve` on a temporary data directory and uploads a synthetic app
//! chunk (`--functions` functions: a minified bundle and its map with `sourcesContent`, a few
//! hundred KB each, see `ingest/javascript.rs`) as sentry-cli does. Then, in this process, on the
//! same SQLite file, it maps browser events of ten frames in that bundle, found by debug id, with
//! Tocsin's own `Symbolicator`, as an ingest handler does:
//! - warm: one symbolicator, the map parsed already: the cost of mapping the frames;
//! - cold: a fresh symbolicator per event: reading the bundle's files from the database,
//!   decompressing, parsing the map and the minified source, then mapping;
//! - without a map (a debug id nothing was uploaded for): the look-up that finds nothing, first
//!   from the database, then from the cache of misses.
//!
//! Prints the median time per event of each, the median of `--runs` runs. The ingest
//! benchmark's `--shape javascript [--maps]` measures what the same events cost end to end.

mod common;
#[allow(dead_code)]
#[path = "ingest/javascript.rs"]
mod javascript;
#[allow(dead_code)]
#[path = "ingest/vary.rs"]
mod vary;

use std::time::Instant;

use serde_json::Value;
use tocsin::event::{Event, NormalizeInput, normalize};
use tocsin::sourcemaps::Symbolicator;

fn events(values: &[Value]) -> Vec<Event> {
    let input = NormalizeInput {
        envelope_event_id: None,
        client_ip: None,
        received: tocsin::event::unix_now(),
    };
    values.iter().map(|v| normalize(v.clone(), &input).unwrap()).collect()
}

/// Microseconds per event for `events` through `symbolicator` (a fresh one per event when
/// `fresh` is given), checking every frame was (or was not) mapped.
async fn per_event(
    events: &[Event],
    mut symbolicator: impl FnMut() -> std::sync::Arc<Symbolicator>,
    mapped: usize,
) -> f64 {
    let mut total = 0.0;
    for event in events {
        let mut event = event.clone();
        let s = symbolicator();
        let started = Instant::now();
        let report = s.apply(1, &mut event).await;
        total += started.elapsed().as_secs_f64();
        assert_eq!(report.mapped, mapped, "frames mapped");
    }
    total / events.len() as f64 * 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let get = |name: &str, default: usize| common::arg(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (functions, n_events, n_cold, runs) = (
        get("--functions", 2000),
        get("--events", 200),
        get("--cold", 20),
        get("--runs", 3),
    );
    let rt = common::runtime();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = common::Server::start_with(&data, &[]);
    let out = server.command(&["token", "create", "bench"]).output().unwrap();
    let token = String::from_utf8_lossy(&out.stdout).lines().last().unwrap().to_string();
    let bundle = javascript::bundle(functions);
    println!(
        "bundle: {functions} functions, minified {:.0} KB, map {:.0} KB; events of 10 frames",
        bundle.minified.len() as f64 / 1024.0,
        bundle.map.len() as f64 / 1024.0
    );
    rt.block_on(javascript::upload(&server.base, &token, &bundle));

    let (warm, cold, miss_db, miss_cached) = rt.block_on(async {
        let db = tocsin::store::Database::open(&data, tocsin::config::Synchronous::Normal)
            .await
            .unwrap();
        let (pool, admin) = (db.read_pool().await.unwrap(), db.admin_pool().await.unwrap());
        let new = || std::sync::Arc::new(Symbolicator::new(pool.clone(), admin.clone(), 128 << 20));
        let with_map = events(&javascript::templates(&bundle, n_events, 1));
        let mut without: Vec<Event> = with_map.clone();
        for e in &mut without {
            e.other["debug_meta"]["images"][0]["debug_id"] = "00000000-0000-4000-8000-000000000000".into();
            e.release = None;
        }
        let (mut warm, mut cold, mut miss_db, mut miss_cached) = (vec![], vec![], vec![], vec![]);
        for run in 1..=runs {
            let shared = new();
            per_event(&with_map[..1], || shared.clone(), 10).await;
            warm.push(per_event(&with_map, || shared.clone(), 10).await);
            cold.push(per_event(&with_map[..n_cold], new, 10).await);
            miss_db.push(per_event(&without[..n_cold], new, 0).await);
            let shared = new();
            per_event(&without[..1], || shared.clone(), 0).await;
            miss_cached.push(per_event(&without, || shared.clone(), 0).await);
            println!(
                "run {run}: warm {:.1} µs, cold {:.0} µs, no map (database) {:.1} µs, no map (cached) {:.2} µs per event",
                warm[run - 1],
                cold[run - 1],
                miss_db[run - 1],
                miss_cached[run - 1]
            );
        }
        (median(warm), median(cold), median(miss_db), median(miss_cached))
    });
    server.stop();
    println!(
        "median of {runs} runs, per event of 10 frames: warm cache {warm:.1} µs; cold cache {:.1} ms (read, decompress, parse, map); \
         without a map {miss_db:.1} µs from the database, {miss_cached:.2} µs once the miss is cached",
        cold / 1000.0
    );
}
