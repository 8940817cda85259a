//! A pure model of Sync 1.5 storage (no I/O): several users' collections, records, open batches,
//! the clock as the server reports it, and the limits and quota the target publishes. Given an
//! operation and the server's answer it decides whether SPEC allows that answer, then follows it.
//!
//! `op` holds the plain data (operations, requests, answers); `oracle` the public [`Model`];
//! `state` what one possible server holds; `resolve` symbols to requests; `judge` the dispatch
//! of one answer, `write` and `read` the rules per operation, `record` area B validation and
//! `check` the shared judgements (area J errors, area I timestamps, E-01 lists); `serial` judges
//! a round of concurrent writes by finding a serial order the answers allow.

mod check;
mod config;
mod judge;
pub mod op;
mod oracle;
mod read;
mod record;
mod resolve;
mod serial;
mod state;
mod write;

#[cfg(test)]
mod tests;

pub use config::{CLOCK_SLACK_CS, Divergence, ModelConfig};
pub use op::{Answer, BatchRef, BatchStep, InfoView, OffsetRef, Op, Precondition, Query, Request, Sort, TsRef};
pub use oracle::{MAX_WORLDS, Model};
pub use serial::Exchange;
pub use write::BATCH_LIFETIME_FLOOR_CS;
