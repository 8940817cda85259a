//! A throwaway PostgreSQL cluster made with the local server binaries: finding them
//! (`binaries`), the account to run them as (`account`), the temporary directory the cluster lives
//! in (`temp_dir`), the server process's supervision (`supervise`) and the cluster's life from
//! `initdb` to shutdown (`cluster`), which every failure reports as a [`LocalError`] (`error`).

mod account;
mod binaries;
mod cluster;
mod error;
mod supervise;
mod temp_dir;
#[cfg(test)]
mod tests;

pub use cluster::start_local_cluster;
pub use error::LocalError;
