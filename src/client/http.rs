//! The HTTP side: one pooled reqwest client per target, URL building, signing and sending.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};
use syncstorage_tokenlib::Credentials;
use url::Url;

use super::error::ClientError;
use super::raw::{self, RAW_BODY_THRESHOLD};
use super::request::{RequestBody, Signing, SyncRequest};
use super::response::{RequestRecord, SyncResponse, TRANSCRIPT_BODY_LIMIT, redact_mac};
use super::sign::{self, HawkParams};

/// Whole-request timeout unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Connection timeout unless configured otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How the client talks to the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Limit for a whole exchange, from connecting to reading the last body byte.
    pub timeout: Duration,
    /// Limit for establishing a connection.
    pub connect_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self { timeout: DEFAULT_TIMEOUT, connect_timeout: DEFAULT_CONNECT_TIMEOUT }
    }
}

/// A connection-pooling client bound to one target server; cheap to clone.
///
/// It never uses a proxy (the environment's proxy settings would send the harness elsewhere
/// than the target) and never follows redirects (a redirect is an answer to check, and a Hawk
/// MAC does not cover the redirected URL).
#[derive(Debug, Clone)]
pub struct SyncClient {
    http: reqwest::Client,
    target: Url,
    config: ClientConfig,
}

impl SyncClient {
    /// A client for `target`, an `http` or `https` URL, possibly with a path prefix.
    pub fn new(target: Url) -> Result<Self, ClientError> {
        Self::with_config(target, ClientConfig::default())
    }

    /// A client for `target` with explicit timeouts.
    pub fn with_config(target: Url, config: ClientConfig) -> Result<Self, ClientError> {
        let invalid = |reason: &str| ClientError::InvalidUrl { target: target.to_string(), path: String::new(), reason: reason.to_owned() };
        if !matches!(target.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if target.host_str().is_none() {
            return Err(invalid("it names no host"));
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("syncstorage-harness/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ClientError::Build)?;
        Ok(Self { http, target, config })
    }

    /// The target server.
    pub fn target(&self) -> &Url {
        &self.target
    }

    /// The target as a tokenserver `node` value: the URL without a trailing slash.
    pub fn node(&self) -> &str {
        self.target.as_str().trim_end_matches('/')
    }

    /// The URL for `path` (see [`SyncRequest`] for the path rules); a path relative to a user
    /// root needs `uid`.
    pub fn url_for(&self, path: &str, uid: Option<u64>) -> Result<Url, ClientError> {
        let (path_part, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let prefix = self.target.path().trim_end_matches('/');
        let full_path = if path_part.starts_with('/') {
            format!("{prefix}{path_part}")
        } else {
            let uid = uid.ok_or_else(|| ClientError::NeedsUser {
                path: path.to_owned(),
                reason: "a path without a leading `/` is relative to a user's root",
            })?;
            if path_part.is_empty() { format!("{prefix}/1.5/{uid}") } else { format!("{prefix}/1.5/{uid}/{path_part}") }
        };
        let mut url = self.target.clone();
        url.set_path(&full_path);
        url.set_query(query);
        url.set_fragment(None);
        Ok(url)
    }

    /// Sends a request without a user: `path` must start with `/`, and it goes unsigned
    /// unless it carries its own credentials ([`Signing::With`]).
    pub async fn send(&self, request: SyncRequest) -> Result<SyncResponse, ClientError> {
        self.send_as(None, request).await
    }

    /// Sends `request`; when a kept-alive connection turns out to have been closed by the
    /// server before it answered (it closed after its previous answer without saying
    /// `Connection: close`), the request is signed and sent once more on a new connection and
    /// the answer notes it. Such a request never reached the server's handler, so sending it
    /// again applies nothing twice.
    pub(crate) async fn send_as(&self, user: Option<Signer<'_>>, request: SyncRequest) -> Result<SyncResponse, ClientError> {
        match self.send_once(user, &request).await {
            Err(ClientError::Transport { source, .. }) if closed_before_answer(&source) => {
                let mut response = self.send_once(user, &request).await?;
                response.resent_after = Some(source.to_string());
                Ok(response)
            }
            other => other,
        }
    }

    async fn send_once(&self, user: Option<Signer<'_>>, request: &SyncRequest) -> Result<SyncResponse, ClientError> {
        let url = self.url_for(&request.path, user.map(|u| u.uid))?;
        let credentials = signing_credentials(user, request)?;

        let mut headers = Vec::with_capacity(request.headers.len() + 3);
        for (name, value) in &request.headers {
            headers.push(header_pair(name, value)?);
        }
        // A caller-set Authorization header is a deliberate test input: it replaces signing.
        let caller_authorization = request.header_value("authorization").is_some();
        if let (Some(credentials), false) = (&credentials, caller_authorization) {
            let hash = if request.hawk_payload_hash {
                let content_type = request.header_value("content-type").unwrap_or_default();
                Some(sign::payload_hash(content_type, request.body.bytes())?)
            } else {
                None
            };
            let value = sign::authorization(&HawkParams {
                method: &request.method.as_str().to_ascii_uppercase(),
                url: &url,
                host_header: request.header_value("host"),
                credentials,
                ts: request.hawk_ts,
                ext: request.hawk_ext.as_deref(),
                payload_hash: hash.as_deref(),
            })?;
            headers.push(header_pair("Authorization", &value)?);
        }
        if matches!(request.body, RequestBody::Chunked(_)) {
            // hyper honours a caller's Transfer-Encoding and then drops Content-Length, which
            // gives a chunked upload without needing reqwest's streaming bodies.
            headers.push(header_pair("Transfer-Encoding", "chunked")?);
        }

        let record = self.record(request, &url, &headers);
        if url.scheme() == "http" && request.body.bytes().len() > RAW_BODY_THRESHOLD {
            return self.send_raw(record, request, &url, &headers).await;
        }
        let mut builder = self.http.request(request.method.clone(), url.clone());
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        builder = match &request.body {
            RequestBody::Empty => builder,
            RequestBody::Bytes(bytes) | RequestBody::Chunked(bytes) => builder.body(bytes.clone()),
        };

        let started = Instant::now();
        let response = builder.send().await.map_err(|err| self.transport_error(&record, err))?;
        let status = response.status();
        let response_headers = response.headers().clone();
        let body = response.bytes().await.map_err(|err| self.transport_error(&record, err))?.to_vec();
        let elapsed = started.elapsed();
        tracing::debug!(
            method = %record.method,
            url = %record.url,
            status = status.as_u16(),
            elapsed_ms = elapsed.as_millis(),
            "sync request"
        );
        Ok(SyncResponse { request: record, status, headers: response_headers, body, elapsed, resent_after: None })
    }

    /// Sends a large body over the raw exchange, which reads an answer the server gives before
    /// the body is written (a 413 and a closed connection) instead of losing it.
    async fn send_raw(
        &self,
        record: RequestRecord,
        request: &SyncRequest,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<SyncResponse, ClientError> {
        let started = Instant::now();
        let answer = raw::exchange(raw::RawRequest {
            method: request.method.as_str(),
            url,
            headers,
            body: request.body.bytes(),
            chunked: matches!(request.body, RequestBody::Chunked(_)),
            timeout: self.config.timeout,
            connect_timeout: self.config.connect_timeout,
        })
        .await?;
        Ok(SyncResponse {
            request: record,
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
            elapsed: started.elapsed(),
            resent_after: None,
        })
    }

    fn record(&self, request: &SyncRequest, url: &Url, headers: &[(HeaderName, HeaderValue)]) -> RequestRecord {
        let mut shown = Vec::with_capacity(headers.len() + 2);
        if request.header_value("host").is_none() {
            shown.push(("host".to_owned(), host_header(url)));
        }
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            let value = if *name == reqwest::header::AUTHORIZATION { redact_mac(&value) } else { value.into_owned() };
            shown.push((name.as_str().to_owned(), value));
        }
        let body = request.body.bytes();
        if let RequestBody::Bytes(bytes) = &request.body {
            shown.push(("content-length".to_owned(), bytes.len().to_string()));
        }
        RequestRecord {
            method: request.method.as_str().to_owned(),
            url: url.clone(),
            headers: shown,
            body_head: body[..body.len().min(TRANSCRIPT_BODY_LIMIT)].to_vec(),
            body_len: body.len(),
        }
    }

    fn transport_error(&self, record: &RequestRecord, source: reqwest::Error) -> ClientError {
        let url = record.url.to_string();
        if source.is_connect() {
            ClientError::Unreachable { url, source }
        } else if source.is_timeout() {
            ClientError::Timeout { method: record.method.clone(), url, timeout: self.config.timeout, source }
        } else {
            ClientError::Transport { method: record.method.clone(), url, source }
        }
    }
}

/// Whether a transport failure says the connection was closed before any answer came: hyper's
/// incomplete message, or a reset or broken pipe while the request was being written.
fn closed_before_answer(err: &reqwest::Error) -> bool {
    if err.is_connect() || err.is_timeout() {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = source {
        if e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_incomplete_message) {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
            if matches!(io.kind(), ConnectionReset | BrokenPipe | ConnectionAborted) {
                return true;
            }
        }
        source = e.source();
    }
    false
}

/// Whose request this is: the uid its path is relative to and the token it is signed with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signer<'a> {
    pub uid: u64,
    pub credentials: &'a Credentials,
}

fn signing_credentials(user: Option<Signer<'_>>, request: &SyncRequest) -> Result<Option<Credentials>, ClientError> {
    let needs_user = |reason| ClientError::NeedsUser { path: request.path.clone(), reason };
    Ok(match (&request.signing, user) {
        (Signing::Unsigned, _) | (Signing::Own, None) => None,
        (Signing::Own, Some(user)) => Some(user.credentials.clone()),
        (Signing::With(credentials), _) => Some(credentials.clone()),
        (Signing::WrongKey, Some(user)) => {
            let own = user.credentials;
            Some(Credentials { id: own.id.clone(), key: sign::wrong_key(&own.key) })
        }
        (Signing::WrongKey, None) => {
            return Err(needs_user("a wrong key needs a token to go with"));
        }
    })
}

fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), ClientError> {
    let invalid = |reason: String| ClientError::InvalidHeader { name: name.to_owned(), reason };
    let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(e.to_string()))?;
    let header_value = HeaderValue::from_str(value).map_err(|e| invalid(e.to_string()))?;
    Ok((header_name, header_value))
}

/// The `Host` header reqwest derives from `url`: the port only when it is not the default.
fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use reqwest::Method;
    use syncstorage_tokenlib::{HawkHeader, RequestTarget, verify_authorization};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    const SECRET: &str = "loopback secret";

    fn client(target: &str) -> SyncClient {
        SyncClient::new(Url::parse(target).expect("target url")).expect("client")
    }

    #[test]
    fn urls_follow_the_path_rules() {
        let plain = client("http://127.0.0.1:8000");
        let url = |c: &SyncClient, path, uid| c.url_for(path, uid).map(|u| u.to_string());
        assert_eq!(
            url(&plain, "storage/bookmarks?full=1", Some(7)).ok().as_deref(),
            Some("http://127.0.0.1:8000/1.5/7/storage/bookmarks?full=1")
        );
        assert_eq!(url(&plain, "", Some(7)).ok().as_deref(), Some("http://127.0.0.1:8000/1.5/7"));
        assert_eq!(url(&plain, "/__heartbeat__", None).ok().as_deref(), Some("http://127.0.0.1:8000/__heartbeat__"));
        assert_eq!(url(&plain, "storage/a b#c", Some(7)).ok().as_deref(), Some("http://127.0.0.1:8000/1.5/7/storage/a%20b%23c"));
        assert!(matches!(plain.url_for("info/collections", None), Err(ClientError::NeedsUser { .. })));

        let prefixed = client("https://sync.example.com/prefix/");
        assert_eq!(
            url(&prefixed, "/1.5/abc/info/collections", None).ok().as_deref(),
            Some("https://sync.example.com/prefix/1.5/abc/info/collections")
        );
        assert_eq!(url(&prefixed, "info/quota", Some(1)).ok().as_deref(), Some("https://sync.example.com/prefix/1.5/1/info/quota"));
        assert_eq!(prefixed.node(), "https://sync.example.com/prefix");
        assert_eq!(plain.node(), "http://127.0.0.1:8000");
    }

    #[test]
    fn targets_must_be_http() {
        for bad in ["ftp://example.com", "unix:/tmp/socket"] {
            let err = SyncClient::new(Url::parse(bad).expect("url")).expect_err(bad);
            assert!(matches!(err, ClientError::InvalidUrl { .. }), "{err}");
        }
    }

    /// A one-shot HTTP/1.1 server on loopback that records the raw request it receives.
    async fn capture_one(response: &'static str) -> (Url, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            // Read until the end of the headers and of a chunked or sized body.
            while !request_complete(&raw) {
                let n = socket.read(&mut buf).await.expect("read");
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&buf[..n]);
            }
            socket.write_all(response.as_bytes()).await.expect("write");
            socket.shutdown().await.expect("shutdown");
            raw
        });
        let url = Url::parse(&format!("http://{addr}")).expect("url");
        (url, task)
    }

    fn request_complete(raw: &[u8]) -> bool {
        let text = String::from_utf8_lossy(raw);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            return false;
        };
        let head = head.to_ascii_lowercase();
        if head.contains("transfer-encoding: chunked") {
            return body.ends_with("0\r\n\r\n");
        }
        let length =
            head.lines().find_map(|l| l.strip_prefix("content-length: ")).and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(0);
        body.len() >= length
    }

    fn header_of<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
        raw.split("\r\n\r\n").next()?.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// Reads one request from `socket` (headers and a sized or chunked body).
    async fn read_request(socket: &mut tokio::net::TcpStream) -> Vec<u8> {
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        while !request_complete(&raw) {
            let n = socket.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        raw
    }

    #[tokio::test]
    async fn a_request_on_a_connection_the_server_silently_closed_is_sent_again() {
        // The peer behaves as syncstorage-rs does after a 405: it answers without
        // `Connection: close`, then drops the connection as the next request arrives.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let peer = tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.expect("accept");
            read_request(&mut first).await;
            first.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n").await.expect("write");
            let mut byte = [0u8; 1];
            let _ = first.read(&mut byte).await;
            drop(first);
            let (mut second, _) = listener.accept().await.expect("accept the new connection");
            let raw = read_request(&mut second).await;
            second.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").await.expect("write");
            raw
        });
        let client = client(&format!("http://{addr}"));
        let user = client.user(SECRET, 42);
        let refused = user.send(SyncRequest::put("info/quota").json(&serde_json::json!({}))).await.expect("405");
        assert_eq!(refused.status_code(), 405);
        assert!(refused.resent_after.is_none());
        let answered = user.send(SyncRequest::get("storage/tabs")).await.expect("sent again");
        assert_eq!(answered.status_code(), 200);
        assert!(answered.resent_after.is_some(), "the answer notes the second attempt");
        assert!(answered.transcript().starts_with("# the server had closed the kept-alive connection"), "{}", answered.transcript());
        let raw = String::from_utf8(peer.await.expect("peer")).expect("utf-8");
        assert!(raw.starts_with("GET /1.5/42/storage/tabs HTTP/1.1"), "{raw}");
    }

    #[tokio::test]
    async fn a_loopback_server_can_verify_what_the_client_sends() {
        let (target, task) =
            capture_one("HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}").await;
        let client = SyncClient::new(target).expect("client");
        let user = client.user(SECRET, 42);
        let response = user
            .send(SyncRequest::put("storage/tabs/a?x=%2F").json(&serde_json::json!({"id": "a"})).hawk_payload_hash())
            .await
            .expect("send");
        assert_eq!(response.status_code(), 201);
        assert_eq!(response.json().expect("json")["ok"], true);

        let raw = String::from_utf8(task.await.expect("server task")).expect("utf-8 request");
        let request_line = raw.lines().next().expect("request line");
        assert_eq!(request_line, "PUT /1.5/42/storage/tabs/a?x=%2F HTTP/1.1");
        let host = header_of(&raw, "host").expect("host header");
        let authorization = header_of(&raw, "authorization").expect("authorization header");
        let target = RequestTarget::from_host_header("PUT", "/1.5/42/storage/tabs/a?x=%2F", host, 80).expect("host header parses");
        let ok = verify_authorization(SECRET, authorization, target).expect("server-side verify");
        assert_eq!(ok.payload.uid, 42);
        assert_eq!(ok.payload.node, client.node());
        assert!(ok.header.hash.is_some());
        assert_eq!(header_of(&raw, "content-length"), Some("10"));

        let transcript = response.transcript();
        assert!(transcript.contains("> PUT /1.5/42/storage/tabs/a?x=%2F HTTP/1.1"), "{transcript}");
        assert!(transcript.contains("mac=\"<redacted>\""), "{transcript}");
        assert!(!transcript.contains(&ok.header.mac), "{transcript}");
        assert!(transcript.contains("< 201 Created"), "{transcript}");
    }

    #[tokio::test]
    async fn chunked_bodies_carry_no_content_length() {
        let (target, task) = capture_one("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
        let client = SyncClient::new(target).expect("client");
        let response = client
            .user(SECRET, 1)
            .send(SyncRequest::post("storage/bookmarks").header("Content-Type", "application/json").chunked(&b"[{\"id\":\"a\"}]"[..]))
            .await
            .expect("send");
        assert_eq!(response.status_code(), 200);
        let raw = String::from_utf8(task.await.expect("server task")).expect("utf-8 request");
        assert_eq!(header_of(&raw, "transfer-encoding"), Some("chunked"));
        assert_eq!(header_of(&raw, "content-length"), None);
        assert!(raw.contains("[{\"id\":\"a\"}]"), "{raw}");
    }

    #[test]
    fn signing_options_change_the_authorization_header() {
        let client = client("http://127.0.0.1:9");
        let alice = client.user(SECRET, 1);
        let bob = client.user(SECRET, 2);
        let target = RequestTarget { method: "GET", resource: "/1.5/1/info/collections", host: "127.0.0.1", port: 9 };
        let authorization = |request: SyncRequest| {
            let credentials = signing_credentials(Some(alice.signer()), &request).expect("credentials");
            credentials.map(|c| {
                let url = client.url_for(&request.path, Some(1)).expect("url");
                sign::authorization(&HawkParams {
                    method: "GET",
                    url: &url,
                    host_header: None,
                    credentials: &c,
                    ts: request.hawk_ts,
                    ext: None,
                    payload_hash: None,
                })
                .expect("sign")
            })
        };
        let own = authorization(SyncRequest::get("info/collections")).expect("signed");
        verify_authorization(SECRET, &own, target).expect("own credentials verify");
        assert!(authorization(SyncRequest::get("info/collections").unsigned()).is_none());
        let wrong = authorization(SyncRequest::get("info/collections").wrong_key()).expect("signed");
        assert!(verify_authorization(SECRET, &wrong, target).is_err());
        let as_bob = authorization(SyncRequest::get("info/collections").signed_with(bob.credentials().clone())).expect("signed");
        let verified = verify_authorization(SECRET, &as_bob, target).expect("bob's token verifies");
        assert_eq!(verified.payload.uid, 2, "the token names bob while the path names alice");
        let old = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let stale = authorization(SyncRequest::get("info/collections").hawk_timestamp(old)).expect("signed");
        let header = HawkHeader::parse_authorization(&stale).expect("parse");
        assert!(header.skew(SystemTime::now()) > Duration::from_secs(3600));
        assert!(matches!(signing_credentials(None, &SyncRequest::get("/x").wrong_key()), Err(ClientError::NeedsUser { .. })));
    }

    #[tokio::test]
    async fn a_refused_connection_reads_as_unreachable() {
        // Bind then drop a listener so the port is known to be closed.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let client = client(&format!("http://{addr}"));
        let err = client.send(SyncRequest::new(Method::GET, "/__heartbeat__")).await.expect_err("nothing listens");
        assert!(matches!(err, ClientError::Unreachable { .. }), "{err:?}");
        assert!(err.to_string().contains("check --target"), "{err}");
    }
}
