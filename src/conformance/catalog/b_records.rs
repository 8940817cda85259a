//! SPEC area B: record (BSO) fields and validation.

use std::time::Duration;

use serde_json::{Value, json};

use super::steps::*;
use crate::client::SyncRequest;
use crate::conformance::{Case, CaseResult, Ctx, Failure, Stamp};
use crate::{ensure, ensure_eq};

/// Clauses of area B that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// The key bundle upstream refuses in `crypto`, written as Python's `json.dumps` writes it.
const BAD_KEYS: &str = r#"{"ciphertext": "IDontKnowWhatImDoing", "IV": "AAAAAAAAAAAAAAAAAAAAAA=="}"#;

/// `record` fails alone in a POST and gets 400/8 by PUT; nothing is stored under its id.
async fn refused_everywhere(cx: &mut Ctx, coll: &str, record: Value) -> CaseResult {
    let id = record["id"].as_str().unwrap_or("TEST").to_owned();
    let answer = post_answer(cx.post(&format!("storage/{coll}"), json!([record.clone()])).await?.status(200)?)?;
    answer.only_failed(&id, &format!("POST of {record}"))?;
    cx.put(&format!("storage/{coll}/{id}"), record).await?.error(400, 8)?;
    cx.get(&format!("storage/{coll}/{id}")).await?.error(404, 0)?;
    Ok(())
}

/// `record` is accepted by POST and by PUT.
async fn accepted_everywhere(cx: &mut Ctx, coll: &str, record: Value) -> CaseResult {
    let id = record["id"].as_str().unwrap_or("TEST").to_owned();
    let answer = post_answer(cx.post(&format!("storage/{coll}"), json!([record.clone()])).await?.status(200)?)?;
    ensure_eq!(vec![id.clone()], answer.success, "POST of {record}: success");
    ensure!(answer.failed.is_empty(), "POST of {record}: nothing fails, got {:?}", answer.failed);
    cx.put(&format!("storage/{coll}/{id}"), record).await?.status(200)?;
    Ok(())
}

/// A short name for an id in a variant's name: control characters escaped, long runs counted.
fn id_label(id: &str) -> String {
    match id.chars().next() {
        Some(c) if id.len() > 16 && id.chars().all(|x| x == c) => format!("{:?} × {}", c.to_string(), id.chars().count()),
        _ => format!("{id:?}"),
    }
}

/// A path id in a variant's name: the id, and how it was written in the path when encoded.
fn path_label(path: &str, id: &str) -> String {
    if path == id { id_label(id) } else { format!("{} as {path}", id_label(id)) }
}

/// B-01: an invalid id fails its record in a POST, and a PUT body carrying it gets 400/8.
async fn invalid_id(cx: &mut Ctx, id: &str) -> CaseResult {
    let answer = post_answer(cx.post("storage/col", json!([{ "id": id, "payload": "testing" }])).await?.status(200)?)?;
    answer.only_failed(id, &format!("POST of id {id:?}"))?;
    cx.put("storage/col/ok", json!({ "id": id, "payload": "testing" })).await?.error(400, 8)?;
    Ok(())
}

/// B-01: a valid id at an edge of the allowed set is accepted by POST and listed verbatim.
async fn valid_id(cx: &mut Ctx, coll: &str, id: &str) -> CaseResult {
    let answer = post_answer(cx.post(&format!("storage/{coll}"), json!([{ "id": id, "payload": "testing" }])).await?.status(200)?)?;
    ensure!(answer.failed.is_empty(), "POST of id {id:?} fails: {:?}", answer.failed);
    ensure_eq!(vec![id.to_owned()], answer.success, "success of the POST of id {id:?}");
    ensure_eq!(vec![id.to_owned()], ids(cx, coll).await?, "id stored verbatim");
    Ok(())
}

/// B-01: a valid path id (percent-encoded as `path`) is stored under `id`.
async fn valid_path_id(cx: &mut Ctx, path: &str, id: &str) -> CaseResult {
    cx.put(&format!("storage/col/{path}"), json!({ "payload": id })).await?.status(200)?;
    let bso = record(cx, &format!("storage/col/{path}")).await?;
    ensure_eq!(json!(id), bso["id"], "id of the record PUT at {path}");
    ensure_eq!(json!(id), bso["payload"], "payload of the record PUT at {path}");
    Ok(())
}

/// The collection's map entry and the storage ts, to prove a refused request changed nothing.
async fn snapshot(cx: &mut Ctx, coll: &str) -> Result<(Value, Stamp, Vec<String>), Failure> {
    let (map, storage) = info(cx).await?;
    Ok((map[coll].clone(), storage, ids(cx, coll).await?))
}

/// Every `"modified":` in `text` must be a number with exactly two decimals, followed by `,` or
/// `}` (the upstream regex, by hand); returns how many there are.
fn modified_with_two_decimals(text: &str) -> Result<usize, Failure> {
    let bad = |at: usize| Failure::mismatch("`modified` as written", "digits, a dot, two digits", &text[at..text.len().min(at + 40)]);
    let mut count = 0;
    for (at, key) in text.match_indices("\"modified\"") {
        let rest = text[at + key.len()..].trim_start();
        let rest = rest.strip_prefix(':').ok_or_else(|| bad(at))?.trim_start();
        let whole = rest.bytes().take_while(u8::is_ascii_digit).count();
        let rest = rest[whole..].strip_prefix('.').filter(|_| whole > 0).ok_or_else(|| bad(at))?;
        let frac = rest.bytes().take_while(u8::is_ascii_digit).count();
        let rest = rest[frac..].trim_start();
        if frac != 2 || !(rest.starts_with(',') || rest.starts_with('}')) {
            return Err(bad(at));
        }
        count += 1;
    }
    Ok(count)
}

/// A payload of exactly `bytes` UTF-8 bytes, mostly two-byte characters, so it has about half as
/// many characters as bytes.
fn multibyte_payload(bytes: usize) -> String {
    let mut p = "é".repeat(bytes / 2);
    if bytes % 2 == 1 {
        p.push('x');
    }
    p
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("B-01", "ids outside 1-64 printable ASCII characters fail their record", |mut cx| {
            Box::pin(async move {
                let invalid = ["A\nB", "A\n", "\nN", "A\tB", "", &"X".repeat(65), "A\u{7f}", "\u{1f}A", "é"];
                for id in invalid {
                    let v = cx.variant(format!("invalid id {}", id_label(id)));
                    let r = invalid_id(&mut cx, id).await;
                    cx.settle(v, r);
                }
                // Checked as a variant so that the valid inputs below are still tried.
                let v = cx.variant("nothing stored under the invalid ids");
                let r = async {
                    ensure_eq!(json!({}), info(&mut cx).await?.0, "no invalid id created anything");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                // The edges of the allowed set: 0x20, 0x7E, 64 characters, every printable class.
                let valid = [" ", "~", &"X".repeat(64), " !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"];
                for (i, id) in valid.into_iter().enumerate() {
                    let v = cx.variant(format!("valid id {}", id_label(id)));
                    let r = valid_id(&mut cx, &format!("edge{i}"), id).await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_handling_of_invalid_bso_fields"]),
        Case::new("B-01", "an invalid id in the path is an unknown path", |mut cx| {
            Box::pin(async move {
                let long = "X".repeat(65);
                let v = cx.variant(format!("GET path id {}", id_label(&long)));
                let r = async { cx.get(&format!("storage/col/{long}")).await?.error(404, 0).map(drop) }.await;
                cx.settle(v, r);
                let invalid = [
                    (long.as_str(), long.clone()),
                    ("a%09b", "a\tb".into()),
                    ("a%0Ab", "a\nb".into()),
                    ("a%7Fb", "a\u{7f}b".into()),
                    ("%C3%A9", "é".into()),
                ];
                for (path, id) in invalid {
                    let v = cx.variant(format!("PUT path id {}", path_label(path, &id)));
                    let r =
                        async { cx.put(&format!("storage/col/{path}"), json!({ "payload": "x" })).await?.error(404, 0).map(drop) }.await;
                    cx.settle(v, r);
                }
                // Checked as a variant so that the valid inputs below are still tried.
                let v = cx.variant("nothing stored under the invalid path ids");
                let r = async {
                    ensure_eq!(json!({}), info(&mut cx).await?.0, "no invalid path id created anything");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                let edge = "X".repeat(64);
                for (path, id) in [(edge.as_str(), edge.as_str()), ("%20", " "), ("~", "~")] {
                    let v = cx.variant(format!("PUT path id {}", path_label(path, id)));
                    let r = valid_path_id(&mut cx, path, id).await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        }),
        Case::new("B-02", "an invalid id in ids= gives 400 on GET and DELETE", |mut cx| {
            Box::pin(async move {
                let long = "X".repeat(64);
                let bsos = json!([{ "id": "a", "payload": "x" }, { "id": "b", "payload": "x" }, { "id": long, "payload": "x" }]);
                cx.post("storage/col", bsos).await?.status(200)?;
                let before = snapshot(&mut cx, "col").await?;
                let too_long = "Y".repeat(65);
                for ids in ["a%0Ab", "a,b%09", &too_long, "a,%C3%A9"] {
                    let label = if ids.len() > 16 { format!("{} (65 characters)", &ids[..8]) } else { ids.to_owned() };
                    for method in ["GET", "DELETE"] {
                        let v = cx.variant(format!("{method} ?ids={label}"));
                        let path = format!("storage/col?ids={ids}");
                        let req = if method == "GET" { SyncRequest::get(path) } else { SyncRequest::delete(path) };
                        let r = async { cx.send(req).await?.error(400, 0).map(drop) }.await;
                        cx.settle(v, r);
                    }
                }
                ensure_eq!(before, snapshot(&mut cx, "col").await?, "refused deletes removed nothing");
                let mut expected = vec!["a".to_owned(), long.clone()];
                expected.sort();
                ensure_eq!(expected, ids(&mut cx, &format!("col?ids=a,{long}")).await?, "ids= with a 64-character id");
                Ok(())
            })
        }),
        Case::new("B-03", "a POST element without a string id fails the whole POST", |mut cx| {
            Box::pin(async move {
                cx.put("storage/col/keep", json!({ "payload": "orig" })).await?.status(200)?;
                let before = snapshot(&mut cx, "col").await?;
                for (what, body) in [
                    ("an element without id", json!([{ "payload": "x" }])),
                    ("a numeric id", json!([{ "id": 5, "payload": "x" }])),
                    ("a null id", json!([{ "id": null, "payload": "x" }])),
                    ("a good record and one without id", json!([{ "id": "keep", "payload": "new" }, { "payload": "y" }])),
                    ("a good record and a list id", json!([{ "id": "keep", "payload": "new" }, { "id": ["01"], "payload": "y" }])),
                    (
                        "a good record and a repeated id",
                        json!([{ "id": "keep", "payload": "new" }, { "id": "dup", "payload": "1" }, { "id": "dup", "payload": "2" }]),
                    ),
                ] {
                    let v = cx.variant(format!("POST of {what}"));
                    let r = async { cx.post("storage/col", body).await?.error(400, 8).map(drop) }.await;
                    cx.settle(v, r);
                }
                ensure_eq!(before, snapshot(&mut cx, "col").await?, "the collection after the refused POSTs");
                ensure_eq!(json!("orig"), record(&mut cx, "storage/col/keep").await?["payload"], "keep is untouched");
                cx.get("storage/col/dup").await?.error(404, 0)?;
                Ok(())
            })
        }),
        Case::new("B-04", "PUT stores under the path id, never under a body id", |mut cx| {
            Box::pin(async move {
                let resp = cx.put("storage/col/zz", json!({ "id": "other", "payload": "x" })).await?;
                match resp.code() {
                    200 => {
                        let bso = record(&mut cx, "storage/col/zz").await?;
                        ensure_eq!(json!("zz"), bso["id"], "id of the stored record");
                        ensure_eq!(json!("x"), bso["payload"], "payload stored under the path id");
                    }
                    _ => {
                        resp.error(400, 8)?;
                        cx.get("storage/col/zz").await?.error(404, 0)?;
                    }
                }
                cx.get("storage/col/other").await?.error(404, 0)?;
                cx.put("storage/col/same", json!({ "id": "same", "payload": "y" })).await?.status(200)?;
                ensure_eq!(json!("y"), record(&mut cx, "storage/col/same").await?["payload"], "a matching body id");
                cx.put("storage/col/none", json!({ "payload": "z" })).await?.status(200)?;
                ensure_eq!(json!("none"), record(&mut cx, "storage/col/none").await?["id"], "no body id");
                for bad in [json!("A\tB"), json!(""), json!("X".repeat(65)), json!(5)] {
                    let label = bad.as_str().map_or_else(|| bad.to_string(), id_label);
                    let v = cx.variant(format!("PUT body id {label}"));
                    let r = async { cx.put("storage/col/yy", json!({ "id": bad, "payload": "x" })).await?.error(400, 8).map(drop) }.await;
                    cx.settle(v, r);
                }
                cx.get("storage/col/yy").await?.error(404, 0)?;
                Ok(())
            })
        }),
        Case::new("B-05", "sortindex must be an integer within 999999999 either way", |mut cx| {
            Box::pin(async move {
                for (i, bad) in
                    [json!("xxx_meh"), json!("2.6"), json!("42"), json!(2.6), json!(1_000_000_000), json!(-1_000_000_000), json!(true)]
                        .into_iter()
                        .enumerate()
                {
                    let v = cx.variant(format!("sortindex {bad}"));
                    let r = refused_everywhere(&mut cx, "col", json!({ "id": format!("TEST{i}"), "payload": "testing", "sortindex": bad }))
                        .await;
                    cx.settle(v, r);
                }
                for (id, good) in [("max", 999_999_999), ("min", -999_999_999), ("neg", -42), ("zero", 0)] {
                    let v = cx.variant(format!("sortindex {good}"));
                    let r = async {
                        accepted_everywhere(&mut cx, "col", json!({ "id": id, "payload": "testing", "sortindex": good })).await?;
                        ensure_eq!(json!(good), record(&mut cx, &format!("storage/col/{id}")).await?["sortindex"], "sortindex of {id}");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let v = cx.variant("sortindex -42 by PUT");
                let r = async {
                    cx.put("storage/col/TEST", json!({ "payload": "TEST", "sortindex": -42 })).await?.status(200)?;
                    ensure_eq!(json!(-42), record(&mut cx, "storage/col/TEST").await?["sortindex"], "a negative sortindex by PUT");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_handling_of_invalid_bso_fields", "test_that_negative_integer_fields_are_not_accepted"]),
        Case::new("B-06", "payload must be a JSON string", |mut cx| {
            Box::pin(async move {
                for (i, bad) in [json!(42), json!({ "3": "4" }), json!(["x"]), json!(true)].into_iter().enumerate() {
                    let v = cx.variant(format!("payload {bad}"));
                    let r = refused_everywhere(&mut cx, "col", json!({ "id": format!("TEST{i}"), "payload": bad })).await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_handling_of_invalid_bso_fields"]),
        Case::new("B-06", "a PUT payload may fill max_record_payload_bytes, counted in UTF-8 bytes", |mut cx| {
            Box::pin(async move {
                let limit = usize::try_from(cx.limits().max_record_payload_bytes).unwrap_or(usize::MAX);
                let request_limit = cx.limits().max_request_bytes;
                let at_limit = multibyte_payload(limit);
                let body = json!({ "payload": at_limit });
                // A server whose request limit leaves no room for a full record cannot take one.
                if serde_json::to_vec(&body).map_or(0, |b| b.len() as u64) <= request_limit {
                    cx.put("storage/col/at", body).await?.status(200)?;
                    ensure_eq!(vec!["at"], ids(&mut cx, "col").await?, "the record at the limit is stored");
                }
                let over = format!("{at_limit}x");
                let resp = cx.put("storage/col/over", json!({ "payload": over })).await?;
                ensure_eq!(413, resp.code(), "a PUT payload one byte over the limit");
                cx.get("storage/col/over").await?.error(404, 0)?;
                Ok(())
            })
        })
        .upstream(&["test_batch_size_limits"]),
        Case::new("B-07", "ttl must be an integer from 0 to 999999999", |mut cx| {
            Box::pin(async move {
                let bad = [json!(-1), json!("eh?"), json!("4.2"), json!("10"), json!(4.2), json!(1_000_000_000), json!(true)];
                for (i, bad) in bad.into_iter().enumerate() {
                    let v = cx.variant(format!("ttl {bad}"));
                    let r = refused_everywhere(&mut cx, "col", json!({ "id": format!("TEST{i}"), "payload": "testing", "ttl": bad })).await;
                    cx.settle(v, r);
                }
                let v = cx.variant("ttl 999999999");
                let r = async {
                    accepted_everywhere(&mut cx, "col", json!({ "id": "max", "payload": "testing", "ttl": 999_999_999 })).await?;
                    ensure_eq!(json!("testing"), record(&mut cx, "storage/col/max").await?["payload"], "ttl at the maximum");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                let v = cx.variant("ttl -1 by PUT of a new record");
                let r = async { cx.put("storage/col/TEST", json!({ "payload": "TEST", "ttl": -1 })).await?.error(400, 8).map(drop) }.await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_handling_of_invalid_bso_fields", "test_that_negative_integer_fields_are_not_accepted"]),
        Case::new("B-07", "ttl 0 is accepted and hides the record at once", |mut cx| {
            Box::pin(async move {
                cx.put("storage/col/12345", json!({ "payload": "x", "ttl": 0 })).await?.status(200)?;
                let answer = post_answer(cx.post("storage/col", json!([{ "id": "zero", "payload": "x", "ttl": 0 }])).await?.status(200)?)?;
                ensure_eq!(vec!["zero"], answer.success, "ttl 0 by POST is valid");
                cx.get("storage/col/12345").await?.error(404, 0)?;
                cx.get("storage/col/zero").await?.error(404, 0)?;
                ensure_eq!(Vec::<String>::new(), ids(&mut cx, "col").await?, "ttl-0 records are not listed");
                Ok(())
            })
        })
        .upstream(&["test_get_collection_ttl"]),
        Case::new("B-08", "a record without ttl, or with a null ttl, does not expire", |mut cx| {
            Box::pin(async move {
                cx.put("storage/col/TEST1", json!({ "payload": "x", "ttl": null })).await?.status(200)?;
                let bsos = json!([{ "id": "TEST2", "payload": "y", "ttl": null }, { "id": "TEST3", "payload": "z" }]);
                let answer = post_answer(cx.post("storage/col", bsos).await?.status(200)?)?;
                ensure_eq!(vec!["TEST2", "TEST3"], answer.success, "null and absent ttl by POST");
                cx.pass_time(Duration::from_millis(100)).await?;
                for (what, id, payload) in
                    [("PUT ttl null", "TEST1", "x"), ("POST ttl null", "TEST2", "y"), ("POST without ttl", "TEST3", "z")]
                {
                    let v = cx.variant(format!("{what} ({id})"));
                    let r = async {
                        ensure_eq!(json!(payload), record(&mut cx, &format!("storage/col/{id}")).await?["payload"], "{id} later");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_create_bso_with_null_ttl"]),
        Case::new("B-09", "a field other than id, payload, sortindex, ttl, modified is invalid", |mut cx| {
            Box::pin(async move {
                for (what, bad) in [
                    ("unexpected", json!({ "id": "TEST1", "unexpected": "spanish-inquisition" })),
                    ("Payload", json!({ "id": "TEST2", "payload": "x", "Payload": "y" })),
                ] {
                    let v = cx.variant(format!("field {what}"));
                    let r = refused_everywhere(&mut cx, "col", bad).await;
                    cx.settle(v, r);
                }
                let v = cx.variant("every allowed field");
                let r = async {
                    let all = json!({ "id": "all", "payload": "p", "sortindex": 1, "ttl": 100_000, "modified": 1.5 });
                    accepted_everywhere(&mut cx, "col", all).await?;
                    ensure_eq!(json!("p"), record(&mut cx, "storage/col/all").await?["payload"], "a record with every allowed field");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                Ok(())
            })
        })
        .upstream(&["test_handling_of_invalid_bso_fields"]),
        Case::new("B-10", "the server sets modified whatever the client sends", |mut cx| {
            Box::pin(async move {
                let resp = cx.put("storage/meta/global", json!({ "payload": "blob", "modified": 12 })).await?;
                let ts = resp.status(200)?.stamp("x-weave-timestamp")?;
                ensure!(ts != Stamp(1200), "the client's modified was taken as the write's ts");
                let bso = record(&mut cx, "storage/meta/global").await?;
                ensure_eq!(ts, Stamp::from_json(&bso["modified"])?, "modified is the PUT's X-Weave-Timestamp");
                let future = json!([{ "id": "two", "payload": "b", "modified": 99_999_999_999.99_f64 }]);
                let t = post_answer(cx.post("storage/meta", future).await?.status(200)?)?.modified;
                let bso = record(&mut cx, "storage/meta/two").await?;
                ensure_eq!(t, Stamp::from_json(&bso["modified"])?, "modified is the POST's ts");
                Ok(())
            })
        })
        .upstream(&["test_meta_global_sanity"]),
        Case::new("B-11", "absent fields keep their value; null resets payload and sortindex", |mut cx| {
            Box::pin(async move {
                cx.put("storage/col/rec", json!({ "payload": "p", "sortindex": 5, "ttl": 100_000 })).await?.status(200)?;
                let steps = [
                    (json!({ "ttl": 200_000 }), json!("p"), Some(5)),
                    (json!({ "payload": "q" }), json!("q"), Some(5)),
                    (json!({ "sortindex": 7 }), json!("q"), Some(7)),
                    (json!({ "payload": null, "sortindex": null, "ttl": null }), json!(""), None),
                ];
                for (change, payload, sortindex) in steps {
                    cx.put("storage/col/rec", change.clone()).await?.status(200)?;
                    let bso = record(&mut cx, "storage/col/rec").await?;
                    ensure_eq!(payload, bso["payload"], "payload after PUT {change}");
                    ensure_eq!(sortindex.map(Value::from), bso.get("sortindex").cloned(), "sortindex after PUT {change}");
                }
                let posts = [
                    (json!({ "id": "p", "payload": "r", "sortindex": 9 }), json!("r"), Some(9)),
                    (json!({ "id": "p", "sortindex": null }), json!("r"), None),
                    (json!({ "id": "p", "sortindex": 4 }), json!("r"), Some(4)),
                    (json!({ "id": "p", "payload": null }), json!(""), Some(4)),
                ];
                for (change, payload, sortindex) in posts {
                    cx.post("storage/col", json!([change.clone()])).await?.status(200)?;
                    let bso = record(&mut cx, "storage/col/p").await?;
                    ensure_eq!(payload, bso["payload"], "payload after POST {change}");
                    ensure_eq!(sortindex.map(Value::from), bso.get("sortindex").cloned(), "sortindex after POST {change}");
                }
                Ok(())
            })
        })
        .upstream(&["test_update_of_ttl_without_sending_data", "test_bulk_update_of_ttls_without_sending_data"]),
        Case::new("B-11", "a null ttl removes the expiry; an absent ttl keeps it", |mut cx| {
            Box::pin(async move {
                for id in ["TEST1", "TEST2"] {
                    cx.put(&format!("storage/col/{id}"), json!({ "payload": "x", "ttl": 1 })).await?.status(200)?;
                }
                let bsos = json!([{ "id": "TEST3", "payload": "x", "ttl": 1 }, { "id": "TEST4", "payload": "x", "ttl": 1 }]);
                cx.post("storage/col", bsos).await?.status(200)?;
                cx.put("storage/col/TEST1", json!({ "sortindex": 3 })).await?.status(200)?;
                cx.put("storage/col/TEST2", json!({ "payload": "y", "ttl": null })).await?.status(200)?;
                let bsos = json!([{ "id": "TEST3", "sortindex": 3 }, { "id": "TEST4", "payload": "y", "ttl": null }]);
                cx.post("storage/col", bsos).await?.status(200)?;
                cx.pass_time(Duration::from_millis(1200)).await?;
                for (id, how) in [("TEST2", "PUT"), ("TEST4", "POST")] {
                    let v = cx.variant(format!("{id}: ttl null by {how}"));
                    let r = async {
                        ensure_eq!(json!("y"), record(&mut cx, &format!("storage/col/{id}")).await?["payload"], "{id} after its old ttl");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                for (id, how) in [("TEST1", "PUT"), ("TEST3", "POST")] {
                    let v = cx.variant(format!("{id}: ttl absent from a {how} of sortindex"));
                    let r = async {
                        // The test clock is shared: if it jumped before the update, the update made a
                        // fresh record (payload ""), which may live on. A kept payload may not.
                        let resp = cx.get(&format!("storage/col/{id}")).await?;
                        if resp.code() != 404 {
                            let payload = resp.status(200)?.json()?["payload"].clone();
                            ensure_eq!(json!(""), payload, "{id} outlived its ttl, which a sortindex update must keep");
                        }
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_update_of_ttl_without_sending_data", "test_bulk_update_of_ttls_without_sending_data"]),
        Case::new("B-12", "a record created without payload gets an empty payload and no sortindex", |mut cx| {
            Box::pin(async move {
                cx.put("storage/col/TEST3", json!({ "ttl": 100_000 })).await?.status(200)?;
                let bso = record(&mut cx, "storage/col/TEST3").await?;
                ensure_eq!(json!(""), bso["payload"], "default payload by PUT");
                ensure_eq!(vec!["id", "modified", "payload"], keys(&bso), "no sortindex by default");
                let bsos = json!([{ "id": "05", "ttl": 100_000 }, { "id": "06", "sortindex": 2 }, { "id": "07" }]);
                let answer = post_answer(cx.post("storage/col", bsos).await?.status(200)?)?;
                ensure_eq!(vec!["05", "06", "07"], answer.success, "records without payload by POST");
                for (id, sent) in [("05", "ttl"), ("06", "sortindex"), ("07", "nothing")] {
                    let v = cx.variant(format!("POST of {id} with only {sent}"));
                    let r = async {
                        let bso = record(&mut cx, &format!("storage/col/{id}")).await?;
                        ensure_eq!(json!(""), bso["payload"], "default payload of {id}");
                        if id != "06" {
                            ensure!(bso.get("sortindex").is_none(), "{id} has no sortindex: {bso}");
                        }
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                Ok(())
            })
        })
        .upstream(&["test_update_of_ttl_without_sending_data"]),
        Case::new("B-13", "records are written with two-decimal modified and no internal fields", |mut cx| {
            Box::pin(async move {
                cx.post("storage/col", json!([{ "id": "one", "payload": "blob" }])).await?.status(200)?;
                cx.put("storage/col/two", json!({ "payload": "blub", "sortindex": 2, "ttl": 100_000 })).await?.status(200)?;
                for (id, expected) in [("one", vec!["id", "modified", "payload"]), ("two", vec!["id", "modified", "payload", "sortindex"])]
                {
                    let v = cx.variant(format!("GET of record {id}"));
                    let r = async {
                        let resp = cx.get(&format!("storage/col/{id}")).await?;
                        ensure_eq!(1, modified_with_two_decimals(&resp.status(200)?.text())?, "`modified` in the body of {id}");
                        ensure_eq!(expected, keys(&resp.json()?), "keys of {id}");
                        Ok(())
                    }
                    .await;
                    cx.settle(v, r);
                }
                let full = cx.get("storage/col?full=1").await?;
                ensure_eq!(2, modified_with_two_decimals(&full.status(200)?.text())?, "`modified` in the full listing");
                let items = full.json()?;
                let mut listed: Vec<Vec<String>> = items.as_array().cloned().unwrap_or_default().iter().map(keys).collect();
                listed.sort();
                let expected = vec![vec!["id", "modified", "payload"], vec!["id", "modified", "payload", "sortindex"]];
                ensure_eq!(expected, listed, "keys of the listed records");
                Ok(())
            })
        })
        .upstream(&["test_that_internal_server_fields_are_not_echoed", "test_meta_global_sanity"]),
        Case::new("B-14", "a known-bad key bundle is refused in crypto only", |mut cx| {
            Box::pin(async move {
                let spaced = "{\"ciphertext\": \"x\", \"IV\":  \n\t\"AAAAAAAAAAAAAAAAAAAAAA==\"}";
                let tight = r#"{"IV":"AAAAAAAAAAAAAAAAAAAAAA==","ciphertext":"x"}"#;
                for (what, payload) in [("as upstream writes it", BAD_KEYS), ("spaced", spaced), ("without spaces", tight)] {
                    let bso = json!({ "id": "keys", "payload": payload });
                    let with_good = json!([{ "id": "good", "payload": "fine" }, bso.clone()]);
                    let reqs = [
                        ("PUT crypto/keys", SyncRequest::put("storage/crypto/keys").json(&bso)),
                        ("PUT crypto/blerg", SyncRequest::put("storage/crypto/blerg").json(&bso)),
                        ("POST crypto with a good record", SyncRequest::post("storage/crypto").json(&with_good)),
                    ];
                    for (how, req) in reqs {
                        let v = cx.variant(format!("{how}, bad bundle {what}"));
                        let r = async { cx.send(req).await?.error(400, 8).map(drop) }.await;
                        cx.settle(v, r);
                    }
                }
                ensure_eq!(json!({}), info(&mut cx).await?.0, "nothing was stored in crypto");
                let near_miss = r#"{"ciphertext": "x", "IV": "AAAAAAAAAAAAAAAAAAAAAB=="}"#;
                cx.put("storage/crypto/keys", json!({ "payload": near_miss })).await?.status(200)?;
                let bso = json!({ "id": "keys", "payload": BAD_KEYS });
                cx.put("storage/xxx_col2/keys", bso.clone()).await?.status(200)?;
                let answer = post_answer(cx.post("storage/xxx_col2", json!([bso])).await?.status(200)?)?;
                ensure_eq!(vec!["keys"], answer.success, "the bundle outside crypto");
                ensure_eq!(json!(BAD_KEYS), record(&mut cx, "storage/xxx_col2/keys").await?["payload"], "stored outside crypto");
                Ok(())
            })
        })
        .upstream(&["test_rejection_of_known_bad_payloads"]),
        Case::new("B-15", "a collection name outside 1-32 of [A-Za-z0-9._-] gives 400/13", |mut cx| {
            Box::pin(async move {
                let long = "c".repeat(33);
                let bad = [
                    ("GET of a 33-character name", SyncRequest::get(format!("storage/{long}"))),
                    ("PUT into a 33-character name", SyncRequest::put(format!("storage/{long}/x")).json(&json!({ "payload": "x" }))),
                    ("POST to bad!name", SyncRequest::post("storage/bad!name").json(&json!([{ "id": "x", "payload": "x" }]))),
                    ("DELETE of bad!name", SyncRequest::delete("storage/bad!name")),
                    ("GET in café", SyncRequest::get("storage/caf%C3%A9/x")),
                    ("PUT into \"sp ace\"", SyncRequest::put("storage/sp%20ace/x").json(&json!({ "payload": "x" }))),
                ];
                for (what, req) in bad {
                    let v = cx.variant(what);
                    let r = async {
                        let resp = cx.send(req).await?;
                        let rule = resp.error(400, 13).map(|_| ());
                        cx.rule_or_compat(rule, || resp.error(404, 0).map(|_| ()), "an invalid collection name is 404/0")
                    }
                    .await;
                    cx.settle(v, r);
                }
                // Checked as a variant so that the valid inputs below are still tried.
                let v = cx.variant("no collection created by the invalid names");
                let r = async {
                    ensure_eq!(json!({}), info(&mut cx).await?.0, "no invalid name created a collection");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                let edge = "c".repeat(32);
                for name in [edge.as_str(), "a.b_c-9", "Z"] {
                    let v = cx.variant(format!("PUT into {}", if name.len() > 16 { "a 32-character name" } else { name }));
                    let r = async { cx.put(&format!("storage/{name}/x"), json!({ "payload": name })).await?.status(200).map(drop) }.await;
                    cx.settle(v, r);
                }
                let mut expected = vec![edge.clone(), "Z".to_owned(), "a.b_c-9".to_owned()];
                expected.sort();
                ensure_eq!(expected, keys(&info(&mut cx).await?.0), "valid names at the edges");
                Ok(())
            })
        }),
        Case::new("B-15", "names and ids compare exactly: case and spaces count", |mut cx| {
            Box::pin(async move {
                cx.put("storage/Abc/x", json!({ "payload": "upper" })).await?.status(200)?;
                cx.put("storage/abc/x", json!({ "payload": "lower" })).await?.status(200)?;
                ensure_eq!(json!("upper"), record(&mut cx, "storage/Abc/x").await?["payload"], "Abc/x");
                ensure_eq!(json!("lower"), record(&mut cx, "storage/abc/x").await?["payload"], "abc/x");
                ensure_eq!(vec!["Abc", "abc"], keys(&info(&mut cx).await?.0), "two collections");
                for (path, payload) in [("a", "1"), ("A", "2"), ("%20a", "3"), ("a%20", "4")] {
                    cx.put(&format!("storage/ids/{path}"), json!({ "payload": payload })).await?.status(200)?;
                }
                ensure_eq!(vec![" a", "A", "a", "a "], ids(&mut cx, "ids").await?, "four distinct ids");
                ensure_eq!(json!("4"), record(&mut cx, "storage/ids/a%20").await?["payload"], "the id with a trailing space");
                Ok(())
            })
        }),
        Case::new("B-16", "malformed PUT and POST bodies are refused as a whole", |mut cx| {
            Box::pin(async move {
                cx.put("storage/col/keep", json!({ "payload": "orig" })).await?.status(200)?;
                let before = snapshot(&mut cx, "col").await?;
                let raw = |req: SyncRequest, body: &str| req.header("Content-Type", "application/json").body(body.to_owned());
                let mut bad: Vec<(String, SyncRequest, u32)> = Vec::new();
                for body in [
                    json!("notabso"),
                    json!(42),
                    json!(null),
                    json!([{ "payload": "x" }]),
                    json!({ "id": ["01", "02"], "payload": { "3": "4" } }),
                ] {
                    bad.push((format!("PUT body {body}"), SyncRequest::put("storage/col/invalid").json(&body), 8));
                }
                for body in ["{", "", "{\"payload\": \"x\"", "{\"payload\": \"x\"} trailing"] {
                    bad.push((format!("PUT body {body:?} (unparseable)"), raw(SyncRequest::put("storage/col/invalid"), body), 6));
                }
                for body in [
                    json!("notalist"),
                    json!(42),
                    json!({ "id": "keep", "payload": "new" }),
                    json!([{ "id": "keep", "payload": "new" }, "BAD"]),
                    json!([{ "id": "keep", "payload": "new" }, 7]),
                ] {
                    bad.push((format!("POST body {body}"), SyncRequest::post("storage/col").json(&body), 8));
                }
                let body = "[{\"id\": \"keep\"";
                bad.push((format!("POST body {body:?} (unparseable)"), raw(SyncRequest::post("storage/col"), body), 6));
                for (what, req, code) in bad {
                    let v = cx.variant(what.clone());
                    let r = async {
                        let resp = cx.send(req).await?;
                        bad_request(&mut cx, &resp, code, &what)
                    }
                    .await;
                    cx.settle(v, r);
                }
                ensure_eq!(before, snapshot(&mut cx, "col").await?, "the collection after the refused bodies");
                cx.get("storage/col/invalid").await?.error(404, 0)?;
                ensure_eq!(json!("orig"), record(&mut cx, "storage/col/keep").await?["payload"], "keep is untouched");
                Ok(())
            })
        })
        .upstream(&["test_handling_of_invalid_json_in_bso_uploads"]),
        Case::new("B-16", "an invalid record object fails alone in a POST", |mut cx| {
            Box::pin(async move {
                let bsos = json!([{ "id": "01", "payload": "GOOD" }, { "id": "02", "invalid": "ya" }]);
                let answer = post_answer(cx.post("storage/col", bsos).await?.status(200)?)?;
                ensure_eq!(vec!["01"], answer.success, "the good record succeeds");
                ensure_eq!(vec!["02".to_owned()], answer.failed.keys().cloned().collect::<Vec<_>>(), "the invalid record fails");
                ensure_eq!(vec!["01"], ids(&mut cx, "col").await?, "only the good record is stored");
                Ok(())
            })
        })
        .upstream(&["test_handling_of_invalid_json_in_bso_uploads"]),
    ]
}
