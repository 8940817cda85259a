//! A raw HTTP/1.1 exchange for requests whose body a server may refuse before reading it.
//!
//! A server that answers 413 to an oversized upload (D-20, E-08, B-06) often writes its answer
//! and closes the connection while the body is still arriving. hyper then reports an error
//! sending the request and the answer is lost. Here the request head and body are written while
//! the answer is read at the same time; writing stops as soon as the answer begins, so the
//! server's answer is what the caller sees. A server that closes or resets the connection
//! without any answer is reported as exactly that ([`ClientError::NoAnswer`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

use super::error::ClientError;

/// Bodies larger than this go through the raw exchange (on `http` targets).
pub const RAW_BODY_THRESHOLD: usize = 64 * 1024;

/// Largest answer read back; Sync answers to refused uploads are a few bytes.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

const WRITE_CHUNK: usize = 16 * 1024;

/// What the raw exchange sends.
pub(crate) struct RawRequest<'a> {
    pub method: &'a str,
    pub url: &'a Url,
    /// Every header but framing (`Content-Length`/`Transfer-Encoding` come from `chunked`).
    pub headers: &'a [(HeaderName, HeaderValue)],
    pub body: &'a [u8],
    pub chunked: bool,
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

/// What came back.
pub(crate) struct RawAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// The request head, `Connection: close` included: one exchange per connection.
fn head(req: &RawRequest<'_>) -> Vec<u8> {
    let resource = &req.url[url::Position::BeforePath..url::Position::AfterQuery];
    let mut out = format!("{} {} HTTP/1.1\r\n", req.method, resource).into_bytes();
    let has = |name: &str| req.headers.iter().any(|(n, _)| n.as_str().eq_ignore_ascii_case(name));
    if !has("host") {
        let host = req.url.host_str().unwrap_or_default();
        let host = match req.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        out.extend_from_slice(format!("host: {host}\r\n").as_bytes());
    }
    for (name, value) in req.headers {
        if name == reqwest::header::TRANSFER_ENCODING || name == reqwest::header::CONTENT_LENGTH {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if req.chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    } else {
        out.extend_from_slice(format!("content-length: {}\r\n", req.body.len()).as_bytes());
    }
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out
}

/// Writes head and body, stopping early once `stop` is set (the answer has begun).
async fn write_request<W: AsyncWrite + Unpin>(
    w: &mut W,
    head: &[u8],
    req: &RawRequest<'_>,
    sent: &AtomicUsize,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    w.write_all(head).await?;
    for chunk in req.body.chunks(WRITE_CHUNK) {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if req.chunked {
            w.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
            w.write_all(chunk).await?;
            w.write_all(b"\r\n").await?;
        } else {
            w.write_all(chunk).await?;
        }
        sent.fetch_add(chunk.len(), Ordering::Relaxed);
    }
    if req.chunked {
        w.write_all(b"0\r\n\r\n").await?;
    }
    w.flush().await
}

/// Why reading the answer stopped short.
enum ReadEnd {
    /// The connection ended (EOF or reset) after these bytes.
    Closed { got: Vec<u8>, error: Option<std::io::Error> },
    /// The bytes do not form an HTTP/1.1 answer.
    Malformed(String),
}

/// Reads one answer; sets `stop` as soon as any byte of it arrives.
async fn read_answer<R: AsyncRead + Unpin>(r: &mut R, stop: &AtomicBool) -> Result<RawAnswer, ReadEnd> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut headers);
        match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let status = parsed.code.and_then(|c| StatusCode::from_u16(c).ok());
                let Some(status) = status else { return Err(ReadEnd::Malformed("no status code".into())) };
                let mut map = HeaderMap::new();
                for h in parsed.headers.iter() {
                    if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(h.name.as_bytes()), HeaderValue::from_bytes(h.value)) {
                        map.append(n, v);
                    }
                }
                // 1xx answers (100 Continue) precede the real one.
                if status.is_informational() {
                    buf.drain(..head_len);
                    continue;
                }
                let rest = buf.split_off(head_len);
                let body = read_body(r, &map, rest).await?;
                return Ok(RawAnswer { status, headers: map, body });
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(ReadEnd::Malformed(format!("unparseable answer head: {e}"))),
        }
        match r.read(&mut chunk).await {
            Ok(0) => return Err(ReadEnd::Closed { got: buf, error: None }),
            Ok(n) => {
                stop.store(true, Ordering::Relaxed);
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > MAX_ANSWER_BYTES {
                    return Err(ReadEnd::Malformed("answer head too large".into()));
                }
            }
            Err(e) => return Err(ReadEnd::Closed { got: buf, error: Some(e) }),
        }
    }
}

async fn read_body<R: AsyncRead + Unpin>(r: &mut R, headers: &HeaderMap, mut have: Vec<u8>) -> Result<Vec<u8>, ReadEnd> {
    let chunked = headers
        .get(reqwest::header::TRANSFER_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = headers.get(reqwest::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<usize>().ok());
    let mut chunk = [0u8; 8192];
    loop {
        if chunked {
            if let Some(body) = dechunk(&have)? {
                return Ok(body);
            }
        } else if let Some(len) = length {
            if have.len() >= len {
                have.truncate(len);
                return Ok(have);
            }
        }
        match r.read(&mut chunk).await {
            Ok(0) if !chunked && length.is_none() => return Ok(have),
            Ok(0) => return Err(ReadEnd::Malformed(format!("the answer body ended early after {} bytes", have.len()))),
            Ok(n) => {
                have.extend_from_slice(&chunk[..n]);
                if have.len() > MAX_ANSWER_BYTES {
                    return Err(ReadEnd::Malformed("answer body too large".into()));
                }
            }
            // A reset after a body of unknown length still leaves what was read.
            Err(_) if !chunked && length.is_none() => return Ok(have),
            Err(e) => return Err(ReadEnd::Malformed(format!("the answer body broke off after {} bytes: {e}", have.len()))),
        }
    }
}

/// The decoded body once `raw` holds the whole chunked encoding; `None` while more is needed.
fn dechunk(raw: &[u8]) -> Result<Option<Vec<u8>>, ReadEnd> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let Some(eol) = raw[at..].windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
        let line = std::str::from_utf8(&raw[at..at + eol]).map_err(|_| ReadEnd::Malformed("bad chunk size line".into()))?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| ReadEnd::Malformed(format!("bad chunk size {size_text:?}")))?;
        at += eol + 2;
        if size == 0 {
            // Trailers end with an empty line.
            return Ok(raw[at..].windows(2).any(|w| w == b"\r\n").then_some(out));
        }
        if raw.len() < at + size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&raw[at..at + size]);
        at += size + 2;
    }
}

/// Sends `req` over a fresh connection and returns the server's answer, even one given before
/// the body was written.
pub(crate) async fn exchange(req: RawRequest<'_>) -> Result<RawAnswer, ClientError> {
    let url = req.url.to_string();
    let method = req.method.to_owned();
    let io = |source: std::io::Error| ClientError::RawIo { method: method.clone(), url: url.clone(), source };
    let host = req.url.host_str().unwrap_or_default().to_owned();
    let port = req.url.port_or_known_default().unwrap_or(80);
    let connect = tokio::time::timeout(req.connect_timeout, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| io(std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")))?
        .map_err(|source| ClientError::RawUnreachable { url: url.clone(), source })?;
    let _ = connect.set_nodelay(true);
    let (mut rd, mut wr) = connect.into_split();
    let head = head(&req);
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = AtomicBool::new(false);
    let total = req.body.len();
    let run = async {
        let write = write_request(&mut wr, &head, &req, &sent, &stop);
        let read = read_answer(&mut rd, &stop);
        tokio::pin!(write, read);
        let mut write_error = None;
        let mut writing = true;
        loop {
            tokio::select! {
                answer = &mut read => return (answer, write_error),
                w = &mut write, if writing => {
                    writing = false;
                    if let Err(e) = w {
                        write_error = Some(e);
                    }
                }
            }
        }
    };
    let (answer, write_error) = tokio::time::timeout(req.timeout, run).await.map_err(|_| ClientError::RawTimeout {
        method: method.clone(),
        url: url.clone(),
        timeout: req.timeout,
    })?;
    match answer {
        Ok(answer) => Ok(answer),
        Err(ReadEnd::Malformed(detail)) => Err(ClientError::BadAnswer { method, url, detail }),
        Err(ReadEnd::Closed { got, error }) => {
            let how = match (&error, &write_error) {
                (Some(e), _) => format!("the connection was reset ({e})"),
                (None, Some(e)) => format!("the connection was closed (writing failed: {e})"),
                (None, None) => "the connection was closed".to_owned(),
            };
            Err(ClientError::NoAnswer {
                method,
                url,
                detail: format!(
                    "{how} after {} of {total} body bytes were sent, with {} bytes of answer",
                    sent.load(Ordering::Relaxed),
                    got.len()
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;

    fn request<'a>(url: &'a Url, body: &'a [u8], chunked: bool) -> RawRequest<'a> {
        RawRequest {
            method: "POST",
            url,
            headers: &[],
            body,
            chunked,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// A server that reads only the head, answers 413 and closes with the body unread.
    async fn refuses_early() -> Url {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(
                    b"HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n17",
                )
                .await;
            drop(s);
        });
        Url::parse(&format!("http://{addr}/x")).expect("url")
    }

    #[tokio::test]
    async fn an_answer_given_before_the_body_is_read_reaches_the_caller() {
        let url = refuses_early().await;
        let body = vec![b'x'; 8 * 1024 * 1024];
        let answer = exchange(request(&url, &body, false)).await.expect("the 413 is read");
        assert_eq!(answer.status.as_u16(), 413);
        assert_eq!(answer.body, b"17");
        let url = refuses_early().await;
        let answer = exchange(request(&url, &body, true)).await.expect("the 413 is read");
        assert_eq!(answer.status.as_u16(), 413);
    }

    #[tokio::test]
    async fn a_close_without_answer_is_reported_as_such() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 1024];
            let _ = s.read(&mut buf).await;
            drop(s);
        });
        let url = Url::parse(&format!("http://{addr}/x")).expect("url");
        let err = exchange(request(&url, &[b'y'; 300_000], false)).await.err().expect("no answer");
        assert!(matches!(err, ClientError::NoAnswer { .. }), "{err}");
        assert!(err.to_string().contains("without answering"), "{err}");
    }

    #[tokio::test]
    async fn chunked_and_sized_answers_are_read_whole() {
        for answer in [
            &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"[..],
            &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nabcde"[..],
        ] {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            let reply = answer.to_vec();
            tokio::spawn(async move {
                let (mut s, _) = listener.accept().await.expect("accept");
                let mut buf = vec![0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(&reply).await;
            });
            let url = Url::parse(&format!("http://{addr}/x")).expect("url");
            let got = exchange(request(&url, b"[]", false)).await.expect("answer");
            assert_eq!(got.status.as_u16(), 200);
            assert_eq!(got.body, b"abcde");
        }
    }
}
