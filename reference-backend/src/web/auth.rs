//! Hawk authentication of storage requests (A-02, A-19, J-05).
//!
//! Host and port in the MAC come from `X-Forwarded-Host` or `Host`, the port from
//! `X-Forwarded-Port`, the `Host` header, or the scheme default (`X-Forwarded-Proto: https`
//! gives 443). Token expiry and the Hawk skew window use the wall clock, not the test clock: the
//! test clock moves storage time only, so a harness can jump hours ahead without re-minting.

use std::time::SystemTime;

use axum::http::HeaderMap;
use syncstorage_tokenlib::{RequestTarget, verify_authorization};

use crate::config::Config;
use crate::error::ApiError;

fn first_header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.split(',').next().unwrap_or("").trim()).filter(|v| !v.is_empty())
}

/// Checks the request's Hawk header against the token secret. `allow_expired` is true only for
/// GET info/collections. A token for another uid is refused with 401/0.
pub fn authenticate(
    config: &Config,
    headers: &HeaderMap,
    method: &str,
    resource: &str,
    path_uid: u64,
    allow_expired: bool,
) -> Result<(), ApiError> {
    let denied = |why: &str| {
        tracing::debug!(why, "authentication failed");
        ApiError::unauthorized()
    };
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).ok_or_else(|| denied("no authorization header"))?;
    let host =
        first_header(headers, "x-forwarded-host").or_else(|| first_header(headers, "host")).ok_or_else(|| denied("no host header"))?;
    let https = first_header(headers, "x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let mut target =
        RequestTarget::from_host_header(method, resource, host, if https { 443 } else { 80 }).map_err(|e| denied(&e.to_string()))?;
    if let Some(port) = first_header(headers, "x-forwarded-port").and_then(|p| p.parse().ok()) {
        target.port = port;
    }
    let verified = verify_authorization(&config.secret, auth, target).map_err(|e| denied(&e.to_string()))?;
    let now = SystemTime::now();
    if verified.header.skew(now) > config.hawk_skew {
        return Err(denied("hawk timestamp outside the skew window"));
    }
    if !allow_expired && verified.payload.is_expired_at(now) {
        return Err(denied("token expired"));
    }
    if verified.payload.uid != path_uid {
        return Err(denied("token uid differs from the path uid"));
    }
    Ok(())
}
