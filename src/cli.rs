//! The command line: `serve` (the default), `project`, `token`, `migrate`, `config show`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use sha2::{Digest, Sha256};

use crate::config::{PlaceArgs, ServerArgs, Settings, SettingsArgs};
use crate::event::scrub::ScrubConfig;
use crate::project::{PublicKey, Slug, dsn, random_hex};
use crate::startup::Application;
use crate::store::{self, Database, StoreError};

#[derive(Debug, Parser)]
#[command(
    name = "tocsin",
    version,
    about = "A self-hosted error tracker that speaks Sentry's protocol"
)]
pub struct Cli {
    #[command(flatten)]
    pub place: PlaceArgs,
    /// The server's flags when no command is given (`tocsin` alone serves).
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve(ServerArgs),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Where a project's notifications go.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Manage people who sign in to the web UI.
    #[command(subcommand)]
    User(UserCommand),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write a consistent copy of the database to FILE while the server runs (SQLite's
    /// `VACUUM INTO`). Restore by stopping Tocsin and putting the copy in place of
    /// `<data_dir>/tocsin.db` (remove any `tocsin.db-wal` and `-shm` beside it).
    Backup {
        /// Where to write the copy; must not exist yet.
        file: std::path::PathBuf,
    },
    /// Copy this installation's SQLite database (in --data-dir; the server may keep running)
    /// into an empty PostgreSQL database, with every project, key, user, token, issue, event,
    /// dictionary and pending notification, and verify every table's count. Then start the
    /// nodes with --database-url URL: DSNs stay the same.
    CopyToPostgres {
        /// The target, `postgres://user:password@host/db`: an empty database.
        url: String,
    },
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project; prints its DSN as the last line.
    Create {
        /// Lowercase letters, digits and '-'.
        slug: String,
        /// Display name [default: the slug].
        #[arg(long)]
        name: Option<String>,
        /// Use this public key instead of a random one (keeps DSNs when moving from Sentry).
        #[arg(long)]
        key: Option<String>,
    },
    /// List projects with their DSNs.
    List,
    /// Show or change a project's retention and rate limits. A value of `default` (retention)
    /// or `off` (rate limit) clears the project's own setting.
    Set {
        slug: String,
        /// Events kept (the server's retention_max_events when unset).
        #[arg(long)]
        max_events: Option<String>,
        /// Days an event is kept (the server's retention_max_age_days when unset).
        #[arg(long)]
        max_age_days: Option<String>,
        /// Events per minute accepted; more get 429 (no limit when unset).
        #[arg(long)]
        rate_limit: Option<String>,
        /// Extra field names whose values are scrubbed (comma-separated; "" clears).
        #[arg(long)]
        sensitive_fields: Option<String>,
        /// Field names never scrubbed (comma-separated; "" clears).
        #[arg(long)]
        safe_fields: Option<String>,
        /// Store no IP addresses of this project's users.
        #[arg(long)]
        scrub_ip_addresses: Option<bool>,
    },
    /// Delete a project with its keys, issues and events.
    Delete { slug: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token; prints it as the last line. Only its hash is stored.
    Create {
        name: String,
        /// `read` (list and read) or `admin` (also change and delete).
        #[arg(long, default_value = "admin")]
        scope: String,
    },
    /// List tokens: id, scope, name, when created (never the tokens themselves).
    List,
    /// Revoke a token by its id; it stops working at once.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Add a channel to a project: email recipients, a Slack(-compatible) webhook, a chat
    /// service's webhook (`--chat discord=URL`), or a generic webhook signed with HMAC-SHA256.
    Add {
        /// The project's slug.
        #[arg(long)]
        project: String,
        /// Comma-separated recipients, or `members`: everyone with an account (each sees every
        /// project), as they are when an alert goes out.
        #[arg(long, group = "channel")]
        email: Option<String>,
        /// A Slack incoming-webhook URL (Mattermost and other compatible services work too).
        #[arg(long, group = "channel")]
        slack: Option<String>,
        /// A URL that receives the issue as signed JSON.
        #[arg(long, group = "channel")]
        webhook: Option<String>,
        /// A chat service and its webhook URL, as SERVICE=URL: discord, teams, mattermost,
        /// rocketchat, googlechat or ntfy (a topic URL).
        #[arg(long, group = "channel", value_name = "SERVICE=URL")]
        chat: Option<String>,
        /// The HMAC key of `--webhook` [default: a random one, printed once].
        #[arg(long, requires = "webhook")]
        secret: Option<String>,
        /// Which triggers alert.
        #[arg(long, default_value = "new,regression,unignored")]
        triggers: String,
    },
    /// List channels, optionally of one project.
    List {
        #[arg(long)]
        project: Option<String>,
    },
    /// Remove a channel.
    Remove {
        #[arg(long)]
        project: String,
        id: i64,
    },
    /// Send a test notification on every channel of a project.
    Test {
        #[arg(long)]
        project: String,
    },
    /// List a project's alert rules, one JSON object a line (the API's shape).
    Rules {
        #[arg(long)]
        project: String,
    },
    /// Add an alert rule given as JSON, as the API takes it, e.g.
    /// '{"name": "Prod", "conditions": [{"id": "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition"}],
    /// "environments": ["production"], "actions": [{"channel": "1"}]}'.
    RuleAdd {
        #[arg(long)]
        project: String,
        #[arg(long)]
        json: String,
    },
    /// Replace alert rule ID with a rule given as JSON (as `rule-add` takes it). When it last
    /// fired for each issue is kept.
    RuleSet {
        #[arg(long)]
        project: String,
        id: i64,
        #[arg(long)]
        json: String,
    },
    /// Remove an alert rule.
    RuleRemove {
        #[arg(long)]
        project: String,
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input (one line).
    Create {
        #[arg(long)]
        email: String,
        /// May create projects and manage users.
        #[arg(long)]
        admin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings and where each comes from.
    Show(ServerArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve(ServerArgs::default()));
    // Server flags come with `serve` and `config show` (or before any command). The top level's
    // carry the `TOCSIN_*` variables whatever the command, so that a DSN the other commands
    // print matches the server's.
    let server = match &command {
        Command::Serve(args) | Command::Config(ConfigCommand::Show(args)) => args.clone().or(cli.server),
        _ => cli.server,
    };
    let settings = Settings::resolve(&SettingsArgs {
        place: cli.place,
        server,
    })?;
    match command {
        // actix runs its own system (a runtime per worker thread plus this one).
        Command::Serve(_) => actix_web::rt::System::new().block_on(serve(settings)),
        Command::Config(ConfigCommand::Show(_)) => {
            print!("{}", settings.render());
            Ok(())
        }
        Command::Project(cmd) => block_on(project(cmd, &settings)),
        Command::Token(cmd) => block_on(token(cmd, &settings)),
        Command::User(UserCommand::Create { email, admin }) => block_on(user_create(&email, admin, &settings)),
        Command::Alerts(cmd) => block_on(alerts(cmd, &settings)),
        Command::Backup { file } => block_on(async {
            if file.exists() {
                anyhow::bail!("{} already exists; a backup never overwrites a file", file.display());
            }
            let db = open(&settings).await?;
            let started = std::time::Instant::now();
            let pool = db.write_pool().await?;
            let summary = store::backup(&pool, &file)
                .await
                .with_context(|| format!("cannot write the backup to {}", file.display()))?;
            println!(
                "backed up {} events in {} issues to {} ({:.1} MB, {:.1} s)",
                summary.events,
                summary.issues,
                file.display(),
                summary.bytes as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }),
        Command::CopyToPostgres { url } => block_on(copy_to_postgres(&url, &settings)),
        Command::Migrate => block_on(async {
            let db = open(&settings).await?;
            println!("database {} is up to date", db.describe());
            Ok(())
        }),
    }
}

/// Runs a one-shot command on a small runtime of its own.
fn block_on(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(fut)
}

async fn open(settings: &Settings) -> anyhow::Result<Database> {
    Database::open_at(&settings.database())
        .await
        .with_context(|| format!("cannot open {}", settings.database_description()))
}

async fn copy_to_postgres(url: &str, settings: &Settings) -> anyhow::Result<()> {
    if settings.database_url.value.is_some() {
        anyhow::bail!(
            "the copy reads the SQLite database in --data-dir; unset --database-url / TOCSIN_DATABASE_URL and give the target as the argument"
        );
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        anyhow::bail!("the target must be a postgres:// URL");
    }
    let source = open(settings).await?;
    let started = std::time::Instant::now();
    let report = store::copy_to_postgres(&source, url)
        .await
        .with_context(|| format!("cannot copy {} into {}", source.describe(), store::redact_url(url)))?;
    for (table, rows) in &report.tables {
        println!("{table:>20}  {rows}");
    }
    println!(
        "copied {} into {} in {:.1} s; every table's count verified",
        source.describe(),
        store::redact_url(url),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(&settings).await?;
    app.print_banner();
    tracing::info!(address = %app.address(), public_url = app.public_url(), "serving");
    app.run_until_stopped().await
}

async fn project(cmd: ProjectCommand, settings: &Settings) -> anyhow::Result<()> {
    let db = open(settings).await?;
    let pool = db.write_pool().await?;
    let public_url = settings.public_url_for(&settings.bind.value);
    match cmd {
        ProjectCommand::Create { slug, name, key } => {
            let slug = Slug::parse(&slug).map_err(anyhow::Error::msg)?;
            let key = match key {
                Some(k) => PublicKey::parse(&k).map_err(anyhow::Error::msg)?,
                None => PublicKey::generate(),
            };
            let name = name.unwrap_or_else(|| slug.to_string());
            let created = match store::create_project(&pool, &slug, &name, &key).await {
                Err(StoreError::Conflict(msg)) => anyhow::bail!(msg),
                other => other?,
            };
            println!("created project {} (id {})", created.project.slug, created.project.id);
            println!("{}", dsn(&public_url, &created.key, created.project.id));
        }
        ProjectCommand::Set {
            slug,
            max_events,
            max_age_days,
            rate_limit,
            sensitive_fields,
            safe_fields,
            scrub_ip_addresses,
        } => {
            let id = project_id(&pool, &slug).await?;
            let mut limits = store::project_limits_of(&pool, id).await?;
            if let Some(v) = max_events {
                limits.max_events =
                    crate::project::parse_count_limit("--max-events", &v).map_err(anyhow::Error::msg)?;
            }
            if let Some(v) = max_age_days {
                limits.max_age_days =
                    crate::project::parse_days_limit("--max-age-days", &v).map_err(anyhow::Error::msg)?;
            }
            if let Some(v) = rate_limit {
                limits.rate_limit_per_minute =
                    crate::project::parse_count_limit("--rate-limit", &v).map_err(anyhow::Error::msg)?;
            }
            store::set_project_limits(&pool, id, &limits).await?;
            let mut scrub = store::scrub_config_of(&pool, id).await?;
            if let Some(v) = sensitive_fields {
                scrub.sensitive_fields = ScrubConfig::parse_fields(&v).map_err(anyhow::Error::msg)?;
            }
            if let Some(v) = safe_fields {
                scrub.safe_fields = ScrubConfig::parse_fields(&v).map_err(anyhow::Error::msg)?;
            }
            if let Some(v) = scrub_ip_addresses {
                scrub.scrub_ip_addresses = v;
            }
            store::set_scrub_config(&pool, id, &scrub).await?;
            let or = |v: Option<String>, d: String| v.unwrap_or(d);
            println!(
                "max_events = {}",
                or(
                    limits.max_events.map(|n| n.to_string()),
                    format!("{} (default)", settings.retention_max_events.value)
                )
            );
            println!(
                "max_age_days = {}",
                or(
                    limits.max_age_days.map(|n| n.to_string()),
                    format!("{} (default)", settings.retention_max_age_days.value)
                )
            );
            println!(
                "rate_limit = {}",
                or(
                    limits.rate_limit_per_minute.map(|n| format!("{n} per minute")),
                    "off".into()
                )
            );
            println!("sensitive_fields = {}", scrub.sensitive_fields.join(", "));
            println!("safe_fields = {}", scrub.safe_fields.join(", "));
            println!("scrub_ip_addresses = {}", scrub.scrub_ip_addresses);
        }
        ProjectCommand::Delete { slug } => {
            let id = project_id(&pool, &slug).await?;
            store::delete_project(&pool, id).await?;
            println!("deleted project {slug} (id {id}) with its issues and events");
        }
        ProjectCommand::List => {
            println!("{:<6} {:<24} DSN", "ID", "SLUG");
            for p in store::list_projects(&pool).await? {
                println!(
                    "{:<6} {:<24} {}",
                    p.project.id,
                    p.project.slug,
                    dsn(&public_url, &p.key, p.project.id)
                );
            }
        }
    }
    Ok(())
}

async fn user_create(email: &str, admin: bool, settings: &Settings) -> anyhow::Result<()> {
    let email = email.trim();
    if !email.contains('@') {
        anyhow::bail!("{email:?} is not an email address");
    }
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']);
    let phc = crate::web::hash_password(password).map_err(anyhow::Error::msg)?;
    let db = open(settings).await?;
    let pool = db.write_pool().await?;
    match store::create_user(&pool, email, &phc, admin).await {
        Err(StoreError::Conflict(msg)) => anyhow::bail!(msg),
        other => other?,
    };
    println!("created {} {email}", if admin { "admin" } else { "user" });
    Ok(())
}

async fn alerts(cmd: AlertsCommand, settings: &Settings) -> anyhow::Result<()> {
    let db = open(settings).await?;
    let pool = db.write_pool().await?;
    let now = crate::event::unix_now();
    match cmd {
        AlertsCommand::Add {
            project,
            email,
            slack,
            webhook,
            chat,
            secret,
            triggers,
        } => {
            let id = project_id(&pool, &project).await?;
            let (kind, target) = match (email, slack, webhook, chat) {
                (Some(to), None, None, None) => ("email".to_string(), to),
                (None, Some(url), None, None) => ("slack".to_string(), url),
                (None, None, Some(url), None) => ("webhook".to_string(), url),
                (None, None, None, Some(chat)) => match chat.split_once('=') {
                    Some((service, url)) => (service.trim().to_ascii_lowercase(), url.to_string()),
                    None => anyhow::bail!("--chat takes SERVICE=URL, e.g. discord=https://discord.com/api/webhooks/…"),
                },
                _ => anyhow::bail!("give exactly one of --email, --slack, --chat or --webhook"),
            };
            let kind = kind.as_str();
            let spec = crate::notify::channels::parse(kind, &target, secret).map_err(anyhow::Error::msg)?;
            let triggers = crate::notify::channels::parse_triggers(&triggers).map_err(anyhow::Error::msg)?;
            let channel = store::add_channel(
                &pool,
                id,
                spec.kind,
                &spec.target,
                spec.secret.as_deref(),
                triggers,
                now,
            )
            .await?;
            if let Some(secret) = &spec.secret {
                println!("webhook signing secret (shown once): {secret}");
            }
            println!("added {} channel {channel}", spec.kind);
        }
        AlertsCommand::List { project } => {
            let id = match project {
                Some(slug) => Some(project_id(&pool, &slug).await?),
                None => None,
            };
            println!("{:<4} {:<8} {:<8} TARGET", "ID", "PROJECT", "KIND");
            for c in store::list_channels(&pool, id).await? {
                println!("{:<4} {:<8} {:<8} {}", c.id, c.project_id, c.kind, c.target);
            }
        }
        AlertsCommand::Remove { project, id } => {
            let pid = project_id(&pool, &project).await?;
            if !store::delete_channel(&pool, pid, id).await? {
                anyhow::bail!("project {project:?} has no channel {id}");
            }
            println!("removed channel {id}");
        }
        AlertsCommand::Test { project } => {
            let pid = project_id(&pool, &project).await?;
            let n = store::enqueue_test(&pool, pid, None, now).await?;
            println!("queued a test notification on {n} channel(s); a running server sends it");
        }
        AlertsCommand::Rules { project } => {
            let pid = project_id(&pool, &project).await?;
            let fired = store::last_fired(&pool, pid).await?;
            for rule in store::list_rules(&pool, pid).await? {
                let last = fired.get(&rule.id).copied();
                println!("{}", crate::notify::rule_json::to_json(&rule, last));
            }
        }
        AlertsCommand::RuleAdd { project, json } => {
            let pid = project_id(&pool, &project).await?;
            let spec = rule_of_json(&pool, pid, &json).await?;
            let id = store::create_rule(&pool, pid, &spec, now).await?;
            println!("added rule {id}");
        }
        AlertsCommand::RuleSet { project, id, json } => {
            let pid = project_id(&pool, &project).await?;
            let spec = rule_of_json(&pool, pid, &json).await?;
            if !store::update_rule(&pool, pid, id, &spec).await? {
                anyhow::bail!("project {project:?} has no rule {id}");
            }
            println!("replaced rule {id}");
        }
        AlertsCommand::RuleRemove { project, id } => {
            let pid = project_id(&pool, &project).await?;
            if !store::delete_rule(&pool, pid, id).await? {
                anyhow::bail!("project {project:?} has no rule {id}");
            }
            println!("removed rule {id}");
        }
    }
    Ok(())
}

/// A rule given as JSON on the command line, its channels checked to be the project's.
async fn rule_of_json(
    pool: &store::Pool,
    project_id: i64,
    json: &str,
) -> anyhow::Result<crate::notify::rules::RuleSpec> {
    let body: serde_json::Value = serde_json::from_str(json).map_err(|e| anyhow::anyhow!("--json is not JSON: {e}"))?;
    let channels: Vec<i64> = store::list_channels(pool, Some(project_id))
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    crate::notify::rule_json::from_json(&body, &channels).map_err(anyhow::Error::msg)
}

async fn project_id(pool: &store::Pool, slug: &str) -> anyhow::Result<i64> {
    Ok(store::project_by_slug(pool, slug)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no project {slug:?} (see tocsin project list)"))?
        .id)
}

async fn token(cmd: TokenCommand, settings: &Settings) -> anyhow::Result<()> {
    let db = open(settings).await?;
    let pool = db.write_pool().await?;
    match cmd {
        TokenCommand::Create { name, scope } => {
            let scope = store::TokenScope::parse(&scope).map_err(anyhow::Error::msg)?;
            let token = random_hex(32);
            let hash = hex::encode(Sha256::digest(token.as_bytes()));
            let id = store::create_token(&pool, &name, &hash, scope).await?;
            println!(
                "created {} API token {name:?} (id {id}); it is shown only once:",
                scope.as_str()
            );
            println!("{token}");
        }
        TokenCommand::List => {
            println!("{:<6} {:<6} {:<24} CREATED", "ID", "SCOPE", "NAME");
            for t in store::list_tokens(&pool).await? {
                println!(
                    "{:<6} {:<6} {:<24} {}",
                    t.id,
                    t.scope.as_str(),
                    t.name,
                    crate::event::format_rfc3339(t.created_at)
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if !store::revoke_token(&pool, id).await? {
                anyhow::bail!("no token with id {id} (see tocsin token list)");
            }
            println!("revoked token {id}");
        }
    }
    Ok(())
}
