//! The Sync 1.5 vocabulary every kind of run shares: timestamps, the limits a server publishes,
//! and the profile of behaviour a run expects.

pub mod limits;
pub mod profile;
pub mod stamp;

pub use limits::Limits;
pub use profile::Profile;
pub use stamp::{NotAStamp, Stamp};
