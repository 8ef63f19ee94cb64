//! Integration tests: one binary, each module a part of the specification.

mod helpers;

mod cli;
mod client_ip;
mod durability;
mod fixtures;
mod health;
mod python;
mod sdks;
