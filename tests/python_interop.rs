//! Tokens and Hawk signatures interoperate with Python's `tokenlib` and `hawkauthlib`, the
//! libraries the tokenserver and syncstorage-rs's own test suite use, in both directions:
//! Python-minted tokens and Python-signed requests are accepted by the reference backend, and
//! tokens minted and requests signed by this harness are accepted by Python's verifier.
//!
//! The Python interpreter is `SYNCSTORAGE_HARNESS_TEST_PYTHON` (`.ci/run` sets it up); without
//! it, the test makes a virtualenv under `target/` and installs the two packages from PyPI.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use common::{Check, SECRET, TestServer, get};
use serde_json::Value;
use syncstorage_harness::client::{SyncClient, SyncRequest};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use url::Url;

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/hawk_peer.py");

fn run(cmd: &mut std::process::Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("failed to run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// A Python with tokenlib and hawkauthlib.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Ok(p) = std::env::var("SYNCSTORAGE_HARNESS_TEST_PYTHON") {
            return PathBuf::from(p);
        }
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/interop-venv");
        let python = venv.join("bin/python");
        if !python.exists() {
            run(std::process::Command::new("python3").args(["-m", "venv"]).arg(&venv));
        }
        run(std::process::Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "tokenlib==2.0.0",
            "hawkauthlib==2.0.0",
        ]));
        python
    })
}

#[tokio::test]
async fn python_tokens_and_signatures_are_accepted_by_the_reference_backend() {
    let server = TestServer::start().await;
    let uid = common::fresh_uid();
    let out = Command::new(python())
        .arg(PEER)
        .args(["client", &server.url(), SECRET, &uid.to_string()])
        .output()
        .await
        .expect("run the python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "python client failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for line in &lines {
        assert_eq!(line["status"], 200, "python request refused: {line}");
    }
    let record: Value = serde_json::from_str(lines[1]["body"].as_str().expect("body")).expect("record json");
    assert_eq!(record["payload"], "from python");
    // The same data is visible to this harness's own client for that uid.
    let user = server.client.user(SECRET, uid);
    let resp = get(&user, "storage/interop/py").await;
    assert_eq!(resp.status_is(200).json_body()["payload"], "from python");
    // A Python token signed with another secret is refused (J-05).
    let out = Command::new(python())
        .arg(PEER)
        .args(["client", &server.url(), "not-the-secret", &uid.to_string()])
        .output()
        .await
        .expect("run the python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines() {
        let line: Value = serde_json::from_str(line).expect("json line");
        assert_eq!(line["status"], 401, "token from a wrong secret accepted: {line}");
        assert_eq!(line["body"], "0");
    }
}

#[tokio::test]
async fn harness_tokens_and_signatures_are_accepted_by_python() {
    let mut child = Command::new(python())
        .arg(PEER)
        .args(["server", SECRET])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the python verifier");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("python verifier printed its port in time")
        .expect("read stdout")
        .expect("a PORT line");
    let port: u16 = first.strip_prefix("PORT ").and_then(|p| p.parse().ok()).expect("PORT n");
    let client = SyncClient::new(Url::parse(&format!("http://127.0.0.1:{port}")).expect("url")).expect("client");
    let user = client.user(SECRET, 4242);

    for req in [
        SyncRequest::get("info/collections"),
        SyncRequest::get("storage/bookmarks?full=1&ids=a%2Cb&sort=newest"),
        SyncRequest::put("storage/tabs/some%20id").json(&serde_json::json!({ "payload": "x" })),
        SyncRequest::delete("storage/tabs"),
    ] {
        let resp = user.send(req).await.expect("request to the python verifier");
        resp.status_is(200);
        let body = resp.json_body();
        assert_eq!(body["uid"], 4242, "{}", resp.transcript());
        assert_eq!(body["node"], format!("http://127.0.0.1:{port}"));
    }
    // And it refuses what it should: a wrong key, so the check above can fail.
    let resp = user.send(SyncRequest::get("info/collections").wrong_key()).await.expect("request");
    resp.status_is(401);
    let other_secret = client.user("another-secret", 4242);
    let resp = other_secret.get("info/collections").await.expect("request");
    resp.status_is(401);
}
