//! Talking to a PostgreSQL server, whoever started it: the connect-and-`SELECT 1` check every
//! path uses to call a server ready, the URLs of throwaway servers, and the text helpers that keep
//! passwords out of messages and errors readable.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio_postgres::{Client, NoTls};
use tracing::debug;

/// Superuser created by `initdb` and by the container image; both trust local connections.
pub(crate) const SUPERUSER: &str = "postgres";

/// Characters left as they are when a database name goes into a URL path.
const URL_PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'-').remove(b'.');

/// Connects and runs `SELECT 1`, all within `timeout`; the error is a readable reason.
pub(crate) async fn connect_and_ping(config: &tokio_postgres::Config, timeout: Duration) -> Result<Client, String> {
    let attempt = async {
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                debug!(error = %error_chain(&error), "PostgreSQL connection ended with an error");
            }
        });
        client.simple_query("SELECT 1").await?;
        Ok::<_, tokio_postgres::Error>(client)
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(error)) => Err(error_chain(&error)),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

/// `error` and its sources joined with ": ", skipping sources the message already contains.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The URL with its password masked, for messages and logs.
pub(crate) fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot have a password, which this one has.
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        Ok(_) => raw.to_owned(),
        // key=value connection strings
        Err(_) => raw
            .split_whitespace()
            .map(|pair| if pair.starts_with("password=") { "password=****" } else { pair })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// URL of `database` as the trusted superuser of a throwaway server at `address` (host:port).
pub(crate) fn superuser_url(address: &str, database: &str) -> String {
    format!("postgres://{SUPERUSER}@{address}/{}", utf8_percent_encode(database, URL_PATH_KEEP))
}

pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:hunter2@db:5432/x"), "postgres://u:****@db:5432/x");
        assert_eq!(redact_url("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(redact_url("host=db password=hunter2 user=u"), "host=db password=**** user=u");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("syncstorage"), "\"syncstorage\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(superuser_url("127.0.0.1:5432", "sync storage_2"), "postgres://postgres@127.0.0.1:5432/sync%20storage_2");
    }
}
