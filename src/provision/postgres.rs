//! The PostgreSQL database a run works against, and who owns it.
//!
//! [`provision`] takes the first of these that applies:
//!
//! 1. the server URL the user gave (`--database-url`, `SYNCSTORAGE_HARNESS_DATABASE_URL`), checked
//!    with a connection and `SELECT 1`; when it does not answer, that is the error, and nothing
//!    else is tried, because silently testing some other database would be worse;
//! 2. a throwaway cluster made with the local `initdb` and `postgres` binaries (this file);
//! 3. a Docker container (see [`super::container`]), only when a Docker engine answers.
//!
//! # Cleanup
//!
//! Clusters and containers live in a process-wide registry; a [`Postgres`] handle holds only its
//! key. Whoever takes an entry out of the registry tears it down, so teardown runs exactly once:
//!
//! - dropping the handle stops the server (SIGINT, PostgreSQL's "fast" shutdown, then SIGKILL
//!   after a grace period) and removes the temporary directories; this also happens while a panic
//!   unwinds;
//! - [`cleanup_all`] tears down every entry; call it from the Ctrl-C handler before exiting (and,
//!   if the binary is built with `panic = "abort"`, from a panic hook), because
//!   `std::process::exit` skips destructors;
//! - a local server is started with a parent-death signal, so it also shuts down when the harness
//!   is killed outright; the temporary directory it leaves behind is removed by the next run.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fmt;
use std::fs::{self, DirBuilder, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, mpsc};
use std::time::{Duration, Instant};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use thiserror::Error;
use tokio::sync::oneshot;
use tokio_postgres::{Client, NoTls};
use tracing::{debug, info, warn};

use super::container::{self, ContainerCluster, ContainerError};

/// Database created in a throwaway cluster or container.
pub const DEFAULT_DATABASE: &str = "syncstorage";
/// How long a server given by URL has to answer.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Superuser created by `initdb` and by the container image; both trust local connections.
const SUPERUSER: &str = "postgres";
/// System account that runs `initdb` and `postgres` when the harness runs as root.
const SERVER_ACCOUNT: &str = "postgres";
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const READY_POLL_INTERVAL: Duration = Duration::from_millis(20);
const READY_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
const INITDB_TIMEOUT: Duration = Duration::from_secs(60);
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
const SHUTDOWN_POLL_INTERVAL: Duration = Duration::from_millis(5);
/// Another process can take the port between our probe and the server's bind.
const PORT_ATTEMPTS: usize = 3;
const MAX_CONNECTIONS: u32 = 200;
const LOG_TAIL_LINES: usize = 20;
/// Temporary directories are named `<prefix><pid>-<n>` so a later run can tell whether their
/// owner is still alive.
const TEMP_PREFIX: &str = "syncstorage-harness-pg-";
const SEARCHED_DIR_GLOBS: [&str; 2] = ["/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"];

/// Characters left as they are when a database name goes into a URL path.
const URL_PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'-').remove(b'.');

/// Where the database comes from, and what may be tried.
#[derive(Clone)]
pub struct ProvisionOptions {
    /// A running server to use as is; when set, nothing else is tried.
    pub database_url: Option<String>,
    /// How long `database_url` has to accept a connection and answer `SELECT 1`.
    pub connect_timeout: Duration,
    /// Database to create in a throwaway cluster or container.
    pub database_name: String,
    /// Whether to start a throwaway cluster from the local server binaries.
    pub allow_local: bool,
    /// Directory holding `initdb` and `postgres`; when unset, PATH and the usual install
    /// directories are searched and the highest version wins.
    pub local_bin_dir: Option<PathBuf>,
    /// Whether to fall back to a Docker container.
    pub allow_container: bool,
    pub container_image: String,
    pub container_tag: String,
}

impl Default for ProvisionOptions {
    fn default() -> Self {
        Self {
            database_url: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            database_name: DEFAULT_DATABASE.to_owned(),
            allow_local: true,
            local_bin_dir: None,
            allow_container: true,
            container_image: container::DEFAULT_IMAGE.to_owned(),
            container_tag: container::DEFAULT_TAG.to_owned(),
        }
    }
}

impl fmt::Debug for ProvisionOptions {
    // Written by hand so that logging the options never prints a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvisionOptions")
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("connect_timeout", &self.connect_timeout)
            .field("database_name", &self.database_name)
            .field("allow_local", &self.allow_local)
            .field("local_bin_dir", &self.local_bin_dir)
            .field("allow_container", &self.allow_container)
            .field("container_image", &self.container_image)
            .field("container_tag", &self.container_tag)
            .finish()
    }
}

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

/// Why no database could be provided.
#[derive(Debug, Error)]
pub enum ProvisionError {
    #[error(
        "read the database URL {url}: {reason}; write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
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
    attempt.as_ref().map_or_else(
        || "not tried, disabled".to_owned(),
        |error| format!("failed to {error}"),
    )
}

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
    Initdb {
        program: PathBuf,
        status: String,
        output: String,
    },
    #[error("pick a free TCP port on 127.0.0.1: {error}")]
    NoFreePort { error: io::Error },
    #[error("start {program}: it exited ({status}) before accepting connections; log:\n{log_tail}")]
    ServerExited {
        program: PathBuf,
        status: String,
        log_tail: String,
    },
    #[error(
        "start {program}: it did not accept connections on port {port} within {timeout:?} \
         (last attempt: {last_error}); log:\n{log_tail}"
    )]
    ServerNotReady {
        program: PathBuf,
        port: u16,
        timeout: Duration,
        last_error: String,
        log_tail: String,
    },
    #[error("create the database {database}: {reason}")]
    CreateDatabase { database: String, reason: String },
}

/// Provides a database, trying an explicit URL, then a local throwaway cluster, then a Docker
/// container; see the module documentation.
pub async fn provision(opts: &ProvisionOptions) -> Result<Postgres, ProvisionError> {
    if let Some(url) = opts
        .database_url
        .as_deref()
        .filter(|url| !url.trim().is_empty())
    {
        return connect_external(url, opts.connect_timeout).await;
    }

    let local = if opts.allow_local {
        match start_local_cluster(opts).await {
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
        url.parse().map_err(|error| ProvisionError::InvalidUrl {
            url: redact_url(url),
            reason: error_chain(&error),
        })?;
    config.connect_timeout(timeout);

    let started = Instant::now();
    let client = connect_and_ping(&config, timeout).await.map_err(|reason| {
        ProvisionError::ExternalUnreachable {
            url: redact_url(url),
            reason,
        }
    })?;
    drop(client);
    info!(url = %redact_url(url), took = ?started.elapsed(), "using the given PostgreSQL server");

    Ok(Postgres {
        url: url.to_owned(),
        kind: PostgresKind::External,
        startup: None,
        data_dir: None,
        resource: None,
    })
}

/// Starts a throwaway cluster from the local server binaries (see [`ProvisionOptions`] for
/// which binaries are used).
pub async fn start_local_cluster(opts: &ProvisionOptions) -> Result<Postgres, LocalError> {
    let started = Instant::now();
    let run_as = server_account()?;
    sweep_leftover_clusters();
    let binaries = find_server_binaries(opts.local_bin_dir.as_deref()).await?;
    debug!(dir = %binaries.dir.display(), version = %binaries.version, "found PostgreSQL server binaries");

    let mut cluster = LocalCluster::create(run_as)?;
    run_initdb(&binaries, run_as, &cluster).await?;
    let initdb_took = started.elapsed();

    let client = launch_on_free_port(&binaries, run_as, &mut cluster).await?;
    let database = &opts.database_name;
    client
        .batch_execute(&format!(
            "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'",
            quote_ident(database)
        ))
        .await
        .map_err(|error| LocalError::CreateDatabase {
            database: database.clone(),
            reason: error_chain(&error),
        })?;
    drop(client);

    let startup = started.elapsed();
    let url = superuser_url(&format!("127.0.0.1:{}", cluster.port), database);
    info!(
        port = cluster.port,
        version = %binaries.version,
        data_dir = %cluster.data_dir.display(),
        initdb = ?initdb_took,
        startup = ?startup,
        "started a throwaway PostgreSQL cluster"
    );
    let data_dir = cluster.data_dir.clone();
    Ok(register(
        Resource::Local { _cluster: cluster },
        url,
        PostgresKind::Local,
        Some(startup),
        Some(data_dir),
    ))
}

/// Tears down every throwaway cluster and container this process started. Safe to call more
/// than once, from a Ctrl-C handler or a panic hook, with or without a tokio runtime; handles
/// dropped afterwards do nothing.
pub fn cleanup_all() {
    let resources = std::mem::take(&mut *registry());
    if !resources.is_empty() {
        info!(
            count = resources.len(),
            "stopping throwaway PostgreSQL servers"
        );
    }
    drop(resources);
}

// ---------------------------------------------------------------------------------------------
// Registry

/// Something torn down by its `Drop`; held here only to be dropped.
enum Resource {
    Local { _cluster: LocalCluster },
    // Boxed: a testcontainers handle is several hundred bytes.
    Container { _container: Box<ContainerCluster> },
}

static REGISTRY: Mutex<BTreeMap<u64, Resource>> = Mutex::new(BTreeMap::new());
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

fn registry() -> MutexGuard<'static, BTreeMap<u64, Resource>> {
    // Teardown never runs under the lock, so a poisoned map is still consistent.
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

fn register(
    resource: Resource,
    url: String,
    kind: PostgresKind,
    startup: Option<Duration>,
    data_dir: Option<PathBuf>,
) -> Postgres {
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    registry().insert(key, resource);
    Postgres {
        url,
        kind,
        startup,
        data_dir,
        resource: Some(key),
    }
}

pub(crate) fn register_container(
    cluster: ContainerCluster,
    url: String,
    startup: Duration,
) -> Postgres {
    register(
        Resource::Container {
            _container: Box::new(cluster),
        },
        url,
        PostgresKind::Container,
        Some(startup),
        None,
    )
}

// ---------------------------------------------------------------------------------------------
// Connections

/// Connects and runs `SELECT 1`, all within `timeout`; the error is a readable reason.
pub(crate) async fn connect_and_ping(
    config: &tokio_postgres::Config,
    timeout: Duration,
) -> Result<Client, String> {
    let attempt = async {
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                debug!(error = %error_chain(&error), "PostgreSQL connection ended with an error");
            }
        });
        client.simple_query("SELECT 1").await?;
        Ok::<_, tokio_postgres::Error>(client)
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(error)) => Err(error_chain(&error)),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

/// `error` and its sources joined with ": ", skipping sources the message already contains.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The URL with its password masked, for messages and logs.
pub(crate) fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot have a password, which this one has.
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        Ok(_) => raw.to_owned(),
        // key=value connection strings
        Err(_) => raw
            .split_whitespace()
            .map(|pair| {
                if pair.starts_with("password=") {
                    "password=****"
                } else {
                    pair
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// URL of `database` as the trusted superuser of a throwaway server at `address` (host:port).
pub(crate) fn superuser_url(address: &str, database: &str) -> String {
    format!(
        "postgres://{SUPERUSER}@{address}/{}",
        utf8_percent_encode(database, URL_PATH_KEEP)
    )
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

// ---------------------------------------------------------------------------------------------
// Local server binaries

#[derive(Debug, Clone)]
struct ServerBinaries {
    dir: PathBuf,
    initdb: PathBuf,
    postgres: PathBuf,
    version: String,
    version_key: Vec<u32>,
}

/// `initdb` and `postgres` from one directory (they must match), highest version first; ties go
/// to the directory found first (the explicit one, then PATH order).
async fn find_server_binaries(explicit: Option<&Path>) -> Result<ServerBinaries, LocalError> {
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
        if best
            .as_ref()
            .is_none_or(|best| version_key > best.version_key)
        {
            best = Some(ServerBinaries {
                dir: dir.clone(),
                initdb,
                postgres,
                version,
                version_key,
            });
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
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
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
            (name.starts_with(name_prefix) && name.ends_with(name_suffix))
                .then(|| entry.path().join(rest))
        })
        .collect()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

async fn server_version(postgres: &Path) -> Option<(String, Vec<u32>)> {
    let mut command = tokio::process::Command::new(postgres);
    command
        .arg("--version")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(VERSION_TIMEOUT, command.output())
        .await
        .ok()?
        .ok()?;
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
    let word = text
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
    let key: Vec<u32> = word
        .split('.')
        .map_while(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect();
    (!key.is_empty()).then_some(key)
}

// ---------------------------------------------------------------------------------------------
// Running as the `postgres` system user

#[derive(Debug, Clone, Copy)]
struct Account {
    uid: u32,
    gid: u32,
}

/// The account to run `initdb` and `postgres` as: `None` to stay as we are, the `postgres`
/// system user when we are root (both programs refuse to run as root).
fn server_account() -> Result<Option<Account>, LocalError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    match lookup_account(SERVER_ACCOUNT) {
        Ok(Some(account)) => Ok(Some(account)),
        Ok(None) => Err(LocalError::NoServerAccount),
        Err(error) => Err(LocalError::AccountLookup { error }),
    }
}

fn lookup_account(name: &str) -> io::Result<Option<Account>> {
    let name = CString::new(name)?;
    let mut buffer = vec![0_u8; 4096];
    loop {
        // SAFETY: all-zero bytes are a valid `passwd` (null pointers, zero ids).
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the duration of the call and the buffer length is
        // passed; getpwnam_r (unlike getpwnam) uses no shared static storage.
        let rc = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut entry,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buffer.len() < 1 << 20 {
            buffer.resize(buffer.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        return Ok((!result.is_null()).then_some(Account {
            uid: entry.pw_uid,
            gid: entry.pw_gid,
        }));
    }
}

// ---------------------------------------------------------------------------------------------
// The cluster

/// A temporary directory holding the data directory, the unix socket directory and the server
/// log, plus the server process. Dropping it stops the server and removes the directory, so
/// every early return during start-up cleans up too.
struct LocalCluster {
    root: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    log_path: PathBuf,
    server: Option<Child>,
    port: u16,
}

impl LocalCluster {
    fn create(run_as: Option<Account>) -> Result<Self, LocalError> {
        let root = create_temp_root()?;
        let cluster = Self {
            data_dir: root.join("data"),
            socket_dir: root.join("socket"),
            log_path: root.join("postgres.log"),
            root,
            server: None,
            port: 0,
        };
        let temp_dir_error = |path: &Path| {
            let path = path.to_path_buf();
            move |error| LocalError::TempDir { path, error }
        };
        DirBuilder::new()
            .mode(0o700)
            .create(&cluster.socket_dir)
            .map_err(temp_dir_error(&cluster.socket_dir))?;
        if let Some(account) = run_as {
            // initdb creates the data directory itself, inside the root it must be able to write.
            for dir in [&cluster.root, &cluster.socket_dir] {
                std::os::unix::fs::chown(dir, Some(account.uid), Some(account.gid))
                    .map_err(temp_dir_error(dir))?;
            }
        }
        Ok(cluster)
    }

    fn exit_status(&mut self) -> Option<ExitStatus> {
        let status = self.server.as_mut()?.try_wait().ok()??;
        self.server = None;
        Some(status)
    }

    fn log_tail(&self) -> String {
        let mut bytes = Vec::new();
        if let Ok(mut file) = File::open(&self.log_path) {
            // The tail is all we show; a runaway log must not be read whole.
            if file.seek(SeekFrom::End(-64 * 1024)).is_err() {
                let _ = file.rewind();
            }
            let _ = file.read_to_end(&mut bytes);
        }
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        if tail.is_empty() {
            format!("(nothing in {})", self.log_path.display())
        } else {
            tail
        }
    }

    fn stop_server(&mut self) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        if matches!(server.try_wait(), Ok(Some(_))) {
            return;
        }
        let started = Instant::now();
        // SIGINT is PostgreSQL's "fast" shutdown: it disconnects clients instead of waiting for them.
        signal(&server, libc::SIGINT);
        let deadline = started + SHUTDOWN_GRACE;
        loop {
            match server.try_wait() {
                Ok(Some(status)) => {
                    debug!(port = self.port, %status, took = ?started.elapsed(), "PostgreSQL stopped");
                    return;
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(SHUTDOWN_POLL_INTERVAL),
                Ok(None) => break,
                Err(error) => {
                    warn!(%error, "could not wait for PostgreSQL to stop");
                    break;
                }
            }
        }
        warn!(port = self.port, grace = ?SHUTDOWN_GRACE, "PostgreSQL did not stop in time; killing it");
        let _ = server.kill();
        let _ = server.wait();
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop_server();
        match fs::remove_dir_all(&self.root) {
            Ok(()) => debug!(dir = %self.root.display(), "removed the cluster directory"),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => {
                warn!(dir = %self.root.display(), %error, "could not remove the cluster directory")
            }
        }
    }
}

fn signal(child: &Child, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: `pid` is our own child, not yet reaped, so it cannot name another process.
    unsafe { libc::kill(pid, signal) };
}

fn create_temp_root() -> Result<PathBuf, LocalError> {
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
    Err(LocalError::TempDir {
        path: base,
        error: last_error,
    })
}

/// Removes cluster directories whose harness process and server are both gone; they are left
/// when a harness is killed before its destructors run.
fn sweep_leftover_clusters() {
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
            let server = text
                .lines()
                .next()
                .and_then(|line| line.trim().parse().ok());
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

async fn run_initdb(
    binaries: &ServerBinaries,
    run_as: Option<Account>,
    cluster: &LocalCluster,
) -> Result<(), LocalError> {
    let mut command = tokio::process::Command::new(&binaries.initdb);
    command
        .arg("--pgdata")
        .arg(&cluster.data_dir)
        .arg(format!("--username={SUPERUSER}"))
        // UTF8 is required: payloads and collection names are arbitrary Unicode.
        .args(["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
        .current_dir(&cluster.root)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(account) = run_as {
        command.uid(account.uid).gid(account.gid);
    }
    let output = match tokio::time::timeout(INITDB_TIMEOUT, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => {
            return Err(LocalError::Spawn {
                program: binaries.initdb.clone(),
                error,
            });
        }
        Err(_) => {
            return Err(LocalError::Initdb {
                program: binaries.initdb.clone(),
                status: format!("still running after {INITDB_TIMEOUT:?}"),
                output: String::new(),
            });
        }
    };
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        let lines: Vec<&str> = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        return Err(LocalError::Initdb {
            program: binaries.initdb.clone(),
            status: output.status.to_string(),
            output: lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n"),
        });
    }
    Ok(())
}

async fn launch_on_free_port(
    binaries: &ServerBinaries,
    run_as: Option<Account>,
    cluster: &mut LocalCluster,
) -> Result<Client, LocalError> {
    let mut attempt = 1;
    loop {
        let port = pick_free_port().map_err(|error| LocalError::NoFreePort { error })?;
        match launch(binaries, run_as, cluster, port).await {
            Err(LocalError::ServerExited { log_tail, .. })
                if attempt < PORT_ATTEMPTS && log_tail.contains("Address already in use") =>
            {
                warn!(port, "another process took the port first; trying another");
                attempt += 1;
            }
            result => return result,
        }
    }
}

fn pick_free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

async fn launch(
    binaries: &ServerBinaries,
    run_as: Option<Account>,
    cluster: &mut LocalCluster,
    port: u16,
) -> Result<Client, LocalError> {
    let log_error = |error| LocalError::TempDir {
        path: cluster.log_path.clone(),
        error,
    };
    let log = File::create(&cluster.log_path).map_err(log_error)?;
    let log_for_stderr = log.try_clone().map_err(log_error)?;

    let mut command = Command::new(&binaries.postgres);
    command
        .arg("-D")
        .arg(&cluster.data_dir)
        .arg("-c")
        .arg(format!("port={port}"))
        .args(["-c", "listen_addresses=127.0.0.1"])
        .arg("-c")
        .arg(format!(
            "unix_socket_directories={}",
            cluster.socket_dir.display()
        ))
        // The data is thrown away afterwards: durability only costs time.
        .args(["-c", "fsync=off"])
        .args(["-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off"])
        .arg("-c")
        .arg(format!("max_connections={MAX_CONNECTIONS}"))
        .current_dir(&cluster.root)
        // English server messages: the port-race retry looks for one.
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_for_stderr);
    if let Some(account) = run_as {
        command.uid(account.uid).gid(account.gid);
    }
    die_with_parent(&mut command);

    let server = spawn_from_long_lived_thread(command)
        .await
        .map_err(|error| LocalError::Spawn {
            program: binaries.postgres.clone(),
            error,
        })?;
    cluster.server = Some(server);
    cluster.port = port;

    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(port)
        .user(SUPERUSER)
        .dbname("postgres")
        .connect_timeout(READY_ATTEMPT_TIMEOUT);
    wait_until_ready(binaries, cluster, &config).await
}

/// Polls real connections until the server answers; a fixed sleep would be too short on a slow
/// machine and wasted time on a fast one.
async fn wait_until_ready(
    binaries: &ServerBinaries,
    cluster: &mut LocalCluster,
    config: &tokio_postgres::Config,
) -> Result<Client, LocalError> {
    let started = Instant::now();
    let deadline = started + READY_TIMEOUT;
    loop {
        if let Some(status) = cluster.exit_status() {
            return Err(LocalError::ServerExited {
                program: binaries.postgres.clone(),
                status: status.to_string(),
                log_tail: cluster.log_tail(),
            });
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        let last_error = match connect_and_ping(config, READY_ATTEMPT_TIMEOUT.min(remaining)).await
        {
            // The port was free when picked, but another server may have taken it since.
            Ok(client) => match serves_data_dir(&client, &cluster.data_dir).await {
                Ok(true) => {
                    debug!(port = cluster.port, took = ?started.elapsed(), "PostgreSQL accepts connections");
                    return Ok(client);
                }
                Ok(false) => "another server answered on the port".to_owned(),
                Err(error) => error,
            },
            Err(error) => error,
        };
        if Instant::now() >= deadline {
            return Err(LocalError::ServerNotReady {
                program: binaries.postgres.clone(),
                port: cluster.port,
                timeout: READY_TIMEOUT,
                last_error,
                log_tail: cluster.log_tail(),
            });
        }
        tokio::time::sleep(READY_POLL_INTERVAL).await;
    }
}

async fn serves_data_dir(client: &Client, data_dir: &Path) -> Result<bool, String> {
    let row = client
        .query_one("SHOW data_directory", &[])
        .await
        .map_err(|error| error_chain(&error))?;
    let reported: String = row.try_get(0).map_err(|error| error_chain(&error))?;
    let same = |a: &Path, b: &Path| match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    Ok(same(Path::new(&reported), data_dir))
}

/// Makes the server receive SIGINT (fast shutdown) when the thread that spawned it dies, which
/// covers the harness being killed with SIGKILL.
fn die_with_parent(command: &mut Command) {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs between fork and exec, and only calls the async-signal-safe
    // prctl and getppid, without allocating. std runs it after setuid/setgid, which matters:
    // changing credentials would clear the parent-death signal.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGINT as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        })
    };
}

struct SpawnRequest {
    command: Command,
    reply: oneshot::Sender<io::Result<Child>>,
}

static SPAWNER: Mutex<Option<mpsc::Sender<SpawnRequest>>> = Mutex::new(None);

/// The parent-death signal fires when the spawning *thread* exits, not the process. Tokio
/// retires idle blocking threads and test runtimes end with their test, so servers are spawned
/// from one thread that lives as long as the process.
async fn spawn_from_long_lived_thread(command: Command) -> io::Result<Child> {
    let (reply, answer) = oneshot::channel();
    let request = SpawnRequest { command, reply };
    {
        let mut spawner = SPAWNER.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = match spawner.as_ref() {
            Some(sender) => sender.clone(),
            None => {
                let (sender, requests) = mpsc::channel::<SpawnRequest>();
                std::thread::Builder::new()
                    .name("postgres-spawner".to_owned())
                    .spawn(move || {
                        for SpawnRequest { mut command, reply } in requests {
                            // When the caller has gone, nobody would ever stop this server.
                            if let Err(Ok(mut orphan)) = reply.send(command.spawn()) {
                                let _ = orphan.kill();
                                let _ = orphan.wait();
                            }
                        }
                    })?;
                *spawner = Some(sender.clone());
                sender
            }
        };
        sender
            .send(request)
            .map_err(|_| io::Error::other("the postgres-spawner thread has stopped"))?;
    }
    answer
        .await
        .map_err(|_| io::Error::other("the postgres-spawner thread dropped the request"))?
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;
    use std::net::TcpStream;

    use super::*;

    const HELPER_ENV: &str = "SYNCSTORAGE_HARNESS_TEST_HELPER";

    fn init_tracing() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "syncstorage_harness=debug".into()),
            )
            .with_test_writer()
            .try_init();
    }

    fn local_only() -> ProvisionOptions {
        ProvisionOptions {
            allow_container: false,
            ..ProvisionOptions::default()
        }
    }

    fn port_of(url: &str) -> u16 {
        let config: tokio_postgres::Config = url.parse().unwrap();
        config.get_ports()[0]
    }

    fn accepts_connections(port: u16) -> bool {
        TcpStream::connect_timeout(
            &(Ipv4Addr::LOCALHOST, port).into(),
            Duration::from_millis(500),
        )
        .is_ok()
    }

    async fn connect(url: &str) -> Client {
        connect_and_ping(&url.parse().unwrap(), Duration::from_secs(5))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn local_cluster_answers_in_utf8_and_is_gone_after_drop() {
        init_tracing();
        let postgres = provision(&local_only()).await.unwrap();
        assert_eq!(postgres.kind(), PostgresKind::Local);
        assert!(
            postgres.url().ends_with("/syncstorage"),
            "{}",
            postgres.url()
        );
        println!(
            "local cluster start-up: {:?}",
            postgres.startup_duration().unwrap()
        );

        let client = connect(postgres.url()).await;
        let row = client
            .query_one(
                "SELECT current_database(), pg_encoding_to_char(encoding), \
                 current_setting('server_encoding') FROM pg_database \
                 WHERE datname = current_database()",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "syncstorage");
        assert_eq!(row.get::<_, String>(1), "UTF8");
        assert_eq!(row.get::<_, String>(2), "UTF8");
        let echoed: String = client
            .query_one("SELECT $1::text", &[&"naïve ☃ 𝄞"])
            .await
            .unwrap()
            .get(0);
        assert_eq!(echoed, "naïve ☃ 𝄞");
        drop(client);

        let port = port_of(postgres.url());
        let data_dir = postgres.data_dir().unwrap().to_path_buf();
        let root = data_dir.parent().unwrap().to_path_buf();
        assert!(data_dir.join("PG_VERSION").exists());

        let stopping = Instant::now();
        drop(postgres);
        println!("local cluster shutdown: {:?}", stopping.elapsed());
        assert!(!data_dir.exists(), "{} still exists", data_dir.display());
        assert!(!root.exists(), "{} still exists", root.display());
        assert!(
            !accepts_connections(port),
            "port {port} still accepts connections"
        );
    }

    #[tokio::test]
    async fn two_clusters_at_once_get_their_own_ports() {
        init_tracing();
        let opts = local_only();
        let (first, second) = tokio::join!(provision(&opts), provision(&opts));
        let (first, second) = (first.unwrap(), second.unwrap());
        assert_ne!(port_of(first.url()), port_of(second.url()));
        assert_ne!(first.data_dir(), second.data_dir());
        for postgres in [&first, &second] {
            let client = connect(postgres.url()).await;
            let dir: String = client
                .query_one("SHOW data_directory", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(Path::new(&dir), postgres.data_dir().unwrap());
        }
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
        assert!(
            matches!(error, ProvisionError::ExternalUnreachable { .. }),
            "{error:?}"
        );
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
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert!(
            matches!(error, ProvisionError::ExternalUnreachable { .. }),
            "{error:?}"
        );
        drop(listener);
    }

    #[tokio::test]
    async fn garbled_database_url_is_an_invalid_url_error() {
        let opts = ProvisionOptions {
            database_url: Some("postgres://postgres@127.0.0.1:notaport/x".to_owned()),
            ..ProvisionOptions::default()
        };
        let error = provision(&opts).await.unwrap_err();
        assert!(
            matches!(error, ProvisionError::InvalidUrl { .. }),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn nothing_allowed_names_all_three_fixes() {
        let opts = ProvisionOptions {
            allow_local: false,
            allow_container: false,
            ..ProvisionOptions::default()
        };
        let message = provision(&opts).await.unwrap_err().to_string();
        for fix in [
            "--database-url",
            "SYNCSTORAGE_HARNESS_DATABASE_URL",
            "apt-get install postgresql",
            "Docker engine",
        ] {
            assert!(message.contains(fix), "{fix:?} missing from: {message}");
        }
    }

    #[tokio::test]
    async fn missing_binaries_are_reported_with_the_install_hint() {
        let empty = std::env::temp_dir();
        let opts = ProvisionOptions {
            local_bin_dir: Some(empty.clone()),
            allow_container: false,
            ..ProvisionOptions::default()
        };
        let error = provision(&opts).await.unwrap_err();
        let ProvisionError::NoneAvailable {
            local: Some(LocalError::NoServerBinaries { searched }),
            container: None,
        } = &error
        else {
            panic!("unexpected error: {error:?}");
        };
        assert_eq!(searched, &empty.display().to_string());
        assert!(error.to_string().contains("apt-get install postgresql"));
    }

    #[tokio::test]
    async fn dropping_a_handle_already_torn_down_is_a_no_op() {
        init_tracing();
        let postgres = provision(&local_only()).await.unwrap();
        let port = port_of(postgres.url());
        let data_dir = postgres.data_dir().unwrap().to_path_buf();
        assert!(accepts_connections(port));

        // What cleanup_all does for every entry, done here for ours alone: other tests in this
        // process own clusters too (cleanup_all itself is tested in a child process below).
        let key = postgres.resource.unwrap();
        let resource = registry().remove(&key);
        assert!(resource.is_some());
        drop(resource);
        assert!(!accepts_connections(port));
        assert!(!data_dir.exists());

        drop(postgres);
    }

    #[test]
    fn cleanup_all_stops_everything_and_can_repeat() {
        let output = run_helper("cleanup-all", Duration::from_secs(30), |_| false);
        assert!(output.status.success(), "helper failed: {output:?}");
        assert!(output.stdout.contains("CLEANED"), "{output:?}");
    }

    #[test]
    fn panic_unwinding_drops_the_cluster() {
        init_tracing();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let postgres = runtime.block_on(provision(&local_only())).unwrap();
        let port = port_of(postgres.url());
        let data_dir = postgres.data_dir().unwrap().to_path_buf();

        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _owned = postgres;
            panic!("deliberate panic while a cluster is alive");
        }));
        assert!(outcome.is_err());
        assert!(!data_dir.exists());
        assert!(!accepts_connections(port));
    }

    #[derive(Debug)]
    struct HelperOutput {
        status: ExitStatus,
        stdout: String,
    }

    /// Runs `child_process_helper` in a new process of this test binary, so that it can call
    /// cleanup_all or be killed without touching the clusters of tests running here. `watch`
    /// sees each stdout line as it arrives and returns true to have the helper killed.
    fn run_helper(
        mode: &str,
        timeout: Duration,
        mut watch: impl FnMut(&str) -> bool,
    ) -> HelperOutput {
        let mut helper = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "provision::postgres::tests::child_process_helper",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HELPER_ENV, mode)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = helper.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + timeout;
        let mut seen = String::new();
        loop {
            match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    let kill = watch(&line);
                    seen.push_str(&line);
                    seen.push('\n');
                    if kill {
                        helper.kill().unwrap();
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    helper.kill().unwrap();
                    break;
                }
            }
        }
        let status = helper.wait().unwrap();
        HelperOutput {
            status,
            stdout: seen,
        }
    }

    #[test]
    #[ignore = "helper: only meaningful when started by run_helper"]
    fn child_process_helper() {
        let Some(mode) = std::env::var_os(HELPER_ENV) else {
            return;
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let postgres = runtime.block_on(provision(&local_only())).unwrap();
        let port = port_of(postgres.url());
        let data_dir = postgres.data_dir().unwrap().to_path_buf();
        match mode.to_str() {
            Some("hold") => {
                println!("READY {port} {}", data_dir.parent().unwrap().display());
                // Bounded so a stray helper cannot outlive the test run by much.
                std::thread::sleep(Duration::from_secs(60));
                drop(postgres);
            }
            Some("cleanup-all") => {
                // Outside any runtime, as in a Ctrl-C handler that exits afterwards.
                cleanup_all();
                assert!(!accepts_connections(port));
                assert!(!data_dir.exists());
                cleanup_all();
                drop(postgres);
                println!("CLEANED");
            }
            other => panic!("unknown helper mode {other:?}"),
        }
    }

    #[test]
    fn killed_harness_takes_its_cluster_down() {
        init_tracing();
        let mut ready = None;
        // SIGKILL once ready: no destructor, no Ctrl-C handler, only the parent-death signal.
        run_helper("hold", Duration::from_secs(30), |line| {
            // libtest prints the test name on the same line, before our output.
            if let Some((_, rest)) = line.split_once("READY ") {
                ready = Some(rest.to_owned());
            }
            ready.is_some()
        });
        let ready = ready.expect("helper never reported a ready cluster");
        let (port, root) = ready.split_once(' ').unwrap();
        let (port, root): (u16, PathBuf) = (port.parse().unwrap(), root.into());

        let deadline = Instant::now() + Duration::from_secs(10);
        while accepts_connections(port) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !accepts_connections(port),
            "server outlived the killed harness"
        );

        let pid_file = root.join("data").join("postmaster.pid");
        while pid_file.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        sweep_leftover_clusters();
        assert!(
            !root.exists(),
            "the next run did not remove {}",
            root.display()
        );
    }

    #[tokio::test]
    async fn startup_time_report() {
        init_tracing();
        let mut times = Vec::new();
        for _ in 0..3 {
            let postgres = start_local_cluster(&local_only()).await.unwrap();
            times.push(postgres.startup_duration().unwrap());
        }
        times.sort();
        println!(
            "local cluster start-up over {} runs: min {:?}, median {:?}, max {:?}",
            times.len(),
            times[0],
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }

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
        assert_eq!(
            version_key("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"),
            Some(vec![15, 18])
        );
        assert_eq!(
            version_key("postgres (PostgreSQL) 9.6.24"),
            Some(vec![9, 6, 24])
        );
        assert_eq!(version_key("postgres (PostgreSQL) 17beta1"), Some(vec![17]));
        assert_eq!(version_key("no digits here"), None);
        assert!(version_key("postgres (PostgreSQL) 10.1") > version_key("postgres 9.6.24"));
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:hunter2@db:5432/x"),
            "postgres://u:****@db:5432/x"
        );
        assert_eq!(redact_url("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(
            redact_url("host=db password=hunter2 user=u"),
            "host=db password=**** user=u"
        );
        let opts = ProvisionOptions {
            database_url: Some("postgres://u:hunter2@db/x".to_owned()),
            ..ProvisionOptions::default()
        };
        assert!(!format!("{opts:?}").contains("hunter2"));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("syncstorage"), "\"syncstorage\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(
            superuser_url("127.0.0.1:5432", "sync storage_2"),
            "postgres://postgres@127.0.0.1:5432/sync%20storage_2"
        );
    }
}
