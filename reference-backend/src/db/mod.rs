//! The storage layer: the schema migrations and every SQL statement of the server (SPEC area K).

mod migrate;
pub mod model;
mod store;

pub use migrate::{MigrateError, migrate};
pub use store::{ConnectError, Store, WriteOutcome, connect};
