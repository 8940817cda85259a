//! The Markdown view (`conformance --format markdown`, `--markdown PATH`): the raw material of a
//! findings document such as `docs/findings/syncstorage-rs.md`. Failures are grouped by clause,
//! each with its message, expected and actual values, failing variants, a replay command for that
//! clause, and the exchange that shows it; then compat answers and invariant violations.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::run::RunReport;
use crate::run::{CaseReport, Outcome};

/// The exchange that shows a failure: a failing variant's last one, else the case's last one.
fn showing(r: &CaseReport) -> Option<&String> {
    r.variants.iter().find_map(|v| v.transcripts.last()).or_else(|| r.transcripts.last())
}

fn fenced(out: &mut String, text: &str) {
    // A fence longer than any backtick run inside keeps the block closed.
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(out, "{fence}text\n{}\n{fence}", text.trim_end());
}

fn one_line(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

pub fn render_markdown(report: &RunReport) -> String {
    let mut out = String::new();
    let c = report.counts;
    let _ = writeln!(out, "# Conformance run\n");
    let _ = writeln!(out, "- harness {}; profile `{}`; seed {}", report.harness_version, report.profile, report.seed);
    for t in &report.targets {
        let quota = t.quota.map_or("off".to_owned(), |q| format!("{q} bytes"));
        let _ = writeln!(
            out,
            "- target `{}` at {} (quota {quota}; max_total_records {}, max_total_bytes {}; test clock {})",
            t.label,
            t.url,
            t.limits.max_total_records,
            t.limits.max_total_bytes,
            if t.test_clock { "yes" } else { "no" }
        );
    }
    let _ = writeln!(
        out,
        "- {} passed, {} failed, {} skipped, {} compat; {} cases left an invariant violated",
        c.passed, c.failed, c.skipped, c.compat, c.invariant_violations
    );
    let q = report.refusals;
    if q.conflict + q.unavailable > 0 {
        let _ = writeln!(
            out,
            "- write refusals: {} conflict (409), {} unavailable (503); {} sent again, {} still refused after the retries, {} sent once by the I-04 case that judges them",
            q.conflict,
            q.unavailable,
            q.retried,
            q.gave_up,
            q.not_retried()
        );
    }
    if q.resent_on_new_connection > 0 {
        let _ = writeln!(
            out,
            "- {} requests sent again on a new connection: the server had closed a kept-alive connection without `Connection: close`",
            q.resent_on_new_connection
        );
    }
    let _ = writeln!(out, "- replay all failures: `{}`", report.replay);

    let mut failing: BTreeMap<&str, Vec<&CaseReport>> = BTreeMap::new();
    for r in report.cases.iter().filter(|r| r.failed()) {
        failing.entry(r.clause).or_default().push(r);
    }
    if !failing.is_empty() {
        let _ = writeln!(out, "\n## Failures by clause");
    }
    for (clause, cases) in &failing {
        let _ = writeln!(out, "\n### {clause}\n");
        let _ = writeln!(out, "Replay: `{} --filter {clause}`\n", report.replay_base);
        for r in cases {
            let Outcome::Fail { failure } = &r.outcome else { continue };
            let _ = writeln!(out, "- **{}** [{}]: {}", r.title, r.target, one_line(&failure.message));
            if let (Some(e), Some(a)) = (&failure.expected, &failure.actual) {
                let _ = writeln!(out, "  - expected `{}`, got `{}`", one_line(e), one_line(a));
                if let Some(d) = failure.diff() {
                    let _ = writeln!(out, "  - word diff: `{}`", one_line(&d));
                }
            }
            for v in &r.variants {
                let mut line = format!("  - variant `{}`: {}", one_line(&v.name), one_line(&v.failure.message));
                if let (Some(e), Some(a)) = (&v.failure.expected, &v.failure.actual) {
                    let _ = write!(line, " (expected `{}`, got `{}`)", one_line(e), one_line(a));
                }
                let _ = writeln!(out, "{line}");
            }
        }
        if let Some(t) = cases.iter().find_map(|r| showing(r)) {
            let _ = writeln!(out, "\nThe exchange that shows it:\n");
            fenced(&mut out, t);
        }
    }

    let compat: Vec<&CaseReport> = report.cases.iter().filter(|r| matches!(r.outcome, Outcome::Compat)).collect();
    if !compat.is_empty() {
        let _ = writeln!(out, "\n## Accepted as compat (`--profile syncstorage-rs`)\n");
        for r in compat {
            let _ = writeln!(out, "- {} {}: {}", r.clause, r.title, one_line(&r.compat.join("; ")));
        }
    }

    let violated: Vec<&CaseReport> = report.cases.iter().filter(|r| !r.violations.is_empty()).collect();
    if !violated.is_empty() {
        let _ = writeln!(out, "\n## Database invariants violated\n");
        for r in violated {
            for v in &r.violations {
                let _ = writeln!(out, "- after {} {}: {} `{}`, {} row(s)", r.clause, r.title, v.clause, v.name, v.rows.len());
                for row in v.rows.iter().take(3) {
                    let _ = writeln!(out, "  - `{}`", one_line(row));
                }
            }
        }
    }

    let skipped: Vec<&CaseReport> = report.cases.iter().filter(|r| matches!(r.outcome, Outcome::Skip { .. })).collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "\n## Skipped\n");
        for r in skipped {
            if let Outcome::Skip { reason } = &r.outcome {
                let _ = writeln!(out, "- {} {}: {}", r.clause, r.title, one_line(reason));
            }
        }
    }
    out
}
