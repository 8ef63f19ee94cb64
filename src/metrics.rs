//! Prometheus metrics for Tocsin itself, served as text on `/metrics`.
//!
//! Label values come from fixed lists only: a client can send any item type, and a label per
//! distinct string would let it grow our memory without bound.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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
/// Labels that name a project: its numeric id (projects are created by admins, so the set is
/// bounded) and, where there is one, a reason from a fixed list.
type ProjectLabels = Vec<(&'static str, String)>;

struct Inner {
    registry: Registry,
    events_received: Family<ProjectLabels, Counter>,
    events_accepted: Family<ProjectLabels, Counter>,
    events_rejected: Family<ProjectLabels, Counter>,
    events_duplicate: Counter,
    issues_created: Family<ProjectLabels, Counter>,
    items_dropped: Family<Labels, Counter>,
    rejected: Family<Labels, Counter>,
    tags_dropped: Counter,
    /// JavaScript frames a source map could apply to, and those it did.
    frames_symbolicable: Counter,
    frames_symbolicated: Counter,
    batch_size: Histogram,
    /// Batches the SQLite writer's fast path committed.
    fast_batches: Counter,
    /// Per batch, by `stage`.
    stage_seconds: Family<ProjectLabels, Histogram>,
    commit_seconds: Histogram,
    queue_depth: Gauge,
    http_seconds: Family<ProjectLabels, Histogram>,
    notifications: Family<Labels, Counter>,
    database_bytes: Gauge,
    retention_deleted: Counter,
    request_memory: Gauge,
    request_memory_limit: Gauge,
    request_memory_refused: Counter,
    /// The budget the three gauges above are sampled from.
    budget: std::sync::OnceLock<Arc<crate::budget::MemoryBudget>>,
}

/// Shared handle to every metric; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn latency_histogram() -> Histogram {
    // 0.1 ms … ~3.3 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("tocsin");
        let events_received = Family::<ProjectLabels, Counter>::default();
        r.register(
            "events_received",
            "Events that reached a project (authenticated), before rate limits and validation",
            events_received.clone(),
        );
        let events_accepted = Family::<ProjectLabels, Counter>::default();
        r.register(
            "events_accepted",
            "Events committed to the database, by project",
            events_accepted.clone(),
        );
        let events_rejected = Family::<ProjectLabels, Counter>::default();
        r.register(
            "events_rejected",
            "Events of a project refused, by reason: project_quota, server_quota, queue_full, invalid, unavailable",
            events_rejected.clone(),
        );
        let events_duplicate = Counter::default();
        r.register(
            "events_duplicate",
            "Events answered 200 but not stored again because their id was already stored",
            events_duplicate.clone(),
        );
        let issues_created = Family::<ProjectLabels, Counter>::default();
        r.register("issues_created", "New issues, by project", issues_created.clone());
        let items_dropped = Family::<Labels, Counter>::default();
        r.register(
            "envelope_items_dropped",
            "Envelope items accepted and dropped because Tocsin does not store their type",
            items_dropped.clone(),
        );
        let rejected = Family::<Labels, Counter>::default();
        r.register(
            "ingest_rejected",
            "Ingest requests refused, by HTTP status",
            rejected.clone(),
        );
        let tags_dropped = Counter::default();
        r.register(
            "tags_dropped",
            "Event tags dropped for breaking a limit (100 per event, key 32 and value 200 characters)",
            tags_dropped.clone(),
        );
        let frames_symbolicable = Counter::default();
        r.register(
            "sourcemap_frames",
            "JavaScript frames with a script, line and column that a source map could apply to",
            frames_symbolicable.clone(),
        );
        let frames_symbolicated = Counter::default();
        r.register(
            "sourcemap_frames_mapped",
            "JavaScript frames mapped to their original source (the rest had no uploaded map)",
            frames_symbolicated.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 11));
        r.register(
            "writer_batch_events",
            "Jobs (mostly events) per writer transaction",
            batch_size.clone(),
        );
        let fast_batches = Counter::default();
        r.register(
            "writer_fast_batches",
            "Writer batches of events of existing issues, with no status change, committed by SQLite's fast path or as one PostgreSQL statement",
            fast_batches.clone(),
        );
        let commit_seconds = latency_histogram();
        r.register(
            "writer_batch_seconds",
            "Time from BEGIN to COMMIT of a writer transaction",
            commit_seconds.clone(),
        );
        let stage_seconds =
            Family::<ProjectLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        r.register(
            "writer_stage_seconds",
            "Time a writer transaction spent in each stage: begin, lookup, new_issues, write, other, commit",
            stage_seconds.clone(),
        );
        let queue_depth = Gauge::default();
        r.register(
            "writer_queue_depth",
            "Jobs waiting for the writer when scraped",
            queue_depth.clone(),
        );
        let http_seconds =
            Family::<ProjectLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency, by route pattern and method",
            http_seconds.clone(),
        );
        let notifications = Family::<Labels, Counter>::default();
        r.register(
            "notifications",
            "Notification delivery attempts, by channel kind and result (sent, retry, failed)",
            notifications.clone(),
        );
        let database_bytes = Gauge::default();
        r.register(
            "database_bytes",
            "Size of the database file plus its write-ahead log when scraped",
            database_bytes.clone(),
        );
        let retention_deleted = Counter::default();
        r.register(
            "retention_events_deleted",
            "Events deleted by retention (age or per-project limit)",
            retention_deleted.clone(),
        );
        let request_memory = Gauge::default();
        r.register(
            "request_memory_bytes",
            "Bytes request bodies, decoders and parsed events hold now (charged to the budget)",
            request_memory.clone(),
        );
        let request_memory_limit = Gauge::default();
        r.register(
            "request_memory_limit_bytes",
            "The request memory budget (request_memory)",
            request_memory_limit.clone(),
        );
        let request_memory_refused = Counter::default();
        r.register(
            "request_memory_refused",
            "Charges the request memory budget refused (ingest answered 503, or 413 for one request over half the budget)",
            request_memory_refused.clone(),
        );
        Metrics(Arc::new(Inner {
            registry: r,
            events_received,
            events_accepted,
            events_rejected,
            events_duplicate,
            issues_created,
            items_dropped,
            rejected,
            tags_dropped,
            frames_symbolicable,
            frames_symbolicated,
            batch_size,
            fast_batches,
            stage_seconds,
            commit_seconds,
            queue_depth,
            http_seconds,
            notifications,
            database_bytes,
            retention_deleted,
            request_memory,
            request_memory_limit,
            request_memory_refused,
            budget: std::sync::OnceLock::new(),
        }))
    }

    pub fn event_received(&self, project_id: i64) {
        self.0.events_received.get_or_create(&project(project_id)).inc();
    }

    /// A committed event: stored, or a duplicate of one stored before.
    pub fn event_stored(&self, project_id: i64, inserted: bool, new_issue: bool) {
        if inserted {
            self.0.events_accepted.get_or_create(&project(project_id)).inc();
        } else {
            self.0.events_duplicate.inc();
        }
        if new_issue {
            self.0.issues_created.get_or_create(&project(project_id)).inc();
        }
    }

    /// `reason`: one of the fixed reasons listed in the metric's help.
    pub fn event_refused(&self, project_id: i64, reason: &'static str) {
        let mut labels = project(project_id);
        labels.push(("reason", reason.to_string()));
        self.0.events_rejected.get_or_create(&labels).inc();
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

    pub fn symbolicated(&self, candidates: usize, mapped: usize) {
        self.0.frames_symbolicable.inc_by(candidates as u64);
        self.0.frames_symbolicated.inc_by(mapped as u64);
    }

    pub fn tags_dropped(&self, n: usize) {
        if n > 0 {
            self.0.tags_dropped.inc_by(n as u64);
        }
    }

    pub fn observe_batch(&self, jobs: usize, took: Duration, stages: &crate::store::StageTimes) {
        self.0.batch_size.observe(jobs as f64);
        if stages.fast_path {
            self.0.fast_batches.inc();
        }
        self.0.commit_seconds.observe(took.as_secs_f64());
        for (stage, took) in stages.iter() {
            self.0
                .stage_seconds
                .get_or_create(&vec![("stage", stage.name().to_string())])
                .observe(took.as_secs_f64());
        }
    }

    /// `route`: the matched route pattern (bounded by the app's routes) or `unmatched`, so a
    /// client probing random paths cannot grow the label set.
    pub fn observe_request(&self, route: Option<String>, method: &actix_web::http::Method, took: Duration) {
        use actix_web::http::Method;
        let method = match *method {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::DELETE => "DELETE",
            Method::OPTIONS => "OPTIONS",
            Method::HEAD => "HEAD",
            Method::PATCH => "PATCH",
            _ => "other",
        };
        let labels = vec![
            ("route", route.unwrap_or_else(|| "unmatched".to_string())),
            ("method", method.to_string()),
        ];
        self.0.http_seconds.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// `kind`: the channel's kind; `result`: sent, retry or failed.
    pub fn notification(&self, kind: &str, result: &'static str) {
        let kind = match kind {
            "email" => "email",
            "slack" => "slack",
            "webhook" => "webhook",
            "discord" => "discord",
            "teams" => "teams",
            "mattermost" => "mattermost",
            "rocketchat" => "rocketchat",
            "googlechat" => "googlechat",
            "ntfy" => "ntfy",
            _ => "unknown",
        };
        self.0
            .notifications
            .get_or_create(&vec![("kind", kind), ("result", result)])
            .inc();
    }

    pub fn retention_deleted(&self, n: u64) {
        self.0.retention_deleted.inc_by(n);
    }

    /// Reports this budget's use in the `request_memory_*` metrics.
    pub fn watch_budget(&self, budget: Arc<crate::budget::MemoryBudget>) {
        let _ = self.0.budget.set(budget);
    }

    /// The Prometheus text exposition; `queue_depth`, `database_bytes` and the budget are
    /// sampled now.
    pub fn render(&self, queue_depth: usize, database_bytes: u64) -> String {
        self.0.queue_depth.set(queue_depth as i64);
        self.0.database_bytes.set(database_bytes as i64);
        if let Some(budget) = self.0.budget.get() {
            self.0.request_memory.set(budget.used() as i64);
            self.0.request_memory_limit.set(budget.limit() as i64);
            let refused = budget.refused() as u64;
            let counted = self.0.request_memory_refused.get();
            self.0.request_memory_refused.inc_by(refused.saturating_sub(counted));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.0.registry);
        out
    }
}

fn project(project_id: i64) -> ProjectLabels {
    vec![("project", project_id.to_string())]
}
