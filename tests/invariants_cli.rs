//! `invariants` on a database the reference backend wrote: clean, then naming the violation with
//! its rows once a row is corrupted by hand; run as a role that may only read, with every table
//! the same afterwards, which proves the command only reads.

mod common;

use std::process::Command;

use common::{Check, TestServer, database_url, post_json, put_json};
use serde_json::json;

/// A digest of every row of the storage tables.
async fn digest(db: &tokio_postgres::Client) -> String {
    let mut out = String::new();
    for table in ["user_collections", "bsos", "batches", "batch_bsos", "collections"] {
        let sql = format!("SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-') FROM {table} t");
        let row = db.query_one(sql.as_str(), &[]).await.expect("digest query");
        out.push_str(&format!("{table}={} ", row.get::<_, String>(0)));
    }
    out
}

/// Runs the command against `url` for `uid`; returns its exit code and stdout.
fn run(url: &str, uid: u64) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_syncstorage-harness"))
        .args(["invariants", "--database-url", url, "--users", &uid.to_string(), "--totals", "on"])
        .env_remove("SYNCSTORAGE_HARNESS_DATABASE_URL")
        .output()
        .expect("the harness runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invariants_is_clean_on_a_written_database_names_a_corrupted_row_and_only_reads() {
    let server = TestServer::start().await;
    let user = server.user();
    let uid = user.uid();
    put_json(&user, "storage/tabs/a", json!({"payload": "x", "sortindex": 1})).await.status_is(200);
    post_json(&user, "storage/history", json!([{"id": "b", "payload": "yy"}, {"id": "c", "payload": "zzz", "ttl": 3600}]))
        .await
        .status_is(200);
    post_json(&user, "storage/history?batch=true", json!([{"id": "d", "payload": "w"}])).await.status_is(202);

    // A role that can read the tables and do nothing else.
    let db = server.db().await;
    db.batch_execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'harness_auditor') THEN \
           CREATE ROLE harness_auditor LOGIN; END IF; END $$; \
         GRANT SELECT ON user_collections, bsos, batches, batch_bsos, collections TO harness_auditor;",
    )
    .await
    .expect("the read-only role is created");
    let mut auditor = url::Url::parse(database_url()).expect("database url");
    auditor.set_username("harness_auditor").expect("a url with a user");
    auditor.set_password(None).expect("no password");

    let before = digest(&db).await;
    let (code, out) = run(auditor.as_str(), uid);
    assert_eq!(code, 0, "clean database:\n{out}");
    assert!(out.contains("K-28") && out.contains("every invariant holds"), "{out}");
    assert!(!out.contains("skipped"), "totals are on:\n{out}");

    db.execute("UPDATE user_collections SET count = count + 5 WHERE user_id = $1 AND count IS NOT NULL", &[&(uid as i64)])
        .await
        .expect("the row is corrupted by hand");
    let corrupted = digest(&db).await;
    let (code, out) = run(auditor.as_str(), uid);
    assert_eq!(code, 2, "a violated invariant exits 2:\n{out}");
    let line = out.lines().find(|l| l.starts_with("K-28")).unwrap_or_else(|| panic!("no K-28 line:\n{out}"));
    assert!(line.contains("VIOLATED"), "{out}");
    assert!(out.contains(&format!("user_id={uid}")), "the violating row is shown:\n{out}");
    assert_ne!(before, corrupted, "the corruption changed the digest");
    assert_eq!(digest(&db).await, corrupted, "the command wrote nothing");
}

#[test]
fn an_unreachable_database_exits_3_with_a_message() {
    let (code, out) = run("postgres://nobody@127.0.0.1:1/none", 1);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("error"), "{out}");
}
