//! End-to-end tests of local throwaway clusters: what a started cluster serves, and that it is
//! gone after every way a harness can end (drop, panic, `cleanup_all`, SIGKILL). The last two run
//! in a child process, so that they cannot touch the clusters of tests running here.

use std::io::{self, BufRead};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::cluster::start_local_cluster;
use super::temp_dir::sweep_leftover_clusters;
use crate::provision::connection::connect_and_ping;
use crate::provision::handle::{Postgres, PostgresKind, cleanup_all};
use crate::provision::options::ProvisionOptions;
use crate::provision::test_support::init_tracing;

/// Set in a test's re-run in a child process; the test then plays the child's part.
const CHILD_ENV: &str = "SYNCSTORAGE_HARNESS_TEST_CHILD";

fn local_only() -> ProvisionOptions {
    ProvisionOptions { allow_container: false, ..ProvisionOptions::default() }
}

fn port_of(url: &str) -> u16 {
    let config: tokio_postgres::Config = url.parse().unwrap();
    config.get_ports()[0]
}

fn accepts_connections(port: u16) -> bool {
    TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_millis(500)).is_ok()
}

/// Starts a cluster from a runtime of its own that is gone when this returns, the way a
/// synchronous caller (a Ctrl-C handler, a panic) finds it.
fn start_outside_a_runtime() -> Postgres {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(start_local_cluster(&local_only())).unwrap()
}

async fn connect(url: &str) -> Client {
    connect_and_ping(&url.parse().unwrap(), Duration::from_secs(5)).await.unwrap()
}

#[tokio::test]
async fn local_cluster_answers_in_utf8_and_is_gone_after_drop() {
    init_tracing();
    let postgres = start_local_cluster(&local_only()).await.unwrap();
    assert_eq!(postgres.kind(), PostgresKind::Local);
    assert!(postgres.url().ends_with("/syncstorage"), "{}", postgres.url());
    println!("local cluster start-up: {:?}", postgres.startup_duration().unwrap());

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
    let echoed: String = client.query_one("SELECT $1::text", &[&"naïve ☃ 𝄞"]).await.unwrap().get(0);
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
    assert!(!accepts_connections(port), "port {port} still accepts connections");
}

#[tokio::test]
async fn two_clusters_at_once_get_their_own_ports() {
    init_tracing();
    let opts = local_only();
    let (first, second) = tokio::join!(start_local_cluster(&opts), start_local_cluster(&opts));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_ne!(port_of(first.url()), port_of(second.url()));
    assert_ne!(first.data_dir(), second.data_dir());
    for postgres in [&first, &second] {
        let client = connect(postgres.url()).await;
        let dir: String = client.query_one("SHOW data_directory", &[]).await.unwrap().get(0);
        assert_eq!(Path::new(&dir), postgres.data_dir().unwrap());
    }
}

#[test]
fn panic_unwinding_drops_the_cluster() {
    init_tracing();
    let postgres = start_outside_a_runtime();
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

#[test]
fn cleanup_all_stops_everything_and_can_repeat() {
    if in_child() {
        let postgres = start_outside_a_runtime();
        let port = port_of(postgres.url());
        let data_dir = postgres.data_dir().unwrap().to_path_buf();
        // Outside any runtime, as in a Ctrl-C handler that exits afterwards.
        cleanup_all();
        assert!(!accepts_connections(port));
        assert!(!data_dir.exists());
        cleanup_all();
        drop(postgres);
        println!("CLEANED");
        return;
    }
    let output = run_in_child("cleanup_all_stops_everything_and_can_repeat", Duration::from_secs(30), |_| false);
    assert!(output.status.success(), "child failed: {output:?}");
    assert!(output.stdout.contains("CLEANED"), "{output:?}");
}

#[test]
fn killed_harness_takes_its_cluster_down() {
    if in_child() {
        let postgres = start_outside_a_runtime();
        let port = port_of(postgres.url());
        let root = postgres.data_dir().unwrap().parent().unwrap().to_path_buf();
        println!("READY {port} {}", root.display());
        // Bounded so a stray child cannot outlive the test run by much.
        std::thread::sleep(Duration::from_secs(60));
        drop(postgres);
        return;
    }
    init_tracing();
    let mut ready = None;
    // SIGKILL once ready: no destructor, no Ctrl-C handler, only the parent-death signal.
    run_in_child("killed_harness_takes_its_cluster_down", Duration::from_secs(30), |line| {
        // libtest prints the test name on the same line, before our output.
        if let Some((_, rest)) = line.split_once("READY ") {
            ready = Some(rest.to_owned());
        }
        ready.is_some()
    });
    let ready = ready.expect("the child never reported a ready cluster");
    let (port, root) = ready.split_once(' ').unwrap();
    let (port, root): (u16, PathBuf) = (port.parse().unwrap(), root.into());

    let deadline = Instant::now() + Duration::from_secs(10);
    while accepts_connections(port) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!accepts_connections(port), "server outlived the killed harness");

    let pid_file = root.join("data").join("postmaster.pid");
    while pid_file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    sweep_leftover_clusters();
    assert!(!root.exists(), "the next run did not remove {}", root.display());
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

/// Whether this is the re-run started by [`run_in_child`].
fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

#[derive(Debug)]
struct ChildOutput {
    status: ExitStatus,
    stdout: String,
}

/// Runs `test`, a test of this module, again in a new process of this test binary with
/// [`CHILD_ENV`] set, so that it can call cleanup_all or be killed without touching the clusters
/// of tests running here. `watch` sees each stdout line as it arrives and returns true to have
/// the child killed.
fn run_in_child(test: &str, timeout: Duration, mut watch: impl FnMut(&str) -> bool) -> ChildOutput {
    // libtest names tests by their path without the crate.
    let module = module_path!().split_once("::").map_or(module_path!(), |(_, path)| path);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &format!("{module}::{test}"), "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
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
                    child.kill().unwrap();
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                child.kill().unwrap();
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    ChildOutput { status, stdout: seen }
}
