//! The temporary directory a local cluster lives in: making it, removing it when the cluster is
//! dropped, and sweeping away those left behind by runs that were killed before they could.

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::{debug, info, warn};

use super::error::LocalError;

/// Temporary directories are named `<prefix><pid>-<n>` so a later run can tell whether their
/// owner is still alive.
const TEMP_PREFIX: &str = "syncstorage-harness-pg-";

pub(super) fn create_temp_root() -> Result<PathBuf, LocalError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    let mut last_error = io::Error::from(io::ErrorKind::AlreadyExists);
    for _ in 0..64 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let root = base.join(format!("{TEMP_PREFIX}{}-{n}", std::process::id()));
        match DirBuilder::new().mode(0o700).create(&root) {
            Ok(()) => return Ok(root),
            // Left by an earlier process that had our pid.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => last_error = error,
            Err(error) => return Err(LocalError::TempDir { path: root, error }),
        }
    }
    Err(LocalError::TempDir { path: base, error: last_error })
}

/// Removes cluster directories whose harness process and server are both gone; they are left
/// when a harness is killed before its destructors run.
pub(super) fn sweep_leftover_clusters() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|name| name.strip_prefix(TEMP_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if owner == std::process::id() as libc::pid_t || process_alive(owner) {
            continue;
        }
        let root = entry.path();
        // postgres removes postmaster.pid when it exits.
        if let Ok(text) = fs::read_to_string(root.join("data").join("postmaster.pid")) {
            let server = text.lines().next().and_then(|line| line.trim().parse().ok());
            if server.is_none_or(process_alive) {
                continue;
            }
        }
        match fs::remove_dir_all(&root) {
            Ok(()) => {
                info!(dir = %root.display(), "removed a cluster directory left by a killed run")
            }
            Err(error) => {
                debug!(dir = %root.display(), %error, "could not remove a leftover cluster directory")
            }
        }
    }
}

fn process_alive(pid: libc::pid_t) -> bool {
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is delivered.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Removes a cluster's directory once its server has stopped; a directory already gone is fine.
pub(super) fn remove_root(root: &Path) {
    match fs::remove_dir_all(root) {
        Ok(()) => debug!(dir = %root.display(), "removed the cluster directory"),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => {
            warn!(dir = %root.display(), %error, "could not remove the cluster directory")
        }
    }
}
