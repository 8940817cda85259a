//! insta snapshots of response shapes (a record, info/configuration, error bodies) and of the
//! reporters' output, with timestamps and uids redacted. Review changes with `cargo insta review`.

mod common;

use common::{SECRET, TestServer, get, put_json, send, snapshot_settings};
use reqwest::Method;
use serde_json::{Value, json};
use syncstorage_harness::client::SyncRequest;
use syncstorage_harness::conformance::{CaseReport, Failure, Limits, Outcome, Profile, Refusals, VariantFailure};
use syncstorage_harness::invariants::Violation;
use syncstorage_harness::report::{
    Counts, RunReport, SCHEMA, SCHEMA_VERSION, TargetSummary, Unchecked, junit_xml, render_markdown, render_table,
};

/// Replaces every number that looks like a Sync timestamp (seconds with two decimals, 10 digits)
/// with a placeholder.
fn redact_stamps(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let boundary = i == 0 || !bytes[i - 1].is_ascii_digit();
        if boundary && digits == 10 && bytes.get(i + 10) == Some(&b'.') && bytes.get(i + 11).is_some_and(u8::is_ascii_digit) {
            let frac = bytes[i + 11..].iter().take_while(|b| b.is_ascii_digit()).count();
            out.push_str("[ts]");
            i += 11 + frac;
        } else if digits > 0 {
            out.push_str(&text[i..i + digits]);
            i += digits;
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[tokio::test]
async fn response_shapes() {
    let server = TestServer::start().await;
    let user = server.user();
    put_json(&user, "storage/shapes/rec", json!({ "payload": "p", "sortindex": 3, "ttl": 60 })).await;
    let record = get(&user, "storage/shapes/rec").await.json().expect("record json");
    let config = get(&user, "info/configuration").await.json().expect("configuration json");
    snapshot_settings().bind(|| {
        insta::assert_json_snapshot!("record_object", record, { ".modified" => "[ts]" });
        insta::assert_json_snapshot!("info_configuration", config);
    });
}

#[tokio::test]
async fn error_bodies() {
    let server = TestServer::start().await;
    let user = server.user();
    let put = |path: &str| SyncRequest::put(path);
    let cases: Vec<(&str, SyncRequest)> = vec![
        ("unknown path", SyncRequest::get("nonexistent/url")),
        ("unsigned", SyncRequest::get("info/collections").unsigned()),
        ("bad collection name", SyncRequest::get("storage/bad!name")),
        ("unparseable PUT body", put("storage/c/a").header("content-type", "application/json").body("{")),
        ("PUT body not an object", put("storage/c/a").json(&json!(42))),
        ("unknown record field", put("storage/c/a").json(&json!({ "unexpected": 1 }))),
        ("unsupported content type", put("storage/c/a").header("content-type", "application/octet-stream").body("x")),
        ("unacceptable Accept", SyncRequest::get("storage/c").header("accept", "x/yy")),
        ("bad newer", SyncRequest::get("storage/c?newer=abc")),
        ("commit without batch", SyncRequest::post("storage/c?commit=true").json(&json!([]))),
        ("missing record", SyncRequest::get("storage/c/missing")),
        ("method not allowed", SyncRequest::new(Method::PATCH, "storage/c")),
        ("stale precondition", put("storage/c/b").json(&json!({ "payload": "x" })).header("x-if-unmodified-since", "0")),
    ];
    // The precondition case needs an existing record.
    send(&user, put("storage/c/b").json(&json!({ "payload": "x" }))).await;
    let mut shapes = Vec::new();
    for (name, req) in cases {
        let resp = send(&user, req).await;
        shapes.push(json!({
            "case": name,
            "status": resp.status_code(),
            "content_type": resp.header("content-type"),
            "body": resp.text(),
        }));
    }
    snapshot_settings().bind(|| insta::assert_json_snapshot!("error_bodies", shapes));
    let _ = SECRET;
}

fn sample_report() -> RunReport {
    let limits = Limits {
        max_post_records: 100,
        max_post_bytes: 2_621_440,
        max_record_payload_bytes: 2_621_440,
        max_request_bytes: 2_625_536,
        max_total_records: 10_000,
        max_total_bytes: 262_144_000,
        max_quota_limit: Some(2_097_152_000),
    };
    let case = |clause: &'static str, title: &'static str, outcome: Outcome| CaseReport {
        clause,
        title,
        upstream: vec![],
        target: "reference".into(),
        outcome,
        duration_ms: 12,
        uids: vec![9_000_000_001],
        compat: vec![],
        variants: vec![],
        refusals: Refusals::default(),
        violations: vec![],
        invariant_error: None,
        transcripts: vec![],
        judges_refusals: false,
    };
    let mut failed = case(
        "D-06",
        "a stale X-If-Unmodified-Since gives 412",
        Outcome::Fail { failure: Failure::mismatch("PUT /1.5/9000000001/storage/c/a: unexpected status", 412, "200 1795000000.12") },
    );
    failed.transcripts =
        vec!["> PUT /1.5/9000000001/storage/c/a\n> x-if-unmodified-since: 1795000000.11\n< 200 OK\n< 1795000000.12".into()];
    let mut corpus =
        case("E-11", "a payload corpus reads back exactly", Outcome::Fail { failure: Failure::new("1 of 3 variants failed: PUT astral") });
    corpus.variants = vec![VariantFailure {
        name: "PUT astral".into(),
        failure: Failure::mismatch("payload read back", "\"𝄞\"", "\"\u{fffd}\""),
        transcripts: vec!["> GET /1.5/9000000001/storage/e11put_abcde/p12\n< 200 OK\n< {\"payload\":\"\u{fffd}\"}".into()],
    }];
    corpus.refusals = Refusals { conflict: 0, unavailable: 2, retried: 2, gave_up: 0, resent_on_new_connection: 1 };
    let mut compat = case("A-10", "DELETE ?ids answers {\"modified\": T}", Outcome::Compat);
    compat.compat = vec!["body is a bare ts number".into()];
    let mut violated = case("K-28", "totals", Outcome::Pass);
    violated.clause = "E-02";
    violated.title = "success means stored";
    violated.violations = vec![Violation {
        clause: "K-28",
        name: "totals-match-live-records",
        rows: vec!["user_id=9000000001 collection_id=101 count=2 total_bytes=3 n=1 bytes=1".into()],
    }];
    let cases = vec![
        case("A-07", "an unknown collection lists as []", Outcome::Pass),
        compat,
        failed,
        corpus,
        case("H-03", "over quota writes are refused", Outcome::Skip { reason: "the target enforces no quota".into() }),
        violated,
    ];
    RunReport {
        schema: SCHEMA,
        schema_version: SCHEMA_VERSION,
        harness_version: "test",
        seed: 42,
        profile: Profile::SyncstorageRs,
        targets: vec![TargetSummary {
            label: "reference".into(),
            url: "http://127.0.0.1:8000/".into(),
            limits,
            quota: None,
            test_clock: true,
        }],
        uid_range: [9_000_000_000, 9_000_000_006],
        replay: "syncstorage-harness conformance --seed 42 --filter D-06 --filter E-11".into(),
        replay_base: "syncstorage-harness conformance --seed 42".into(),
        refusals: Refusals { conflict: 0, unavailable: 2, retried: 2, gave_up: 0, resent_on_new_connection: 1 },
        started_at_unix: 1_795_000_000,
        duration_ms: 345,
        counts: Counts::of(&cases),
        cases,
        unchecked: vec![Unchecked { clause: "J-14", reason: "needs the database stopped" }],
    }
}

#[test]
fn reporters() {
    let report = sample_report();
    let json: Value = serde_json::to_value(&report).expect("report serializes");
    snapshot_settings().bind(|| {
        insta::assert_snapshot!("report_terminal", redact_stamps(&render_table(&report)));
        insta::assert_snapshot!("report_junit", redact_stamps(&junit_xml(&report)));
        insta::assert_snapshot!("report_markdown", redact_stamps(&render_markdown(&report)));
        insta::assert_json_snapshot!("report_json", json, {
            ".started_at_unix" => "[time]",
            ".duration_ms" => "[duration]",
            ".cases[].duration_ms" => "[duration]",
        });
    });
}

#[test]
fn stamp_redaction_only_touches_timestamps() {
    assert_eq!(redact_stamps("t=1795000000.12, n=42, 12345678901.5"), "t=[ts], n=42, 12345678901.5");
    assert_eq!(redact_stamps("uids 9000000000..9000000006"), "uids 9000000000..9000000006");
}
