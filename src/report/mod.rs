//! Reporters: the runner produces one [`RunReport`]; the terminal table, versioned JSON and JUnit
//! XML are views of it.

mod json;
mod junit;
mod model;
mod terminal;

pub use json::write_json;
pub use junit::{junit_xml, write_junit};
pub use model::{Counts, RunReport, SCHEMA, SCHEMA_VERSION, TargetSummary, Unchecked};
pub use terminal::{Progress, render_table};
