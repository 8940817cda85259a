//! SPEC area J: error responses.

use crate::conformance::Case;

/// Clauses of area J that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

pub fn cases() -> Vec<Case> {
    vec![]
}
