//! The step vocabulary of a case: send a request as a fresh user of the run's own uid range,
//! check status, error body, headers and JSON, capture timestamps, let time pass. Every exchange
//! is recorded, concurrent ones and refused-then-retried ones included, so that a failure can
//! show its transcript.
//!
//! Three things make a case independent of every other case and of its position in the run:
//! - its random choices come from a seed derived from the run seed and the case's identity
//!   (clause and title), so a `replay:` line that filters the run down to it sees the same inputs;
//! - its users come from a uid block fixed by the case's place in the whole catalog;
//! - the custom collection names it writes carry a suffix derived from the run seed and the case
//!   ([`Names`]), so cases running at once never race on the server's first use of a name (SPEC
//!   K-02 step 1) unless they mean to. Standard collections, invalid names and names too long to
//!   take the suffix go out as written. The case code uses the plain names; the suffix is added on
//!   the way out and taken off the keys of the info/collections, collection_counts and
//!   collection_usage maps on the way back. Transcripts show what went over the wire.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

use crate::client::{Refusal, RetryPolicy, SyncRequest, SyncResponse, SyncUser};
use crate::run::seed::{fnv1a, mix};
use crate::run::{CaseResult, Failure, Refusals, UIDS_PER_CASE, VariantFailure};
use crate::sync::{Limits, Profile, Stamp};
use crate::target::Target;

/// The standard collections (K-23): they exist before any write, so nothing races on them.
const STANDARD_COLLECTIONS: [&str; 13] = [
    "clients",
    "crypto",
    "forms",
    "history",
    "keys",
    "meta",
    "bookmarks",
    "prefs",
    "tabs",
    "passwords",
    "addons",
    "addresses",
    "creditcards",
];

/// The case's collection-name suffix (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    suffix: String,
}

impl Names {
    /// `_` and five base-36 characters from the run seed and the case.
    pub fn for_case(run_seed: u64, clause: &str, title: &str) -> Self {
        let mut n = mix(run_seed.rotate_left(17) ^ fnv1a(&["names", clause, title]));
        let mut suffix = String::from("_");
        for _ in 0..5 {
            suffix.push(char::from(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]));
            n /= 36;
        }
        Self { suffix }
    }

    /// No suffix at all (names go out as written).
    pub fn none() -> Self {
        Self { suffix: String::new() }
    }

    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    /// The name `logical` has on the wire.
    pub fn wire(&self, logical: &str) -> String {
        let custom = !logical.is_empty()
            && logical.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && !STANDARD_COLLECTIONS.contains(&logical)
            && logical.len() + self.suffix.len() <= 32;
        if custom && !self.suffix.is_empty() { format!("{logical}{}", self.suffix) } else { logical.to_owned() }
    }

    /// Where the collection segment starts in a request path, and whether the path is one of
    /// the info maps keyed by collection names.
    fn locate(path: &str) -> (Option<usize>, bool) {
        let user_root = if path.starts_with('/') {
            // `/1.5/{uid}/...`
            let mut parts = path.splitn(4, '/');
            let (_, version, uid) = (parts.next(), parts.next(), parts.next());
            if version != Some("1.5") || uid.is_none() || parts.next().is_none() {
                return (None, false);
            }
            5 + uid.map_or(0, str::len) + 1
        } else {
            0
        };
        let rest = &path[user_root..];
        let info = ["info/collections", "info/collection_counts", "info/collection_usage"]
            .iter()
            .any(|p| rest.starts_with(p) && matches!(rest.as_bytes().get(p.len()), None | Some(b'?')));
        (rest.starts_with("storage/").then_some(user_root + "storage/".len()), info)
    }

    /// `path` with its collection segment renamed.
    pub fn apply(&self, path: &str) -> String {
        if self.suffix.is_empty() {
            return path.to_owned();
        }
        let (Some(at), _) = Self::locate(path) else { return path.to_owned() };
        let end = path[at..].find(['/', '?']).map_or(path.len(), |i| at + i);
        format!("{}{}{}", &path[..at], self.wire(&path[at..end]), &path[end..])
    }

    /// Takes the suffix off the keys of an info map answer to `path`.
    fn restore(&self, path: &str, body: &mut Vec<u8>) {
        if self.suffix.is_empty() || !Self::locate(path).1 {
            return;
        }
        let needle = format!("{}\"", self.suffix).into_bytes();
        if !body.windows(needle.len()).any(|w| w == needle.as_slice()) {
            return;
        }
        let mut out = Vec::with_capacity(body.len());
        let mut i = 0;
        while i < body.len() {
            if body[i..].starts_with(&needle) {
                out.push(b'"');
                i += needle.len();
            } else {
                out.push(body[i]);
                i += 1;
            }
        }
        *body = out;
    }
}

/// What a case leaves behind for the report.
#[derive(Debug, Default)]
pub struct CaseLog {
    pub transcripts: Vec<String>,
    pub compat: Vec<String>,
    pub uids: Vec<u64>,
    pub refusals: Refusals,
    pub variants: Vec<VariantFailure>,
    pub variants_run: usize,
}

/// Longest a case may wait on a real clock (SPEC: bounded waits).
pub const REAL_WAIT_BUDGET: Duration = Duration::from_secs(3);

/// Where a case stands in the run: its seed, its users, its names, its deadline.
#[derive(Debug, Clone)]
pub struct CasePlace {
    pub seed: u64,
    pub uids: std::ops::Range<u64>,
    pub names: Names,
    pub deadline: tokio::time::Instant,
}

/// The part of a case's handle that concurrent sends share.
#[derive(Clone)]
struct Wire {
    target: Arc<Target>,
    log: Arc<Mutex<CaseLog>>,
    names: Arc<Names>,
    deadline: tokio::time::Instant,
}

impl Wire {
    fn log(&self) -> std::sync::MutexGuard<'_, CaseLog> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `req` (as `user`, or anonymously), sends a refused write again as `policy` allows,
    /// and records every exchange, `note` first.
    async fn exchange(
        &self,
        user: Option<&SyncUser>,
        req: SyncRequest,
        policy: RetryPolicy,
        note: Option<String>,
    ) -> Result<Resp, Failure> {
        let path = self.names.apply(req.path());
        let req = req.with_path(path.clone());
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            let sent = match user {
                Some(u) => u.send(req.clone()).await,
                None => self.target.client.send(req.clone()).await,
            };
            let mut resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    let mut t = note.as_ref().map(|n| format!("# {n}\n")).unwrap_or_default();
                    t.push_str(&format!("> {} {}\n! no answer: {e}\n", req.method(), req.path()));
                    self.log().transcripts.push(t);
                    return Err(Failure::new(format!("request failed: {e}")));
                }
            };
            let mut header = note.as_ref().map(|n| format!("# {n}\n")).unwrap_or_default();
            if resp.was_resent() {
                self.log().refusals.resent_on_new_connection += 1;
            }
            let refusal = Refusal::of(&resp);
            let mut retry_in = None;
            if let Some(kind) = refusal {
                attempt += 1;
                retry_in = policy
                    .delay(attempt, waited, std::time::SystemTime::now())
                    .filter(|d| tokio::time::Instant::now() + *d < self.deadline);
                let mut log = self.log();
                match kind {
                    Refusal::Conflict => log.refusals.conflict += 1,
                    Refusal::Unavailable => log.refusals.unavailable += 1,
                }
                match retry_in {
                    Some(d) => {
                        log.refusals.retried += 1;
                        header.push_str(&format!("# refused ({kind:?}); sending it again in {} ms (retry {attempt})\n", d.as_millis()));
                    }
                    None if policy.max_retries > 0 => {
                        log.refusals.gave_up += 1;
                        header.push_str(&format!("# refused ({kind:?}); no retry left after {attempt} attempt(s)\n"));
                    }
                    None => {}
                }
            }
            self.log().transcripts.push(header + &resp.transcript());
            match retry_in {
                Some(d) => {
                    tokio::time::sleep(d).await;
                    waited += d;
                }
                None => {
                    self.names.restore(&path, resp.body_mut());
                    return Ok(Resp(resp));
                }
            }
        }
    }
}

/// A case's handle on the run.
pub struct Ctx {
    wire: Wire,
    profile: Profile,
    uids: std::ops::Range<u64>,
    me: Option<SyncUser>,
    rng: StdRng,
    waited: Duration,
    retry: RetryPolicy,
}

/// A variant being checked: its name and where its exchanges start in the transcript.
#[derive(Debug)]
#[must_use = "settle the variant with its result"]
pub struct Variant {
    name: String,
    mark: usize,
}

impl Ctx {
    pub fn new(target: Arc<Target>, profile: Profile, place: CasePlace, log: Arc<Mutex<CaseLog>>) -> Self {
        Self {
            wire: Wire { target, log, names: Arc::new(place.names), deadline: place.deadline },
            profile,
            uids: place.uids,
            me: None,
            rng: StdRng::seed_from_u64(place.seed),
            waited: Duration::ZERO,
            retry: RetryPolicy::default(),
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, CaseLog> {
        self.wire.log()
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn target(&self) -> &Target {
        &self.wire.target
    }

    /// The target's published limits; cases never hard-code them.
    pub fn limits(&self) -> &Limits {
        &self.wire.target.limits
    }

    /// The enforced quota in bytes, if any.
    pub fn quota(&self) -> Option<u64> {
        self.wire.target.quota
    }

    /// Randomness derived from the run's seed and this case.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// The name custom collection `logical` has on the wire in this case.
    pub fn wire_name(&self, logical: &str) -> String {
        self.wire.names.wire(logical)
    }

    /// A new user with a fresh uid from the case's block; its data is deleted after the case.
    pub fn user(&mut self) -> SyncUser {
        let uid = self.uids.next().unwrap_or_else(|| {
            // A catalog bug, not a server's: the runner reports the panic as this case's failure.
            panic!("the case asked for more than {UIDS_PER_CASE} users")
        });
        self.log().uids.push(uid);
        self.wire.target.user(uid)
    }

    /// The case's own user, created on first use.
    pub fn me(&mut self) -> SyncUser {
        if let Some(me) = &self.me {
            return me.clone();
        }
        let user = self.user();
        self.me = Some(user.clone());
        user
    }

    /// Sends `req` as `user` and records the exchange; a refused write is sent again
    /// ([`RetryPolicy`]).
    pub async fn send_as(&mut self, user: &SyncUser, req: SyncRequest) -> Result<Resp, Failure> {
        self.wire.exchange(Some(user), req, self.retry, None).await
    }

    /// Sends `req` as the case's own user.
    pub async fn send(&mut self, req: SyncRequest) -> Result<Resp, Failure> {
        let me = self.me();
        self.send_as(&me, req).await
    }

    /// Sends `req` as the case's own user once: a refusal is the answer, not retried.
    pub async fn send_once(&mut self, req: SyncRequest) -> Result<Resp, Failure> {
        let me = self.me();
        self.wire.exchange(Some(&me), req, RetryPolicy::NEVER, None).await
    }

    /// Sends every request at once, each as its user; answers come back in request order, and
    /// every exchange is recorded, marked with its place in the group.
    pub async fn send_all(&mut self, reqs: Vec<(SyncUser, SyncRequest)>) -> Vec<Result<Resp, Failure>> {
        let n = reqs.len();
        let policy = self.retry;
        let sends = reqs.into_iter().enumerate().map(|(i, (user, req))| {
            let wire = self.wire.clone();
            async move { wire.exchange(Some(&user), req, policy, Some(format!("concurrent {}/{n}", i + 1))).await }
        });
        futures_util::future::join_all(sends).await
    }

    /// Sends an absolute-path request without a user (`/__heartbeat__`).
    pub async fn send_anon(&mut self, req: SyncRequest) -> Result<Resp, Failure> {
        self.wire.exchange(None, req, RetryPolicy::NEVER, None).await
    }

    pub async fn get(&mut self, path: &str) -> Result<Resp, Failure> {
        self.send(SyncRequest::get(path)).await
    }

    pub async fn put(&mut self, path: &str, body: Value) -> Result<Resp, Failure> {
        self.send(SyncRequest::put(path).json(&body)).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Result<Resp, Failure> {
        self.send(SyncRequest::post(path).json(&body)).await
    }

    pub async fn delete(&mut self, path: &str) -> Result<Resp, Failure> {
        self.send(SyncRequest::delete(path)).await
    }

    /// Starts checking one of the case's independent variants; settle it with its result.
    pub fn variant(&mut self, name: impl Into<String>) -> Variant {
        let mut log = self.log();
        log.variants_run += 1;
        Variant { name: name.into(), mark: log.transcripts.len() }
    }

    /// Records the result of `variant`: a failure is kept with the exchanges made since it began,
    /// and fails the case at its end (every other variant still runs).
    pub fn settle(&mut self, variant: Variant, result: CaseResult) {
        if let Err(failure) = result {
            let mut log = self.log();
            let transcripts = log.transcripts[variant.mark.min(log.transcripts.len())..].to_vec();
            log.variants.push(VariantFailure { name: variant.name, failure, transcripts });
        }
    }

    /// Lets `by` pass on the server for the case's users so far: moves their test clocks, or
    /// waits on a real clock within [`REAL_WAIT_BUDGET`] per case.
    pub async fn pass_time(&mut self, by: Duration) -> CaseResult {
        if self.wire.target.test_clock {
            let uids = self.log().uids.clone();
            for uid in uids {
                self.wire.target.advance_clock(uid, by).await.map_err(|e| Failure::new(format!("could not move the test clock: {e}")))?;
            }
            return Ok(());
        }
        if self.waited + by > REAL_WAIT_BUDGET {
            return Err(Failure::new(format!(
                "this case would wait more than {REAL_WAIT_BUDGET:?} on a real clock; it needs a test clock"
            )));
        }
        self.waited += by;
        tokio::time::sleep(by).await;
        Ok(())
    }

    /// Accepts `compat` in place of `rule` under `--profile syncstorage-rs` (and notes it so the
    /// case reports as compat); under `--profile spec` only the rule passes.
    pub fn rule_or_compat(&mut self, rule: CaseResult, compat: impl FnOnce() -> CaseResult, note: &str) -> CaseResult {
        match rule {
            Ok(()) => Ok(()),
            Err(failure) if self.profile == Profile::SyncstorageRs => match compat() {
                Ok(()) => {
                    self.log().compat.push(format!("{note} ({})", failure.message));
                    Ok(())
                }
                // The compat reading fails too: its own complaint is the more precise one.
                Err(also) => Err(Failure {
                    message: format!("{}; not even the syncstorage-rs reading holds ({note}): {}", failure.message, also.message),
                    ..failure
                }),
            },
            Err(failure) => Err(failure),
        }
    }
}

/// A response with checks that fail the case with the exchange in view.
#[derive(Debug, Clone)]
pub struct Resp(pub SyncResponse);

impl Resp {
    pub fn code(&self) -> u16 {
        self.0.status_code()
    }

    pub fn text(&self) -> String {
        self.0.text().into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.0.header(name)
    }

    /// The status must be `expected`.
    pub fn status(&self, expected: u16) -> Result<&Self, Failure> {
        if self.code() != expected {
            return Err(Failure::mismatch(
                format!("{} {}: unexpected status", self.0.request().method, self.0.request().resource()),
                expected,
                format!("{} {}", self.code(), self.text().chars().take(200).collect::<String>()),
            ));
        }
        Ok(self)
    }

    /// The status must be 2xx.
    pub fn success(&self) -> Result<&Self, Failure> {
        if !(200..300).contains(&self.code()) {
            return Err(Failure::mismatch("expected success", "2xx", self.code()));
        }
        Ok(self)
    }

    /// `status` with a bare JSON integer body `code`, sent as JSON (J-01).
    pub fn error(&self, status: u16, code: u32) -> Result<&Self, Failure> {
        self.status(status)?;
        let body = self.text();
        if body.trim() != code.to_string() {
            return Err(Failure::mismatch(format!("error body of a {status}"), code, body));
        }
        let ct = self.header("content-type").unwrap_or("");
        if !ct.starts_with("application/json") {
            return Err(Failure::mismatch("error body content type", "application/json", ct));
        }
        Ok(self)
    }

    /// The body must be empty (304, 405, 412).
    pub fn empty(&self) -> Result<&Self, Failure> {
        if !self.0.body().is_empty() {
            return Err(Failure::mismatch("body", "empty", self.text()));
        }
        Ok(self)
    }

    pub fn json(&self) -> Result<Value, Failure> {
        self.0.json().map_err(|e| Failure::mismatch("body is not JSON", "JSON", format!("{e}: {}", self.text())))
    }

    pub fn require_header(&self, name: &str) -> Result<&str, Failure> {
        self.header(name).ok_or_else(|| Failure::new(format!("missing header {name}")))
    }

    /// A timestamp header, which must be written with two decimals (I-01).
    pub fn stamp(&self, name: &str) -> Result<Stamp, Failure> {
        Stamp::parse(self.require_header(name)?).map_err(|m| Failure::new(format!("header {name}: {m}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_collection_names_take_the_case_suffix_both_ways() {
        let names = Names::for_case(7, "D-06", "a title");
        let sfx = names.suffix().to_owned();
        assert_eq!(sfx.len(), 6);
        assert_eq!(names.apply("storage/col/a?x=1"), format!("storage/col{sfx}/a?x=1"));
        assert_eq!(names.apply("storage/col?full=1"), format!("storage/col{sfx}?full=1"));
        assert_eq!(names.apply("storage/col"), format!("storage/col{sfx}"));
        assert_eq!(names.apply("/1.5/42/storage/col/a"), format!("/1.5/42/storage/col{sfx}/a"));
        // Standard, invalid, percent-encoded and too long names go out as written.
        for path in ["storage/meta/global", "storage/bad!name", "storage/%00", "storage/", "info/collections", "storage/a%20b"] {
            assert_eq!(names.apply(path), path);
        }
        let long = "x".repeat(27);
        assert_eq!(names.apply(&format!("storage/{long}")), format!("storage/{long}"));
        let fits = "x".repeat(26);
        assert_eq!(names.apply(&format!("storage/{fits}")), format!("storage/{fits}{sfx}"));
        // Answers of the info maps come back with the plain names.
        let mut body = format!("{{\"col{sfx}\":1.50,\"meta\":2.00}}").into_bytes();
        names.restore("info/collections", &mut body);
        assert_eq!(String::from_utf8_lossy(&body), "{\"col\":1.50,\"meta\":2.00}");
        let mut listing = format!("[\"col{sfx}\"]").into_bytes();
        names.restore("storage/col", &mut listing);
        assert_eq!(String::from_utf8_lossy(&listing), format!("[\"col{sfx}\"]"), "only the info maps are rewritten");
        // Same case and run: same names; another case or run: others.
        assert_eq!(Names::for_case(7, "D-06", "a title"), names);
        assert_ne!(Names::for_case(8, "D-06", "a title"), names);
        assert_ne!(Names::for_case(7, "D-06", "another title"), names);
    }
}
