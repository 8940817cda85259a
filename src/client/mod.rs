//! The Hawk-signing Sync 1.5 client: the only way the harness talks to a server.
//!
//! It owns URL building against a target (with or without a path prefix), token minting for
//! test users, Hawk signing with the `hawk` crate, sending over a pooled reqwest client, and
//! responses that keep their request so any failure can show the whole exchange.

mod error;
mod http;
mod raw;
mod refusal;
mod request;
mod response;
mod sign;
mod user;

pub use error::ClientError;
pub use http::{ClientConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, SyncClient};
pub use raw::RAW_BODY_THRESHOLD;
pub use refusal::{Refusal, RetryPolicy};
pub use request::{RequestBody, Signing, SyncRequest};
pub use response::{RequestRecord, SyncResponse, TRANSCRIPT_BODY_LIMIT};
pub use user::{DEFAULT_TOKEN_TTL, SyncUser, TokenLifetime};
