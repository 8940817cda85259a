//! Start-up of what a run depends on: the PostgreSQL database every subcommand uses (`postgres`,
//! with `container` as the Docker fallback) and the in-process reference backend (`server`).

pub mod container;
pub mod postgres;
pub mod server;

pub use container::ContainerError;
pub use postgres::{
    LocalError, Postgres, PostgresKind, ProvisionError, ProvisionOptions, cleanup_all, provision,
};
pub use server::{ServerError, start_reference};
