//! Shared set-up for the integration tests: one throwaway PostgreSQL per test binary (or the one
//! named by `SYNCSTORAGE_HARNESS_DATABASE_URL`), a reference backend per test so that each test
//! picks its own settings, and a fresh uid for every user so tests never share data.
//!
//! The helpers the area tests share sit in submodules by role: `invariants` (SPEC area K on the
//! database, through the product's checker), `read` (what a user has stored, and POST answers),
//! `ts` (server timestamps as integers), `body` (request bodies and raw requests) and `batch`
//! (batch uploads).
#![allow(dead_code, reason = "each test binary uses a different part of this module")]

pub mod batch;
pub mod body;
pub mod invariants;
pub mod read;
pub mod ts;

#[allow(unused_imports, reason = "only the binaries that check invariants use it")]
pub use invariants::assert_invariants;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use reference_backend::{Config, RunningServer};
use serde_json::Value;
use syncstorage_harness::client::{SyncClient, SyncRequest, SyncResponse, SyncUser};
use syncstorage_harness::provision::{self, Postgres, ProvisionOptions};
use url::Url;

/// The secret every test server is started with.
pub const SECRET: &str = "integration-test-secret";

static DATABASE: OnceLock<String> = OnceLock::new();
static CLUSTER: Mutex<Option<Postgres>> = Mutex::new(None);

extern "C" fn stop_cluster() {
    provision::cleanup_all();
}

/// The database every test of this binary shares; started on first use, stopped at exit.
pub fn database_url() -> &'static str {
    DATABASE.get_or_init(|| {
        let options = ProvisionOptions {
            database_url: std::env::var("SYNCSTORAGE_HARNESS_DATABASE_URL").ok(),
            allow_container: false,
            ..ProvisionOptions::default()
        };
        // Provisioning runs on its own thread and runtime: the caller may be inside a test's
        // runtime, where blocking on another is not allowed.
        let pg = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(provision::provision(&options)).map_err(Box::new)
        })
        .join()
        .expect("provisioning thread")
        .unwrap_or_else(|e| panic!("failed to provision PostgreSQL for the tests: {e}"));
        let url = pg.url().to_owned();
        *CLUSTER.lock().unwrap_or_else(|p| p.into_inner()) = Some(pg);
        // SAFETY: registers a plain function with no captured state to run at process exit.
        unsafe { libc::atexit(stop_cluster) };
        url
    })
}

/// A uid no other test of any binary running at the same time will use.
pub fn fresh_uid() -> u64 {
    static NEXT: OnceLock<AtomicU64> = OnceLock::new();
    let next = NEXT.get_or_init(|| {
        // Spread binaries apart: each starts at a random multiple of one million.
        let base = 1_000_000_000 + (rand::random::<u64>() % 7_000) * 1_000_000;
        AtomicU64::new(base)
    });
    next.fetch_add(1, Ordering::Relaxed)
}

/// A reference backend on a free loopback port, for one test.
pub struct TestServer {
    pub server: RunningServer,
    pub client: SyncClient,
}

impl TestServer {
    /// Default settings with the test clock on.
    pub async fn start() -> Self {
        Self::with(|_| {}).await
    }

    /// Settings adjusted by `adjust`; the test clock is on unless `adjust` turns it off.
    pub async fn with(adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::new(SECRET);
        config.test_clock = true;
        adjust(&mut config);
        let server = provision::start_reference(config, database_url(), "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("reference backend starts");
        let client = SyncClient::new(Url::parse(&server.url()).expect("server url")).expect("client");
        Self { server, client }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A user with a fresh uid and a valid token.
    pub fn user(&self) -> SyncUser {
        self.client.user(SECRET, fresh_uid())
    }

    /// Moves the server's test clock forward.
    pub async fn advance_ms(&self, ms: i64) {
        let resp = self
            .client
            .send(SyncRequest::post("/__test__/clock").json(&serde_json::json!({ "advance_ms": ms })))
            .await
            .expect("clock request");
        assert_eq!(resp.status_code(), 200, "{}", resp.transcript());
    }

    /// The server's test clock, in milliseconds since the epoch.
    pub async fn now_ms(&self) -> i64 {
        self.clock_ms("/__test__/clock").await
    }

    /// The server's test clock as `uid` sees it (a clock moved for one user runs ahead for it).
    pub async fn now_ms_for(&self, uid: u64) -> i64 {
        self.clock_ms(&format!("/__test__/clock?uid={uid}")).await
    }

    async fn clock_ms(&self, path: &str) -> i64 {
        let resp = self.client.send(SyncRequest::get(path)).await.expect("clock request");
        resp.status_is(200).json_body()["now_ms"].as_i64().unwrap_or_else(|| panic!("clock answer without now_ms\n{}", resp.transcript()))
    }

    /// A direct connection to the test database, for checks the API cannot make.
    pub async fn db(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(database_url(), tokio_postgres::NoTls).await.expect("database connection");
        tokio::spawn(conn);
        client
    }
}

/// insta settings shared by every snapshot test: snapshots live in `snapshots/` at the root.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Assertions on a response that print the whole exchange when they fail.
pub trait Check {
    fn status_is(&self, status: u16) -> &Self;
    fn weave_error(&self, status: u16, code: u32) -> &Self;
    fn empty_body(&self) -> &Self;
    fn json_body(&self) -> Value;
    fn header_str(&self, name: &str) -> String;
    fn ts_header(&self, name: &str) -> f64;
}

impl Check for SyncResponse {
    fn status_is(&self, status: u16) -> &Self {
        assert_eq!(self.status_code(), status, "unexpected status\n{}", self.transcript());
        self
    }

    fn weave_error(&self, status: u16, code: u32) -> &Self {
        self.status_is(status);
        assert_eq!(self.text().trim(), code.to_string(), "unexpected error body\n{}", self.transcript());
        let ct = self.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("application/json"), "error body is not JSON\n{}", self.transcript());
        self
    }

    fn empty_body(&self) -> &Self {
        assert!(self.body().is_empty(), "body should be empty\n{}", self.transcript());
        self
    }

    fn json_body(&self) -> Value {
        self.json().unwrap_or_else(|e| panic!("body is not JSON ({e})\n{}", self.transcript()))
    }

    fn header_str(&self, name: &str) -> String {
        self.header(name).unwrap_or_else(|| panic!("missing header {name}\n{}", self.transcript())).to_owned()
    }

    fn ts_header(&self, name: &str) -> f64 {
        let raw = self.header_str(name);
        raw.parse().unwrap_or_else(|_| panic!("header {name} is not a number: {raw}\n{}", self.transcript()))
    }
}

/// Sends and unwraps (a transport failure is a test failure).
pub async fn send(user: &SyncUser, req: SyncRequest) -> SyncResponse {
    user.send(req).await.unwrap_or_else(|e| panic!("request failed: {e}"))
}

pub async fn get(user: &SyncUser, path: &str) -> SyncResponse {
    send(user, SyncRequest::get(path)).await
}

pub async fn put_json(user: &SyncUser, path: &str, body: Value) -> SyncResponse {
    send(user, SyncRequest::put(path).json(&body)).await
}

pub async fn post_json(user: &SyncUser, path: &str, body: Value) -> SyncResponse {
    send(user, SyncRequest::post(path).json(&body)).await
}

pub async fn delete(user: &SyncUser, path: &str) -> SyncResponse {
    send(user, SyncRequest::delete(path)).await
}
