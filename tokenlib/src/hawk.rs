//! Server side of Hawk 1 header authentication: parsing and verification. The MAC is computed
//! and compared by the `hawk` crate, the implementation syncstorage-rs verifies with.
//!
//! Parsing follows the Hawk reference implementation in what it refuses: an attribute other
//! than `id`, `ts`, `nonce`, `mac`, `hash`, `ext`, `app` and `dlg` is an error, and so is one
//! given twice. It is more lenient in what it reads: the scheme name in any case, and
//! backslash escapes inside quoted values (RFC 9110 quoted-string), which Hawk clients never
//! send but a proxy might. `app` and `dlg` are parsed and kept but are not part of the MAC,
//! as in the `hawk` crate.
//!
//! The parser is our own because `hawk::Header::from_str` reads neither the scheme nor escapes,
//! and takes what the reference refuses: a repeated attribute (the last wins), attributes with
//! no comma between them, `ts="+1"`; it also panics on a `ts` past the range of `SystemTime`.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use crate::token::{TokenError, TokenPayload, derive_key, parse};

/// Why a Hawk header was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum HawkError {
    /// The header value does not start with the `Hawk` scheme.
    #[error("parse authorization header: it does not use the hawk scheme")]
    NotHawk,
    /// The attribute list does not follow `name="value", ...`.
    #[error("parse hawk header: {reason} at byte {at}")]
    Syntax {
        /// What was expected.
        reason: &'static str,
        /// Byte offset into the attribute list.
        at: usize,
    },
    /// An attribute Hawk does not define.
    #[error("parse hawk header: unknown attribute `{0}`")]
    UnknownAttribute(String),
    /// An attribute given more than once.
    #[error("parse hawk header: attribute `{0}` given twice")]
    DuplicateAttribute(String),
    /// A required attribute is absent.
    #[error("parse hawk header: attribute `{0}` is missing")]
    MissingAttribute(&'static str),
    /// `ts` is not a whole number of seconds.
    #[error("parse hawk header: ts `{0}` is not a whole number of seconds")]
    BadTimestamp(String),
    /// `mac` is not standard base64.
    #[error("decode hawk mac: it is not standard base64")]
    BadMacEncoding,
    /// `hash` is not standard base64.
    #[error("decode hawk hash: it is not standard base64")]
    BadHashEncoding,
    /// The MAC does not match the request.
    #[error(
        "verify hawk mac: it does not match this request (method, path and query, host, port, \
         hash, ext and key all count)"
    )]
    MacMismatch,
    /// A `Host` header that names no host.
    #[error("parse host header `{0}`: expected host or host:port")]
    BadHost(String),
    /// The token id in `id` was refused.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The `hawk` crate could not set up the key.
    #[error("make hawk key: {0}")]
    Key(#[source] hawk::Error),
}

/// The attributes of a Hawk `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HawkHeader {
    /// The key id; for Sync, the token id.
    pub id: String,
    /// Client time in seconds since the epoch.
    pub ts: u64,
    /// Client-chosen nonce.
    pub nonce: String,
    /// Standard base64 of the HMAC-SHA256, as sent.
    pub mac: String,
    /// Payload hash, standard base64, if the client sent one.
    pub hash: Option<String>,
    /// Application-specific data covered by the MAC.
    pub ext: Option<String>,
    /// Oz application id; parsed, not part of the MAC.
    pub app: Option<String>,
    /// Oz delegated-by application id; parsed, not part of the MAC.
    pub dlg: Option<String>,
}

/// The request facts a Hawk MAC covers besides the header's own attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTarget<'a> {
    /// HTTP method; compared in upper case.
    pub method: &'a str,
    /// Path and query exactly as in the request line, e.g. `/1.5/1/storage/tabs?full=1`.
    pub resource: &'a str,
    /// Host as the client named it (the `Host` header without port); compared in lower case.
    pub host: &'a str,
    /// Port from the `Host` header, or the scheme's default when it names none.
    pub port: u16,
}

impl<'a> RequestTarget<'a> {
    /// Splits a `Host` header value into host and port, using `default_port` when it has no
    /// port. IPv6 literals keep their brackets, as clients put them in the MAC.
    pub fn from_host_header(method: &'a str, resource: &'a str, host_header: &'a str, default_port: u16) -> Result<Self, HawkError> {
        let bad = || HawkError::BadHost(host_header.to_owned());
        let value = host_header.trim();
        let (host, port) = if value.starts_with('[') {
            let close = value.find(']').ok_or_else(bad)?;
            let (host, rest) = value.split_at(close + 1);
            match rest.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if rest.is_empty() => (host, None),
                None => return Err(bad()),
            }
        } else {
            match value.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (value, None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = match port {
            Some(port) => port.parse().map_err(|_| bad())?,
            None => default_port,
        };
        Ok(Self { method, resource, host, port })
    }
}

/// The Hawk payload hash of `body`, standard base64; parameters of `content_type` are dropped.
pub fn payload_hash(content_type: &str, body: &[u8]) -> String {
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let mut hasher = Sha256::new();
    hasher.update(b"hawk.1.payload\n");
    hasher.update(mime.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher.update(b"\n");
    STANDARD.encode(hasher.finalize())
}

impl HawkHeader {
    /// Parses a full `Authorization` header value, `Hawk id="...", ...`.
    pub fn parse_authorization(value: &str) -> Result<Self, HawkError> {
        let value = value.trim_start();
        let (scheme, rest) = value.split_once(|c: char| c.is_ascii_whitespace()).ok_or(HawkError::NotHawk)?;
        if !scheme.eq_ignore_ascii_case("hawk") {
            return Err(HawkError::NotHawk);
        }
        Self::parse_attributes(rest)
    }

    /// Parses the attribute list that follows the scheme name.
    pub fn parse_attributes(attributes: &str) -> Result<Self, HawkError> {
        let mut fields = Fields::default();
        let mut cursor = Cursor { text: attributes, pos: 0 };
        cursor.skip(|c| c.is_ascii_whitespace() || c == ',');
        while !cursor.at_end() {
            let name = cursor.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
            if name.is_empty() {
                return Err(cursor.error("expected an attribute name"));
            }
            cursor.skip(|c| c.is_ascii_whitespace());
            cursor.expect('=', "expected `=` after the attribute name")?;
            cursor.skip(|c| c.is_ascii_whitespace());
            let value = cursor.quoted_string()?;
            fields.set(name, value)?;
            cursor.skip(|c| c.is_ascii_whitespace());
            if !cursor.at_end() {
                cursor.expect(',', "expected `,` between attributes")?;
                cursor.skip(|c| c.is_ascii_whitespace() || c == ',');
            }
        }
        fields.finish()
    }

    /// Checks, in constant time, that `mac` signs `target` under `key`.
    ///
    /// The timestamp is not checked here: see [`HawkHeader::skew`].
    pub fn verify(&self, key: &[u8], target: RequestTarget<'_>) -> Result<(), HawkError> {
        let header = self.to_hawk()?;
        let key = hawk::Key::new(key, hawk::DigestAlgorithm::Sha256).map_err(HawkError::Key)?;
        // The Hawk reference compares the method in upper case and the host in lower case; the
        // `hawk` crate takes both as given.
        let method = target.method.to_ascii_uppercase();
        let host = target.host.to_ascii_lowercase();
        // The skew window is the caller's policy, so the crate is given one that never closes.
        let valid =
            hawk::RequestBuilder::new(&method, &host, target.port, target.resource).request().validate_header(&header, &key, Duration::MAX);
        if valid { Ok(()) } else { Err(HawkError::MacMismatch) }
    }

    /// How far `ts` is from `now`, in either direction; `Duration::MAX` for a `ts` that
    /// `SystemTime` cannot hold.
    pub fn skew(&self, now: SystemTime) -> Duration {
        let Some(ts) = self.time() else {
            return Duration::MAX;
        };
        now.duration_since(ts).or_else(|_| ts.duration_since(now)).unwrap_or_default()
    }

    fn time(&self) -> Option<SystemTime> {
        system_time(self.ts)
    }

    /// The header as the `hawk` crate holds it. Standard base64 decodes only its canonical
    /// form, so the crate's re-encoding of `hash` in the MAC gives back the value as sent.
    fn to_hawk(&self) -> Result<hawk::Header, HawkError> {
        let decode = |value: &str, error| STANDARD.decode(value).map_err(|_| error);
        let mac = decode(&self.mac, HawkError::BadMacEncoding)?;
        let hash = match self.hash.as_deref() {
            Some(hash) => Some(decode(hash, HawkError::BadHashEncoding)?),
            None => None,
        };
        let ts = self.time().ok_or_else(|| HawkError::BadTimestamp(self.ts.to_string()))?;
        Ok(hawk::Header {
            id: Some(self.id.clone()),
            ts: Some(ts),
            nonce: Some(self.nonce.clone()),
            mac: Some(mac.into()),
            ext: self.ext.clone(),
            hash,
            app: self.app.clone(),
            dlg: self.dlg.clone(),
        })
    }
}

impl FromStr for HawkHeader {
    type Err = HawkError;

    /// Same as [`HawkHeader::parse_authorization`].
    fn from_str(s: &str) -> Result<Self, HawkError> {
        Self::parse_authorization(s)
    }
}

impl fmt::Display for HawkHeader {
    /// Writes the full header value, scheme included, escaping `"` and `\` in values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hawk id=\"{}\"", Escaped(&self.id))?;
        write!(f, ", ts=\"{}\"", self.ts)?;
        write!(f, ", nonce=\"{}\"", Escaped(&self.nonce))?;
        write!(f, ", mac=\"{}\"", Escaped(&self.mac))?;
        let optional = [("hash", &self.hash), ("ext", &self.ext), ("app", &self.app), ("dlg", &self.dlg)];
        for (name, value) in optional {
            if let Some(value) = value {
                write!(f, ", {name}=\"{}\"", Escaped(value))?;
            }
        }
        Ok(())
    }
}

/// A request that passed [`verify_authorization`].
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The parsed header.
    pub header: HawkHeader,
    /// The payload of the token in `id`.
    pub payload: TokenPayload,
}

/// Authenticates a Sync request: parses the header, verifies the token in `id` against
/// `secret`, derives the token's Hawk key and verifies the MAC.
///
/// Token expiry and timestamp skew are left to the caller, who gets both in the result.
pub fn verify_authorization(secret: &str, authorization: &str, target: RequestTarget<'_>) -> Result<Authenticated, HawkError> {
    let header = HawkHeader::parse_authorization(authorization)?;
    let payload = parse(secret, &header.id)?;
    let key = derive_key(secret, &header.id, &payload.salt);
    header.verify(key.as_bytes(), target)?;
    Ok(Authenticated { header, payload })
}

/// `secs` after the epoch, if `SystemTime` reaches that far.
fn system_time(secs: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c == '"' || c == '\\' {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Fields {
    id: Option<String>,
    ts: Option<String>,
    nonce: Option<String>,
    mac: Option<String>,
    hash: Option<String>,
    ext: Option<String>,
    app: Option<String>,
    dlg: Option<String>,
}

impl Fields {
    fn set(&mut self, name: &str, value: String) -> Result<(), HawkError> {
        let slot = match name {
            "id" => &mut self.id,
            "ts" => &mut self.ts,
            "nonce" => &mut self.nonce,
            "mac" => &mut self.mac,
            "hash" => &mut self.hash,
            "ext" => &mut self.ext,
            "app" => &mut self.app,
            "dlg" => &mut self.dlg,
            _ => return Err(HawkError::UnknownAttribute(name.to_owned())),
        };
        if slot.is_some() {
            return Err(HawkError::DuplicateAttribute(name.to_owned()));
        }
        *slot = Some(value);
        Ok(())
    }

    fn finish(self) -> Result<HawkHeader, HawkError> {
        let ts = self.ts.ok_or(HawkError::MissingAttribute("ts"))?;
        let ts = if ts.bytes().all(|b| b.is_ascii_digit()) { ts.parse::<u64>().ok() } else { None }
            .filter(|&secs| system_time(secs).is_some())
            .ok_or(HawkError::BadTimestamp(ts))?;
        Ok(HawkHeader {
            id: self.id.ok_or(HawkError::MissingAttribute("id"))?,
            ts,
            nonce: self.nonce.ok_or(HawkError::MissingAttribute("nonce"))?,
            mac: self.mac.ok_or(HawkError::MissingAttribute("mac"))?,
            hash: self.hash,
            ext: self.ext,
            app: self.app,
            dlg: self.dlg,
        })
    }
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek().filter(|&c| keep(c)) {
            self.pos += c.len_utf8();
        }
        &self.text[start..self.pos]
    }

    fn skip(&mut self, skip: impl Fn(char) -> bool) {
        self.take_while(skip);
    }

    fn error(&self, reason: &'static str) -> HawkError {
        HawkError::Syntax { reason, at: self.pos }
    }

    fn expect(&mut self, wanted: char, reason: &'static str) -> Result<(), HawkError> {
        if self.peek() == Some(wanted) {
            self.pos += wanted.len_utf8();
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    fn quoted_string(&mut self) -> Result<String, HawkError> {
        self.expect('"', "expected an opening quote")?;
        let mut value = String::new();
        loop {
            let c = self.peek().ok_or_else(|| self.error("unterminated quoted value"))?;
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(value),
                '\\' => {
                    let escaped = self.peek().ok_or_else(|| self.error("unterminated escape in quoted value"))?;
                    self.pos += escaped.len_utf8();
                    value.push(escaped);
                }
                _ => value.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::mint;

    fn target() -> RequestTarget<'static> {
        RequestTarget { method: "GET", resource: "/1.5/42/storage/bookmarks?full=1", host: "localhost", port: 8000 }
    }

    /// A header with no MAC yet and none of the optional attributes.
    fn unsigned(id: &str, ts: u64, nonce: &str) -> HawkHeader {
        HawkHeader { id: id.into(), ts, nonce: nonce.into(), mac: String::new(), hash: None, ext: None, app: None, dlg: None }
    }

    /// `header` with the MAC a client makes for `target` with the `hawk` crate.
    fn signed(key: &[u8], header: HawkHeader, target: RequestTarget<'_>) -> HawkHeader {
        let key = hawk::Key::new(key, hawk::DigestAlgorithm::Sha256).expect("key");
        let hash = header.hash.as_deref().map(|h| STANDARD.decode(h).expect("hash"));
        let mac = hawk::mac::Mac::new(
            hawk::mac::MacType::Header,
            &key,
            header.time().expect("ts in range"),
            &header.nonce,
            target.method,
            target.host,
            target.port,
            target.resource,
            hash.as_deref(),
            header.ext.as_deref(),
        )
        .expect("mac");
        HawkHeader { mac: STANDARD.encode(mac.as_ref()), ..header }
    }

    #[test]
    fn parses_a_typical_header_in_any_order() {
        let header = HawkHeader::parse_authorization(r#"Hawk mac="bWFj", ts="1700000000",id="tok=", nonce="n0nce",ext="e, x""#)
            .expect("parse header");
        assert_eq!(header.id, "tok=");
        assert_eq!(header.ts, 1_700_000_000);
        assert_eq!(header.nonce, "n0nce");
        assert_eq!(header.mac, "bWFj");
        assert_eq!(header.ext.as_deref(), Some("e, x"));
        assert_eq!(header.hash, None);
    }

    #[test]
    fn scheme_is_case_insensitive_and_escapes_are_read() {
        let header = HawkHeader::parse_authorization("hAWK  id=\"a\\\"b\\\\c\" , ts = \"1\",nonce=\"\",mac=\"m\",").expect("parse header");
        assert_eq!(header.id, "a\"b\\c");
        assert_eq!(header.nonce, "");
        // Display escapes what parsing unescaped.
        let again = HawkHeader::parse_authorization(&header.to_string()).expect("reparse");
        assert_eq!(again, header);
    }

    /// A header value and a check on the error it must produce.
    type RejectCase = (&'static str, fn(&HawkError) -> bool);

    #[test]
    fn rejects_other_schemes_and_bad_syntax() {
        let cases: &[RejectCase] = &[
            (r#"Bearer id="a""#, |e| matches!(e, HawkError::NotHawk)),
            ("Hawk", |e| matches!(e, HawkError::NotHawk)),
            (r#"Hawk id=a"#, |e| matches!(e, HawkError::Syntax { .. })),
            (r#"Hawk id="a"#, |e| matches!(e, HawkError::Syntax { .. })),
            (r#"Hawk id="a" ts="1""#, |e| matches!(e, HawkError::Syntax { .. })),
            (r#"Hawk ="a""#, |e| matches!(e, HawkError::Syntax { .. })),
            (r#"Hawk id="a", ts="1", nonce="n", mac="m", user="x""#, |e| matches!(e, HawkError::UnknownAttribute(name) if name == "user")),
            (r#"Hawk id="a", id="b", ts="1", nonce="n", mac="m""#, |e| matches!(e, HawkError::DuplicateAttribute(name) if name == "id")),
            (r#"Hawk ts="1", nonce="n", mac="m""#, |e| matches!(e, HawkError::MissingAttribute("id"))),
            (r#"Hawk id="a", nonce="n", mac="m""#, |e| matches!(e, HawkError::MissingAttribute("ts"))),
            (r#"Hawk id="a", ts="1", mac="m""#, |e| matches!(e, HawkError::MissingAttribute("nonce"))),
            (r#"Hawk id="a", ts="1", nonce="n""#, |e| matches!(e, HawkError::MissingAttribute("mac"))),
            (r#"Hawk id="a", ts="+1", nonce="n", mac="m""#, |e| matches!(e, HawkError::BadTimestamp(_))),
            (r#"Hawk id="a", ts="1.5", nonce="n", mac="m""#, |e| matches!(e, HawkError::BadTimestamp(_))),
            // Past the range of SystemTime: `hawk::Header::from_str` panics on this one.
            (r#"Hawk id="a", ts="18446744073709551615", nonce="n", mac="m""#, |e| matches!(e, HawkError::BadTimestamp(_))),
        ];
        for (value, expected) in cases {
            let err = HawkHeader::parse_authorization(value).expect_err(value);
            assert!(expected(&err), "{value}: {err:?}");
        }
    }

    /// The worked example of the Hawk README (key "werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn",
    /// sha256), whose published MAC is 6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE=.
    fn specification_example() -> HawkHeader {
        HawkHeader {
            mac: "6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE=".into(),
            ext: Some("some-app-ext-data".into()),
            ..unsigned("dh37fgj492je", 1_353_832_234, "j4h3g2")
        }
    }

    const SPECIFICATION_KEY: &[u8] = b"werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn";

    #[test]
    fn mac_matches_the_hawk_specification_example() {
        let target = RequestTarget { method: "GET", resource: "/resource/1?b=1&a=2", host: "example.com", port: 8000 };
        specification_example().verify(SPECIFICATION_KEY, target).expect("published mac verifies");
        let signed = signed(SPECIFICATION_KEY, specification_example(), target);
        assert_eq!(signed, specification_example());
    }

    #[test]
    fn mac_covers_the_method_in_upper_and_the_host_in_lower_case() {
        // Hawk 1 normalizes both; the query stays exactly as sent.
        let target = RequestTarget { method: "get", resource: "/resource/1?b=1&a=2", host: "Example.COM", port: 8000 };
        specification_example().verify(SPECIFICATION_KEY, target).expect("normalized request verifies");
        let reordered = RequestTarget { resource: "/resource/1?a=2&b=1", ..target };
        assert!(matches!(specification_example().verify(SPECIFICATION_KEY, reordered), Err(HawkError::MacMismatch)));
    }

    #[test]
    fn mac_under_a_token_key_matches_known_answer() {
        // Computed with Python's hmac module; the key is the KAT token key of `token.rs`.
        let header = HawkHeader { mac: "1OR0QAPD83j4h+dnUZLNRi4uL5lJ3x5+nbWBQ8QngQg=".into(), ..unsigned("id", 1_700_000_100, "Zm9vYmFy") };
        let target = RequestTarget { method: "PUT", resource: "/1.5/42/storage/bookmarks/abc?x=%2F", host: "127.0.0.1", port: 8000 };
        header.verify(b"7Ch9H5SJskgHHeUe3klXi0XJGf_gxOxJIvFGBfJ-dvs=", target).expect("known mac verifies");
    }

    #[test]
    fn payload_hash_matches_the_hawk_specification_example() {
        // Hawk README: "Thank you for flying Hawk" as text/plain hashes to this value.
        assert_eq!(payload_hash("text/plain; charset=utf-8", b"Thank you for flying Hawk"), "Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY=");
    }

    #[test]
    fn verify_accepts_own_mac_and_rejects_changes() {
        let key = b"some key";
        let header = signed(key, unsigned("id", 1_700_000_000, "abc"), target());
        header.verify(key, target()).expect("own mac verifies");

        let other_port = RequestTarget { port: 8001, ..target() };
        let other_query = RequestTarget { resource: "/1.5/42/storage/bookmarks?full=0", ..target() };
        for changed in [other_port, other_query] {
            assert!(matches!(header.verify(key, changed), Err(HawkError::MacMismatch)));
        }
        assert!(matches!(header.verify(b"other key", target()), Err(HawkError::MacMismatch)));
        let with_ext = HawkHeader { ext: Some("x".into()), ..header.clone() };
        assert!(matches!(with_ext.verify(key, target()), Err(HawkError::MacMismatch)));
        let garbled = HawkHeader { mac: "not base64!".into(), ..header };
        assert!(matches!(garbled.verify(key, target()), Err(HawkError::BadMacEncoding)));
    }

    #[test]
    fn verify_covers_the_payload_hash() {
        let key = b"some key";
        let hash = payload_hash("application/json", b"{}");
        let header = HawkHeader { hash: Some(hash), ..unsigned("id", 1_700_000_000, "abc") };
        let header = signed(key, header, target());
        header.verify(key, target()).expect("hash as signed");
        let other = HawkHeader { hash: Some(payload_hash("application/json", b"[]")), ..header.clone() };
        assert!(matches!(other.verify(key, target()), Err(HawkError::MacMismatch)));
        let garbled = HawkHeader { hash: Some("not base64!".into()), ..header };
        assert!(matches!(garbled.verify(key, target()), Err(HawkError::BadHashEncoding)));
    }

    #[test]
    fn method_and_host_case_do_not_matter() {
        let key = b"k";
        let header = signed(key, unsigned("id", 1, "n"), target());
        let shouted = RequestTarget { method: "get", host: "LOCALHOST", ..target() };
        header.verify(key, shouted).expect("case-insensitive parts");
    }

    #[test]
    fn host_header_splits_into_host_and_port() {
        let split = |value| RequestTarget::from_host_header("GET", "/", value, 80).map(|t| (t.host, t.port));
        assert_eq!(split("example.com").ok(), Some(("example.com", 80)));
        assert_eq!(split("127.0.0.1:8000").ok(), Some(("127.0.0.1", 8000)));
        assert_eq!(split("[::1]:8000").ok(), Some(("[::1]", 8000)));
        assert_eq!(split("[::1]").ok(), Some(("[::1]", 80)));
        for bad in ["", ":80", "host:port", "[::1", "[::1]x", "host:99999"] {
            assert!(matches!(split(bad), Err(HawkError::BadHost(_))), "{bad:?} was accepted");
        }
    }

    #[test]
    fn skew_is_symmetric() {
        let header = unsigned("id", 1_000, "n");
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(header.skew(at(1_030)), Duration::from_secs(30));
        assert_eq!(header.skew(at(970)), Duration::from_secs(30));
        let unreachable = unsigned("id", u64::MAX, "n");
        assert_eq!(unreachable.skew(at(1_000)), Duration::MAX);
        assert!(matches!(unreachable.verify(b"k", target()), Err(HawkError::BadTimestamp(_))));
    }

    #[test]
    fn verify_authorization_chains_token_and_mac() {
        let secret = "secret";
        let creds = mint(secret, &TokenPayload::new(42, "http://localhost:8000", 5, "abcdef"));
        let header = signed(creds.key.as_bytes(), unsigned(&creds.id, 1_700_000_000, "nonce"), target());
        let value = header.to_string();

        let ok = verify_authorization(secret, &value, target()).expect("authenticate");
        assert_eq!(ok.payload.uid, 42);
        assert_eq!(ok.header, header);

        assert!(matches!(verify_authorization("other", &value, target()), Err(HawkError::Token(TokenError::BadSignature))));
        let elsewhere = RequestTarget { resource: "/1.5/43/storage/bookmarks?full=1", ..target() };
        assert!(matches!(verify_authorization(secret, &value, elsewhere), Err(HawkError::MacMismatch)));
    }
}
