//! SPEC area A: endpoints and methods.
//!
//! Also home of the few read-back steps the area files share (`info`, `ids`, `post_answer`…),
//! kept next to the first cases that need them.

use reqwest::Method;
use serde_json::{Value, json};

use super::steps::*;
use crate::client::SyncRequest;
use crate::conformance::{Case, CaseResult, Ctx, Failure, Need, Resp, Stamp};
use crate::{ensure, ensure_eq};

/// Clauses of area A that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// The upstream suite's filler payload.
const PLD: &str = concat!(
    "****************************************************************************************************",
    "****************************************************************************************************",
    "****************************************************************************************************",
    "****************************************************************************************************",
    "****************************************************************************************************",
);

/// 500 ASCII bytes, then 2-, 3- and 4-byte characters: 509 bytes in 503 characters, so that a
/// server counting characters is caught.
fn mixed_payload() -> String {
    format!("{PLD}é€😀")
}

/// A KB figure (bytes / 1024) must equal `bytes` to within float noise.
fn exact_kb(actual: &Value, bytes: u64, what: &str) -> CaseResult {
    let expected = bytes as f64 / 1024.0;
    match actual.as_f64() {
        Some(v) if (v - expected).abs() < 1e-9 => Ok(()),
        _ => Err(Failure::mismatch(format!("{what} ({bytes} bytes)"), expected, actual)),
    }
}

/// A KB figure compared to two decimals, as upstream does.
fn kb_to_two_decimals(actual: &Value, bytes: u64, what: &str) -> CaseResult {
    let expected = (bytes as f64 / 1024.0 * 100.0).round();
    match actual.as_f64() {
        Some(v) if (v * 100.0).round() == expected => Ok(()),
        _ => Err(Failure::mismatch(format!("{what} ({bytes} bytes) to two decimals"), expected / 100.0, actual)),
    }
}

/// An info map entry for a collection without live records: absent or `0` (A-04, A-05).
fn absent_or_zero(map: &Value, coll: &str, what: &str) -> CaseResult {
    match map.get(coll) {
        None => Ok(()),
        Some(v) if v.as_f64() == Some(0.0) => Ok(()),
        Some(v) => Err(Failure::mismatch(format!("{what}: {coll} has no live records"), "absent or 0", v)),
    }
}

/// A DELETE `?ids` body: `{"modified": t}` by the rule, the bare number under the compat line.
fn ids_delete_body(cx: &mut Ctx, resp: &Resp, t: Stamp) -> CaseResult {
    let body = resp.json()?;
    let rule = (|| -> CaseResult {
        ensure_eq!(vec!["modified"], keys(&body), "keys of the DELETE ?ids body");
        ensure_eq!(t, Stamp::from_json(&body["modified"])?, "`modified` of the DELETE ?ids body");
        Ok(())
    })();
    let compat = || -> CaseResult {
        ensure_eq!(Some(t), body.is_number().then(|| Stamp::from_json(&body).ok()).flatten(), "bare-number body");
        Ok(())
    };
    cx.rule_or_compat(rule, compat, "DELETE ?ids answers with the bare ts")
}

/// `[used, quota]` of info/quota.
async fn quota_pair(cx: &mut Ctx) -> Result<(Value, Value), Failure> {
    let body = cx.get("info/quota").await?.status(200)?.json()?;
    match body.as_array().map(Vec::as_slice) {
        Some([used, limit]) => Ok((used.clone(), limit.clone())),
        _ => Err(Failure::mismatch("info/quota", "a two-element list", &body)),
    }
}

/// The second element of info/quota: the enforced quota in KB, else `null`; syncstorage-rs
/// always sends `null`.
fn quota_limit_element(cx: &mut Ctx, limit: &Value) -> CaseResult {
    let rule = match cx.quota() {
        Some(q) => exact_kb(limit, q, "info/quota limit"),
        None if limit.is_null() => Ok(()),
        None => Err(Failure::mismatch("info/quota limit without an enforced quota", "null", limit)),
    };
    let compat = || if limit.is_null() { Ok(()) } else { Err(Failure::mismatch("info/quota limit", "null", limit)) };
    cx.rule_or_compat(rule, compat, "info/quota reports no limit")
}

/// Refused access to another user's data: 400, 401 or 403 (reference 401/0).
fn refused(resp: &Resp, what: &str) -> CaseResult {
    ensure!([400, 401, 403].contains(&resp.code()), "{what}: expected 400, 401 or 403, got {} {}", resp.code(), resp.text());
    Ok(())
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("A-01", "info/collections maps each written collection to its write's ts", |mut cx| {
            Box::pin(async move {
                let empty = cx.get("info/collections").await?;
                ensure_eq!(json!({}), empty.status(200)?.json()?, "a new user has no collections");
                ensure_eq!(Some("0"), empty.header("x-weave-records"), "X-Weave-Records of an empty map");
                let one = cx.put("storage/col1/a", json!({ "payload": "x" })).await?;
                let t1 = one.status(200)?.stamp("x-last-modified")?;
                let two = cx.post("storage/col2", json!([{ "id": "b", "payload": "y" }])).await?;
                let t2 = Stamp::from_json(&two.status(200)?.json()?["modified"])?;
                let listed = cx.get("info/collections").await?;
                let map = listed.status(200)?.json()?;
                ensure_eq!(vec!["col1", "col2"], keys(&map), "listed collections");
                ensure_eq!(t1, Stamp::from_json(&map["col1"])?, "col1 ts");
                ensure_eq!(t2, Stamp::from_json(&map["col2"])?, "col2 ts");
                ensure_eq!(Some("2"), listed.header("x-weave-records"), "X-Weave-Records counts entries");
                ensure_eq!(t2, listed.stamp("x-last-modified")?, "X-Last-Modified is the storage ts");
                // An update moves its own collection only.
                let t3 = post_answer(cx.post("storage/col2", json!([{ "id": "b", "payload": "z" }])).await?.status(200)?)?.modified;
                ensure!(t3 > t2, "an update gets a later ts: {t3} after {t2}");
                let (map, storage) = info(&mut cx).await?;
                ensure_eq!(t1, Stamp::from_json(&map["col1"])?, "col1 ts after col2 changed");
                ensure_eq!(t3, Stamp::from_json(&map["col2"])?, "col2 ts after its update");
                ensure_eq!(t3, storage, "storage ts after the update");
                Ok(())
            })
        })
        .upstream(&["test_get_info_collections", "test_bad_cache"]),
        Case::new("A-01", "a collection holding only an open batch is not listed", |mut cx| {
            Box::pin(async move {
                let t = cx.put("storage/real/a", json!({ "payload": "x" })).await?.status(200)?.stamp("x-last-modified")?;
                cx.post("storage/pending?batch=true", json!([{ "id": "a", "payload": "x" }])).await?.status(202)?;
                let (map, storage) = info(&mut cx).await?;
                ensure_eq!(vec!["real"], keys(&map), "an uncommitted batch is invisible");
                ensure_eq!(t, storage, "the storage ts ignores the open batch");
                Ok(())
            })
        }),
        Case::new("A-02", "an expired token still reads info/collections and nothing else", |mut cx| {
            Box::pin(async move {
                let bsos: Vec<Value> = (0..3).map(|i| json!({ "id": format!("{i:02}"), "payload": "xxx" })).collect();
                let t = cx.post("storage/col1", json!(bsos)).await?.status(200)?.stamp("x-last-modified")?;
                let expired = cx.me().expired();
                let listed = cx.send_as(&expired, SyncRequest::get("info/collections")).await?;
                let map = listed.status(200)?.json()?;
                ensure_eq!(vec!["col1"], keys(&map), "info/collections with an expired token");
                ensure_eq!(t, Stamp::from_json(&map["col1"])?, "col1 ts read with an expired token");
                let denied = [
                    SyncRequest::post("storage/col1").json(&json!([{ "id": "00", "payload": "aaa" }])),
                    SyncRequest::get("storage/col1"),
                    SyncRequest::get("storage/col1/00"),
                    SyncRequest::put("storage/col1/00").json(&json!({ "payload": "aaa" })),
                    SyncRequest::delete("storage/col1/01"),
                    SyncRequest::delete("storage"),
                    SyncRequest::get("info/quota"),
                    SyncRequest::get("info/collection_counts"),
                    SyncRequest::get("info/configuration"),
                ];
                for req in denied {
                    let v = cx.variant(format!("{} {} with an expired token", req.method(), req.path()));
                    let r = async { cx.send_as(&expired, req).await?.error(401, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                ensure_eq!(vec!["00", "01", "02"], ids(&mut cx, "col1").await?, "records after the refused writes");
                ensure_eq!(json!("xxx"), record(&mut cx, "storage/col1/00").await?["payload"], "payload of 00");
                Ok(())
            })
        })
        .upstream(&["test_accessing_info_collections_with_an_expired_token"]),
        Case::new("A-03", "info/quota counts live payload bytes as KB", |mut cx| {
            Box::pin(async move {
                let (used, limit) = quota_pair(&mut cx).await?;
                exact_kb(&used, 0, "usage of a new user")?;
                quota_limit_element(&mut cx, &limit)?;
                let payload = mixed_payload();
                cx.put("storage/usage/12345", json!({ "payload": payload })).await?.status(200)?;
                let (used, _) = quota_pair(&mut cx).await?;
                exact_kb(&used, 509, "usage after one record")?;
                // An update replaces the bytes it overwrites; another collection adds its own.
                cx.put("storage/usage/12345", json!({ "payload": "XyX" })).await?.status(200)?;
                cx.put("storage/other/1", json!({ "payload": "é".repeat(10) })).await?.status(200)?;
                let (used, limit) = quota_pair(&mut cx).await?;
                exact_kb(&used, 3 + 20, "usage after an update and a second collection")?;
                quota_limit_element(&mut cx, &limit)
            })
        })
        .upstream(&["test_quota"]),
        Case::new("A-03", "info/quota reports an enforced quota in KB", |mut cx| {
            Box::pin(async move {
                cx.put("storage/usage/1", json!({ "payload": "XyX" })).await?.status(200)?;
                let (used, limit) = quota_pair(&mut cx).await?;
                exact_kb(&used, 3, "usage")?;
                quota_limit_element(&mut cx, &limit)
            })
        })
        .needs(&[Need::Quota])
        .upstream(&["test_quota"]),
        Case::new("A-04", "info/collection_usage gives each collection's live payload KB", |mut cx| {
            Box::pin(async move {
                let two = json!([{ "id": "13", "payload": "XyX" }, { "id": "14", "payload": mixed_payload() }]);
                cx.post("storage/u1", two).await?.status(200)?;
                cx.post("storage/u2", json!([{ "id": "a", "payload": "😀".repeat(100) }])).await?.status(200)?;
                cx.put("storage/u3/never", json!({ "payload": "x".repeat(300), "ttl": 0 })).await?.status(200)?;
                cx.post("storage/u4", json!([{ "id": "a", "payload": "x".repeat(100) }])).await?.status(200)?;
                cx.delete("storage/u4?ids=a").await?.status(200)?;
                let usage = cx.get("info/collection_usage").await?.status(200)?.json()?;
                kb_to_two_decimals(&usage["u1"], 3 + 509, "usage of u1")?;
                kb_to_two_decimals(&usage["u2"], 400, "usage of u2 (100 four-byte characters)")?;
                absent_or_zero(&usage, "u3", "usage")?;
                absent_or_zero(&usage, "u4", "usage")?;
                for name in keys(&usage) {
                    ensure!(["u1", "u2", "u3", "u4"].contains(&name.as_str()), "usage lists an unknown collection {name}");
                }
                Ok(())
            })
        })
        .upstream(&["test_collection_usage"]),
        Case::new("A-05", "info/collection_counts gives each collection's live record count", |mut cx| {
            Box::pin(async move {
                let make = |n: usize| json!((0..n).map(|i| json!({ "id": format!("{i:02}"), "payload": "xxx" })).collect::<Vec<_>>());
                cx.post("storage/c1", make(3)).await?.status(200)?;
                cx.post("storage/c2", make(5)).await?.status(200)?;
                cx.put("storage/c3/never", json!({ "payload": "x", "ttl": 0 })).await?.status(200)?;
                let counts = cx.get("info/collection_counts").await?.status(200)?.json()?;
                ensure_eq!(json!(3), counts["c1"], "count of c1");
                ensure_eq!(json!(5), counts["c2"], "count of c2");
                absent_or_zero(&counts, "c3", "counts")?;
                // Deletes lower the count at once.
                cx.delete("storage/c2/00").await?.status(200)?;
                cx.delete("storage/c2?ids=01,02").await?.status(200)?;
                let counts = cx.get("info/collection_counts").await?.status(200)?.json()?;
                ensure_eq!(json!(2), counts["c2"], "count of c2 after deleting 3 of 5");
                // Expiring every record of c1 (ttl 0 on live records) empties it.
                let expire = json!((0..3).map(|i| json!({ "id": format!("{i:02}"), "ttl": 0 })).collect::<Vec<_>>());
                let answer = post_answer(cx.post("storage/c1", expire).await?.status(200)?)?;
                ensure_eq!(3, answer.success.len(), "ttl-0 updates accepted: {answer:?}");
                let counts = cx.get("info/collection_counts").await?.status(200)?.json()?;
                absent_or_zero(&counts, "c1", "counts after c1 expired")?;
                ensure_eq!(json!(2), counts["c2"], "count of c2 after c1 expired");
                Ok(())
            })
        })
        .upstream(&["test_get_collection_count"]),
        Case::new("A-06", "info/configuration publishes every limit as an integer", |mut cx| {
            Box::pin(async move {
                let config = cx.get("info/configuration").await?.status(200)?.json()?;
                let published = cx.limits().clone();
                for (key, known) in [
                    ("max_post_records", published.max_post_records),
                    ("max_post_bytes", published.max_post_bytes),
                    ("max_record_payload_bytes", published.max_record_payload_bytes),
                    ("max_request_bytes", published.max_request_bytes),
                    ("max_total_records", published.max_total_records),
                    ("max_total_bytes", published.max_total_bytes),
                ] {
                    let v = cx.variant(key);
                    let r = (|| {
                        let value = &config[key];
                        ensure!(value.is_u64() && value.as_u64() > Some(0), "{key} must be a positive integer, got {value}");
                        ensure_eq!(Some(known), value.as_u64(), "{key} as probed before the run");
                        Ok(())
                    })();
                    cx.settle(v, r);
                }
                if let Some(q) = config.get("max_quota_limit") {
                    ensure!(q.is_u64(), "max_quota_limit, when present, is an integer, got {q}");
                }
                if let Some(c) = config.get("collections") {
                    ensure!(c.is_object(), "collections, when present, maps names to overrides, got {c}");
                }
                Ok(())
            })
        })
        .upstream(&["test_batch_size_limits"]),
        Case::new("A-06", "info/configuration ignores precondition headers", |mut cx| {
            Box::pin(async move {
                let t = cx.put("storage/c/a", json!({ "payload": "x" })).await?.status(200)?.stamp("x-last-modified")?;
                let plain = cx.get("info/configuration").await?.status(200)?.json()?;
                let future = t.plus_cs(360_000).to_string();
                let since = cx.send(SyncRequest::get("info/configuration").header("X-If-Modified-Since", future)).await?;
                ensure_eq!(plain, since.status(200)?.json()?, "configuration despite X-If-Modified-Since in the future");
                let unmod = cx.send(SyncRequest::get("info/configuration").header("X-If-Unmodified-Since", "0")).await?;
                ensure_eq!(plain, unmod.status(200)?.json()?, "configuration despite X-If-Unmodified-Since: 0");
                Ok(())
            })
        }),
        Case::new("A-07", "an unknown collection lists as [] with X-Last-Modified 0.00", |mut cx| {
            Box::pin(async move {
                let resp = cx.get("storage/neverwritten").await?;
                ensure_eq!(json!([]), resp.status(200)?.json()?, "listing");
                ensure_eq!(Some("0.00"), resp.header("x-last-modified"), "X-Last-Modified");
                let full = cx.get("storage/neverwritten?full=1").await?;
                ensure_eq!(json!([]), full.status(200)?.json()?, "full listing");
                Ok(())
            })
        })
        .upstream(&["test_get_collection_only"]),
        Case::new("A-07", "a collection lists its ids, or its records with full", |mut cx| {
            Box::pin(async move {
                let bsos = json!([
                    { "id": "00", "payload": "xxx" },
                    { "id": "01", "payload": "xxx" },
                    { "id": "02", "payload": "xxx", "sortindex": 5 },
                ]);
                let t = post_answer(cx.post("storage/col", bsos).await?.status(200)?)?.modified;
                let listing = cx.get("storage/col").await?;
                let mut ids: Vec<Value> = listing.status(200)?.json()?.as_array().cloned().unwrap_or_default();
                ids.sort_by_key(|v| v.to_string());
                ensure_eq!(vec![json!("00"), json!("01"), json!("02")], ids, "ids without full");
                ensure_eq!(t, listing.stamp("x-last-modified")?, "X-Last-Modified is the collection ts");
                let full = cx.get("storage/col?full=1").await?.status(200)?.json()?;
                let mut items = full.as_array().cloned().unwrap_or_default();
                items.sort_by_key(|v| v["id"].to_string());
                ensure_eq!(3, items.len(), "records with full: {full}");
                for (item, id) in items.iter().zip(["00", "01", "02"]) {
                    ensure_eq!(json!(id), item["id"], "id of a full item");
                    ensure_eq!(json!("xxx"), item["payload"], "payload of {id}");
                    ensure_eq!(t, Stamp::from_json(&item["modified"])?, "modified of {id}");
                }
                ensure_eq!(json!(5), items[2]["sortindex"], "sortindex of 02");
                Ok(())
            })
        })
        .upstream(&["test_get_collection_only"]),
        Case::new("A-08", "a POST creates and updates several records at one ts", |mut cx| {
            Box::pin(async move {
                let first = json!([{ "id": "12", "payload": PLD }, { "id": "13", "payload": PLD }]);
                let a1 = post_answer(cx.post("storage/col", first).await?.status(200)?)?;
                ensure_eq!(vec!["12", "13"], a1.success, "success of the first POST");
                ensure!(a1.failed.is_empty(), "nothing fails in the first POST: {:?}", a1.failed);
                for id in ["12", "13"] {
                    let v = cx.variant(format!("{id} after the first POST"));
                    let r = read_back(&mut cx, id, PLD, a1.modified).await;
                    cx.settle(v, r);
                }
                let second = json!([{ "id": "13", "payload": "XyX" }, { "id": "14", "payload": PLD }]);
                let a2 = post_answer(cx.post("storage/col", second).await?.status(200)?)?;
                ensure!(a2.modified > a1.modified, "the second POST is later: {} after {}", a2.modified, a1.modified);
                for (id, payload, t, what) in
                    [("12", PLD, a1.modified, "kept"), ("13", "XyX", a2.modified, "updated"), ("14", PLD, a2.modified, "created")]
                {
                    let v = cx.variant(format!("{id} {what} by the second POST"));
                    let r = read_back(&mut cx, id, payload, t).await;
                    cx.settle(v, r);
                }
                let third = json!([{ "id": "one", "payload": PLD }, { "id": "two", "payload": PLD, "sortindex": "FAIL" }]);
                let a3 = post_answer(cx.post("storage/col", third).await?.status(200)?)?;
                ensure_eq!(vec!["one"], a3.success, "only the valid record succeeds");
                ensure!(a3.failed.contains_key("two"), "the bad sortindex fails its record: {:?}", a3.failed);
                cx.get("storage/col/two").await?.error(404, 0)?;
                Ok(())
            })
        })
        .upstream(&["test_set_collection"]),
        Case::new("A-09", "deleting a collection removes it; deleting it again is fine", |mut cx| {
            Box::pin(async move {
                let bsos = json!([{ "id": "12", "payload": PLD }, { "id": "13", "payload": PLD }, { "id": "14", "payload": PLD }]);
                cx.post("storage/col", bsos).await?.status(200)?;
                let t_other = cx.put("storage/other/x", json!({ "payload": "x" })).await?.status(200)?.stamp("x-last-modified")?;
                ensure_eq!(3, ids(&mut cx, "col").await?.len(), "records before the delete");
                let deleted = cx.delete("storage/col").await?;
                let t = body_stamp(deleted.status(200)?)?;
                let (map, storage) = info(&mut cx).await?;
                ensure_eq!(vec!["other"], keys(&map), "collections after the delete");
                ensure_eq!(t_other, Stamp::from_json(&map["other"])?, "the other collection keeps its ts");
                // I-04: a write's T is above every earlier one; its Compat line lets writes to
                // different collections share a T.
                let after = (|| {
                    ensure!(t > t_other, "the delete is a write after the last one: {t} after {t_other}");
                    Ok(())
                })();
                cx.rule_or_compat(
                    after,
                    || {
                        ensure!(t >= t_other, "the delete's T {t} below the earlier write's {t_other}");
                        Ok(())
                    },
                    "a delete may share the T of a write to another collection (I-04)",
                )?;
                ensure_eq!(t, storage, "the delete's ts becomes the storage ts");
                ensure_eq!(Vec::<String>::new(), ids(&mut cx, "col").await?, "listing after the delete");
                cx.get("storage/col/12").await?.error(404, 0)?;
                let again = cx.delete("storage/col").await?;
                ensure_eq!(storage, body_stamp(again.status(200)?)?, "a second delete reports the storage ts");
                let unknown = cx.delete("storage/neverwritten").await?;
                ensure_eq!(storage, body_stamp(unknown.status(200)?)?, "deleting an unknown collection");
                ensure_eq!((map, storage), info(&mut cx).await?, "nothing changed after deleting absent collections");
                Ok(())
            })
        })
        .upstream(&["test_delete_collection_items", "test_delete_storage"]),
        Case::new("A-09", "deleting a collection discards its open batch", |mut cx| {
            Box::pin(async move {
                cx.put("storage/col/keep", json!({ "payload": "x" })).await?.status(200)?;
                let started = cx.post("storage/col?batch=true", json!([{ "id": "staged", "payload": "y" }])).await?;
                let batch = started_batch(&started)?;
                cx.delete("storage/col").await?.status(200)?;
                let commit = batch_post("col", &batch, true).json(&json!([]));
                let resp = cx.send(commit).await?;
                ensure_eq!(400, resp.code(), "committing a batch of a deleted collection");
                ensure_eq!(Vec::<String>::new(), ids(&mut cx, "col").await?, "nothing of the batch appears");
                Ok(())
            })
        })
        .upstream(&["test_delete_collection_items"]),
        Case::new("A-10", "deleting listed ids keeps the rest and the collection, at a new ts", |mut cx| {
            Box::pin(async move {
                let guid = |i: usize| format!("6820f3ca-6e8a-4ff4-8af7-8b3625d7d65{i}");
                let bsos: Vec<Value> = (0..5).map(|i| json!({ "id": guid(i), "payload": PLD })).collect();
                let t0 = post_answer(cx.post("storage/passwords", json!(bsos)).await?.status(200)?)?.modified;
                let two = format!("{},{}", guid(0), guid(1));
                let resp = cx.delete(&format!("storage/passwords?ids={two}")).await?;
                let t = resp.status(200)?.stamp("x-last-modified")?;
                ids_delete_body(&mut cx, &resp, t)?;
                ensure!(t > t0, "the delete gets a new ts: {t} after {t0}");
                ensure_eq!(json!([]), cx.get(&format!("storage/passwords?ids={two}")).await?.status(200)?.json()?, "deleted ids");
                ensure_eq!(vec![guid(2), guid(3), guid(4)], ids(&mut cx, "passwords").await?, "the rest remains");
                let (map, storage) = info(&mut cx).await?;
                ensure_eq!(t, Stamp::from_json(&map["passwords"])?, "collection ts after the delete");
                ensure_eq!(t, storage, "storage ts after the delete");
                // Deleting the last ones leaves an empty collection that is still listed.
                let rest = format!("storage/passwords?ids={},{},{}", guid(2), guid(3), guid(4));
                let resp = cx.delete(&rest).await?;
                let t2 = resp.status(200)?.stamp("x-last-modified")?;
                ids_delete_body(&mut cx, &resp, t2)?;
                ensure!(t2 > t, "the second delete gets a new ts: {t2} after {t}");
                let (map, _) = info(&mut cx).await?;
                ensure_eq!(t2, Stamp::from_json(&map["passwords"])?, "an emptied collection stays listed with its ts");
                let listing = cx.get("storage/passwords").await?;
                ensure_eq!(json!([]), listing.status(200)?.json()?, "listing of the emptied collection");
                ensure_eq!(t2, listing.stamp("x-last-modified")?, "X-Last-Modified of the emptied collection");
                Ok(())
            })
        })
        .upstream(&["test_delete_collection_items", "test_guid_deletion"]),
        Case::new("A-10", "ids may be percent-encoded; an unknown collection is not created", |mut cx| {
            Box::pin(async move {
                let bsos: Vec<Value> = (0..5).map(|i| json!({ "id": format!("test-{i}"), "payload": PLD })).collect();
                cx.post("storage/col2", json!(bsos)).await?.status(200)?;
                let resp = cx.delete("storage/col2?ids=test-0%2Ctest-1").await?;
                let t = resp.status(200)?.stamp("x-last-modified")?;
                ids_delete_body(&mut cx, &resp, t)?;
                let gone = cx.get("storage/col2?ids=test-0%2Ctest-1").await?.status(200)?.json()?;
                ensure_eq!(json!([]), gone, "percent-encoded ids are deleted");
                ensure_eq!(vec!["test-2", "test-3", "test-4"], ids(&mut cx, "col2").await?, "the rest remains");
                let before = info(&mut cx).await?;
                cx.delete("storage/nothere?ids=a,b").await?.status(200)?;
                ensure_eq!(before, info(&mut cx).await?, "DELETE ?ids on an unknown collection changes nothing");
                Ok(())
            })
        })
        .upstream(&["test_specifying_ids_with_percent_encoded_query_string"]),
        Case::new("A-11", "a record reads as id, modified, payload and sortindex only", |mut cx| {
            Box::pin(async move {
                let bsos = json!([
                    { "id": "00", "payload": "xxx" },
                    { "id": "01", "payload": "xxx" },
                    { "id": "02", "payload": "xxx", "sortindex": 3 },
                    { "id": "03", "payload": "xxx", "ttl": 100_000 },
                ]);
                let t = post_answer(cx.post("storage/col", bsos).await?.status(200)?)?.modified;
                let resp = cx.get("storage/col/01").await?;
                let bso = resp.status(200)?.json()?;
                ensure_eq!(vec!["id", "modified", "payload"], keys(&bso), "keys of a record without sortindex");
                ensure_eq!(json!("01"), bso["id"], "id");
                ensure_eq!(json!("xxx"), bso["payload"], "payload");
                ensure_eq!(t, Stamp::from_json(&bso["modified"])?, "modified");
                ensure_eq!(t, resp.stamp("x-last-modified")?, "X-Last-Modified of a record");
                let with_index = record(&mut cx, "storage/col/02").await?;
                ensure_eq!(vec!["id", "modified", "payload", "sortindex"], keys(&with_index), "keys with a sortindex");
                ensure_eq!(json!(3), with_index["sortindex"], "sortindex");
                let with_ttl = record(&mut cx, "storage/col/03").await?;
                ensure_eq!(vec!["id", "modified", "payload"], keys(&with_ttl), "a ttl is never echoed");
                for item in cx.get("storage/col?full=1").await?.status(200)?.json()?.as_array().cloned().unwrap_or_default() {
                    ensure!(item.get("ttl").is_none() && item.get("payload_size").is_none(), "internal fields in a listing: {item}");
                }
                cx.get("storage/col/99").await?.error(404, 0)?;
                cx.put("storage/col/04", json!({ "payload": "x", "ttl": 0 })).await?.status(200)?;
                cx.get("storage/col/04").await?.error(404, 0)?;
                Ok(())
            })
        })
        .upstream(&["test_get_item", "test_that_internal_server_fields_are_not_echoed"]),
        Case::new("A-11", "meta/global is 404 until written, then reads back plainly", |mut cx| {
            Box::pin(async move {
                cx.get("storage/meta/global").await?.error(404, 0)?;
                ensure_eq!(json!([]), cx.get("storage/meta").await?.status(200)?.json()?, "meta before the write");
                cx.put("storage/meta/global", json!({ "payload": "blob" })).await?.status(200)?;
                ensure_eq!(json!(["global"]), cx.get("storage/meta").await?.status(200)?.json()?, "meta after the write");
                let bso = record(&mut cx, "storage/meta/global").await?;
                ensure_eq!(json!("blob"), bso["payload"], "payload of meta/global");
                ensure_eq!(vec!["id", "modified", "payload"], keys(&bso), "keys of meta/global");
                Ok(())
            })
        })
        .upstream(&["test_meta_global_sanity"]),
        Case::new("A-12", "PUT creates, then replaces, answering with its ts as a bare number", |mut cx| {
            Box::pin(async move {
                let mut last = None;
                for payload in [PLD, "YYY"] {
                    let resp = cx.put("storage/col/12345", json!({ "payload": payload })).await?;
                    let header = resp.status(200)?.stamp("x-last-modified")?;
                    ensure!(resp.json()?.is_number(), "a PUT answers with a bare JSON number, got {}", resp.text());
                    let body = Stamp::parse(&resp.text()).map_err(|m| Failure::new(format!("PUT body: {m}")))?;
                    ensure_eq!(header, body, "PUT body vs X-Last-Modified");
                    if let Some(previous) = last {
                        ensure!(body > previous, "the update gets a later ts: {body} after {previous}");
                    }
                    let bso = record(&mut cx, "storage/col/12345").await?;
                    ensure_eq!(json!(payload), bso["payload"], "payload after the PUT");
                    ensure_eq!(body, Stamp::from_json(&bso["modified"])?, "modified after the PUT");
                    last = Some(body);
                }
                Ok(())
            })
        })
        .upstream(&["test_set_item"]),
        Case::new("A-13", "deleting a record answers with its ts; a missing one is 404", |mut cx| {
            Box::pin(async move {
                let bsos = json!([{ "id": "12", "payload": PLD }, { "id": "13", "payload": PLD }, { "id": "14", "payload": PLD }]);
                let t0 = post_answer(cx.post("storage/col", bsos).await?.status(200)?)?.modified;
                let resp = cx.delete("storage/col/13").await?;
                let t = resp.status(200)?.stamp("x-last-modified")?;
                let body = resp.json()?;
                ensure_eq!(vec!["modified"], keys(&body), "keys of the DELETE body");
                ensure_eq!(t, Stamp::from_json(&body["modified"])?, "`modified` of the DELETE body");
                ensure!(t > t0, "the delete gets a new ts: {t} after {t0}");
                ensure_eq!(vec!["12", "14"], ids(&mut cx, "col").await?, "records after the delete");
                let (map, storage) = info(&mut cx).await?;
                ensure_eq!(t, Stamp::from_json(&map["col"])?, "collection ts after the delete");
                ensure_eq!(t, storage, "storage ts after the delete");
                cx.delete("storage/col/13").await?.error(404, 0)?;
                cx.delete("storage/col/12982").await?.error(404, 0)?;
                cx.put("storage/col/gone", json!({ "payload": "x", "ttl": 0 })).await?.status(200)?;
                cx.delete("storage/col/gone").await?.error(404, 0)?;
                Ok(())
            })
        })
        .upstream(&["test_delete_item"]),
        Case::new("A-14", "DELETE /storage wipes everything at a later storage ts", |mut cx| {
            Box::pin(async move { wipe_case(&mut cx, "storage").await })
        })
        .upstream(&["test_delete_storage"]),
        Case::new("A-14", "DELETE of the user root wipes everything at a later storage ts", |mut cx| {
            Box::pin(async move { wipe_case(&mut cx, "").await })
        })
        .upstream(&["test_delete_storage"]),
        Case::new("A-15", "a method a known path does not support gives 405 and no body", |mut cx| {
            Box::pin(async move {
                cx.put("storage/col/rec", json!({ "payload": "x" })).await?.status(200)?;
                let wrong = [
                    SyncRequest::new(Method::PATCH, "storage/col").json(&json!([{ "id": "a", "payload": "x" }])),
                    SyncRequest::put("info/quota").json(&json!({})),
                    SyncRequest::post("storage/col/rec").json(&json!({ "payload": "y" })),
                    SyncRequest::put("storage/col").json(&json!([])),
                    SyncRequest::post("info/collections").json(&json!({})),
                ];
                for req in wrong {
                    let v = cx.variant(format!("{} {}", req.method(), req.path()));
                    // A server may answer 405 without reading the body and then close the
                    // connection without saying so (syncstorage-rs does); each request gets a
                    // connection of its own so that the record read below does not inherit it.
                    let req = req.header("Connection", "close");
                    let r = async { cx.send(req).await?.status(405)?.empty().map(drop) }.await;
                    cx.settle(v, r);
                }
                ensure_eq!(json!("x"), record(&mut cx, "storage/col/rec").await?["payload"], "the record is untouched");
                Ok(())
            })
        })
        .upstream(&["test_patch_is_not_allowed"]),
        Case::new("A-16", "an unknown path gives 404 with a JSON 0", |mut cx| {
            Box::pin(async move {
                let unknown = [
                    SyncRequest::get("nonexistent/url"),
                    SyncRequest::get("info/nonexistent"),
                    SyncRequest::delete("nonexistent/url"),
                    SyncRequest::get("storage/col/id/extra"),
                ];
                for req in unknown {
                    let v = cx.variant(format!("{} {}", req.method(), req.path()));
                    let r = async {
                        let resp = cx.send(req).await?;
                        resp.error(404, 0)?;
                        ensure!(
                            resp.header("content-type").is_some_and(|c| c.starts_with("application/json")),
                            "404 body must be sent as application/json"
                        );
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_that_404_responses_have_a_json_body"]),
        Case::new("A-17", "heartbeat answers unsigned with status, database, version and quota", |mut cx| {
            Box::pin(async move {
                let hb = cx.send_anon(SyncRequest::get("/__heartbeat__")).await?;
                let body = hb.status(200)?.json()?;
                for key in ["status", "database", "version", "quota"] {
                    ensure!(body.get(key).is_some(), "heartbeat body lacks {key}: {body}");
                }
                ensure!(body["quota"]["enabled"].is_boolean(), "quota.enabled is a boolean: {body}");
                ensure!(body["quota"].get("size").is_some(), "quota.size is present: {body}");
                let lb = cx.send_anon(SyncRequest::get("/__lbheartbeat__")).await?;
                ensure!(lb.code() == 200 || lb.code() >= 500, "lbheartbeat gives 200 or a 5xx, got {}", lb.code());
                Ok(())
            })
        })
        .upstream(&["test_cors_settings_are_set", "test_cors_allows_any_origin"]),
        Case::new("A-18", "a CORS preflight echoes any origin with a positive max-age", |mut cx| {
            Box::pin(async move {
                for origin in ["localhost", "http://test-website.com"] {
                    let v = cx.variant(format!("preflight from origin {origin}"));
                    let r = async {
                        let preflight = SyncRequest::new(Method::OPTIONS, "/__heartbeat__")
                            .header("Origin", origin)
                            .header("Access-Control-Request-Method", "GET")
                            .header("Access-Control-Request-Headers", "Content-Type");
                        let resp = cx.send_anon(preflight).await?;
                        ensure!([200, 204].contains(&resp.code()), "preflight from {origin}: 200 or 204, got {}", resp.code());
                        ensure_eq!(Some(origin), resp.header("access-control-allow-origin"), "allowed origin");
                        let max_age = resp.require_header("access-control-max-age")?;
                        ensure!(
                            max_age.trim().parse::<i64>().is_ok_and(|s| s > 0),
                            "access-control-max-age must be a positive number of seconds, got {max_age:?}"
                        );
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_cors_settings_are_set", "test_cors_allows_any_origin"]),
        Case::new("A-19", "missing or bad Hawk credentials give 401", |mut cx| {
            Box::pin(async move {
                let forged = r#"Hawk id="not-a-token", ts="1", nonce="abc", mac="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=""#;
                let bad = [
                    ("unsigned GET info/collections", SyncRequest::get("info/collections").unsigned()),
                    ("unsigned PUT storage/col/x", SyncRequest::put("storage/col/x").json(&json!({ "payload": "x" })).unsigned()),
                    ("GET info/collections signed with a wrong key", SyncRequest::get("info/collections").wrong_key()),
                    (
                        "GET info/collections with a forged Hawk header",
                        SyncRequest::get("info/collections").header("Authorization", forged),
                    ),
                ];
                for (what, req) in bad {
                    let v = cx.variant(what);
                    let r = async { cx.send(req).await?.error(401, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                cx.get("storage/col/x").await?.error(404, 0)?;
                ensure_eq!(json!({}), info(&mut cx).await?.0, "nothing was written without credentials");
                Ok(())
            })
        }),
        Case::new("A-19", "a token for one uid reaches no other uid's data", |mut cx| {
            Box::pin(async move {
                let other = cx.user();
                let put = SyncRequest::put("storage/secret/x").json(&json!({ "payload": "mine" }));
                cx.send_as(&other, put).await?.status(200)?;
                let root = format!("/1.5/{}", other.uid());
                let read = cx.send(SyncRequest::get(format!("{root}/info/collections"))).await?;
                refused(&read, "reading another uid's info/collections")?;
                ensure!(!read.text().contains("secret"), "the refusal leaks data: {}", read.text());
                let write = SyncRequest::put(format!("{root}/storage/secret/x")).json(&json!({ "payload": "theirs" }));
                refused(&cx.send(write).await?, "writing another uid's record")?;
                refused(&cx.send(SyncRequest::delete(format!("{root}/storage"))).await?, "wiping another uid")?;
                let theirs = cx.send_as(&other, SyncRequest::get("storage/secret/x")).await?;
                ensure_eq!(json!("mine"), theirs.status(200)?.json()?["payload"], "the other uid's record is untouched");
                Ok(())
            })
        }),
        Case::new("A-19", "a non-numeric uid is an unknown path", |mut cx| {
            Box::pin(async move {
                cx.send(SyncRequest::get("/1.5/abc/info/collections")).await?.error(404, 0)?;
                cx.send(SyncRequest::get("/1.5/abc/info/collections").unsigned()).await?.error(404, 0)?;
                Ok(())
            })
        }),
    ]
}

/// A-08: record `id` of `col` holds `payload`, modified at `t`.
async fn read_back(cx: &mut Ctx, id: &str, payload: &str, t: Stamp) -> CaseResult {
    let bso = record(cx, &format!("storage/col/{id}")).await?;
    ensure_eq!(json!(payload), bso["payload"], "payload of {id}");
    ensure_eq!(t, Stamp::from_json(&bso["modified"])?, "modified of {id}");
    Ok(())
}

/// A-14: a wipe through `path` (`storage` or the user root) is a write above the old storage ts.
async fn wipe_case(cx: &mut Ctx, path: &str) -> CaseResult {
    let bsos = json!([{ "id": "12", "payload": PLD }, { "id": "13", "payload": PLD }]);
    cx.post("storage/col", bsos).await?.status(200)?;
    cx.put("storage/other/x", json!({ "payload": "x" })).await?.status(200)?;
    let (_, before) = info(cx).await?;
    cx.delete(path).await?.success()?;
    let since = before.to_string();
    let after = cx.send(SyncRequest::get("info/collections").header("X-If-Modified-Since", since)).await?;
    ensure_eq!(json!({}), after.status(200)?.json()?, "info/collections after the wipe");
    let ts = after.stamp("x-last-modified")?;
    ensure!(ts > before, "the wipe moves the storage ts up: {ts} after {before}");
    ensure_eq!(Vec::<String>::new(), ids(cx, "col").await?, "listing after the wipe");
    cx.get("storage/other/x").await?.error(404, 0)?;
    let counts = cx.get("info/collection_counts").await?.status(200)?.json()?;
    ensure_eq!(json!({}), counts, "counts after the wipe");
    Ok(())
}
