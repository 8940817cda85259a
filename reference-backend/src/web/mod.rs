//! The HTTP layer: routing, authentication, request parsing and the endpoint handlers. It talks to
//! the database only through [`crate::db::Store`].

mod auth;
mod handlers;
mod reply;
pub mod request;
mod router;
mod state;

pub use router::app;
pub use state::AppState;
