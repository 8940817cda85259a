//! Checked operations per second of the fuzzer on the embedded default: every answer judged by
//! the model, with the SPEC area K invariants after every step and without them. Prints figures,
//! asserts nothing (target on a 2-core machine: 500 checked operations/s with invariants).
//!
//! Run with `cargo bench --bench fuzz_ops` (release build). `SECS` sets each run's time budget
//! (default 20), `CONCURRENCY` adds concurrent rounds.

use std::sync::Arc;

use clap::Parser;
use syncstorage_harness::cli::{Cli, Command};
use syncstorage_harness::fuzz::session;
use syncstorage_harness::run::Events;

fn main() {
    let secs = std::env::var("SECS").unwrap_or_else(|_| "20".to_owned());
    let concurrency = std::env::var("CONCURRENCY").unwrap_or_else(|_| "1".to_owned());
    let scratch = std::env::temp_dir().join(format!("fuzz-bench-{}", std::process::id()));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    for invariants in [true, false] {
        let mut argv = vec!["syncstorage-harness", "fuzz", "--seed", "31", "--cases", "10000", "--time-budget", &secs];
        argv.extend(["--concurrency", &concurrency, "--regressions", scratch.to_str().expect("utf-8 temp dir")]);
        if !invariants {
            argv.push("--no-invariants");
        }
        let Command::Fuzz(args) = Cli::parse_from(argv).command else { unreachable!("parsed the fuzz subcommand") };
        let (report, measured) =
            rt.block_on(session::execute_measured(&args, &|_| {}, Arc::new(Events::new(Vec::new())))).expect("the embedded search starts");
        let label = if invariants { "invariants after every step" } else { "no invariant checks" };
        match measured {
            Some((stats, took)) => println!(
                "{label}: {} sequences, {} operations in {:.1} s: {:.0} checked operations/s",
                stats.sequences,
                stats.operations,
                took.as_secs_f64(),
                stats.operations as f64 / took.as_secs_f64()
            ),
            None => println!("{label}: the search failed: {:?}", report.cases[0].outcome),
        }
    }
}
