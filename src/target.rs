//! A server a run (conformance, fuzz, load) talks to, as learnt from the server itself: its limits
//! (info/configuration, A-06), whether it enforces a quota (heartbeat, H-01) and whether it has a
//! test clock. Probing also catches a wrong secret or an unreachable URL before any case runs.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::client::{ClientError, SyncClient, SyncRequest, SyncUser};
use crate::sync::Limits;

/// A probed server.
#[derive(Debug, Clone)]
pub struct Target {
    /// A short label for reports: `reference`, `reference+quota`, `target`…
    pub label: String,
    pub client: SyncClient,
    pub secret: String,
    pub limits: Limits,
    /// The enforced quota in bytes, when heartbeat says quota is enabled.
    pub quota: Option<u64>,
    /// Whether `/__test__/clock` answers, so time can be moved instead of waited for.
    pub test_clock: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("reach the target {url}: {source}")]
    Unreachable { url: String, source: ClientError },
    #[error(
        "authenticate at {url}: it answered {status} to a token minted from the given secret; check that --secret is the server's master secret"
    )]
    WrongSecret { url: String, status: u16 },
    #[error("read {what} from {url}: {detail}; is this a Sync 1.5 storage server?")]
    Unexpected { url: String, what: &'static str, detail: String },
}

fn limit(config: &Value, key: &str) -> Option<u64> {
    config.get(key).and_then(Value::as_u64)
}

impl Target {
    /// Checks that `url` is a Sync 1.5 server that accepts tokens minted from `secret`, using
    /// `probe_uid` (a uid of the run's own range) for one read-only request.
    pub async fn probe(label: &str, url: &Url, secret: &str, probe_uid: u64) -> Result<Target, TargetError> {
        let client = SyncClient::new(url.clone()).map_err(|source| TargetError::Unreachable { url: url.to_string(), source })?;
        let user = SyncUser::new(&client, secret, probe_uid);
        let resp = user.get("info/collections").await.map_err(|source| TargetError::Unreachable { url: url.to_string(), source })?;
        match resp.status_code() {
            200 => {}
            401 | 403 => {
                return Err(TargetError::WrongSecret { url: url.to_string(), status: resp.status_code() });
            }
            other => {
                return Err(TargetError::Unexpected { url: url.to_string(), what: "info/collections", detail: format!("status {other}") });
            }
        }
        let unexpected = |what, detail: String| TargetError::Unexpected { url: url.to_string(), what, detail };
        let config = user
            .get("info/configuration")
            .await
            .map_err(|e| unexpected("info/configuration", e.to_string()))?
            .json()
            .map_err(|e| unexpected("info/configuration", e.to_string()))?;
        let need = |key: &'static str| limit(&config, key).ok_or_else(|| unexpected("info/configuration", format!("no integer {key}")));
        let limits = Limits {
            max_post_records: need("max_post_records")?,
            max_post_bytes: need("max_post_bytes")?,
            max_record_payload_bytes: need("max_record_payload_bytes")?,
            max_request_bytes: need("max_request_bytes")?,
            max_total_records: need("max_total_records")?,
            max_total_bytes: need("max_total_bytes")?,
            max_quota_limit: limit(&config, "max_quota_limit"),
        };
        let heartbeat = client.send(SyncRequest::get("/__heartbeat__")).await.ok().and_then(|r| r.json().ok());
        let quota = heartbeat.as_ref().and_then(|h| {
            let q = h.get("quota")?;
            if q.get("enabled")?.as_bool()? { q.get("size")?.as_u64() } else { None }
        });
        let test_clock = matches!(
            client.send(SyncRequest::get("/__test__/clock")).await,
            Ok(r) if r.status_code() == 200
        );
        Ok(Target { label: label.to_owned(), client, secret: secret.to_owned(), limits, quota, test_clock })
    }

    /// Moves the test clock of one user forward (the reference keeps a clock per user, so cases
    /// running at the same time never move each other's time).
    pub async fn advance_clock(&self, uid: u64, by: Duration) -> Result<(), String> {
        let req = SyncRequest::post("/__test__/clock").json(&serde_json::json!({ "advance_ms": by.as_millis() as u64, "uid": uid }));
        let resp = self.client.send(req).await.map_err(|e| e.to_string())?;
        if resp.status_code() != 200 {
            return Err(format!("the test clock answered {}", resp.status_code()));
        }
        Ok(())
    }

    /// The test clock's current time for `uid`, in milliseconds.
    pub async fn clock_ms(&self, uid: u64) -> Option<u64> {
        let resp = self.client.send(SyncRequest::get(format!("/__test__/clock?uid={uid}"))).await.ok()?;
        resp.json().ok()?.get("now_ms")?.as_u64()
    }

    pub fn user(&self, uid: u64) -> SyncUser {
        SyncUser::new(&self.client, self.secret.clone(), uid)
    }
}
