//! Why a throwaway cluster could not be started from the local server binaries; every step of
//! the local path (finding binaries, the server account, the temporary directory, the server's
//! start) reports through this one type.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// Why a throwaway cluster could not be started from the local server binaries.
#[derive(Debug, Error)]
pub enum LocalError {
    #[error(
        "find the PostgreSQL server binaries initdb and postgres (looked in {searched}); install \
         them (e.g. `apt-get install postgresql`)"
    )]
    NoServerBinaries { searched: String },
    #[error(
        "run PostgreSQL as root: initdb and postgres refuse root, and there is no `postgres` \
         system user to run them as; create one (e.g. `useradd --system postgres`) or give \
         --database-url"
    )]
    NoServerAccount,
    #[error("look up the `postgres` system user: {error}")]
    AccountLookup { error: io::Error },
    #[error(
        "prepare the temporary directory {path}: {error}; check that TMPDIR points to a writable \
         directory"
    )]
    TempDir { path: PathBuf, error: io::Error },
    #[error("run {program}: {error}")]
    Spawn { program: PathBuf, error: io::Error },
    #[error("create a cluster with {program} ({status}): {output}")]
    Initdb { program: PathBuf, status: String, output: String },
    #[error("pick a free TCP port on 127.0.0.1: {error}")]
    NoFreePort { error: io::Error },
    #[error("start {program}: it exited ({status}) before accepting connections; log:\n{log_tail}")]
    ServerExited { program: PathBuf, status: String, log_tail: String },
    #[error(
        "start {program}: it did not accept connections on port {port} within {timeout:?} \
         (last attempt: {last_error}); log:\n{log_tail}"
    )]
    ServerNotReady { program: PathBuf, port: u16, timeout: Duration, last_error: String, log_tail: String },
    #[error("create the database {database}: {reason}")]
    CreateDatabase { database: String, reason: String },
}
