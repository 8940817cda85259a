//! What became of one check of a run (a conformance case today): its outcome, the failing
//! variants, the refusals it met, the invariants it left violated and its transcripts. Every
//! reporter reads these.

use serde::Serialize;

use crate::invariants::Violation;
use crate::run::{Failure, Refusals};

/// One failing variant of a case made of independent variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariantFailure {
    pub name: String,
    #[serde(flatten)]
    pub failure: Failure,
    pub transcripts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    /// Passed only by accepting a "Compat (syncstorage-rs)" line.
    Compat,
    Fail {
        failure: Failure,
    },
    Skip {
        reason: String,
    },
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Compat => "compat",
            Outcome::Fail { .. } => "fail",
            Outcome::Skip { .. } => "skip",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub clause: &'static str,
    pub title: &'static str,
    pub upstream: Vec<&'static str>,
    pub target: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub duration_ms: u64,
    pub uids: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compat: Vec<String>,
    /// The failing variants of a case made of independent variants, each with its transcript.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantFailure>,
    /// Write refusals the case met and what became of them.
    #[serde(skip_serializing_if = "Refusals::is_empty")]
    pub refusals: Refusals,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    /// Why the invariant checks after this case could not run (a setup error, not a violation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invariant_error: Option<String>,
    /// Request/response transcripts, kept for failures only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transcripts: Vec<String>,
    #[serde(skip)]
    pub judges_refusals: bool,
}

impl CaseReport {
    pub fn area(&self) -> char {
        self.clause.chars().next().unwrap_or('?')
    }

    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Fail { .. })
    }
}
