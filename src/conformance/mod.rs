//! The conformance catalog and its runner: every clause of SPEC areas A-J as one or more cases
//! that run against any Sync 1.5 server over HTTP.

pub mod case;
pub mod catalog;
pub mod ctx;
pub mod runner;
pub mod session;

pub use case::{Case, Need};
pub use ctx::{CasePlace, Ctx, Names, Resp};
pub use runner::RunConfig;
// The shared vocabulary, under the names the catalog has always used.
pub use crate::run::{CaseReport, CaseResult, Failure, Outcome, Refusals, UidPlan, VariantFailure, case_seed};
pub use crate::sync::{Limits, Profile, Stamp};
pub use crate::target::Target;
