//! SPEC area E: POST semantics (not batched).

use crate::conformance::Case;

/// Clauses of area E that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

pub fn cases() -> Vec<Case> {
    vec![]
}
