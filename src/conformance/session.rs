//! One `conformance` run from the command line: set up the targets (the embedded reference
//! backend, or the server the user named), run the selected cases, write the reports and pick
//! the exit code.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::json;

use crate::cli::{ConformanceArgs, ListFormat};
use crate::conformance::catalog;
use crate::conformance::runner::{self, RunConfig};
use crate::conformance::{Case, Refusals, Target, UidPlan};
use crate::exit;
use crate::invariants::Checker;
use crate::report;
use crate::run::{Counts, Events, Reporter, RunEvent, RunReport, SCHEMA, SCHEMA_VERSION, TargetSummary, Unchecked};
use crate::setup::{BackendAdjust, EMBEDDED_QUOTA_BYTES, Embedded, SetupError, Variant, small_limits, start_embedded};

/// Default uid bases are `9_000_000_000 + k * UID_BASE_STEP` for `k < UID_BASES`, so a run's whole
/// plan (one probe uid and a block per catalog case) stays within 10 digits and inside its step.
const UID_BASE_STEP: u64 = 20_000;
const UID_BASES: u64 = 45_000;

async fn embedded(
    args: &ConformanceArgs,
    secret: &str,
    probe_uid: u64,
    adjust_all: &BackendAdjust,
) -> Result<(Embedded, Vec<Arc<Target>>, String), SetupError> {
    let variants: Vec<Variant> = vec![
        ("reference", Box::new(|_| {})),
        ("reference+quota", Box::new(|c| c.quota_limit = Some(EMBEDDED_QUOTA_BYTES))),
        ("reference+small-limits", Box::new(|c| c.limits = small_limits())),
    ];
    start_embedded(&args.database.provision_options(), secret, probe_uid, variants, adjust_all).await
}

fn selected(args: &ConformanceArgs) -> Vec<Case> {
    catalog::all().into_iter().filter(|c| args.filter.is_empty() || args.filter.iter().any(|f| c.matches(f))).collect()
}

/// `--list`: cases with clause, title, needs and upstream tests; then the unchecked clauses.
pub fn list(args: &ConformanceArgs) -> String {
    let cases = selected(args);
    match args.format {
        ListFormat::Json => {
            let value = json!({
                "schema": "syncstorage-harness/conformance-list",
                "schema_version": SCHEMA_VERSION,
                "cases": cases.iter().map(|c| json!({
                    "clause": c.id,
                    "title": c.title,
                    "needs": c.needs,
                    "upstream": c.upstream,
                })).collect::<Vec<_>>(),
                "unchecked": catalog::unchecked().iter().map(|(clause, reason)| json!({ "clause": clause, "reason": reason })).collect::<Vec<_>>(),
            });
            serde_json::to_string_pretty(&value).unwrap_or_default()
        }
        ListFormat::Markdown => {
            let mut out = String::from("| Clause | Case | Needs | Upstream tests |\n|---|---|---|---|\n");
            for c in &cases {
                let needs: Vec<String> = c.needs.iter().map(ToString::to_string).collect();
                out.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    c.id,
                    c.title.replace('|', "\\|"),
                    needs.join(", "),
                    c.upstream.join(", ")
                ));
            }
            for (clause, reason) in catalog::unchecked() {
                out.push_str(&format!("| {clause} | not checked over HTTP: {} | | |\n", reason.replace('|', "\\|")));
            }
            out
        }
        ListFormat::Table => {
            let mut out = String::new();
            for c in &cases {
                let needs: Vec<String> = c.needs.iter().map(ToString::to_string).collect();
                out.push_str(&format!("{:<6} {}", c.id, c.title));
                if !needs.is_empty() {
                    out.push_str(&format!("  [needs {}]", needs.join(", ")));
                }
                if !c.upstream.is_empty() {
                    out.push_str(&format!("  (upstream: {})", c.upstream.join(", ")));
                }
                out.push('\n');
            }
            let unchecked = catalog::unchecked();
            for (clause, reason) in &unchecked {
                out.push_str(&format!("{clause:<6} not checked over HTTP: {reason}\n"));
            }
            out.push_str(&format!("{} cases, {} unchecked clauses\n", cases.len(), unchecked.len()));
            out
        }
    }
}

/// The command that runs this run's cases again (same seed, uid base, target and profile),
/// before any `--filter`.
fn replay_base(args: &ConformanceArgs, seed: u64, uid_base: u64) -> String {
    let mut cmd = format!("syncstorage-harness conformance --seed {seed} --uid-base {uid_base}");
    if let Some(t) = &args.target {
        cmd.push_str(&format!(" --target {t} --secret \"$SYNCSTORAGE_HARNESS_SECRET\""));
    }
    if args.database.database_url.is_some() {
        cmd.push_str(" --database-url \"$SYNCSTORAGE_HARNESS_DATABASE_URL\"");
    }
    if args.profile != crate::conformance::Profile::Spec {
        cmd.push_str(&format!(" --profile {}", args.profile));
    }
    cmd
}

/// The replay command: the failed clauses, or the run's own filters when nothing failed.
fn replay_command(args: &ConformanceArgs, base: &str, failed: &[&str]) -> String {
    let mut cmd = base.to_owned();
    let mut ids: Vec<&str> = failed.to_vec();
    ids.dedup();
    if ids.is_empty() {
        for f in &args.filter {
            cmd.push_str(&format!(" --filter '{f}'"));
        }
    }
    for id in ids {
        cmd.push_str(&format!(" --filter {id}"));
    }
    cmd
}

/// Runs the catalog with the reporters the arguments ask for (progress on stderr, one view on
/// stdout, the report files); returns the process exit code.
pub async fn run(args: &ConformanceArgs) -> Result<u8, SetupError> {
    let events = Arc::new(Events::new(reporters(args)));
    let report = execute_with(args, &|_| {}, events.clone()).await?;
    if let Some(e) = events.take_error() {
        return Err(e.into());
    }
    Ok(exit_code(&report))
}

/// The reporters of a conformance run.
fn reporters(args: &ConformanceArgs) -> Vec<Box<dyn Reporter>> {
    let stdout: report::Render = match args.format {
        ListFormat::Table => report::render_table,
        ListFormat::Json => report::render_json,
        ListFormat::Markdown => report::render_markdown,
    };
    let mut out: Vec<Box<dyn Reporter>> = vec![Box::new(report::Progress::new()), Box::new(report::Print(stdout))];
    let files: [(&Option<std::path::PathBuf>, report::Render); 3] =
        [(&args.markdown, report::render_markdown), (&args.json, report::render_json), (&args.junit, report::junit_xml)];
    for (path, render) in files {
        if let Some(path) = path {
            out.push(Box::new(report::WriteFile { path: path.clone(), render }));
        }
    }
    out
}

/// 3 when the invariant checks could not run (the run is incomplete), else 1 when a case
/// failed, else 2 when an invariant was violated, else 0.
pub fn exit_code(report: &RunReport) -> u8 {
    if report.counts.invariant_errors > 0 {
        exit::SETUP_ERROR
    } else if report.counts.failed > 0 {
        exit::CONFORMANCE_FAILED
    } else if report.counts.invariant_violations > 0 {
        exit::INVARIANT_VIOLATED
    } else {
        exit::OK
    }
}

/// Runs the selected cases and returns the report, printing only progress.
pub async fn execute(args: &ConformanceArgs, adjust_backends: &BackendAdjust) -> Result<RunReport, SetupError> {
    execute_with(args, adjust_backends, Arc::new(Events::new(vec![Box::new(report::Progress::new())]))).await
}

/// Runs the selected cases, sending the run's events to `events`, and returns the report.
pub async fn execute_with(args: &ConformanceArgs, adjust_backends: &BackendAdjust, events: Arc<Events>) -> Result<RunReport, SetupError> {
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut rng = StdRng::seed_from_u64(seed);
    let uid_base = args.uid_base.unwrap_or_else(|| 9_000_000_000 + rng.random_range(0..UID_BASES) * UID_BASE_STEP);
    eprintln!("seed {seed}; uids from {uid_base}");
    let cases = selected(args);
    if cases.is_empty() {
        return Err(SetupError::NoCases(args.filter.join(",")));
    }
    let uids = UidPlan { first: uid_base, slots: catalog::all().len() };
    let probe_uid = uids.probe();
    let started_at_unix = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (embedded, targets, db_url, totals) = match (&args.target, &args.secret) {
        (Some(url), Some(secret)) => {
            let target = Arc::new(Target::probe("target", url, secret, probe_uid).await?);
            // K-13: a server without quota need not keep count and total_bytes (syncstorage-rs
            // stores 0 in both), so the totals checks (K-20, K-24, K-28) run only where its
            // heartbeat says quota is on. The embedded reference keeps them always (H-05).
            let totals = target.quota.is_some();
            (None, vec![target], args.database.database_url.clone(), totals)
        }
        _ => {
            let secret: String = (0..16).map(|_| format!("{:02x}", rng.random::<u8>())).collect();
            let (e, targets, url) = embedded(args, &secret, probe_uid, adjust_backends).await?;
            (Some(e), targets, Some(url), true)
        }
    };
    let invariants = match db_url {
        Some(url) => Some(Arc::new(Checker::connect(&url, totals).await?)),
        None => None,
    };
    let summaries: Vec<TargetSummary> = targets.iter().map(|t| TargetSummary::from(&**t)).collect();
    events.emit(&RunEvent::Started { seed, uid_range: [uids.first, uids.end()], targets: &summaries, checks: cases.len() });
    let started = Instant::now();
    let config = RunConfig { jobs: args.jobs as usize, profile: args.profile, seed, uids, invariants };
    let each = events.clone();
    let reports = runner::run(cases, targets.clone(), config, move |r| each.emit(&RunEvent::CheckFinished(r))).await;
    let duration = started.elapsed();
    let counts = Counts::of(&reports);
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| matches!(r.outcome, crate::conformance::Outcome::Fail { .. }) || !r.violations.is_empty())
        .map(|r| r.clause)
        .collect();
    let base = replay_base(args, seed, uid_base);
    let mut refusals = Refusals::default();
    for r in &reports {
        refusals.add(&r.refusals);
    }
    let report = RunReport {
        schema: SCHEMA,
        schema_version: SCHEMA_VERSION,
        harness_version: env!("CARGO_PKG_VERSION"),
        seed,
        profile: args.profile,
        targets: summaries,
        uid_range: [uids.first, uids.end()],
        refusals,
        replay: replay_command(args, &base, &failed),
        replay_base: base,
        started_at_unix,
        duration_ms: duration.as_millis() as u64,
        counts,
        unchecked: catalog::unchecked().into_iter().map(|(clause, reason)| Unchecked { clause, reason }).collect(),
        cases: reports,
    };
    if let Some(e) = embedded {
        e.stop().await;
    }
    events.emit(&RunEvent::Finished(&report));
    Ok(report)
}
