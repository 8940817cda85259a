//! Starting the bundled reference backend in this process, on loopback. The harness still talks
//! to it only over HTTP; this is the one place that touches the backend crate.

use std::net::SocketAddr;

use reference_backend::{Config, RunningServer, StartError};
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("listen on {addr}: {source}; pick another address with --listen")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("start the reference backend: {0}")]
    Start(#[from] StartError),
}

/// Binds `listen` (port 0 picks a free port) and serves the reference backend on `database_url`.
pub async fn start_reference(config: Config, database_url: &str, listen: SocketAddr) -> Result<RunningServer, ServerError> {
    let listener = TcpListener::bind(listen).await.map_err(|source| ServerError::Bind { addr: listen, source })?;
    Ok(reference_backend::start(config, database_url, listener).await?)
}
