//! SPEC area D: headers.

use crate::conformance::Case;

/// Clauses of area D that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

pub fn cases() -> Vec<Case> {
    vec![]
}
