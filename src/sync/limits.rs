//! The limits a server publishes in info/configuration (SPEC preface table, A-06).

use serde::Serialize;

/// The limits of the SPEC preface table, as the target publishes them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Limits {
    pub max_post_records: u64,
    pub max_post_bytes: u64,
    pub max_record_payload_bytes: u64,
    pub max_request_bytes: u64,
    pub max_total_records: u64,
    pub max_total_bytes: u64,
    pub max_quota_limit: Option<u64>,
}
