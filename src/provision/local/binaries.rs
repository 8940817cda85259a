//! Finding the local PostgreSQL server binaries: `--pg-bin-dir` when given, else PATH and the
//! usual install directories (`/usr/lib/postgresql/*/bin`, `/usr/pgsql-*/bin`), the highest
//! version winning.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tracing::debug;

use super::error::LocalError;

const VERSION_TIMEOUT: Duration = Duration::from_secs(5);
const SEARCHED_DIR_GLOBS: [&str; 2] = ["/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"];

#[derive(Debug, Clone)]
pub(super) struct ServerBinaries {
    pub(super) dir: PathBuf,
    pub(super) initdb: PathBuf,
    pub(super) postgres: PathBuf,
    pub(super) version: String,
    version_key: Vec<u32>,
}

/// `initdb` and `postgres` from one directory (they must match), highest version first; ties go
/// to the directory found first (the explicit one, then PATH order).
pub(super) async fn find_server_binaries(explicit: Option<&Path>) -> Result<ServerBinaries, LocalError> {
    let candidates = match explicit {
        Some(dir) => vec![dir.to_path_buf()],
        None => candidate_dirs(),
    };

    let mut seen = Vec::new();
    let mut best: Option<ServerBinaries> = None;
    for dir in &candidates {
        let initdb = dir.join("initdb");
        let postgres = dir.join("postgres");
        if !is_executable(&initdb) || !is_executable(&postgres) {
            continue;
        }
        // /usr/local/bin/postgres is often a link to a versioned directory also searched.
        let identity = fs::canonicalize(&postgres).unwrap_or_else(|_| postgres.clone());
        if seen.contains(&identity) {
            continue;
        }
        seen.push(identity);
        let Some((version, version_key)) = server_version(&postgres).await else {
            continue;
        };
        if best.as_ref().is_none_or(|best| version_key > best.version_key) {
            best = Some(ServerBinaries { dir: dir.clone(), initdb, postgres, version, version_key });
        }
    }

    best.ok_or_else(|| LocalError::NoServerBinaries {
        searched: match explicit {
            Some(dir) => dir.display().to_string(),
            None => format!("PATH, {}", SEARCHED_DIR_GLOBS.join(", ")),
        },
    })
}

fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH").map(|path| std::env::split_paths(&path).collect()).unwrap_or_default();
    for glob in SEARCHED_DIR_GLOBS {
        dirs.extend(expand_version_glob(glob));
    }
    dirs
}

/// Expands a pattern with one `*` in a single path component, e.g. `/usr/lib/postgresql/*/bin`.
fn expand_version_glob(glob: &str) -> Vec<PathBuf> {
    let Some((before, after)) = glob.split_once('*') else {
        return vec![PathBuf::from(glob)];
    };
    let (parent, name_prefix) = before.rsplit_once('/').unwrap_or(("", before));
    let (name_suffix, rest) = after.split_once('/').unwrap_or((after, ""));
    let Ok(entries) = fs::read_dir(if parent.is_empty() { "/" } else { parent }) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            (name.starts_with(name_prefix) && name.ends_with(name_suffix)).then(|| entry.path().join(rest))
        })
        .collect()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

async fn server_version(postgres: &Path) -> Option<(String, Vec<u32>)> {
    let mut command = tokio::process::Command::new(postgres);
    command.arg("--version").stdin(Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(VERSION_TIMEOUT, command.output()).await.ok()?.ok()?;
    if !output.status.success() {
        debug!(program = %postgres.display(), status = %output.status, "--version failed");
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let key = version_key(&text)?;
    Some((text, key))
}

/// Numeric components of the first version number in `postgres --version` output, e.g.
/// `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` gives `[15, 18]`.
fn version_key(text: &str) -> Option<Vec<u32>> {
    let word = text.split_whitespace().find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
    let key: Vec<u32> = word
        .split('.')
        .map_while(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect();
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn highest_installed_version_is_chosen() {
        let binaries = find_server_binaries(None).await.unwrap();
        let installed_highest = expand_version_glob("/usr/lib/postgresql/*/bin")
            .iter()
            .filter_map(|dir| {
                let name = dir.parent()?.file_name()?.to_str()?;
                name.parse::<u32>().ok()
            })
            .max();
        if let Some(highest) = installed_highest {
            assert_eq!(binaries.version_key[0], highest, "{binaries:?}");
        }
    }

    #[test]
    fn version_keys_order_like_postgres_releases() {
        assert_eq!(version_key("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"), Some(vec![15, 18]));
        assert_eq!(version_key("postgres (PostgreSQL) 9.6.24"), Some(vec![9, 6, 24]));
        assert_eq!(version_key("postgres (PostgreSQL) 17beta1"), Some(vec![17]));
        assert_eq!(version_key("no digits here"), None);
        assert!(version_key("postgres (PostgreSQL) 10.1") > version_key("postgres 9.6.24"));
    }
}
