//! A throwaway cluster's life: `initdb` into a temporary directory, the server started on a free
//! port, polled until it answers, the database created; and, when the cluster is dropped, the
//! server stopped and the directory removed.

use std::fs::{self, DirBuilder, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::Client;
use tracing::{debug, info, warn};

use super::account::{Account, server_account};
use super::binaries::{ServerBinaries, find_server_binaries};
use super::error::LocalError;
use super::supervise;
use super::temp_dir::{create_temp_root, remove_root, sweep_leftover_clusters};
use crate::provision::connection::{SUPERUSER, connect_and_ping, error_chain, quote_ident, superuser_url};
use crate::provision::handle::{Postgres, PostgresKind, register};
use crate::provision::options::ProvisionOptions;

const READY_TIMEOUT: Duration = Duration::from_secs(10);
const READY_POLL_INTERVAL: Duration = Duration::from_millis(20);
const READY_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
const INITDB_TIMEOUT: Duration = Duration::from_secs(60);
/// Another process can take the port between our probe and the server's bind.
const PORT_ATTEMPTS: usize = 3;
const MAX_CONNECTIONS: u32 = 200;
const LOG_TAIL_LINES: usize = 20;

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
        .batch_execute(&format!("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'", quote_ident(database)))
        .await
        .map_err(|error| LocalError::CreateDatabase { database: database.clone(), reason: error_chain(&error) })?;
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
    Ok(register(cluster, url, PostgresKind::Local, Some(startup), Some(data_dir)))
}

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
        DirBuilder::new().mode(0o700).create(&cluster.socket_dir).map_err(temp_dir_error(&cluster.socket_dir))?;
        if let Some(account) = run_as {
            // initdb creates the data directory itself, inside the root it must be able to write.
            for dir in [&cluster.root, &cluster.socket_dir] {
                std::os::unix::fs::chown(dir, Some(account.uid), Some(account.gid)).map_err(temp_dir_error(dir))?;
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
        if tail.is_empty() { format!("(nothing in {})", self.log_path.display()) } else { tail }
    }

    fn stop_server(&mut self) {
        if let Some(server) = self.server.take() {
            supervise::stop(server, self.port);
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop_server();
        remove_root(&self.root);
    }
}

async fn run_initdb(binaries: &ServerBinaries, run_as: Option<Account>, cluster: &LocalCluster) -> Result<(), LocalError> {
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
            return Err(LocalError::Spawn { program: binaries.initdb.clone(), error });
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
        let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
        return Err(LocalError::Initdb {
            program: binaries.initdb.clone(),
            status: output.status.to_string(),
            output: lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n"),
        });
    }
    Ok(())
}

async fn launch_on_free_port(binaries: &ServerBinaries, run_as: Option<Account>, cluster: &mut LocalCluster) -> Result<Client, LocalError> {
    let mut attempt = 1;
    loop {
        let port = pick_free_port().map_err(|error| LocalError::NoFreePort { error })?;
        match launch(binaries, run_as, cluster, port).await {
            Err(LocalError::ServerExited { log_tail, .. }) if attempt < PORT_ATTEMPTS && log_tail.contains("Address already in use") => {
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

async fn launch(binaries: &ServerBinaries, run_as: Option<Account>, cluster: &mut LocalCluster, port: u16) -> Result<Client, LocalError> {
    let log_error = |error| LocalError::TempDir { path: cluster.log_path.clone(), error };
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
        .arg(format!("unix_socket_directories={}", cluster.socket_dir.display()))
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

    let server =
        supervise::spawn_tied_to_harness(command).await.map_err(|error| LocalError::Spawn { program: binaries.postgres.clone(), error })?;
    cluster.server = Some(server);
    cluster.port = port;

    let mut config = tokio_postgres::Config::new();
    config.host("127.0.0.1").port(port).user(SUPERUSER).dbname("postgres").connect_timeout(READY_ATTEMPT_TIMEOUT);
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
        let last_error = match connect_and_ping(config, READY_ATTEMPT_TIMEOUT.min(remaining)).await {
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
    let row = client.query_one("SHOW data_directory", &[]).await.map_err(|error| error_chain(&error))?;
    let reported: String = row.try_get(0).map_err(|error| error_chain(&error))?;
    let same = |a: &Path, b: &Path| match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    Ok(same(Path::new(&reported), data_dir))
}
