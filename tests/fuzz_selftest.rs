//! The fuzzer against the embedded reference backend: clean, a short search finds nothing; with a
//! deliberate fault it finds the fault, names its clause and shrinks the sequence to a few steps.

use std::sync::Arc;

use clap::Parser;
use reference_backend::Faults;
use syncstorage_harness::cli::{Cli, Command, FuzzArgs};
use syncstorage_harness::fuzz::regression::Regression;
use syncstorage_harness::fuzz::session;
use syncstorage_harness::run::{Events, Outcome, RunReport};

fn args(cases: &str) -> FuzzArgs {
    let dir = std::env::temp_dir().join(format!("fuzz-selftest-{}-short", std::process::id()));
    parse(&["--seed", "11", "--cases", cases, "--steps", "30", "--time-budget", "120s", "--regressions", &dir.to_string_lossy()])
}

/// The arguments of a search with the default budget (cases, steps, time) and a fixed seed; its
/// regression files go to a scratch directory, not into the project.
fn default_budget(seed: &str, extra: &[&str]) -> FuzzArgs {
    let dir = std::env::temp_dir().join(format!("fuzz-selftest-{}-{seed}", std::process::id()));
    let dir = dir.to_string_lossy().into_owned();
    let mut argv = vec!["--seed", seed, "--regressions", &dir];
    argv.extend_from_slice(extra);
    parse(&argv)
}

fn parse(rest: &[&str]) -> FuzzArgs {
    let argv = ["syncstorage-harness", "fuzz"].iter().chain(rest.iter()).copied();
    match Cli::parse_from(argv).command {
        Command::Fuzz(a) => a,
        other => panic!("parsed {other:?}"),
    }
}

async fn search(args: &FuzzArgs, faults: Faults) -> RunReport {
    let adjust = move |c: &mut reference_backend::Config| c.faults = faults.clone();
    session::execute(args, &adjust, Arc::new(Events::new(Vec::new()))).await.expect("the embedded search starts")
}

fn shown(report: &RunReport) -> String {
    report.cases.iter().map(|c| format!("{} {:?}\n{}", c.clause, c.outcome, c.transcripts.join("\n"))).collect()
}

/// The number of operations the shrunk sequence kept, from its transcript's first line.
fn shrunk_len(report: &RunReport) -> usize {
    let first = report.cases[0].transcripts.first().cloned().unwrap_or_default();
    let n = first.strip_prefix("# shrunk to ").and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok());
    n.unwrap_or_else(|| panic!("no shrink line in the transcript:\n{}", shown(report)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_reference_backend_survives_a_short_search() {
    let report = search(&args("24"), Faults::default()).await;
    assert_eq!(report.counts.failed, 0, "{}", shown(&report));
    assert!(report.replay.contains("--seed 11"), "{}", report.replay);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_count_after_delete_is_found_by_the_invariants_and_shrunk() {
    let report = search(&args("24"), Faults { stale_count_on_delete: true, ..Faults::default() }).await;
    let case = &report.cases[0];
    assert!(matches!(case.outcome, Outcome::Fail { .. }), "{}", shown(&report));
    assert!(case.clause.starts_with("K-") || case.clause.starts_with("A-05"), "{}", shown(&report));
    assert!(shrunk_len(&report) <= 4, "a write and a delete suffice:\n{}", shown(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inclusive_newer_is_found_and_shrunk() {
    let clause = found_and_shrunk(Faults { newer_inclusive: true, ..Faults::default() }, "2", &[]).await;
    assert_eq!(clause, "C-03");
}

/// Searches with `faults` on and the default budget; asserts a failure shrunk to at most six
/// steps, and that its regression file replays the failure. Returns the clause.
async fn found_and_shrunk(faults: Faults, seed: &str, extra: &[&str]) -> String {
    let args = default_budget(seed, extra);
    let report = search(&args, faults.clone()).await;
    let case = &report.cases[0];
    assert!(matches!(case.outcome, Outcome::Fail { .. }), "{faults:?} not found:\n{}", shown(&report));
    let n = shrunk_len(&report);
    assert!(n <= 6, "{faults:?} shrunk to {n} steps:\n{}", shown(&report));
    eprintln!("{faults:?}: {} after shrinking to {n} steps", case.clause);
    case.clause.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_unmodified_since_on_post_is_found() {
    let clause = found_and_shrunk(Faults { ignore_unmodified_since_on_post: true, ..Faults::default() }, "1", &[]).await;
    assert!(clause.starts_with("D-0"), "{clause}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_atomic_commit_is_found() {
    found_and_shrunk(Faults { non_atomic_commit: true, ..Faults::default() }, "4", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_counted_as_characters_are_found() {
    found_and_shrunk(Faults { bytes_as_chars: true, ..Faults::default() }, "1", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_same_tick_is_found() {
    // Writes at once meet the same 10 ms tick every time; one after another only by chance.
    let clause = found_and_shrunk(Faults { unavailable_same_tick: true, ..Faults::default() }, "2", &["--concurrency", "4"]).await;
    assert_eq!(clause, "I-04");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mangled_astral_characters_are_found() {
    let clause = found_and_shrunk(Faults { mangle_astral: true, ..Faults::default() }, "2", &[]).await;
    assert!(["A-11", "C-01", "E-11"].contains(&clause.as_str()), "{clause}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_that_drop_older_are_found() {
    found_and_shrunk(Faults { ids_ignore_older: true, ..Faults::default() }, "1", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_that_drop_newer_are_found() {
    let clause = found_and_shrunk(Faults { ids_ignore_newer: true, ..Faults::default() }, "2", &[]).await;
    assert_eq!(clause, "C-03");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_write_that_discards_open_batches_is_found() {
    found_and_shrunk(Faults { write_discards_batches: true, ..Faults::default() }, "1", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlocked_commit_is_found_by_concurrent_clients() {
    found_and_shrunk(Faults { unlocked_commit: true, ..Faults::default() }, "1", &["--concurrency", "8"]).await;
}

/// Replays the regression file at `path` once against a backend with `faults`.
async fn replayed(path: &std::path::Path, faults: Faults) -> RunReport {
    let path = path.to_string_lossy().into_owned();
    search(&parse(&["--replay", &path]), faults).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_found_sequence_is_kept_as_a_regression_file_that_replays_it() {
    let faults = Faults { ids_ignore_newer: true, ..Faults::default() };
    let args = default_budget("2", &[]);
    let _ = std::fs::remove_dir_all(&args.regressions);
    let report = search(&args, faults.clone()).await;
    assert!(matches!(report.cases[0].outcome, Outcome::Fail { .. }), "{}", shown(&report));
    let files = Regression::all_in(&args.regressions).expect("the regression directory reads");
    assert_eq!(files.len(), 1, "one file for one finding: {files:?}");
    let (path, regression) = &files[0];
    assert_eq!(regression.clause, report.cases[0].clause);
    assert_eq!(regression.ops.len(), shrunk_len(&report), "the file holds the shrunk sequence");
    let again = replayed(path, faults).await;
    assert_eq!(again.cases[0].clause, report.cases[0].clause, "the file replays the failure:\n{}", shown(&again));
    let fixed = replayed(path, Faults::default()).await;
    assert_eq!(fixed.counts.failed, 0, "and passes once the fault is gone:\n{}", shown(&fixed));
    std::fs::remove_dir_all(&args.regressions).expect("the scratch directory is removed");
}
