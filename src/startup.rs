//! Building and running the server. `Application::build` binds first, so tests (and users) can
//! ask for port 0 and learn the real address before serving.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{NormalizePath, TrailingSlash};
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use serde_json::json;

use crate::api::{self, ApiState};
use crate::config::Settings;
use crate::health::{self, HealthState};
use crate::ingest::{self, IngestState};
use crate::metrics::Metrics;
use crate::project::KeyCache;
use crate::project::{PublicKey, Slug, dsn};
use crate::store::{self, Database, writer};
use crate::web::WebState;

/// How long in-flight requests get after SIGTERM, and then the writer: within 10 s in all.
const SHUTDOWN_REQUESTS: Duration = Duration::from_secs(5);
const SHUTDOWN_WRITER: Duration = Duration::from_secs(4);

/// A bound, ready-to-run server.
pub struct Application {
    server: Server,
    address: SocketAddr,
    public_url: String,
    /// `(slug, DSN)` of every project at start-up, for the banner.
    dsns: Vec<(String, String)>,
    /// The one-time link that creates the first admin, while no user exists.
    setup_link: Option<String>,
    writer_task: tokio::task::JoinHandle<()>,
    /// Retention, dictionary training and notification delivery: stopped at shutdown so their
    /// writer handles go and the writer can finish.
    background: Vec<tokio::task::JoinHandle<()>>,
}

/// How much the HTTP workers defer to PostgreSQL's backends (see where it is set).
const HANDLER_NICENESS: i32 = 5;

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let db = Database::open_at(&settings.database())
            .await
            .with_context(|| format!("cannot open {}", settings.database_description()))?;
        let listener = TcpListener::bind(&settings.bind.value)
            .with_context(|| format!("cannot listen on {} (--bind / TOCSIN_BIND)", settings.bind.value))?;
        let address = listener.local_addr()?;
        let public_url = settings.public_url_for(&address.to_string());

        // The small read-write pool serves the start-up steps and then the UI and API.
        let admin = db.admin_pool().await?;
        let dsns = ensure_default_project(&admin)
            .await?
            .into_iter()
            .map(|p| (p.project.slug, dsn(&public_url, &p.key, p.project.id)))
            .collect();
        let setup_link = first_admin_setup_token(&admin)
            .await?
            .map(|token| format!("{public_url}/setup/{token}"));

        let pool = db.read_pool().await?;
        let metrics = Metrics::new();
        let (writer, writer_task) = writer::spawn(
            &db,
            settings.queue_capacity.value,
            store::FloodGuard {
                limit: settings.alert_flood_limit.value,
                window_secs: settings.alert_flood_window.value,
            },
            metrics.clone(),
        )
        .await?;

        let codec = std::sync::Arc::new(crate::event::codec::Codec::new());
        crate::compression::load(&pool, &codec).await?;
        let trainer = crate::compression::spawn(pool.clone(), writer.clone(), codec.clone());
        // On PostgreSQL the limits are the cluster's: every node spends from shared windows.
        let quotas = std::sync::Arc::new(match db.backend() {
            store::Backend::Sqlite => crate::ingest::quota::Quotas::new(settings.server_rate_limit.value),
            store::Backend::Postgres => {
                crate::ingest::quota::Quotas::shared(settings.server_rate_limit.value, admin.clone())
            }
        });
        let keys = std::sync::Arc::new(KeyCache::new(pool.clone()));
        let change_listener = spawn_change_listener(&db, keys.clone(), pool.clone(), codec.clone()).await?;
        let budget = crate::budget::MemoryBudget::new(settings.request_memory.value);
        metrics.watch_budget(budget.clone());
        let symbolicator = std::sync::Arc::new(crate::sourcemaps::Symbolicator::new(
            pool.clone(),
            admin.clone(),
            settings.sourcemap_cache_bytes.value,
        ));
        let max_file = settings.artifacts_max_file_bytes.value;
        let artifacts = std::sync::Arc::new(crate::sourcemaps::Artifacts::new(
            crate::sourcemaps::Limits {
                max_bundle: max_file.saturating_mul(8),
                max_file,
                max_files: 10_000,
                max_project: settings.artifacts_max_project_bytes.value,
            },
            settings.data_dir.value.join("uploads"),
            symbolicator.clone(),
        ));
        let ingest = web::Data::new(IngestState {
            keys: keys.clone(),
            writer: writer.clone(),
            metrics: metrics.clone(),
            trust_forwarded_for: settings.trust_forwarded_for.value,
            disk: match db.backend() {
                store::Backend::Sqlite => {
                    crate::ingest::disk::DiskGuard::start(settings.data_dir.value.clone(), settings.min_free_disk.value)
                }
                store::Backend::Postgres => crate::ingest::disk::DiskGuard::off(),
            },
            quotas: quotas.clone(),
            body_timeout: Duration::from_secs_f64(settings.body_timeout.value),
            codec: codec.clone(),
            budget: budget.clone(),
            symbolicator: symbolicator.clone(),
        });
        let api = web::Data::new(ApiState {
            pool: pool.clone(),
            admin: admin.clone(),
            writer: writer.clone(),
            org: settings.org.value.clone(),
            public_url: public_url.clone(),
            retention: (
                settings.retention_max_events.value,
                settings.retention_max_age_days.value,
            ),
            codec: codec.clone(),
            keys: keys.clone(),
            artifacts: artifacts.clone(),
        });
        let pages = web::Data::new(WebState {
            pool: pool.clone(),
            admin: admin.clone(),
            writer: writer.clone(),
            public_url: public_url.clone(),
            secure_cookies: public_url.starts_with("https://"),
            retention: (
                settings.retention_max_events.value,
                settings.retention_max_age_days.value,
            ),
            codec: codec.clone(),
            keys: keys.clone(),
            // On PostgreSQL the failed sign-ins are the cluster's, like the rate limits.
            login_throttle: match db.backend() {
                store::Backend::Sqlite => Default::default(),
                store::Backend::Postgres => crate::web::throttle::LoginThrottle::shared(admin.clone()),
            },
            trust_forwarded_for: settings.trust_forwarded_for.value,
            artifacts: artifacts.clone(),
        });
        let notify_settings = crate::notify::NotifySettings {
            public_url: public_url.clone(),
            retry_base_secs: settings.alert_retry_seconds.value,
            allow_private_webhooks: settings.allow_private_webhooks.value,
            smtp: settings
                .smtp_host
                .value
                .clone()
                .map(|host| crate::notify::SmtpSettings {
                    host,
                    port: settings.smtp_port.value,
                    tls: settings.smtp_tls.value,
                    user: settings.smtp_user.value.clone(),
                    password: settings.smtp_password.value.clone(),
                    from: settings.smtp_from.value.clone(),
                }),
        };
        let dispatcher = crate::notify::spawn(pool.clone(), admin.clone(), notify_settings, metrics.clone());
        let health = web::Data::new(HealthState {
            pool: pool.clone(),
            writer: writer.clone(),
            metrics: metrics.clone(),
            db_path: db.sqlite_path().map(std::path::Path::to_path_buf),
        });
        let retention = crate::retention::spawn(
            pool,
            admin.clone(),
            writer,
            quotas,
            codec,
            metrics,
            crate::retention::RetentionSettings {
                default_max_events: settings.retention_max_events.value,
                default_max_age_days: settings.retention_max_age_days.value,
                interval: Duration::from_secs_f64(settings.retention_interval.value),
            },
        );
        let small_bodies = web::Data::new(crate::ingest::body::SmallBodies {
            budget: budget.clone(),
            timeout: Duration::from_secs_f64(settings.body_timeout.value),
        });
        let prefix = url_path_prefix(&public_url);
        let request_metrics = health.metrics.clone();
        // On PostgreSQL the workers defer to its backends, the commit path every request waits
        // for: on a saturated machine a commit is then not queued behind parsing. Measured on 2
        // cores (Django shape, median of 3, turn about): 1 node 8,060 -> 8,945 events/s with
        // nice 5 (0.82x -> 0.99x SQLite when it was introduced). On SQLite the commit path is
        // this process's writer thread, busy ~60% of the time at saturation: lowered workers
        // only delayed the events it waits for, and nice 0 gave 1.05-1.18x events/s and a p99
        // of 10-11 instead of 12-15 ms on both load shapes.
        let niceness = if db.sqlite_path().is_some() {
            0
        } else {
            HANDLER_NICENESS
        };
        let server = HttpServer::new(move || {
            // Runs once on each worker thread (Linux keeps a nice value per thread). Failing to
            // lower one's own priority only costs the gain above.
            let _ = rustix::process::setpriority_process(None, niceness);
            let request_metrics = request_metrics.clone();
            App::new()
                .wrap_fn(move |req, srv| {
                    let started = std::time::Instant::now();
                    let method = req.method().clone();
                    let metrics = request_metrics.clone();
                    let response = actix_web::dev::Service::call(srv, req);
                    async move {
                        let response = response.await?;
                        metrics.observe_request(response.request().match_pattern(), &method, started.elapsed());
                        Ok(response)
                    }
                })
                // Folds `//api//1//envelope//` into `/api/1/envelope`: some SDKs send doubled
                // or missing slashes and Relay accepts them.
                .wrap(NormalizePath::new(TrailingSlash::Trim))
                .app_data(ingest.clone())
                .app_data(api.clone())
                .app_data(health.clone())
                .app_data(pages.clone())
                .app_data(small_bodies.clone())
                .app_data(web::PathConfig::default().error_handler(|err, _| {
                    let detail = err.to_string();
                    actix_web::error::InternalError::from_response(
                        err,
                        HttpResponse::NotFound().json(json!({ "detail": detail })),
                    )
                    .into()
                }))
                .configure(|cfg| ingest::routes(cfg, &prefix))
                .configure(api::routes)
                .configure(health::routes)
                .configure(crate::web::routes)
                .default_service(web::to(not_found))
        })
        .listen(listener)?
        // Ingest handlers wait for a commit; give them time to finish on shutdown.
        // On SIGTERM: stop accepting, let in-flight requests (which wait for their commit)
        // finish; the whole shutdown stays within 10 seconds.
        .shutdown_timeout(SHUTDOWN_REQUESTS.as_secs())
        .run();

        Ok(Application {
            server,
            address,
            public_url,
            dsns,
            setup_link,
            writer_task,
            background: [trainer, dispatcher, retention]
                .into_iter()
                .chain(change_listener)
                .collect(),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Prints where Tocsin listens and each project's DSN, for the person who just started it.
    /// This is the command's output, not a log line: it goes to stdout.
    pub fn print_banner(&self) {
        println!("Tocsin is listening on http://{}", self.address);
        if let Some(link) = &self.setup_link {
            println!("Create the first admin account (this link works once): {link}");
        }
        for (slug, dsn) in &self.dsns {
            println!("DSN for project {slug}: {dsn}");
        }
    }

    /// Serves until SIGINT/SIGTERM, then lets the writer commit what is queued. Notifications
    /// need nothing: every one is a row of the outbox, committed with its event, and a delivery
    /// cut short is retried at the next start.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.await?;
        tracing::info!("stopped accepting requests; committing what is queued");
        for task in &self.background {
            task.abort();
        }
        for task in self.background {
            let _ = task.await;
        }
        // Every handle is gone now; the writer drains its queue and ends.
        if tokio::time::timeout(SHUTDOWN_WRITER, self.writer_task).await.is_err() {
            tracing::warn!("the writer did not finish within {SHUTDOWN_WRITER:?} of shutdown");
        }
        tracing::info!("shut down");
        Ok(())
    }
}

/// JSON for API and ingest paths, the styled 404 page for everything else.
async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    let detail = format!("no route for {} {}", req.method(), req.path());
    if req.path().starts_with("/api/") {
        HttpResponse::NotFound().json(json!({ "detail": detail }))
    } else {
        actix_web::ResponseError::error_response(&crate::web::WebError::NotFound(
            "There is no page at this address.".into(),
        ))
    }
}

/// While no user exists, a fresh one-time token for the setup link (only its hash is stored;
/// each start replaces the previous link).
async fn first_admin_setup_token(pool: &store::Pool) -> anyhow::Result<Option<String>> {
    if store::count_users(pool).await? > 0 {
        return Ok(None);
    }
    let token = crate::project::random_hex(24);
    store::replace_setup_token(pool, &crate::web::session_hash(&token)).await?;
    Ok(Some(token))
}

/// On first start (no projects at all) create `default`, project id 1, so the DSN printed at
/// start-up works at once. Returns every project.
async fn ensure_default_project(pool: &store::Pool) -> anyhow::Result<Vec<store::ProjectWithKey>> {
    if store::count_projects(pool).await? == 0 {
        let slug = Slug::parse("default").map_err(anyhow::Error::msg)?;
        match store::create_project(pool, &slug, "Default", &PublicKey::generate()).await {
            Ok(created) => tracing::info!(project_id = created.project.id, "created the default project"),
            // Nodes starting together on a new PostgreSQL database: another one made it first.
            Err(store::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(store::list_projects(pool).await?)
}

/// `https://host/sentry` → `/sentry`; `http://host:8000` → ``.
fn url_path_prefix(public_url: &str) -> String {
    let rest = public_url.split_once("://").map_or(public_url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest[i..].trim_end_matches('/').to_string(),
        None => String::new(),
    }
}

/// On PostgreSQL, clears the key cache whenever any node (or the CLI) changes a project, loads
/// the dictionaries another node trained, and does both after a lost connection to PostgreSQL
/// comes back (changes may have been missed). Nothing to do on SQLite, where this server is
/// the only node.
async fn spawn_change_listener(
    db: &Database,
    keys: std::sync::Arc<KeyCache>,
    pool: store::Pool,
    codec: std::sync::Arc<crate::event::codec::Codec>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(mut listener) = store::ChangeListener::start(db).await? else {
        return Ok(None);
    };
    Ok(Some(tokio::spawn(async move {
        loop {
            match listener.next().await {
                Ok(store::Heard::Changed(what)) if what == store::DICTIONARY => load_dictionaries(&pool, &codec).await,
                Ok(store::Heard::Changed(what)) => {
                    tracing::debug!(what, "a project changed; forgetting cached keys");
                    keys.clear();
                }
                Ok(store::Heard::Reconnected) => {
                    keys.clear();
                    load_dictionaries(&pool, &codec).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "lost the change channel; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    })))
}

async fn load_dictionaries(pool: &store::Pool, codec: &crate::event::codec::Codec) {
    if let Err(e) = crate::compression::load(pool, codec).await {
        tracing::warn!(error = %e, "cannot load the compression dictionaries another node trained");
    }
}

#[cfg(test)]
mod tests {
    use super::url_path_prefix;

    #[test]
    fn the_public_url_path_becomes_the_route_prefix() {
        assert_eq!(url_path_prefix("https://errors.example.com/sentry/"), "/sentry");
        assert_eq!(url_path_prefix("http://127.0.0.1:8000"), "");
    }
}
