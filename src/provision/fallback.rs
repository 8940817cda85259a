//! Which database a run gets. [`provision`] takes the first of these that applies:
//!
//! 1. the server URL the user gave (`--database-url`, `SYNCSTORAGE_HARNESS_DATABASE_URL`), checked
//!    with a connection and `SELECT 1`; when it does not answer, that is the error, and nothing
//!    else is tried, because silently testing some other database would be worse;
//! 2. a throwaway cluster made with the local `initdb` and `postgres` binaries (see
//!    [`super::local`]);
//! 3. a Docker container (see [`super::container`]), only when a Docker engine answers.
//!
//! Whichever it is, the [`Postgres`] handle owns what was started; see [`super::handle`] for when
//! it is torn down.

use std::fmt;
use std::time::{Duration, Instant};

use thiserror::Error;
use tracing::{info, warn};

use super::connection::{connect_and_ping, error_chain, redact_url};
use super::container::{self, ContainerError};
use super::handle::Postgres;
use super::local::{self, LocalError};
use super::options::ProvisionOptions;

/// Why no database could be provided.
#[derive(Debug, Error)]
pub enum ProvisionError {
    #[error("read the database URL {url}: {reason}; write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE")]
    InvalidUrl { url: String, reason: String },
    #[error(
        "reach the PostgreSQL server at {url} (given by --database-url or \
         SYNCSTORAGE_HARNESS_DATABASE_URL): {reason}; check that it is running and that the URL's \
         host, port, user, password and database are right, or unset both so the harness starts \
         its own server"
    )]
    ExternalUnreachable { url: String, reason: String },
    #[error(
        "provision PostgreSQL (local server binaries: {}; Docker: {}); to fix this, give a running \
         server with --database-url or SYNCSTORAGE_HARNESS_DATABASE_URL, or install the PostgreSQL \
         server binaries (e.g. `apt-get install postgresql`), or start a Docker engine",
        outcome(.local),
        outcome(.container)
    )]
    NoneAvailable {
        /// `None` when local clusters were not allowed.
        local: Option<LocalError>,
        /// `None` when containers were not allowed.
        container: Option<ContainerError>,
    },
}

fn outcome(attempt: &Option<impl fmt::Display>) -> String {
    attempt.as_ref().map_or_else(|| "not tried, disabled".to_owned(), |error| format!("failed to {error}"))
}

/// Provides a database, trying an explicit URL, then a local throwaway cluster, then a Docker
/// container; see the module documentation.
pub async fn provision(opts: &ProvisionOptions) -> Result<Postgres, ProvisionError> {
    if let Some(url) = opts.database_url.as_deref().filter(|url| !url.trim().is_empty()) {
        return connect_external(url, opts.connect_timeout).await;
    }

    let local = if opts.allow_local {
        match local::start_local_cluster(opts).await {
            Ok(postgres) => return Ok(postgres),
            Err(error) => {
                warn!(%error, "could not start a local PostgreSQL cluster; trying Docker next");
                Some(error)
            }
        }
    } else {
        None
    };

    let container = if opts.allow_container {
        match container::start_container(opts).await {
            Ok(postgres) => return Ok(postgres),
            Err(error) => {
                info!(%error, "could not start PostgreSQL in Docker");
                Some(error)
            }
        }
    } else {
        None
    };

    Err(ProvisionError::NoneAvailable { local, container })
}

/// Checks that the server at `url` answers `SELECT 1` within `timeout`, and wraps it.
pub async fn connect_external(url: &str, timeout: Duration) -> Result<Postgres, ProvisionError> {
    let mut config: tokio_postgres::Config =
        url.parse().map_err(|error| ProvisionError::InvalidUrl { url: redact_url(url), reason: error_chain(&error) })?;
    config.connect_timeout(timeout);

    let started = Instant::now();
    let client =
        connect_and_ping(&config, timeout).await.map_err(|reason| ProvisionError::ExternalUnreachable { url: redact_url(url), reason })?;
    drop(client);
    info!(url = %redact_url(url), took = ?started.elapsed(), "using the given PostgreSQL server");

    Ok(Postgres::external(url))
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpListener};

    use super::*;
    use crate::provision::handle::PostgresKind;
    use crate::provision::test_support::init_tracing;

    #[tokio::test]
    async fn without_a_url_a_local_cluster_comes_first() {
        init_tracing();
        let opts = ProvisionOptions { allow_container: false, ..ProvisionOptions::default() };
        let postgres = provision(&opts).await.unwrap();
        assert_eq!(postgres.kind(), PostgresKind::Local);
        assert!(postgres.data_dir().is_some());
    }

    #[tokio::test]
    async fn unreachable_database_url_is_an_error_without_fallback() {
        init_tracing();
        // Nothing listens on port 1; the error must come at once, not after trying other ways.
        let opts = ProvisionOptions {
            database_url: Some("postgres://postgres:secret@127.0.0.1:1/syncstorage".to_owned()),
            ..ProvisionOptions::default()
        };
        let started = Instant::now();
        let error = provision(&opts).await.unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "took {took:?}");
        assert!(matches!(error, ProvisionError::ExternalUnreachable { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("--database-url"), "{message}");
        assert!(!message.contains("secret"), "password leaked: {message}");
        println!("failed to {message}");
    }

    #[tokio::test]
    async fn silent_database_url_times_out_quickly() {
        init_tracing();
        // A listener that never speaks: the connection opens but the handshake never finishes.
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let opts = ProvisionOptions {
            database_url: Some(format!("postgres://postgres@127.0.0.1:{port}/syncstorage")),
            connect_timeout: Duration::from_millis(300),
            ..ProvisionOptions::default()
        };
        let started = Instant::now();
        let error = provision(&opts).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
        assert!(matches!(error, ProvisionError::ExternalUnreachable { .. }), "{error:?}");
        drop(listener);
    }

    #[tokio::test]
    async fn garbled_database_url_is_an_invalid_url_error() {
        let opts =
            ProvisionOptions { database_url: Some("postgres://postgres@127.0.0.1:notaport/x".to_owned()), ..ProvisionOptions::default() };
        let error = provision(&opts).await.unwrap_err();
        assert!(matches!(error, ProvisionError::InvalidUrl { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn nothing_allowed_names_all_three_fixes() {
        let opts = ProvisionOptions { allow_local: false, allow_container: false, ..ProvisionOptions::default() };
        let message = provision(&opts).await.unwrap_err().to_string();
        for fix in ["--database-url", "SYNCSTORAGE_HARNESS_DATABASE_URL", "apt-get install postgresql", "Docker engine"] {
            assert!(message.contains(fix), "{fix:?} missing from: {message}");
        }
    }

    #[tokio::test]
    async fn missing_binaries_are_reported_with_the_install_hint() {
        let empty = std::env::temp_dir();
        let opts = ProvisionOptions { local_bin_dir: Some(empty.clone()), allow_container: false, ..ProvisionOptions::default() };
        let error = provision(&opts).await.unwrap_err();
        let ProvisionError::NoneAvailable { local: Some(LocalError::NoServerBinaries { searched }), container: None } = &error else {
            panic!("unexpected error: {error:?}");
        };
        assert_eq!(searched, &empty.display().to_string());
        assert!(error.to_string().contains("apt-get install postgresql"));
    }

    #[tokio::test]
    async fn container_path_reports_no_docker_quickly() {
        let opts = ProvisionOptions { allow_local: false, ..ProvisionOptions::default() };
        let started = Instant::now();
        let error = container::start_container(&opts).await.unwrap_err();
        let took = started.elapsed();
        println!("container attempt: {took:?}: failed to {error}");
        if !matches!(error, ContainerError::NoEngine { .. }) {
            // An engine answered here; what this test bounds does not apply.
            return;
        }
        assert!(took < Duration::from_secs(2), "took {took:?}");

        let message = provision(&opts).await.unwrap_err().to_string();
        assert!(message.contains("Docker"), "{message}");
    }
}
