//! Which behaviour a run expects of the server: the SPEC rules alone, or also the behaviours
//! of syncstorage-rs that the SPEC lists as its Compat lines.

use std::fmt;

/// Which behaviour the run expects (SPEC preface).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// The SPEC rule, everywhere.
    Spec,
    /// The rule, or the clause's "Compat (syncstorage-rs)" line, reported as `compat`.
    #[serde(rename = "syncstorage-rs")]
    SyncstorageRs,
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Spec => "spec",
            Profile::SyncstorageRs => "syncstorage-rs",
        })
    }
}
