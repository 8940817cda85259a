//! SPEC area I: timestamps.

use crate::conformance::Case;

/// Clauses of area I that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

pub fn cases() -> Vec<Case> {
    vec![]
}
