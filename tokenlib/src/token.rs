//! Token ids: minting, parsing and the per-token Hawk key.
//!
//! A token id is url-safe base64 (padded) of the payload's JSON bytes followed by their
//! HMAC-SHA256 under a signing key derived from the shared secret. The Hawk key is derived from
//! the secret again, salted with the payload's `salt` and bound to the exact token id text.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize};

use crate::kdf::{OUTPUT_LEN, hkdf_sha256, hmac_sha256, hmac_sha256_matches};

const SIGNING_INFO: &[u8] = b"services.mozilla.com/tokenlib/v1/signing";
const DERIVE_INFO_PREFIX: &[u8] = b"services.mozilla.com/tokenlib/v1/derive/";

/// Random bytes in a salt minted here; Python tokenlib and syncstorage-rs both use three.
pub const DEFAULT_SALT_BYTES: usize = 3;

/// Python's `urlsafe_b64decode` wants padding, but clients and proxies sometimes strip it.
const URL_SAFE_ANY_PADDING: GeneralPurpose =
    GeneralPurpose::new(&alphabet::URL_SAFE, GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent));

/// What a token says about its holder, as the tokenserver signs it.
///
/// Unknown fields (syncstorage-rs adds `tokenserver_origin`, for one) are kept in
/// [`TokenPayload::extra`] so that a parsed payload can be inspected in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenPayload {
    /// The storage user id; it appears in every storage path as `/1.5/{uid}/`.
    pub uid: u64,
    /// The storage node the token was issued for, e.g. `https://sync-1.example.com`.
    pub node: String,
    /// Expiry in seconds since the Unix epoch. Python tokenlib writes a float here; parsing
    /// drops the fraction, so such a token reads as expiring up to one second early.
    #[serde(deserialize_with = "expires_from_number")]
    pub expires: u64,
    /// Per-token salt for the Hawk key, used as its ASCII text (usually six hex digits).
    pub salt: String,
    /// The Firefox Accounts user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fxa_uid: Option<String>,
    /// The key id of the user's sync key bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fxa_kid: Option<String>,
    /// The metrics-hashed Firefox Accounts user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashed_fxa_uid: Option<String>,
    /// The metrics-hashed device id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashed_device_id: Option<String>,
    /// Every other field of the payload, serialized after the known ones.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl TokenPayload {
    /// A payload with the given fields and none of the optional ones.
    pub fn new(uid: u64, node: impl Into<String>, expires: u64, salt: impl Into<String>) -> Self {
        Self {
            uid,
            node: node.into(),
            expires,
            salt: salt.into(),
            fxa_uid: None,
            fxa_kid: None,
            hashed_fxa_uid: None,
            hashed_device_id: None,
            extra: serde_json::Map::new(),
        }
    }

    /// A payload expiring `ttl` from now, with a fresh salt drawn from `rng`.
    pub fn valid_for<R: Rng + ?Sized>(uid: u64, node: impl Into<String>, ttl: Duration, rng: &mut R) -> Self {
        let expires = unix_seconds(SystemTime::now()).saturating_add(ttl.as_secs());
        Self::new(uid, node, expires, random_salt(rng))
    }

    /// A payload that expired `ago` before now, with a fresh salt drawn from `rng`.
    pub fn expired_for<R: Rng + ?Sized>(uid: u64, node: impl Into<String>, ago: Duration, rng: &mut R) -> Self {
        let expires = unix_seconds(SystemTime::now()).saturating_sub(ago.as_secs());
        Self::new(uid, node, expires, random_salt(rng))
    }

    /// The expiry as a point in time.
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.expires)
    }

    /// Whether the token is expired at `now`: from its `expires` second on, as tokenlib does.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        unix_seconds(now) >= self.expires
    }
}

/// A token id and the Hawk key that goes with it, as the tokenserver hands them to a client.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The token id; sent as the Hawk `id` attribute.
    pub id: String,
    /// The derived secret, url-safe base64; its ASCII bytes key the Hawk MAC.
    pub key: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug output lands in logs and reports; the key would let a reader forge requests.
        f.debug_struct("Credentials").field("id", &self.id).field("key", &"<redacted>").finish()
    }
}

/// Why a token id was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The id is not url-safe base64.
    #[error("decode token id: it is not url-safe base64")]
    Encoding,
    /// The decoded id cannot hold a payload and a signature.
    #[error("decode token id: {len} bytes cannot hold a payload and a {OUTPUT_LEN}-byte signature")]
    TooShort {
        /// Decoded length in bytes.
        len: usize,
    },
    /// The signature does not match: another secret, or altered bytes.
    #[error("verify token signature: it was minted with another secret or altered")]
    BadSignature,
    /// The signature matches but the payload is not a token payload.
    #[error("parse token payload: {0}")]
    Payload(#[source] serde_json::Error),
}

/// Mints the token id for `payload` and derives its Hawk key, as the tokenserver would.
pub fn mint(secret: &str, payload: &TokenPayload) -> Credentials {
    // Only string keys and JSON values are serialized, which cannot fail.
    let mut bytes = serde_json::to_vec(payload).expect("a token payload always serializes");
    let signature = hmac_sha256(&signing_key(secret), &bytes);
    bytes.extend_from_slice(&signature);
    let id = URL_SAFE.encode(&bytes);
    let key = derive_key(secret, &id, &payload.salt);
    Credentials { id, key }
}

/// Checks the signature of `token_id` and returns its payload; padding is optional.
///
/// Expiry is not checked: see [`TokenPayload::is_expired_at`].
pub fn parse(secret: &str, token_id: &str) -> Result<TokenPayload, TokenError> {
    let bytes = URL_SAFE_ANY_PADDING.decode(token_id).map_err(|_| TokenError::Encoding)?;
    if bytes.len() <= OUTPUT_LEN {
        return Err(TokenError::TooShort { len: bytes.len() });
    }
    let (payload, signature) = bytes.split_at(bytes.len() - OUTPUT_LEN);
    if !hmac_sha256_matches(&signing_key(secret), payload, signature) {
        return Err(TokenError::BadSignature);
    }
    serde_json::from_slice(payload).map_err(TokenError::Payload)
}

/// The Hawk key for `token_id`, url-safe base64 with padding.
///
/// The key is bound to the id text exactly as the client sends it, so an unpadded copy of a
/// padded id derives a different key.
pub fn derive_key(secret: &str, token_id: &str, salt: &str) -> String {
    let mut info = Vec::with_capacity(DERIVE_INFO_PREFIX.len() + token_id.len());
    info.extend_from_slice(DERIVE_INFO_PREFIX);
    info.extend_from_slice(token_id.as_bytes());
    URL_SAFE.encode(hkdf_sha256(secret.as_bytes(), Some(salt.as_bytes()), &info))
}

/// A salt of [`DEFAULT_SALT_BYTES`] random bytes from `rng`, as lowercase hex.
pub fn random_salt<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut bytes = [0u8; DEFAULT_SALT_BYTES];
    rng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn signing_key(secret: &str) -> [u8; OUTPUT_LEN] {
    hkdf_sha256(secret.as_bytes(), None, SIGNING_INFO)
}

fn unix_seconds(at: SystemTime) -> u64 {
    // A clock before 1970 is not worth an error path: treat it as the epoch.
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

fn expires_from_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    struct Expires;

    impl serde::de::Visitor<'_> for Expires {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative number of seconds since the epoch")
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::custom(format!("negative expiry {v}")))
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u64, E> {
            // 2^64 is exactly representable; anything at or above it does not fit.
            if v.is_finite() && (0.0..18_446_744_073_709_551_616.0).contains(&v) {
                // In range, checked above; dropping the fraction is the documented intent.
                Ok(v.floor() as u64)
            } else {
                Err(E::custom(format!("expiry {v} is not a valid time")))
            }
        }
    }

    deserializer.deserialize_any(Expires)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixed so tests are repeatable; a real RNG is only exercised by `random_salt_is_hex`.
    struct CountingRng(u8);

    impl rand::TryRng for CountingRng {
        type Error = std::convert::Infallible;

        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            let mut b = [0u8; 4];
            self.try_fill_bytes(&mut b)?;
            Ok(u32::from_le_bytes(b))
        }

        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            let mut b = [0u8; 8];
            self.try_fill_bytes(&mut b)?;
            Ok(u64::from_le_bytes(b))
        }

        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for byte in dst {
                *byte = self.0;
                self.0 = self.0.wrapping_add(1);
            }
            Ok(())
        }
    }

    const SECRET: &str = "Ted Koppel is a robot";

    fn sample_payload() -> TokenPayload {
        let mut payload = TokenPayload::new(42, "http://127.0.0.1:8000", 1_700_000_000, "a1b2c3");
        payload.fxa_uid = Some("f5c4ab3cbb0f4d9aa1b5d0e5e5c5b5a5".into());
        payload.fxa_kid = Some("1700000000000-abc".into());
        payload
    }

    #[test]
    fn mint_then_parse_round_trips() {
        let payload = sample_payload();
        let creds = mint(SECRET, &payload);
        assert_eq!(parse(SECRET, &creds.id).expect("parse minted token"), payload);
        assert_eq!(creds.key, derive_key(SECRET, &creds.id, &payload.salt));
    }

    // Known answers computed independently with Python's hmac, hashlib and base64 modules
    // (HKDF written out from RFC 5869), not with this crate.
    const KAT_SIGNING_KEY: &str = "ca50531355a39e0d3e20e0d998b389fde44fdb5ad41a300869dec7fdff788784";
    const KAT_ID: &str = "eyJ1aWQiOjQyLCJub2RlIjoiaHR0cDovLzEyNy4wLjAuMTo4MDAwIiwiZXhwaXJlcyI6MTcwMDAwMDAwMCwic2FsdCI6ImExYjJjMyIsImZ4YV91aWQiOiJmNWM0YWIzY2JiMGY0ZDlhYTFiNWQwZTVlNWM1YjVhNSIsImZ4YV9raWQiOiIxNzAwMDAwMDAwMDAwLWFiYyJ9vlDPUdEFuhk7snkE5ubHomB75kCmsKy5MYGe3fXQz5Y=";
    const KAT_KEY: &str = "7Ch9H5SJskgHHeUe3klXi0XJGf_gxOxJIvFGBfJ-dvs=";
    /// `json.dumps` output (spaces, float expiry) signed the way Python tokenlib signs it.
    const KAT_PYTHON_ID: &str = "eyJ1aWQiOiA3LCAibm9kZSI6ICJodHRwczovL3N5bmMuZXhhbXBsZS5jb20iLCAiZXhwaXJlcyI6IDE3MDAwMDAxMjMuNDU2LCAic2FsdCI6ICIwZmYxY2UifcgPR0aVvjN3mhkDgij-_Uw4-r6n-_bC3HitTkZVrRCO";
    const KAT_PYTHON_KEY: &str = "I-MC0w304HgydbRwk6tGLq-EsJR_hOBEvqnLj0jbvhA=";

    #[test]
    fn signing_key_matches_known_answer() {
        assert_eq!(hex::encode(signing_key(SECRET)), KAT_SIGNING_KEY);
    }

    #[test]
    fn mint_matches_known_answer() {
        let creds = mint(SECRET, &sample_payload());
        assert_eq!(creds.id, KAT_ID);
        assert_eq!(creds.key, KAT_KEY);
    }

    #[test]
    fn parse_accepts_python_tokenlib_output() {
        let payload = parse(SECRET, KAT_PYTHON_ID).expect("parse python token");
        assert_eq!(payload, TokenPayload::new(7, "https://sync.example.com", 1_700_000_123, "0ff1ce"));
        assert_eq!(derive_key(SECRET, KAT_PYTHON_ID, &payload.salt), KAT_PYTHON_KEY);
    }

    #[test]
    fn parse_accepts_unpadded_ids() {
        let payload = sample_payload();
        let creds = mint(SECRET, &payload);
        let unpadded = creds.id.trim_end_matches('=');
        assert_ne!(unpadded.len(), creds.id.len(), "the sample should need padding");
        assert_eq!(parse(SECRET, unpadded).expect("parse unpadded"), payload);
    }

    #[test]
    fn parse_rejects_another_secret() {
        let creds = mint(SECRET, &sample_payload());
        assert!(matches!(parse("another secret", &creds.id), Err(TokenError::BadSignature)));
    }

    #[test]
    fn parse_rejects_altered_payload_and_signature() {
        let creds = mint(SECRET, &sample_payload());
        let bytes = URL_SAFE.decode(&creds.id).expect("decode minted token");
        // One payload byte (inside the uid digits) and one signature byte.
        for index in [7, bytes.len() - 1] {
            let mut altered = bytes.clone();
            altered[index] ^= 0x01;
            let result = parse(SECRET, &URL_SAFE.encode(&altered));
            assert!(matches!(result, Err(TokenError::BadSignature)), "byte {index}: {result:?}");
        }
    }

    #[test]
    fn parse_rejects_malformed_ids() {
        assert!(matches!(parse(SECRET, "not base64!"), Err(TokenError::Encoding)));
        // Standard-alphabet characters are not part of the url-safe alphabet.
        assert!(matches!(parse(SECRET, "ab+/"), Err(TokenError::Encoding)));
        assert!(matches!(parse(SECRET, "YWJj"), Err(TokenError::TooShort { len: 3 })));
    }

    #[test]
    fn parse_reports_signed_garbage_as_payload_error() {
        let mut bytes = b"not json".to_vec();
        bytes.extend_from_slice(&hmac_sha256(&signing_key(SECRET), b"not json"));
        let result = parse(SECRET, &URL_SAFE.encode(&bytes));
        assert!(matches!(result, Err(TokenError::Payload(_))), "{result:?}");
    }

    #[test]
    fn payload_reads_float_expiry_and_keeps_unknown_fields() {
        let json = r#"{"uid": 7, "node": "http://n", "expires": 1700000000.75, "salt": "abcdef",
                       "tokenserver_origin": "rust", "hashed_device_id": "d"}"#;
        let payload: TokenPayload = serde_json::from_str(json).expect("parse payload");
        assert_eq!(payload.expires, 1_700_000_000);
        assert_eq!(payload.hashed_device_id.as_deref(), Some("d"));
        assert_eq!(payload.extra["tokenserver_origin"], "rust");
        let written = serde_json::to_string(&payload).expect("serialize payload");
        assert!(written.contains(r#""tokenserver_origin":"rust""#), "{written}");
    }

    #[test]
    fn payload_rejects_impossible_expiry() {
        for expires in ["-1", "-0.5", "1e30", "\"soon\""] {
            let json = format!(r#"{{"uid":1,"node":"n","expires":{expires},"salt":"s"}}"#);
            assert!(serde_json::from_str::<TokenPayload>(&json).is_err(), "expires {expires} was accepted");
        }
    }

    #[test]
    fn constructors_set_expiry_relative_to_now() {
        let now = unix_seconds(SystemTime::now());
        let mut rng = CountingRng(0);
        let valid = TokenPayload::valid_for(1, "n", Duration::from_secs(3600), &mut rng);
        assert!((now + 3600..=now + 3601).contains(&valid.expires));
        assert_eq!(valid.salt, "000102");
        assert!(!valid.is_expired_at(SystemTime::now()));
        let expired = TokenPayload::expired_for(1, "n", Duration::from_secs(60), &mut rng);
        assert!((now - 60..=now - 59).contains(&expired.expires));
        assert_eq!(expired.salt, "030405");
        assert!(expired.is_expired_at(SystemTime::now()));
        assert!(expired.is_expired_at(expired.expires_at()));
    }

    #[test]
    fn random_salt_is_hex() {
        let salt = random_salt(&mut rand::rng());
        assert_eq!(salt.len(), DEFAULT_SALT_BYTES * 2);
        assert!(salt.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn debug_redacts_the_key() {
        let creds = mint(SECRET, &sample_payload());
        let shown = format!("{creds:?}");
        assert!(!shown.contains(&creds.key), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
