//! SPEC area A (endpoints and methods) against the reference backend, over HTTP only: one test
//! per clause (more where a clause has distinct cases), named after its clause ID.

mod common;

use common::read::ids;
use common::ts::{cs, cs_json, last_modified, put_ok, ts_text};
use common::{Check, TestServer, delete, get, post_json, put_json, send};
use reqwest::Method;
use serde_json::{Value, json};
use syncstorage_harness::client::{SyncRequest, SyncUser};

// ---- local helpers -------------------------------------------------------------------------

/// The user's info/collections body and storage ts.
async fn info(user: &SyncUser) -> (Value, i64) {
    let resp = get(user, "info/collections").await;
    resp.status_is(200);
    (resp.json_body(), last_modified(&resp))
}

fn kb(bytes: usize) -> f64 {
    bytes as f64 / 1024.0
}

fn assert_kb(actual: &Value, bytes: usize, what: &str) {
    let got = actual.as_f64().unwrap_or_else(|| panic!("{what}: not a number: {actual}"));
    assert!((got - kb(bytes)).abs() < 1e-9, "{what}: {got} KB, expected {bytes} bytes = {} KB", kb(bytes));
    // SPEC A-04 compares to two decimals; exact equality above is stricter and implies it.
}

// ---- A-01 ----------------------------------------------------------------------------------

// A-01
#[tokio::test]
async fn a_01_info_collections_maps_each_collection_to_its_ts() {
    let server = TestServer::start().await;
    let user = server.user();
    let empty = get(&user, "info/collections").await;
    assert_eq!(empty.status_is(200).json_body(), json!({}));
    assert_eq!(empty.header_str("x-weave-records"), "0");
    assert_eq!(empty.header_str("x-last-modified"), "0.00");

    let t1 = put_ok(&user, "storage/c1/a", json!({"payload": "é"})).await;
    server.advance_ms(10).await;
    let post = post_json(&user, "storage/c2", json!([{"id": "b", "payload": "x"}])).await;
    let t2 = cs_json(&post.status_is(200).json_body()["modified"]);
    // A collection holding only an uncommitted batch stays absent.
    let batch = post_json(&user, "storage/c3?batch=true", json!([{"id": "s", "payload": "staged"}])).await;
    batch.status_is(202);

    let resp = get(&user, "info/collections").await;
    let body = resp.status_is(200).json_body();
    let map = body.as_object().expect("map");
    assert_eq!(map.len(), 2, "only c1 and c2 exist\n{}", resp.transcript());
    assert_eq!(cs_json(&map["c1"]), t1);
    assert_eq!(cs_json(&map["c2"]), t2);
    assert!(!map.contains_key("c3"), "a batch-only collection is listed\n{}", resp.transcript());
    assert_eq!(resp.header_str("x-weave-records"), "2");
    assert_eq!(last_modified(&resp), t2, "X-Last-Modified is the storage ts");
}

// ---- A-02 ----------------------------------------------------------------------------------

// A-02
#[tokio::test]
async fn a_02_expired_token_is_accepted_only_by_info_collections() {
    let server = TestServer::start().await;
    let user = server.user();
    let t = put_ok(&user, "storage/c/a", json!({"payload": "keep"})).await;
    let expired = user.expired();

    let resp = get(&expired, "info/collections").await;
    assert_eq!(cs_json(&resp.status_is(200).json_body()["c"]), t);

    for req in [
        SyncRequest::get("info/quota"),
        SyncRequest::get("info/collection_counts"),
        SyncRequest::get("info/collection_usage"),
        SyncRequest::get("info/configuration"),
        SyncRequest::get("storage/c"),
        SyncRequest::get("storage/c/a"),
        SyncRequest::put("storage/c/b").json(&json!({"payload": "new"})),
        SyncRequest::post("storage/c").json(&json!([{"id": "p", "payload": "new"}])),
        SyncRequest::delete("storage/c/a"),
        SyncRequest::delete("storage/c"),
        SyncRequest::delete("storage"),
    ] {
        send(&expired, req).await.weave_error(401, 0);
    }
    // Nothing the refused requests asked for happened.
    assert_eq!(ids(&user, "c").await, vec!["a"]);
    assert_eq!(info(&user).await.1, t);
}

// ---- A-03 ----------------------------------------------------------------------------------

// A-03
#[tokio::test]
async fn a_03_info_quota_used_grows_by_the_payload_bytes() {
    let server = TestServer::start().await;
    let user = server.user();
    let resp = get(&user, "info/quota").await;
    let body = resp.status_is(200).json_body();
    assert_eq!(body.as_array().map(Vec::len), Some(2), "{}", resp.transcript());
    assert_kb(&body[0], 0, "used of a new user");
    assert_eq!(body[1], Value::Null, "quota is not enforced, so the limit is null");

    // 500 two-byte characters: 1000 bytes, not 500.
    put_ok(&user, "storage/c/a", json!({"payload": "é".repeat(500)})).await;
    let body = get(&user, "info/quota").await.json_body();
    assert_kb(&body[0], 1000, "used after 1000 bytes");

    // A 4-byte character in another collection adds exactly 4 bytes.
    put_ok(&user, "storage/d/b", json!({"payload": "😀"})).await;
    assert_kb(&get(&user, "info/quota").await.json_body()[0], 1004, "used after 1004 bytes");

    // Shrinking a payload shrinks usage; a ttl-0 record is not live and does not count.
    put_ok(&user, "storage/c/a", json!({"payload": "€"})).await;
    put_ok(&user, "storage/c/z", json!({"payload": "x".repeat(300), "ttl": 0})).await;
    assert_kb(&get(&user, "info/quota").await.json_body()[0], 7, "used after shrink");
}

// A-03
#[tokio::test]
async fn a_03_info_quota_reports_the_enforced_limit_in_kb() {
    let server = TestServer::with(|c| c.quota_limit = Some(3 * 1024 * 1024)).await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "x".repeat(2048)})).await;
    let resp = get(&user, "info/quota").await;
    let body = resp.status_is(200).json_body();
    assert_kb(&body[0], 2048, "used");
    assert_eq!(body[1].as_f64(), Some(3072.0), "limit in KB\n{}", resp.transcript());
}

// ---- A-04 ----------------------------------------------------------------------------------

// A-04
#[tokio::test]
async fn a_04_collection_usage_maps_collections_to_live_payload_kb() {
    let server = TestServer::start().await;
    let user = server.user();
    let post = post_json(&user, "storage/c1", json!([{"id": "a", "payload": "é".repeat(100)}, {"id": "b", "payload": "abc"}])).await;
    post.status_is(200);
    put_ok(&user, "storage/c2/a", json!({"payload": "😀😀", "ttl": 5})).await;
    // c3 exists but holds only a record that is never live.
    put_ok(&user, "storage/c3/a", json!({"payload": "gone", "ttl": 0})).await;
    // c4 exists but its only record was deleted.
    put_ok(&user, "storage/c4/a", json!({"payload": "gone"})).await;
    delete(&user, "storage/c4?ids=a").await.status_is(200);

    let resp = get(&user, "info/collection_usage").await;
    let body = resp.status_is(200).json_body();
    let map = body.as_object().expect("map");
    assert_kb(&map["c1"], 203, "c1");
    assert_kb(&map["c2"], 8, "c2");
    // Where the spec is silent, the reference leaves collections without live records out.
    assert!(!map.contains_key("c3") && !map.contains_key("c4"), "{}", resp.transcript());
    assert_eq!(map.len(), 2, "{}", resp.transcript());

    server.advance_ms(6_000).await;
    let body = get(&user, "info/collection_usage").await.json_body();
    assert_eq!(body.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()), Some(vec!["c1".to_owned()]));
    assert_kb(&body["c1"], 203, "c1 after c2 expired");
}

// ---- A-05 ----------------------------------------------------------------------------------

// A-05
#[tokio::test]
async fn a_05_collection_counts_maps_collections_to_live_record_counts() {
    let server = TestServer::start().await;
    let user = server.user();
    let three: Vec<Value> = (0..3).map(|i| json!({"id": format!("r{i}"), "payload": "x", "ttl": 10})).collect();
    let five: Vec<Value> = (0..5).map(|i| json!({"id": format!("r{i}"), "payload": "ü"})).collect();
    post_json(&user, "storage/c1", Value::Array(three)).await.status_is(200);
    post_json(&user, "storage/c2", Value::Array(five)).await.status_is(200);
    let resp = get(&user, "info/collection_counts").await;
    assert_eq!(resp.status_is(200).json_body(), json!({"c1": 3, "c2": 5}));

    server.advance_ms(9_000).await;
    assert_eq!(get(&user, "info/collection_counts").await.json_body(), json!({"c1": 3, "c2": 5}));
    server.advance_ms(1_100).await;
    // Where the spec is silent, the reference leaves the expired collection out.
    let resp = get(&user, "info/collection_counts").await;
    assert_eq!(resp.status_is(200).json_body(), json!({"c2": 5}), "{}", resp.transcript());
}

// ---- A-06 ----------------------------------------------------------------------------------

const LIMIT_KEYS: [&str; 6] =
    ["max_post_records", "max_post_bytes", "max_record_payload_bytes", "max_request_bytes", "max_total_records", "max_total_bytes"];

// A-06
#[tokio::test]
async fn a_06_info_configuration_holds_integer_limits() {
    let server = TestServer::start().await;
    let user = server.user();
    let resp = get(&user, "info/configuration").await;
    let body = resp.status_is(200).json_body();
    for key in LIMIT_KEYS {
        assert!(body[key].is_u64(), "{key} is not a non-negative integer\n{}", resp.transcript());
        assert!(body[key].as_u64() > Some(0), "{key} is zero\n{}", resp.transcript());
    }
    if let Some(q) = body.get("max_quota_limit") {
        assert!(q.is_u64() || q.is_null(), "max_quota_limit is not an integer\n{}", resp.transcript());
    }
}

// A-06
#[tokio::test]
async fn a_06_info_configuration_reports_the_limits_the_server_enforces() {
    let server = TestServer::with(|c| {
        c.limits.max_post_records = 3;
        c.limits.max_post_bytes = 40;
        c.limits.max_record_payload_bytes = 20;
        c.limits.max_request_bytes = 4096;
        c.limits.max_total_records = 7;
        c.limits.max_total_bytes = 70;
    })
    .await;
    let user = server.user();
    let config = get(&user, "info/configuration").await.status_is(200).json_body();
    assert_eq!(config["max_post_records"], json!(3));
    assert_eq!(config["max_post_bytes"], json!(40));
    assert_eq!(config["max_record_payload_bytes"], json!(20));
    assert_eq!(config["max_request_bytes"], json!(4096));
    assert_eq!(config["max_total_records"], json!(7));
    assert_eq!(config["max_total_bytes"], json!(70));

    // The published record limit is the one enforced: exactly at it passes, one past fails.
    let limit = config["max_post_records"].as_u64().expect("limit") as usize;
    let records: Vec<Value> = (0..=limit).map(|i| json!({"id": format!("r{i}"), "payload": "x"})).collect();
    let body = post_json(&user, "storage/c", Value::Array(records)).await.status_is(200).json_body();
    assert_eq!(body["success"].as_array().map(Vec::len), Some(limit));
    assert_eq!(body["failed"][format!("r{limit}")], json!("retry bso"));
}

// A-06
#[tokio::test]
async fn a_06_preconditions_do_not_apply_to_info_configuration() {
    let server = TestServer::start().await;
    let user = server.user();
    let t = put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    let plain = get(&user, "info/configuration").await.status_is(200).json_body();
    // Where the spec is silent the reference ignores precondition headers here entirely: no 304,
    // no 412, and no 400 even for values it would refuse elsewhere.
    for (name, value) in [
        ("X-If-Modified-Since", ts_text(t + 100_000)),
        ("X-If-Unmodified-Since", "0".to_owned()),
        ("X-If-Unmodified-Since", ts_text(t - 1)),
        ("X-If-Modified-Since", "-3".to_owned()),
    ] {
        let resp = send(&user, SyncRequest::get("info/configuration").header(name, value)).await;
        assert_eq!(resp.status_is(200).json_body(), plain, "{}", resp.transcript());
    }
}

// ---- A-07 ----------------------------------------------------------------------------------

// A-07
#[tokio::test]
async fn a_07_unknown_collection_lists_empty() {
    let server = TestServer::start().await;
    let user = server.user();
    for path in ["storage/nevercreated", "storage/nevercreated?full=1"] {
        let resp = get(&user, path).await;
        assert_eq!(resp.status_is(200).json_body(), json!([]), "{}", resp.transcript());
        assert_eq!(resp.header_str("x-last-modified"), "0.00");
    }
    // A name another user created is still unknown to this one.
    let other = server.user();
    put_ok(&other, "storage/theirs/a", json!({"payload": "x"})).await;
    let resp = get(&user, "storage/theirs").await;
    assert_eq!(resp.status_is(200).json_body(), json!([]));
    assert_eq!(resp.header_str("x-last-modified"), "0.00");
}

// A-07
#[tokio::test]
async fn a_07_existing_collection_lists_ids_or_full_records() {
    let server = TestServer::start().await;
    let user = server.user();
    let ta = put_ok(&user, "storage/c/a", json!({"payload": "α"})).await;
    let tb = put_ok(&user, "storage/c/b", json!({"payload": "β", "sortindex": 2})).await;
    assert_eq!(ids(&user, "c").await, vec!["a", "b"]);
    let resp = get(&user, "storage/c?full=1").await;
    let mut items = resp.status_is(200).json_body().as_array().expect("list").clone();
    items.sort_by_key(|v| v["id"].as_str().map(str::to_owned));
    assert_eq!(items.len(), 2, "{}", resp.transcript());
    assert_eq!(items[0]["payload"], json!("α"));
    assert_eq!(cs_json(&items[0]["modified"]), ta);
    assert_eq!(items[1]["payload"], json!("β"));
    assert_eq!(items[1]["sortindex"], json!(2));
    assert_eq!(cs_json(&items[1]["modified"]), tb);
    assert_eq!(last_modified(&resp), tb);
}

// ---- A-08 ----------------------------------------------------------------------------------

// A-08
#[tokio::test]
async fn a_08_post_writes_many_records_at_one_t() {
    let server = TestServer::start().await;
    let user = server.user();
    let t0 = put_ok(&user, "storage/c/u", json!({"payload": "old"})).await;
    server.advance_ms(10).await;
    let resp =
        post_json(&user, "storage/c", json!([{"id": "a", "payload": "ä"}, {"id": "b", "payload": "b"}, {"id": "u", "payload": "new"}]))
            .await;
    let body = resp.status_is(200).json_body();
    let t = cs_json(&body["modified"]);
    assert!(t > t0, "{}", resp.transcript());
    assert_eq!(last_modified(&resp), t);
    let mut success: Vec<&str> = body["success"].as_array().expect("success").iter().filter_map(Value::as_str).collect();
    success.sort_unstable();
    assert_eq!(success, ["a", "b", "u"]);
    assert_eq!(body["failed"], json!({}));

    let items = get(&user, "storage/c?full=1").await.json_body();
    let items = items.as_array().expect("list");
    assert_eq!(items.len(), 3);
    for item in items {
        assert_eq!(cs_json(&item["modified"]), t, "every record carries the POST's T: {item}");
    }
    let u = get(&user, "storage/c/u").await.json_body();
    assert_eq!(u["payload"], json!("new"));
    assert_eq!(get(&user, "storage/c/a").await.json_body()["payload"], json!("ä"));
}

// ---- A-09 ----------------------------------------------------------------------------------

// A-09
#[tokio::test]
async fn a_09_delete_collection_removes_it_with_records_and_batches() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    put_ok(&user, "storage/c/b", json!({"payload": "y"})).await;
    let keep = put_ok(&user, "storage/other/k", json!({"payload": "z"})).await;
    let batch = post_json(&user, "storage/c?batch=true", json!([{"id": "s", "payload": "staged"}])).await;
    let batch_id = batch.status_is(202).json_body()["batch"].as_str().expect("batch id").to_owned();

    let resp = delete(&user, "storage/c").await;
    let t = cs_json(&resp.status_is(200).json_body()["modified"]);
    assert_eq!(last_modified(&resp), t);
    assert!(t > keep);
    let (map, storage) = info(&user).await;
    assert_eq!(map.as_object().map(|m| m.len()), Some(1), "only `other` is left: {map}");
    assert_eq!(cs_json(&map["other"]), keep);
    assert_eq!(storage, t, "the delete's T is the storage ts");
    let listing = get(&user, "storage/c").await;
    assert_eq!(listing.status_is(200).json_body(), json!([]));
    assert_eq!(listing.header_str("x-last-modified"), "0.00");
    get(&user, "storage/c/a").await.weave_error(404, 0);

    // The open batch went with the collection.
    let db = server.db().await;
    let uid = user.uid() as i64;
    let rows = db.query("SELECT batch_id FROM batches WHERE user_id = $1", &[&uid]).await.expect("batches");
    assert!(rows.is_empty(), "{} batch rows survive the collection delete", rows.len());
    let commit = post_json(&user, &format!("storage/c?batch={batch_id}&commit=true"), json!([])).await;
    assert!((400..500).contains(&commit.status_code()), "a deleted batch commits\n{}", commit.transcript());
    assert_eq!(ids(&user, "c").await, Vec::<String>::new());

    // Again: 200, and nothing moves.
    let again = delete(&user, "storage/c").await;
    assert_eq!(cs_json(&again.status_is(200).json_body()["modified"]), t);
    assert_eq!(info(&user).await.1, t);
}

// A-09
#[tokio::test]
async fn a_09_delete_of_unknown_collection_changes_nothing() {
    let server = TestServer::start().await;
    let user = server.user();
    let t = put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    let before = info(&user).await;
    let resp = delete(&user, "storage/never").await;
    // Where the spec is silent the reference reports the (unchanged) storage ts as {"modified"}.
    assert_eq!(cs_json(&resp.status_is(200).json_body()["modified"]), t);
    assert_eq!(info(&user).await, before);
}

// ---- A-10 ----------------------------------------------------------------------------------

// A-10
#[tokio::test]
async fn a_10_delete_ids_removes_listed_records_and_keeps_the_collection() {
    let server = TestServer::start().await;
    let user = server.user();
    let recs = json!([{"id": "a", "payload": "1"}, {"id": "b", "payload": "2"}, {"id": "c", "payload": "3"}]);
    let t0 = cs_json(&post_json(&user, "storage/coll", recs).await.status_is(200).json_body()["modified"]);

    let resp = delete(&user, "storage/coll?ids=a,b").await;
    let t1 = cs_json(&resp.status_is(200).json_body()["modified"]);
    assert!(t1 > t0);
    assert_eq!(last_modified(&resp), t1);
    assert_eq!(ids(&user, "coll").await, vec!["c"]);
    assert_eq!(cs_json(&info(&user).await.0["coll"]), t1);

    // Deleting the last record leaves an empty collection, still listed, with a new T.
    let resp = delete(&user, "storage/coll?ids=c").await;
    let t2 = cs_json(&resp.status_is(200).json_body()["modified"]);
    assert!(t2 > t1);
    assert_eq!(ids(&user, "coll").await, Vec::<String>::new());
    let (map, storage) = info(&user).await;
    assert_eq!(cs_json(&map["coll"]), t2, "the emptied collection stays listed");
    assert_eq!(storage, t2);
}

// A-10
#[tokio::test]
async fn a_10_delete_ids_on_unknown_collection_creates_nothing() {
    let server = TestServer::start().await;
    let user = server.user();
    let t = put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    let before = info(&user).await;
    let resp = delete(&user, "storage/fresh?ids=x,y").await;
    assert_eq!(cs_json(&resp.status_is(200).json_body()["modified"]), t);
    assert_eq!(info(&user).await, before, "the unknown collection appeared");
}

// ---- A-11 ----------------------------------------------------------------------------------

// A-11
#[tokio::test]
async fn a_11_get_record_returns_its_fields_and_404_when_missing() {
    let server = TestServer::start().await;
    let user = server.user();
    let ta = put_ok(&user, "storage/c/a", json!({"payload": "p ✓", "sortindex": 3, "ttl": 100})).await;
    let tb = put_ok(&user, "storage/c/b", json!({"payload": "q"})).await;
    put_ok(&user, "storage/c/zero", json!({"payload": "r", "ttl": 0})).await;

    let a = get(&user, "storage/c/a").await;
    let body = a.status_is(200).json_body();
    let mut keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["id", "modified", "payload", "sortindex"], "{}", a.transcript());
    assert_eq!(body["id"], json!("a"));
    assert_eq!(body["payload"], json!("p ✓"));
    assert_eq!(body["sortindex"], json!(3));
    assert_eq!(cs_json(&body["modified"]), ta);

    let b = get(&user, "storage/c/b").await.status_is(200).json_body();
    let mut keys: Vec<&str> = b.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["id", "modified", "payload"]);
    assert_eq!(cs_json(&b["modified"]), tb);

    get(&user, "storage/c/missing").await.weave_error(404, 0);
    get(&user, "storage/c/zero").await.weave_error(404, 0);
    get(&user, "storage/nocoll/a").await.weave_error(404, 0);
}

// ---- A-12 ----------------------------------------------------------------------------------

// A-12
#[tokio::test]
async fn a_12_put_creates_then_updates_and_answers_t() {
    let server = TestServer::start().await;
    let user = server.user();
    let first = put_json(&user, "storage/c/a", json!({"payload": "one"})).await;
    first.status_is(200);
    let text = first.text().trim().to_owned();
    let t1 = cs(&text);
    assert_eq!(last_modified(&first), t1, "body and X-Last-Modified differ\n{}", first.transcript());
    assert!(first.header_str("content-type").starts_with("application/json"));

    server.advance_ms(10).await;
    let second = put_json(&user, "storage/c/a", json!({"payload": "twö"})).await;
    second.status_is(200);
    let t2 = cs(second.text().trim());
    assert!(t2 > t1);
    assert_eq!(last_modified(&second), t2);
    let rec = get(&user, "storage/c/a").await.json_body();
    assert_eq!(rec["payload"], json!("twö"));
    assert_eq!(cs_json(&rec["modified"]), t2);
}

// ---- A-13 ----------------------------------------------------------------------------------

// A-13
#[tokio::test]
async fn a_13_delete_record_twice_gives_200_then_404() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    put_ok(&user, "storage/c/b", json!({"payload": "y"})).await;
    put_ok(&user, "storage/c/zero", json!({"payload": "z", "ttl": 0})).await;

    let resp = delete(&user, "storage/c/a").await;
    let body = resp.status_is(200).json_body();
    let t = cs_json(&body["modified"]);
    assert_eq!(body.as_object().map(|m| m.len()), Some(1), "body is {{\"modified\": T}}\n{}", resp.transcript());
    assert_eq!(last_modified(&resp), t);
    get(&user, "storage/c/a").await.weave_error(404, 0);
    assert_eq!(ids(&user, "c").await, vec!["b"]);

    delete(&user, "storage/c/a").await.weave_error(404, 0);
    delete(&user, "storage/c/zero").await.weave_error(404, 0);
    delete(&user, "storage/c/never").await.weave_error(404, 0);
    assert_eq!(info(&user).await.1, t, "failed deletes moved the storage ts");
}

// ---- A-14 ----------------------------------------------------------------------------------

async fn wipe_and_check(path: &str) {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c1/a", json!({"payload": "x"})).await;
    post_json(&user, "storage/c2", json!([{"id": "b", "payload": "y"}])).await.status_is(200);
    let s = info(&user).await.1;

    let resp = delete(&user, path).await;
    // Where the spec is silent the reference's body is `{}`.
    assert_eq!(resp.status_is(200).json_body(), json!({}));
    let wipe_t = last_modified(&resp);
    assert!(wipe_t > s, "the wipe's T is above the old storage ts\n{}", resp.transcript());

    let resp = send(&user, SyncRequest::get("info/collections").header("X-If-Modified-Since", ts_text(s))).await;
    assert_eq!(resp.status_is(200).json_body(), json!({}));
    assert_eq!(last_modified(&resp), wipe_t, "the wipe's T becomes the storage ts");
    assert_eq!(get(&user, "storage/c1").await.json_body(), json!([]));
    get(&user, "storage/c2/b").await.weave_error(404, 0);
    assert_eq!(get(&user, "info/collection_counts").await.json_body(), json!({}));
}

// A-14
#[tokio::test]
async fn a_14_delete_storage_wipes_everything_as_a_write() {
    wipe_and_check("storage").await;
}

// A-14
#[tokio::test]
async fn a_14_delete_user_root_wipes_everything_as_a_write() {
    wipe_and_check("").await;
}

// ---- A-15 ----------------------------------------------------------------------------------

// A-15
#[tokio::test]
async fn a_15_unsupported_method_gives_405_with_empty_body() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    let before = info(&user).await;
    for req in [
        SyncRequest::new(Method::PATCH, "storage/c").json(&json!([{"id": "p", "payload": "x"}])),
        SyncRequest::put("info/quota").json(&json!({})),
        SyncRequest::post("storage/c/a").json(&json!({"payload": "y"})),
        SyncRequest::delete("info/collections"),
        SyncRequest::put("storage/c").json(&json!([{"id": "q", "payload": "x"}])),
        SyncRequest::post("info/collections").json(&json!([])),
        SyncRequest::new(Method::PATCH, "storage/c/a").json(&json!({"payload": "z"})),
    ] {
        let resp = send(&user, req).await;
        resp.status_is(405).empty_body();
    }
    assert_eq!(info(&user).await, before);
    assert_eq!(get(&user, "storage/c/a").await.json_body()["payload"], json!("x"));
    assert_eq!(ids(&user, "c").await, vec!["a"]);
}

// ---- A-16 ----------------------------------------------------------------------------------

// A-16
#[tokio::test]
async fn a_16_unknown_path_gives_404_json() {
    let server = TestServer::start().await;
    let user = server.user();
    let uid = user.uid();
    for path in [
        "nonexistent/url".to_owned(),
        "info/bogus".to_owned(),
        "info".to_owned(),
        "storage/c/a/extra".to_owned(),
        format!("/1.6/{uid}/info/collections"),
        "/nothing/here".to_owned(),
    ] {
        get(&user, &path).await.weave_error(404, 0);
    }
}

// ---- A-17 ----------------------------------------------------------------------------------

// A-17
#[tokio::test]
async fn a_17_heartbeats_answer_unsigned() {
    let server = TestServer::start().await;
    let resp = server.client.send(SyncRequest::get("/__heartbeat__")).await.expect("heartbeat");
    let body = resp.status_is(200).json_body();
    assert!(body["status"].is_string(), "{}", resp.transcript());
    assert!(body["database"].is_string(), "{}", resp.transcript());
    assert!(body["version"].is_string(), "{}", resp.transcript());
    assert_eq!(body["quota"]["enabled"], json!(false), "{}", resp.transcript());
    assert!(body["quota"]["size"].is_u64(), "{}", resp.transcript());
    let lb = server.client.send(SyncRequest::get("/__lbheartbeat__")).await.expect("lbheartbeat");
    lb.status_is(200);

    let quota = TestServer::with(|c| c.quota_limit = Some(123_456)).await;
    let body = quota.client.send(SyncRequest::get("/__heartbeat__")).await.expect("heartbeat").json_body();
    assert_eq!(body["quota"], json!({"enabled": true, "size": 123_456}));
}

// ---- A-18 ----------------------------------------------------------------------------------

// A-18
#[tokio::test]
async fn a_18_cors_preflight_echoes_any_origin() {
    let server = TestServer::start().await;
    let user = server.user();
    for path in ["/__heartbeat__".to_owned(), format!("/1.5/{}/info/collections", user.uid())] {
        for origin in ["localhost", "http://test-website.com"] {
            let req =
                SyncRequest::new(Method::OPTIONS, path.clone()).header("Origin", origin).header("Access-Control-Request-Method", "GET");
            let resp = server.client.send(req).await.expect("preflight");
            assert!(matches!(resp.status_code(), 200 | 204), "{}", resp.transcript());
            assert_eq!(resp.header_str("access-control-allow-origin"), origin);
            let max_age: i64 = resp.header_str("access-control-max-age").parse().expect("integer max-age");
            assert!(max_age > 0, "{}", resp.transcript());
        }
    }
}

// ---- A-19 ----------------------------------------------------------------------------------

// A-19
#[tokio::test]
async fn a_19_missing_or_bad_hawk_gives_401() {
    let server = TestServer::start().await;
    let user = server.user();
    let t = put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    for req in [
        SyncRequest::get("info/collections").unsigned(),
        SyncRequest::get("info/collections").wrong_key(),
        SyncRequest::get("storage/c/a").unsigned(),
        SyncRequest::get("info/collections").header("Authorization", "Hawk id=\"nope\", ts=\"1\", nonce=\"n\", mac=\"AAAA\""),
        SyncRequest::get("info/collections").header("Authorization", "Bearer abc"),
        SyncRequest::get("info/collections").header("Authorization", ""),
        SyncRequest::put("storage/c/b").json(&json!({"payload": "y"})).unsigned(),
        SyncRequest::put("storage/c/b").json(&json!({"payload": "y"})).wrong_key(),
        SyncRequest::delete("storage").wrong_key(),
    ] {
        send(&user, req).await.weave_error(401, 0);
    }
    assert_eq!(ids(&user, "c").await, vec!["a"]);
    assert_eq!(info(&user).await.1, t);
}

// A-19
#[tokio::test]
async fn a_19_another_users_token_is_refused_before_data_access() {
    let server = TestServer::start().await;
    let intruder = server.user();
    let victim = server.user();
    let t = put_ok(&victim, "storage/c/a", json!({"payload": "secret"})).await;
    let root = format!("/1.5/{}", victim.uid());
    // Where the spec is silent the reference answers 401/0.
    for req in [
        SyncRequest::get(format!("{root}/info/collections")),
        SyncRequest::get(format!("{root}/storage/c/a")),
        SyncRequest::put(format!("{root}/storage/c/b")).json(&json!({"payload": "planted"})),
        SyncRequest::delete(format!("{root}/storage/c/a")),
        SyncRequest::delete(format!("{root}/storage")),
        SyncRequest::delete(root.clone()),
    ] {
        send(&intruder, req).await.weave_error(401, 0);
    }
    assert_eq!(ids(&victim, "c").await, vec!["a"]);
    assert_eq!(info(&victim).await.1, t);
    assert_eq!(info(&intruder).await, (json!({}), 0), "the intruder's own storage was touched");
}

// A-19
#[tokio::test]
async fn a_19_non_numeric_uid_gives_404() {
    let server = TestServer::start().await;
    let user = server.user();
    for path in ["/1.5/abc/info/collections", "/1.5/12345678901/info/collections", "/1.5/-1/info/collections", "/1.5//info/collections"] {
        send(&user, SyncRequest::get(path)).await.weave_error(404, 0);
    }
}
