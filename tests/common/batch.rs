//! Batch uploads (SPEC area F): start, append and commit.

use serde_json::Value;
use syncstorage_harness::client::{SyncRequest, SyncResponse, SyncUser};

use super::{Check, send};

/// A POST to an existing batch, the id sent percent-encoded as clients must (F-02).
pub fn batch_post(coll: &str, batch: &str, commit: bool) -> SyncRequest {
    let req = SyncRequest::post(format!("storage/{coll}")).query("batch", batch);
    if commit { req.query("commit", "true") } else { req }
}

/// Sends a batch start; the answer is the test's to judge.
pub async fn start_batch(user: &SyncUser, coll: &str, body: Value) -> SyncResponse {
    send(user, SyncRequest::post(format!("storage/{coll}?batch=true")).json(&body)).await
}

/// The id a batch start answered with; the start must answer 202.
pub fn batch_id(resp: &SyncResponse) -> String {
    resp.status_is(202).json_body()["batch"].as_str().unwrap_or_else(|| panic!("F-01: no batch id\n{}", resp.transcript())).to_owned()
}

/// Starts a batch and returns its id; the start must answer 202.
pub async fn new_batch(user: &SyncUser, coll: &str, body: Value) -> String {
    batch_id(&start_batch(user, coll, body).await)
}

pub async fn append(user: &SyncUser, coll: &str, batch: &str, body: Value) -> SyncResponse {
    send(user, batch_post(coll, batch, false).json(&body)).await
}

pub async fn commit(user: &SyncUser, coll: &str, batch: &str, body: Value) -> SyncResponse {
    send(user, batch_post(coll, batch, true).json(&body)).await
}
