//! The [`Postgres`] handle every way of getting a database returns, and the process-wide registry
//! of the throwaway servers behind those handles.
//!
//! A handle holds only its registry key. Whoever takes an entry out of the registry tears it
//! down, so teardown runs exactly once:
//!
//! - dropping the handle stops the server (for a local cluster: SIGINT, PostgreSQL's "fast"
//!   shutdown, then SIGKILL after a grace period) and removes the temporary directories; this also
//!   happens while a panic unwinds;
//! - [`cleanup_all`] tears down every entry; call it from the Ctrl-C handler before exiting (and,
//!   if the binary is built with `panic = "abort"`, from a panic hook), because
//!   `std::process::exit` skips destructors;
//! - a local server is started with a parent-death signal, so it also shuts down when the harness
//!   is killed outright; the temporary directory it leaves behind is removed by the next run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tracing::info;

use super::connection::redact_url;

/// How a [`Postgres`] was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostgresKind {
    /// A server the user gave by URL; the harness does not own it.
    External,
    /// A throwaway cluster started from the local server binaries.
    Local,
    /// A throwaway Docker container.
    Container,
}

impl fmt::Display for PostgresKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::External => "external server",
            Self::Local => "local throwaway cluster",
            Self::Container => "Docker container",
        })
    }
}

/// A PostgreSQL database ready for use. For a throwaway cluster or container, the server lives
/// exactly as long as this value: dropping it blocks for the shutdown (tens of milliseconds for
/// a local cluster). Drop it, or call [`cleanup_all`], before `std::process::exit`, which skips
/// destructors; see the module documentation for Ctrl-C and panics.
#[must_use = "dropping the handle stops a throwaway server at once"]
pub struct Postgres {
    url: String,
    kind: PostgresKind,
    startup: Option<Duration>,
    data_dir: Option<PathBuf>,
    resource: Option<u64>,
}

impl Postgres {
    /// A server the harness does not own: nothing is registered, nothing is torn down.
    pub(crate) fn external(url: &str) -> Self {
        Self { url: url.to_owned(), kind: PostgresKind::External, startup: None, data_dir: None, resource: None }
    }

    /// Connection URL, e.g. `postgres://postgres@127.0.0.1:PORT/syncstorage`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn kind(&self) -> PostgresKind {
        self.kind
    }

    /// Time from the start of provisioning to a ready database; `None` for an external server.
    pub fn startup_duration(&self) -> Option<Duration> {
        self.startup
    }

    /// Data directory of a local throwaway cluster; it is removed when the handle is dropped.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Postgres")
            .field("url", &redact_url(&self.url))
            .field("kind", &self.kind)
            .field("startup", &self.startup)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(key) = self.resource.take() {
            // Bind first so the registry lock is released before the (blocking) teardown.
            let resource = registry().remove(&key);
            drop(resource);
        }
    }
}

/// Tears down every throwaway cluster and container this process started. Safe to call more
/// than once, from a Ctrl-C handler or a panic hook, with or without a tokio runtime; handles
/// dropped afterwards do nothing.
pub fn cleanup_all() {
    let resources = std::mem::take(&mut *registry());
    if !resources.is_empty() {
        info!(count = resources.len(), "stopping throwaway PostgreSQL servers");
    }
    drop(resources);
}

/// Something torn down by its `Drop`; held here only to be dropped.
type Resource = Box<dyn Send>;

static REGISTRY: Mutex<BTreeMap<u64, Resource>> = Mutex::new(BTreeMap::new());
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

fn registry() -> MutexGuard<'static, BTreeMap<u64, Resource>> {
    // Teardown never runs under the lock, so a poisoned map is still consistent.
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Hands `resource` (a running server whose `Drop` tears it down) to the registry and returns the
/// handle that owns it.
pub(crate) fn register(
    resource: impl Send + 'static,
    url: String,
    kind: PostgresKind,
    startup: Option<Duration>,
    data_dir: Option<PathBuf>,
) -> Postgres {
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    registry().insert(key, Box::new(resource));
    Postgres { url, kind, startup, data_dir, resource: Some(key) }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Counts its teardowns, standing in for a server.
    struct Teardowns(Arc<AtomicUsize>);

    impl Drop for Teardowns {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn registered() -> (Postgres, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        let postgres =
            register(Teardowns(Arc::clone(&count)), "postgres://postgres@127.0.0.1:1/x".to_owned(), PostgresKind::Local, None, None);
        (postgres, count)
    }

    #[test]
    fn dropping_the_handle_tears_down_once() {
        let (postgres, count) = registered();
        assert_eq!(count.load(Ordering::SeqCst), 0);
        drop(postgres);
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn dropping_a_handle_already_torn_down_is_a_no_op() {
        let (postgres, count) = registered();
        // What cleanup_all does for every entry, done here for ours alone: other tests in this
        // process own clusters too (cleanup_all itself is tested in a child process, in
        // `local::tests`).
        let key = postgres.resource.unwrap();
        let resource = registry().remove(&key);
        assert!(resource.is_some());
        drop(resource);
        assert_eq!(count.load(Ordering::SeqCst), 1);

        drop(postgres);
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn external_servers_are_not_registered() {
        let postgres = Postgres::external("postgres://u:hunter2@db/x");
        assert_eq!(postgres.kind(), PostgresKind::External);
        assert!(postgres.resource.is_none());
        assert!(!format!("{postgres:?}").contains("hunter2"));
    }
}
