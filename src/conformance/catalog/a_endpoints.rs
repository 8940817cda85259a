//! SPEC area A: endpoints and methods.

use serde_json::json;

use crate::client::SyncRequest;
use crate::conformance::{Case, Stamp};
use crate::{ensure, ensure_eq};

/// Clauses of area A that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

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
                let info = cx.get("info/collections").await?;
                let map = info.status(200)?.json()?;
                ensure_eq!(t1, Stamp::from_json(&map["col1"])?, "col1 ts");
                ensure_eq!(t2, Stamp::from_json(&map["col2"])?, "col2 ts");
                ensure_eq!(Some("2"), info.header("x-weave-records"), "X-Weave-Records counts entries");
                ensure_eq!(t2, info.stamp("x-last-modified")?, "X-Last-Modified is the storage ts");
                Ok(())
            })
        })
        .upstream(&["test_get_info_collections", "test_bad_cache"]),
        Case::new("A-01", "a collection holding only an open batch is not listed", |mut cx| {
            Box::pin(async move {
                cx.post("storage/pending?batch=true", json!([{ "id": "a", "payload": "x" }])).await?.status(202)?;
                let info = cx.get("info/collections").await?;
                ensure_eq!(json!({}), info.status(200)?.json()?, "uncommitted batch is invisible");
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
        Case::new("A-16", "an unknown path gives 404 with a JSON 0", |mut cx| {
            Box::pin(async move {
                let resp = cx.get("nonexistent/url").await?;
                resp.error(404, 0)?;
                ensure!(
                    resp.header("content-type").is_some_and(|c| c.starts_with("application/json")),
                    "404 body must be sent as application/json"
                );
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
                let lb = cx.send_anon(SyncRequest::get("/__lbheartbeat__")).await?;
                ensure!(lb.code() == 200 || lb.code() >= 500, "lbheartbeat gives 200 or a 5xx, got {}", lb.code());
                Ok(())
            })
        })
        .upstream(&["test_cors_settings_are_set", "test_cors_allows_any_origin"]),
    ]
}
