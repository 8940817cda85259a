//! The human view: a progress line while cases run, then a table grouped by SPEC area, each
//! failure with its clause, diff and transcript, and the closing `N passed, N failed, N skipped`.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::run::{CaseReport, Outcome, ReportError, Reporter, RunEvent, RunReport, TargetSummary};

/// Prints progress to stderr: the targets and the number of checks when the run starts, then
/// one character per finished check (`.` pass, `c` compat, `F` fail, `s` skip, `!` invariant
/// violation), with a count every 50.
#[derive(Debug, Default)]
pub struct Progress {
    total: usize,
    done: usize,
}

impl Progress {
    pub fn new() -> Self {
        Self::default()
    }

    fn started(&mut self, targets: &[TargetSummary], checks: usize) {
        self.total = checks;
        let mut err = std::io::stderr().lock();
        for t in targets {
            let quota = t.quota.map_or("off".into(), |q| format!("{q} bytes"));
            let clock = if t.test_clock { "yes" } else { "no" };
            let _ = writeln!(err, "target {}: {} (test clock: {clock}, quota: {quota})", t.label, t.url);
        }
        let _ = writeln!(err, "running {checks} cases");
    }

    fn finished(&mut self, report: &CaseReport) {
        let mark = if !report.violations.is_empty() {
            '!'
        } else {
            match report.outcome {
                Outcome::Pass => '.',
                Outcome::Compat => 'c',
                Outcome::Fail { .. } => 'F',
                Outcome::Skip { .. } => 's',
            }
        };
        self.done += 1;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{mark}");
        if self.done % 50 == 0 || self.done == self.total {
            let _ = writeln!(err, " {}/{}", self.done, self.total);
        }
        let _ = err.flush();
    }
}

impl Reporter for Progress {
    fn event(&mut self, event: &RunEvent<'_>) -> Result<(), ReportError> {
        match event {
            RunEvent::Started { targets, checks, .. } => self.started(targets, *checks),
            RunEvent::CheckFinished(report) => self.finished(report),
            RunEvent::Finished(_) => {}
        }
        Ok(())
    }
}

/// Keeps the transcript readable in a terminal: the last exchanges only.
const TRANSCRIPTS_SHOWN: usize = 3;

pub fn render_table(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{:<6}{:>7}{:>7}{:>7}{:>8}", "area", "pass", "fail", "skip", "compat");
    let mut areas: Vec<char> = report.cases.iter().map(CaseReport::area).collect();
    areas.sort_unstable();
    areas.dedup();
    for area in areas {
        let mut row = [0usize; 4];
        for r in report.cases.iter().filter(|r| r.area() == area) {
            let i = match r.outcome {
                Outcome::Pass => 0,
                Outcome::Fail { .. } => 1,
                Outcome::Skip { .. } => 2,
                Outcome::Compat => 3,
            };
            row[i] += 1;
        }
        let _ = writeln!(out, "{area:<6}{:>7}{:>7}{:>7}{:>8}", row[0], row[1], row[2], row[3]);
    }
    for r in &report.cases {
        if let Outcome::Fail { failure } = &r.outcome {
            let _ = writeln!(out, "\nFAIL {} {} [{}]", r.clause, r.title, r.target);
            for line in failure.to_string().lines() {
                let _ = writeln!(out, "  {line}");
            }
        } else if r.violations.is_empty() && r.invariant_error.is_none() {
            continue;
        } else if r.violations.is_empty() {
            let _ = writeln!(out, "\nSETUP after {} {} [{}]", r.clause, r.title, r.target);
        } else {
            let _ = writeln!(out, "\nINVARIANT after {} {} [{}]", r.clause, r.title, r.target);
        }
        for v in &r.variants {
            let _ = writeln!(out, "  variant {}:", v.name);
            for line in v.failure.to_string().lines() {
                let _ = writeln!(out, "    {line}");
            }
            if let Some(t) = v.transcripts.last() {
                let _ = writeln!(out, "    ---");
                for line in t.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        if let Some(e) = &r.invariant_error {
            let _ = writeln!(out, "  invariant checks could not run: {e}");
        }
        for v in &r.violations {
            let _ = writeln!(out, "  {} {} returned {} row(s):", v.clause, v.name, v.rows.len());
            for row in v.rows.iter().take(5) {
                let _ = writeln!(out, "    {row}");
            }
        }
        // A case made of variants shows each variant's own exchange above instead.
        let shown = if r.variants.is_empty() { TRANSCRIPTS_SHOWN } else { 0 };
        let skip = r.transcripts.len().saturating_sub(shown);
        for t in r.transcripts.iter().skip(skip) {
            let _ = writeln!(out, "  ---");
            for line in t.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    let skipped: Vec<_> = report
        .cases
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Skip { reason } => Some((r.clause, reason)),
            _ => None,
        })
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "\nskipped:");
        for (clause, reason) in skipped {
            let _ = writeln!(out, "  {clause}: {reason}");
        }
    }
    let c = report.counts;
    let _ = writeln!(out, "\nseed {}; uids {}..{}; {} ms", report.seed, report.uid_range[0], report.uid_range[1], report.duration_ms);
    if c.failed > 0 || c.invariant_violations > 0 || c.invariant_errors > 0 {
        let _ = writeln!(out, "replay: {}", report.replay);
    }
    let q = report.refusals;
    if q.conflict + q.unavailable > 0 {
        let _ = writeln!(
            out,
            "write refusals: {} conflict (409), {} unavailable (503 + Retry-After); {} sent again, {} still refused after the retries, {} sent once by the I-04 case that judges them",
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
            "{} requests sent again on a new connection: the server had closed a kept-alive connection without `Connection: close`",
            q.resent_on_new_connection
        );
    }
    if c.invariant_errors > 0 {
        let _ = writeln!(out, "after {} cases the invariant checks could not run (setup error)", c.invariant_errors);
    }
    if c.compat > 0 {
        let _ = writeln!(out, "{} compat (accepted only under --profile syncstorage-rs)", c.compat);
    }
    if c.invariant_violations > 0 {
        let _ = writeln!(out, "{} cases left the database violating an invariant", c.invariant_violations);
    }
    let _ = writeln!(out, "{} passed, {} failed, {} skipped", c.passed, c.failed, c.skipped);
    out
}
