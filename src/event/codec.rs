//! How event payloads are stored: zstd, with a dictionary trained on the project's own events
//! once it has some.
//!
//! A ~7 KB sentry-python event compresses to ~2.5 KB alone; most of that is text every event of
//! the project repeats (SDK and module lists, contexts, the same frames). A 64 KiB dictionary
//! trained on a few hundred of the project's events carries that text once, and each payload
//! shrinks to a few hundred bytes. Dictionaries are immutable and kept by id; an event records
//! the id it was compressed with, so retraining never makes old events unreadable.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use zstd::zstd_safe::{CCtx, CDict, DCtx, DDict};

/// zstd level for every payload: fast, and with a dictionary the ratio barely improves above it.
const LEVEL: i32 = 3;
/// Events a project must have compressed without a dictionary before one is trained.
pub const TRAIN_AFTER: u64 = 500;
/// Events compressed with a project's dictionary before it is retrained (its events drift:
/// new releases, new frames).
pub const RETRAIN_AFTER: u64 = 200_000;
/// Size of a trained dictionary.
pub const DICTIONARY_BYTES: usize = 64 * 1024;
/// Largest payload we agree to inflate (an event is at most 1 MiB; normalising can grow it).
const MAX_DECOMPRESSED: u64 = 64 * 1024 * 1024;

struct Dictionary {
    id: i64,
    compress: CDict<'static>,
    decompress: DDict<'static>,
}

#[derive(Default)]
struct Registry {
    by_id: HashMap<i64, Arc<Dictionary>>,
    /// project → its newest dictionary
    current: HashMap<i64, Arc<Dictionary>>,
    /// project → events compressed since its current dictionary (or without one); atomic so
    /// that compressing, on every ingest worker, takes only the read lock
    since_training: HashMap<i64, AtomicU64>,
}

/// The dictionaries of every project, shared by ingest (compress), the API and UI
/// (decompress) and the trainer.
#[derive(Default)]
pub struct Codec {
    registry: RwLock<Registry>,
}

thread_local! {
    // One context per thread: creating one per event cost more than compressing the event
    // (perf, under the ingest benchmark).
    static CCTX: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

impl Codec {
    pub fn new() -> Codec {
        Codec::default()
    }

    /// Registers a dictionary (at start-up for each stored one, then for each trained one).
    /// The newest per project becomes the one new events use.
    pub fn add(&self, id: i64, project_id: i64, data: &[u8]) -> Result<(), String> {
        let compress = CDict::try_create(data, LEVEL).ok_or("zstd refused the dictionary")?;
        let dict = Arc::new(Dictionary {
            id,
            compress,
            decompress: DDict::create(data),
        });
        let mut r = self.registry.write().unwrap_or_else(|p| p.into_inner());
        r.by_id.insert(id, dict.clone());
        let newer = r.current.get(&project_id).is_none_or(|d| d.id < id);
        if newer {
            r.current.insert(project_id, dict);
            r.since_training.insert(project_id, AtomicU64::new(0));
        }
        Ok(())
    }

    /// Compresses a payload of `project_id`; returns the bytes and the dictionary used.
    pub fn compress(&self, project_id: i64, json: &[u8]) -> Result<(Vec<u8>, Option<i64>), String> {
        let dict = {
            let r = self.registry.read().unwrap_or_else(|p| p.into_inner());
            match r.since_training.get(&project_id) {
                Some(n) => {
                    n.fetch_add(1, Ordering::Relaxed);
                    r.current.get(&project_id).cloned()
                }
                None => {
                    // A project's first event since start: the one time it takes the write lock.
                    drop(r);
                    let mut r = self.registry.write().unwrap_or_else(|p| p.into_inner());
                    r.since_training
                        .entry(project_id)
                        .or_default()
                        .fetch_add(1, Ordering::Relaxed);
                    r.current.get(&project_id).cloned()
                }
            }
        };
        let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(json.len()));
        CCTX.with(|cctx| {
            let mut cctx = cctx.borrow_mut();
            match &dict {
                Some(d) => cctx.compress_using_cdict(&mut out, json, &d.compress),
                None => cctx.compress(&mut out, json, LEVEL),
            }
            .map_err(|code| format!("zstd error {}", zstd::zstd_safe::get_error_name(code)))
        })?;
        Ok((out, dict.map(|d| d.id)))
    }

    /// Inflates a stored payload compressed with dictionary `dict_id` (or none).
    pub fn decompress(&self, payload: &[u8], dict_id: Option<i64>) -> Result<Vec<u8>, String> {
        let dict = match dict_id {
            None => None,
            Some(id) => {
                let r = self.registry.read().unwrap_or_else(|p| p.into_inner());
                Some(
                    r.by_id
                        .get(&id)
                        .cloned()
                        .ok_or(format!("dictionary {id} is not loaded"))?,
                )
            }
        };
        let size = zstd::zstd_safe::get_frame_content_size(payload)
            .map_err(|_| "not a zstd frame".to_string())?
            .ok_or("the zstd frame does not say its size")?;
        if size > MAX_DECOMPRESSED {
            return Err(format!("the payload claims {size} bytes"));
        }
        let mut out = Vec::with_capacity(size as usize);
        DCTX.with(|dctx| {
            let mut dctx = dctx.borrow_mut();
            match &dict {
                Some(d) => dctx.decompress_using_ddict(&mut out, payload, &d.decompress),
                None => dctx.decompress(&mut out, payload),
            }
            .map_err(|code| format!("zstd error {}", zstd::zstd_safe::get_error_name(code)))
        })?;
        Ok(out)
    }

    /// Whether dictionary `id` is loaded.
    pub fn has(&self, id: i64) -> bool {
        let r = self.registry.read().unwrap_or_else(|p| p.into_inner());
        r.by_id.contains_key(&id)
    }

    /// Forgets a dictionary no stored event uses. A project's current one is kept.
    pub fn remove(&self, id: i64) {
        let mut r = self.registry.write().unwrap_or_else(|p| p.into_inner());
        if r.current.values().any(|d| d.id == id) {
            return;
        }
        r.by_id.remove(&id);
    }

    /// Forgets a deleted project's dictionaries (the database dropped them with it).
    pub fn forget_project(&self, project_id: i64) {
        let mut r = self.registry.write().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = r.current.remove(&project_id) {
            r.by_id.remove(&d.id);
        }
        r.since_training.remove(&project_id);
    }

    /// Projects that should get a (new) dictionary now.
    pub fn due_for_training(&self) -> Vec<i64> {
        let r = self.registry.read().unwrap_or_else(|p| p.into_inner());
        r.since_training
            .iter()
            .filter(|(project, n)| {
                let threshold = if r.current.contains_key(project) {
                    RETRAIN_AFTER
                } else {
                    TRAIN_AFTER
                };
                n.load(Ordering::Relaxed) >= threshold
            })
            .map(|(project, _)| *project)
            .collect()
    }

    /// Forgets a project's count until `n` more events arrive (training failed or there were
    /// too few samples); keeps the trainer from retrying on every tick.
    pub fn postpone(&self, project_id: i64) {
        let r = self.registry.read().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = r.since_training.get(&project_id) {
            n.store(0, Ordering::Relaxed);
        }
    }
}

/// Trains a dictionary from sample payloads (uncompressed JSON).
pub fn train(samples: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    zstd::dict::from_samples(samples, DICTIONARY_BYTES).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "event_id": format!("{n:032x}"),
            "platform": "python",
            "sdk": {"name": "sentry.python.flask", "version": "2.75.0", "integrations": ["flask", "logging", "stdlib", "threading", "excepthook", "dedupe", "atexit", "modules", "argv"]},
            "exception": {"values": [{"type": "ZeroDivisionError", "value": "division by zero", "stacktrace": {"frames": [
                {"filename": "app.py", "function": format!("handler_{}", n % 7), "lineno": 10 + n % 3, "context_line": "    return a / b", "in_app": true},
                {"filename": "flask/app.py", "function": "full_dispatch_request", "lineno": 880, "in_app": false}
            ]}}]},
            "request": {"url": format!("http://example.com/items/{n}"), "method": "GET", "headers": {"User-Agent": "curl/8.0", "Accept": "*/*"}},
            "modules": {"flask": "3.1.3", "werkzeug": "3.1.3", "jinja2": "3.1.6", "click": "8.2.1", "itsdangerous": "2.2.0", "blinker": "1.9.0", "markupsafe": "3.0.2"},
        }))
        .unwrap()
    }

    #[test]
    fn payloads_round_trip_with_and_without_a_dictionary_and_old_ones_stay_readable() {
        let codec = Codec::new();
        let plain_event = sample(1);
        let (plain, none) = codec.compress(7, &plain_event).unwrap();
        assert_eq!(none, None);
        assert_eq!(codec.decompress(&plain, None).unwrap(), plain_event);

        let samples: Vec<Vec<u8>> = (0..600).map(sample).collect();
        let dict = train(&samples).unwrap();
        codec.add(1, 7, &dict).unwrap();
        let event = sample(10_001);
        let (small, id) = codec.compress(7, &event).unwrap();
        assert_eq!(id, Some(1));
        assert_eq!(codec.decompress(&small, Some(1)).unwrap(), event);
        let (alone, _) = codec.compress(8, &event).unwrap();
        assert!(
            small.len() * 2 < alone.len(),
            "{} with the dictionary, {} without",
            small.len(),
            alone.len()
        );
        // Another project has no dictionary; the old payload still reads.
        assert_eq!(codec.decompress(&plain, None).unwrap(), plain_event);
        assert!(codec.decompress(&small, Some(99)).unwrap_err().contains("not loaded"));
    }

    #[test]
    fn a_project_is_due_for_training_after_enough_events_and_not_again_at_once() {
        let codec = Codec::new();
        for n in 0..TRAIN_AFTER {
            codec.compress(3, &sample(n as usize)).unwrap();
        }
        assert_eq!(codec.due_for_training(), vec![3]);
        codec.postpone(3);
        assert!(codec.due_for_training().is_empty());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let codec = Codec::new();
        assert!(codec.decompress(b"not zstd at all", None).is_err());
        assert!(codec.decompress(&[], None).is_err());
    }
}
