//! The whole run's result, as the last run event carries it to every reporter. Its JSON form is versioned: fields are only
//! added within a version.

use serde::Serialize;

use crate::run::{CaseReport, Outcome, Refusals};
use crate::sync::{Limits, Profile};
use crate::target::Target;

pub const SCHEMA: &str = "syncstorage-harness/conformance-report";
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct TargetSummary {
    pub label: String,
    pub url: String,
    pub limits: Limits,
    pub quota: Option<u64>,
    pub test_clock: bool,
}

impl From<&Target> for TargetSummary {
    fn from(t: &Target) -> Self {
        Self {
            label: t.label.clone(),
            url: t.client.target().to_string(),
            limits: t.limits.clone(),
            quota: t.quota,
            test_clock: t.test_clock,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub compat: usize,
    /// Cases after which a database invariant returned rows.
    pub invariant_violations: usize,
    /// Cases after which the invariant checks could not run at all.
    pub invariant_errors: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unchecked {
    pub clause: &'static str,
    pub reason: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub schema: &'static str,
    pub schema_version: u32,
    pub harness_version: &'static str,
    pub seed: u64,
    pub profile: Profile,
    pub targets: Vec<TargetSummary>,
    /// First and one-past-last uid the run used.
    pub uid_range: [u64; 2],
    /// Write refusals (409, or 503 with Retry-After) met by all cases, and what became of them.
    pub refusals: Refusals,
    /// A command that runs the same cases with the same seed.
    pub replay: String,
    /// The replay command before its `--filter`s: add `--filter CLAUSE` to replay one clause.
    pub replay_base: String,
    pub started_at_unix: u64,
    pub duration_ms: u64,
    pub counts: Counts,
    pub cases: Vec<CaseReport>,
    pub unchecked: Vec<Unchecked>,
}

impl Counts {
    pub fn of(cases: &[CaseReport]) -> Self {
        let mut c = Counts::default();
        for case in cases {
            match case.outcome {
                Outcome::Pass => c.passed += 1,
                Outcome::Compat => c.compat += 1,
                Outcome::Fail { .. } => c.failed += 1,
                Outcome::Skip { .. } => c.skipped += 1,
            }
            if !case.violations.is_empty() {
                c.invariant_violations += 1;
            }
            if case.invariant_error.is_some() {
                c.invariant_errors += 1;
            }
        }
        c
    }
}
