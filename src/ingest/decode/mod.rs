//! Request body decoding as a stream: each Content-Encoding is a [`Stage`] that turns the bytes
//! it is given into at most one small buffer of output at a time, and the stages are chained in
//! the order they must be undone. Nothing is ever inflated whole: a 10 GB gzip bomb costs one
//! 32 KiB buffer per stage and stops at the cap, and what each decoder allocates (a brotli or
//! zstd window) is charged to the request's share of the memory budget first.

mod brotli;
mod inflate;
mod zstd;

use std::sync::Arc;

use base64::Engine;

use super::IngestError;
use crate::budget::{Charge, MemoryBudget, OverBudget};

/// Output buffered between two stages (and before the envelope reader).
const BUFFER: usize = 32 * 1024;

/// A Content-Encoding we can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    /// zlib-wrapped (RFC 1950, what raven sends) or raw deflate, told apart by sniffing.
    Deflate,
    Brotli,
    Zstd,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Brotli => "brotli",
            Encoding::Zstd => "zstd",
        }
    }
}

/// Reads `Content-Encoding`. Empty, `identity` and `utf-8` (sentry-java sends that) mean none.
/// Stacked encodings (`gzip, br`) are returned in the order they must be undone.
pub fn content_encodings(header: Option<&str>) -> Result<Vec<Encoding>, IngestError> {
    let Some(header) = header else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    for token in header.split(',').rev() {
        let token = token.trim().to_ascii_lowercase();
        let encoding = match token.as_str() {
            "" | "identity" | "utf-8" | "utf8" => continue,
            "gzip" | "x-gzip" => Encoding::Gzip,
            "deflate" => Encoding::Deflate,
            "br" => Encoding::Brotli,
            "zstd" => Encoding::Zstd,
            _ => return Err(IngestError::UnsupportedEncoding(token)),
        };
        out.push(encoding);
    }
    // Each stage costs a decoder; no client stacks more than two.
    if out.len() > 4 {
        return Err(IngestError::BadEncoding(format!(
            "{} stacked Content-Encodings; at most 4 are undone",
            out.len()
        )));
    }
    Ok(out)
}

/// Why a stage stopped.
#[derive(Debug)]
pub enum StageError {
    /// The data is not valid for this encoding.
    Invalid(String),
    /// The decoder needs memory the budget cannot give now (or ever, for one request).
    Budget(OverBudget),
}

impl From<OverBudget> for StageError {
    fn from(over: OverBudget) -> Self {
        StageError::Budget(over)
    }
}

/// One decoder, fed and drained in steps.
trait Stage: Send {
    /// Decodes from `input` into `output`; returns the bytes consumed and produced. Given input
    /// and output space, it makes progress or fails. Bytes after the end of the stream are
    /// consumed and ignored.
    fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), StageError>;
    /// The input ended: whether the stream was complete.
    fn finish(&mut self) -> Result<(), StageError>;
}

/// No encoding: copies.
struct Identity;

impl Stage for Identity {
    fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), StageError> {
        let n = input.len().min(output.len());
        output[..n].copy_from_slice(&input[..n]);
        Ok((n, n))
    }

    fn finish(&mut self) -> Result<(), StageError> {
        Ok(())
    }
}

struct Buffer {
    data: Box<[u8]>,
    lo: usize,
    hi: usize,
}

/// The stages of one body, with the size cap applied to every stage's output.
pub struct Decoder {
    stages: Vec<Box<dyn Stage>>,
    names: Vec<&'static str>,
    buffers: Vec<Buffer>,
    produced: Vec<usize>,
    limit: usize,
    what: &'static str,
}

/// Bytes charged for a stage's buffer and bookkeeping, before its decoder's own state.
const STAGE_CHARGE: usize = BUFFER + 1024;

impl Decoder {
    /// A decoder that undoes `encodings` (none: copies), each stage's output capped at `limit`.
    pub fn new(
        encodings: &[Encoding],
        limit: usize,
        what: &'static str,
        charge: &Arc<Charge>,
    ) -> Result<Decoder, IngestError> {
        let mut stages: Vec<Box<dyn Stage>> = Vec::new();
        let mut names = Vec::new();
        if encodings.is_empty() {
            charge.grow(STAGE_CHARGE).map_err(budget_error)?;
            stages.push(Box::new(Identity));
            names.push("identity");
        }
        for &encoding in encodings {
            charge.grow(STAGE_CHARGE).map_err(budget_error)?;
            let stage: Box<dyn Stage> = match encoding {
                Encoding::Gzip => Box::new(inflate::Gzip::new(charge)?),
                Encoding::Deflate => Box::new(inflate::Deflate::new(charge)?),
                Encoding::Brotli => Box::new(brotli::Brotli::new(charge)),
                Encoding::Zstd => Box::new(zstd::Zstd::new(charge.clone())),
            };
            stages.push(stage);
            names.push(encoding.name());
        }
        let buffers = stages
            .iter()
            .map(|_| Buffer {
                data: vec![0; BUFFER].into_boxed_slice(),
                lo: 0,
                hi: 0,
            })
            .collect();
        let produced = vec![0; stages.len()];
        Ok(Decoder {
            stages,
            names,
            buffers,
            produced,
            limit,
            what,
        })
    }

    /// Decoded bytes ready to be read.
    pub fn ready(&self) -> &[u8] {
        let last = self.buffers.last().expect("a decoder has a stage");
        &last.data[last.lo..last.hi]
    }

    /// Marks `n` ready bytes as read.
    pub fn consume(&mut self, n: usize) {
        let last = self.buffers.last_mut().expect("a decoder has a stage");
        last.lo = (last.lo + n).min(last.hi);
    }

    /// Runs the stages on `input` until decoded bytes are ready or nothing moves; returns how
    /// much of `input` was consumed. Call again after reading what is ready.
    pub fn pump(&mut self, mut input: &[u8]) -> Result<usize, IngestError> {
        let total = input.len();
        loop {
            if !self.ready().is_empty() {
                break;
            }
            let mut moved = false;
            for i in 0..self.stages.len() {
                let (before, rest) = self.buffers.split_at_mut(i);
                let out = &mut rest[0];
                if out.lo == out.hi {
                    out.lo = 0;
                    out.hi = 0;
                }
                if out.hi == out.data.len() {
                    continue;
                }
                let src: &[u8] = match before.last() {
                    None => input,
                    Some(prev) => &prev.data[prev.lo..prev.hi],
                };
                let (consumed, produced) = self.stages[i]
                    .run(src, &mut out.data[out.hi..])
                    .map_err(|e| stage_error(e, self.names[i], self.what))?;
                out.hi += produced;
                self.produced[i] += produced;
                if self.produced[i] > self.limit {
                    return Err(too_large(self.what, self.limit));
                }
                match before.last_mut() {
                    None => input = &input[consumed..],
                    Some(prev) => prev.lo += consumed,
                }
                moved |= consumed > 0 || produced > 0;
            }
            if !moved {
                break;
            }
        }
        Ok(total - input.len())
    }

    /// The body ended: flushes what the stages still hold (call [`Decoder::ready`] after each
    /// call until it returns `false`), then checks each stream was complete.
    pub fn flush(&mut self) -> Result<bool, IngestError> {
        self.pump(&[])?;
        if !self.ready().is_empty() {
            return Ok(true);
        }
        for (i, stage) in self.stages.iter_mut().enumerate() {
            stage.finish().map_err(|e| stage_error(e, self.names[i], self.what))?;
        }
        Ok(false)
    }
}

fn stage_error(err: StageError, encoding: &str, what: &str) -> IngestError {
    match err {
        StageError::Invalid(msg) => bad(encoding, what, &msg),
        StageError::Budget(over) => budget_error(over),
    }
}

/// The refusal for a charge the budget cannot take.
pub fn budget_error(over: OverBudget) -> IngestError {
    match over {
        OverBudget::Busy => IngestError::MemoryBusy,
        OverBudget::TooLarge => IngestError::TooLarge(
            "this request would need more memory than the server gives one request (half of request_memory)".into(),
        ),
    }
}

/// Undoes `encodings` on a whole body in memory; the result may be at most `limit` bytes.
/// For tests, benchmarks and fuzzing: the server decodes as the body arrives.
pub fn decode_all(
    body: Vec<u8>,
    encodings: &[Encoding],
    limit: usize,
    what: &'static str,
) -> Result<Vec<u8>, IngestError> {
    let charge = Arc::new(MemoryBudget::new(usize::MAX).charge());
    decode_slice(&body, encodings, limit, what, &charge)
}

/// Undoes one encoding on a slice, reading at most `limit + 1` bytes of output.
pub fn decode(data: &[u8], encoding: Encoding, limit: usize, what: &'static str) -> Result<Vec<u8>, IngestError> {
    decode_all(data.to_vec(), &[encoding], limit, what)
}

fn decode_slice(
    body: &[u8],
    encodings: &[Encoding],
    limit: usize,
    what: &'static str,
    charge: &Arc<Charge>,
) -> Result<Vec<u8>, IngestError> {
    let mut decoder = Decoder::new(encodings, limit, what, charge)?;
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        pos += decoder.pump(&body[pos..])?;
        let ready = decoder.ready();
        if ready.is_empty() && pos == body.len() {
            break;
        }
        if ready.is_empty() {
            return Err(bad(encodings[0].name(), what, "the decoder stopped"));
        }
        charge.grow(ready.len()).map_err(budget_error)?;
        out.extend_from_slice(ready);
        let n = ready.len();
        decoder.consume(n);
    }
    while decoder.flush()? {
        let n = decoder.ready().len();
        charge.grow(n).map_err(budget_error)?;
        out.extend_from_slice(decoder.ready());
        decoder.consume(n);
    }
    if out.len() > limit {
        return Err(too_large(what, limit));
    }
    Ok(out)
}

fn bad(encoding: &str, what: &str, err: &str) -> IngestError {
    IngestError::BadEncoding(format!("the {what} is not valid {encoding} data: {err}"))
}

pub fn too_large(what: &str, limit: usize) -> IngestError {
    IngestError::TooLarge(format!("the {what} exceeds {} once decompressed", human_size(limit)))
}

pub fn human_size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// The legacy `/store/` body after Content-Encoding: JSON, or base64 of JSON, or base64 of
/// zlib-compressed JSON (very old clients, sent without any Content-Encoding).
pub fn store_body(data: Vec<u8>, limit: usize) -> Result<Vec<u8>, IngestError> {
    let charge = Arc::new(MemoryBudget::new(usize::MAX).charge());
    store_body_charged(data, limit, &charge)
}

/// [`store_body`], charging what the base64 and zlib layers hold to `charge`.
pub fn store_body_charged(data: Vec<u8>, limit: usize, charge: &Arc<Charge>) -> Result<Vec<u8>, IngestError> {
    if first_non_space(&data) == Some(b'{') {
        return Ok(data);
    }
    charge.grow(data.len() * 2).map_err(budget_error)?;
    let compact: Vec<u8> = data.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    drop(data);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&compact))
        .map_err(|_| {
            IngestError::BadEncoding("the store body is neither JSON nor base64-encoded (zlib-compressed) JSON".into())
        })?;
    if first_non_space(&decoded) == Some(b'{') {
        if decoded.len() > limit {
            return Err(too_large("event", limit));
        }
        return Ok(decoded);
    }
    decode_slice(&decoded, &[Encoding::Deflate], limit, "event", charge)
}

fn first_non_space(data: &[u8]) -> Option<u8> {
    data.iter().copied().find(|b| !b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests;
