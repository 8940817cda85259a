//! SPEC area E: POST semantics (not batched).
//!
//! Also home of the small step helpers that area F shares (reading a collection back, the
//! `modified` of a write answer, payloads of an exact byte size).

use std::collections::BTreeSet;

use rand::RngExt;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::steps::*;
use crate::client::{SyncRequest, SyncUser};
use crate::conformance::{Case, CaseResult, Ctx, Failure, Limits, Stamp};
use crate::{ensure, ensure_eq};

/// Clauses of area E that no case checks over HTTP, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// Each posted id appears in at most one list, every listed id was posted, and what is stored is
/// exactly the `success` list (an id in neither list counts as failed).
async fn check_partition(cx: &mut Ctx, coll: &str, posted: &[String], answer: &Value) -> CaseResult {
    let success = success_of(answer)?;
    let failed = failed_of(answer)?;
    let both: Vec<&String> = success.intersection(&failed).collect();
    ensure!(both.is_empty(), "ids both in success and in failed: {both:?}");
    let posted: BTreeSet<String> = posted.iter().cloned().collect();
    let stray: Vec<&String> = success.union(&failed).filter(|id| !posted.contains(*id)).collect();
    ensure!(stray.is_empty(), "the answer lists ids that were never posted: {stray:?}");
    let stored: BTreeSet<String> = ids(cx, coll).await?.into_iter().collect();
    ensure_eq!(success, stored, "records stored in {coll} are exactly those in success");
    Ok(())
}

fn numbered(n: usize, payload: &str) -> (Vec<String>, Value) {
    let ids: Vec<String> = (0..n).map(|i| format!("{i:04}")).collect();
    let body = ids.iter().map(|id| json!({ "id": id, "payload": payload })).collect();
    (ids, Value::Array(body))
}

/// 2 s in hundredths, the short ttl of the E-04 scenarios, and their long one.
const SHORT_TTL_CS: i64 = 200;
const LONG_TTL_CS: i64 = 1000;

/// E-04 by POST; `Ok(false)` when the server clock jumped so far that the outcome is open.
async fn ttl_only_by_post(cx: &mut Ctx, coll: &str) -> Result<bool, Failure> {
    let path = format!("storage/{coll}");
    let first: Vec<Value> = (0..5).map(|i| json!({ "id": format!("r{i}"), "payload": "x", "ttl": 2 })).collect();
    let t1 = written_at(&cx.post(&path, Value::Array(first)).await?)?;
    let resp = cx
        .post(
            &path,
            json!([
                { "id": "r2", "ttl": 10, "sortindex": null },
                { "id": "r3", "ttl": 10, "payload": "xx" },
                { "id": "r4", "ttl": 10 },
                { "id": "r5", "ttl": 10 },
                { "id": "r6", "ttl": 10 },
            ]),
        )
        .await?;
    let t2 = written_at(&resp)?;
    if t2 >= t1.plus_cs(SHORT_TTL_CS) {
        return Ok(false);
    }
    ensure_eq!(5, success_of(&resp.json()?)?.len(), "all five updates succeed");
    let (stored, now) = records_at(cx, coll).await?;
    if now >= t2.plus_cs(LONG_TTL_CS) {
        return Ok(false);
    }
    ensure_eq!(t1, modified_of(&stored, "r4")?, "r4 (ttl only) keeps its modified");
    ensure_eq!(t2, modified_of(&stored, "r2")?, "r2 (explicit null sortindex) takes T");
    for id in ["r3", "r5", "r6"] {
        ensure_eq!(t2, modified_of(&stored, id)?, "{id} takes T");
    }
    ensure_eq!("x", payload_of(&stored, "r4")?, "r4 keeps its payload");
    ensure_eq!("xx", payload_of(&stored, "r3")?, "r3 gets the new payload");
    ensure_eq!("", payload_of(&stored, "r5")?, "r5 is new with the default payload");
    cx.pass_time(std::time::Duration::from_millis(2200)).await?;
    let (stored, now) = records_at(cx, coll).await?;
    if now >= t2.plus_cs(LONG_TTL_CS) {
        return Ok(false);
    }
    ensure_eq!(
        names(&["r2", "r3", "r4", "r5", "r6"]),
        stored.keys().cloned().collect::<Vec<_>>(),
        "r0 and r1 expired, the others got ttl 10"
    );
    ensure_eq!(t1, modified_of(&stored, "r4")?, "r4 still carries its first ts");
    Ok(true)
}

/// E-04 by PUT; `Ok(false)` when the server clock jumped so far that the outcome is open.
async fn ttl_only_by_put(cx: &mut Ctx, coll: &str) -> Result<bool, Failure> {
    let put = async |cx: &mut Ctx, id: &str, body: Value| -> Result<Stamp, Failure> {
        cx.send(SyncRequest::put(format!("storage/{coll}/{id}")).json(&body)).await?.status(200)?.stamp("x-last-modified")
    };
    let t1 = put(cx, "TEST1", json!({ "payload": "x", "ttl": 2 })).await?;
    let t2 = put(cx, "TEST2", json!({ "payload": "x", "ttl": 2 })).await?;
    ensure!(t2 > t1, "each PUT gets a new T ({t2} after {t1})");
    let t3 = put(cx, "TEST2", json!({ "ttl": 10 })).await?;
    let t4 = put(cx, "TEST3", json!({ "ttl": 10 })).await?;
    let t5 = put(cx, "TEST1", json!({ "sortindex": 3 })).await?;
    if t3 >= t2.plus_cs(SHORT_TTL_CS) || t5 >= t1.plus_cs(SHORT_TTL_CS) {
        return Ok(false);
    }
    let (stored, now) = records_at(cx, coll).await?;
    if now >= t1.plus_cs(SHORT_TTL_CS) {
        return Ok(false);
    }
    ensure_eq!(t2, modified_of(&stored, "TEST2")?, "TEST2 (ttl only) keeps its modified");
    ensure_eq!(t4, modified_of(&stored, "TEST3")?, "TEST3 is created at its T");
    ensure_eq!(t5, modified_of(&stored, "TEST1")?, "TEST1 (sortindex) takes T");
    cx.pass_time(std::time::Duration::from_millis(2200)).await?;
    let (stored, now) = records_at(cx, coll).await?;
    if now >= t3.plus_cs(LONG_TTL_CS) {
        return Ok(false);
    }
    ensure_eq!(names(&["TEST2", "TEST3"]), stored.keys().cloned().collect::<Vec<_>>(), "TEST1 kept ttl 2, the others got 10");
    ensure_eq!("x", payload_of(&stored, "TEST2")?, "TEST2 keeps its payload");
    ensure_eq!("", payload_of(&stored, "TEST3")?, "TEST3 has the default payload");
    ensure_eq!(t2, modified_of(&stored, "TEST2")?, "TEST2 still carries its first ts");
    Ok(true)
}

// ---- E-11 corpus ------------------------------------------------------------------------------

/// One payload of the E-11 corpus; `nul` marks U+0000, which a server may refuse per record.
struct Sample {
    label: String,
    text: String,
    nul: bool,
}

/// A random string mixing ASCII, escaped controls, Latin-1, other BMP (no surrogates) and
/// astral characters.
fn random_text(rng: &mut StdRng) -> String {
    let len = rng.random_range(1..120usize);
    let mut s = String::new();
    while s.chars().count() < len {
        let cp: u32 = match rng.random_range(0..6u8) {
            0 | 1 => rng.random_range(0x20..0x7f),
            2 => rng.random_range(0x01..0x20),
            3 => rng.random_range(0x80..0x800),
            4 => rng.random_range(0x800..0xd800),
            _ => rng.random_range(0x1_0000..0x11_0000),
        };
        if let Some(c) = char::from_u32(cp) {
            s.push(c);
        }
    }
    s
}

/// Longest prefix of `s` with at most `max` bytes, cut at a character boundary.
fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn corpus(rng: &mut StdRng, limits: &Limits) -> Vec<Sample> {
    let fixed: &[(&str, &str)] = &[
        ("empty", ""),
        ("ascii", "hello, world"),
        ("latin", "héllo wörld ñ ç ß Å"),
        ("cjk", "日本語のテキスト 中文 한국어"),
        ("rtl", "مرحبا بالعالم שלום"),
        ("combining", "e\u{301} a\u{308} \u{20dd}"),
        ("tab-newline-cr", "line1\nline2\r\nline3\ttab"),
        ("backspace-formfeed", "\u{8}\u{c}"),
        ("del-and-c1", "\u{7f}\u{80}\u{9f}"),
        ("emoji", "😀🎉🚀"),
        ("zwj-sequences", "👩\u{200d}👩\u{200d}👧\u{200d}👦 🏳\u{fe0f}\u{200d}🌈"),
        ("flags", "🇫🇷🇯🇵"),
        ("astral", "𝄞 𠀀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u{10fffd}"),
        ("quotes", "\"double\" 'single' `back`"),
        ("backslashes", "\\ \\\\ \\n \\u0041 \\\" \\u00"),
        ("escape-lookalikes", "\\ud83d\\ude00 \\x00 \\0"),
        ("line-separators", "\u{2028}\u{2029}"),
        ("bom-zero-width", "\u{feff}x\u{200b}y"),
        ("noncharacters", "\u{fffd}\u{fffe}\u{ffff}"),
        ("markup", "</script><!-- &amp; <b>"),
        ("percent-and-query", "%00%zz%%+&=?#"),
        ("surrounding-spaces", "   padded   "),
        ("json-in-a-string", r#"{"ciphertext": "IDontKnowWhatImDoing", "IV": "AQIDBAUGBwgJCgsMDQ4PEA==", "hmac": "00ff"}"#),
    ];
    let mut out: Vec<Sample> = fixed.iter().map(|(l, t)| Sample { label: (*l).to_owned(), text: (*t).to_owned(), nul: false }).collect();
    let controls: String = (1u32..0x20).filter_map(char::from_u32).collect();
    out.push(Sample { label: "all-c0-controls".into(), text: controls.clone(), nul: false });
    // Long strings stay well inside every per-request limit of the target.
    let cap = (32 * 1024)
        .min(limits.max_record_payload_bytes as usize)
        .min(limits.max_post_bytes as usize / 2)
        .min(limits.max_request_bytes as usize / 8)
        .min(limits.max_total_bytes as usize / 8);
    let alphabet: String = ('a'..='z').collect();
    out.push(Sample { label: "long-ascii".into(), text: cut(&alphabet.repeat(cap / 26 + 1), cap), nul: false });
    out.push(Sample { label: "long-multibyte".into(), text: cut(&"aé日😀".repeat(cap / 10 + 1), cap), nul: false });
    let escapes = format!("{controls}\"\\");
    out.push(Sample { label: "long-escapes".into(), text: cut(&escapes.repeat(cap / 8 / escapes.len() + 1), cap / 8), nul: false });
    for i in 0..4 {
        out.push(Sample { label: format!("random-{i}"), text: random_text(rng), nul: false });
    }
    out.push(Sample { label: "NUL".into(), text: "a\u{0}b".into(), nul: true });
    out
}

/// How an E-11 sample reaches the server.
#[derive(Debug, Clone, Copy)]
enum Route {
    Put,
    Post,
    /// In the body that starts a batch, committed empty.
    BatchStart,
    /// Appended to a batch started empty, committed empty.
    BatchAppend,
    /// In the body of the commit of a batch started empty.
    BatchCommit,
}

impl Route {
    const ALL: [Route; 5] = [Route::Put, Route::Post, Route::BatchStart, Route::BatchAppend, Route::BatchCommit];

    fn label(self) -> &'static str {
        match self {
            Route::Put => "PUT",
            Route::Post => "POST",
            Route::BatchStart => "batch start",
            Route::BatchAppend => "batch append",
            Route::BatchCommit => "batch commit body",
        }
    }

    fn coll(self) -> &'static str {
        match self {
            Route::Put => "e11put",
            Route::Post => "e11post",
            Route::BatchStart => "e11start",
            Route::BatchAppend => "e11append",
            Route::BatchCommit => "e11commit",
        }
    }
}

/// Whether a POST-like answer stored record `id`; a record it did not store must be the NUL
/// sample (E-11 lets a server refuse U+0000 per record), and no id may be in both lists.
fn stored_by(answer: &Value, id: &str, s: &Sample, how: &str) -> Result<bool, Failure> {
    let success = success_of(answer)?;
    ensure!(success.is_disjoint(&failed_of(answer)?), "{how}: ids both in success and failed: {answer}");
    if success.contains(id) {
        return Ok(true);
    }
    ensure!(s.nul, "{how}: sample {} was refused, but only U+0000 may be: {answer}", s.label);
    Ok(false)
}

/// E-11 for one sample and one route: `user` writes it as record `id`, which then reads back
/// exactly, or (the NUL sample only) was refused per record and is absent.
async fn round_trip(cx: &mut Ctx, user: &SyncUser, route: Route, id: &str, s: &Sample) -> CaseResult {
    let coll = route.coll();
    let how = route.label();
    let record = json!([{ "id": id, "payload": s.text }]);
    let stored = match route {
        Route::Put => {
            let req = SyncRequest::put(format!("storage/{coll}/{id}")).json(&json!({ "payload": s.text }));
            let resp = cx.send_as(user, req).await?;
            if s.nul && resp.code() == 400 {
                resp.error(400, 8)?;
                false
            } else {
                resp.status(200)?;
                true
            }
        }
        Route::Post => {
            let answer = cx.send_as(user, SyncRequest::post(format!("storage/{coll}")).json(&record)).await?.status(200)?.json()?;
            stored_by(&answer, id, s, how)?
        }
        Route::BatchStart => {
            let answer = cx.send_as(user, batch_post(coll, "true", false).json(&record)).await?.status(202)?.json()?;
            let staged = stored_by(&answer, id, s, how)?;
            let batch = batch_id(&answer)?;
            cx.send_as(user, batch_post(coll, &batch, true).json(&json!([]))).await?.status(200)?;
            staged
        }
        Route::BatchAppend => {
            let batch = started_batch(&cx.send_as(user, batch_post(coll, "true", false).json(&json!([]))).await?)?;
            let answer = cx.send_as(user, batch_post(coll, &batch, false).json(&record)).await?.status(202)?.json()?;
            let staged = stored_by(&answer, id, s, how)?;
            cx.send_as(user, batch_post(coll, &batch, true).json(&json!([]))).await?.status(200)?;
            staged
        }
        Route::BatchCommit => {
            let batch = started_batch(&cx.send_as(user, batch_post(coll, "true", false).json(&json!([]))).await?)?;
            let answer = cx.send_as(user, batch_post(coll, &batch, true).json(&record)).await?.status(200)?.json()?;
            stored_by(&answer, id, s, how)?
        }
    };
    let resp = cx.send_as(user, SyncRequest::get(format!("storage/{coll}/{id}"))).await?;
    if !stored {
        ensure!(resp.code() == 404, "{how}: the refused sample {} was stored anyway ({} {})", s.label, resp.code(), resp.text());
        return Ok(());
    }
    let got = resp.status(200)?.json()?;
    ensure_eq!(Some(s.text.as_str()), got["payload"].as_str(), "{how}: payload {} ({id}) reads back exactly", s.label);
    Ok(())
}

/// E-09 on a new collection: `req` (as `what`) succeeds, stores nothing, leaves `coll` unlisted
/// and the storage ts where it was.
async fn stores_nothing(cx: &mut Ctx, coll: &str, req: SyncRequest, what: &str) -> CaseResult {
    let post = req.method().as_str() == "POST";
    let (map0, s0) = info(cx).await?;
    let resp = cx.send(req).await?;
    if post {
        let answer = resp.status(200)?.json()?;
        ensure!(success_of(&answer)?.is_empty(), "{what}: nothing succeeds: {answer}");
    } else {
        resp.success()?;
    }
    let (map, storage_ts) = info(cx).await?;
    ensure!(map.get(coll).is_none(), "{what}: {coll} must stay unlisted: {map}");
    ensure_eq!(map0, map, "info/collections after {what}");
    ensure_eq!(s0, storage_ts, "the storage ts after {what}");
    let resp = cx.get(&format!("storage/{coll}")).await?;
    ensure_eq!(json!([]), resp.status(200)?.json()?, "{coll} lists nothing");
    ensure_eq!(Some("0.00"), resp.header("x-last-modified"), "{coll} has no ts");
    Ok(())
}

/// E-09 on existing collection `coll`: `req` (as `what`) is a write with a new T above the
/// storage ts, which becomes the collection's and the storage ts.
async fn ordinary_write(cx: &mut Ctx, coll: &str, req: SyncRequest, what: &str) -> CaseResult {
    let post = req.method().as_str() == "POST";
    let (_, s0) = info(cx).await?;
    let resp = cx.send(req).await?;
    let t = if post { written_at(&resp)? } else { resp.status(200)?.stamp("x-last-modified")? };
    ensure!(t > s0, "{what} is a write with a new T ({t} after {s0})");
    let (map, storage_ts) = info(cx).await?;
    ensure_eq!(t, Stamp::from_json(&map[coll])?, "collection ts after {what}");
    ensure_eq!(t, storage_ts, "storage ts after {what}");
    Ok(())
}

/// E-10: POSTing `body` to e10 is 400 with `code` and changes neither e10 nor the storage ts.
async fn whole_request_error(cx: &mut Ctx, what: &str, body: &str, code: u32) -> CaseResult {
    let before = records(cx, "e10").await?;
    let (_, s0) = info(cx).await?;
    let req = SyncRequest::post("storage/e10").header("Content-Type", "application/json").body(body.as_bytes().to_vec());
    let resp = cx.send(req).await?;
    bad_request(cx, &resp, code, &format!("a body with {what}"))?;
    ensure_eq!(before, records(cx, "e10").await?, "e10 after a body with {what}");
    let (_, storage_ts) = info(cx).await?;
    ensure_eq!(s0, storage_ts, "storage ts after a body with {what}");
    Ok(())
}

// ---- the cases --------------------------------------------------------------------------------

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("E-01", "a POST answers modified, success and failed, with its T as X-Last-Modified", |mut cx| {
            Box::pin(async move {
                let posted = names(&["a", "b", "c", "d"]);
                let resp = cx
                    .post(
                        "storage/e01",
                        json!([
                            { "id": "a", "payload": "x" },
                            { "id": "b", "payload": "y", "sortindex": 2 },
                            { "id": "c", "payload": "z", "sortindex": "FAIL" },
                            { "id": "d", "payload": "w", "ttl": -1 },
                        ]),
                    )
                    .await?;
                let t = written_at(&resp)?;
                let answer = resp.json()?;
                ensure!(answer["failed"].is_object(), "failed must be an object of id: reason, got {answer}");
                ensure_eq!(set(&["a", "b"]), success_of(&answer)?, "the valid records succeed");
                ensure!(!failed_of(&answer)?.is_empty(), "the invalid records are reported in failed: {answer}");
                check_partition(&mut cx, "e01", &posted, &answer).await?;
                let stored = records(&mut cx, "e01").await?;
                ensure_eq!(t, modified_of(&stored, "a")?, "a carries the answer's modified");
                Ok(())
            })
        })
        .upstream(&["test_set_collection"]),
        Case::new("E-01", "past the record limit every posted id is still in at most one list", |mut cx| {
            Box::pin(async move {
                let n = cx.limits().max_post_records as usize + 5;
                let (posted, body) = numbered(n, "X");
                let resp = cx.post("storage/e01over", body).await?;
                written_at(&resp)?;
                let answer = resp.json()?;
                check_partition(&mut cx, "e01over", &posted, &answer).await?;
                ensure_eq!(n, success_of(&answer)?.len() + failed_of(&answer)?.len(), "ids accounted for in success and failed");
                Ok(())
            })
        })
        .upstream(&["test_multi_item_post_limits"]),
        Case::new("E-02", "records in success read back at once; failed ones change nothing", |mut cx| {
            Box::pin(async move {
                let pld = "*".repeat(500);
                let resp = cx.post("storage/e02", json!([{ "id": "12", "payload": pld }, { "id": "13", "payload": pld }])).await?;
                ensure_eq!(set(&["12", "13"]), success_of(&resp.status(200)?.json()?)?, "both records succeed");
                let stored = records(&mut cx, "e02").await?;
                ensure_eq!(pld, payload_of(&stored, "12")?, "payload of 12");
                ensure_eq!(pld, payload_of(&stored, "13")?, "payload of 13");

                let resp = cx.post("storage/e02", json!([{ "id": "13", "payload": "XyX" }, { "id": "14", "payload": pld }])).await?;
                ensure_eq!(set(&["13", "14"]), success_of(&resp.status(200)?.json()?)?, "update and create succeed");
                let stored = records(&mut cx, "e02").await?;
                ensure_eq!("XyX", payload_of(&stored, "13")?, "13 is updated");
                ensure_eq!(pld, payload_of(&stored, "14")?, "14 is created");
                let m13 = modified_of(&stored, "13")?;

                let resp = cx
                    .post(
                        "storage/e02",
                        json!([
                            { "id": "one", "payload": pld },
                            { "id": "two", "payload": pld, "sortindex": "FAIL" },
                            { "id": "13", "payload": "changed", "sortindex": "bad" },
                        ]),
                    )
                    .await?;
                let answer = resp.status(200)?.json()?;
                ensure_eq!(set(&["one"]), success_of(&answer)?, "only the valid record succeeds");
                cx.get("storage/e02/two").await?.error(404, 0)?;
                let stored = records(&mut cx, "e02").await?;
                ensure_eq!(pld, payload_of(&stored, "one")?, "one is stored");
                ensure_eq!("XyX", payload_of(&stored, "13")?, "a failed update leaves 13's payload");
                ensure_eq!(m13, modified_of(&stored, "13")?, "a failed update leaves 13's modified");

                let resp = cx.post("storage/e02", json!([{ "id": "01", "payload": "GOOD" }, { "id": "02", "invalid": "ya" }])).await?;
                let answer = resp.status(200)?.json()?;
                ensure_eq!(set(&["01"]), success_of(&answer)?, "the good record succeeds");
                ensure!(!success_of(&answer)?.contains("02"), "the record with an unknown field fails");
                let stored = records(&mut cx, "e02").await?;
                ensure_eq!("GOOD", payload_of(&stored, "01")?, "01 is stored");
                ensure!(!stored.contains_key("02"), "02 must not be stored");
                Ok(())
            })
        })
        .upstream(&["test_set_collection", "test_handling_of_invalid_json_in_bso_uploads"]),
        Case::new("E-03", "each record a POST creates or changes carries the answer's modified", |mut cx| {
            Box::pin(async move {
                let resp = cx
                    .post(
                        "storage/e03",
                        json!([
                            { "id": "a", "payload": "1" },
                            { "id": "b", "payload": "2" },
                            { "id": "c", "payload": "3" },
                        ]),
                    )
                    .await?;
                let t1 = written_at(&resp)?;
                let stored = records(&mut cx, "e03").await?;
                for id in ["a", "b", "c"] {
                    ensure_eq!(t1, modified_of(&stored, id)?, "{id} created at the first T");
                }
                let resp = cx
                    .post(
                        "storage/e03",
                        json!([
                            { "id": "a", "payload": "1b" },
                            { "id": "b", "sortindex": 9 },
                            { "id": "d", "payload": "4" },
                        ]),
                    )
                    .await?;
                let t2 = written_at(&resp)?;
                ensure!(t2 > t1, "the second POST gets a later T ({t2} after {t1})");
                let stored = records(&mut cx, "e03").await?;
                for id in ["a", "b", "d"] {
                    ensure_eq!(t2, modified_of(&stored, id)?, "{id} written by the second POST");
                }
                ensure_eq!(t1, modified_of(&stored, "c")?, "c, not in the second POST, keeps its ts");
                let (map, storage_ts) = info(&mut cx).await?;
                ensure_eq!(t2, Stamp::from_json(&map["e03"])?, "info/collections shows the second T");
                ensure_eq!(t2, storage_ts, "the storage ts is the second T");
                Ok(())
            })
        })
        .upstream(&["test_bulk_update_of_ttls_without_sending_data"]),
        Case::new("E-04", "a POST giving only a ttl keeps the record's modified", |mut cx| {
            Box::pin(async move {
                for attempt in 0..CLOCK_ATTEMPTS {
                    if ttl_only_by_post(&mut cx, &format!("e04post{attempt}")).await? {
                        return Ok(());
                    }
                }
                Err(time_ran_past_ttls("E-04 by POST"))
            })
        })
        .upstream(&["test_bulk_update_of_ttls_without_sending_data"]),
        Case::new("E-04", "a PUT giving only a ttl keeps the record's modified", |mut cx| {
            Box::pin(async move {
                for attempt in 0..CLOCK_ATTEMPTS {
                    if ttl_only_by_put(&mut cx, &format!("e04put{attempt}")).await? {
                        return Ok(());
                    }
                }
                Err(time_ran_past_ttls("E-04 by PUT"))
            })
        })
        .upstream(&["test_update_of_ttl_without_sending_data"]),
        Case::new("E-05", "valid records past max_post_records are the last ones and fail with retry bso", |mut cx| {
            Box::pin(async move {
                let n = cx.limits().max_post_records as usize;
                let (posted, body) = numbered(n, "X");
                let answer = cx.post("storage/e05at", body).await?.status(200)?.json()?;
                ensure_eq!(posted.iter().cloned().collect::<BTreeSet<_>>(), success_of(&answer)?, "exactly max_post_records all succeed");
                ensure!(failed_of(&answer)?.is_empty(), "nothing fails at the limit: {answer}");

                let (posted, body) = numbered(n + 5, "X");
                let answer = cx.post("storage/e05over", body).await?.status(200)?.json()?;
                ensure_eq!(
                    posted[..n].iter().cloned().collect::<BTreeSet<_>>(),
                    success_of(&answer)?,
                    "the first max_post_records succeed"
                );
                ensure_eq!(posted[n..].iter().cloned().collect::<BTreeSet<_>>(), failed_of(&answer)?, "the last five fail");
                for id in &posted[n..] {
                    ensure_eq!(json!("retry bso"), answer["failed"][id], "reason for {id}");
                }
                ensure_eq!(posted[..n].to_vec(), ids(&mut cx, "e05over").await?, "only the first max_post_records are stored");
                Ok(())
            })
        })
        .upstream(&["test_multi_item_post_limits"]),
        Case::new("E-06", "payload bytes add up in request order to exactly max_post_bytes; overflowing records fail alone", |mut cx| {
            Box::pin(async move {
                let limits = cx.limits().clone();
                let budget = limits.max_post_bytes as usize;
                let per_record = (limits.max_record_payload_bytes as usize).min(budget);
                // Filler records bring the sum to budget - 10; then 11 bytes overflow, 10 fit
                // exactly, 1 overflows, and an empty payload still fits.
                let mut body = Vec::new();
                let mut left = budget.saturating_sub(10);
                let mut fill = Vec::new();
                while left > 0 {
                    let size = left.min(per_record);
                    let id = format!("fill{}", fill.len());
                    body.push(json!({ "id": id, "payload": sized_payload(size) }));
                    fill.push(id);
                    left -= size;
                }
                body.push(json!({ "id": "over11", "payload": sized_payload(11) }));
                body.push(json!({ "id": "exact10", "payload": sized_payload(10) }));
                body.push(json!({ "id": "over1", "payload": "z" }));
                body.push(json!({ "id": "empty", "payload": "" }));
                ensure!(
                    fill.len() + 4 <= limits.max_post_records as usize,
                    "the target's max_post_records ({}) is too small for this check",
                    limits.max_post_records
                );
                let answer = cx.post("storage/e06", Value::Array(body)).await?.status(200)?.json()?;
                let mut expect: BTreeSet<String> = fill.iter().cloned().collect();
                expect.extend(set(&["exact10", "empty"]));
                ensure_eq!(expect, success_of(&answer)?, "records within the running sum succeed");
                ensure_eq!(set(&["over1", "over11"]), failed_of(&answer)?, "records that would pass the sum fail");
                ensure_eq!(json!("retry bytes"), answer["failed"]["over11"], "reason for over11");
                ensure_eq!(json!("retry bytes"), answer["failed"]["over1"], "reason for over1");
                let stored: BTreeSet<String> = ids(&mut cx, "e06").await?.into_iter().collect();
                ensure_eq!(expect, stored, "stored records");
                Ok(())
            })
        })
        .upstream(&["test_multi_item_post_limits", "test_batch_size_limits"]),
        Case::new("E-07", "a record over max_record_payload_bytes fails with retry bytes and counts for nothing", |mut cx| {
            Box::pin(async move {
                let limits = cx.limits().clone();
                let over = limits.max_record_payload_bytes as usize + 1;
                // `after` is as big as the request allows without reaching max_post_bytes, so
                // that adding the oversized record to the running sum would make it fail.
                let room = (limits.max_request_bytes as usize).saturating_sub(over + 200);
                let after = room.min(limits.max_post_bytes as usize - 1);
                ensure!(
                    after >= 1,
                    "max_request_bytes ({}) cannot hold one record over max_record_payload_bytes ({}) and another",
                    limits.max_request_bytes,
                    limits.max_record_payload_bytes
                );
                let body = json!([
                    { "id": "before", "payload": "b" },
                    { "id": "huge", "payload": sized_payload(over) },
                    { "id": "after", "payload": sized_payload(after) },
                ]);
                let answer = cx.post("storage/e07", body).await?.status(200)?.json()?;
                ensure_eq!(set(&["after", "before"]), success_of(&answer)?, "the small records on both sides succeed");
                ensure_eq!(set(&["huge"]), failed_of(&answer)?, "the oversized record fails");
                ensure_eq!(json!("retry bytes"), answer["failed"]["huge"], "reason for huge");
                ensure_eq!(names(&["after", "before"]), ids(&mut cx, "e07").await?, "stored records");
                Ok(())
            })
        }),
        Case::new("E-08", "a chunked body one byte over max_request_bytes is refused; at the limit it is read", |mut cx| {
            Box::pin(async move {
                let limit = cx.limits().max_request_bytes as usize;
                let padded = |id: &str, len: usize| {
                    let mut body = serde_json::to_vec(&json!([{ "id": id, "payload": "x" }])).unwrap_or_default();
                    body.resize(len, b' ');
                    body
                };
                let over = SyncRequest::post("storage/e08").header("Content-Type", "application/json").chunked(padded("over", limit + 1));
                let resp = cx.send(over).await?;
                ensure!(
                    resp.code() == 413 || resp.code() == 400,
                    "a chunked body of max_request_bytes + 1 gets 413 (or 400), got {} {}",
                    resp.code(),
                    resp.text().chars().take(100).collect::<String>()
                );
                ensure_eq!(Vec::<String>::new(), ids(&mut cx, "e08").await?, "nothing is stored from the refused body");
                let (map, _) = info(&mut cx).await?;
                ensure!(map.get("e08").is_none(), "the refused body creates no collection: {map}");
                let at = SyncRequest::post("storage/e08").header("Content-Type", "application/json").chunked(padded("at", limit));
                let answer = cx.send(at).await?.status(200)?.json()?;
                ensure_eq!(set(&["at"]), success_of(&answer)?, "a chunked body of exactly max_request_bytes is read");
                ensure_eq!(names(&["at"]), ids(&mut cx, "e08").await?, "stored records");
                Ok(())
            })
        }),
        Case::new("E-09", "writes that store nothing create no collection and move no ts", |mut cx| {
            Box::pin(async move {
                cx.put("storage/e09base/r", json!({ "payload": "x" })).await?.status(200)?.stamp("x-last-modified")?;
                let invalid = || json!([{ "id": "a", "payload": "x", "ttl": -1 }]);
                let on_new = [
                    ("POST [] to a new collection", "e09empty", SyncRequest::post("storage/e09empty").json(&json!([]))),
                    ("POST of an invalid record to a new collection", "e09failed", SyncRequest::post("storage/e09failed").json(&invalid())),
                    ("DELETE ?ids=x on a new collection", "e09del", SyncRequest::delete("storage/e09del?ids=x")),
                ];
                for (what, coll, req) in on_new {
                    let v = cx.variant(what);
                    let r = stores_nothing(&mut cx, coll, req, what).await;
                    cx.settle(v, r);
                }

                // On an existing collection the same requests are ordinary writes.
                let on_existing = [
                    ("POST [] to an existing collection", SyncRequest::post("storage/e09base").json(&json!([]))),
                    ("POST of an invalid record to an existing collection", SyncRequest::post("storage/e09base").json(&invalid())),
                    ("DELETE ?ids=nothere on an existing collection", SyncRequest::delete("storage/e09base?ids=nothere")),
                ];
                for (what, req) in on_existing {
                    let v = cx.variant(what);
                    let r = ordinary_write(&mut cx, "e09base", req, what).await;
                    cx.settle(v, r);
                }
                ensure_eq!(names(&["r"]), ids(&mut cx, "e09base").await?, "the record is untouched");
                Ok(())
            })
        }),
        Case::new("E-10", "a malformed POST body fails whole: 400 and nothing stored", |mut cx| {
            Box::pin(async move {
                written_at(&cx.post("storage/e10", json!([{ "id": "keep", "payload": "orig" }])).await?)?;
                let bodies: &[(&str, &str, u32)] = &[
                    ("a string", r#""notalist""#, 8),
                    ("a number", "42", 8),
                    ("an object", r#"{"id":"new","payload":"x"}"#, 8),
                    ("a non-object element", r#"[{"id":"new","payload":"GOOD"},"BAD"]"#, 8),
                    ("a null element", r#"[{"id":"new","payload":"GOOD"},null]"#, 8),
                    ("a missing id", r#"[{"id":"new","payload":"x"},{"payload":"y"}]"#, 8),
                    ("a numeric id", r#"[{"id":"new","payload":"x"},{"id":5,"payload":"y"}]"#, 8),
                    ("a null id", r#"[{"id":"new","payload":"x"},{"id":null,"payload":"y"}]"#, 8),
                    ("a repeated id", r#"[{"id":"new","payload":"x"},{"id":"new","payload":"y"}]"#, 8),
                    ("a repeated existing id", r#"[{"id":"keep","payload":"a"},{"id":"keep","payload":"b"}]"#, 8),
                    ("unparseable JSON", r#"[{"id":"new","payload":"x"}"#, 6),
                ];
                for (what, body, code) in bodies {
                    let v = cx.variant(format!("POST body with {what}"));
                    let r = whole_request_error(&mut cx, what, body, *code).await;
                    cx.settle(v, r);
                }

                let bad = r#"{"ciphertext": "IDontKnowWhatImDoing", "IV": "AAAAAAAAAAAAAAAAAAAAAA=="}"#;
                written_at(
                    &cx.post("storage/crypto", json!([{ "id": "keys", "payload": "{\"IV\": \"AQIDBAUGBwgJCgsMDQ4PEA==\"}" }])).await?,
                )?;
                let crypto = records(&mut cx, "crypto").await?;
                let (_, storage_ts) = info(&mut cx).await?;
                let resp =
                    cx.post("storage/crypto", json!([{ "id": "other", "payload": "fine" }, { "id": "keys", "payload": bad }])).await?;
                resp.error(400, 8)?;
                ensure_eq!(crypto, records(&mut cx, "crypto").await?, "crypto after the known-bad key bundle");
                ensure_eq!(storage_ts, info(&mut cx).await?.1, "storage ts after the known-bad key bundle");
                let answer = cx.post("storage/e10", json!([{ "id": "keys", "payload": bad }])).await?.status(200)?.json()?;
                ensure_eq!(set(&["keys"]), success_of(&answer)?, "the same payload is fine outside crypto");
                Ok(())
            })
        })
        .upstream(&["test_handling_of_invalid_json_in_bso_uploads", "test_rejection_of_known_bad_payloads"]),
        Case::new("E-11", "a varied payload corpus reads back exactly after PUT, POST and batch commit", |mut cx| {
            Box::pin(async move {
                let limits = cx.limits().clone();
                let samples = corpus(cx.rng(), &limits);
                // Writes rotate over several users: one user's writes each wait for a new tick of
                // the 10 ms ts grid (I-04).
                let users: Vec<SyncUser> = std::iter::once(cx.me()).chain((1..10).map(|_| cx.user())).collect();
                let mut turn = 0;
                for route in Route::ALL {
                    for (i, s) in samples.iter().enumerate() {
                        let user = users[turn % users.len()].clone();
                        turn += 1;
                        let v = cx.variant(format!("{} sample {}", route.label(), s.label));
                        let r = round_trip(&mut cx, &user, route, &format!("p{i:02}"), s).await;
                        cx.settle(v, r);
                    }
                }

                // A lone surrogate escape is still a JSON string: stored, or refused per record.
                let v = cx.variant("POST a lone surrogate escape beside a fine record");
                let r = async {
                    let raw = r#"[{"id":"ok","payload":"fine"},{"id":"lone","payload":"x\udc00y"}]"#;
                    let req = SyncRequest::post("storage/e11lone").header("Content-Type", "application/json").body(raw.as_bytes().to_vec());
                    let answer = cx.send(req).await?.status(200)?.json()?;
                    let success = success_of(&answer)?;
                    ensure!(success.contains("ok"), "the record next to a lone surrogate succeeds: {answer}");
                    let stored = records(&mut cx, "e11lone").await?;
                    ensure_eq!(success, stored.keys().cloned().collect::<BTreeSet<_>>(), "records stored beside a lone surrogate");
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                let v = cx.variant("PUT a lone surrogate escape");
                let r = async {
                    let raw = r#"{"payload":"\ud800"}"#;
                    let req =
                        SyncRequest::put("storage/e11lone/put").header("Content-Type", "application/json").body(raw.as_bytes().to_vec());
                    let resp = cx.send(req).await?;
                    if resp.code() != 200 {
                        resp.error(400, 8).map_err(|f| Failure { message: format!("PUT of a lone surrogate: {}", f.message), ..f })?;
                    }
                    Ok(())
                }
                .await;
                cx.settle(v, r);
                Ok(())
            })
        }),
    ]
}
