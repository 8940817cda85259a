//! SPEC area C (query parameters of collection reads and deletes) against the reference backend,
//! over HTTP only: filters at, just below and just above a ts, paging by opaque tokens, and bad
//! values refused with 400/0.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use common::read::strings;
use common::ts::{cs_json, put_ok, ts_text};
use common::{Check, TestServer, delete, get, post_json, put_json, send};
use serde_json::{Value, json};
use syncstorage_harness::client::{SyncRequest, SyncResponse, SyncUser};

// ---- local helpers -------------------------------------------------------------------------

async fn post_ok(user: &SyncUser, path: &str, body: Value) -> i64 {
    let resp = post_json(user, path, body).await;
    let body = resp.status_is(200).json_body();
    assert_eq!(body["failed"], json!({}), "{}", resp.transcript());
    cs_json(&body["modified"])
}

/// The ids of a listing response, in the order given.
fn listed(resp: &SyncResponse) -> Vec<String> {
    resp.status_is(200)
        .json_body()
        .as_array()
        .unwrap_or_else(|| panic!("listing is not a list\n{}", resp.transcript()))
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other["id"].as_str().unwrap_or_else(|| panic!("item without id: {other}")).to_owned(),
        })
        .collect()
}

async fn list(user: &SyncUser, path: &str) -> Vec<String> {
    listed(&get(user, path).await)
}

async fn list_sorted(user: &SyncUser, path: &str) -> Vec<String> {
    let mut ids = list(user, path).await;
    ids.sort();
    ids
}

async fn storage_state(user: &SyncUser) -> (Value, String) {
    let resp = get(user, "info/collections").await;
    (resp.status_is(200).json_body(), resp.header_str("x-last-modified"))
}

/// Three records `a`, `b`, `c` written at least 50 ms apart, so that a ts 10 ms above or below
/// one of them lies strictly between neighbours; returns their ts.
async fn three_records(server: &TestServer, user: &SyncUser) -> (i64, i64, i64) {
    let t1 = put_ok(user, "storage/c/a", json!({"payload": "1"})).await;
    server.advance_ms(50).await;
    let t2 = put_ok(user, "storage/c/b", json!({"payload": "2"})).await;
    server.advance_ms(50).await;
    let t3 = put_ok(user, "storage/c/c", json!({"payload": "3"})).await;
    assert!(t1 + 1 < t2 - 1 && t2 + 1 < t3 - 1);
    (t1, t2, t3)
}

const BAD_TS: [&str; 9] = ["abc", "-1", "-0.01", "1e3", "", "1.", ".5", "1.2.3", "0x10"];

/// Raw, already percent-encoded query values no parameter accepts: NUL, bytes that are not
/// UTF-8, a multibyte letter, and a digit followed by NUL.
const ODD_RAW: [&str; 5] = ["%00", "%FF", "%C3%A9", "1%00", "%EF%BF%BD"];

/// Sends `storage/c?{name}={value}` for each odd raw value: 400/0 every time.
async fn assert_odd_values_refused(user: &SyncUser, name: &str) {
    for value in ODD_RAW {
        get(user, &format!("storage/c?{name}={value}")).await.weave_error(400, 0);
    }
}

// ---- C-01 ----------------------------------------------------------------------------------

// C-01
#[tokio::test]
async fn c_01_ids_take_up_to_100_entries_on_get() {
    let server = TestServer::start().await;
    let user = server.user();
    post_ok(&user, "storage/c", json!([{"id": "a", "payload": "1"}, {"id": "b", "payload": "2"}, {"id": "c", "payload": "3"}])).await;
    let mut hundred: Vec<String> = (0..98).map(|i| format!("u{i}")).collect();
    hundred.extend(["a".to_owned(), "b".to_owned()]);
    assert_eq!(list_sorted(&user, &format!("storage/c?ids={}", hundred.join(","))).await, strings(&["a", "b"]));
    // Empty entries are ignored, so they do not count towards the limit.
    assert_eq!(list_sorted(&user, &format!("storage/c?ids=,{},,", hundred.join(",,"))).await, strings(&["a", "b"]));
    let mut over = hundred.clone();
    over.push("c".to_owned());
    get(&user, &format!("storage/c?ids={}", over.join(","))).await.weave_error(400, 0);
    let unknown: Vec<String> = (0..100).map(|i| format!("nope{i}")).collect();
    assert_eq!(list(&user, &format!("storage/c?ids={}", unknown.join(","))).await, Vec::<String>::new());
    // 100 ids of the maximum length: a long query, still fine.
    let longest: Vec<String> = (0..100).map(|i| format!("{i:0>64}")).collect();
    assert_eq!(list(&user, &format!("storage/c?ids={}", longest.join(","))).await, Vec::<String>::new());
    // Percent-encoded commas separate ids too.
    assert_eq!(list_sorted(&user, "storage/c?ids=a%2Cc").await, strings(&["a", "c"]));
    let resp = send(&user, SyncRequest::get("storage/c").query("ids", "b,c")).await;
    let mut got = listed(&resp);
    got.sort();
    assert_eq!(got, strings(&["b", "c"]));
}

// C-01
#[tokio::test]
async fn c_01_ids_take_up_to_100_entries_on_delete() {
    let server = TestServer::start().await;
    let user = server.user();
    post_ok(&user, "storage/c", json!([{"id": "a", "payload": "1"}, {"id": "b", "payload": "2"}, {"id": "c", "payload": "3"}])).await;
    let before = storage_state(&user).await;
    let mut over: Vec<String> = (0..98).map(|i| format!("u{i}")).collect();
    over.extend(["a".to_owned(), "b".to_owned(), "c".to_owned()]);
    delete(&user, &format!("storage/c?ids={}", over.join(","))).await.weave_error(400, 0);
    assert_eq!(storage_state(&user).await, before);
    assert_eq!(list_sorted(&user, "storage/c").await, strings(&["a", "b", "c"]));

    let hundred = &over[1..];
    delete(&user, &format!("storage/c?ids={}", hundred.join(","))).await.status_is(200);
    assert_eq!(list(&user, "storage/c").await, Vec::<String>::new());
    // Percent-encoded separators on a delete.
    post_ok(&user, "storage/c", json!([{"id": "x", "payload": "1"}, {"id": "y", "payload": "2"}, {"id": "z", "payload": "3"}])).await;
    delete(&user, "storage/c?ids=x%2Cz").await.status_is(200);
    assert_eq!(list(&user, "storage/c").await, strings(&["y"]));
}

// ---- C-02 ----------------------------------------------------------------------------------

// C-02
#[tokio::test]
async fn c_02_empty_ids_names_no_record() {
    let server = TestServer::start().await;
    let user = server.user();
    post_ok(&user, "storage/c", json!([{"id": "a", "payload": "1"}, {"id": "b", "payload": "2"}])).await;
    let before = storage_state(&user).await;
    // Where the spec is silent the reference refuses a DELETE naming no record with 400/0.
    for path in ["storage/c?ids=", "storage/c?ids=,,"] {
        delete(&user, path).await.weave_error(400, 0);
    }
    assert_eq!(storage_state(&user).await, before);
    assert_eq!(list_sorted(&user, "storage/c").await, strings(&["a", "b"]));
    // On GET the reference treats it as an empty filter: no record.
    assert_eq!(list(&user, "storage/c?ids=").await, Vec::<String>::new());
}

// ---- C-03 ----------------------------------------------------------------------------------

// C-03
#[tokio::test]
async fn c_03_newer_is_strict_and_validated() {
    let server = TestServer::start().await;
    let user = server.user();
    let (t1, t2, t3) = three_records(&server, &user).await;
    let at = |t: i64| format!("storage/c?newer={}", ts_text(t));
    assert_eq!(list_sorted(&user, &at(t1 - 1)).await, strings(&["a", "b", "c"]));
    assert_eq!(list_sorted(&user, &at(t1)).await, strings(&["b", "c"]));
    assert_eq!(list_sorted(&user, &at(t1 + 1)).await, strings(&["b", "c"]));
    assert_eq!(list_sorted(&user, &at(t2)).await, strings(&["c"]));
    assert_eq!(list_sorted(&user, &at(t3)).await, Vec::<String>::new());
    assert_eq!(list_sorted(&user, "storage/c?newer=0").await, strings(&["a", "b", "c"]));
    // An integer is a decimal too.
    assert_eq!(list_sorted(&user, &format!("storage/c?newer={}", t3 / 100 + 1)).await, Vec::<String>::new());
    for bad in BAD_TS {
        let resp = send(&user, SyncRequest::get("storage/c").query("newer", bad)).await;
        resp.weave_error(400, 0);
    }
    assert_odd_values_refused(&user, "newer").await;
}

// ---- C-04 ----------------------------------------------------------------------------------

// C-04
#[tokio::test]
async fn c_04_older_is_strict_and_validated() {
    let server = TestServer::start().await;
    let user = server.user();
    let (t1, t2, t3) = three_records(&server, &user).await;
    let at = |t: i64| format!("storage/c?older={}", ts_text(t));
    assert_eq!(list_sorted(&user, &at(t1)).await, Vec::<String>::new());
    assert_eq!(list_sorted(&user, &at(t1 + 1)).await, strings(&["a"]));
    assert_eq!(list_sorted(&user, &at(t2 - 1)).await, strings(&["a"]));
    assert_eq!(list_sorted(&user, &at(t2)).await, strings(&["a"]));
    assert_eq!(list_sorted(&user, &at(t2 + 1)).await, strings(&["a", "b"]));
    assert_eq!(list_sorted(&user, &at(t3 + 1)).await, strings(&["a", "b", "c"]));
    assert_eq!(list_sorted(&user, "storage/c?older=0").await, Vec::<String>::new());
    for bad in BAD_TS {
        let resp = send(&user, SyncRequest::get("storage/c").query("older", bad)).await;
        resp.weave_error(400, 0);
    }
    assert_odd_values_refused(&user, "older").await;
}

// ---- C-05 ----------------------------------------------------------------------------------

// C-05
#[tokio::test]
async fn c_05_newer_and_older_combine() {
    let server = TestServer::start().await;
    let user = server.user();
    let (t1, t2, t3) = three_records(&server, &user).await;
    let both = |newer: i64, older: i64| format!("storage/c?older={}&newer={}", ts_text(older), ts_text(newer));
    assert_eq!(list_sorted(&user, &both(t1, t2 + 1)).await, strings(&["b"]));
    assert_eq!(list_sorted(&user, &both(t1, t3)).await, strings(&["b"]));
    assert_eq!(list_sorted(&user, &both(t1 - 1, t3 + 1)).await, strings(&["a", "b", "c"]));
    assert_eq!(list_sorted(&user, &both(t2, t2)).await, Vec::<String>::new());
    assert_eq!(list_sorted(&user, &both(t3, t1)).await, Vec::<String>::new());
}

// ---- C-06 ----------------------------------------------------------------------------------

// C-06
#[tokio::test]
async fn c_06_full_with_any_value_returns_records() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "α", "sortindex": 1})).await;
    for path in ["storage/c?full=1", "storage/c?full=0", "storage/c?full=", "storage/c?full", "storage/c?full=false"] {
        let resp = get(&user, path).await;
        let body = resp.status_is(200).json_body();
        assert_eq!(body[0]["id"], json!("a"), "{}", resp.transcript());
        assert_eq!(body[0]["payload"], json!("α"), "{}", resp.transcript());
        assert!(body[0]["modified"].is_number(), "{}", resp.transcript());
    }
    let resp = get(&user, "storage/c").await;
    assert_eq!(resp.status_is(200).json_body(), json!(["a"]));
}

// ---- C-07 ----------------------------------------------------------------------------------

// C-07
#[tokio::test]
async fn c_07_limit_is_a_positive_integer() {
    let server = TestServer::start().await;
    let user = server.user();
    post_ok(&user, "storage/c", Value::Array((0..5).map(|i| json!({"id": format!("r{i}"), "payload": "x"})).collect())).await;
    let resp = get(&user, "storage/c?limit=2").await;
    assert_eq!(listed(&resp).len(), 2);
    assert!(resp.header("x-weave-next-offset").is_some(), "{}", resp.transcript());
    assert_eq!(list(&user, "storage/c?limit=1").await.len(), 1);
    // Where the spec is silent on 0, the reference refuses it.
    for bad in ["-1", "abc", "0", "1.5", "", "2e1", "0x2"] {
        send(&user, SyncRequest::get("storage/c").query("limit", bad)).await.weave_error(400, 0);
    }
    assert_odd_values_refused(&user, "limit").await;
}

// ---- C-08 ----------------------------------------------------------------------------------

// C-08
#[tokio::test]
async fn c_08_without_limit_every_match_is_returned() {
    let server = TestServer::with(|c| c.limits.max_total_records = 5).await;
    let user = server.user();
    let max_total = get(&user, "info/configuration").await.json_body()["max_total_records"].as_u64().expect("limit") as usize;
    let n = max_total + 3;
    post_ok(&user, "storage/c", Value::Array((0..n).map(|i| json!({"id": format!("r{i:02}"), "payload": "x"})).collect())).await;
    let resp = get(&user, "storage/c").await;
    let mut got = listed(&resp);
    // The reference returns all; follow a next offset anyway, as the SPEC allows a cap.
    let mut next = resp.header("x-weave-next-offset").map(str::to_owned);
    while let Some(token) = next {
        let page = get(&user, &format!("storage/c?offset={token}")).await;
        got.extend(listed(&page));
        next = page.header("x-weave-next-offset").map(str::to_owned);
    }
    got.sort();
    let expected: Vec<String> = (0..n).map(|i| format!("r{i:02}")).collect();
    assert_eq!(got, expected);
    assert!(resp.header("x-weave-next-offset").is_none(), "the reference sends every match at once");
}

// ---- C-09 ----------------------------------------------------------------------------------

// C-09
#[tokio::test]
async fn c_09_sort_orders_by_modified_or_sortindex() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/00", json!({"payload": "x", "sortindex": -1})).await;
    server.advance_ms(10).await;
    put_ok(&user, "storage/c/01", json!({"payload": "x", "sortindex": 34})).await;
    server.advance_ms(10).await;
    put_ok(&user, "storage/c/02", json!({"payload": "x", "sortindex": 12})).await;
    assert_eq!(list(&user, "storage/c?sort=index").await, strings(&["01", "02", "00"]));
    assert_eq!(list(&user, "storage/c?sort=newest").await, strings(&["02", "01", "00"]));
    assert_eq!(list(&user, "storage/c?sort=oldest").await, strings(&["00", "01", "02"]));
    assert_eq!(list(&user, "storage/c?sort=index&full=1").await, strings(&["01", "02", "00"]));
    // Where the spec is silent: other values give 400/0; no sort is still deterministic.
    for bad in ["bogus", "", "NEWEST", "index ", "sortindex"] {
        send(&user, SyncRequest::get("storage/c").query("sort", bad)).await.weave_error(400, 0);
    }
    assert_odd_values_refused(&user, "sort").await;
    let unsorted = list(&user, "storage/c").await;
    assert_eq!(list(&user, "storage/c").await, unsorted);
}

// ---- C-10 ----------------------------------------------------------------------------------

// C-10
#[tokio::test]
async fn c_10_offset_tokens_are_urlsafe_and_junk_is_refused() {
    let server = TestServer::start().await;
    let user = server.user();
    post_ok(&user, "storage/c", Value::Array((0..5).map(|i| json!({"id": format!("r{i}"), "payload": "x"})).collect())).await;
    let mut token = get(&user, "storage/c?limit=1").await.header("x-weave-next-offset").map(str::to_owned);
    let mut seen = 0;
    while let Some(t) = token {
        assert!(
            !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"_=-".contains(&b)),
            "token {t:?} is outside the urlsafe-base64 alphabet"
        );
        seen += 1;
        token = get(&user, &format!("storage/c?limit=1&offset={t}")).await.header("x-weave-next-offset").map(str::to_owned);
    }
    assert_eq!(seen, 4);
    for junk in ["!!junk!!", "", "abc?", "MTI=", "%FF", "-"] {
        send(&user, SyncRequest::get("storage/c?limit=1").query("offset", junk)).await.weave_error(400, 0);
    }
    assert_odd_values_refused(&user, "offset").await;
}

// ---- C-11 ----------------------------------------------------------------------------------

// C-11
#[tokio::test]
async fn c_11_next_offset_only_with_limit_and_more_matches() {
    let server = TestServer::start().await;
    let user = server.user();
    post_ok(&user, "storage/c", Value::Array((0..7).map(|i| json!({"id": format!("r{i}"), "payload": "x"})).collect())).await;
    let all = list(&user, "storage/c?sort=oldest").await;
    assert!(get(&user, "storage/c").await.header("x-weave-next-offset").is_none());

    let p1 = get(&user, "storage/c?sort=oldest&limit=2").await;
    let t1 = p1.header_str("x-weave-next-offset");
    let p2 = get(&user, &format!("storage/c?sort=oldest&limit=3&offset={t1}")).await;
    let t2 = p2.header_str("x-weave-next-offset");
    let p3 = get(&user, &format!("storage/c?sort=oldest&offset={t2}")).await;
    assert!(p3.header("x-weave-next-offset").is_none(), "the last page has a next offset\n{}", p3.transcript());
    let (l1, l2, l3) = (listed(&p1), listed(&p2), listed(&p3));
    assert_eq!((l1.len(), l2.len(), l3.len()), (2, 3, 2));
    assert_eq!([l1, l2, l3].concat(), all);

    // Exactly at the number of matches: no next offset; one below: a next offset.
    assert!(get(&user, "storage/c?limit=7").await.header("x-weave-next-offset").is_none());
    assert!(get(&user, "storage/c?limit=10000").await.header("x-weave-next-offset").is_none());
    let six = get(&user, "storage/c?sort=oldest&limit=6").await;
    let last = get(&user, &format!("storage/c?sort=oldest&limit=6&offset={}", six.header_str("x-weave-next-offset"))).await;
    assert_eq!(listed(&last).len(), 1, "a page with a next offset before it holds an item");
    assert!(last.header("x-weave-next-offset").is_none());
}

// ---- C-12 ----------------------------------------------------------------------------------

/// Walks a listing page by page with the given page sizes (cycled) and returns the ids.
async fn walk(user: &SyncUser, base: &str, sizes: &[usize]) -> Vec<String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for step in 0.. {
        assert!(step < 100, "paging does not end for {base}");
        let size = sizes[step % sizes.len()];
        let path = match &token {
            Some(t) => format!("{base}&limit={size}&offset={t}"),
            None => format!("{base}&limit={size}"),
        };
        let resp = get(user, &path).await;
        let page = listed(&resp);
        assert!(page.len() <= size, "page larger than limit\n{}", resp.transcript());
        token = resp.header("x-weave-next-offset").map(str::to_owned);
        if token.is_some() {
            assert!(!page.is_empty(), "a page with a next offset is empty\n{}", resp.transcript());
        }
        out.extend(page);
        if token.is_none() {
            break;
        }
    }
    out
}

// C-12
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_12_paging_returns_every_match_once_and_in_order() {
    let server = TestServer::start().await;
    let user = server.user();
    let mut stamps = Vec::new();
    for post in 0..3 {
        // Four records share each POST's ts; sortindexes tie across posts.
        let recs: Vec<Value> = (0..4).map(|i| json!({"id": format!("r{post}{i}"), "payload": "x", "sortindex": (i % 2) * 10})).collect();
        stamps.push(post_ok(&user, "storage/c", Value::Array(recs)).await);
        server.advance_ms(10).await;
    }
    let filters = [
        String::new(),
        format!("&newer={}", ts_text(stamps[0])),
        format!("&older={}", ts_text(stamps[2])),
        format!("&newer={}&older={}", ts_text(stamps[0] - 1), ts_text(stamps[2])),
    ];
    for sort in ["newest", "oldest", "index"] {
        // Full listings page like id listings; one filter-free run of them suffices.
        let bases = filters.iter().map(|filter| format!("storage/c?sort={sort}{filter}")).chain([format!("storage/c?sort={sort}&full=1")]);
        for base in bases {
            let everything = list(&user, &base).await;
            let mut unique = everything.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), everything.len(), "{base} lists an id twice");
            for size in 2..=6 {
                assert_eq!(walk(&user, &base, &[size]).await, everything, "{base} with pages of {size}");
            }
            assert_eq!(walk(&user, &base, &[1, 5, 3]).await, everything, "{base} with changing page sizes");
        }
    }
    // Sanity of the fixture: the filters really cut.
    assert_eq!(list(&user, &format!("storage/c?sort=newest{}", filters[1])).await.len(), 8);
    assert_eq!(list(&user, &format!("storage/c?sort=newest{}", filters[2])).await.len(), 8);
    assert_eq!(list(&user, "storage/c?sort=newest").await.len(), 12);
}

// ---- C-13 ----------------------------------------------------------------------------------

/// A token reused with another query, or forged, gets 400/0 or a well-formed page.
fn page_or_400(resp: &SyncResponse, full: bool) {
    match resp.status_code() {
        400 => {
            resp.weave_error(400, 0);
        }
        200 => {
            let body = resp.json_body();
            let items = body.as_array().unwrap_or_else(|| panic!("page is not a list\n{}", resp.transcript()));
            for item in items {
                if full {
                    assert!(item["id"].is_string() && item["modified"].is_number(), "{}", resp.transcript());
                } else {
                    assert!(item.is_string(), "{}", resp.transcript());
                }
            }
            assert_eq!(resp.header_str("x-weave-records"), items.len().to_string());
        }
        _ => panic!("a reused or forged token gets neither 200 nor 400/0\n{}", resp.transcript()),
    }
}

// C-13
#[tokio::test]
async fn c_13_tokens_with_another_query_or_forged_never_fail_the_server() {
    let server = TestServer::start().await;
    let user = server.user();
    let (t1, _, _) = three_records(&server, &user).await;
    post_ok(&user, "storage/c", Value::Array((0..4).map(|i| json!({"id": format!("r{i}"), "payload": "x"})).collect())).await;
    let token = get(&user, "storage/c?sort=newest&limit=2").await.header_str("x-weave-next-offset");
    let forged: Vec<String> = ["o1:999", "o1:-1", "o1:18446744073709551615", "o1:9223372036854775807", "o1:", "o2:1", "1", "1:2", "o1:1.5"]
        .iter()
        .map(|raw| URL_SAFE.encode(raw))
        .chain([String::from("AAAA"), "o1:1".to_owned()])
        .collect();
    let queries = [
        "sort=oldest&limit=2",
        "sort=index&limit=2",
        "sort=newest&limit=2&full=1",
        "limit=2",
        "sort=newest",
        "ids=a,b,r1&limit=1",
        "limit=18446744073709551615",
    ];
    for q in queries {
        let newer = format!("{q}&newer={}", ts_text(t1));
        for query in [q.to_owned(), newer] {
            for t in std::iter::once(&token).chain(forged.iter()) {
                let resp = send(&user, SyncRequest::get(format!("storage/c?{query}")).query("offset", t)).await;
                page_or_400(&resp, query.contains("full"));
            }
        }
    }
}

// ---- C-14 ----------------------------------------------------------------------------------

// C-14
#[tokio::test]
async fn c_14_unknown_query_parameters_are_ignored() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/a", json!({"payload": "x"})).await;
    assert_eq!(list(&user, "storage/c?blabla=1").await, strings(&["a"]));
    assert_eq!(list(&user, "storage/c?blabla=1&%E2%9C%93=%00").await, strings(&["a"]));
    get(&user, "storage/c/a?blabla=1").await.status_is(200);
    get(&user, "info/collections?blabla=1").await.status_is(200);
    put_json(&user, "storage/c/b?blabla=1", json!({"payload": "y"})).await.status_is(200);
    post_json(&user, "storage/c?blabla=1", json!([{"id": "d", "payload": "z"}])).await.status_is(200);
    assert_eq!(list_sorted(&user, "storage/c").await, strings(&["a", "b", "d"]));
}

// ---- C-15 ----------------------------------------------------------------------------------

// C-15
#[tokio::test]
async fn c_15_no_listing_returns_an_expired_record() {
    let server = TestServer::start().await;
    let user = server.user();
    put_ok(&user, "storage/c/zero", json!({"payload": "x", "ttl": 0, "sortindex": 99})).await;
    put_ok(&user, "storage/c/two", json!({"payload": "x", "ttl": 2, "sortindex": 50})).await;
    put_ok(&user, "storage/c/keep", json!({"payload": "x", "sortindex": 1})).await;
    let views = [
        "storage/c",
        "storage/c?full=1",
        "storage/c?ids=zero,two,keep",
        "storage/c?newer=0",
        "storage/c?older=99999999999",
        "storage/c?sort=index",
        "storage/c?sort=oldest&limit=10",
    ];
    for view in views {
        let mut got = list(&user, view).await;
        got.sort();
        assert_eq!(got, strings(&["keep", "two"]), "{view}");
    }
    server.advance_ms(1_000).await;
    assert_eq!(list_sorted(&user, "storage/c").await, strings(&["keep", "two"]));
    server.advance_ms(1_100).await;
    for view in views {
        assert_eq!(list(&user, view).await, strings(&["keep"]), "{view}");
    }
    // Paging never hands out a token for expired records.
    let resp = get(&user, "storage/c?limit=1").await;
    assert!(resp.header("x-weave-next-offset").is_none(), "{}", resp.transcript());
}

// ---- C-16 ----------------------------------------------------------------------------------

// C-16
#[tokio::test]
async fn c_16_x_weave_records_counts_the_items_of_this_response() {
    let server = TestServer::start().await;
    let user = server.user();
    post_ok(&user, "storage/c", Value::Array((0..5).map(|i| json!({"id": format!("r{i}"), "payload": "x"})).collect())).await;
    for (path, n) in [
        ("storage/c", 5),
        ("storage/c?full=1", 5),
        ("storage/c?limit=2", 2),
        ("storage/c?full=1&limit=3", 3),
        ("storage/c?ids=r1,r2,nope", 2),
        ("storage/unknown", 0),
    ] {
        let resp = get(&user, path).await;
        assert_eq!(listed(&resp).len(), n, "{path}");
        assert_eq!(resp.header_str("x-weave-records"), n.to_string(), "{}", resp.transcript());
    }
    let first = get(&user, "storage/c?limit=3").await;
    let rest = get(&user, &format!("storage/c?limit=3&offset={}", first.header_str("x-weave-next-offset"))).await;
    assert_eq!(rest.header_str("x-weave-records"), "2");
}
