//! What every kind of run (conformance today; fuzz and load next) shares: the seed that every
//! random choice derives from, the uid range the run owns, the write refusals it met, why a check
//! failed, and the per-check results that every reporter reads.

pub mod events;
pub mod failure;
pub mod outcome;
pub mod refusals;
pub mod report;
pub mod seed;
pub mod uids;

pub use events::{Events, ReportError, Reporter, RunEvent};
pub use failure::{CaseResult, Failure};
pub use outcome::{CaseReport, Outcome, VariantFailure};
pub use refusals::Refusals;
pub use report::{Counts, RunReport, SCHEMA, SCHEMA_VERSION, TargetSummary, Unchecked};
pub use seed::case_seed;
pub use uids::{UIDS_PER_CASE, UidPlan};
