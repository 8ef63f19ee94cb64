//! JavaScript source maps: what sentry-cli uploads (chunks, assembled into bundles of minified
//! files and maps) and how events use them (symbolication at ingest).
//!
//! Uploads: sentry-cli asks for the chunk options, asks to assemble a bundle by its SHA-1 and its
//! chunks' SHA-1s, uploads the chunks the answer says are missing, and asks again. Assembling
//! writes the chunks in order to a file in the data directory (never the whole bundle in
//! memory), checks the bundle's SHA-1, reads and checks the zip ([`bundle`]), and stores its
//! files deduplicated by SHA-1, within per-file and per-project caps. One assemble runs at a
//! time per node, so an upload's memory is one file plus the compressed bundle.

pub mod bundle;
mod cache;
mod modules;
mod symbolicate;
pub mod urls;

use std::io::Write;
use std::path::PathBuf;

use sha1::{Digest, Sha1};

pub use bundle::{BundleError, BundleLimits, read_bundle};
pub use modules::generate_modules;
pub use symbolicate::{Report, Symbolicator};

use crate::store::artifacts::{self, BundleKind, NewBundle};
use crate::store::{Pool, StoreError};

/// sentry-cli's chunk size: a power of two, the most one uploaded part may be.
pub const CHUNK_SIZE: usize = 1024 * 1024;
/// Chunks per upload request, and the request's size cap (compressed parts are smaller).
pub const CHUNKS_PER_REQUEST: usize = 8;
pub const MAX_REQUEST: usize = CHUNKS_PER_REQUEST * CHUNK_SIZE + 64 * 1024;

/// Upload limits (settings).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest bundle, as uploaded (zip).
    pub max_bundle: u64,
    /// Largest file in a bundle, decompressed.
    pub max_file: u64,
    /// Most files in a bundle.
    pub max_files: usize,
    /// Bytes of distinct file contents a project may hold.
    pub max_project: i64,
}

impl Limits {
    pub fn bundle(&self) -> BundleLimits {
        BundleLimits {
            max_file: self.max_file,
            max_files: self.max_files,
            max_total: self.max_bundle.saturating_mul(8),
        }
    }
}

/// Uploads and symbolication, shared by the API, the web UI and ingest.
pub struct Artifacts {
    pub limits: Limits,
    /// Where bundles are assembled (the data directory's `uploads/`).
    pub work_dir: PathBuf,
    pub symbolicator: std::sync::Arc<Symbolicator>,
    assembling: tokio::sync::Mutex<()>,
}

/// Why an assemble was refused.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot assemble the bundle on disk: {0}")]
    Disk(#[from] std::io::Error),
}

impl From<BundleError> for AssembleError {
    fn from(e: BundleError) -> Self {
        match e {
            BundleError::TooLarge(m) => AssembleError::TooLarge(m),
            other => AssembleError::Invalid(other.to_string()),
        }
    }
}

/// What an assemble request asks for.
#[derive(Debug, Clone)]
pub struct AssembleRequest {
    pub checksum: String,
    pub chunks: Vec<String>,
    pub projects: Vec<i64>,
    pub kind: BundleKind,
    /// A release the bundle is for (the legacy flow's path, or `version` in the body).
    pub release: Option<String>,
    pub dist: Option<String>,
}

/// The answer sentry-cli reads: `ok` (stored), or `not_found` with the chunks it must upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssembleState {
    Ok,
    Missing(Vec<String>),
}

impl Artifacts {
    pub fn new(limits: Limits, work_dir: PathBuf, symbolicator: std::sync::Arc<Symbolicator>) -> Self {
        Artifacts {
            limits,
            work_dir,
            symbolicator,
            assembling: tokio::sync::Mutex::new(()),
        }
    }

    /// Assembles (or finds) the bundle for every project of the request.
    pub async fn assemble(
        &self,
        pool: &Pool,
        admin: &Pool,
        req: &AssembleRequest,
    ) -> Result<AssembleState, AssembleError> {
        check_checksum(&req.checksum)?;
        for c in &req.chunks {
            check_checksum(c)?;
        }
        let max_chunks = (self.limits.max_bundle as usize).div_ceil(CHUNK_SIZE);
        if req.chunks.len() > max_chunks {
            return Err(AssembleError::TooLarge(format!(
                "a bundle of {} chunks is larger than the {} bytes accepted",
                req.chunks.len(),
                self.limits.max_bundle
            )));
        }
        let mut pending = Vec::new();
        for &project in &req.projects {
            if !artifacts::bundle_exists(pool, project, &req.checksum).await? {
                pending.push(project);
            }
        }
        if pending.is_empty() {
            return Ok(AssembleState::Ok);
        }
        if req.chunks.is_empty() {
            return Ok(AssembleState::Missing(vec![req.checksum.clone()]));
        }
        let present = artifacts::present_chunks(admin, &req.chunks).await?;
        let missing: Vec<String> = dedup(req.chunks.iter().filter(|c| !present.contains(c)).cloned());
        if !missing.is_empty() {
            return Ok(AssembleState::Missing(missing));
        }
        let _one_at_a_time = self.assembling.lock().await;
        let size = artifacts::chunks_size(admin, &dedup(req.chunks.iter().cloned())).await?;
        // Chunks repeat when the bundle's content does; the sum of distinct ones is a floor.
        if size as u64 > self.limits.max_bundle {
            return Err(AssembleError::TooLarge(format!(
                "the bundle is larger than the {} bytes accepted",
                self.limits.max_bundle
            )));
        }
        let file = self.write_chunks(admin, req).await?;
        let limits = self.limits.bundle();
        let read = tokio::task::spawn_blocking(move || {
            let result = std::fs::File::open(&file.0)
                .map_err(AssembleError::from)
                .and_then(|f| read_bundle(std::io::BufReader::new(f), limits).map_err(AssembleError::from));
            let _ = std::fs::remove_file(&file.0);
            result
        })
        .await
        .map_err(|e| AssembleError::Invalid(format!("the bundle could not be read: {e}")))??;
        let checksums: Vec<String> = read.files.iter().map(|f| f.checksum.clone()).collect();
        for &project in &pending {
            let (used, held) = artifacts::project_usage(pool, project, &checksums).await?;
            let adding: i64 = dedup_by_checksum(&read.files)
                .filter(|f| !held.contains(&f.checksum))
                .map(|f| f.size)
                .sum();
            if used + adding > self.limits.max_project {
                return Err(AssembleError::TooLarge(format!(
                    "the project's artifacts would take {} bytes; at most {} are kept per project \
                     (delete old bundles or raise artifacts_max_project_bytes)",
                    used + adding,
                    self.limits.max_project
                )));
            }
        }
        let now = crate::event::unix_now();
        for &project in &pending {
            let bundle = NewBundle {
                project_id: project,
                checksum: req.checksum.clone(),
                kind: req.kind,
                bundle_id: read.bundle_id.clone(),
                release: req.release.clone().or_else(|| read.release.clone()),
                dist: req.dist.clone().or_else(|| read.dist.clone()),
                files: read.files.clone(),
            };
            if let Some(release) = &bundle.release {
                crate::store::upsert_release(admin, project, release, &Default::default(), now).await?;
            }
            artifacts::insert_bundle(admin, &bundle, &req.chunks, now).await?;
        }
        self.symbolicator.uploaded();
        Ok(AssembleState::Ok)
    }

    /// Writes the chunks in order to a file, checking the whole bundle's SHA-1; returns the path
    /// (removed when dropped unless read).
    async fn write_chunks(&self, admin: &Pool, req: &AssembleRequest) -> Result<TempPath, AssembleError> {
        std::fs::create_dir_all(&self.work_dir)?;
        let path = TempPath(
            self.work_dir
                .join(format!("bundle-{}.zip", uuid::Uuid::new_v4().simple())),
        );
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path.0)?);
        let mut sha = Sha1::new();
        for c in &req.chunks {
            let data = artifacts::chunk(admin, c)
                .await?
                .ok_or_else(|| AssembleError::Invalid(format!("chunk {c} went away while assembling; upload again")))?;
            sha.update(&data);
            out.write_all(&data)?;
        }
        out.flush()?;
        let actual = hex::encode(sha.finalize());
        if actual != req.checksum {
            return Err(AssembleError::Invalid(format!(
                "the chunks make a bundle whose SHA-1 is {actual}, not {}: a chunk is wrong or missing",
                req.checksum
            )));
        }
        Ok(path)
    }
}

/// A file removed when dropped.
struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.filter(|c| seen.insert(c.clone())).collect()
}

fn dedup_by_checksum(files: &[artifacts::NewArtifact]) -> impl Iterator<Item = &artifacts::NewArtifact> {
    let mut seen = std::collections::HashSet::new();
    files.iter().filter(move |f| seen.insert(f.checksum.clone()))
}

/// A SHA-1 as sentry-cli writes it: 40 lowercase hex digits.
pub fn check_checksum(sum: &str) -> Result<(), AssembleError> {
    if sum.len() == 40 && sum.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(AssembleError::Invalid(format!(
            "{sum:?} is not a SHA-1 checksum (40 lowercase hex digits)"
        )))
    }
}

/// What reprocessing an issue did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reprocessed {
    /// Events read.
    pub events: usize,
    /// Events with at least one frame newly mapped (their payloads were rewritten).
    pub mapped: usize,
    /// Fingerprints the issue took over, so later mapped events join it.
    pub adopted: u64,
}

/// Events of one issue reprocessed at most (the newest).
pub const REPROCESS_LIMIT: i64 = 1000;

/// Applies the source maps there are now to the issue's newest events, from their minified
/// frames: the stored events become readable, and the issue takes the fingerprints the mapped
/// events have, so new events of the same builds land in it rather than in a new issue.
pub async fn reprocess_issue(
    pool: &Pool,
    admin: &Pool,
    codec: &crate::event::codec::Codec,
    symbolicator: &Symbolicator,
    project_id: i64,
    issue_id: i64,
) -> Result<Reprocessed, StoreError> {
    let events = crate::store::newest_events(pool, issue_id, REPROCESS_LIMIT).await?;
    let mut done = Reprocessed {
        events: events.len(),
        ..Reprocessed::default()
    };
    let rules = crate::store::grouping_rules_of(pool, project_id).await?;
    let mut rows = Vec::new();
    let mut hashes: Vec<String> = Vec::new();
    for stored in events {
        let Some(mut event) = codec
            .decompress(&stored.payload, stored.dict_id)
            .ok()
            .and_then(|json| serde_json::from_slice::<crate::event::Event>(&json).ok())
        else {
            continue;
        };
        restore_minified(&mut event);
        if !Symbolicator::wants(&event) || symbolicator.apply(project_id, &mut event).await.mapped == 0 {
            continue;
        }
        let Ok(json) = serde_json::to_vec(&event) else { continue };
        let Ok((payload, dict)) = codec.compress(project_id, &json) else {
            continue;
        };
        rows.push((stored.row_id, payload, dict));
        for h in crate::grouping::calculate_with(&event, &rules).hashes {
            if !hashes.contains(&h) {
                hashes.push(h);
            }
        }
    }
    done.mapped = crate::store::replace_payloads(admin, issue_id, &rows).await? as usize;
    done.adopted =
        crate::store::adopt_hashes(admin, project_id, issue_id, crate::grouping::CURRENT_CONFIG, &hashes).await?;
    Ok(done)
}

/// Puts an event's minified frames back where symbolication found them (a mapped event keeps
/// them in `raw_stacktrace`), so it can be mapped again with the maps there are now.
fn restore_minified(event: &mut crate::event::Event) {
    for exception in event.exception.iter_mut().flat_map(|e| e.values.iter_mut()) {
        if let Some(raw) = exception.other.remove("raw_stacktrace")
            && let Ok(raw) = serde_json::from_value(raw)
        {
            exception.stacktrace = Some(raw);
        }
    }
    if let Some(raw) = event.other.remove("raw_stacktrace")
        && let Ok(raw) = serde_json::from_value(raw)
    {
        event.stacktrace = Some(raw);
    }
}
