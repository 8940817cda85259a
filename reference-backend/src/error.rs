//! Errors the API answers with. Every error body is a bare JSON integer (J-01) except where the
//! SPEC wants an empty one (304, 405, 412).

use axum::http::StatusCode;

use crate::clock::Ts;

/// Weave error codes (J-01).
pub mod code {
    pub const GENERIC: u32 = 0;
    pub const BAD_TOTAL_HEADER: u32 = 1;
    pub const INVALID_JSON: u32 = 6;
    pub const INVALID_RECORD: u32 = 8;
    pub const INVALID_COLLECTION: u32 = 13;
    pub const OVER_QUOTA: u32 = 14;
    pub const LIMIT_EXCEEDED: u32 = 17;
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A 4xx with a Weave code body.
    #[error("{status} with weave code {code}")]
    Weave { status: StatusCode, code: u32 },
    /// 412 (D-06): empty body, `X-Last-Modified` set.
    #[error("precondition failed, resource modified at {0}")]
    PreconditionFailed(Ts),
    /// 405: empty body.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409 with `Retry-After` (I-04).
    #[error("write conflict")]
    Conflict,
    /// 503 with `Retry-After` (J-14).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: a genuine internal fault (J-15).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: u32) -> Self {
        Self::Weave { status: StatusCode::BAD_REQUEST, code }
    }
    pub fn not_found() -> Self {
        Self::Weave { status: StatusCode::NOT_FOUND, code: code::GENERIC }
    }
    pub fn unauthorized() -> Self {
        Self::Weave { status: StatusCode::UNAUTHORIZED, code: code::GENERIC }
    }
    pub fn too_large() -> Self {
        Self::Weave { status: StatusCode::PAYLOAD_TOO_LARGE, code: code::LIMIT_EXCEEDED }
    }
    pub fn unsupported_media_type() -> Self {
        Self::Weave { status: StatusCode::UNSUPPORTED_MEDIA_TYPE, code: code::GENERIC }
    }
    pub fn not_acceptable() -> Self {
        Self::Weave { status: StatusCode::NOT_ACCEPTABLE, code: code::GENERIC }
    }
    pub fn over_quota() -> Self {
        Self::bad_request(code::OVER_QUOTA)
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.is_closed() { ApiError::Unavailable(e.to_string()) } else { ApiError::Internal(format!("{e:?}")) }
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}
