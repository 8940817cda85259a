//! Regression files: the shrunk sequence of a failure, kept under `fixtures/regressions/` and
//! replayed by `cargo test` from then on (and by `fuzz --replay FILE`). A file records the
//! sequence as operations, not as requests, so it replays against any target: batch ids, offsets
//! and timestamps are resolved by the model again on every run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::Op;

/// What a regression file says; the JSON layout is versioned by `schema`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Regression {
    pub schema: String,
    /// The clause or invariant the sequence broke when it was found.
    pub clause: String,
    /// The failure as it was reported.
    pub message: String,
    /// Where it was found (target label and profile) and the seed of the search.
    pub found_on: String,
    pub seed: u64,
    /// Users the sequence needs (fresh ones on every replay).
    pub users: usize,
    pub ops: Vec<Op>,
}

pub const REGRESSION_SCHEMA: &str = "syncstorage-harness/fuzz-regression/1";

impl Regression {
    pub fn read(path: &Path) -> Result<Regression, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the regression file {}: {e}", path.display()))?;
        let r: Regression = serde_json::from_str(&text).map_err(|e| format!("{} is not a regression file: {e}", path.display()))?;
        if r.schema != REGRESSION_SCHEMA {
            return Err(format!("{} has schema {:?}; this harness reads {REGRESSION_SCHEMA:?}", path.display(), r.schema));
        }
        Ok(r)
    }

    /// Writes the file into `dir` (created when missing) under a name made of the clause and
    /// the seed; returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let name: String = self.clause.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        let path = dir.join(format!("{name}-seed{}.json", self.seed));
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// Every regression file in `dir`, sorted by name (none when `dir` does not exist).
    pub fn all_in(dir: &Path) -> Result<Vec<(PathBuf, Regression)>, String> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
        let mut paths: Vec<PathBuf> =
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
        paths.sort();
        paths.into_iter().map(|p| Regression::read(&p).map(|r| (p, r))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Precondition, TsRef};
    use crate::sync::Stamp;

    #[test]
    fn a_regression_file_round_trips() {
        let r = Regression {
            schema: REGRESSION_SCHEMA.to_owned(),
            clause: "C-03".to_owned(),
            message: "m".to_owned(),
            found_on: "reference".to_owned(),
            seed: 5,
            users: 1,
            ops: vec![
                Op::Put {
                    user: 0,
                    coll: "tabs".to_owned(),
                    id: "a".to_owned(),
                    body: serde_json::json!({"payload": "x"}),
                    pre: Precondition::UnmodifiedSince(TsRef::At(Stamp(12))),
                },
                Op::Wait { ms: 1100 },
            ],
        };
        let dir = std::env::temp_dir().join(format!("harness-regression-{}", std::process::id()));
        let path = r.write(&dir).unwrap();
        assert!(path.ends_with("C-03-seed5.json"), "{}", path.display());
        assert_eq!(Regression::read(&path).unwrap(), r);
        assert_eq!(Regression::all_in(&dir).unwrap().len(), 1);
        std::fs::write(&path, "{}").unwrap();
        assert!(Regression::read(&path).unwrap_err().contains("not a regression file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
