//! gzip (RFC 1952, several members allowed), zlib (RFC 1950) and raw deflate (RFC 1951) as
//! streaming stages over flate2's low-level inflater.

use std::sync::Arc;

use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::{Stage, StageError};
use crate::budget::Charge;

/// What an inflater's state and 32 KiB window cost.
const INFLATE_CHARGE: usize = 64 * 1024;
/// Longest gzip header kept while it arrives (names and comments included); real clients send
/// 10 bytes.
const MAX_GZIP_HEADER: usize = 4096;

/// One deflate stream: consumes input until its end, ignores what follows.
struct Inflater {
    z: Decompress,
    done: bool,
}

impl Inflater {
    fn new(zlib_header: bool) -> Inflater {
        Inflater {
            z: Decompress::new(zlib_header),
            done: false,
        }
    }

    /// Ready for a new stream, keeping the allocated state and window.
    fn reset(&mut self) {
        self.z.reset(false);
        self.done = false;
    }

    fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), StageError> {
        let (in_before, out_before) = (self.z.total_in(), self.z.total_out());
        let status = self
            .z
            .decompress(input, output, FlushDecompress::None)
            .map_err(|e| StageError::Invalid(e.to_string()))?;
        if status == Status::StreamEnd {
            self.done = true;
        }
        let consumed = (self.z.total_in() - in_before) as usize;
        let produced = (self.z.total_out() - out_before) as usize;
        Ok((consumed, produced))
    }
}

/// `Content-Encoding: deflate`: zlib-wrapped or raw, told apart by the first two bytes.
pub struct Deflate {
    sniffed: Vec<u8>,
    inflater: Option<Inflater>,
}

impl Deflate {
    pub fn new(charge: &Arc<Charge>) -> Result<Deflate, super::IngestError> {
        charge.grow(INFLATE_CHARGE).map_err(super::budget_error)?;
        Ok(Deflate {
            sniffed: Vec::new(),
            inflater: None,
        })
    }
}

/// A zlib stream starts with a CMF/FLG pair: method 8 and a header checksum divisible by 31.
fn looks_like_zlib(data: &[u8]) -> bool {
    match data {
        [b0, b1, ..] => (b0 & 0x0F) == 8 && ((u16::from(*b0) << 8) | u16::from(*b1)) % 31 == 0,
        _ => false,
    }
}

impl Stage for Deflate {
    fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), StageError> {
        if let Some(inflater) = &mut self.inflater {
            if inflater.done {
                return Ok((input.len(), 0));
            }
            return inflater.run(input, output);
        }
        // Up to two bytes are held until the kind of stream is known.
        let take = (2 - self.sniffed.len()).min(input.len());
        self.sniffed.extend_from_slice(&input[..take]);
        if self.sniffed.len() < 2 {
            return Ok((take, 0));
        }
        let mut inflater = Inflater::new(looks_like_zlib(&self.sniffed));
        let head = std::mem::take(&mut self.sniffed);
        let (consumed, produced) = inflater.run(&head, output)?;
        // The two sniffed bytes are a header or the start of a block: the inflater always
        // takes them whole (it buffers bits internally).
        if consumed != head.len() {
            return Err(StageError::Invalid(
                "the stream starts with an unreadable header".into(),
            ));
        }
        self.inflater = Some(inflater);
        Ok((take, produced))
    }

    fn finish(&mut self) -> Result<(), StageError> {
        match &self.inflater {
            Some(inflater) if inflater.done => Ok(()),
            None if self.sniffed.is_empty() => Ok(()),
            _ => Err(StageError::Invalid("the stream ends early".into())),
        }
    }
}

enum GzipState {
    /// Collecting a member's header.
    Header(Vec<u8>),
    Body,
    /// Collecting the CRC-32 and size that end a member.
    Trailer(Vec<u8>),
    /// Between members (or before the first): the next byte starts a new one.
    Between,
}

/// `Content-Encoding: gzip`, with every member's checksum verified.
pub struct Gzip {
    state: GzipState,
    inflater: Inflater,
    crc: Crc,
    members: usize,
}

impl Gzip {
    pub fn new(charge: &Arc<Charge>) -> Result<Gzip, super::IngestError> {
        charge.grow(INFLATE_CHARGE).map_err(super::budget_error)?;
        Ok(Gzip {
            state: GzipState::Between,
            inflater: Inflater::new(false),
            crc: Crc::new(),
            members: 0,
        })
    }
}

impl Stage for Gzip {
    fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), StageError> {
        match &mut self.state {
            GzipState::Between => {
                if input.is_empty() {
                    return Ok((0, 0));
                }
                self.state = GzipState::Header(Vec::new());
                self.run(input, output)
            }
            GzipState::Header(header) => {
                // The header arrives in pieces; it is re-read whole until complete (it is short).
                let before = header.len();
                let take = input.len().min(MAX_GZIP_HEADER + 1 - before);
                header.extend_from_slice(&input[..take]);
                match gzip_header_len(header)? {
                    None if header.len() > MAX_GZIP_HEADER => {
                        Err(StageError::Invalid("the gzip header is longer than 4 KiB".into()))
                    }
                    None => Ok((take, 0)),
                    Some(len) => {
                        // Each member is a new deflate stream; the inflater's state is reused.
                        self.inflater.reset();
                        self.crc = Crc::new();
                        self.state = GzipState::Body;
                        Ok((len - before, 0))
                    }
                }
            }
            GzipState::Body => {
                let (consumed, produced) = self.inflater.run(input, output)?;
                self.crc.update(&output[..produced]);
                if self.inflater.done {
                    self.state = GzipState::Trailer(Vec::new());
                }
                Ok((consumed, produced))
            }
            GzipState::Trailer(trailer) => {
                let take = (8 - trailer.len()).min(input.len());
                trailer.extend_from_slice(&input[..take]);
                if trailer.len() == 8 {
                    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
                    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
                    if crc != self.crc.sum() || size != self.crc.amount() {
                        return Err(StageError::Invalid("corrupt gzip stream (checksum mismatch)".into()));
                    }
                    self.members += 1;
                    self.state = GzipState::Between;
                }
                Ok((take, 0))
            }
        }
    }

    fn finish(&mut self) -> Result<(), StageError> {
        match self.state {
            GzipState::Between => Ok(()),
            _ => Err(StageError::Invalid("the stream ends early".into())),
        }
    }
}

/// The length of a complete gzip member header at the start of `h`, `None` while incomplete.
fn gzip_header_len(h: &[u8]) -> Result<Option<usize>, StageError> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if h.len() >= 2 && (h[0], h[1]) != (0x1f, 0x8b) {
        return Err(StageError::Invalid("invalid gzip header".into()));
    }
    if h.len() >= 3 && h[2] != 8 {
        return Err(StageError::Invalid("unsupported gzip compression method".into()));
    }
    if h.len() < 10 {
        return Ok(None);
    }
    let flags = h[3];
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let Some(xlen) = h.get(pos..pos + 2) else {
            return Ok(None);
        };
        pos += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            match h.get(pos..).and_then(|rest| rest.iter().position(|&b| b == 0)) {
                Some(end) => pos += end + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    Ok((h.len() >= pos).then_some(pos))
}
