//! What the caller asks of provisioning: a server to use as is, or which throwaway servers may be
//! started and how. Every way of getting a database reads these; none of them owns them.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::connection::redact_url;

/// Database created in a throwaway cluster or container.
pub const DEFAULT_DATABASE: &str = "syncstorage";
/// How long a server given by URL has to answer.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Image the Docker fallback runs PostgreSQL from.
pub const DEFAULT_IMAGE: &str = "postgres";
pub const DEFAULT_TAG: &str = "16-alpine";

/// Where the database comes from, and what may be tried.
#[derive(Clone)]
pub struct ProvisionOptions {
    /// A running server to use as is; when set, nothing else is tried.
    pub database_url: Option<String>,
    /// How long `database_url` has to accept a connection and answer `SELECT 1`.
    pub connect_timeout: Duration,
    /// Database to create in a throwaway cluster or container.
    pub database_name: String,
    /// Whether to start a throwaway cluster from the local server binaries.
    pub allow_local: bool,
    /// Directory holding `initdb` and `postgres`; when unset, PATH and the usual install
    /// directories are searched and the highest version wins.
    pub local_bin_dir: Option<PathBuf>,
    /// Whether to fall back to a Docker container.
    pub allow_container: bool,
    pub container_image: String,
    pub container_tag: String,
}

impl Default for ProvisionOptions {
    fn default() -> Self {
        Self {
            database_url: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            database_name: DEFAULT_DATABASE.to_owned(),
            allow_local: true,
            local_bin_dir: None,
            allow_container: true,
            container_image: DEFAULT_IMAGE.to_owned(),
            container_tag: DEFAULT_TAG.to_owned(),
        }
    }
}

impl fmt::Debug for ProvisionOptions {
    // Written by hand so that logging the options never prints a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvisionOptions")
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("connect_timeout", &self.connect_timeout)
            .field("database_name", &self.database_name)
            .field("allow_local", &self.allow_local)
            .field("local_bin_dir", &self.local_bin_dir)
            .field("allow_container", &self.allow_container)
            .field("container_image", &self.container_image)
            .field("container_tag", &self.container_tag)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_password() {
        let opts = ProvisionOptions { database_url: Some("postgres://u:hunter2@db/x".to_owned()), ..ProvisionOptions::default() };
        assert!(!format!("{opts:?}").contains("hunter2"));
    }
}
