//! SPEC area B (record fields and validation) against the reference backend, over HTTP only:
//! valid edges are stored and read back, invalid input gets the SPEC's error and writes nothing.

mod common;

use common::read::{ids, snapshot};
use common::ts::{cs, cs_json, put_ok};
use common::{Check, TestServer, get, post_json, put_json, send};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use syncstorage_harness::client::{SyncRequest, SyncUser};

// ---- local helpers -------------------------------------------------------------------------

/// Path segments keep only RFC 3986 unreserved characters, so any id reaches the server intact.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

fn enc(id: &str) -> String {
    utf8_percent_encode(id, SEGMENT).to_string()
}

async fn record(user: &SyncUser, coll: &str, id: &str) -> Value {
    get(user, &format!("storage/{coll}/{}", enc(id))).await.status_is(200).json_body()
}

/// POSTs `records` and returns (success ids, failed map).
async fn post_split(user: &SyncUser, coll: &str, records: Value) -> (Vec<String>, serde_json::Map<String, Value>) {
    let resp = post_json(user, &format!("storage/{coll}"), records).await;
    let body = resp.status_is(200).json_body();
    let mut success: Vec<String> = body["success"]
        .as_array()
        .unwrap_or_else(|| panic!("no success list\n{}", resp.transcript()))
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect();
    success.sort();
    let failed = body["failed"].as_object().cloned().unwrap_or_else(|| panic!("no failed map\n{}", resp.transcript()));
    for id in &success {
        assert!(!failed.contains_key(id), "{id} both succeeded and failed\n{}", resp.transcript());
    }
    (success, failed)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ---- B-01 ----------------------------------------------------------------------------------

const BAD_IDS: [&str; 12] = ["A\nB", "A\n", "\nN", "A\tB", "", "\u{0}", "\u{1f}", "\u{7f}", "é", "id€", "\u{a0}", "😀"];

// B-01
#[tokio::test]
async fn b_01_post_fails_records_with_invalid_ids() {
    let server = TestServer::start().await;
    let user = server.user();
    let long = "X".repeat(65);
    let mut records: Vec<Value> = BAD_IDS.iter().map(|id| json!({"id": id, "payload": "x"})).collect();
    records.push(json!({"id": long, "payload": "x"}));
    records.push(json!({"id": "good", "payload": "x"}));
    let (success, failed) = post_split(&user, "c", Value::Array(records)).await;
    assert_eq!(success, vec!["good"]);
    for id in BAD_IDS.iter().copied().chain([long.as_str()]) {
        assert!(failed.contains_key(id), "invalid id {id:?} is not in `failed`: {failed:?}");
    }
    assert_eq!(ids(&user, "c").await, vec!["good"]);

    // A collection receiving only invalid ids stores nothing.
    let only_bad: Vec<Value> = BAD_IDS.iter().map(|id| json!({"id": id, "payload": "x"})).collect();
    let (success, _) = post_split(&user, "fresh", Value::Array(only_bad)).await;
    assert!(success.is_empty());
    assert_eq!(ids(&user, "fresh").await, Vec::<String>::new());
}

// B-01
#[tokio::test]
async fn b_01_ids_at_the_edges_of_the_allowed_set_are_stored() {
    let server = TestServer::start().await;
    let user = server.user();
    let edges: Vec<String> = vec![
        " ".to_owned(),                   // 0x20, the lowest allowed byte
        "~".to_owned(),                   // 0x7E, the highest
        "X".repeat(64),                   // the longest
        "a\"b\\c/d?e#f%41g,h".to_owned(), // JSON- and URL-special characters
        " lead and trail ".to_owned(),    // ids are not trimmed
        "x".to_owned(),
        "x ".to_owned(),
    ];
    let records: Vec<Value> = edges.iter().map(|id| json!({"id": id, "payload": format!("p:{id}")})).collect();
    let (success, failed) = post_split(&user, "c", Value::Array(records)).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(success, sorted(edges.clone()));
    assert_eq!(ids(&user, "c").await, sorted(edges.clone()));
    for id in &edges {
        let rec = record(&user, "c", id).await;
        assert_eq!(rec["id"], json!(id));
        assert_eq!(rec["payload"], json!(format!("p:{id}")));
    }
    // The same edges by PUT, in another collection.
    for id in &edges {
        put_ok(&user, &format!("storage/d/{}", enc(id)), json!({"payload": "put"})).await;
    }
    assert_eq!(ids(&user, "d").await, sorted(edges));
}

// B-01
#[tokio::test]
async fn b_01_invalid_path_ids_give_404() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, &format!("storage/c/{}", "Y".repeat(64)), json!({"payload": "x"})).await;
    let before = snapshot(&user, &["c"]).await;
    let long = "Y".repeat(65);
    // Where the spec is silent: an invalid path id is 404/0.
    for id in [long.as_str(), "%0A", "a%09b", "%00", "%7F", "%C3%A9", "%F0%9F%98%80"] {
        put_json(&user, &format!("storage/c/{id}"), json!({"payload": "x"})).await.weave_error(404, 0);
        get(&user, &format!("storage/c/{id}")).await.weave_error(404, 0);
        send(&user, SyncRequest::delete(format!("storage/c/{id}"))).await.weave_error(404, 0);
    }
    assert_eq!(snapshot(&user, &["c"]).await, before);
}

// B-01
#[tokio::test]
async fn b_01_invalid_id_in_a_put_body_gives_400_8() {
    let server = TestServer::start().await;
    let user = server.user();
    for id in ["ok\n", "", "é", "X".repeat(65).as_str()] {
        put_json(&user, "storage/c/ok", json!({"id": id, "payload": "x"})).await.weave_error(400, 8);
    }
    assert_eq!(ids(&user, "c").await, Vec::<String>::new());
    assert_eq!(get(&user, "info/collections").await.json_body(), json!({}));
}

// ---- B-02 ----------------------------------------------------------------------------------

// B-02
#[tokio::test]
async fn b_02_every_ids_entry_must_be_a_valid_id() {
    let server = TestServer::start().await;
    let user = server.user();
    post_split(&user, "c", json!([{"id": "a", "payload": "1"}, {"id": "b", "payload": "2"}])).await;
    let before = snapshot(&user, &["c"]).await;
    let long = "Z".repeat(65);
    for ids in ["a%0Ab", "a,%0A", "a,%C3%A9", "a,%00", "a,%FF", "%7F", &format!("a,{long}")] {
        get(&user, &format!("storage/c?ids={ids}")).await.weave_error(400, 0);
        send(&user, SyncRequest::delete(format!("storage/c?ids={ids}"))).await.weave_error(400, 0);
    }
    assert_eq!(snapshot(&user, &["c"]).await, before);
    // The 64-character edge is a valid entry.
    let ok = get(&user, &format!("storage/c?ids=a,{}", "Z".repeat(64))).await;
    assert_eq!(ok.status_is(200).json_body(), json!(["a"]));
}

// ---- B-03 ----------------------------------------------------------------------------------

// B-03
#[tokio::test]
async fn b_03_missing_non_string_or_repeated_id_fails_the_whole_post() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/z", json!({"payload": "keep"})).await;
    let before = snapshot(&user, &["c", "fresh"]).await;
    for coll in ["c", "fresh"] {
        for body in [
            json!([{"payload": "x"}]),
            json!([{"id": "ok", "payload": "x"}, {"payload": "x"}]),
            json!([{"id": 5}]),
            json!([{"id": "ok", "payload": "x"}, {"id": 5, "payload": "x"}]),
            json!([{"id": null, "payload": "x"}]),
            json!([{"id": ["a"], "payload": "x"}]),
            json!([{"id": {"a": 1}, "payload": "x"}]),
            json!([{"id": "ok", "payload": "x"}, {"id": "ok", "payload": "y"}]),
            json!([{"id": "z", "payload": "x"}, {"id": "ok"}, {"id": "z", "sortindex": 1}]),
        ] {
            post_json(&user, &format!("storage/{coll}"), body).await.weave_error(400, 8);
        }
    }
    assert_eq!(snapshot(&user, &["c", "fresh"]).await, before);
}

// ---- B-04 ----------------------------------------------------------------------------------

// B-04
#[tokio::test]
async fn b_04_put_stores_under_the_path_id_only() {
    let server = TestServer::start().await;
    let user = server.user();
    // Where the spec is silent the reference refuses a differing body id with 400/8.
    put_json(&user, "storage/c/zz", json!({"id": "other", "payload": "x"})).await.weave_error(400, 8);
    get(&user, "storage/c/other").await.weave_error(404, 0);
    get(&user, "storage/c/zz").await.weave_error(404, 0);
    assert_eq!(get(&user, "info/collections").await.json_body(), json!({}));

    // A matching body id is fine.
    put_ok(&user, "storage/c/zz", json!({"id": "zz", "payload": "y"})).await;
    assert_eq!(record(&user, "c", "zz").await["payload"], json!("y"));
    put_json(&user, "storage/c/zz", json!({"id": "ZZ", "payload": "case"})).await.weave_error(400, 8);
    put_json(&user, "storage/c/zz", json!({"id": "zz ", "payload": "space"})).await.weave_error(400, 8);
    assert_eq!(ids(&user, "c").await, vec!["zz"]);
    assert_eq!(record(&user, "c", "zz").await["payload"], json!("y"));
}

// ---- B-05 ----------------------------------------------------------------------------------

fn bad_sortindexes() -> Vec<Value> {
    vec![
        json!("xxx_meh"),
        json!("2.6"),
        json!("5"),
        json!(2.6),
        json!(1.0),
        json!(1_000_000_000),
        json!(-1_000_000_000),
        json!(1e10),
        json!(true),
        json!([1]),
        json!({"v": 1}),
    ]
}

// B-05
#[tokio::test]
async fn b_05_sortindex_outside_integer_range_fails_the_record() {
    let server = TestServer::start().await;
    let user = server.user();
    let bad = bad_sortindexes();
    let mut records: Vec<Value> =
        bad.iter().enumerate().map(|(i, s)| json!({"id": format!("bad{i}"), "payload": "x", "sortindex": s})).collect();
    records.push(json!({"id": "neg", "payload": "x", "sortindex": -42}));
    records.push(json!({"id": "max", "payload": "x", "sortindex": 999_999_999}));
    records.push(json!({"id": "min", "payload": "x", "sortindex": -999_999_999}));
    let (success, failed) = post_split(&user, "c", Value::Array(records)).await;
    assert_eq!(success, vec!["max", "min", "neg"]);
    assert_eq!(failed.len(), bad.len(), "{failed:?}");
    assert_eq!(record(&user, "c", "neg").await["sortindex"], json!(-42));
    assert_eq!(record(&user, "c", "max").await["sortindex"], json!(999_999_999));
    assert_eq!(record(&user, "c", "min").await["sortindex"], json!(-999_999_999));
}

// B-05
#[tokio::test]
async fn b_05_put_with_invalid_sortindex_gives_400_8() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "keep", "sortindex": 7})).await;
    let before = snapshot(&user, &["c"]).await;
    for s in bad_sortindexes() {
        put_json(&user, "storage/c/a", json!({"payload": "new", "sortindex": s})).await.weave_error(400, 8);
        put_json(&user, "storage/c/b", json!({"payload": "new", "sortindex": s})).await.weave_error(400, 8);
    }
    assert_eq!(snapshot(&user, &["c"]).await, before);
    put_ok(&user, "storage/c/b", json!({"sortindex": -42})).await;
    assert_eq!(record(&user, "c", "b").await["sortindex"], json!(-42));
}

// ---- B-06 ----------------------------------------------------------------------------------

// B-06
#[tokio::test]
async fn b_06_non_string_payload_is_invalid() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "keep"})).await;
    let before = snapshot(&user, &["c"]).await;
    let bad = [json!(42), json!(4.2), json!(true), json!(["x"]), json!({"x": "y"})];
    for p in &bad {
        put_json(&user, "storage/c/a", json!({"payload": p})).await.weave_error(400, 8);
        put_json(&user, "storage/c/new", json!({"payload": p})).await.weave_error(400, 8);
    }
    assert_eq!(snapshot(&user, &["c"]).await, before);
    let records: Vec<Value> = bad.iter().enumerate().map(|(i, p)| json!({"id": format!("p{i}"), "payload": p})).collect();
    let (success, failed) = post_split(&user, "c", Value::Array(records)).await;
    assert!(success.is_empty());
    assert_eq!(failed.len(), bad.len());
    assert_eq!(ids(&user, "c").await, vec!["a"]);
}

// B-06
#[tokio::test]
async fn b_06_put_payload_at_the_byte_limit_passes_and_one_past_gives_413() {
    let server = TestServer::start().await;
    let user = server.user();
    let config = get(&user, "info/configuration").await.status_is(200).json_body();
    let limit = config["max_record_payload_bytes"].as_u64().expect("limit") as usize;
    assert!(limit % 2 == 0, "the test builds the payload from two-byte characters");
    // Two-byte characters: the limit in bytes is half as many characters.
    let at_limit = "é".repeat(limit / 2);
    let over = format!("{at_limit}x");
    put_ok(&user, "storage/c/keep", json!({"payload": "small"})).await;
    let before = snapshot(&user, &[]).await;

    let resp = put_json(&user, "storage/c/big", json!({"payload": over})).await;
    resp.status_is(413);
    assert!(resp.text().trim().parse::<u32>().is_ok() || resp.body().is_empty(), "{}", resp.transcript());
    get(&user, "storage/c/big").await.weave_error(404, 0);
    let resp = put_json(&user, "storage/c/keep", json!({"payload": over})).await;
    resp.status_is(413);
    assert_eq!(record(&user, "c", "keep").await["payload"], json!("small"));
    assert_eq!(snapshot(&user, &[]).await, before);

    put_ok(&user, "storage/c/big", json!({"payload": at_limit})).await;
    let got = record(&user, "c", "big").await;
    assert_eq!(got["payload"].as_str().map(str::len), Some(limit));
}

// B-06
#[tokio::test]
async fn b_06_post_fails_an_oversized_payload_with_retry_bytes() {
    let server = TestServer::with(|c| c.limits.max_record_payload_bytes = 10).await;
    let user = server.user();
    let limit = get(&user, "info/configuration").await.json_body()["max_record_payload_bytes"].as_u64().expect("limit");
    assert_eq!(limit, 10);
    let (success, failed) = post_split(
        &user,
        "c",
        json!([
            {"id": "at", "payload": "ééééé"},     // 10 bytes
            {"id": "over", "payload": "éééééx"},  // 11 bytes, 6 characters
            {"id": "ascii", "payload": "0123456789"},
        ]),
    )
    .await;
    assert_eq!(success, vec!["ascii", "at"]);
    assert_eq!(failed.get("over"), Some(&json!("retry bytes")));
    get(&user, "storage/c/over").await.weave_error(404, 0);
    put_json(&user, "storage/c/put", json!({"payload": "éééééx"})).await.status_is(413);
    get(&user, "storage/c/put").await.weave_error(404, 0);
}

// ---- B-07 ----------------------------------------------------------------------------------

fn bad_ttls() -> Vec<Value> {
    vec![
        json!(-1),
        json!("eh?"),
        json!("4.2"),
        json!("10"),
        json!(4.2),
        json!(1.0),
        json!(1_000_000_000),
        json!(-1_000_000_000),
        json!(true),
        json!([5]),
    ]
}

// B-07
#[tokio::test]
async fn b_07_ttl_outside_0_to_999999999_fails_the_record() {
    let server = TestServer::start().await;
    let user = server.user();
    let bad = bad_ttls();
    let mut records: Vec<Value> = bad.iter().enumerate().map(|(i, t)| json!({"id": format!("bad{i}"), "payload": "x", "ttl": t})).collect();
    records.push(json!({"id": "zero", "payload": "x", "ttl": 0}));
    records.push(json!({"id": "max", "payload": "x", "ttl": 999_999_999}));
    let (success, failed) = post_split(&user, "c", Value::Array(records)).await;
    assert_eq!(success, vec!["max", "zero"]);
    assert_eq!(failed.len(), bad.len(), "{failed:?}");
    // ttl 0 hides the record at once.
    get(&user, "storage/c/zero").await.weave_error(404, 0);
    assert_eq!(ids(&user, "c").await, vec!["max"]);
}

// B-07
#[tokio::test]
async fn b_07_put_with_invalid_ttl_gives_400_8_and_ttl_0_hides_at_once() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "keep"})).await;
    let before = snapshot(&user, &["c"]).await;
    for t in bad_ttls() {
        put_json(&user, "storage/c/a", json!({"payload": "new", "ttl": t})).await.weave_error(400, 8);
        put_json(&user, "storage/c/b", json!({"payload": "new", "ttl": t})).await.weave_error(400, 8);
    }
    assert_eq!(snapshot(&user, &["c"]).await, before);
    put_ok(&user, "storage/c/z", json!({"payload": "x", "ttl": 0})).await;
    get(&user, "storage/c/z").await.weave_error(404, 0);
    put_ok(&user, "storage/c/a", json!({"ttl": 0})).await;
    get(&user, "storage/c/a").await.weave_error(404, 0);
}

// ---- B-08 ----------------------------------------------------------------------------------

// B-08
#[tokio::test]
async fn b_08_absent_or_null_ttl_never_expires() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/null", json!({"payload": "x", "ttl": null})).await;
    put_ok(&user, "storage/c/absent", json!({"payload": "y"})).await;
    post_split(&user, "c", json!([{"id": "posted", "payload": "z", "ttl": null}])).await;
    put_ok(&user, "storage/c/max", json!({"payload": "w", "ttl": 999_999_999})).await;
    // Forty years on, only the record with the largest finite ttl (about 31.7 years) is gone.
    let forty_years_ms = 40 * 365 * 24 * 3600 * 1000_i64;
    server.advance_ms(forty_years_ms).await;
    assert_eq!(ids(&user, "c").await, vec!["absent", "null", "posted"]);
    get(&user, "storage/c/null").await.status_is(200);
    get(&user, "storage/c/max").await.weave_error(404, 0);
}

// ---- B-09 ----------------------------------------------------------------------------------

// B-09
#[tokio::test]
async fn b_09_unknown_fields_make_the_record_invalid() {
    let server = TestServer::start().await;
    let user = server.user();
    for body in [
        json!({"id": "TEST", "payload": "x", "unexpected": "x"}),
        json!({"payload": "x", "Payload": "y"}),
        json!({"payload": "x", "ttl ": 5}),
        json!({"payload": "x", "\u{0}": 1}),
    ] {
        put_json(&user, "storage/c/TEST", body).await.weave_error(400, 8);
    }
    get(&user, "storage/c/TEST").await.weave_error(404, 0);
    let (success, failed) = post_split(
        &user,
        "c",
        json!([
            {"id": "TEST", "unexpected": "x"},
            {"id": "ok", "payload": "x", "modified": 123},
        ]),
    )
    .await;
    assert_eq!(success, vec!["ok"]);
    assert!(failed.contains_key("TEST"), "{failed:?}");
    assert_eq!(ids(&user, "c").await, vec!["ok"]);
}

// ---- B-10 ----------------------------------------------------------------------------------

// B-10
#[tokio::test]
async fn b_10_server_sets_modified() {
    let server = TestServer::start().await;
    let user = server.user();
    let resp = put_json(&user, "storage/c/a", json!({"payload": "x", "modified": 12})).await;
    let t = cs(&resp.status_is(200).header_str("x-weave-timestamp"));
    let rec = record(&user, "c", "a").await;
    assert_eq!(cs_json(&rec["modified"]), t);
    assert_ne!(cs_json(&rec["modified"]), 1200);

    let resp = post_json(&user, "storage/c", json!([{"id": "b", "payload": "y", "modified": 99_999_999_999.99_f64}])).await;
    let t = cs_json(&resp.status_is(200).json_body()["modified"]);
    assert_eq!(cs_json(&record(&user, "c", "b").await["modified"]), t);
}

// ---- B-11 ----------------------------------------------------------------------------------

// B-11
#[tokio::test]
async fn b_11_absent_fields_keep_and_null_fields_reset_by_put() {
    let server = TestServer::start().await;
    let user = server.user();
    let t1 = put_ok(&user, "storage/c/a", json!({"payload": "p", "sortindex": 5, "ttl": 2})).await;
    server.advance_ms(10).await;
    put_ok(&user, "storage/c/a", json!({"ttl": 3600})).await;
    let rec = record(&user, "c", "a").await;
    assert_eq!(rec["payload"], json!("p"));
    assert_eq!(rec["sortindex"], json!(5));
    assert_eq!(cs_json(&rec["modified"]), t1, "a ttl-only update keeps modified (E-04)");
    server.advance_ms(2_500).await;
    assert_eq!(record(&user, "c", "a").await["payload"], json!("p"), "the new ttl replaced the old one");

    put_ok(&user, "storage/c/a", json!({"payload": null, "sortindex": null, "ttl": null})).await;
    let rec = record(&user, "c", "a").await;
    assert_eq!(rec["payload"], json!(""));
    assert!(rec.get("sortindex").is_none(), "sortindex was not reset: {rec}");
    server.advance_ms(3_700_000).await;
    assert_eq!(record(&user, "c", "a").await["payload"], json!(""), "a null ttl means no expiry");
}

// B-11
#[tokio::test]
async fn b_11_absent_fields_keep_and_null_fields_reset_by_post() {
    let server = TestServer::start().await;
    let user = server.user();
    post_split(&user, "c", json!([{"id": "a", "payload": "p", "sortindex": 5, "ttl": 2}])).await;
    post_split(&user, "c", json!([{"id": "a", "ttl": 3600}])).await;
    let rec = record(&user, "c", "a").await;
    assert_eq!((rec["payload"].clone(), rec["sortindex"].clone()), (json!("p"), json!(5)));
    server.advance_ms(2_500).await;
    record(&user, "c", "a").await;

    post_split(&user, "c", json!([{"id": "a", "sortindex": null}])).await;
    let rec = record(&user, "c", "a").await;
    assert_eq!(rec["payload"], json!("p"), "payload kept");
    assert!(rec.get("sortindex").is_none(), "sortindex was not reset: {rec}");
    post_split(&user, "c", json!([{"id": "a", "payload": null, "ttl": null}])).await;
    assert_eq!(record(&user, "c", "a").await["payload"], json!(""));
    server.advance_ms(3_700_000).await;
    record(&user, "c", "a").await;
}

// ---- B-12 ----------------------------------------------------------------------------------

// B-12
#[tokio::test]
async fn b_12_new_record_gets_defaults() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/t", json!({"ttl": 10})).await;
    let rec = record(&user, "c", "t").await;
    assert_eq!(rec["payload"], json!(""));
    assert!(rec.get("sortindex").is_none(), "{rec}");

    put_ok(&user, "storage/c/s", json!({"sortindex": 3})).await;
    assert_eq!(record(&user, "c", "s").await["payload"], json!(""));
    post_split(&user, "c", json!([{"id": "bare"}, {"id": "nulls", "payload": null, "sortindex": null}])).await;
    for id in ["bare", "nulls"] {
        let rec = record(&user, "c", id).await;
        assert_eq!(rec["payload"], json!(""));
        assert!(rec.get("sortindex").is_none(), "{rec}");
    }
    // No expiry without a ttl.
    server.advance_ms(365 * 24 * 3600 * 1000).await;
    assert_eq!(ids(&user, "c").await, vec!["bare", "nulls", "s"]);
}

// ---- B-13 ----------------------------------------------------------------------------------

/// Every `"modified":` value in `text` is written as digits, a point and exactly two digits.
fn assert_two_decimal_modified(text: &str) -> usize {
    let mut seen = 0;
    let mut rest = text;
    while let Some(at) = rest.find("\"modified\":") {
        rest = &rest[at + "\"modified\":".len()..];
        let value = rest.trim_start();
        let end = value.find([',', '}']).unwrap_or_else(|| panic!("unterminated modified in {text}"));
        let number = value[..end].trim_end();
        let (int, frac) = number.split_once('.').unwrap_or_else(|| panic!("modified {number} has no decimals: {text}"));
        assert!(
            !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.len() == 2 && frac.bytes().all(|b| b.is_ascii_digit()),
            "modified {number} is not written with two decimals: {text}"
        );
        seen += 1;
    }
    seen
}

fn keys_of(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

// B-13
#[tokio::test]
async fn b_13_output_holds_only_public_fields_with_two_decimal_modified() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "x", "sortindex": 0, "ttl": 1000})).await;
    put_ok(&user, "storage/c/b", json!({"payload": "y", "ttl": 1000})).await;
    // A whole-second T must still be written with two decimals; look at several writes.
    for i in 0..5 {
        server.advance_ms(10).await;
        put_ok(&user, &format!("storage/c/n{i}"), json!({"payload": "z"})).await;
    }

    let a = get(&user, "storage/c/a").await;
    assert_eq!(assert_two_decimal_modified(&a.status_is(200).text()), 1);
    assert_eq!(keys_of(&a.json_body()), ["id", "modified", "payload", "sortindex"]);
    let b = get(&user, "storage/c/b").await;
    assert_eq!(assert_two_decimal_modified(&b.text()), 1);
    assert_eq!(keys_of(&b.json_body()), ["id", "modified", "payload"]);

    let full = get(&user, "storage/c?full=1").await;
    assert_eq!(assert_two_decimal_modified(&full.status_is(200).text()), 7);
    for item in full.json_body().as_array().expect("list") {
        let keys = keys_of(item);
        let expected: &[&str] =
            if item["id"] == json!("a") { &["id", "modified", "payload", "sortindex"] } else { &["id", "modified", "payload"] };
        assert_eq!(keys, expected, "{item}");
    }
}

// ---- B-14 ----------------------------------------------------------------------------------

const BAD_CRYPTO: &str = r#"{"ciphertext": "IDontKnowWhatImDoing", "IV": "AAAAAAAAAAAAAAAAAAAAAA=="}"#;

// B-14
#[tokio::test]
async fn b_14_known_bad_crypto_payload_is_refused_in_crypto_only() {
    let server = TestServer::start().await;
    let user = server.user();
    let tight = BAD_CRYPTO.replace("\"IV\": ", "\"IV\":");
    let spaced = BAD_CRYPTO.replace("\"IV\": ", "\"IV\":\n\t  ");
    for payload in [BAD_CRYPTO, tight.as_str(), spaced.as_str()] {
        put_json(&user, "storage/crypto/keys", json!({"payload": payload})).await.weave_error(400, 8);
        put_json(&user, "storage/crypto/blerg", json!({"payload": payload})).await.weave_error(400, 8);
        // One bad record fails the whole POST, good records included.
        let body = json!([{"id": "good", "payload": "fine"}, {"id": "keys", "payload": payload}]);
        post_json(&user, "storage/crypto", body).await.weave_error(400, 8);
    }
    assert_eq!(get(&user, "info/collections").await.json_body(), json!({}));
    assert_eq!(ids(&user, "crypto").await, Vec::<String>::new());

    // Elsewhere it is an ordinary payload; in crypto, another IV is fine.
    put_ok(&user, "storage/col2/keys", json!({"payload": BAD_CRYPTO})).await;
    let (success, _) = post_split(&user, "col2", json!([{"id": "k2", "payload": BAD_CRYPTO}])).await;
    assert_eq!(success, vec!["k2"]);
    let other_iv = BAD_CRYPTO.replace("AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAAAB==");
    put_ok(&user, "storage/crypto/keys", json!({"payload": other_iv})).await;
    assert_eq!(record(&user, "col2", "keys").await["payload"], json!(BAD_CRYPTO));
}

// ---- B-15 ----------------------------------------------------------------------------------

// B-15
#[tokio::test]
async fn b_15_invalid_collection_names_give_400_13() {
    let server = TestServer::start().await;
    let user = server.user();
    let long = "c".repeat(33);
    let before = snapshot(&user, &[]).await;
    for name in [long.as_str(), "bad!name", "a%20b", "%C3%A9t%C3%A9", "a*b", "a%00b", "a%2Fb", "a:b"] {
        get(&user, &format!("storage/{name}")).await.weave_error(400, 13);
        put_json(&user, &format!("storage/{name}/a"), json!({"payload": "x"})).await.weave_error(400, 13);
        post_json(&user, &format!("storage/{name}"), json!([{"id": "a", "payload": "x"}])).await.weave_error(400, 13);
        send(&user, SyncRequest::delete(format!("storage/{name}"))).await.weave_error(400, 13);
        send(&user, SyncRequest::delete(format!("storage/{name}/a"))).await.weave_error(400, 13);
        get(&user, &format!("storage/{name}/a")).await.weave_error(400, 13);
    }
    assert_eq!(snapshot(&user, &[]).await, before);

    // 32 characters and every allowed punctuation mark pass.
    let max = "C".repeat(32);
    put_ok(&user, &format!("storage/{max}/a"), json!({"payload": "x"})).await;
    put_ok(&user, "storage/a.b_c-9/a", json!({"payload": "x"})).await;
    let map = get(&user, "info/collections").await.json_body();
    assert!(map.get(&max).is_some() && map.get("a.b_c-9").is_some(), "{map}");
}

// B-15: a name whose percent-escapes are not UTF-8 is still a name outside the allowed set.
#[tokio::test]
async fn b_15_names_that_are_not_utf8_give_400_13() {
    let server = TestServer::start().await;
    let user = server.user();
    for name in ["%FF", "a%FFb", "%C3", "%80abc"] {
        get(&user, &format!("storage/{name}")).await.weave_error(400, 13);
        put_json(&user, &format!("storage/{name}/a"), json!({"payload": "x"})).await.weave_error(400, 13);
        post_json(&user, &format!("storage/{name}"), json!([{"id": "a", "payload": "x"}])).await.weave_error(400, 13);
    }
    assert_eq!(get(&user, "info/collections").await.json_body(), json!({}));
}

// B-15
#[tokio::test]
async fn b_15_names_and_ids_compare_exactly() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/Abc/x", json!({"payload": "upper"})).await;
    put_ok(&user, "storage/abc/x", json!({"payload": "lower"})).await;
    put_ok(&user, "storage/abc/X", json!({"payload": "upper id"})).await;
    let map = get(&user, "info/collections").await.json_body();
    assert_eq!(map.as_object().map(|m| m.len()), Some(2), "{map}");
    assert_eq!(record(&user, "Abc", "x").await["payload"], json!("upper"));
    assert_eq!(record(&user, "abc", "x").await["payload"], json!("lower"));
    assert_eq!(ids(&user, "abc").await, vec!["X", "x"]);
    assert_eq!(ids(&user, "Abc").await, vec!["x"]);
    get(&user, "storage/ABC/x").await.weave_error(404, 0);
}

// ---- B-16 ----------------------------------------------------------------------------------

// B-16
#[tokio::test]
async fn b_16_malformed_put_bodies() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "keep"})).await;
    let before = snapshot(&user, &["c"]).await;
    for body in [json!("notabso"), json!(42), json!([]), json!([{"payload": "x"}]), json!(null), json!(true)] {
        put_json(&user, "storage/c/a", body.clone()).await.weave_error(400, 8);
        put_json(&user, "storage/c/b", body).await.weave_error(400, 8);
    }
    let unparseable: [&[u8]; 6] = [
        b"{",
        b"",
        b"{\"payload\": \"x\"} trailing",
        b"{\"payload\": 'x'}",
        b"\xff\xfe{\"payload\": \"x\"}",
        b"{\"payload\": \"\xc3\x28\"}",
    ];
    for body in unparseable {
        let req = SyncRequest::put("storage/c/a").header("Content-Type", "application/json").body(body.to_vec());
        send(&user, req).await.weave_error(400, 6);
    }
    // A lone surrogate escape is valid JSON naming a character the server cannot store: the
    // record is invalid (E-11), not the JSON.
    let lone = SyncRequest::put("storage/c/a").header("Content-Type", "application/json").body(&b"{\"payload\": \"\\ud800\"}"[..]);
    send(&user, lone).await.weave_error(400, 8);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let req = SyncRequest::put("storage/c/a").header("Content-Type", "application/json").body(deep);
    send(&user, req).await.weave_error(400, 6);
    assert_eq!(snapshot(&user, &["c"]).await, before);
}

// B-16
#[tokio::test]
async fn b_16_malformed_post_bodies() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "keep"})).await;
    let before = snapshot(&user, &["c", "fresh"]).await;
    for coll in ["c", "fresh"] {
        let path = format!("storage/{coll}");
        for body in [
            json!("notalist"),
            json!({"id": "a", "payload": "x"}),
            json!(42),
            json!(null),
            json!([{"id": "b", "payload": "x"}, "BAD"]),
            json!([{"id": "b", "payload": "x"}, 5]),
            json!([{"id": "b", "payload": "x"}, null]),
            json!([[{"id": "b", "payload": "x"}]]),
        ] {
            post_json(&user, &path, body).await.weave_error(400, 8);
        }
        for body in [&b"["[..], b"", b"[{\"id\": \"b\"}] x", b"[{\"id\": \"b\",}]", b"[\"\xff\"]"] {
            let req = SyncRequest::post(path.clone()).header("Content-Type", "application/json").body(body.to_vec());
            send(&user, req).await.weave_error(400, 6);
        }
    }
    assert_eq!(snapshot(&user, &["c", "fresh"]).await, before);

    // An invalid record object fails only itself.
    let (success, failed) = post_split(&user, "c", json!([{"id": "01", "payload": "good"}, {"id": "02", "invalid": "ya"}])).await;
    assert_eq!(success, vec!["01"]);
    assert!(failed.contains_key("02"), "{failed:?}");
    assert_eq!(ids(&user, "c").await, vec!["01", "a"]);
}

// B-16, E-11: a NUL in a payload is refused per record, never with a 5xx, and stores nothing.
#[tokio::test]
async fn b_16_nul_and_odd_characters_in_payloads() {
    let server = TestServer::start().await;
    let user = server.user();
    // Where the spec is silent (E-11) the reference cannot store U+0000 and refuses the record.
    put_json(&user, "storage/c/nul", json!({"payload": "a\u{0}b"})).await.weave_error(400, 8);
    let (success, failed) = post_split(
        &user,
        "c",
        json!([
            {"id": "nul", "payload": "\u{0}"},
            {"id": "odd", "payload": "\u{1}\u{1f}\u{7f}\u{2028}\u{fffd}\u{ffff}😀\"\\/\r\n\t"},
        ]),
    )
    .await;
    assert_eq!(success, vec!["odd"]);
    assert!(failed.contains_key("nul"), "{failed:?}");
    get(&user, "storage/c/nul").await.weave_error(404, 0);
    assert_eq!(record(&user, "c", "odd").await["payload"], json!("\u{1}\u{1f}\u{7f}\u{2028}\u{fffd}\u{ffff}😀\"\\/\r\n\t"));
}
