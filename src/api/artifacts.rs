//! Source-map uploads as sentry-cli makes them: chunk upload options and chunks, assembling an
//! artifact bundle (or a release's bundle, the legacy flow), release files, and listing and
//! deleting what was uploaded.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::auth::{require_admin_token, require_token};
use super::releases::{body_of, check_org, projects_of};
use super::{ApiError, ApiState};
use crate::event::format_rfc3339;
use crate::project::Project;
use crate::sourcemaps::{
    self, AssembleError, AssembleRequest, AssembleState, CHUNK_SIZE, CHUNKS_PER_REQUEST, MAX_REQUEST,
};
use crate::store::artifacts::{self as store_artifacts, ArtifactFile, Bundle, BundleKind, FilesOf};

impl From<AssembleError> for ApiError {
    fn from(e: AssembleError) -> Self {
        match e {
            AssembleError::Invalid(m) => ApiError::BadRequest(m),
            AssembleError::TooLarge(detail) => ApiError::Body {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                detail,
            },
            AssembleError::Store(e) => e.into(),
            AssembleError::Disk(e) => ApiError::Unavailable(format!("cannot assemble the bundle on disk: {e}")),
        }
    }
}

/// `GET /api/0/organizations/{org}/chunk-upload/`: how sentry-cli should upload.
pub async fn options(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    check_org(&req, &state)?;
    let url = format!("{}/api/0/organizations/{}/chunk-upload/", state.public_url, state.org);
    Ok(HttpResponse::Ok().json(json!({
        "url": url,
        "chunkSize": CHUNK_SIZE,
        "chunksPerRequest": CHUNKS_PER_REQUEST,
        "maxFileSize": state.artifacts.limits.max_bundle,
        "maxRequestSize": MAX_REQUEST,
        "concurrency": 1,
        "hashAlgorithm": "sha1",
        "compression": ["gzip"],
        "accept": ["artifact_bundles", "release_files", "sources"],
    })))
}

/// `POST /api/0/organizations/{org}/chunk-upload/`: chunks as multipart parts named `file` (or
/// `file_gzip`, gzip-compressed), each part's filename the SHA-1 of the chunk. Every part is
/// checked before any is stored: a wrong checksum stores nothing.
pub async fn upload(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    require_admin_token(&req, &state).await?;
    check_org(&req, &state)?;
    let too_big = format!("a chunk upload is at most {MAX_REQUEST} bytes");
    let mut parts = capped_form(&req, payload, MAX_REQUEST, &too_big)?;
    let mut chunks: Vec<(String, Vec<u8>)> = Vec::new();
    while let Some(field) = parts.next().await {
        let mut field = field.map_err(|e| multipart_error(e, &too_big))?;
        let name = field.name().unwrap_or_default().to_string();
        let gzip = match name.as_str() {
            "file" => false,
            "file_gzip" => true,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unexpected part {other:?}: send chunks as \"file\" or \"file_gzip\""
                )));
            }
        };
        let checksum = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .unwrap_or_default()
            .to_string();
        sourcemaps::check_checksum(&checksum).map_err(ApiError::from)?;
        let mut data = Vec::new();
        while let Some(piece) = field.next().await {
            let piece = piece.map_err(|e| multipart_error(e, &too_big))?;
            if data.len() + piece.len() > CHUNK_SIZE + 64 * 1024 {
                return Err(too_large(format!(
                    "chunk {checksum} is larger than the chunk size ({CHUNK_SIZE} bytes)"
                )));
            }
            data.extend_from_slice(&piece);
        }
        if gzip {
            data = gunzip(&data, CHUNK_SIZE).map_err(|e| {
                ApiError::BadRequest(format!("chunk {checksum}: not gzip within {CHUNK_SIZE} bytes: {e}"))
            })?;
        }
        if data.len() > CHUNK_SIZE {
            return Err(too_large(format!(
                "chunk {checksum} is larger than the chunk size ({CHUNK_SIZE} bytes)"
            )));
        }
        let actual = hex::encode(Sha1::digest(&data));
        if actual != checksum {
            return Err(ApiError::BadRequest(format!(
                "chunk {checksum}: its content's SHA-1 is {actual}; nothing was stored"
            )));
        }
        if chunks.len() == CHUNKS_PER_REQUEST {
            return Err(too_large(format!("at most {CHUNKS_PER_REQUEST} chunks per request")));
        }
        chunks.push((checksum, data));
    }
    store_artifacts::put_chunks(&state.admin, &chunks, crate::event::unix_now()).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

fn too_large(detail: String) -> ApiError {
    ApiError::Body {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        detail,
    }
}

/// A multipart form whose body may be at most `cap` bytes: refused at once when its
/// `Content-Length` says more, and counted as it streams (a missing or lying length stops at
/// the cap too).
fn capped_form(
    req: &HttpRequest,
    payload: web::Payload,
    cap: usize,
    too_big: &str,
) -> Result<actix_multipart::Multipart, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > cap) {
        return Err(too_large(too_big.to_string()));
    }
    let mut seen = 0usize;
    let capped = payload.into_inner().map(move |item| {
        let bytes = item?;
        seen += bytes.len();
        if seen > cap {
            return Err(actix_web::error::PayloadError::Overflow);
        }
        Ok(bytes)
    });
    Ok(actix_multipart::Multipart::new(req.headers(), capped))
}

/// A form that could not be read: 413 (`too_big`) past its cap, else 400.
fn multipart_error(e: actix_multipart::MultipartError, too_big: &str) -> ApiError {
    match e {
        actix_multipart::MultipartError::Payload(actix_web::error::PayloadError::Overflow) => {
            too_large(too_big.to_string())
        }
        e => ApiError::BadRequest(format!("the body is not a readable multipart form: {e}")),
    }
}

/// Decompresses at most `cap` bytes (a gzip bomb stops there).
fn gunzip(data: &[u8], cap: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .take(cap as u64 + 1)
        .read_to_end(&mut out)?;
    if out.len() > cap {
        return Err(std::io::Error::other("decompresses past the chunk size"));
    }
    Ok(out)
}

/// `POST /api/0/organizations/{org}/artifactbundle/assemble/` with `{"checksum", "chunks",
/// "projects", "version"?, "dist"?}`.
pub async fn assemble_bundle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    require_admin_token(&req, &state).await?;
    check_org(&req, &state)?;
    let body = body_of(&req, payload).await?;
    if body.get("projects").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        return Err(ApiError::BadRequest(
            "projects: name the projects the bundle is for".into(),
        ));
    }
    let projects = projects_of(&state, &req, Some(&body)).await?;
    let text = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let request = assemble_request(
        &body,
        &projects,
        BundleKind::ArtifactBundle,
        text("version"),
        text("dist"),
    )?;
    assemble(&state, &request).await
}

/// `POST /api/0/organizations/{org}/releases/{version}/assemble/` (legacy): the bundle belongs
/// to the release, in the projects that have it.
pub async fn assemble_release(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    require_admin_token(&req, &state).await?;
    check_org(&req, &state)?;
    let version = req.match_info().get("version").unwrap_or_default().to_string();
    let body = body_of(&req, payload).await?;
    let projects = release_projects(&state, &req, &version).await?;
    let dist = body.get("dist").and_then(Value::as_str).map(str::to_string);
    let request = assemble_request(&body, &projects, BundleKind::ReleaseBundle, Some(version), dist)?;
    assemble(&state, &request).await
}

fn assemble_request(
    body: &Value,
    projects: &[Project],
    kind: BundleKind,
    release: Option<String>,
    dist: Option<String>,
) -> Result<AssembleRequest, ApiError> {
    let checksum = body
        .get("checksum")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::BadRequest("checksum: the SHA-1 of the whole bundle".into()))?
        .to_string();
    let chunks = body
        .get("chunks")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::BadRequest("chunks: the SHA-1s of the bundle's chunks, in order".into()))?
        .iter()
        .map(|c| c.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| ApiError::BadRequest("chunks: a list of SHA-1 strings".into()))?;
    Ok(AssembleRequest {
        checksum,
        chunks,
        projects: projects.iter().map(|p| p.id).collect(),
        kind,
        release,
        dist,
    })
}

async fn assemble(state: &ApiState, request: &AssembleRequest) -> Result<HttpResponse, ApiError> {
    let answer = match state.artifacts.assemble(&state.pool, &state.admin, request).await? {
        AssembleState::Ok => json!({"state": "ok", "missingChunks": [], "detail": null}),
        AssembleState::Missing(missing) => json!({"state": "not_found", "missingChunks": missing, "detail": null}),
    };
    Ok(HttpResponse::Ok().json(answer))
}

/// The projects a release-bound request is about: the path's project, else those that have
/// the release. 404 when none has it.
async fn release_projects(state: &ApiState, req: &HttpRequest, version: &str) -> Result<Vec<Project>, ApiError> {
    let mut having = Vec::new();
    for p in projects_of(state, req, None).await? {
        if crate::store::project_releases(&state.pool, p.id)
            .await?
            .iter()
            .any(|r| r.version == version)
        {
            having.push(p);
        }
    }
    if having.is_empty() {
        return Err(ApiError::NotFound(format!("release {version:?} not found")));
    }
    Ok(having)
}

fn file_json(f: &ArtifactFile) -> Value {
    let mut headers = serde_json::Map::new();
    if let Some(map) = &f.sourcemap {
        headers.insert("Sourcemap".into(), json!(map));
    }
    if let Some(id) = &f.debug_id {
        headers.insert("debug-id".into(), json!(id));
    }
    json!({
        "id": f.id.to_string(),
        "name": f.url,
        "dist": f.dist,
        "size": f.size,
        "sha1": f.checksum,
        "headers": headers,
        "dateCreated": format_rfc3339(f.created_at),
        "fileType": f.kind,
        "debugId": f.debug_id,
        "bundleId": f.bundle.to_string(),
    })
}

/// `GET …/releases/{version}/files/`: the files of every upload for the release.
pub async fn release_files(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    check_org(&req, &state)?;
    let version = req.match_info().get("version").unwrap_or_default().to_string();
    let mut out = Vec::new();
    for p in release_projects(&state, &req, &version).await? {
        let files = store_artifacts::files(&state.pool, p.id, FilesOf::Release(&version)).await?;
        out.extend(files.iter().map(file_json));
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `POST …/releases/{version}/files/`: one file as a multipart form (`file`, `name`, `dist`,
/// `header` as `Key:Value`), the oldest upload flow.
pub async fn upload_release_file(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    require_admin_token(&req, &state).await?;
    check_org(&req, &state)?;
    let version = req.match_info().get("version").unwrap_or_default().to_string();
    let projects = release_projects(&state, &req, &version).await?;
    let max_file = state.artifacts.limits.max_file as usize;
    let too_big = format!("a file is at most {max_file} bytes");
    let mut parts = capped_form(&req, payload, max_file + 64 * 1024, &too_big)?;
    let (mut file, mut name, mut dist, mut headers) = (None::<(String, Vec<u8>)>, None, None, Vec::new());
    while let Some(field) = parts.next().await {
        let mut field = field.map_err(|e| multipart_error(e, &too_big))?;
        let part = field.name().unwrap_or_default().to_string();
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        let mut data = Vec::new();
        while let Some(piece) = field.next().await {
            data.extend_from_slice(&piece.map_err(|e| multipart_error(e, &too_big))?);
        }
        let text = || String::from_utf8_lossy(&data).trim().to_string();
        match part.as_str() {
            "file" => file = Some((filename.unwrap_or_default(), data)),
            "name" => name = Some(text()),
            "dist" => dist = Some(text()).filter(|d| !d.is_empty()),
            "header" => headers.push(text()),
            _ => {}
        }
    }
    let (filename, data) = file.ok_or_else(|| ApiError::BadRequest("the form needs a \"file\" part".into()))?;
    let url = name.filter(|n| !n.is_empty()).unwrap_or(filename);
    if url.is_empty() || url.len() > 4096 {
        return Err(ApiError::BadRequest(
            "name: the file's URL, e.g. ~/static/main.js".into(),
        ));
    }
    let header = |key: &str| {
        headers.iter().find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.trim().eq_ignore_ascii_case(key).then(|| v.trim().to_string())
        })
    };
    let kind = if url.ends_with(".map") || sourcemap::decode_slice(&data).is_ok() {
        sourcemap::decode_slice(&data)
            .map_err(|e| ApiError::BadRequest(format!("{url}: not a valid source map: {e}")))?;
        "source_map"
    } else {
        "minified_source"
    };
    let debug_id = header("debug-id")
        .map(|id| sourcemaps::bundle::normalize_debug_id(&id, &url))
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let artifact = sourcemaps::bundle::artifact(url.clone(), url.clone(), kind, debug_id, header("sourcemap"), &data)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let checksum = format!("{}:{}:{}", artifact.checksum, url, dist.clone().unwrap_or_default());
    let checksum = hex::encode(Sha1::digest(checksum.as_bytes()));
    let mut shown = Value::Null;
    for p in &projects {
        let (used, held) =
            store_artifacts::project_usage(&state.pool, p.id, std::slice::from_ref(&artifact.checksum)).await?;
        let adding = if held.is_empty() { artifact.size } else { 0 };
        if used + adding > state.artifacts.limits.max_project {
            return Err(too_large(format!(
                "the project's artifacts would take {} bytes; at most {} are kept per project",
                used + adding,
                state.artifacts.limits.max_project
            )));
        }
        let bundle = store_artifacts::NewBundle {
            project_id: p.id,
            checksum: checksum.clone(),
            kind: BundleKind::ReleaseFile,
            bundle_id: None,
            release: Some(version.clone()),
            dist: dist.clone(),
            files: vec![artifact.clone()],
        };
        let now = crate::event::unix_now();
        if store_artifacts::insert_bundle(&state.admin, &bundle, &[], now)
            .await?
            .is_none()
        {
            return Err(ApiError::Conflict(format!(
                "{url} is already uploaded for release {version:?}"
            )));
        }
        let files = store_artifacts::files(&state.pool, p.id, FilesOf::Release(&version)).await?;
        if let Some(f) = files.iter().find(|f| f.url == url && f.dist == dist) {
            shown = file_json(f);
        }
    }
    state.artifacts.symbolicator.uploaded();
    Ok(HttpResponse::Created().json(shown))
}

/// `GET …/releases/{version}/files/{file_id}/`.
pub async fn release_file(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    check_org(&req, &state)?;
    let version = req.match_info().get("version").unwrap_or_default().to_string();
    let id = file_id(&req)?;
    for p in release_projects(&state, &req, &version).await? {
        let files = store_artifacts::files(&state.pool, p.id, FilesOf::Release(&version)).await?;
        if let Some(f) = files.iter().find(|f| f.id == id) {
            return Ok(HttpResponse::Ok().json(file_json(f)));
        }
    }
    Err(ApiError::NotFound(format!(
        "file {id} not found in release {version:?}"
    )))
}

/// `DELETE …/releases/{version}/files/{file_id}/` (sentry-cli `releases files … delete`).
pub async fn delete_release_file(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_admin_token(&req, &state).await?;
    check_org(&req, &state)?;
    let version = req.match_info().get("version").unwrap_or_default().to_string();
    let id = file_id(&req)?;
    for p in release_projects(&state, &req, &version).await? {
        if store_artifacts::delete_release_file(&state.admin, p.id, &version, id).await? {
            state.artifacts.symbolicator.deleted();
            return Ok(HttpResponse::NoContent().finish());
        }
    }
    Err(ApiError::NotFound(format!(
        "file {id} not found in release {version:?}"
    )))
}

fn file_id(req: &HttpRequest) -> Result<i64, ApiError> {
    let raw = req.match_info().get("file_id").unwrap_or_default();
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("file {raw:?} not found")))
}

fn bundle_json(b: &Bundle) -> Value {
    json!({
        "id": b.id.to_string(),
        "bundleId": b.bundle_id,
        "type": b.kind,
        "release": b.release,
        "dist": b.dist,
        "fileCount": b.file_count,
        "size": b.size,
        "date": format_rfc3339(b.created_at),
        "dateModified": format_rfc3339(b.created_at),
        "lastUsed": format_rfc3339(b.last_used_at),
    })
}

/// `GET /api/0/projects/{org}/{project}/files/artifact-bundles/`: the project's uploads.
pub async fn bundles(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    check_org(&req, &state)?;
    let project = one_project(&state, &req).await?;
    let list = store_artifacts::bundles(&state.pool, project.id, None).await?;
    Ok(HttpResponse::Ok().json(list.iter().map(bundle_json).collect::<Vec<_>>()))
}

/// `DELETE /api/0/projects/{org}/{project}/files/artifact-bundles/?bundleId=…` (also with the
/// id in the path): deletes an upload and its files.
pub async fn delete_bundle(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_admin_token(&req, &state).await?;
    check_org(&req, &state)?;
    let project = one_project(&state, &req).await?;
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let wanted = req
        .match_info()
        .get("bundle")
        .map(str::to_string)
        .or_else(|| query.iter().find(|(k, _)| k == "bundleId").map(|(_, v)| v.clone()))
        .ok_or_else(|| ApiError::BadRequest("bundleId: which upload to delete".into()))?;
    // By Tocsin's id, or by the bundle's debug id as Sentry names bundles.
    let list = store_artifacts::bundles(&state.pool, project.id, None).await?;
    let Some(bundle) = list
        .iter()
        .find(|b| b.id.to_string() == wanted || b.bundle_id.as_deref() == Some(wanted.as_str()))
    else {
        return Err(ApiError::NotFound(format!("artifact bundle {wanted:?} not found")));
    };
    store_artifacts::delete_bundle(&state.admin, project.id, bundle.id).await?;
    state.artifacts.symbolicator.deleted();
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/0/projects/{org}/{project}/files/source-maps/`: the releases that have uploads,
/// with their file counts (Sentry's "release archives").
pub async fn release_archives(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_token(&req, &state).await?;
    check_org(&req, &state)?;
    let project = one_project(&state, &req).await?;
    let mut by_release: std::collections::BTreeMap<String, (i64, f64)> = Default::default();
    for b in store_artifacts::bundles(&state.pool, project.id, None).await? {
        if let Some(release) = b.release {
            let entry = by_release.entry(release).or_insert((0, b.created_at));
            entry.0 += b.file_count;
            entry.1 = entry.1.max(b.created_at);
        }
    }
    let list: Vec<Value> = by_release
        .iter()
        .map(|(name, (files, at))| json!({"name": name, "fileCount": files, "date": format_rfc3339(*at)}))
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// `DELETE /api/0/projects/{org}/{project}/files/source-maps/?name=<release>`: every upload of
/// the release (sentry-cli 2 `releases files <release> delete --all`).
pub async fn delete_release_archive(req: HttpRequest, state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    require_admin_token(&req, &state).await?;
    check_org(&req, &state)?;
    let project = one_project(&state, &req).await?;
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let release = query
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| ApiError::BadRequest("name: the release whose uploads to delete".into()))?;
    let bundles = store_artifacts::bundles(&state.pool, project.id, Some(&release)).await?;
    for b in &bundles {
        store_artifacts::delete_bundle(&state.admin, project.id, b.id).await?;
    }
    state.artifacts.symbolicator.deleted();
    Ok(HttpResponse::NoContent().finish())
}

async fn one_project(state: &ApiState, req: &HttpRequest) -> Result<Project, ApiError> {
    projects_of(state, req, None)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::NotFound("project not found".into()))
}
