//! JUnit XML (`--junit PATH`): one testsuite per SPEC area, one testcase per case, named by
//! clause ID and title; the seed and replay command are recorded as properties.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::run::Outcome;
use crate::run::RunReport;

/// The run as JUnit XML, written by quick-junit (which escapes what XML cannot carry).
pub fn junit_xml(report: &RunReport) -> String {
    let mut junit = Report::new("syncstorage-harness conformance");
    junit.set_time(Duration::from_millis(report.duration_ms));
    let mut areas: Vec<char> = report.cases.iter().map(|r| r.area()).collect();
    areas.sort_unstable();
    areas.dedup();
    for area in areas {
        let mut suite = TestSuite::new(format!("SPEC area {area}"));
        suite.add_property(Property::new("seed", report.seed.to_string()));
        suite.add_property(Property::new("profile", report.profile.to_string()));
        suite.add_property(Property::new("replay", report.replay.as_str()));
        for r in report.cases.iter().filter(|r| r.area() == area) {
            let status = match &r.outcome {
                Outcome::Pass | Outcome::Compat if r.violations.is_empty() => TestCaseStatus::success(),
                Outcome::Skip { reason } => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(reason.as_str());
                    s
                }
                outcome => {
                    let mut text = String::new();
                    let message = match outcome {
                        Outcome::Fail { failure } => {
                            text.push_str(&failure.to_string());
                            failure.message.clone()
                        }
                        _ => "database invariant violated".to_owned(),
                    };
                    for v in &r.variants {
                        let _ = write!(text, "\nvariant {}: {}", v.name, v.failure);
                    }
                    if let Some(e) = &r.invariant_error {
                        let _ = write!(text, "\ninvariant checks could not run: {e}");
                    }
                    for v in &r.violations {
                        let _ = write!(text, "\n{} {}: {}", v.clause, v.name, v.rows.join("; "));
                    }
                    for t in &r.transcripts {
                        let _ = write!(text, "\n\n{t}");
                    }
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(message).set_description(text);
                    s
                }
            };
            let mut case = TestCase::new(format!("{} {}", r.clause, r.title), status);
            case.set_classname(r.clause).set_time(Duration::from_millis(r.duration_ms));
            if matches!(r.outcome, Outcome::Compat) {
                case.set_system_out(format!("compat: {}", r.compat.join("; ")));
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    // Serialising into memory fails only on an I/O error, which a String never gives.
    junit.to_string().unwrap_or_default()
}
