//! What the router and the handlers share: the application state and the handlers' result type.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Store;
use crate::error::ApiError;

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: Arc<Clock>,
}

/// What a handler returns: a reply, or the error the router turns into one.
pub type Result<T> = std::result::Result<T, ApiError>;
