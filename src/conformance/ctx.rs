//! The step vocabulary of a case: send a request as a fresh user of the run's own uid range,
//! check status, error body, headers and JSON, capture timestamps, let time pass. Every exchange
//! is recorded so that a failure can show its transcript.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

use crate::client::{SyncRequest, SyncResponse, SyncUser};
use crate::conformance::failure::{CaseResult, Failure};
use crate::conformance::target::{Limits, Target};

/// Which behaviour the run expects (SPEC preface).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// The SPEC rule, everywhere.
    Spec,
    /// The rule, or the clause's "Compat (syncstorage-rs)" line, reported as `compat`.
    #[value(name = "syncstorage-rs")]
    #[serde(rename = "syncstorage-rs")]
    SyncstorageRs,
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Spec => "spec",
            Profile::SyncstorageRs => "syncstorage-rs",
        })
    }
}

/// Hands out uids from the range the run owns, so runs never touch anyone else's data.
#[derive(Debug)]
pub struct UidRange {
    pub first: u64,
    next: std::sync::atomic::AtomicU64,
}

impl UidRange {
    pub fn new(first: u64) -> Self {
        Self { first, next: std::sync::atomic::AtomicU64::new(first) }
    }

    pub fn take(&self) -> u64 {
        self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// The uids handed out so far, as `first..end`.
    pub fn used(&self) -> std::ops::Range<u64> {
        self.first..self.next.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// What a case leaves behind for the report.
#[derive(Debug, Default)]
pub struct CaseLog {
    pub transcripts: Vec<String>,
    pub compat: Vec<String>,
    pub uids: Vec<u64>,
}

/// Longest a case may wait on a real clock (SPEC: bounded waits).
pub const REAL_WAIT_BUDGET: Duration = Duration::from_secs(3);

/// A case's handle on the run.
pub struct Ctx {
    target: Arc<Target>,
    profile: Profile,
    uids: Arc<UidRange>,
    log: Arc<Mutex<CaseLog>>,
    me: Option<SyncUser>,
    rng: StdRng,
    waited: Duration,
}

impl Ctx {
    pub fn new(target: Arc<Target>, profile: Profile, uids: Arc<UidRange>, seed: u64, log: Arc<Mutex<CaseLog>>) -> Self {
        Self { target, profile, uids, log, me: None, rng: StdRng::seed_from_u64(seed), waited: Duration::ZERO }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, CaseLog> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The target's published limits; cases never hard-code them.
    pub fn limits(&self) -> &Limits {
        &self.target.limits
    }

    /// The enforced quota in bytes, if any.
    pub fn quota(&self) -> Option<u64> {
        self.target.quota
    }

    /// Randomness derived from the run's seed and this case.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// A new user with a fresh uid from the run's range; its data is deleted after the case.
    pub fn user(&mut self) -> SyncUser {
        let uid = self.uids.take();
        self.log().uids.push(uid);
        self.target.user(uid)
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

    /// Sends `req` as `user` and records the exchange.
    pub async fn send_as(&mut self, user: &SyncUser, req: SyncRequest) -> Result<Resp, Failure> {
        let resp = user.send(req).await.map_err(|e| Failure::new(format!("request failed: {e}")))?;
        self.log().transcripts.push(resp.transcript());
        Ok(Resp(resp))
    }

    /// Sends `req` as the case's own user.
    pub async fn send(&mut self, req: SyncRequest) -> Result<Resp, Failure> {
        let me = self.me();
        self.send_as(&me, req).await
    }

    /// Sends an absolute-path request without a user (`/__heartbeat__`).
    pub async fn send_anon(&mut self, req: SyncRequest) -> Result<Resp, Failure> {
        let resp = self.target.client.send(req).await.map_err(|e| Failure::new(format!("request failed: {e}")))?;
        self.log().transcripts.push(resp.transcript());
        Ok(Resp(resp))
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

    /// Lets `by` pass on the server for the case's users so far: moves their test clocks, or
    /// waits on a real clock within [`REAL_WAIT_BUDGET`] per case.
    pub async fn pass_time(&mut self, by: Duration) -> CaseResult {
        if self.target.test_clock {
            let uids = self.log().uids.clone();
            for uid in uids {
                self.target
                    .advance_clock(uid, by)
                    .await
                    .map_err(|e| Failure::new(format!("could not move the test clock: {e}")))?;
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
            Err(failure) if self.profile == Profile::SyncstorageRs && compat().is_ok() => {
                self.log().compat.push(format!("{note} ({})", failure.message));
                Ok(())
            }
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

/// A Sync timestamp in hundredths of a second, compared exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(pub i64);

impl Stamp {
    /// Parses `1234.56`: digits, a dot, exactly two digits (I-01).
    pub fn parse(s: &str) -> Result<Stamp, String> {
        let (int, frac) = s.trim().split_once('.').ok_or_else(|| format!("{s:?} has no two decimals"))?;
        if frac.len() != 2 || !frac.bytes().all(|b| b.is_ascii_digit()) || !int.bytes().all(|b| b.is_ascii_digit()) || int.is_empty() {
            return Err(format!("{s:?} is not a ts with two decimals"));
        }
        let whole: i64 = int.parse().map_err(|_| format!("{s:?} is out of range"))?;
        let cents: i64 = frac.parse().map_err(|_| format!("{s:?} is out of range"))?;
        Ok(Stamp(whole * 100 + cents))
    }

    /// A JSON number read as a ts (to the hundredth).
    pub fn from_json(v: &Value) -> Result<Stamp, Failure> {
        v.as_f64()
            .map(|f| Stamp((f * 100.0).round() as i64))
            .ok_or_else(|| Failure::mismatch("timestamp", "a JSON number", v))
    }

    pub fn plus_cs(self, cs: i64) -> Stamp {
        Stamp(self.0 + cs)
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_need_two_decimals() {
        assert_eq!(Stamp::parse("1234.56"), Ok(Stamp(123_456)));
        assert_eq!(Stamp::parse("0.00"), Ok(Stamp(0)));
        for bad in ["1234.5", "1234", "1234.567", "-1.00", "a.bc", ".12"] {
            assert!(Stamp::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Stamp(123_405).to_string(), "1234.05");
        assert_eq!(Stamp::from_json(&serde_json::json!(1234.56)).ok(), Some(Stamp(123_456)));
    }
}
