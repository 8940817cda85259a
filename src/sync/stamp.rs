//! Sync timestamps: seconds with two decimals (SPEC I-01), held as hundredths so that they compare
//! exactly.

use std::fmt;

use serde_json::Value;

/// A Sync timestamp in hundredths of a second, compared exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
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
    pub fn from_json(v: &Value) -> Result<Stamp, NotAStamp> {
        v.as_f64().map(|f| Stamp((f * 100.0).round() as i64)).ok_or_else(|| NotAStamp(v.to_string()))
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

/// A JSON value that is not a timestamp; the value as JSON text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a timestamp (a JSON number)")]
pub struct NotAStamp(pub String);

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
