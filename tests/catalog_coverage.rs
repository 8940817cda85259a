//! The catalog covers the clause index `docs/clauses.md`: every clause of areas A-J has a case or a
//! stated reason why it cannot be checked over HTTP, every upstream test the index names under a
//! clause is mapped by a case of that clause, and no case names a clause the index lacks. The index
//! itself must be well formed: one row per clause, no duplicates, areas numbered without gaps.
//!
//! Where the SPEC is at hand (`../shared/SPEC.md` next to the project, or `SYNCSTORAGE_HARNESS_SPEC`),
//! one more test checks that the index lists exactly the SPEC's clauses and, per clause, the same
//! upstream tests; elsewhere that test says it is skipped and passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use syncstorage_harness::conformance::catalog;

const INDEX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/clauses.md");
const TABLE_HEADER: &str = "| Clause | Requires | Upstream tests |";
/// Clauses of areas A-J; keeps a parser slip from silently dropping some.
const HTTP_CLAUSES: usize = 147;
/// An upstream-tests cell with no test in it.
const NONE: &str = "—";

/// Clause id -> the upstream test names listed for it.
type Clauses = BTreeMap<String, BTreeSet<String>>;

struct Row {
    line: usize,
    id: String,
    upstream: BTreeSet<String>,
}

struct Index {
    /// Well-formed rows, in file order.
    rows: Vec<Row>,
    /// One message per malformed line or section, with its line number.
    problems: Vec<String>,
}

impl Index {
    fn clauses(&self) -> Clauses {
        let mut clauses = Clauses::new();
        for row in &self.rows {
            clauses.entry(row.id.clone()).or_default().extend(row.upstream.iter().cloned());
        }
        clauses
    }
}

/// `A-01` .. `K-99`: an area letter, a dash, two digits.
fn is_clause_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 4 && (b'A'..=b'K').contains(&b[0]) && b[1] == b'-' && b[2].is_ascii_digit() && b[3].is_ascii_digit()
}

fn is_upstream_name(name: &str) -> bool {
    name.starts_with("test_") && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_separator_row(line: &str) -> bool {
    line.trim_matches('|').split('|').all(|cell| !cell.trim().is_empty() && cell.trim().chars().all(|c| c == '-' || c == ':'))
}

fn read_index() -> Index {
    let text = std::fs::read_to_string(INDEX).unwrap_or_else(|e| panic!("read the clause index at {INDEX} ({e})"));
    parse_index(&text)
}

fn parse_index(text: &str) -> Index {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut area: Option<char> = None;
    let mut header_seen = false;
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        if let Some(title) = line.strip_prefix("## ") {
            let mut chars = title.chars();
            area = match (chars.next(), chars.next(), chars.next()) {
                (Some(letter @ 'A'..='K'), Some('.'), Some(' ')) => Some(letter),
                _ => {
                    problems.push(format!("line {n}: a section heading must read `## <A-K>. <title>`: {line:?}"));
                    None
                }
            };
            header_seen = false;
            continue;
        }
        if !line.starts_with('|') {
            continue;
        }
        let Some(area) = area else {
            problems.push(format!("line {n}: a table row outside an area section: {line:?}"));
            continue;
        };
        if line == TABLE_HEADER {
            header_seen = true;
            continue;
        }
        if is_separator_row(line) {
            continue;
        }
        if !header_seen {
            problems.push(format!("line {n}: a row before the table header {TABLE_HEADER:?}"));
        }
        if !line.ends_with('|') || line.len() < 2 {
            problems.push(format!("line {n}: a row must start and end with `|`: {line:?}"));
            continue;
        }
        let cells: Vec<&str> = line[1..line.len() - 1].split('|').map(str::trim).collect();
        let &[id, requires, upstream] = &cells[..] else {
            problems.push(format!("line {n}: a row needs 3 cells, not {}: {line:?}", cells.len()));
            continue;
        };
        if !is_clause_id(id) {
            problems.push(format!("line {n}: {id:?} is not a clause id like `A-01`"));
            continue;
        }
        if !id.starts_with(area) {
            problems.push(format!("line {n}: clause {id} sits in the section of area {area}"));
        }
        if requires.is_empty() {
            problems.push(format!("line {n}: clause {id} says nothing in `Requires`"));
        }
        let mut names = BTreeSet::new();
        if upstream != NONE {
            for piece in upstream.split(", ") {
                let name = piece.strip_prefix('`').and_then(|p| p.strip_suffix('`'));
                match name {
                    Some(name) if is_upstream_name(name) => {
                        if !names.insert(name.to_owned()) {
                            problems.push(format!("line {n}: clause {id} lists {name} twice"));
                        }
                    }
                    _ => problems.push(format!(
                        "line {n}: clause {id}: upstream tests are `test_…` names in backticks separated by \", \", \
                         or {NONE}; found {piece:?}"
                    )),
                }
            }
        }
        rows.push(Row { line: n, id: id.to_owned(), upstream: names });
    }
    Index { rows, problems }
}

#[test]
fn every_index_row_is_well_formed() {
    let index = read_index();
    assert!(index.problems.is_empty(), "docs/clauses.md is malformed:\n{}", index.problems.join("\n"));
    // Each area is present and numbered 01, 02, ... in file order, so a missing or misplaced row shows.
    for area in 'A'..='K' {
        let ids: Vec<&str> = index.rows.iter().map(|r| r.id.as_str()).filter(|id| id.starts_with(area)).collect();
        assert!(!ids.is_empty(), "docs/clauses.md has no clause of area {area}");
        let expected: Vec<String> = (1..=ids.len()).map(|k| format!("{area}-{k:02}")).collect();
        assert_eq!(ids, expected, "clauses of area {area} are not numbered 01.. in order without gaps");
    }
    let http = index.rows.iter().filter(|r| !r.id.starts_with('K')).count();
    assert_eq!(http, HTTP_CLAUSES, "the index lists {HTTP_CLAUSES} clauses in areas A-J");
}

#[test]
fn the_index_has_no_duplicate_clause() {
    let index = read_index();
    let mut first_line: BTreeMap<&str, usize> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for row in &index.rows {
        if let Some(first) = first_line.insert(&row.id, row.line) {
            duplicates.push(format!("{} on lines {first} and {}", row.id, row.line));
        }
    }
    assert!(duplicates.is_empty(), "clauses listed more than once in docs/clauses.md: {duplicates:#?}");
}

/// The A-J part of the index: the clauses HTTP cases can cover.
fn http_clauses(index: &Index) -> Clauses {
    index.clauses().into_iter().filter(|(id, _)| !id.starts_with('K')).collect()
}

#[test]
fn every_clause_of_areas_a_to_j_has_a_case_or_a_reason() {
    let clauses = http_clauses(&read_index());
    assert_eq!(clauses.len(), HTTP_CLAUSES, "the index lists {HTTP_CLAUSES} clauses in areas A-J");
    let cases = catalog::all();
    let covered: BTreeSet<&str> = cases.iter().map(|c| c.id).collect();
    let unchecked: BTreeMap<&str, &str> = catalog::unchecked().into_iter().collect();
    let missing: Vec<&String> =
        clauses.keys().filter(|id| !covered.contains(id.as_str()) && !unchecked.contains_key(id.as_str())).collect();
    assert!(missing.is_empty(), "clauses with neither a case nor a reason: {missing:?}");
    for (id, reason) in &unchecked {
        assert!(clauses.contains_key(*id), "unchecked clause {id} is not an A-J clause of the index");
        assert!(!reason.trim().is_empty(), "unchecked clause {id} needs a reason");
    }
    for case in &cases {
        assert!(clauses.contains_key(case.id), "case {:?} names {}, not an A-J clause of the index", case.title, case.id);
        assert!(!case.title.trim().is_empty(), "a case of {} has no title", case.id);
    }
}

#[test]
fn every_upstream_test_the_index_names_is_mapped_by_a_case_of_its_clause() {
    let clauses = http_clauses(&read_index());
    let cases = catalog::all();
    let unchecked: BTreeSet<&str> = catalog::unchecked().into_iter().map(|(id, _)| id).collect();
    let mut unmapped = Vec::new();
    for (id, tests) in &clauses {
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

/// Where the SPEC should be; a user's clone usually has none.
fn spec_path() -> PathBuf {
    std::env::var_os("SYNCSTORAGE_HARNESS_SPEC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/SPEC.md")))
}

/// Clause id (areas A-K) -> upstream test names mentioned in its text. A clause's text runs from
/// its bold `**X-NN — …**` line to the next clause or `## ` heading.
fn spec_clauses(text: &str) -> Clauses {
    let mut clauses = Clauses::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("## ") {
            current = None;
        }
        if let Some(rest) = line.strip_prefix("**") {
            let id: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            let bytes = id.as_bytes();
            if id.len() == 4 && (b'A'..=b'K').contains(&bytes[0]) && bytes[1] == b'-' {
                clauses.entry(id.clone()).or_default();
                current = Some(id);
            } else if id.len() == 4 && bytes[1] == b'-' {
                current = None;
            }
        }
        if let Some(id) = &current {
            for piece in line.split('`').skip(1).step_by(2) {
                if is_upstream_name(piece) {
                    clauses.entry(id.clone()).or_default().insert(piece.to_owned());
                }
            }
        }
    }
    clauses
}

#[test]
fn the_index_lists_the_spec_clauses_and_their_upstream_tests() {
    let path = spec_path();
    if !path.exists() {
        println!("skipped: no SPEC at {} (set SYNCSTORAGE_HARNESS_SPEC to compare docs/clauses.md with it)", path.display());
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read the SPEC at {} ({e})", path.display()));
    let spec = spec_clauses(&text);
    assert!(spec.len() > HTTP_CLAUSES, "the SPEC at {} yields only {} clauses", path.display(), spec.len());
    let index = read_index().clauses();
    let only_spec: Vec<&String> = spec.keys().filter(|id| !index.contains_key(*id)).collect();
    let only_index: Vec<&String> = index.keys().filter(|id| !spec.contains_key(*id)).collect();
    assert!(only_spec.is_empty(), "SPEC clauses missing from docs/clauses.md: {only_spec:?}");
    assert!(only_index.is_empty(), "docs/clauses.md clauses the SPEC lacks: {only_index:?}");
    let mut differ = Vec::new();
    for (id, tests) in &spec {
        let listed = &index[id];
        let missing: Vec<&String> = tests.difference(listed).collect();
        let extra: Vec<&String> = listed.difference(tests).collect();
        if !missing.is_empty() || !extra.is_empty() {
            differ.push(format!("{id}: index lacks {missing:?}, index adds {extra:?}"));
        }
    }
    assert!(differ.is_empty(), "upstream tests per clause differ between the SPEC and docs/clauses.md: {differ:#?}");
}
