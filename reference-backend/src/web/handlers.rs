//! One function per endpoint of areas A, E and F; each validates its request and calls the store.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::clock::Ts;
use crate::db::model::Bso;
use crate::error::{ApiError, code};
use crate::web::reply::{Reply, X_WEAVE_NEXT_OFFSET, X_WEAVE_RECORDS};
use crate::web::request::{
    BatchMode, InputFormat, Params, Preconditions, ReadOutcome, check_declared_sizes, encode_offset, input_format, output_format,
    parse_post, parse_put,
};
use crate::web::state::{AppState, Result};

/// Applies read preconditions: `Ok(None)` to go on, `Ok(Some(reply))` for a 304.
fn read_precondition(pre: &Preconditions, ts: Ts) -> Result<Option<Reply>> {
    match pre.check_read(ts) {
        Ok(()) => Ok(None),
        Err(ReadOutcome::NotModified(ts)) => Ok(Some(Reply::empty(StatusCode::NOT_MODIFIED).last_modified(ts))),
        Err(ReadOutcome::Error(e)) => Err(e),
    }
}

/// Reads a body of at most `max_request_bytes` (D-20, E-08): 413 beyond it, declared or not.
///
/// An oversized body is never parsed or stored, but up to [`DRAIN_FACTOR`] times the limit is
/// read and dropped before answering: closing a socket with unread data makes the kernel reset
/// the connection, and the client would lose the 413. Anything larger is refused at once.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: u64) -> Result<Vec<u8>> {
    use http_body_util::BodyExt;

    let declared = headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    let drain_limit = limit.saturating_mul(DRAIN_FACTOR);
    if declared.is_some_and(|n| n > drain_limit) {
        return Err(ApiError::too_large());
    }
    let mut body = body;
    let mut bytes = Vec::new();
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ApiError::bad_request(code::GENERIC))?;
        let Ok(data) = frame.into_data() else { continue };
        seen += data.len() as u64;
        if seen > drain_limit {
            break;
        }
        if seen <= limit {
            bytes.extend_from_slice(&data);
        }
    }
    if seen > limit || declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large());
    }
    Ok(bytes)
}

/// How much of an oversized body, in multiples of the limit, is read and dropped.
const DRAIN_FACTOR: u64 = 2;

// ---- info ----------------------------------------------------------------------------------

pub async fn info_collections(st: &AppState, uid: i64, pre: &Preconditions) -> Result<Reply> {
    let (list, storage_ts) = st.store.info_collections(uid).await?;
    if let Some(r) = read_precondition(pre, storage_ts)? {
        return Ok(r);
    }
    let map: BTreeMap<String, Ts> = list.into_iter().collect();
    Ok(Reply::json(&map).last_modified(storage_ts).header(X_WEAVE_RECORDS, map.len()))
}

#[derive(Debug, Clone, Copy)]
pub enum Figure {
    Counts,
    Usage,
}

/// info/collection_counts and info/collection_usage (A-04, A-05, D-19).
pub async fn info_figures(st: &AppState, uid: i64, pre: &Preconditions, figure: Figure) -> Result<Reply> {
    let storage_ts = st.store.storage_ts(uid).await?;
    if let Some(r) = read_precondition(pre, storage_ts)? {
        return Ok(r);
    }
    let rows = st.store.collection_figures(uid).await?;
    let map: serde_json::Map<String, Value> = rows
        .into_iter()
        .map(|(name, count, bytes)| {
            let v = match figure {
                Figure::Counts => json!(count),
                Figure::Usage => json!(bytes as f64 / 1024.0),
            };
            (name, v)
        })
        .collect();
    Ok(Reply::json(&map).last_modified(storage_ts).header(X_WEAVE_RECORDS, map.len()))
}

/// info/quota (A-03, H-06): used KB and the enforced limit in KB, or null.
pub async fn info_quota(st: &AppState, uid: i64, pre: &Preconditions) -> Result<Reply> {
    let storage_ts = st.store.storage_ts(uid).await?;
    if let Some(r) = read_precondition(pre, storage_ts)? {
        return Ok(r);
    }
    let used = st.store.usage(uid).await? as f64 / 1024.0;
    let limit = st.config.quota_limit.map(|l| l as f64 / 1024.0);
    Ok(Reply::json(&json!([used, limit])).last_modified(storage_ts))
}

/// info/configuration; preconditions do not apply.
pub async fn info_configuration(st: &AppState) -> Result<Reply> {
    let mut value = serde_json::to_value(&st.config.limits).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Value::Object(map) = &mut value {
        map.insert("max_quota_limit".into(), json!(st.config.quota_size()));
    }
    Ok(Reply::json(&value))
}

// ---- collections ---------------------------------------------------------------------------

fn newline_body<T: serde::Serialize>(items: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        // Serializing plain data into memory cannot fail; JSON escapes payload newlines (D-17).
        if serde_json::to_writer(&mut out, item).is_ok() {
            out.push(b'\n');
        }
    }
    out
}

/// GET of a collection (A-07, area C).
pub async fn get_collection(
    st: &AppState,
    uid: i64,
    coll: &str,
    params: &Params,
    pre: &Preconditions,
    headers: &HeaderMap,
) -> Result<Reply> {
    let query = params.query()?;
    let format = output_format(headers)?;
    let full = params.has("full");
    let ts = st.store.collection_ts(uid, coll).await?;
    if let Some(r) = read_precondition(pre, ts)? {
        return Ok(r);
    }
    let (bsos, next) = st.store.get_bsos(uid, coll, &query, full).await?;
    let count = bsos.len();
    let reply = match (format, full) {
        (InputFormat::Json, true) => Reply::json(&bsos),
        (InputFormat::Json, false) => Reply::json(&bsos.iter().map(|b| &b.id).collect::<Vec<_>>()),
        (InputFormat::Newlines, true) => Reply::raw(StatusCode::OK, Some("application/newlines"), newline_body(&bsos)),
        (InputFormat::Newlines, false) => {
            Reply::raw(StatusCode::OK, Some("application/newlines"), newline_body(&bsos.iter().map(|b| &b.id).collect::<Vec<_>>()))
        }
    };
    let reply = reply.last_modified(ts).header(X_WEAVE_RECORDS, count);
    Ok(match next {
        Some(offset) => reply.header(X_WEAVE_NEXT_OFFSET, encode_offset(offset)),
        None => reply,
    })
}

/// `{"modified": T}`; serialized straight to bytes so that T keeps its two decimals (I-01).
#[derive(serde::Serialize)]
struct Modified {
    modified: Ts,
}

/// The answer to a POST (E-01) or a batch step (F-01, F-05).
#[derive(serde::Serialize)]
struct PostAnswer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    modified: Option<Ts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<String>,
    success: &'a [String],
    failed: &'a serde_json::Map<String, Value>,
}

/// POST to a collection: a plain write (area E) or a batch step (area F).
pub async fn post_collection(
    st: &AppState,
    uid: i64,
    coll: &str,
    params: &Params,
    pre: &Preconditions,
    headers: &HeaderMap,
    body: Body,
) -> Result<Reply> {
    let limits = &st.config.limits;
    let mode = params.batch()?;
    check_declared_sizes(headers, limits, mode != BatchMode::None)?;
    let format = input_format(headers, true)?;
    let bytes = read_body(headers, body, limits.max_request_bytes).await?;
    let parsed = parse_post(&bytes, format, coll, limits)?;
    let since = if st.config.faults.ignore_unmodified_since_on_post { None } else { pre.unmodified_since };
    let answer = |batch: Option<String>, modified: Option<Ts>| {
        Reply::json(&PostAnswer { modified, batch, success: &parsed.success, failed: &parsed.failed })
    };
    match mode {
        BatchMode::None | BatchMode::Start { commit: true } => {
            let out = st.store.write_records(uid, coll, parsed.accepted.clone(), since, None).await?;
            let reply = answer(None, Some(out.modified)).quota_remaining(out.quota_remaining);
            Ok(if out.wrote { reply.written_at(out.modified) } else { reply.last_modified(out.modified) })
        }
        BatchMode::Start { commit: false } => {
            let (id, out) = st.store.batch_create(uid, coll, &parsed.accepted, since).await?;
            Ok(answer(Some(id.to_string()), None)
                .status(StatusCode::ACCEPTED)
                .last_modified(out.modified)
                .quota_remaining(out.quota_remaining))
        }
        BatchMode::Existing { id, commit: false } => {
            let out = st.store.batch_append(uid, coll, id, &parsed.accepted, since).await?;
            Ok(answer(Some(id.to_string()), None)
                .status(StatusCode::ACCEPTED)
                .last_modified(out.modified)
                .quota_remaining(out.quota_remaining))
        }
        BatchMode::Existing { id, commit: true } => {
            let out = st.store.batch_commit(uid, coll, id, &parsed.accepted, since).await?;
            Ok(answer(None, Some(out.modified)).written_at(out.modified).quota_remaining(out.quota_remaining))
        }
    }
}

/// D-13: deletes are writes too; under an enforced quota they report what is left.
async fn after_delete(st: &AppState, uid: i64, reply: Reply) -> Result<Reply> {
    if let Some(limit) = st.config.quota_limit {
        let used = st.store.usage(uid).await?;
        return Ok(reply.quota_remaining(Some(limit as i64 - used)));
    }
    Ok(reply)
}

fn modified_reply(out: crate::db::WriteOutcome) -> Reply {
    let reply = Reply::json(&Modified { modified: out.modified });
    if out.wrote { reply.written_at(out.modified) } else { reply.last_modified(out.modified) }
}

/// DELETE of a collection, or of the records named by `ids`.
pub async fn delete_collection(st: &AppState, uid: i64, coll: &str, params: &Params, pre: &Preconditions) -> Result<Reply> {
    let out = match params.ids()? {
        // C-02: an empty `ids=` names no record; refuse rather than guess.
        Some(ids) if ids.is_empty() => return Err(ApiError::bad_request(code::GENERIC)),
        Some(ids) => st.store.delete_bsos(uid, coll, &ids, pre.unmodified_since).await?,
        None => st.store.delete_collection(uid, coll, pre.unmodified_since).await?,
    };
    after_delete(st, uid, modified_reply(out)).await
}

/// DELETE /storage and DELETE /1.5/{uid}.
pub async fn delete_storage(st: &AppState, uid: i64, pre: &Preconditions) -> Result<Reply> {
    let out = st.store.delete_storage(uid, pre.unmodified_since).await?;
    let reply = Reply::json(&json!({}));
    let reply = if out.wrote { reply.written_at(out.modified) } else { reply.last_modified(out.modified) };
    after_delete(st, uid, reply).await
}

// ---- records -------------------------------------------------------------------------------

/// GET of a record.
pub async fn get_bso(st: &AppState, uid: i64, coll: &str, id: &str, pre: &Preconditions) -> Result<Reply> {
    let bso: Bso = st.store.get_bso(uid, coll, id).await?.ok_or_else(ApiError::not_found)?;
    if let Some(r) = read_precondition(pre, bso.modified)? {
        return Ok(r);
    }
    let ts = bso.modified;
    Ok(Reply::json(&bso).last_modified(ts))
}

/// PUT of a record (A-12, area B).
pub async fn put_bso(st: &AppState, uid: i64, coll: &str, id: &str, pre: &Preconditions, headers: &HeaderMap, body: Body) -> Result<Reply> {
    input_format(headers, false)?;
    let bytes = read_body(headers, body, st.config.limits.max_request_bytes).await?;
    let bso = parse_put(&bytes, id, coll, &st.config.limits)?;
    let out = st.store.write_records(uid, coll, vec![bso], pre.unmodified_since, Some(id)).await?;
    Ok(Reply::raw(StatusCode::OK, Some("application/json"), out.modified.to_string().into_bytes())
        .written_at(out.modified)
        .quota_remaining(out.quota_remaining))
}

/// DELETE of a record.
pub async fn delete_bso(st: &AppState, uid: i64, coll: &str, id: &str, pre: &Preconditions) -> Result<Reply> {
    let t = st.store.delete_bso(uid, coll, id, pre.unmodified_since).await?.ok_or_else(ApiError::not_found)?;
    after_delete(st, uid, Reply::json(&Modified { modified: t }).written_at(t)).await
}
