//! What a user has stored, read over the API, and the parts of a POST answer tests compare.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use syncstorage_harness::client::SyncUser;

use super::{Check, get};

/// Every live record of a collection by id, read with `full`.
pub async fn records(user: &SyncUser, coll: &str) -> BTreeMap<String, Value> {
    let resp = get(user, &format!("storage/{coll}?full=1")).await;
    let items = resp.status_is(200).json_body();
    items
        .as_array()
        .unwrap_or_else(|| panic!("listing is not an array\n{}", resp.transcript()))
        .iter()
        .map(|item| (item["id"].as_str().expect("id").to_owned(), item.clone()))
        .collect()
}

/// The ids a collection lists, sorted.
pub async fn ids(user: &SyncUser, coll: &str) -> Vec<String> {
    let resp = get(user, &format!("storage/{coll}")).await;
    let mut out: Vec<String> = resp
        .status_is(200)
        .json_body()
        .as_array()
        .unwrap_or_else(|| panic!("listing is not a list\n{}", resp.transcript()))
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect();
    out.sort();
    out
}

/// The storage ts (X-Last-Modified of info/collections) and the collection map.
pub async fn storage_state(user: &SyncUser) -> (f64, Value) {
    let resp = get(user, "info/collections").await;
    let body = resp.status_is(200).json_body();
    (resp.ts_header("x-last-modified"), body)
}

/// What a test compares to show that a refused request wrote nothing: the info/collections body
/// and storage ts, and the full listing of the collections named.
pub async fn snapshot(user: &SyncUser, colls: &[&str]) -> Vec<Value> {
    let resp = get(user, "info/collections").await;
    let mut out = vec![resp.status_is(200).json_body(), json!(resp.header_str("x-last-modified"))];
    for coll in colls {
        let mut items = get(user, &format!("storage/{coll}?full=1")).await.status_is(200).json_body();
        if let Value::Array(list) = &mut items {
            list.sort_by_key(|v| v["id"].as_str().map(str::to_owned));
        }
        out.push(items);
    }
    out
}

/// The `success` list of a POST answer.
pub fn success_set(body: &Value) -> BTreeSet<String> {
    body["success"].as_array().expect("success list").iter().map(|v| v.as_str().expect("id").to_owned()).collect()
}

/// The `failed` map of a POST answer, id to reason.
pub fn failed_map(body: &Value) -> BTreeMap<String, String> {
    body["failed"].as_object().expect("failed map").iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect()
}

/// Ids to compare with `success_set`.
pub fn id_set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// Ids to compare with a listing.
pub fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}
