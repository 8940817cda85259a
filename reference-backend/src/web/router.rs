//! Routing by hand, so that unknown paths, unsupported methods, invalid ids (B-01)
//! and invalid collection names (B-15) each get exactly the answer the SPEC gives them.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use serde_json::json;

use crate::clock::Ts;
use crate::error::{ApiError, code};
use crate::web::auth::authenticate;
use crate::web::handlers::{self as h, Figure};
use crate::web::reply::{Reply, error_reply};
use crate::web::request::{Params, Preconditions, valid_bso_id, valid_collection};
use crate::web::state::AppState;

/// The server's router: one fallback that dispatches every request.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// `/1.5/{uid}`: only DELETE.
    User,
    InfoCollections,
    InfoQuota,
    InfoUsage,
    InfoCounts,
    InfoConfiguration,
    Storage,
    Collection(String),
    Bso(String, String),
}

impl Route {
    fn allows(&self, method: &Method) -> bool {
        match self {
            Route::User | Route::Storage => method == Method::DELETE,
            Route::InfoCollections | Route::InfoQuota | Route::InfoUsage | Route::InfoCounts | Route::InfoConfiguration => {
                method == Method::GET
            }
            Route::Collection(_) => [Method::GET, Method::POST, Method::DELETE].contains(method),
            Route::Bso(..) => [Method::GET, Method::PUT, Method::DELETE].contains(method),
        }
    }

    fn collection(&self) -> Option<&str> {
        match self {
            Route::Collection(c) | Route::Bso(c, _) => Some(c),
            _ => None,
        }
    }
}

/// Splits `/1.5/{uid}/...` into the uid and a route; `None` is a 404 (A-16, A-19, B-01).
fn parse_path(path: &str) -> Option<(u64, Route)> {
    // Lossy decoding: a segment that is not UTF-8 keeps a replacement character, so an invalid
    // collection name still gets its 400/13 (B-15) and an invalid id its 404 (B-01).
    let segments: Vec<String> =
        path.strip_prefix('/')?.split('/').map(|raw| percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()).collect();
    let mut segments = segments;
    if segments.last().is_some_and(String::is_empty) && segments.len() > 2 {
        segments.pop();
    }
    let [version, uid, rest @ ..] = segments.as_slice() else { return None };
    if version != "1.5" || uid.is_empty() || uid.len() > 10 || !uid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let uid: u64 = uid.parse().ok()?;
    let route = match rest {
        [] => Route::User,
        [info, what] if info == "info" => match what.as_str() {
            "collections" => Route::InfoCollections,
            "quota" => Route::InfoQuota,
            "collection_usage" => Route::InfoUsage,
            "collection_counts" => Route::InfoCounts,
            "configuration" => Route::InfoConfiguration,
            _ => return None,
        },
        [storage] if storage == "storage" => Route::Storage,
        [storage, coll] if storage == "storage" => Route::Collection(coll.clone()),
        [storage, coll, id] if storage == "storage" => {
            if !valid_bso_id(id) {
                return None;
            }
            Route::Bso(coll.clone(), id.clone())
        }
        _ => return None,
    };
    Some((uid, route))
}

/// The uid of a `/1.5/{uid}/...` path, for the user's clock.
fn path_uid(path: &str) -> Option<i64> {
    let mut parts = path.strip_prefix("/1.5/")?.split('/');
    parts.next()?.parse().ok()
}

async fn dispatch(State(state): State<Arc<AppState>>, req: Request) -> Response<Body> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let reply = match route(&state, req).await {
        Ok(reply) => reply,
        Err(err) => {
            match &err {
                ApiError::Internal(msg) => tracing::error!(%method, %path, msg, "internal error"),
                ApiError::Unavailable(msg) => tracing::warn!(%method, %path, msg, "unavailable"),
                other => tracing::debug!(%method, %path, error = %other, "request refused"),
            }
            error_reply(&err)
        }
    };
    let now = match path_uid(&path) {
        Some(uid) => state.clock.now_for(uid),
        None => state.clock.now(),
    };
    let mut resp = reply.into_response(now);
    if let Some(origin) = origin {
        let headers = resp.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(
                "X-Last-Modified, X-Weave-Timestamp, X-Weave-Records, X-Weave-Next-Offset, \
                 X-Weave-Quota-Remaining, Retry-After",
            ),
        );
    }
    resp
}

/// any preflight gets 200 with a positive max-age; the origin is echoed by `dispatch`.
fn preflight(headers: &HeaderMap) -> Reply {
    let allow_headers = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Authorization, Content-Type, X-If-Modified-Since, X-If-Unmodified-Since")
        .to_owned();
    Reply::empty(StatusCode::OK)
        .header("access-control-allow-methods", "DELETE, GET, OPTIONS, POST, PUT")
        .header("access-control-allow-headers", allow_headers)
        .header("access-control-max-age", 1_728_000)
}

async fn route(st: &AppState, req: Request) -> Result<Reply, ApiError> {
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path();
    if method == Method::OPTIONS {
        return Ok(preflight(&parts.headers));
    }
    match path {
        "/__heartbeat__" => return heartbeat(st).await,
        "/__lbheartbeat__" => return Ok(Reply::json(&json!({}))),
        "/__test__/clock" => {
            let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
            return admin_clock(st, peer, &method, parts.uri.query(), body).await;
        }
        _ => {}
    }
    let (uid, route) = parse_path(path).ok_or_else(ApiError::not_found)?;
    if !route.allows(&method) {
        return Err(ApiError::MethodNotAllowed);
    }
    let resource = parts.uri.path_and_query().map_or(path, |pq| pq.as_str());
    let allow_expired = route == Route::InfoCollections;
    authenticate(&st.config, &parts.headers, method.as_str(), resource, uid, allow_expired)?;
    if let Some(coll) = route.collection() {
        if !valid_collection(coll) {
            return Err(ApiError::bad_request(code::INVALID_COLLECTION));
        }
    }
    let uid = i64::try_from(uid).map_err(|_| ApiError::not_found())?;
    let headers = &parts.headers;
    let params = Params::parse(parts.uri.query());
    if route == Route::InfoConfiguration {
        return h::info_configuration(st).await;
    }
    let pre = Preconditions::from_headers(headers)?;
    match (route, method) {
        (Route::InfoCollections, _) => h::info_collections(st, uid, &pre).await,
        (Route::InfoQuota, _) => h::info_quota(st, uid, &pre).await,
        (Route::InfoUsage, _) => h::info_figures(st, uid, &pre, Figure::Usage).await,
        (Route::InfoCounts, _) => h::info_figures(st, uid, &pre, Figure::Counts).await,
        (Route::User | Route::Storage, _) => h::delete_storage(st, uid, &pre).await,
        (Route::Collection(c), Method::GET) => h::get_collection(st, uid, &c, &params, &pre, headers).await,
        (Route::Collection(c), Method::POST) => h::post_collection(st, uid, &c, &params, &pre, headers, body).await,
        (Route::Collection(c), _) => h::delete_collection(st, uid, &c, &params, &pre).await,
        (Route::Bso(c, id), Method::GET) => h::get_bso(st, uid, &c, &id, &pre).await,
        (Route::Bso(c, id), Method::PUT) => h::put_bso(st, uid, &c, &id, &pre, headers, body).await,
        (Route::Bso(c, id), _) => h::delete_bso(st, uid, &c, &id, &pre).await,
        (Route::InfoConfiguration, _) => h::info_configuration(st).await,
    }
}

/// A-17, J-16: 200 with the database reachable, else 503.
async fn heartbeat(st: &AppState) -> Result<Reply, ApiError> {
    let db_ok = st.store.ping().await;
    let body = json!({
        "status": if db_ok { "Ok" } else { "Err" },
        "database": if db_ok { "Ok" } else { "Err" },
        "version": env!("CARGO_PKG_VERSION"),
        "quota": { "enabled": st.config.quota_limit.is_some(), "size": st.config.quota_size() },
    });
    let reply = Reply::json(&body);
    Ok(if db_ok { reply } else { reply.status(StatusCode::SERVICE_UNAVAILABLE).header("retry-after", 10) })
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    /// Milliseconds to move forward.
    advance_ms: Option<i64>,
    /// An absolute time in milliseconds since the epoch, not before now (everyone's clock only).
    set_ms: Option<i64>,
    /// Move only this user's clock.
    uid: Option<i64>,
}

/// `/__test__/clock`: read (GET, `?uid=` for one user's time) or move (POST) the test clock.
/// Exists only with `--test-clock` and answers only loopback peers; everyone else gets the
/// plain 404.
async fn admin_clock(st: &AppState, peer: Option<SocketAddr>, method: &Method, query: Option<&str>, body: Body) -> Result<Reply, ApiError> {
    if !st.clock.is_adjustable() || !peer.is_some_and(|p| p.ip().is_loopback()) {
        return Err(ApiError::not_found());
    }
    let mut uid: Option<i64> = match Params::parse(query).get("uid") {
        Some(v) => Some(v.parse().map_err(|_| ApiError::bad_request(code::GENERIC))?),
        None => None,
    };
    if *method == Method::POST {
        let bytes = h::read_body(&HeaderMap::new(), body, 4096).await?;
        let change: ClockChange = serde_json::from_slice(&bytes).map_err(|_| ApiError::bad_request(code::INVALID_JSON))?;
        uid = change.uid.or(uid);
        let moved = match (change.advance_ms, change.set_ms, uid) {
            (Some(ms), None, Some(u)) => st.clock.advance_user(u, ms),
            (Some(ms), None, None) => st.clock.advance(ms),
            (None, Some(at), None) => st.clock.set(Ts::from_millis(at)),
            _ => return Err(ApiError::bad_request(code::GENERIC)),
        };
        moved.map_err(|_| ApiError::bad_request(code::GENERIC))?;
    } else if *method != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let now = uid.map_or_else(|| st.clock.now(), |u| st.clock.now_for(u));
    Ok(Reply::json(&json!({ "now": now.to_string(), "now_ms": now.millis() })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(parse_path("/1.5/42"), Some((42, Route::User)));
        assert_eq!(parse_path("/1.5/42/info/collections"), Some((42, Route::InfoCollections)));
        assert_eq!(parse_path("/1.5/42/storage/tabs/a%20b"), Some((42, Route::Bso("tabs".into(), "a b".into()))));
        assert_eq!(parse_path("/1.5/abc/info/collections"), None);
        assert_eq!(parse_path("/1.5/12345678901/storage"), None);
        assert_eq!(parse_path("/1.5/1/nonexistent/url"), None);
        assert_eq!(parse_path(&format!("/1.5/1/storage/c/{}", "x".repeat(65))), None);
        assert_eq!(parse_path("/1.5/1/storage/c/a%0Ab"), None);
    }
}
