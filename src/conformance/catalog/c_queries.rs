//! SPEC area C: query parameters.

use crate::conformance::Case;

/// Clauses of area C that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

pub fn cases() -> Vec<Case> {
    vec![]
}
