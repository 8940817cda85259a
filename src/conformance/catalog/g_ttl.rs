//! SPEC area G: TTL and expiry.
//!
//! Every case here must also work on a real clock, so TTLs are 0-2 s and waits stay within the
//! per-case budget. Where a server's test clock is shared between clients, another client may
//! move time on while a case waits; a write or a "still there" read that lands past a due expiry
//! is then judged by the server's own timestamps: the try is spoiled rather than failed, and the
//! case tries again with fresh records.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::steps::{batch_post, started_batch};
use crate::client::SyncRequest;
use crate::conformance::{Case, CaseResult, Ctx, Failure, Resp, Stamp};
use crate::{ensure, ensure_eq};

/// Clauses of area G that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// How a time-dependent try ended.
enum Try {
    Held,
    /// Another case moved the shared clock past a due expiry while this one waited.
    Spoiled,
}

/// How often a spoiled try is repeated before the case gives up.
const TRIES: usize = 8;

type Attempt = for<'a> fn(&'a mut Ctx, usize) -> BoxFuture<'a, Result<Try, Failure>>;

async fn until_held(cx: &mut Ctx, attempt: Attempt) -> CaseResult {
    for n in 0..TRIES {
        if let Try::Held = attempt(cx, n).await? {
            return Ok(());
        }
    }
    Err(Failure::new(format!(
        "each of {TRIES} tries was overtaken: the server's clock passed the records' expiry before \
         they could be read (another client moving a shared test clock, or a very slow server)"
    )))
}

/// Whether the server's time at `resp` had already reached `due` (so an absent record there
/// proves nothing).
fn overtaken(resp: &Resp, due: Stamp) -> bool {
    resp.header("x-weave-timestamp").and_then(|v| Stamp::parse(v).ok()).is_some_and(|now| now >= due)
}

/// The ids of a collection listing, sorted.
async fn ids(cx: &mut Ctx, path: &str) -> Result<(Resp, Vec<String>), Failure> {
    let resp = cx.get(path).await?;
    let body = resp.status(200)?.json()?;
    let mut ids: Vec<String> = body
        .as_array()
        .ok_or_else(|| Failure::mismatch("listing", "a JSON list", &body))?
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
        })
        .collect();
    ids.sort();
    Ok((resp, ids))
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// A figure of info/collection_counts or info/collection_usage for a collection without live
/// records: absent or zero.
fn absent_or_zero(map: &Value, coll: &str, what: &str) -> CaseResult {
    match map.get(coll) {
        None => Ok(()),
        Some(v) if v.as_f64() == Some(0.0) => Ok(()),
        Some(v) => Err(Failure::mismatch(format!("{what} of a collection with only expired records"), "absent or 0", v)),
    }
}

fn close(expected: f64, actual: &Value, what: &str) -> CaseResult {
    match actual.as_f64() {
        Some(a) if (a - expected).abs() < 0.005 => Ok(()),
        _ => Err(Failure::mismatch(what.to_owned(), format!("{expected:.4} (to two decimals)"), actual)),
    }
}

fn g01_ttl_two(cx: &mut Ctx, n: usize) -> BoxFuture<'_, Result<Try, Failure>> {
    Box::pin(async move {
        let coll = format!("ttl{n}");
        let rec = format!("storage/{coll}/123456");
        let list = format!("storage/{coll}");
        let bso = json!({ "payload": "short lived", "ttl": 2 });
        let t = cx.put(&rec, bso.clone()).await?.status(200)?.stamp("x-last-modified")?;
        let (listing, found) = ids(cx, &list).await?;
        if found.is_empty() && overtaken(&listing, t.plus_cs(200)) {
            return Ok(Try::Spoiled);
        }
        ensure_eq!(strings(&["123456"]), found, "listing right after the write");
        // Writing it again with the same ttl keeps one record (upstream does this too).
        let t = cx.put(&rec, bso).await?.status(200)?.stamp("x-last-modified")?.max(t);
        let due = t.plus_cs(200);
        cx.pass_time(ms(1500)).await?;
        let alive = cx.get(&rec).await?;
        if alive.code() == 404 && overtaken(&alive, due) {
            return Ok(Try::Spoiled);
        }
        alive.status(200)?;
        let (listing, found) = ids(cx, &list).await?;
        if found.is_empty() && overtaken(&listing, due) {
            return Ok(Try::Spoiled);
        }
        ensure_eq!(strings(&["123456"]), found, "listing 1.5 s into a 2 s ttl");
        cx.pass_time(ms(600)).await?;
        cx.get(&rec).await?.error(404, 0)?;
        ensure_eq!(Vec::<String>::new(), ids(cx, &list).await?.1, "listing 2.1 s into a 2 s ttl");
        Ok(Try::Held)
    })
}

fn g06_put(cx: &mut Ctx, n: usize) -> BoxFuture<'_, Result<Try, Failure>> {
    Box::pin(async move {
        let coll = format!("rettl{n}");
        let bso = json!({ "payload": "x", "ttl": 1 });
        let t1 = cx.put(&format!("storage/{coll}/TEST1"), bso.clone()).await?.status(200)?.stamp("x-last-modified")?;
        cx.put(&format!("storage/{coll}/TEST2"), bso).await?.status(200)?;
        cx.pass_time(ms(200)).await?;
        // A write without ttl leaves TEST1's expiry where it was.
        cx.put(&format!("storage/{coll}/TEST1"), json!({ "sortindex": 3 })).await?.status(200)?;
        let t2 = cx.put(&format!("storage/{coll}/TEST2"), json!({ "ttl": 10 })).await?.status(200)?.stamp("x-last-modified")?;
        // Updates that landed after the 1 s expiry would revive records instead of updating them.
        if t2 >= t1.plus_cs(100) {
            return Ok(Try::Spoiled);
        }
        let t3 = cx.put(&format!("storage/{coll}/TEST3"), json!({ "ttl": 10 })).await?.status(200)?.stamp("x-last-modified")?;
        cx.pass_time(ms(1000)).await?;
        let resp = cx.get(&format!("storage/{coll}?full=1")).await?;
        let items = resp.status(200)?.json()?;
        let mut found: Vec<&str> = items.as_array().into_iter().flatten().filter_map(|i| i["id"].as_str()).collect();
        found.sort_unstable();
        if found != ["TEST2", "TEST3"] && overtaken(&resp, t2.plus_cs(1000)) {
            return Ok(Try::Spoiled);
        }
        ensure_eq!(vec!["TEST2", "TEST3"], found, "1.2 s later: the re-timed records live, TEST1 gone");
        let by_id = |id: &str| items.as_array().into_iter().flatten().find(|i| i["id"] == id).cloned().unwrap_or_default();
        ensure_eq!(json!("x"), by_id("TEST2")["payload"], "TEST2 keeps its payload");
        ensure_eq!(json!(""), by_id("TEST3")["payload"], "TEST3 is new with the default payload");
        ensure!(t2 < t3, "TEST3 was written after TEST2 ({t2} vs {t3})");
        Ok(Try::Held)
    })
}

fn g06_post(cx: &mut Ctx, n: usize) -> BoxFuture<'_, Result<Try, Failure>> {
    Box::pin(async move {
        let list = format!("storage/bulk{n}");
        let first: Vec<Value> = (0..5).map(|i| json!({ "id": format!("{i:02}"), "payload": "x", "ttl": 1 })).collect();
        let t1 = cx.post(&list, Value::Array(first)).await?.status(200)?.stamp("x-last-modified")?;
        cx.pass_time(ms(200)).await?;
        let mut second: Vec<Value> = (3..7).map(|i| json!({ "id": format!("{i:02}"), "ttl": 10 })).collect();
        second[0]["payload"] = json!("xx");
        let resp = cx.post(&list, Value::Array(second)).await?;
        let body = resp.status(200)?.json()?;
        ensure_eq!(Some(4), body["success"].as_array().map(Vec::len), "records accepted by the ttl update");
        let t2 = resp.stamp("x-last-modified")?;
        if t2 >= t1.plus_cs(100) {
            return Ok(Try::Spoiled);
        }
        cx.pass_time(ms(1000)).await?;
        let resp = cx.get(&format!("{list}?full=1")).await?;
        let items = resp.status(200)?.json()?;
        let mut found: Vec<&str> = items.as_array().into_iter().flatten().filter_map(|i| i["id"].as_str()).collect();
        found.sort_unstable();
        if found != ["03", "04", "05", "06"] && overtaken(&resp, t2.plus_cs(1000)) {
            return Ok(Try::Spoiled);
        }
        ensure_eq!(vec!["03", "04", "05", "06"], found, "1.2 s later: only the re-timed records live");
        let by_id = |id: &str| items.as_array().into_iter().flatten().find(|i| i["id"] == id).cloned().unwrap_or_default();
        ensure_eq!(json!("xx"), by_id("03")["payload"], "03 payload");
        ensure_eq!(json!("x"), by_id("04")["payload"], "04 keeps its payload");
        ensure_eq!(json!(""), by_id("05")["payload"], "05 is new");
        ensure_eq!(t2, Stamp::from_json(&by_id("03")["modified"])?, "03 modified (payload written)");
        ensure_eq!(t1, Stamp::from_json(&by_id("04")["modified"])?, "04 modified (only its ttl changed)");
        ensure_eq!(t2, Stamp::from_json(&by_id("06")["modified"])?, "06 modified (created)");
        Ok(Try::Held)
    })
}

fn g06_rewrite(cx: &mut Ctx, n: usize) -> BoxFuture<'_, Result<Try, Failure>> {
    Box::pin(async move {
        let rec = format!("storage/again{n}/a");
        let t0 = cx.put(&rec, json!({ "payload": "p", "ttl": 1 })).await?.status(200)?.stamp("x-last-modified")?;
        cx.pass_time(ms(600)).await?;
        let t1 = cx.put(&rec, json!({ "ttl": 1 })).await?.status(200)?.stamp("x-last-modified")?;
        if t1 >= t0.plus_cs(100) {
            return Ok(Try::Spoiled);
        }
        // 1.2 s after the first write, 0.6 s after the second: live only if the clock restarted.
        cx.pass_time(ms(600)).await?;
        let alive = cx.get(&rec).await?;
        if alive.code() == 404 && overtaken(&alive, t1.plus_cs(100)) {
            return Ok(Try::Spoiled);
        }
        alive.status(200)?;
        ensure_eq!(json!("p"), alive.json()?["payload"], "payload after a ttl-only write");
        cx.pass_time(ms(600)).await?;
        cx.get(&rec).await?.error(404, 0)?;
        Ok(Try::Held)
    })
}

fn g06_commit(cx: &mut Ctx, n: usize) -> BoxFuture<'_, Result<Try, Failure>> {
    Box::pin(async move {
        let list = format!("storage/staged{n}");
        let start = cx.post(&format!("{list}?batch=true"), json!([{ "id": "a", "payload": "p", "ttl": 1 }])).await?;
        let batch = started_batch(&start)?;
        cx.pass_time(ms(800)).await?;
        let commit = batch_post(&format!("staged{n}"), &batch, true).json(&json!([]));
        let t = cx.send(commit).await?.status(200)?.stamp("x-last-modified")?;
        // 1.4 s after staging, 0.6 s after the commit.
        cx.pass_time(ms(600)).await?;
        let alive = cx.get(&format!("{list}/a")).await?;
        if alive.code() == 404 && overtaken(&alive, t.plus_cs(100)) {
            return Ok(Try::Spoiled);
        }
        alive.status(200)?;
        cx.pass_time(ms(600)).await?;
        cx.get(&format!("{list}/a")).await?.error(404, 0)?;
        Ok(Try::Held)
    })
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("G-01", "a 2 s ttl record is readable at 1.5 s and gone at 2.1 s", |mut cx| {
            Box::pin(async move { until_held(&mut cx, g01_ttl_two).await })
        })
        .upstream(&["test_get_collection_ttl"]),
        Case::new("G-01", "a ttl of 0 is never readable, not even in the tick of its write", |mut cx| {
            Box::pin(async move {
                cx.put("storage/zero/12345", json!({ "payload": "p", "ttl": 0 })).await?.status(200)?;
                cx.get("storage/zero/12345").await?.error(404, 0)?;
                ensure_eq!(Vec::<String>::new(), ids(&mut cx, "storage/zero").await?.1, "listing");
                ensure_eq!(Vec::<String>::new(), ids(&mut cx, "storage/zero?full=1").await?.1, "full listing");
                // Once expired it can be written again.
                cx.put("storage/zero/12345", json!({ "payload": "XYZ", "ttl": 42 })).await?.status(200)?;
                ensure_eq!(json!("XYZ"), cx.get("storage/zero/12345").await?.status(200)?.json()?["payload"], "rewritten payload");
                Ok(())
            })
        })
        .upstream(&["test_that_expired_items_can_be_overwritten_via_PUT"]),
        Case::new("G-02", "an expired record shows up in no listing, lookup or figure", |mut cx| {
            Box::pin(async move {
                let hidden = "é".repeat(1024); // 2048 bytes, enough to show in any KB figure
                cx.put("storage/mixed/gone", json!({ "payload": hidden, "sortindex": 9, "ttl": 0 })).await?.status(200)?;
                cx.put("storage/mixed/kept", json!({ "payload": "kept", "sortindex": 1 })).await?.status(200)?;
                cx.put("storage/onlygone/gone", json!({ "payload": hidden, "ttl": 0 })).await?.status(200)?;
                cx.get("storage/mixed/gone").await?.error(404, 0)?;
                let resp = cx.send(SyncRequest::get("storage/mixed/gone").header("X-If-Modified-Since", "0")).await?;
                resp.error(404, 0)?;
                let kept = strings(&["kept"]);
                let mut listings: Vec<(String, Vec<String>)> = Vec::new();
                for query in ["", "?full=1", "?ids=gone,kept", "?newer=0", "?sort=index", "?sort=oldest&limit=5", "?full=1&sort=newest"] {
                    listings.push((format!("storage/mixed{query}"), kept.clone()));
                }
                listings.push(("storage/onlygone?full=1".to_owned(), Vec::new()));
                listings.push(("storage/onlygone?ids=gone".to_owned(), Vec::new()));
                for (path, want) in listings {
                    let v = cx.variant(format!("GET {path}"));
                    let r = async {
                        let (_, found) = ids(&mut cx, &path).await?;
                        ensure_eq!(want, found, "{path}");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let v = cx.variant("GET info/collection_counts");
                let r = async {
                    let counts = cx.get("info/collection_counts").await?.status(200)?.json()?;
                    ensure_eq!(Some(1), counts["mixed"].as_u64(), "count of mixed");
                    absent_or_zero(&counts, "onlygone", "count")
                }
                .await;
                cx.settle(v, r);
                let v = cx.variant("GET info/collection_usage");
                let r = async {
                    let usage = cx.get("info/collection_usage").await?.status(200)?.json()?;
                    close(4.0 / 1024.0, &usage["mixed"], "usage of mixed (KB)")?;
                    absent_or_zero(&usage, "onlygone", "usage")
                }
                .await;
                cx.settle(v, r);
                let v = cx.variant("GET info/quota");
                let r = async {
                    let quota = cx.get("info/quota").await?.status(200)?.json()?;
                    close(4.0 / 1024.0, &quota[0], "info/quota used (KB)")
                }
                .await;
                cx.settle(v, r);
                Ok(())
            })
        }),
        Case::new("G-03", "X-If-Unmodified-Since sees an expired record as ts 0", |mut cx| {
            Box::pin(async move {
                cx.put("storage/pre/a", json!({ "payload": "x", "ttl": 0 })).await?.status(200)?;
                let only_if_absent = |body: Value| SyncRequest::put("storage/pre/a").json(&body).header("X-If-Unmodified-Since", "0");
                cx.send(only_if_absent(json!({ "payload": "y" }))).await?.status(200)?;
                // Now it is live, the same request must be refused.
                let resp = cx.send(only_if_absent(json!({ "payload": "z" }))).await?;
                resp.status(412)?.empty()?;
                // An expired record's old ts no longer counts: just below it passes.
                let t = cx.put("storage/pre/b", json!({ "payload": "x", "ttl": 0 })).await?.status(200)?.stamp("x-last-modified")?;
                let req = SyncRequest::put("storage/pre/b")
                    .json(&json!({ "payload": "y" }))
                    .header("X-If-Unmodified-Since", t.plus_cs(-1).to_string());
                cx.send(req).await?.status(200)?;
                ensure_eq!(json!("y"), cx.get("storage/pre/b").await?.status(200)?.json()?["payload"], "payload written");
                Ok(())
            })
        }),
        Case::new("G-04", "deleting an expired record: 404 by id, an ignored name in ?ids", |mut cx| {
            Box::pin(async move {
                cx.put("storage/del/a", json!({ "payload": "old", "sortindex": 5, "ttl": 0 })).await?.status(200)?;
                cx.put("storage/del/b", json!({ "payload": "b" })).await?.status(200)?;
                cx.delete("storage/del/a").await?.error(404, 0)?;
                let named = cx.delete("storage/del?ids=a").await?;
                let unknown = cx.delete("storage/del?ids=never").await?;
                ensure_eq!(unknown.code(), named.code(), "DELETE ?ids of an expired id vs of an unknown id");
                named.status(200)?;
                ensure_eq!(strings(&["b"]), ids(&mut cx, "storage/del").await?.1, "the live record stays");
                cx.put("storage/del/a", json!({ "payload": "new" })).await?.status(200)?;
                let got = cx.get("storage/del/a").await?.status(200)?.json()?;
                ensure_eq!(json!("new"), got["payload"], "payload of the rewritten id");
                ensure!(got.get("sortindex").is_none(), "the rewritten id has no sortindex: {got}");
                Ok(())
            })
        }),
        Case::new("G-05", "writing over an expired record starts a new one with defaults", |mut cx| {
            Box::pin(async move {
                let v = cx.variant("PUT of a payload over an expired record, then later");
                let r = async {
                    cx.put("storage/fresh/TEST", json!({ "payload": "old", "sortindex": 5, "ttl": 0 })).await?.status(200)?;
                    cx.get("storage/fresh/TEST").await?.error(404, 0)?;
                    let t = cx.put("storage/fresh/TEST", json!({ "payload": "XYZ" })).await?.status(200)?.stamp("x-last-modified")?;
                    let got = cx.get("storage/fresh/TEST").await?.status(200)?.json()?;
                    ensure_eq!(json!("XYZ"), got["payload"], "payload");
                    ensure_eq!(t, Stamp::from_json(&got["modified"])?, "modified is the new write's T");
                    ensure!(got.get("sortindex").is_none(), "no sortindex carried over from the expired record: {got}");
                    // Without a ttl the new record does not expire.
                    cx.pass_time(ms(1100)).await?;
                    ensure_eq!(json!("XYZ"), cx.get("storage/fresh/TEST").await?.status(200)?.json()?["payload"], "payload later");
                    Ok(())
                }
                .await;
                cx.settle(v, r);

                let v = cx.variant("PUT with ttl 42 over an expired record");
                let r = async {
                    cx.put("storage/fresh/TTL", json!({ "payload": "XYZ", "ttl": 0 })).await?.status(200)?;
                    cx.put("storage/fresh/TTL", json!({ "payload": "XYZ", "ttl": 42 })).await?.status(200)?;
                    ensure_eq!(json!("XYZ"), cx.get("storage/fresh/TTL").await?.status(200)?.json()?["payload"], "with ttl 42");
                    Ok(())
                }
                .await;
                cx.settle(v, r);

                let v = cx.variant("PUT of only a sortindex over an expired record");
                let r = async {
                    cx.put("storage/fresh/S", json!({ "payload": "old", "ttl": 0 })).await?.status(200)?;
                    cx.put("storage/fresh/S", json!({ "sortindex": 7 })).await?.status(200)?;
                    let got = cx.get("storage/fresh/S").await?.status(200)?.json()?;
                    ensure_eq!(json!(""), got["payload"], "payload of a record revived by a sortindex-only write");
                    ensure_eq!(json!(7), got["sortindex"], "sortindex");
                    Ok(())
                }
                .await;
                cx.settle(v, r);

                let v = cx.variant("POST of only a ttl over an expired record");
                let r = async {
                    cx.post("storage/fresh", json!([{ "id": "P", "payload": "old", "sortindex": 1, "ttl": 0 }])).await?.status(200)?;
                    let resp = cx.post("storage/fresh", json!([{ "id": "P", "ttl": 42 }])).await?;
                    let body = resp.status(200)?.json()?;
                    ensure_eq!(json!(["P"]), body["success"], "POST success");
                    let t = Stamp::from_json(&body["modified"])?;
                    let got = cx.get("storage/fresh/P").await?.status(200)?.json()?;
                    ensure_eq!(json!(""), got["payload"], "payload of a record revived by a ttl-only POST");
                    ensure!(got.get("sortindex").is_none(), "no sortindex carried over: {got}");
                    ensure_eq!(t, Stamp::from_json(&got["modified"])?, "a revived record gets the POST's T");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_that_expired_items_can_be_overwritten_via_PUT"]),
        Case::new("G-06", "a PUT of a new ttl keeps a record alive past its first expiry", |mut cx| {
            Box::pin(async move { until_held(&mut cx, g06_put).await })
        })
        .upstream(&["test_update_of_ttl_without_sending_data"]),
        Case::new("G-06", "a POST of new ttls re-times existing records and creates the rest", |mut cx| {
            Box::pin(async move { until_held(&mut cx, g06_post).await })
        })
        .upstream(&["test_bulk_update_of_ttls_without_sending_data"]),
        Case::new("G-06", "the same ttl written again counts from the second write", |mut cx| {
            Box::pin(async move { until_held(&mut cx, g06_rewrite).await })
        }),
        Case::new("G-06", "a staged ttl counts from the commit, not from staging", |mut cx| {
            Box::pin(async move { until_held(&mut cx, g06_commit).await })
        }),
        Case::new("G-07", "a collection whose records all expired is still listed with its ts", |mut cx| {
            Box::pin(async move {
                cx.put("storage/keep/x", json!({ "payload": "x" })).await?.status(200)?;
                let recs = json!([{ "id": "a", "payload": "a", "ttl": 1 }, { "id": "b", "payload": "b", "ttl": 1 }]);
                let t = cx.post("storage/fading", recs).await?.status(200)?.stamp("x-last-modified")?;
                cx.pass_time(ms(1100)).await?;
                let info = cx.get("info/collections").await?.status(200)?.json()?;
                ensure_eq!(t, Stamp::from_json(&info["fading"])?, "ts of the expired-out collection in info/collections");
                let (listing, found) = ids(&mut cx, "storage/fading").await?;
                ensure_eq!(Vec::<String>::new(), found, "listing");
                ensure_eq!(t, listing.stamp("x-last-modified")?, "X-Last-Modified of the collection");
                let counts = cx.get("info/collection_counts").await?.status(200)?.json()?;
                absent_or_zero(&counts, "fading", "count")?;
                ensure_eq!(Some(1), counts["keep"].as_u64(), "count of the live collection");
                let usage = cx.get("info/collection_usage").await?.status(200)?.json()?;
                absent_or_zero(&usage, "fading", "usage")?;
                Ok(())
            })
        }),
        Case::new("G-08", "expiry moves neither the collection ts nor the storage ts", |mut cx| {
            Box::pin(async move {
                cx.put("storage/other/x", json!({ "payload": "x" })).await?.status(200)?;
                let t = cx
                    .post("storage/brief", json!([{ "id": "a", "payload": "a", "ttl": 1 }]))
                    .await?
                    .status(200)?
                    .stamp("x-last-modified")?;
                let before = cx.get("info/collections").await?;
                let map_before = before.status(200)?.json()?;
                ensure_eq!(t, before.stamp("x-last-modified")?, "storage ts before the expiry");
                cx.pass_time(ms(1100)).await?;
                let after = cx.get("info/collections").await?;
                ensure_eq!(map_before, after.status(200)?.json()?, "info/collections across the expiry");
                ensure_eq!(t, after.stamp("x-last-modified")?, "storage ts after the expiry");
                ensure_eq!(t, cx.get("storage/brief").await?.status(200)?.stamp("x-last-modified")?, "collection ts after the expiry");
                let unchanged = |path: &str| SyncRequest::get(path).header("X-If-Modified-Since", t.to_string());
                cx.send(unchanged("info/collections")).await?.status(304)?.empty()?;
                cx.send(unchanged("storage/brief")).await?.status(304)?.empty()?;
                Ok(())
            })
        }),
        Case::new("G-09", "after expiry every read stays the same while time passes (purge or not)", |mut cx| {
            Box::pin(async move {
                cx.put("storage/purge/live", json!({ "payload": "live" })).await?.status(200)?;
                cx.post("storage/purge", json!([{ "id": "old", "payload": "é".repeat(600), "ttl": 1 }])).await?.status(200)?;
                cx.post("storage/allold", json!([{ "id": "old", "payload": "old", "ttl": 1 }])).await?.status(200)?;
                cx.pass_time(ms(1100)).await?;
                let first = snapshot(&mut cx).await?;
                cx.pass_time(ms(800)).await?;
                let second = snapshot(&mut cx).await?;
                for ((what, a), (_, b)) in first.iter().zip(&second) {
                    let v = cx.variant(what.clone());
                    let r = (|| {
                        ensure_eq!(a, b, "{what} before and after more time passed");
                        Ok(())
                    })();
                    cx.settle(v, r);
                }
                cx.get("storage/purge/old").await?.error(404, 0)?;
                Ok(())
            })
        }),
    ]
}

/// Every answer a purge must leave unchanged: bodies and `X-Last-Modified` of the read endpoints.
async fn snapshot(cx: &mut Ctx) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::new();
    for path in [
        "info/collections",
        "info/collection_counts",
        "info/collection_usage",
        "info/quota",
        "storage/purge?full=1",
        "storage/allold?full=1",
        "storage/purge?ids=old,live",
    ] {
        let resp = cx.get(path).await?;
        resp.status(200)?;
        out.push((format!("{path} body"), resp.json()?.to_string()));
        out.push((format!("{path} X-Last-Modified"), resp.header("x-last-modified").unwrap_or("(none)").to_owned()));
    }
    Ok(out)
}
