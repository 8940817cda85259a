//! The model alone, against hand-written answers: sequences it must accept and answers it must
//! reject, each naming the clause.

use serde_json::{Value, json};

use super::record::tests::limits;
use super::*;
use crate::sync::{Profile, Stamp};

fn model_with(profile: Profile, test_clock: bool) -> Model {
    Model::new(ModelConfig { users: 2, limits: limits(), quota: None, profile, test_clock })
}

fn model() -> Model {
    model_with(Profile::Spec, true)
}

fn ts(s: &str) -> Stamp {
    Stamp::parse(s).unwrap()
}

/// An answer with status, X-Last-Modified, X-Weave-Timestamp and raw body text.
fn ans(status: u16, lm: Option<&str>, ws: &str, text: &str) -> Answer {
    let body: Option<Value> = serde_json::from_str(text).ok();
    let records = body.as_ref().and_then(|b| b.as_array().map(|a| a.len()).or(b.as_object().map(|o| o.len()))).map(|n| n as u64);
    Answer {
        status,
        last_modified: lm.map(ts),
        weave_timestamp: Some(ts(ws)),
        next_offset: None,
        records,
        retry_after: None,
        body,
        text: text.to_owned(),
    }
}

/// A write answered with T as every header and the body shape `body` (with `{T}` replaced).
fn wrote(t: &str, body: &str) -> Answer {
    ans(200, Some(t), t, &body.replace("{T}", t))
}

fn put(user: usize, coll: &str, id: &str, body: Value) -> Op {
    Op::Put { user, coll: coll.into(), id: id.into(), body, pre: Precondition::None }
}

fn get(coll: &str, id: &str) -> Op {
    Op::Get { user: 0, coll: coll.into(), id: id.into() }
}

fn post(coll: &str, body: Value, batch: BatchStep) -> Op {
    Op::Post { user: 0, coll: coll.into(), body, batch, pre: Precondition::None }
}

fn list(coll: &str, query: Query) -> Op {
    Op::List { user: 0, coll: coll.into(), query }
}

/// Resolves and observes.
fn run(m: &mut Model, op: &Op, a: &Answer) -> Result<(), Divergence> {
    let req = m.resolve(op);
    m.observe(op, &req, a)
}

fn clause(r: Result<(), Divergence>) -> &'static str {
    r.expect_err("the model accepted an answer SPEC forbids").clause
}

#[test]
fn put_then_get_and_info_are_accepted() {
    let mut m = model();
    run(&mut m, &put(0, "tabs", "a", json!({"payload": "x", "sortindex": 3})), &wrote("100.00", "{T}")).unwrap();
    let served = ans(200, Some("100.00"), "101.00", r#"{"id":"a","modified":100.00,"payload":"x","sortindex":3}"#);
    run(&mut m, &get("tabs", "a"), &served).unwrap();
    let info = Op::Info { user: 0, view: InfoView::Collections };
    run(&mut m, &info, &ans(200, Some("100.00"), "101.00", r#"{"tabs":100.00}"#)).unwrap();
    assert_eq!(m.collections(0), ["tabs"]);
    assert_eq!(m.record_ids(0, "tabs"), ["a"]);
    assert!(m.collections(1).is_empty());
    // The other user has nothing.
    let other = Op::Info { user: 1, view: InfoView::Collections };
    assert_eq!(clause(run(&mut m, &other, &ans(200, Some("0.00"), "101.00", r#"{"tabs":100.00}"#))), "A-01");
    // A wrong payload, a null sortindex, an echoed ttl, a stale X-Last-Modified: each rejected.
    for (body, lm, want) in [
        (r#"{"id":"a","modified":100.00,"payload":"y","sortindex":3}"#, "100.00", "A-11"),
        (r#"{"id":"a","modified":100.00,"payload":"x","sortindex":null}"#, "100.00", "A-11"),
        (r#"{"id":"a","modified":100.00,"payload":"x","sortindex":3,"ttl":5}"#, "100.00", "B-13"),
        (r#"{"id":"a","modified":100.00,"payload":"x","sortindex":3}"#, "99.00", "D-03"),
        (r#"{"id":"a","modified":100,"payload":"x","sortindex":3}"#, "100.00", "B-13"),
    ] {
        assert_eq!(clause(run(&mut m.clone(), &get("tabs", "a"), &ans(200, Some(lm), "101.00", body))), want, "{body}");
    }
    assert_eq!(clause(run(&mut m, &get("tabs", "zz"), &served)), "A-11");
}

#[test]
fn partial_update_keeps_fields_and_ttl_only_keeps_modified() {
    let mut m = model();
    run(&mut m, &put(0, "tabs", "a", json!({"payload": "p", "sortindex": 5})), &wrote("100.00", "{T}")).unwrap();
    run(&mut m, &put(0, "tabs", "a", json!({"ttl": 3600})), &wrote("101.00", "{T}")).unwrap();
    // E-04: modified stays 100.00; B-11: payload and sortindex kept.
    let keep = ans(200, Some("100.00"), "102.00", r#"{"id":"a","modified":100.00,"payload":"p","sortindex":5}"#);
    assert_eq!(
        clause(run(
            &mut m.clone(),
            &get("tabs", "a"),
            &ans(200, Some("101.00"), "102.00", r#"{"id":"a","modified":101.00,"payload":"p","sortindex":5}"#)
        )),
        "A-11"
    );
    run(&mut m, &get("tabs", "a"), &keep).unwrap();
    run(&mut m, &put(0, "tabs", "a", json!({"payload": null, "sortindex": null})), &wrote("103.00", "{T}")).unwrap();
    run(&mut m, &get("tabs", "a"), &ans(200, Some("103.00"), "104.00", r#"{"id":"a","modified":103.00,"payload":""}"#)).unwrap();
}

#[test]
fn write_timestamps_must_rise() {
    let mut m = model();
    run(&mut m, &put(0, "tabs", "a", json!({"payload": "x"})), &wrote("100.00", "{T}")).unwrap();
    assert_eq!(clause(run(&mut m.clone(), &put(0, "tabs", "b", json!({})), &wrote("100.00", "{T}"))), "I-04");
    assert_eq!(clause(run(&mut m.clone(), &put(0, "history", "b", json!({})), &wrote("100.00", "{T}"))), "I-04");
    // Body and headers must agree (D-02).
    assert_eq!(clause(run(&mut m.clone(), &put(0, "tabs", "b", json!({})), &ans(200, Some("101.00"), "101.00", "102.00"))), "A-12");
    // Compat: another collection may share the T, the same one may not.
    let mut c = model_with(Profile::SyncstorageRs, true);
    run(&mut c, &put(0, "tabs", "a", json!({"payload": "x"})), &wrote("100.00", "{T}")).unwrap();
    run(&mut c.clone(), &put(0, "history", "b", json!({})), &wrote("100.00", "{T}")).unwrap();
    assert_eq!(clause(run(&mut c, &put(0, "tabs", "b", json!({})), &wrote("100.00", "{T}"))), "I-04");
    // The storage ts never goes back (I-07): info below the latest T.
    let info = Op::Info { user: 0, view: InfoView::Collections };
    assert_eq!(clause(run(&mut m, &info, &ans(200, Some("99.00"), "101.00", r#"{"tabs":100.00}"#))), "D-03");
}

#[test]
fn expiry_is_exact_with_a_test_clock_and_open_without() {
    let ttl1 = put(0, "tabs", "a", json!({"payload": "x", "ttl": 1}));
    let served = |ws| ans(200, Some("100.00"), ws, r#"{"id":"a","modified":100.00,"payload":"x"}"#);
    let gone = |ws| ans(404, None, ws, "0");
    let mut m = model();
    run(&mut m, &ttl1, &wrote("100.00", "{T}")).unwrap();
    run(&mut m.clone(), &get("tabs", "a"), &served("100.99")).unwrap();
    assert_eq!(clause(run(&mut m.clone(), &get("tabs", "a"), &gone("100.99"))), "A-11");
    assert_eq!(clause(run(&mut m.clone(), &get("tabs", "a"), &served("101.00"))), "A-11");
    let listed = ans(200, Some("100.00"), "101.00", r#"["a"]"#);
    assert_eq!(clause(run(&mut m.clone(), &list("tabs", Query::default()), &listed)), "C-15");
    run(&mut m, &get("tabs", "a"), &gone("101.00")).unwrap();
    assert!(m.has_expired_records(0));
    // G-03: expired means ts 0 to a precondition, so `X-If-Unmodified-Since: 0` passes.
    let mut pre = put(0, "tabs", "a", json!({"payload": "y"}));
    if let Op::Put { pre: p, .. } = &mut pre {
        *p = Precondition::UnmodifiedSince(TsRef::Zero);
    }
    run(&mut m.clone(), &pre, &wrote("101.00", "{T}")).unwrap();
    assert_eq!(clause(run(&mut m.clone(), &pre, &ans(412, Some("100.00"), "101.00", ""))), "A-12");
    // Without a test clock, a read within a second of the expiry may go either way.
    let mut r = model_with(Profile::Spec, false);
    run(&mut r, &ttl1, &wrote("100.00", "{T}")).unwrap();
    run(&mut r.clone(), &get("tabs", "a"), &served("100.50")).unwrap();
    run(&mut r.clone(), &get("tabs", "a"), &gone("100.50")).unwrap();
    assert_eq!(clause(run(&mut r, &get("tabs", "a"), &served("102.50"))), "A-11");
}

#[test]
fn staged_records_stay_invisible_until_commit() {
    let mut m = model();
    let start = post(
        "tabs",
        json!([{"id": "a", "payload": "p1", "sortindex": 5}, {"id": "b", "payload": "q"}]),
        BatchStep::Start { commit: false },
    );
    run(&mut m, &start, &ans(202, Some("0.00"), "100.00", r#"{"batch":"b1","success":["a","b"],"failed":{}}"#)).unwrap();
    assert_eq!(m.batches_opened(), 1);
    assert_eq!(m.open_batches(0, "tabs"), [0]);
    let empty = ans(200, Some("0.00"), "100.50", "[]");
    run(&mut m, &list("tabs", Query::default()), &empty).unwrap();
    assert_eq!(clause(run(&mut m.clone(), &list("tabs", Query::default()), &ans(200, Some("0.00"), "100.50", r#"["a"]"#))), "A-07");
    let info = Op::Info { user: 0, view: InfoView::Collections };
    assert_eq!(clause(run(&mut m.clone(), &info, &ans(200, Some("0.00"), "100.50", r#"{"tabs":100.00}"#))), "A-01");
    // F-03: restaging merges; the append moves no ts (I-08).
    let append = post("tabs", json!([{"id": "a", "payload": "p2"}]), BatchStep::Continue { batch: BatchRef::Opened(0), commit: false });
    let req = m.resolve(&append);
    assert_eq!(req.path, "storage/tabs?batch=b1");
    assert_eq!(
        clause(m.clone().observe(&append, &req, &ans(202, Some("100.00"), "100.60", r#"{"batch":"b1","success":["a"],"failed":{}}"#))),
        "I-08"
    );
    m.observe(&append, &req, &ans(202, Some("0.00"), "100.60", r#"{"batch":"b1","success":["a"],"failed":{}}"#)).unwrap();
    // Another user's use of the batch id is refused (F-14), and the owner's batch is intact.
    let foreign = Op::Post {
        user: 1,
        coll: "tabs".into(),
        body: json!([]),
        batch: BatchStep::Continue { batch: BatchRef::Opened(0), commit: true },
        pre: Precondition::None,
    };
    assert_eq!(clause(run(&mut m.clone(), &foreign, &wrote("100.70", r#"{"modified":{T},"success":[],"failed":{}}"#))), "F-14");
    run(&mut m, &foreign, &ans(400, None, "100.70", "0")).unwrap();
    let commit = post("tabs", json!([]), BatchStep::Continue { batch: BatchRef::Opened(0), commit: true });
    run(&mut m, &commit, &wrote("101.00", r#"{"modified":{T},"success":[],"failed":{}}"#)).unwrap();
    let full = Query { full: true, sort: Some(Sort::Index), ..Query::default() };
    let page = r#"[{"id":"a","modified":101.00,"payload":"p2","sortindex":5},{"id":"b","modified":101.00,"payload":"q"}]"#;
    run(&mut m, &list("tabs", full), &ans(200, Some("101.00"), "101.50", page)).unwrap();
    // F-15: a spent batch is refused.
    assert_eq!(clause(run(&mut m.clone(), &commit, &wrote("102.00", r#"{"modified":{T},"success":[],"failed":{}}"#))), "F-15");
    assert_eq!(m.spent_batches(), [0]);
}

#[test]
fn a_failed_precondition_is_412_and_changes_nothing() {
    let mut m = model();
    run(&mut m, &put(0, "tabs", "a", json!({"payload": "x"})), &wrote("100.00", "{T}")).unwrap();
    let guarded = Op::Put {
        user: 0,
        coll: "tabs".into(),
        id: "a".into(),
        body: json!({"payload": "y"}),
        pre: Precondition::UnmodifiedSince(TsRef::Current { cs: -1 }),
    };
    let req = m.resolve(&guarded);
    assert_eq!(req.headers, vec![("X-If-Unmodified-Since", "99.99".to_owned())]);
    assert_eq!(clause(m.clone().observe(&guarded, &req, &wrote("101.00", "{T}"))), "D-06");
    assert_eq!(clause(m.clone().observe(&guarded, &req, &ans(412, Some("100.00"), "101.00", "0"))), "D-06");
    m.observe(&guarded, &req, &ans(412, Some("100.00"), "101.00", "")).unwrap();
    run(&mut m, &get("tabs", "a"), &ans(200, Some("100.00"), "101.00", r#"{"id":"a","modified":100.00,"payload":"x"}"#)).unwrap();
}

#[test]
fn post_lists_must_match_the_records() {
    let mut m = model();
    let op = post("tabs", json!([{"id": "a"}, {"id": "b", "ttl": -1}, {"id": "c"}]), BatchStep::None);
    let answer = |success: &str, failed: &str| wrote("100.00", &format!(r#"{{"modified":{{T}},"success":{success},"failed":{failed}}}"#));
    assert_eq!(clause(run(&mut m.clone(), &op, &answer(r#"["a"]"#, r#"{"b":"invalid"}"#))), "E-02");
    assert_eq!(clause(run(&mut m.clone(), &op, &answer(r#"["a","b","c"]"#, "{}"))), "E-01");
    assert_eq!(clause(run(&mut m.clone(), &op, &answer(r#"["a","c"]"#, "{}"))), "E-01");
    run(&mut m, &op, &answer(r#"["c","a"]"#, r#"{"b":"invalid ttl"}"#)).unwrap();
    assert_eq!(m.record_ids(0, "tabs"), ["a", "c"]);
    // E-09: a POST storing nothing in a new collection creates nothing.
    run(&mut m, &post("fz_a", json!([]), BatchStep::None), &wrote("101.00", r#"{"modified":{T},"success":[],"failed":{}}"#)).unwrap();
    assert_eq!(m.collections(0), ["tabs"]);
    // ... and may answer with the storage ts it left, while its X-Weave-Timestamp is the clock.
    let empty = post("fz_b", json!([]), BatchStep::None);
    run(&mut m.clone(), &empty, &ans(200, Some("100.00"), "102.00", r#"{"modified":100.00,"success":[],"failed":{}}"#)).unwrap();
    assert_eq!(
        clause(run(&mut m.clone(), &empty, &ans(200, Some("99.00"), "102.00", r#"{"modified":99.00,"success":[],"failed":{}}"#))),
        "E-09"
    );
}

#[test]
fn error_bodies_are_bare_integers() {
    let mut m = model();
    let bad = put(0, "tabs", "a", json!("notabso"));
    assert_eq!(clause(run(&mut m.clone(), &bad, &ans(400, None, "100.00", r#""bad""#))), "B-16");
    assert_eq!(clause(run(&mut m.clone(), &bad, &ans(400, None, "100.00", "6"))), "B-16");
    assert_eq!(clause(run(&mut m.clone(), &bad, &wrote("100.00", "{T}"))), "B-16");
    run(&mut m, &bad, &ans(400, None, "100.00", "8")).unwrap();
    let missing = Op::DeleteRecord { user: 0, coll: "tabs".into(), id: "a".into(), pre: Precondition::None };
    assert_eq!(clause(run(&mut m.clone(), &missing, &ans(404, None, "100.00", ""))), "A-13");
    run(&mut m, &missing, &ans(404, None, "100.00", "0")).unwrap();
    // J-15: no 500 however malformed the request.
    assert_eq!(clause(run(&mut m, &bad, &ans(500, None, "100.00", "0"))), "J-15");
}

#[test]
fn a_conflict_with_retry_after_changes_nothing() {
    let mut m = model();
    let op = put(0, "tabs", "a", json!({"payload": "x"}));
    let mut refused = ans(409, None, "100.00", "");
    assert_eq!(clause(run(&mut m.clone(), &op, &refused)), "D-18");
    refused.retry_after = Some(1);
    run(&mut m, &op, &refused).unwrap();
    let mut busy = ans(503, None, "100.00", "0");
    busy.retry_after = Some(10);
    run(&mut m, &op, &busy).unwrap();
    let info = Op::Info { user: 0, view: InfoView::Collections };
    run(&mut m.clone(), &info, &ans(200, Some("0.00"), "100.10", "{}")).unwrap();
    assert_eq!(clause(run(&mut m, &info, &ans(200, Some("100.00"), "100.10", r#"{"tabs":100.00}"#))), "D-03");
}

#[test]
fn compat_lines_apply_under_syncstorage_rs_only() {
    let name = put(0, "bad!name", "a", json!({}));
    let routed = ans(404, None, "100.00", "0");
    assert_eq!(clause(run(&mut model(), &name, &routed)), "B-15");
    run(&mut model_with(Profile::SyncstorageRs, true), &name, &routed).unwrap();
    run(&mut model(), &name, &ans(400, None, "100.00", "13")).unwrap();
    // A-10: the bare ts body.
    for (profile, ok) in [(Profile::Spec, false), (Profile::SyncstorageRs, true)] {
        let mut m = model_with(profile, true);
        run(&mut m, &put(0, "tabs", "a", json!({})), &wrote("100.00", "{T}")).unwrap();
        let del = Op::DeleteIds { user: 0, coll: "tabs".into(), ids: vec!["a".into()] };
        assert_eq!(run(&mut m, &del, &wrote("101.00", "{T}")).is_ok(), ok, "{profile}");
    }
    // H-06: info/quota without a quota has a null limit.
    let q = Op::Info { user: 0, view: InfoView::Quota };
    run(&mut model(), &q, &ans(200, Some("0.00"), "100.00", "[0.0, null]")).unwrap();
    assert_eq!(clause(run(&mut model(), &q, &ans(200, Some("0.00"), "100.00", "[0.0, 1000]"))), "H-06");
}

#[test]
fn paging_returns_every_match_once_in_order() {
    let mut m = model();
    for (id, t) in [("a", "100.00"), ("b", "101.00"), ("c", "102.00")] {
        run(&mut m, &put(0, "tabs", id, json!({"payload": id})), &wrote(t, "{T}")).unwrap();
    }
    let first = list("tabs", Query { sort: Some(Sort::Newest), limit: Some(2), ..Query::default() });
    let mut page1 = ans(200, Some("102.00"), "103.00", r#"["c","b"]"#);
    assert_eq!(clause(run(&mut m.clone(), &first, &page1)), "C-11", "a next offset is due");
    page1.next_offset = Some("Mg".into());
    assert_eq!(clause(run(&mut m.clone(), &first, &ans(200, Some("102.00"), "103.00", r#"["b","c"]"#))), "C-09");
    run(&mut m, &first, &page1).unwrap();
    assert!(m.can_page_on(0, "tabs"));
    let next = list("tabs", Query { offset: Some(OffsetRef::Next), limit: Some(2), ..Query::default() });
    assert_eq!(m.resolve(&next).path, "storage/tabs?sort=newest&limit=2&offset=Mg");
    assert_eq!(clause(run(&mut m.clone(), &next, &ans(200, Some("102.00"), "103.00", r#"["b"]"#))), "C-12");
    run(&mut m, &next, &ans(200, Some("102.00"), "103.00", r#"["a"]"#)).unwrap();
    assert!(!m.can_page_on(0, "tabs"));
    let junk = list("tabs", Query { offset: Some(OffsetRef::Literal("!!junk!!".into())), ..Query::default() });
    assert_eq!(clause(run(&mut m.clone(), &junk, &ans(200, Some("102.00"), "103.00", r#"["a","b","c"]"#))), "C-10");
    run(&mut m, &junk, &ans(400, None, "103.00", "0")).unwrap();
}

#[test]
fn a_wipe_of_empty_storage_may_leave_the_storage_ts_at_zero() {
    let wipe = Op::DeleteStorage { user: 0 };
    let info = Op::Info { user: 0, view: InfoView::Collections };
    let mut m = model();
    run(&mut m, &wipe, &wrote("100.00", "{}")).unwrap();
    run(&mut m.clone(), &info, &ans(200, Some("0.00"), "100.50", "{}")).unwrap();
    run(&mut m.clone(), &info, &ans(200, Some("100.00"), "100.50", "{}")).unwrap();
    assert_eq!(clause(run(&mut m, &info, &ans(200, Some("50.00"), "100.50", "{}"))), "D-03");
    assert_eq!(model().resolve(&Op::Wait { ms: 600 }).method, "WAIT");
}

#[test]
fn a_wipe_of_a_never_written_storage_may_answer_as_a_no_op() {
    let wipe = Op::DeleteStorage { user: 0 };
    // K-10: nothing was written, so no tombstone and the storage ts may stay 0.
    run(&mut model(), &wipe, &ans(200, Some("0.00"), "100.00", "{}")).unwrap();
    // Once something was written, the wipe is a write: 0.00 no longer fits (A-14, D-02).
    let mut m = model();
    run(&mut m, &put(0, "tabs", "a", json!({"payload": "x"})), &wrote("100.00", "{T}")).unwrap();
    assert_eq!(clause(run(&mut m, &wipe, &ans(200, Some("0.00"), "101.00", "{}"))), "D-02");
}

#[test]
fn a_restaged_null_clears_what_was_staged_before() {
    let mut m = model();
    let start = post("fz_a", json!([{"id": "a", "payload": "x", "sortindex": 3}]), BatchStep::Start { commit: false });
    run(&mut m, &start, &ans(202, Some("0.00"), "100.00", r#"{"batch":"b1","success":["a"],"failed":{}}"#)).unwrap();
    let append = post("fz_a", json!([{"id": "a", "sortindex": null}]), BatchStep::Continue { batch: BatchRef::Opened(0), commit: false });
    run(&mut m, &append, &ans(202, Some("0.00"), "100.01", r#"{"batch":"b1","success":["a"],"failed":{}}"#)).unwrap();
    let commit = post("fz_a", json!([]), BatchStep::Continue { batch: BatchRef::Opened(0), commit: true });
    run(&mut m, &commit, &wrote("100.02", r#"{"modified":{T},"success":[],"failed":{}}"#)).unwrap();
    // F-03, B-11: the null replaced the staged 3, so the record has no sortindex.
    let kept = ans(200, Some("100.02"), "100.03", r#"{"id":"a","modified":100.02,"payload":"x","sortindex":3}"#);
    assert_eq!(clause(run(&mut m.clone(), &get("fz_a", "a"), &kept)), "A-11");
    let cleared = ans(200, Some("100.02"), "100.03", r#"{"id":"a","modified":100.02,"payload":"x"}"#);
    run(&mut m, &get("fz_a", "a"), &cleared).unwrap();
}
