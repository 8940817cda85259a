//! Server settings: the published limits, quota (area H), batch lifetime (F-16), Hawk
//! skew, the test clock, and the test-only faults the harness uses to prove its catalog can fail.

use std::time::Duration;

use serde::Serialize;

/// Limits published in `info/configuration` and enforced by the handlers. Defaults match
/// syncstorage-rs (SPEC preface table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub max_post_records: u64,
    pub max_post_bytes: u64,
    pub max_record_payload_bytes: u64,
    pub max_request_bytes: u64,
    pub max_total_records: u64,
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_post_records: 100,
            max_post_bytes: 2_621_440,
            max_record_payload_bytes: 2_621_440,
            max_request_bytes: 2_625_536,
            max_total_records: 10_000,
            max_total_bytes: 262_144_000,
        }
    }
}

/// Default per-user quota in bytes, advertised as `max_quota_limit` (H-02).
pub const DEFAULT_QUOTA_BYTES: u64 = 2_097_152_000;

/// Deliberate misbehaviours, switched on only by tests of the harness itself, so that the
/// conformance catalog can be shown to catch real faults. All are off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// `newer` keeps records at or after the given ts instead of strictly after it (C-03).
    pub newer_inclusive: bool,
    /// Deleting a record leaves `user_collections.count` as it was (K-13).
    pub stale_count_on_delete: bool,
    /// `X-If-Unmodified-Since` is not checked on POST (D-06).
    pub ignore_unmodified_since_on_post: bool,
    /// A batch commit applies staged records even when the rest of the commit fails (K-06).
    pub non_atomic_commit: bool,
    /// `total_bytes` and quota usage count characters instead of UTF-8 bytes (K-14).
    pub bytes_as_chars: bool,
    /// A write whose T would not be above the storage ts answers 503/0 with `Retry-After`
    /// instead of waiting for the next tick, as syncstorage-rs does (I-04).
    pub unavailable_same_tick: bool,
    /// PUT, POST and commit store characters above U+FFFF as U+FFFD (E-11).
    pub mangle_astral: bool,
    /// A listing with `ids` ignores `older` (C-02 with C-04). Each filter alone works.
    pub ids_ignore_older: bool,
    /// A listing with `ids` ignores `newer` (C-02 with C-03). Each filter alone works.
    pub ids_ignore_newer: bool,
    /// A plain PUT or POST to a collection discards the batches open there, so their commit
    /// fails (F-05, F-19 applies to deletes only). A batch alone and a write alone both work.
    pub write_discards_batches: bool,
    /// A batch commit does not take the user's write lock, so a commit and a plain write running
    /// at once may share a T and undercount the collection (I-04, K-13). Sequentially invisible.
    pub unlocked_commit: bool,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Master secret shared with the token server; tokens are verified against it.
    pub secret: String,
    pub limits: Limits,
    /// Per-user quota in bytes; `None` means quota is tracked but not enforced (H-01, H-05).
    pub quota_limit: Option<u64>,
    /// How long a batch may stay open (F-16). At most two hours (K-22).
    pub batch_lifetime: Duration,
    /// Largest accepted difference between a Hawk header's `ts` and the wall clock.
    pub hawk_skew: Duration,
    /// Enables the loopback-only `/__test__/clock` admin endpoint.
    pub test_clock: bool,
    pub faults: Faults,
}

impl Config {
    pub fn new(secret: impl Into<String>) -> Self {
        Self {
            secret: secret.into(),
            limits: Limits::default(),
            quota_limit: None,
            batch_lifetime: Duration::from_secs(2 * 60 * 60),
            hawk_skew: Duration::from_secs(60),
            test_clock: false,
            faults: Faults::default(),
        }
    }

    /// The quota size reported by heartbeat, configuration and info/quota (H-02).
    pub fn quota_size(&self) -> u64 {
        self.quota_limit.unwrap_or(DEFAULT_QUOTA_BYTES)
    }
}
