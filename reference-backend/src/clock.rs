//! The one clock every timestamp comes from (I-02), and the timestamp type.
//!
//! Nothing in SQL calls `now()`: the server passes times in, so that in test-clock mode the
//! harness can move time forward (TTL, batch expiry) without sleeping. The test clock is the wall
//! clock plus an offset that only grows, so time still flows and never goes backwards.
//!
//! Besides the offset for everyone, the test clock keeps an offset per user: everything a user's
//! storage does happens on that user's time, so a test that jumps one user hours ahead cannot
//! expire the short-lived records of another test running at the same moment.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A Sync timestamp: milliseconds since the epoch, on the 10 ms grid once issued by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ts(pub i64);

/// `0001-01-01 00:00:00+00`, the `modified` value of a placeholder row (K-01).
pub const PRETOUCH: Ts = Ts(-62_135_596_800_000);

/// "Never expires" is this far after the write (K-01).
pub const NEVER_EXPIRES_SECS: i64 = 2_100_000_000;

impl Ts {
    pub const ZERO: Ts = Ts(0);

    pub fn from_millis(ms: i64) -> Self {
        Ts(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Truncates to the 10 ms grid (I-10).
    pub fn truncate(self) -> Self {
        Ts(self.0.div_euclid(10) * 10)
    }

    pub fn plus_secs(self, secs: i64) -> Self {
        Ts(self.0 + secs * 1000)
    }

    pub fn to_system(self) -> SystemTime {
        if self.0 >= 0 {
            UNIX_EPOCH + Duration::from_millis(self.0 as u64)
        } else {
            UNIX_EPOCH - Duration::from_millis(self.0.unsigned_abs())
        }
    }

    pub fn from_system(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Ts(d.as_millis() as i64),
            Err(e) => Ts(-(e.duration().as_millis() as i64)),
        }
    }

    /// Parses a client-supplied decimal ts (`newer`, `older`, precondition headers): digits with
    /// an optional fraction, never negative. Finer than 10 ms is truncated (I-10).
    pub fn parse_decimal(s: &str) -> Option<Ts> {
        let s = s.trim();
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) || (s.contains('.') && frac.is_empty()) {
            return None;
        }
        // Seconds beyond year ~2286 are nonsense for a Sync ts; clamp instead of overflowing.
        let secs: i64 = if int.len() > 11 { 99_999_999_999 } else { int.parse().ok()? };
        let mut millis = 0i64;
        for (i, b) in frac.bytes().take(3).enumerate() {
            millis += i64::from(b - b'0') * [100, 10, 1][i];
        }
        Some(Ts(secs * 1000 + millis).truncate())
    }
}

impl fmt::Display for Ts {
    /// Seconds with exactly two decimals (I-01).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.truncate().0;
        if t < 0 {
            return f.write_str("0.00");
        }
        write!(f, "{}.{:02}", t / 1000, (t % 1000) / 10)
    }
}

impl serde::Serialize for Ts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A JSON number with two decimals; only serde_json is used for output.
        let raw = serde_json::value::RawValue::from_string(self.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

#[derive(Debug)]
pub struct Clock {
    adjustable: bool,
    offset_ms: AtomicI64,
    user_offsets: Mutex<HashMap<i64, i64>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClockError {
    #[error("adjust the clock: the test clock is not enabled (start the server with --test-clock)")]
    NotAdjustable,
    #[error("move the clock backwards: the test clock only moves forward")]
    Backwards,
}

impl Clock {
    pub fn new(adjustable: bool) -> Self {
        Self { adjustable, offset_ms: AtomicI64::new(0), user_offsets: Mutex::new(HashMap::new()) }
    }

    pub fn is_adjustable(&self) -> bool {
        self.adjustable
    }

    fn wall_ms() -> i64 {
        Ts::from_system(SystemTime::now()).0
    }

    /// The current time, exact to the millisecond.
    pub fn now_precise(&self) -> Ts {
        Ts(Self::wall_ms() + self.offset_ms.load(Ordering::SeqCst))
    }

    /// The current time on the 10 ms grid.
    pub fn now(&self) -> Ts {
        self.now_precise().truncate()
    }

    fn user_offset(&self, uid: i64) -> i64 {
        if !self.adjustable {
            return 0;
        }
        self.user_offsets.lock().unwrap_or_else(PoisonError::into_inner).get(&uid).copied().unwrap_or(0)
    }

    /// The current time of `uid`'s storage, exact to the millisecond.
    pub fn now_precise_for(&self, uid: i64) -> Ts {
        Ts(self.now_precise().0 + self.user_offset(uid))
    }

    /// The current time of `uid`'s storage on the 10 ms grid.
    pub fn now_for(&self, uid: i64) -> Ts {
        self.now_precise_for(uid).truncate()
    }

    /// Moves one user's test clock forward by `ms`.
    pub fn advance_user(&self, uid: i64, ms: i64) -> Result<Ts, ClockError> {
        if !self.adjustable {
            return Err(ClockError::NotAdjustable);
        }
        if ms < 0 {
            return Err(ClockError::Backwards);
        }
        *self.user_offsets.lock().unwrap_or_else(PoisonError::into_inner).entry(uid).or_insert(0) += ms;
        Ok(self.now_for(uid))
    }

    /// Moves the test clock forward by `ms`.
    pub fn advance(&self, ms: i64) -> Result<Ts, ClockError> {
        if !self.adjustable {
            return Err(ClockError::NotAdjustable);
        }
        if ms < 0 {
            return Err(ClockError::Backwards);
        }
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
        Ok(self.now())
    }

    /// Sets the test clock so that now is `target`; refuses to go back in time.
    pub fn set(&self, target: Ts) -> Result<Ts, ClockError> {
        let now = self.now_precise();
        if target < now.truncate() {
            return Err(ClockError::Backwards);
        }
        self.advance(target.0 - now.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_two_decimals() {
        assert_eq!(Ts(1_234_560).to_string(), "1234.56");
        assert_eq!(Ts(1_234_000).to_string(), "1234.00");
        assert_eq!(Ts(1_234_567).to_string(), "1234.56");
        assert_eq!(Ts::ZERO.to_string(), "0.00");
        assert_eq!(PRETOUCH.to_string(), "0.00");
    }

    #[test]
    fn parses_decimals_and_truncates() {
        assert_eq!(Ts::parse_decimal("12"), Some(Ts(12_000)));
        assert_eq!(Ts::parse_decimal("12.3"), Some(Ts(12_300)));
        assert_eq!(Ts::parse_decimal("12.345"), Some(Ts(12_340)));
        assert_eq!(Ts::parse_decimal("12.3456789"), Some(Ts(12_340)));
        for bad in ["", "-3", "abc", "1.", ".5", "1e3", "1.2.3", " "] {
            assert_eq!(Ts::parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn system_time_round_trip_covers_pretouch() {
        for ts in [PRETOUCH, Ts::ZERO, Ts(1_700_000_000_120)] {
            assert_eq!(Ts::from_system(ts.to_system()), ts);
        }
    }

    #[test]
    fn test_clock_only_moves_forward() {
        let clock = Clock::new(true);
        let before = clock.now();
        let after = clock.advance(3_600_000).unwrap();
        assert!(after.0 - before.0 >= 3_600_000);
        assert_eq!(clock.set(before), Err(ClockError::Backwards));
        assert_eq!(Clock::new(false).advance(1), Err(ClockError::NotAdjustable));
    }

    #[test]
    fn user_clocks_move_alone() {
        let clock = Clock::new(true);
        let other = clock.now_for(2);
        let moved = clock.advance_user(1, 7_200_000).unwrap();
        assert!(moved.0 - other.0 >= 7_200_000);
        assert!(clock.now_for(2).0 - other.0 < 7_200_000, "another user's time did not jump");
        assert_eq!(Clock::new(false).advance_user(1, 1), Err(ClockError::NotAdjustable));
    }
}
