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
        Some(url) => Some(Arc::new(Checker::connect(&url, totals).await?)),
        None => None,
    };
    let summaries = vec![TargetSummary::from(&*target)];
    events.emit(&RunEvent::Started { seed, uid_range: [uid_base, uid_base + UID_SPAN], targets: &summaries, checks: 1 });
    let fuzzer = Fuzzer { target: target.clone(), invariants, profile: args.profile, users: args.users as usize };
    let started = Instant::now();
    let search = Search::new(args, seed, uid_base, fuzzer);
    let outcome = tokio::task::spawn_blocking(move || search.run()).await.unwrap_or_else(|e| Err(panicked(&e)));
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
    match outcome {
        Ok(stats) => {
            summary = format!("{} sequences, {} operations, none the model or the invariants refuse", stats.sequences, stats.operations)
        }
        Err(found) => {
            case.clause = found.clause;
            case.outcome = Outcome::Fail {
                failure: Failure { message: format!("step {}: {}", found.step + 1, found.failure.message), ..found.failure },
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
    Ok(report)
}

fn panicked(e: &tokio::task::JoinError) -> Found {
    Found { clause: "fuzz", step: 0, failure: Failure::new(format!("the search stopped: {e}")), transcript: Vec::new() }
}

/// The command that runs the same search again.
fn replay(args: &FuzzArgs, seed: u64, uid_base: u64) -> String {
    let mut cmd = format!(
        "syncstorage-harness fuzz --seed {seed} --uid-base {uid_base} --cases {} --steps {} --users {}",
        args.cases, args.steps, args.users
    );
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
        let settings = GenConfig { users: fuzzer.users, limits: fuzzer.target.limits.clone() };
        Search {
            cases: args.cases,
            steps: args.steps as usize,
            seed,
            deadline: Instant::now() + std::time::Duration::from_secs(args.time_limit),
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
                match handle.block_on(self.fuzzer.run(&ops, &uids)) {
                    Ok(n) => {
                        self.operations.fetch_add(n, Ordering::Relaxed);
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
                        f.transcript.insert(0, format!("# shrunk to {} operations:\n{}", ops.len(), listing(&ops)));
                        f
                    },
                ))
            }
            Err(TestError::Abort(why)) => {
                Err(Found { clause: "fuzz", step: 0, failure: Failure::new(format!("the search gave up: {why}")), transcript: Vec::new() })
            }
        }
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
    Found {
        clause: "fuzz",
        step: 0,
        failure: Failure::new("a sequence failed but its finding was not kept"),
        transcript: vec![listing(ops)],
    }
}
