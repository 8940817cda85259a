//! SPEC area F: batch uploads.

use crate::conformance::Case;

/// Clauses of area F that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

pub fn cases() -> Vec<Case> {
    vec![]
}
