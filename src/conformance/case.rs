//! A catalog case: one SPEC clause, a title in our words, what it needs from the target, the
//! upstream tests it stands for, and a body of steps.

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::conformance::ctx::Ctx;
use crate::run::CaseResult;
use crate::target::Target;

/// Largest quota a quota case will fill (bytes); bigger quotas are skipped, not filled.
pub const MAX_FILLABLE_QUOTA: u64 = 8 * 1024 * 1024;
/// Largest batch totals a case will fill.
pub const MAX_FILLABLE_TOTAL_BYTES: u64 = 8 * 1024 * 1024;
pub const MAX_FILLABLE_TOTAL_RECORDS: u64 = 2_000;

/// Something a case cannot run without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// Time must be movable (`/__test__/clock`): the case would wait longer than a real-clock
    /// case may.
    TestClock,
    /// An enforced quota small enough to fill ([`MAX_FILLABLE_QUOTA`]).
    Quota,
    /// No enforced quota (a case that writes past any small limit).
    NoQuota,
    /// Batch totals small enough to reach (`max_total_bytes` and `max_total_records`).
    SmallBatchTotals,
}

impl Need {
    /// `None` when `target` has it, else why not.
    pub fn missing_in(self, target: &Target) -> Option<String> {
        let limits = &target.limits;
        match self {
            Need::TestClock if !target.test_clock => Some("the target has no test clock (/__test__/clock)".into()),
            Need::Quota => match target.quota {
                None => Some("the target enforces no quota".into()),
                Some(q) if q > MAX_FILLABLE_QUOTA => Some(format!("the quota ({q} bytes) is too big to fill")),
                Some(_) => None,
            },
            Need::NoQuota if target.quota.is_some() => Some("the target enforces a quota".into()),
            Need::SmallBatchTotals
                if limits.max_total_bytes > MAX_FILLABLE_TOTAL_BYTES || limits.max_total_records > MAX_FILLABLE_TOTAL_RECORDS =>
            {
                Some(format!(
                    "batch totals too big to fill (max_total_records {}, max_total_bytes {})",
                    limits.max_total_records, limits.max_total_bytes
                ))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Need::TestClock => "test-clock",
            Need::Quota => "quota",
            Need::NoQuota => "no-quota",
            Need::SmallBatchTotals => "small-batch-totals",
        })
    }
}

type Body = Arc<dyn Fn(Ctx) -> BoxFuture<'static, CaseResult> + Send + Sync>;

#[derive(Clone)]
pub struct Case {
    /// The SPEC clause, e.g. `D-06`.
    pub id: &'static str,
    pub title: &'static str,
    pub needs: Vec<Need>,
    /// Names of the upstream tests (`test_storage.py`) this case stands for.
    pub upstream: Vec<&'static str>,
    /// The case's position in the whole catalog, which fixes its uid block (set by
    /// [`catalog::all`](crate::conformance::catalog::all)).
    pub slot: usize,
    /// This case judges the write refusals of the whole run (the I-04 case on 503 refusals):
    /// the runner adds the run's count to it at the end.
    pub judges_refusals: bool,
    pub(crate) body: Body,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case").field("id", &self.id).field("title", &self.title).finish_non_exhaustive()
    }
}

impl Case {
    /// A case for clause `id`; `body` is usually `|mut cx| Box::pin(async move { … })`.
    pub fn new<F>(id: &'static str, title: &'static str, body: F) -> Self
    where
        F: Fn(Ctx) -> BoxFuture<'static, CaseResult> + Send + Sync + 'static,
    {
        Self { id, title, needs: Vec::new(), upstream: Vec::new(), slot: 0, judges_refusals: false, body: Arc::new(body) }
    }

    pub fn needs(mut self, needs: &[Need]) -> Self {
        self.needs.extend_from_slice(needs);
        self
    }

    pub fn upstream(mut self, tests: &[&'static str]) -> Self {
        self.upstream.extend_from_slice(tests);
        self
    }

    /// Marks the case that judges the run's write refusals.
    pub fn judges_refusals(mut self) -> Self {
        self.judges_refusals = true;
        self
    }

    /// The SPEC area letter.
    pub fn area(&self) -> char {
        self.id.chars().next().unwrap_or('?')
    }

    /// Whether `filter` (a clause ID prefix, or part of the title) selects this case.
    pub fn matches(&self, filter: &str) -> bool {
        let f = filter.to_ascii_lowercase();
        self.id.to_ascii_lowercase().starts_with(&f) || self.title.to_ascii_lowercase().contains(&f)
    }
}
