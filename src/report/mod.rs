//! Reporters: each consumes the run's events ([`crate::run::RunEvent`]). [`Progress`] shows the run
//! as it goes; [`Print`] and [`WriteFile`] render the finished [`RunReport`] as the terminal
//! table, versioned JSON, JUnit XML or Markdown.

mod json;
mod junit;
mod markdown;
mod output;
mod terminal;

pub use json::render_json;
pub use junit::junit_xml;
pub use markdown::render_markdown;
pub use output::{Print, Render, WriteFile};
pub use terminal::{Progress, render_table};
// The run's data, under the paths reporters have always used.
pub use crate::run::{Counts, RunReport, SCHEMA, SCHEMA_VERSION, TargetSummary, Unchecked};
