//! The validation rules of area B, and how a POST body splits into accepted and failed records
//! (E-01, E-05..E-07, E-10).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::state::Fields;
use crate::sync::Limits;

/// Largest absolute sortindex (B-05) and largest ttl (B-07).
const FIELD_MAX: i64 = 999_999_999;

/// Why one record is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bad {
    /// Invalid: a POST fails it, a PUT gets 400/8; the clause it breaks.
    Invalid(&'static str),
    /// A payload over `max_record_payload_bytes`: a POST fails it with "retry bytes", a PUT gets 413 (B-06).
    TooBig,
    /// Both at once. SPEC orders no checks within one record, so either answer is allowed: a
    /// POST may fail it for any reason, a PUT may get 400/8 or 413.
    InvalidAndTooBig(&'static str),
}

/// B-01: 1–64 characters from 0x20–0x7E.
pub(crate) fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// B-15: 1–32 characters of `[A-Za-z0-9._-]`.
pub(crate) fn valid_collection(name: &str) -> bool {
    (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A JSON integer (no floats, no strings) within `range`.
fn integer_in(v: &Value, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
    v.as_i64().filter(|n| (v.is_i64() || v.is_u64()) && range.contains(n))
}

/// The fields of a record object, `id` aside (B-05..B-07, B-09).
pub(crate) fn fields(obj: &Map<String, Value>, limits: &Limits) -> Result<Fields, Bad> {
    let mut f = Fields::default();
    let (mut invalid, mut too_big) = (None, false);
    for (key, v) in obj {
        match key.as_str() {
            "id" | "modified" => {}
            "payload" => match v {
                Value::Null => f.payload = Some(None),
                Value::String(s) if s.len() as u64 > limits.max_record_payload_bytes => too_big = true,
                Value::String(s) => f.payload = Some(Some(s.clone())),
                _ => invalid = invalid.or(Some("B-06")),
            },
            "sortindex" => match v {
                Value::Null => f.sortindex = Some(None),
                v => match integer_in(v, -FIELD_MAX..=FIELD_MAX) {
                    Some(n) => f.sortindex = Some(Some(n)),
                    None => invalid = invalid.or(Some("B-05")),
                },
            },
            "ttl" => match v {
                Value::Null => f.ttl = Some(None),
                v => match integer_in(v, 0..=FIELD_MAX) {
                    Some(n) => f.ttl = Some(Some(n)),
                    None => invalid = invalid.or(Some("B-07")),
                },
            },
            _ => invalid = invalid.or(Some("B-09")),
        }
    }
    match (invalid, too_big) {
        (None, false) => Ok(f),
        (Some(c), false) => Err(Bad::Invalid(c)),
        (None, true) => Err(Bad::TooBig),
        (Some(c), true) => Err(Bad::InvalidAndTooBig(c)),
    }
}

/// B-14: in `crypto`, a payload with an all-zero IV is refused with the whole request.
pub(crate) fn known_bad_crypto(coll: &str, obj: &Map<String, Value>) -> bool {
    const ZERO_IV: &str = "\"AAAAAAAAAAAAAAAAAAAAAA==";
    let Some(payload) = obj.get("payload").and_then(Value::as_str) else { return false };
    coll == "crypto"
        && payload.match_indices("IV\"").any(|(at, m)| {
            let rest = payload[at + m.len()..].trim_start();
            rest.strip_prefix(':').is_some_and(|r| r.trim_start().starts_with(ZERO_IV))
        })
}

/// How a POST body splits (E-01).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Split {
    /// Accepted records in request order.
    pub accepted: Vec<(String, Fields)>,
    /// Failed ids, with the reason SPEC prescribes when it prescribes one ("retry bytes", "retry bso").
    pub failed: BTreeMap<String, Option<&'static str>>,
}

/// Splits a POST body, or gives the clause of the whole-request 400/8 it earns (B-03, B-16, E-10).
pub(crate) fn split_post(coll: &str, body: Option<&Value>, limits: &Limits) -> Result<Split, &'static str> {
    let Some(Value::Array(items)) = body else { return Err("B-16") };
    let mut objects = Vec::with_capacity(items.len());
    let mut ids = BTreeSet::new();
    for item in items {
        let Value::Object(obj) = item else { return Err("B-16") };
        let Some(Value::String(id)) = obj.get("id") else { return Err("B-03") };
        // Where the spec is silent (B-03): a repeated id fails the whole POST, as upstream.
        if !ids.insert(id.as_str()) {
            return Err("B-03");
        }
        if known_bad_crypto(coll, obj) {
            return Err("B-14");
        }
        objects.push((id, obj));
    }
    let mut split = Split::default();
    let mut bytes = 0u64;
    for (id, obj) in objects {
        let parsed = if valid_id(id) { fields(obj, limits) } else { Err(Bad::Invalid("B-01")) };
        match parsed {
            Err(Bad::Invalid(_) | Bad::InvalidAndTooBig(_)) => {
                split.failed.insert(id.clone(), None);
            }
            Err(Bad::TooBig) => {
                split.failed.insert(id.clone(), Some("retry bytes"));
            }
            // E-05: once the record count is reached, every further valid record is "retry bso";
            // E-06: a record that would pass the byte sum fails and adds nothing.
            Ok(_) if split.accepted.len() as u64 >= limits.max_post_records => {
                split.failed.insert(id.clone(), Some("retry bso"));
            }
            Ok(f) if bytes + f.payload_bytes() > limits.max_post_bytes => {
                split.failed.insert(id.clone(), Some("retry bytes"));
            }
            Ok(f) => {
                bytes += f.payload_bytes();
                split.accepted.push((id.clone(), f));
            }
        }
    }
    Ok(split)
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    /// Small limits, so that edges are reached with short bodies (shared by the model's tests).
    pub(crate) fn limits() -> Limits {
        Limits {
            max_post_records: 3,
            max_post_bytes: 10,
            max_record_payload_bytes: 6,
            max_request_bytes: 1000,
            max_total_records: 5,
            max_total_bytes: 20,
            max_quota_limit: None,
        }
    }

    #[test]
    fn fields_follow_area_b() {
        let obj = |v: Value| v.as_object().cloned().unwrap();
        let l = limits();
        assert_eq!(fields(&obj(json!({"payload": "x", "sortindex": -42, "ttl": null})), &l).unwrap().sortindex, Some(Some(-42)));
        assert_eq!(fields(&obj(json!({"sortindex": "2"})), &l), Err(Bad::Invalid("B-05")));
        assert_eq!(fields(&obj(json!({"sortindex": 2.0})), &l), Err(Bad::Invalid("B-05")));
        assert_eq!(fields(&obj(json!({"ttl": -1})), &l), Err(Bad::Invalid("B-07")));
        assert_eq!(fields(&obj(json!({"payload": 42})), &l), Err(Bad::Invalid("B-06")));
        assert_eq!(fields(&obj(json!({"payload": "ééé é"})), &l), Err(Bad::TooBig), "bytes, not characters");
        assert_eq!(fields(&obj(json!({"unexpected": 1})), &l), Err(Bad::Invalid("B-09")));
        assert!(!valid_id("a\tb") && !valid_id("") && !valid_id(&"x".repeat(65)) && valid_id("~ /%"));
        assert!(known_bad_crypto("crypto", &obj(json!({"payload": "{\"IV\": \"AAAAAAAAAAAAAAAAAAAAAA==\"}"}))));
        assert!(!known_bad_crypto("tabs", &obj(json!({"payload": "{\"IV\": \"AAAAAAAAAAAAAAAAAAAAAA==\"}"}))));
    }

    #[test]
    fn post_split_applies_the_limits_in_order() {
        let body = json!([
            {"id": "a", "payload": "xxxx"},
            {"id": "big", "payload": "xxxxxxx"},
            {"id": "b", "payload": "xxxxx"},
            {"id": "c", "payload": "xxxxxx"},
            {"id": "a\nb"},
            {"id": "d"},
            {"id": "e"}
        ]);
        let s = split_post("c", Some(&body), &limits()).unwrap();
        let ids: Vec<&str> = s.accepted.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "d"]);
        assert_eq!(s.failed.get("big"), Some(&Some("retry bytes")));
        assert_eq!(s.failed.get("c"), Some(&Some("retry bytes")));
        assert_eq!(s.failed.get("a\nb"), Some(&None));
        assert_eq!(s.failed.get("e"), Some(&Some("retry bso")));
        assert_eq!(split_post("c", Some(&json!([{"id": "a"}, {"id": "a"}])), &limits()), Err("B-03"));
        assert_eq!(split_post("c", Some(&json!([{"id": 5}])), &limits()), Err("B-03"));
        assert_eq!(split_post("c", Some(&json!({"id": "a"})), &limits()), Err("B-16"));
        assert_eq!(split_post("c", Some(&json!(["x"])), &limits()), Err("B-16"));
    }
}
