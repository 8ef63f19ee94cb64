//! Reading a request body as it arrives: a cap on its size as sent, one deadline for all of it,
//! and a pump that runs each chunk through the decoders into a reader — so a request holds a
//! chunk, the decoders' buffers and what the reader keeps, never the body.

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::web::{self, Bytes};
use futures_util::StreamExt;
use tokio::time::Instant;

use super::IngestError;
use super::decode::{Decoder, human_size};

/// Decoded bytes handed on between two yields to the other requests of the same worker, so a
/// bomb being decoded does not hold a worker for long.
const YIELD_EVERY: usize = 256 * 1024;

/// A request body, read with a size cap and a deadline.
pub struct Body {
    payload: web::Payload,
    deadline: Instant,
    timeout: Duration,
    limit: usize,
    read: usize,
    what: &'static str,
}

impl Body {
    /// Refuses a declared `Content-Length` over `limit` before reading anything.
    pub fn new(
        payload: web::Payload,
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

    /// Reads and discards the rest (within the cap and the deadline) so the client, which is
    /// still sending, reads our answer instead of a reset connection. Holds nothing.
    pub async fn discard(&mut self) {
        while let Ok(Some(_)) = self.next().await {}
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
