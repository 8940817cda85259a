//! One `fuzz` run from the command line: set up the target (the embedded reference backend with
//! small limits and a quota, or the user's server), search with proptest from the run's seed,
//! shrink a failure to the shortest sequence that still fails, report it through the same
//! reporters as conformance, and pick the exit code.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use proptest_state_machine::ReferenceStateMachine;

use crate::cli::{FuzzArgs, ListFormat};
use crate::exit;
use crate::fuzz::driver::{Found, Fuzzer};
use crate::fuzz::generate::{FuzzMachine, GenConfig, with_config};
use crate::fuzz::regression::{REGRESSION_SCHEMA, Regression};
use crate::invariants::Checker;
use crate::model::Op;
use crate::report;
use crate::run::{
    CaseReport, Counts, Events, Failure, Outcome, Refusals, Reporter, RunEvent, RunReport, SCHEMA, SCHEMA_VERSION, TargetSummary,
};
use crate::setup::{BackendAdjust, EMBEDDED_QUOTA_BYTES, SetupError, Variant, small_limits, start_embedded};
use crate::target::Target;

/// Uids a fuzz run owns, from its base: one probe uid, then fresh users for every sequence run
/// (shrinking included) until the range is used up, which ends the search.
const UID_SPAN: u64 = 20_000;
/// Runs of a candidate sequence while shrinking, before it counts as passing.
const SHRINK_ATTEMPTS: u32 = 5;
/// How often the progress line is printed.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// Shrinking stops after this many simplification steps.
const MAX_SHRINK_ITERS: u32 = 400;

/// Runs the search with the reporters the arguments ask for; returns the process exit code.
pub async fn run(args: &FuzzArgs) -> Result<u8, SetupError> {
    let stdout: report::Render = match args.format {
        ListFormat::Table => report::render_table,
        ListFormat::Json => report::render_json,
        ListFormat::Markdown => report::render_markdown,
    };
    let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(report::Progress::new()), Box::new(report::Print(stdout))];
    let files: [(&Option<std::path::PathBuf>, report::Render); 3] =
        [(&args.markdown, report::render_markdown), (&args.json, report::render_json), (&args.junit, report::junit_xml)];
    for (path, render) in files {
        if let Some(path) = path {
            reporters.push(Box::new(report::WriteFile { path: path.clone(), render }));
        }
    }
    let events = Arc::new(Events::new(reporters));
    let report = execute(args, &|_| {}, events.clone()).await?;
    if let Some(e) = events.take_error() {
        return Err(e.into());
    }
    Ok(if report.counts.failed > 0 { exit::CONFORMANCE_FAILED } else { exit::OK })
}

/// Runs the search and returns its report.
pub async fn execute(args: &FuzzArgs, adjust: &BackendAdjust, events: Arc<Events>) -> Result<RunReport, SetupError> {
    Ok(execute_measured(args, adjust, events).await?.0)
}

/// Runs the search; returns its report and, when it found nothing, what it went through and how
/// long the search itself took (set-up excluded), for benchmarks.
pub async fn execute_measured(
    args: &FuzzArgs,
    adjust: &BackendAdjust,
    events: Arc<Events>,
) -> Result<(RunReport, Option<(Stats, std::time::Duration)>), SetupError> {
    let seed = args.seed.unwrap_or_else(rand::random);
    let uid_base = args.uid_base.unwrap_or(9_000_000_000 + (seed % 45_000) * UID_SPAN);
    eprintln!("seed {seed}; uids from {uid_base}");
    let started_at_unix = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (embedded, target, db_url, totals) = match (&args.target, &args.secret) {
        (Some(url), Some(secret)) => {
            let target = Arc::new(Target::probe("target", url, secret, uid_base).await?);
            let totals = target.quota.is_some();
            (None, target, args.database.database_url.clone(), totals)
        }
        _ => {
            let secret: String = format!("{:016x}{:016x}", seed.rotate_left(7), seed ^ 0x5eed);
            let variants: Vec<Variant> = vec![(
                "reference+small-limits+quota",
                Box::new(|c: &mut reference_backend::Config| {
                    c.limits = small_limits();
                    c.quota_limit = Some(EMBEDDED_QUOTA_BYTES);
                }),
            )];
            let (e, mut targets, url) = start_embedded(&args.database.provision_options(), &secret, uid_base, variants, adjust).await?;
            (Some(e), targets.remove(0), Some(url), true)
        }
    };
    let invariants = match db_url {
        Some(url) if !args.no_invariants => Some(Arc::new(Checker::connect(&url, totals).await?)),
        _ => None,
    };
    let summaries = vec![TargetSummary::from(&*target)];
    events.emit(&RunEvent::Started { seed, uid_range: [uid_base, uid_base + UID_SPAN], targets: &summaries, checks: 1 });
    let case_invariants = invariants.is_some();
    let users = match &args.replay {
        Some(path) => Regression::read(path).map_err(SetupError::Usage)?.users,
        None => args.users as usize,
    };
    let fuzzer = Fuzzer { target: target.clone(), invariants, profile: args.profile, users };
    let started = Instant::now();
    let outcome = match &args.replay {
        Some(path) => replay_file(path, &fuzzer, uid_base).await,
        None => {
            let search = Search::new(args, seed, uid_base, fuzzer);
            tokio::task::spawn_blocking(move || search.run()).await.unwrap_or_else(|e| Err(panicked(&e)))
        }
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    let base = replay(args, seed, uid_base);
    let mut case = CaseReport {
        clause: "fuzz",
        title: "generated sequences against the model and the invariants",
        upstream: Vec::new(),
        target: target.label.clone(),
        outcome: Outcome::Pass,
        duration_ms,
        uids: Vec::new(),
        compat: Vec::new(),
        variants: Vec::new(),
        refusals: Refusals::default(),
        violations: Vec::new(),
        invariant_error: None,
        transcripts: Vec::new(),
        judges_refusals: false,
    };
    let mut summary = String::new();
    let mut measured = None;
    match outcome {
        Ok(stats) => {
            measured = Some((stats, started.elapsed()));
            let secs = started.elapsed().as_secs_f64().max(0.001);
            summary = format!(
                "seed {seed}: {} cases, {} steps, {:.0} operations/s{}; none the model or the invariants refuse",
                stats.sequences,
                stats.operations,
                stats.operations as f64 / secs,
                if case_invariants { ", invariants after every step" } else { ", no invariant checks" }
            )
        }
        Err(found) => {
            if args.replay.is_none() {
                let regression = Regression {
                    schema: REGRESSION_SCHEMA.to_owned(),
                    clause: found.clause.to_owned(),
                    message: found.failure.message.clone(),
                    found_on: format!("{} ({} profile)", target.label, args.profile),
                    seed,
                    users: args.users as usize,
                    ops: found.ops.clone(),
                };
                match regression.write(&args.regressions) {
                    Ok(path) => eprintln!(
                        "the shrunk sequence is in {}; replay it with `syncstorage-harness fuzz --replay {}` (cargo test replays fixtures/regressions/)",
                        path.display(),
                        path.display()
                    ),
                    Err(e) => eprintln!("warning: the regression file was not written: {e}"),
                }
            }
            case.clause = found.clause;
            case.outcome = Outcome::Fail {
                failure: Failure { message: format!("step {}: {}", found.step + 1, found.failure.message), ..*found.failure },
            };
            case.transcripts = found.transcript;
        }
    }
    if !summary.is_empty() {
        eprintln!("{summary}");
    }
    let cases = vec![case];
    let report = RunReport {
        schema: SCHEMA,
        schema_version: SCHEMA_VERSION,
        harness_version: env!("CARGO_PKG_VERSION"),
        seed,
        profile: args.profile,
        targets: summaries,
        uid_range: [uid_base, uid_base + UID_SPAN],
        refusals: Refusals::default(),
        replay: base.clone(),
        replay_base: base,
        started_at_unix,
        duration_ms,
        counts: Counts::of(&cases),
        cases,
        unchecked: Vec::new(),
    };
    events.emit(&RunEvent::CheckFinished(&report.cases[0]));
    if let Some(e) = embedded {
        e.stop().await;
    }
    events.emit(&RunEvent::Finished(&report));
    Ok((report, measured))
}

fn panicked(e: &tokio::task::JoinError) -> Found {
    Found::of_search(format!("the search stopped: {e}"), Vec::new())
}

/// Runs a regression file's sequence once, as fresh users of the run's range.
async fn replay_file(path: &std::path::Path, fuzzer: &Fuzzer, uid_base: u64) -> Result<Stats, Found> {
    let regression = Regression::read(path).map_err(|e| Found::of_search(e, Vec::new()))?;
    let uids: Vec<u64> = (uid_base + 1..).take(regression.users).collect();
    let operations = fuzzer.run(&regression.ops, &uids).await?;
    Ok(Stats { sequences: 1, operations })
}

/// The command that runs the same search again.
fn replay(args: &FuzzArgs, seed: u64, uid_base: u64) -> String {
    let mut cmd = match &args.replay {
        Some(path) => format!("syncstorage-harness fuzz --replay {} --uid-base {uid_base}", path.display()),
        None => format!(
            "syncstorage-harness fuzz --seed {seed} --uid-base {uid_base} --cases {} --steps {} --users {} --concurrency {}",
            args.cases, args.steps, args.users, args.concurrency
        ),
    };
    if let Some(t) = &args.target {
        cmd.push_str(&format!(" --target {t} --secret \"$SYNCSTORAGE_HARNESS_SECRET\""));
    }
    if args.database.database_url.is_some() {
        cmd.push_str(" --database-url \"$SYNCSTORAGE_HARNESS_DATABASE_URL\"");
    }
    if args.profile != crate::sync::Profile::Spec {
        cmd.push_str(&format!(" --profile {}", args.profile));
    }
    cmd
}

/// What a search that found nothing went through.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub sequences: usize,
    pub operations: usize,
}

/// The proptest search, run on a blocking thread that drives the async steps on the runtime.
struct Search {
    cases: u32,
    steps: usize,
    seed: u64,
    deadline: Instant,
    started: Instant,
    /// When the progress line was last printed.
    last_progress: Mutex<Instant>,
    uid_next: AtomicU64,
    uid_end: u64,
    fuzzer: Fuzzer,
    settings: GenConfig,
    /// The last failing sequence's finding: after shrinking, the shortest one.
    last_found: Mutex<Option<Found>>,
    sequences: AtomicUsize,
    operations: AtomicUsize,
}

impl Search {
    fn new(args: &FuzzArgs, seed: u64, uid_base: u64, fuzzer: Fuzzer) -> Self {
        let settings = GenConfig { users: fuzzer.users, limits: fuzzer.target.limits.clone(), concurrency: args.concurrency as usize };
        Search {
            cases: args.cases,
            steps: args.steps as usize,
            seed,
            deadline: Instant::now() + args.time_budget,
            started: Instant::now(),
            last_progress: Mutex::new(Instant::now()),
            uid_next: AtomicU64::new(uid_base + 1),
            uid_end: uid_base + UID_SPAN,
            fuzzer,
            settings,
            last_found: Mutex::new(None),
            sequences: AtomicUsize::new(0),
            operations: AtomicUsize::new(0),
        }
    }

    // proptest's TestError carries the whole failing value; it is not ours to box.
    #[allow(clippy::result_large_err)]
    fn run(self) -> Result<Stats, Found> {
        let handle = tokio::runtime::Handle::current();
        let config = Config { cases: self.cases, max_shrink_iters: MAX_SHRINK_ITERS, failure_persistence: None, ..Config::default() };
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.seed.to_le_bytes());
        let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
        let strategy = FuzzMachine::sequential_strategy(1..=self.steps);
        let result = with_config(self.settings.clone(), || {
            runner.run(&strategy, |(_, ops, seen)| {
                if Instant::now() >= self.deadline {
                    return Ok(());
                }
                let Some(uids) = self.fresh_uids() else { return Ok(()) };
                if let Some(seen) = &seen {
                    seen.store(ops.len(), Ordering::SeqCst);
                }
                self.sequences.fetch_add(1, Ordering::Relaxed);
                match handle.block_on(self.attempts(&ops, uids)) {
                    Ok(n) => {
                        self.operations.fetch_add(n, Ordering::Relaxed);
                        self.progress();
                        Ok(())
                    }
                    Err(found) => {
                        let message = format!("{}: {}", found.clause, found.failure.message);
                        *self.last_found.lock().unwrap_or_else(PoisonError::into_inner) = Some(found);
                        Err(TestCaseError::fail(message))
                    }
                }
            })
        });
        match result {
            Ok(()) => Ok(Stats { sequences: self.sequences.load(Ordering::Relaxed), operations: self.operations.load(Ordering::Relaxed) }),
            Err(TestError::Fail(_, (_, ops, _))) => {
                let found = self.last_found.lock().unwrap_or_else(PoisonError::into_inner).take();
                Err(found.map_or_else(
                    || not_kept(&ops),
                    |mut f| {
                        f.transcript.insert(0, format!("# shrunk to {} operations:\n{}", f.ops.len(), listing(&f.ops)));
                        f
                    },
                ))
            }
            Err(TestError::Abort(why)) => Err(Found::of_search(format!("the search gave up: {why}"), Vec::new())),
        }
    }

    /// Runs a sequence; while shrinking, a simpler sequence that passes is run again (four times at
    /// most, as fresh users): a failure that depends on timing (concurrent rounds, the clock's
    /// 10 ms tick) would otherwise stop the shrinking early.
    async fn attempts(&self, ops: &[Op], uids: Vec<u64>) -> Result<usize, Found> {
        let shrinking = self.last_found.lock().unwrap_or_else(PoisonError::into_inner).is_some();
        let mut uids = uids;
        let mut tries = if shrinking { SHRINK_ATTEMPTS } else { 1 };
        loop {
            let outcome = self.fuzzer.run(ops, &uids).await;
            tries -= 1;
            let next = if outcome.is_ok() && tries > 0 { self.fresh_uids() } else { None };
            match next {
                Some(next) => uids = next,
                None => return outcome,
            }
        }
    }

    /// Every few seconds, one line on stderr: sequences, operations, their rate, time left.
    fn progress(&self) {
        let mut last = self.last_progress.lock().unwrap_or_else(PoisonError::into_inner);
        if last.elapsed() < PROGRESS_EVERY {
            return;
        }
        *last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let ops = self.operations.load(Ordering::Relaxed);
        eprintln!(
            "fuzz: {} sequences, {ops} operations, {:.0}/s, {:.0} s left",
            self.sequences.load(Ordering::Relaxed),
            ops as f64 / secs,
            self.deadline.saturating_duration_since(Instant::now()).as_secs_f64()
        );
    }

    fn fresh_uids(&self) -> Option<Vec<u64>> {
        let n = self.fuzzer.users as u64;
        let first = self.uid_next.fetch_add(n, Ordering::SeqCst);
        (first + n <= self.uid_end).then(|| (first..first + n).collect())
    }
}

fn listing(ops: &[Op]) -> String {
    ops.iter().enumerate().map(|(i, op)| format!("#   {}. {op}", i + 1)).collect::<Vec<_>>().join("\n")
}

fn not_kept(ops: &[Op]) -> Found {
    Found { transcript: vec![listing(ops)], ..Found::of_search("a sequence failed but its finding was not kept", ops.to_vec()) }
}
