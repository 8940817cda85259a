//! Reading a request: query parameters (area C), precondition and limit headers (area D), the
//! body and its records (areas B and E).

use std::collections::HashSet;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use serde_json::{Map, Value};

use crate::clock::Ts;
use crate::config::Limits;
use crate::db::model::{BsoWrite, Field, Query, Sort};
use crate::error::{ApiError, code};

type Result<T> = std::result::Result<T, ApiError>;

/// At most this many ids in `ids=` (C-01).
pub const MAX_IDS: usize = 100;
/// `sortindex` and `ttl` bounds (B-05, B-07).
const MAX_SORTINDEX: i64 = 999_999_999;
const MAX_TTL: i64 = 999_999_999;

/// B-01: 1-64 characters from 0x20-0x7E.
pub fn valid_bso_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// B-15: 1-32 characters of `[A-Za-z0-9._-]`.
pub fn valid_collection(name: &str) -> bool {
    (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Decoded query parameters, in order.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Self {
        Params(url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()).into_owned().collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// `ids=a,b` (C-01, B-02): empty entries are dropped; `None` when the parameter is absent.
    pub fn ids(&self) -> Result<Option<Vec<String>>> {
        let Some(raw) = self.get("ids") else { return Ok(None) };
        let ids: Vec<String> = raw.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        if ids.len() > MAX_IDS || !ids.iter().all(|id| valid_bso_id(id)) {
            return Err(ApiError::bad_request(code::GENERIC));
        }
        Ok(Some(ids))
    }

    fn ts(&self, key: &str) -> Result<Option<Ts>> {
        self.get(key).map(|v| Ts::parse_decimal(v).ok_or_else(|| ApiError::bad_request(code::GENERIC))).transpose()
    }

    /// The listing query of a collection GET (area C).
    pub fn query(&self) -> Result<Query> {
        let sort = match self.get("sort") {
            None => None,
            Some("newest") => Some(Sort::Newest),
            Some("oldest") => Some(Sort::Oldest),
            Some("index") => Some(Sort::Index),
            Some(_) => return Err(ApiError::bad_request(code::GENERIC)),
        };
        let limit = match self.get("limit") {
            None => None,
            // C-07: a positive integer; 0 is refused too.
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => return Err(ApiError::bad_request(code::GENERIC)),
            },
        };
        let offset = match self.get("offset") {
            None => 0,
            Some(v) => decode_offset(v).ok_or_else(|| ApiError::bad_request(code::GENERIC))?,
        };
        Ok(Query { ids: self.ids()?, newer: self.ts("newer")?, older: self.ts("older")?, sort, limit, offset })
    }
}

const OFFSET_PREFIX: &str = "o1:";

/// X-Weave-Next-Offset tokens are opaque urlsafe base64 (C-10).
pub fn encode_offset(offset: u64) -> String {
    URL_SAFE.encode(format!("{OFFSET_PREFIX}{offset}"))
}

fn decode_offset(token: &str) -> Option<u64> {
    let bytes = URL_SAFE.decode(token).ok()?;
    std::str::from_utf8(&bytes).ok()?.strip_prefix(OFFSET_PREFIX)?.parse().ok()
}

/// The batch parameters of a POST (area F).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMode {
    None,
    /// `batch=true`: start one; with `commit`, a plain POST (F-08).
    Start {
        commit: bool,
    },
    Existing {
        id: uuid::Uuid,
        commit: bool,
    },
}

impl Params {
    pub fn batch(&self) -> Result<BatchMode> {
        let commit = match self.get("commit") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(_) => return Err(ApiError::bad_request(code::GENERIC)),
        };
        match self.get("batch") {
            // F-04: commit without batch.
            None if commit => Err(ApiError::bad_request(code::GENERIC)),
            None => Ok(BatchMode::None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(BatchMode::Start { commit }),
            Some(v) => {
                uuid::Uuid::try_parse(v).map(|id| BatchMode::Existing { id, commit }).map_err(|_| ApiError::bad_request(code::GENERIC))
            }
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>> {
    headers.get(name).map(|v| v.to_str().map_err(|_| ApiError::bad_request(code::GENERIC))).transpose()
}

/// Both precondition headers, validated (D-08).
#[derive(Debug, Clone, Copy, Default)]
pub struct Preconditions {
    pub modified_since: Option<Ts>,
    pub unmodified_since: Option<Ts>,
}

impl Preconditions {
    pub fn from_headers(headers: &HeaderMap) -> Result<Self> {
        let parse = |name| -> Result<Option<Ts>> {
            header_str(headers, name)?.map(|v| Ts::parse_decimal(v).ok_or_else(|| ApiError::bad_request(code::GENERIC))).transpose()
        };
        let p = Preconditions { modified_since: parse("x-if-modified-since")?, unmodified_since: parse("x-if-unmodified-since")? };
        if p.modified_since.is_some() && p.unmodified_since.is_some() {
            return Err(ApiError::bad_request(code::GENERIC));
        }
        Ok(p)
    }

    /// For reads: 304 when unchanged since `X-If-Modified-Since`, 412 when changed after
    /// `X-If-Unmodified-Since` (D-05, D-06).
    pub fn check_read(&self, resource_ts: Ts) -> std::result::Result<(), ReadOutcome> {
        if let Some(since) = self.modified_since {
            if resource_ts <= since {
                return Err(ReadOutcome::NotModified(resource_ts));
            }
        }
        if let Some(since) = self.unmodified_since {
            if resource_ts > since {
                return Err(ReadOutcome::Error(ApiError::PreconditionFailed(resource_ts)));
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
pub enum ReadOutcome {
    NotModified(Ts),
    Error(ApiError),
}

/// An integer request header such as `X-Weave-Records`; a non-integer is 400/1 (D-10, D-12).
fn count_header(headers: &HeaderMap, name: &str) -> Result<Option<u64>> {
    header_str(headers, name)
        .map_err(|_| ApiError::bad_request(code::BAD_TOTAL_HEADER))?
        .map(|v| {
            let v = v.trim();
            match v.parse::<u64>() {
                Ok(n) => Ok(n),
                // An integer too big for u64 is still an integer, and over any limit.
                Err(_) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => Ok(u64::MAX),
                Err(_) => Err(ApiError::bad_request(code::BAD_TOTAL_HEADER)),
            }
        })
        .transpose()
}

/// D-10 to D-12: the client's declared sizes against the limits.
pub fn check_declared_sizes(headers: &HeaderMap, limits: &Limits, batch: bool) -> Result<()> {
    let over = |value: Option<u64>, max: u64| value.is_some_and(|v| v > max);
    if over(count_header(headers, "x-weave-records")?, limits.max_post_records)
        || over(count_header(headers, "x-weave-bytes")?, limits.max_post_bytes)
    {
        return Err(ApiError::bad_request(code::LIMIT_EXCEEDED));
    }
    let total_records = count_header(headers, "x-weave-total-records")?;
    let total_bytes = count_header(headers, "x-weave-total-bytes")?;
    if !batch && (total_records.is_some() || total_bytes.is_some()) {
        return Err(ApiError::bad_request(code::BAD_TOTAL_HEADER));
    }
    if over(total_records, limits.max_total_records) || over(total_bytes, limits.max_total_bytes) {
        return Err(ApiError::bad_request(code::LIMIT_EXCEEDED));
    }
    Ok(())
}

/// Input formats (D-14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Json,
    Newlines,
}

pub fn input_format(headers: &HeaderMap, allow_newlines: bool) -> Result<InputFormat> {
    let raw = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match media.as_str() {
        "application/json" | "text/plain" => Ok(InputFormat::Json),
        "application/newlines" if allow_newlines => Ok(InputFormat::Newlines),
        _ => Err(ApiError::unsupported_media_type()),
    }
}

/// Output formats (D-16): the best q-valued match of `Accept`, JSON on ties and by default.
pub fn output_format(headers: &HeaderMap) -> Result<InputFormat> {
    let Some(accept) = headers.get("accept").and_then(|v| v.to_str().ok()) else {
        return Ok(InputFormat::Json);
    };
    if accept.trim().is_empty() {
        return Ok(InputFormat::Json);
    }
    // (q, specificity) for each format; specificity 2 = exact, 1 = application/*, 0 = */*.
    let mut json = (0.0f32, -1i8);
    let mut newlines = (0.0f32, -1i8);
    for entry in accept.split(',') {
        let mut parts = entry.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        for p in parts {
            if let Some(v) = p.trim().strip_prefix("q=") {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        let offer = |target: &mut (f32, i8), spec: i8| {
            if spec > target.1 {
                *target = (q, spec);
            }
        };
        match media.as_str() {
            "application/json" => offer(&mut json, 2),
            "application/newlines" => offer(&mut newlines, 2),
            "application/*" => {
                offer(&mut json, 1);
                offer(&mut newlines, 1);
            }
            "*/*" => {
                offer(&mut json, 0);
                offer(&mut newlines, 0);
            }
            _ => {}
        }
    }
    let json_score = (json.0, json.1);
    let nl_score = (newlines.0, newlines.1);
    if json_score.0 <= 0.0 && nl_score.0 <= 0.0 {
        return Err(ApiError::not_acceptable());
    }
    if nl_score.0 > json_score.0 || (nl_score.0 == json_score.0 && nl_score.1 > json_score.1) {
        Ok(InputFormat::Newlines)
    } else {
        Ok(InputFormat::Json)
    }
}

fn parse_json(bytes: &[u8]) -> Result<Value> {
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        // A lone surrogate escape is valid JSON that serde_json refuses; it names a character
        // PostgreSQL cannot store, so it becomes U+0000, which fails only its record (E-11).
        Err(_) => match replace_lone_surrogates(bytes) {
            Some(fixed) => serde_json::from_slice(&fixed).map_err(|_| ApiError::bad_request(code::INVALID_JSON)),
            None => Err(ApiError::bad_request(code::INVALID_JSON)),
        },
    }
}

fn hex4(bytes: &[u8]) -> Option<u16> {
    let s = std::str::from_utf8(bytes.get(..4)?).ok()?;
    u16::from_str_radix(s, 16).ok()
}

/// Rewrites `\uD800`-`\uDFFF` escapes that are not part of a surrogate pair, inside JSON
/// strings, as `\u0000`; `None` when there is none.
fn replace_lone_surrogates(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let (mut i, mut in_string, mut changed) = (0, false, false);
    while i < bytes.len() {
        let b = bytes[i];
        if !in_string {
            in_string = b == b'"';
            out.push(b);
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = false;
                out.push(b);
                i += 1;
            }
            b'\\' if bytes.get(i + 1) == Some(&b'u') => {
                let unit = hex4(&bytes[(i + 2).min(bytes.len())..]);
                let next_low = bytes.get(i + 6..i + 8) == Some(b"\\u")
                    && hex4(&bytes[(i + 8).min(bytes.len())..]).is_some_and(|u| (0xDC00..=0xDFFF).contains(&u));
                match unit {
                    Some(0xD800..=0xDBFF) if next_low => {
                        out.extend_from_slice(&bytes[i..i + 12]);
                        i += 12;
                    }
                    Some(0xD800..=0xDFFF) => {
                        out.extend_from_slice(b"\\u0000");
                        changed = true;
                        i += 6;
                    }
                    _ => {
                        out.extend_from_slice(&bytes[i..(i + 6).min(bytes.len())]);
                        i += 6;
                    }
                }
            }
            b'\\' => {
                out.extend_from_slice(&bytes[i..(i + 2).min(bytes.len())]);
                i += 2;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

/// D-15: one JSON object per line, LF or CRLF, the last terminator optional; an empty body is
/// no records, an empty line fails the request.
fn parse_newlines(bytes: &[u8]) -> Result<Vec<Value>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|&b| b == b'\n')
        .map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                return Err(ApiError::bad_request(code::INVALID_JSON));
            }
            parse_json(line)
        })
        .collect()
}

/// B-14: the upstream rule against a known-bad key bundle in `crypto`.
pub fn is_known_bad_crypto(collection: &str, payload: &str) -> bool {
    const NEEDLE: &str = "IV\":";
    const BAD: &str = "\"AAAAAAAAAAAAAAAAAAAAAA==";
    if collection != "crypto" {
        return false;
    }
    payload.match_indices(NEEDLE).any(|(at, _)| {
        let rest = payload[at + NEEDLE.len()..].trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
        rest.starts_with(BAD)
    })
}

/// Why one record of a POST failed (reported in `failed`).
pub type Reason = String;

/// Validates one record object (area B); `Err` is the reason it fails.
pub fn validate_bso(obj: &Map<String, Value>) -> std::result::Result<BsoWrite, Reason> {
    let id = match obj.get("id") {
        Some(Value::String(id)) if valid_bso_id(id) => id.clone(),
        _ => return Err("invalid id".into()),
    };
    let mut bso = BsoWrite::new(id);
    for (key, value) in obj {
        match key.as_str() {
            "id" | "modified" => {}
            "payload" => {
                bso.payload = match value {
                    Value::Null => Field::Null,
                    // E-11: U+0000 cannot be stored in a PostgreSQL text column.
                    Value::String(s) if !s.contains('\0') => Field::Set(s.clone()),
                    _ => return Err("invalid payload".into()),
                }
            }
            "sortindex" => {
                bso.sortindex = match value {
                    Value::Null => Field::Null,
                    Value::Number(n) => match n.as_i64() {
                        Some(v) if v.abs() <= MAX_SORTINDEX && (n.is_i64() || n.is_u64()) => Field::Set(v as i32),
                        _ => return Err("invalid sortindex".into()),
                    },
                    _ => return Err("invalid sortindex".into()),
                }
            }
            "ttl" => {
                bso.ttl = match value {
                    Value::Null => Field::Null,
                    Value::Number(n) => match n.as_i64() {
                        Some(v) if (0..=MAX_TTL).contains(&v) => Field::Set(v),
                        _ => return Err("invalid ttl".into()),
                    },
                    _ => return Err("invalid ttl".into()),
                }
            }
            _ => return Err(format!("unexpected field {key:?}")),
        }
    }
    Ok(bso)
}

/// The outcome of a POST body: records to write, and the per-id answer.
#[derive(Debug, Default)]
pub struct PostBatch {
    pub accepted: Vec<BsoWrite>,
    pub success: Vec<String>,
    pub failed: serde_json::Map<String, Value>,
}

/// Parses a POST body (B-03, B-16, E-05 to E-07, E-10) into accepted and failed records.
pub fn parse_post(bytes: &[u8], format: InputFormat, collection: &str, limits: &Limits) -> Result<PostBatch> {
    let items = match format {
        InputFormat::Json => match parse_json(bytes)? {
            Value::Array(items) => items,
            _ => return Err(ApiError::bad_request(code::INVALID_RECORD)),
        },
        InputFormat::Newlines => parse_newlines(bytes)?,
    };
    // Whole-request checks first: nothing is stored when any of them fails (E-10).
    let mut seen = HashSet::with_capacity(items.len());
    let mut objects = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(obj) = item else {
            return Err(ApiError::bad_request(code::INVALID_RECORD));
        };
        let Some(Value::String(id)) = obj.get("id") else {
            return Err(ApiError::bad_request(code::INVALID_RECORD));
        };
        if !seen.insert(id.clone()) {
            return Err(ApiError::bad_request(code::INVALID_RECORD));
        }
        if let Some(Value::String(p)) = obj.get("payload") {
            if is_known_bad_crypto(collection, p) {
                return Err(ApiError::bad_request(code::INVALID_RECORD));
            }
        }
        objects.push(obj);
    }
    let mut out = PostBatch::default();
    let mut bytes_so_far = 0u64;
    for obj in objects {
        let id = match obj.get("id") {
            Some(Value::String(id)) => id.clone(),
            _ => continue,
        };
        let bso = match validate_bso(&obj) {
            Ok(b) => b,
            Err(reason) => {
                out.failed.insert(id, Value::String(reason));
                continue;
            }
        };
        let size = bso.payload_bytes();
        let reason = if size > limits.max_record_payload_bytes {
            Some("retry bytes")
        } else if out.accepted.len() as u64 >= limits.max_post_records {
            Some("retry bso")
        } else if bytes_so_far + size > limits.max_post_bytes {
            Some("retry bytes")
        } else {
            None
        };
        match reason {
            Some(r) => {
                out.failed.insert(id, Value::String(r.into()));
            }
            None => {
                bytes_so_far += size;
                out.success.push(id);
                out.accepted.push(bso);
            }
        }
    }
    Ok(out)
}

/// Parses a PUT body (B-04, B-06, B-16) for the record at `path_id`.
pub fn parse_put(bytes: &[u8], path_id: &str, collection: &str, limits: &Limits) -> Result<BsoWrite> {
    let Value::Object(mut obj) = parse_json(bytes)? else {
        return Err(ApiError::bad_request(code::INVALID_RECORD));
    };
    match obj.get("id") {
        None => {}
        Some(Value::String(id)) if id == path_id => {}
        Some(_) => return Err(ApiError::bad_request(code::INVALID_RECORD)),
    }
    obj.insert("id".into(), Value::String(path_id.to_owned()));
    let bso = validate_bso(&obj).map_err(|_| ApiError::bad_request(code::INVALID_RECORD))?;
    if bso.payload.value().is_some_and(|p| is_known_bad_crypto(collection, p)) {
        return Err(ApiError::bad_request(code::INVALID_RECORD));
    }
    if bso.payload_bytes() > limits.max_record_payload_bytes {
        return Err(ApiError::too_large());
    }
    Ok(bso)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        assert!(valid_bso_id(" ~"));
        assert!(valid_bso_id(&"x".repeat(64)));
        for bad in ["", "A\nB", "A\tB", "é", &"x".repeat(65)] {
            assert!(!valid_bso_id(bad), "{bad:?}");
        }
        assert!(valid_collection("Abc.d_e-9"));
        assert!(!valid_collection("bad!name"));
        assert!(!valid_collection(&"c".repeat(33)));
    }

    #[test]
    fn offsets_round_trip_and_reject_junk() {
        let token = encode_offset(42);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_=".contains(&b)));
        assert_eq!(decode_offset(&token), Some(42));
        assert_eq!(decode_offset("!!junk!!"), None);
        assert_eq!(decode_offset("MTI="), None);
    }

    #[test]
    fn known_bad_crypto_only_in_crypto() {
        let p = r#"{"IV":  "AAAAAAAAAAAAAAAAAAAAAA==", "x": 1}"#;
        assert!(is_known_bad_crypto("crypto", p));
        assert!(!is_known_bad_crypto("bookmarks", p));
        assert!(!is_known_bad_crypto("crypto", r#"{"IV": "AAAAAAAAAAAAAAAAAAAAAB=="}"#));
    }

    #[test]
    fn accept_negotiation() {
        let mut h = HeaderMap::new();
        assert_eq!(output_format(&h).unwrap(), InputFormat::Json);
        h.insert("accept", "application/newlines;q=1, application/json;q=0.5".parse().unwrap());
        assert_eq!(output_format(&h).unwrap(), InputFormat::Newlines);
        h.insert("accept", "x/yy".parse().unwrap());
        assert!(output_format(&h).is_err());
        h.insert("accept", "*/*".parse().unwrap());
        assert_eq!(output_format(&h).unwrap(), InputFormat::Json);
    }

    #[test]
    fn lone_surrogates_fail_only_their_record() {
        assert_eq!(replace_lone_surrogates(br#"{"a":"\ud83d\ude00"}"#), None);
        assert_eq!(replace_lone_surrogates(br#"{"a":"\\ud800"}"#), None);
        let fixed = replace_lone_surrogates(br#"{"a":"x\udc00y","b":"\ud800"}"#).unwrap();
        assert_eq!(fixed, br#"{"a":"x\u0000y","b":"\u0000"}"#.to_vec());
        let body = br#"[{"id":"ok","payload":"fine"},{"id":"lone","payload":"x\udc00y"}]"#;
        let out = parse_post(body, InputFormat::Json, "c", &Limits::default()).unwrap();
        assert_eq!(out.success, vec!["ok"]);
        assert_eq!(out.failed["lone"], "invalid payload");
    }

    #[test]
    fn newlines_parsing() {
        assert_eq!(parse_newlines(b"").unwrap().len(), 0);
        assert_eq!(parse_newlines(b"{\"id\":\"a\"}\r\n{\"id\":\"b\"}").unwrap().len(), 2);
        assert!(parse_newlines(b"\n").is_err());
        assert!(parse_newlines(b"{\"id\":\"a\"}\n\n{\"id\":\"b\"}").is_err());
    }

    #[test]
    fn post_limits_apply_in_order() {
        let limits = Limits { max_post_records: 2, max_post_bytes: 10, ..Limits::default() };
        let body = br#"[{"id":"a","payload":"12345"},{"id":"b","payload":"123456"},
                        {"id":"c","payload":"12345"},{"id":"d","payload":"1"},{"id":"e","ttl":-1}]"#;
        let out = parse_post(body, InputFormat::Json, "c", &limits).unwrap();
        assert_eq!(out.success, vec!["a", "c"]);
        assert_eq!(out.failed["b"], "retry bytes");
        assert_eq!(out.failed["d"], "retry bso");
        assert_eq!(out.failed["e"], "invalid ttl");
    }

    #[test]
    fn whole_request_errors() {
        let limits = Limits::default();
        for (body, code) in [
            (&b"{"[..], 6),
            (b"\"notalist\"", 8),
            (b"[{\"payload\":\"x\"}]", 8),
            (b"[{\"id\":5}]", 8),
            (b"[{\"id\":\"a\"},{\"id\":\"a\"}]", 8),
            (b"[{\"id\":\"a\"},\"BAD\"]", 8),
        ] {
            match parse_post(body, InputFormat::Json, "c", &limits) {
                Err(ApiError::Weave { code: c, .. }) => assert_eq!(c, code, "{}", String::from_utf8_lossy(body)),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
