//! Answers that refuse a write for a moment, and when to send it again.
//!
//! SPEC I-04 lets a server that has no timestamp above the storage ts yet either wait or answer
//! 409 with `Retry-After` (D-18, J-10); syncstorage-rs answers 503/0 with `Retry-After: 10`
//! instead (its Compat lines of I-04, D-18, J-10 and J-14). Both are refusals that clear once the
//! server's 10 ms clock tick has moved on, so the harness sends the write again after the next
//! tick, a bounded number of times, and counts every retry. Whether a 503 was an acceptable
//! refusal is judged once, by the I-04 case that looks for it, not by every case that meets it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde::Serialize;

use super::response::SyncResponse;

/// How a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Refusal {
    /// 409 Conflict: allowed by I-04 while no T is available.
    Conflict,
    /// 503 with `Retry-After` to a write: the syncstorage-rs conflict answer.
    Unavailable,
}

impl Refusal {
    /// The refusal `resp` is, when it answers a write (PUT, POST, DELETE) with a 409, or with a
    /// 503 that carries `Retry-After`. A 503 without it is an error, never retried.
    pub fn of(resp: &SyncResponse) -> Option<Refusal> {
        let method = resp.request().method.as_str();
        let write = [Method::PUT, Method::POST, Method::DELETE].iter().any(|m| m.as_str() == method);
        if !write {
            return None;
        }
        match resp.status_code() {
            409 => Some(Refusal::Conflict),
            503 if resp.header("retry-after").is_some() => Some(Refusal::Unavailable),
            _ => None,
        }
    }
}

/// When to send a refused write again: after the next 10 ms tick of the timestamp grid (I-01),
/// then after longer and longer waits, never more than `max_retries` times nor past `budget`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    /// Longest total wait across the retries of one request.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: 5, budget: Duration::from_millis(250) }
    }
}

/// The timestamp grid (I-01).
const TICK_MS: u64 = 10;

impl RetryPolicy {
    /// No retries at all.
    pub const NEVER: RetryPolicy = RetryPolicy { max_retries: 0, budget: Duration::ZERO };

    /// The wait before retry number `attempt` (1-based) at wall-clock time `now`, or `None` when
    /// the policy is spent after `waited` so far. Retry 1 waits until just past the next tick;
    /// each later one waits a tick and a half longer than the one before.
    pub fn delay(&self, attempt: u32, waited: Duration, now: SystemTime) -> Option<Duration> {
        if attempt == 0 || attempt > self.max_retries {
            return None;
        }
        let ms = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let to_next_tick = TICK_MS - ms % TICK_MS + 1;
        let wait = Duration::from_millis(to_next_tick + u64::from(attempt - 1) * (TICK_MS + TICK_MS / 2));
        (waited + wait <= self.budget).then_some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_past_the_next_tick_and_stay_in_budget() {
        let policy = RetryPolicy::default();
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(policy.delay(1, Duration::ZERO, at(1_000_003)), Some(Duration::from_millis(8)));
        assert_eq!(policy.delay(1, Duration::ZERO, at(1_000_000)), Some(Duration::from_millis(11)));
        let mut waited = Duration::ZERO;
        let mut n = 0;
        while let Some(d) = policy.delay(n + 1, waited, at(1_000_005 + waited.as_millis() as u64)) {
            waited += d;
            n += 1;
        }
        assert_eq!(n, 5, "five retries fit in 250 ms");
        assert!(waited <= policy.budget, "{waited:?}");
        assert_eq!(policy.delay(6, Duration::ZERO, at(0)), None);
        assert_eq!(RetryPolicy::NEVER.delay(1, Duration::ZERO, at(0)), None);
    }
}
