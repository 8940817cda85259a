//! Request bodies sized to the byte, and requests whose body is sent as given rather than
//! serialised from JSON (to send what a JSON value cannot hold, or a chosen content type).

use reqwest::Method;
use syncstorage_harness::client::SyncRequest;

/// A request with `body` sent as is, with `content_type` when given.
pub fn raw(method: Method, path: &str, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> SyncRequest {
    let req = SyncRequest::new(method, path).body(body);
    match content_type {
        Some(ct) => req.header("Content-Type", ct),
        None => req,
    }
}

/// A request with `body` sent as is, labelled `application/json`.
pub fn json_raw(method: Method, path: &str, body: &[u8]) -> SyncRequest {
    raw(method, path, Some("application/json"), body)
}

/// A POST body of exactly `len` bytes holding one record whose payload is made of two-byte
/// characters, so its length in characters is well below its length in bytes.
pub fn padded_post_body(len: usize) -> Vec<u8> {
    padded(r#"[{"id":"big","payload":""#, r#""}]"#, len)
}

/// A PUT body of exactly `len` bytes, its payload made of two-byte characters as above.
pub fn padded_put_body(len: usize) -> Vec<u8> {
    padded(r#"{"payload":""#, r#""}"#, len)
}

fn padded(head: &str, tail: &str, len: usize) -> Vec<u8> {
    let room = len - head.len() - tail.len();
    let mut body = format!("{head}{}{tail}", "é".repeat(room / 2));
    while body.len() < len {
        body.push(' ');
    }
    assert_eq!(body.len(), len);
    body.into_bytes()
}
