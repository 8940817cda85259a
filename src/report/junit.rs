//! JUnit XML (`--junit PATH`): one testsuite per SPEC area, one testcase per case, named by
//! clause ID and title; the seed and replay command are recorded as properties.

use std::fmt::Write as _;
use std::path::Path;

use crate::run::Outcome;
use crate::report::RunReport;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

pub fn junit_xml(report: &RunReport) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let c = report.counts;
    let _ = writeln!(
        xml,
        "<testsuites name=\"syncstorage-harness conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        report.cases.len(),
        c.failed,
        c.skipped,
        report.duration_ms as f64 / 1000.0
    );
    let mut areas: Vec<char> = report.cases.iter().map(|r| r.area()).collect();
    areas.dedup();
    for area in areas {
        let cases: Vec<_> = report.cases.iter().filter(|r| r.area() == area).collect();
        let failures = cases.iter().filter(|r| matches!(r.outcome, Outcome::Fail { .. })).count();
        let skipped = cases.iter().filter(|r| matches!(r.outcome, Outcome::Skip { .. })).count();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"SPEC area {area}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
            cases.len()
        );
        let _ = writeln!(xml, "    <properties>");
        let _ = writeln!(xml, "      <property name=\"seed\" value=\"{}\"/>", report.seed);
        let _ = writeln!(xml, "      <property name=\"profile\" value=\"{}\"/>", report.profile);
        let _ = writeln!(xml, "      <property name=\"replay\" value=\"{}\"/>", escape(&report.replay));
        let _ = writeln!(xml, "    </properties>");
        for r in cases {
            let _ = write!(
                xml,
                "    <testcase classname=\"{}\" name=\"{} {}\" time=\"{:.3}\"",
                escape(r.clause),
                escape(r.clause),
                escape(r.title),
                r.duration_ms as f64 / 1000.0
            );
            match &r.outcome {
                Outcome::Pass if r.violations.is_empty() => xml.push_str("/>\n"),
                Outcome::Compat if r.violations.is_empty() => {
                    let _ = writeln!(
                        xml,
                        ">\n      <system-out>compat: {}</system-out>\n    </testcase>",
                        escape(&r.compat.join("; "))
                    );
                }
                Outcome::Skip { reason } => {
                    let _ = writeln!(xml, ">\n      <skipped message=\"{}\"/>\n    </testcase>", escape(reason));
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
                    let _ = writeln!(
                        xml,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        escape(&message),
                        escape(&text)
                    );
                }
            }
        }
        let _ = writeln!(xml, "  </testsuite>");
    }
    xml.push_str("</testsuites>\n");
    xml
}

pub fn write_junit(report: &RunReport, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, junit_xml(report))
}
