//! Runs cases concurrently, each as its own fresh users, and turns each into a [`CaseReport`].
//! After a case its users' data is checked against the database invariants (when a database URL
//! was given) and then deleted.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::{Refusal, RetryPolicy, SyncRequest};
use crate::conformance::case::Case;
use crate::conformance::ctx::{CaseLog, CasePlace, Ctx, Names};
use crate::invariants::Checker;
use crate::run::{CaseReport, Failure, Outcome, Refusals, UidPlan, case_seed};
use crate::sync::Profile;
use crate::target::Target;

/// No case may take longer than this, whatever it waits for.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(30);

/// The report of `case` before it runs.
fn report_for(case: &Case) -> CaseReport {
    CaseReport {
        clause: case.id,
        title: case.title,
        upstream: case.upstream.clone(),
        target: String::new(),
        outcome: Outcome::Pass,
        duration_ms: 0,
        uids: Vec::new(),
        compat: Vec::new(),
        variants: Vec::new(),
        refusals: Refusals::default(),
        violations: Vec::new(),
        invariant_error: None,
        transcripts: Vec::new(),
        judges_refusals: case.judges_refusals,
    }
}

#[derive(Clone)]
pub struct RunConfig {
    pub jobs: usize,
    pub profile: Profile,
    pub seed: u64,
    pub uids: UidPlan,
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
/// finishes. Reports come back in catalog order, one per case: a case whose task panicked or
/// was cancelled is reported as failed, never dropped.
pub async fn run(
    cases: Vec<Case>,
    targets: Vec<Arc<Target>>,
    config: RunConfig,
    progress: impl Fn(&CaseReport) + Send + Sync + 'static,
) -> Vec<CaseReport> {
    let semaphore = Arc::new(Semaphore::new(config.jobs.max(1)));
    let progress = Arc::new(progress);
    let mut set = JoinSet::new();
    let mut pending = std::collections::HashMap::new();
    let mut reports: Vec<Option<CaseReport>> = vec![None; cases.len()];
    for (index, case) in cases.iter().cloned().enumerate() {
        let semaphore = semaphore.clone();
        let targets = targets.clone();
        let config = config.clone();
        let progress = progress.clone();
        let handle = set.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let report = run_one(&case, &targets, &config).await;
            progress(&report);
            report
        });
        pending.insert(handle.id(), index);
    }
    while let Some(joined) = set.join_next_with_id().await {
        let (id, report) = match joined {
            Ok((id, report)) => (id, report),
            Err(e) => {
                let id = e.id();
                let Some(&index) = pending.get(&id) else { continue };
                let mut report = report_for(&cases[index]);
                let why = if e.is_cancelled() { "was cancelled" } else { "panicked" };
                report.outcome = Outcome::Fail { failure: Failure::new(format!("the case's task {why}: {e}")) };
                progress(&report);
                (id, report)
            }
        };
        if let Some(&index) = pending.get(&id) {
            reports[index] = Some(report);
        }
    }
    let mut reports: Vec<CaseReport> = reports
        .into_iter()
        .zip(&cases)
        .map(|(r, case)| {
            r.unwrap_or_else(|| {
                let mut report = report_for(case);
                report.outcome = Outcome::Fail { failure: Failure::new("the case's task ended without a report") };
                report
            })
        })
        .collect();
    judge_refusals(&mut reports, config.profile);
    reports
}

/// The 503 refusals of the whole run, judged once by the case that looks for them (I-04): SPEC
/// lets a server without a T wait or answer 409; 503 is for a server that cannot serve (J-14).
fn judge_refusals(reports: &mut [CaseReport], profile: Profile) {
    let unavailable: u32 = reports.iter().map(|r| r.refusals.unavailable).sum();
    if unavailable == 0 {
        return;
    }
    let cases = reports.iter().filter(|r| r.refusals.unavailable > 0).count();
    let note =
        format!("{unavailable} writes in {cases} cases of the run were refused with 503 + Retry-After while the server went on serving");
    for r in reports.iter_mut().filter(|r| r.judges_refusals) {
        match (&mut r.outcome, profile) {
            (Outcome::Fail { failure }, _) => failure.message.push_str(&format!("; {note}")),
            (Outcome::Pass, Profile::Spec) => {
                r.outcome = Outcome::Fail {
                    failure: Failure::new(format!(
                        "{note}; I-04 lets a server that has no new ts yet wait or answer 409, and J-14 keeps 503 for a server that cannot serve"
                    )),
                };
            }
            (Outcome::Pass | Outcome::Compat, Profile::SyncstorageRs) => {
                r.compat.push(format!("conflicts answered 503/0 with Retry-After ({note})"));
                r.outcome = Outcome::Compat;
            }
            _ => {}
        }
    }
}

/// Deletes what a test user wrote, sending the wipe again if it is refused for a moment.
async fn delete_user_data(target: &Target, uid: u64) {
    let user = target.user(uid);
    let policy = RetryPolicy::default();
    let mut waited = Duration::ZERO;
    for attempt in 1.. {
        match user.send(SyncRequest::delete("")).await {
            Ok(r) if r.status_code() < 300 => return,
            Ok(r) if Refusal::of(&r).is_some() => match policy.delay(attempt, waited, std::time::SystemTime::now()) {
                Some(d) => {
                    tokio::time::sleep(d).await;
                    waited += d;
                }
                None => {
                    tracing::warn!(uid, status = r.status_code(), "could not delete a test user's data");
                    return;
                }
            },
            Ok(r) => {
                tracing::warn!(uid, status = r.status_code(), "could not delete a test user's data");
                return;
            }
            Err(e) => {
                tracing::warn!(uid, error = %e, "could not delete a test user's data");
                return;
            }
        }
    }
}

async fn run_one(case: &Case, targets: &[Arc<Target>], config: &RunConfig) -> CaseReport {
    let mut report = report_for(case);
    let target = match choose_target(case, targets) {
        Ok(t) => t.clone(),
        Err(reason) => {
            report.outcome = Outcome::Skip { reason };
            return report;
        }
    };
    report.target = target.label.clone();
    let log = Arc::new(Mutex::new(CaseLog::default()));
    let started = Instant::now();
    let place = CasePlace {
        seed: case_seed(config.seed, case.id, case.title),
        uids: config.uids.block(case.slot),
        names: Names::for_case(config.seed, case.id, case.title),
        // Retries stop a second before the case's limit, so the limit never cuts a retry short.
        deadline: tokio::time::Instant::now() + CASE_TIMEOUT.saturating_sub(Duration::from_secs(1)),
    };
    let cx = Ctx::new(target.clone(), config.profile, place, log.clone());
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
    report.refusals = log.refusals;
    report.variants = log.variants;
    report.outcome = match outcome {
        Outcome::Pass | Outcome::Compat if !report.variants.is_empty() => {
            let names: Vec<&str> = report.variants.iter().map(|v| v.name.as_str()).collect();
            Outcome::Fail {
                failure: Failure::new(format!("{} of {} variants failed: {}", names.len(), log.variants_run, names.join(", "))),
            }
        }
        Outcome::Pass if !report.compat.is_empty() => Outcome::Compat,
        other => other,
    };
    if let Some(checker) = &config.invariants {
        let uids: Vec<i64> = report.uids.iter().map(|&u| u as i64).collect();
        match checker.check(&target, &uids).await {
            Ok(v) => report.violations = v,
            Err(e) => report.invariant_error = Some(e.to_string()),
        }
    }
    if report.failed() || !report.violations.is_empty() {
        report.transcripts = log.transcripts;
    }
    for &uid in &report.uids {
        // The run deletes what its users wrote; a failure to do so is reported, not fatal.
        delete_user_data(&target, uid).await;
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::SyncClient;
    use crate::conformance::Limits;

    /// A target nothing listens at: the cases below never send a request.
    fn nowhere() -> Arc<Target> {
        let url = url::Url::parse("http://127.0.0.1:9/").expect("url");
        Arc::new(Target {
            label: "nowhere".into(),
            client: SyncClient::new(url).expect("client"),
            secret: "s".into(),
            limits: Limits {
                max_post_records: 1,
                max_post_bytes: 1,
                max_record_payload_bytes: 1,
                max_request_bytes: 1,
                max_total_records: 1,
                max_total_bytes: 1,
                max_quota_limit: None,
            },
            quota: None,
            test_clock: false,
        })
    }

    #[tokio::test]
    async fn panicking_cases_and_failing_variants_are_counted_as_failures() {
        let cases = vec![
            Case::new("A-01", "passes", |_cx| Box::pin(async { Ok(()) })),
            Case::new("A-02", "panics", |_cx| Box::pin(async { panic!("boom") })),
            Case::new("A-03", "one variant fails", |mut cx| {
                Box::pin(async move {
                    let v = cx.variant("good");
                    cx.settle(v, Ok(()));
                    let v = cx.variant("bad");
                    cx.settle(v, Err(Failure::mismatch("x", 1, 2)));
                    Ok(())
                })
            }),
        ];
        let config = RunConfig { jobs: 2, profile: Profile::Spec, seed: 1, uids: UidPlan { first: 1, slots: 3 }, invariants: None };
        let reports = run(cases, vec![nowhere()], config, |_| {}).await;
        assert_eq!(reports.len(), 3);
        assert!(matches!(reports[0].outcome, Outcome::Pass));
        assert!(reports[1].failed(), "{:?}", reports[1].outcome);
        assert!(reports[2].failed(), "{:?}", reports[2].outcome);
        assert_eq!(reports[2].variants.len(), 1);
        assert_eq!(reports[2].variants[0].name, "bad");
        match &reports[2].outcome {
            Outcome::Fail { failure } => assert!(failure.message.contains("1 of 2 variants failed: bad"), "{failure}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn run_wide_503_refusals_fail_the_judging_case_once_or_are_compat() {
        let judge = Case::new("I-04", "judge", |_cx| Box::pin(async { Ok(()) })).judges_refusals();
        let other = Case::new("E-01", "other", |_cx| Box::pin(async { Ok(()) }));
        let make = || {
            let mut a = report_for(&judge);
            let mut b = report_for(&other);
            b.refusals.unavailable = 3;
            a.refusals.conflict = 1;
            vec![a, b]
        };
        let mut spec = make();
        judge_refusals(&mut spec, Profile::Spec);
        assert!(spec[0].failed(), "{:?}", spec[0].outcome);
        assert!(matches!(spec[1].outcome, Outcome::Pass), "only the judging case fails");
        let mut srs = make();
        judge_refusals(&mut srs, Profile::SyncstorageRs);
        assert!(matches!(srs[0].outcome, Outcome::Compat));
        let mut clean = make();
        clean[1].refusals.unavailable = 0;
        judge_refusals(&mut clean, Profile::Spec);
        assert!(matches!(clean[0].outcome, Outcome::Pass), "a 409 is allowed (I-04)");
    }
}
