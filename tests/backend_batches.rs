//! SPEC area F against the reference backend: batch uploads (F-01 to F-21), with small limits,
//! a short batch lifetime and the test clock, and the K-invariants checked after each scenario.

mod common;

use std::collections::BTreeMap;

use common::batch::{append, batch_post, commit, new_batch};
use common::body::padded_post_body;
use common::read::{failed_map, id_set, records, storage_state, success_set};
use common::{Check, TestServer, assert_invariants, delete, get, post_json, put_json, send};
use serde_json::{Value, json};
use syncstorage_harness::client::{SyncRequest, SyncUser};

// ---- local helpers -------------------------------------------------------------------------

async fn open_batches(server: &TestServer, user: &SyncUser) -> i64 {
    let db = server.db().await;
    let row = db.query_one("SELECT count(*) FROM batches WHERE user_id = $1", &[&(user.uid() as i64)]).await.expect("batches query");
    row.get(0)
}

fn keys(map: &BTreeMap<String, Value>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

// ---- F-01 ----------------------------------------------------------------------------------

// F-01
#[tokio::test]
async fn f_01_batch_start_answers_202_and_stages_invisibly() {
    let server = TestServer::start().await;
    let user = server.user();
    let put = put_json(&user, "storage/f01/old", json!({ "payload": "old" })).await;
    let c = put.status_is(200).ts_header("x-last-modified");
    for flag in ["true", "TRUE", "True"] {
        let body = json!([
            { "id": format!("s-{flag}"), "payload": "staged" },
            { "id": format!("t-{flag}"), "payload": "staged" },
        ]);
        let resp = send(&user, SyncRequest::post(format!("storage/f01?batch={flag}")).json(&body)).await;
        let answer = resp.status_is(202).json_body();
        assert!(answer["batch"].as_str().is_some_and(|b| !b.is_empty()), "F-01: batch id\n{}", resp.transcript());
        assert_eq!(success_set(&answer), id_set(&[&format!("s-{flag}"), &format!("t-{flag}")]), "{}", resp.transcript());
        assert_eq!(answer["failed"], json!({}), "{}", resp.transcript());
        assert_eq!(resp.ts_header("x-last-modified"), c, "F-01: X-Last-Modified stays the collection ts");
    }
    let listing = get(&user, "storage/f01").await;
    assert_eq!(listing.status_is(200).json_body(), json!(["old"]), "F-01: staged records are invisible");
    assert_eq!(listing.ts_header("x-last-modified"), c);
    get(&user, "storage/f01/s-true").await.weave_error(404, 0);
    assert_eq!(storage_state(&user).await, (c, json!({ "f01": c })));

    let resp = send(&user, SyncRequest::post("storage/f01new?batch=true").json(&json!([{ "id": "n", "payload": "x" }]))).await;
    resp.status_is(202);
    assert_eq!(resp.header_str("x-last-modified"), "0.00", "F-01: a new collection's ts is 0\n{}", resp.transcript());
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-02 ----------------------------------------------------------------------------------

// F-02
#[tokio::test]
async fn f_02_batch_ids_are_opaque_and_sent_url_encoded() {
    let server = TestServer::start().await;
    let user = server.user();
    let id = new_batch(&user, "f02", json!([{ "id": "a", "payload": "1" }])).await;
    let resp = append(&user, "f02", &id, json!([{ "id": "b", "payload": "2" }])).await;
    assert_eq!(resp.status_is(202).json_body()["batch"].as_str(), Some(id.as_str()), "F-02: the same id comes back");
    commit(&user, "f02", &id, json!([])).await.status_is(200);
    assert_eq!(keys(&records(&user, "f02").await), vec!["a", "b"]);
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-03 ----------------------------------------------------------------------------------

// F-03
#[tokio::test]
async fn f_03_restaging_an_id_merges_field_by_field() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/f03/c", json!({ "payload": "c0", "sortindex": 3 })).await.status_is(200);
    put_json(&user, "storage/f03/d", json!({ "payload": "d0", "ttl": 50 })).await.status_is(200);
    put_json(&user, "storage/f03/e", json!({ "payload": "e0", "sortindex": 8 })).await.status_is(200);
    let id = new_batch(
        &user,
        "f03",
        json!([
            { "id": "a", "payload": "p1", "sortindex": 5 },
            { "id": "b", "payload": "q" },
            { "id": "c", "payload": "c1", "sortindex": 7 },
            { "id": "d", "ttl": 100 },
            { "id": "e", "payload": "e1" },
        ]),
    )
    .await;
    append(&user, "f03", &id, json!([{ "id": "a", "payload": "p2" }])).await.status_is(202);
    // An explicit null replaces the staged value too, and then resets the field at commit (B-11).
    append(&user, "f03", &id, json!([{ "id": "c", "sortindex": null }, { "id": "d", "ttl": null }, { "id": "e", "payload": null }]))
        .await
        .status_is(202);
    commit(&user, "f03", &id, json!([])).await.status_is(200);

    let stored = records(&user, "f03").await;
    assert_eq!(stored["a"]["payload"], "p2", "F-03: the later payload replaces");
    assert_eq!(stored["a"]["sortindex"], 5, "F-03: an absent field keeps the staged value");
    assert_eq!(stored["b"]["payload"], "q");
    assert_eq!(stored["c"]["payload"], "c1");
    assert!(stored["c"].get("sortindex").is_none(), "F-03: staged null resets sortindex: {}", stored["c"]);
    assert_eq!(stored["e"]["payload"], "", "F-03: staged null resets the payload (B-11)");
    assert_eq!(stored["e"]["sortindex"], 8);
    // 200 s on: past both the old ttl (50 s) and the replaced staged one (100 s).
    server.advance_ms(200_000).await;
    let d = get(&user, "storage/f03/d").await;
    assert_eq!(d.status_is(200).json_body()["payload"], "d0", "F-03: staged null ttl means no expiry");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-04 ----------------------------------------------------------------------------------

// F-04
#[tokio::test]
async fn f_04_commit_without_batch_or_not_true_is_400_0() {
    let server = TestServer::start().await;
    let user = server.user();
    let rec = json!([{ "id": "x", "payload": "x" }]);
    post_json(&user, "storage/f04?commit=true", rec.clone()).await.weave_error(400, 0);
    post_json(&user, "storage/f04?batch=true&commit=yes", rec.clone()).await.weave_error(400, 0);
    let id = new_batch(&user, "f04", json!([{ "id": "a", "payload": "a" }])).await;
    for value in ["false", "yes", "1", ""] {
        let req = SyncRequest::post("storage/f04").query("batch", &id).query("commit", value).json(&rec);
        send(&user, req).await.weave_error(400, 0);
    }
    assert_eq!(storage_state(&user).await, (0.0, json!({})), "F-04: refused requests store nothing");
    // Any case of `true` commits.
    let req = SyncRequest::post("storage/f04").query("batch", &id).query("commit", "TRUE").json(&json!([]));
    send(&user, req).await.status_is(200);
    assert_eq!(keys(&records(&user, "f04").await), vec!["a"]);
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-05 ----------------------------------------------------------------------------------

// F-05
#[tokio::test]
async fn f_05_commit_applies_staged_and_body_records_at_one_t() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/other/r", json!({ "payload": "r" })).await.status_is(200);
    let id = new_batch(&user, "f05", json!([{ "id": "a", "payload": "a" }, { "id": "b", "payload": "b" }])).await;
    append(&user, "f05", &id, json!([{ "id": "c", "payload": "c" }])).await.status_is(202);
    let resp = commit(&user, "f05", &id, json!([{ "id": "d", "payload": "d" }])).await;
    let body = resp.status_is(200).json_body();
    let t = resp.ts_header("x-last-modified");
    assert_eq!(body["modified"].as_f64(), Some(t), "F-05\n{}", resp.transcript());
    assert!(success_set(&body).contains("d"), "{}", resp.transcript());
    assert_eq!(body["failed"], json!({}), "{}", resp.transcript());
    let stored = records(&user, "f05").await;
    assert_eq!(keys(&stored), vec!["a", "b", "c", "d"]);
    for rec in stored.values() {
        assert_eq!(rec["modified"].as_f64(), Some(t), "F-05: one T for all: {rec}");
    }
    let (storage_ts, colls) = storage_state(&user).await;
    assert_eq!(colls["f05"].as_f64(), Some(t), "F-05: info/collections shows T");
    assert_eq!(storage_ts, t);
    assert_eq!(open_batches(&server, &user).await, 0, "K-06: the batch is gone");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-06 ----------------------------------------------------------------------------------

// F-06
#[tokio::test]
async fn f_06_commit_body_records_apply_after_the_staged_ones_and_win() {
    let server = TestServer::start().await;
    let user = server.user();
    let id = new_batch(&user, "f06", json!([{ "id": "b0", "payload": "staged", "sortindex": 3 }])).await;
    commit(&user, "f06", &id, json!([{ "id": "b0", "payload": "committed" }])).await.status_is(200);
    let b0 = get(&user, "storage/f06/b0").await.status_is(200).json_body();
    assert_eq!(b0["payload"], "committed", "F-06: the body wins");
    assert_eq!(b0["sortindex"], 3, "F-06: a field the body leaves out keeps the staged value");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-07 ----------------------------------------------------------------------------------

// F-07
#[tokio::test]
async fn f_07_empty_commits() {
    let server = TestServer::start().await;
    let user = server.user();
    let cases = [
        ("application/json", "[]", true),
        ("application/json", "{}", false),
        ("application/json", "", false),
        ("application/newlines", "", true),
        ("application/newlines", "\n", false),
        ("application/newlines", "{}", false),
        ("application/newlines", "[]", false),
    ];
    for (i, (ct, body, works)) in cases.iter().enumerate() {
        let coll = format!("f07c{i}");
        let staged: Vec<Value> = (0..5).map(|n| json!({ "id": format!("{n:02}"), "payload": "X" })).collect();
        let id = new_batch(&user, &coll, Value::Array(staged)).await;
        let resp = send(&user, batch_post(&coll, &id, true).header("Content-Type", *ct).body(body.as_bytes().to_vec())).await;
        if *works {
            let t = resp.status_is(200).ts_header("x-last-modified");
            let stored = records(&user, &coll).await;
            assert_eq!(stored.len(), 5, "F-07: {ct} {body:?} commits the staged records");
            assert!(stored.values().all(|r| r["modified"].as_f64() == Some(t)));
        } else {
            resp.status_is(400);
            let code = resp.text().trim().parse::<u32>();
            assert!(matches!(code, Ok(6 | 8)), "F-07: {ct} {body:?}: 400 with a weave code\n{}", resp.transcript());
            assert!(records(&user, &coll).await.is_empty(), "F-07: nothing applied");
            // K-06: a failed commit leaves the batch usable.
            commit(&user, &coll, &id, json!([])).await.status_is(200);
            assert_eq!(records(&user, &coll).await.len(), 5);
        }
    }
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-08 ----------------------------------------------------------------------------------

// F-08
#[tokio::test]
async fn f_08_batch_true_with_commit_true_is_a_plain_post() {
    let server = TestServer::start().await;
    let user = server.user();
    let body = json!([{ "id": "a", "payload": "a" }, { "id": "b", "payload": "b" }]);
    let resp = post_json(&user, "storage/f08?batch=true&commit=true", body).await;
    let answer = resp.status_is(200).json_body();
    assert!(answer.get("batch").is_none(), "F-08: no batch key\n{}", resp.transcript());
    let t = answer["modified"].as_f64().expect("modified");
    assert_eq!(resp.ts_header("x-last-modified"), t);
    assert_eq!(success_set(&answer), id_set(&["a", "b"]));
    assert_eq!(storage_state(&user).await, (t, json!({ "f08": t })));
    assert_eq!(open_batches(&server, &user).await, 0, "F-08: no batch is left behind");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-09 ----------------------------------------------------------------------------------

// F-09
#[tokio::test]
async fn f_09_a_commit_writes_with_put_semantics() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/f09/b", json!({ "payload": "old", "sortindex": 17 })).await.status_is(200);
    let id =
        new_batch(&user, "f09", json!([{ "id": "b", "payload": "new" }, { "id": "n", "sortindex": 4 }, { "id": "m", "ttl": 100 }])).await;
    commit(&user, "f09", &id, json!([])).await.status_is(200);
    let stored = records(&user, "f09").await;
    assert_eq!(stored["b"]["payload"], "new");
    assert_eq!(stored["b"]["sortindex"], 17, "F-09: an unstaged field keeps its value (B-11)");
    assert_eq!(stored["n"]["payload"], "", "F-09: B-12 default payload");
    assert_eq!(stored["n"]["sortindex"], 4);
    assert_eq!(stored["m"]["payload"], "");
    assert!(stored["m"].get("sortindex").is_none(), "B-12: no sortindex: {}", stored["m"]);
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-10 ----------------------------------------------------------------------------------

// F-10
#[tokio::test]
async fn f_10_a_commit_gives_t_only_to_records_it_creates_or_changes() {
    let server = TestServer::start().await;
    let user = server.user();
    let body: Vec<Value> = ["x", "y", "z", "w"].iter().map(|id| json!({ "id": id, "payload": "v1" })).collect();
    let t1 = post_json(&user, "storage/f10", Value::Array(body)).await.status_is(200).ts_header("x-last-modified");
    let id =
        new_batch(&user, "f10", json!([{ "id": "x", "payload": "v2" }, { "id": "y", "sortindex": 4 }, { "id": "z", "ttl": 1000 }])).await;
    let resp = commit(&user, "f10", &id, json!([{ "id": "n", "payload": "n" }])).await;
    let t2 = resp.status_is(200).ts_header("x-last-modified");
    assert!(t2 > t1);
    let stored = records(&user, "f10").await;
    for (id, want) in [("x", t2), ("y", t2), ("n", t2), ("w", t1)] {
        assert_eq!(stored[id]["modified"].as_f64(), Some(want), "F-10: {id}\n{stored:#?}");
    }
    // Where the spec is silent a ttl-only entry may keep its ts or take T; the reference keeps it
    // (as E-04 does for POST).
    assert_eq!(stored["z"]["modified"].as_f64(), Some(t1), "F-10 (reference): ttl-only keeps its ts");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-11 ----------------------------------------------------------------------------------

// F-11
#[tokio::test]
async fn f_11_a_staged_ttl_counts_from_the_commit() {
    let server = TestServer::start().await;
    let user = server.user();
    let id = new_batch(&user, "f11", json!([{ "id": "t", "payload": "x", "ttl": 30 }])).await;
    server.advance_ms(15_000).await;
    commit(&user, "f11", &id, json!([])).await.status_is(200);
    // 31 s after staging, 16 s after the commit: alive only if the ttl runs from the commit.
    server.advance_ms(16_000).await;
    get(&user, "storage/f11/t").await.status_is(200);
    server.advance_ms(15_000).await;
    get(&user, "storage/f11/t").await.weave_error(404, 0);
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-12 ----------------------------------------------------------------------------------

// F-12
#[tokio::test]
async fn f_12_failed_records_are_left_out_and_the_rest_commit() {
    let server = TestServer::start().await;
    let user = server.user();
    let resp = send(
        &user,
        SyncRequest::post("storage/f12?batch=true")
            .json(&json!([{ "id": "ok1", "payload": "1" }, { "id": "bad1", "payload": "x", "ttl": -1 }])),
    )
    .await;
    let body = resp.status_is(202).json_body();
    assert_eq!(success_set(&body), id_set(&["ok1"]), "{}", resp.transcript());
    assert!(failed_map(&body).contains_key("bad1"), "{}", resp.transcript());
    let id = body["batch"].as_str().expect("batch").to_owned();
    let resp = append(&user, "f12", &id, json!([{ "id": "ok2", "payload": "2" }, { "id": "bad2", "sortindex": "x" }])).await;
    assert!(failed_map(&resp.status_is(202).json_body()).contains_key("bad2"), "{}", resp.transcript());
    let resp = commit(&user, "f12", &id, json!([{ "id": "ok3", "payload": "3" }, { "id": "bad3", "unexpected": 1 }])).await;
    let body = resp.status_is(200).json_body();
    assert!(failed_map(&body).contains_key("bad3"), "{}", resp.transcript());
    assert_eq!(keys(&records(&user, "f12").await), vec!["ok1", "ok2", "ok3"], "F-12");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-13 ----------------------------------------------------------------------------------

// F-13
#[tokio::test]
async fn f_13_a_malformed_or_unknown_batch_id_is_400_0() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/f13/r", json!({ "payload": "r" })).await.status_is(200);
    let before = storage_state(&user).await;
    let issued = new_batch(&user, "f13", json!([])).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let mangled = format!("{issued}0");
    for bad in ["sammich", "", "00000000-0000-0000-0000-00000000000g", unknown.as_str(), mangled.as_str()] {
        append(&user, "f13", bad, json!([{ "id": "x", "payload": "x" }])).await.weave_error(400, 0);
        commit(&user, "f13", bad, json!([{ "id": "x", "payload": "x" }])).await.weave_error(400, 0);
    }
    assert_eq!(storage_state(&user).await, before, "F-13: nothing written");
    assert_eq!(keys(&records(&user, "f13").await), vec!["r"]);
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-14 ----------------------------------------------------------------------------------

// F-14
#[tokio::test]
async fn f_14_a_batch_belongs_to_one_user_and_one_collection() {
    let server = TestServer::start().await;
    let owner = server.user();
    let stranger = server.user();
    put_json(&owner, "storage/other/o", json!({ "payload": "o" })).await.status_is(200);
    let id = new_batch(&owner, "mine", json!([{ "id": "a", "payload": "a" }])).await;
    let x = json!([{ "id": "x", "payload": "x" }]);
    append(&owner, "other", &id, x.clone()).await.weave_error(400, 0);
    commit(&owner, "other", &id, x.clone()).await.weave_error(400, 0);
    append(&owner, "never", &id, x.clone()).await.weave_error(400, 0);
    commit(&owner, "never", &id, x.clone()).await.weave_error(400, 0);
    append(&stranger, "mine", &id, x.clone()).await.weave_error(400, 0);
    commit(&stranger, "mine", &id, x.clone()).await.weave_error(400, 0);

    // Still usable by its owner, and nothing leaked anywhere.
    commit(&owner, "mine", &id, json!([{ "id": "b", "payload": "b" }])).await.status_is(200);
    assert_eq!(keys(&records(&owner, "mine").await), vec!["a", "b"]);
    assert_eq!(keys(&records(&owner, "other").await), vec!["o"]);
    let (ts, colls) = storage_state(&owner).await;
    assert!(colls.get("never").is_none() && ts > 0.0);
    assert_eq!(storage_state(&stranger).await, (0.0, json!({})), "F-14: the stranger has nothing");
    assert_invariants(&server, &[owner.uid()]).await;
    assert_invariants(&server, &[stranger.uid()]).await;
}

// ---- F-15 ----------------------------------------------------------------------------------

// F-15
#[tokio::test]
async fn f_15_a_committed_batch_id_is_spent() {
    let server = TestServer::start().await;
    let user = server.user();
    let id = new_batch(&user, "f15", json!([{ "id": "a", "payload": "a" }])).await;
    commit(&user, "f15", &id, json!([])).await.status_is(200);
    append(&user, "f15", &id, json!([{ "id": "b", "payload": "b" }])).await.weave_error(400, 0);
    commit(&user, "f15", &id, json!([{ "id": "c", "payload": "c" }])).await.weave_error(400, 0);
    delete(&user, "storage/f15/a").await.status_is(200);
    // K-13: the delete's totals, before a later write recomputes them.
    assert_invariants(&server, &[user.uid()]).await;
    commit(&user, "f15", &id, json!([])).await.weave_error(400, 0);
    get(&user, "storage/f15/a").await.weave_error(404, 0);

    let fresh = new_batch(&user, "f15", json!([{ "id": "d", "payload": "d" }])).await;
    assert_ne!(fresh, id);
    commit(&user, "f15", &fresh, json!([])).await.status_is(200);
    assert_eq!(keys(&records(&user, "f15").await), vec!["d"], "F-15: no batch carries old data");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-16 ----------------------------------------------------------------------------------

// F-16: where the spec is silent a batch expires a fixed time after creation; the reference
// takes the configured lifetime (10 s here) and then answers 400/0.
#[tokio::test]
async fn f_16_a_batch_expires_after_its_lifetime() {
    let server = TestServer::with(|c| c.batch_lifetime = std::time::Duration::from_secs(10)).await;
    let user = server.user();
    let id = new_batch(&user, "f16", json!([{ "id": "a", "payload": "a" }])).await;
    server.advance_ms(9_000).await;
    append(&user, "f16", &id, json!([{ "id": "b", "payload": "b" }])).await.status_is(202);
    server.advance_ms(1_100).await;
    append(&user, "f16", &id, json!([{ "id": "c", "payload": "c" }])).await.weave_error(400, 0);
    commit(&user, "f16", &id, json!([{ "id": "d", "payload": "d" }])).await.weave_error(400, 0);
    assert_eq!(storage_state(&user).await, (0.0, json!({})), "F-16: an expired batch commits nothing");

    // Just inside the lifetime a commit still works.
    let id = new_batch(&user, "f16", json!([{ "id": "e", "payload": "e" }])).await;
    server.advance_ms(9_500).await;
    commit(&user, "f16", &id, json!([])).await.status_is(200);
    assert_eq!(keys(&records(&user, "f16").await), vec!["e"]);
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-17 ----------------------------------------------------------------------------------

// F-17
#[tokio::test]
async fn f_17_a_batch_holds_at_most_max_total_records_ids() {
    let server = TestServer::with(|c| c.limits.max_total_records = 5).await;
    let user = server.user();
    let recs = |ids: &[&str]| Value::Array(ids.iter().map(|id| json!({ "id": id, "payload": "p" })).collect());
    let id = new_batch(&user, "f17", recs(&["r0", "r1", "r2"])).await;
    append(&user, "f17", &id, recs(&["r3", "r4"])).await.status_is(202);
    append(&user, "f17", &id, recs(&["r5"])).await.weave_error(400, 17);
    // Restaging an id adds no id.
    append(&user, "f17", &id, json!([{ "id": "r0", "payload": "again" }])).await.status_is(202);
    commit(&user, "f17", &id, recs(&["r6"])).await.weave_error(400, 17);
    assert_eq!(storage_state(&user).await, (0.0, json!({})), "F-17: a refused commit applies nothing");
    commit(&user, "f17", &id, json!([])).await.status_is(200);
    let stored = records(&user, "f17").await;
    assert_eq!(keys(&stored), vec!["r0", "r1", "r2", "r3", "r4"]);
    assert_eq!(stored["r0"]["payload"], "again");

    // A first request over the limit starts nothing.
    let resp = send(&user, SyncRequest::post("storage/f17b?batch=true").json(&recs(&["a", "b", "c", "d", "e", "f"]))).await;
    resp.weave_error(400, 17);
    assert_eq!(open_batches(&server, &user).await, 0);
    // With X-Weave-Total-Records (D-12): at the limit 202, one past it 400/17.
    let resp = send(&user, SyncRequest::post("storage/f17c?batch=true").header("X-Weave-Total-Records", "5").json(&recs(&["a"]))).await;
    resp.status_is(202);
    let resp = send(&user, SyncRequest::post("storage/f17c?batch=true").header("X-Weave-Total-Records", "6").json(&recs(&["a"]))).await;
    resp.weave_error(400, 17);
    assert_invariants(&server, &[user.uid()]).await;
}

// F-17
#[tokio::test]
async fn f_17_a_batch_holds_at_most_max_total_bytes_of_payload() {
    let server = TestServer::with(|c| c.limits.max_total_bytes = 10).await;
    let user = server.user();
    let id = new_batch(&user, "f17", json!([{ "id": "a", "payload": "ééé" }])).await;
    // 6 + 4 = 10 bytes (7 characters): at the limit.
    append(&user, "f17", &id, json!([{ "id": "b", "payload": "1234" }])).await.status_is(202);
    append(&user, "f17", &id, json!([{ "id": "c", "payload": "x" }])).await.weave_error(400, 17);
    // Restaging `a` replaces its bytes: 2 + 4 = 6.
    append(&user, "f17", &id, json!([{ "id": "a", "payload": "é" }])).await.status_is(202);
    append(&user, "f17", &id, json!([{ "id": "c", "payload": "1234" }])).await.status_is(202);
    commit(&user, "f17", &id, json!([])).await.status_is(200);
    let stored = records(&user, "f17").await;
    assert_eq!(keys(&stored), vec!["a", "b", "c"]);
    assert_eq!(stored["a"]["payload"], "é");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-18 ----------------------------------------------------------------------------------

// F-18
#[tokio::test]
async fn f_18_batch_requests_obey_the_per_request_limits() {
    let server = TestServer::with(|c| {
        c.limits.max_post_bytes = 10;
        c.limits.max_post_records = 3;
        c.limits.max_request_bytes = 1024;
    })
    .await;
    let user = server.user();
    let resp = send(
        &user,
        SyncRequest::post("storage/f18?batch=true")
            .json(&json!([{ "id": "little", "payload": "ab" }, { "id": "big", "payload": "12345678" }])),
    )
    .await;
    let body = resp.status_is(202).json_body();
    assert_eq!(success_set(&body), id_set(&["little", "big"]), "F-18: 10 bytes fill max_post_bytes\n{}", resp.transcript());
    let id = body["batch"].as_str().expect("batch").to_owned();

    let resp = append(&user, "f18", &id, json!([{ "id": "little2", "payload": "ab" }, { "id": "big2", "payload": "123456789" }])).await;
    let body = resp.status_is(202).json_body();
    assert_eq!(success_set(&body), id_set(&["little2"]), "{}", resp.transcript());
    assert_eq!(failed_map(&body).get("big2").map(String::as_str), Some("retry bytes"), "{}", resp.transcript());

    let four: Vec<Value> = (0..4).map(|i| json!({ "id": format!("r{i}"), "payload": "p" })).collect();
    let resp = append(&user, "f18", &id, Value::Array(four)).await;
    let body = resp.status_is(202).json_body();
    assert_eq!(failed_map(&body).get("r3").map(String::as_str), Some("retry bso"), "{}", resp.transcript());

    let over = padded_post_body(1025);
    let resp = send(&user, batch_post("f18", &id, false).header("Content-Type", "application/json").body(over.clone())).await;
    resp.status_is(413);
    let resp = send(&user, batch_post("f18", &id, false).header("Content-Type", "application/json").chunked(over)).await;
    assert!(matches!(resp.status_code(), 413 | 400), "E-08\n{}", resp.transcript());

    commit(&user, "f18", &id, json!([])).await.status_is(200);
    assert_eq!(keys(&records(&user, "f18").await), vec!["big", "little", "little2", "r0", "r1", "r2"]);
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-19 ----------------------------------------------------------------------------------

// F-19: where the spec is silent a later append or commit gives 400 (reference: 400/0, as J-04).
#[tokio::test]
async fn f_19_deleting_a_collection_or_the_storage_discards_open_batches() {
    let server = TestServer::start().await;
    let user = server.user();
    let s = json!([{ "id": "s", "payload": "s" }]);

    put_json(&user, "storage/real/r", json!({ "payload": "r" })).await.status_is(200);
    let id = new_batch(&user, "real", s.clone()).await;
    delete(&user, "storage/real").await.status_is(200);
    append(&user, "real", &id, s.clone()).await.weave_error(400, 0);
    commit(&user, "real", &id, s.clone()).await.weave_error(400, 0);
    get(&user, "storage/real/s").await.weave_error(404, 0);

    // A collection that only holds the batch.
    let id = new_batch(&user, "placeholder", s.clone()).await;
    delete(&user, "storage/placeholder").await.status_is(200);
    commit(&user, "placeholder", &id, json!([])).await.weave_error(400, 0);

    put_json(&user, "storage/wiped/r", json!({ "payload": "r" })).await.status_is(200);
    let id = new_batch(&user, "wiped", s.clone()).await;
    delete(&user, "storage").await.status_is(200);
    append(&user, "wiped", &id, s.clone()).await.weave_error(400, 0);
    commit(&user, "wiped", &id, json!([])).await.weave_error(400, 0);

    let (_, colls) = storage_state(&user).await;
    assert_eq!(colls, json!({}), "F-19: none of the batches' records appear");
    assert_eq!(open_batches(&server, &user).await, 0, "K-16: the batches went with their collections");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-20 ----------------------------------------------------------------------------------

// F-20
#[tokio::test]
async fn f_20_an_uncommitted_batch_creates_nothing() {
    let server = TestServer::start().await;
    let user = server.user();
    let s = put_json(&user, "storage/other/r", json!({ "payload": "x" })).await.status_is(200).ts_header("x-last-modified");
    let id = new_batch(&user, "f20", json!([{ "id": "a", "payload": "abc" }])).await;
    append(&user, "f20", &id, json!([{ "id": "b", "payload": "def" }])).await.status_is(202);

    assert_eq!(storage_state(&user).await, (s, json!({ "other": s })), "F-20: unlisted, storage ts unchanged");
    let listing = get(&user, "storage/f20").await;
    assert_eq!(listing.status_is(200).json_body(), json!([]));
    assert_eq!(listing.header_str("x-last-modified"), "0.00");
    for info in ["info/collection_counts", "info/collection_usage"] {
        let body = get(&user, info).await.status_is(200).json_body();
        assert!(body.get("f20").is_none(), "F-20: {info} ignores staged records: {body}");
    }
    let quota = get(&user, "info/quota").await.status_is(200).json_body();
    assert_eq!(quota[0].as_f64(), Some(1.0 / 1024.0), "F-20: staged bytes are not usage");
    // K-04: the collection is held by a placeholder only.
    let db = server.db().await;
    let rows = db
        .query(
            "SELECT uc.modified <= TIMESTAMPTZ '0001-01-01 00:00:00+00' FROM user_collections uc
               JOIN collections c USING (collection_id) WHERE uc.user_id = $1 AND c.name = 'f20'",
            &[&(user.uid() as i64)],
        )
        .await
        .expect("query");
    assert_eq!(rows.iter().map(|r| r.get::<_, bool>(0)).collect::<Vec<_>>(), vec![true], "K-04 placeholder");

    let t = commit(&user, "f20", &id, json!([])).await.status_is(200).ts_header("x-last-modified");
    assert!(t > s);
    assert_eq!(storage_state(&user).await, (t, json!({ "other": s, "f20": t })), "F-20: listed with T after the commit");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- F-21 ----------------------------------------------------------------------------------

// F-21
#[tokio::test]
async fn f_21_starting_or_appending_over_quota_is_400_14() {
    let server = TestServer::with(|c| c.quota_limit = Some(100)).await;
    let user = server.user();
    let id = new_batch(&user, "f21", json!([{ "id": "s", "payload": "x" }])).await;
    // Usage is measured before a write (H-03), so this one may cross the limit.
    put_json(&user, "storage/fill/big", json!({ "payload": "a".repeat(100) })).await.status_is(200);
    append(&user, "f21", &id, json!([{ "id": "t", "payload": "y" }])).await.weave_error(400, 14);
    let resp = send(&user, SyncRequest::post("storage/f21b?batch=true").json(&json!([{ "id": "u", "payload": "z" }]))).await;
    resp.weave_error(400, 14);
    let resp = send(&user, SyncRequest::post("storage/f21c?batch=true").json(&json!([]))).await;
    resp.weave_error(400, 14);
    // Whether the commit re-checks is implementation-defined; it must not be a 5xx, and the
    // refused append must not be part of it.
    let resp = commit(&user, "f21", &id, json!([])).await;
    assert!(resp.status_code() < 500, "J-15\n{}", resp.transcript());
    let stored = records(&user, "f21").await;
    assert!(!stored.contains_key("t"), "F-21: the refused append stays out: {stored:?}");
    let (_, colls) = storage_state(&user).await;
    assert!(colls.get("f21b").is_none() && colls.get("f21c").is_none(), "{colls}");
    assert_invariants(&server, &[user.uid()]).await;
}
