//! Reporters: the runner produces one [`RunReport`]; the terminal table, versioned JSON and JUnit
//! XML are views of it.

mod json;
mod junit;
mod markdown;
mod model;
mod terminal;

pub use json::write_json;
pub use junit::{junit_xml, write_junit};
pub use markdown::{render_markdown, write_markdown};
pub use model::{Counts, RunReport, SCHEMA, SCHEMA_VERSION, TargetSummary, Unchecked};
pub use terminal::{Progress, render_table};
