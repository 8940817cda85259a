//! Every regression file under `fixtures/regressions/` (a shrunk sequence the fuzzer once failed
//! on, or a false alarm of the model it once raised) replays clean against the embedded
//! reference backend.

use std::path::Path;
use std::sync::Arc;

use clap::Parser;
use syncstorage_harness::cli::{Cli, Command};
use syncstorage_harness::fuzz::regression::Regression;
use syncstorage_harness::fuzz::session;
use syncstorage_harness::run::Events;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_regression_file_replays_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/regressions");
    let files = Regression::all_in(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(!files.is_empty(), "no regression files in {}", dir.display());
    let mut failed = Vec::new();
    for (path, regression) in &files {
        let path_arg = path.to_string_lossy().into_owned();
        let args = match Cli::parse_from(["syncstorage-harness", "fuzz", "--replay", &path_arg]).command {
            Command::Fuzz(a) => a,
            other => panic!("parsed {other:?}"),
        };
        let report = session::execute(&args, &|_| {}, Arc::new(Events::new(Vec::new()))).await.expect("the embedded replay starts");
        if report.counts.failed > 0 {
            let case = &report.cases[0];
            failed.push(format!("{} (was {}): {:?}\n{}", path.display(), regression.clause, case.outcome, case.transcripts.join("\n")));
        }
    }
    assert!(failed.is_empty(), "regressions that fail again:\n{}", failed.join("\n\n"));
}
