//! SPEC area I: timestamps.

use std::collections::{BTreeMap, BTreeSet};

use rand::RngExt;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::steps::{batch_post, body_stamp, started_batch};
use crate::client::{SyncRequest, SyncUser};
use crate::conformance::{Case, CaseResult, Ctx, Failure, Resp, Stamp};
use crate::{ensure, ensure_eq};

/// Clauses of area I that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// A ts as the server wrote it: digits, a dot, two digits.
fn written_ts(raw: &str, what: &str) -> Result<Stamp, Failure> {
    Stamp::parse(raw).map_err(|m| Failure::mismatch(format!("{what} written with two decimals"), "digits.dd", m))
}

/// The raw `modified` of a write's body: `{"modified": ts, …}` or a bare ts.
fn body_modified(resp: &Resp, what: &str) -> Result<Stamp, Failure> {
    let text = resp.text();
    if let Ok(map) = serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(&text) {
        let raw = map.get("modified").ok_or_else(|| Failure::mismatch(format!("{what} body"), "a modified key", &text))?;
        return written_ts(raw.get(), &format!("{what} body modified"));
    }
    written_ts(text.trim(), &format!("{what} body"))
}

/// Both ts headers of a response, checked for two decimals; X-Last-Modified only when sent.
fn headers_ts(resp: &Resp, what: &str) -> Result<(Stamp, Option<Stamp>), Failure> {
    let now = written_ts(resp.require_header("x-weave-timestamp")?, &format!("{what} X-Weave-Timestamp"))?;
    let last = resp.header("x-last-modified").map(|v| written_ts(v, &format!("{what} X-Last-Modified"))).transpose()?;
    Ok((now, last))
}

/// The raw `modified` of every record of a full listing.
fn listing_modified(resp: &Resp, what: &str) -> Result<Vec<(String, Stamp)>, Failure> {
    let text = resp.text();
    let items: Vec<BTreeMap<String, Box<RawValue>>> =
        serde_json::from_str(&text).map_err(|e| Failure::mismatch(format!("{what} body"), "a list of records", e))?;
    items
        .iter()
        .map(|item| {
            let id = item.get("id").and_then(|r| serde_json::from_str::<String>(r.get()).ok()).unwrap_or_default();
            let raw = item.get("modified").ok_or_else(|| Failure::new(format!("{what}: record {id} has no modified")))?;
            Ok((id.clone(), written_ts(raw.get(), &format!("{what} modified of {id}"))?))
        })
        .collect()
}

/// info/collections with its values as written.
fn collections_map(resp: &Resp) -> Result<BTreeMap<String, Stamp>, Failure> {
    let text = resp.text();
    let map: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(&text).map_err(|e| Failure::mismatch("info/collections body", "a map", e))?;
    map.iter().map(|(k, v)| Ok((k.clone(), written_ts(v.get(), &format!("info/collections {k}"))?))).collect()
}

fn ids_of(listing: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        listing.as_array().into_iter().flatten().filter_map(|v| v.as_str().or_else(|| v["id"].as_str()).map(str::to_owned)).collect();
    ids.sort();
    ids
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Sends all of `reqs` at once, each as its user; a transport failure fails the case.
async fn all_at_once(cx: &mut Ctx, reqs: Vec<(SyncUser, SyncRequest)>) -> Result<Vec<Resp>, Failure> {
    cx.send_all(reqs).await.into_iter().collect()
}

/// A write's T from a successful answer: the ts its body carries (a bare number, or `modified`),
/// else `X-Last-Modified`. D-02 and D-04 make header and body equal and have cases of their own;
/// reading the body here keeps a server that reports a stale header on deletes (syncstorage-rs)
/// from failing area I for D-04's behaviour. A wipe's body means nothing (A-14), so its T is the
/// header.
fn t_of(resp: &Resp) -> Result<Stamp, Failure> {
    resp.success()?;
    body_stamp(resp).or_else(|_| resp.stamp("x-last-modified"))
}

/// Reads the storage ts after `what`: never below `highest` (then raised to it), and `after` when
/// given.
async fn storage_ts_after(cx: &mut Ctx, highest: &mut Stamp, after: Option<Stamp>, what: &str) -> CaseResult {
    let info = cx.get("info/collections").await?;
    let s = info.status(200)?.stamp("x-last-modified")?;
    ensure!(s >= *highest, "after {what}: storage ts {s} below {highest} seen before");
    if let Some(t) = after {
        ensure_eq!(t, s, "storage ts after {what}");
    }
    *highest = s;
    Ok(())
}

/// I-09 for one read: `X-Weave-Timestamp` is not below the last write's T `t`, the read's
/// `X-Last-Modified`, or any ts it returns.
async fn read_not_before(cx: &mut Ctx, path: &str, t: Stamp) -> CaseResult {
    let resp = cx.get(path).await?;
    let (now, last) = headers_ts(resp.status(200)?, path)?;
    ensure!(now >= t, "{path}: X-Weave-Timestamp {now} below the last write's T {t}");
    if let Some(last) = last {
        ensure!(now >= last, "{path}: X-Weave-Timestamp {now} below X-Last-Modified {last}");
    }
    if path.contains("full=1") {
        for (id, m) in listing_modified(&resp, path)? {
            ensure!(now >= m, "{path}: X-Weave-Timestamp {now} below {id}'s modified {m}");
        }
    } else if path == "storage/r/c" {
        let m = body_modified(&resp, path)?;
        ensure!(now >= m, "{path}: X-Weave-Timestamp {now} below modified {m}");
    } else if path == "info/collections" {
        for (name, m) in collections_map(&resp)? {
            ensure!(now >= m, "{path}: X-Weave-Timestamp {now} below {name}'s ts {m}");
        }
    }
    Ok(())
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("I-01", "every ts in headers and bodies has exactly two decimals", |mut cx| {
            Box::pin(async move {
                let put = cx.put("storage/dec/a", json!({ "payload": "a" })).await?;
                put.status(200)?;
                headers_ts(&put, "PUT")?;
                body_modified(&put, "PUT")?;
                let post = cx.post("storage/dec", json!([{ "id": "b", "payload": "b" }, { "id": "c", "payload": "c" }])).await?;
                post.status(200)?;
                headers_ts(&post, "POST")?;
                body_modified(&post, "POST")?;
                let start = cx.post("storage/dec?batch=true", json!([{ "id": "d", "payload": "d" }])).await?;
                let batch = started_batch(&start)?;
                headers_ts(&start, "batch start")?;
                let commit = cx.send(batch_post("dec", &batch, true).json(&json!([]))).await?;
                commit.status(200)?;
                headers_ts(&commit, "commit")?;
                body_modified(&commit, "commit")?;
                let listing = cx.get("storage/dec?full=1").await?;
                listing.status(200)?;
                headers_ts(&listing, "listing")?;
                ensure_eq!(4, listing_modified(&listing, "full listing")?.len(), "records listed");
                let one = cx.get("storage/dec/a").await?;
                one.status(200)?;
                headers_ts(&one, "record GET")?;
                body_modified(&one, "record GET")?;
                let info = cx.get("info/collections").await?;
                info.status(200)?;
                headers_ts(&info, "info/collections")?;
                collections_map(&info)?;
                for path in ["info/quota", "info/collection_counts", "info/collection_usage", "storage/dec/missing", "nonexistent/url"] {
                    let v = cx.variant(format!("GET {path}"));
                    let r = async { headers_ts(&cx.get(path).await?, path).map(|_| ()) }.await;
                    cx.settle(v, r);
                }
                for (path, what) in
                    [("storage/dec/b", "record DELETE"), ("storage/dec?ids=c", "DELETE ?ids"), ("storage/dec", "collection DELETE")]
                {
                    let v = cx.variant(format!("{what} {path}"));
                    let r = async {
                        let del = cx.delete(path).await?;
                        del.status(200)?;
                        headers_ts(&del, what)?;
                        body_modified(&del, what)?;
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_meta_global_sanity"]),
        Case::new("I-01", "ts read back from five writes filter exactly with newer", |mut cx| {
            Box::pin(async move {
                for i in 0..5 {
                    cx.post("storage/five", json!([{ "id": format!("{i:02}"), "payload": "xxx" }])).await?.status(200)?;
                }
                let listing = cx.get("storage/five?full=1").await?;
                listing.status(200)?;
                let mut stamps: Vec<Stamp> = listing_modified(&listing, "full listing")?.into_iter().map(|(_, s)| s).collect();
                stamps.sort();
                ensure_eq!(5, stamps.len(), "records listed");
                let newer = stamps[2];
                let got = cx.get(&format!("storage/five?newer={newer}")).await?.status(200)?.json()?;
                ensure_eq!(strings(&["03", "04"]), ids_of(&got), "records newer than the third ts");
                Ok(())
            })
        })
        .upstream(&["test_timestamp_numbers_are_decimals"]),
        Case::new("I-02", "writes finished before others began never carry a later ts", |mut cx| {
            Box::pin(async move {
                let users: Vec<SyncUser> = (0..4).map(|_| cx.user()).collect();
                let mut floor = Stamp(0);
                for wave in 0..5 {
                    let reqs = users
                        .iter()
                        .enumerate()
                        .map(|(i, u)| (u.clone(), SyncRequest::put(format!("storage/w{i}/r{wave}")).json(&json!({ "payload": "w" }))))
                        .collect();
                    let answers = all_at_once(&mut cx, reqs).await?;
                    let mut top = floor;
                    for a in &answers {
                        let t = t_of(a)?;
                        ensure!(t >= floor, "wave {wave}: a write got T {t}, below {floor} of a write finished before it was sent");
                        top = top.max(t);
                    }
                    // Reads sent after the wave see a clock at least as late.
                    let reads = users.iter().map(|u| (u.clone(), SyncRequest::get("info/collections"))).collect();
                    for r in all_at_once(&mut cx, reads).await? {
                        let now = r.status(200)?.stamp("x-weave-timestamp")?;
                        ensure!(now >= top, "wave {wave}: a read after the wave gave X-Weave-Timestamp {now}, below {top}");
                    }
                    floor = top;
                }
                Ok(())
            })
        }),
        Case::new("I-03", "one T for every record of a full POST and of a commit", |mut cx| {
            Box::pin(async move {
                let limits = cx.limits().clone();
                let n = limits.max_post_records.min(1000).min(limits.max_request_bytes / 64).max(2) as usize;
                cx.put("storage/bulk/r0000", json!({ "payload": "before" })).await?.status(200)?;
                let records: Vec<Value> = (0..n).map(|i| json!({ "id": format!("r{i:04}"), "payload": "x" })).collect();
                let resp = cx.post("storage/bulk", Value::Array(records)).await?;
                let body = resp.status(200)?.json()?;
                ensure_eq!(Some(n), body["success"].as_array().map(Vec::len), "records accepted");
                let t = Stamp::from_json(&body["modified"])?;
                ensure_eq!(t, resp.stamp("x-last-modified")?, "X-Last-Modified of the POST");
                ensure_eq!(t, resp.stamp("x-weave-timestamp")?, "X-Weave-Timestamp of the POST");
                let listing = cx.get("storage/bulk?full=1").await?;
                listing.status(200)?;
                let stamps = listing_modified(&listing, "bulk listing")?;
                ensure_eq!(n, stamps.len(), "records listed");
                for (id, s) in stamps {
                    ensure_eq!(t, s, "modified of {id}");
                }

                let start = cx
                    .post("storage/committed?batch=true", json!([{ "id": "s1", "payload": "1" }, { "id": "s2", "payload": "2" }]))
                    .await?;
                let batch = started_batch(&start)?;
                cx.send(batch_post("committed", &batch, false).json(&json!([{ "id": "s3", "payload": "3" }]))).await?.status(202)?;
                let body = json!([{ "id": "s1", "payload": "one" }, { "id": "s4", "payload": "4" }, { "id": "s5", "payload": "5" }]);
                let commit = cx.send(batch_post("committed", &batch, true).json(&body)).await?;
                let t = Stamp::from_json(&commit.status(200)?.json()?["modified"])?;
                ensure_eq!(t, commit.stamp("x-last-modified")?, "X-Last-Modified of the commit");
                let listing = cx.get("storage/committed?full=1").await?;
                listing.status(200)?;
                let stamps = listing_modified(&listing, "committed listing")?;
                ensure_eq!(5, stamps.len(), "records committed");
                for (id, s) in stamps {
                    ensure_eq!(t, s, "modified of {id}");
                }
                Ok(())
            })
        })
        .upstream(&["test_bulk_update_of_ttls_without_sending_data", "test_batches"]),
        Case::new("I-04", "concurrent writes each get their own T above the storage ts", |mut cx| {
            Box::pin(async move {
                let me = cx.me();
                let s0 = t_of(&cx.put("storage/seed/x", json!({ "payload": "x" })).await?)?;
                let mut writes: Vec<(String, Stamp)> = Vec::new();
                for round in 0..3 {
                    let coll = |i: usize| if i < 6 { "one".to_owned() } else { format!("c{i}") };
                    let reqs = (0..12)
                        .map(|i| {
                            let req = SyncRequest::put(format!("storage/{}/r{round}_{i}", coll(i))).json(&json!({ "payload": "p" }));
                            (me.clone(), req)
                        })
                        .collect();
                    for (i, a) in all_at_once(&mut cx, reqs).await?.iter().enumerate() {
                        match a.code() {
                            200..=299 => writes.push((coll(i), t_of(a)?)),
                            // Still refused after the retries: what kind of refusal is judged by the
                            // sequential-write case below, once for the run; D-18 wants Retry-After.
                            409 | 503 => {
                                let after = a.header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
                                ensure!(
                                    after.is_some(),
                                    "a refused concurrent write without a Retry-After in seconds:\n{}",
                                    a.0.transcript()
                                );
                            }
                            other => {
                                return Err(Failure::mismatch(
                                    "status of a concurrent PUT",
                                    "2xx, or a refusal (409/503 with Retry-After)",
                                    other,
                                ));
                            }
                        }
                    }
                }
                let storage = cx.get("info/collections").await?.status(200)?.stamp("x-last-modified")?;
                let top = writes.iter().map(|(_, t)| *t).max().unwrap_or(s0);
                ensure_eq!(top, storage, "storage ts after the writes is the latest T");
                let distinct: BTreeSet<Stamp> = writes.iter().map(|(_, t)| *t).collect();
                let rule = (|| {
                    ensure_eq!(writes.len(), distinct.len(), "distinct T among {} successful writes ({writes:?})", writes.len());
                    ensure!(writes.iter().all(|(_, t)| *t > s0), "every T above the storage ts {s0} before them: {writes:?}");
                    Ok(())
                })();
                cx.rule_or_compat(
                    rule,
                    || {
                        let mut per: BTreeMap<&str, BTreeSet<Stamp>> = BTreeMap::new();
                        for (c, t) in &writes {
                            ensure!(per.entry(c.as_str()).or_default().insert(*t), "two writes to {c} share T {t}");
                        }
                        Ok(())
                    },
                    "T rises per collection only",
                )
            })
        })
        .upstream(&["test_batch_uploads_properly_update_info_collections"]),
        Case::new("I-04", "sequential writes wait for a new T or get 409, never a 503", |mut cx| {
            Box::pin(async move {
                // One client, one request at a time, as fast as the server answers: whenever the
                // next write would land in the tick of the previous one, I-04 lets the server
                // wait or answer 409 with Retry-After. A 503 means it cannot serve (J-14), which
                // is not so: the very next request is served. Sent once each, never retried.
                let mut refused: Vec<String> = Vec::new();
                let mut conflicts = 0usize;
                let mut sent = 0usize;
                let expect_writes = |r: &Resp, what: &str, refused: &mut Vec<String>, conflicts: &mut usize| -> CaseResult {
                    match r.code() {
                        200..=299 => Ok(()),
                        409 => {
                            *conflicts += 1;
                            ensure!(
                                r.header("retry-after").is_some_and(|v| v.trim().parse::<u64>().is_ok()),
                                "{what}: a 409 without a Retry-After in seconds (D-18)"
                            );
                            Ok(())
                        }
                        503 => {
                            refused.push(format!("{what}: 503 body={} retry-after={:?}", r.text().trim(), r.header("retry-after")));
                            Ok(())
                        }
                        other => Err(Failure::mismatch(format!("{what}: status"), "2xx, 409 or (judged here) 503", other)),
                    }
                };
                for i in 0..30 {
                    let r = cx
                        .send_once(SyncRequest::put(format!("storage/seq/r{}", i % 3)).json(&json!({ "payload": format!("{i}") })))
                        .await?;
                    sent += 1;
                    expect_writes(&r, &format!("PUT {i}"), &mut refused, &mut conflicts)?;
                }
                for i in 0..10 {
                    let r =
                        cx.send_once(SyncRequest::post("storage/seq").json(&json!([{ "id": format!("p{i}"), "payload": "p" }]))).await?;
                    sent += 1;
                    expect_writes(&r, &format!("POST {i}"), &mut refused, &mut conflicts)?;
                    let r = cx.send_once(SyncRequest::delete(format!("storage/seq?ids=p{i}"))).await?;
                    sent += 1;
                    expect_writes(&r, &format!("DELETE ?ids {i}"), &mut refused, &mut conflicts)?;
                }
                let rule = if refused.is_empty() {
                    Ok(())
                } else {
                    Err(Failure::new(format!(
                        "{} of {sent} sequential writes were refused with 503 ({conflicts} with 409): {:?}",
                        refused.len(),
                        refused.iter().take(3).collect::<Vec<_>>()
                    )))
                };
                cx.rule_or_compat(
                    rule,
                    || {
                        ensure!(
                            refused.iter().all(|r| r.ends_with("503 body=0 retry-after=Some(\"10\")")),
                            "503 answers other than 503/0 with Retry-After 10: {refused:?}"
                        );
                        Ok(())
                    },
                    "writes in the tick of the previous write are refused with 503/0 and Retry-After: 10",
                )
            })
        })
        .judges_refusals(),
        Case::new("I-05", "along a random run, collection ts cover their records and the storage ts is the latest T", |mut cx| {
            Box::pin(async move {
                let colls = ["ra", "rb", "rc"];
                let mut latest = Stamp(0);
                for step in 0..16 {
                    let coll = colls[cx.rng().random_range(0..colls.len())];
                    let id = format!("i{}", cx.rng().random_range(0..4));
                    let kind = cx.rng().random_range(0..7);
                    let resp = match kind {
                        0 | 1 => cx.put(&format!("storage/{coll}/{id}"), json!({ "payload": format!("s{step}") })).await?,
                        2 => {
                            let other = format!("i{}", cx.rng().random_range(4..6));
                            cx.post(&format!("storage/{coll}"), json!([{ "id": id, "payload": "p" }, { "id": other, "sortindex": step }]))
                                .await?
                        }
                        3 => cx.delete(&format!("storage/{coll}/{id}")).await?,
                        4 => cx.delete(&format!("storage/{coll}?ids={id},i5")).await?,
                        5 => cx.delete(&format!("storage/{coll}")).await?,
                        _ => {
                            let start = cx.post(&format!("storage/{coll}?batch=true"), json!([{ "id": id, "payload": "b" }])).await?;
                            let batch = started_batch(&start)?;
                            cx.send(batch_post(coll, &batch, true).json(&json!([{ "id": "i3", "payload": "c" }]))).await?
                        }
                    };
                    match resp.code() {
                        200..=299 => latest = latest.max(t_of(&resp)?),
                        404 if kind == 3 => {}
                        other => return Err(Failure::mismatch(format!("step {step} status"), "2xx (or 404 for a missing record)", other)),
                    }
                    let info = cx.get("info/collections").await?;
                    let map = collections_map(info.status(200)?)?;
                    let storage = info.stamp("x-last-modified")?;
                    ensure_eq!(latest, storage, "step {step}: storage ts is the latest T");
                    for (name, ts) in &map {
                        ensure!(*ts <= storage, "step {step}: {name} at {ts} above the storage ts {storage}");
                        let listing = cx.get(&format!("storage/{name}?full=1")).await?;
                        listing.status(200)?;
                        ensure_eq!(*ts, listing.stamp("x-last-modified")?, "step {step}: X-Last-Modified of {name} vs info/collections");
                        for (id, m) in listing_modified(&listing, name)? {
                            ensure!(m <= *ts, "step {step}: {name}/{id} modified {m} above its collection's {ts}");
                        }
                    }
                }
                Ok(())
            })
        })
        .upstream(&["test_set_collection_with_if_modified_since", "test_get_info_collections"]),
        Case::new("I-06", "each record, ?ids and collection delete becomes the storage ts", |mut cx| {
            Box::pin(async move {
                cx.put("storage/a/1", json!({ "payload": "1" })).await?.status(200)?;
                cx.put("storage/a/2", json!({ "payload": "2" })).await?.status(200)?;
                let tb = t_of(&cx.put("storage/b/1", json!({ "payload": "1" })).await?)?;
                for (path, what) in
                    [("storage/a/1", "record delete"), ("storage/a?ids=2", "?ids delete"), ("storage/b", "collection delete")]
                {
                    let v = cx.variant(format!("{what} DELETE {path}"));
                    let r = async {
                        let del = cx.delete(path).await?;
                        let t = t_of(&del)?;
                        // I-04, whose Compat line lets writes to different collections share a T.
                        let above = (|| {
                            ensure!(t > tb, "{what}: T {t} above the earlier writes' {tb}");
                            Ok(())
                        })();
                        cx.rule_or_compat(
                            above,
                            || {
                                ensure!(t >= tb, "{what}: T {t} below the earlier writes' {tb}");
                                Ok(())
                            },
                            "a delete may share the T of a write to another collection (I-04)",
                        )?;
                        let info = cx.get("info/collections").await?;
                        ensure_eq!(t, info.status(200)?.stamp("x-last-modified")?, "storage ts after the {what}");
                        let map = collections_map(&info)?;
                        if path != "storage/b" {
                            ensure_eq!(Some(&t), map.get("a"), "collection a after the {what}");
                        } else {
                            ensure!(!map.contains_key("b"), "b is no longer listed: {map:?}");
                        }
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_delete_item"]),
        Case::new("I-07", "the storage ts only grows, across collection deletes and wipes", |mut cx| {
            Box::pin(async move {
                let mut highest = Stamp(0);
                let t1 = t_of(&cx.put("storage/a/x", json!({ "payload": "x" })).await?)?;
                storage_ts_after(&mut cx, &mut highest, Some(t1), "a PUT").await?;
                let t2 = t_of(&cx.put("storage/b/y", json!({ "payload": "y" })).await?)?;
                storage_ts_after(&mut cx, &mut highest, Some(t2), "a second PUT").await?;
                let t3 = t_of(&cx.delete("storage/b").await?)?;
                storage_ts_after(&mut cx, &mut highest, Some(t3), "deleting the newest collection").await?;
                let t4 = t_of(&cx.delete("storage/a").await?)?;
                storage_ts_after(&mut cx, &mut highest, Some(t4), "deleting the last collection").await?;
                let t5 = t_of(&cx.put("storage/a/z", json!({ "payload": "z" })).await?)?;
                storage_ts_after(&mut cx, &mut highest, Some(t5), "a PUT after the deletes").await?;
                let wipe = t_of(&cx.delete("storage").await?)?;
                ensure!(wipe > t5, "the wipe's T {wipe} above the storage ts {t5}");
                storage_ts_after(&mut cx, &mut highest, Some(wipe), "DELETE /storage").await?;
                ensure_eq!(json!({}), cx.get("info/collections").await?.status(200)?.json()?, "info/collections after the wipe");
                let t6 = t_of(&cx.put("storage/c/w", json!({ "payload": "w" })).await?)?;
                storage_ts_after(&mut cx, &mut highest, Some(t6), "a PUT after the wipe").await?;
                let wipe2 = t_of(&cx.delete("").await?)?;
                ensure!(wipe2 > t6, "the second wipe's T {wipe2} above the storage ts {t6}");
                storage_ts_after(&mut cx, &mut highest, Some(wipe2), "DELETE /1.5/{uid}").await?;
                Ok(())
            })
        }),
        Case::new("I-08", "batch start and append move no ts; the commit moves both to T", |mut cx| {
            Box::pin(async move {
                let tc = t_of(&cx.put("storage/c/old", json!({ "payload": "o" })).await?)?;
                let td = t_of(&cx.put("storage/d/x", json!({ "payload": "x" })).await?)?;
                let info_before = cx.get("info/collections").await?.status(200)?.json()?;
                let start = cx.post("storage/c?batch=true", json!([{ "id": "a", "payload": "a" }])).await?;
                let batch = started_batch(&start)?;
                ensure_eq!(tc, start.stamp("x-last-modified")?, "X-Last-Modified of the batch start");
                let add = cx.send(batch_post("c", &batch, false).json(&json!([{ "id": "b", "payload": "b" }]))).await?;
                add.status(202)?;
                ensure_eq!(tc, add.stamp("x-last-modified")?, "X-Last-Modified of the append");
                let info = cx.get("info/collections").await?;
                ensure_eq!(info_before, info.status(200)?.json()?, "info/collections while the batch is open");
                ensure_eq!(td, info.stamp("x-last-modified")?, "storage ts while the batch is open");
                ensure_eq!(tc, cx.get("storage/c").await?.status(200)?.stamp("x-last-modified")?, "collection ts while the batch is open");
                let commit = cx.send(batch_post("c", &batch, true).json(&json!([]))).await?;
                let t = t_of(&commit)?;
                ensure!(t > td, "commit T {t} above the storage ts {td}");
                let info = cx.get("info/collections").await?;
                ensure_eq!(t, info.status(200)?.stamp("x-last-modified")?, "storage ts after the commit");
                ensure_eq!(Some(&t), collections_map(&info)?.get("c"), "collection ts after the commit");
                // A batch in a new collection starts at 0.
                let fresh = cx.post("storage/newcoll?batch=true", json!([{ "id": "a", "payload": "a" }])).await?;
                started_batch(&fresh)?;
                ensure_eq!(Stamp(0), fresh.stamp("x-last-modified")?, "X-Last-Modified of a batch start in a new collection");
                ensure_eq!(t, cx.get("info/collections").await?.status(200)?.stamp("x-last-modified")?, "storage ts after the new batch");
                Ok(())
            })
        })
        .upstream(&["test_batches", "test_batch_partial_update"]),
        Case::new("I-09", "X-Weave-Timestamp on a read is not below anything the read returns", |mut cx| {
            Box::pin(async move {
                cx.post("storage/r", json!([{ "id": "a", "payload": "a" }, { "id": "b", "payload": "b" }])).await?.status(200)?;
                let t = t_of(&cx.put("storage/r/c", json!({ "payload": "c" })).await?)?;
                for path in [
                    "storage/r/c",
                    "storage/r?full=1",
                    "storage/r",
                    "storage/r?newer=0&full=1",
                    "info/collections",
                    "info/collection_counts",
                    "info/quota",
                ] {
                    let v = cx.variant(format!("GET {path}"));
                    let r = read_not_before(&mut cx, path, t).await;
                    cx.settle(v, r);
                }
                let resp = cx.send(SyncRequest::get("storage/r").header("X-If-Modified-Since", t.to_string())).await?;
                let (now, last) = headers_ts(resp.status(304)?, "a 304")?;
                ensure!(last.is_none_or(|l| now >= l), "a 304's X-Weave-Timestamp {now} below its X-Last-Modified {last:?}");
                Ok(())
            })
        })
        .upstream(&["test_x_timestamp_header"]),
        Case::new("I-10", "client ts with more than two decimals are accepted and truncated", |mut cx| {
            Box::pin(async move {
                let t1 = t_of(&cx.put("storage/fine/a", json!({ "payload": "a" })).await?)?;
                let t2 = t_of(&cx.put("storage/fine/b", json!({ "payload": "b" })).await?)?;
                let got = cx.get(&format!("storage/fine?newer={t1}1")).await?.status(200)?.json()?;
                ensure_eq!(strings(&["b"]), ids_of(&got), "newer={t1}1");
                // Truncated to {t1}, `older` excludes a; compared unrounded it would include it.
                let got = cx.get(&format!("storage/fine?older={t1}9")).await?.status(200)?.json()?;
                ensure_eq!(Vec::<String>::new(), ids_of(&got), "older={t1}9");
                let got = cx.get(&format!("storage/fine?older={t2}999&newer={}001", t1.plus_cs(-1))).await?.status(200)?.json()?;
                ensure_eq!(strings(&["a"]), ids_of(&got), "older={t2}999&newer=(t1-0.01)001");
                let since = |name: &str, value: String| SyncRequest::get("storage/fine/b").header(name, value);
                cx.send(since("X-If-Modified-Since", format!("{t2}001"))).await?.status(304)?;
                cx.send(since("X-If-Unmodified-Since", format!("{t2}9999"))).await?.status(200)?;
                let put =
                    SyncRequest::put("storage/fine/b").json(&json!({ "payload": "b2" })).header("X-If-Unmodified-Since", format!("{t2}5"));
                cx.send(put).await?.status(200)?;
                Ok(())
            })
        }),
    ]
}
