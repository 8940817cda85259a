//! Runs cases concurrently, each as its own fresh users, and turns each into a [`CaseReport`].
//! After a case its users' data is checked against the database invariants (when a database URL
//! was given) and then deleted.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::conformance::case::Case;
use crate::conformance::ctx::{CaseLog, Ctx, Profile, UidRange};
use crate::conformance::failure::Failure;
use crate::conformance::target::Target;
use crate::invariants::{Checker, Violation};

/// No case may take longer than this, whatever it waits for.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    /// Passed only by accepting a "Compat (syncstorage-rs)" line.
    Compat,
    Fail { failure: Failure },
    Skip { reason: String },
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Compat => "compat",
            Outcome::Fail { .. } => "fail",
            Outcome::Skip { .. } => "skip",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub clause: &'static str,
    pub title: &'static str,
    pub upstream: Vec<&'static str>,
    pub target: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub duration_ms: u64,
    pub uids: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compat: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    /// Request/response transcripts, kept for failures only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transcripts: Vec<String>,
}

impl CaseReport {
    pub fn area(&self) -> char {
        self.clause.chars().next().unwrap_or('?')
    }
}

#[derive(Clone)]
pub struct RunConfig {
    pub jobs: usize,
    pub profile: Profile,
    pub seed: u64,
    pub invariants: Option<Arc<Checker>>,
}

/// Picks the first target that has everything the case needs; else the reason to skip.
fn choose_target<'a>(case: &Case, targets: &'a [Arc<Target>]) -> Result<&'a Arc<Target>, String> {
    let mut first_reason = None;
    for target in targets {
        let missing: Vec<String> = case.needs.iter().filter_map(|n| n.missing_in(target)).collect();
        if missing.is_empty() {
            return Ok(target);
        }
        first_reason.get_or_insert_with(|| missing.join("; "));
    }
    Err(first_reason.unwrap_or_else(|| "no target".into()))
}

/// Runs `cases` against `targets` with at most `config.jobs` at once, calling `progress` as each
/// finishes. Reports come back in catalog order.
pub async fn run(
    cases: Vec<Case>,
    targets: Vec<Arc<Target>>,
    uids: Arc<UidRange>,
    config: RunConfig,
    progress: impl Fn(&CaseReport) + Send + Sync + 'static,
) -> Vec<CaseReport> {
    let semaphore = Arc::new(Semaphore::new(config.jobs.max(1)));
    let progress = Arc::new(progress);
    let mut set = JoinSet::new();
    for (index, case) in cases.into_iter().enumerate() {
        let semaphore = semaphore.clone();
        let targets = targets.clone();
        let uids = uids.clone();
        let config = config.clone();
        let progress = progress.clone();
        set.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let report = run_one(&case, index as u64, &targets, uids, &config).await;
            progress(&report);
            (index, report)
        });
    }
    let mut reports = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(pair) = joined {
            reports.push(pair);
        }
    }
    reports.sort_by_key(|(i, _)| *i);
    reports.into_iter().map(|(_, r)| r).collect()
}

async fn run_one(case: &Case, index: u64, targets: &[Arc<Target>], uids: Arc<UidRange>, config: &RunConfig) -> CaseReport {
    let mut report = CaseReport {
        clause: case.id,
        title: case.title,
        upstream: case.upstream.clone(),
        target: String::new(),
        outcome: Outcome::Pass,
        duration_ms: 0,
        uids: Vec::new(),
        compat: Vec::new(),
        violations: Vec::new(),
        transcripts: Vec::new(),
    };
    let target = match choose_target(case, targets) {
        Ok(t) => t.clone(),
        Err(reason) => {
            report.outcome = Outcome::Skip { reason };
            return report;
        }
    };
    report.target = target.label.clone();
    let log = Arc::new(Mutex::new(CaseLog::default()));
    let seed = config.seed.wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let cx = Ctx::new(target.clone(), config.profile, uids, seed, log.clone());
    let started = Instant::now();
    let body = (case.body)(cx);
    // Spawned so that a panicking case fails alone.
    let outcome = match tokio::time::timeout(CASE_TIMEOUT, tokio::spawn(body)).await {
        Ok(Ok(Ok(()))) => Outcome::Pass,
        Ok(Ok(Err(failure))) => Outcome::Fail { failure },
        Ok(Err(join)) => Outcome::Fail { failure: Failure::new(format!("the case panicked: {join}")) },
        Err(_) => Outcome::Fail { failure: Failure::new(format!("the case took longer than {CASE_TIMEOUT:?}")) },
    };
    report.duration_ms = started.elapsed().as_millis() as u64;
    let log = std::mem::take(&mut *log.lock().unwrap_or_else(PoisonError::into_inner));
    report.uids = log.uids;
    report.compat = log.compat;
    report.outcome = match outcome {
        Outcome::Pass if !report.compat.is_empty() => Outcome::Compat,
        other => other,
    };
    if let Some(checker) = &config.invariants {
        let uids: Vec<i64> = report.uids.iter().map(|&u| u as i64).collect();
        match checker.check(&target, &uids).await {
            Ok(v) => report.violations = v,
            Err(e) => report.violations.push(Violation::error(&e.to_string())),
        }
    }
    if matches!(report.outcome, Outcome::Fail { .. }) || !report.violations.is_empty() {
        report.transcripts = log.transcripts;
    }
    for &uid in &report.uids {
        // The run deletes what its users wrote; a failure to do so is reported, not fatal.
        let user = target.user(uid);
        match user.send(crate::client::SyncRequest::delete("")).await {
            Ok(r) if r.status_code() < 300 => {}
            Ok(r) => tracing::warn!(uid, status = r.status_code(), "could not delete a test user's data"),
            Err(e) => tracing::warn!(uid, error = %e, "could not delete a test user's data"),
        }
    }
    report
}
