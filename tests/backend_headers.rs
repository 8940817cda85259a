//! SPEC area D (request and response headers) against the reference backend, over HTTP only:
//! timestamps on every answer, preconditions at, just below and just above a ts, declared-size
//! limits at and one past their maximum, and the content types a server reads and writes.

mod common;

use common::body::raw;
use common::read::{ids, snapshot, strings};
use common::ts::{cs, cs_json, last_modified, put_ok, ts_text};
use common::{Check, SECRET, TestServer, delete, get, post_json, put_json, send};
use reqwest::Method;
use serde_json::{Value, json};
use syncstorage_harness::client::{SyncRequest, SyncResponse, SyncUser};

// ---- local helpers -------------------------------------------------------------------------

fn weave_ts(resp: &SyncResponse) -> i64 {
    cs(&resp.header_str("x-weave-timestamp"))
}

async fn storage_ts(user: &SyncUser) -> i64 {
    last_modified(get(user, "info/collections").await.status_is(200))
}

/// A 412 as J-11 describes it: empty body and the resource's ts in `X-Last-Modified`.
fn assert_412(resp: &SyncResponse, resource_ts: i64) {
    resp.status_is(412).empty_body();
    assert_eq!(last_modified(resp), resource_ts, "412 reports the resource ts\n{}", resp.transcript());
}

/// A 4xx whose body is a bare JSON integer, when the SPEC fixes the status but not the code.
fn assert_bare_code(resp: &SyncResponse, status: u16) {
    resp.status_is(status);
    assert!(resp.text().trim().parse::<u32>().is_ok(), "error body is not a bare integer\n{}", resp.transcript());
    assert!(resp.header_str("content-type").starts_with("application/json"), "{}", resp.transcript());
}

fn records(n: usize, payload: &str) -> Value {
    Value::Array((0..n).map(|i| json!({"id": format!("r{i}"), "payload": payload})).collect())
}

// ---- D-01 ----------------------------------------------------------------------------------

// D-01
#[tokio::test]
async fn d_01_every_response_carries_a_current_x_weave_timestamp() {
    let server = TestServer::with(|c| c.limits.max_request_bytes = 1024).await;
    let user = server.user();
    let uid = user.uid();
    let t = put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    let requests = vec![
        SyncRequest::get("info/collections"),
        SyncRequest::get("info/quota"),
        SyncRequest::put("storage/c/b").json(&json!({"payload": "y"})),
        SyncRequest::post("storage/c").json(&json!([{"id": "p", "payload": "z"}])),
        SyncRequest::get("storage/c/a").header("X-If-Modified-Since", ts_text(t)),
        SyncRequest::get("storage/c?newer=abc"),
        SyncRequest::get("storage/bad!name"),
        SyncRequest::get("info/collections").unsigned(),
        SyncRequest::get("storage/c/missing"),
        SyncRequest::get("nonexistent/url"),
        SyncRequest::get("/1.5/abc/info/collections"),
        SyncRequest::new(Method::PATCH, "storage/c"),
        SyncRequest::get("storage/c").header("Accept", "x/yy"),
        SyncRequest::get("storage/c/a").header("X-If-Unmodified-Since", ts_text(t - 1)),
        SyncRequest::put("storage/c/a").header("Content-Type", "application/json").body(vec![b' '; 2048]),
        SyncRequest::put("storage/c/a").header("Content-Type", "application/octet-stream").body("{}"),
        SyncRequest::delete("storage/c/missing"),
        SyncRequest::delete("storage/c/p"),
        SyncRequest::delete("storage/c?ids=b"),
        SyncRequest::delete("storage/c"),
        SyncRequest::delete("storage"),
        SyncRequest::get(format!("/1.5/{}/info/collections", uid + 1)),
    ];
    let mut statuses = std::collections::BTreeSet::new();
    for req in requests {
        let before = server.now_ms().await / 10;
        let resp = send(&user, req).await;
        let after = server.now_ms().await / 10;
        statuses.insert(resp.status_code());
        let ts = weave_ts(&resp);
        assert!(before <= ts && ts <= after, "X-Weave-Timestamp is not the current time ({before}..{after})\n{}", resp.transcript());
        if resp.header("x-last-modified").is_some() {
            assert!(ts >= last_modified(&resp), "X-Weave-Timestamp below X-Last-Modified\n{}", resp.transcript());
        }
    }
    let expected = [200, 304, 400, 401, 404, 405, 406, 412, 413, 415];
    assert!(expected.iter().all(|s| statuses.contains(s)), "not every status was provoked: {statuses:?}");
}

// ---- D-02 ----------------------------------------------------------------------------------

/// After a write: `X-Last-Modified`, `X-Weave-Timestamp` and the body's T agree, and T is the
/// new storage ts.
async fn assert_write_t(user: &SyncUser, resp: &SyncResponse, body_t: Option<i64>) -> i64 {
    let t = last_modified(resp);
    assert_eq!(weave_ts(resp), t, "X-Weave-Timestamp is not T\n{}", resp.transcript());
    if let Some(b) = body_t {
        assert_eq!(b, t, "body T differs from X-Last-Modified\n{}", resp.transcript());
    }
    assert_eq!(storage_ts(user).await, t, "T is not the new storage ts\n{}", resp.transcript());
    t
}

// D-02
#[tokio::test]
async fn d_02_successful_writes_report_t_in_headers_and_body() {
    let server = TestServer::start().await;
    let user = server.user();
    let mut previous = 0;
    let mut check = |t: i64| {
        assert!(t > previous, "T did not rise");
        previous = t;
    };

    let resp = put_json(&user, "storage/c/a", json!({"payload": "x"})).await;
    check(assert_write_t(&user, resp.status_is(200), Some(cs(resp.text().trim()))).await);

    let resp = post_json(&user, "storage/c", json!([{"id": "b", "payload": "y"}, {"id": "c", "payload": "z"}])).await;
    let body = resp.status_is(200).json_body();
    check(assert_write_t(&user, &resp, Some(cs_json(&body["modified"]))).await);

    let start = post_json(&user, "storage/c?batch=true", json!([{"id": "d", "payload": "staged"}])).await;
    let batch = start.status_is(202).json_body()["batch"].as_str().expect("batch").to_owned();
    let resp = post_json(&user, &format!("storage/c?batch={batch}&commit=true"), json!([{"id": "e", "payload": "w"}])).await;
    let body = resp.status_is(200).json_body();
    check(assert_write_t(&user, &resp, Some(cs_json(&body["modified"]))).await);

    let resp = delete(&user, "storage/c/a").await;
    let body = resp.status_is(200).json_body();
    check(assert_write_t(&user, &resp, Some(cs_json(&body["modified"]))).await);

    let resp = delete(&user, "storage/c?ids=b,nope").await;
    let body = resp.status_is(200).json_body();
    check(assert_write_t(&user, &resp, Some(cs_json(&body["modified"]))).await);

    put_ok(&user, "storage/other/x", json!({"payload": "x"})).await;
    let resp = delete(&user, "storage/c").await;
    let body = resp.status_is(200).json_body();
    let t = assert_write_t(&user, &resp, Some(cs_json(&body["modified"]))).await;
    assert!(t > previous);
    previous = t;

    let resp = delete(&user, "storage").await;
    let t = assert_write_t(&user, resp.status_is(200), None).await;
    assert!(t > previous);
}

// ---- D-03 ----------------------------------------------------------------------------------

// D-03
#[tokio::test]
async fn d_03_reads_send_the_resource_ts() {
    let server = TestServer::start().await;
    let user = server.user();
    for path in ["info/collections", "info/collection_counts", "info/collection_usage", "info/quota", "storage/c", "storage/c?full=1"] {
        let resp = get(&user, path).await;
        assert_eq!(resp.status_is(200).header_str("x-last-modified"), "0.00", "{path}");
    }

    let t1 = put_ok(&user, "storage/c1/a", json!({"payload": "x"})).await;
    server.advance_ms(10).await;
    let t2 = put_ok(&user, "storage/c2/b", json!({"payload": "y"})).await;
    server.advance_ms(10).await;
    let t3 = put_ok(&user, "storage/c1/z", json!({"payload": "z"})).await;
    for (path, ts) in [
        ("info/collections", t3),
        ("info/collection_counts", t3),
        ("info/collection_usage", t3),
        ("info/quota", t3),
        ("storage/c1", t3),
        ("storage/c1?full=1&limit=1", t3),
        ("storage/c2", t2),
        ("storage/c1/a", t1),
        ("storage/c1/z", t3),
        ("storage/c2/b", t2),
        ("storage/never", 0),
    ] {
        let resp = get(&user, path).await;
        assert_eq!(last_modified(resp.status_is(200)), ts, "{}", resp.transcript());
    }
    // A missing record answers 404; if it sends X-Last-Modified at all, it is 0.00.
    let missing = get(&user, "storage/c1/missing").await;
    missing.weave_error(404, 0);
    if let Some(v) = missing.header("x-last-modified") {
        assert_eq!(v, "0.00", "{}", missing.transcript());
    }
}

// ---- D-04 ----------------------------------------------------------------------------------

// D-04
#[tokio::test]
async fn d_04_deletes_report_the_new_ts() {
    let server = TestServer::start().await;
    let user = server.user();
    post_json(&user, "storage/c", records(4, "x")).await.status_is(200);
    put_ok(&user, "storage/d/a", json!({"payload": "x"})).await;

    for path in ["storage/c/r0", "storage/c?ids=r1,r2", "storage/c"] {
        let resp = delete(&user, path).await;
        let body_t = cs_json(&resp.status_is(200).json_body()["modified"]);
        assert_eq!(last_modified(&resp), body_t, "{}", resp.transcript());
        assert_eq!(storage_ts(&user).await, body_t, "{path}");
    }

    // Deletes that change nothing report the current storage ts.
    let current = storage_ts(&user).await;
    for path in ["storage/never", "storage/never?ids=a,b", "storage/c"] {
        let resp = delete(&user, path).await;
        let body_t = cs_json(&resp.status_is(200).json_body()["modified"]);
        assert_eq!(last_modified(&resp), current, "{}", resp.transcript());
        assert_eq!(body_t, current, "{}", resp.transcript());
    }
    assert_eq!(storage_ts(&user).await, current);

    let resp = delete(&user, "storage").await;
    let t = last_modified(resp.status_is(200));
    assert!(t > current);
    assert_eq!(storage_ts(&user).await, t);

    // A new user's wipe changes nothing: the storage ts stays 0.
    let fresh = server.user();
    let resp = delete(&fresh, "storage").await;
    assert_eq!(resp.status_is(200).header_str("x-last-modified"), "0.00");
}

// ---- D-05 ----------------------------------------------------------------------------------

// D-05
#[tokio::test]
async fn d_05_if_modified_since_gives_304_at_or_above_the_resource_ts() {
    let server = TestServer::start().await;
    let user = server.user();
    let t1 = put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    server.advance_ms(50).await;
    let t2 = put_ok(&user, "storage/d/b", json!({"payload": "y"})).await;
    for (path, ts) in [
        ("storage/c/a", t1),
        ("storage/c", t1),
        ("storage/c?full=1", t1),
        ("info/collections", t2),
        ("info/quota", t2),
        ("info/collection_counts", t2),
        ("info/collection_usage", t2),
    ] {
        for since in [ts, ts + 1] {
            let resp = send(&user, SyncRequest::get(path).header("X-If-Modified-Since", ts_text(since))).await;
            resp.status_is(304).empty_body();
            assert_eq!(last_modified(&resp), ts, "{}", resp.transcript());
        }
        let resp = send(&user, SyncRequest::get(path).header("X-If-Modified-Since", ts_text(ts - 1))).await;
        resp.status_is(200);
        assert!(!resp.body().is_empty(), "{}", resp.transcript());
    }
}

// D-05
#[tokio::test]
async fn d_05_if_modified_since_on_a_write_never_gives_304() {
    let server = TestServer::start().await;
    let user = server.user();
    let t = put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    let since = ts_text(t + 100);
    // The reference processes writes as if the header were absent.
    let resp = send(&user, SyncRequest::put("storage/c/a").json(&json!({"payload": "new"})).header("X-If-Modified-Since", &since)).await;
    resp.status_is(200);
    assert_eq!(get(&user, "storage/c/a").await.json_body()["payload"], json!("new"));
    let resp =
        send(&user, SyncRequest::post("storage/c").json(&json!([{"id": "b", "payload": "y"}])).header("X-If-Modified-Since", &since)).await;
    resp.status_is(200);
    let resp = send(&user, SyncRequest::delete("storage/c?ids=a").header("X-If-Modified-Since", &since)).await;
    resp.status_is(200);
    assert_eq!(ids(&user, "c").await, strings(&["b"]));
    let resp = send(&user, SyncRequest::delete("storage/c/b").header("X-If-Modified-Since", &since)).await;
    resp.status_is(200);
    assert_eq!(ids(&user, "c").await, Vec::<String>::new());
}

// ---- D-06 ----------------------------------------------------------------------------------

// D-06
#[tokio::test]
async fn d_06_a_stale_if_unmodified_since_gives_412_on_every_method() {
    let server = TestServer::start().await;
    let user = server.user();
    let t = put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    let stale = ts_text(t - 1);
    let before = snapshot(&user, &["c"]).await;
    for req in [
        SyncRequest::put("storage/c/a").json(&json!({"payload": "changed"})),
        SyncRequest::delete("storage/c/a"),
        SyncRequest::post("storage/c").json(&json!([{"id": "b", "payload": "new"}])),
        SyncRequest::delete("storage/c?ids=a"),
        SyncRequest::get("storage/c/a"),
        SyncRequest::get("storage/c"),
        SyncRequest::get("storage/c?full=1"),
        SyncRequest::delete("storage/c"),
        SyncRequest::delete("storage"),
        SyncRequest::get("info/collections"),
        SyncRequest::get("info/collection_counts"),
    ] {
        let resp = send(&user, req.header("X-If-Unmodified-Since", &stale)).await;
        assert_412(&resp, t);
    }
    assert_eq!(snapshot(&user, &["c"]).await, before);
}

// D-06
#[tokio::test]
async fn d_06_a_current_if_unmodified_since_succeeds() {
    let server = TestServer::start().await;
    let user = server.user();
    let mut t = put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    for since in [t, t + 1] {
        for path in ["storage/c/a", "storage/c", "info/collections"] {
            let resp = send(&user, SyncRequest::get(path).header("X-If-Unmodified-Since", ts_text(since))).await;
            resp.status_is(200);
        }
    }
    let resp =
        send(&user, SyncRequest::put("storage/c/a").json(&json!({"payload": "y"})).header("X-If-Unmodified-Since", ts_text(t))).await;
    t = last_modified(resp.status_is(200));
    let resp =
        send(&user, SyncRequest::post("storage/c").json(&json!([{"id": "b", "payload": "z"}])).header("X-If-Unmodified-Since", ts_text(t)))
            .await;
    t = last_modified(resp.status_is(200));
    let resp = send(&user, SyncRequest::delete("storage/c?ids=a").header("X-If-Unmodified-Since", ts_text(t))).await;
    t = last_modified(resp.status_is(200));
    let b_ts = cs_json(&get(&user, "storage/c/b").await.json_body()["modified"]);
    // The record URL compares the record, older than the collection by now.
    assert!(b_ts < t);
    let resp = send(&user, SyncRequest::delete("storage/c/b").header("X-If-Unmodified-Since", ts_text(b_ts))).await;
    t = last_modified(resp.status_is(200));
    put_ok(&user, "storage/c/c", json!({"payload": "w"})).await;
    let coll_ts = storage_ts(&user).await;
    assert!(coll_ts > t);
    let resp = send(&user, SyncRequest::delete("storage/c").header("X-If-Unmodified-Since", ts_text(coll_ts))).await;
    t = last_modified(resp.status_is(200));
    let resp = send(&user, SyncRequest::delete("storage").header("X-If-Unmodified-Since", ts_text(t))).await;
    assert!(last_modified(resp.status_is(200)) > t);
    assert_eq!(get(&user, "info/collections").await.json_body(), json!({}));
}

// D-06
#[tokio::test]
async fn d_06_zero_means_only_if_absent() {
    let server = TestServer::start().await;
    let user = server.user();
    let t = put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    let zero = |req: SyncRequest| req.header("X-If-Unmodified-Since", "0");
    send(&user, zero(SyncRequest::put("storage/c/new").json(&json!({"payload": "n"})))).await.status_is(200);
    let resp = send(&user, zero(SyncRequest::put("storage/c/a").json(&json!({"payload": "clobber"})))).await;
    assert_412(&resp, t);
    assert_eq!(get(&user, "storage/c/a").await.json_body()["payload"], json!("x"));
    send(&user, zero(SyncRequest::post("storage/fresh").json(&json!([{"id": "a", "payload": "f"}])))).await.status_is(200);
    let coll_ts = cs_json(&get(&user, "info/collections").await.json_body()["c"]);
    let resp = send(&user, zero(SyncRequest::post("storage/c").json(&json!([{"id": "z", "payload": "z"}])))).await;
    assert_412(&resp, coll_ts);
    get(&user, "storage/c/z").await.weave_error(404, 0);
    send(&user, zero(SyncRequest::get("storage/unknown"))).await.status_is(200);
}

// ---- D-07 ----------------------------------------------------------------------------------

// D-07
#[tokio::test]
async fn d_07_collection_urls_compare_the_collection_ts() {
    let server = TestServer::start().await;
    let user = server.user();
    let t1 = put_ok(&user, "storage/c/first", json!({"payload": "1"})).await;
    server.advance_ms(10).await;
    let t2 = put_ok(&user, "storage/c/second", json!({"payload": "2"})).await;
    let old = ts_text(t1);
    let before = snapshot(&user, &["c"]).await;
    for req in [
        SyncRequest::delete("storage/c?ids=first"),
        SyncRequest::post("storage/c").json(&json!([{"id": "third", "payload": "3"}])),
        SyncRequest::get("storage/c"),
        SyncRequest::delete("storage/c"),
    ] {
        let resp = send(&user, req.header("X-If-Unmodified-Since", &old)).await;
        assert_412(&resp, t2);
    }
    assert_eq!(snapshot(&user, &["c"]).await, before);
    let resp = send(&user, SyncRequest::delete("storage/c?ids=first").header("X-If-Unmodified-Since", ts_text(t2))).await;
    resp.status_is(200);
    assert_eq!(ids(&user, "c").await, strings(&["second"]));
}

// ---- D-08 ----------------------------------------------------------------------------------

// D-08
#[tokio::test]
async fn d_08_bad_or_conflicting_precondition_values_give_400() {
    let server = TestServer::start().await;
    let user = server.user();
    let t = put_ok(&user, "storage/c/a", json!({"payload": "keep"})).await;
    let before = snapshot(&user, &["c"]).await;
    let bad = ["-3", "abc", "1e3", "", "1.2.3", "-0.01", "12,5", "0x10"];
    for header in ["X-If-Modified-Since", "X-If-Unmodified-Since"] {
        for value in bad {
            send(&user, SyncRequest::get("storage/c/a").header(header, value)).await.weave_error(400, 0);
            send(&user, SyncRequest::get("storage/c").header(header, value)).await.weave_error(400, 0);
            send(&user, SyncRequest::get("info/collections").header(header, value)).await.weave_error(400, 0);
            let put = SyncRequest::put("storage/c/a").json(&json!({"payload": "changed"})).header(header, value);
            send(&user, put).await.weave_error(400, 0);
            let post = SyncRequest::post("storage/c").json(&json!([{"id": "b", "payload": "new"}])).header(header, value);
            send(&user, post).await.weave_error(400, 0);
            send(&user, SyncRequest::delete("storage/c/a").header(header, value)).await.weave_error(400, 0);
        }
    }
    let both = |req: SyncRequest| req.header("X-If-Modified-Since", ts_text(t)).header("X-If-Unmodified-Since", ts_text(t));
    send(&user, both(SyncRequest::get("storage/c/a"))).await.weave_error(400, 0);
    send(&user, both(SyncRequest::get("info/collections"))).await.weave_error(400, 0);
    send(&user, both(SyncRequest::put("storage/c/a").json(&json!({"payload": "changed"})))).await.weave_error(400, 0);
    send(&user, both(SyncRequest::delete("storage"))).await.weave_error(400, 0);
    assert_eq!(snapshot(&user, &["c"]).await, before);
}

// ---- D-09 ----------------------------------------------------------------------------------

// D-09
#[tokio::test]
async fn d_09_preconditions_compare_the_record_collection_or_storage_ts() {
    let server = TestServer::start().await;
    let user = server.user();
    let t1 = put_ok(&user, "storage/c/r1", json!({"payload": "1"})).await;
    server.advance_ms(10).await;
    let t2 = put_ok(&user, "storage/c/r2", json!({"payload": "2"})).await;
    // Record URLs compare the record: r1 is unchanged since t1 although the collection moved on.
    send(&user, SyncRequest::get("storage/c/r1").header("X-If-Unmodified-Since", ts_text(t1))).await.status_is(200);
    let resp =
        send(&user, SyncRequest::put("storage/c/r1").json(&json!({"payload": "1b"})).header("X-If-Unmodified-Since", ts_text(t1))).await;
    let t3 = last_modified(resp.status_is(200));
    // An absent record compares as 0.
    send(&user, SyncRequest::put("storage/c/r3").json(&json!({"payload": "3"})).header("X-If-Unmodified-Since", "0")).await.status_is(200);
    // So does an expired one (G-03).
    put_ok(&user, "storage/c/short", json!({"payload": "s", "ttl": 1})).await;
    server.advance_ms(1_500).await;
    send(&user, SyncRequest::put("storage/c/short").json(&json!({"payload": "again"})).header("X-If-Unmodified-Since", "0"))
        .await
        .status_is(200);
    // An unknown collection compares as 0.
    send(&user, SyncRequest::get("storage/none").header("X-If-Unmodified-Since", "0")).await.status_is(200);
    send(&user, SyncRequest::delete("storage/none?ids=a").header("X-If-Unmodified-Since", "0")).await.status_is(200);
    // info/* and DELETE /storage compare the storage ts, not any collection's.
    let s = storage_ts(&user).await;
    assert!(s > t3 && t3 > t2);
    put_ok(&user, "storage/other/x", json!({"payload": "x"})).await;
    let s2 = storage_ts(&user).await;
    let resp = send(&user, SyncRequest::get("info/collections").header("X-If-Unmodified-Since", ts_text(s))).await;
    assert_412(&resp, s2);
    let resp = send(&user, SyncRequest::delete("storage").header("X-If-Unmodified-Since", ts_text(s2 - 1))).await;
    assert_412(&resp, s2);
    send(&user, SyncRequest::get("info/collections").header("X-If-Unmodified-Since", ts_text(s2))).await.status_is(200);
}

// ---- D-10 ----------------------------------------------------------------------------------

// D-10
#[tokio::test]
async fn d_10_x_weave_records_above_max_post_records_gives_400_17() {
    let server = TestServer::with(|c| c.limits.max_post_records = 3).await;
    let user = server.user();
    let limit = get(&user, "info/configuration").await.json_body()["max_post_records"].as_u64().expect("limit");
    assert_eq!(limit, 3);
    let post = |n: String| SyncRequest::post("storage/c").json(&records(2, "é")).header("X-Weave-Records", n);
    let before = snapshot(&user, &["c"]).await;
    send(&user, post((limit + 1).to_string())).await.weave_error(400, 17);
    send(&user, post(u64::MAX.to_string())).await.weave_error(400, 17);
    // Where the spec is silent, a non-integer value is 400 with the reference's code 1.
    for bad in ["abc", "-1", "3.0", "", "0x3"] {
        send(&user, post(bad.to_owned())).await.weave_error(400, 1);
    }
    assert_eq!(snapshot(&user, &["c"]).await, before);
    send(&user, post(limit.to_string())).await.status_is(200);
    assert_eq!(ids(&user, "c").await, strings(&["r0", "r1"]));
}

/// A declared size beyond `u64` is still an integer above every limit: 400/17, not "not an
/// integer" (code 1).
async fn assert_huge_integer_is_over_the_limit(batch: bool, header: &str) {
    let server = TestServer::start().await;
    let user = server.user();
    let path = if batch { "storage/c?batch=true" } else { "storage/c" };
    for huge in ["18446744073709551616", "100000000000000000000", &"9".repeat(40)] {
        let req = SyncRequest::post(path).json(&records(1, "x")).header(header, huge);
        send(&user, req).await.weave_error(400, 17);
    }
    assert_eq!(get(&user, "info/collections").await.json_body(), json!({}));
}

// D-10
#[tokio::test]
async fn d_10_an_integer_beyond_u64_in_x_weave_records_is_over_the_limit() {
    assert_huge_integer_is_over_the_limit(false, "X-Weave-Records").await;
}

// ---- D-11 ----------------------------------------------------------------------------------

// D-11
#[tokio::test]
async fn d_11_x_weave_bytes_above_max_post_bytes_gives_400_17() {
    let server = TestServer::with(|c| c.limits.max_post_bytes = 20).await;
    let user = server.user();
    let limit = get(&user, "info/configuration").await.json_body()["max_post_bytes"].as_u64().expect("limit");
    let post = |n: String| SyncRequest::post("storage/c").json(&records(2, "ü")).header("X-Weave-Bytes", n);
    let before = snapshot(&user, &["c"]).await;
    send(&user, post((limit + 1).to_string())).await.weave_error(400, 17);
    send(&user, post("abc".to_owned())).await.weave_error(400, 1);
    assert_eq!(snapshot(&user, &["c"]).await, before);
    send(&user, post(limit.to_string())).await.status_is(200);
    assert_eq!(ids(&user, "c").await, strings(&["r0", "r1"]));
}

// D-11
#[tokio::test]
async fn d_11_an_integer_beyond_u64_in_x_weave_bytes_is_over_the_limit() {
    assert_huge_integer_is_over_the_limit(false, "X-Weave-Bytes").await;
}

// ---- D-12 ----------------------------------------------------------------------------------

// D-12
#[tokio::test]
async fn d_12_total_headers_are_checked_on_batch_posts_only() {
    let server = TestServer::with(|c| {
        c.limits.max_total_records = 5;
        c.limits.max_total_bytes = 50;
    })
    .await;
    let user = server.user();
    let config = get(&user, "info/configuration").await.json_body();
    let max_records = config["max_total_records"].as_u64().expect("records");
    let max_bytes = config["max_total_bytes"].as_u64().expect("bytes");
    let batch = |name: &str, value: String| SyncRequest::post("storage/c?batch=true").json(&records(1, "x")).header(name, value);
    for (name, max) in [("X-Weave-Total-Records", max_records), ("X-Weave-Total-Bytes", max_bytes)] {
        send(&user, batch(name, max.to_string())).await.status_is(202);
        send(&user, batch(name, (max + 1).to_string())).await.weave_error(400, 17);
        send(&user, batch(name, "abc".to_owned())).await.weave_error(400, 1);
        send(&user, batch(name, "-1".to_owned())).await.weave_error(400, 1);
        // Without `batch` the header does not belong.
        let plain = SyncRequest::post("storage/c").json(&records(1, "x")).header(name, "1");
        send(&user, plain).await.weave_error(400, 1);
    }
    // Staging moves nothing; the refused plain POSTs stored nothing.
    assert_eq!(get(&user, "info/collections").await.json_body(), json!({}));
    assert_eq!(ids(&user, "c").await, Vec::<String>::new());
}

// D-12
#[tokio::test]
async fn d_12_an_integer_beyond_u64_in_the_total_headers_is_over_the_limit() {
    assert_huge_integer_is_over_the_limit(true, "X-Weave-Total-Records").await;
    assert_huge_integer_is_over_the_limit(true, "X-Weave-Total-Bytes").await;
}

// ---- D-13 ----------------------------------------------------------------------------------

fn quota_remaining(resp: &SyncResponse) -> i64 {
    cs(&resp.header_str("x-weave-quota-remaining"))
}

// D-13
#[tokio::test]
async fn d_13_quota_remaining_falls_by_the_payload_kb() {
    let limit_bytes = 100 * 1024;
    let server = TestServer::with(|c| c.quota_limit = Some(limit_bytes)).await;
    let user = server.user();
    // 512 two-byte characters: 1 KB, not 0.5.
    let r1 = quota_remaining(put_json(&user, "storage/c/a", json!({"payload": "é".repeat(512)})).await.status_is(200));
    assert_eq!(r1, 99 * 100, "after 1 KB of {} KB", limit_bytes / 1024);
    let r2 = quota_remaining(put_json(&user, "storage/c/b", json!({"payload": "x".repeat(2048)})).await.status_is(200));
    assert_eq!(r1 - r2, 200, "a 2 KB payload");
    let resp = post_json(&user, "storage/d", json!([{"id": "a", "payload": "😀".repeat(256)}])).await;
    let r3 = quota_remaining(resp.status_is(200));
    assert_eq!(r2 - r3, 100, "a 1 KB payload of four-byte characters");
    // Replacing a payload frees the old bytes.
    let r4 = quota_remaining(put_json(&user, "storage/c/b", json!({"payload": ""})).await.status_is(200));
    assert_eq!(r4 - r3, 200);
    // Staging stores nothing yet; the commit spends the staged bytes.
    let start = post_json(&user, "storage/e?batch=true", json!([{"id": "s", "payload": "ß".repeat(1536)}])).await;
    assert_eq!(quota_remaining(start.status_is(202)), r4);
    let batch = start.json_body()["batch"].as_str().expect("batch").to_owned();
    let commit = post_json(&user, &format!("storage/e?batch={batch}&commit=true"), json!([])).await;
    assert_eq!(r4 - quota_remaining(commit.status_is(200)), 300, "a 3 KB staged payload");
}

// D-13: deletes are writes too (A-14, K-07 to K-10), so they carry the header under quota.
#[tokio::test]
async fn d_13_deletes_under_quota_report_quota_remaining() {
    let server = TestServer::with(|c| c.quota_limit = Some(100 * 1024)).await;
    let user = server.user();
    post_json(&user, "storage/c", records(3, &"x".repeat(1024))).await.status_is(200);
    put_ok(&user, "storage/d/a", json!({"payload": "x".repeat(1024)})).await;
    for path in ["storage/c/r0", "storage/c?ids=r1", "storage/c", "storage"] {
        let resp = delete(&user, path).await;
        resp.status_is(200);
        assert!(
            resp.header("x-weave-quota-remaining").is_some(),
            "a successful DELETE under quota lacks X-Weave-Quota-Remaining\n{}",
            resp.transcript()
        );
    }
}

// D-13
#[tokio::test]
async fn d_13_without_quota_no_write_reports_quota_remaining() {
    let server = TestServer::start().await;
    let user = server.user();
    let mut responses = vec![
        put_json(&user, "storage/c/a", json!({"payload": "x"})).await,
        post_json(&user, "storage/c", json!([{"id": "b", "payload": "y"}])).await,
    ];
    let start = post_json(&user, "storage/c?batch=true", json!([{"id": "d", "payload": "z"}])).await;
    let batch = start.json_body()["batch"].as_str().expect("batch").to_owned();
    responses.push(start);
    responses.push(post_json(&user, &format!("storage/c?batch={batch}&commit=true"), json!([])).await);
    responses.push(delete(&user, "storage/c/a").await);
    responses.push(delete(&user, "storage/c?ids=b").await);
    responses.push(delete(&user, "storage/c").await);
    responses.push(delete(&user, "storage").await);
    for resp in &responses {
        assert!(resp.status_code() < 300, "{}", resp.transcript());
        assert!(resp.header("x-weave-quota-remaining").is_none(), "{}", resp.transcript());
    }
}

// ---- D-14 ----------------------------------------------------------------------------------

// D-14
#[tokio::test]
async fn d_14_unsupported_or_missing_content_type_gives_415() {
    let server = TestServer::start().await;
    let user = server.user();
    let record = br#"{"payload": "x"}"#.to_vec();
    let list = br#"[{"id": "a", "payload": "x"}]"#.to_vec();
    for ct in [Some("application/octet-stream"), None, Some("text/html"), Some("application/jsonx"), Some("multipart/form-data")] {
        send(&user, raw(Method::PUT, "storage/c/a", ct, record.clone())).await.weave_error(415, 0);
        send(&user, raw(Method::POST, "storage/c", ct, list.clone())).await.weave_error(415, 0);
    }
    // Where the spec is silent the reference refuses newline input on a PUT with 415.
    send(&user, raw(Method::PUT, "storage/c/a", Some("application/newlines"), record.clone())).await.weave_error(415, 0);
    assert_eq!(get(&user, "info/collections").await.json_body(), json!({}));
}

// D-14
#[tokio::test]
async fn d_14_json_text_and_parameters_are_accepted() {
    let server = TestServer::start().await;
    let user = server.user();
    let record = br#"{"payload": "plain"}"#.to_vec();
    for (i, ct) in ["text/plain", "application/json; charset=utf-8", "text/plain;charset=UTF-8", "application/json"].iter().enumerate() {
        send(&user, raw(Method::PUT, &format!("storage/c/p{i}"), Some(ct), record.clone())).await.status_is(200);
        let body = format!(r#"[{{"id": "q{i}", "payload": "post"}}]"#);
        send(&user, raw(Method::POST, "storage/c", Some(ct), body)).await.status_is(200);
    }
    let nl = "{\"id\": \"n\", \"payload\": \"nl\"}\n";
    send(&user, raw(Method::POST, "storage/c", Some("application/newlines; charset=utf-8"), nl)).await.status_is(200);
    assert_eq!(ids(&user, "c").await.len(), 9);
    assert_eq!(get(&user, "storage/c/p0").await.json_body()["payload"], json!("plain"));
}

// ---- D-15 ----------------------------------------------------------------------------------

async fn post_newlines(user: &SyncUser, coll: &str, body: &str) -> SyncResponse {
    send(user, raw(Method::POST, &format!("storage/{coll}"), Some("application/newlines"), body.to_owned())).await
}

fn success_of(resp: &SyncResponse) -> Vec<String> {
    let mut ids: Vec<String> = resp.status_is(200).json_body()["success"]
        .as_array()
        .unwrap_or_else(|| panic!("no success list\n{}", resp.transcript()))
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

// D-15
#[tokio::test]
async fn d_15_newline_input_is_one_object_per_line() {
    let server = TestServer::start().await;
    let user = server.user();
    let a = json!({"id": "a", "payload": "hello\nworld"}).to_string();
    let b = json!({"id": "b", "payload": "ünï\r\ncode"}).to_string();
    assert!(!a.contains('\n') && !b.contains('\r'), "JSON escapes newlines inside strings");
    for (coll, body) in [
        ("lf", format!("{a}\n{b}\n")),
        ("lf_no_end", format!("{a}\n{b}")),
        ("crlf", format!("{a}\r\n{b}\r\n")),
        ("crlf_no_end", format!("{a}\r\n{b}")),
    ] {
        assert_eq!(success_of(&post_newlines(&user, coll, &body).await), strings(&["a", "b"]), "{coll}");
        let rec = get(&user, &format!("storage/{coll}/a")).await.json_body();
        assert_eq!(rec["payload"], json!("hello\nworld"), "{coll}");
        let rec = get(&user, &format!("storage/{coll}/b")).await.json_body();
        assert_eq!(rec["payload"], json!("ünï\r\ncode"), "{coll}");
    }
    // An empty body is zero records: success, and no collection appears.
    let resp = post_newlines(&user, "empty", "").await;
    assert_eq!(success_of(&resp), Vec::<String>::new());
    assert!(get(&user, "info/collections").await.json_body().get("empty").is_none());
}

// D-15
#[tokio::test]
async fn d_15_bad_newline_input_fails_the_whole_request() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/keep", json!({"payload": "x"})).await;
    let before = snapshot(&user, &["c"]).await;
    let a = r#"{"id": "a", "payload": "x"}"#;
    // An empty line: 400; the SPEC fixes no code, so any bare integer passes.
    for body in ["\n".to_owned(), "\r\n".to_owned(), "{}\n{}\n\n".to_owned(), format!("{a}\n\n{a}"), format!("\n{a}"), format!("{a}\n  \n")]
    {
        assert_bare_code(&post_newlines(&user, "c", &body).await, 400);
    }
    for body in [format!("{a}\n{{"), "not json".to_owned(), format!("{a}\n{a} {a}")] {
        post_newlines(&user, "c", &body).await.weave_error(400, 6);
    }
    for body in [format!("{a}\n\"x\""), format!("{a}\n[{a}]"), format!("{a}\n42"), format!("{a}\nnull")] {
        post_newlines(&user, "c", &body).await.weave_error(400, 8);
    }
    assert_eq!(snapshot(&user, &["c"]).await, before);
}

// ---- D-16 ----------------------------------------------------------------------------------

// D-16
#[tokio::test]
async fn d_16_accept_picks_json_or_newlines_else_406() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    let with = |accept: &str| SyncRequest::get("storage/c").header("Accept", accept);
    let content_type = |resp: &SyncResponse| resp.header_str("content-type");
    let plain = get(&user, "storage/c").await;
    assert!(content_type(&plain).starts_with("application/json"));
    for (accept, expected) in [
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/*", "application/json"),
        ("text/html, */*;q=0.1", "application/json"),
        ("application/newlines", "application/newlines"),
        ("application/newlines;q=1, application/json;q=0.5", "application/newlines"),
        ("application/json;q=0.5, application/newlines", "application/newlines"),
        ("application/json;q=0, */*", "application/newlines"),
    ] {
        let resp = send(&user, with(accept)).await;
        resp.status_is(200);
        assert!(content_type(&resp).starts_with(expected), "Accept {accept}\n{}", resp.transcript());
    }
    for accept in ["x/yy", "text/html", "application/json;q=0", "application/newlines;q=0, application/json;q=0"] {
        send(&user, with(accept)).await.weave_error(406, 0);
    }
}

// ---- D-17 ----------------------------------------------------------------------------------

// D-17
#[tokio::test]
async fn d_17_newline_output_is_one_json_value_per_line() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "hello\nworld", "sortindex": 2})).await;
    put_ok(&user, "storage/c/b", json!({"payload": "line\r\nbreak ✓"})).await;
    let nl = |path: &str| SyncRequest::get(path).header("Accept", "application/newlines");

    let resp = send(&user, nl("storage/c?full=1&sort=index")).await;
    assert!(resp.status_is(200).header_str("content-type").starts_with("application/newlines"));
    let text = resp.text().into_owned();
    assert!(text.ends_with('\n'), "{}", resp.transcript());
    assert_eq!(text.matches('\n').count(), 2, "payload newlines must be escaped\n{}", resp.transcript());
    let items: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert_eq!(items[0]["id"], json!("a"));
    assert_eq!(items[0]["payload"], json!("hello\nworld"));
    assert_eq!(items[1]["payload"], json!("line\r\nbreak ✓"));
    let json_items = get(&user, "storage/c?full=1&sort=index").await.json_body();
    assert_eq!(Value::Array(items), json_items, "both formats carry the same records");

    let resp = send(&user, nl("storage/c?sort=index")).await;
    assert_eq!(resp.status_is(200).text(), "\"a\"\n\"b\"\n");
    let empty = send(&user, nl("storage/none")).await;
    assert!(empty.status_is(200).body().is_empty(), "{}", empty.transcript());
}

// ---- D-18 ----------------------------------------------------------------------------------

// D-18
#[tokio::test]
async fn d_18_a_conflict_answer_carries_retry_after() {
    // Two servers on one database, one with its clock an hour ahead: the other cannot issue a
    // T above the storage ts the first one wrote, which is a conflict (I-04).
    let ahead = TestServer::start().await;
    ahead.advance_ms(3_600_000).await;
    let behind = TestServer::start().await;
    let user = ahead.user();
    let twin = behind.client.user(SECRET, user.uid());
    let t = put_ok(&user, "storage/c/a", json!({"payload": "future"})).await;

    for req in [
        SyncRequest::put("storage/c/a").json(&json!({"payload": "now"})),
        SyncRequest::post("storage/c").json(&json!([{"id": "b", "payload": "now"}])),
        SyncRequest::delete("storage/c/a"),
    ] {
        let resp = send(&twin, req).await;
        resp.status_is(409);
        let retry: u64 =
            resp.header_str("retry-after").parse().unwrap_or_else(|_| panic!("Retry-After is not whole seconds\n{}", resp.transcript()));
        assert!(retry < 24 * 3600, "{}", resp.transcript());
    }
    assert_eq!(storage_ts(&user).await, t, "a conflicting write changed the storage ts");
    assert_eq!(get(&user, "storage/c/a").await.json_body()["payload"], json!("future"));
}

// ---- D-19 ----------------------------------------------------------------------------------

// D-19
#[tokio::test]
async fn d_19_info_maps_count_their_entries_in_x_weave_records() {
    let server = TestServer::start().await;
    let user = server.user();
    let endpoints = ["info/collections", "info/collection_counts", "info/collection_usage"];
    for path in endpoints {
        assert_eq!(get(&user, path).await.header_str("x-weave-records"), "0", "{path}");
    }
    put_ok(&user, "storage/c1/a", json!({"payload": "x"})).await;
    put_ok(&user, "storage/c2/a", json!({"payload": "y"})).await;
    put_ok(&user, "storage/c3/a", json!({"payload": "z", "ttl": 1})).await;
    server.advance_ms(1_500).await;
    // c3 stays in info/collections but has no live record for counts and usage.
    for (path, n) in [("info/collections", 3), ("info/collection_counts", 2), ("info/collection_usage", 2)] {
        let resp = get(&user, path).await;
        let entries = resp.status_is(200).json_body().as_object().map(|m| m.len());
        assert_eq!(entries, Some(n), "{}", resp.transcript());
        assert_eq!(resp.header_str("x-weave-records"), n.to_string(), "{}", resp.transcript());
    }
}

// ---- D-20 ----------------------------------------------------------------------------------

/// `{"payload":"x"}`-style JSON padded with trailing spaces to exactly `len` bytes.
fn padded(json: &str, len: usize) -> Vec<u8> {
    assert!(json.len() <= len);
    let mut out = json.as_bytes().to_vec();
    out.resize(len, b' ');
    out
}

// D-20
#[tokio::test]
async fn d_20_content_length_above_max_request_bytes_gives_413() {
    let server = TestServer::with(|c| c.limits.max_request_bytes = 200).await;
    let user = server.user();
    let limit = get(&user, "info/configuration").await.json_body()["max_request_bytes"].as_u64().expect("limit") as usize;
    let before = snapshot(&user, &["c"]).await;
    let put = |len: usize| raw(Method::PUT, "storage/c/a", Some("application/json"), padded(r#"{"payload": "é"}"#, len));
    let post = |len: usize| raw(Method::POST, "storage/c", Some("application/json"), padded(r#"[{"id": "b", "payload": "é"}]"#, len));
    assert_bare_code(&send(&user, put(limit + 1)).await, 413);
    assert_bare_code(&send(&user, post(limit + 1)).await, 413);
    assert_bare_code(&send(&user, put(64 * 1024)).await, 413);
    assert_eq!(snapshot(&user, &["c"]).await, before);
    send(&user, put(limit)).await.status_is(200);
    send(&user, post(limit)).await.status_is(200);
    assert_eq!(ids(&user, "c").await, strings(&["a", "b"]));
}
