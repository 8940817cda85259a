//! Process exit codes, as named constants so that scripts and CI can tell outcomes apart.

/// Everything ran and passed.
pub const OK: u8 = 0;
/// At least one conformance case failed.
pub const CONFORMANCE_FAILED: u8 = 1;
/// A database invariant was violated.
pub const INVARIANT_VIOLATED: u8 = 2;
/// The run could not start or continue: bad flags, unreachable target, wrong secret, no database.
pub const SETUP_ERROR: u8 = 3;
