//! SPEC area K on the test database, checked by the product's own `Checker` (K-17 to K-28) for
//! the users a test wrote, on the server's clock, so that the tests and the harness agree on
//! what the invariants are.

use std::time::{Duration, UNIX_EPOCH};

use syncstorage_harness::invariants::{Checker, Violation};

use super::{TestServer, database_url};

/// Every invariant the users break, with the violating rows. `now` for K-22 is the latest
/// test-clock time of the users on `server` (a test may have moved one user's clock ahead).
pub async fn violations(server: &TestServer, uids: &[u64]) -> Vec<Violation> {
    let mut now_ms = 0;
    for &uid in uids {
        now_ms = now_ms.max(server.now_ms_for(uid).await);
    }
    let now = UNIX_EPOCH + Duration::from_millis(u64::try_from(now_ms).expect("clock after the epoch"));
    let uids: Vec<i64> = uids.iter().map(|&uid| i64::try_from(uid).expect("uid fits a bigint")).collect();
    let checker = Checker::connect(database_url(), true).await.unwrap_or_else(|e| panic!("failed to {e}"));
    checker.check_at(&uids, now).await.unwrap_or_else(|e| panic!("failed to {e}"))
}

/// One line per violating row: `K-28 totals-match-live-records: user_id=… collection_id=…`.
pub fn render(found: &[Violation]) -> String {
    let lines: Vec<String> = found.iter().flat_map(|v| v.rows.iter().map(move |row| format!("{} {}: {row}", v.clause, v.name))).collect();
    lines.join("\n")
}

/// Panics with the violating rows when the users break any invariant of K-17 to K-28.
pub async fn assert_invariants(server: &TestServer, uids: &[u64]) {
    let found = violations(server, uids).await;
    assert!(found.is_empty(), "database invariants violated for uids {uids:?}:\n{}", render(&found));
}
