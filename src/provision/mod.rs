//! Start-up of what a run depends on: the PostgreSQL database every subcommand uses and the
//! in-process reference backend (`server`).
//!
//! The database side is layered, each file using only those below it: `fallback` chooses where
//! the database comes from (a given URL, else `local`, else `container`); `local` and `container`
//! each start a throwaway server and hand it to `handle`, whose [`Postgres`] owns it until it is
//! dropped or [`cleanup_all`] runs; `options` and `connection` sit at the bottom, shared by all.

mod connection;
pub mod container;
pub mod fallback;
pub mod handle;
pub mod local;
pub mod options;
pub mod server;
#[cfg(test)]
mod test_support;

pub use container::ContainerError;
pub use fallback::{ProvisionError, provision};
pub use handle::{Postgres, PostgresKind, cleanup_all};
pub use local::LocalError;
pub use options::ProvisionOptions;
pub use server::{ServerError, start_reference};
