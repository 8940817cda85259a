//! The catalog covers the SPEC: every clause of areas A-J has a case or a stated reason why it
//! cannot be checked over HTTP, every upstream test the SPEC names under a clause is mapped by a
//! case of that clause, and no case names a clause the SPEC lacks.
//!
//! The SPEC is read from `../shared/SPEC.md` next to the project (or `SYNCSTORAGE_HARNESS_SPEC`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use syncstorage_harness::conformance::catalog;

/// Clause id -> upstream test names mentioned in its text.
fn spec_clauses() -> BTreeMap<String, BTreeSet<String>> {
    let path = std::env::var("SYNCSTORAGE_HARNESS_SPEC")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/SPEC.md")));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read the SPEC at {} ({e}); set SYNCSTORAGE_HARNESS_SPEC", path.display()));
    let mut clauses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("## ") {
            current = None;
        }
        if let Some(rest) = line.strip_prefix("**") {
            let id: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            let bytes = id.as_bytes();
            if id.len() == 4 && (b'A'..=b'J').contains(&bytes[0]) && bytes[1] == b'-' {
                clauses.entry(id.clone()).or_default();
                current = Some(id);
            } else if id.len() == 4 && bytes[1] == b'-' {
                current = None;
            }
        }
        if let Some(id) = &current {
            for piece in line.split('`').skip(1).step_by(2) {
                if piece.starts_with("test_") && piece.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    clauses.entry(id.clone()).or_default().insert(piece.to_owned());
                }
            }
        }
    }
    clauses
}

#[test]
fn every_clause_of_areas_a_to_j_has_a_case_or_a_reason() {
    let spec = spec_clauses();
    assert_eq!(spec.len(), 147, "the SPEC lists 147 clauses in areas A-J");
    let cases = catalog::all();
    let covered: BTreeSet<&str> = cases.iter().map(|c| c.id).collect();
    let unchecked: BTreeMap<&str, &str> = catalog::unchecked().into_iter().collect();
    let missing: Vec<&String> =
        spec.keys().filter(|id| !covered.contains(id.as_str()) && !unchecked.contains_key(id.as_str())).collect();
    assert!(missing.is_empty(), "clauses with neither a case nor a reason: {missing:?}");
    for (id, reason) in &unchecked {
        assert!(spec.contains_key(*id), "unchecked clause {id} is not in the SPEC");
        assert!(!reason.trim().is_empty(), "unchecked clause {id} needs a reason");
    }
    for case in &cases {
        assert!(spec.contains_key(case.id), "case {:?} names a clause the SPEC lacks", case.title);
        assert!(!case.title.trim().is_empty(), "a case of {} has no title", case.id);
    }
}

#[test]
fn every_upstream_test_the_spec_names_is_mapped_by_a_case_of_its_clause() {
    let spec = spec_clauses();
    let cases = catalog::all();
    let unchecked: BTreeSet<&str> = catalog::unchecked().into_iter().map(|(id, _)| id).collect();
    let mut unmapped = Vec::new();
    for (id, tests) in &spec {
        if unchecked.contains(id.as_str()) {
            continue;
        }
        for test in tests {
            let mapped = cases.iter().any(|c| c.id == id && c.upstream.iter().any(|u| u == test));
            if !mapped {
                unmapped.push(format!("{id}: {test}"));
            }
        }
    }
    assert!(unmapped.is_empty(), "upstream tests not mapped by a case of their clause: {unmapped:#?}");
}

#[test]
fn case_titles_are_unique_within_a_clause() {
    let mut seen = BTreeSet::new();
    for case in catalog::all() {
        assert!(seen.insert((case.id, case.title)), "duplicate case {} {:?}", case.id, case.title);
    }
}
