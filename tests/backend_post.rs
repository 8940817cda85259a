//! SPEC area E against the reference backend: POST semantics without batches (E-01 to E-11),
//! with limits set small through the server config and sizes counted in UTF-8 bytes.

mod common;

use std::collections::BTreeSet;

use common::body::{json_raw, padded_post_body, raw};
use common::read::{failed_map, id_set, records, storage_state, success_set};
use common::{Check, TestServer, assert_invariants, delete, get, post_json, put_json, send};
use reqwest::Method;
use serde_json::{Value, json};
use syncstorage_harness::client::SyncRequest;

// ---- local helpers -------------------------------------------------------------------------

fn records_body(items: &[(&str, String)]) -> Value {
    Value::Array(items.iter().map(|(id, p)| json!({ "id": id, "payload": p })).collect())
}

// ---- E-01 ----------------------------------------------------------------------------------

// E-01
#[tokio::test]
async fn e_01_post_answers_modified_success_and_failed_with_each_id_in_one_list() {
    let server = TestServer::start().await;
    let user = server.user();
    let body = json!([
        { "id": "a", "payload": "1" },
        { "id": "b", "payload": "2", "sortindex": 3 },
        { "id": "c", "payload": "3", "ttl": -1 },
        { "id": "A\nB", "payload": "x" },
        { "id": "d", "sortindex": "12" },
        { "id": "e", "payload": "5", "unexpected": true },
    ]);
    let resp = post_json(&user, "storage/e01", body).await;
    let answer = resp.status_is(200).json_body();
    let t = resp.ts_header("x-last-modified");
    assert_eq!(answer["modified"].as_f64(), Some(t), "E-01: body modified is X-Last-Modified\n{}", resp.transcript());
    let success = success_set(&answer);
    let failed: BTreeSet<String> = failed_map(&answer).into_keys().collect();
    assert!(success.is_disjoint(&failed), "E-01: an id in both lists\n{}", resp.transcript());
    let all: BTreeSet<String> = success.union(&failed).cloned().collect();
    assert_eq!(all, id_set(&["a", "b", "c", "A\nB", "d", "e"]), "E-01: every id in one list\n{}", resp.transcript());
    assert_eq!(success, id_set(&["a", "b"]), "{}", resp.transcript());

    let stored = records(&user, "e01").await;
    assert_eq!(stored.keys().cloned().collect::<BTreeSet<_>>(), success, "E-01: exactly the successes are stored");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- E-02 ----------------------------------------------------------------------------------

// E-02
#[tokio::test]
async fn e_02_success_is_stored_and_failed_records_change_nothing() {
    let server = TestServer::start().await;
    let user = server.user();
    let first = put_json(&user, "storage/e02/a", json!({ "payload": "orig", "sortindex": 1 })).await;
    let t0 = first.status_is(200).ts_header("x-last-modified");

    let body = json!([
        { "id": "a", "payload": "replaced", "ttl": -5 },
        { "id": "b", "payload": "stored ✓" },
    ]);
    let resp = post_json(&user, "storage/e02", body).await;
    let answer = resp.status_is(200).json_body();
    assert_eq!(success_set(&answer), id_set(&["b"]), "{}", resp.transcript());
    assert!(failed_map(&answer).contains_key("a"), "{}", resp.transcript());

    // A second client has its own connections: what it reads was durable when the answer came.
    let other = server.client.user(common::SECRET, user.uid());
    let a = get(&other, "storage/e02/a").await.status_is(200).json_body();
    assert_eq!(a["payload"], "orig", "E-02: a failed record changes nothing");
    assert_eq!(a["sortindex"], 1);
    assert_eq!(a["modified"].as_f64(), Some(t0), "E-02: a failed record keeps its ts");
    let b = get(&other, "storage/e02/b").await.status_is(200).json_body();
    assert_eq!(b["payload"], "stored ✓");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- E-03 ----------------------------------------------------------------------------------

// E-03
#[tokio::test]
async fn e_03_every_record_a_post_creates_or_changes_gets_its_modified() {
    let server = TestServer::start().await;
    let user = server.user();
    let items: Vec<(&str, String)> = ["r0", "r1", "r2", "r3", "r4"].iter().map(|id| (*id, format!("v1-{id}"))).collect();
    let r1 = post_json(&user, "storage/e03", records_body(&items)).await;
    let t1 = r1.status_is(200).json_body()["modified"].as_f64().expect("modified");
    for rec in records(&user, "e03").await.values() {
        assert_eq!(rec["modified"].as_f64(), Some(t1), "E-03: created at T1: {rec}");
    }

    let r2 = post_json(
        &user,
        "storage/e03",
        json!([
            { "id": "r1", "payload": "v2" },
            { "id": "r3", "sortindex": 9 },
            { "id": "r9", "payload": "new" },
        ]),
    )
    .await;
    let t2 = r2.status_is(200).json_body()["modified"].as_f64().expect("modified");
    assert!(t2 > t1);
    let stored = records(&user, "e03").await;
    for (id, want) in [("r0", t1), ("r1", t2), ("r2", t1), ("r3", t2), ("r4", t1), ("r9", t2)] {
        assert_eq!(stored[id]["modified"].as_f64(), Some(want), "E-03: {id} modified\n{stored:#?}");
    }
    assert_eq!(stored["r1"]["payload"], "v2");
    assert_eq!(stored["r3"]["payload"], "v1-r3", "a sortindex-only write keeps the payload");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- E-04 ----------------------------------------------------------------------------------

// E-04
#[tokio::test]
async fn e_04_a_ttl_only_write_changes_only_the_expiry() {
    let server = TestServer::start().await;
    let user = server.user();
    let first: Vec<Value> = (0..5).map(|i| json!({ "id": format!("{i:02}"), "payload": "x", "ttl": 100 })).collect();
    let r1 = post_json(&user, "storage/e04", Value::Array(first)).await;
    let t1 = r1.status_is(200).ts_header("x-last-modified");
    server.advance_ms(1_000).await;

    // 03 gets data; 04 only a ttl; 05 and 06 do not exist yet.
    let mut second: Vec<Value> = (3..7).map(|i| json!({ "id": format!("{i:02}"), "ttl": 1_000 })).collect();
    second[0]["payload"] = json!("xx");
    let r2 = post_json(&user, "storage/e04", Value::Array(second)).await;
    let t2 = r2.status_is(200).ts_header("x-last-modified");
    assert!(t2 > t1);

    // Past the first ttl (100 s after T1), inside the second (1000 s after T2).
    server.advance_ms(100_500).await;
    let stored = records(&user, "e04").await;
    assert_eq!(
        stored.keys().cloned().collect::<Vec<_>>(),
        vec!["03", "04", "05", "06"],
        "E-04/G-06: 00-02 expired, 03-06 alive\n{stored:#?}"
    );
    assert_eq!(stored["03"]["modified"].as_f64(), Some(t2), "payload written: T2");
    assert_eq!(stored["03"]["payload"], "xx");
    assert_eq!(stored["04"]["modified"].as_f64(), Some(t1), "E-04: ttl-only keeps its modified");
    assert_eq!(stored["04"]["payload"], "x");
    assert_eq!(stored["05"]["modified"].as_f64(), Some(t2), "created: T2");
    assert_eq!(stored["06"]["payload"], "", "B-12 default payload");

    // PUT alike: a ttl-only PUT keeps modified, while an explicit null sortindex is a change.
    let r3 = put_json(&user, "storage/e04/04", json!({ "ttl": 5_000 })).await;
    let t3 = r3.status_is(200).ts_header("x-last-modified");
    let rec = get(&user, "storage/e04/04").await.status_is(200).json_body();
    assert_eq!(rec["modified"].as_f64(), Some(t1), "E-04: ttl-only PUT keeps modified");
    assert!(t3 > t2);
    let r4 = put_json(&user, "storage/e04/04", json!({ "sortindex": null })).await;
    let t4 = r4.status_is(200).ts_header("x-last-modified");
    let rec = get(&user, "storage/e04/04").await.status_is(200).json_body();
    assert_eq!(rec["modified"].as_f64(), Some(t4), "E-04: `null` counts as supplying the field");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- E-05 ----------------------------------------------------------------------------------

// E-05
#[tokio::test]
async fn e_05_valid_records_beyond_max_post_records_fail_with_retry_bso() {
    let server = TestServer::with(|c| c.limits.max_post_records = 3).await;
    let user = server.user();
    let config = get(&user, "info/configuration").await.status_is(200).json_body();
    assert_eq!(config["max_post_records"], 3, "A-06: the limit is published");

    // At the limit: all pass.
    let at: Vec<(&str, String)> = ["a0", "a1", "a2"].iter().map(|id| (*id, "p".to_owned())).collect();
    let resp = post_json(&user, "storage/e05", records_body(&at)).await;
    let body = resp.status_is(200).json_body();
    assert_eq!(success_set(&body), id_set(&["a0", "a1", "a2"]), "{}", resp.transcript());

    // Limit + 5: the last five fail.
    let ids = ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"];
    let over: Vec<(&str, String)> = ids.iter().map(|id| (*id, "p".to_owned())).collect();
    let resp = post_json(&user, "storage/e05", records_body(&over)).await;
    let body = resp.status_is(200).json_body();
    assert_eq!(success_set(&body), id_set(&ids[..3]), "{}", resp.transcript());
    let failed = failed_map(&body);
    for id in &ids[3..] {
        assert_eq!(failed.get(*id).map(String::as_str), Some("retry bso"), "E-05: {id}\n{}", resp.transcript());
    }

    // Invalid records are not counted against the limit.
    let mixed = json!([
        { "id": "c0", "payload": "p", "ttl": -1 },
        { "id": "c1", "payload": "p" },
        { "id": "c2", "payload": "p" },
        { "id": "c3", "payload": "p" },
        { "id": "c4", "payload": "p" },
    ]);
    let resp = post_json(&user, "storage/e05", mixed).await;
    let body = resp.status_is(200).json_body();
    assert_eq!(success_set(&body), id_set(&["c1", "c2", "c3"]), "{}", resp.transcript());
    let failed = failed_map(&body);
    assert_ne!(failed.get("c0").map(String::as_str), Some("retry bso"), "an invalid record fails for itself");
    assert_eq!(failed.get("c4").map(String::as_str), Some("retry bso"), "{}", resp.transcript());

    let stored: BTreeSet<String> = records(&user, "e05").await.into_keys().collect();
    assert_eq!(stored, id_set(&["a0", "a1", "a2", "b0", "b1", "b2", "c1", "c2", "c3"]));
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- E-06 ----------------------------------------------------------------------------------

// E-06
#[tokio::test]
async fn e_06_post_bytes_are_summed_in_request_order() {
    let server = TestServer::with(|c| c.limits.max_post_bytes = 10).await;
    let user = server.user();

    // Exactly at the limit, with two-byte characters: 5 + 4 + 1 = 10 bytes (8 characters).
    let resp = post_json(
        &user,
        "storage/e06",
        json!([
            { "id": "a", "payload": "12345" },
            { "id": "b", "payload": "éé" },
            { "id": "c", "payload": "x" },
        ]),
    )
    .await;
    assert_eq!(success_set(&resp.status_is(200).json_body()), id_set(&["a", "b", "c"]), "{}", resp.transcript());

    // The limit plus one byte: the record that would pass it fails and adds nothing, so later
    // records face the same sum.
    let resp = post_json(
        &user,
        "storage/e06",
        json!([
            { "id": "d", "payload": "12345" },
            { "id": "e", "payload": "ééé" },
            { "id": "f", "payload": "12345" },
            { "id": "g" },
        ]),
    )
    .await;
    let body = resp.status_is(200).json_body();
    assert_eq!(success_set(&body), id_set(&["d", "f", "g"]), "{}", resp.transcript());
    assert_eq!(failed_map(&body).get("e").map(String::as_str), Some("retry bytes"), "{}", resp.transcript());

    // Bytes, not characters: 6 characters but 11 bytes.
    let resp = post_json(&user, "storage/e06", json!([{ "id": "h", "payload": "éééééa" }])).await;
    let body = resp.status_is(200).json_body();
    assert_eq!(failed_map(&body).get("h").map(String::as_str), Some("retry bytes"), "{}", resp.transcript());
    let resp = post_json(&user, "storage/e06", json!([{ "id": "i", "payload": "ééééé" }])).await;
    assert_eq!(success_set(&resp.status_is(200).json_body()), id_set(&["i"]), "{}", resp.transcript());

    let stored: BTreeSet<String> = records(&user, "e06").await.into_keys().collect();
    assert_eq!(stored, id_set(&["a", "b", "c", "d", "f", "g", "i"]));
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- E-07 ----------------------------------------------------------------------------------

// E-07
#[tokio::test]
async fn e_07_an_oversized_record_fails_and_adds_nothing_to_the_post_sum() {
    let server = TestServer::with(|c| {
        c.limits.max_record_payload_bytes = 8;
        c.limits.max_post_bytes = 10;
    })
    .await;
    let user = server.user();
    let resp = post_json(
        &user,
        "storage/e07",
        json!([
            { "id": "a", "payload": "12345" },
            { "id": "big", "payload": "123456789" },
            { "id": "c", "payload": "12345" },
        ]),
    )
    .await;
    let body = resp.status_is(200).json_body();
    assert_eq!(failed_map(&body).get("big").map(String::as_str), Some("retry bytes"), "{}", resp.transcript());
    assert_eq!(success_set(&body), id_set(&["a", "c"]), "E-07: big adds nothing to E-06\n{}", resp.transcript());

    // At the record limit in bytes (4 characters, 8 bytes), and one byte past it (5 characters).
    let resp = post_json(
        &user,
        "storage/e07",
        json!([
            { "id": "at", "payload": "éééé" },
            { "id": "past", "payload": "ééééa" },
        ]),
    )
    .await;
    let body = resp.status_is(200).json_body();
    assert_eq!(success_set(&body), id_set(&["at"]), "{}", resp.transcript());
    assert_eq!(failed_map(&body).get("past").map(String::as_str), Some("retry bytes"), "{}", resp.transcript());

    let stored: BTreeSet<String> = records(&user, "e07").await.into_keys().collect();
    assert_eq!(stored, id_set(&["a", "c", "at"]));
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- E-08 ----------------------------------------------------------------------------------

// E-08
#[tokio::test]
async fn e_08_a_body_over_max_request_bytes_is_refused_declared_or_chunked() {
    let server = TestServer::with(|c| c.limits.max_request_bytes = 1024).await;
    let user = server.user();

    // The byte count decides: these bodies are far fewer characters than bytes.
    let at = padded_post_body(1024);
    assert!(String::from_utf8(at.clone()).expect("utf-8").chars().count() < 600);
    let resp = send(&user, SyncRequest::post("storage/e08a").header("Content-Type", "application/json").chunked(at)).await;
    assert_eq!(success_set(&resp.status_is(200).json_body()), id_set(&["big"]), "{}", resp.transcript());

    let over = padded_post_body(1025);
    let resp = send(&user, SyncRequest::post("storage/e08b").header("Content-Type", "application/json").chunked(over.clone())).await;
    assert!(matches!(resp.status_code(), 413 | 400), "E-08: chunked over the limit\n{}", resp.transcript());
    let code = resp.text().trim().to_owned();
    assert!(code.parse::<u32>().is_ok(), "J-01: bare integer body\n{}", resp.transcript());

    let resp = send(&user, SyncRequest::post("storage/e08c").header("Content-Type", "application/json").body(over)).await;
    resp.status_is(413);
    assert!(resp.text().trim().parse::<u32>().is_ok(), "J-01\n{}", resp.transcript());

    let (_, colls) = storage_state(&user).await;
    assert_eq!(colls, json!({ "e08a": colls["e08a"] }), "E-08: nothing written by refused bodies");
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- E-09 ----------------------------------------------------------------------------------

// E-09
#[tokio::test]
async fn e_09_a_write_that_stores_nothing_creates_no_collection() {
    let server = TestServer::start().await;
    let user = server.user();
    let base = put_json(&user, "storage/base/r", json!({ "payload": "x" })).await;
    let s = base.status_is(200).ts_header("x-last-modified");
    // A collection holding only an open batch is not an existing one either.
    let open = send(&user, SyncRequest::post("storage/pending?batch=true").json(&json!([{ "id": "p", "payload": "x" }]))).await;
    open.status_is(202);

    let resp = post_json(&user, "storage/new1", json!([])).await;
    resp.status_is(200);
    let resp = post_json(&user, "storage/new2", json!([{ "id": "x", "ttl": -1 }])).await;
    assert!(failed_map(&resp.status_is(200).json_body()).contains_key("x"), "{}", resp.transcript());
    delete(&user, "storage/new3?ids=x").await.status_is(200);
    post_json(&user, "storage/pending", json!([])).await.status_is(200);

    let (ts, colls) = storage_state(&user).await;
    assert_eq!(ts, s, "E-09: the storage ts is unchanged");
    assert_eq!(colls, json!({ "base": s }), "E-09: no collection created");
    for coll in ["new1", "new2", "new3", "pending"] {
        let resp = get(&user, &format!("storage/{coll}")).await;
        assert_eq!(resp.status_is(200).json_body(), json!([]));
        assert_eq!(resp.header_str("x-last-modified"), "0.00", "{}", resp.transcript());
    }
    // K-03, K-08: no real row appeared (the batch's placeholder is allowed).
    let db = server.db().await;
    let rows = db
        .query(
            "SELECT c.name FROM user_collections uc JOIN collections c USING (collection_id)
              WHERE uc.user_id = $1 AND uc.modified > TIMESTAMPTZ '0001-01-01 00:00:00+00'",
            &[&(user.uid() as i64)],
        )
        .await
        .expect("query");
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(names, vec!["base"]);

    // On an existing collection an empty POST is a normal write.
    let resp = post_json(&user, "storage/base", json!([])).await;
    let t = resp.status_is(200).ts_header("x-last-modified");
    assert!(t > s, "E-09: a write on an existing collection gets a new T\n{}", resp.transcript());
    let (ts, colls) = storage_state(&user).await;
    assert_eq!(ts, t);
    assert_eq!(colls["base"].as_f64(), Some(t));
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- E-10 ----------------------------------------------------------------------------------

// E-10
#[tokio::test]
async fn e_10_whole_request_errors_store_nothing() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/keep/r", json!({ "payload": "orig" })).await.status_is(200);
    let before = storage_state(&user).await;
    let good = r#"{"id":"new","payload":"x"}"#;
    let bad_crypto = r#"{"id":"keys","payload":"{\"IV\":  \"AAAAAAAAAAAAAAAAAAAAAA==\", \"hmac\": \"x\"}"}"#;
    let cases: Vec<(&str, &str, String, u32)> = vec![
        ("keep", "application/json", good.to_owned(), 8),
        ("keep", "application/json", format!(r#"[{good},"BAD"]"#), 8),
        ("keep", "application/json", format!("[{good},42]"), 8),
        ("keep", "application/json", format!("[{good},null]"), 8),
        ("keep", "application/json", format!(r#"[{good},{{"payload":"no id"}}]"#), 8),
        ("keep", "application/json", format!(r#"[{good},{{"id":5}}]"#), 8),
        ("keep", "application/json", format!(r#"[{good},{{"id":null}}]"#), 8),
        ("keep", "application/json", format!(r#"[{good},{{"id":["a"]}}]"#), 8),
        ("keep", "application/json", format!(r#"[{good},{{"id":"new","payload":"y"}}]"#), 8),
        ("crypto", "application/json", format!("[{good},{bad_crypto}]"), 8),
        ("keep", "application/json", format!("[{good}"), 6),
        ("keep", "application/json", format!("[{good}]]"), 6),
        ("keep", "application/newlines", format!("{good}\n{{"), 6),
        ("keep", "application/newlines", format!("{good}\n42"), 8),
    ];
    for (coll, ct, body, code) in &cases {
        let resp = send(&user, raw(Method::POST, &format!("storage/{coll}"), Some(ct), body.as_bytes())).await;
        resp.weave_error(400, *code);
        assert_eq!(storage_state(&user).await, before, "E-10: nothing stored after {body}");
    }
    let kept = records(&user, "keep").await;
    assert_eq!(kept.keys().collect::<Vec<_>>(), vec!["r"]);
    assert_eq!(kept["r"]["payload"], "orig");

    // B-14: the same payload is fine outside `crypto`.
    let resp = send(&user, json_raw(Method::POST, "storage/keep", format!("[{bad_crypto}]").as_bytes())).await;
    assert_eq!(success_set(&resp.status_is(200).json_body()), id_set(&["keys"]), "{}", resp.transcript());
    assert_invariants(&server, &[user.uid()]).await;
}

// ---- E-11 ----------------------------------------------------------------------------------

fn payload_corpus() -> Vec<String> {
    vec![
        String::new(),
        "plain".into(),
        "hello\nworld\r\n".into(),
        "tab\tand controls \u{1}\u{8}\u{c}\u{1f}\u{7f}".into(),
        "quote \" backslash \\ slash / ".into(),
        "é".into(),
        "日本語のテキスト".into(),
        "non-BMP 😀🎉𝄞".into(),
        "line separators \u{2028}\u{2029} and \u{85}".into(),
        "\u{feff}byte order mark".into(),
        r#"{"ciphertext":"abc==","IV":"xyz==","hmac":"00ff"}"#.into(),
        "<script>alert(1)</script>".into(),
        "%00 is not a nul".into(),
        "a".repeat(1000),
        "é".repeat(600),
        "\u{fffd}\u{fffe}\u{10ffff}".into(),
    ]
}

// E-11
#[tokio::test]
async fn e_11_any_json_string_round_trips_by_put_post_and_commit() {
    let server = TestServer::start().await;
    let user = server.user();
    let corpus = payload_corpus();

    for (i, p) in corpus.iter().enumerate() {
        put_json(&user, &format!("storage/e11put/p{i:02}"), json!({ "payload": p })).await.status_is(200);
        let got = get(&user, &format!("storage/e11put/p{i:02}")).await.status_is(200).json_body();
        assert_eq!(got["payload"].as_str(), Some(p.as_str()), "E-11: PUT round trip of {p:?}");
    }

    let body: Vec<Value> = corpus.iter().enumerate().map(|(i, p)| json!({ "id": format!("p{i:02}"), "payload": p })).collect();
    let resp = post_json(&user, "storage/e11post", Value::Array(body.clone())).await;
    assert_eq!(resp.status_is(200).json_body()["failed"], json!({}), "{}", resp.transcript());
    let stored = records(&user, "e11post").await;
    for (i, p) in corpus.iter().enumerate() {
        assert_eq!(stored[&format!("p{i:02}")]["payload"].as_str(), Some(p.as_str()), "E-11: POST round trip");
    }

    let (staged, committed) = body.split_at(body.len() / 2);
    let start = send(&user, SyncRequest::post("storage/e11batch?batch=true").json(&Value::Array(staged.to_vec()))).await;
    let batch = start.status_is(202).json_body()["batch"].as_str().expect("batch").to_owned();
    let commit = send(
        &user,
        SyncRequest::post("storage/e11batch").query("batch", &batch).query("commit", "true").json(&Value::Array(committed.to_vec())),
    )
    .await;
    commit.status_is(200);
    let stored = records(&user, "e11batch").await;
    for (i, p) in corpus.iter().enumerate() {
        assert_eq!(stored[&format!("p{i:02}")]["payload"].as_str(), Some(p.as_str()), "E-11: commit round trip");
    }

    // Escaped forms, a surrogate pair included, decode to the characters they name.
    let raw = br#"[{"id":"esc","payload":"\u00e9\ud83d\ude00\u0001\n\"\/"}]"#;
    send(&user, json_raw(Method::POST, "storage/e11esc", raw)).await.status_is(200);
    let got = get(&user, "storage/e11esc/esc").await.status_is(200).json_body();
    assert_eq!(got["payload"], "é😀\u{1}\n\"/");

    // A-04: usage counts the UTF-8 bytes of what was stored.
    let expected: usize = corpus.iter().map(String::len).sum();
    let usage = get(&user, "info/collection_usage").await.status_is(200).json_body();
    let kb = usage["e11post"].as_f64().expect("usage");
    assert!((kb * 1024.0 - expected as f64).abs() < 1e-6, "bytes {expected} vs {kb} KB");
    assert_invariants(&server, &[user.uid()]).await;
}

// E-11: U+0000 cannot live in a PostgreSQL text column; where the spec is silent the reference
// refuses such a payload per record (PUT 400/8, POST `failed`), never with a 5xx.
#[tokio::test]
async fn e_11_a_nul_payload_is_refused_per_record() {
    let server = TestServer::start().await;
    let user = server.user();
    let resp = send(&user, json_raw(Method::PUT, "storage/e11nul/a", br#"{"payload":"a\u0000b"}"#)).await;
    resp.weave_error(400, 8);
    get(&user, "storage/e11nul/a").await.weave_error(404, 0);

    let raw = br#"[{"id":"ok","payload":"fine"},{"id":"nul","payload":"\u0000"}]"#;
    let resp = send(&user, json_raw(Method::POST, "storage/e11nul", raw)).await;
    let body = resp.status_is(200).json_body();
    assert_eq!(success_set(&body), id_set(&["ok"]), "{}", resp.transcript());
    assert!(failed_map(&body).contains_key("nul"), "{}", resp.transcript());

    let raw = br#"[{"id":"ok2","payload":"fine"},{"id":"nul2","payload":"x\u0000"}]"#;
    let start = send(&user, json_raw(Method::POST, "storage/e11nul?batch=true", raw)).await;
    let started = start.status_is(202).json_body();
    assert!(failed_map(&started).contains_key("nul2"), "{}", start.transcript());
    let batch = started["batch"].as_str().expect("batch").to_owned();
    let commit = send(&user, SyncRequest::post("storage/e11nul").query("batch", &batch).query("commit", "true").json(&json!([]))).await;
    commit.status_is(200);
    let stored: BTreeSet<String> = records(&user, "e11nul").await.into_keys().collect();
    assert_eq!(stored, id_set(&["ok", "ok2"]));
    assert_invariants(&server, &[user.uid()]).await;
}

// E-11: `"\ud800"` is a JSON string by the grammar (RFC 8259 section 7) but names no character,
// so the server cannot store it: the SPEC's silent-case rule refuses it per record (PUT 400/8,
// POST `failed` while the rest of the POST succeeds), never by a 5xx.
#[tokio::test]
async fn e_11_a_lone_surrogate_payload_is_refused_per_record() {
    let server = TestServer::start().await;
    let user = server.user();
    // Both answers are judged before failing, so a report names every deviation.
    let mut problems = Vec::new();
    let put = send(&user, json_raw(Method::PUT, "storage/e11sur/a", br#"{"payload":"\ud800"}"#)).await;
    if put.status_code() != 400 || put.text().trim() != "8" {
        problems.push(format!("PUT: expected 400/8\n{}", put.transcript()));
    }
    let raw = br#"[{"id":"ok","payload":"fine"},{"id":"lone","payload":"x\udc00y"}]"#;
    let post = send(&user, json_raw(Method::POST, "storage/e11sur", raw)).await;
    let per_record =
        post.status_code() == 200 && post.json().is_ok_and(|b| success_set(&b) == id_set(&["ok"]) && failed_map(&b).contains_key("lone"));
    if !per_record {
        problems.push(format!("POST: expected 200 with `ok` stored and `lone` failed\n{}", post.transcript()));
    }
    assert!(problems.is_empty(), "E-11:\n{}", problems.join("\n---\n"));
    get(&user, "storage/e11sur/a").await.weave_error(404, 0);
    assert_invariants(&server, &[user.uid()]).await;
}
