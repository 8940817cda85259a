//! SPEC area I against the reference backend: timestamps (I-01 to I-10): the 10 ms grid, one
//! clock, one T per write, strictly rising storage ts, and how batches and deletes move it.

mod common;

use std::collections::BTreeMap;

use common::batch::{batch_id, batch_post, new_batch, start_batch};
use common::read::records;
use common::ts::ms_of;
use common::{Check, TestServer, assert_invariants, delete, get, post_json, put_json, send};
use serde_json::{Value, json};
use syncstorage_harness::client::{SyncRequest, SyncResponse, SyncUser};

// ---- local helpers -------------------------------------------------------------------------

/// I-01: digits, a dot and exactly two decimals.
fn two_decimals(s: &str) -> bool {
    let Some((int, frac)) = s.split_once('.') else { return false };
    !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.len() == 2 && frac.bytes().all(|b| b.is_ascii_digit())
}

/// The raw text of every number that follows `"key":` in a JSON body.
fn raw_numbers_after(body: &str, key: &str) -> Vec<String> {
    let needle = format!("\"{key}\":");
    body.match_indices(&needle)
        .map(|(at, _)| {
            let rest = body[at + needle.len()..].trim_start();
            rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-' || *c == 'e').collect()
        })
        .collect()
}

/// Every ts a response carries that is not on the I-01 format: the ts headers, and the raw
/// numbers after each of `keys` in the body.
fn ts_format_problems(resp: &SyncResponse, keys: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for name in ["x-weave-timestamp", "x-last-modified"] {
        if let Some(v) = resp.header(name) {
            if !two_decimals(v) {
                problems.push(format!("{name}: {v}"));
            }
        }
    }
    let body = resp.text();
    for key in keys {
        let found = raw_numbers_after(&body, key);
        if found.is_empty() {
            problems.push(format!("no {key} in the body"));
        }
        problems.extend(found.into_iter().filter(|n| !two_decimals(n)).map(|n| format!("body {key}: {n}")));
    }
    problems
}

fn assert_ts_format(resp: &SyncResponse, keys: &[&str]) {
    let problems = ts_format_problems(resp, keys);
    assert!(problems.is_empty(), "I-01: {problems:?}\n{}", resp.transcript());
}

async fn storage_ts(user: &SyncUser) -> f64 {
    get(user, "info/collections").await.status_is(200).ts_header("x-last-modified")
}

// ---- I-01 ----------------------------------------------------------------------------------

// I-01
#[tokio::test]
async fn i_01_every_timestamp_has_two_decimals() {
    let server = TestServer::start().await;
    let user = server.user();
    let mut seen = Vec::new();
    let put = put_json(&user, "storage/i01/a", json!({ "payload": "a", "sortindex": 1 })).await;
    assert!(two_decimals(put.status_is(200).text().trim()), "I-01: PUT body\n{}", put.transcript());
    seen.push((put, vec![]));
    // Write answers' bodies are checked at a round T below; here their headers.
    seen.push((post_json(&user, "storage/i01", json!([{ "id": "b", "payload": "b" }])).await, vec![]));
    let start = start_batch(&user, "i01", json!([{ "id": "c", "payload": "c" }])).await;
    let id = batch_id(&start);
    seen.push((start, vec![]));
    seen.push((send(&user, batch_post("i01", &id, true).json(&json!([]))).await, vec![]));
    seen.push((get(&user, "storage/i01/a").await, vec!["modified"]));
    seen.push((get(&user, "storage/i01?full=1").await, vec!["modified"]));
    seen.push((send(&user, SyncRequest::get("storage/i01?full=1").header("Accept", "application/newlines")).await, vec!["modified"]));
    seen.push((get(&user, "info/collections").await, vec!["i01"]));
    seen.push((get(&user, "info/quota").await, vec![]));
    seen.push((delete(&user, "storage/i01/b").await, vec![]));
    seen.push((delete(&user, "storage/i01?ids=c").await, vec![]));
    seen.push((get(&user, "storage/i01/missing").await, vec![]));
    seen.push((get(&user, "storage/never").await, vec![]));
    seen.push((delete(&user, "storage/i01").await, vec![]));
    for (resp, keys) in &seen {
        assert!(resp.status_code() < 500);
        assert!(resp.header("x-weave-timestamp").is_some(), "{}", resp.transcript());
        assert_ts_format(resp, keys);
    }
    assert_invariants(&server, &[user.uid()]).await;
}

/// Moves the test clock to the next whole second at least a second ahead, so that a write sent
/// right away gets a T whose decimals are `.00`.
async fn land_on_round_second(server: &TestServer) -> i64 {
    let resp = server.client.send(SyncRequest::get("/__test__/clock")).await.expect("clock");
    let now = resp.status_is(200).json_body()["now_ms"].as_i64().expect("now_ms");
    let target = (now / 1000 + 2) * 1000;
    let resp = server.client.send(SyncRequest::post("/__test__/clock").json(&json!({ "set_ms": target }))).await.expect("clock");
    resp.status_is(200);
    target
}

// I-01: a T such as 1700000000.00 must keep both decimals in every answer, not only when its
// last digit happens to be non-zero. Every write kind lands on a round second; all problems are
// collected so that one run names every affected answer.
#[tokio::test]
async fn i_01_round_timestamps_keep_two_decimals_in_every_answer() {
    let server = TestServer::start().await;
    let user = server.user();
    let kinds = ["PUT", "POST", "DELETE ?ids", "DELETE record", "DELETE collection", "commit", "PUT kept"];
    let mut problems = Vec::new();
    for what in kinds {
        let mut landed = None;
        // The clock keeps flowing, so a slow exchange can miss the round second: each attempt
        // prepares its own state, lands the clock, then writes.
        for _ in 0..20 {
            let req = match what {
                "PUT" => SyncRequest::put("storage/i01r/a").json(&json!({ "payload": "a" })),
                "POST" => SyncRequest::post("storage/i01r").json(&json!([{ "id": "b", "payload": "b" }])),
                "DELETE ?ids" => {
                    put_json(&user, "storage/i01r/b", json!({ "payload": "b" })).await.status_is(200);
                    SyncRequest::delete("storage/i01r?ids=b")
                }
                "DELETE record" => {
                    put_json(&user, "storage/i01r/a", json!({ "payload": "a" })).await.status_is(200);
                    SyncRequest::delete("storage/i01r/a")
                }
                "DELETE collection" => {
                    put_json(&user, "storage/i01r/a", json!({ "payload": "a" })).await.status_is(200);
                    SyncRequest::delete("storage/i01r")
                }
                "commit" => {
                    let id = new_batch(&user, "i01b", json!([{ "id": "c", "payload": "c" }])).await;
                    batch_post("i01b", &id, true).json(&json!([]))
                }
                _ => SyncRequest::put("storage/i01k/k").json(&json!({ "payload": "k" })),
            };
            let target = land_on_round_second(&server).await;
            let resp = send(&user, req).await;
            resp.status_is(200);
            if ms_of(resp.ts_header("x-last-modified")) == target {
                landed = Some(resp);
                break;
            }
        }
        let resp = landed.unwrap_or_else(|| panic!("could not land a {what} on a round second in 20 tries"));
        let keys: &[&str] = if what.starts_with("PUT") { &[] } else { &["modified"] };
        if what.starts_with("PUT") && !two_decimals(resp.text().trim()) {
            problems.push(format!("{what} body: {}", resp.text()));
        }
        problems.extend(ts_format_problems(&resp, keys).into_iter().map(|p| format!("{what}: {p}")));
    }
    // Reads of the record written at a round second.
    for (path, keys) in
        [("storage/i01k/k", vec!["modified"]), ("storage/i01k?full=1", vec!["modified"]), ("info/collections", vec!["i01k"])]
    {
        let resp = get(&user, path).await;
        resp.status_is(200);
        problems.extend(ts_format_problems(&resp, &keys).into_iter().map(|p| format!("GET {path}: {p}")));
    }
    assert!(problems.is_empty(), "I-01: timestamps without two decimals:\n{}", problems.join("\n"));
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- I-02 ----------------------------------------------------------------------------------

// I-02
#[tokio::test]
async fn i_02_writes_over_several_connections_and_servers_follow_completion_order() {
    // Two servers on one database, neither clock moved: both issue ts from the same clock.
    let a = TestServer::start().await;
    let b = TestServer::start().await;
    let uid = a.user().uid();
    let users = [
        a.client.user(common::SECRET, uid),
        b.client.user(common::SECRET, uid),
        // Another client of `a`: its own connection pool.
        syncstorage_harness::client::SyncClient::new(url::Url::parse(&a.url()).expect("url")).expect("client").user(common::SECRET, uid),
    ];
    let mut last = 0.0;
    for i in 0..12 {
        let user = &users[i % users.len()];
        let resp = put_json(user, &format!("storage/i02c{}/r{i}", i % 2), json!({ "payload": format!("{i}") })).await;
        let t = resp.status_is(200).ts_header("x-last-modified");
        assert!(t > last, "I-02: write {i} completed after one at {last} but got {t}\n{}", resp.transcript());
        last = t;
    }
    assert_eq!(storage_ts(&users[1]).await, last);
    assert_invariants(&a, &[users[0].uid()]).await;
}

// ---- I-03 ----------------------------------------------------------------------------------

// I-03
#[tokio::test]
async fn i_03_all_records_a_write_changes_share_its_t() {
    let server = TestServer::start().await;
    let user = server.user();
    let body: Vec<Value> = (0..100).map(|i| json!({ "id": format!("r{i:03}"), "payload": "é".repeat(i) })).collect();
    let resp = post_json(&user, "storage/i03", Value::Array(body)).await;
    let answer = resp.status_is(200).json_body();
    let t = resp.ts_header("x-last-modified");
    assert_eq!(answer["modified"].as_f64(), Some(t));
    assert_eq!(answer["success"].as_array().map(Vec::len), Some(100), "{}", resp.transcript());
    let stored = records(&user, "i03").await;
    assert_eq!(stored.len(), 100);
    assert!(stored.values().all(|r| r["modified"].as_f64() == Some(t)), "I-03: one T for a large POST");

    let id = new_batch(&user, "i03b", json!([{ "id": "s1", "payload": "1" }, { "id": "s2", "payload": "2" }])).await;
    send(&user, batch_post("i03b", &id, false).json(&json!([{ "id": "s3", "payload": "3" }]))).await.status_is(202);
    let resp =
        send(&user, batch_post("i03b", &id, true).json(&json!([{ "id": "b1", "payload": "b" }, { "id": "s1", "payload": "x" }]))).await;
    let t = resp.status_is(200).ts_header("x-last-modified");
    assert_eq!(resp.header_str("x-weave-timestamp"), resp.header_str("x-last-modified"), "D-02");
    let stored = records(&user, "i03b").await;
    assert_eq!(stored.len(), 4);
    assert!(stored.values().all(|r| r["modified"].as_f64() == Some(t)), "I-03: one T for a commit\n{stored:#?}");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- I-04 ----------------------------------------------------------------------------------

// I-04
#[tokio::test]
async fn i_04_each_write_gets_a_t_above_the_previous_storage_ts() {
    let server = TestServer::start().await;
    let user = server.user();
    // Every step below is a write: an empty POST or a DELETE `?ids` is one only on an existing
    // collection (E-09).
    for coll in ["i04c0", "i04c1", "i04c2"] {
        put_json(&user, &format!("storage/{coll}/init"), json!({ "payload": "i" })).await.status_is(200);
    }
    let mut previous = storage_ts(&user).await;
    let mut seen = std::collections::HashSet::new();
    // Faster than the 10 ms grid: the server has to wait (or answer 409) to keep T distinct.
    for i in 0..30 {
        let coll = format!("i04c{}", i % 3);
        let resp = match i % 4 {
            0 => put_json(&user, &format!("storage/{coll}/r{i}"), json!({ "payload": "x" })).await,
            1 => post_json(&user, &format!("storage/{coll}"), json!([{ "id": format!("r{i}"), "payload": "y" }])).await,
            2 => post_json(&user, &format!("storage/{coll}"), json!([])).await,
            _ => delete(&user, &format!("storage/{coll}?ids=r{}", i - 1)).await,
        };
        if resp.status_code() == 409 {
            assert!(resp.header("retry-after").is_some(), "I-04/D-18: 409 without Retry-After\n{}", resp.transcript());
            continue;
        }
        let t = resp.status_is(200).ts_header("x-last-modified");
        assert!(t > previous, "I-04: T {t} not above the storage ts {previous}\n{}", resp.transcript());
        assert!(seen.insert(ms_of(t)), "I-04: a shared T");
        previous = t;
    }
    assert_eq!(storage_ts(&user).await, previous, "I-05: the storage ts is the latest T");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- I-05 ----------------------------------------------------------------------------------

/// I-05 after one step: each collection ts is at or above its records' `modified`, and the
/// storage ts is at or above every collection ts and equal to `latest`.
async fn assert_ts_bounds(user: &SyncUser, latest: f64, step: &str) {
    let resp = get(user, "info/collections").await;
    let colls = resp.status_is(200).json_body();
    let storage = resp.ts_header("x-last-modified");
    assert_eq!(storage, latest, "I-05 after {step}: storage ts is the latest T");
    for (name, ts) in colls.as_object().expect("map") {
        let ts = ts.as_f64().expect("ts");
        assert!(ts <= storage, "I-05 after {step}: {name} above the storage ts");
        for rec in records(user, name).await.values() {
            assert!(rec["modified"].as_f64().expect("modified") <= ts, "I-05 after {step}: {name}: {rec}");
        }
    }
}

// I-05
#[tokio::test]
async fn i_05_collection_ts_bound_records_and_storage_ts_bounds_collections() {
    let server = TestServer::start().await;
    let user = server.user();
    let t = put_json(&user, "storage/i05a/r1", json!({ "payload": "1" })).await.status_is(200).ts_header("x-last-modified");
    assert_ts_bounds(&user, t, "PUT").await;
    let t = post_json(&user, "storage/i05b", json!([{ "id": "r2", "payload": "2" }, { "id": "r3", "payload": "3" }]))
        .await
        .status_is(200)
        .ts_header("x-last-modified");
    assert_ts_bounds(&user, t, "POST").await;
    let t = put_json(&user, "storage/i05a/r1", json!({ "ttl": 3600 })).await.status_is(200).ts_header("x-last-modified");
    assert_ts_bounds(&user, t, "ttl-only PUT").await;
    let t = delete(&user, "storage/i05b/r2").await.status_is(200).ts_header("x-last-modified");
    assert_ts_bounds(&user, t, "DELETE record").await;
    let id = new_batch(&user, "i05c", json!([{ "id": "s", "payload": "s" }])).await;
    assert_ts_bounds(&user, t, "batch start").await;
    let t = send(&user, batch_post("i05c", &id, true).json(&json!([]))).await.status_is(200).ts_header("x-last-modified");
    assert_ts_bounds(&user, t, "commit").await;
    let t = delete(&user, "storage/i05b?ids=r3").await.status_is(200).ts_header("x-last-modified");
    assert_ts_bounds(&user, t, "DELETE ids").await;
    let t = delete(&user, "storage/i05a").await.status_is(200).ts_header("x-last-modified");
    assert_ts_bounds(&user, t, "DELETE collection").await;
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- I-06 ----------------------------------------------------------------------------------

// I-06
#[tokio::test]
async fn i_06_deletes_move_the_storage_ts_to_their_t() {
    let server = TestServer::start().await;
    let user = server.user();
    post_json(&user, "storage/i06", json!([{ "id": "a", "payload": "a" }, { "id": "b", "payload": "b" }, { "id": "c", "payload": "c" }]))
        .await
        .status_is(200);
    put_json(&user, "storage/other/o", json!({ "payload": "o" })).await.status_is(200);
    for path in ["storage/i06/a", "storage/i06?ids=b", "storage/i06"] {
        let before = storage_ts(&user).await;
        let resp = delete(&user, path).await;
        let t = resp.status_is(200).ts_header("x-last-modified");
        assert_eq!(resp.json_body()["modified"].as_f64(), Some(t), "{}", resp.transcript());
        assert!(t > before, "I-06: {path} gets a new T");
        assert_eq!(storage_ts(&user).await, t, "I-06: {path} moves the storage ts to its T");
    }
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- I-07 ----------------------------------------------------------------------------------

// I-07
#[tokio::test]
async fn i_07_the_storage_ts_never_decreases_and_a_wipe_sets_it() {
    let server = TestServer::start().await;
    let user = server.user();
    let mut highest = 0.0f64;
    let mut observe = |ts: f64, what: &str| {
        assert!(ts >= highest, "I-07: {what} read {ts} after {highest}");
        highest = ts;
    };
    for path in ["storage", ""] {
        put_json(&user, "storage/i07a/r", json!({ "payload": "r" })).await.status_is(200);
        put_json(&user, "storage/i07b/r", json!({ "payload": "r" })).await.status_is(200);
        let s = storage_ts(&user).await;
        observe(s, "info/collections");
        let resp = delete(&user, path).await;
        let t = resp.status_is(200).ts_header("x-last-modified");
        assert!(t > s, "I-07: the wipe's T is above the previous storage ts\n{}", resp.transcript());
        let info = send(&user, SyncRequest::get("info/collections").header("X-If-Modified-Since", format!("{s:.2}"))).await;
        assert_eq!(info.status_is(200).json_body(), json!({}), "A-14/I-07 after DELETE /1.5/{{uid}}/{path}");
        assert_eq!(info.ts_header("x-last-modified"), t, "I-07: after the wipe the storage ts is its T");
        observe(t, "after the wipe");
        for info in ["info/collection_counts", "info/collection_usage", "info/quota"] {
            observe(get(&user, info).await.status_is(200).ts_header("x-last-modified"), info);
        }
        // A write after the wipe still rises above it.
        let t2 = put_json(&user, "storage/i07c/r", json!({ "payload": "r" })).await.status_is(200).ts_header("x-last-modified");
        observe(t2, "a write after the wipe");
    }
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- I-08 ----------------------------------------------------------------------------------

// I-08
#[tokio::test]
async fn i_08_batch_start_and_append_move_no_ts_and_the_commit_does() {
    let server = TestServer::start().await;
    let user = server.user();
    let c = put_json(&user, "storage/i08/r", json!({ "payload": "r" })).await.status_is(200).ts_header("x-last-modified");
    let s = put_json(&user, "storage/other/o", json!({ "payload": "o" })).await.status_is(200).ts_header("x-last-modified");
    let start = start_batch(&user, "i08", json!([{ "id": "a", "payload": "a" }])).await;
    let id = batch_id(&start);
    assert_eq!(start.ts_header("x-last-modified"), c, "I-08: start reports the collection ts");
    for i in 0..3 {
        let resp = send(&user, batch_post("i08", &id, false).json(&json!([{ "id": format!("b{i}"), "payload": "b" }]))).await;
        assert_eq!(resp.status_is(202).ts_header("x-last-modified"), c, "I-08: append {i}\n{}", resp.transcript());
        assert_eq!(storage_ts(&user).await, s, "I-08: the storage ts stays");
        assert_eq!(get(&user, "storage/i08").await.ts_header("x-last-modified"), c);
    }
    let resp = send(&user, batch_post("i08", &id, true).json(&json!([]))).await;
    let t = resp.status_is(200).ts_header("x-last-modified");
    assert!(t > s);
    assert_eq!(storage_ts(&user).await, t, "I-08: the commit moves the storage ts");
    assert_eq!(get(&user, "storage/i08").await.ts_header("x-last-modified"), t, "I-08: and the collection ts");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- I-09 ----------------------------------------------------------------------------------

// I-09
#[tokio::test]
async fn i_09_reads_carry_a_weave_timestamp_at_or_above_everything_they_return() {
    let server = TestServer::start().await;
    let user = server.user();
    post_json(&user, "storage/i09", json!([{ "id": "a", "payload": "a" }, { "id": "b", "payload": "b" }])).await.status_is(200);
    put_json(&user, "storage/i09/a", json!({ "payload": "a2" })).await.status_is(200);
    // The test clock moving ahead must not let a read fall behind what it returns.
    server.advance_ms(5_000).await;
    for path in [
        "storage/i09/a",
        "storage/i09?full=1",
        "storage/i09?full=1&sort=oldest&limit=1",
        "info/collections",
        "info/collection_counts",
        "info/quota",
    ] {
        let resp = get(&user, path).await;
        resp.status_is(200);
        let now = resp.ts_header("x-weave-timestamp");
        assert!(now >= resp.ts_header("x-last-modified"), "I-09: {path}\n{}", resp.transcript());
        for n in raw_numbers_after(&resp.text(), "modified") {
            assert!(now >= n.parse::<f64>().expect("number"), "I-09: {path}\n{}", resp.transcript());
        }
    }
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- I-10 ----------------------------------------------------------------------------------

// I-10: where the spec is silent client ts finer than 10 ms are accepted and truncated (as
// upstream), so `older=T.xx5` means `older=T`.
#[tokio::test]
async fn i_10_finer_client_timestamps_are_truncated() {
    let server = TestServer::start().await;
    let user = server.user();
    let resp = put_json(&user, "storage/i10/a", json!({ "payload": "a" })).await;
    let t = resp.status_is(200).header_str("x-last-modified");
    let finer = format!("{t}5");
    let finest = format!("{t}98765");
    let listing = |query: String| {
        let user = user.clone();
        async move { get(&user, &format!("storage/i10?{query}")).await.status_is(200).json_body() }
    };
    assert_eq!(listing(format!("older={finer}")).await, json!([]), "I-10: truncated to T, older is strict");
    assert_eq!(listing(format!("older={finest}")).await, json!([]), "I-10");
    assert_eq!(listing(format!("newer={finer}")).await, json!([]), "I-10: newer=T.xx5 is newer=T");
    let before: BTreeMap<&str, f64> = BTreeMap::from([("t", t.parse::<f64>().expect("ts"))]);
    let below = format!("{:.2}", before["t"] - 0.01);
    assert_eq!(listing(format!("newer={below}1")).await, json!(["a"]));
    let resp = send(&user, SyncRequest::get("storage/i10/a").header("X-If-Modified-Since", finer.as_str())).await;
    resp.status_is(304);
    let resp =
        send(&user, SyncRequest::put("storage/i10/a").header("X-If-Unmodified-Since", finer.as_str()).json(&json!({ "payload": "b" })))
            .await;
    resp.status_is(200);
    assert_invariants(&server, &[user.uid()]).await;
}
