//! Concurrent writes against the reference backend (I-04, I-05, J-15, K-02): no 5xx, distinct
//! timestamps, collection ts at or above every record's, and a consistent database.

mod common;

use std::collections::HashSet;

use common::{Check, TestServer, assert_invariants, get, send};
use futures_util::future::join_all;
use serde_json::json;
use syncstorage_harness::client::SyncRequest;

const PARALLEL: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_first_writes_to_one_new_collection_get_distinct_timestamps() {
    let server = TestServer::start().await;
    let user = server.user();
    let requests = (0..PARALLEL).map(|i| {
        let user = user.clone();
        async move {
            let req = SyncRequest::put(format!("storage/fresh/rec{i}")).json(&json!({ "payload": format!("p{i}") }));
            user.send(req).await.expect("request")
        }
    });
    let responses = join_all(requests).await;
    let mut stamps = HashSet::new();
    let mut highest = 0.0f64;
    for resp in &responses {
        resp.status_is(200);
        let t = resp.ts_header("x-last-modified");
        highest = highest.max(t);
        assert!(stamps.insert(resp.header_str("x-last-modified")), "I-04: shared timestamp\n{}", resp.transcript());
    }
    let info = get(&user, "info/collections").await;
    info.status_is(200);
    let coll_ts = info.json_body()["fresh"].as_f64().expect("fresh listed");
    assert_eq!(coll_ts, highest, "I-05: collection ts is the latest write");
    let listing = get(&user, "storage/fresh?full=1").await;
    let items = listing.status_is(200).json_body();
    assert_eq!(items.as_array().map(Vec::len), Some(PARALLEL));
    for item in items.as_array().into_iter().flatten() {
        assert!(item["modified"].as_f64().expect("modified") <= coll_ts, "I-05");
    }
    assert_invariants(&server, &[user.uid()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_users_creating_one_new_collection_name_share_one_id() {
    let server = TestServer::start().await;
    let name = format!("shared{}", rand::random::<u32>());
    let users: Vec<_> = (0..PARALLEL).map(|_| server.user()).collect();
    let requests = users.iter().map(|user| {
        let req = SyncRequest::post(format!("storage/{name}")).json(&json!([{ "id": "a", "payload": "x" }]));
        let user = user.clone();
        async move { user.send(req).await.expect("request") }
    });
    for resp in join_all(requests).await {
        resp.status_is(200);
        assert_eq!(resp.json_body()["success"], json!(["a"]), "{}", resp.transcript());
    }
    let db = server.db().await;
    let ids = db.query("SELECT collection_id FROM collections WHERE name = $1", &[&name]).await.expect("collections query");
    assert_eq!(ids.len(), 1, "one id per name");
    let id: i32 = ids[0].get(0);
    assert!(id >= 101, "custom collections are numbered from 101 (K-01), got {id}");
    for user in &users {
        let resp = get(user, &format!("storage/{name}")).await;
        assert_eq!(resp.status_is(200).json_body(), json!(["a"]));
        assert_invariants(&server, &[user.uid()]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_writes_to_several_collections_never_share_a_timestamp() {
    let server = TestServer::start().await;
    let user = server.user();
    let requests = (0..PARALLEL).map(|i| {
        let user = user.clone();
        async move {
            let coll = format!("c{}", i % 4);
            let req = SyncRequest::post(format!("storage/{coll}")).json(&json!([{ "id": format!("r{i}"), "payload": "é".repeat(i + 1) }]));
            user.send(req).await.expect("request")
        }
    });
    let responses = join_all(requests).await;
    let mut stamps = HashSet::new();
    for resp in &responses {
        resp.status_is(200);
        assert!(stamps.insert(resp.header_str("x-last-modified")), "I-04\n{}", resp.transcript());
        assert_eq!(resp.header("x-last-modified"), resp.header("x-weave-timestamp"), "D-02");
    }
    let info = get(&user, "info/collections").await;
    let storage_ts = info.status_is(200).ts_header("x-last-modified");
    let highest = stamps.iter().map(|s| s.parse::<f64>().expect("ts")).fold(0.0, f64::max);
    assert_eq!(storage_ts, highest, "I-05: storage ts is the latest T");
    assert_invariants(&server, &[user.uid()]).await;
    // Usage counts bytes, not characters: 'é' is two bytes in UTF-8.
    let usage = get(&user, "info/collection_usage").await.json_body();
    let total_kb: f64 = usage.as_object().expect("map").values().filter_map(|v| v.as_f64()).sum();
    let expected_bytes: usize = (1..=PARALLEL).map(|n| 2 * n).sum();
    assert!((total_kb * 1024.0 - expected_bytes as f64).abs() < 1e-6, "A-04 counts UTF-8 bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batch_commits_and_deletes_stay_consistent() {
    let server = TestServer::start().await;
    let user = server.user();
    let mut batches = Vec::new();
    for i in 0..4 {
        let resp =
            send(&user, SyncRequest::post("storage/mixed?batch=true").json(&json!([{ "id": format!("b{i}"), "payload": "staged" }]))).await;
        batches.push(resp.status_is(202).json_body()["batch"].as_str().expect("batch id").to_owned());
    }
    let commits = batches.iter().map(|b| {
        let user = user.clone();
        let path = format!("storage/mixed?batch={b}&commit=true");
        async move { user.send(SyncRequest::post(path).json(&json!([]))).await.expect("commit") }
    });
    let deletes = (0..4).map(|i| {
        let user = user.clone();
        async move { user.send(SyncRequest::delete(format!("storage/other{i}"))).await.expect("delete") }
    });
    let (commits, deletes) = tokio::join!(join_all(commits), join_all(deletes));
    for resp in commits.iter().chain(deletes.iter()) {
        assert!(resp.status_code() < 500, "J-15: no 5xx\n{}", resp.transcript());
    }
    let mut stamps = HashSet::new();
    for resp in &commits {
        resp.status_is(200);
        assert!(stamps.insert(resp.header_str("x-last-modified")), "I-04");
    }
    let listing = get(&user, "storage/mixed").await.json_body();
    assert_eq!(listing.as_array().map(Vec::len), Some(4));
    assert_invariants(&server, &[user.uid()]).await;
}
