//! SPEC area H: quota.
//!
//! Cases that fill a quota run on a target enforcing one small enough to fill; the byte counts
//! are built from two-byte characters, so a server counting characters instead of UTF-8 bytes
//! misses the limit by half.

use serde_json::{Value, json};

use super::steps::{batch_post, started_batch};
use crate::client::SyncRequest;
use crate::conformance::case::MAX_FILLABLE_QUOTA;
use crate::conformance::{Case, CaseResult, Ctx, Failure, Limits, Need, Resp};
use crate::{ensure, ensure_eq};

/// Clauses of area H that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// A payload of exactly `bytes` UTF-8 bytes: the ASCII `tag`, then two-byte characters, and one
/// ASCII byte of padding when needed.
pub(super) fn payload(tag: char, bytes: u64) -> String {
    if bytes == 0 {
        return String::new();
    }
    let rest = bytes - 1;
    let mut s = String::with_capacity(bytes as usize);
    s.push(tag);
    s.push_str(&"é".repeat((rest / 2) as usize));
    if rest % 2 == 1 {
        s.push('x');
    }
    s
}

/// The biggest payload one PUT or one-record POST can carry under `limits`.
fn record_cap(limits: &Limits) -> u64 {
    limits.max_record_payload_bytes.min(limits.max_post_bytes).min(limits.max_request_bytes.saturating_sub(1024)).max(1)
}

/// Sizes of the records that carry `bytes` payload bytes under `limits`.
fn split(bytes: u64, limits: &Limits) -> Vec<u64> {
    let cap = record_cap(limits);
    let mut sizes = vec![cap; (bytes / cap) as usize];
    if bytes % cap > 0 {
        sizes.push(bytes % cap);
    }
    sizes
}

/// Stores `bytes` payload bytes in `coll` with as few PUTs as the limits allow; returns the ids.
pub(super) async fn store_bytes(cx: &mut Ctx, coll: &str, bytes: u64) -> Result<Vec<String>, Failure> {
    let mut ids = Vec::new();
    for (i, size) in split(bytes, cx.limits()).into_iter().enumerate() {
        let id = format!("fill{i}");
        cx.put(&format!("storage/{coll}/{id}"), json!({ "payload": payload('f', size) })).await?.status(200)?;
        ids.push(id);
    }
    Ok(ids)
}

/// The enforced quota in bytes (cases that call this declare `Need::Quota`).
pub(super) fn quota(cx: &Ctx) -> Result<u64, Failure> {
    cx.quota().ok_or_else(|| Failure::new("the target enforces no quota"))
}

/// An over-quota refusal: 400/14, or 403/14 under the syncstorage-rs profile (H-03, J-06).
pub(super) fn over_quota(cx: &mut Ctx, resp: &Resp) -> CaseResult {
    cx.rule_or_compat(resp.error(400, 14).map(drop), || resp.error(403, 14).map(drop), "over quota answered 403/14")
}

async fn heartbeat_quota(cx: &mut Ctx) -> Result<Value, Failure> {
    let hb = cx.send_anon(SyncRequest::get("/__heartbeat__")).await?;
    let body = hb.status(200)?.json()?;
    let quota = body.get("quota").cloned().ok_or_else(|| Failure::mismatch("heartbeat quota", "an object {enabled, size}", &body))?;
    Ok(quota)
}

fn kb_close(expected_bytes: f64, actual: Option<f64>, what: &str) -> CaseResult {
    let expected = expected_bytes / 1024.0;
    match actual {
        Some(a) if (a - expected).abs() <= 0.006 => Ok(()),
        _ => Err(Failure::mismatch(what.to_owned(), format!("{expected:.4}"), format!("{actual:?}"))),
    }
}

async fn used_kb(cx: &mut Ctx) -> Result<Value, Failure> {
    let q = cx.get("info/quota").await?.status(200)?.json()?;
    ensure!(q.as_array().is_some_and(|a| a.len() == 2), "info/quota is [used, quota]: {q}");
    Ok(q)
}

fn remaining(resp: &Resp) -> Option<String> {
    resp.header("x-weave-quota-remaining").map(str::to_owned)
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("H-01", "heartbeat tells whether a quota is enforced and its size", |mut cx| {
            Box::pin(async move {
                let q = heartbeat_quota(&mut cx).await?;
                ensure!(q.get("enabled").is_some_and(Value::is_boolean), "heartbeat quota.enabled is a boolean: {q}");
                ensure!(q.get("size").is_some_and(Value::is_u64), "heartbeat quota.size is a byte count: {q}");
                Ok(())
            })
        }),
        Case::new("H-02", "heartbeat size, max_quota_limit and info/quota agree", |mut cx| {
            Box::pin(async move {
                let size = heartbeat_quota(&mut cx).await?["size"].as_u64();
                let config = cx.get("info/configuration").await?.status(200)?.json()?;
                if let Some(advertised) = config.get("max_quota_limit") {
                    ensure_eq!(size, advertised.as_u64(), "configuration max_quota_limit vs heartbeat quota.size");
                }
                if let Some(enforced) = cx.quota() {
                    ensure_eq!(Some(enforced), size, "enforced quota vs heartbeat quota.size");
                    let q = used_kb(&mut cx).await?;
                    let limit = q[1].clone();
                    cx.rule_or_compat(
                        kb_close(enforced as f64, limit.as_f64(), "info/quota limit (KB)"),
                        || if limit.is_null() { Ok(()) } else { Err(Failure::new("not null")) },
                        "info/quota's limit is null",
                    )?;
                }
                Ok(())
            })
        }),
        Case::new("H-02", "the quota is counted per user", |mut cx| {
            Box::pin(async move {
                let l = quota(&cx)?;
                store_bytes(&mut cx, "fill", l).await?;
                let refused = cx.put("storage/more/x", json!({ "payload": "x" })).await?;
                over_quota(&mut cx, &refused)?;
                let other = cx.user();
                let resp = cx.send_as(&other, SyncRequest::put("storage/more/x").json(&json!({ "payload": "x" }))).await?;
                resp.status(200)?;
                let q = cx.send_as(&other, SyncRequest::get("info/quota")).await?.status(200)?.json()?;
                kb_close(1.0, q[0].as_f64(), "the other user's usage")?;
                Ok(())
            })
        })
        .needs(&[Need::Quota]),
        Case::new("H-03", "over quota, PUT, POST, batch start and append are refused; deletes work", |mut cx| {
            Box::pin(async move {
                let l = quota(&cx)?;
                let batch = started_batch(&cx.post("storage/pending?batch=true", json!([{ "id": "s1", "payload": "s" }])).await?)?;
                cx.put("storage/extra/e", json!({ "payload": "e" })).await?.status(200)?;
                let filled = store_bytes(&mut cx, "fill", l - 1).await?;
                let info = cx.get("info/collections").await?.status(200)?.json()?;

                let refused = [
                    ("PUT of a new record", SyncRequest::put("storage/more/x").json(&json!({ "payload": "x" }))),
                    ("PUT over an existing record", SyncRequest::put("storage/extra/e").json(&json!({ "payload": "changed" }))),
                    ("POST to a new collection", SyncRequest::post("storage/more").json(&json!([{ "id": "y", "payload": "y" }]))),
                    ("POST to an existing collection", SyncRequest::post("storage/fill").json(&json!([{ "id": "y", "payload": "y" }]))),
                    ("batch start", SyncRequest::post("storage/newbatch?batch=true").json(&json!([{ "id": "z", "payload": "z" }]))),
                    ("append to an open batch", batch_post("pending", &batch, false).json(&json!([{ "id": "s2", "payload": "t" }]))),
                ];
                for (what, req) in refused {
                    let v = cx.variant(format!("{what} over quota"));
                    let r = async {
                        let resp = cx.send(req).await?;
                        over_quota(&mut cx, &resp)
                    }
                    .await;
                    cx.settle(v, r);
                }
                cx.get("storage/more/x").await?.error(404, 0)?;
                ensure_eq!(info, cx.get("info/collections").await?.status(200)?.json()?, "info/collections after the refused writes");
                ensure_eq!(json!("e"), cx.get("storage/extra/e").await?.status(200)?.json()?["payload"], "refused update left the record");

                cx.delete("storage/fill?ids=nosuch").await?.status(200)?;
                cx.delete("storage/extra").await?.status(200)?;
                cx.delete(&format!("storage/fill/{}", filled[0])).await?.status(200)?;
                cx.put("storage/more/x", json!({ "payload": "x" })).await?.status(200)?;
                cx.send(batch_post("pending", &batch, true).json(&json!([]))).await?.status(200)?;
                let listing = cx.get("storage/pending").await?.status(200)?.json()?;
                ensure_eq!(json!(["s1"]), listing, "the batch holds what was staged before the quota was reached");
                Ok(())
            })
        })
        .needs(&[Need::Quota]),
        Case::new("H-04", "writes pass at one byte under the quota and fail from the quota on", |mut cx| {
            Box::pin(async move {
                let l = quota(&cx)?;
                store_bytes(&mut cx, "big", l - 1).await?;
                kb_close((l - 1) as f64, used_kb(&mut cx).await?[0].as_f64(), "used after filling to one byte under")?;
                cx.put("storage/small/a", json!({ "payload": "x" })).await?.status(200)?;
                kb_close(l as f64, used_kb(&mut cx).await?[0].as_f64(), "used at the quota")?;
                let r = cx.put("storage/small/b", json!({ "payload": "" })).await?;
                over_quota(&mut cx, &r)?;
                cx.delete("storage/small/a").await?.status(200)?;
                // One byte under again: a write passes, even one that crosses the quota.
                cx.put("storage/small/b", json!({ "payload": "yy" })).await?.status(200)?;
                kb_close((l + 1) as f64, used_kb(&mut cx).await?[0].as_f64(), "used after crossing the quota")?;
                let r = cx.post("storage/small", json!([{ "id": "c", "payload": "z" }])).await?;
                over_quota(&mut cx, &r)?;
                Ok(())
            })
        })
        .needs(&[Need::Quota]),
        Case::new("H-05", "without enforcement usage is tracked and no write is refused", |mut cx| {
            Box::pin(async move {
                let q = heartbeat_quota(&mut cx).await?;
                ensure_eq!(Some(false), q["enabled"].as_bool(), "heartbeat quota.enabled");
                let size = q["size"].as_u64().unwrap_or(u64::MAX);
                // Past the configured size when it is small enough to fill, else a token amount.
                let target = if size <= MAX_FILLABLE_QUOTA { size + 1 } else { 20_000 };
                let before = used_kb(&mut cx).await?[0].as_f64().unwrap_or(-1.0);
                let mut written = 0;
                for (i, bytes) in split(target, cx.limits()).into_iter().enumerate() {
                    let resp = cx.put(&format!("storage/tracked/r{i}"), json!({ "payload": payload('t', bytes) })).await?;
                    resp.status(200)?;
                    ensure_eq!(None::<String>, remaining(&resp), "X-Weave-Quota-Remaining without a quota");
                    written += bytes;
                }
                let resp = cx.post("storage/tracked", json!([{ "id": "past", "payload": "p" }])).await?;
                ensure_eq!(json!(["past"]), resp.status(200)?.json()?["success"], "a POST past the size");
                let q = used_kb(&mut cx).await?;
                kb_close(before * 1024.0 + written as f64 + 1.0, q[0].as_f64(), "used tracks every byte")?;
                ensure_eq!(Value::Null, q[1], "info/quota's limit without enforcement");
                Ok(())
            })
        })
        .needs(&[Need::NoQuota]),
        Case::new("H-06", "info/quota reports the enforced limit in KB", |mut cx| {
            Box::pin(async move {
                let l = quota(&cx)?;
                cx.put("storage/c/a", json!({ "payload": payload('a', 1500) })).await?.status(200)?;
                let q = used_kb(&mut cx).await?;
                kb_close(1500.0, q[0].as_f64(), "used (KB)")?;
                let limit = q[1].clone();
                cx.rule_or_compat(
                    kb_close(l as f64, limit.as_f64(), "info/quota limit (KB)"),
                    || if limit.is_null() { Ok(()) } else { Err(Failure::new("not null")) },
                    "info/quota's limit is null",
                )
            })
        })
        .needs(&[Need::Quota]),
        Case::new("H-06", "info/quota's limit is null when nothing is enforced", |mut cx| {
            Box::pin(async move {
                cx.put("storage/c/a", json!({ "payload": "abc" })).await?.status(200)?;
                let q = used_kb(&mut cx).await?;
                ensure_eq!(Value::Null, q[1], "info/quota limit");
                Ok(())
            })
        })
        .needs(&[Need::NoQuota]),
        Case::new("H-07", "each write reports the quota left in KB, falling by what it stored", |mut cx| {
            Box::pin(async move {
                let l = quota(&cx)? as f64;
                let put1 = cx.put("storage/c/a", json!({ "payload": payload('a', 3000) })).await?;
                put1.status(200)?;
                let put2 = cx.put("storage/c/b", json!({ "payload": payload('b', 5001) })).await?;
                put2.status(200)?;
                let post = cx.post("storage/c", json!([{ "id": "c", "payload": payload('c', 1000) }])).await?;
                post.status(200)?;
                let start = cx.post("storage/d?batch=true", json!([{ "id": "d", "payload": payload('d', 700) }])).await?;
                let batch = started_batch(&start)?;
                let commit = cx.send(batch_post("d", &batch, true).json(&json!([]))).await?;
                commit.status(200)?;
                let seen: Vec<Option<String>> = [&put1, &put2, &post, &commit].iter().map(|r| remaining(r)).collect();
                let value = |i: usize| seen[i].as_deref().and_then(|v| v.trim().parse::<f64>().ok());
                let rule = (|| {
                    kb_close(l - 3000.0, value(0), "remaining after the first PUT")?;
                    kb_close(l - 8001.0, value(1), "remaining after the second PUT")?;
                    kb_close(5001.0, value(0).zip(value(1)).map(|(a, b)| a - b), "fall between the PUTs")?;
                    kb_close(l - 9001.0, value(2), "remaining after the POST")?;
                    kb_close(l - 9701.0, value(3), "remaining after the commit")
                })();
                cx.rule_or_compat(
                    rule,
                    || if seen.iter().all(Option::is_none) { Ok(()) } else { Err(Failure::new("sent")) },
                    "X-Weave-Quota-Remaining is never sent",
                )
            })
        })
        .needs(&[Need::Quota]),
        Case::new("H-07", "no write reports remaining quota when none is enforced", |mut cx| {
            Box::pin(async move {
                let put = cx.put("storage/c/a", json!({ "payload": "a" })).await?;
                put.status(200)?;
                let post = cx.post("storage/c", json!([{ "id": "b", "payload": "b" }])).await?;
                post.status(200)?;
                let start = cx.post("storage/c?batch=true", json!([{ "id": "c", "payload": "c" }])).await?;
                let batch = started_batch(&start)?;
                let add = cx.send(batch_post("c", &batch, false).json(&json!([{ "id": "d", "payload": "d" }]))).await?;
                add.status(202)?;
                let commit = cx.send(batch_post("c", &batch, true).json(&json!([]))).await?;
                commit.status(200)?;
                let del = cx.delete("storage/c/a").await?;
                del.status(200)?;
                for (what, resp) in
                    [("PUT", &put), ("POST", &post), ("batch start", &start), ("append", &add), ("commit", &commit), ("DELETE", &del)]
                {
                    let v = cx.variant(format!("X-Weave-Quota-Remaining on the {what}"));
                    let r = (|| {
                        ensure_eq!(None::<String>, remaining(resp), "X-Weave-Quota-Remaining on {what}");
                        Ok(())
                    })();
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .needs(&[Need::NoQuota]),
        Case::new("H-08", "an append counts the batch's staged bytes, a restaged id once", |mut cx| {
            Box::pin(async move {
                let l = quota(&cx)?;
                let limits = cx.limits().clone();
                let half = l / 2;
                // Part a: half the quota; part b: one byte less than the other half.
                let a: Vec<(String, u64)> = split(half, &limits).into_iter().enumerate().map(|(i, n)| (format!("a{i}"), n)).collect();
                let b: Vec<(String, u64)> =
                    split(l - half - 1, &limits).into_iter().enumerate().map(|(i, n)| (format!("b{i}"), n)).collect();
                let mut staged = a.iter().chain(&b);
                let (first, size) = staged.next().ok_or_else(|| Failure::new("nothing to stage"))?;
                let start = cx.post("storage/quotabatch?batch=true", json!([{ "id": first, "payload": payload('1', *size) }])).await?;
                let batch = started_batch(&start)?;
                for (id, size) in staged {
                    let r = cx
                        .send(batch_post("quotabatch", &batch, false).json(&json!([{ "id": id, "payload": payload('1', *size) }])))
                        .await?;
                    r.status(202)?;
                }
                // Staged: one byte under the quota. Two more bytes reach it.
                let refused = json!([{ "id": "c", "payload": "c" }, { "id": "d", "payload": "d" }]);
                let r = cx.send(batch_post("quotabatch", &batch, false).json(&refused)).await?;
                over_quota(&mut cx, &r)?;
                // Restaging part a with payloads of the same size leaves the total where it was.
                for (id, size) in &a {
                    let r = cx
                        .send(batch_post("quotabatch", &batch, false).json(&json!([{ "id": id, "payload": payload('2', *size) }])))
                        .await?;
                    r.status(202)?;
                }
                cx.send(batch_post("quotabatch", &batch, true).json(&json!([]))).await?.status(200)?;
                let listing = cx.get("storage/quotabatch?full=1").await?.status(200)?.json()?;
                let mut got: Vec<String> =
                    listing.as_array().into_iter().flatten().filter_map(|r| r["id"].as_str().map(str::to_owned)).collect();
                got.sort();
                let mut want: Vec<String> = a.iter().chain(&b).map(|(id, _)| id.clone()).collect();
                want.sort();
                ensure_eq!(want, got, "committed ids (the refused append's c and d absent)");
                let a0 = listing.as_array().into_iter().flatten().find(|r| r["id"] == "a0").cloned().unwrap_or_default();
                ensure!(a0["payload"].as_str().is_some_and(|p| p.starts_with('2')), "a0 carries its restaged payload");
                kb_close((l - 1) as f64, used_kb(&mut cx).await?[0].as_f64(), "used after the commit")?;
                Ok(())
            })
        })
        .needs(&[Need::Quota]),
    ]
}
