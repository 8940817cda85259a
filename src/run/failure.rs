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

/// Values at least this long get a word diff under expected/actual: the difference is hard to
/// spot by eye there.
const DIFF_FROM: usize = 60;

impl Failure {
    /// A word diff of expected and actual (`[-gone-]{+new+}`), when both are long and differ.
    pub fn diff(&self) -> Option<String> {
        let (e, a) = (self.expected.as_deref()?, self.actual.as_deref()?);
        if e == a || e.len().max(a.len()) < DIFF_FROM {
            return None;
        }
        let mut out = String::new();
        for change in similar::TextDiff::from_words(e, a).iter_all_changes() {
            let text = change.value();
            match change.tag() {
                similar::ChangeTag::Equal => out.push_str(text),
                similar::ChangeTag::Delete => out.push_str(&format!("[-{text}-]")),
                similar::ChangeTag::Insert => out.push_str(&format!("{{+{text}+}}")),
            }
        }
        Some(out)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let (Some(e), Some(a)) = (&self.expected, &self.actual) {
            write!(f, "\n  expected: {e}\n  actual:   {a}")?;
        }
        if let Some(d) = self.diff() {
            write!(f, "\n  diff:     {d}")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_get_a_word_diff_and_short_ones_none() {
        let long = Failure::mismatch(
            "ids",
            r#"["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "hotel"]"#,
            r#"["alpha", "bravo", "charlie", "delta", "golf", "foxtrot", "hotel"]"#,
        );
        let diff = long.diff().expect("a diff");
        assert_eq!(diff, r#"["alpha", "bravo", "charlie", "delta", [-"echo",-]{+"golf",+} "foxtrot", "hotel"]"#);
        assert!(long.to_string().contains("\n  diff:     "));
        assert_eq!(Failure::mismatch("status", 200, 404).diff(), None);
        let same = "x ".repeat(40);
        assert_eq!(Failure::mismatch("same", &same, &same).diff(), None);
    }
}
