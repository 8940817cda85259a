//! SPEC area H against the reference backend: quota (H-01 to H-08), with small limits so that a
//! few writes reach them, sizes in UTF-8 bytes, and the K-invariants checked after each scenario.

mod common;

use std::collections::BTreeMap;

use common::batch::{append, batch_id, commit, start_batch};
use common::read::{records, storage_state};
use common::{Check, TestServer, assert_invariants, delete, get, post_json, put_json};
use serde_json::{Value, json};
use syncstorage_harness::client::{SyncRequest, SyncResponse, SyncUser};

// ---- local helpers -------------------------------------------------------------------------

async fn heartbeat(server: &TestServer) -> Value {
    let resp = server.client.send(SyncRequest::get("/__heartbeat__")).await.expect("heartbeat");
    resp.status_is(200).json_body()
}

/// `[used, limit]` of info/quota.
async fn info_quota(user: &SyncUser) -> (f64, Value) {
    let body = get(user, "info/quota").await.status_is(200).json_body();
    (body[0].as_f64().expect("used"), body[1].clone())
}

/// X-Weave-Quota-Remaining in KB; it must be present.
fn remaining_kb(resp: &SyncResponse) -> f64 {
    resp.ts_header("x-weave-quota-remaining")
}

/// The header carries two decimals of KB: compare to the byte count within that rounding.
fn assert_remaining(resp: &SyncResponse, limit: u64, used_bytes: u64) {
    let want = (limit - used_bytes) as f64 / 1024.0;
    let got = remaining_kb(resp);
    assert!((got - want).abs() <= 0.005 + 1e-9, "D-13/H-07: remaining {got} KB, expected {want:.4}\n{}", resp.transcript());
}

// ---- H-01 ----------------------------------------------------------------------------------

// H-01: where the spec is silent quota is optional and off by default; heartbeat says which.
#[tokio::test]
async fn h_01_quota_is_off_by_default_and_heartbeat_reports_it() {
    let off = TestServer::start().await;
    assert_eq!(heartbeat(&off).await["quota"], json!({ "enabled": false, "size": 2_097_152_000u64 }));
    let on = TestServer::with(|c| c.quota_limit = Some(4096)).await;
    assert_eq!(heartbeat(&on).await["quota"], json!({ "enabled": true, "size": 4096 }));
}

// ---- H-02 ----------------------------------------------------------------------------------

// H-02
#[tokio::test]
async fn h_02_heartbeat_configuration_and_info_quota_agree_on_the_quota() {
    let server = TestServer::with(|c| c.quota_limit = Some(4096)).await;
    let user = server.user();
    let config = get(&user, "info/configuration").await.status_is(200).json_body();
    assert_eq!(config["max_quota_limit"], 4096, "H-02: advertised as max_quota_limit");
    assert_eq!(heartbeat(&server).await["quota"]["size"], 4096);
    assert_eq!(info_quota(&user).await.1, json!(4.0), "H-02/H-06: the same limit in KB");

    let default = TestServer::start().await;
    let user = default.user();
    let config = get(&user, "info/configuration").await.status_is(200).json_body();
    assert_eq!(config["max_quota_limit"], 2_097_152_000u64, "H-02: the default per-user byte count");
}

// ---- H-03 ----------------------------------------------------------------------------------

// H-03: where the spec is silent usage is measured before the write, so one write may cross the
// limit; the next is refused. Deletes always work.
#[tokio::test]
async fn h_03_over_quota_writes_get_400_14_and_deletes_still_work() {
    let server = TestServer::with(|c| c.quota_limit = Some(100)).await;
    let user = server.user();
    put_json(&user, "storage/h03/a", json!({ "payload": "a".repeat(60) })).await.status_is(200);
    put_json(&user, "storage/h03/b", json!({ "payload": "b".repeat(60) })).await.status_is(200);
    put_json(&user, "storage/other/o", json!({ "payload": "" })).await.weave_error(400, 14);
    let before = storage_state(&user).await;

    put_json(&user, "storage/h03/c", json!({ "payload": "c" })).await.weave_error(400, 14);
    put_json(&user, "storage/h03/a", json!({ "payload": "" })).await.weave_error(400, 14);
    post_json(&user, "storage/h03", json!([{ "id": "d", "payload": "d" }])).await.weave_error(400, 14);
    post_json(&user, "storage/h03?batch=true&commit=true", json!([{ "id": "e", "payload": "e" }])).await.weave_error(400, 14);
    start_batch(&user, "h03", json!([{ "id": "f", "payload": "f" }])).await.weave_error(400, 14);
    assert_eq!(storage_state(&user).await, before, "H-03: refused writes write nothing");
    let stored = records(&user, "h03").await;
    assert_eq!(stored.keys().collect::<Vec<_>>(), vec!["a", "b"]);
    assert_eq!(stored["a"]["payload"], "a".repeat(60));

    delete(&user, "storage/h03/b").await.status_is(200);
    put_json(&user, "storage/h03/c", json!({ "payload": "c" })).await.status_is(200);
    // Every kind of delete works while over the limit.
    put_json(&user, "storage/h03/g", json!({ "payload": "g".repeat(60) })).await.status_is(200);
    put_json(&user, "storage/h03/h", json!({ "payload": "h" })).await.weave_error(400, 14);
    delete(&user, "storage/h03?ids=c").await.status_is(200);
    // K-13: the delete's totals, before a later write recomputes them.
    assert_invariants(&server, &[user.uid()]).await;
    delete(&user, "storage/h03").await.status_is(200);
    put_json(&user, "storage/h03/i", json!({ "payload": "i".repeat(120) })).await.status_is(200);
    delete(&user, "storage").await.status_is(200);
    put_json(&user, "storage/h03/j", json!({ "payload": "j" })).await.status_is(200);
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- H-04 ----------------------------------------------------------------------------------

// H-04
#[tokio::test]
async fn h_04_usage_is_the_bytes_of_live_payloads() {
    let server = TestServer::with(|c| c.quota_limit = Some(10)).await;

    // 10 bytes in 5 characters reach the limit of 10 bytes.
    let full = server.user();
    put_json(&full, "storage/h04/a", json!({ "payload": "ééééé" })).await.status_is(200);
    assert_eq!(info_quota(&full).await.0, 10.0 / 1024.0, "A-03: used is bytes / 1024");
    put_json(&full, "storage/h04/b", json!({ "payload": "x" })).await.weave_error(400, 14);

    // One byte below the limit (9 bytes, 5 characters): the next write passes.
    let below = server.user();
    put_json(&below, "storage/h04/a", json!({ "payload": "ééééa" })).await.status_is(200);
    put_json(&below, "storage/h04/b", json!({ "payload": "x" })).await.status_is(200);
    put_json(&below, "storage/h04/c", json!({ "payload": "x" })).await.weave_error(400, 14);

    // Only live payloads count: once the record expires the user is below the limit again.
    let expiring = server.user();
    put_json(&expiring, "storage/h04/a", json!({ "payload": "0123456789", "ttl": 5 })).await.status_is(200);
    put_json(&expiring, "storage/h04/b", json!({ "payload": "x" })).await.weave_error(400, 14);
    server.advance_ms(5_100).await;
    assert_eq!(info_quota(&expiring).await.0, 0.0);
    put_json(&expiring, "storage/h04/b", json!({ "payload": "x" })).await.status_is(200);

    // An overwrite counts the current payload, not the history.
    let shrinking = server.user();
    put_json(&shrinking, "storage/h04/a", json!({ "payload": "0123456789" })).await.status_is(200);
    delete(&shrinking, "storage/h04/a").await.status_is(200);
    put_json(&shrinking, "storage/h04/a", json!({ "payload": "012345678" })).await.status_is(200);
    put_json(&shrinking, "storage/h04/a", json!({ "payload": "0" })).await.status_is(200);
    assert_eq!(info_quota(&shrinking).await.0, 1.0 / 1024.0);
    for user in [&full, &below, &expiring, &shrinking] {
        assert_invariants(&server, &[user.uid()]).await;
    }
}

// ---- H-05 ----------------------------------------------------------------------------------

// H-05: where the spec is silent quota may be tracked without enforcement; the reference tracks
// usage when no limit is set and never answers 14. (Writing past the advertised 2,097,152,000
// bytes is out of reach of a fast test; the reference has no code path that could refuse it.)
#[tokio::test]
async fn h_05_tracked_but_not_enforced_quota_never_refuses() {
    let server = TestServer::start().await;
    let user = server.user();
    let big = "é".repeat(512 * 1024);
    for i in 0..3 {
        let resp = put_json(&user, &format!("storage/h05/r{i}"), json!({ "payload": big })).await;
        resp.status_is(200);
        assert!(resp.header("x-weave-quota-remaining").is_none(), "D-13: never without quota\n{}", resp.transcript());
    }
    let (used, limit) = info_quota(&user).await;
    assert_eq!(used, 3.0 * 1024.0, "H-05: usage is tracked (3 MB of two-byte characters)");
    assert_eq!(limit, Value::Null, "H-06: no enforced limit");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- H-06 ----------------------------------------------------------------------------------

// H-06
#[tokio::test]
async fn h_06_info_quota_holds_the_limit_in_kb_or_null() {
    let on = TestServer::with(|c| c.quota_limit = Some(4096)).await;
    let user = on.user();
    put_json(&user, "storage/h06/a", json!({ "payload": "é".repeat(768) })).await.status_is(200);
    assert_eq!(info_quota(&user).await, (1.5, json!(4.0)), "H-06: [1536 bytes in KB, 4096 bytes in KB]");
    let off = TestServer::start().await;
    let user = off.user();
    put_json(&user, "storage/h06/a", json!({ "payload": "é".repeat(768) })).await.status_is(200);
    assert_eq!(info_quota(&user).await, (1.5, Value::Null), "H-06: null without enforcement");
}

// ---- H-07 ----------------------------------------------------------------------------------

// H-07
#[tokio::test]
async fn h_07_quota_remaining_follows_put_post_and_commit() {
    let server = TestServer::with(|c| c.quota_limit = Some(4096)).await;
    let user = server.user();
    let resp = put_json(&user, "storage/h07/a", json!({ "payload": "a".repeat(100) })).await;
    assert_remaining(resp.status_is(200), 4096, 100);
    let first = remaining_kb(&resp);
    let resp = put_json(&user, "storage/h07/b", json!({ "payload": "é".repeat(512) })).await;
    assert_remaining(resp.status_is(200), 4096, 1124);
    assert!((first - remaining_kb(&resp) - 1.0).abs() < 0.011, "D-13: falls by the payload KB");
    let resp = post_json(&user, "storage/h07", json!([{ "id": "c", "payload": "c".repeat(512) }])).await;
    assert_remaining(resp.status_is(200), 4096, 1636);
    let id = batch_id(&start_batch(&user, "h07", json!([{ "id": "d", "payload": "d".repeat(1024) }])).await);
    let resp = commit(&user, "h07", &id, json!([])).await;
    assert_remaining(resp.status_is(200), 4096, 2660);

    // Without quota the header never appears.
    let off = TestServer::start().await;
    let user = off.user();
    let mut answers = vec![
        put_json(&user, "storage/h07/a", json!({ "payload": "a" })).await,
        post_json(&user, "storage/h07", json!([{ "id": "b", "payload": "b" }])).await,
    ];
    let id = batch_id(&start_batch(&user, "h07", json!([{ "id": "c", "payload": "c" }])).await);
    answers.push(commit(&user, "h07", &id, json!([])).await);
    answers.push(delete(&user, "storage/h07/a").await);
    answers.push(delete(&user, "storage/h07").await);
    for resp in &answers {
        assert!(resp.status_code() < 300, "{}", resp.transcript());
        assert!(resp.header("x-weave-quota-remaining").is_none(), "D-13: never without quota\n{}", resp.transcript());
    }
}

// H-07: D-13 says every successful write carries the remaining quota, and D-02 counts DELETEs
// among the writes (A-14: the wipe is a write too).
#[tokio::test]
async fn h_07_quota_remaining_follows_deletes() {
    let server = TestServer::with(|c| c.quota_limit = Some(4096)).await;
    let user = server.user();
    for (id, n) in [("a", 100), ("b", 200), ("c", 300)] {
        put_json(&user, &format!("storage/h07/{id}"), json!({ "payload": "x".repeat(n) })).await.status_is(200);
    }
    put_json(&user, "storage/other/d", json!({ "payload": "x".repeat(400) })).await.status_is(200);
    let resp = delete(&user, "storage/h07/a").await;
    assert_remaining(resp.status_is(200), 4096, 900);
    let resp = delete(&user, "storage/h07?ids=b").await;
    assert_remaining(resp.status_is(200), 4096, 700);
    let resp = delete(&user, "storage/h07").await;
    assert_remaining(resp.status_is(200), 4096, 400);
    let resp = delete(&user, "storage").await;
    assert_remaining(resp.status_is(200), 4096, 0);
}

// ---- H-08 ----------------------------------------------------------------------------------

// H-08: where the spec is silent an append is judged on committed usage plus the batch's staged
// bytes (a restaged id once) plus the request; reaching the limit gives 400/14.
#[tokio::test]
async fn h_08_batch_appends_count_committed_staged_and_requested_bytes() {
    let server = TestServer::with(|c| c.quota_limit = Some(100)).await;

    let user = server.user();
    let id = batch_id(&start_batch(&user, "h08", json!([{ "id": "a", "payload": "é".repeat(20) }])).await);
    append(&user, "h08", &id, json!([{ "id": "b", "payload": "b".repeat(40) }])).await.status_is(202);
    // Restaging `a` with as many bytes keeps the batch at 80, not 120.
    append(&user, "h08", &id, json!([{ "id": "a", "payload": "a".repeat(40) }])).await.status_is(202);
    // 99 bytes: just below.
    append(&user, "h08", &id, json!([{ "id": "c", "payload": "c".repeat(19) }])).await.status_is(202);
    // 100 bytes: reaching the limit is refused.
    append(&user, "h08", &id, json!([{ "id": "d", "payload": "d" }])).await.weave_error(400, 14);
    commit(&user, "h08", &id, json!([])).await.status_is(200);
    let stored = records(&user, "h08").await;
    assert_eq!(stored.keys().collect::<Vec<_>>(), vec!["a", "b", "c"], "H-08: nothing of the refused append");
    assert_eq!(stored["a"]["payload"], "a".repeat(40));
    assert_eq!(info_quota(&user).await.0, 99.0 / 1024.0);
    assert_invariants(&server, &[user.uid()]).await;

    // Committed usage counts too.
    let other = server.user();
    put_json(&other, "storage/h08/x", json!({ "payload": "x".repeat(50) })).await.status_is(200);
    let id = batch_id(&start_batch(&other, "h08", json!([{ "id": "y", "payload": "é".repeat(24) }, { "id": "w", "payload": "w" }])).await);
    append(&other, "h08", &id, json!([{ "id": "z", "payload": "z" }])).await.weave_error(400, 14);
    commit(&other, "h08", &id, json!([])).await.status_is(200);
    let stored: BTreeMap<String, Value> = records(&other, "h08").await;
    assert_eq!(stored.keys().collect::<Vec<_>>(), vec!["w", "x", "y"]);
    assert_invariants(&server, &[other.uid()]).await;
}
