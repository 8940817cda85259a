//! Why a check failed (a case, a fuzz step, a load check): a message, and where it helps, the expected and actual values that the
//! reports show as a diff.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), expected: None, actual: None }
    }

    pub fn mismatch(message: impl Into<String>, expected: impl fmt::Display, actual: impl fmt::Display) -> Self {
        Self { message: message.into(), expected: Some(expected.to_string()), actual: Some(actual.to_string()) }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let (Some(e), Some(a)) = (&self.expected, &self.actual) {
            write!(f, "\n  expected: {e}\n  actual:   {a}")?;
        }
        Ok(())
    }
}

impl From<crate::sync::NotAStamp> for Failure {
    fn from(e: crate::sync::NotAStamp) -> Self {
        Failure::mismatch("timestamp", "a JSON number", e.0)
    }
}

/// What a case body returns.
pub type CaseResult = Result<(), Failure>;

/// Fails the case with a message unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::run::Failure::new(format!($($msg)+)));
        }
    };
}

/// Fails the case with an expected-vs-actual diff unless the two are equal.
#[macro_export]
macro_rules! ensure_eq {
    ($expected:expr, $actual:expr, $($msg:tt)+) => {
        // A match keeps temporaries in the operands alive for the whole comparison.
        match (&$expected, &$actual) {
            (expected, actual) => {
                if expected != actual {
                    return Err($crate::run::Failure::mismatch(
                        format!($($msg)+),
                        format!("{expected:?}"),
                        format!("{actual:?}"),
                    ));
                }
            }
        }
    };
}
