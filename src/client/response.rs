//! A received response, with the request that produced it, ready to be judged or shown.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use url::Url;

use super::error::ClientError;

/// Bodies longer than this are cut short in transcripts.
pub const TRANSCRIPT_BODY_LIMIT: usize = 2048;

/// The request as it went out, kept for transcripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The method.
    pub method: String,
    /// The full URL.
    pub url: Url,
    /// Headers as set by the client, `host` first, the Hawk MAC redacted.
    pub headers: Vec<(String, String)>,
    /// The first [`TRANSCRIPT_BODY_LIMIT`] bytes of the body.
    pub body_head: Vec<u8>,
    /// The full body length in bytes.
    pub body_len: usize,
}

impl RequestRecord {
    /// Path and query as in the request line.
    pub fn resource(&self) -> &str {
        &self.url[url::Position::BeforePath..url::Position::AfterQuery]
    }
}

/// A response: status, headers and the whole body, plus the request that produced it.
#[derive(Debug, Clone)]
pub struct SyncResponse {
    pub(crate) request: RequestRecord,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) elapsed: Duration,
    /// Set when the request was sent a second time because the server had closed the kept-alive
    /// connection without answering the first: the first attempt's error.
    pub(crate) resent_after: Option<String>,
}

impl SyncResponse {
    /// Whether the request had to be sent again on a new connection because the server closed
    /// the kept-alive one silently (see the transcript's first line).
    pub fn was_resent(&self) -> bool {
        self.resent_after.is_some()
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The status as a number.
    pub fn status_code(&self) -> u16 {
        self.status.as_u16()
    }

    /// All response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The first value of header `name` (any case), if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The raw body, to be edited by a caller that rewrote the request (see the conformance
    /// context's collection names).
    pub(crate) fn body_mut(&mut self) -> &mut Vec<u8> {
        &mut self.body
    }

    /// The body as text, invalid UTF-8 replaced.
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, ClientError> {
        self.json_as()
    }

    /// The body parsed as JSON into `T`.
    pub fn json_as<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|source| ClientError::Json {
            method: self.request.method.clone(),
            url: self.request.url.to_string(),
            source,
        })
    }

    /// Time from sending the request to having read the whole body.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The request that produced this response.
    pub fn request(&self) -> &RequestRecord {
        &self.request
    }

    /// The exchange as text for failure reports: request line, headers and body (`>` lines),
    /// then status, headers and body (`<` lines), each body cut at [`TRANSCRIPT_BODY_LIMIT`].
    pub fn transcript(&self) -> String {
        let mut out = String::new();
        let request = &self.request;
        // Writing to a String cannot fail.
        if let Some(err) = &self.resent_after {
            let _ = writeln!(
                out,
                "# the server had closed the kept-alive connection without `Connection: close` ({err}); sent again on a new connection"
            );
        }
        let _ = writeln!(out, "> {} {} HTTP/1.1", request.method, request.resource());
        for (name, value) in &request.headers {
            let _ = writeln!(out, "> {name}: {value}");
        }
        write_body(&mut out, '>', &request.body_head, request.body_len);

        let reason = self.status.canonical_reason().unwrap_or_default();
        let _ = writeln!(out, "< {} {reason} ({} ms)", self.status.as_u16(), self.elapsed.as_millis());
        for (name, value) in &self.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            let _ = writeln!(out, "< {name}: {value}");
        }
        let shown = &self.body[..self.body.len().min(TRANSCRIPT_BODY_LIMIT)];
        write_body(&mut out, '<', shown, self.body.len());
        out
    }
}

/// Replaces the `mac` attribute of a Hawk header value, leaving the rest readable.
pub(crate) fn redact_mac(value: &str) -> String {
    let Some(start) = value.find("mac=\"").map(|i| i + "mac=\"".len()) else {
        return value.to_owned();
    };
    match value[start..].find('"') {
        Some(len) => format!("{}<redacted>{}", &value[..start], &value[start + len..]),
        None => format!("{}<redacted>", &value[..start]),
    }
}

fn write_body(out: &mut String, prefix: char, shown: &[u8], total: usize) {
    if total == 0 {
        return;
    }
    let _ = writeln!(out, "{prefix}");
    for line in String::from_utf8_lossy(shown).lines() {
        let _ = writeln!(out, "{prefix} {line}");
    }
    if total > shown.len() {
        let _ = writeln!(out, "{prefix} [{} more bytes not shown]", total - shown.len());
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn response(request_body: &[u8], response_body: &[u8]) -> SyncResponse {
        let mut headers = HeaderMap::new();
        headers.insert("x-last-modified", HeaderValue::from_static("1700000000.00"));
        SyncResponse {
            request: RequestRecord {
                method: "PUT".into(),
                url: Url::parse("http://127.0.0.1:8000/1.5/42/storage/tabs/a?x=1").expect("url"),
                headers: vec![
                    ("host".into(), "127.0.0.1:8000".into()),
                    ("authorization".into(), redact_mac(r#"Hawk id="tok", ts="1", nonce="n", mac="c2VjcmV0""#)),
                ],
                body_head: request_body[..request_body.len().min(TRANSCRIPT_BODY_LIMIT)].to_vec(),
                body_len: request_body.len(),
            },
            status: StatusCode::OK,
            headers,
            body: response_body.to_vec(),
            elapsed: Duration::from_millis(12),
            resent_after: None,
        }
    }

    #[test]
    fn transcript_shows_both_sides_without_the_mac() {
        let text = response(b"{\"id\":\"a\"}", b"1700000000.00").transcript();
        assert_eq!(
            text,
            "> PUT /1.5/42/storage/tabs/a?x=1 HTTP/1.1\n\
             > host: 127.0.0.1:8000\n\
             > authorization: Hawk id=\"tok\", ts=\"1\", nonce=\"n\", mac=\"<redacted>\"\n\
             >\n\
             > {\"id\":\"a\"}\n\
             < 200 OK (12 ms)\n\
             < x-last-modified: 1700000000.00\n\
             <\n\
             < 1700000000.00\n"
        );
        assert!(!text.contains("c2VjcmV0"));
    }

    #[test]
    fn transcript_cuts_long_bodies() {
        let long = vec![b'x'; TRANSCRIPT_BODY_LIMIT + 100];
        let text = response(&long, &long).transcript();
        assert_eq!(text.matches("[100 more bytes not shown]").count(), 2, "{text}");
        assert!(!text.contains(&"x".repeat(TRANSCRIPT_BODY_LIMIT + 1)));
    }

    #[test]
    fn helpers_read_the_body_and_headers() {
        let response = response(b"", br#"{"bookmarks": 1.5}"#);
        assert_eq!(response.status_code(), 200);
        assert_eq!(response.header("X-Last-Modified"), Some("1700000000.00"));
        assert_eq!(response.header("x-missing"), None);
        assert_eq!(response.json().expect("json")["bookmarks"], 1.5);
        assert_eq!(response.text(), r#"{"bookmarks": 1.5}"#);
        let err = response.json_as::<Vec<u8>>().expect_err("not a list");
        assert!(err.to_string().contains("PUT http://127.0.0.1:8000/"), "{err}");
    }

    #[test]
    fn redaction_handles_odd_headers() {
        assert_eq!(redact_mac("Basic abc"), "Basic abc");
        assert_eq!(redact_mac(r#"Hawk mac="abc"#), r#"Hawk mac="<redacted>"#);
    }
}
