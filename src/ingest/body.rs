//! Reading a request body as it arrives: a cap on its size as sent, one deadline for all of it,
//! and a pump that runs each chunk through the decoders into a reader — so a request holds a
//! chunk, the decoders' buffers and what the reader keeps, never the body.

use std::time::Duration;

use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::dev::Payload;
use actix_web::web::Bytes;
use futures_util::StreamExt;
use tokio::time::Instant;

use super::IngestError;
use super::decode::{self, Decoder, human_size};
use crate::budget::{Charge, MemoryBudget};

/// Decoded bytes handed on between two yields to the other requests of the same worker, so a
/// bomb being decoded does not hold a worker for long.
const YIELD_EVERY: usize = 256 * 1024;

/// What a request holds before its decoders: the chunk being read and its bookkeeping.
pub const REQUEST_CHARGE: usize = 32 * 1024;

/// A new request's share of the memory budget, with its base taken.
pub fn request_charge(budget: &Arc<MemoryBudget>) -> Result<Arc<Charge>, IngestError> {
    let charge = Arc::new(budget.charge());
    charge.grow(REQUEST_CHARGE).map_err(decode::budget_error)?;
    Ok(charge)
}

/// A request body, read with a size cap and a deadline.
pub struct Body {
    payload: Payload,
    deadline: Instant,
    timeout: Duration,
    limit: usize,
    read: usize,
    what: &'static str,
}

impl Body {
    /// Refuses a declared `Content-Length` over `limit` before reading anything.
    pub fn new(
        payload: Payload,
        req: &HttpRequest,
        limit: usize,
        what: &'static str,
        timeout: Duration,
    ) -> Result<Body, IngestError> {
        let body = Body {
            payload,
            deadline: Instant::now() + timeout,
            timeout,
            limit,
            read: 0,
            what,
        };
        let declared = req
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        if declared.is_some_and(|len| len > limit) {
            return Err(body.too_large());
        }
        Ok(body)
    }

    fn too_large(&self) -> IngestError {
        IngestError::TooLarge(format!("the {} exceeds {} as sent", self.what, human_size(self.limit)))
    }

    /// The next chunk, `None` at the end. A client trickling a byte at a time (slow loris) is
    /// cut off at the deadline instead of holding a connection and its buffers for ever.
    pub async fn next(&mut self) -> Result<Option<Bytes>, IngestError> {
        let chunk = match tokio::time::timeout_at(self.deadline, self.payload.next()).await {
            Err(_) => return Err(IngestError::BodyTimeout(self.timeout.as_secs_f64())),
            Ok(None) => return Ok(None),
            Ok(Some(chunk)) => chunk.map_err(|e| IngestError::BodyRead(e.to_string()))?,
        };
        self.read += chunk.len();
        if self.read > self.limit {
            return Err(self.too_large());
        }
        Ok(Some(chunk))
    }

    /// Runs `handle` on this body; when it refuses the request, reads and discards the rest
    /// (within the cap and the deadline, holding nothing) so the client, which may still be
    /// sending, reads the refusal instead of a reset connection.
    pub async fn handle<T>(
        mut self,
        handle: impl AsyncFnOnce(&mut Body) -> Result<T, IngestError>,
    ) -> Result<T, IngestError> {
        let result = handle(&mut self).await;
        if result.is_err() {
            while let Ok(Some(_)) = self.next().await {}
        }
        result
    }
}

/// What decoded bytes are fed to.
pub trait Sink {
    /// Takes bytes; returns how many (fewer than offered only when it pauses).
    fn feed(&mut self, data: &[u8]) -> Result<usize, IngestError>;
    /// Whether the sink paused for its owner to act before it is fed again.
    fn paused(&self) -> bool;
}

/// Whether [`Pump::run`] stopped because the sink paused or because the body was read.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    Paused,
    Done,
}

/// Moves a body through its decoders into a sink, a chunk at a time.
pub struct Pump<'a> {
    body: &'a mut Body,
    decoder: Decoder,
    chunk: Bytes,
    pos: usize,
    eof: bool,
    since_yield: usize,
}

impl<'a> Pump<'a> {
    pub fn new(body: &'a mut Body, decoder: Decoder) -> Pump<'a> {
        Pump {
            body,
            decoder,
            chunk: Bytes::new(),
            pos: 0,
            eof: false,
            since_yield: 0,
        }
    }

    /// Feeds the sink until it pauses or the body and the decoders are done.
    pub async fn run(&mut self, sink: &mut dyn Sink) -> Result<Progress, IngestError> {
        loop {
            while !self.decoder.ready().is_empty() {
                let n = sink.feed(self.decoder.ready())?;
                self.decoder.consume(n);
                self.since_yield += n;
                if sink.paused() {
                    return Ok(Progress::Paused);
                }
            }
            if self.since_yield >= YIELD_EVERY {
                self.since_yield = 0;
                tokio::task::yield_now().await;
            }
            if self.eof {
                if self.decoder.flush()? {
                    continue;
                }
                return Ok(Progress::Done);
            }
            if self.pos < self.chunk.len() {
                let n = self.decoder.pump(&self.chunk[self.pos..])?;
                self.pos += n;
                if n == 0 && self.decoder.ready().is_empty() {
                    return Err(IngestError::BadEncoding(format!(
                        "the {} cannot be decoded past byte {}",
                        self.body.what, self.body.read
                    )));
                }
                continue;
            }
            match self.body.next().await? {
                Some(chunk) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                None => self.eof = true,
            }
        }
    }
}

/// A whole decoded body (a `/store/` event, an API or form body), charged as it grows.
struct Collect {
    data: Vec<u8>,
    charge: Arc<Charge>,
}

impl Sink for Collect {
    fn feed(&mut self, bytes: &[u8]) -> Result<usize, IngestError> {
        // The decoder's cap bounds the body; the buffer may double past what it will hold.
        self.charge
            .append(&mut self.data, bytes, usize::MAX)
            .map_err(decode::budget_error)?;
        Ok(bytes.len())
    }

    fn paused(&self) -> bool {
        false
    }
}

/// How the UI and the API read their (small) bodies: like ingest's, decoded as they arrive,
/// capped, timed and charged to the memory budget. Registered as app data.
pub struct SmallBodies {
    pub budget: Arc<MemoryBudget>,
    pub timeout: Duration,
}

/// Reads a whole small body (a form, an API request's JSON) of at most `limit` bytes, as sent
/// and decoded, with any Content-Encoding ingest takes.
pub async fn read_small(req: &HttpRequest, payload: Payload, limit: usize) -> Result<Vec<u8>, IngestError> {
    let Some(bodies) = req.app_data::<actix_web::web::Data<SmallBodies>>() else {
        return Err(IngestError::Unavailable("request bodies are not configured".into()));
    };
    let encoding = req.headers().get("content-encoding").and_then(|v| v.to_str().ok());
    Body::new(payload, req, limit, "request body", bodies.timeout)?
        .handle(async |body| {
            let encodings = decode::content_encodings(encoding)?;
            let charge = request_charge(&bodies.budget)?;
            collect(body, &encodings, limit, "request body", &charge).await
        })
        .await
}

/// Reads a whole body through its decoders (each stage's output capped at `limit`), charging
/// what it holds to `charge`.
pub async fn collect(
    body: &mut Body,
    encodings: &[decode::Encoding],
    limit: usize,
    what: &'static str,
    charge: &Arc<Charge>,
) -> Result<Vec<u8>, IngestError> {
    let decoder = Decoder::new(encodings, limit, what, charge)?;
    let mut sink = Collect {
        data: Vec::new(),
        charge: charge.clone(),
    };
    Pump::new(body, decoder).run(&mut sink).await?;
    Ok(sink.data)
}
