//! The versioned JSON report (`--json PATH`, `--format json`).

use crate::run::RunReport;

pub fn render_json(report: &RunReport) -> String {
    // A report holds strings, numbers and lists only, which always serialise.
    serde_json::to_string_pretty(report).unwrap_or_default() + "\n"
}
