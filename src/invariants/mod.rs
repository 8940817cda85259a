//! Read-only SQL checks of SPEC area K on a live database: each invariant is a named query that
//! returns the violating rows, so a report can show them.

mod audit;
mod checks;

pub use audit::{Audit, Finding, audit};
pub use checks::{Checker, INVARIANTS, Invariant, InvariantError, Violation};
