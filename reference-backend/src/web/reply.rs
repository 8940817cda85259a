//! Building responses: the Weave headers every response under `/1.5/` carries (D-01 to D-04) and
//! the error bodies of area J.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode, header};
use serde::Serialize;

use crate::clock::Ts;
use crate::error::ApiError;

pub const X_LAST_MODIFIED: &str = "x-last-modified";
pub const X_WEAVE_TIMESTAMP: &str = "x-weave-timestamp";
pub const X_WEAVE_RECORDS: &str = "x-weave-records";
pub const X_WEAVE_NEXT_OFFSET: &str = "x-weave-next-offset";
pub const X_WEAVE_QUOTA_REMAINING: &str = "x-weave-quota-remaining";

/// A successful answer before the shared headers are added.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
    /// `X-Weave-Timestamp`: T for a write (D-02), else the time of the answer.
    pub weave_ts: Option<Ts>,
}

impl Reply {
    pub fn json(value: &impl Serialize) -> Self {
        // Serializing plain data into memory cannot fail.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
        Self::raw(StatusCode::OK, Some("application/json"), body)
    }

    pub fn raw(status: StatusCode, content_type: Option<&'static str>, body: Vec<u8>) -> Self {
        Self { status, content_type, body, headers: Vec::new(), weave_ts: None }
    }

    pub fn empty(status: StatusCode) -> Self {
        Self::raw(status, None, Vec::new())
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn header(mut self, name: &'static str, value: impl ToString) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn last_modified(self, ts: Ts) -> Self {
        self.header(X_LAST_MODIFIED, ts)
    }

    /// Marks the reply as the answer to a write at `t`.
    pub fn written_at(mut self, t: Ts) -> Self {
        self.weave_ts = Some(t);
        self.last_modified(t)
    }

    /// `X-Weave-Quota-Remaining` in KB (D-13), when quota is enforced.
    pub fn quota_remaining(self, bytes: Option<i64>) -> Self {
        match bytes {
            Some(b) => self.header(X_WEAVE_QUOTA_REMAINING, format!("{:.2}", b as f64 / 1024.0)),
            None => self,
        }
    }

    pub fn into_response(self, now: Ts) -> Response<Body> {
        let mut resp = Response::new(Body::from(self.body));
        *resp.status_mut() = self.status;
        let headers = resp.headers_mut();
        if let Some(ct) = self.content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.append(HeaderName::from_static(name), v);
            }
        }
        let weave_ts = self.weave_ts.unwrap_or(now);
        if let Ok(v) = HeaderValue::from_str(&weave_ts.to_string()) {
            headers.insert(HeaderName::from_static(X_WEAVE_TIMESTAMP), v);
        }
        resp
    }
}

/// The reply for an error (area J).
pub fn error_reply(err: &ApiError) -> Reply {
    let code_body = |status: StatusCode, code: u32| Reply::raw(status, Some("application/json"), code.to_string().into_bytes());
    match err {
        // The body of a 413 is left unread, so the connection cannot carry another request:
        // say so, or a client's pool would reuse a connection the server is about to drop.
        ApiError::Weave { status, code } if *status == StatusCode::PAYLOAD_TOO_LARGE => {
            code_body(*status, *code).header("connection", "close")
        }
        ApiError::Weave { status, code } => code_body(*status, *code),
        ApiError::PreconditionFailed(ts) => Reply::empty(StatusCode::PRECONDITION_FAILED).last_modified(*ts),
        ApiError::MethodNotAllowed => Reply::empty(StatusCode::METHOD_NOT_ALLOWED),
        ApiError::Conflict => code_body(StatusCode::CONFLICT, 0).header("retry-after", 1),
        ApiError::Unavailable(_) => code_body(StatusCode::SERVICE_UNAVAILABLE, 0).header("retry-after", 10),
        ApiError::Internal(_) => code_body(StatusCode::INTERNAL_SERVER_ERROR, 0),
    }
}
