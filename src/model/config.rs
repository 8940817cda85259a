//! What the model is set up with and what it reports: the run's configuration and a divergence
//! from SPEC. Every other model file builds on these.

use crate::sync::{Limits, Profile};

/// Where an answer parts from what SPEC allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The clause the answer breaks.
    pub clause: &'static str,
    pub message: String,
    /// What SPEC allows (one line).
    pub expected: String,
    /// What came back (one line).
    pub actual: String,
}

/// How the model is set up for a run.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// Users by index; index `i` is the run's `i`th fuzz user.
    pub users: usize,
    pub limits: Limits,
    /// The enforced quota in bytes, when the target enforces one.
    pub quota: Option<u64>,
    pub profile: Profile,
    /// Whether `Wait` moves a test clock (exact) or real time passes (approximate).
    pub test_clock: bool,
}

/// How far, in hundredths, the instant a server decides an expiry may lie from the stamp of its
/// answer on a real clock (G-01): the driver reports no elapsed time, so the model allows a
/// second either way. With a test clock the stamp is the instant.
pub const CLOCK_SLACK_CS: i64 = 100;
