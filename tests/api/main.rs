//! Integration tests: one binary, each module a part of the specification.

mod helpers;

mod bad_input;
mod cli;
mod protocol;
