//! The last resort for a database: a throwaway PostgreSQL in a Docker container, through
//! testcontainers. This file owns the Docker-engine probe (so that a machine without an engine
//! is told so in milliseconds rather than after a client timeout), the container start-up and
//! its removal; the registry in [`super::handle`] decides when removal happens.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use testcontainers_modules::postgres::Postgres as PostgresImage;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::{debug, info, warn};

use super::connection::{connect_and_ping, error_chain, superuser_url};
use super::handle::{Postgres, PostgresKind, register};
use super::options::ProvisionOptions;

/// Bounds the whole probe: an engine that answers does so in milliseconds.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Includes pulling the image on first use.
const START_TIMEOUT: Duration = Duration::from_secs(300);
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const READY_POLL_INTERVAL: Duration = Duration::from_millis(100);
const READY_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
const REMOVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Port PostgreSQL listens on inside the image.
const CONTAINER_PORT: u16 = 5432;

/// Why PostgreSQL could not be run in a Docker container.
#[derive(Debug, Error)]
pub enum ContainerError {
    #[error("reach a Docker engine: {reason}; start one, or point DOCKER_HOST at it")]
    NoEngine { reason: String },
    #[error("start a container from {image}: {reason}")]
    Start { image: String, reason: String },
    #[error("start a container from {image}: not running after {timeout:?}")]
    StartTimedOut { image: String, timeout: Duration },
    #[error("connect to PostgreSQL in the container from {image}: {reason}")]
    NotReady { image: String, reason: String },
}

/// Starts PostgreSQL in a container from `opts.container_image:opts.container_tag`, after
/// checking that a Docker engine answers.
pub async fn start_container(opts: &ProvisionOptions) -> Result<Postgres, ContainerError> {
    let started = Instant::now();
    let engine = probe_engine().await?;
    let image = format!("{}:{}", opts.container_image, opts.container_tag);
    debug!(%engine, %image, "a Docker engine answers; starting PostgreSQL in a container");

    let request = PostgresImage::default()
        .with_host_auth()
        .with_db_name(&opts.database_name)
        .with_name(opts.container_image.as_str())
        .with_tag(opts.container_tag.as_str())
        .with_startup_timeout(START_TIMEOUT);
    let container = match tokio::time::timeout(START_TIMEOUT, request.start()).await {
        Ok(Ok(container)) => container,
        Ok(Err(error)) => {
            return Err(ContainerError::Start { image, reason: error_chain(&error) });
        }
        Err(_) => {
            return Err(ContainerError::StartTimedOut { image, timeout: START_TIMEOUT });
        }
    };
    // From here on, an early return removes the container.
    let cluster = ContainerCluster { container: Some(container) };
    let url = cluster
        .url(&opts.database_name)
        .await
        .map_err(|error| ContainerError::Start { image: image.clone(), reason: error_chain(&error) })?;
    wait_until_ready(&url).await.map_err(|reason| ContainerError::NotReady { image: image.clone(), reason })?;

    let startup = started.elapsed();
    info!(%image, url = %url, startup = ?startup, "started PostgreSQL in a Docker container");
    Ok(register(cluster, url, PostgresKind::Container, Some(startup), None))
}

/// The image's entrypoint runs a temporary server for its init scripts and then restarts, so
/// the "ready" log line testcontainers waits for can come too early; only a query proves it.
async fn wait_until_ready(url: &str) -> Result<(), String> {
    let config: tokio_postgres::Config = url.parse().map_err(|error| error_chain(&error))?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match connect_and_ping(&config, READY_ATTEMPT_TIMEOUT.min(remaining)).await {
            Ok(_) => return Ok(()),
            Err(error) if Instant::now() >= deadline => {
                return Err(format!("no answer within {READY_TIMEOUT:?} (last: {error})"));
            }
            Err(_) => tokio::time::sleep(READY_POLL_INTERVAL).await,
        }
    }
}

/// A running container; dropping it removes the container.
struct ContainerCluster {
    container: Option<ContainerAsync<PostgresImage>>,
}

impl ContainerCluster {
    async fn url(&self, database: &str) -> Result<String, testcontainers_modules::testcontainers::TestcontainersError> {
        let Some(container) = self.container.as_ref() else {
            return Err(io::Error::other("the container was already removed").into());
        };
        let host = container.get_host().await?;
        let port = container.get_host_port_ipv4(CONTAINER_PORT).await?;
        Ok(superuser_url(&format!("{host}:{port}"), database))
    }
}

impl Drop for ContainerCluster {
    fn drop(&mut self) {
        if let Some(container) = self.container.take() {
            remove(container);
        }
    }
}

/// Removes the container from a thread of its own with its own runtime: testcontainers' own
/// `Drop` needs the current thread to be inside a tokio runtime, which a Ctrl-C handler, a panic
/// hook or a plain `main` after the runtime ended cannot promise.
fn remove(container: ContainerAsync<PostgresImage>) {
    let id = container.id().to_owned();
    let (hand_over, receive) = mpsc::channel::<ContainerAsync<PostgresImage>>();
    let (report, outcome) = mpsc::channel::<Result<(), String>>();
    let spawned = std::thread::Builder::new().name("postgres-container-removal".to_owned()).spawn(move || {
        let Ok(container) = receive.recv() else {
            return;
        };
        let result = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(container.rm()).map_err(|error| error_chain(&error)),
            Err(error) => {
                // Without a runtime its Drop would panic; leaking it is the lesser evil.
                std::mem::forget(container);
                Err(error.to_string())
            }
        };
        let _ = report.send(result);
    });
    let handed_over = match spawned {
        Ok(_) => hand_over.send(container).map_err(|unsent| unsent.0),
        Err(error) => {
            debug!(%error, "could not start a thread to remove the container");
            Err(container)
        }
    };
    if let Err(container) = handed_over {
        std::mem::forget(container);
        warn!(container = %id, "could not remove the PostgreSQL container; remove it with `docker rm -f {id}`");
        return;
    }
    match outcome.recv_timeout(REMOVE_TIMEOUT) {
        Ok(Ok(())) => debug!(container = %id, "removed the PostgreSQL container"),
        Ok(Err(error)) => {
            warn!(container = %id, %error, "could not remove the PostgreSQL container; remove it with `docker rm -f {id}`");
        }
        Err(_) => {
            warn!(container = %id, "the PostgreSQL container was not removed within {REMOVE_TIMEOUT:?}; remove it with `docker rm -f {id}`");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Docker engine probe

/// Where testcontainers will look for the engine (same order, without its optional properties
/// file support, which this build does not enable).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Unix(PathBuf),
    Tcp {
        address: String,
        tls: bool,
    },
    /// A scheme the probe cannot check (ssh://, npipe://); testcontainers gets to try it.
    Unchecked(String),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
            Self::Tcp { address, .. } => write!(f, "tcp://{address}"),
            Self::Unchecked(raw) => f.write_str(raw),
        }
    }
}

/// Checks that a Docker engine answers `GET /_ping`, within [`PROBE_TIMEOUT`]; returns where.
async fn probe_engine() -> Result<Endpoint, ContainerError> {
    let started = Instant::now();
    let endpoint = locate_engine(
        std::env::var("DOCKER_HOST").ok().as_deref(),
        std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|value| value == "1"),
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from).as_deref(),
        std::env::var_os("HOME").map(PathBuf::from).as_deref(),
        Path::exists,
    )
    .map_err(|reason| ContainerError::NoEngine { reason })?;
    let result = match tokio::time::timeout(PROBE_TIMEOUT, ping(&endpoint)).await {
        Ok(Ok(())) => Ok(endpoint),
        Ok(Err(error)) => Err(ContainerError::NoEngine { reason: format!("{endpoint} did not answer: {error}") }),
        Err(_) => Err(ContainerError::NoEngine { reason: format!("{endpoint} did not answer within {PROBE_TIMEOUT:?}") }),
    };
    debug!(took = ?started.elapsed(), ok = result.is_ok(), "probed for a Docker engine");
    result
}

fn locate_engine(
    docker_host: Option<&str>,
    tls_verify: bool,
    runtime_dir: Option<&Path>,
    home: Option<&Path>,
    exists: impl Fn(&Path) -> bool,
) -> Result<Endpoint, String> {
    if let Some(host) = docker_host.filter(|host| !host.trim().is_empty()) {
        return Ok(parse_docker_host(host, tls_verify));
    }
    let mut candidates = vec![PathBuf::from("/var/run/docker.sock")];
    if let Some(dir) = runtime_dir {
        candidates.push(dir.join(".docker/run/docker.sock"));
    }
    if let Some(home) = home {
        candidates.push(home.join(".docker/run/docker.sock"));
        candidates.push(home.join(".docker/desktop/docker.sock"));
    }
    match candidates.iter().find(|path| exists(path)) {
        Some(path) => Ok(Endpoint::Unix(path.clone())),
        None => Err(format!(
            "DOCKER_HOST is unset and there is no socket at {}",
            candidates.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn parse_docker_host(host: &str, tls_verify: bool) -> Endpoint {
    if let Some(path) = host.strip_prefix("unix://") {
        Endpoint::Unix(PathBuf::from(path))
    } else if let Some(address) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://")) {
        Endpoint::Tcp { address: address.trim_end_matches('/').to_owned(), tls: tls_verify }
    } else if let Some(address) = host.strip_prefix("https://") {
        Endpoint::Tcp { address: address.trim_end_matches('/').to_owned(), tls: true }
    } else {
        Endpoint::Unchecked(host.to_owned())
    }
}

async fn ping(endpoint: &Endpoint) -> io::Result<()> {
    match endpoint {
        Endpoint::Unix(path) => http_ping(tokio::net::UnixStream::connect(path).await?).await,
        Endpoint::Tcp { address, tls: false } => http_ping(tokio::net::TcpStream::connect(address.as_str()).await?).await,
        // Speaking TLS here would need a TLS stack; an open port is enough of a sign.
        Endpoint::Tcp { address, tls: true } => tokio::net::TcpStream::connect(address.as_str()).await.map(drop),
        Endpoint::Unchecked(_) => Ok(()),
    }
}

async fn http_ping(mut stream: impl AsyncRead + AsyncWrite + Unpin) -> io::Result<()> {
    stream.write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n").await?;
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).await?;
    // "HTTP/1.1 200"
    if head.starts_with(b"HTTP/1.") && &head[9..12] == b"200" {
        Ok(())
    } else {
        Err(io::Error::other(format!("unexpected answer {:?}", String::from_utf8_lossy(&head))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::options::DEFAULT_TAG;

    #[tokio::test]
    async fn testcontainers_itself_fails_fast_without_an_engine() {
        // The probe is a shortcut; even without it, the fallback must not hang.
        if probe_engine().await.is_ok() {
            return;
        }
        let started = Instant::now();
        let attempt = tokio::time::timeout(Duration::from_secs(2), PostgresImage::default().with_tag(DEFAULT_TAG).start()).await;
        let took = started.elapsed();
        match attempt {
            Ok(Err(error)) => println!("testcontainers without an engine, {took:?}: {error}"),
            Ok(Ok(_)) => panic!("a container started although the probe found no engine"),
            Err(_) => panic!("testcontainers did not give up within 2 s"),
        }
    }

    #[test]
    fn docker_host_wins_over_sockets() {
        let everything_exists = |_: &Path| true;
        assert_eq!(
            locate_engine(Some("unix:///run/user/1000/docker.sock"), false, None, None, everything_exists),
            Ok(Endpoint::Unix("/run/user/1000/docker.sock".into()))
        );
        assert_eq!(
            locate_engine(Some("tcp://10.0.0.2:2376"), true, None, None, everything_exists),
            Ok(Endpoint::Tcp { address: "10.0.0.2:2376".into(), tls: true })
        );
        assert_eq!(
            locate_engine(Some("ssh://me@box"), false, None, None, everything_exists),
            Ok(Endpoint::Unchecked("ssh://me@box".into()))
        );
    }

    #[test]
    fn sockets_are_searched_in_testcontainers_order() {
        let home = Path::new("/home/me");
        let only_desktop = |path: &Path| path == Path::new("/home/me/.docker/desktop/docker.sock");
        assert_eq!(
            locate_engine(None, false, Some(Path::new("/run/user/1")), Some(home), only_desktop),
            Ok(Endpoint::Unix("/home/me/.docker/desktop/docker.sock".into()))
        );
        let nothing = |_: &Path| false;
        let reason = locate_engine(Some(" "), false, None, Some(home), nothing).unwrap_err();
        assert!(reason.contains("/var/run/docker.sock"), "{reason}");
        assert!(reason.contains("/home/me/.docker/run/docker.sock"), "{reason}");
    }

    #[tokio::test]
    async fn ping_recognises_a_docker_answer() {
        let (mut server, client) = tokio::io::duplex(256);
        let answer = tokio::spawn(async move {
            let mut request = [0_u8; 16];
            server.read_exact(&mut request).await.unwrap();
            assert!(request.starts_with(b"GET /_ping"));
            server.write_all(b"HTTP/1.1 200 OK\r\n\r\nOK").await.unwrap();
            // Keep the other end open until the client has read.
            let mut rest = Vec::new();
            let _ = server.read_to_end(&mut rest).await;
        });
        http_ping(client).await.unwrap();
        answer.abort();

        let (mut server, client) = tokio::io::duplex(256);
        tokio::spawn(async move {
            server.write_all(b"SSH-2.0-OpenSSH_9\r\n").await.unwrap();
            let mut rest = Vec::new();
            let _ = server.read_to_end(&mut rest).await;
        });
        assert!(http_ping(client).await.is_err());
    }
}
