//! Brotli as a streaming stage whose every allocation is charged to the request first.
//!
//! A brotli stream names its window (up to 16 MiB) and the decoder sizes its ring buffer from
//! the data, so what it needs is only known while decoding. brotli-decompressor takes pluggable
//! allocators and handles a refused allocation as a decoding error, so the allocator below asks
//! the memory budget before each allocation and refuses what the budget cannot give: a bomb
//! that wants a 16 MiB window is refused, not granted, when the server is full.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use brotli_decompressor::{
    Allocator, BrotliDecompressStream, BrotliResult, BrotliState, HuffmanCode, SliceWrapper, SliceWrapperMut,
};

use super::{Stage, StageError};
use crate::budget::{Charge, OverBudget};

/// Memory handed to the decoder.
#[derive(Default)]
pub struct Cell<T>(Box<[T]>);

impl<T> SliceWrapper<T> for Cell<T> {
    fn slice(&self) -> &[T] {
        &self.0
    }
}

impl<T> SliceWrapperMut<T> for Cell<T> {
    fn slice_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

/// Allocates only what the request's charge can take.
pub struct Budgeted<T> {
    charge: Arc<Charge>,
    /// Set when an allocation was refused, so the error says "busy", not "invalid data".
    refused: Arc<AtomicBool>,
    too_large: Arc<AtomicBool>,
    _of: std::marker::PhantomData<T>,
}

impl<T: Clone + Default> Allocator<T> for Budgeted<T> {
    type AllocatedMemory = Cell<T>;

    fn alloc_cell(&mut self, len: usize) -> Cell<T> {
        if len == 0 {
            return Cell::default();
        }
        match self.charge.grow(len.saturating_mul(std::mem::size_of::<T>())) {
            Ok(()) => Cell(vec![T::default(); len].into_boxed_slice()),
            Err(over) => {
                self.refused.store(true, Ordering::Relaxed);
                if over == OverBudget::TooLarge {
                    self.too_large.store(true, Ordering::Relaxed);
                }
                // An empty cell is how the decoder learns an allocation failed.
                Cell::default()
            }
        }
    }

    fn free_cell(&mut self, cell: Cell<T>) {
        self.charge.shrink(cell.0.len() * std::mem::size_of::<T>());
    }
}

type State = BrotliState<Budgeted<u8>, Budgeted<u32>, Budgeted<HuffmanCode>>;

/// `Content-Encoding: br`.
pub struct Brotli {
    state: Box<State>,
    done: bool,
    refused: Arc<AtomicBool>,
    too_large: Arc<AtomicBool>,
}

impl Brotli {
    pub fn new(charge: &Arc<Charge>) -> Brotli {
        let refused = Arc::new(AtomicBool::new(false));
        let too_large = Arc::new(AtomicBool::new(false));
        fn alloc<T>(charge: &Arc<Charge>, refused: &Arc<AtomicBool>, too_large: &Arc<AtomicBool>) -> Budgeted<T> {
            Budgeted {
                charge: charge.clone(),
                refused: refused.clone(),
                too_large: too_large.clone(),
                _of: std::marker::PhantomData,
            }
        }
        let state = BrotliState::new(
            alloc(charge, &refused, &too_large),
            alloc(charge, &refused, &too_large),
            alloc(charge, &refused, &too_large),
        );
        Brotli {
            state: Box::new(state),
            done: false,
            refused,
            too_large,
        }
    }
}

impl Stage for Brotli {
    fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), StageError> {
        if self.done {
            return Ok((input.len(), 0));
        }
        let (mut available_in, mut input_offset) = (input.len(), 0);
        let (mut available_out, mut output_offset, mut total_out) = (output.len(), 0, 0);
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut input_offset,
            input,
            &mut available_out,
            &mut output_offset,
            output,
            &mut total_out,
            &mut self.state,
        );
        match result {
            BrotliResult::ResultFailure if self.too_large.load(Ordering::Relaxed) => {
                Err(StageError::Budget(OverBudget::TooLarge))
            }
            BrotliResult::ResultFailure if self.refused.load(Ordering::Relaxed) => {
                Err(StageError::Budget(OverBudget::Busy))
            }
            BrotliResult::ResultFailure => Err(StageError::Invalid(format!("{:?}", self.state.error_code))),
            BrotliResult::ResultSuccess => {
                self.done = true;
                // Whatever follows the stream is ignored, as by the other decoders.
                Ok((input.len(), output_offset))
            }
            BrotliResult::NeedsMoreInput | BrotliResult::NeedsMoreOutput => Ok((input_offset, output_offset)),
        }
    }

    fn finish(&mut self) -> Result<(), StageError> {
        if self.done {
            Ok(())
        } else {
            Err(StageError::Invalid("the stream ends early".into()))
        }
    }
}
