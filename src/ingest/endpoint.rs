//! The `/envelope/` and `/store/` handlers.

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde_json::{Value, json};

use super::body::{Body, Progress, Pump, REQUEST_CHARGE, Sink, collect, request_charge};
use super::decode::{self, Decoder, human_size};
use super::envelope::{Envelope, EnvelopeError, Item, Keep, Reader};
use super::{IngestError, IngestState, MAX_ENVELOPE_COMPRESSED, MAX_ENVELOPE_DECODED, MAX_EVENT, auth, cors};
use crate::budget::{Charge, json_cost};
use crate::event::codec::Codec;
use crate::event::scrub::ScrubConfig;
use crate::event::{self, EventId, NormalizeInput};
use crate::grouping::{self, ProjectRules};
use crate::sourcemaps::Symbolicator;
use crate::store::writer::{SubmitError, WriteError};
use crate::store::{EventRow, IssueFacts, KeyOwner};

/// Bodies or events above this size are decoded on the blocking pool, not on the I/O worker.
const INLINE_CPU_LIMIT: usize = 256 * 1024;
/// A base64 `/store/` body of a 1 MiB event is 4/3 of it; the event itself is checked after.
const MAX_STORE_DECODED: usize = 2 * MAX_EVENT;

/// `POST /api/{project_id}/envelope/`
#[tracing::instrument(skip_all, fields(project_id = %path.as_str(), event_id = tracing::field::Empty))]
pub async fn envelope(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, IngestError> {
    counted(&state, envelope_inner(&req, &path, payload, &state).await)
}

/// `POST /api/{project_id}/store/`
#[tracing::instrument(skip_all, fields(project_id = %path.as_str(), event_id = tracing::field::Empty))]
pub async fn store(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, IngestError> {
    // Relay parses a /store/ body sent as an envelope as one; so do we.
    let is_envelope = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim().starts_with("application/x-sentry-envelope"));
    let result = if is_envelope {
        envelope_inner(&req, &path, payload, &state).await
    } else {
        store_inner(&req, &path, payload, &state).await
    };
    counted(&state, result)
}

/// `POST /api/{project_id}/security/?sentry_key=…`: browsers' CSP, Expect-CT and HPKP reports.
#[tracing::instrument(skip_all, fields(project_id = %path.as_str(), event_id = tracing::field::Empty))]
pub async fn security(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, IngestError> {
    counted(&state, security_inner(&req, &path, payload, &state).await)
}

/// A browser's reports are small; the Reporting API batches a few.
const MAX_SECURITY_BODY: usize = 256 * 1024;

async fn security_inner(
    req: &HttpRequest,
    path: &str,
    payload: web::Payload,
    state: &IngestState,
) -> Result<HttpResponse, IngestError> {
    let project_id = project_id(path)?;
    state.disk.check()?;
    Body::new(
        payload.into_inner(),
        req,
        MAX_SECURITY_BODY,
        "security report",
        state.body_timeout,
    )?
    .handle(async |body| {
        let auth = auth::from_request(req)?.ok_or(IngestError::MissingAuth)?;
        let owner = authorize(state, &auth.key, project_id).await?;
        admit(state, &owner).await?;
        let encodings = decode::content_encodings(header(req, "content-encoding"))?;
        let charge = request_charge(&state.budget)?;
        let data = collect(body, &encodings, MAX_SECURITY_BODY, "security report", &charge).await?;
        let mut first = None;
        for json in super::security::events(&data)? {
            let id = accept_event(req, state, &owner, json, None, &charge).await?;
            first.get_or_insert(id);
        }
        Ok(success(first))
    })
    .await
}

/// Any other method on an ingest route.
pub async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let detail = format!("method {} is not allowed here; SDKs POST events", req.method());
    let mut resp = HttpResponse::MethodNotAllowed();
    cors::add_headers(&mut resp);
    // Like every other refusal: the detail in the body and in `X-Sentry-Error`.
    resp.insert_header(("Allow", "POST, OPTIONS"))
        .insert_header(("X-Sentry-Error", detail.as_str()))
        .json(json!({ "detail": detail }))
}

fn counted(state: &IngestState, result: Result<HttpResponse, IngestError>) -> Result<HttpResponse, IngestError> {
    if let Err(err) = &result {
        state.metrics.rejected(err.status_code().as_u16());
    }
    result
}

async fn envelope_inner(
    req: &HttpRequest,
    path: &str,
    payload: web::Payload,
    state: &IngestState,
) -> Result<HttpResponse, IngestError> {
    let project_id = project_id(path)?;
    state.disk.check()?;
    Body::new(
        payload.into_inner(),
        req,
        MAX_ENVELOPE_COMPRESSED,
        "envelope",
        state.body_timeout,
    )?
    .handle(async |body| envelope_body(req, project_id, body, state).await)
    .await
}

/// Reads the envelope as it arrives: credentials from the headers before the body, or from the
/// envelope's `dsn` before anything past its first line.
async fn envelope_body(
    req: &HttpRequest,
    project_id: i64,
    body: &mut Body,
    state: &IngestState,
) -> Result<HttpResponse, IngestError> {
    let header_owner = match auth::from_request(req)? {
        Some(auth) => Some(authorize(state, &auth.key, project_id).await?),
        None => None,
    };
    let encodings = decode::content_encodings(header(req, "content-encoding"))?;
    let charge = request_charge(&state.budget)?;
    let decoder = Decoder::new(&encodings, MAX_ENVELOPE_DECODED, "envelope", &charge)?;
    let mut pump = Pump::new(body, decoder);
    let mut sink = EnvelopeSink {
        reader: Reader::new(charge.clone()),
        metrics: &state.metrics,
    };
    let mut owner = None;
    while pump.run(&mut sink).await? == Progress::Paused {
        let headers = sink.reader.headers().expect("the reader pauses after the header line");
        owner = Some(envelope_owner(state, headers, project_id, header_owner.clone()).await?);
        sink.reader.resume();
    }
    drop(pump);
    let mut envelope = sink.finish()?;
    // An envelope without a newline after its header line is only complete now.
    let owner = match owner {
        Some(owner) => owner,
        None => envelope_owner(state, &envelope.headers, project_id, header_owner).await?,
    };
    let envelope_event_id = match envelope.headers.get("event_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            EventId::parse(s)
                .ok_or_else(|| IngestError::BadEnvelope(format!("invalid event_id {s:?} in the header")))?,
        ),
        Some(other) => {
            return Err(IngestError::BadEnvelope(format!(
                "invalid event_id {other} in the header"
            )));
        }
    };

    let mut event_payload = None;
    let mut feedback = Vec::new();
    for item in &mut envelope.items {
        if item.ty == "event" {
            event_payload = Some(std::mem::take(&mut item.payload));
        } else {
            let cost = json_cost(&item.payload);
            charge.grow(cost).map_err(decode::budget_error)?;
            feedback.push(super::feedback::parse(
                &item.ty,
                &item.payload,
                project_id,
                envelope_event_id,
            )?);
            charge.shrink(cost);
        }
    }
    drop(envelope);
    // Feedback is checked before anything is stored, and stored after the event it names.
    let Some(event_payload) = event_payload else {
        store_feedback(state, feedback).await?;
        return Ok(success(None));
    };
    admit(state, &owner).await?;
    let id = accept_event(req, state, &owner, event_payload, envelope_event_id, &charge).await?;
    store_feedback(state, feedback).await?;
    Ok(success(Some(id)))
}

/// Who sent the envelope: the header credentials' owner, else the key of its `dsn`. A `dsn` must
/// name the project of the URL even when other credentials came along (Relay rejects the
/// mismatch too).
async fn envelope_owner(
    state: &IngestState,
    headers: &serde_json::Map<String, Value>,
    project_id: i64,
    owner: Option<KeyOwner>,
) -> Result<KeyOwner, IngestError> {
    let dsn_key = dsn_key(headers, project_id)?;
    match (owner, dsn_key) {
        (Some(owner), _) => Ok(owner),
        (None, Some(key)) => authorize(state, &key, project_id).await,
        (None, None) => Err(IngestError::MissingAuth),
    }
}

/// The envelope reader with what it keeps: the event (one) and feedback, each up to 1 MiB.
struct EnvelopeSink<'a> {
    reader: Reader,
    metrics: &'a crate::metrics::Metrics,
}

impl EnvelopeSink<'_> {
    fn keep(metrics: &crate::metrics::Metrics) -> impl FnMut(&str, &[Item]) -> Keep {
        move |ty, kept| match ty {
            "event" if kept.iter().any(|item| item.ty == "event") => Keep::Refuse("more than one event item"),
            "event" | "user_report" | "feedback" => Keep::UpTo(MAX_EVENT),
            other => {
                metrics.item_dropped(other);
                Keep::Skip
            }
        }
    }

    fn finish(self) -> Result<Envelope, IngestError> {
        self.reader
            .finish(&mut Self::keep(self.metrics))
            .map_err(envelope_error)
    }
}

impl Sink for EnvelopeSink<'_> {
    fn feed(&mut self, data: &[u8]) -> Result<usize, IngestError> {
        self.reader
            .feed(data, &mut Self::keep(self.metrics))
            .map_err(envelope_error)
    }

    fn paused(&self) -> bool {
        self.reader.paused()
    }
}

fn envelope_error(err: EnvelopeError) -> IngestError {
    match err {
        EnvelopeError::Malformed(msg) => IngestError::BadEnvelope(msg),
        EnvelopeError::TooLarge(msg) => IngestError::TooLarge(msg),
        EnvelopeError::Budget(over) => decode::budget_error(over),
    }
}

async fn store_feedback(state: &IngestState, rows: Vec<crate::store::FeedbackRow>) -> Result<(), IngestError> {
    for row in rows {
        state.writer.feedback(row).await.map_err(|e| match e {
            WriteError::Submit(SubmitError::Full) => IngestError::QueueFull,
            other => IngestError::Unavailable(other.to_string()),
        })?;
    }
    Ok(())
}

async fn store_inner(
    req: &HttpRequest,
    path: &str,
    payload: web::Payload,
    state: &IngestState,
) -> Result<HttpResponse, IngestError> {
    let project_id = project_id(path)?;
    state.disk.check()?;
    Body::new(
        payload.into_inner(),
        req,
        MAX_ENVELOPE_COMPRESSED,
        "store request",
        state.body_timeout,
    )?
    .handle(async |body| store_body(req, project_id, body, state).await)
    .await
}

async fn store_body(
    req: &HttpRequest,
    project_id: i64,
    body: &mut Body,
    state: &IngestState,
) -> Result<HttpResponse, IngestError> {
    let auth = auth::from_request(req)?.ok_or(IngestError::MissingAuth)?;
    let owner = authorize(state, &auth.key, project_id).await?;
    admit(state, &owner).await?;
    let encodings = decode::content_encodings(header(req, "content-encoding"))?;
    let charge = request_charge(&state.budget)?;
    let data = collect(body, &encodings, MAX_STORE_DECODED, "store request", &charge).await?;
    let json = decode::store_body_charged(data, MAX_EVENT, &charge)?;
    if json.len() > MAX_EVENT {
        return Err(IngestError::TooLarge(format!(
            "the event exceeds {}",
            human_size(MAX_EVENT)
        )));
    }
    let id = accept_event(req, state, &owner, json, None, &charge).await?;
    Ok(success(Some(id)))
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn project_id(path: &str) -> Result<i64, IngestError> {
    path.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| IngestError::BadProjectPath(path.to_string()))
}

/// The key must exist, be active, and belong to the project in the URL.
async fn authorize(state: &IngestState, key: &str, project_id: i64) -> Result<KeyOwner, IngestError> {
    if key.len() > auth::MAX_KEY_LEN {
        return Err(IngestError::UnknownKey);
    }
    let owner = state
        .keys
        .lookup(key)
        .await
        .map_err(|e| IngestError::Unavailable(e.to_string()))?;
    match owner {
        None => Err(IngestError::UnknownKey),
        Some(owner) if !owner.is_active => Err(IngestError::DisabledKey),
        Some(owner) if owner.project_id != project_id => Err(IngestError::WrongProject {
            key_project: owner.project_id,
            url_project: project_id,
        }),
        Some(owner) => Ok(owner),
    }
}

/// The rate limits: one more event for the key's project, or 429. Checked before the event is
/// parsed, so a flood costs no more than its bytes.
async fn admit(state: &IngestState, owner: &KeyOwner) -> Result<(), IngestError> {
    state.metrics.event_received(owner.project_id);
    state
        .quotas
        .admit(owner.project_id, owner.rate_limit_per_minute, event::unix_now())
        .await
        .map_err(|refused| {
            state.metrics.event_refused(owner.project_id, refused.reason.as_str());
            IngestError::RateLimited(refused)
        })
}

/// The key of the envelope's `dsn` header (JS with a tunnel, Rust on request), after checking
/// that the DSN names the project of the URL.
fn dsn_key(headers: &serde_json::Map<String, Value>, project_id: i64) -> Result<Option<String>, IngestError> {
    let Some(dsn) = headers.get("dsn").and_then(Value::as_str) else {
        return Ok(None);
    };
    let (key, dsn_project) = auth::parse_dsn(dsn)
        .ok_or_else(|| IngestError::BadAuthHeader(format!("the envelope's dsn {dsn:?} is not a DSN")))?;
    if dsn_project != project_id.to_string() {
        return Err(IngestError::DsnProjectMismatch {
            dsn_project,
            url_project: project_id,
        });
    }
    Ok(Some(key))
}

/// Parses, normalises and compresses one event, then waits until the writer has committed it.
async fn accept_event(
    req: &HttpRequest,
    state: &IngestState,
    owner: &KeyOwner,
    payload: Vec<u8>,
    envelope_event_id: Option<EventId>,
    charge: &Charge,
) -> Result<EventId, IngestError> {
    let project_id = owner.project_id;
    let result = prepare_and_write(req, state, owner, payload, envelope_event_id, charge).await;
    if let Err(err) = &result {
        let reason = match err {
            IngestError::QueueFull => "queue_full",
            IngestError::Unavailable(_) => "unavailable",
            IngestError::MemoryBusy => "memory_busy",
            _ => "invalid",
        };
        state.metrics.event_refused(project_id, reason);
    }
    result
}

async fn prepare_and_write(
    req: &HttpRequest,
    state: &IngestState,
    owner: &KeyOwner,
    payload: Vec<u8>,
    envelope_event_id: Option<EventId>,
    charge: &Charge,
) -> Result<EventId, IngestError> {
    let project_id = owner.project_id;
    // Parsing builds a tree many times the JSON's size: it is charged before it is built.
    charge.grow(json_cost(&payload)).map_err(decode::budget_error)?;
    // A project that stores no IP addresses does not get the peer's either.
    let client_ip = client_ip(req, state.trust_forwarded_for).filter(|_| !owner.scrub.scrub_ip_addresses);
    let (codec, scrub, rules) = (state.codec.clone(), owner.scrub.clone(), owner.grouping.clone());
    let size = payload.len();
    let rules_later = rules.clone();
    let prepared = off_thread(size, move || {
        let event = normalized(&scrub, &payload, envelope_event_id, client_ip.as_deref())?;
        // Most events are done in one go; a JavaScript event with frames a source map could
        // apply to comes back out for the (async) map look-up first.
        if Symbolicator::wants(&event) {
            return Ok(Prepared::NeedsMaps(Box::new(event)));
        }
        prepare(&codec, project_id, &rules, event).map(Prepared::Done)
    })
    .await?;
    let (row, tags_dropped) = match prepared {
        Prepared::Done(done) => done,
        Prepared::NeedsMaps(mut event) => {
            let report = state.symbolicator.apply(project_id, &mut event).await;
            state.metrics.symbolicated(report.candidates, report.mapped);
            let codec = state.codec.clone();
            off_thread(size, move || prepare(&codec, project_id, &rules_later, *event)).await?
        }
    };
    // While it waits for the writer, the request holds only the row.
    charge
        .set(REQUEST_CHARGE + row.payload.len())
        .map_err(decode::budget_error)?;
    state.metrics.tags_dropped(tags_dropped);
    let event_id = EventId::parse(&row.event_id).ok_or_else(|| IngestError::Unavailable("lost the event id".into()))?;
    tracing::Span::current().record("event_id", row.event_id.as_str());
    let outcome = state.writer.write(row).await.map_err(|e| match e {
        WriteError::Submit(SubmitError::Full) => IngestError::QueueFull,
        WriteError::Submit(SubmitError::Closed) => IngestError::Unavailable("the server is shutting down".into()),
        WriteError::Store(err) => IngestError::Unavailable(err.to_string()),
    })?;
    if outcome.project_gone {
        return Err(IngestError::UnknownKey);
    }
    state
        .metrics
        .event_stored(project_id, outcome.inserted, outcome.new_issue);
    if !outcome.inserted {
        tracing::debug!(%event_id, "duplicate event id; stored once");
    }
    Ok(event_id)
}

/// The address `{{auto}}` stands for.
fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> Option<String> {
    crate::http::client_ip(req, trust_forwarded_for).map(|ip| ip.to_string())
}

/// An event after the first CPU step: done, or waiting for its source maps.
// It lives for one step on the stack; boxing the common case would allocate for every event.
#[allow(clippy::large_enum_variant)]
enum Prepared {
    Done((EventRow, usize)),
    NeedsMaps(Box<event::Event>),
}

/// The first CPU part of accepting an event: JSON → scrubbed, normalised model.
fn normalized(
    scrub: &ScrubConfig,
    payload: &[u8],
    envelope_event_id: Option<EventId>,
    client_ip: Option<&str>,
) -> Result<event::Event, IngestError> {
    let mut raw = event::parse_lenient(payload).map_err(|e| IngestError::BadJson(e.to_string()))?;
    // Before anything else reads it: no secret reaches tags, grouping or the database.
    event::scrub::scrub(&mut raw, scrub);
    let input = NormalizeInput {
        envelope_event_id,
        client_ip,
        received: event::unix_now(),
    };
    event::normalize(raw, &input).map_err(|e| IngestError::BadEvent(e.to_string()))
}

/// The second CPU part: grouping and tags → compressed row. Also returns how many tags broke a
/// limit and were dropped.
fn prepare(
    codec: &Codec,
    project_id: i64,
    rules: &ProjectRules,
    mut event: event::Event,
) -> Result<(EventRow, usize), IngestError> {
    // JavaScript processing that Sentry does before grouping (after source maps).
    crate::sourcemaps::generate_modules(&mut event);
    let grouping = grouping::calculate_with(&event, rules);
    let top_frames = grouping::top_frames(&event, 5);

    let tags = event::tags::extract(&event);
    let json = serde_json::to_vec(&event).map_err(|e| IngestError::BadEvent(format!("cannot serialise event: {e}")))?;
    let (payload, dict_id) = codec
        .compress(project_id, &json)
        .map_err(|e| IngestError::Unavailable(format!("compression failed: {e}")))?;
    let row = EventRow {
        project_id,
        event_id: event.event_id.to_string(),
        timestamp: event.timestamp,
        received: event.received,
        level: event.level.as_str(),
        user_key: event::tags::user_key(&event),
        platform: event.platform,
        release: event.release,
        environment: event.environment,
        tags: tags.pairs,
        issue: IssueFacts {
            grouping_config: grouping.config,
            secondary: grouping.secondary_hashes.len(),
            hashes: grouping.hashes.into_iter().chain(grouping.secondary_hashes).collect(),
            title: grouping.title,
            culprit: grouping.culprit,
            ty: grouping.metadata.ty,
            value: grouping.metadata.value,
            top_frames,
        },
        payload,
        dict_id,
    };
    Ok((row, tags.dropped))
}

/// Runs `f` inline for small inputs and on the blocking pool for large ones, so one big
/// decompression does not stall every request on the same I/O worker.
async fn off_thread<T: Send + 'static>(
    size: usize,
    f: impl FnOnce() -> Result<T, IngestError> + Send + 'static,
) -> Result<T, IngestError> {
    if size <= INLINE_CPU_LIMIT {
        return f();
    }
    web::block(f)
        .await
        .map_err(|_| IngestError::Unavailable("the decoding worker failed".into()))?
}

fn success(id: Option<EventId>) -> HttpResponse {
    let mut resp = HttpResponse::Ok();
    cors::add_headers(&mut resp);
    resp.insert_header(("X-Sentry-Rate-Limits", super::DROPPED_CATEGORIES));
    match id {
        Some(id) => resp.json(json!({ "id": id })),
        None => resp.json(json!({})),
    }
}
