//! Hawk signing with the `hawk` crate, the implementation syncstorage-rs verifies with.
//!
//! The MAC covers the host and port the server will read from the `Host` header: reqwest
//! derives that header from the URL, leaving out a default port, and the server then assumes
//! the scheme's default, which is what `hawk` takes from the URL too. A `Host` header set on
//! the request replaces both.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt as _;
use syncstorage_tokenlib::{Credentials, RequestTarget};
use url::Url;

use super::error::ClientError;

/// What one Hawk header is made from.
pub(crate) struct HawkParams<'a> {
    /// Upper-case method.
    pub method: &'a str,
    /// The full request URL, without a fragment.
    pub url: &'a Url,
    /// A `Host` header set by the caller, if any.
    pub host_header: Option<&'a str>,
    pub credentials: &'a Credentials,
    /// Timestamp to claim instead of now.
    pub ts: Option<SystemTime>,
    pub ext: Option<&'a str>,
    /// Raw payload hash bytes, from [`payload_hash`].
    pub payload_hash: Option<&'a [u8]>,
}

/// The `Authorization` header value, `Hawk id="...", ...`.
pub(crate) fn authorization(params: &HawkParams<'_>) -> Result<String, ClientError> {
    let key = hawk::Key::new(params.credentials.key.as_bytes(), hawk::DigestAlgorithm::Sha256).map_err(ClientError::Signing)?;
    let credentials = hawk::Credentials { id: params.credentials.id.clone(), key };
    let mut builder =
        hawk::RequestBuilder::from_url(params.method, params.url).map_err(ClientError::Signing)?.ext(params.ext).hash(params.payload_hash);
    // `hawk` puts the host into the MAC as given while the Hawk reference lowercases it; a
    // lowercase host is read the same by both kinds of server. Url already lowercases its host.
    let host_override = match params.host_header {
        Some(host_header) => {
            let default_port = params.url.port_or_known_default().unwrap_or(80);
            let target = RequestTarget::from_host_header("", "", host_header, default_port)
                .map_err(|err| ClientError::InvalidHeader { name: "Host".into(), reason: err.to_string() })?;
            Some((target.host.to_ascii_lowercase(), target.port))
        }
        None => None,
    };
    if let Some((host, port)) = &host_override {
        builder = builder.host(host).port(*port);
    }
    let request = builder.request();
    let header = match params.ts {
        None => request.make_header(&credentials),
        Some(ts) => request.make_header_full(&credentials, ts, random_nonce()),
    }
    .map_err(ClientError::Signing)?;
    Ok(format!("Hawk {header}"))
}

/// The Hawk payload hash of `body` for `content_type` (parameters dropped, lower case).
pub(crate) fn payload_hash(content_type: &str, body: &[u8]) -> Result<Vec<u8>, ClientError> {
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    hawk::PayloadHasher::hash(mime, hawk::DigestAlgorithm::Sha256, body).map_err(ClientError::Signing)
}

/// A key that no token derives, for [`Signing::WrongKey`](super::Signing::WrongKey): the
/// correct key with its first character changed, so it keeps the shape of a real one.
pub(crate) fn wrong_key(key: &str) -> String {
    let mut chars = key.chars();
    let first = match chars.next() {
        Some('A') => 'B',
        _ => 'A',
    };
    std::iter::once(first).chain(chars).collect()
}

fn random_nonce() -> String {
    // A nonce guards against replay, so it comes from the OS-seeded generator, never the run seed.
    let bytes: [u8; 8] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::time::{Duration, UNIX_EPOCH};

    use syncstorage_tokenlib::{HawkError, HawkHeader, TokenPayload, mint, payload_hash as tokenlib_payload_hash, verify_authorization};

    use super::*;

    const SECRET: &str = "conformance secret";

    fn creds() -> Credentials {
        let payload = TokenPayload::new(42, "http://127.0.0.1:8000", u64::MAX / 2, "abc123");
        mint(SECRET, &payload)
    }

    /// The request facts a server would see: method, path and query, host and port from
    /// `Host` (or the given override), default port from the scheme.
    struct Seen {
        method: String,
        resource: String,
        host_header: String,
        default_port: u16,
    }

    fn seen(method: &str, url: &Url, host_override: Option<&str>) -> Seen {
        let mut host_header = url.host_str().expect("test urls have a host").to_owned();
        if let Some(port) = url.port() {
            host_header = format!("{host_header}:{port}");
        }
        Seen {
            method: method.into(),
            resource: url[url::Position::BeforePath..url::Position::AfterQuery].to_owned(),
            host_header: host_override.map_or(host_header, str::to_owned),
            default_port: url.port_or_known_default().expect("known scheme"),
        }
    }

    /// Checks the header with both verifiers and returns their verdicts, hawk crate first.
    fn verdicts(value: &str, seen: &Seen, key: &Credentials) -> (bool, Result<(), HawkError>) {
        let attributes = value.strip_prefix("Hawk ").expect("hawk scheme");
        let header = hawk::Header::from_str(attributes).expect("hawk crate parses header");
        let target =
            RequestTarget::from_host_header(&seen.method, &seen.resource, &seen.host_header, seen.default_port).expect("host header");
        let hawk_key = hawk::Key::new(key.key.as_bytes(), hawk::DigestAlgorithm::Sha256).expect("key");
        let hawk_ok = hawk::RequestBuilder::new(&seen.method, target.host, target.port, &seen.resource).request().validate_header(
            &header,
            &hawk_key,
            Duration::from_secs(60 * 60 * 24 * 365 * 100),
        );
        let ours = verify_authorization(SECRET, value, target).map(|ok| {
            assert_eq!(ok.payload.uid, 42);
        });
        (hawk_ok, ours)
    }

    fn sign(method: &str, url: &str, host: Option<&str>) -> (String, Seen) {
        let url = Url::parse(url).expect("test url");
        let creds = creds();
        let value = authorization(&HawkParams {
            method,
            url: &url,
            host_header: host,
            credentials: &creds,
            ts: None,
            ext: None,
            payload_hash: None,
        })
        .expect("sign");
        (value, seen(method, &url, host))
    }

    #[test]
    fn both_verifiers_accept_signed_requests() {
        let cases = [
            ("GET", "http://127.0.0.1:8000/1.5/42/info/collections", None),
            ("GET", "http://localhost/1.5/42/storage/bookmarks?full=1&ids=a%2Cb", None),
            ("PUT", "https://sync.example.com/prefix/1.5/42/storage/tabs/x", None),
            ("PATCH", "http://[::1]:8000/1.5/42/storage/meta/global", None),
            ("OPTIONS", "http://127.0.0.1:8000/__heartbeat__", None),
            ("DELETE", "http://127.0.0.1:8000/1.5/42", Some("sync.example.com:9000")),
            ("GET", "http://127.0.0.1:8000/1.5/42/info/quota", Some("proxy.example")),
        ];
        for (method, url, host) in cases {
            let (value, seen) = sign(method, url, host);
            let (hawk_ok, ours) = verdicts(&value, &seen, &creds());
            assert!(hawk_ok, "hawk crate refused {method} {url}: {value}");
            ours.unwrap_or_else(|err| panic!("tokenlib refused {method} {url}: {err}"));
        }
    }

    #[test]
    fn both_verifiers_refuse_a_different_request() {
        let (value, mut seen) = sign("GET", "http://127.0.0.1:8000/1.5/42/info/collections", None);
        let changes: [fn(&mut Seen); 4] = [
            |s| s.method = "POST".into(),
            |s| s.resource = "/1.5/42/info/quota".into(),
            |s| s.host_header = "127.0.0.1:8001".into(),
            |s| s.host_header = "localhost:8000".into(),
        ];
        for change in changes {
            let original = (seen.method.clone(), seen.resource.clone(), seen.host_header.clone());
            change(&mut seen);
            let (hawk_ok, ours) = verdicts(&value, &seen, &creds());
            assert!(!hawk_ok);
            assert!(matches!(ours, Err(HawkError::MacMismatch)), "{ours:?}");
            (seen.method, seen.resource, seen.host_header) = original;
        }
    }

    #[test]
    fn mixed_case_host_headers_are_signed_in_lower_case() {
        // The Hawk reference lowercases the host; the `hawk` crate (and so syncstorage-rs)
        // compares it as received. Signing in lower case matches the reference, and a server
        // built on `hawk` then refuses the request unless it lowercases the Host header itself.
        let (value, seen) = sign("GET", "http://127.0.0.1:8000/1.5/42", Some("Sync.Example.com"));
        let (hawk_ok, ours) = verdicts(&value, &seen, &creds());
        assert!(!hawk_ok, "the hawk crate compares the host case-sensitively");
        ours.expect("tokenlib lowercases the host as the reference does");
        let lowered = Seen { host_header: seen.host_header.to_ascii_lowercase(), ..seen };
        assert!(verdicts(&value, &lowered, &creds()).0);
    }

    #[test]
    fn both_verifiers_refuse_a_wrong_key() {
        let url = Url::parse("http://127.0.0.1:8000/1.5/42/info/collections").expect("url");
        let mut bad = creds();
        bad.key = wrong_key(&bad.key);
        assert_ne!(bad.key, creds().key);
        let value = authorization(&HawkParams {
            method: "GET",
            url: &url,
            host_header: None,
            credentials: &bad,
            ts: None,
            ext: None,
            payload_hash: None,
        })
        .expect("sign");
        let (hawk_ok, ours) = verdicts(&value, &seen("GET", &url, None), &creds());
        assert!(!hawk_ok);
        assert!(matches!(ours, Err(HawkError::MacMismatch)), "{ours:?}");
    }

    #[test]
    fn timestamp_ext_and_payload_hash_are_covered() {
        let url = Url::parse("http://127.0.0.1:8000/1.5/42/storage/tabs/a").expect("url");
        let body = br#"{"id":"a","payload":"x"}"#;
        let hash = payload_hash("application/json; charset=utf-8", body).expect("hash");
        assert_eq!(base64::engine::general_purpose::STANDARD.encode(&hash), tokenlib_payload_hash("application/json", body));
        let ts = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let value = authorization(&HawkParams {
            method: "PUT",
            url: &url,
            host_header: None,
            credentials: &creds(),
            ts: Some(ts),
            ext: Some("app-data"),
            payload_hash: Some(&hash),
        })
        .expect("sign");
        let parsed = HawkHeader::parse_authorization(&value).expect("parse");
        assert_eq!(parsed.ts, 1_700_000_000);
        assert_eq!(parsed.ext.as_deref(), Some("app-data"));
        assert_eq!(parsed.hash.as_deref(), Some(tokenlib_payload_hash("application/json", body).as_str()));
        let (hawk_ok, ours) = verdicts(&value, &seen("PUT", &url, None), &creds());
        assert!(hawk_ok);
        ours.expect("tokenlib accepts");
    }

    #[test]
    fn wrong_key_changes_exactly_one_character() {
        assert_eq!(wrong_key("Abc="), "Bbc=");
        assert_eq!(wrong_key("xyz="), "Ayz=");
        assert_eq!(wrong_key(""), "A");
    }
}
