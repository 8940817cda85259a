//! Supervision of a local server process: it is spawned so that it dies with the harness (a
//! parent-death signal, sent from a thread that lives as long as the process), and stopped with
//! PostgreSQL's fast shutdown, then killed if it does not stop within a grace period.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tracing::{debug, warn};

const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
const SHUTDOWN_POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Spawns `command` so that the server gets SIGINT when the harness dies, however it dies.
pub(super) async fn spawn_tied_to_harness(mut command: Command) -> io::Result<Child> {
    die_with_parent(&mut command);
    spawn_from_long_lived_thread(command).await
}

/// Stops the server listening on `port`: SIGINT (fast shutdown), then SIGKILL after
/// [`SHUTDOWN_GRACE`].
pub(super) fn stop(mut server: Child, port: u16) {
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
                debug!(port, %status, took = ?started.elapsed(), "PostgreSQL stopped");
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
    warn!(port, grace = ?SHUTDOWN_GRACE, "PostgreSQL did not stop in time; killing it");
    let _ = server.kill();
    let _ = server.wait();
}

fn signal(child: &Child, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: `pid` is our own child, not yet reaped, so it cannot name another process.
    unsafe { libc::kill(pid, signal) };
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
                std::thread::Builder::new().name("postgres-spawner".to_owned()).spawn(move || {
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
        sender.send(request).map_err(|_| io::Error::other("the postgres-spawner thread has stopped"))?;
    }
    answer.await.map_err(|_| io::Error::other("the postgres-spawner thread dropped the request"))?
}
