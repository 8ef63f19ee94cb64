//! Artifacts for source maps: upload chunks, bundles, their files and the deduplicated file
//! contents (`artifact_blobs`, one row per SHA-1 whatever bundles hold it).
//!
//! Uploads and deletions go through the pool they are given (the admin pool): they are rare,
//! and each is one short transaction. Symbolication reads through the read pool.

use sqlx::Row;

use super::pool::on;
use super::{Pool, StoreError};

/// Chunks still in the table of those asked for: the ones an assemble can use.
pub async fn present_chunks(pool: &Pool, checksums: &[String]) -> Result<Vec<String>, StoreError> {
    if checksums.is_empty() {
        return Ok(Vec::new());
    }
    on!(pool, |c, DB| {
        let mut qb = sqlx::QueryBuilder::<DB>::new("SELECT checksum FROM upload_chunks WHERE checksum IN ");
        super::push_list(&mut qb, checksums.iter().cloned());
        let rows = qb.build().fetch_all(c).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    })
}

/// Stores uploaded chunks (as uploaded, uncompressed); one already there is kept.
pub async fn put_chunks(pool: &Pool, chunks: &[(String, Vec<u8>)], now: f64) -> Result<(), StoreError> {
    on!(pool, |c| {
        let mut tx = c.begin().await?;
        for (checksum, data) in chunks {
            sqlx::query(
                "INSERT INTO upload_chunks (checksum, size, data, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (checksum) DO NOTHING",
            )
            .bind(checksum)
            .bind(data.len() as i64)
            .bind(data.as_slice())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    })
}

/// One chunk's bytes.
pub async fn chunk(pool: &Pool, checksum: &str) -> Result<Option<Vec<u8>>, StoreError> {
    on!(pool, |c| {
        Ok(sqlx::query_scalar("SELECT data FROM upload_chunks WHERE checksum = $1")
            .bind(checksum)
            .fetch_optional(c)
            .await?)
    })
}

/// Sizes of the chunks present, summed: what assembling them would write to disk.
pub async fn chunks_size(pool: &Pool, checksums: &[String]) -> Result<i64, StoreError> {
    if checksums.is_empty() {
        return Ok(0);
    }
    on!(pool, |c, DB| {
        let mut qb = sqlx::QueryBuilder::<DB>::new(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM upload_chunks WHERE checksum IN ",
        );
        super::push_list(&mut qb, checksums.iter().cloned());
        Ok(qb.build().fetch_one(c).await?.get(0))
    })
}

/// An upload's kind, as `artifact_bundles.kind` stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleKind {
    /// Files found by debug id (sentry-cli `sourcemaps upload` after `sourcemaps inject`), and
    /// by release + URL when the bundle names a release.
    ArtifactBundle,
    /// The legacy release-bound upload (`releases/{version}/assemble/`).
    ReleaseBundle,
    /// One file posted to `releases/{version}/files/`.
    ReleaseFile,
}

impl BundleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BundleKind::ArtifactBundle => "artifact_bundle",
            BundleKind::ReleaseBundle => "release_bundle",
            BundleKind::ReleaseFile => "release_file",
        }
    }
}

/// A file to store with its bundle; `data` is the zstd-compressed content.
#[derive(Debug, Clone)]
pub struct NewArtifact {
    pub path: String,
    pub url: String,
    pub kind: String,
    pub debug_id: Option<String>,
    pub sourcemap: Option<String>,
    /// SHA-1 of the content, hex.
    pub checksum: String,
    pub size: i64,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct NewBundle {
    pub project_id: i64,
    pub checksum: String,
    pub kind: BundleKind,
    pub bundle_id: Option<String>,
    pub release: Option<String>,
    pub dist: Option<String>,
    pub files: Vec<NewArtifact>,
}

/// A stored file, without its content.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactFile {
    pub id: i64,
    pub bundle: i64,
    pub path: String,
    pub url: String,
    pub kind: String,
    pub debug_id: Option<String>,
    pub sourcemap: Option<String>,
    pub checksum: String,
    pub size: i64,
    pub release: Option<String>,
    pub dist: Option<String>,
    pub created_at: f64,
}

/// A stored upload, for the release page and the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    pub id: i64,
    pub kind: String,
    pub bundle_id: Option<String>,
    pub release: Option<String>,
    pub dist: Option<String>,
    pub size: i64,
    pub file_count: i64,
    pub created_at: f64,
    pub last_used_at: f64,
}

/// Whether the project already holds an upload with this checksum.
pub async fn bundle_exists(pool: &Pool, project_id: i64, checksum: &str) -> Result<bool, StoreError> {
    on!(pool, |c| {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM artifact_bundles WHERE project_id = $1 AND checksum = $2")
                .bind(project_id)
                .bind(checksum)
                .fetch_optional(c)
                .await?;
        Ok(found.is_some())
    })
}

/// Bytes of distinct file contents the project's uploads hold, and how many of `checksums`
/// it holds already (those cost nothing more).
pub async fn project_usage(
    pool: &Pool,
    project_id: i64,
    checksums: &[String],
) -> Result<(i64, Vec<String>), StoreError> {
    on!(pool, |c, DB| {
        let mut conn = c.acquire().await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM artifact_blobs WHERE checksum IN \
             (SELECT checksum FROM artifact_files WHERE project_id = $1)",
        )
        .bind(project_id)
        .fetch_one(&mut *conn)
        .await?;
        let mut held = Vec::new();
        for part in checksums.chunks(500) {
            let mut qb =
                sqlx::QueryBuilder::<DB>::new("SELECT DISTINCT checksum FROM artifact_files WHERE project_id = ");
            qb.push_bind(project_id);
            qb.push(" AND checksum IN ");
            super::push_list(&mut qb, part.iter().cloned());
            let rows = qb.build().fetch_all(&mut *conn).await?;
            held.extend(rows.iter().map(|r| r.get::<String, _>(0)));
        }
        Ok((total, held))
    })
}

/// Stores a bundle, its files and the contents not stored yet, in one transaction; returns its
/// id. The same upload twice is stored once (`None` the second time). The chunks it was
/// assembled from are dropped in the same transaction.
pub async fn insert_bundle(
    pool: &Pool,
    bundle: &NewBundle,
    chunks: &[String],
    now: f64,
) -> Result<Option<i64>, StoreError> {
    let size: i64 = bundle.files.iter().map(|f| f.size).sum();
    on!(pool, |c| {
        let mut tx = c.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO artifact_bundles (project_id, checksum, kind, bundle_id, release, dist, size, file_count, \
             created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             ON CONFLICT (project_id, checksum) DO NOTHING RETURNING id",
        )
        .bind(bundle.project_id)
        .bind(&bundle.checksum)
        .bind(bundle.kind.as_str())
        .bind(&bundle.bundle_id)
        .bind(&bundle.release)
        .bind(&bundle.dist)
        .bind(size)
        .bind(bundle.files.len() as i64)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            tx.rollback().await?;
            return Ok(None);
        };
        for f in &bundle.files {
            sqlx::query("INSERT INTO artifact_blobs (checksum, size, data) VALUES ($1, $2, $3) ON CONFLICT (checksum) DO NOTHING")
                .bind(&f.checksum)
                .bind(f.size)
                .bind(f.data.as_slice())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO artifact_files (bundle_id, project_id, path, url, kind, debug_id, sourcemap, checksum, size) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(bundle.project_id)
            .bind(&f.path)
            .bind(&f.url)
            .bind(&f.kind)
            .bind(&f.debug_id)
            .bind(&f.sourcemap)
            .bind(&f.checksum)
            .bind(f.size)
            .execute(&mut *tx)
            .await?;
        }
        for sum in chunks {
            sqlx::query("DELETE FROM upload_chunks WHERE checksum = $1")
                .bind(sum)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(id))
    })
}

const FILE_COLUMNS: &str = "f.id, f.bundle_id, f.path, f.url, f.kind, f.debug_id, f.sourcemap, f.checksum, f.size, \
                            b.release, b.dist, b.created_at";

/// An [`ArtifactFile`] from a row of [`FILE_COLUMNS`] (a macro: rows differ per backend).
macro_rules! file_of {
    ($r:expr) => {
        ArtifactFile {
            id: $r.get(0),
            bundle: $r.get(1),
            path: $r.get(2),
            url: $r.get(3),
            kind: $r.get(4),
            debug_id: $r.get(5),
            sourcemap: $r.get(6),
            checksum: $r.get(7),
            size: $r.get(8),
            release: $r.get(9),
            dist: $r.get(10),
            created_at: $r.get(11),
        }
    };
}

/// The newest file of the project with this debug id and kind.
pub async fn file_by_debug_id(
    pool: &Pool,
    project_id: i64,
    debug_id: &str,
    kind: &str,
) -> Result<Option<ArtifactFile>, StoreError> {
    on!(pool, |c| {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM artifact_files f JOIN artifact_bundles b ON b.id = f.bundle_id \
             WHERE f.project_id = $1 AND f.debug_id = $2 AND f.kind = $3 ORDER BY b.created_at DESC, f.id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(project_id)
            .bind(debug_id)
            .bind(kind)
            .fetch_optional(c)
            .await?;
        Ok(row.map(|r| file_of!(r)))
    })
}

/// The newest file of the project's uploads for `release` (and `dist`: both absent, or equal)
/// at the first of `urls` that has one.
pub async fn file_by_url(
    pool: &Pool,
    project_id: i64,
    release: &str,
    dist: Option<&str>,
    urls: &[String],
) -> Result<Option<ArtifactFile>, StoreError> {
    on!(pool, |c| {
        let mut conn = c.acquire().await?;
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM artifact_files f JOIN artifact_bundles b ON b.id = f.bundle_id \
             WHERE f.project_id = $1 AND f.url = $2 AND b.release = $3 AND COALESCE(b.dist, '') = $4 \
             ORDER BY b.created_at DESC, f.id DESC LIMIT 1"
        );
        for url in urls {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(project_id)
                .bind(url)
                .bind(release)
                .bind(dist.unwrap_or(""))
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(row) = row {
                return Ok(Some(file_of!(row)));
            }
        }
        Ok(None)
    })
}

/// A file's content, zstd-compressed, with its uncompressed size.
pub async fn blob(pool: &Pool, checksum: &str) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
    on!(pool, |c| {
        let row = sqlx::query("SELECT size, data FROM artifact_blobs WHERE checksum = $1")
            .bind(checksum)
            .fetch_optional(c)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    })
}

/// Marks bundles as used by an event now (retention keeps them).
pub async fn touch_bundles(pool: &Pool, ids: &[i64], now: f64) -> Result<(), StoreError> {
    on!(pool, |c| {
        let mut conn = c.acquire().await?;
        for id in ids {
            sqlx::query("UPDATE artifact_bundles SET last_used_at = $1 WHERE id = $2 AND last_used_at < $1")
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

const BUNDLE_COLUMNS: &str = "id, kind, bundle_id, release, dist, size, file_count, created_at, last_used_at";

/// A [`Bundle`] from a row of [`BUNDLE_COLUMNS`].
macro_rules! bundle_of {
    ($r:expr) => {
        Bundle {
            id: $r.get(0),
            kind: $r.get(1),
            bundle_id: $r.get(2),
            release: $r.get(3),
            dist: $r.get(4),
            size: $r.get(5),
            file_count: $r.get(6),
            created_at: $r.get(7),
            last_used_at: $r.get(8),
        }
    };
}

/// The project's uploads, newest first; only those of `release` when given.
pub async fn bundles(pool: &Pool, project_id: i64, release: Option<&str>) -> Result<Vec<Bundle>, StoreError> {
    on!(pool, |c| {
        let rows = match release {
            Some(release) => {
                let sql = format!(
                    "SELECT {BUNDLE_COLUMNS} FROM artifact_bundles WHERE project_id = $1 AND release = $2 \
                     ORDER BY created_at DESC, id DESC"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(project_id)
                    .bind(release)
                    .fetch_all(c)
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {BUNDLE_COLUMNS} FROM artifact_bundles WHERE project_id = $1 ORDER BY created_at DESC, id DESC"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(project_id)
                    .fetch_all(c)
                    .await?
            }
        };
        Ok(rows.iter().map(|r| bundle_of!(r)).collect())
    })
}

/// The files of the project's uploads: of one bundle, or of every upload for a release.
pub async fn files(pool: &Pool, project_id: i64, of: FilesOf<'_>) -> Result<Vec<ArtifactFile>, StoreError> {
    let filter = match of {
        FilesOf::Bundle(_) => "f.bundle_id = $2",
        FilesOf::Release(_) => "b.release = $2",
    };
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM artifact_files f JOIN artifact_bundles b ON b.id = f.bundle_id \
         WHERE f.project_id = $1 AND {filter} ORDER BY f.url, f.id"
    );
    on!(pool, |c| {
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(project_id);
        let query = match of {
            FilesOf::Bundle(id) => query.bind(id),
            FilesOf::Release(release) => query.bind(release.to_string()),
        };
        let rows = query.fetch_all(c).await?;
        Ok(rows.iter().map(|r| file_of!(r)).collect())
    })
}

/// Which files [`files`] lists.
#[derive(Debug, Clone, Copy)]
pub enum FilesOf<'a> {
    Bundle(i64),
    Release(&'a str),
}

/// Deletes one upload of the project (its files go with it; contents no other upload holds
/// are dropped). `false` when there was none.
pub async fn delete_bundle(pool: &Pool, project_id: i64, id: i64) -> Result<bool, StoreError> {
    let deleted = on!(pool, |c| {
        sqlx::query("DELETE FROM artifact_bundles WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .execute(c)
            .await?
            .rows_affected()
    });
    if deleted > 0 {
        drop_orphan_blobs(pool).await?;
    }
    Ok(deleted > 0)
}

/// Deletes one file of a release's uploads; its upload goes too when it was the last file.
pub async fn delete_release_file(
    pool: &Pool,
    project_id: i64,
    release: &str,
    file_id: i64,
) -> Result<bool, StoreError> {
    let deleted = on!(pool, |c| {
        let mut tx = c.begin().await?;
        let gone: Option<(i64, i64)> = sqlx::query_as(
            "DELETE FROM artifact_files WHERE id = $1 AND project_id = $2 AND bundle_id IN \
             (SELECT id FROM artifact_bundles WHERE project_id = $2 AND release = $3) RETURNING bundle_id, size",
        )
        .bind(file_id)
        .bind(project_id)
        .bind(release)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((bundle, size)) = gone {
            sqlx::query("UPDATE artifact_bundles SET file_count = file_count - 1, size = size - $2 WHERE id = $1")
                .bind(bundle)
                .bind(size)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM artifact_bundles WHERE id = $1 AND file_count <= 0")
                .bind(bundle)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        gone.is_some()
    });
    if deleted {
        drop_orphan_blobs(pool).await?;
    }
    Ok(deleted)
}

/// Drops file contents no upload holds any more.
async fn drop_orphan_blobs(pool: &Pool) -> Result<u64, StoreError> {
    on!(pool, |c| {
        Ok(sqlx::query(
            "DELETE FROM artifact_blobs WHERE NOT EXISTS \
             (SELECT 1 FROM artifact_files f WHERE f.checksum = artifact_blobs.checksum)",
        )
        .execute(c)
        .await?
        .rows_affected())
    })
}

/// What a retention sweep of artifacts removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactSweep {
    pub bundles: u64,
    pub blobs: u64,
    pub chunks: u64,
}

/// Retention for artifacts: uploads no event used since `unused_before` (and not uploaded
/// since), chunks nobody assembled since `chunks_before`, and contents nothing holds.
pub async fn sweep_artifacts(pool: &Pool, unused_before: f64, chunks_before: f64) -> Result<ArtifactSweep, StoreError> {
    let (bundles, chunks) = on!(pool, |c| {
        let mut conn = c.acquire().await?;
        let bundles = sqlx::query("DELETE FROM artifact_bundles WHERE last_used_at < $1")
            .bind(unused_before)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        let chunks = sqlx::query("DELETE FROM upload_chunks WHERE created_at < $1")
            .bind(chunks_before)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        (bundles, chunks)
    });
    let blobs = drop_orphan_blobs(pool).await?;
    Ok(ArtifactSweep { bundles, blobs, chunks })
}
