//! Prometheus metrics for Tocsin itself, served as text on `/metrics`.
//!
//! Label values come from fixed lists only: a client can send any item type, and a label per
//! distinct string would let it grow our memory without bound.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Envelope item types Tocsin knows by name; everything else is counted as `unknown`.
const KNOWN_ITEM_TYPES: &[&str] = &[
    "event",
    "transaction",
    "attachment",
    "session",
    "sessions",
    "client_report",
    "user_report",
    "feedback",
    "check_in",
    "profile",
    "profile_chunk",
    "replay_event",
    "replay_recording",
    "replay_video",
    "span",
    "log",
    "otel_log",
    "trace_metric",
    "metric",
    "statsd",
    "metric_meta",
    "raw_security",
    "security",
    "unreal_report",
    "form_data",
    "nel",
];

type Labels = Vec<(&'static str, &'static str)>;

struct Inner {
    registry: Registry,
    events_stored: Counter,
    events_duplicate: Counter,
    items_dropped: Family<Labels, Counter>,
    rejected: Family<Labels, Counter>,
    tags_dropped: Counter,
    batch_size: Histogram,
    commit_seconds: Histogram,
}

/// Shared handle to every metric; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tocsin");
        let events_stored = Counter::default();
        registry.register(
            "events_stored",
            "Events committed to the database",
            events_stored.clone(),
        );
        let events_duplicate = Counter::default();
        registry.register(
            "events_duplicate",
            "Events answered 200 but not stored again because their id was already stored",
            events_duplicate.clone(),
        );
        let items_dropped = Family::<Labels, Counter>::default();
        registry.register(
            "envelope_items_dropped",
            "Envelope items accepted and dropped because Tocsin does not store their type",
            items_dropped.clone(),
        );
        let rejected = Family::<Labels, Counter>::default();
        registry.register(
            "ingest_rejected",
            "Ingest requests refused, by HTTP status",
            rejected.clone(),
        );
        let tags_dropped = Counter::default();
        registry.register(
            "tags_dropped",
            "Event tags dropped for breaking a limit (100 per event, key 32 and value 200 characters)",
            tags_dropped.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 11));
        registry.register(
            "writer_batch_events",
            "Events per writer transaction",
            batch_size.clone(),
        );
        let commit_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        registry.register(
            "writer_batch_seconds",
            "Time from BEGIN to COMMIT of a writer transaction",
            commit_seconds.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            events_stored,
            events_duplicate,
            items_dropped,
            rejected,
            tags_dropped,
            batch_size,
            commit_seconds,
        }))
    }

    pub fn event_stored(&self, inserted: bool) {
        if inserted {
            self.0.events_stored.inc();
        } else {
            self.0.events_duplicate.inc();
        }
    }

    pub fn item_dropped(&self, item_type: &str) {
        let label = KNOWN_ITEM_TYPES
            .iter()
            .find(|known| **known == item_type)
            .copied()
            .unwrap_or("unknown");
        self.0.items_dropped.get_or_create(&vec![("item_type", label)]).inc();
    }

    pub fn rejected(&self, status: u16) {
        let label = match status {
            400 => "400",
            401 => "401",
            403 => "403",
            404 => "404",
            413 => "413",
            415 => "415",
            429 => "429",
            503 => "503",
            _ => "other",
        };
        self.0.rejected.get_or_create(&vec![("status", label)]).inc();
    }

    pub fn tags_dropped(&self, n: usize) {
        if n > 0 {
            self.0.tags_dropped.inc_by(n as u64);
        }
    }

    pub fn observe_batch(&self, events: usize, took: Duration) {
        self.0.batch_size.observe(events as f64);
        self.0.commit_seconds.observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.0.registry);
        out
    }
}
