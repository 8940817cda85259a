//! SPEC area G: TTL and expiry.

use crate::conformance::Case;

/// Clauses of area G that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

pub fn cases() -> Vec<Case> {
    vec![]
}
