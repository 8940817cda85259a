//! SPEC area J: error responses. Each case provokes its status itself, so that area J stands on
//! its own even where another clause describes the trigger.

use std::time::{Duration, SystemTime};

use reqwest::Method;
use serde_json::{Value, json};

use super::h_quota::{over_quota, quota, store_bytes};
use super::steps::*;
use crate::client::SyncRequest;
use crate::conformance::{Case, CaseResult, Ctx, Failure, Need, Resp};
use crate::{ensure, ensure_eq};

/// Clauses of area J that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[
    (
        "J-14",
        "a 503 for maintenance, overload or a lost database cannot be provoked over HTTP on a shared \
         server without stopping its database; a 503 with Retry-After that refuses a write is sent \
         again like a 409, and whether a server may refuse with 503 rather than 409 is judged once, \
         by the I-04 case of sequential writes",
    ),
    (
        "J-16",
        "heartbeat's 503 needs the database stopped, which no HTTP request can do on a shared server; \
         A-17 checks the healthy answers",
    ),
];

fn json_body(req: SyncRequest, raw: impl Into<Vec<u8>>) -> SyncRequest {
    req.body(raw).header("Content-Type", "application/json")
}

/// A body of exactly `len` bytes that is a valid POST body: one record with padding payload.
fn post_body_of(len: usize) -> Vec<u8> {
    let head = br#"[{"id":"big","payload":""#;
    let tail = br#""}]"#;
    let pad = len.saturating_sub(head.len() + tail.len());
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(head);
    body.resize(head.len() + pad, b'x');
    body.extend_from_slice(tail);
    body
}

/// The error body must be a bare JSON integer sent as JSON (J-01), whatever the code.
fn bare_integer(resp: &Resp, what: &str) -> CaseResult {
    let text = resp.text();
    ensure!(text.trim().parse::<u32>().is_ok(), "{what}: error body is a bare JSON integer, got {text:?}");
    let ct = resp.header("content-type").unwrap_or("");
    ensure!(ct.starts_with("application/json"), "{what}: error body content type is JSON, got {ct:?}");
    Ok(())
}

async fn listed(cx: &mut Ctx, coll: &str) -> Result<bool, Failure> {
    let info = cx.get("info/collections").await?.status(200)?.json()?;
    Ok(info.get(coll).is_some())
}

/// `bytes` as a variant name shows them: ASCII as is, anything else escaped, cut after 60 characters.
fn shown(bytes: &[u8]) -> String {
    let all = bytes.escape_ascii().to_string();
    if all.chars().count() <= 60 {
        format!("\"{all}\"")
    } else {
        format!("\"{}…\" ({} bytes)", all.chars().take(60).collect::<String>(), bytes.len())
    }
}

/// A request's method and path as a variant name, the path cut after 80 characters.
fn line(req: &SyncRequest) -> String {
    let path = req.path();
    let short = if path.chars().count() <= 80 {
        path.to_owned()
    } else {
        format!("{}… ({} chars)", path.chars().take(80).collect::<String>(), path.len())
    };
    format!("{} {short}", req.method())
}

/// Requests no server may answer with a 5xx, each named by what makes it malformed: malformed
/// JSON, wrong types, huge numbers, U+0000, odd headers, query values, paths and methods.
fn malformed_requests(batch: &str) -> Vec<(String, SyncRequest)> {
    let mut reqs: Vec<(String, SyncRequest)> = Vec::new();
    let with_body = |reqs: &mut Vec<(String, SyncRequest)>, req: SyncRequest, ct: &str, body: Vec<u8>| {
        reqs.push((format!("{} as {ct} body {}", line(&req), shown(&body)), req.body(body).header("Content-Type", ct)));
    };
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let put_bodies: Vec<Vec<u8>> = [
        "",
        "{",
        "[",
        "nul",
        "{\"payload\":",
        "null",
        "true",
        "\"\\ud800\"",
        "{\"payload\":\"\\ud800\"}",
        "{\"payload\":\"\\udc00x\\ud800\"}",
        "{\"payload\":\"a\\u0000b\"}",
        "{\"payload\":{}}",
        "{\"payload\":[\"x\"]}",
        "{\"sortindex\":1e400}",
        "{\"sortindex\":-99999999999999999999}",
        "{\"sortindex\":18446744073709551616}",
        "{\"ttl\":99999999999999999999999}",
        "{\"ttl\":1.7976931348623157e308}",
        "{\"ttl\":-0}",
        "{\"ttl\":-0.0}",
        "{\"sortindex\":1.0}",
        "{\"ttl\":true}",
        "{\"id\":null}",
        "{\"id\":\"\\u0000\"}",
        "{\"modified\":\"yesterday\"}",
        "{\"modified\":-1e308}",
        "{\"payload\":\"x\",\"payload\":\"y\"}",
        "{\"\\u0000\":1}",
        "{\"payload\":\"\\uFFFF\\uFFFE\"}",
        &deep,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .chain([b"\xff\xfe\x00".to_vec(), b"{\"payload\":\"\xff\"}".to_vec(), b"{\"payload\":\"\xed\xa0\x80\"}".to_vec()])
    .collect();
    for body in put_bodies {
        with_body(&mut reqs, SyncRequest::put("storage/sweep/a"), "application/json", body);
    }
    let post_bodies: Vec<Vec<u8>> = [
        "",
        "null",
        "{}",
        "[null]",
        "[[]]",
        "[1,2]",
        "[{\"id\":\"a\\u0000\"}]",
        "[{\"id\":\"a\",\"payload\":\"\\u0000\"}]",
        "[{\"id\":\"a\",\"ttl\":1e400}]",
        "[{\"id\":\"a\",\"sortindex\":18446744073709551616}]",
        "[{\"id\":{}}]",
        "[{\"id\":\"a\"},{\"id\":\"a\"}]",
        "[{\"id\":\"\\ud800\"}]",
        "[{\"id\":\"a\",\"payload\":\"\\ud800\"}]",
        "[{\"id\":\"a\",\"sortindex\":-0.0,\"ttl\":0.5}]",
        &deep,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .chain([b"[{\"id\":\"\xff\"}]".to_vec(), b"[{\"id\":\"a\",\"payload\":\"\xc3\"}]".to_vec()])
    .collect();
    for body in post_bodies {
        with_body(&mut reqs, SyncRequest::post("storage/sweep"), "application/json", body);
    }
    for body in ["\n\n", "{\"id\":\"a\"}\r\r\n", "\u{0}", "{\"id\":\"a\"}\n[]\n", "\r\n", "{\"id\":\"a\"}\n\n"] {
        with_body(&mut reqs, SyncRequest::post("storage/sweep"), "application/newlines", body.as_bytes().to_vec());
    }
    with_body(&mut reqs, SyncRequest::post("storage/sweep"), "application/newlines", b"{\"id\":\"\xff\"}\n".to_vec());
    let with_header = |reqs: &mut Vec<(String, SyncRequest)>, req: SyncRequest, name: &str, value: &str| {
        reqs.push((format!("{} {name}: {value:?}", line(&req)), req.header(name, value)));
    };
    let ok_put = || SyncRequest::put("storage/sweep/h").json(&json!({ "payload": "h" }));
    let ok_post = || SyncRequest::post("storage/sweep").json(&json!([{ "id": "p", "payload": "p" }]));
    for value in [
        "1e10",
        "99999999999999999999999",
        "NaN",
        "inf",
        "-0",
        "0x10",
        "1.2.3",
        "",
        " ",
        "12345678901234567890.123456789",
        "0.0000000001",
        "1_000",
    ] {
        with_header(&mut reqs, SyncRequest::get("storage/sweep"), "X-If-Modified-Since", value);
        with_header(&mut reqs, SyncRequest::get("info/collections"), "X-If-Modified-Since", value);
        with_header(&mut reqs, ok_put(), "X-If-Unmodified-Since", value);
        with_header(&mut reqs, SyncRequest::delete("storage/sweep?ids=zz"), "X-If-Unmodified-Since", value);
    }
    for value in ["-1", "1e3", "99999999999999999999", "", "0x10"] {
        with_header(&mut reqs, ok_post(), "X-Weave-Records", value);
        with_header(&mut reqs, ok_post(), "X-Weave-Bytes", value);
        with_header(&mut reqs, SyncRequest::post("storage/sweep?batch=true").json(&json!([])), "X-Weave-Total-Bytes", value);
        with_header(&mut reqs, SyncRequest::post("storage/sweep?batch=true").json(&json!([])), "X-Weave-Total-Records", value);
    }
    for ct in
        ["application/json; charset=utf-16", "application/json;;;", "application/newlines", "", "*/*", "application/json; charset=\"\""]
    {
        with_header(&mut reqs, SyncRequest::put("storage/sweep/ct").body(br#"{"payload":"x"}"#.to_vec()), "Content-Type", ct);
    }
    for accept in ["application/newlines;q=abc", "*/*;q=0", "application/json;q=2", "", "application/json;q=-1, */*;q=NaN"] {
        with_header(&mut reqs, SyncRequest::get("storage/sweep?full=1"), "Accept", accept);
    }
    for auth in [
        "Hawk id=\"x\", ts=\"abc\", nonce=\"\", mac=\"\"",
        "Bearer x",
        "Hawk",
        "Hawk id=\"\u{7e}\", ts=\"99999999999999999999\", nonce=\"n\", mac=\"AAAA\"",
    ] {
        with_header(&mut reqs, SyncRequest::get("info/collections"), "Authorization", auth);
    }
    let plain = |reqs: &mut Vec<(String, SyncRequest)>, req: SyncRequest| reqs.push((line(&req), req));
    let huge_offset = base64_urlsafe(b"o1:18446744073709551615");
    let neg_offset = base64_urlsafe(b"o1:-5");
    let queries = [
        "newer=1e308".to_owned(),
        "newer=NaN".into(),
        "newer=%00".into(),
        "newer=99999999999999999999999.99".into(),
        "older=-0.0".into(),
        "limit=99999999999999999999".into(),
        "limit=18446744073709551615".into(),
        "limit=9223372036854775807&full=1".into(),
        "limit=1e3".into(),
        "limit=%00".into(),
        "offset=!!".into(),
        format!("offset={huge_offset}"),
        format!("offset={neg_offset}&limit=1"),
        "offset=%00".into(),
        "offset=99999999999999999999".into(),
        "sort=%00".into(),
        "ids=%00".into(),
        "ids=,,,,".into(),
        format!("ids={}", vec!["abc"; 101].join(",")),
        "full=%00".into(),
        "newer=1&newer=abc".into(),
        "%00=%00".into(),
        "ids=%C3%A9".into(),
    ];
    for q in queries {
        plain(&mut reqs, SyncRequest::get(format!("storage/sweep?{q}")));
    }
    for q in [
        "batch=%00".to_owned(),
        "batch=00000000-0000-0000-0000-000000000000&commit=true".into(),
        "batch=true&commit=%00".into(),
        "commit=TRUE&batch=zzz".into(),
        "batch=".into(),
        format!("batch={}", "9".repeat(5000)),
        format!("batch={batch}&commit=true&batch=true"),
    ] {
        plain(&mut reqs, SyncRequest::post(format!("storage/sweep?{q}")).json(&json!([{ "id": "q", "payload": "q" }])));
    }
    let long_coll = "x".repeat(1000);
    let long_id = "y".repeat(1000);
    for path in [
        "storage/sweep/%00".to_owned(),
        "storage/%00".into(),
        "storage/sweep%FF".into(),
        format!("storage/{long_coll}"),
        format!("storage/sweep/{long_id}"),
        "storage/sweep/a/b/c".into(),
        "storage/sweep/%C3%A9".into(),
        "/1.5/0/info/collections".into(),
        "/1.5/99999999999/storage".into(),
        "/1.5//storage".into(),
        "info/".into(),
        "storage//a".into(),
        "storage/sweep/%2e%2e".into(),
    ] {
        plain(&mut reqs, SyncRequest::get(path.as_str()));
        plain(&mut reqs, SyncRequest::put(path.as_str()).json(&json!({ "payload": "x" })));
    }
    for method in [Method::HEAD, Method::OPTIONS, Method::PATCH, Method::TRACE] {
        plain(&mut reqs, SyncRequest::new(method.clone(), "storage/sweep"));
        plain(&mut reqs, SyncRequest::new(method, "storage/sweep/a"));
    }
    if let Ok(custom) = Method::from_bytes(b"FOO") {
        plain(&mut reqs, SyncRequest::new(custom, "storage/sweep"));
    }
    let req = SyncRequest::get("storage/sweep").json(&json!({ "a body": "on a GET" }));
    reqs.push((format!("{} with a JSON body", line(&req)), req));
    let req = SyncRequest::delete("storage/sweep/a").json(&json!([1, 2, 3]));
    reqs.push((format!("{} with a JSON body", line(&req)), req));
    reqs
}

/// J-15 for one answer: no 5xx, unless it is a write still refused after the retries, which
/// carries Retry-After in seconds (D-18) and whose kind I-04 judges.
fn not_5xx(resp: &Resp) -> CaseResult {
    if let Some(refused) = still_refused(resp) {
        return refused;
    }
    ensure!(resp.code() < 500, "answered {} {}", resp.code(), resp.text().chars().take(120).collect::<String>());
    Ok(())
}

/// One round of J-15's interleaving: writes, reads, batch appends and commits and deletes of one
/// user, all at once; `round` 1 also wipes the storage.
async fn interleaving(cx: &mut Ctx, round: usize) -> CaseResult {
    cx.put("storage/mix/a", json!({ "payload": "a" })).await?.success()?;
    let start = cx.post("storage/mix?batch=true", json!([{ "id": "s", "payload": "s" }])).await?;
    let batch = started_batch(&start)?;
    let mut reqs = Vec::new();
    for i in 0..4 {
        reqs.push(SyncRequest::put("storage/mix/a").json(&json!({ "payload": format!("{round}{i}") })));
        reqs.push(
            SyncRequest::post("storage/mix").json(&json!([{ "id": "a", "sortindex": i }, { "id": format!("n{i}"), "payload": "n" }])),
        );
        reqs.push(SyncRequest::get("storage/mix?full=1&sort=index&limit=2"));
        reqs.push(SyncRequest::post("storage/mix?batch=true").json(&json!([{ "id": format!("b{i}"), "payload": "b" }])));
        reqs.push(SyncRequest::put(format!("storage/other{i}/x")).json(&json!({ "payload": "x" })));
    }
    for i in 0..3 {
        reqs.push(batch_post("mix", &batch, false).json(&json!([{ "id": format!("s{i}"), "payload": "s" }])));
    }
    reqs.push(batch_post("mix", &batch, true).json(&json!([])));
    reqs.push(batch_post("mix", &batch, true).json(&json!([{ "id": "late", "payload": "l" }])));
    reqs.push(SyncRequest::delete("storage/mix/a"));
    reqs.push(SyncRequest::delete("storage/mix?ids=n0,n1"));
    reqs.push(SyncRequest::delete("storage/other0"));
    reqs.push(SyncRequest::delete("storage/mix"));
    reqs.push(SyncRequest::get("info/collections"));
    reqs.push(SyncRequest::get("info/collection_counts"));
    reqs.push(SyncRequest::get("info/quota"));
    if round == 1 {
        reqs.push(SyncRequest::delete("storage"));
    }
    let whats: Vec<String> = reqs.iter().map(line).collect();
    let me = cx.me();
    let answers = cx.send_all(reqs.into_iter().map(|req| (me.clone(), req)).collect()).await;
    let n = answers.len();
    let mut bad = Vec::new();
    for (i, (what, answer)) in whats.iter().zip(answers).enumerate() {
        if let Err(f) = answer.and_then(|r| not_5xx(&r)) {
            bad.push(format!("concurrent {}/{n} {what}: {}", i + 1, one_line(&f)));
        }
    }
    ensure!(bad.is_empty(), "answers to valid concurrent requests: {bad:#?}");
    Ok(())
}

/// One request of the malformed sweep, on a connection of its own: a server may answer a malformed
/// request before reading its body and close the connection, which no later request should inherit.
async fn sweep_one(cx: &mut Ctx, req: SyncRequest) -> CaseResult {
    not_5xx(&cx.send(req.header("Connection", "close")).await?)
}

fn base64_urlsafe(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("J-01", "each error code comes back as a bare JSON integer", |mut cx| {
            Box::pin(async move {
                let records = json!([{ "id": "a", "payload": "a" }]);
                cx.get("storage/c?newer=abc").await?.error(400, 0)?;
                cx.get("nonexistent/url").await?.error(404, 0)?;
                let r = cx.send(SyncRequest::post("storage/c").json(&records).header("X-Weave-Total-Records", "1")).await?;
                cx.rule_or_compat(r.error(400, 1).map(drop), || r.error(400, 0).map(drop), "code 0 where 1 is due")?;
                let r = cx.send(json_body(SyncRequest::put("storage/c/a"), "{")).await?;
                cx.rule_or_compat(r.error(400, 6).map(drop), || r.error(400, 8).map(drop), "code 8 where 6 is due")?;
                let r = cx.send(json_body(SyncRequest::post("storage/c"), "[{\"id\":")).await?;
                cx.rule_or_compat(r.error(400, 6).map(drop), || r.error(400, 8).map(drop), "code 8 where 6 is due")?;
                cx.put("storage/c/a", json!(42)).await?.error(400, 8)?;
                let r = cx.put("storage/bad!name/a", json!({ "payload": "x" })).await?;
                cx.rule_or_compat(r.error(400, 13).map(drop), || r.error(404, 0).map(drop), "an invalid collection name matches no route")?;
                let r = cx.get(&format!("storage/{}", "n".repeat(33))).await?;
                cx.rule_or_compat(r.error(400, 13).map(drop), || r.error(404, 0).map(drop), "an invalid collection name matches no route")?;
                let over = (cx.limits().max_post_records + 1).to_string();
                cx.send(SyncRequest::post("storage/c").json(&records).header("X-Weave-Records", over)).await?.error(400, 17)?;
                ensure!(!listed(&mut cx, "c").await?, "no refused request created collection c");
                Ok(())
            })
        }),
        Case::new("J-01", "304, 405 and 412 answers have empty bodies", |mut cx| {
            Box::pin(async move {
                let t = cx.put("storage/c/a", json!({ "payload": "a" })).await?.status(200)?.stamp("x-last-modified")?;
                cx.send(SyncRequest::get("storage/c/a").header("X-If-Modified-Since", t.to_string())).await?.status(304)?.empty()?;
                cx.send(SyncRequest::get("storage/c").header("X-If-Modified-Since", t.to_string())).await?.status(304)?.empty()?;
                cx.send(SyncRequest::new(Method::PATCH, "storage/c").json(&json!({}))).await?.status(405)?.empty()?;
                let stale = SyncRequest::put("storage/c/a")
                    .json(&json!({ "payload": "b" }))
                    .header("X-If-Unmodified-Since", t.plus_cs(-1).to_string());
                cx.send(stale).await?.status(412)?.empty()?;
                Ok(())
            })
        }),
        Case::new("J-02", "invalid records, broken POST lists and known-bad crypto give 400/8", |mut cx| {
            Box::pin(async move {
                for body in [
                    json!("notabso"),
                    json!(42),
                    json!({ "id": ["01", "02"], "payload": { "3": "4" } }),
                    json!({ "payload": 42 }),
                    json!({ "payload": "testing", "sortindex": "xxx_meh" }),
                    json!({ "payload": "testing", "sortindex": "2.6" }),
                    json!({ "payload": "testing", "sortindex": 1_000_000_000 }),
                    json!({ "payload": "testing", "sortindex": -1_000_000_000 }),
                    json!({ "payload": "testing", "ttl": "eh?" }),
                    json!({ "payload": "testing", "ttl": "4.2" }),
                    json!({ "payload": "testing", "ttl": -1 }),
                    json!({ "payload": "testing", "ttl": 1_000_000_000 }),
                    json!({ "id": "TEST", "unexpected": "spanish-inquisition" }),
                ] {
                    let v = cx.variant(format!("PUT {body}"));
                    let r = async { cx.put("storage/inv/TEST", body).await?.error(400, 8).map(drop) }.await;
                    cx.settle(v, r);
                }
                for body in [
                    json!("notalist"),
                    json!(42),
                    json!({ "id": "01", "payload": "x" }),
                    json!([{ "id": "01", "payload": "GOOD" }, "BAD"]),
                    json!([{ "payload": "no id" }]),
                    json!([{ "id": 5, "payload": "x" }]),
                    json!([{ "id": "dup", "payload": "1" }, { "id": "dup", "payload": "2" }]),
                ] {
                    let v = cx.variant(format!("POST {body}"));
                    let r = async { cx.post("storage/inv", body).await?.error(400, 8).map(drop) }.await;
                    cx.settle(v, r);
                }
                let keys = json!({ "ciphertext": "IDontKnowWhatImDoing", "IV": "AAAAAAAAAAAAAAAAAAAAAA==" }).to_string();
                for (what, req) in [
                    ("PUT crypto/keys with a known-bad payload", SyncRequest::put("storage/crypto/keys").json(&json!({ "payload": keys }))),
                    (
                        "PUT crypto/blerg with a known-bad payload",
                        SyncRequest::put("storage/crypto/blerg").json(&json!({ "payload": keys })),
                    ),
                    (
                        "POST crypto with keys of a known-bad payload",
                        SyncRequest::post("storage/crypto").json(&json!([{ "id": "keys", "payload": keys }])),
                    ),
                ] {
                    let v = cx.variant(what);
                    let r = async { cx.send(req).await?.error(400, 8).map(drop) }.await;
                    cx.settle(v, r);
                }
                ensure_eq!(json!({}), cx.get("info/collections").await?.status(200)?.json()?, "nothing stored by the refused requests");
                // Only the bad record of an otherwise good POST fails.
                let r = cx.post("storage/inv", json!([{ "id": "01", "payload": "GOOD" }, { "id": "02", "invalid": "ya" }])).await?;
                let body = r.status(200)?.json()?;
                ensure_eq!(json!(["01"]), body["success"], "success of a POST with one invalid record");
                ensure!(body["failed"].get("02").is_some(), "02 is reported failed: {body}");
                Ok(())
            })
        })
        .upstream(&["test_handling_of_invalid_json_in_bso_uploads", "test_handling_of_invalid_bso_fields"]),
        Case::new("J-03", "limit headers over the published limits give 400/17", |mut cx| {
            Box::pin(async move {
                let limits = cx.limits().clone();
                let records = json!([{ "id": "a", "payload": "a" }]);
                let post = |path: &str, name: &str, value: u64| SyncRequest::post(path).json(&records).header(name, value.to_string());
                cx.send(post("storage/lim", "X-Weave-Records", limits.max_post_records + 1)).await?.error(400, 17)?;
                cx.send(post("storage/lim", "X-Weave-Bytes", limits.max_post_bytes + 1)).await?.error(400, 17)?;
                let batch = "storage/lim?batch=true";
                cx.send(post(batch, "X-Weave-Total-Records", limits.max_total_records + 1)).await?.error(400, 17)?;
                cx.send(post(batch, "X-Weave-Total-Bytes", limits.max_total_bytes + 1)).await?.error(400, 17)?;
                ensure!(!listed(&mut cx, "lim").await?, "no refused request created the collection");
                // At the limits the same headers pass.
                cx.send(post("storage/lim", "X-Weave-Records", limits.max_post_records)).await?.status(200)?;
                cx.send(post(batch, "X-Weave-Total-Records", limits.max_total_records)).await?.status(202)?;
                Ok(())
            })
        })
        .upstream(&["test_batch_size_limits"]),
        Case::new("J-03", "an append past the batch record total gives 400/17", |mut cx| {
            Box::pin(async move {
                let limits = cx.limits().clone();
                let per = limits.max_post_records.min(limits.max_total_records) as usize;
                let chunk = |from: usize, n: usize| {
                    Value::Array((from..from + n).map(|i| json!({ "id": format!("r{i:05}"), "payload": "x" })).collect())
                };
                let start = cx.post("storage/tot?batch=true", chunk(0, per)).await?;
                let batch = started_batch(&start)?;
                let mut staged = per;
                while staged < limits.max_total_records as usize {
                    let n = per.min(limits.max_total_records as usize - staged);
                    cx.send(batch_post("tot", &batch, false).json(&chunk(staged, n))).await?.status(202)?;
                    staged += n;
                }
                cx.send(batch_post("tot", &batch, false).json(&chunk(staged, 1))).await?.error(400, 17)?;
                let commit = cx.send(batch_post("tot", &batch, true).json(&json!([]))).await?;
                commit.status(200)?;
                let counts = cx.get("info/collection_counts").await?.status(200)?.json()?;
                ensure_eq!(Some(limits.max_total_records), counts["tot"].as_u64(), "records committed");
                Ok(())
            })
        })
        .needs(&[Need::SmallBatchTotals]),
        Case::new("J-04", "bad query values, ids, preconditions and batch ids give 400/0", |mut cx| {
            Box::pin(async move {
                cx.post("storage/weird", json!([{ "id": "00", "payload": "x" }, { "id": "01", "payload": "y" }])).await?.status(200)?;
                let too_many = (0..101).map(|i| format!("i{i}")).collect::<Vec<_>>().join(",");
                for query in [
                    "newer=abc".to_owned(),
                    "newer=-1".into(),
                    "older=xyz".into(),
                    "older=-2".into(),
                    "limit=-1".into(),
                    "limit=abc".into(),
                    "limit=1.5".into(),
                    "sort=bogus".into(),
                    "offset=!!junk!!".into(),
                    "ids=a%0Ab".into(),
                    format!("ids={too_many}"),
                    format!("ids={}", "x".repeat(65)),
                ] {
                    let path = format!("storage/weird?{query}");
                    let v = cx.variant(format!("GET ?{}", query.chars().take(80).collect::<String>()));
                    let r = async { cx.get(&path).await?.error(400, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                for query in [format!("ids={too_many}"), "ids=a%0Ab".to_owned()] {
                    let path = format!("storage/weird?{query}");
                    let v = cx.variant(format!("DELETE ?{}", query.chars().take(80).collect::<String>()));
                    let r = async { cx.delete(&path).await?.error(400, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                for (name, value) in [
                    ("X-If-Modified-Since", "-3"),
                    ("X-If-Modified-Since", "abc"),
                    ("X-If-Unmodified-Since", "-3"),
                    ("X-If-Unmodified-Since", "abc"),
                ] {
                    for req in [SyncRequest::get("storage/weird"), SyncRequest::put("storage/weird/00").json(&json!({ "payload": "z" }))] {
                        let v = cx.variant(format!("{} {name}: {value}", line(&req)));
                        let r = async { cx.send(req.header(name, value)).await?.error(400, 0).map(drop) }.await;
                        cx.settle(v, r);
                    }
                }
                let both = SyncRequest::get("storage/weird").header("X-If-Modified-Since", "1").header("X-If-Unmodified-Since", "1");
                let v = cx.variant("GET with both precondition headers");
                let r = async { cx.send(both).await?.error(400, 0).map(drop) }.await;
                cx.settle(v, r);
                let rec = json!([{ "id": "f", "payload": "pantomime" }]);
                cx.post("storage/weird?batch=sammich", rec.clone()).await?.error(400, 0)?;
                cx.post("storage/weird?commit=true", json!([])).await?.error(400, 0)?;
                let start = cx.post("storage/weird?batch=true", rec.clone()).await?;
                let batch = started_batch(&start)?;
                cx.send(batch_post("weird", &batch, false).query("commit", "yes").json(&rec)).await?.error(400, 0)?;
                cx.send(batch_post("elsewhere", &batch, false).json(&rec)).await?.error(400, 0)?;
                cx.send(batch_post("weird", &batch, true).json(&json!([]))).await?.status(200)?;
                cx.send(batch_post("weird", &batch, false).json(&rec)).await?.error(400, 0)?;
                let listing = cx.get("storage/weird").await?.status(200)?.json()?;
                ensure_eq!(json!(["00", "01", "f"]), sorted(listing), "records after the refused requests");
                Ok(())
            })
        })
        .upstream(&["test_weird_args", "test_we_dont_need_no_stinkin_batches"]),
        Case::new("J-05", "missing, wrong, stale or expired Hawk credentials give 401/0", |mut cx| {
            Box::pin(async move {
                cx.put("storage/c/a", json!({ "payload": "a" })).await?.status(200)?;
                for path in ["info/collections", "storage/c", "storage/c/a"] {
                    for (how, req) in
                        [("unsigned", SyncRequest::get(path).unsigned()), ("signed with a wrong key", SyncRequest::get(path).wrong_key())]
                    {
                        let v = cx.variant(format!("GET {path} {how}"));
                        let r = async { cx.send(req).await?.error(401, 0).map(drop) }.await;
                        cx.settle(v, r);
                    }
                }
                cx.send(SyncRequest::put("storage/c/b").json(&json!({ "payload": "b" })).unsigned()).await?.error(401, 0)?;
                let junk = "Hawk id=\"junk\", ts=\"1\", nonce=\"abc\", mac=\"bm90IGEgbWFj\"";
                cx.send(SyncRequest::get("storage/c").header("Authorization", junk)).await?.error(401, 0)?;
                let a_day_ago = SystemTime::now() - Duration::from_secs(24 * 60 * 60);
                cx.send(SyncRequest::get("storage/c").hawk_timestamp(a_day_ago)).await?.error(401, 0)?;
                let expired = cx.me().expired();
                cx.send_as(&expired, SyncRequest::get("storage/c")).await?.error(401, 0)?;
                cx.send_as(&expired, SyncRequest::put("storage/c/b").json(&json!({ "payload": "b" }))).await?.error(401, 0)?;
                cx.send_as(&expired, SyncRequest::get("info/quota")).await?.error(401, 0)?;
                // The one exception: info/collections still answers an expired token.
                cx.send_as(&expired, SyncRequest::get("info/collections")).await?.status(200)?;
                cx.get("storage/c/b").await?.error(404, 0)?;
                Ok(())
            })
        })
        .upstream(&["test_accessing_info_collections_with_an_expired_token"]),
        Case::new("J-06", "a write over the quota gets 400/14", |mut cx| {
            Box::pin(async move {
                let l = quota(&cx)?;
                store_bytes(&mut cx, "fill", l).await?;
                let r = cx.put("storage/more/a", json!({ "payload": "a" })).await?;
                over_quota(&mut cx, &r)?;
                let r = cx.post("storage/more", json!([{ "id": "b", "payload": "b" }])).await?;
                over_quota(&mut cx, &r)?;
                let r = cx.post("storage/more?batch=true", json!([{ "id": "c", "payload": "c" }])).await?;
                over_quota(&mut cx, &r)?;
                ensure!(!listed(&mut cx, "more").await?, "the refused writes created nothing");
                Ok(())
            })
        })
        .needs(&[Need::Quota]),
        Case::new("J-07", "missing, expired and unroutable resources give 404/0, collections never", |mut cx| {
            Box::pin(async move {
                cx.put("storage/c/a", json!({ "payload": "a" })).await?.status(200)?;
                cx.put("storage/c/gone", json!({ "payload": "g", "ttl": 0 })).await?.status(200)?;
                let long_id = "X".repeat(65);
                for path in [
                    "nonexistent/url".to_owned(),
                    "storage/c/missing".into(),
                    "storage/never/missing".into(),
                    "storage/c/gone".into(),
                    format!("storage/c/{long_id}"),
                ] {
                    let v = cx.variant(format!("GET {path}"));
                    let r = async { cx.get(&path).await?.error(404, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                cx.put(&format!("storage/c/{long_id}"), json!({ "payload": "x" })).await?.error(404, 0)?;
                cx.delete("storage/c/missing").await?.error(404, 0)?;
                cx.delete("storage/c/gone").await?.error(404, 0)?;
                cx.delete("storage/c/a").await?.status(200)?;
                cx.delete("storage/c/a").await?.error(404, 0)?;
                ensure_eq!(json!([]), cx.get("storage/never").await?.status(200)?.json()?, "listing of an unknown collection");
                ensure_eq!(json!([]), cx.get("storage/never?full=1").await?.status(200)?.json()?, "full listing of an unknown collection");
                cx.delete("storage/never").await?.status(200)?;
                cx.delete("storage/never?ids=a").await?.status(200)?;
                Ok(())
            })
        })
        .upstream(&["test_get_item", "test_delete_item", "test_that_404_responses_have_a_json_body", "test_meta_global_sanity"]),
        Case::new("J-08", "a method a known path does not support gets 405 and no body", |mut cx| {
            Box::pin(async move {
                cx.put("storage/c/a", json!({ "payload": "a" })).await?.status(200)?;
                for (method, path) in [
                    (Method::PATCH, "storage/c"),
                    (Method::PUT, "storage/c"),
                    (Method::PATCH, "storage/c/a"),
                    (Method::POST, "storage/c/a"),
                    (Method::PUT, "info/quota"),
                    (Method::POST, "info/collections"),
                    (Method::DELETE, "info/collections"),
                    (Method::PUT, "storage"),
                    (Method::POST, ""),
                ] {
                    let v = cx.variant(format!("{method} {path:?}"));
                    // A server may answer 405 without reading the body and close the connection;
                    // keep each request off the shared pool so that no later one inherits it.
                    let req = SyncRequest::new(method, path).json(&json!({ "payload": "z" })).header("Connection", "close");
                    let r = async { cx.send(req).await?.status(405)?.empty().map(drop) }.await;
                    cx.settle(v, r);
                }
                ensure_eq!(json!("a"), cx.get("storage/c/a").await?.status(200)?.json()?["payload"], "the record is untouched");
                Ok(())
            })
        })
        .upstream(&["test_patch_is_not_allowed"]),
        Case::new("J-09", "an Accept the server cannot serve gets 406/0", |mut cx| {
            Box::pin(async move {
                cx.put("storage/c/a", json!({ "payload": "a" })).await?.status(200)?;
                for accept in ["x/yy", "image/png", "application/json;q=0"] {
                    for path in ["storage/c", "storage/c?full=1"] {
                        let v = cx.variant(format!("GET {path} Accept: {accept}"));
                        let r = async { cx.send(SyncRequest::get(path).header("Accept", accept)).await?.error(406, 0).map(drop) }.await;
                        cx.settle(v, r);
                    }
                }
                let v = cx.variant("GET storage/c Accept: x/yy, application/json;q=0.1");
                let r = async {
                    cx.send(SyncRequest::get("storage/c").header("Accept", "x/yy, application/json;q=0.1")).await?.status(200).map(drop)
                }
                .await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_alternative_formats"]),
        Case::new("J-10", "bodies without Content-Length are read, never answered 411", |mut cx| {
            Box::pin(async move {
                let post = serde_json::to_vec(&json!([{ "id": "a", "payload": "a" }, { "id": "b", "payload": "b" }])).unwrap_or_default();
                let r = cx.send(SyncRequest::post("storage/chunked").chunked(post).header("Content-Type", "application/json")).await?;
                ensure_eq!(json!(["a", "b"]), sorted(r.status(200)?.json()?["success"].clone()), "chunked POST success");
                let put = br#"{"payload":"c"}"#.to_vec();
                cx.send(SyncRequest::put("storage/chunked/c").chunked(put).header("Content-Type", "application/json"))
                    .await?
                    .status(200)?;
                let nl = b"{\"id\":\"d\",\"payload\":\"d\"}\n".to_vec();
                let start = cx
                    .send(SyncRequest::post("storage/chunked?batch=true").chunked(nl).header("Content-Type", "application/newlines"))
                    .await?;
                let batch = started_batch(&start)?;
                let commit = br#"[{"id":"e","payload":"e"}]"#.to_vec();
                cx.send(batch_post("chunked", &batch, true).chunked(commit).header("Content-Type", "application/json"))
                    .await?
                    .status(200)?;
                let listing = cx.get("storage/chunked").await?.status(200)?.json()?;
                ensure_eq!(json!(["a", "b", "c", "d", "e"]), sorted(listing), "records written by chunked requests");
                Ok(())
            })
        }),
        Case::new("J-10", "concurrent writes to one record succeed, or get 409 with Retry-After", |mut cx| {
            Box::pin(async move {
                cx.put("storage/hot/x", json!({ "payload": "0" })).await?.status(200)?;
                let me = cx.me();
                let reqs: Vec<SyncRequest> = (0..8)
                    .map(|i| SyncRequest::put("storage/hot/x").json(&json!({ "payload": i.to_string() })))
                    .chain((0..4).map(|i| SyncRequest::post("storage/hot").json(&json!([{ "id": "x", "sortindex": i }]))))
                    .collect();
                let whats: Vec<String> = reqs.iter().map(line).collect();
                let answers = cx.send_all(reqs.into_iter().map(|req| (me.clone(), req)).collect()).await;
                let n = answers.len();
                let mut bad = Vec::new();
                for (i, (what, answer)) in whats.iter().zip(answers).enumerate() {
                    let checked = answer.and_then(|r| match still_refused(&r) {
                        Some(refused) => refused,
                        None if (200..300).contains(&r.code()) => Ok(()),
                        None => Err(Failure::mismatch("status", "2xx, or a refusal (409, or 503 with Retry-After)", r.code())),
                    });
                    if let Err(f) = checked {
                        bad.push(format!("concurrent {}/{n} {what}: {}", i + 1, one_line(&f)));
                    }
                }
                ensure!(bad.is_empty(), "answers to concurrent writes of one record: {bad:#?}");
                cx.get("storage/hot/x").await?.status(200)?;
                Ok(())
            })
        }),
        Case::new("J-11", "a failed X-If-Unmodified-Since gives 412, no body, the current ts", |mut cx| {
            Box::pin(async move {
                cx.put("storage/pre/a", json!({ "payload": "a" })).await?.status(200)?;
                let t = cx.put("storage/pre/b", json!({ "payload": "b" })).await?.status(200)?.stamp("x-last-modified")?;
                let stale = t.plus_cs(-1).to_string();
                let reqs = [
                    SyncRequest::put("storage/pre/b").json(&json!({ "payload": "new" })),
                    SyncRequest::post("storage/pre").json(&json!([{ "id": "c", "payload": "c" }])),
                    SyncRequest::delete("storage/pre/b"),
                    SyncRequest::delete("storage/pre?ids=a"),
                    SyncRequest::delete("storage/pre"),
                    SyncRequest::get("storage/pre/b"),
                    SyncRequest::get("storage/pre"),
                ];
                for req in reqs {
                    let v = cx.variant(format!("{} X-If-Unmodified-Since: {stale}", line(&req)));
                    let r = async {
                        let r = cx.send(req.header("X-If-Unmodified-Since", stale.clone())).await?;
                        r.status(412)?.empty()?;
                        ensure_eq!(t, r.stamp("x-last-modified")?, "X-Last-Modified of the 412");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let listing = cx.get("storage/pre?full=1").await?.status(200)?.json()?;
                ensure_eq!(json!(["a", "b"]), sorted(listing.clone()), "records after the refused requests");
                ensure!(listing.as_array().into_iter().flatten().all(|r| r["payload"] != "new"), "the refused PUT wrote nothing");
                Ok(())
            })
        })
        .upstream(&["test_ifunmodifiedsince"]),
        Case::new("J-12", "a PUT payload one byte over the record limit gets 413", |mut cx| {
            Box::pin(async move {
                let limits = cx.limits().clone();
                // Two-byte characters: a server counting characters would take it.
                let payload = super::h_quota::payload('p', limits.max_record_payload_bytes + 1);
                let r = cx.put("storage/huge/rec", json!({ "payload": payload })).await?;
                r.status(413)?;
                bare_integer(&r, "413 of an oversized PUT payload")?;
                cx.get("storage/huge/rec").await?.error(404, 0)?;
                ensure!(!listed(&mut cx, "huge").await?, "the refused PUT created no collection");
                Ok(())
            })
        }),
        Case::new("J-12", "declared and chunked bodies over max_request_bytes are refused", |mut cx| {
            Box::pin(async move {
                let over = post_body_of(cx.limits().max_request_bytes as usize + 1);
                let r = cx.send(json_body(SyncRequest::post("storage/huge"), over.clone())).await?;
                r.status(413)?;
                bare_integer(&r, "413 of a declared body")?;
                let r = cx.send(SyncRequest::post("storage/huge").chunked(over).header("Content-Type", "application/json")).await?;
                ensure!(r.code() == 413 || r.code() == 400, "a chunked body over the limit gets 413 or 400, got {}", r.code());
                ensure!(!listed(&mut cx, "huge").await?, "no refused body created the collection");
                Ok(())
            })
        })
        // Refused early, a body of megabytes can meet a closed connection before its answer is
        // read; the small-limits target keeps these bodies at a few KB.
        .needs(&[Need::SmallBatchTotals]),
        Case::new("J-13", "PUT and POST without a JSON-like Content-Type get 415/0", |mut cx| {
            Box::pin(async move {
                let record = br#"{"payload":"x"}"#.to_vec();
                let records = br#"[{"id":"a","payload":"x"}]"#.to_vec();
                for ct in [Some("application/octet-stream"), Some("text/html"), Some("application/x-www-form-urlencoded"), None] {
                    for req in
                        [SyncRequest::put("storage/fmt/TEST").body(record.clone()), SyncRequest::post("storage/fmt").body(records.clone())]
                    {
                        let v = cx.variant(match ct {
                            Some(ct) => format!("{} Content-Type: {ct}", line(&req)),
                            None => format!("{} without Content-Type", line(&req)),
                        });
                        let req = match ct {
                            Some(ct) => req.header("Content-Type", ct),
                            None => req,
                        };
                        let r = async { cx.send(req).await?.error(415, 0).map(drop) }.await;
                        cx.settle(v, r);
                    }
                }
                cx.get("storage/fmt/TEST").await?.error(404, 0)?;
                ensure_eq!(json!([]), cx.get("storage/fmt").await?.status(200)?.json()?, "nothing stored");
                cx.send(SyncRequest::put("storage/fmt/TEST").body(record).header("Content-Type", "text/plain")).await?.status(200)?;
                Ok(())
            })
        })
        .upstream(&["test_set_collection_input_formats", "test_set_item_input_formats"]),
        Case::new("J-15", "no malformed request gets a 5xx", |mut cx| {
            Box::pin(async move {
                cx.put("storage/sweep/a", json!({ "payload": "a" })).await?.status(200)?;
                let start = cx.post("storage/sweep?batch=true", json!([{ "id": "s", "payload": "s" }])).await?;
                let batch = started_batch(&start)?;
                for (what, req) in malformed_requests(&batch) {
                    let v = cx.variant(what);
                    let r = sweep_one(&mut cx, req).await;
                    cx.settle(v, r);
                }
                cx.get("info/collections").await?.status(200)?;
                Ok(())
            })
        }),
        Case::new("J-15", "no interleaving of valid concurrent requests gets a 5xx", |mut cx| {
            Box::pin(async move {
                for (round, name) in [
                    (0, "round 1: writes, batch appends and commits, deletes and reads at once"),
                    (1, "round 2: the same with DELETE /storage"),
                ] {
                    let v = cx.variant(name);
                    let r = interleaving(&mut cx, round).await;
                    cx.settle(v, r);
                }
                cx.get("info/collections").await?.status(200)?;
                Ok(())
            })
        }),
        Case::new("J-17", "the catalog provokes every status and code of J-01 to J-16 itself", |_cx| {
            Box::pin(async move {
                let cases = super::all();
                let unchecked = super::unchecked();
                for n in 1..=16 {
                    let id = format!("J-{n:02}");
                    let has_case = cases.iter().any(|c| c.id == id);
                    let reason = unchecked.iter().find(|(u, _)| *u == id).map(|(_, r)| *r);
                    ensure!(has_case || reason.is_some_and(|r| !r.trim().is_empty()), "{id} has neither a case nor a stated reason");
                }
                Ok(())
            })
        }),
    ]
}

fn sorted(list: Value) -> Value {
    let mut ids: Vec<String> =
        list.as_array().into_iter().flatten().filter_map(|v| v.as_str().or_else(|| v["id"].as_str()).map(str::to_owned)).collect();
    ids.sort();
    json!(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::Stamp;

    #[test]
    fn padded_post_bodies_have_the_asked_length_and_parse() {
        for len in [64, 1000, 16_385] {
            let body = post_body_of(len);
            assert_eq!(body.len(), len);
            assert!(serde_json::from_slice::<Value>(&body).is_ok());
        }
    }

    #[test]
    fn every_malformed_request_has_its_own_variant_name() {
        let reqs = malformed_requests("b");
        let names: std::collections::BTreeSet<&str> = reqs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), reqs.len(), "two sweep variants share a name");
        assert!(names.iter().all(|n| n.chars().count() < 160), "a sweep variant name is too long to read");
    }

    #[test]
    fn stamps_used_as_preconditions_print_two_decimals() {
        assert_eq!(Stamp(123_456).plus_cs(-1).to_string(), "1234.55");
    }
}
