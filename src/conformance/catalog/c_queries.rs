//! SPEC area C: query parameters.

use std::collections::BTreeSet;
use std::time::Duration;

use rand::RngExt;
use serde_json::{Value, json};

use super::steps::{batch_post, started_batch};
use crate::client::SyncRequest;
use crate::conformance::{Case, CaseResult, Ctx, Failure, Need, Resp, Stamp};
use crate::{ensure, ensure_eq};

/// Clauses of area C that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// The fixed `ids=` maximum of the 1.5 API (not a published limit).
const MAX_IDS: usize = 100;

pub fn cases() -> Vec<Case> {
    vec![
        // ---- C-01: ids ----------------------------------------------------------------------
        Case::new("C-01", "ids selects up to a hundred records on GET; a hundred and one are refused", |mut cx| {
            Box::pin(async move {
                cx.put("storage/c01/01", json!({ "payload": "testing" })).await?.status(200)?;
                let at = numbered(MAX_IDS).join(",");
                // Empty entries are not ids, so they do not count towards the hundred.
                for (what, ids) in [
                    ("99 ids", numbered(MAX_IDS - 1).join(",")),
                    ("100 ids", at.clone()),
                    ("100 ids and empty entries", format!(",{at},,")),
                ] {
                    let v = cx.variant(format!("GET ?ids= with {what}"));
                    let r = async {
                        ensure_eq!(strs(&["01"]), list(&mut cx, &format!("storage/c01?ids={ids}")).await?, "{what}");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let v = cx.variant("GET ?ids= with 101 ids");
                let over = numbered(MAX_IDS + 1).join(",");
                let r = async { cx.get(&format!("storage/c01?ids={over}")).await?.error(400, 0).map(drop) }.await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_that_batch_gets_are_limited_to_max_number_of_ids"]),
        Case::new("C-01", "ids deletes up to a hundred records; a hundred and one are refused and delete nothing", |mut cx| {
            Box::pin(async move {
                for n in [MAX_IDS - 1, MAX_IDS] {
                    let v = cx.variant(format!("DELETE ?ids= with {n} ids"));
                    let r = async {
                        cx.put("storage/c01d/01", json!({ "payload": "testing" })).await?.status(200)?;
                        let ids = numbered(n).join(",");
                        cx.delete(&format!("storage/c01d?ids={ids}")).await?.status(200)?;
                        ensure_eq!(Vec::<String>::new(), list(&mut cx, "storage/c01d").await?, "after deleting with {n} ids");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let v = cx.variant(format!("DELETE ?ids= with {} ids", MAX_IDS + 1));
                let r = async {
                    cx.put("storage/c01d/01", json!({ "payload": "testing" })).await?.status(200)?;
                    let over = numbered(MAX_IDS + 1).join(",");
                    cx.delete(&format!("storage/c01d?ids={over}")).await?.error(400, 0)?;
                    ensure_eq!(strs(&["01"]), list(&mut cx, "storage/c01d").await?, "a refused delete removes nothing");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_that_batch_deletes_are_limited_to_max_number_of_ids"]),
        Case::new("C-01", "a hundred unknown ids select nothing; unknown parameters are no error", |mut cx| {
            Box::pin(async move {
                let records: Vec<Value> = (0..10).map(|i| json!({ "id": format!("{i:02}"), "payload": "x" })).collect();
                post_all(&mut cx, "c01w", json!(records)).await?;
                let ids: Vec<String> = (0..MAX_IDS).map(|_| random_text(&mut cx, 10)).collect();
                let v = cx.variant("GET ?ids= with 100 random unknown ids");
                let r = async {
                    let found = list(&mut cx, &format!("storage/c01w?ids={}", ids.join(","))).await?;
                    ensure_eq!(Vec::<String>::new(), found, "100 random unknown ids");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                let v = cx.variant("GET ?blabla=1");
                let r = async {
                    let resp = cx.get("storage/c01w?blabla=1").await?;
                    ensure_eq!(10, listed(resp.status(200)?)?.len(), "an unknown parameter leaves the listing whole");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_weird_args"]),
        Case::new("C-01", "ids may be percent-encoded and reach the edges of the id alphabet and length", |mut cx| {
            Box::pin(async move {
                let long = "x".repeat(64);
                let edge_ids = [" ", "~", "a b", "a+b", long.as_str()];
                let mut records: Vec<Value> = edge_ids.iter().map(|id| json!({ "id": id, "payload": "edge" })).collect();
                records.push(json!({ "id": "other", "payload": "x" }));
                post_all(&mut cx, "c01e", json!(records)).await?;
                for id in edge_ids {
                    let label = if id.len() > 16 { format!("{:?} × {}", "x", id.len()) } else { format!("{id:?}") };
                    let v = cx.variant(format!("GET ?ids= of the id {label}, percent-encoded"));
                    let r = async {
                        let resp = cx.send(SyncRequest::get("storage/c01e").query("ids", id)).await?;
                        ensure_eq!(strs(&[id]), listed(resp.status(200)?)?, "the id {label} looked up alone");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let all = edge_ids.join(",");
                let lookups: [(&str, SyncRequest, Vec<String>); 3] = [
                    // Commas encoded too, as a client quoting the whole value sends them.
                    ("every edge id, commas encoded too", SyncRequest::get("storage/c01e").query("ids", &all), strs(&edge_ids)),
                    ("ids=%20,~,a%20b,nope", SyncRequest::get("storage/c01e?ids=%20,~,a%20b,nope"), strs(&[" ", "~", "a b"])),
                    ("ids=,other,, (empty entries)", SyncRequest::get("storage/c01e?ids=,other,,"), strs(&["other"])),
                ];
                for (what, req, want) in lookups {
                    let v = cx.variant(format!("GET ?{what}"));
                    let r = async {
                        let resp = cx.send(req).await?;
                        ensure_eq!(sorted(want), sorted(listed(resp.status(200)?)?), "{what}");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        }),
        // ---- C-02: ids= with no value --------------------------------------------------------
        Case::new("C-02", "an empty ids value names no record: DELETE removes nothing", |mut cx| {
            Box::pin(async move {
                post_all(&mut cx, "c02", json!([{ "id": "a", "payload": "x" }, { "id": "b", "payload": "y" }])).await?;
                let resp = cx.get("storage/c02?ids=").await?;
                let got = sorted(listed(resp.status(200)?)?);
                ensure!(got.is_empty() || got == strs(&["a", "b"]), "GET ?ids= must act as no filter or an empty one, listed {got:?}");
                let resp = cx.delete("storage/c02?ids=").await?;
                if resp.code() != 200 {
                    resp.error(400, 0)?;
                }
                ensure_eq!(strs(&["a", "b"]), sorted(list(&mut cx, "storage/c02").await?), "records after DELETE ?ids=");
                Ok(())
            })
        }),
        // ---- C-03 to C-05: newer and older --------------------------------------------------
        Case::new("C-03", "newer keeps only records modified strictly after the given ts", |mut cx| {
            Box::pin(async move {
                let stamps = three_writes(&mut cx, "c03").await?;
                let [t1, t2, t3] = stamps;
                for (what, newer) in [
                    ("newer = T1", t1),
                    ("newer just below T1", t1.plus_cs(-1)),
                    ("newer just above T1", t1.plus_cs(1)),
                    ("newer = T2", t2),
                    ("newer just below T3", t3.plus_cs(-1)),
                    ("newer = T3", t3),
                    ("newer=0", Stamp(0)),
                ] {
                    let v = cx.variant(format!("{what} (newer={newer})"));
                    let r = async {
                        let want = written_where(&stamps, |t| t > newer);
                        ensure_eq!(want, sorted(list(&mut cx, &format!("storage/c03?newer={newer}")).await?), "{what}");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_strict_newer", "test_get_collection_only"]),
        Case::new("C-03", "records read back with two-decimal ts that newer can select by", |mut cx| {
            Box::pin(async move {
                let mut stamps = Vec::new();
                for i in 0..5 {
                    stamps.push(post_all(&mut cx, "c03d", json!([{ "id": format!("{i:02}"), "payload": "xxx" }])).await?);
                }
                let resp = cx.get("storage/c03d?full=1").await?;
                let mut listed_stamps = Vec::new();
                for item in items_of(resp.status(200)?)? {
                    listed_stamps.push(Stamp::from_json(&item["modified"])?);
                }
                listed_stamps.sort();
                ensure_eq!(stamps, listed_stamps, "listed modified values equal the writes' T");
                let text = resp.text();
                for raw in text.split("\"modified\":").skip(1) {
                    let number: String = raw.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
                    ensure!(Stamp::parse(&number).is_ok(), "modified {number:?} is not written with two decimals");
                }
                let newer = format!("storage/c03d?newer={}", stamps[2]);
                ensure_eq!(strs(&["03", "04"]), sorted(list(&mut cx, &newer).await?), "newer = the third-latest ts");
                Ok(())
            })
        })
        .upstream(&["test_timestamp_numbers_are_decimals"]),
        Case::new("C-03", "newer must be a non-negative decimal", |mut cx| {
            Box::pin(async move {
                cx.put("storage/c03b/a", json!({ "payload": "x" })).await?.status(200)?;
                let mut bad = vec!["-1".to_owned(), "-0.01".to_owned(), "abc".to_owned(), "1.2.3".to_owned()];
                bad.push(random_text(&mut cx, 10));
                for value in &bad {
                    let v = cx.variant(format!("newer={value}"));
                    let req = SyncRequest::get("storage/c03b").query("newer", value);
                    let r = async { cx.send(req).await?.error(400, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_weird_args"]),
        Case::new("C-04", "older keeps only records modified strictly before the given ts", |mut cx| {
            Box::pin(async move {
                let stamps = three_writes(&mut cx, "c04").await?;
                let [t1, t2, t3] = stamps;
                for (what, older) in [
                    ("older = T1", t1),
                    ("older just above T1", t1.plus_cs(1)),
                    ("older just below T2", t2.plus_cs(-1)),
                    ("older = T2", t2),
                    ("older just above T2", t2.plus_cs(1)),
                    ("older = T3", t3),
                    ("older just above T3", t3.plus_cs(1)),
                ] {
                    let v = cx.variant(format!("{what} (older={older})"));
                    let r = async {
                        let want = written_where(&stamps, |t| t < older);
                        ensure_eq!(want, sorted(list(&mut cx, &format!("storage/c04?older={older}")).await?), "{what}");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_strict_older", "test_get_collection_only"]),
        Case::new("C-04", "older must be a non-negative decimal", |mut cx| {
            Box::pin(async move {
                cx.put("storage/c04b/a", json!({ "payload": "x" })).await?.status(200)?;
                let mut bad = vec!["-1".to_owned(), "-0.01".to_owned(), "abc".to_owned(), "1.2.3".to_owned()];
                bad.push(random_text(&mut cx, 10));
                for value in &bad {
                    let v = cx.variant(format!("older={value}"));
                    let req = SyncRequest::get("storage/c04b").query("older", value);
                    let r = async { cx.send(req).await?.error(400, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_weird_args"]),
        Case::new("C-05", "newer and older together select the records between them", |mut cx| {
            Box::pin(async move {
                let stamps = three_writes(&mut cx, "c05").await?;
                let [t1, t2, t3] = stamps;
                for (what, newer, older) in [
                    ("newer=T1, older=T3", t1, t3),
                    ("newer=T1, older just above T2", t1, t2.plus_cs(1)),
                    ("newer = older = T2", t2, t2),
                    ("newer above older", t3, t1),
                    ("a range around every write", t1.plus_cs(-1), t3.plus_cs(1)),
                ] {
                    let v = cx.variant(format!("{what} (older={older}&newer={newer})"));
                    let r = async {
                        let want = written_where(&stamps, |t| t > newer && t < older);
                        let query = format!("storage/c05?older={older}&newer={newer}");
                        ensure_eq!(want, sorted(list(&mut cx, &query).await?), "{what}");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let v = cx.variant(format!("newer=T1 first, then older=T3 (newer={t1}&older={t3})"));
                let r = async {
                    ensure_eq!(
                        strs(&["02", "03"]),
                        sorted(list(&mut cx, &format!("storage/c05?newer={t1}&older={t3}")).await?),
                        "only the middle write"
                    );
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_get_collection_only"]),
        // ---- C-06: full ------------------------------------------------------------------------
        Case::new("C-06", "full with any value lists records; without it, ids", |mut cx| {
            Box::pin(async move {
                post_all(&mut cx, "c06", json!([{ "id": "a", "payload": "pa" }, { "id": "b", "payload": "pb", "sortindex": 3 }])).await?;
                for query in ["full=1", "full=0", "full=", "full", "full=true", "full=no"] {
                    let v = cx.variant(format!("GET ?{query}"));
                    let r = full_listing(&mut cx, query).await;
                    cx.settle(v, r);
                }
                let v = cx.variant("GET without full");
                let r = async {
                    let resp = cx.get("storage/c06").await?;
                    let items = items_of(resp.status(200)?)?;
                    ensure!(items.iter().all(Value::is_string), "without full the listing holds id strings: {items:?}");
                    ensure_eq!(strs(&["a", "b"]), sorted(listed(&resp)?), "ids without full");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_get_collection_only"]),
        // ---- C-07, C-08: limit --------------------------------------------------------------
        Case::new("C-07", "limit caps a page at a positive integer and refuses anything else", |mut cx| {
            Box::pin(async move {
                let records: Vec<Value> = (0..5).map(|i| json!({ "id": format!("{i:02}"), "payload": "x" })).collect();
                post_all(&mut cx, "c07", json!(records)).await?;
                for (limit, count, more) in [(1, 1, true), (2, 2, true), (4, 4, true), (5, 5, false), (6, 5, false)] {
                    let v = cx.variant(format!("limit={limit} of 5 records"));
                    let r = async {
                        let resp = cx.get(&format!("storage/c07?limit={limit}")).await?;
                        ensure_eq!(count, items_of(resp.status(200)?)?.len(), "items with limit={limit}");
                        ensure_eq!(more, resp.header("x-weave-next-offset").is_some(), "a next offset with limit={limit} of 5");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let mut bad = vec!["-1".to_owned(), "abc".to_owned(), "1.5".to_owned()];
                bad.push(random_text(&mut cx, 10));
                for value in &bad {
                    let v = cx.variant(format!("limit={value}"));
                    let req = SyncRequest::get("storage/c07").query("limit", value);
                    let r = async { cx.send(req).await?.error(400, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                // limit=0 is the reference's 400; a server taking it must still never hand out
                // an offset with an empty page.
                let v = cx.variant("limit=0");
                let r = async {
                    let zero = cx.get("storage/c07?limit=0").await?;
                    if zero.code() == 200 {
                        let n = items_of(&zero)?.len();
                        ensure!(
                            n > 0 || zero.header("x-weave-next-offset").is_none(),
                            "limit=0 gave an empty page with a next offset, so paging would never end"
                        );
                    } else {
                        zero.error(400, 0)?;
                    }
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_that_negative_integer_fields_are_not_accepted", "test_weird_args"]),
        Case::new("C-08", "a listing without limit yields every match, following any next offset", |mut cx| {
            Box::pin(async move {
                let limits = cx.limits().clone();
                let total = limits.max_total_records as usize + 5;
                let per_post = (limits.max_post_records as usize).max(1);
                let ids: Vec<String> = (0..total).map(|i| format!("r{i:05}")).collect();
                for chunk in ids.chunks(per_post) {
                    let records: Vec<Value> = chunk.iter().map(|id| json!({ "id": id, "payload": "x" })).collect();
                    post_all(&mut cx, "c08", json!(records)).await?;
                }
                for query in ["storage/c08", "storage/c08?full=1&sort=oldest"] {
                    let v = cx.variant(format!("GET {query}"));
                    let r = async {
                        let items = walk(&mut cx, query, total + 2).await?;
                        let got = ids_of(&items)?;
                        ensure_eq!(total, got.len(), "items over every page of {query} (each once)");
                        ensure_eq!(ids, sorted(got), "ids over every page of {query}");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .needs(&[Need::SmallBatchTotals]),
        // ---- C-09: sort ----------------------------------------------------------------------
        Case::new("C-09", "sort orders by newest, oldest or descending sortindex; other values are refused", |mut cx| {
            Box::pin(async move {
                for (id, sortindex) in [("00", -1), ("01", 34), ("02", 12), ("03", 999_999_999), ("04", -999_999_999)] {
                    post_all(&mut cx, "c09", json!([{ "id": id, "payload": "x", "sortindex": sortindex }])).await?;
                }
                for (query, want) in [
                    ("sort=newest", ["04", "03", "02", "01", "00"]),
                    ("sort=oldest", ["00", "01", "02", "03", "04"]),
                    ("sort=index", ["03", "01", "02", "00", "04"]),
                    ("sort=index&full=1", ["03", "01", "02", "00", "04"]),
                ] {
                    let v = cx.variant(format!("GET ?{query}"));
                    let r = async {
                        ensure_eq!(strs(&want), list(&mut cx, &format!("storage/c09?{query}")).await?, "{query}");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let v = cx.variant("GET without sort, twice");
                let r = async {
                    let first = list(&mut cx, "storage/c09").await?;
                    ensure_eq!(5, first.len(), "an unsorted listing holds every record");
                    ensure_eq!(first, list(&mut cx, "storage/c09").await?, "an unsorted listing keeps its order");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                for bogus in ["bogus", "index2", ""] {
                    let v = cx.variant(format!("sort={bogus}"));
                    let req = SyncRequest::get("storage/c09").query("sort", bogus);
                    let r = async { cx.send(req).await?.error(400, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_get_collection_only"]),
        // ---- C-10 to C-13: offsets and paging -----------------------------------------------
        Case::new("C-10", "next offsets are urlsafe-base64 tokens and junk offsets are refused", |mut cx| {
            Box::pin(async move {
                let records: Vec<Value> = (0..10).map(|i| json!({ "id": format!("{i:02}"), "payload": "x", "sortindex": i })).collect();
                post_all(&mut cx, "c10", json!(records)).await?;
                let mut tokens = Vec::new();
                for query in ["sort=index", "sort=newest", "sort=oldest", "full=1"] {
                    let mut req = SyncRequest::get(format!("storage/c10?{query}&limit=3"));
                    for _ in 0..10 {
                        let resp = cx.send(req).await?;
                        resp.status(200)?;
                        let Some(token) = resp.header("x-weave-next-offset").map(str::to_owned) else { break };
                        tokens.push(token.clone());
                        req = SyncRequest::get(format!("storage/c10?{query}&limit=3")).query("offset", &token);
                    }
                }
                ensure!(tokens.len() >= 12, "expected three next offsets per listing, got {tokens:?}");
                let bad: Vec<&String> = tokens.iter().filter(|t| !is_urlsafe_token(t)).collect();
                let rule = if bad.is_empty() {
                    Ok(())
                } else {
                    Err(Failure::mismatch("next offsets outside the urlsafe-base64 alphabet", "^[A-Za-z0-9_=-]+$", format!("{bad:?}")))
                };
                cx.rule_or_compat(
                    rule,
                    || {
                        let odd: Vec<&String> = tokens.iter().filter(|t| !is_integer_token(t)).collect();
                        ensure!(odd.is_empty(), "next offsets neither urlsafe base64 nor <integer>[:<integer>]: {odd:?}");
                        Ok(())
                    },
                    "next offsets are <integer> or <integer>:<integer>",
                )?;
                for query in ["offset=!!junk!!", "sort=index&limit=2&offset=!!junk!!"] {
                    let v = cx.variant(format!("GET ?{query}"));
                    let r = async { cx.get(&format!("storage/c10?{query}")).await?.error(400, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_get_collection_only"]),
        Case::new("C-11", "a next offset comes only while more matches remain, and a later page may change limit", |mut cx| {
            Box::pin(async move {
                let records: Vec<Value> = (0..10).map(|i| json!({ "id": format!("{i:02}"), "payload": "x", "sortindex": i })).collect();
                post_all(&mut cx, "c11", json!(records)).await?;
                for order in ["sort=index", "sort=newest", "sort=oldest", ""] {
                    let v = cx.variant(if order.is_empty() { "pages without sort".to_owned() } else { format!("pages of ?{order}") });
                    let r = changing_limits(&mut cx, order).await;
                    cx.settle(v, r);
                }
                // A last page that is exactly full still ends the paging.
                let v = cx.variant("two pages of ?sort=index&limit=5, the last exactly full");
                let r = async {
                    let first = cx.get("storage/c11?sort=index&limit=5").await?;
                    let token = first.status(200)?.require_header("x-weave-next-offset")?.to_owned();
                    let last = cx.send(SyncRequest::get("storage/c11?sort=index&limit=5").query("offset", &token)).await?;
                    ensure_eq!(5, items_of(last.status(200)?)?.len(), "second page of five");
                    ensure_eq!(None, last.header("x-weave-next-offset"), "next offset after the exactly-full last page");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                for limit in [10, 11] {
                    let v = cx.variant(format!("limit={limit} of 10 records"));
                    let r = async {
                        let resp = cx.get(&format!("storage/c11?limit={limit}")).await?;
                        ensure_eq!(10, items_of(resp.status(200)?)?.len(), "items with limit={limit}");
                        ensure_eq!(None, resp.header("x-weave-next-offset"), "next offset with limit={limit} of 10");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_get_collection_only"]),
        Case::new("C-12", "paging with newer or older returns every match once and in order, for page sizes 2 to 6", |mut cx| {
            Box::pin(async move {
                let stamps = twelve_in_threes(&mut cx, "c12").await?;
                for limit in 2..=6 {
                    for (i, ts) in stamps.iter().enumerate() {
                        // newer=T of POST i leaves the records of the later POSTs.
                        let query = format!("storage/c12?full=true&sort=oldest&newer={ts}&limit={limit}");
                        let want: Vec<String> = ((i + 1) * 4..12).map(|n| format!("{n:02}")).collect();
                        let v = cx.variant(format!("limit={limit}, newer=T{} sorted oldest", i + 1));
                        let r = every_page_in_order(&mut cx, &query, true, want).await;
                        cx.settle(v, r);
                        // older=T of POST i leaves the records of the earlier POSTs.
                        let query = format!("storage/c12?full=true&sort=newest&older={ts}&limit={limit}");
                        let want: Vec<String> = (0..i * 4).map(|n| format!("{n:02}")).collect();
                        let v = cx.variant(format!("limit={limit}, older=T{} sorted newest", i + 1));
                        let r = every_page_in_order(&mut cx, &query, false, want).await;
                        cx.settle(v, r);
                    }
                }
                Ok(())
            })
        })
        .upstream(&["test_pagination_with_newer_and_sort_by_oldest", "test_pagination_with_older_and_sort_by_newest"]),
        Case::new("C-12", "paging across records that tie on ts and sortindex returns each once", |mut cx| {
            Box::pin(async move {
                twelve_in_threes(&mut cx, "c12t").await?;
                let want: Vec<String> = (0..12).map(|n| format!("{n:02}")).collect();
                for order in ["sort=index", "sort=newest", "sort=oldest", "full=1"] {
                    for limit in 2..=6 {
                        let query = format!("storage/c12t?{order}&limit={limit}");
                        let v = cx.variant(format!("pages of ?{order}&limit={limit}"));
                        let r = async {
                            let items = walk(&mut cx, &query, 20).await?;
                            ensure_eq!(12, items.len(), "items over every page of {query}");
                            ensure_eq!(want, sorted(ids_of(&items)?), "ids over every page of {query}");
                            Ok(())
                        }
                        .await;
                        cx.settle(v, r);
                    }
                }
                Ok(())
            })
        }),
        Case::new("C-13", "an offset replayed with another query, or forged, gets 400 or a well-formed page", |mut cx| {
            Box::pin(async move {
                let [t1, ..] = three_writes(&mut cx, "c13").await?;
                let queries = [
                    "sort=newest&limit=2".to_owned(),
                    "sort=oldest&limit=2".to_owned(),
                    "sort=index&limit=2".to_owned(),
                    "full=1&limit=2".to_owned(),
                    format!("newer={t1}&limit=2"),
                ];
                let mut tokens = Vec::new();
                for query in &queries {
                    let resp = cx.get(&format!("storage/c13?{query}")).await?;
                    tokens.push(resp.status(200)?.require_header("x-weave-next-offset")?.to_owned());
                }
                let forged_b64 = |s: &str| {
                    use base64::Engine;
                    base64::engine::general_purpose::URL_SAFE.encode(s)
                };
                let mut forged = vec![
                    "0".to_owned(),
                    "-1".to_owned(),
                    "99999999999999999999".to_owned(),
                    "1:2:3".to_owned(),
                    "AAAA".to_owned(),
                    forged_b64("o1:-5"),
                    forged_b64("o1:99999999999"),
                    forged_b64("\u{0}\u{ff}"),
                ];
                let random = random_text(&mut cx, 16);
                forged.push(random);
                tokens.extend(forged);
                let targets = ["sort=newest", "sort=oldest&limit=2", "sort=index&limit=1", "full=1&limit=3", "ids=00,02,04&limit=1"];
                for (n, token) in tokens.iter().enumerate() {
                    let origin = queries.get(n).map_or_else(|| "forged".to_owned(), |q| format!("from ?{q}"));
                    for query in targets.iter().map(|q| q.to_string()).chain([format!("older={t1}")]) {
                        let v = cx.variant(format!("offset {token:?} ({origin}) with ?{query}"));
                        let req = SyncRequest::get(format!("storage/c13?{query}")).query("offset", token);
                        let r = async { page_or_refusal(&cx.send(req).await?, query.contains("full")) }.await;
                        cx.settle(v, r);
                    }
                }
                Ok(())
            })
        }),
        // ---- C-14 to C-16 ----------------------------------------------------------------------
        Case::new("C-14", "unknown query parameters change nothing", |mut cx| {
            Box::pin(async move {
                post_all(&mut cx, "c14", json!([{ "id": "a", "payload": "x" }, { "id": "b", "payload": "y" }])).await?;
                let plain = list(&mut cx, "storage/c14").await?;
                for query in ["blabla=1", "blabla=1&index_above=3&x="] {
                    let v = cx.variant(format!("listing with ?{query}"));
                    let r = async {
                        ensure_eq!(plain, list(&mut cx, &format!("storage/c14?{query}")).await?, "listing with ?{query}");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let v = cx.variant("record GET with ?blabla=1");
                let r = async {
                    let rec = cx.get("storage/c14/a?blabla=1").await?;
                    ensure_eq!(json!("x"), rec.status(200)?.json()?["payload"], "record GET with ?blabla=1");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                let v = cx.variant("PUT with ?blabla=1");
                let r = async {
                    let put = cx.send(SyncRequest::put("storage/c14/c?blabla=1").json(&json!({ "payload": "z" }))).await?;
                    put.status(200)?;
                    let rec = cx.get("storage/c14/c").await?;
                    ensure_eq!(json!("z"), rec.status(200)?.json()?["payload"], "a PUT with ?blabla=1 stores");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                let v = cx.variant("info/collections with ?blabla=1");
                let r = async { cx.get("info/collections?blabla=1").await?.status(200).map(drop) }.await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_weird_args"]),
        Case::new("C-15", "expired records appear in no listing, filter or ids lookup", |mut cx| {
            Box::pin(async move {
                cx.put("storage/c15/kept", json!({ "payload": "k" })).await?.status(200)?;
                cx.put("storage/c15/brief", json!({ "payload": "b", "ttl": 2 })).await?.status(200)?;
                cx.put("storage/c15/gone", json!({ "payload": "g", "ttl": 0 })).await?.status(200)?;
                let queries = [
                    "storage/c15".to_owned(),
                    "storage/c15?full=1".to_owned(),
                    "storage/c15?ids=kept,brief,gone".to_owned(),
                    "storage/c15?newer=0".to_owned(),
                    "storage/c15?older=99999999999".to_owned(),
                    "storage/c15?sort=index".to_owned(),
                    "storage/c15?sort=oldest&limit=1".to_owned(),
                ];
                for query in &queries {
                    let v = cx.variant(format!("GET {query} before the ttl runs out"));
                    let r = async {
                        let items = walk(&mut cx, query, 10).await?;
                        ensure_eq!(strs(&["brief", "kept"]), sorted(ids_of(&items)?), "{query} before the ttl runs out");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                cx.pass_time(Duration::from_millis(2100)).await?;
                for query in &queries {
                    let v = cx.variant(format!("GET {query} after the ttl ran out"));
                    let r = async {
                        let items = walk(&mut cx, query, 10).await?;
                        ensure_eq!(strs(&["kept"]), ids_of(&items)?, "{query} after the ttl ran out");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_get_collection_ttl"]),
        Case::new("C-16", "X-Weave-Records counts the items of this listing response", |mut cx| {
            Box::pin(async move {
                let records: Vec<Value> = (0..5).map(|i| json!({ "id": format!("{i:02}"), "payload": "x" })).collect();
                post_all(&mut cx, "c16", json!(records)).await?;
                let count = |resp: &Resp| resp.header("x-weave-records").map(str::to_owned);
                for (query, want) in [
                    ("storage/c16", 5),
                    ("storage/c16?full=1", 5),
                    ("storage/c16?limit=2", 2),
                    ("storage/c16?ids=00,01,zz", 2),
                    ("storage/c16?newer=99999999999", 0),
                    ("storage/neverwritten", 0),
                ] {
                    let v = cx.variant(format!("GET {query}"));
                    let r = async {
                        let resp = cx.get(query).await?;
                        ensure_eq!(want, items_of(resp.status(200)?)?.len(), "items of {query}");
                        ensure_eq!(Some(want.to_string()), count(&resp), "X-Weave-Records of {query}");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let first = cx.get("storage/c16?sort=oldest&limit=3").await?;
                let token = first.status(200)?.require_header("x-weave-next-offset")?.to_owned();
                let last = cx.send(SyncRequest::get("storage/c16?sort=oldest&limit=3").query("offset", &token)).await?;
                ensure_eq!(Some("2".to_owned()), count(last.status(200)?), "X-Weave-Records of the last page");
                // Staged records are not listed, so not counted, until their commit.
                let staged =
                    cx.post("storage/c16?batch=true", json!([{ "id": "s1", "payload": "x" }, { "id": "s2", "payload": "y" }])).await?;
                let batch = started_batch(&staged)?;
                let resp = cx.get("storage/c16").await?;
                ensure_eq!(Some("5".to_owned()), count(resp.status(200)?), "X-Weave-Records while a batch is open");
                let commit = batch_post("c16", &batch, true).json(&json!([]));
                cx.send(commit).await?.status(200)?;
                let resp = cx.get("storage/c16").await?;
                ensure_eq!(Some("7".to_owned()), count(resp.status(200)?), "X-Weave-Records after the commit");
                Ok(())
            })
        })
        .upstream(&["test_get_collection_only", "test_batches"]),
    ]
}

// ---- steps shared by the cases above ---------------------------------------------------------

/// C-11: pages of c11 sorted by `order`: limit 2, then 3 with the token, then the rest without
/// limit and with limit=10000; the last page hands out no offset.
async fn changing_limits(cx: &mut Ctx, order: &str) -> CaseResult {
    let base = format!("storage/c11?{order}");
    let all = list(cx, &base).await?;
    ensure_eq!(10, all.len(), "whole listing of ?{order}");
    let first = cx.get(&format!("{base}&limit=2")).await?;
    ensure_eq!(all[..2].to_vec(), listed(first.status(200)?)?, "?{order}&limit=2");
    let token = first.require_header("x-weave-next-offset")?.to_owned();
    let second = cx.send(SyncRequest::get(format!("{base}&limit=3")).query("offset", &token)).await?;
    ensure_eq!(all[2..5].to_vec(), listed(second.status(200)?)?, "?{order}&limit=3 after the first page");
    let token = second.require_header("x-weave-next-offset")?.to_owned();
    let rest = cx.send(SyncRequest::get(base.clone()).query("offset", &token)).await?;
    ensure_eq!(all[5..].to_vec(), listed(rest.status(200)?)?, "?{order} without limit after two pages");
    ensure_eq!(None, rest.header("x-weave-next-offset"), "next offset on the last page of ?{order}");
    let big = cx.send(SyncRequest::get(format!("{base}&limit=10000")).query("offset", &token)).await?;
    ensure_eq!(all[5..].to_vec(), listed(big.status(200)?)?, "?{order}&limit=10000 after two pages");
    ensure_eq!(None, big.header("x-weave-next-offset"), "next offset with limit=10000");
    Ok(())
}

/// C-12: every page of `query` holds `want` once, in `modified` order.
async fn every_page_in_order(cx: &mut Ctx, query: &str, ascending: bool, want: Vec<String>) -> CaseResult {
    let items = walk(cx, query, 20).await?;
    in_order(&items, ascending, query)?;
    ensure_eq!(want, sorted(ids_of(&items)?), "ids over every page of {query}");
    ensure_eq!(want.len(), items.len(), "items over every page of {query}");
    Ok(())
}

/// C-06: `?{query}` on c06 lists both records, each with id, modified and payload.
async fn full_listing(cx: &mut Ctx, query: &str) -> CaseResult {
    let resp = cx.get(&format!("storage/c06?{query}")).await?;
    let items = items_of(resp.status(200)?)?;
    ensure_eq!(2, items.len(), "records listed with ?{query}");
    for item in &items {
        let keys: BTreeSet<&str> = item.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        ensure!(
            ["id", "modified", "payload"].iter().all(|k| keys.contains(k)),
            "?{query} must list records with id, modified and payload, got {item}"
        );
    }
    let payloads: BTreeSet<&str> = items.iter().filter_map(|i| i["payload"].as_str()).collect();
    ensure_eq!(BTreeSet::from(["pa", "pb"]), payloads, "payloads with ?{query}");
    Ok(())
}

fn strs(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// `00`, `01`, … as the upstream tests number their ids.
fn numbered(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{i:02}")).collect()
}

/// Letters and digits, starting with a letter so that it is never a number.
fn random_text(cx: &mut Ctx, len: usize) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let rng = cx.rng();
    (0..len)
        .map(|i| {
            let set = if i == 0 { LETTERS } else { ALNUM };
            char::from(set[rng.random_range(0..set.len())])
        })
        .collect()
}

/// The items of a listing body, which must be a JSON list.
fn items_of(resp: &Resp) -> Result<Vec<Value>, Failure> {
    match resp.json()? {
        Value::Array(items) => Ok(items),
        other => Err(Failure::mismatch("listing body", "a JSON list", other)),
    }
}

/// Ids of listed items: id strings, or the `id` of full records.
fn ids_of(items: &[Value]) -> Result<Vec<String>, Failure> {
    items
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => o
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Failure::mismatch("listed record", "an object with a string id", v)),
            other => Err(Failure::mismatch("listed item", "an id or a record", other)),
        })
        .collect()
}

fn listed(resp: &Resp) -> Result<Vec<String>, Failure> {
    ids_of(&items_of(resp)?)
}

/// GET of a listing that must succeed; its ids in the order given.
async fn list(cx: &mut Ctx, path: &str) -> Result<Vec<String>, Failure> {
    let resp = cx.get(path).await?;
    resp.status(200)?;
    listed(&resp)
}

/// A POST whose records must all succeed; its T.
async fn post_all(cx: &mut Ctx, coll: &str, records: Value) -> Result<Stamp, Failure> {
    let resp = cx.post(&format!("storage/{coll}"), records).await?;
    let body = resp.status(200)?.json()?;
    ensure_eq!(json!({}), body["failed"], "failed records of POST storage/{coll}");
    Ok(Stamp::from_json(&body["modified"])?)
}

/// Three writes at T1 < T2 < T3: `00`,`01` at T1, `02`,`03` at T2, `04` at T3, spaced a little so
/// that "just above" one T usually falls before the next.
async fn three_writes(cx: &mut Ctx, coll: &str) -> Result<[Stamp; 3], Failure> {
    let t1 = post_all(cx, coll, json!([{ "id": "00", "payload": "x" }, { "id": "01", "payload": "x" }])).await?;
    cx.pass_time(Duration::from_millis(30)).await?;
    let t2 = post_all(cx, coll, json!([{ "id": "02", "payload": "x" }, { "id": "03", "payload": "x" }])).await?;
    cx.pass_time(Duration::from_millis(30)).await?;
    let t3 = post_all(cx, coll, json!([{ "id": "04", "payload": "x" }])).await?;
    ensure!(t1 < t2 && t2 < t3, "three writes got T {t1}, {t2}, {t3}, which do not rise");
    Ok([t1, t2, t3])
}

/// The ids of [`three_writes`] whose T satisfies `keep`, sorted.
fn written_where(stamps: &[Stamp; 3], keep: impl Fn(Stamp) -> bool) -> Vec<String> {
    let ids: [&[&str]; 3] = [&["00", "01"], &["02", "03"], &["04"]];
    let mut out: Vec<String> = Vec::new();
    for (t, ids) in stamps.iter().zip(ids) {
        if keep(*t) {
            out.extend(strs(ids));
        }
    }
    out
}

/// Twelve records `00`-`11` from three POSTs of four, so each four share a ts; the three T.
async fn twelve_in_threes(cx: &mut Ctx, coll: &str) -> Result<Vec<Stamp>, Failure> {
    let mut stamps = Vec::new();
    for post in 0..3 {
        let records: Vec<Value> = (post * 4..post * 4 + 4).map(|i| json!({ "id": format!("{i:02}"), "payload": "x" })).collect();
        stamps.push(post_all(cx, coll, json!(records)).await?);
    }
    Ok(stamps)
}

/// Every item of a paged listing: `query`, then `query` with each next offset the server gives.
/// A page that hands out an offset must hold an item, and paging must end within `max_pages`.
async fn walk(cx: &mut Ctx, query: &str, max_pages: usize) -> Result<Vec<Value>, Failure> {
    let mut items = Vec::new();
    let mut req = SyncRequest::get(query);
    for _ in 0..max_pages {
        let resp = cx.send(req).await?;
        let page = items_of(resp.status(200)?)?;
        let empty = page.is_empty();
        items.extend(page);
        match resp.header("x-weave-next-offset") {
            None => return Ok(items),
            Some(token) => {
                ensure!(!empty, "an empty page of {query} hands out the next offset {token:?}");
                req = SyncRequest::get(query).query("offset", token);
            }
        }
    }
    Err(Failure::new(format!("paging {query} did not end within {max_pages} pages")))
}

/// Full records whose `modified` rises (`ascending`) or falls along the list.
fn in_order(items: &[Value], ascending: bool, what: &str) -> CaseResult {
    let mut previous: Option<Stamp> = None;
    for item in items {
        let ts = Stamp::from_json(&item["modified"])?;
        if let Some(p) = previous {
            let ok = if ascending { p <= ts } else { p >= ts };
            ensure!(ok, "{what}: {} at {ts} follows an item at {p}", item["id"]);
        }
        previous = Some(ts);
    }
    Ok(())
}

/// 400/0, or a 200 listing of the right kind that never hands out an offset with an empty page.
fn page_or_refusal(resp: &Resp, full: bool) -> CaseResult {
    match resp.code() {
        400 => {
            resp.error(400, 0)?;
        }
        200 => {
            let items = items_of(resp)?;
            for item in &items {
                let right_kind = if full { item.get("id").is_some_and(Value::is_string) } else { item.is_string() };
                ensure!(right_kind, "a page {} holds {item}", if full { "of records" } else { "of ids" });
            }
            if let Some(token) = resp.header("x-weave-next-offset") {
                ensure!(!items.is_empty(), "an empty page hands out the next offset {token:?}");
            }
        }
        other => {
            return Err(Failure::mismatch(
                format!("answer to {}", resp.0.request().resource()),
                "400/0 or a well-formed 200 page",
                format!("{other} {}", resp.text().chars().take(200).collect::<String>()),
            ));
        }
    }
    Ok(())
}

/// The urlsafe-base64 alphabet (C-10).
fn is_urlsafe_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'=' | b'-'))
}

/// `<integer>` or `<integer>:<integer>` (syncstorage-rs tokens).
fn is_integer_token(token: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match token.split_once(':') {
        Some((a, b)) => digits(a) && digits(b),
        None => digits(token),
    }
}
