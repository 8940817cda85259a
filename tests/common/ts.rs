//! Server timestamps as integers, so tests compare them exactly: hundredths of a second (`cs`,
//! the 10 ms grid of I-01) or milliseconds (`ms`).

use serde_json::Value;
use syncstorage_harness::client::{SyncResponse, SyncUser};

use super::{Check, put_json};

/// A server ts as hundredths of a second, from its two-decimal text (I-01).
pub fn cs(raw: &str) -> i64 {
    let (int, frac) = raw.split_once('.').unwrap_or_else(|| panic!("ts without decimals: {raw:?}"));
    assert!(
        !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.len() == 2 && frac.bytes().all(|b| b.is_ascii_digit()),
        "ts is not digits with two decimals: {raw:?}"
    );
    int.parse::<i64>().expect("int") * 100 + frac.parse::<i64>().expect("frac")
}

/// A JSON number ts as hundredths of a second.
pub fn cs_json(v: &Value) -> i64 {
    (v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) * 100.0).round() as i64
}

/// Hundredths of a second as a two-decimal ts.
pub fn ts_text(cs: i64) -> String {
    format!("{}.{:02}", cs / 100, cs % 100)
}

/// A server ts in milliseconds.
pub fn ms_of(ts: f64) -> i64 {
    (ts * 100.0).round() as i64 * 10
}

/// `X-Last-Modified` in hundredths of a second; it must be present and on the I-01 format.
pub fn last_modified(resp: &SyncResponse) -> i64 {
    cs(&resp.header_str("x-last-modified"))
}

/// PUTs a record, which must answer 200, and returns its T.
pub async fn put_ok(user: &SyncUser, path: &str, body: Value) -> i64 {
    let resp = put_json(user, path, body).await;
    last_modified(resp.status_is(200))
}
