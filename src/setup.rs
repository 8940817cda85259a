//! What every kind of run starts from: the embedded default (a throwaway PostgreSQL and reference
//! backends with a test clock, started through `provision`) or the user's own target, and the
//! errors that stop a run before it starts (exit 3).

use std::sync::Arc;

use url::Url;

use crate::provision::{self, Postgres, ProvisionOptions};
use crate::run::ReportError;
use crate::target::{Target, TargetError};

/// Quota of the embedded quota-enforcing reference backend: small enough to fill quickly.
pub const EMBEDDED_QUOTA_BYTES: u64 = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("provision PostgreSQL: {0}")]
    Provision(#[from] provision::ProvisionError),
    #[error("start the reference backend: {0}")]
    Server(#[from] provision::ServerError),
    #[error("{0}")]
    Target(#[from] TargetError),
    #[error("{0}")]
    Invariants(#[from] crate::invariants::InvariantError),
    #[error("{0}")]
    Report(#[from] ReportError),
    #[error("select cases: no case matches --filter {0}")]
    NoCases(String),
    /// An argument names something unusable (a file that is not a regression file, ...).
    #[error("{0}")]
    Usage(String),
}

/// Limits of the embedded small-limits reference backend, for cases that fill batch totals.
pub fn small_limits() -> reference_backend::Limits {
    reference_backend::Limits {
        max_post_records: 10,
        max_post_bytes: 8192,
        max_record_payload_bytes: 8192,
        max_request_bytes: 16_384,
        max_total_records: 40,
        max_total_bytes: 32_768,
    }
}

/// What the embedded run keeps alive until it ends.
pub struct Embedded {
    servers: Vec<reference_backend::RunningServer>,
    pg: Postgres,
}

impl Embedded {
    /// Stops the servers before their database, so none of them sees it vanish.
    pub async fn stop(mut self) {
        for server in &mut self.servers {
            let _ = server.shutdown().await;
        }
        drop(self.servers);
        drop(self.pg);
    }
}

/// Adjusts every embedded reference backend's settings; the harness's own tests use it to switch
/// on deliberate faults.
pub type BackendAdjust = dyn Fn(&mut reference_backend::Config) + Send + Sync;

/// One embedded reference backend: its label in reports and how its settings differ.
pub type Variant = (&'static str, Box<dyn Fn(&mut reference_backend::Config) + Send + Sync>);

/// Starts a throwaway (or the given) PostgreSQL and one reference backend per variant on it, each
/// with a test clock and `secret`, and probes each as `probe_uid`.
pub async fn start_embedded(
    options: &ProvisionOptions,
    secret: &str,
    probe_uid: u64,
    variants: Vec<Variant>,
    adjust_all: &BackendAdjust,
) -> Result<(Embedded, Vec<Arc<Target>>, String), SetupError> {
    let pg = provision::provision(options).await?;
    let url = pg.url().to_owned();
    let mut servers = Vec::new();
    let mut targets = Vec::new();
    for (label, adjust) in variants {
        let mut config = reference_backend::Config::new(secret);
        config.test_clock = true;
        adjust(&mut config);
        adjust_all(&mut config);
        let server = provision::start_reference(config, &url, "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!())).await?;
        let base = Url::parse(&server.url())
            .map_err(|e| SetupError::Target(TargetError::Unexpected { url: server.url(), what: "its URL", detail: e.to_string() }))?;
        targets.push(Arc::new(Target::probe(label, &base, secret, probe_uid).await?));
        servers.push(server);
    }
    Ok((Embedded { servers, pg }, targets, url))
}
