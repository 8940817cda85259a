//! SPEC area B: record (BSO) fields and validation.

use crate::conformance::Case;

/// Clauses of area B that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

pub fn cases() -> Vec<Case> {
    vec![]
}
