//! Steps the area files share: reading listings, records and write answers back, the ids of
//! batches, payloads of an exact size. Each lives here once so that every case reads an answer
//! the same way.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::client::{Refusal, SyncRequest};
use crate::conformance::{CaseResult, Ctx, Failure, Resp, Stamp};
use crate::{ensure, ensure_eq};

/// The answer to a plain POST: `modified`, `success` and `failed` (E-01).
#[derive(Debug)]
pub(super) struct PostAnswer {
    pub modified: Stamp,
    pub success: Vec<String>,
    pub failed: Map<String, Value>,
}

impl PostAnswer {
    /// The record `id` failed alone: it is in `failed` and nothing succeeded.
    pub fn only_failed(&self, id: &str, what: &str) -> CaseResult {
        ensure!(
            self.success.is_empty() && self.failed.contains_key(id),
            "{what}: expected {id:?} in `failed` and an empty `success`, got success {:?}, failed {:?}",
            self.success,
            self.failed
        );
        Ok(())
    }
}

/// Reads a POST answer (status already checked by the caller).
pub(super) fn post_answer(resp: &Resp) -> Result<PostAnswer, Failure> {
    let body = resp.json()?;
    let modified = Stamp::from_json(&body["modified"])?;
    let success = body["success"]
        .as_array()
        .ok_or_else(|| Failure::mismatch("POST answer", "a `success` list", &body))?
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| Failure::mismatch("a `success` entry", "an id string", v)))
        .collect::<Result<Vec<_>, _>>()?;
    let failed = body["failed"].as_object().cloned().ok_or_else(|| Failure::mismatch("POST answer", "a `failed` object", &body))?;
    Ok(PostAnswer { modified, success, failed })
}

/// info/collections: the map and the storage ts (`X-Last-Modified`).
pub(super) async fn info(cx: &mut Ctx) -> Result<(Value, Stamp), Failure> {
    let resp = cx.get("info/collections").await?;
    let map = resp.status(200)?.json()?;
    ensure!(map.is_object(), "info/collections must be a JSON object, got {map}");
    Ok((map, resp.stamp("x-last-modified")?))
}

/// The ids a collection lists, sorted; `coll` may carry a query (`col?ids=a,b`).
pub(super) async fn ids(cx: &mut Ctx, coll: &str) -> Result<Vec<String>, Failure> {
    let resp = cx.get(&format!("storage/{coll}")).await?;
    let list = resp.status(200)?.json()?;
    let mut ids = list
        .as_array()
        .ok_or_else(|| Failure::mismatch(format!("listing of {coll}"), "a JSON list", &list))?
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| Failure::mismatch("a listed id", "a string", v)))
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort();
    Ok(ids)
}

/// GET of one record that must exist: its JSON object.
pub(super) async fn record(cx: &mut Ctx, path: &str) -> Result<Value, Failure> {
    let resp = cx.get(path).await?;
    let bso = resp.status(200)?.json()?;
    ensure!(bso.is_object(), "GET {path} must give a JSON object, got {bso}");
    Ok(bso)
}

/// The sorted keys of a JSON object (empty for anything else).
pub(super) fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    keys.sort();
    keys
}

/// How often a TTL scenario is tried afresh when the server's time ran past its TTLs between two
/// steps (slow answers on a real clock, or a test clock that something else moves), so that the
/// outcome is open rather than wrong.
pub(super) const CLOCK_ATTEMPTS: usize = 5;

/// The latest server time at which a read can have seen its data: `X-Weave-Timestamp` (D-01)
/// plus the exchange's duration, since a server may read its clock before it runs the query (a
/// slow answer from syncstorage-rs was stamped 2.6 s before it was sent). Every caller treats a
/// time at or past a ttl as "the outcome is open", so the later estimate only ever makes a case
/// try again, never pass or fail wrongly.
pub(super) fn server_now(resp: &Resp) -> Result<Stamp, Failure> {
    let stamped = resp.stamp("x-weave-timestamp")?;
    let elapsed_cs = resp.0.elapsed().as_millis().div_ceil(10);
    Ok(stamped.plus_cs(i64::try_from(elapsed_cs).unwrap_or(i64::MAX / 2)))
}

pub(super) fn time_ran_past_ttls(what: &str) -> Failure {
    Failure::new(format!(
        "{what}: on each of {CLOCK_ATTEMPTS} attempts the server's time ran past the TTLs between two steps, \
         so the expiry could not be checked (slow answers, or something else moving the server's clock)"
    ))
}

/// The records of `coll` by id, read with `full`.
pub(super) async fn records(cx: &mut Ctx, coll: &str) -> Result<BTreeMap<String, Value>, Failure> {
    Ok(records_at(cx, coll).await?.0)
}

/// The records of `coll` by id, and the server time of the answer.
pub(super) async fn records_at(cx: &mut Ctx, coll: &str) -> Result<(BTreeMap<String, Value>, Stamp), Failure> {
    let resp = cx.get(&format!("storage/{coll}?full=1")).await?;
    let listing = resp.status(200)?.json()?;
    let now = server_now(&resp)?;
    let items = listing.as_array().ok_or_else(|| Failure::mismatch("full listing", "a JSON list", &listing))?;
    let mut out = BTreeMap::new();
    for item in items {
        let id = item["id"].as_str().ok_or_else(|| Failure::mismatch("a listed record's id", "a string", item))?;
        out.insert(id.to_owned(), item.clone());
    }
    Ok((out, now))
}

/// `ids` as owned strings, for comparisons.
pub(super) fn names(ids: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    out.sort();
    out
}

/// The `modified` of a 200 write answer, which must also be its `X-Last-Modified` (D-02).
pub(super) fn written_at(resp: &Resp) -> Result<Stamp, Failure> {
    let body = resp.status(200)?.json()?;
    let t = Stamp::from_json(&body["modified"])?;
    ensure_eq!(t, resp.stamp("x-last-modified")?, "the answer's modified and X-Last-Modified");
    Ok(t)
}

/// A record's `modified`.
pub(super) fn modified_of(records: &BTreeMap<String, Value>, id: &str) -> Result<Stamp, Failure> {
    let rec = records.get(id).ok_or_else(|| Failure::new(format!("record {id:?} is missing")))?;
    Ok(Stamp::from_json(&rec["modified"])?)
}

/// A record's payload.
pub(super) fn payload_of(records: &BTreeMap<String, Value>, id: &str) -> Result<String, Failure> {
    let rec = records.get(id).ok_or_else(|| Failure::new(format!("record {id:?} is missing")))?;
    rec["payload"].as_str().map(str::to_owned).ok_or_else(|| Failure::mismatch(format!("payload of {id:?}"), "a string", rec))
}

/// The ids in an answer's `success` list.
pub(super) fn success_of(answer: &Value) -> Result<BTreeSet<String>, Failure> {
    let list = answer["success"].as_array().ok_or_else(|| Failure::mismatch("success", "a JSON list", answer))?;
    list.iter().map(|v| v.as_str().map(str::to_owned).ok_or_else(|| Failure::mismatch("an id in success", "a string", v))).collect()
}

/// The ids in an answer's `failed` map.
pub(super) fn failed_of(answer: &Value) -> Result<BTreeSet<String>, Failure> {
    let map = answer["failed"].as_object().ok_or_else(|| Failure::mismatch("failed", "a JSON object", answer))?;
    Ok(map.keys().cloned().collect())
}

pub(super) fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// Exactly `bytes` UTF-8 bytes, mostly two-byte characters, so that a server counting characters
/// instead of bytes sees about half the size.
pub(super) fn sized_payload(bytes: usize) -> String {
    let mut s = "é".repeat(bytes / 2);
    if bytes % 2 == 1 {
        s.push('x');
    }
    s
}

/// Status must be 400 with `code`, where `code` 6 may be 8 under syncstorage-rs (J-01).
pub(super) fn bad_request(cx: &mut Ctx, resp: &Resp, code: u32, what: &str) -> CaseResult {
    let rule = resp.error(400, code).map(|_| ()).map_err(|f| Failure { message: format!("{what}: {}", f.message), ..f });
    if code == 6 { cx.rule_or_compat(rule, || resp.error(400, 8).map(|_| ()), "unparseable JSON gives code 8, not 6 (J-01)") } else { rule }
}

/// The opaque id of a batch-start answer (F-02): a non-empty string; a number is taken as its
/// text, as older servers sent numbers.
pub(super) fn batch_id(answer: &Value) -> Result<String, Failure> {
    match &answer["batch"] {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(Failure::mismatch("the batch id of a 202 answer", "a non-empty string", other)),
    }
}

/// The batch id of a batch start, which must be answered 202 (F-01).
pub(super) fn started_batch(resp: &Resp) -> Result<String, Failure> {
    batch_id(&resp.status(202)?.json()?)
}

/// A POST to batch `batch` of `coll` (its id percent-encoded, F-02), committing it if `commit`.
pub(super) fn batch_post(coll: &str, batch: &str, commit: bool) -> SyncRequest {
    let req = SyncRequest::post(format!("storage/{coll}")).query("batch", batch);
    if commit { req.query("commit", "true") } else { req }
}

/// The ts a write's body reports: `{"modified": T}` or a bare number (A-09, A-13, D-02, D-04).
pub(super) fn body_stamp(resp: &Resp) -> Result<Stamp, Failure> {
    let body = resp.json()?;
    match &body {
        Value::Number(_) => Ok(Stamp::from_json(&body)?),
        Value::Object(map) if map.contains_key("modified") => Ok(Stamp::from_json(&map["modified"])?),
        _ => Err(Failure::mismatch("body of a write", "its modified ts", body)),
    }
}

/// A write the server still refused after the automatic retries (409, or 503 with Retry-After,
/// the kinds [`Refusal`] knows): `None` for any other answer. Which kind a server may use is judged
/// once, by I-04; whatever the kind, D-18 wants its Retry-After in whole seconds.
pub(super) fn still_refused(resp: &Resp) -> Option<CaseResult> {
    Refusal::of(&resp.0)?;
    let after = resp.header("retry-after");
    Some(match after {
        Some(v) if v.trim().parse::<u64>().is_ok() => Ok(()),
        _ => Err(Failure::mismatch(
            format!("Retry-After of a write still refused with {} after the retries (D-18)", resp.code()),
            "whole seconds",
            format!("{after:?}"),
        )),
    })
}

/// A failure on one line, for a list of them.
pub(super) fn one_line(f: &Failure) -> String {
    match (&f.expected, &f.actual) {
        (Some(e), Some(a)) => format!("{} (expected {e}, got {a})", f.message),
        _ => f.message.clone(),
    }
}
