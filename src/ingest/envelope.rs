//! The envelope format (PROTOCOL.md §3.2.1), read as a stream: a JSON header line, then items,
//! each a JSON header line and a payload of `length` bytes, or up to the next newline when
//! `length` is absent.
//!
//! The reader is fed decoded bytes as they arrive and keeps only what the caller wants: items of
//! other types (attachments, sessions, replays, …) are skipped as they pass, never buffered, and
//! a kept item is refused the moment it outgrows its cap. What is kept is charged to the
//! request's share of the memory budget before it is held.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::budget::{Charge, MemoryBudget, OverBudget, json_cost};

/// Longest header line (the envelope's or an item's); SDKs send a few hundred bytes.
pub const MAX_HEADER_LINE: usize = 64 * 1024;
/// Most items in one envelope; SDKs send a handful. Each costs a JSON parse even when skipped.
pub const MAX_ITEMS: usize = 1000;

/// A complete envelope with the items that were kept.
#[derive(Debug)]
pub struct Envelope {
    pub headers: Map<String, Value>,
    pub items: Vec<Item>,
}

#[derive(Debug)]
pub struct Item {
    /// The item's `type`.
    pub ty: String,
    pub headers: Map<String, Value>,
    pub payload: Vec<u8>,
}

/// What to do with an item of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Keep its payload, refusing the envelope if it passes this many bytes.
    UpTo(usize),
    /// Skip it.
    Skip,
    /// Refuse the envelope, saying why (e.g. a second event).
    Refuse(&'static str),
}

/// Decides, from an item's type and the items kept before it, what happens to its payload.
pub type Policy<'a> = dyn FnMut(&str, &[Item]) -> Keep + 'a;

/// Why reading stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum EnvelopeError {
    Malformed(String),
    /// A line or a kept item passed its cap.
    TooLarge(String),
    /// The budget cannot hold what would be kept.
    Budget(OverBudget),
}

enum State {
    /// The envelope's header line.
    Header,
    /// Between items: blank lines or the next item's header line.
    ItemHeader,
    /// A payload of known length; `keep` says whether its bytes are kept.
    Sized {
        remaining: usize,
        declared: usize,
        keep: bool,
    },
    /// After a sized payload: a newline or the end.
    AfterSized,
    /// A payload that ends at the next newline.
    Line { keep: bool },
}

/// Reads one envelope from decoded bytes.
pub struct Reader {
    state: State,
    line: Vec<u8>,
    headers: Option<Map<String, Value>>,
    /// Set when the header line was read; cleared by [`Reader::resume`].
    paused: bool,
    items: Vec<Item>,
    /// The item whose payload is being read (kept or not).
    current: Option<Item>,
    current_kept: bool,
    cap: usize,
    count: usize,
    charge: Arc<Charge>,
}

impl Reader {
    pub fn new(charge: Arc<Charge>) -> Reader {
        Reader {
            state: State::Header,
            line: Vec::new(),
            headers: None,
            paused: false,
            items: Vec::new(),
            current: None,
            current_kept: false,
            cap: 0,
            count: 0,
            charge,
        }
    }

    /// The envelope's headers, once its first line was read.
    pub fn headers(&self) -> Option<&Map<String, Value>> {
        self.headers.as_ref()
    }

    /// Whether the reader stopped right after the header line, for the caller to authenticate
    /// the envelope before anything else is read.
    pub fn paused(&self) -> bool {
        self.paused
    }

    pub fn resume(&mut self) {
        self.paused = false;
    }

    /// The items kept so far.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Reads from `data`; returns how much was consumed (all of it unless the reader paused).
    /// `keep` decides, for each item header, what happens to the payload.
    pub fn feed(&mut self, data: &[u8], keep: &mut Policy<'_>) -> Result<usize, EnvelopeError> {
        let mut pos = 0;
        while pos < data.len() && !self.paused {
            let rest = &data[pos..];
            match self.state {
                State::Header | State::ItemHeader => {
                    let (line, used, complete) = split_line(rest);
                    if self.line.len() + line.len() > MAX_HEADER_LINE {
                        return Err(EnvelopeError::TooLarge(format!(
                            "a header line of the envelope exceeds {} KiB",
                            MAX_HEADER_LINE / 1024
                        )));
                    }
                    self.line.extend_from_slice(line);
                    pos += used;
                    if complete {
                        self.end_header_line(keep)?;
                    }
                }
                State::Sized {
                    remaining,
                    declared,
                    keep,
                } => {
                    let n = remaining.min(rest.len());
                    if keep {
                        self.append(&rest[..n])?;
                    }
                    pos += n;
                    self.state = if remaining == n {
                        State::AfterSized
                    } else {
                        State::Sized {
                            remaining: remaining - n,
                            declared,
                            keep,
                        }
                    };
                }
                State::AfterSized => {
                    if rest[0] != b'\n' {
                        let (n, ty) = (self.count, self.current_type());
                        return Err(EnvelopeError::Malformed(format!(
                            "item {n} ({ty}) payload is not followed by a newline"
                        )));
                    }
                    pos += 1;
                    self.end_item();
                }
                State::Line { keep } => {
                    let (line, used, complete) = split_line(rest);
                    if keep {
                        self.append(line)?;
                    }
                    pos += used;
                    if complete {
                        self.end_item();
                    }
                }
            }
        }
        Ok(pos)
    }

    /// The data ended: completes what a missing final newline left open.
    pub fn finish(mut self, keep: &mut Policy<'_>) -> Result<Envelope, EnvelopeError> {
        match self.state {
            State::Header => self.end_header_line(keep)?,
            State::ItemHeader if !self.line.iter().all(u8::is_ascii_whitespace) => {
                self.end_header_line(keep)?;
                return self.finish(keep);
            }
            State::Sized {
                remaining, declared, ..
            } if remaining > 0 => {
                let (n, ty) = (self.count, self.current_type());
                return Err(EnvelopeError::Malformed(format!(
                    "item {n} ({ty}) declares {declared} bytes but the envelope ends first"
                )));
            }
            State::Sized { .. } | State::AfterSized | State::Line { .. } => self.end_item(),
            State::ItemHeader => {}
        }
        let headers = self.headers.take().unwrap_or_default();
        Ok(Envelope {
            headers,
            items: self.items,
        })
    }

    fn current_type(&self) -> &str {
        self.current.as_ref().map_or("", |i| i.ty.as_str())
    }

    fn end_header_line(&mut self, keep: &mut Policy<'_>) -> Result<(), EnvelopeError> {
        let line = std::mem::take(&mut self.line);
        // Parsed headers are kept (the envelope's, a kept item's) and charged; a skipped item's
        // are given back below.
        let cost = json_cost(&line);
        if matches!(self.state, State::Header) {
            self.charge.grow(cost).map_err(EnvelopeError::Budget)?;
            let headers = json_object(&line).map_err(|e| EnvelopeError::Malformed(format!("envelope header: {e}")))?;
            self.headers = Some(headers);
            self.state = State::ItemHeader;
            self.paused = true;
            return Ok(());
        }
        // Tolerate blank lines between items (some hand-written envelopes have them).
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.count += 1;
        let n = self.count;
        if n > MAX_ITEMS {
            return Err(EnvelopeError::TooLarge(format!(
                "the envelope has more than {MAX_ITEMS} items"
            )));
        }
        let headers = json_object(&line).map_err(|e| EnvelopeError::Malformed(format!("item {n} header: {e}")))?;
        let ty = match headers.get("type") {
            Some(Value::String(t)) => t.clone(),
            _ => return Err(EnvelopeError::Malformed(format!("item {n} header has no \"type\""))),
        };
        let length = match headers.get("length") {
            None | Some(Value::Null) => None,
            Some(len) => Some(
                len.as_u64()
                    .and_then(|l| usize::try_from(l).ok())
                    .ok_or_else(|| EnvelopeError::Malformed(format!("item {n} has an invalid length {len}")))?,
            ),
        };
        let kept = match keep(&ty, &self.items) {
            Keep::Refuse(why) => return Err(EnvelopeError::Malformed(why.to_string())),
            Keep::Skip => false,
            Keep::UpTo(cap) => {
                if let Some(len) = length.filter(|&len| len > cap) {
                    return Err(too_large(&ty, cap, len));
                }
                self.cap = cap;
                true
            }
        };
        let mut payload = Vec::new();
        if let Some(len) = length.filter(|_| kept) {
            self.charge.grow(len).map_err(EnvelopeError::Budget)?;
            payload.reserve_exact(len);
        }
        self.current = Some(Item { ty, headers, payload });
        self.state = match length {
            Some(remaining) => State::Sized {
                remaining,
                declared: remaining,
                keep: kept,
            },
            None => State::Line { keep: kept },
        };
        self.current_kept = kept;
        if !kept {
            self.charge.shrink(cost);
        }
        Ok(())
    }

    /// Appends to the kept payload, charging what the payload's buffer grows by.
    fn append(&mut self, bytes: &[u8]) -> Result<(), EnvelopeError> {
        let item = self.current.as_mut().expect("an item is open");
        let needed = item.payload.len() + bytes.len();
        if needed > self.cap {
            return Err(too_large(&item.ty, self.cap, needed));
        }
        self.charge
            .append(&mut item.payload, bytes, self.cap)
            .map_err(EnvelopeError::Budget)
    }

    fn end_item(&mut self) {
        if let Some(item) = self.current.take()
            && self.current_kept
        {
            self.items.push(item);
        }
        self.state = State::ItemHeader;
    }
}

fn too_large(ty: &str, cap: usize, len: usize) -> EnvelopeError {
    EnvelopeError::TooLarge(format!(
        "the {ty} item exceeds {} ({len} bytes or more)",
        super::decode::human_size(cap)
    ))
}

/// The bytes up to a newline (or all of them), how many to consume, and whether the line ended.
fn split_line(data: &[u8]) -> (&[u8], usize, bool) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], i + 1, true),
        None => (data, data.len(), false),
    }
}

fn json_object(line: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("invalid JSON ({e})")),
    }
}

/// Parses a whole envelope in memory, keeping every item. For tests, benchmarks and fuzzing; the
/// server reads envelopes as they arrive.
pub fn parse(body: &[u8]) -> Result<Envelope, String> {
    let charge = Arc::new(MemoryBudget::new(usize::MAX).charge());
    let mut reader = Reader::new(charge);
    let mut keep_all = |_: &str, _: &[Item]| Keep::UpTo(usize::MAX);
    let mut pos = 0;
    while pos < body.len() {
        pos += reader.feed(&body[pos..], &mut keep_all).map_err(describe)?;
        reader.resume();
    }
    reader.finish(&mut keep_all).map_err(describe)
}

fn describe(err: EnvelopeError) -> String {
    match err {
        EnvelopeError::Malformed(msg) | EnvelopeError::TooLarge(msg) => msg,
        EnvelopeError::Budget(over) => format!("{over:?}"),
    }
}

#[cfg(test)]
mod tests;
