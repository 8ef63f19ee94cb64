//! zstd as a streaming stage. The first frame's header says how large a window the decoder will
//! allocate; that window is charged to the request before the decoder sees a byte, and the
//! decoder is told to refuse any later frame that wants more.

use std::sync::Arc;

use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};

use super::{Stage, StageError};
use crate::budget::Charge;

/// HTTP's zstd content coding allows windows up to 8 MiB (RFC 9659); larger ones are refused.
const MAX_WINDOW_LOG: u32 = 23;
/// The decoder's context, input block and output slack besides the window.
const CONTEXT_CHARGE: usize = 512 * 1024;
/// The longest frame header (magic number included).
const MAX_FRAME_HEADER: usize = 18;

pub struct Zstd {
    charge: Arc<Charge>,
    /// The first frame's header while it arrives.
    head: Vec<u8>,
    decoder: Option<Decoder<'static>>,
    /// Whether the last frame begun is complete.
    complete: bool,
}

impl Zstd {
    pub fn new(charge: Arc<Charge>) -> Zstd {
        Zstd {
            charge,
            head: Vec::new(),
            decoder: None,
            complete: false,
        }
    }

    /// Charges the window the first frame asks for and builds a decoder that allows no more.
    fn start(&mut self) -> Result<Option<Decoder<'static>>, StageError> {
        let Some(window) = window_size(&self.head)? else {
            return Ok(None);
        };
        let log = window
            .max(1 << 10)
            .checked_next_power_of_two()
            .map_or(u32::MAX, usize::trailing_zeros);
        if log > MAX_WINDOW_LOG {
            return Err(StageError::Invalid(format!(
                "the zstd window ({} bytes) exceeds 8 MiB (RFC 9659)",
                window
            )));
        }
        self.charge.grow((1usize << log) + CONTEXT_CHARGE)?;
        let invalid = |e: std::io::Error| StageError::Invalid(e.to_string());
        let mut decoder = Decoder::new().map_err(invalid)?;
        decoder.set_parameter(DParameter::WindowLogMax(log)).map_err(invalid)?;
        Ok(Some(decoder))
    }
}

impl Zstd {
    fn decode(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), StageError> {
        let decoder = self.decoder.as_mut().expect("started");
        let mut src = InBuffer::around(input);
        let mut dst = OutBuffer::around(output);
        let hint = decoder
            .run(&mut src, &mut dst)
            .map_err(|e| StageError::Invalid(e.to_string()))?;
        // Called again with no input after a frame ended, the decoder hints at the next
        // frame's header; only input it takes starts a new frame.
        if hint == 0 {
            self.complete = true;
        } else if src.pos() > 0 {
            self.complete = false;
        }
        Ok((src.pos(), dst.pos()))
    }
}

impl Stage for Zstd {
    fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), StageError> {
        if self.decoder.is_none() {
            let held = (MAX_FRAME_HEADER - self.head.len()).min(input.len());
            self.head.extend_from_slice(&input[..held]);
            match self.start()? {
                Some(decoder) => self.decoder = Some(decoder),
                None if self.head.len() < MAX_FRAME_HEADER => {}
                None => return Err(StageError::Invalid("unreadable frame header".into())),
            }
            return Ok((held, 0));
        }
        // The bytes held while the header arrived go to the decoder before any new input.
        if !self.head.is_empty() {
            let head = std::mem::take(&mut self.head);
            let (consumed, produced) = self.decode(&head, output)?;
            self.head = head[consumed..].to_vec();
            return Ok((0, produced));
        }
        self.decode(input, output)
    }

    fn finish(&mut self) -> Result<(), StageError> {
        match &self.decoder {
            None if self.head.is_empty() => Ok(()),
            Some(_) if self.complete && self.head.is_empty() => Ok(()),
            _ => Err(StageError::Invalid("the stream ends early".into())),
        }
    }
}

/// The window the frame at the start of `h` needs (RFC 8878 §3.1.1.1), `None` while its header
/// is incomplete. A skippable frame first gets the largest window allowed.
fn window_size(h: &[u8]) -> Result<Option<usize>, StageError> {
    const MAGIC: u32 = 0xFD2F_B528;
    let Some(magic) = h.get(..4) else {
        return Ok(None);
    };
    let magic = u32::from_le_bytes([magic[0], magic[1], magic[2], magic[3]]);
    if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
        return Ok(Some(1 << MAX_WINDOW_LOG));
    }
    if magic != MAGIC {
        return Err(StageError::Invalid("unknown frame descriptor".into()));
    }
    let Some(&descriptor) = h.get(4) else {
        return Ok(None);
    };
    let single_segment = descriptor & 0x20 != 0;
    if !single_segment {
        let Some(&wd) = h.get(5) else {
            return Ok(None);
        };
        let log = 10 + u32::from(wd >> 3);
        if log > 31 {
            return Ok(Some(usize::MAX));
        }
        let base = 1usize << log;
        return Ok(Some(base + (base / 8) * usize::from(wd & 7)));
    }
    // A single-segment frame's window is its content size, which follows the dictionary id.
    let dict_len = [0, 1, 2, 4][usize::from(descriptor & 3)];
    let fcs_len = [1, 2, 4, 8][usize::from(descriptor >> 6)];
    let start = 5 + dict_len;
    let Some(fcs) = h.get(start..start + fcs_len) else {
        return Ok(None);
    };
    let mut bytes = [0u8; 8];
    bytes[..fcs_len].copy_from_slice(fcs);
    let size = u64::from_le_bytes(bytes) + if fcs_len == 2 { 256 } else { 0 };
    Ok(Some(usize::try_from(size).unwrap_or(usize::MAX)))
}
