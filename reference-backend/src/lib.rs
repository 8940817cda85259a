//! A spec-correct Mozilla Sync 1.5 storage server on PostgreSQL: the harness's built-in target
//! and the yardstick other servers are held to.
//!
//! The HTTP layer ([`web`]) is kept apart from the storage layer ([`db`]); all SQL lives in the
//! store and in `migrations/`. Clause IDs in comments (`D-06`) refer to the shared SPEC.

pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use clock::{Clock, Ts};
pub use config::{Config, Faults, Limits};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Connect(#[from] db::ConnectError),
    #[error(transparent)]
    Migrate(#[from] db::MigrateError),
    #[error("read the listening address: {0}")]
    Io(#[from] std::io::Error),
}

/// A server running on the current tokio runtime.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the base URL clients use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for open requests to finish.
    pub async fn shutdown(&mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        }
    }

    /// Waits until the server stops on its own (it only does on an I/O error).
    pub async fn wait(&mut self) -> std::io::Result<()> {
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Connects to `database_url`, applies the migrations and serves on `listener`.
pub async fn start(config: Config, database_url: &str, listener: TcpListener) -> Result<RunningServer, StartError> {
    let pool = db::connect(database_url, 32).await?;
    db::migrate(&pool).await?;
    let clock = Arc::new(Clock::new(config.test_clock));
    let config = Arc::new(config);
    let store = db::Store::new(pool, clock.clone(), config.clone());
    let state = Arc::new(web::AppState { store, config, clock });
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let app = web::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    tracing::info!(%addr, "reference backend listening");
    Ok(RunningServer { addr, shutdown: Some(tx), task: Some(task) })
}
