//! SPEC area J against the reference backend: every error status and Weave code (J-01 to J-17),
//! the database going away (J-14, J-16), and a sweep of malformed input (J-15) that must get a 4xx
//! with a bare-integer body, never a 5xx, and must write nothing.

mod common;

use std::time::{Duration, SystemTime};

use common::batch::new_batch;
use common::body::{json_raw, padded_post_body, padded_put_body};
use common::{Check, TestServer, delete, get, post_json, put_json, send};
use reference_backend::Config;
use reqwest::Method;
use serde_json::{Value, json};
use syncstorage_harness::client::{SyncClient, SyncRequest, SyncResponse, SyncUser};
use syncstorage_harness::provision;
use url::Url;

// ---- local helpers -------------------------------------------------------------------------

/// J-01: a bare JSON integer sent as `application/json`.
fn weave_code(resp: &SyncResponse) -> Option<u32> {
    let json = resp.header("content-type").is_some_and(|ct| ct.starts_with("application/json"));
    let text = resp.text();
    let code = text.trim();
    (json && !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit())).then(|| code.parse().ok()).flatten()
}

/// `status` with a bare integer body among `codes`.
fn assert_weave_in(resp: &SyncResponse, status: u16, codes: &[u32]) {
    resp.status_is(status);
    let code = weave_code(resp);
    assert!(code.is_some_and(|c| codes.contains(&c)), "J-01: expected a code in {codes:?}\n{}", resp.transcript());
}

/// `status` with an empty body (J-01: 304, 405, 412).
fn assert_empty(resp: &SyncResponse, status: u16) {
    resp.status_is(status);
    assert!(resp.body().is_empty(), "J-01: {status} has an empty body\n{}", resp.transcript());
}

/// What the user has stored, as the API and the database see it; a refused request must leave
/// all of it alone.
#[derive(Debug, PartialEq)]
struct Stored {
    storage_ts: String,
    collections: Value,
    keep: Value,
    rows: Vec<i64>,
}

async fn stored(server: &TestServer, user: &SyncUser) -> Stored {
    stored_via(&server.db().await, user).await
}

async fn stored_via(db: &tokio_postgres::Client, user: &SyncUser) -> Stored {
    let info = get(user, "info/collections").await;
    info.status_is(200);
    let keep = get(user, "storage/keep?full=1").await.status_is(200).json_body();
    let mut rows = Vec::new();
    for table in ["bsos", "user_collections", "batches", "batch_bsos"] {
        let row =
            db.query_one(&format!("SELECT count(*) FROM {table} WHERE user_id = $1"), &[&(user.uid() as i64)]).await.expect("count query");
        rows.push(row.get(0));
    }
    Stored { storage_ts: info.header_str("x-last-modified"), collections: info.json_body(), keep, rows }
}

fn ts_minus_10ms(ts: &str) -> String {
    let ms = (ts.parse::<f64>().expect("ts") * 100.0).round() as i64 * 10 - 10;
    format!("{}.{:02}", ms / 1000, (ms % 1000) / 10)
}

async fn heartbeat(client: &SyncClient, path: &str) -> SyncResponse {
    client.send(SyncRequest::get(path)).await.unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---- J-01 ----------------------------------------------------------------------------------

// J-01: code 16 (upgrade) is not provoked: the reference never asks a client to upgrade.
#[tokio::test]
async fn j_01_error_bodies_are_bare_json_integers_and_some_are_empty() {
    let server = TestServer::with(|c| {
        c.quota_limit = Some(50);
        c.limits.max_post_records = 2;
    })
    .await;
    let user = server.user();
    let t = put_json(&user, "storage/j01/a", json!({ "payload": "a" })).await.status_is(200).header_str("x-last-modified");

    let nonexistent = send(&user, SyncRequest::get("nonexistent/url")).await;
    nonexistent.weave_error(404, 0);
    let bad_total = send(&user, SyncRequest::post("storage/j01?batch=true").header("X-Weave-Total-Records", "abc").json(&json!([]))).await;
    bad_total.weave_error(400, 1);
    send(&user, json_raw(Method::PUT, "storage/j01/a", b"{")).await.weave_error(400, 6);
    send(&user, json_raw(Method::PUT, "storage/j01/a", b"\"notabso\"")).await.weave_error(400, 8);
    get(&user, "storage/bad!name").await.weave_error(400, 13);
    let over = send(&user, SyncRequest::post("storage/j01").header("X-Weave-Records", "3").json(&json!([]))).await;
    over.weave_error(400, 17);
    let full = server.user();
    put_json(&full, "storage/j01/a", json!({ "payload": "x".repeat(50) })).await.status_is(200);
    put_json(&full, "storage/j01/b", json!({ "payload": "b" })).await.weave_error(400, 14);

    assert_empty(&send(&user, SyncRequest::get("storage/j01/a").header("X-If-Modified-Since", t.as_str())).await, 304);
    assert_empty(&send(&user, SyncRequest::new(Method::PATCH, "storage/j01")).await, 405);
    let stale =
        send(&user, SyncRequest::put("storage/j01/a").header("X-If-Unmodified-Since", ts_minus_10ms(&t)).json(&json!({ "payload": "z" })))
            .await;
    assert_empty(&stale, 412);
}

// ---- J-02 ----------------------------------------------------------------------------------

// J-02
#[tokio::test]
async fn j_02_invalid_records_are_400_8_and_store_nothing() {
    let server = TestServer::start().await;
    let user = server.user();
    let bad_crypto = json!({ "payload": "{\"IV\": \"AAAAAAAAAAAAAAAAAAAAAA==\"}" });
    let puts: Vec<(&str, Value)> = vec![
        ("storage/j02/a", json!("notabso")),
        ("storage/j02/a", json!(42)),
        ("storage/j02/a", json!([])),
        ("storage/j02/a", json!(null)),
        ("storage/j02/a", json!({ "payload": 42 })),
        ("storage/j02/a", json!({ "payload": {} })),
        ("storage/j02/TEST", json!({ "id": "TEST", "unexpected": "x" })),
        ("storage/j02/a", json!({ "ttl": -1 })),
        ("storage/j02/a", json!({ "ttl": "10" })),
        ("storage/j02/a", json!({ "ttl": 1_000_000_000 })),
        ("storage/j02/a", json!({ "sortindex": "5" })),
        ("storage/j02/a", json!({ "sortindex": 2.6 })),
        ("storage/j02/a", json!({ "sortindex": 1_000_000_000 })),
        ("storage/j02/a", json!({ "id": 5 })),
        ("storage/j02/a", json!({ "id": "other", "payload": "x" })),
        ("storage/crypto/keys", bad_crypto),
    ];
    for (path, body) in puts {
        put_json(&user, path, body).await.weave_error(400, 8);
    }
    post_json(&user, "storage/j02", json!({ "id": "a" })).await.weave_error(400, 8);
    post_json(&user, "storage/j02", json!([{ "id": "a" }, { "id": "a" }])).await.weave_error(400, 8);
    post_json(&user, "storage/j02", json!([{ "id": "a" }, "BAD"])).await.weave_error(400, 8);
    let info = get(&user, "info/collections").await;
    assert_eq!(info.status_is(200).json_body(), json!({}), "J-02: nothing stored");
    assert_eq!(info.header_str("x-last-modified"), "0.00");
    get(&user, "storage/j02/other").await.weave_error(404, 0);
}

// ---- J-03 ----------------------------------------------------------------------------------

// J-03
#[tokio::test]
async fn j_03_limit_headers_and_batch_totals_are_400_17() {
    let server = TestServer::with(|c| {
        c.limits.max_post_records = 3;
        c.limits.max_post_bytes = 10;
        c.limits.max_total_records = 5;
        c.limits.max_total_bytes = 20;
    })
    .await;
    let user = server.user();
    let one = |id: &str| json!([{ "id": id, "payload": "p" }]);
    let post = |query: &str, header: &str, value: &str, body: Value| {
        SyncRequest::post(format!("storage/j03{query}")).header(header, value).json(&body)
    };
    send(&user, post("", "X-Weave-Records", "3", one("ok1"))).await.status_is(200);
    send(&user, post("", "X-Weave-Records", "4", one("no1"))).await.weave_error(400, 17);
    send(&user, post("", "X-Weave-Bytes", "10", one("ok2"))).await.status_is(200);
    send(&user, post("", "X-Weave-Bytes", "11", one("no2"))).await.weave_error(400, 17);
    send(&user, post("?batch=true", "X-Weave-Total-Records", "5", one("s1"))).await.status_is(202);
    send(&user, post("?batch=true", "X-Weave-Total-Records", "6", one("no3"))).await.weave_error(400, 17);
    send(&user, post("?batch=true", "X-Weave-Total-Bytes", "20", one("s2"))).await.status_is(202);
    send(&user, post("?batch=true", "X-Weave-Total-Bytes", "21", one("no4"))).await.weave_error(400, 17);
    let three = json!([{ "id": "t1", "payload": "p" }, { "id": "t2", "payload": "p" }, { "id": "t3", "payload": "p" }]);
    let start = send(&user, SyncRequest::post("storage/j03?batch=true").json(&three)).await;
    let id = start.status_is(202).json_body()["batch"].as_str().expect("batch").to_owned();
    let more = json!([{ "id": "t4", "payload": "p" }, { "id": "t5", "payload": "p" }, { "id": "no5", "payload": "p" }]);
    send(&user, SyncRequest::post("storage/j03").query("batch", &id).json(&more)).await.weave_error(400, 17);
    send(&user, SyncRequest::post("storage/j03").query("batch", &id).query("commit", "true").json(&json!([]))).await.status_is(200);
    let listing = get(&user, "storage/j03").await.status_is(200).json_body();
    let mut ids: Vec<&str> = listing.as_array().expect("list").iter().filter_map(Value::as_str).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec!["ok1", "ok2", "t1", "t2", "t3"], "J-03: refused requests store nothing");
}

// ---- J-04 ----------------------------------------------------------------------------------

// J-04
#[tokio::test]
async fn j_04_bad_queries_headers_and_batch_parameters_are_400_0() {
    let server = TestServer::with(|c| c.batch_lifetime = Duration::from_secs(5)).await;
    let user = server.user();
    put_json(&user, "storage/keep/r", json!({ "payload": "orig" })).await.status_is(200);
    let start = send(&user, SyncRequest::post("storage/keep?batch=true").json(&json!([]))).await;
    let expired = start.status_is(202).json_body()["batch"].as_str().expect("batch").to_owned();
    server.advance_ms(5_100).await;
    let before = stored(&server, &user).await;
    let many: Vec<String> = (0..101).map(|i| format!("i{i}")).collect();
    let ids101 = format!("storage/keep?ids={}", many.join(","));
    let rec = json!([{ "id": "x", "payload": "x" }]);
    let requests = vec![
        SyncRequest::get("storage/keep?ids=a%0Ab"),
        SyncRequest::delete("storage/keep?ids=a%0Ab"),
        SyncRequest::get(ids101.clone()),
        SyncRequest::delete(ids101),
        SyncRequest::get("storage/keep?newer=abc"),
        SyncRequest::get("storage/keep?newer=-1"),
        SyncRequest::get("storage/keep?older=abc"),
        SyncRequest::get("storage/keep?older=-1"),
        SyncRequest::get("storage/keep?limit=-1"),
        SyncRequest::get("storage/keep?limit=abc"),
        // Where the spec is silent on limit=0 the reference refuses it.
        SyncRequest::get("storage/keep?limit=0"),
        SyncRequest::get("storage/keep?sort=bogus"),
        SyncRequest::get("storage/keep?offset=!!junk!!"),
        SyncRequest::get("storage/keep").header("X-If-Unmodified-Since", "-3"),
        SyncRequest::put("storage/keep/r").header("X-If-Unmodified-Since", "-3").json(&json!({ "payload": "x" })),
        SyncRequest::get("storage/keep").header("X-If-Modified-Since", "abc"),
        SyncRequest::get("storage/keep").header("X-If-Modified-Since", "1").header("X-If-Unmodified-Since", "1"),
        SyncRequest::post("storage/keep?batch=sammich").json(&rec),
        SyncRequest::post("storage/keep?batch=true&commit=yes").json(&rec),
        SyncRequest::post("storage/keep?commit=true").json(&rec),
        SyncRequest::post("storage/keep").query("batch", &expired).json(&rec),
        SyncRequest::post("storage/keep").query("batch", &expired).query("commit", "true").json(&rec),
    ];
    for req in requests {
        send(&user, req).await.weave_error(400, 0);
    }
    assert_eq!(stored(&server, &user).await, before, "J-04: refused requests write nothing");
}

// ---- J-05 ----------------------------------------------------------------------------------

// J-05
#[tokio::test]
async fn j_05_hawk_failures_and_expired_tokens_are_401_0() {
    let server = TestServer::start().await;
    let user = server.user();
    let other = server.user();
    put_json(&user, "storage/keep/r", json!({ "payload": "orig" })).await.status_is(200);
    let before = stored(&server, &user).await;
    let put = || SyncRequest::put("storage/keep/r").json(&json!({ "payload": "changed" }));
    let expired = user.expired();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let cases = vec![
        send(&user, SyncRequest::get("storage/keep").unsigned()).await,
        send(&user, put().unsigned()).await,
        send(&user, put().wrong_key()).await,
        send(&expired, put()).await,
        send(&expired, SyncRequest::get("storage/keep")).await,
        send(&expired, SyncRequest::get("info/quota")).await,
        // Where the spec is silent another uid's token is refused; the reference says 401/0.
        send(&user, SyncRequest::get("info/collections").signed_with(other.credentials().clone())).await,
        send(&user, put().signed_with(other.credentials().clone())).await,
        send(&user, put().header("Authorization", "Hawk garbage")).await,
        send(&user, put().header("Authorization", "Bearer abc")).await,
        send(&user, put().header("Authorization", "")).await,
        send(&user, put().hawk_timestamp(hour_ago)).await,
    ];
    for resp in &cases {
        resp.weave_error(401, 0);
    }
    // A-02: the one exception.
    send(&expired, SyncRequest::get("info/collections")).await.status_is(200);
    assert_eq!(stored(&server, &user).await, before, "J-05: nothing written");
}

// ---- J-06 ----------------------------------------------------------------------------------

// J-06
#[tokio::test]
async fn j_06_over_quota_is_400_14() {
    let server = TestServer::with(|c| c.quota_limit = Some(64)).await;
    let user = server.user();
    put_json(&user, "storage/keep/r", json!({ "payload": "é".repeat(32) })).await.status_is(200);
    let before = stored(&server, &user).await;
    put_json(&user, "storage/keep/s", json!({ "payload": "s" })).await.weave_error(400, 14);
    post_json(&user, "storage/other", json!([{ "id": "s", "payload": "s" }])).await.weave_error(400, 14);
    send(&user, SyncRequest::post("storage/keep?batch=true").json(&json!([]))).await.weave_error(400, 14);
    assert_eq!(stored(&server, &user).await, before, "J-06: nothing written");
}

// ---- J-07 ----------------------------------------------------------------------------------

// J-07
#[tokio::test]
async fn j_07_not_found_is_404_0_and_never_for_a_collection() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/j07/gone", json!({ "payload": "x", "ttl": 0 })).await.status_is(200);
    let uid = user.uid();
    let long_id = "x".repeat(65);
    let cases = vec![
        send(&user, SyncRequest::get("nonexistent/url")).await,
        send(&user, SyncRequest::get(format!("/1.5/{uid}/storage/j07/a/b"))).await,
        server.client.send(SyncRequest::get("/nothing/here")).await.expect("send"),
        server.client.send(SyncRequest::get("/1.5/abc/info/collections")).await.expect("send"),
        server.client.send(SyncRequest::get("/1.5/12345678901/info/collections")).await.expect("send"),
        send(&user, SyncRequest::get(format!("storage/j07/{long_id}"))).await,
        send(&user, SyncRequest::get("storage/j07/a%00b")).await,
        send(&user, SyncRequest::get("storage/j07/a%0Ab")).await,
        get(&user, "storage/j07/missing").await,
        delete(&user, "storage/j07/missing").await,
        get(&user, "storage/j07/gone").await,
        delete(&user, "storage/j07/gone").await,
    ];
    for resp in &cases {
        resp.weave_error(404, 0);
    }
    let listing = get(&user, "storage/j07never").await;
    assert_eq!(listing.status_is(200).json_body(), json!([]));
    assert_eq!(listing.header_str("x-last-modified"), "0.00");
    get(&user, "storage/j07never?full=1").await.status_is(200);
    delete(&user, "storage/j07never").await.status_is(200);
    post_json(&user, "storage/j07never", json!([])).await.status_is(200);
}

// ---- J-08 ----------------------------------------------------------------------------------

// J-08
#[tokio::test]
async fn j_08_method_not_allowed_is_405_with_an_empty_body() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/j08/a", json!({ "payload": "a" })).await.status_is(200);
    let before = stored(&server, &user).await;
    let cases = [
        (Method::PATCH, "storage/j08"),
        (Method::PUT, "storage/j08"),
        (Method::POST, "storage/j08/a"),
        (Method::PATCH, "storage/j08/a"),
        (Method::PUT, "info/quota"),
        (Method::DELETE, "info/collections"),
        (Method::POST, "storage"),
        (Method::GET, "storage"),
    ];
    for (method, path) in cases {
        let resp = send(&user, SyncRequest::new(method, path).header("Content-Type", "application/json").body(b"[]".to_vec())).await;
        assert_empty(&resp, 405);
    }
    assert_eq!(stored(&server, &user).await, before);
}

// ---- J-09 ----------------------------------------------------------------------------------

// J-09
#[tokio::test]
async fn j_09_an_accept_the_server_cannot_serve_is_406_0() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/j09/a", json!({ "payload": "a" })).await.status_is(200);
    for accept in ["x/yy", "text/html", "application/json;q=0", "image/*"] {
        send(&user, SyncRequest::get("storage/j09").header("Accept", accept)).await.weave_error(406, 0);
    }
    send(&user, SyncRequest::get("storage/j09").header("Accept", "x/yy, */*;q=0.1")).await.status_is(200);
}

// ---- J-10 ----------------------------------------------------------------------------------

// J-10: bodies need no Content-Length, so a chunked upload is never answered 411.
#[tokio::test]
async fn j_10_a_chunked_upload_never_gets_411() {
    let server = TestServer::start().await;
    let user = server.user();
    let put =
        SyncRequest::put("storage/j10/a").header("Content-Type", "application/json").chunked(br#"{"payload":"chunked put"}"#.to_vec());
    send(&user, put).await.status_is(200);
    let post = SyncRequest::post("storage/j10")
        .header("Content-Type", "application/json")
        .chunked(br#"[{"id":"b","payload":"chunked post"}]"#.to_vec());
    let resp = send(&user, post).await;
    assert_eq!(resp.status_is(200).json_body()["success"], json!(["b"]), "{}", resp.transcript());
    assert_eq!(get(&user, "storage/j10/a").await.status_is(200).json_body()["payload"], "chunked put");
}

// J-10: a write that cannot get a T above the storage ts in time answers 409 with Retry-After.
// Two servers share the database; one's test clock is an hour ahead, so after it writes, the
// other has no T to give (I-04) and must refuse rather than go back in time.
#[tokio::test]
async fn j_10_a_write_conflict_is_409_with_retry_after_and_writes_nothing() {
    let ahead = TestServer::start().await;
    let behind = TestServer::start().await;
    ahead.advance_ms(3_600_000).await;
    let early = ahead.user();
    let late = behind.client.user(common::SECRET, early.uid());
    let t = put_json(&early, "storage/j10/a", json!({ "payload": "ahead" })).await.status_is(200).header_str("x-last-modified");
    let resp = put_json(&late, "storage/j10/b", json!({ "payload": "behind" })).await;
    resp.status_is(409);
    let retry = resp.header_str("retry-after");
    assert!(retry.parse::<u64>().is_ok_and(|s| s > 0), "J-10: Retry-After in seconds\n{}", resp.transcript());
    assert!(weave_code(&resp).is_some(), "J-01\n{}", resp.transcript());
    get(&early, "storage/j10/b").await.weave_error(404, 0);
    let info = get(&early, "info/collections").await;
    assert_eq!(info.status_is(200).header_str("x-last-modified"), t, "J-10: the refused write moved no ts");
}

// ---- J-11 ----------------------------------------------------------------------------------

// J-11
#[tokio::test]
async fn j_11_a_failed_precondition_is_412_empty_with_x_last_modified() {
    let server = TestServer::start().await;
    let user = server.user();
    let t = put_json(&user, "storage/keep/r", json!({ "payload": "orig" })).await.status_is(200).header_str("x-last-modified");
    let before = stored(&server, &user).await;
    let stale = ts_minus_10ms(&t);
    let requests = vec![
        SyncRequest::put("storage/keep/r").json(&json!({ "payload": "x" })),
        SyncRequest::get("storage/keep/r"),
        SyncRequest::delete("storage/keep/r"),
        SyncRequest::get("storage/keep"),
        SyncRequest::post("storage/keep").json(&json!([{ "id": "s", "payload": "s" }])),
        SyncRequest::delete("storage/keep?ids=r"),
        SyncRequest::delete("storage/keep"),
    ];
    for req in requests {
        let resp = send(&user, req.header("X-If-Unmodified-Since", stale.as_str())).await;
        assert_empty(&resp, 412);
        assert_eq!(resp.header_str("x-last-modified"), t, "J-11\n{}", resp.transcript());
    }
    assert_eq!(stored(&server, &user).await, before, "J-11: nothing written");
    let at =
        send(&user, SyncRequest::put("storage/keep/r").header("X-If-Unmodified-Since", t.as_str()).json(&json!({ "payload": "y" }))).await;
    at.status_is(200);
}

// ---- J-12 ----------------------------------------------------------------------------------

// J-12
#[tokio::test]
async fn j_12_too_large_bodies_and_payloads_are_413() {
    let server = TestServer::with(|c| {
        c.limits.max_request_bytes = 1024;
        c.limits.max_record_payload_bytes = 100;
    })
    .await;
    let user = server.user();
    // 50 characters, 100 bytes: at the record limit.
    put_json(&user, "storage/keep/r", json!({ "payload": "é".repeat(50) })).await.status_is(200);
    let before = stored(&server, &user).await;
    let resp = put_json(&user, "storage/keep/r", json!({ "payload": format!("{}a", "é".repeat(50)) })).await;
    assert_weave_in(&resp, 413, &[0, 17]);
    let resp = send(&user, json_raw(Method::PUT, "storage/keep/s", &padded_put_body(1025))).await;
    assert_weave_in(&resp, 413, &[0, 17]);
    let resp = send(&user, json_raw(Method::POST, "storage/keep", &padded_post_body(1025))).await;
    assert_weave_in(&resp, 413, &[0, 17]);
    let chunked = SyncRequest::post("storage/keep").header("Content-Type", "application/json").chunked(padded_post_body(1025));
    let resp = send(&user, chunked).await;
    assert!(matches!(resp.status_code(), 413 | 400) && weave_code(&resp).is_some(), "E-08\n{}", resp.transcript());
    assert_eq!(stored(&server, &user).await, before, "J-12: nothing written");
    // A body of exactly max_request_bytes is read: its one record then fails alone (E-07), and
    // in a new collection that stores nothing (E-09).
    let resp = send(&user, json_raw(Method::POST, "storage/fresh", &padded_post_body(1024))).await;
    assert_eq!(resp.status_is(200).json_body()["failed"]["big"], "retry bytes", "{}", resp.transcript());
    assert_eq!(stored(&server, &user).await, before);
}

// ---- J-13 ----------------------------------------------------------------------------------

// J-13
#[tokio::test]
async fn j_13_a_missing_or_unsupported_content_type_is_415_0() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/keep/r", json!({ "payload": "orig" })).await.status_is(200);
    let before = stored(&server, &user).await;
    let put_body = br#"{"payload":"changed"}"#.to_vec();
    let post_body = br#"[{"id":"s","payload":"s"}]"#.to_vec();
    let cases = vec![
        SyncRequest::put("storage/keep/r").body(put_body.clone()),
        SyncRequest::put("storage/keep/r").header("Content-Type", "application/octet-stream").body(put_body.clone()),
        SyncRequest::put("storage/keep/r").header("Content-Type", "application/jsonx").body(put_body.clone()),
        // Where the spec is silent (415 or 400) the reference answers 415.
        SyncRequest::put("storage/keep/r").header("Content-Type", "application/newlines").body(put_body.clone()),
        SyncRequest::post("storage/keep").body(post_body.clone()),
        SyncRequest::post("storage/keep").header("Content-Type", "text/html").body(post_body.clone()),
        SyncRequest::post("storage/keep?batch=true").header("Content-Type", "multipart/form-data").body(post_body.clone()),
    ];
    for req in cases {
        send(&user, req).await.weave_error(415, 0);
    }
    assert_eq!(stored(&server, &user).await, before, "J-13: nothing written");
    let plain = SyncRequest::put("storage/keep/r").header("Content-Type", "text/plain").body(put_body.clone());
    send(&user, plain).await.status_is(200);
    let charset = SyncRequest::post("storage/keep").header("Content-Type", "application/json; charset=utf-8").body(post_body);
    send(&user, charset).await.status_is(200);
}

// ---- J-14, J-16 ----------------------------------------------------------------------------

/// A reference backend on a database of its own, and an admin connection that can drop it.
struct Doomed {
    server: TestServer,
    admin: tokio_postgres::Client,
    database: String,
}

impl Doomed {
    async fn start() -> Self {
        let base = common::database_url();
        let (admin, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls).await.expect("admin connection");
        tokio::spawn(conn);
        let database = format!("doomed_{}", rand::random::<u32>());
        admin.batch_execute(&format!("CREATE DATABASE {database} TEMPLATE template0 ENCODING 'UTF8'")).await.expect("create database");
        let mut url = Url::parse(base).expect("database url");
        url.set_path(&format!("/{database}"));
        let mut config = Config::new(common::SECRET);
        config.test_clock = true;
        let running = provision::start_reference(config, url.as_str(), "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("reference backend on its own database");
        let client = SyncClient::new(Url::parse(&running.url()).expect("url")).expect("client");
        Self { server: TestServer { server: running, client }, admin, database }
    }

    /// Drops the database under the running server; FORCE ends its pooled connections, and a
    /// new connection fails because the database is gone.
    async fn drop_database(&self) {
        self.admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.database)).await.expect("drop database");
    }
}

/// Requests of every kind that need the database.
fn storage_requests() -> Vec<SyncRequest> {
    vec![
        SyncRequest::get("info/collections"),
        SyncRequest::get("info/quota"),
        SyncRequest::get("info/collection_counts"),
        SyncRequest::get("storage/j14"),
        SyncRequest::get("storage/j14/a"),
        SyncRequest::put("storage/j14/a").json(&json!({ "payload": "a" })),
        SyncRequest::post("storage/j14").json(&json!([{ "id": "b", "payload": "b" }])),
        SyncRequest::post("storage/j14?batch=true").json(&json!([])),
        SyncRequest::delete("storage/j14/a"),
        SyncRequest::delete("storage/j14?ids=a"),
        SyncRequest::delete("storage/j14"),
        SyncRequest::delete("storage"),
    ]
}

// J-14: without a database a storage request gets 503 with Retry-After, never another 5xx.
#[tokio::test]
async fn j_14_no_database_gives_503_with_retry_after() {
    let doomed = Doomed::start().await;
    let user = doomed.server.user();
    put_json(&user, "storage/j14/a", json!({ "payload": "a" })).await.status_is(200);
    doomed.drop_database().await;
    // Twice: the first round meets the pooled connections the drop ended, the second new ones.
    let mut problems = Vec::new();
    for round in 0..2 {
        for req in storage_requests() {
            let resp = send(&user, req).await;
            let retry = resp.header("retry-after").and_then(|v| v.parse::<u64>().ok());
            if resp.status_code() != 503 || retry.is_none_or(|s| s == 0) || weave_code(&resp).is_none() {
                problems.push(format!("round {round}:\n{}", resp.transcript()));
            }
        }
    }
    assert!(problems.is_empty(), "J-14: expected 503 with Retry-After and a weave code:\n{}", problems.join("\n"));
}

// J-16: heartbeat gives 503 without a database. Where the spec is silent lbheartbeat gives 200
// or a 5xx; the reference answers it without touching the database.
#[tokio::test]
async fn j_16_heartbeat_without_a_database_is_503() {
    let doomed = Doomed::start().await;
    let client = &doomed.server.client;
    let ok = heartbeat(client, "/__heartbeat__").await;
    assert_eq!(ok.status_is(200).json_body()["database"], "Ok");
    doomed.drop_database().await;
    for _ in 0..2 {
        let resp = heartbeat(client, "/__heartbeat__").await;
        resp.status_is(503);
        assert_ne!(resp.json_body()["database"], "Ok", "{}", resp.transcript());
        let lb = heartbeat(client, "/__lbheartbeat__").await;
        assert!(lb.status_code() == 200 || lb.status_code() >= 500, "A-17\n{}", lb.transcript());
    }
}

// ---- J-15: the bad-input sweep ---------------------------------------------------------------

/// What a malformed request may get.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// This status with a bare-integer body among these codes.
    Weave(u16, &'static [u32]),
    /// This status with an empty body.
    Empty(u16),
    /// 200 (202 for a batch append) with `id` in `failed` and nothing in `success`: a
    /// per-record refusal (B-01, E-11).
    Failed(&'static str),
    /// A whole-request 400 (codes 6 or 8) or the per-record refusal of `id`: E-11 leaves the
    /// choice to the server for text it cannot store.
    Refused(&'static str),
    /// Any answer below 500: refusals below the API (e.g. by the HTTP layer) carry no Weave body.
    No5xx,
}

fn judge(resp: &SyncResponse, want: Want) -> Result<(), String> {
    let status = resp.status_code();
    let ok = match want {
        Want::Weave(s, codes) => status == s && weave_code(resp).is_some_and(|c| codes.contains(&c)),
        Want::Empty(s) => status == s && resp.body().is_empty(),
        Want::Failed(id) => per_record_refusal(resp, id),
        Want::Refused(id) => (status == 400 && weave_code(resp).is_some_and(|c| c == 6 || c == 8)) || per_record_refusal(resp, id),
        Want::No5xx => status < 500,
    };
    if ok { Ok(()) } else { Err(format!("expected {want:?}\n{}", resp.transcript())) }
}

fn per_record_refusal(resp: &SyncResponse, id: &str) -> bool {
    // 202 for a batch append.
    matches!(resp.status_code(), 200 | 202) && resp.json().is_ok_and(|b| b["success"] == json!([]) && b["failed"].get(id).is_some())
}

/// A user with one record in `keep` and an open batch there, for requests to aim at.
async fn sweep_user(server: &TestServer) -> (SyncUser, String) {
    let user = server.user();
    put_json(&user, "storage/keep/r", json!({ "payload": "orig", "sortindex": 1 })).await.status_is(200);
    let batch = new_batch(&user, "keep", json!([{ "id": "staged", "payload": "s" }])).await;
    (user, batch)
}

/// Sends each case, judges its answer, and checks after each that nothing was written.
async fn sweep(server: &TestServer, user: &SyncUser, cases: Vec<(SyncRequest, Want)>) {
    let db = server.db().await;
    let before = stored_via(&db, user).await;
    let mut problems = Vec::new();
    let count = cases.len();
    for (req, want) in cases {
        let shown = format!("{} {}", req.method(), req.path());
        match user.send(req).await {
            Err(e) => problems.push(format!("{shown}: no HTTP answer: {e}")),
            Ok(resp) => {
                if let Err(why) = judge(&resp, want) {
                    problems.push(why);
                }
                if resp.status_code() >= 500 {
                    problems.push(format!("J-15: a 5xx for {shown}"));
                }
                let now = stored_via(&db, user).await;
                if now != before {
                    problems.push(format!("{shown} wrote something: {now:?} vs {before:?}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{} of {count} malformed requests misbehaved:\n{}", problems.len(), problems.join("\n---\n"));
}

// J-15
#[tokio::test]
async fn j_15_sweep_malformed_json_and_wrong_types() {
    let server = TestServer::start().await;
    let (user, batch) = sweep_user(&server).await;
    let append = format!("storage/keep?batch={batch}");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_obj = format!("{}1{}", r#"{"payload":"#.repeat(10_000), "}".repeat(10_000));
    let mut cases: Vec<(SyncRequest, Want)> = Vec::new();
    let unparseable: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        br#"{"payload":"#.to_vec(),
        b"[".to_vec(),
        b"".to_vec(),
        b"nul".to_vec(),
        br#"{"payload":"x"}}"#.to_vec(),
        br#"{"payload":"x",}"#.to_vec(),
        br#"{'payload':'x'}"#.to_vec(),
        b"\xff\xfe{}".to_vec(),
        br#"{"payload":"a"#.iter().copied().chain(*b"\x01\"}").collect(),
        b"{\"payload\":\"caf\xe9\"}".to_vec(),
        "\u{feff}{\"payload\":\"bom\"}".as_bytes().to_vec(),
        deep.clone().into_bytes(),
        deep_obj.into_bytes(),
    ];
    for body in &unparseable {
        cases.push((json_raw(Method::PUT, "storage/keep/r", body), Want::Weave(400, &[6])));
        cases.push((json_raw(Method::PUT, "storage/fresh/x", body), Want::Weave(400, &[6])));
    }
    for body in [&b"{"[..], b"[", b"", b"[{\"id\":\"a\"},", b"\xff"] {
        cases.push((json_raw(Method::POST, "storage/keep", body), Want::Weave(400, &[6])));
        cases.push((json_raw(Method::POST, "storage/fresh", body), Want::Weave(400, &[6])));
        cases.push((json_raw(Method::POST, &append, body), Want::Weave(400, &[6])));
    }
    cases.push((json_raw(Method::POST, "storage/keep", deep.as_bytes()), Want::Weave(400, &[6])));
    // Numbers out of every range: unparseable to some parsers, invalid values to others.
    for body in [&br#"{"sortindex":1e400}"#[..], br#"{"ttl":-1e400}"#] {
        cases.push((json_raw(Method::PUT, "storage/keep/r", body), Want::Weave(400, &[6, 8])));
    }
    let invalid_put: Vec<&[u8]> = vec![
        br#""str""#,
        b"42",
        b"[]",
        b"null",
        b"true",
        br#"{"payload":42}"#,
        br#"{"payload":{}}"#,
        br#"{"payload":["x"]}"#,
        br#"{"payload":true}"#,
        br#"{"sortindex":"5"}"#,
        br#"{"sortindex":1.5}"#,
        br#"{"sortindex":1e3}"#,
        br#"{"sortindex":99999999999999999999}"#,
        br#"{"sortindex":-1000000000}"#,
        br#"{"sortindex":[]}"#,
        br#"{"ttl":"10"}"#,
        br#"{"ttl":-1}"#,
        br#"{"ttl":1.0}"#,
        br#"{"ttl":1000000000}"#,
        br#"{"ttl":18446744073709551616}"#,
        br#"{"ttl":{}}"#,
        br#"{"id":5}"#,
        br#"{"id":null}"#,
        br#"{"id":"other","payload":"x"}"#,
        br#"{"id":"r","payload":"x","extra":null}"#,
    ];
    for body in invalid_put {
        cases.push((json_raw(Method::PUT, "storage/keep/r", body), Want::Weave(400, &[8])));
        cases.push((json_raw(Method::PUT, "storage/fresh/r", body), Want::Weave(400, &[8])));
    }
    let invalid_post: Vec<&[u8]> = vec![
        b"{}",
        br#""x""#,
        b"42",
        b"null",
        b"[1]",
        b"[null]",
        b"[[]]",
        br#"[{"id":null}]"#,
        br#"[{"id":["a"]}]"#,
        br#"[{"id":{"a":1}}]"#,
        br#"[{"id":7}]"#,
        br#"[{"payload":"no id"}]"#,
        br#"[{"id":"a"},{"id":"a"}]"#,
    ];
    for body in invalid_post {
        cases.push((json_raw(Method::POST, "storage/keep", body), Want::Weave(400, &[8])));
        cases.push((json_raw(Method::POST, "storage/fresh", body), Want::Weave(400, &[8])));
        cases.push((json_raw(Method::POST, &append, body), Want::Weave(400, &[8])));
        cases.push((json_raw(Method::POST, "storage/fresh?batch=true", body), Want::Weave(400, &[8])));
    }
    // Records that fail alone: in a new collection that stores nothing (E-09).
    let long_id = format!(r#"[{{"id":"{}","payload":"x"}}]"#, "X".repeat(65));
    let per_record: Vec<(Vec<u8>, &'static str)> = vec![
        (br#"[{"id":"x","payload":42}]"#.to_vec(), "x"),
        (br#"[{"id":"x","ttl":-1}]"#.to_vec(), "x"),
        (br#"[{"id":"x","sortindex":"1"}]"#.to_vec(), "x"),
        (br#"[{"id":"x","unexpected":1}]"#.to_vec(), "x"),
        (br#"[{"id":"","payload":"x"}]"#.to_vec(), ""),
        (r#"[{"id":"é","payload":"x"}]"#.as_bytes().to_vec(), "é"),
        (br#"[{"id":"a\tb","payload":"x"}]"#.to_vec(), "a\tb"),
        (long_id.into_bytes(), "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
    ];
    for (body, id) in per_record {
        cases.push((json_raw(Method::POST, "storage/fresh", &body), Want::Failed(id)));
    }
    let newlines = |path: &str, body: &[u8]| SyncRequest::post(path).header("Content-Type", "application/newlines").body(body.to_vec());
    for (body, code) in [(&b"{\n"[..], 6), (b"42\n", 8), (b"\n\n", 6), (b"\r\n", 6), (b"[]", 8), (b"{\"id\":\"a\"}\n\n{\"id\":\"b\"}", 6)] {
        cases.push((newlines("storage/keep", body), Want::Weave(400, if code == 6 { &[6] } else { &[8] })));
        cases.push((newlines(&append, body), Want::Weave(400, if code == 6 { &[6] } else { &[8] })));
    }
    sweep(&server, &user, cases).await;
}

// J-15
#[tokio::test]
async fn j_15_sweep_nul_and_lone_surrogates_in_payloads_ids_and_paths() {
    let server = TestServer::start().await;
    let (user, batch) = sweep_user(&server).await;
    let append = format!("storage/keep?batch={batch}");
    let mut cases: Vec<(SyncRequest, Want)> = vec![
        // E-11 (reference choice): U+0000 is refused per record.
        (json_raw(Method::PUT, "storage/keep/r", br#"{"payload":"a\u0000b"}"#), Want::Weave(400, &[8])),
        (json_raw(Method::PUT, "storage/fresh/x", br#"{"payload":"\u0000"}"#), Want::Weave(400, &[8])),
        (json_raw(Method::PUT, "storage/keep/r", br#"{"id":"r\u0000","payload":"x"}"#), Want::Weave(400, &[8])),
        (json_raw(Method::POST, "storage/fresh", br#"[{"id":"x","payload":"\u0000"}]"#), Want::Failed("x")),
        (json_raw(Method::POST, "storage/fresh", br#"[{"id":"x\u0000","payload":"x"}]"#), Want::Failed("x\u{0}")),
        (json_raw(Method::POST, &append, br#"[{"id":"x","payload":"\u0000"}]"#), Want::Failed("x")),
        // B-01: an invalid path id matches no record route; B-15: nor a bad collection name.
        (json_raw(Method::PUT, "storage/keep/a%00b", br#"{"payload":"x"}"#), Want::Weave(404, &[0])),
        (SyncRequest::get("storage/keep/%00"), Want::Weave(404, &[0])),
        (SyncRequest::delete("storage/keep/%FF"), Want::Weave(404, &[0])),
        (json_raw(Method::POST, "storage/ke%00ep", br#"[{"id":"x","payload":"x"}]"#), Want::Weave(400, &[13])),
        // A name that is not even UTF-8 is still an invalid name (B-15).
        (SyncRequest::get("storage/%FF"), Want::Weave(400, &[13])),
        (json_raw(Method::POST, "storage/ke%2Fep", br#"[{"id":"x","payload":"x"}]"#), Want::Weave(400, &[13])),
        (SyncRequest::get(format!("storage/{}", "c".repeat(33))), Want::Weave(400, &[13])),
        (SyncRequest::delete("storage/bad!name"), Want::Weave(400, &[13])),
        // Query values.
        (SyncRequest::get("storage/keep?ids=a%00b"), Want::Weave(400, &[0])),
        (SyncRequest::delete("storage/keep?ids=r%00"), Want::Weave(400, &[0])),
        (SyncRequest::get("storage/keep?newer=%00"), Want::Weave(400, &[0])),
        (json_raw(Method::POST, "storage/keep?batch=%00", b"[]"), Want::Weave(400, &[0])),
        (json_raw(Method::POST, "storage/keep?batch=true&commit=%00", b"[]"), Want::Weave(400, &[0])),
    ];
    // Lone surrogates: grammatical JSON strings that name no character (E-11).
    for payload in [r#"\ud800"#, r#"\udc00"#, r#"x\ud800\u0041"#, r#"\ud800\ud800"#, r#"\udfff\ud800"#] {
        let put = format!(r#"{{"payload":"{payload}"}}"#);
        cases.push((json_raw(Method::PUT, "storage/keep/r", put.as_bytes()), Want::Weave(400, &[6, 8])));
        cases.push((json_raw(Method::PUT, "storage/fresh/x", put.as_bytes()), Want::Weave(400, &[6, 8])));
        let post = format!(r#"[{{"id":"x","payload":"{payload}"}}]"#);
        cases.push((json_raw(Method::POST, "storage/fresh", post.as_bytes()), Want::Refused("x")));
        cases.push((json_raw(Method::POST, &append, post.as_bytes()), Want::Refused("x")));
    }
    // The reference reads a lone surrogate as U+0000, which it cannot store, so the record fails
    // under that id (E-11).
    cases.push((json_raw(Method::POST, "storage/fresh", br#"[{"id":"\ud800","payload":"x"}]"#), Want::Refused("\u{0}")));
    cases.push((json_raw(Method::PUT, "storage/keep/r", br#"{"id":"\udc00"}"#), Want::Weave(400, &[6, 8])));
    sweep(&server, &user, cases).await;
}

// J-15
#[tokio::test]
async fn j_15_sweep_oversized_bodies() {
    let server = TestServer::with(|c| c.limits.max_request_bytes = 4096).await;
    let (user, batch) = sweep_user(&server).await;
    let append = format!("storage/keep?batch={batch}");
    let chunked =
        |method: Method, path: &str, body: Vec<u8>| SyncRequest::new(method, path).header("Content-Type", "application/json").chunked(body);
    let cases: Vec<(SyncRequest, Want)> = vec![
        (json_raw(Method::PUT, "storage/keep/r", &padded_put_body(4097)), Want::Weave(413, &[0, 17])),
        (json_raw(Method::PUT, "storage/fresh/x", &padded_put_body(4097)), Want::Weave(413, &[0, 17])),
        (json_raw(Method::POST, "storage/keep", &padded_post_body(4097)), Want::Weave(413, &[0, 17])),
        (json_raw(Method::POST, "storage/fresh?batch=true", &padded_post_body(4097)), Want::Weave(413, &[0, 17])),
        (json_raw(Method::POST, &append, &padded_post_body(4097)), Want::Weave(413, &[0, 17])),
        (json_raw(Method::POST, "storage/keep", &padded_post_body(64 * 1024)), Want::Weave(413, &[0, 17])),
        (chunked(Method::PUT, "storage/keep/r", padded_put_body(4097)), Want::Weave(413, &[0, 17])),
        (chunked(Method::POST, "storage/keep", padded_post_body(4097)), Want::Weave(413, &[0, 17])),
        (chunked(Method::POST, &append, padded_post_body(64 * 1024)), Want::Weave(413, &[0, 17])),
    ];
    sweep(&server, &user, cases).await;
}

// J-15
#[tokio::test]
async fn j_15_sweep_odd_headers() {
    let server = TestServer::start().await;
    let (user, batch) = sweep_user(&server).await;
    let put = || json_raw(Method::PUT, "storage/keep/r", br#"{"payload":"changed"}"#);
    let post = |path: &str| json_raw(Method::POST, path, br#"[{"id":"s","payload":"s"}]"#);
    let append = format!("storage/keep?batch={batch}");
    let mut cases: Vec<(SyncRequest, Want)> = Vec::new();
    for value in ["abc", "-1", "1e3", "", " ", "1.2.3", "0x10", "１２", "1.", ".5", "NaN", "inf", "+5", "1,5"] {
        cases.push((put().header("X-If-Unmodified-Since", value), Want::Weave(400, &[0])));
        cases.push((put().header("X-If-Modified-Since", value), Want::Weave(400, &[0])));
        cases.push((post("storage/keep").header("X-If-Unmodified-Since", value), Want::Weave(400, &[0])));
        cases.push((SyncRequest::delete("storage/keep").header("X-If-Unmodified-Since", value), Want::Weave(400, &[0])));
    }
    cases.push((put().header("X-If-Unmodified-Since", "0").header("X-If-Modified-Since", "0"), Want::Weave(400, &[0])));
    // A repeated header: the reference reads the first; either way nothing may be written.
    cases.push((put().header("X-If-Unmodified-Since", "0").header("X-If-Unmodified-Since", "99999999999"), Want::Empty(412)));
    // D-10: a non-integer X-Weave-Records is 400 (reference code 1); D-12 alike for the totals.
    for value in ["abc", "-1", "1.5", "", "0x3"] {
        cases.push((post("storage/keep").header("X-Weave-Records", value), Want::Weave(400, &[1])));
        cases.push((post("storage/keep").header("X-Weave-Bytes", value), Want::Weave(400, &[0, 1])));
        cases.push((post(&append).header("X-Weave-Total-Records", value), Want::Weave(400, &[1])));
        cases.push((post(&append).header("X-Weave-Total-Bytes", value), Want::Weave(400, &[1])));
    }
    cases.push((post("storage/keep").header("X-Weave-Records", "99999999999999999999"), Want::Weave(400, &[1, 17])));
    cases.push((post("storage/keep").header("X-Weave-Total-Records", "1"), Want::Weave(400, &[1])));
    cases.push((post("storage/keep").header("X-Weave-Total-Bytes", "1"), Want::Weave(400, &[1])));
    for ct in ["", "json", "application/jsonx", "text/html", "application/x-www-form-urlencoded", "*/*"] {
        cases.push((
            SyncRequest::put("storage/keep/r").header("Content-Type", ct).body(br#"{"payload":"x"}"#.to_vec()),
            Want::Weave(415, &[0]),
        ));
        cases.push((SyncRequest::post("storage/keep").header("Content-Type", ct).body(b"[]".to_vec()), Want::Weave(415, &[0])));
    }
    for auth in ["Hawk", "Hawk id=\"\"", "Basic Zm9vOmJhcg==", "Hawk id=\"x\", ts=\"1\", nonce=\"n\", mac=\"m\""] {
        cases.push((put().header("Authorization", auth), Want::Weave(401, &[0])));
    }
    cases.push((put().header("Authorization", format!("Hawk id=\"{}\"", "A".repeat(8000))), Want::Weave(401, &[0])));
    // Refusals by the HTTP layer carry no Weave body; these are reads so a lenient server
    // writes nothing either.
    let mut many = SyncRequest::get("storage/keep");
    for i in 0..200 {
        many = many.header(format!("X-Junk-{i}"), "x");
    }
    cases.push((many, Want::No5xx));
    cases.push((SyncRequest::get("storage/keep").header("X-Junk", "v".repeat(100_000)), Want::No5xx));
    for accept in ["x/yy", "application/json;q=0"] {
        cases.push((SyncRequest::get("storage/keep").header("Accept", accept), Want::Weave(406, &[0])));
    }
    cases.push((SyncRequest::get("storage/keep").header("Accept", "application/json;q=abc"), Want::No5xx));
    sweep(&server, &user, cases).await;
}

// J-15
#[tokio::test]
async fn j_15_sweep_odd_query_values_and_paths() {
    let server = TestServer::start().await;
    let (user, batch) = sweep_user(&server).await;
    let uid = user.uid();
    let many: Vec<String> = (0..101).map(|i| format!("i{i}")).collect();
    let mut cases: Vec<(SyncRequest, Want)> = Vec::new();
    let bad_reads = [
        "ids=%FF",
        "ids=a%20%0A",
        "newer=1e5",
        "newer=",
        "newer=%2B5",
        "older=NaN",
        "older=1.2.3",
        "limit=1.5",
        "limit=",
        "limit=0x10",
        "offset=%00",
        "offset=",
        "offset=bzE6LTE=",
        "offset=bzE6eA==",
        "offset=====",
        "sort=",
        "sort=NEWEST",
    ];
    for query in bad_reads {
        cases.push((SyncRequest::get(format!("storage/keep?{query}")), Want::Weave(400, &[0])));
    }
    cases.push((SyncRequest::get(format!("storage/keep?ids={}", many.join(","))), Want::Weave(400, &[0])));
    // Where the spec is silent these may be served or refused; never with a 5xx.
    for query in [
        "limit=99999999999999999999",
        "limit=%2B1",
        "offset=bzE6MTg0NDY3NDQwNzM3MDk1NTE2MTU=",
        "offset=bzE6OTIyMzM3MjAzNjg1NDc3NTgwNw==&limit=1",
        "full=%FF",
        "%FF=1",
        "ids=%ZZ",
        "newer=99999999999999999999",
        "older=0",
        "ids=,,,",
        "blabla=1&blabla=2",
        "limit=1&limit=-1",
        "full",
    ] {
        cases.push((SyncRequest::get(format!("storage/keep?{query}")), Want::No5xx));
    }
    // C-02: an empty `ids=` names no record (the reference refuses the delete).
    for query in ["ids=", "ids=,,,", "ids=r%0A", &format!("ids={}", many.join(","))] {
        cases.push((SyncRequest::delete(format!("storage/keep?{query}")), Want::Weave(400, &[0])));
    }
    for query in ["batch=", "batch=true1", "batch=%7B00000000-0000-0000-0000-000000000000%7D", "commit=true", "batch=true&commit=no"] {
        cases.push((json_raw(Method::POST, &format!("storage/keep?{query}"), b"[]"), Want::Weave(400, &[0])));
    }
    cases.push((json_raw(Method::POST, &format!("storage/keep?batch={batch}&commit=1"), b"[]"), Want::Weave(400, &[0])));
    cases.push((json_raw(Method::POST, &format!("storage/other?batch={batch}&commit=true"), b"[]"), Want::Weave(400, &[0])));
    for path in [
        format!("/1.5/{uid}/storage/keep/r/extra"),
        format!("/1.5/{uid}/storage/keep/{}", "x".repeat(65)),
        format!("/1.5/{uid}/info/nothing"),
        format!("/1.5/{uid}/storage/keep/a%0Ab"),
        format!("/1.5/0{uid}0/storage/keep"),
        "/1.5//storage/keep".to_owned(),
        format!("/1.6/{uid}/storage/keep"),
        format!("/1.5/-{uid}/storage/keep"),
    ] {
        cases.push((json_raw(Method::PUT, &path, br#"{"payload":"x"}"#), Want::Weave(404, &[0])));
    }
    sweep(&server, &user, cases).await;
}

// ---- J-17 ----------------------------------------------------------------------------------

// J-17: the harness checks every status and code itself. Through HTTP: one case per status and
// code of J-01 to J-13 on a single server; 503 has its own cases (J-14, J-16). And this file holds
// a case for each J clause.
#[tokio::test]
async fn j_17_every_status_and_code_is_checked() {
    let source = include_str!("backend_errors.rs");
    let missing: Vec<String> = (1..=16).map(|n| format!("fn j_{n:02}_")).filter(|f| !source.contains(f.as_str())).collect();
    assert!(missing.is_empty(), "J-17: no case for {missing:?}");

    let server = TestServer::with(|c| {
        c.quota_limit = Some(10);
        c.limits.max_post_records = 1;
        c.limits.max_request_bytes = 100;
    })
    .await;
    let user = server.user();
    let full = server.user();
    let t = put_json(&user, "storage/j17/a", json!({ "payload": "a" })).await.status_is(200).header_str("x-last-modified");
    put_json(&full, "storage/j17/a", json!({ "payload": "0123456789" })).await.status_is(200);
    let table: Vec<(SyncResponse, Want)> = vec![
        (get(&user, "storage/j17?limit=-1").await, Want::Weave(400, &[0])),
        (send(&user, SyncRequest::post("storage/j17").header("X-Weave-Total-Bytes", "1").json(&json!([]))).await, Want::Weave(400, &[1])),
        (send(&user, json_raw(Method::PUT, "storage/j17/a", b"{")).await, Want::Weave(400, &[6])),
        (send(&user, json_raw(Method::PUT, "storage/j17/a", b"42")).await, Want::Weave(400, &[8])),
        (get(&user, "storage/bad!name").await, Want::Weave(400, &[13])),
        (put_json(&full, "storage/j17/b", json!({ "payload": "b" })).await, Want::Weave(400, &[14])),
        (send(&user, SyncRequest::post("storage/j17").header("X-Weave-Records", "2").json(&json!([]))).await, Want::Weave(400, &[17])),
        (send(&user, SyncRequest::get("storage/j17").unsigned()).await, Want::Weave(401, &[0])),
        (get(&user, "storage/j17/missing").await, Want::Weave(404, &[0])),
        (send(&user, SyncRequest::new(Method::PATCH, "storage/j17")).await, Want::Empty(405)),
        (send(&user, SyncRequest::get("storage/j17").header("Accept", "x/yy")).await, Want::Weave(406, &[0])),
        (send(&user, SyncRequest::get("storage/j17/a").header("X-If-Unmodified-Since", ts_minus_10ms(&t))).await, Want::Empty(412)),
        (send(&user, json_raw(Method::PUT, "storage/j17/a", &padded_put_body(101))).await, Want::Weave(413, &[0, 17])),
        (send(&user, SyncRequest::put("storage/j17/a").body(b"{}".to_vec())).await, Want::Weave(415, &[0])),
        (send(&user, SyncRequest::get("storage/j17/a").header("X-If-Modified-Since", t.as_str())).await, Want::Empty(304)),
    ];
    let problems: Vec<String> = table.iter().filter_map(|(resp, want)| judge(resp, *want).err()).collect();
    assert!(problems.is_empty(), "J-17:\n{}", problems.join("\n---\n"));
    for (resp, _) in &table {
        assert!(resp.header("x-weave-timestamp").is_some(), "D-01 on errors too\n{}", resp.transcript());
    }
}
