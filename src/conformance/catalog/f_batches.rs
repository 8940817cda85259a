//! SPEC area F: batch uploads.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use super::steps::*;
use crate::client::{SyncRequest, SyncUser};
use crate::conformance::{Case, CaseResult, Ctx, Failure, Need, Resp, Stamp};
use crate::{ensure, ensure_eq};

/// Clauses of area F that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

// ---- steps ------------------------------------------------------------------------------------

/// A plain POST to `coll`, for the query strings `batch_post` does not build.
fn to(coll: &str) -> SyncRequest {
    SyncRequest::post(format!("storage/{coll}"))
}

/// Starts a batch in `coll` with `body`: 202 and an id.
async fn start(cx: &mut Ctx, coll: &str, body: Value) -> Result<(String, Value), Failure> {
    let resp = cx.send(batch_post(coll, "true", false).json(&body)).await?;
    let answer = resp.status(202)?.json()?;
    Ok((batch_id(&answer)?, answer))
}

/// Appends `body` to batch `id` (the id percent-encoded, F-02).
async fn append(cx: &mut Ctx, coll: &str, id: &str, body: Value) -> Result<Resp, Failure> {
    cx.send(batch_post(coll, id, false).json(&body)).await
}

/// Commits batch `id` with `body`.
async fn commit(cx: &mut Ctx, coll: &str, id: &str, body: Value) -> Result<Resp, Failure> {
    cx.send(batch_post(coll, id, true).json(&body)).await
}

fn numbered(range: std::ops::Range<usize>, payload: &str) -> Vec<Value> {
    range.map(|i| json!({ "id": format!("{i:04}"), "payload": payload })).collect()
}

/// Status 400 and, where the clause names it, code 0.
fn refused(resp: &Resp, code: Option<u32>, what: &str) -> Result<(), Failure> {
    let checked = match code {
        Some(c) => resp.error(400, c).map(|_| ()),
        None => resp.status(400).map(|_| ()),
    };
    checked.map_err(|f| Failure { message: format!("{what}: {}", f.message), ..f })
}

/// Sends `req` (as `user`, else as the case's own user) as the variant `what`, which must be
/// refused ([`refused`]).
async fn expect_refused(cx: &mut Ctx, what: &str, req: SyncRequest, user: Option<&SyncUser>, code: Option<u32>) {
    let v = cx.variant(what);
    let r = async {
        let resp = match user {
            Some(u) => cx.send_as(u, req).await?,
            None => cx.send(req).await?,
        };
        refused(&resp, code, what)
    }
    .await;
    cx.settle(v, r);
}

/// F-09 ttl-only entries; `Ok(false)` when the server clock jumped past the ttl too early.
async fn batch_ttl_update(cx: &mut Ctx, coll: &str) -> Result<bool, Failure> {
    written_at(
        &cx.post(
            &format!("storage/{coll}"),
            json!([
                { "id": "a", "payload": "ayy" },
                { "id": "b", "payload": "bea" },
                { "id": "c", "payload": "see" },
            ]),
        )
        .await?,
    )?;
    let resp = cx.send(batch_post(coll, "true", false).json(&json!([]))).await?;
    let id = started_batch(&resp)?;
    let orig = resp.stamp("x-last-modified")?;
    for rec in [json!({ "id": "a", "ttl": 2 }), json!({ "id": "b", "ttl": 2 })] {
        let resp = append(cx, coll, &id, json!([rec])).await?;
        resp.status(202)?;
        ensure_eq!(orig, resp.stamp("x-last-modified")?, "X-Last-Modified of an append is the collection ts");
    }
    let t = written_at(&commit(cx, coll, &id, json!([])).await?)?;
    let (stored, now) = records_at(cx, coll).await?;
    if now >= t.plus_cs(200) {
        return Ok(false);
    }
    for (id, payload) in [("a", "ayy"), ("b", "bea"), ("c", "see")] {
        ensure_eq!(payload, payload_of(&stored, id)?, "a ttl-only entry leaves the payload of {id}");
    }
    cx.pass_time(Duration::from_millis(2100)).await?;
    ensure_eq!(names(&["c"]), ids(cx, coll).await?, "a and b expire 2 s after the commit; c never does");
    Ok(true)
}

/// F-11; `Ok(false)` when the server clock jumped past the ttl before the "still alive" read.
async fn ttl_from_commit(cx: &mut Ctx, coll: &str) -> Result<bool, Failure> {
    let (id, _) = start(cx, coll, json!([])).await?;
    append(cx, coll, &id, json!([{ "id": "a", "ttl": 2 }])).await?.status(202)?;
    cx.pass_time(Duration::from_millis(800)).await?;
    let t = written_at(&commit(cx, coll, &id, json!([])).await?)?;
    // 1.4 s after the commit, 2.2 s or more after staging: alive only if counted from T.
    cx.pass_time(Duration::from_millis(1400)).await?;
    let resp = cx.get(&format!("storage/{coll}")).await?;
    let listed = resp.status(200)?.json()?;
    if server_now(&resp)? >= t.plus_cs(200) {
        return Ok(false);
    }
    ensure_eq!(json!(["a"]), listed, "a staged ttl 2 is still running 1.4 s after the commit");
    cx.pass_time(Duration::from_millis(700)).await?;
    ensure_eq!(Vec::<String>::new(), ids(cx, coll).await?, "2.1 s after the commit the record has expired");
    Ok(true)
}

/// F-17: commit `req` of a batch in `coll`, which holds nothing yet, is 400/17 and applies nothing.
async fn refused_commit_applies_nothing(cx: &mut Ctx, coll: &str, req: SyncRequest, what: &str) -> CaseResult {
    refused(&cx.send(req).await?, Some(17), what)?;
    ensure_eq!(Vec::<String>::new(), ids(cx, coll).await?, "a refused commit applies nothing");
    Ok(())
}

/// F-17 by record count, in collection `coll`.
async fn batch_record_total(cx: &mut Ctx, coll: &str) -> CaseResult {
    let limits = cx.limits().clone();
    let total = limits.max_total_records as usize;
    let per = (limits.max_post_records as usize).max(1);
    let (id, _) = start(cx, coll, Value::Array(numbered(0..per.min(total), "x"))).await?;
    let mut sent = per.min(total);
    while sent < total {
        let next = (sent + per).min(total);
        let answer = append(cx, coll, &id, Value::Array(numbered(sent..next, "x"))).await?.status(202)?.json()?;
        ensure_eq!(next - sent, success_of(&answer)?.len(), "records staged up to the limit");
        sent = next;
    }
    // Restaging a staged id adds no id.
    append(cx, coll, &id, json!([{ "id": "0000", "payload": "restaged" }])).await?.status(202)?;
    let over = json!([{ "id": "0001", "payload": "changed" }, { "id": "extra", "payload": "x" }]);
    expect_refused(cx, "append past max_total_records", batch_post(coll, &id, false).json(&over), None, Some(17)).await;
    let req = batch_post(coll, &id, false).header("X-Weave-Total-Records", "1").json(&over);
    expect_refused(cx, "append past max_total_records declaring a small total", req, None, Some(17)).await;
    let v = cx.variant("commit past max_total_records");
    let r = refused_commit_applies_nothing(cx, coll, batch_post(coll, &id, true).json(&over), "commit past max_total_records").await;
    cx.settle(v, r);
    written_at(&commit(cx, coll, &id, json!([])).await?)?;
    let stored = records(cx, coll).await?;
    ensure_eq!(total, stored.len(), "the accepted records are committed");
    ensure!(!stored.contains_key("extra"), "the refused id is not committed");
    ensure_eq!("restaged", payload_of(&stored, "0000")?, "0000 as restaged");
    ensure_eq!("x", payload_of(&stored, "0001")?, "0001 untouched by the refused requests");
    Ok(())
}

/// F-17 by payload bytes, in collection `coll`.
async fn batch_byte_total(cx: &mut Ctx, coll: &str) -> CaseResult {
    let limits = cx.limits().clone();
    let total = limits.max_total_bytes as usize;
    // One record per request, each as big as every per-request limit allows.
    let size = (limits.max_record_payload_bytes as usize)
        .min(limits.max_post_bytes as usize)
        .min((limits.max_request_bytes as usize).saturating_sub(100));
    ensure!(size > 0 && total.div_ceil(size) < limits.max_total_records as usize, "limits leave no room for this check");
    let (id, _) = start(cx, coll, json!([])).await?;
    let (mut staged, mut n) = (0, 0);
    while staged < total {
        let this = size.min(total - staged);
        let answer =
            append(cx, coll, &id, json!([{ "id": format!("r{n}"), "payload": sized_payload(this) }])).await?.status(202)?.json()?;
        ensure_eq!(1, success_of(&answer)?.len(), "record r{n} staged ({this} bytes, {staged} before)");
        staged += this;
        n += 1;
    }
    expect_refused(
        cx,
        "append of one more byte (two, as é)",
        batch_post(coll, &id, false).json(&json!([{ "id": "extra", "payload": "é" }])),
        None,
        Some(17),
    )
    .await;
    expect_refused(
        cx,
        "append of one more byte",
        batch_post(coll, &id, false).json(&json!([{ "id": "extra", "payload": "x" }])),
        None,
        Some(17),
    )
    .await;
    let v = cx.variant("commit body with one more byte");
    let req = batch_post(coll, &id, true).json(&json!([{ "id": "extra", "payload": "x" }]));
    let r = refused_commit_applies_nothing(cx, coll, req, "commit body with one more byte").await;
    cx.settle(v, r);
    written_at(&commit(cx, coll, &id, json!([{ "id": "empty", "payload": "" }])).await?)?;
    let listed: BTreeSet<String> = ids(cx, coll).await?.into_iter().collect();
    let mut expect: BTreeSet<String> = (0..n).map(|i| format!("r{i}")).collect();
    expect.insert("empty".into());
    ensure_eq!(expect, listed, "exactly max_total_bytes (and an empty payload) commit");
    Ok(())
}

/// The `batch` parameter of an F-04 request.
#[derive(Clone, Copy)]
enum F04Batch {
    /// No `batch` at all.
    Absent,
    /// `batch=true`.
    True,
    /// The id of a batch opened for the request, holding `a`.
    Open,
}

/// F-04: a commit request with `commit=value` in collection `coll` (its own) is 400/0, stores
/// nothing and creates no collection; an open batch still commits afterwards.
async fn refused_commit(cx: &mut Ctx, coll: &str, batch: F04Batch, value: &str, body: Value, what: &str) -> CaseResult {
    let open = match batch {
        F04Batch::Open => Some(start(cx, coll, json!([{ "id": "a", "payload": "staged" }])).await?.0),
        _ => None,
    };
    let req = match (batch, &open) {
        (F04Batch::Absent, _) => to(coll),
        (F04Batch::True, _) | (F04Batch::Open, None) => to(coll).query("batch", "true"),
        (F04Batch::Open, Some(id)) => to(coll).query("batch", id),
    };
    let resp = cx.send(req.query("commit", value).json(&body)).await?;
    refused(&resp, Some(0), what)?;
    ensure_eq!(Vec::<String>::new(), ids(cx, coll).await?, "a refused commit ({what}) stores nothing");
    let (map, _) = info(cx).await?;
    ensure!(map.get(coll).is_none(), "a refused commit ({what}) creates no collection: {map}");
    if let Some(id) = open {
        written_at(&commit(cx, coll, &id, json!([])).await?)?;
        ensure_eq!(names(&["a"]), ids(cx, coll).await?, "the batch still commits after the refused {what}");
    }
    Ok(())
}

/// F-07: batch `coll` (its own) with five staged records, committed with `body` as
/// `content_type`: applied if the form `works`, else 400 and nothing applied.
async fn empty_commit(cx: &mut Ctx, coll: &str, content_type: &str, body: &str, works: bool) -> CaseResult {
    let (id, answer) = start(cx, coll, Value::Array(numbered(0..5, "X"))).await?;
    ensure_eq!(5, success_of(&answer)?.len(), "five records staged");
    let req = batch_post(coll, &id, true).header("Content-Type", content_type).body(body.as_bytes().to_vec());
    let resp = cx.send(req).await?;
    let what = format!("commit with {content_type} body {body:?}");
    if works {
        resp.status(200).map_err(|f| Failure { message: format!("{what}: {}", f.message), ..f })?;
        ensure_eq!(5, ids(cx, coll).await?.len(), "records applied by a {what}");
    } else {
        refused(&resp, None, &what)?;
        ensure_eq!(Vec::<String>::new(), ids(cx, coll).await?, "records applied by a refused {what}");
    }
    Ok(())
}

/// F-13: an append to, or a commit of, batch `value` in `coll` (its own) is 400/0 and stores
/// nothing.
async fn unknown_batch(cx: &mut Ctx, coll: &str, value: &str, commit: bool, what: &str) -> CaseResult {
    let body = if commit { json!([{ "id": "g", "payload": "x" }]) } else { json!([{ "id": "f", "payload": "pantomime" }]) };
    let resp = cx.send(batch_post(coll, value, commit).json(&body)).await?;
    refused(&resp, Some(0), what)?;
    ensure_eq!(Vec::<String>::new(), ids(cx, coll).await?, "nothing stored by the {what}");
    Ok(())
}

// ---- the cases --------------------------------------------------------------------------------

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("F-01", "a started batch answers 202 with its id and its records stay invisible", |mut cx| {
            Box::pin(async move {
                let t0 = written_at(
                    &cx.post("storage/f01", json!([{ "id": "12", "payload": "elegance" }, { "id": "13", "payload": "slovenly" }])).await?,
                )?;
                let body = json!([
                    { "id": "a", "payload": "internal" },
                    { "id": "b", "payload": "pancreas" },
                    { "id": "13", "payload": "portnoy" },
                ]);
                let resp = cx.send(batch_post("f01", "true", false).json(&body)).await?;
                let answer = resp.status(202)?.json()?;
                batch_id(&answer)?;
                ensure_eq!(set(&["13", "a", "b"]), success_of(&answer)?, "staged ids in success");
                ensure!(failed_of(&answer)?.is_empty(), "nothing fails: {answer}");
                ensure_eq!(t0, resp.stamp("x-last-modified")?, "X-Last-Modified of the 202 is the collection ts");
                let listing = cx.get("storage/f01").await?;
                ensure_eq!(json!(["12", "13"]), sorted(listing.status(200)?.json()?), "listing during the batch");
                ensure_eq!(Some("2"), listing.header("x-weave-records"), "X-Weave-Records during the batch");
                ensure_eq!(t0, listing.stamp("x-last-modified")?, "collection ts during the batch");
                let stored = records(&mut cx, "f01").await?;
                ensure_eq!("slovenly", payload_of(&stored, "13")?, "13 is not yet restaged");
                ensure_eq!(t0, modified_of(&stored, "13")?, "13 keeps its ts");
                cx.get("storage/f01/a").await?.error(404, 0)?;
                let (map, storage_ts) = info(&mut cx).await?;
                ensure_eq!(t0, Stamp::from_json(&map["f01"])?, "info/collections during the batch");
                ensure_eq!(t0, storage_ts, "storage ts during the batch");
                // `true` in another case also starts a batch.
                let resp = cx.send(batch_post("f01", "TRUE", false).json(&json!([{ "id": "c", "payload": "x" }]))).await?;
                started_batch(&resp)?;
                ensure_eq!(names(&["12", "13"]), ids(&mut cx, "f01").await?, "listing after batch=TRUE");
                Ok(())
            })
        })
        .upstream(&["test_batches", "test_batch_partial_update"]),
        Case::new("F-02", "batch ids are used only as returned, percent-encoded, and open batches get distinct ids", |mut cx| {
            Box::pin(async move {
                let (one, _) = start(&mut cx, "f02", json!([{ "id": "a", "payload": "1" }])).await?;
                let (two, _) = start(&mut cx, "f02", json!([{ "id": "b", "payload": "2" }])).await?;
                ensure!(one != two, "two open batches share the id {one:?}");
                append(&mut cx, "f02", &one, json!([{ "id": "c", "payload": "3" }])).await?.status(202)?;
                written_at(&commit(&mut cx, "f02", &one, json!([])).await?)?;
                ensure_eq!(names(&["a", "c"]), ids(&mut cx, "f02").await?, "the first batch alone is applied");
                written_at(&commit(&mut cx, "f02", &two, json!([])).await?)?;
                ensure_eq!(names(&["a", "b", "c"]), ids(&mut cx, "f02").await?, "then the second");
                Ok(())
            })
        }),
        Case::new("F-03", "restaging an id merges field by field: later fields replace, absent ones stay", |mut cx| {
            Box::pin(async move {
                let (id, _) = start(
                    &mut cx,
                    "f03",
                    json!([
                        { "id": "a", "payload": "p1", "sortindex": 5 },
                        { "id": "b", "payload": "q" },
                        { "id": "c", "payload": "c1", "sortindex": 7 },
                        { "id": "d", "payload": "d1" },
                    ]),
                )
                .await?;
                let resp = append(
                    &mut cx,
                    "f03",
                    &id,
                    json!([
                        { "id": "a", "payload": "p2" },
                        { "id": "c", "sortindex": null },
                        { "id": "d", "payload": null },
                    ]),
                )
                .await?;
                resp.status(202)?;
                written_at(&commit(&mut cx, "f03", &id, json!([])).await?)?;
                let stored = records(&mut cx, "f03").await?;
                ensure_eq!("p2", payload_of(&stored, "a")?, "a takes the restaged payload");
                ensure_eq!(json!(5), stored["a"]["sortindex"], "a keeps the first staged sortindex");
                ensure_eq!("q", payload_of(&stored, "b")?, "b as staged");
                ensure_eq!("c1", payload_of(&stored, "c")?, "c keeps its payload");
                ensure!(stored["c"].get("sortindex").is_none_or(Value::is_null), "an explicit null clears c's sortindex: {}", stored["c"]);
                ensure_eq!("", payload_of(&stored, "d")?, "an explicit null payload becomes the default");
                Ok(())
            })
        }),
        Case::new("F-04", "commit without a batch, or with a value other than true, is 400/0", |mut cx| {
            Box::pin(async move {
                let open = || json!([{ "id": "b", "payload": "x" }]);
                let requests: [(&str, F04Batch, &str, Value); 6] = [
                    ("commit=true without batch", F04Batch::Absent, "true", json!([])),
                    ("commit=true with records, without batch", F04Batch::Absent, "true", json!([{ "id": "x", "payload": "x" }])),
                    ("commit=yes on an open batch", F04Batch::Open, "yes", open()),
                    ("commit=false on an open batch", F04Batch::Open, "false", open()),
                    ("commit=1 on an open batch", F04Batch::Open, "1", open()),
                    ("batch=true&commit=yes", F04Batch::True, "yes", json!([{ "id": "c", "payload": "x" }])),
                ];
                for (i, (what, batch, value, body)) in requests.into_iter().enumerate() {
                    let v = cx.variant(what);
                    let r = refused_commit(&mut cx, &format!("f04v{i}"), batch, value, body, what).await;
                    cx.settle(v, r);
                }
                let v = cx.variant("commit=True on an open batch");
                let r = async {
                    let (id, _) = start(&mut cx, "f04", json!([{ "id": "a", "payload": "staged" }])).await?;
                    let resp = cx.send(to("f04").query("batch", &id).query("commit", "True").json(&json!([]))).await?;
                    written_at(&resp)?;
                    ensure_eq!(names(&["a"]), ids(&mut cx, "f04").await?, "commit=True applies the batch");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_we_dont_need_no_stinkin_batches"]),
        Case::new("F-05", "a commit applies staged and body records together at its T", |mut cx| {
            Box::pin(async move {
                let t0 = written_at(
                    &cx.post("storage/f05", json!([{ "id": "12", "payload": "elegance" }, { "id": "13", "payload": "slovenly" }])).await?,
                )?;
                let (id, _) =
                    start(&mut cx, "f05", json!([{ "id": "a", "payload": "internal" }, { "id": "b", "payload": "pancreas" }])).await?;
                let resp = commit(
                    &mut cx,
                    "f05",
                    &id,
                    json!([
                        { "id": "c", "payload": "tinsel" },
                        { "id": "13", "payload": "portnoy" },
                        { "id": "14", "payload": "itsybitsy" },
                    ]),
                )
                .await?;
                let t = written_at(&resp)?;
                let answer = resp.json()?;
                ensure!(answer.get("batch").is_none(), "a commit answer has no batch key: {answer}");
                ensure!(success_of(&answer)?.is_superset(&set(&["13", "14", "c"])), "the body's records succeed: {answer}");
                ensure!(failed_of(&answer)?.is_empty(), "nothing fails: {answer}");
                ensure!(t > t0, "the commit's T follows the earlier write ({t} after {t0})");
                let (map, storage_ts) = info(&mut cx).await?;
                ensure_eq!(t, Stamp::from_json(&map["f05"])?, "info/collections shows the commit");
                ensure_eq!(t, storage_ts, "the storage ts is the commit's T");
                let listing = cx.get("storage/f05").await?;
                ensure_eq!(json!(["12", "13", "14", "a", "b", "c"]), sorted(listing.status(200)?.json()?), "listing after the commit");
                ensure_eq!(Some("6"), listing.header("x-weave-records"), "X-Weave-Records after the commit");
                let stored = records(&mut cx, "f05").await?;
                for (rid, payload) in [("13", "portnoy"), ("14", "itsybitsy"), ("a", "internal"), ("b", "pancreas"), ("c", "tinsel")] {
                    ensure_eq!(payload, payload_of(&stored, rid)?, "payload of {rid}");
                    ensure_eq!(t, modified_of(&stored, rid)?, "{rid} carries the commit's T");
                }
                ensure_eq!(t0, modified_of(&stored, "12")?, "12, untouched, keeps its ts");

                // A commit with an empty body applies what was staged.
                let (id, _) =
                    start(&mut cx, "f05", json!([{ "id": "a", "payload": "burrito" }, { "id": "e", "payload": "chocolate" }])).await?;
                let t2 = written_at(&commit(&mut cx, "f05", &id, json!([])).await?)?;
                let resp = cx.get("storage/f05/a").await?;
                let a = resp.status(200)?.json()?;
                ensure_eq!(t2, resp.stamp("x-last-modified")?, "X-Last-Modified of a after the empty commit");
                ensure_eq!(json!("burrito"), a["payload"], "a after the empty commit");
                ensure_eq!(t2, Stamp::from_json(&a["modified"])?, "a carries the empty commit's T");
                ensure_eq!(t2, modified_of(&records(&mut cx, "f05").await?, "e")?, "e carries the empty commit's T");
                Ok(())
            })
        })
        .upstream(&["test_batches"]),
        Case::new("F-05", "info/collections follows each commit, collection by collection", |mut cx| {
            Box::pin(async move {
                let bsos = json!([{ "id": "a", "payload": "aih" }, { "id": "b", "payload": "bie" }, { "id": "c", "payload": "cee" }]);
                let ts1 = written_at(&cx.post("storage/f05c1", bsos.clone()).await?)?;
                let ts2 = written_at(&cx.post("storage/f05c2", bsos).await?)?;
                let (map, storage_ts) = info(&mut cx).await?;
                ensure_eq!(
                    (ts1, ts2, ts2),
                    (Stamp::from_json(&map["f05c1"])?, Stamp::from_json(&map["f05c2"])?, storage_ts),
                    "(c1, c2, storage) ts"
                );
                let (id, _) = start(&mut cx, "f05c2", json!([{ "id": "a", "payload": "aih" }, { "id": "b", "payload": "bie" }])).await?;
                let t = written_at(&commit(&mut cx, "f05c2", &id, json!([])).await?)?;
                ensure!(t > ts2, "overwriting in place moves c2's ts ({t} after {ts2})");
                let (map, storage_ts) = info(&mut cx).await?;
                ensure_eq!(
                    (ts1, t, t),
                    (Stamp::from_json(&map["f05c1"])?, Stamp::from_json(&map["f05c2"])?, storage_ts),
                    "(c1, c2, storage) ts"
                );
                let resp = cx.send(batch_post("f05c1", "true", true).json(&json!([{ "id": "d", "payload": "dee" }]))).await?;
                let t1 = written_at(&resp)?;
                ensure!(t1 > ts1 && t1 >= t, "adding to c1 moves its ts past both ({t1} after {ts1} and {t})");
                let (map, storage_ts) = info(&mut cx).await?;
                ensure_eq!(
                    (t1, t, t1),
                    (Stamp::from_json(&map["f05c1"])?, Stamp::from_json(&map["f05c2"])?, storage_ts),
                    "(c1, c2, storage) ts"
                );
                Ok(())
            })
        })
        .upstream(&["test_batch_uploads_properly_update_info_collections"]),
        Case::new("F-06", "a commit-body record applies after the staged one for the same id and wins", |mut cx| {
            Box::pin(async move {
                let orig = "Letting the days go by";
                let repl = "Same as it ever was";
                let (id, _) = start(&mut cx, "f06", json!([{ "id": "b0", "payload": orig, "sortindex": 3 }])).await?;
                let resp = commit(&mut cx, "f06", &id, json!([{ "id": "b0", "payload": repl }])).await?;
                let t = written_at(&resp)?;
                let answer = resp.json()?;
                ensure!(failed_of(&answer)?.is_empty(), "the commit fails nothing: {answer}");
                ensure!(success_of(&answer)?.contains("b0"), "b0 is in success: {answer}");
                let stored = records(&mut cx, "f06").await?;
                ensure_eq!(repl, payload_of(&stored, "b0")?, "the body's payload wins");
                ensure_eq!(json!(3), stored["b0"]["sortindex"], "the staged sortindex, not in the body, stays");
                ensure_eq!(t, modified_of(&stored, "b0")?, "b0 carries the commit's T");
                Ok(())
            })
        })
        .upstream(&["test_aaa_batch_commit_collision"]),
        Case::new("F-07", "empty commits: JSON [] and an empty newlines body work, other empty forms are 400", |mut cx| {
            Box::pin(async move {
                let forms: &[(&str, &str, bool)] = &[
                    ("application/json", "[]", true),
                    ("application/json", "{}", false),
                    ("application/json", "", false),
                    ("application/newlines", "", true),
                    ("application/newlines", "\n", false),
                    ("application/newlines", "{}", false),
                    ("application/newlines", "[]", false),
                ];
                for (i, (content_type, body, works)) in forms.iter().enumerate() {
                    let v = cx.variant(format!("commit with {content_type} body {body:?}"));
                    let r = empty_commit(&mut cx, &format!("f07n{i}"), content_type, body, *works).await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_batch_empty_commit"]),
        Case::new("F-08", "batch=true&commit=true is a plain POST: 200, modified, no batch id", |mut cx| {
            Box::pin(async move {
                let body = json!([{ "id": "a", "payload": "aih" }, { "id": "b", "payload": "bie" }, { "id": "c", "payload": "cee" }]);
                let resp = cx.send(batch_post("f08", "true", true).json(&body)).await?;
                let t = written_at(&resp)?;
                let answer = resp.json()?;
                ensure!(answer.get("batch").is_none(), "no batch key: {answer}");
                ensure_eq!(set(&["a", "b", "c"]), success_of(&answer)?, "all three succeed");
                let (map, storage_ts) = info(&mut cx).await?;
                ensure_eq!(t, Stamp::from_json(&map["f08"])?, "info/collections shows the POST");
                ensure_eq!(t, storage_ts, "storage ts");
                let listing = cx.get("storage/f08?full=1").await?;
                ensure_eq!(t, listing.status(200)?.stamp("x-last-modified")?, "collection ts");
                let stored = records(&mut cx, "f08").await?;
                for (rid, payload) in [("a", "aih"), ("b", "bie"), ("c", "cee")] {
                    ensure_eq!(payload, payload_of(&stored, rid)?, "payload of {rid}");
                }
                Ok(())
            })
        })
        .upstream(&["test_batch_with_immediate_commit"]),
        Case::new("F-09", "a commit updates like a PUT: absent fields stay, null resets, new records get defaults", |mut cx| {
            Box::pin(async move {
                let orig = written_at(
                    &cx.post(
                        "storage/f09",
                        json!([
                            { "id": "a", "payload": "aai" },
                            { "id": "b", "payload": "bee", "sortindex": 17 },
                            { "id": "n", "payload": "nn", "sortindex": 5 },
                        ]),
                    )
                    .await?,
                )?;
                let resp = cx
                    .send(batch_post("f09", "true", false).json(&json!([
                        { "id": "b", "payload": "bii" },
                        { "id": "c", "payload": "sea" },
                        { "id": "n", "sortindex": null },
                        { "id": "d", "ttl": 3600 },
                    ])))
                    .await?;
                let id = started_batch(&resp)?;
                ensure_eq!(orig, resp.stamp("x-last-modified")?, "X-Last-Modified of the 202");
                written_at(&commit(&mut cx, "f09", &id, json!([])).await?)?;
                let stored = records(&mut cx, "f09").await?;
                ensure_eq!("aai", payload_of(&stored, "a")?, "a untouched");
                ensure_eq!("bii", payload_of(&stored, "b")?, "b takes the staged payload");
                ensure_eq!(json!(17), stored["b"]["sortindex"], "b keeps its sortindex");
                ensure_eq!("sea", payload_of(&stored, "c")?, "c is created");
                ensure!(stored["c"].get("sortindex").is_none_or(Value::is_null), "c has no sortindex: {}", stored["c"]);
                ensure_eq!("nn", payload_of(&stored, "n")?, "n keeps its payload");
                ensure!(stored["n"].get("sortindex").is_none_or(Value::is_null), "a null sortindex clears n's: {}", stored["n"]);
                ensure_eq!("", payload_of(&stored, "d")?, "d, staged with a ttl only, gets the default payload");
                ensure!(stored["d"].get("sortindex").is_none_or(Value::is_null), "d has no sortindex: {}", stored["d"]);
                Ok(())
            })
        })
        .upstream(&["test_batch_partial_update"]),
        Case::new("F-09", "ttl-only entries committed from several appends change only the expiry", |mut cx| {
            Box::pin(async move {
                for attempt in 0..CLOCK_ATTEMPTS {
                    if batch_ttl_update(&mut cx, &format!("f09ttl{attempt}")).await? {
                        return Ok(());
                    }
                }
                Err(time_ran_past_ttls("F-09 ttl update"))
            })
        })
        .upstream(&["test_batch_ttl_update"]),
        Case::new("F-10", "the commit's T goes to records it creates or whose payload or sortindex it sets", |mut cx| {
            Box::pin(async move {
                let t0 = written_at(
                    &cx.post(
                        "storage/f10",
                        Value::Array(["a", "b", "c", "d"].iter().map(|id| json!({ "id": id, "payload": "old" })).collect()),
                    )
                    .await?,
                )?;
                let (id, _) = start(&mut cx, "f10", json!([{ "id": "b", "payload": "new" }])).await?;
                append(&mut cx, "f10", &id, json!([{ "id": "c", "sortindex": 4 }, { "id": "d", "ttl": 3600 }])).await?.status(202)?;
                append(&mut cx, "f10", &id, json!([{ "id": "e", "payload": "e" }])).await?.status(202)?;
                let t = written_at(&commit(&mut cx, "f10", &id, json!([])).await?)?;
                let stored = records(&mut cx, "f10").await?;
                ensure_eq!(t0, modified_of(&stored, "a")?, "a, not in the batch, keeps its ts");
                for rid in ["b", "c", "e"] {
                    ensure_eq!(t, modified_of(&stored, rid)?, "{rid} carries the commit's T");
                }
                let d = modified_of(&stored, "d")?;
                ensure!(d == t0 || d == t, "d (ttl only) keeps {t0} or takes {t}, got {d}");
                Ok(())
            })
        })
        .upstream(&["test_batch_partial_update"]),
        Case::new("F-11", "a staged ttl runs from the commit, not from the staging", |mut cx| {
            Box::pin(async move {
                for attempt in 0..CLOCK_ATTEMPTS {
                    if ttl_from_commit(&mut cx, &format!("f11n{attempt}")).await? {
                        return Ok(());
                    }
                }
                Err(time_ran_past_ttls("F-11"))
            })
        })
        .upstream(&["test_batch_ttl_is_based_on_commit_timestamp"]),
        Case::new("F-12", "records that failed while staging or in the commit body are left out", |mut cx| {
            Box::pin(async move {
                let (id, answer) = start(
                    &mut cx,
                    "f12",
                    json!([{ "id": "a", "payload": "aai" }, { "id": "b\n", "payload": "i am invalid", "sortindex": 17 }]),
                )
                .await?;
                ensure_eq!(set(&["a"]), success_of(&answer)?, "staging: the valid record succeeds");
                ensure_eq!(set(&["b\n"]), failed_of(&answer)?, "staging: the invalid id fails");
                let resp =
                    commit(&mut cx, "f12", &id, json!([{ "id": "c", "payload": "sea" }, { "id": "d", "payload": "dii", "ttl": -12 }]))
                        .await?;
                written_at(&resp)?;
                let answer = resp.json()?;
                ensure_eq!(set(&["c"]), success_of(&answer)?, "commit: the valid record succeeds");
                ensure_eq!(set(&["d"]), failed_of(&answer)?, "commit: the negative ttl fails");
                let stored = records(&mut cx, "f12").await?;
                ensure_eq!(names(&["a", "c"]), stored.keys().cloned().collect::<Vec<_>>(), "committed records");
                ensure_eq!("aai", payload_of(&stored, "a")?, "payload of a");
                ensure_eq!("sea", payload_of(&stored, "c")?, "payload of c");
                Ok(())
            })
        })
        .upstream(&["test_batch_with_failing_bsos"]),
        Case::new("F-13", "a malformed or unknown batch id is 400/0 and stores nothing", |mut cx| {
            Box::pin(async move {
                let long = "x".repeat(200);
                let bad = ["sammich", "00000000-0000-0000-0000-000000000000", "-1", "null", "a/b%c", long.as_str()];
                for (i, value) in bad.into_iter().enumerate() {
                    for (j, commit) in [false, true].into_iter().enumerate() {
                        let what = if commit { format!("commit of batch {value:?}") } else { format!("append to batch {value:?}") };
                        let v = cx.variant(what.clone());
                        let r = unknown_batch(&mut cx, &format!("f13n{i}{j}"), value, commit, &what).await;
                        cx.settle(v, r);
                    }
                }
                let (map, _) = info(&mut cx).await?;
                ensure_eq!(json!({}), map, "no collection created");
                Ok(())
            })
        })
        .upstream(&["test_we_dont_need_no_stinkin_batches"]),
        Case::new("F-14", "a batch id works only for its own user and collection and survives misuse", |mut cx| {
            Box::pin(async move {
                // The other collection exists, so only the batch's scope can refuse it.
                cx.put("storage/f14c2/z", json!({ "payload": "other" })).await?.status(200)?;
                let (id, _) = start(
                    &mut cx,
                    "f14c1",
                    json!([{ "id": "a", "payload": "aih" }, { "id": "b", "payload": "bie" }, { "id": "c", "payload": "cee" }]),
                )
                .await?;
                expect_refused(
                    &mut cx,
                    "append from another collection",
                    batch_post("f14c2", &id, false).json(&json!([{ "id": "d", "payload": "dii" }])),
                    None,
                    None,
                )
                .await;
                expect_refused(&mut cx, "commit from another collection", batch_post("f14c2", &id, true).json(&json!([])), None, None)
                    .await;
                let other = cx.user();
                let req = batch_post("f14c1", &id, false).json(&json!([{ "id": "x", "payload": "intruder" }]));
                expect_refused(&mut cx, "append by another user", req, Some(&other), None).await;
                let req = batch_post("f14c1", &id, true).json(&json!([]));
                expect_refused(&mut cx, "commit by another user", req, Some(&other), None).await;
                let theirs = cx.send_as(&other, SyncRequest::get("storage/f14c1")).await?;
                ensure_eq!(json!([]), theirs.status(200)?.json()?, "the other user has no records");

                append(&mut cx, "f14c1", &id, json!([{ "id": "d", "payload": "dii" }])).await?.status(202)?;
                written_at(&commit(&mut cx, "f14c1", &id, json!([])).await?)?;
                let stored = records(&mut cx, "f14c1").await?;
                ensure_eq!(names(&["a", "b", "c", "d"]), stored.keys().cloned().collect::<Vec<_>>(), "the owner's commit");
                ensure_eq!("dii", payload_of(&stored, "d")?, "payload of d");
                ensure_eq!(names(&["z"]), ids(&mut cx, "f14c2").await?, "nothing reached the other collection");

                // Two users' batches in same-named collections keep their data apart.
                let (mine, _) = start(&mut cx, "f14sep", json!([{ "id": "a", "payload": "aih" }])).await?;
                let req = batch_post("f14sep", "true", false).json(&json!([{ "id": "b", "payload": "bee" }]));
                let theirs = started_batch(&cx.send_as(&other, req).await?)?;
                let req = batch_post("f14sep", &theirs, true).json(&json!([]));
                cx.send_as(&other, req).await?.status(200)?;
                let listed = cx.send_as(&other, SyncRequest::get("storage/f14sep")).await?.status(200)?.json()?;
                ensure_eq!(json!(["b"]), listed, "the other user's collection after their commit");
                ensure_eq!(Vec::<String>::new(), ids(&mut cx, "f14sep").await?, "the owner's collection before their commit");
                written_at(&commit(&mut cx, "f14sep", &mine, json!([])).await?)?;
                ensure_eq!(names(&["a"]), ids(&mut cx, "f14sep").await?, "the owner's collection after their commit");
                Ok(())
            })
        })
        .upstream(&[
            "test_batch_id_is_correctly_scoped_to_a_collection",
            "test_batch_id_is_correctly_scoped_to_a_user",
            "test_users_with_the_same_batch_id_get_separate_data",
        ]),
        Case::new("F-15", "a committed batch id is spent and a later batch carries none of its data", |mut cx| {
            Box::pin(async move {
                let (id, _) = start(&mut cx, "f15c1", json!([{ "id": "i", "payload": "aye" }])).await?;
                written_at(&commit(&mut cx, "f15c1", &id, json!([])).await?)?;
                expect_refused(
                    &mut cx,
                    "append to a committed batch",
                    batch_post("f15c1", &id, false).json(&json!([{ "id": "k", "payload": "kay" }])),
                    None,
                    None,
                )
                .await;
                expect_refused(
                    &mut cx,
                    "second commit",
                    batch_post("f15c1", &id, true).json(&json!([{ "id": "l", "payload": "ell" }])),
                    None,
                    None,
                )
                .await;
                ensure_eq!(names(&["i"]), ids(&mut cx, "f15c1").await?, "nothing added through the spent id");
                let (again, _) = start(&mut cx, "f15c2", json!([])).await?;
                written_at(&commit(&mut cx, "f15c2", &again, json!([{ "id": "j", "payload": "jay" }])).await?)?;
                ensure_eq!(names(&["j"]), ids(&mut cx, "f15c2").await?, "the new batch holds only its own record");
                Ok(())
            })
        })
        .upstream(&["test_that_we_dont_resurrect_committed_batches"]),
        Case::new("F-16", "a batch older than its lifetime can neither take records nor commit", |mut cx| {
            Box::pin(async move {
                let (first, _) = start(&mut cx, "f16", json!([{ "id": "a", "payload": "x" }])).await?;
                let (second, _) = start(&mut cx, "f16", json!([{ "id": "b", "payload": "y" }])).await?;
                // Upstream lifetime is 2 hours; the reference never allows longer (K-22).
                cx.pass_time(Duration::from_secs(2 * 3600 + 60)).await?;
                expect_refused(
                    &mut cx,
                    "append to an expired batch",
                    batch_post("f16", &first, false).json(&json!([{ "id": "c", "payload": "z" }])),
                    None,
                    Some(0),
                )
                .await;
                expect_refused(&mut cx, "commit of an expired batch", batch_post("f16", &second, true).json(&json!([])), None, Some(0))
                    .await;
                ensure_eq!(Vec::<String>::new(), ids(&mut cx, "f16").await?, "nothing of the expired batches appears");
                let (map, _) = info(&mut cx).await?;
                ensure!(map.get("f16").is_none(), "expired batches create no collection: {map}");
                let (fresh, _) = start(&mut cx, "f16", json!([{ "id": "d", "payload": "w" }])).await?;
                written_at(&commit(&mut cx, "f16", &fresh, json!([])).await?)?;
                ensure_eq!(names(&["d"]), ids(&mut cx, "f16").await?, "a new batch still works");
                Ok(())
            })
        })
        .needs(&[Need::TestClock]),
        Case::new("F-17", "a batch holds at most max_total_records ids; one more is 400/17 and applies nothing", |mut cx| {
            Box::pin(async move { batch_record_total(&mut cx, "f17r").await })
        })
        .needs(&[Need::SmallBatchTotals])
        .upstream(&["test_batch_size_limits"]),
        Case::new("F-17", "a batch holds at most max_total_bytes payload bytes; one byte more is 400/17", |mut cx| {
            Box::pin(async move { batch_byte_total(&mut cx, "f17b").await })
        })
        .needs(&[Need::SmallBatchTotals])
        .upstream(&["test_batch_size_limits"]),
        Case::new("F-18", "batch requests obey max_post_records and max_post_bytes like plain POSTs", |mut cx| {
            Box::pin(async move {
                let limits = cx.limits().clone();
                let budget = limits.max_post_bytes as usize;
                ensure!(
                    budget > 3
                        && budget - 3 <= limits.max_record_payload_bytes as usize
                        && 3 * limits.max_post_records <= limits.max_total_records,
                    "limits leave no room for this check"
                );
                let body = json!([
                    { "id": "little", "payload": "XXX" },
                    { "id": "big", "payload": sized_payload(budget - 3) },
                    { "id": "onemore", "payload": "X" },
                ]);
                // This batch is never committed: its answer is the check.
                let v = cx.variant("batch start of little + big filling max_post_bytes, then one byte more");
                let r = async {
                    let (_, answer) = start(&mut cx, "f18bytes", body).await?;
                    ensure_eq!(set(&["big", "little"]), success_of(&answer)?, "little and big fill max_post_bytes exactly");
                    ensure_eq!(set(&["onemore"]), failed_of(&answer)?, "one byte more fails");
                    ensure_eq!(json!("retry bytes"), answer["failed"]["onemore"], "reason");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                let n = limits.max_post_records as usize;
                let (id, answer) = start(&mut cx, "f18", Value::Array(numbered(0..n + 2, "x"))).await?;
                let v = cx.variant("batch start of max_post_records + 2");
                let r = (|| {
                    ensure_eq!(n, success_of(&answer)?.len(), "a batch start takes max_post_records");
                    ensure_eq!(
                        set(&[format!("{n:04}").as_str(), format!("{:04}", n + 1).as_str()]),
                        failed_of(&answer)?,
                        "the last two fail"
                    );
                    ensure_eq!(json!("retry bso"), answer["failed"][format!("{n:04}")], "reason");
                    Ok(())
                })();
                cx.settle(v, r);
                let v = cx.variant("append of max_post_records + 1");
                let r = async {
                    let answer =
                        append(&mut cx, "f18", &id, Value::Array(numbered(10_000..10_000 + n + 1, "y"))).await?.status(202)?.json()?;
                    ensure_eq!(n, success_of(&answer)?.len(), "an append takes max_post_records");
                    ensure_eq!(json!("retry bso"), answer["failed"][format!("{:04}", 10_000 + n)], "reason");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                let v = cx.variant("commit body of max_post_records + 1");
                let r = async {
                    let answer =
                        commit(&mut cx, "f18", &id, Value::Array(numbered(100_000..100_000 + n + 1, "z"))).await?.status(200)?.json()?;
                    ensure_eq!(n, success_of(&answer)?.len(), "a commit body takes max_post_records");
                    ensure_eq!(1, failed_of(&answer)?.len(), "the last one fails");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                ensure_eq!(3 * n, ids(&mut cx, "f18").await?.len(), "committed records");
                Ok(())
            })
        })
        .upstream(&["test_batch_size_limits"]),
        Case::new("F-19", "deleting the collection discards its open batch, even when it is recreated", |mut cx| {
            Box::pin(async move {
                cx.put("storage/f19/x", json!({ "payload": "old" })).await?.status(200)?;
                let (id, _) = start(&mut cx, "f19", json!([{ "id": "a", "payload": "staged" }])).await?;
                cx.delete("storage/f19").await?.status(200)?;
                expect_refused(
                    &mut cx,
                    "append after the delete",
                    batch_post("f19", &id, false).json(&json!([{ "id": "b", "payload": "late" }])),
                    None,
                    None,
                )
                .await;
                expect_refused(&mut cx, "commit after the delete", batch_post("f19", &id, true).json(&json!([])), None, None).await;
                let (map, _) = info(&mut cx).await?;
                ensure!(map.get("f19").is_none(), "the deleted collection stays unlisted: {map}");
                cx.put("storage/f19/y", json!({ "payload": "new" })).await?.status(200)?;
                expect_refused(
                    &mut cx,
                    "commit after the collection is recreated",
                    batch_post("f19", &id, true).json(&json!([])),
                    None,
                    None,
                )
                .await;
                ensure_eq!(names(&["y"]), ids(&mut cx, "f19").await?, "nothing of the batch appears");
                Ok(())
            })
        }),
        Case::new("F-19", "deleting the storage discards open batches", |mut cx| {
            Box::pin(async move {
                cx.put("storage/f19s/x", json!({ "payload": "old" })).await?.status(200)?;
                let (id, _) = start(&mut cx, "f19s", json!([{ "id": "a", "payload": "staged" }])).await?;
                let (fresh, _) = start(&mut cx, "f19new", json!([{ "id": "b", "payload": "staged" }])).await?;
                cx.delete("storage").await?.success()?;
                expect_refused(
                    &mut cx,
                    "commit after the storage delete, batch in an existing collection",
                    batch_post("f19s", &id, true).json(&json!([])),
                    None,
                    None,
                )
                .await;
                expect_refused(
                    &mut cx,
                    "append after the storage delete, batch in a new collection",
                    batch_post("f19new", &fresh, false).json(&json!([{ "id": "c", "payload": "late" }])),
                    None,
                    None,
                )
                .await;
                expect_refused(
                    &mut cx,
                    "commit after the storage delete, batch in a new collection",
                    batch_post("f19new", &fresh, true).json(&json!([])),
                    None,
                    None,
                )
                .await;
                let (map, _) = info(&mut cx).await?;
                ensure_eq!(json!({}), map, "nothing is listed after the wipe");
                ensure_eq!(Vec::<String>::new(), ids(&mut cx, "f19s").await?, "f19s is empty");
                ensure_eq!(Vec::<String>::new(), ids(&mut cx, "f19new").await?, "f19new is empty");
                Ok(())
            })
        }),
        Case::new("F-20", "an uncommitted batch leaves its new collection unlisted and the storage ts still", |mut cx| {
            Box::pin(async move {
                let s = cx.put("storage/f20other/x", json!({ "payload": "x" })).await?.status(200)?.stamp("x-last-modified")?;
                let (id, _) = start(&mut cx, "f20", json!([{ "id": "a", "payload": "1" }])).await?;
                append(&mut cx, "f20", &id, json!([{ "id": "b", "payload": "2" }])).await?.status(202)?;
                let (map, storage_ts) = info(&mut cx).await?;
                ensure!(map.get("f20").is_none(), "an open batch lists no collection: {map}");
                ensure_eq!(s, storage_ts, "the storage ts is unchanged");
                let listing = cx.get("storage/f20").await?;
                ensure_eq!(json!([]), listing.status(200)?.json()?, "the collection lists nothing");
                ensure_eq!(Some("0.00"), listing.header("x-last-modified"), "the collection has no ts");
                let t = written_at(&commit(&mut cx, "f20", &id, json!([])).await?)?;
                ensure!(t > s, "the commit's T follows the storage ts ({t} after {s})");
                let (map, storage_ts) = info(&mut cx).await?;
                ensure_eq!(t, Stamp::from_json(&map["f20"])?, "the commit lists the collection with T");
                ensure_eq!(t, storage_ts, "the storage ts is T");
                Ok(())
            })
        }),
        Case::new("F-21", "over quota, starting or appending to a batch is refused with code 14", |mut cx| {
            Box::pin(async move {
                let quota = cx.quota().ok_or_else(|| Failure::new("the target enforces no quota"))? as usize;
                let limits = cx.limits().clone();
                let (id, _) = start(&mut cx, "f21", json!([{ "id": "a", "payload": "x" }])).await?;
                // Usage is measured before each write, so these PUTs end at or just past the quota.
                let chunk =
                    (limits.max_record_payload_bytes as usize).min((limits.max_request_bytes as usize).saturating_sub(100)).min(quota);
                let (mut used, mut n) = (0, 0);
                while used < quota {
                    let size = chunk.min(quota - used);
                    cx.put(&format!("storage/f21fill/r{n}"), json!({ "payload": "q".repeat(size) })).await?.status(200)?;
                    used += size;
                    n += 1;
                }
                let requests = [
                    ("batch start over quota", batch_post("f21new", "true", false).json(&json!([{ "id": "b", "payload": "y" }]))),
                    ("append over quota", batch_post("f21", &id, false).json(&json!([{ "id": "c", "payload": "z" }]))),
                ];
                for (what, req) in requests {
                    let v = cx.variant(what);
                    let r = async {
                        let resp = cx.send(req).await?;
                        let rule = resp.error(400, 14).map(|_| ());
                        cx.rule_or_compat(rule, || resp.error(403, 14).map(|_| ()), "over quota is 403/14")
                    }
                    .await;
                    cx.settle(v, r);
                }
                let (map, _) = info(&mut cx).await?;
                ensure!(map.get("f21new").is_none() && map.get("f21").is_none(), "refused batches list nothing: {map}");
                Ok(())
            })
        })
        .needs(&[Need::Quota]),
    ]
}

/// A JSON list of ids, sorted, for comparison.
fn sorted(listing: Value) -> Value {
    let mut items: Vec<Value> = listing.as_array().cloned().unwrap_or_default();
    items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    Value::Array(items)
}
