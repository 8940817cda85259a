//! Wall time of the whole conformance catalog against the embedded reference backend (the
//! target is at most 15 s on a 2-core machine), printed as figures, never asserted.
//!
//! Run with `cargo bench --bench catalog_wall` (release build). `RUNS` sets the number of runs.

use std::time::{Duration, Instant};

use clap::Parser;
use syncstorage_harness::cli::{Cli, Command};
use syncstorage_harness::conformance::session;

fn main() {
    let runs: usize = std::env::var("RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let mut walls = Vec::new();
    let mut case_times = Vec::new();
    for run in 0..runs {
        let Command::Conformance(args) = Cli::parse_from(["syncstorage-harness", "conformance", "--seed", "1"]).command else {
            unreachable!("parsed the conformance subcommand");
        };
        let started = Instant::now();
        let report = rt.block_on(session::execute(&args, &|_| {})).expect("the embedded run starts");
        let wall = started.elapsed();
        println!(
            "run {run}: {} cases, {} passed, {} failed; wall {:.2} s (of which cases {:.2} s)",
            report.cases.len(),
            report.counts.passed,
            report.counts.failed,
            wall.as_secs_f64(),
            report.duration_ms as f64 / 1000.0
        );
        walls.push(wall);
        case_times.push(Duration::from_millis(report.duration_ms));
    }
    walls.sort();
    case_times.sort();
    let median = |v: &[Duration]| v[v.len() / 2].as_secs_f64();
    println!(
        "catalog wall: min {:.2} s, median {:.2} s, max {:.2} s; case phase median {:.2} s",
        walls[0].as_secs_f64(),
        median(&walls),
        walls[walls.len() - 1].as_secs_f64(),
        median(&case_times)
    );
}
