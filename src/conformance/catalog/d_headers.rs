//! SPEC area D: headers.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{Value, json};

use super::steps::*;
use crate::client::{SyncRequest, SyncUser};
use crate::conformance::{Case, CaseResult, Ctx, Failure, Need, Resp, Stamp};
use crate::{ensure, ensure_eq};

/// Clauses of area D that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

pub fn cases() -> Vec<Case> {
    vec![
        // ---- D-01 to D-04: timestamps in headers --------------------------------------------
        Case::new("D-01", "every answer under /1.5/, errors included, carries the server time", |mut cx| {
            Box::pin(async move {
                let put = cx.put("storage/d01/a", json!({ "payload": "x" })).await?;
                let t = put.status(200)?.stamp("x-last-modified")?;
                let mut previous = t;
                let v = cx.variant("PUT (200)");
                let r = server_time(&put, t, &mut previous);
                cx.settle(v, r);
                let stale = t.plus_cs(-1).to_string();
                let requests = [
                    ("listing (200)", SyncRequest::get("storage/d01")),
                    ("batch start (202)", SyncRequest::post("storage/d01?batch=true").json(&json!([]))),
                    ("not modified (304)", SyncRequest::get("storage/d01/a").header("X-If-Modified-Since", t.to_string())),
                    ("bad query (400)", SyncRequest::get("storage/d01?newer=abc")),
                    ("unsigned (401)", SyncRequest::get("storage/d01").unsigned()),
                    ("missing record (404)", SyncRequest::get("storage/d01/missing")),
                    ("unknown path (404)", SyncRequest::get("nonexistent/url")),
                    ("PATCH (405)", SyncRequest::new(Method::PATCH, "storage/d01").json(&json!([]))),
                    ("Accept x/yy (406)", SyncRequest::get("storage/d01").header("Accept", "x/yy")),
                    (
                        "stale precondition (412)",
                        SyncRequest::put("storage/d01/a").json(&json!({ "payload": "y" })).header("X-If-Unmodified-Since", stale),
                    ),
                    (
                        "octet-stream (415)",
                        SyncRequest::put("storage/d01/b")
                            .header("Content-Type", "application/octet-stream")
                            .body(&b"{\"payload\":\"x\"}"[..]),
                    ),
                ];
                for (what, req) in requests {
                    let v = cx.variant(what);
                    let r = async {
                        let resp = cx.send(req).await?;
                        server_time(&resp, t, &mut previous)
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_x_timestamp_header"]),
        Case::new("D-02", "every kind of write reports one T in X-Last-Modified, X-Weave-Timestamp and its body", |mut cx| {
            Box::pin(async move {
                let put = cx.put("storage/d02/a", json!({ "payload": "blob", "modified": 12 })).await?;
                put.status(200)?;
                let bare = Stamp::parse(put.text().trim()).map_err(|m| Failure::new(format!("PUT body: {m}")))?;
                let t_put = one_t(&put, Some(bare), "PUT")?;
                let rec = cx.get("storage/d02/a").await?;
                ensure_eq!(
                    t_put,
                    Stamp::from_json(&rec.status(200)?.json()?["modified"])?,
                    "the record's modified after a PUT that sent 12"
                );

                let post = cx.post("storage/d02", json!([{ "id": "b", "payload": "x" }, { "id": "c", "payload": "y" }])).await?;
                one_t(post.status(200)?, Some(body_stamp(&post)?), "POST")?;

                let now = cx.post("storage/d02?batch=true&commit=true", json!([{ "id": "d", "payload": "x" }])).await?;
                one_t(now.status(200)?, Some(body_stamp(&now)?), "POST ?batch=true&commit=true")?;

                let start = cx.post("storage/d02?batch=true", json!([{ "id": "e", "payload": "x" }])).await?;
                let batch = started_batch(&start)?;
                let commit = cx.send(batch_post("d02", &batch, true).json(&json!([{ "id": "f", "payload": "y" }]))).await?;
                let t_commit = one_t(commit.status(200)?, Some(body_stamp(&commit)?), "batch commit")?;
                let info = cx.get("info/collections").await?;
                ensure_eq!(t_commit, info.status(200)?.stamp("x-last-modified")?, "storage ts after the commit");
                ensure_eq!(t_commit, Stamp::from_json(&info.json()?["d02"])?, "collection ts after the commit");
                let rec = cx.get("storage/d02/f").await?;
                ensure_eq!(t_commit, Stamp::from_json(&rec.status(200)?.json()?["modified"])?, "a committed record's modified");

                let del = cx.delete("storage/d02/a").await?;
                one_t(del.status(200)?, Some(body_stamp(&del)?), "DELETE of a record")?;
                let del = cx.delete("storage/d02?ids=b").await?;
                one_t(del.status(200)?, Some(body_stamp(&del)?), "DELETE ?ids")?;
                let del = cx.delete("storage/d02").await?;
                one_t(del.status(200)?, Some(body_stamp(&del)?), "DELETE of a collection")?;
                cx.put("storage/d02b/x", json!({ "payload": "x" })).await?.status(200)?;
                let wipe = cx.delete("storage").await?;
                one_t(wipe.status(200)?, None, "DELETE /storage")?;
                Ok(())
            })
        })
        .upstream(&["test_batches", "test_meta_global_sanity"]),
        Case::new("D-03", "reads carry the ts of what they read: storage, collection or record, 0.00 if absent", |mut cx| {
            Box::pin(async move {
                let t1 = cx.put("storage/d03a/r1", json!({ "payload": "x" })).await?.status(200)?.stamp("x-last-modified")?;
                let t2 = cx.put("storage/d03b/r2", json!({ "payload": "x" })).await?.status(200)?.stamp("x-last-modified")?;
                let t3 = cx.put("storage/d03a/r3", json!({ "payload": "x" })).await?.status(200)?.stamp("x-last-modified")?;
                for (path, want) in [
                    ("info/collections", t3),
                    ("info/collection_counts", t3),
                    ("info/collection_usage", t3),
                    ("info/quota", t3),
                    ("storage/d03a", t3),
                    ("storage/d03b", t2),
                    (&*format!("storage/d03a?newer={t3}"), t3),
                    ("storage/d03a/r1", t1),
                    ("storage/d03a/r3", t3),
                    ("storage/d03none", Stamp(0)),
                ] {
                    let v = cx.variant(format!("GET {path}"));
                    let r = async {
                        let resp = cx.get(path).await?;
                        ensure_eq!(want, resp.status(200)?.stamp("x-last-modified")?, "X-Last-Modified");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let fresh = cx.user();
                let resp = cx.send_as(&fresh, SyncRequest::get("info/collections")).await?;
                ensure_eq!(Some("0.00"), resp.status(200)?.header("x-last-modified"), "X-Last-Modified of a user without data");
                Ok(())
            })
        })
        .upstream(&["test_that_x_last_modified_is_sent_for_all_get_requests"]),
        Case::new("D-04", "every kind of delete reports the ts it left, as its body and info/collections do", |mut cx| {
            Box::pin(async move {
                cx.post(
                    "storage/d04a",
                    json!([{ "id": "a", "payload": "x" }, { "id": "b", "payload": "x" }, { "id": "c", "payload": "x" }]),
                )
                .await?
                .status(200)?;
                cx.put("storage/d04b/x", json!({ "payload": "x" })).await?.status(200)?;
                let mut last = Stamp(0);
                for (what, path, coll) in [
                    ("DELETE of a record", "storage/d04a/a", Some("d04a")),
                    ("DELETE ?ids", "storage/d04a?ids=b", Some("d04a")),
                    ("DELETE of a collection", "storage/d04b", None),
                ] {
                    let resp = cx.delete(path).await?;
                    let t = resp.status(200)?.stamp("x-last-modified")?;
                    ensure!(t > last, "{what}: X-Last-Modified {t} is not a new ts (previous {last})");
                    ensure_eq!(t, body_stamp(&resp)?, "{what}: body modified vs X-Last-Modified");
                    let info = cx.get("info/collections").await?;
                    ensure_eq!(t, info.status(200)?.stamp("x-last-modified")?, "storage ts after {what}");
                    let map = info.json()?;
                    match coll {
                        Some(c) => ensure_eq!(t, Stamp::from_json(&map[c])?, "{c} ts after {what}"),
                        None => ensure!(map.get("d04b").is_none(), "d04b still listed after {what}: {map}"),
                    }
                    last = t;
                }
                // Deletes that change nothing report the storage ts as it stands.
                for (what, path) in [
                    ("DELETE ?ids on an unknown collection", "storage/d04none?ids=q"),
                    ("DELETE of an unknown collection", "storage/d04none"),
                ] {
                    let resp = cx.delete(path).await?;
                    ensure_eq!(last, resp.status(200)?.stamp("x-last-modified")?, "{what}: X-Last-Modified");
                    ensure_eq!(last, body_stamp(&resp)?, "{what}: body modified");
                }
                let wipe = cx.delete("storage").await?;
                let t = wipe.status(200)?.stamp("x-last-modified")?;
                ensure!(t > last, "DELETE /storage: X-Last-Modified {t} is not above the storage ts {last}");
                let info = cx.get("info/collections").await?;
                ensure_eq!(t, info.status(200)?.stamp("x-last-modified")?, "storage ts after DELETE /storage");
                Ok(())
            })
        }),
        // ---- D-05 to D-09: preconditions ----------------------------------------------------
        Case::new("D-05", "a record read since its ts gives 304 with its X-Last-Modified", |mut cx| {
            Box::pin(async move {
                let records: Vec<Value> = (0..5).map(|i| json!({ "id": format!("{i:02}"), "payload": "xxx" })).collect();
                cx.post("storage/d05", json!(records)).await?.status(200)?;
                let t = cx.get("storage/d05/01").await?.status(200)?.stamp("x-last-modified")?;
                // A later write to another record moves the collection, not this record.
                cx.put("storage/d05/other", json!({ "payload": "x" })).await?.status(200)?;
                for since in [t, t.plus_cs(1)] {
                    let resp = cx.send(SyncRequest::get("storage/d05/01").header("X-If-Modified-Since", since.to_string())).await?;
                    resp.status(304)?.empty()?;
                    ensure_eq!(t, resp.stamp("x-last-modified")?, "X-Last-Modified of a 304 since {since}");
                }
                let resp = cx.send(SyncRequest::get("storage/d05/01").header("X-If-Modified-Since", t.plus_cs(-1).to_string())).await?;
                ensure_eq!(json!("01"), resp.status(200)?.json()?["id"], "record read since just before its ts");
                Ok(())
            })
        })
        .upstream(&["test_get_item"]),
        Case::new("D-05", "a collection read since its ts gives 304; since an earlier ts, the listing", |mut cx| {
            Box::pin(async move {
                for i in 0..5 {
                    cx.post("storage/d05c", json!([{ "id": format!("{i:02}"), "payload": "xxx" }])).await?.status(200)?;
                }
                let full = cx.get("storage/d05c?full=true").await?;
                let mut stamps = Vec::new();
                for item in full.status(200)?.json()?.as_array().cloned().unwrap_or_default() {
                    stamps.push(Stamp::from_json(&item["modified"])?);
                }
                stamps.sort();
                ensure_eq!(5, stamps.len(), "records listed");
                let (first, last) = (stamps[0], stamps[4]);
                for (since, status) in [(first, 200), (last.plus_cs(-1), 200), (last, 304), (last.plus_cs(1), 304)] {
                    let resp = cx.send(SyncRequest::get("storage/d05c").header("X-If-Modified-Since", since.to_string())).await?;
                    resp.status(status)?;
                    if status == 304 {
                        resp.empty()?;
                        ensure_eq!(last, resp.stamp("x-last-modified")?, "X-Last-Modified of a 304 since {since}");
                    } else {
                        ensure_eq!(5, resp.json()?.as_array().map_or(0, Vec::len), "listing since {since}");
                    }
                }
                Ok(())
            })
        })
        .upstream(&["test_set_collection_with_if_modified_since"]),
        Case::new("D-05", "info views read since the storage ts give 304 until the next write", |mut cx| {
            Box::pin(async move {
                let records: Vec<Value> = (0..3).map(|i| json!({ "id": format!("{i:02}"), "payload": "xxx" })).collect();
                cx.post("storage/d05i", json!(records)).await?.status(200)?;
                let ts1 = cx.get("info/collections").await?.status(200)?.stamp("x-last-modified")?;
                ensure!(ts1 > Stamp(0), "storage ts after a write is 0");
                let views = ["info/collections", "info/quota", "info/collection_usage", "info/collection_counts"];
                let ts2 = {
                    for (since, status) in [(ts1.plus_cs(-1), 200), (ts1, 304)] {
                        for view in views {
                            let resp = cx.send(SyncRequest::get(view).header("X-If-Modified-Since", since.to_string())).await?;
                            resp.status(status)?;
                        }
                    }
                    cx.put("storage/d05j/TEST", json!({ "payload": "TEST" })).await?.status(200)?.stamp("x-last-modified")?
                };
                for (since, status) in [(ts1, 200), (ts2, 304)] {
                    for view in views {
                        let resp = cx.send(SyncRequest::get(view).header("X-If-Modified-Since", since.to_string())).await?;
                        resp.status(status)?;
                        if status == 304 {
                            resp.empty()?;
                            ensure_eq!(ts2, resp.stamp("x-last-modified")?, "X-Last-Modified of {view} with a 304");
                        }
                    }
                }
                Ok(())
            })
        })
        .upstream(&["test_if_modified_since_on_info_views"]),
        Case::new("D-05", "a write carrying X-If-Modified-Since is applied or refused with 400, never 304", |mut cx| {
            Box::pin(async move {
                let t = cx.put("storage/d05w/a", json!({ "payload": "first" })).await?.status(200)?.stamp("x-last-modified")?;
                let since = t.plus_cs(1).to_string();
                let put = cx
                    .send(
                        SyncRequest::put("storage/d05w/a")
                            .json(&json!({ "payload": "second" }))
                            .header("X-If-Modified-Since", since.clone()),
                    )
                    .await?;
                let want = if applied_or_refused(&put, "PUT")? { "second" } else { "first" };
                let rec = cx.get("storage/d05w/a").await?;
                ensure_eq!(
                    json!(want),
                    rec.status(200)?.json()?["payload"],
                    "payload after a PUT with X-If-Modified-Since ({})",
                    put.code()
                );
                let post = cx
                    .send(
                        SyncRequest::post("storage/d05w")
                            .json(&json!([{ "id": "b", "payload": "x" }]))
                            .header("X-If-Modified-Since", since.clone()),
                    )
                    .await?;
                let stored = applied_or_refused(&post, "POST")?;
                ensure_eq!(
                    if stored { 200 } else { 404 },
                    cx.get("storage/d05w/b").await?.code(),
                    "record b after a POST with X-If-Modified-Since"
                );
                let del = cx.send(SyncRequest::delete("storage/d05w/a").header("X-If-Modified-Since", since)).await?;
                let gone = applied_or_refused(&del, "DELETE")?;
                ensure_eq!(
                    if gone { 404 } else { 200 },
                    cx.get("storage/d05w/a").await?.code(),
                    "record a after a DELETE with X-If-Modified-Since"
                );
                Ok(())
            })
        }),
        Case::new("D-06", "a stale X-If-Unmodified-Since gives 412 on every method and writes nothing", |mut cx| {
            Box::pin(async move {
                let t = cx.put("storage/d06/12345", json!({ "payload": "original" })).await?.status(200)?.stamp("x-last-modified")?;
                let stale = t.plus_cs(-1).to_string();
                let requests = [
                    ("PUT", SyncRequest::put("storage/d06/12345").json(&json!({ "payload": "changed" }))),
                    ("DELETE of the record", SyncRequest::delete("storage/d06/12345")),
                    ("POST", SyncRequest::post("storage/d06").json(&json!([{ "id": "12345", "payload": "changed" }]))),
                    ("DELETE ?ids", SyncRequest::delete("storage/d06?ids=12345")),
                    ("GET of the record", SyncRequest::get("storage/d06/12345")),
                    ("GET of the collection", SyncRequest::get("storage/d06")),
                    ("DELETE of the collection", SyncRequest::delete("storage/d06")),
                ];
                for (what, req) in requests {
                    let v = cx.variant(format!("{what} X-If-Unmodified-Since: {stale}"));
                    let r = refused_412(&mut cx, req.header("X-If-Unmodified-Since", stale.clone()), t).await;
                    cx.settle(v, r);
                }
                let rec = cx.get("storage/d06/12345").await?;
                ensure_eq!(json!("original"), rec.status(200)?.json()?["payload"], "the record after the refused writes");
                ensure_eq!(t, rec.stamp("x-last-modified")?, "the record's ts after the refused writes");
                let info = cx.get("info/collections").await?;
                ensure_eq!(t, info.status(200)?.stamp("x-last-modified")?, "the storage ts after the refused writes");

                // At the resource's ts the request goes through.
                let post = cx
                    .send(
                        SyncRequest::post("storage/d06")
                            .json(&json!([{ "id": "12345", "payload": "again" }]))
                            .header("X-If-Unmodified-Since", t.to_string()),
                    )
                    .await?;
                let t2 = post.status(200)?.stamp("x-last-modified")?;
                cx.send(SyncRequest::get("storage/d06/12345").header("X-If-Unmodified-Since", t2.to_string())).await?.status(200)?;
                cx.send(SyncRequest::get("storage/d06").header("X-If-Unmodified-Since", t2.plus_cs(1).to_string())).await?.status(200)?;
                cx.send(SyncRequest::delete("storage/d06/12345").header("X-If-Unmodified-Since", t2.to_string())).await?.status(200)?;

                // 0 means "only if absent".
                let put = cx
                    .send(SyncRequest::put("storage/d06/12345").json(&json!({ "payload": "new" })).header("X-If-Unmodified-Since", "0"))
                    .await?;
                let t3 = put.status(200)?.stamp("x-last-modified")?;
                let again = cx
                    .send(SyncRequest::put("storage/d06/12345").json(&json!({ "payload": "newer" })).header("X-If-Unmodified-Since", "0"))
                    .await?;
                again.status(412)?.empty()?;
                cx.send(SyncRequest::get("storage/d06").header("X-If-Unmodified-Since", t3.to_string())).await?.status(200)?;
                cx.send(SyncRequest::delete("storage/d06?ids=12345").header("X-If-Unmodified-Since", t3.to_string())).await?.status(200)?;
                Ok(())
            })
        })
        .upstream(&["test_ifunmodifiedsince"]),
        Case::new("D-07", "a collection URL compares with the collection ts, so any record's change refuses it", |mut cx| {
            Box::pin(async move {
                let t1 = cx.put("storage/d07/12345", json!({ "payload": "x" })).await?.status(200)?.stamp("x-last-modified")?;
                let t2 = cx.put("storage/d07/54321", json!({ "payload": "y" })).await?.status(200)?.stamp("x-last-modified")?;
                let requests = [
                    ("DELETE ?ids of the unchanged record", SyncRequest::delete("storage/d07?ids=12345")),
                    ("POST", SyncRequest::post("storage/d07").json(&json!([{ "id": "other", "payload": "z" }]))),
                    ("GET of the collection", SyncRequest::get("storage/d07")),
                ];
                for (what, req) in requests {
                    let v = cx.variant(format!("{what} X-If-Unmodified-Since: {t1}"));
                    let r = refused_412(&mut cx, req.header("X-If-Unmodified-Since", t1.to_string()), t2).await;
                    cx.settle(v, r);
                }
                ensure_eq!(json!(["12345", "54321"]), sorted_listing(&mut cx, "storage/d07").await?, "records after the refused writes");
                Ok(())
            })
        })
        .upstream(&["test_ifunmodifiedsince"]),
        Case::new("D-08", "negative, non-numeric or paired precondition headers are refused with 400/0", |mut cx| {
            Box::pin(async move {
                let t = cx.put("storage/d08/a", json!({ "payload": "x" })).await?.status(200)?.stamp("x-last-modified")?;
                let put = || SyncRequest::put("storage/d08/a").json(&json!({ "payload": "changed" }));
                for value in ["-3", "-0.01", "abc"] {
                    for (what, req) in [
                        (
                            format!("GET storage/d08 X-If-Modified-Since: {value}"),
                            SyncRequest::get("storage/d08").header("X-If-Modified-Since", value),
                        ),
                        (
                            format!("GET info/collections X-If-Modified-Since: {value}"),
                            SyncRequest::get("info/collections").header("X-If-Modified-Since", value),
                        ),
                        (format!("PUT storage/d08/a X-If-Unmodified-Since: {value}"), put().header("X-If-Unmodified-Since", value)),
                    ] {
                        let v = cx.variant(what);
                        let r = async { cx.send(req).await?.error(400, 0).map(drop) }.await;
                        cx.settle(v, r);
                    }
                }
                let both =
                    |req: SyncRequest| req.header("X-If-Modified-Since", "0").header("X-If-Unmodified-Since", (t.plus_cs(100)).to_string());
                for (what, req) in [
                    ("GET storage/d08 with both headers", both(SyncRequest::get("storage/d08"))),
                    ("PUT storage/d08/a with both headers", both(put())),
                ] {
                    let v = cx.variant(what);
                    let r = async { cx.send(req).await?.error(400, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                let rec = cx.get("storage/d08/a").await?;
                ensure_eq!(json!("x"), rec.status(200)?.json()?["payload"], "the record after refused PUTs");
                ensure_eq!(t, rec.stamp("x-last-modified")?, "the record's ts after refused PUTs");
                Ok(())
            })
        })
        .upstream(&["test_that_negative_integer_fields_are_not_accepted"]),
        Case::new("D-09", "preconditions compare the live record, the collection or the storage ts, each 0 when absent", |mut cx| {
            Box::pin(async move {
                let t1 = cx.put("storage/d09/a", json!({ "payload": "x" })).await?.status(200)?.stamp("x-last-modified")?;
                let t2 = cx.put("storage/d09/b", json!({ "payload": "y" })).await?.status(200)?.stamp("x-last-modified")?;
                ensure!(t1 < t2, "two writes got T {t1} then {t2}");
                // A record URL looks at the record, not at its newer collection.
                cx.send(SyncRequest::get("storage/d09/a").header("X-If-Unmodified-Since", t1.to_string())).await?.status(200)?;
                cx.send(SyncRequest::get("storage/d09/a").header("X-If-Modified-Since", t1.to_string())).await?.status(304)?;
                let put =
                    SyncRequest::put("storage/d09/a").json(&json!({ "payload": "x2" })).header("X-If-Unmodified-Since", t1.to_string());
                cx.send(put).await?.status(200)?;
                // An absent record, in an existing collection or in none, is at 0.
                let put = SyncRequest::put("storage/d09/new").json(&json!({ "payload": "n" })).header("X-If-Unmodified-Since", "0");
                cx.send(put).await?.status(200)?;
                cx.send(SyncRequest::get("storage/d09none").header("X-If-Unmodified-Since", "0")).await?.status(200)?;
                let nm = cx.send(SyncRequest::get("storage/d09none").header("X-If-Modified-Since", "0")).await?;
                nm.status(304)?.empty()?;
                // An expired record is absent too (G-03).
                cx.put("storage/d09/brief", json!({ "payload": "e", "ttl": 0 })).await?.status(200)?;
                let put = SyncRequest::put("storage/d09/brief").json(&json!({ "payload": "e2" })).header("X-If-Unmodified-Since", "0");
                cx.send(put).await?.status(200)?;
                // Storage-wide requests look at the storage ts.
                let storage = cx.get("info/collections").await?.status(200)?.stamp("x-last-modified")?;
                cx.send(SyncRequest::get("info/collections").header("X-If-Modified-Since", storage.to_string())).await?.status(304)?;
                cx.send(SyncRequest::get("info/collections").header("X-If-Modified-Since", storage.plus_cs(-1).to_string()))
                    .await?
                    .status(200)?;
                let wipe = cx.send(SyncRequest::delete("storage").header("X-If-Unmodified-Since", storage.plus_cs(-1).to_string())).await?;
                wipe.status(412)?.empty()?;
                ensure_eq!(
                    json!(["a", "b", "brief", "new"]),
                    sorted_listing(&mut cx, "storage/d09").await?,
                    "records after a refused wipe"
                );
                cx.send(SyncRequest::delete("storage").header("X-If-Unmodified-Since", storage.to_string())).await?.status(200)?;
                ensure_eq!(json!([]), sorted_listing(&mut cx, "storage/d09").await?, "records after the wipe");
                Ok(())
            })
        }),
        // ---- D-10 to D-13: size and quota headers -------------------------------------------
        Case::new("D-10", "X-Weave-Records above max_post_records is refused with 400/17 and stores nothing", |mut cx| {
            Box::pin(async move {
                let max = cx.limits().max_post_records;
                let post = |id: &str, value: String| {
                    SyncRequest::post("storage/d10").json(&json!([{ "id": id, "payload": "x" }])).header("X-Weave-Records", value)
                };
                let v = cx.variant(format!("POST X-Weave-Records: {max} (max_post_records)"));
                let r = async { cx.send(post("at", max.to_string())).await?.status(200).map(drop) }.await;
                cx.settle(v, r);
                let v = cx.variant(format!("POST X-Weave-Records: {} (one over)", max + 1));
                let r = async { cx.send(post("over", (max + 1).to_string())).await?.error(400, 17).map(drop) }.await;
                cx.settle(v, r);
                let batch = SyncRequest::post("storage/d10?batch=true")
                    .json(&json!([{ "id": "staged", "payload": "x" }]))
                    .header("X-Weave-Records", (max + 1).to_string());
                let v = cx.variant(format!("batch start X-Weave-Records: {} (one over)", max + 1));
                let r = async { cx.send(batch).await?.error(400, 17).map(drop) }.await;
                cx.settle(v, r);
                let v = cx.variant("POST X-Weave-Records: abc");
                let r = async {
                    let odd = cx.send(post("odd", "abc".to_owned())).await?;
                    ensure_eq!(400, odd.code(), "status for X-Weave-Records: abc");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                ensure_eq!(json!(["at"]), sorted_listing(&mut cx, "storage/d10").await?, "records stored");
                Ok(())
            })
        }),
        Case::new("D-11", "X-Weave-Bytes above max_post_bytes is refused with 400/17 and stores nothing", |mut cx| {
            Box::pin(async move {
                let max = cx.limits().max_post_bytes;
                let post = |id: &str, value: u64| {
                    SyncRequest::post("storage/d11").json(&json!([{ "id": id, "payload": "x" }])).header("X-Weave-Bytes", value.to_string())
                };
                let v = cx.variant(format!("POST X-Weave-Bytes: {max} (max_post_bytes)"));
                let r = async { cx.send(post("at", max)).await?.status(200).map(drop) }.await;
                cx.settle(v, r);
                let v = cx.variant(format!("POST X-Weave-Bytes: {} (one over)", max + 1));
                let r = async { cx.send(post("over", max + 1)).await?.error(400, 17).map(drop) }.await;
                cx.settle(v, r);
                ensure_eq!(json!(["at"]), sorted_listing(&mut cx, "storage/d11").await?, "records stored");
                Ok(())
            })
        }),
        Case::new("D-12", "batch totals headers: at the limit 202, past it 400/17, malformed or without batch 400/1", |mut cx| {
            Box::pin(async move {
                let limits = cx.limits().clone();
                for (header, max) in [("X-Weave-Total-Records", limits.max_total_records), ("X-Weave-Total-Bytes", limits.max_total_bytes)]
                {
                    let start = |value: String| SyncRequest::post("storage/d12?batch=true").json(&json!([])).header(header, value);
                    let v = cx.variant(format!("batch start {header}: {max} (the limit)"));
                    let r = async { cx.send(start(max.to_string())).await?.status(202).map(drop) }.await;
                    cx.settle(v, r);
                    let v = cx.variant(format!("batch start {header}: {} (one over)", max + 1));
                    let r = async { cx.send(start((max + 1).to_string())).await?.error(400, 17).map(drop) }.await;
                    cx.settle(v, r);
                    let v = cx.variant(format!("batch start {header}: abc"));
                    let r = async {
                        let bad = cx.send(start("abc".to_owned())).await?;
                        cx.rule_or_compat(
                            bad.error(400, 1).map(drop),
                            || bad.error(400, 0).map(drop),
                            "malformed batch totals header gives 400/0",
                        )
                    }
                    .await;
                    cx.settle(v, r);
                    let v = cx.variant(format!("plain POST {header}: 1"));
                    let r = async {
                        let plain = SyncRequest::post("storage/d12").json(&json!([{ "id": "plain", "payload": "x" }])).header(header, "1");
                        let plain = cx.send(plain).await?;
                        cx.rule_or_compat(
                            plain.error(400, 1).map(drop),
                            || plain.error(400, 0).map(drop),
                            "batch totals header without batch gives 400/0",
                        )
                    }
                    .await;
                    cx.settle(v, r);
                }
                ensure_eq!(json!([]), sorted_listing(&mut cx, "storage/d12").await?, "records stored");
                Ok(())
            })
        })
        .upstream(&["test_batch_size_limits"]),
        Case::new("D-13", "with a quota, each write reports the remaining KB, falling by the bytes written", |mut cx| {
            Box::pin(async move {
                let mut answers = Vec::new();
                // 1536 two-byte characters: 3072 bytes, 3.00 KB.
                let steps: [(&str, SyncRequest, f64); 3] = [
                    ("PUT", SyncRequest::put("storage/d13/a").json(&json!({ "payload": "x".repeat(1024) })), 1.0),
                    ("PUT of multibyte text", SyncRequest::put("storage/d13/b").json(&json!({ "payload": "é".repeat(1536) })), 3.0),
                    ("POST", SyncRequest::post("storage/d13").json(&json!([{ "id": "c", "payload": "x".repeat(2048) }])), 2.0),
                ];
                for (what, req, kb) in steps {
                    let resp = cx.send(req).await?;
                    resp.status(200)?;
                    answers.push((what, resp, kb));
                }
                let start = cx.post("storage/d13?batch=true", json!([{ "id": "d", "payload": "x".repeat(1024) }])).await?;
                let batch = started_batch(&start)?;
                let commit = cx.send(batch_post("d13", &batch, true).json(&json!([]))).await?;
                commit.status(200)?;
                answers.push(("batch commit", commit, 1.0));
                let rule = (|| -> CaseResult {
                    let mut previous: Option<f64> = None;
                    for (what, resp, kb) in &answers {
                        let raw = resp.require_header("x-weave-quota-remaining")?;
                        let left: f64 = raw
                            .trim()
                            .parse()
                            .map_err(|_| Failure::mismatch(format!("X-Weave-Quota-Remaining of {what}"), "a number of KB", raw))?;
                        if let Some(p) = previous {
                            let fell = p - left;
                            let as_written = (fell - kb).abs() < 0.011;
                            ensure!(as_written, "{what} of {kb:.2} KB: remaining quota fell from {p} to {left} ({fell:.3} KB)");
                        }
                        previous = Some(left);
                    }
                    Ok(())
                })();
                cx.rule_or_compat(
                    rule,
                    || {
                        let sent: Vec<&str> =
                            answers.iter().filter(|(_, r, _)| r.header("x-weave-quota-remaining").is_some()).map(|(w, _, _)| *w).collect();
                        ensure!(sent.is_empty(), "X-Weave-Quota-Remaining sent by {sent:?} only");
                        Ok(())
                    },
                    "no X-Weave-Quota-Remaining",
                )
            })
        })
        .needs(&[Need::Quota]),
        Case::new("D-13", "without a quota no write reports remaining quota", |mut cx| {
            Box::pin(async move {
                let put = cx.put("storage/d13n/a", json!({ "payload": "x" })).await?;
                let post = cx.post("storage/d13n", json!([{ "id": "b", "payload": "y" }])).await?;
                let start = cx.post("storage/d13n?batch=true", json!([{ "id": "c", "payload": "z" }])).await?;
                let batch = started_batch(&start)?;
                let commit = cx.send(batch_post("d13n", &batch, true).json(&json!([]))).await?;
                for (what, resp) in [("PUT", &put), ("POST", &post), ("batch start", &start), ("batch commit", &commit)] {
                    resp.success()?;
                    ensure_eq!(None, resp.header("x-weave-quota-remaining"), "X-Weave-Quota-Remaining on {what}");
                }
                Ok(())
            })
        })
        .needs(&[Need::NoQuota]),
        // ---- D-14 to D-17: formats ----------------------------------------------------------
        Case::new("D-14", "POST takes JSON, text/plain and newlines; any other type or none gives 415 and stores nothing", |mut cx| {
            Box::pin(async move {
                let records: &[u8] = br#"[{"id":"12","payload":"p"},{"id":"13","payload":"q"}]"#;
                let lines: &[u8] = b"{\"id\":\"12\",\"payload\":\"p\"}\n{\"id\":\"13\",\"payload\":\"q\"}";
                for (coll, content_type, body) in [
                    ("d14a", "application/json", records),
                    ("d14b", "text/plain", records),
                    ("d14c", "application/json; charset=utf-8", records),
                    ("d14d", "application/newlines", lines),
                ] {
                    let v = cx.variant(format!("POST Content-Type: {content_type}"));
                    let r = async {
                        cx.send(SyncRequest::post(format!("storage/{coll}")).header("Content-Type", content_type).body(body))
                            .await?
                            .status(200)?;
                        ensure_eq!(json!(["12", "13"]), sorted_listing(&mut cx, &format!("storage/{coll}")).await?, "records stored");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                for (what, coll, content_type) in [
                    ("POST Content-Type: application/octet-stream", "d14e", Some("application/octet-stream")),
                    ("POST without Content-Type", "d14f", None),
                ] {
                    let v = cx.variant(what);
                    let req = SyncRequest::post(format!("storage/{coll}")).body(records);
                    let req = match content_type {
                        Some(ct) => req.header("Content-Type", ct),
                        None => req,
                    };
                    let r = async {
                        cx.send(req).await?.error(415, 0)?;
                        ensure_eq!(json!([]), sorted_listing(&mut cx, &format!("storage/{coll}")).await?, "records after the refused POST");
                        let info = cx.get("info/collections").await?;
                        ensure!(info.status(200)?.json()?.get(coll).is_none(), "the refused POST created its collection");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_set_collection_input_formats"]),
        Case::new("D-14", "PUT takes JSON and text/plain; octet-stream or no type gives 415 and stores nothing", |mut cx| {
            Box::pin(async move {
                let body = br#"{"payload":"*****"}"#;
                let put = |content_type: Option<&str>| {
                    let req = SyncRequest::put("storage/d14p/TEST").body(&body[..]);
                    match content_type {
                        Some(ct) => req.header("Content-Type", ct),
                        None => req,
                    }
                };
                for (what, content_type) in [
                    ("PUT Content-Type: application/octet-stream", Some("application/octet-stream")),
                    ("PUT without Content-Type", None),
                    ("PUT Content-Type: application/newlines", Some("application/newlines")),
                ] {
                    let v = cx.variant(what);
                    let r = async {
                        let resp = cx.send(put(content_type)).await?;
                        if content_type == Some("application/newlines") {
                            // Where the spec is silent (D-14): 415 or 400.
                            ensure!(matches!(resp.code(), 415 | 400), "PUT as application/newlines gives {}, not 415 or 400", resp.code());
                        } else {
                            resp.error(415, 0)?;
                        }
                        cx.get("storage/d14p/TEST").await?.error(404, 0)?;
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                for content_type in ["application/json", "text/plain", "text/plain; charset=utf-8"] {
                    let v = cx.variant(format!("PUT Content-Type: {content_type}"));
                    let r = async {
                        cx.delete("storage/d14p").await?;
                        cx.send(put(Some(content_type))).await?.status(200)?;
                        let rec = cx.get("storage/d14p/TEST").await?;
                        ensure_eq!(json!("*****"), rec.status(200)?.json()?["payload"], "the record's payload");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_set_item_input_formats"]),
        Case::new("D-15", "newline input takes one object per line, LF or CRLF, with or without a last terminator", |mut cx| {
            Box::pin(async move {
                for (what, body, ids) in [
                    ("LF, no last terminator", "{\"id\":\"a\",\"payload\":\"1\"}\n{\"id\":\"b\",\"payload\":\"2\"}", vec!["a", "b"]),
                    ("LF with a last terminator", "{\"id\":\"c\",\"payload\":\"3\"}\n", vec!["c"]),
                    ("CRLF", "{\"id\":\"d\",\"payload\":\"4\"}\r\n{\"id\":\"e\",\"payload\":\"5\"}\r\n", vec!["d", "e"]),
                    ("raw multibyte text", "{\"id\":\"f\",\"payload\":\"é€😀\"}", vec!["f"]),
                    ("an empty body", "", vec![]),
                ] {
                    let v = cx.variant(format!("newlines body: {what}"));
                    let r = async {
                        let out = cx.send(newlines_post("storage/d15", body)).await?.status(200)?.json()?;
                        ensure_eq!(json!(ids), out["success"], "success list");
                        ensure_eq!(json!({}), out["failed"], "failed records");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let rec = cx.get("storage/d15/f").await?;
                ensure_eq!(json!("é€😀"), rec.status(200)?.json()?["payload"], "multibyte payload sent raw");
                ensure_eq!(json!("4"), cx.get("storage/d15/d").await?.status(200)?.json()?["payload"], "a CRLF line's payload");

                // Payload newlines travel escaped, so each record stays on its line.
                let records = [json!({ "id": "01", "payload": "hello\nworld" }), json!({ "id": "02", "payload": "\nmarco\npolo\n" })];
                let body = records.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
                ensure_eq!(2, body.split('\n').count(), "escaped newlines keep two lines");
                cx.send(newlines_post("storage/d15n", &body)).await?.status(200)?;
                let full = cx.get("storage/d15n?full=1").await?;
                let mut items = full.status(200)?.json()?.as_array().cloned().unwrap_or_default();
                items.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
                ensure_eq!(2, items.len(), "records read back");
                for (item, sent) in items.iter().zip(&records) {
                    ensure_eq!(sent["payload"], item["payload"], "payload of {}", sent["id"]);
                }
                Ok(())
            })
        })
        .upstream(&["test_set_collection_input_formats", "test_app_newlines_when_payloads_contain_newlines"]),
        Case::new("D-15", "newline input with an empty line, a non-JSON line or a non-object fails whole", |mut cx| {
            Box::pin(async move {
                let good = "{\"id\":\"good\",\"payload\":\"x\"}";
                for (what, body, code) in [
                    ("a lone LF", "\n".to_owned(), None),
                    ("an empty line between records", format!("{good}\n\n{{\"id\":\"b\",\"payload\":\"y\"}}"), None),
                    ("a non-JSON line", format!("{good}\nnot json"), Some(6)),
                    ("a list line", "[]".to_owned(), Some(8)),
                    ("a number line after a record", format!("{good}\n42"), Some(8)),
                    ("a string line", "\"str\"".to_owned(), Some(8)),
                ] {
                    let v = cx.variant(format!("newlines body with {what}"));
                    let r = async {
                        let resp = cx.send(newlines_post("storage/d15b", &body)).await?;
                        match code {
                            None => ensure_eq!(400, resp.code(), "status"),
                            Some(6) => {
                                // J-01 lets syncstorage-rs answer 8 where 6 is due.
                                cx.rule_or_compat(
                                    resp.error(400, 6).map(drop),
                                    || resp.error(400, 8).map(drop),
                                    "unparseable line gives 400/8",
                                )?;
                            }
                            Some(c) => {
                                resp.error(400, c)?;
                            }
                        }
                        ensure_eq!(json!([]), sorted_listing(&mut cx, "storage/d15b").await?, "records after the refused POST");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                // The upstream empty-commit cases, in newline form.
                for (body, status) in [("", 200), ("\n", 400), ("{}", 400), ("[]", 400)] {
                    let v = cx.variant(format!("newlines commit body {body:?}"));
                    let r = async {
                        let records: Vec<Value> = (0..5).map(|i| json!({ "id": format!("{i:02}"), "payload": "X" })).collect();
                        let start = cx.post("storage/d15c?batch=true", json!(records)).await?;
                        let batch = started_batch(&start)?;
                        let commit =
                            batch_post("d15c", &batch, true).header("Content-Type", "application/newlines").body(body.as_bytes().to_vec());
                        ensure_eq!(status, cx.send(commit).await?.code(), "status of the commit");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_set_collection_input_formats", "test_batch_empty_commit"]),
        Case::new("D-16", "Accept chooses JSON or newlines by q-value; anything unservable gives 406", |mut cx| {
            Box::pin(async move {
                let records: Vec<Value> = (0..5).map(|i| json!({ "id": format!("{i:02}"), "payload": "xxx" })).collect();
                cx.post("storage/d16", json!(records)).await?.status(200)?;
                let want = json!(["00", "01", "02", "03", "04"]);
                for (accept, newlines) in [
                    ("*/*", false),
                    ("application/json", false),
                    ("application/newlines", true),
                    ("application/newlines;q=1, application/json;q=0.5", true),
                    ("application/json;q=0.5, application/newlines", true),
                    ("application/json;q=1, application/newlines;q=0.5", false),
                ] {
                    let v = cx.variant(format!("Accept: {accept}"));
                    let r = async {
                        let resp = cx.send(SyncRequest::get("storage/d16").header("Accept", accept)).await?;
                        resp.status(200)?;
                        let media = media_type(&resp);
                        if newlines {
                            ensure_eq!("application/newlines", media, "Content-Type");
                            ensure_eq!(want, json!(sorted_values(newline_values(&resp)?)), "ids listed");
                        } else {
                            ensure_eq!("application/json", media, "Content-Type");
                            ensure_eq!(want, json!(sorted_values(resp.json()?.as_array().cloned().unwrap_or_default())), "ids listed");
                        }
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                for accept in ["x/yy", "application/json;q=0"] {
                    let v = cx.variant(format!("Accept: {accept}"));
                    let r =
                        async { cx.send(SyncRequest::get("storage/d16").header("Accept", accept)).await?.error(406, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_alternative_formats"]),
        Case::new("D-17", "newline output is one JSON value and a LF per item, payload newlines escaped", |mut cx| {
            Box::pin(async move {
                let records = [json!({ "id": "01", "payload": "hello\nworld" }), json!({ "id": "02", "payload": "\nmarco\npolo\n" })];
                cx.post("storage/d17", json!(records)).await?.status(200)?;
                let accept = |path: &str| SyncRequest::get(path).header("Accept", "application/newlines");
                let full = cx.send(accept("storage/d17?full=1")).await?;
                ensure_eq!("application/newlines", media_type(full.status(200)?), "Content-Type of a newline listing");
                let mut items = newline_values(&full)?;
                items.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
                ensure_eq!(2, items.len(), "lines for two records");
                for (item, sent) in items.iter().zip(&records) {
                    ensure_eq!(sent["payload"], item["payload"], "payload of {} read as newlines", sent["id"]);
                }
                let ids = cx.send(accept("storage/d17")).await?;
                ensure_eq!(json!(["01", "02"]), json!(sorted_values(newline_values(ids.status(200)?)?)), "ids read as newlines");
                let json_read = cx.get("storage/d17?full=1").await?;
                let mut items = json_read.status(200)?.json()?.as_array().cloned().unwrap_or_default();
                items.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
                ensure_eq!(
                    json!(["hello\nworld", "\nmarco\npolo\n"]),
                    json!(items.iter().map(|i| i["payload"].clone()).collect::<Vec<_>>()),
                    "payloads read as JSON"
                );
                let empty = cx.send(accept("storage/d17none")).await?;
                ensure_eq!("", empty.status(200)?.text(), "a newline listing of no items");
                Ok(())
            })
        })
        .upstream(&["test_alternative_formats", "test_app_newlines_when_payloads_contain_newlines"]),
        // ---- D-18 to D-20 --------------------------------------------------------------------
        Case::new("D-18", "concurrent writes either succeed or get a conflict answer with Retry-After", |mut cx| {
            Box::pin(async move {
                let me = cx.me();
                let writes: Vec<(SyncUser, SyncRequest)> = (0..24)
                    .map(|i| {
                        let req = if i % 2 == 0 {
                            SyncRequest::put("storage/d18/same").json(&json!({ "payload": format!("w{i}") }))
                        } else {
                            SyncRequest::post(format!("storage/d18c{}", i % 6)).json(&json!([{ "id": "r", "payload": format!("w{i}") }]))
                        };
                        (me.clone(), req)
                    })
                    .collect();
                let n = writes.len();
                let mut bad = Vec::new();
                for (i, answer) in cx.send_all(writes).await.into_iter().enumerate() {
                    let checked = answer.and_then(|r| match still_refused(&r) {
                        Some(refused) => refused,
                        None if (200..300).contains(&r.code()) => Ok(()),
                        None => Err(Failure::mismatch(
                            format!("{} {}", r.0.request().method, r.0.request().resource()),
                            "2xx, or a refusal (409, or 503 with Retry-After)",
                            format!("{} {}", r.code(), r.text().chars().take(80).collect::<String>()),
                        )),
                    });
                    if let Err(f) = checked {
                        bad.push(format!("concurrent {}/{n}: {}", i + 1, one_line(&f)));
                    }
                }
                ensure!(bad.is_empty(), "concurrent writes that neither succeeded nor were refused with Retry-After in seconds: {bad:#?}");
                Ok(())
            })
        }),
        Case::new("D-19", "X-Weave-Records on the info maps counts their entries", |mut cx| {
            Box::pin(async move {
                let views = ["info/collections", "info/collection_counts", "info/collection_usage"];
                for view in views {
                    let resp = cx.get(view).await?;
                    ensure_eq!(Some("0"), resp.status(200)?.header("x-weave-records"), "X-Weave-Records of {view} without data");
                }
                cx.post("storage/d19a", json!([{ "id": "a", "payload": "x" }, { "id": "b", "payload": "y" }])).await?.status(200)?;
                cx.post("storage/d19b", json!([{ "id": "x", "payload": "z" }])).await?.status(200)?;
                cx.post("storage/d19c", json!([{ "id": "y", "payload": "w" }])).await?.status(200)?;
                // Emptied but still existing: listed by info/collections, maybe not by the others.
                cx.delete("storage/d19c?ids=y").await?.status(200)?;
                for view in views {
                    let resp = cx.get(view).await?;
                    let entries = resp.status(200)?.json()?.as_object().map_or(0, |m| m.len());
                    ensure_eq!(Some(entries.to_string()), resp.header("x-weave-records").map(str::to_owned), "X-Weave-Records of {view}");
                }
                let info = cx.get("info/collections").await?;
                ensure_eq!(Some("3"), info.header("x-weave-records"), "X-Weave-Records of info/collections with an emptied collection");
                Ok(())
            })
        }),
        Case::new("D-20", "a body declared one byte over max_request_bytes gets 413 and writes nothing", |mut cx| {
            Box::pin(async move {
                let max = cx.limits().max_request_bytes as usize;
                let at = padded(r#"[{"id":"at","payload":"x"}]"#, max);
                let resp = cx.send(SyncRequest::post("storage/d20").header("Content-Type", "application/json").body(at)).await?;
                ensure_eq!(json!(["at"]), resp.status(200)?.json()?["success"], "a body of exactly max_request_bytes");
                let over = padded(r#"[{"id":"over","payload":"x"}]"#, max + 1);
                // The server may leave the body unread and drop the connection; keep it out of the
                // shared pool so that no later request, of this case or another, inherits it.
                let req = SyncRequest::post("storage/d20over")
                    .header("Content-Type", "application/json")
                    .header("Connection", "close")
                    .body(over);
                let resp = cx.send(req).await?;
                ensure_eq!(413, resp.code(), "status of a body one byte over max_request_bytes");
                ensure_eq!(json!([]), sorted_listing(&mut cx, "storage/d20over").await?, "records after the 413");
                let info = cx.get("info/collections").await?;
                ensure!(info.status(200)?.json()?.get("d20over").is_none(), "the refused POST created its collection");
                Ok(())
            })
        }),
    ]
}

// ---- steps shared by the cases above ---------------------------------------------------------

/// D-01 for one answer: an X-Weave-Timestamp with two decimals, not before the write at `t`, nor
/// before the last answer's (`previous`, moved on here), nor before its own X-Last-Modified.
fn server_time(resp: &Resp, t: Stamp, previous: &mut Stamp) -> CaseResult {
    let now = resp.stamp("x-weave-timestamp").map_err(|f| Failure::new(format!("{}: {}", resp.code(), f.message)))?;
    ensure!(now >= t, "X-Weave-Timestamp {now} is before the write at {t}");
    ensure!(now >= *previous, "X-Weave-Timestamp {now} went back from {previous}");
    *previous = now;
    if let Some(lm) = resp.header("x-last-modified") {
        let lm = Stamp::parse(lm).map_err(|m| Failure::new(format!("X-Last-Modified {m}")))?;
        ensure!(now >= lm, "X-Weave-Timestamp {now} is before X-Last-Modified {lm}");
    }
    // The server may run ahead of this machine (a test clock), never far behind.
    let local = local_now();
    ensure!(now >= local.plus_cs(-6000), "X-Weave-Timestamp {now} is more than a minute behind this machine ({local})");
    Ok(())
}

/// This machine's clock as a ts.
fn local_now() -> Stamp {
    let cs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() / 10);
    Stamp(i64::try_from(cs).unwrap_or(i64::MAX))
}

/// X-Last-Modified and X-Weave-Timestamp (and the body's ts, if given) agree; that T.
fn one_t(resp: &Resp, body: Option<Stamp>, what: &str) -> Result<Stamp, Failure> {
    let t = resp.stamp("x-last-modified")?;
    ensure_eq!(t, resp.stamp("x-weave-timestamp")?, "{what}: X-Weave-Timestamp vs X-Last-Modified");
    if let Some(b) = body {
        ensure_eq!(t, b, "{what}: body modified vs X-Last-Modified");
    }
    Ok(t)
}

/// A 412 with no body that reports the resource's ts `t` (D-06).
async fn refused_412(cx: &mut Ctx, req: SyncRequest, t: Stamp) -> CaseResult {
    let resp = cx.send(req).await?;
    resp.status(412)?.empty()?;
    ensure_eq!(t, resp.stamp("x-last-modified")?, "X-Last-Modified of the 412");
    Ok(())
}

/// 200 (true) or 400/0 (false) for a write carrying X-If-Modified-Since; anything else fails.
fn applied_or_refused(resp: &Resp, what: &str) -> Result<bool, Failure> {
    match resp.code() {
        200 => Ok(true),
        400 => resp.error(400, 0).map(|_| false),
        other => Err(Failure::mismatch(format!("{what} carrying X-If-Modified-Since"), "200, or 400/0", other)),
    }
}

/// The ids of a listing, sorted, as JSON for comparison.
async fn sorted_listing(cx: &mut Ctx, path: &str) -> Result<Value, Failure> {
    let resp = cx.get(path).await?;
    let mut ids: Vec<String> =
        resp.status(200)?.json()?.as_array().cloned().unwrap_or_default().iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
    ids.sort();
    Ok(json!(ids))
}

fn newlines_post(path: &str, body: &str) -> SyncRequest {
    SyncRequest::post(path).header("Content-Type", "application/newlines").body(body.as_bytes().to_vec())
}

/// The media type of the response, without parameters.
fn media_type(resp: &Resp) -> String {
    resp.header("content-type").unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// The values of a newline body: every item a JSON value followed by a LF.
fn newline_values(resp: &Resp) -> Result<Vec<Value>, Failure> {
    let text = resp.text();
    ensure!(text.is_empty() || text.ends_with('\n'), "a newline body must end each item with a LF: {text:?}");
    text.split_terminator('\n')
        .map(|line| {
            serde_json::from_str(line)
                .map_err(|e| Failure::mismatch("a line of a newline body", "one JSON value", format!("{line:?}: {e}")))
        })
        .collect()
}

fn sorted_values(mut values: Vec<Value>) -> Vec<Value> {
    values.sort_by_key(Value::to_string);
    values
}

/// `json` followed by spaces up to exactly `len` bytes: still valid JSON.
fn padded(json: &str, len: usize) -> Vec<u8> {
    let mut body = json.as_bytes().to_vec();
    body.resize(len.max(body.len()), b' ');
    body
}
