//! Errors of the Sync client: each message reads after "failed to" and says what to check.

use std::time::Duration;

/// Why a request could not be built, sent or read.
///
/// An HTTP error status is not an error here: the response is returned for the caller to judge.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The HTTP client could not be set up.
    #[error("build the http client: {0}")]
    Build(#[source] reqwest::Error),
    /// Nothing answered at the target's address.
    #[error("reach {url}: {source}; check --target and that the server is running")]
    Unreachable {
        /// The URL that was requested.
        url: String,
        /// The connection error.
        #[source]
        source: reqwest::Error,
    },
    /// The server accepted the connection but did not answer in time.
    #[error("get an answer to {method} {url} within {timeout:?}; the server may be stuck or overloaded")]
    Timeout {
        /// The request method.
        method: String,
        /// The URL that was requested.
        url: String,
        /// The configured whole-request timeout.
        timeout: Duration,
        /// The timeout error.
        #[source]
        source: reqwest::Error,
    },
    /// Any other transport failure, such as a connection reset mid-response.
    #[error("exchange {method} {url} with the server: {source}")]
    Transport {
        /// The request method.
        method: String,
        /// The URL that was requested.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// Nothing answered at the target's address (raw exchange, see `raw.rs`).
    #[error("reach {url}: {source}; check --target and that the server is running")]
    RawUnreachable {
        /// The URL that was requested.
        url: String,
        /// The connection error.
        #[source]
        source: std::io::Error,
    },
    /// The server ended the connection without a byte of answer.
    #[error("get an answer to {method} {url}: the server ended the connection without answering: {detail}")]
    NoAnswer {
        /// The request method.
        method: String,
        /// The URL that was requested.
        url: String,
        /// How the connection ended and how much of the body had been sent.
        detail: String,
    },
    /// The server's bytes are not an HTTP/1.1 answer.
    #[error("read the answer to {method} {url}: {detail}")]
    BadAnswer {
        /// The request method.
        method: String,
        /// The URL that was requested.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Reading or writing the raw exchange failed.
    #[error("exchange {method} {url} with the server: {source}")]
    RawIo {
        /// The request method.
        method: String,
        /// The URL that was requested.
        url: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The raw exchange took longer than the whole-request timeout.
    #[error("get an answer to {method} {url} within {timeout:?}; the server may be stuck or overloaded")]
    RawTimeout {
        /// The request method.
        method: String,
        /// The URL that was requested.
        url: String,
        /// The configured whole-request timeout.
        timeout: Duration,
    },
    /// The target and path do not make a URL.
    #[error("build a url from target {target} and path `{path}`: {reason}")]
    InvalidUrl {
        /// The target base URL.
        target: String,
        /// The request path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A header name or value that HTTP cannot carry.
    #[error("set request header `{name}`: {reason}")]
    InvalidHeader {
        /// The header name as given.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A request that only makes sense for a user was sent without one.
    #[error("send `{path}` without a user: {reason}; send it with SyncUser::send")]
    NeedsUser {
        /// The request path.
        path: String,
        /// What needed the user.
        reason: &'static str,
    },
    /// The `hawk` crate refused to sign.
    #[error("sign the request with hawk: {0}")]
    Signing(#[source] hawk::Error),
    /// A JSON request body could not be serialized.
    #[error("serialize the json request body: {0}")]
    Serialize(#[source] serde_json::Error),
    /// A response body is not the JSON the caller asked for.
    #[error("parse the response to {method} {url} as json: {source}")]
    Json {
        /// The request method.
        method: String,
        /// The URL that was requested.
        url: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}
