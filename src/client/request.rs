//! The description of one request: method, path, headers, body and how to sign it.

use std::time::SystemTime;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use syncstorage_tokenlib::Credentials;

use super::error::ClientError;

/// Query values are encoded down to RFC 3986 unreserved characters, so any text round-trips.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The request body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RequestBody {
    /// No body.
    #[default]
    Empty,
    /// Sent with a `Content-Length`.
    Bytes(Vec<u8>),
    /// Sent with `Transfer-Encoding: chunked` and no `Content-Length`.
    Chunked(Vec<u8>),
}

impl RequestBody {
    /// The body bytes, empty for [`RequestBody::Empty`].
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Empty => &[],
            Self::Bytes(bytes) | Self::Chunked(bytes) => bytes,
        }
    }
}

/// Which Hawk credentials sign a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Signing {
    /// The sending user's token; anonymous requests go unsigned.
    #[default]
    Own,
    /// No `Authorization` header is added (one set with [`SyncRequest::header`] is still sent).
    Unsigned,
    /// These credentials, e.g. another user's or an expired token's.
    With(Credentials),
    /// The sending user's token id with a key that does not belong to it.
    WrongKey,
}

/// One request to a Sync 1.5 server, built step by step and sent with
/// [`SyncUser::send`](super::SyncUser::send) or [`SyncClient::send`](super::SyncClient::send).
///
/// A path with a leading `/` is taken from the root of the target (after any path prefix the
/// target has), e.g. `/__heartbeat__`; any other path is relative to the user's root
/// `/1.5/{uid}/`, e.g. `storage/bookmarks?full=1`, and the empty path is `/1.5/{uid}` itself.
/// The path may carry a query; it is sent as given, apart from the percent-encoding of
/// characters a URL cannot hold and the removal of `.` and `..` segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: RequestBody,
    pub(crate) signing: Signing,
    pub(crate) hawk_ts: Option<SystemTime>,
    pub(crate) hawk_ext: Option<String>,
    pub(crate) hawk_payload_hash: bool,
}

impl SyncRequest {
    /// A request with any method, including extension methods made with
    /// [`Method::from_bytes`].
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: RequestBody::Empty,
            signing: Signing::Own,
            hawk_ts: None,
            hawk_ext: None,
            hawk_payload_hash: false,
        }
    }

    /// A `GET` request.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// A `PUT` request.
    pub fn put(path: impl Into<String>) -> Self {
        Self::new(Method::PUT, path)
    }

    /// A `POST` request.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    /// A `DELETE` request.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path as given, query included.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The same request for another path (query included).
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The body.
    pub fn body_ref(&self) -> &RequestBody {
        &self.body
    }

    /// Appends `name=value` to the query, percent-encoding both.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        let separator = if self.path.contains('?') { '&' } else { '?' };
        self.path.push(separator);
        self.path.extend(utf8_percent_encode(name, QUERY_VALUE));
        self.path.push('=');
        self.path.extend(utf8_percent_encode(value, QUERY_VALUE));
        self
    }

    /// Adds a header; a `Host` header also changes the host and port the Hawk MAC covers.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends `body` with a `Content-Length`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = RequestBody::Bytes(body.into());
        self
    }

    /// Sends `value` serialized as JSON, with `Content-Type: application/json` unless a
    /// content type was set.
    pub fn json(self, value: &serde_json::Value) -> Self {
        // Serializing a `Value` only fails for maps with non-string keys, which it cannot hold.
        let bytes = serde_json::to_vec(value).expect("a json value always serializes");
        self.body(bytes).default_content_type("application/json")
    }

    /// Sends `value` serialized as JSON; for types whose serialization can fail.
    pub fn json_of<T: serde::Serialize>(self, value: &T) -> Result<Self, ClientError> {
        let bytes = serde_json::to_vec(value).map_err(ClientError::Serialize)?;
        Ok(self.body(bytes).default_content_type("application/json"))
    }

    /// Sends `body` with `Transfer-Encoding: chunked` and no `Content-Length`.
    pub fn chunked(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = RequestBody::Chunked(body.into());
        self
    }

    /// Chooses the credentials that sign the request.
    pub fn signing(mut self, signing: Signing) -> Self {
        self.signing = signing;
        self
    }

    /// Sends no `Authorization` header.
    pub fn unsigned(self) -> Self {
        self.signing(Signing::Unsigned)
    }

    /// Signs with `credentials` instead of the sender's own.
    pub fn signed_with(self, credentials: Credentials) -> Self {
        self.signing(Signing::With(credentials))
    }

    /// Signs with the sender's token id but a wrong key.
    pub fn wrong_key(self) -> Self {
        self.signing(Signing::WrongKey)
    }

    /// Puts `ts` in the Hawk header instead of the current time, to test clock skew.
    pub fn hawk_timestamp(mut self, ts: SystemTime) -> Self {
        self.hawk_ts = Some(ts);
        self
    }

    /// Adds an `ext` attribute to the Hawk header.
    pub fn hawk_ext(mut self, ext: impl Into<String>) -> Self {
        self.hawk_ext = Some(ext.into());
        self
    }

    /// Adds the Hawk payload hash of the body to the header.
    pub fn hawk_payload_hash(mut self) -> Self {
        self.hawk_payload_hash = true;
        self
    }

    /// The first value of header `name` set on this request, compared case-insensitively.
    pub(crate) fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn default_content_type(self, content_type: &str) -> Self {
        if self.header_value("content-type").is_some() { self } else { self.header("Content-Type", content_type) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_are_percent_encoded() {
        let request = SyncRequest::get("storage/bookmarks?full=1").query("ids", "a,b c").query("sort", "newest");
        assert_eq!(request.path(), "storage/bookmarks?full=1&ids=a%2Cb%20c&sort=newest");
        assert_eq!(SyncRequest::get("info/quota").query("x", "é").path(), "info/quota?x=%C3%A9");
    }

    #[test]
    fn json_sets_a_content_type_only_when_none_is_set() {
        let value = serde_json::json!({"id": "a"});
        let plain = SyncRequest::put("storage/tabs/a").json(&value);
        assert_eq!(plain.header_value("CONTENT-TYPE"), Some("application/json"));
        assert_eq!(plain.body_ref().bytes(), br#"{"id":"a"}"#);
        let custom = SyncRequest::put("storage/tabs/a").header("content-type", "text/plain").json(&value);
        assert_eq!(custom.header_value("Content-Type"), Some("text/plain"));
        assert_eq!(custom.headers.len(), 1);
    }
}
