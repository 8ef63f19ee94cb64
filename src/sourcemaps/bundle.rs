//! Reading an uploaded bundle: a zip with `manifest.json` (what sentry-cli's `sourcemaps upload`
//! and the legacy release upload build) that lists each file's URL, type and headers:
//!
//! ```json
//! {"files": {"files/_/_/main.js": {"type": "minified_source", "url": "~/main.js",
//!            "headers": {"debug-id": "…", "sourcemap": "main.js.map"}}, …},
//!  "debug_id": "…", "org": "…", "project": "…", "release": "…", "dist": "…"}
//! ```
//!
//! The zip is untrusted: entries are read through a cap (a bomb stops at the cap, whatever its
//! header claims), a path that climbs out (`..`) or is absolute refuses the whole bundle, and
//! every source map must parse. Nothing is stored unless the whole bundle reads.

use std::io::{Read, Seek};

use serde::Deserialize;
use sha1::{Digest, Sha1};

use crate::store::artifacts::NewArtifact;

/// What a bundle may hold.
#[derive(Debug, Clone, Copy)]
pub struct BundleLimits {
    /// Largest file, decompressed.
    pub max_file: u64,
    /// Most files.
    pub max_files: usize,
    /// All files together, decompressed.
    pub max_total: u64,
}

/// Why a bundle was refused; `TooLarge` is a 413, the others 400.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is not a zip archive: {0}")]
    NotZip(String),
    #[error("the bundle has no readable manifest.json: {0}")]
    Manifest(String),
    #[error("the bundle holds a path that is absolute or climbs out of it: {0:?}")]
    UnsafePath(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
}

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    files: std::collections::BTreeMap<String, ManifestFile>,
    #[serde(default)]
    debug_id: Option<String>,
    #[serde(default)]
    release: Option<String>,
    #[serde(default)]
    dist: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ManifestFile {
    #[serde(default)]
    url: Option<String>,
    #[serde(rename = "type", default)]
    ty: Option<String>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
}

/// A bundle, read and checked.
#[derive(Debug)]
pub struct ReadBundle {
    pub bundle_id: Option<String>,
    pub release: Option<String>,
    pub dist: Option<String>,
    pub files: Vec<NewArtifact>,
}

/// The kinds of file symbolication uses; others (`indexed_ram_bundle`, …) are refused.
const KINDS: &[&str] = &["minified_source", "source_map", "source", "index_source_map"];
/// The manifest is a list of names and URLs: a few MiB at most.
const MAX_MANIFEST: u64 = 8 * 1024 * 1024;
const MAX_URL: usize = 4096;

/// Reads and checks a bundle. CPU and memory: one decompressed file at a time (≤ `max_file`)
/// plus the compressed files kept so far.
pub fn read_bundle<R: Read + Seek>(reader: R, limits: BundleLimits) -> Result<ReadBundle, BundleError> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| BundleError::NotZip(e.to_string()))?;
    if zip.len() > limits.max_files + 1 {
        return Err(BundleError::TooLarge(format!(
            "the bundle holds {} files; at most {} are accepted",
            zip.len(),
            limits.max_files
        )));
    }
    // Every entry's name is checked, listed in the manifest or not: a bundle that tries a path
    // trick is refused whole.
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| BundleError::NotZip(e.to_string()))?;
        if entry.enclosed_name().is_none() {
            return Err(BundleError::UnsafePath(
                entry.name().map(|n| n.to_string()).unwrap_or_default(),
            ));
        }
    }
    let manifest: Manifest = {
        let bytes = read_entry(&mut zip, "manifest.json", MAX_MANIFEST).map_err(|e| match e {
            BundleError::Invalid(m) => BundleError::Manifest(m),
            other => other,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| BundleError::Manifest(e.to_string()))?
    };
    if manifest.files.len() > limits.max_files {
        return Err(BundleError::TooLarge(format!(
            "the manifest lists {} files; at most {} are accepted",
            manifest.files.len(),
            limits.max_files
        )));
    }
    let mut total = 0u64;
    let mut files = Vec::with_capacity(manifest.files.len());
    for (path, entry) in &manifest.files {
        if !is_safe_path(path) {
            return Err(BundleError::UnsafePath(path.clone()));
        }
        let kind = entry.ty.as_deref().unwrap_or("source");
        if !KINDS.contains(&kind) {
            return Err(BundleError::Invalid(format!("{path}: unsupported file type {kind:?}")));
        }
        let url = entry
            .url
            .clone()
            .filter(|u| !u.is_empty() && u.len() <= MAX_URL)
            .ok_or_else(|| BundleError::Invalid(format!("{path}: the manifest gives it no usable url")))?;
        let data = read_entry(&mut zip, path, limits.max_file)?;
        total += data.len() as u64;
        if total > limits.max_total {
            return Err(BundleError::TooLarge(format!(
                "the bundle's files add up to more than {} bytes",
                limits.max_total
            )));
        }
        let header = |name: &str| {
            entry
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
        };
        let debug_id = header("debug-id").map(|id| normalize_debug_id(&id, path)).transpose()?;
        if kind == "source_map" || kind == "index_source_map" {
            sourcemap::decode_slice(&data)
                .map_err(|e| BundleError::Invalid(format!("{path}: not a valid source map: {e}")))?;
        }
        files.push(artifact(path.clone(), url, kind, debug_id, header("sourcemap"), &data)?);
    }
    Ok(ReadBundle {
        bundle_id: manifest.debug_id.filter(|id| !id.is_empty()),
        release: manifest.release.filter(|r| !r.is_empty()),
        dist: manifest.dist.filter(|d| !d.is_empty()),
        files,
    })
}

/// One file as the store keeps it: SHA-1 of the content and the content zstd-compressed.
pub fn artifact(
    path: String,
    url: String,
    kind: &str,
    debug_id: Option<String>,
    sourcemap: Option<String>,
    data: &[u8],
) -> Result<NewArtifact, BundleError> {
    let compressed =
        zstd::bulk::compress(data, 3).map_err(|e| BundleError::Invalid(format!("{path}: cannot compress: {e}")))?;
    Ok(NewArtifact {
        path,
        url,
        kind: kind.to_string(),
        debug_id,
        sourcemap,
        checksum: sha1_hex(data),
        size: data.len() as i64,
        data: compressed,
    })
}

pub fn sha1_hex(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

/// A debug id as lookups compare them: a UUID, lowercase with hyphens.
pub fn normalize_debug_id(id: &str, what: &str) -> Result<String, BundleError> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| BundleError::Invalid(format!("{what}: debug id {id:?} is not a UUID")))
}

fn is_safe_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.contains('\0')
        && path.split('/').all(|part| part != "..")
}

/// One entry's bytes, refused past `cap` however small its header says it is.
fn read_entry<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, name: &str, cap: u64) -> Result<Vec<u8>, BundleError> {
    let entry = zip
        .by_name(name)
        .map_err(|e| BundleError::Invalid(format!("{name}: listed in the manifest but not readable: {e}")))?;
    if entry.size() > cap {
        return Err(BundleError::TooLarge(format!(
            "{name} is {} bytes decompressed; files of at most {cap} bytes are accepted",
            entry.size()
        )));
    }
    let mut data = Vec::new();
    entry
        .take(cap + 1)
        .read_to_end(&mut data)
        .map_err(|e| BundleError::Invalid(format!("{name}: cannot decompress: {e}")))?;
    if data.len() as u64 > cap {
        return Err(BundleError::TooLarge(format!(
            "{name} decompresses past {cap} bytes; files of at most {cap} bytes are accepted"
        )));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    const LIMITS: BundleLimits = BundleLimits {
        max_file: 1024,
        max_files: 10,
        max_total: 4096,
    };

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
        out.into_inner()
    }

    const MAP: &str = r#"{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}"#;

    fn manifest(path: &str, ty: &str) -> String {
        format!(
            r#"{{"files":{{"{path}":{{"type":"{ty}","url":"~/a.js.map","headers":{{"debug-id":"98574C24-1A47-5241-979A-AFB48375138B"}}}}}},"debug_id":"ab87e8ba-a873-5403-a4b8-ba1615b679f8"}}"#
        )
    }

    #[test]
    fn a_bundle_reads_with_its_debug_ids_lowercased() {
        let zip = zip_of(&[
            ("manifest.json", manifest("files/_/_/a.js.map", "source_map").as_bytes()),
            ("files/_/_/a.js.map", MAP.as_bytes()),
        ]);
        let bundle = read_bundle(Cursor::new(zip), LIMITS).unwrap();
        assert_eq!(
            bundle.bundle_id.as_deref(),
            Some("ab87e8ba-a873-5403-a4b8-ba1615b679f8")
        );
        assert_eq!(bundle.files.len(), 1);
        assert_eq!(
            bundle.files[0].debug_id.as_deref(),
            Some("98574c24-1a47-5241-979a-afb48375138b")
        );
        assert_eq!(bundle.files[0].size, MAP.len() as i64);
        assert_eq!(bundle.files[0].checksum, sha1_hex(MAP.as_bytes()));
    }

    #[test]
    fn a_file_that_decompresses_past_the_cap_refuses_the_bundle() {
        let big = vec![b'a'; 10_000];
        let zip = zip_of(&[
            ("manifest.json", manifest("files/_/_/a.js.map", "source_map").as_bytes()),
            ("files/_/_/a.js.map", &big),
        ]);
        assert!(matches!(
            read_bundle(Cursor::new(zip), LIMITS),
            Err(BundleError::TooLarge(_))
        ));
    }

    #[test]
    fn a_path_that_climbs_out_refuses_the_bundle() {
        let zip = zip_of(&[
            ("manifest.json", manifest("../evil.js.map", "source_map").as_bytes()),
            ("../evil.js.map", MAP.as_bytes()),
        ]);
        assert!(matches!(
            read_bundle(Cursor::new(zip), LIMITS),
            Err(BundleError::UnsafePath(_))
        ));
    }

    #[test]
    fn a_malformed_source_map_refuses_the_bundle() {
        let zip = zip_of(&[
            ("manifest.json", manifest("files/_/_/a.js.map", "source_map").as_bytes()),
            ("files/_/_/a.js.map", b"{\"version\":3,\"mappings\":42}"),
        ]);
        let err = read_bundle(Cursor::new(zip), LIMITS).unwrap_err();
        assert!(err.to_string().contains("not a valid source map"), "{err}");
    }
}
