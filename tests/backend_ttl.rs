//! SPEC area G against the reference backend: TTL and expiry (G-01 to G-09). Time moves with the
//! server's test clock only (`advance_ms`, or `set_ms` to land on an exact boundary), never by
//! sleeping; the K-invariants are checked after each scenario.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use common::invariants::{render, violations};
use common::read::{records, storage_state};
use common::ts::{ms_of, ts_text};
use common::{Check, TestServer, assert_invariants, delete, get, post_json, put_json, send};
use serde_json::{Value, json};
use syncstorage_harness::client::{SyncRequest, SyncUser};

// ---- local helpers -------------------------------------------------------------------------

/// The weak form of K-28 for one user: totals never understate the live records (K-29 lets
/// them overstate after a purge). The checker knows only the strict form.
async fn k28_weak_violations(server: &TestServer, uid: u64) -> Vec<String> {
    const K28_WEAK: &str = "SELECT uc.user_id, uc.collection_id, uc.modified, uc.count, uc.total_bytes, x.n, x.bytes
           FROM user_collections uc
          CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(sum(octet_length(b.payload)), 0) AS bytes
                                FROM bsos b
                               WHERE b.user_id = uc.user_id AND b.collection_id = uc.collection_id
                                 AND b.expiry > uc.modified) x
          WHERE uc.collection_id <> 0 AND uc.modified > TIMESTAMPTZ '0001-01-01 00:00:00+00'
            AND (uc.count < x.n OR uc.total_bytes < x.bytes)
            AND uc.user_id = $1";
    let rows = server
        .db()
        .await
        .query(&format!("SELECT row_to_json(v)::text FROM ({K28_WEAK}) v"), &[&(uid as i64)])
        .await
        .unwrap_or_else(|e| panic!("K-28 weak query: {e}"));
    rows.iter().map(|r| format!("K-28 weak: {}", r.get::<_, String>(0))).collect()
}

/// Moves the server's test clock to `ms` since the epoch; it only moves forward and keeps
/// flowing, so a boundary landed on exactly stays reached.
async fn set_clock_ms(server: &TestServer, ms: i64) {
    let resp = server.client.send(SyncRequest::post("/__test__/clock").json(&json!({ "set_ms": ms }))).await.expect("clock request");
    assert_eq!(resp.status_code(), 200, "{}", resp.transcript());
}

/// The write's T, in milliseconds.
async fn put_at(user: &SyncUser, path: &str, body: Value) -> i64 {
    ms_of(put_json(user, path, body).await.status_is(200).ts_header("x-last-modified"))
}

// ---- G-01 ----------------------------------------------------------------------------------

// G-01
#[tokio::test]
async fn g_01_a_record_lives_while_now_is_before_write_plus_ttl() {
    let server = TestServer::start().await;
    let user = server.user();
    let w = put_at(&user, "storage/g01/r", json!({ "payload": "x", "ttl": 2 })).await;
    set_clock_ms(&server, w + 1_500).await;
    get(&user, "storage/g01/r").await.status_is(200);
    set_clock_ms(&server, w + 2_000 - 300).await;
    get(&user, "storage/g01/r").await.status_is(200);
    assert_eq!(get(&user, "storage/g01").await.json_body(), json!(["r"]));
    // At W + ttl exactly the record is no longer live.
    set_clock_ms(&server, w + 2_000).await;
    get(&user, "storage/g01/r").await.weave_error(404, 0);
    assert_eq!(get(&user, "storage/g01").await.json_body(), json!([]));

    // ttl 0 is never live, not even at its own T.
    put_json(&user, "storage/g01/z", json!({ "payload": "z", "ttl": 0 })).await.status_is(200);
    get(&user, "storage/g01/z").await.weave_error(404, 0);
    assert_eq!(get(&user, "storage/g01").await.json_body(), json!([]));
    assert_invariants(&server, &[user.uid()]).await;
}

// G-01
#[tokio::test]
async fn g_01_the_largest_ttl_counts_to_the_second() {
    let server = TestServer::start().await;
    let user = server.user();
    let w = put_at(&user, "storage/g01max/r", json!({ "payload": "x", "ttl": 999_999_999 })).await;
    set_clock_ms(&server, w + 999_999_998_000).await;
    get(&user, "storage/g01max/r").await.status_is(200);
    set_clock_ms(&server, w + 999_999_999_000).await;
    get(&user, "storage/g01max/r").await.weave_error(404, 0);
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- G-02 ----------------------------------------------------------------------------------

// G-02
#[tokio::test]
async fn g_02_an_expired_record_is_absent_from_every_read() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/g02/live", json!({ "payload": "live!", "sortindex": 2 })).await.status_is(200);
    put_json(&user, "storage/g02/gone", json!({ "payload": "zzz", "sortindex": 9, "ttl": 0 })).await.status_is(200);
    post_json(&user, "storage/g02only", json!([{ "id": "e1", "payload": "eee", "ttl": 0 }])).await.status_is(200);

    get(&user, "storage/g02/gone").await.weave_error(404, 0);
    for query in ["", "?full=1", "?ids=gone,live", "?newer=0", "?sort=index", "?sort=oldest&limit=1"] {
        let resp = get(&user, &format!("storage/g02{query}")).await;
        let items = resp.status_is(200).json_body();
        let ids: Vec<&str> = items.as_array().expect("list").iter().map(|i| i.as_str().or(i["id"].as_str()).expect("id")).collect();
        assert_eq!(ids, vec!["live"], "G-02: {query}\n{}", resp.transcript());
        assert_eq!(resp.header_str("x-weave-records"), "1", "C-16\n{}", resp.transcript());
        assert!(resp.header("x-weave-next-offset").is_none(), "G-02: no page for the expired record\n{}", resp.transcript());
    }
    assert_eq!(get(&user, "storage/g02?ids=gone").await.json_body(), json!([]));
    let newlines = send(&user, SyncRequest::get("storage/g02?full=1").header("Accept", "application/newlines")).await;
    assert_eq!(newlines.status_is(200).text().lines().count(), 1, "{}", newlines.transcript());

    let counts = get(&user, "info/collection_counts").await.status_is(200).json_body();
    assert_eq!(counts, json!({ "g02": 1 }), "G-02/A-05 (reference: absent when nothing is live)");
    let usage = get(&user, "info/collection_usage").await.status_is(200).json_body();
    assert_eq!(usage, json!({ "g02": 5.0 / 1024.0 }), "G-02/A-04");
    let quota = get(&user, "info/quota").await.status_is(200).json_body();
    assert_eq!(quota[0].as_f64(), Some(5.0 / 1024.0), "G-02/A-03");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- G-03 ----------------------------------------------------------------------------------

// G-03
#[tokio::test]
async fn g_03_preconditions_see_an_expired_record_as_absent() {
    let server = TestServer::start().await;
    let user = server.user();
    let w = put_at(&user, "storage/g03/r", json!({ "payload": "x", "ttl": 1 })).await;
    // While it lives, "only if absent" is refused: the rule below can fail.
    let live = send(&user, SyncRequest::put("storage/g03/r").header("X-If-Unmodified-Since", "0").json(&json!({ "payload": "y" }))).await;
    live.status_is(412);
    server.advance_ms(1_100).await;
    let resp =
        send(&user, SyncRequest::put("storage/g03/r").header("X-If-Unmodified-Since", "0").json(&json!({ "payload": "again" }))).await;
    resp.status_is(200);
    assert_eq!(get(&user, "storage/g03/r").await.status_is(200).json_body()["payload"], "again");

    // Any value passes once the record is gone: its ts is 0.
    put_json(&user, "storage/g03/s", json!({ "payload": "x", "ttl": 1 })).await.status_is(200);
    server.advance_ms(1_100).await;
    let before = ts_text((w - 10) / 10);
    let resp =
        send(&user, SyncRequest::put("storage/g03/s").header("X-If-Unmodified-Since", before.as_str()).json(&json!({ "payload": "s" })))
            .await;
    resp.status_is(200);
    let resp = send(&user, SyncRequest::delete("storage/g03/s").header("X-If-Unmodified-Since", "0")).await;
    resp.status_is(412);
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- G-04 ----------------------------------------------------------------------------------

// G-04
#[tokio::test]
async fn g_04_deleting_an_expired_record_acts_as_for_an_absent_one() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/g04/x", json!({ "payload": "old", "sortindex": 9, "ttl": 0 })).await.status_is(200);
    let t0 = put_at(&user, "storage/g04/live", json!({ "payload": "l" })).await;
    delete(&user, "storage/g04/x").await.weave_error(404, 0);
    delete(&user, "storage/g04/never").await.weave_error(404, 0);

    for ids in ["x", "never"] {
        let resp = delete(&user, &format!("storage/g04?ids={ids}")).await;
        let body = resp.status_is(200).json_body();
        let t = resp.ts_header("x-last-modified");
        assert!(ms_of(t) > t0, "G-04: a normal write on the existing collection\n{}", resp.transcript());
        assert_eq!(body, json!({ "modified": t }), "{}", resp.transcript());
    }
    assert_eq!(get(&user, "storage/g04").await.json_body(), json!(["live"]));
    // K-13: the deletes' totals, before a later write recomputes them.
    assert_invariants(&server, &[user.uid()]).await;

    put_json(&user, "storage/g04/x", json!({ "ttl": 100 })).await.status_is(200);
    let x = get(&user, "storage/g04/x").await.status_is(200).json_body();
    assert_eq!(x["payload"], "", "G-04/G-05: nothing of the expired record survives");
    assert!(x.get("sortindex").is_none(), "{x}");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- G-05 ----------------------------------------------------------------------------------

// G-05
#[tokio::test]
async fn g_05_a_write_to_an_expired_record_creates_a_fresh_one() {
    let server = TestServer::start().await;
    let user = server.user();
    for id in ["x", "y", "p", "q"] {
        put_json(&user, &format!("storage/g05/{id}"), json!({ "payload": "old", "sortindex": 5, "ttl": 1 })).await.status_is(200);
    }
    server.advance_ms(1_100).await;

    let tx = put_at(&user, "storage/g05/x", json!({ "payload": "XYZ" })).await;
    let ty = put_at(&user, "storage/g05/y", json!({ "payload": "XYZ", "ttl": 42 })).await;
    let resp = post_json(&user, "storage/g05", json!([{ "id": "p", "ttl": 5_000 }])).await;
    let tp = ms_of(resp.status_is(200).ts_header("x-last-modified"));
    let start = send(&user, SyncRequest::post("storage/g05?batch=true").json(&json!([{ "id": "q", "sortindex": 2 }]))).await;
    let batch = start.status_is(202).json_body()["batch"].as_str().expect("batch").to_owned();
    let commit = send(&user, SyncRequest::post("storage/g05").query("batch", &batch).query("commit", "true").json(&json!([]))).await;
    let tq = ms_of(commit.status_is(200).ts_header("x-last-modified"));

    let stored = records(&user, "g05").await;
    for (id, t, payload, sortindex) in [("x", tx, "XYZ", None), ("y", ty, "XYZ", None), ("p", tp, "", None), ("q", tq, "", Some(2))] {
        let rec = &stored[id];
        assert_eq!(ms_of(rec["modified"].as_f64().expect("modified")), t, "G-05: {id} modified is T: {rec}");
        assert_eq!(rec["payload"], payload, "G-05: {id}: {rec}");
        assert_eq!(rec.get("sortindex").and_then(Value::as_i64), sortindex, "G-05: {id}: {rec}");
    }

    set_clock_ms(&server, ty + 41_500).await;
    get(&user, "storage/g05/y").await.status_is(200);
    set_clock_ms(&server, ty + 42_000).await;
    get(&user, "storage/g05/y").await.weave_error(404, 0);
    // No ttl on the new write: the old one does not carry over, a year later it is still there.
    server.advance_ms(365 * 86_400_000).await;
    assert_eq!(get(&user, "storage/g05/x").await.status_is(200).json_body()["payload"], "XYZ");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- G-06 ----------------------------------------------------------------------------------

// G-06
#[tokio::test]
async fn g_06_a_new_ttl_counts_from_its_write() {
    let server = TestServer::start().await;
    let user = server.user();
    let w = put_at(&user, "storage/g06/r", json!({ "payload": "x", "ttl": 1 })).await;
    server.advance_ms(200).await;
    let t2 = put_at(&user, "storage/g06/r", json!({ "ttl": 10 })).await;
    server.advance_ms(1_000).await;
    let rec = get(&user, "storage/g06/r").await.status_is(200).json_body();
    assert_eq!(ms_of(rec["modified"].as_f64().expect("modified")), w, "E-04: a ttl-only write keeps modified");
    set_clock_ms(&server, t2 + 10_000 - 300).await;
    get(&user, "storage/g06/r").await.status_is(200);
    set_clock_ms(&server, t2 + 10_000).await;
    get(&user, "storage/g06/r").await.weave_error(404, 0);
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- G-07 ----------------------------------------------------------------------------------

// G-07
#[tokio::test]
async fn g_07_a_collection_whose_records_all_expired_stays_listed() {
    let server = TestServer::start().await;
    let user = server.user();
    let resp =
        post_json(&user, "storage/g07", json!([{ "id": "a", "payload": "a", "ttl": 1 }, { "id": "b", "payload": "b", "ttl": 1 }])).await;
    let t = resp.status_is(200).ts_header("x-last-modified");
    server.advance_ms(1_100).await;
    assert_eq!(storage_state(&user).await, (t, json!({ "g07": t })), "G-07: still listed with its ts");
    // Where the spec is silent the collection is absent or 0; the reference leaves it out.
    let counts = get(&user, "info/collection_counts").await.status_is(200).json_body();
    assert_eq!(counts, json!({}), "G-07/A-05 (reference: absent)");
    let usage = get(&user, "info/collection_usage").await.status_is(200).json_body();
    assert_eq!(usage, json!({}), "G-07/A-04 (reference: absent)");
    let listing = get(&user, "storage/g07").await;
    assert_eq!(listing.status_is(200).json_body(), json!([]));
    assert_eq!(listing.ts_header("x-last-modified"), t);
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- G-08 ----------------------------------------------------------------------------------

// G-08
#[tokio::test]
async fn g_08_expiry_moves_no_timestamp() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/g08/a", json!({ "payload": "a", "ttl": 1 })).await.status_is(200);
    put_json(&user, "storage/other/b", json!({ "payload": "b" })).await.status_is(200);
    let snapshot = || async {
        let info = storage_state(&user).await;
        let coll = get(&user, "storage/g08").await.status_is(200).ts_header("x-last-modified");
        let counts = get(&user, "info/collection_counts").await.status_is(200).ts_header("x-last-modified");
        (info, coll, counts)
    };
    let before = snapshot().await;
    server.advance_ms(1_100).await;
    get(&user, "storage/g08/a").await.weave_error(404, 0);
    assert_eq!(snapshot().await, before, "G-08: expiry moves no ts");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- G-09 ----------------------------------------------------------------------------------

/// Every read answer a purge must leave alone: status, `X-Last-Modified` and body.
async fn read_answers(user: &SyncUser) -> BTreeMap<&'static str, (u16, Option<String>, String)> {
    let paths = [
        "info/collections",
        "info/collection_counts",
        "info/collection_usage",
        "info/quota",
        "storage/live?full=1",
        "storage/mixed?full=1",
        "storage/gone?full=1",
        "storage/pend",
        "storage/mixed/b",
        "storage/mixed/c",
        "storage/gone/d",
    ];
    let mut out = BTreeMap::new();
    for path in paths {
        let resp = get(user, path).await;
        out.insert(path, (resp.status_code(), resp.header("x-last-modified").map(str::to_owned), resp.text().into_owned()));
    }
    out
}

// G-09: where the spec is silent a purge may delete expired records and batches later, changing
// no answer and no ts. The reference has no purge job, so the test runs one as K-12 describes:
// it deletes only `bsos` and `batches` rows whose expiry has passed on the server's clock.
#[tokio::test]
async fn g_09_a_purge_changes_no_answer_and_no_timestamp() {
    let server = TestServer::with(|c| c.batch_lifetime = Duration::from_secs(5)).await;
    let user = server.user();
    put_json(&user, "storage/live/a", json!({ "payload": "a" })).await.status_is(200);
    put_json(&user, "storage/mixed/b", json!({ "payload": "bb", "ttl": 1 })).await.status_is(200);
    put_json(&user, "storage/mixed/c", json!({ "payload": "ccc" })).await.status_is(200);
    post_json(&user, "storage/gone", json!([{ "id": "d", "payload": "dddd", "ttl": 1 }])).await.status_is(200);
    let start = send(&user, SyncRequest::post("storage/pend?batch=true").json(&json!([{ "id": "s", "payload": "s" }]))).await;
    start.status_is(202);
    server.advance_ms(6_000).await;
    assert_invariants(&server, &[user.uid()]).await;
    let before = read_answers(&user).await;

    let now = UNIX_EPOCH + Duration::from_millis(server.now_ms().await as u64);
    let uid = user.uid() as i64;
    let db = server.db().await;
    let bsos = db.execute("DELETE FROM bsos WHERE user_id = $1 AND expiry <= $2", &[&uid, &now]).await.expect("purge bsos");
    let batches = db.execute("DELETE FROM batches WHERE user_id = $1 AND expiry <= $2", &[&uid, &now]).await.expect("purge batches");
    assert_eq!((bsos, batches), (2, 1), "the purge found the expired rows");

    assert_eq!(read_answers(&user).await, before, "G-09: a purge changes no answer");
    // A purge leaves totals that may overstate what is left (K-29): every invariant holds but
    // K-28, which holds only in its weak form.
    let mut found = violations(&server, &[user.uid()]).await;
    found.retain(|v| v.clause != "K-28");
    let weak = k28_weak_violations(&server, user.uid()).await;
    assert!(found.is_empty() && weak.is_empty(), "database invariants violated after the purge:\n{}\n{}", render(&found), weak.join("\n"));
}
