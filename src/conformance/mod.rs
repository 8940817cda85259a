//! The conformance catalog and its runner: every clause of SPEC areas A-J as one or more cases
//! that run against any Sync 1.5 server over HTTP.

pub mod case;
pub mod catalog;
pub mod ctx;
pub mod failure;
pub mod runner;
pub mod session;
pub mod target;

pub use case::{Case, Need};
pub use ctx::{CasePlace, Ctx, Names, Profile, Refusals, Resp, Stamp, UidPlan, VariantFailure, case_seed};
pub use failure::{CaseResult, Failure};
pub use runner::{CaseReport, Outcome, RunConfig};
pub use target::{Limits, Target};
