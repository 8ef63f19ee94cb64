//! Applying source maps to a JavaScript event's frames, in the ingest handler (never in the
//! writer), before grouping: the stored event is readable and grouping sees original frames, so
//! two builds of the same code land in one issue.
//!
//! A frame's map is found by debug id first (`debug_meta.images[type=sourcemap]`, which the SDK
//! fills from what `sentry-cli sourcemaps inject` put in the bundle), else by the event's release
//! and dist and the frame's script URL (`~/` matches any host). Each frame becomes the original
//! file, line, column and function, with context lines from the map's `sourcesContent`; the
//! minified frames stay in `raw_stacktrace` beside it, as Sentry keeps them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::cache::{Cached, CostCache};
use super::urls;
use crate::event::{Event, Frame, Stacktrace, unix_now};
use crate::store::artifacts::{self, ArtifactFile};
use crate::store::{Pool, StoreError};

/// Context lines on each side of a frame's line.
const CONTEXT: u32 = 5;
/// Longest context line kept (minified or machine-made sources have enormous lines).
const MAX_LINE: usize = 300;
/// How often a used bundle's `last_used_at` is written (retention needs days, not seconds).
const TOUCH_EVERY: Duration = Duration::from_secs(3600);

/// A parsed map with what symbolication needs beside it.
pub struct LoadedMap {
    map: sourcemap::SourceMap,
    /// The minified file, for original function names, and whether it is all ASCII (then a
    /// column is a byte offset).
    minified: Option<(sourcemap::SourceView, bool)>,
    map_url: String,
    bundles: Vec<i64>,
    by_debug_id: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum MapKey {
    DebugId(i64, String),
    Url {
        project: i64,
        release: String,
        dist: String,
        abs_path: String,
    },
}

/// What symbolication did to one event.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Frames that could be mapped (they have a script, a line and a column).
    pub candidates: usize,
    pub mapped: usize,
}

pub struct Symbolicator {
    /// Reads artifacts.
    pool: Pool,
    /// Marks bundles used.
    admin: Pool,
    cache: CostCache<MapKey, LoadedMap>,
    /// Parses at once: each can hold a large map's text and its parse.
    loads: Semaphore,
    touched: Mutex<HashMap<i64, Instant>>,
}

impl Symbolicator {
    pub fn new(pool: Pool, admin: Pool, cache_bytes: usize) -> Self {
        Symbolicator {
            pool,
            admin,
            cache: CostCache::new(cache_bytes),
            loads: Semaphore::new(2),
            touched: Mutex::new(HashMap::new()),
        }
    }

    /// Bytes the cache of parsed maps holds (by its estimate).
    pub fn cache_size(&self) -> usize {
        self.cache.size()
    }

    /// After an upload: maps that were missing may be there now.
    pub fn uploaded(&self) {
        self.cache.forget_misses();
    }

    /// After a deletion: no event of this node uses a deleted map again. (Other nodes on the
    /// same PostgreSQL drop theirs as the cache turns over.)
    pub fn deleted(&self) {
        self.cache.clear();
    }

    /// Whether the event has frames a map could apply to (cheap; checked on every event).
    pub fn wants(event: &Event) -> bool {
        matches!(event.platform.as_str(), "javascript" | "node")
            && stacktraces(event).any(|st| st.frames.iter().any(mappable))
    }

    /// Maps the event's frames; a frame without a map stays as it was. Never fails: an event
    /// whose maps cannot be read now is stored as it came (and can be reprocessed later).
    pub async fn apply(&self, project_id: i64, event: &mut Event) -> Report {
        let images = debug_images(event);
        let mut maps: HashMap<String, Option<Arc<LoadedMap>>> = HashMap::new();
        let paths: Vec<String> = stacktraces(event)
            .flat_map(|st| st.frames.iter())
            .filter(|f| mappable(f))
            .filter_map(|f| origin(f).map(str::to_string))
            .collect();
        let mut report = Report {
            candidates: paths.len(),
            mapped: 0,
        };
        for path in paths {
            if maps.contains_key(&path) {
                continue;
            }
            let key = match images.get(&path) {
                Some(debug_id) => MapKey::DebugId(project_id, debug_id.clone()),
                None => match &event.release {
                    Some(release) => MapKey::Url {
                        project: project_id,
                        release: release.clone(),
                        dist: event.dist.clone().unwrap_or_default(),
                        abs_path: path.clone(),
                    },
                    None => continue,
                },
            };
            let map = match self.map(key).await {
                Ok(map) => map,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read source maps; the event keeps its minified frames");
                    None
                }
            };
            maps.insert(path, map);
        }
        if maps.values().all(Option::is_none) {
            return report;
        }
        let mut used: Vec<i64> = Vec::new();
        for st in stacktraces_mut(event) {
            let raw = st.clone();
            let mut changed = false;
            for frame in &mut st.frames {
                let Some(Some(map)) = origin(frame).and_then(|p| maps.get(p)) else {
                    continue;
                };
                if let Some(mapped) = map_frame(frame, map) {
                    *frame = mapped;
                    changed = true;
                    report.mapped += 1;
                    used.extend(&map.bundles);
                }
            }
            if changed {
                st.other
                    .insert("__raw".into(), serde_json::to_value(raw).unwrap_or(Value::Null));
            }
        }
        move_raw_stacktraces(event);
        self.touch(used);
        report
    }

    async fn map(&self, key: MapKey) -> Result<Option<Arc<LoadedMap>>, StoreError> {
        match self.cache.get(&key) {
            Cached::Hit(map) => return Ok(Some(map)),
            Cached::Miss => return Ok(None),
            Cached::Unknown => {}
        }
        // The semaphore is never closed.
        let _permit = self.loads.acquire().await.ok();
        // Another event may have loaded it while this one waited.
        if let Cached::Hit(map) = self.cache.get(&key) {
            return Ok(Some(map));
        }
        let found = match &key {
            MapKey::DebugId(project, id) => self.files_by_debug_id(*project, id).await?,
            MapKey::Url {
                project,
                release,
                dist,
                abs_path,
            } => self.files_by_url(*project, release, dist, abs_path).await?,
        };
        let Some((map_file, map_bytes, minified)) = found else {
            self.cache.put(key, None, 0);
            return Ok(None);
        };
        let by_debug_id = matches!(key, MapKey::DebugId(..));
        let cost = map_bytes.len() * 3 + minified.as_ref().map_or(0, |(_, m)| m.len());
        let parsed = tokio::task::spawn_blocking(move || parse(map_file, map_bytes, minified, by_debug_id)).await;
        // A parse that panicked (a bug in the parser on a hostile map) counts as no map.
        let value = parsed.ok().flatten().map(Arc::new);
        self.cache.put(key, value.clone(), cost);
        Ok(value)
    }

    /// The source map with this debug id and, for function names, the minified file with it.
    async fn files_by_debug_id(&self, project: i64, id: &str) -> Result<Option<Found>, StoreError> {
        let Some(map) = artifacts::file_by_debug_id(&self.pool, project, id, "source_map").await? else {
            return Ok(None);
        };
        let Some(map_bytes) = self.content(&map).await? else {
            return Ok(None);
        };
        let minified = match artifacts::file_by_debug_id(&self.pool, project, id, "minified_source").await? {
            Some(file) => self.content(&file).await?.map(|bytes| (file, bytes)),
            None => None,
        };
        Ok(Some((map, map_bytes, minified)))
    }

    /// The minified file uploaded for the release at the frame's URL, and the map it names
    /// (its `Sourcemap` header or `sourceMappingURL` comment), else a map at the URL + `.map`.
    async fn files_by_url(
        &self,
        project: i64,
        release: &str,
        dist: &str,
        abs_path: &str,
    ) -> Result<Option<Found>, StoreError> {
        let dist = Some(dist).filter(|d| !d.is_empty());
        let candidates = urls::candidates(abs_path);
        let minified = artifacts::file_by_url(&self.pool, project, release, dist, &candidates).await?;
        let mut map_urls: Vec<String> = candidates.iter().map(|u| format!("{u}.map")).collect();
        let mut minified_bytes = None;
        if let Some(file) = minified
            && let Some(bytes) = self.content(&file).await?
        {
            let reference = file.sourcemap.clone().or_else(|| {
                std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(urls::source_mapping_url)
                    .map(str::to_string)
            });
            if let Some(reference) = reference {
                if let Some(inline) = inline_map(&reference) {
                    let map = ArtifactFile {
                        url: file.url.clone(),
                        kind: "source_map".into(),
                        ..file.clone()
                    };
                    return Ok(Some((map, inline, Some((file, bytes)))));
                }
                map_urls.insert(0, urls::join(&file.url, &reference));
            }
            minified_bytes = Some((file, bytes));
        }
        let Some(map) = artifacts::file_by_url(&self.pool, project, release, dist, &map_urls).await? else {
            return Ok(None);
        };
        Ok(self.content(&map).await?.map(|bytes| (map, bytes, minified_bytes)))
    }

    async fn content(&self, file: &ArtifactFile) -> Result<Option<Vec<u8>>, StoreError> {
        let Some((size, compressed)) = artifacts::blob(&self.pool, &file.checksum).await? else {
            return Ok(None);
        };
        let size = usize::try_from(size).unwrap_or(0);
        Ok(zstd::bulk::decompress(&compressed, size).ok())
    }

    /// Records, at most hourly per bundle, that an event used it (retention keeps it).
    fn touch(&self, mut used: Vec<i64>) {
        used.sort_unstable();
        used.dedup();
        let due: Vec<i64> = {
            let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
            used.into_iter()
                .filter(|id| {
                    let due = touched.get(id).is_none_or(|at| at.elapsed() >= TOUCH_EVERY);
                    if due {
                        touched.insert(*id, Instant::now());
                    }
                    due
                })
                .collect()
        };
        if due.is_empty() {
            return;
        }
        let admin = self.admin.clone();
        tokio::spawn(async move {
            if let Err(e) = artifacts::touch_bundles(&admin, &due, unix_now()).await {
                tracing::warn!(error = %e, "cannot mark artifact bundles as used");
            }
        });
    }
}

/// A map file, its bytes, and the minified file with its bytes when there is one.
type Found = (ArtifactFile, Vec<u8>, Option<(ArtifactFile, Vec<u8>)>);

fn parse(
    map_file: ArtifactFile,
    bytes: Vec<u8>,
    minified: Option<(ArtifactFile, Vec<u8>)>,
    by_debug_id: bool,
) -> Option<LoadedMap> {
    let map = match sourcemap::decode_slice(&bytes).ok()? {
        sourcemap::DecodedMap::Regular(map) => map,
        sourcemap::DecodedMap::Index(index) => index.flatten().ok()?,
        sourcemap::DecodedMap::Hermes(hermes) => (*hermes).clone(),
    };
    let mut bundles = vec![map_file.bundle];
    let minified = minified.and_then(|(file, bytes)| {
        bundles.push(file.bundle);
        let text = String::from_utf8(bytes).ok()?;
        let ascii = text.is_ascii();
        Some((sourcemap::SourceView::from_string(text), ascii))
    });
    Some(LoadedMap {
        map,
        minified,
        map_url: map_file.url,
        bundles,
        by_debug_id,
    })
}

/// A `data:` URL's map (esbuild's and others' inline maps).
fn inline_map(reference: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let rest = reference.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    if meta.ends_with(";base64") {
        base64::engine::general_purpose::STANDARD.decode(data.trim()).ok()
    } else {
        Some(data.as_bytes().to_vec())
    }
}

/// The original frame for a minified one, or `None` when the map has no token there.
fn map_frame(frame: &Frame, loaded: &LoadedMap) -> Option<Frame> {
    let line = u32::try_from(frame.lineno? - 1).ok()?;
    let col = u32::try_from(frame.colno? - 1).ok()?;
    let token = loaded.map.lookup_token(line, col)?;
    let source = token.get_source()?;
    let abs_path = urls::join(&loaded.map_url, source);
    let mut out = frame.clone();
    out.filename = Some(urls::display_name(&abs_path));
    out.module = None;
    out.lineno = Some(i64::from(token.get_src_line()) + 1);
    out.colno = Some(i64::from(token.get_src_col()) + 1);
    let minified_name = frame.function.as_deref().map(|f| f.rsplit('.').next().unwrap_or(f));
    let original = match (&loaded.minified, minified_name) {
        (Some((view, true)), Some(name)) => original_function_name(&loaded.map, view, line, col, name),
        (Some((view, false)), Some(name)) => loaded.map.get_original_function_name(line, col, name, view),
        _ => None,
    };
    if let Some(name) = original {
        out.function = Some(name.to_string());
    }
    // Context from the original source; a map without sourcesContent gives none.
    let view = loaded.map.get_source_view(token.get_src_id());
    let (src_line, src_col) = (token.get_src_line(), token.get_src_col() as usize);
    out.context_line = context_line(view, src_line, src_col);
    let pre: Vec<String> = (src_line.saturating_sub(CONTEXT)..src_line)
        .filter_map(|n| context_line(view, n, src_col))
        .collect();
    let post: Vec<String> = (src_line + 1..=src_line + CONTEXT)
        .filter_map(|n| context_line(view, n, src_col))
        .collect();
    out.other.insert("pre_context".into(), json!(pre));
    out.other.insert("post_context".into(), json!(post));
    out.in_app = Some(in_app(&abs_path));
    let mut data = frame
        .other
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    data.insert("sourcemap".into(), json!(loaded.map_url));
    data.insert("symbolicated".into(), json!(true));
    data.insert(
        "resolved_with".into(),
        json!(if loaded.by_debug_id { "debug-id" } else { "release" }),
    );
    out.other.insert("data".into(), Value::Object(data));
    out.abs_path = Some(abs_path);
    Some(out)
}

/// How many tokens before a frame's the search for its function's name looks (as the sourcemap
/// crate does).
const NAME_SEARCH_TOKENS: usize = 128;

/// The original name of the function a frame is in: walking back from the frame's token, the
/// first token whose minified identifier is the frame's function name and follows the keyword
/// `function`. That is the sourcemap crate's `get_original_function_name`, which re-reads the
/// minified line from its start for every frame, a cost in the length of the line, and minified
/// bundles are often one line of hundreds of KB. Minified lines are ASCII (bundlers escape the
/// rest), where a column is a byte offset: each token's identifier is read in place. Only for a
/// minified file that is all ASCII; any other goes the crate's way.
fn original_function_name<'m>(
    map: &'m sourcemap::SourceMap,
    view: &sourcemap::SourceView,
    line: u32,
    col: u32,
    minified: &str,
) -> Option<&'m str> {
    if minified.is_empty() || !minified.bytes().all(is_ident_byte) {
        return None;
    }
    // The frame's token: the last one at or before (line, col).
    let (mut lo, mut hi) = (0usize, map.get_token_count() as usize);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let t = map.get_token(mid)?;
        if (t.get_dst_line(), t.get_dst_col()) <= (line, col) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let index = lo.checked_sub(1)?;
    let identifier = |i: usize| -> Option<&str> {
        let t = map.get_token(i)?;
        let text = view.get_line(t.get_dst_line())?;
        let rest = text.get(t.get_dst_col() as usize..)?.trim_start();
        let end = rest.bytes().position(|b| !is_ident_byte(b)).unwrap_or(rest.len());
        Some(&rest[..end])
    };
    for i in (index.saturating_sub(NAME_SEARCH_TOKENS - 1)..=index).rev() {
        if identifier(i) == Some(minified) && i.checked_sub(1).and_then(identifier) == Some("function") {
            return map.get_token(i)?.get_name();
        }
    }
    None
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Line `n` of an original source, clipped.
fn context_line(view: Option<&sourcemap::SourceView>, n: u32, col: usize) -> Option<String> {
    let view = view?;
    let line = view.get_line(n)?;
    // The "line" after a file's final newline is not one.
    if line.is_empty() && n as usize + 1 >= view.line_count() {
        return None;
    }
    Some(clip(line, col))
}

/// A line cut to at most `MAX_LINE` characters around `col`.
fn clip(line: &str, col: usize) -> String {
    if line.chars().count() <= MAX_LINE {
        return line.to_string();
    }
    let start = col.saturating_sub(MAX_LINE / 2);
    line.chars().skip(start).take(MAX_LINE).collect()
}

/// Sentry's in-app rule for JavaScript: not a dependency (`node_modules`, webpack's `~/`), not
/// the Sentry SDK, not the bundler's runtime.
fn in_app(abs_path: &str) -> bool {
    !(abs_path.contains("/node_modules/")
        || abs_path.starts_with("webpack:///~/")
        || abs_path.contains("webpack/bootstrap")
        || abs_path.starts_with("webpack:///(webpack)")
        || abs_path.contains("/@sentry/"))
}

/// Frames a map could apply to: a script, a line and a column, not mapped already.
fn mappable(frame: &Frame) -> bool {
    frame.lineno.is_some_and(|l| l > 0)
        && frame.colno.is_some_and(|c| c > 0)
        && origin(frame).is_some()
        && !frame
            .other
            .get("data")
            .and_then(|d| d.get("symbolicated"))
            .is_some_and(|s| s == &Value::Bool(true))
}

fn origin(frame: &Frame) -> Option<&str> {
    frame
        .abs_path
        .as_deref()
        .or(frame.filename.as_deref())
        .filter(|p| !p.is_empty() && *p != "<anonymous>")
}

/// `code_file` → debug id of the event's `debug_meta.images` of type `sourcemap`.
fn debug_images(event: &Event) -> HashMap<String, String> {
    let images = event
        .other
        .get("debug_meta")
        .and_then(|m| m.get("images"))
        .and_then(Value::as_array);
    images
        .into_iter()
        .flatten()
        .filter(|img| img.get("type").and_then(Value::as_str) == Some("sourcemap"))
        .filter_map(|img| {
            let file = img.get("code_file")?.as_str()?;
            let id = img.get("debug_id")?.as_str()?;
            let id = uuid::Uuid::parse_str(id).ok()?.hyphenated().to_string();
            Some((file.to_string(), id))
        })
        .collect()
}

fn stacktraces(event: &Event) -> impl Iterator<Item = &Stacktrace> {
    let exceptions = event
        .exception
        .iter()
        .flat_map(|e| e.values.iter())
        .filter_map(|e| e.stacktrace.as_ref());
    exceptions.chain(event.stacktrace.as_ref())
}

fn stacktraces_mut(event: &mut Event) -> impl Iterator<Item = &mut Stacktrace> {
    let exceptions = event
        .exception
        .iter_mut()
        .flat_map(|e| e.values.iter_mut())
        .filter_map(|e| e.stacktrace.as_mut());
    exceptions.chain(event.stacktrace.as_mut())
}

/// The minified copy kept while mapping moves beside its stack trace as `raw_stacktrace`
/// (where Sentry keeps it, on the exception or the event).
fn move_raw_stacktraces(event: &mut Event) {
    for exception in event.exception.iter_mut().flat_map(|e| e.values.iter_mut()) {
        if let Some(raw) = exception.stacktrace.as_mut().and_then(|st| st.other.remove("__raw")) {
            exception.other.insert("raw_stacktrace".into(), raw);
        }
    }
    if let Some(raw) = event.stacktrace.as_mut().and_then(|st| st.other.remove("__raw")) {
        event.other.insert("raw_stacktrace".into(), raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_and_the_sdk_are_not_in_app() {
        assert!(in_app("webpack:///./src/app.js"));
        assert!(in_app("~/src/app.js"));
        assert!(!in_app("webpack:///./node_modules/react/index.js"));
        assert!(!in_app("~/node_modules/@sentry/browser/esm/index.js"));
        assert!(!in_app("webpack:///~/lodash/index.js"));
    }

    #[test]
    fn function_names_are_found_as_the_sourcemap_crate_finds_them() {
        let mut minified = String::new();
        let mut b = sourcemap::SourceMapBuilder::new(None);
        let src = b.add_source("app.js");
        let mut frames = Vec::new();
        for i in 0..300u32 {
            let start = minified.len() as u32;
            let text = format!("function f{i}(o){{return o&&g{i}(o)}}var x{i}=1;");
            let at = |needle: &str| start + text.find(needle).unwrap() as u32;
            let mut token = |col: u32, src_col: u32, name: Option<&str>| {
                let name = name.map(|n| b.add_name(n));
                b.add_raw(0, col, i, src_col, Some(src), name, false);
            };
            token(at("function"), 0, None);
            token(at(&format!("f{i}(")), 9, Some(&format!("original{i}")));
            token(at("return"), 20, None);
            token(at(&format!("g{i}(")), 30, Some("helper"));
            token(at("var"), 40, None);
            frames.push((at(&format!("g{i}(")), format!("f{i}")));
            minified.push_str(&text);
        }
        let map = b.into_sourcemap();
        let view = sourcemap::SourceView::from_string(minified);
        for (col, name) in &frames {
            let crate_way = map.get_original_function_name(0, *col, name, &view);
            assert_eq!(original_function_name(&map, &view, 0, *col, name), crate_way);
            assert!(
                crate_way.is_some_and(|n| n.starts_with("original")),
                "{name}: {crate_way:?}"
            );
        }
        // Not a function's name, or not an identifier: none, as the crate says.
        assert_eq!(original_function_name(&map, &view, 0, frames[5].0, "zz"), None);
        assert_eq!(original_function_name(&map, &view, 0, frames[5].0, "?"), None);
    }

    #[test]
    fn inline_maps_are_read_from_their_data_url() {
        assert_eq!(inline_map("data:application/json;base64,e30=").unwrap(), b"{}");
        assert_eq!(inline_map("main.js.map"), None);
    }
}
