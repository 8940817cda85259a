//! syncstorage-harness: tells the operators of a Mozilla Sync 1.5 storage server whether it answers
//! correctly, keeps its database consistent and holds up under load.
//!
//! The harness reaches every server, the bundled reference backend included, over HTTP only;
//! `provision` is the one module that starts the reference backend in-process.

pub mod cli;
pub mod client;
pub mod conformance;
pub mod exit;
pub mod fuzz;
pub mod invariants;
pub mod model;
pub mod provision;
pub mod report;
pub mod run;
pub mod setup;
pub mod sync;
pub mod target;
