//! The whole catalog passes against the embedded reference backend, under both profiles, and
//! leaves no database invariant violated (the main job of `syncstorage-harness conformance`).

use clap::Parser;
use syncstorage_harness::cli::{Cli, Command, ConformanceArgs};
use syncstorage_harness::conformance::Outcome;
use syncstorage_harness::conformance::session;
use syncstorage_harness::report::render_table;

fn args(extra: &[&str]) -> ConformanceArgs {
    let argv = ["syncstorage-harness", "conformance", "--seed", "20261128"].iter().chain(extra);
    match Cli::parse_from(argv).command {
        Command::Conformance(a) => a,
        other => panic!("parsed {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_catalog_passes_on_the_reference_backend() {
    let report = session::execute(&args(&[]), &|_| {}).await.expect("the embedded run starts");
    let table = render_table(&report);
    assert_eq!(report.counts.failed, 0, "{table}");
    assert_eq!(report.counts.invariant_violations, 0, "{table}");
    assert_eq!(report.counts.compat, 0, "the reference follows the rule, never a compat line\n{table}");
    let skipped: Vec<_> = report.cases.iter().filter(|c| matches!(c.outcome, Outcome::Skip { .. })).collect();
    assert!(skipped.is_empty(), "the embedded targets have everything every case needs: {skipped:?}");
    assert!(report.cases.len() >= 147, "at least one case per clause, got {}", report.cases.len());
    assert_eq!(session::exit_code(&report), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_syncstorage_rs_profile_still_expects_the_rule_where_no_compat_line_exists() {
    let report =
        session::execute(&args(&["--profile", "syncstorage-rs", "--filter", "A-,B-"]), &|_| {}).await.expect("the embedded run starts");
    assert_eq!(report.counts.failed, 0, "{}", render_table(&report));
    assert_eq!(report.counts.compat, 0, "{}", render_table(&report));
    assert!(report.cases.iter().all(|c| c.clause.starts_with('A') || c.clause.starts_with('B')));
}
