//! The fuzzer against the embedded reference backend: clean, a short search finds nothing; with a
//! deliberate fault it finds the fault, names its clause and shrinks the sequence to a few steps.

use std::sync::Arc;

use clap::Parser;
use reference_backend::Faults;
use syncstorage_harness::cli::{Cli, Command, FuzzArgs};
use syncstorage_harness::fuzz::session;
use syncstorage_harness::run::{Events, Outcome, RunReport};

fn args(cases: &str) -> FuzzArgs {
    let argv = ["syncstorage-harness", "fuzz", "--seed", "11", "--cases", cases, "--steps", "30", "--time-limit", "120"];
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
    let report = search(&args("64"), Faults { newer_inclusive: true, ..Faults::default() }).await;
    let case = &report.cases[0];
    assert!(matches!(case.outcome, Outcome::Fail { .. }), "{}", shown(&report));
    assert_eq!(case.clause, "C-03", "{}", shown(&report));
    assert!(shrunk_len(&report) <= 4, "a write and a listing suffice:\n{}", shown(&report));
}
