//! Small judgements every handler shares: error answers (area J), a write's T (D-02, I-04), the
//! POST result lists (E-01), and how a divergence is worded.

use std::collections::BTreeMap;

use serde_json::Value;

use super::config::{Divergence, ModelConfig};
use super::op::{Answer, Request};
use super::state::UserState;
use crate::sync::{Profile, Stamp};

/// One line of an answer, for the `actual` of a divergence.
pub(crate) fn show(ans: &Answer) -> String {
    let text: String = ans.text.chars().take(160).collect();
    let lm = ans.last_modified.map_or_else(|| "-".to_owned(), |s| s.to_string());
    format!("{} X-Last-Modified {lm} body {}", ans.status, text.replace('\n', "\\n"))
}

pub(crate) fn diverge(
    clause: &'static str,
    message: impl Into<String>,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> Divergence {
    Divergence { clause, message: message.into(), expected: expected.into(), actual: actual.into() }
}

/// What an error answer's body must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrBody {
    /// Empty (304, 405, 412; J-01).
    Empty,
    /// This bare JSON integer (J-01).
    Code(i64),
    /// Some bare JSON integer (clauses that name the status only).
    AnyCode,
    /// Anything (413).
    Any,
}

/// An error answer SPEC prescribes, or (when `optional`) allows besides success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Want {
    pub clause: &'static str,
    pub status: u16,
    pub body: ErrBody,
    pub optional: bool,
}

impl Want {
    pub fn new(clause: &'static str, status: u16, body: ErrBody) -> Self {
        Self { clause, status, body, optional: false }
    }

    pub fn code(clause: &'static str, status: u16, code: i64) -> Self {
        Self::new(clause, status, ErrBody::Code(code))
    }

    pub fn optional(self) -> Self {
        Self { optional: true, ..self }
    }

    fn describe(&self) -> String {
        let body = match self.body {
            ErrBody::Empty => "empty body".to_owned(),
            ErrBody::Code(c) => format!("body {c}"),
            ErrBody::AnyCode => "an integer body".to_owned(),
            ErrBody::Any => "any body".to_owned(),
        };
        format!("{} with {body} ({})", self.status, self.clause)
    }

    pub fn matches(&self, ans: &Answer) -> bool {
        let code = error_code(ans);
        ans.status == self.status
            && match self.body {
                ErrBody::Empty => ans.text.trim().is_empty(),
                ErrBody::Code(c) => code == Some(c),
                ErrBody::AnyCode => code.is_some(),
                ErrBody::Any => true,
            }
            // J-11: a failed precondition says what the resource's ts is.
            && (self.status != 412 || ans.last_modified.is_some())
    }
}

/// The bare JSON integer of an error body (J-01).
pub(crate) fn error_code(ans: &Answer) -> Option<i64> {
    ans.text.trim().parse().ok()
}

/// The collection-name error (B-15), with its compat form under syncstorage-rs.
pub(crate) fn bad_collection(cfg: &ModelConfig, coll: &str) -> Vec<Want> {
    if super::record::valid_collection(coll) {
        return Vec::new();
    }
    let mut w = vec![Want::code("B-15", 400, 13)];
    if cfg.profile == Profile::SyncstorageRs {
        w.push(Want::code("B-15", 404, 0));
    }
    w
}

/// D-20, E-08: a body longer than `max_request_bytes` is refused with 413 before it is read, so
/// whatever else is wrong with it may go unreported.
pub(crate) fn request_size(cfg: &ModelConfig, req: &Request) -> Vec<Want> {
    let len = req.body.as_ref().map_or(0, |b| serde_json::to_vec(b).map_or(0, |v| v.len()));
    if len as u64 > cfg.limits.max_request_bytes { vec![Want::new("D-20", 413, ErrBody::Any)] } else { Vec::new() }
}

/// The over-quota refusal (H-03, F-21, J-06) with its compat form; `must` when usage is surely
/// at the limit, else it is allowed besides success (H-04 lets recorded totals overstate).
pub(crate) fn over_quota(cfg: &ModelConfig, clause: &'static str, must: bool) -> Vec<Want> {
    let mut w = vec![Want::code(clause, 400, 14)];
    if cfg.profile == Profile::SyncstorageRs {
        w.push(Want::code(clause, 403, 14));
    }
    if !must {
        w.iter_mut().for_each(|x| x.optional = true);
    }
    w
}

/// Decides an answer against the errors that apply: `Some(Ok)` when it is one of them,
/// `Some(Err)` when SPEC required one and it is not, `None` when success is to be judged.
pub(crate) fn judge_errors(wants: &[Want], ans: &Answer) -> Option<Result<(), Divergence>> {
    if wants.is_empty() {
        return None;
    }
    if wants.iter().any(|w| w.matches(ans)) {
        return Some(Ok(()));
    }
    let success = (200..300).contains(&ans.status);
    if success && wants.iter().all(|w| w.optional) {
        return None;
    }
    let first = wants.iter().find(|w| !w.optional).unwrap_or(&wants[0]);
    let expected: Vec<String> = wants.iter().map(Want::describe).collect();
    let mut expected = expected.join(" or ");
    if wants.iter().all(|w| w.optional) {
        expected.push_str(" or success");
    }
    Some(Err(diverge(first.clause, "the answer is not the error SPEC prescribes", expected, show(ans))))
}

/// A ts in a JSON body.
pub(crate) fn body_stamp(v: Option<&Value>) -> Option<Stamp> {
    v.and_then(|v| Stamp::from_json(v).ok())
}

/// I-01, B-13: every `"modified":` in the raw text is a number with exactly two decimals.
pub(crate) fn two_decimals(text: &str) -> bool {
    text.match_indices("\"modified\"").all(|(at, m)| {
        let rest = text[at + m.len()..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else { return true };
        let rest = rest.trim_start();
        let int = rest.bytes().take_while(u8::is_ascii_digit).count();
        let after = &rest[int..];
        int > 0
            && after.len() >= 3
            && after.as_bytes()[0] == b'.'
            && after.as_bytes()[1..3].iter().all(u8::is_ascii_digit)
            && !after.as_bytes().get(3).is_some_and(u8::is_ascii_digit)
    })
}

/// The T of a successful write as the answer tells it, checked for agreement (D-02, I-01):
/// `body_t` is what the body says (`None` when the body is meant to say nothing, as for a wipe).
pub(crate) fn write_t(ans: &Answer, body_t: Option<Option<Stamp>>, clause: &'static str) -> Result<Stamp, Divergence> {
    let t = answer_t(ans, body_t, clause)?;
    if ans.weave_timestamp != Some(t) {
        return Err(diverge(
            "D-02",
            "X-Weave-Timestamp differs from the write's T",
            t.to_string(),
            format!("{:?}", ans.weave_timestamp.map(|s| s.to_string())),
        ));
    }
    Ok(t)
}

/// The ts a successful answer reports, header and body checked for agreement, without D-02's
/// demand that `X-Weave-Timestamp` equal it: a request that turned out to write nothing (E-09)
/// reports the current storage ts while its `X-Weave-Timestamp` is the server's clock (D-01).
pub(crate) fn answer_t(ans: &Answer, body_t: Option<Option<Stamp>>, clause: &'static str) -> Result<Stamp, Divergence> {
    let Some(t) = ans.last_modified else {
        return Err(diverge("D-02", "a successful write sent no X-Last-Modified", "X-Last-Modified = T", show(ans)));
    };
    if let Some(b) = body_t {
        if b != Some(t) {
            return Err(diverge(clause, "the body's ts and X-Last-Modified disagree", format!("{t} in the body"), show(ans)));
        }
        if !two_decimals(&ans.text) && ans.body.as_ref().is_some_and(Value::is_object) {
            return Err(diverge("I-01", "a modified in the body lacks two decimals", "two decimals", show(ans)));
        }
    }
    Ok(t)
}

/// I-04: a write's T above the previous storage ts; under syncstorage-rs compat, above the
/// collection's ts and not below the storage ts.
pub(crate) fn t_rises(cfg: &ModelConfig, user: &UserState, coll: Option<&str>, t: Stamp) -> Result<(), Divergence> {
    let prev = user.storage_ts;
    let ok = match (cfg.profile, coll) {
        (Profile::SyncstorageRs, Some(c)) => t >= prev && user.colls.get(c).is_none_or(|c| t > c.ts),
        _ => t > prev,
    };
    if ok {
        Ok(())
    } else {
        let expected = match coll.and_then(|c| user.colls.get(c)).filter(|_| cfg.profile == Profile::SyncstorageRs) {
            Some(c) => format!("T above the collection ts {} and at least the storage ts {prev}", c.ts),
            None => format!("T above the previous storage ts {prev}"),
        };
        Err(diverge("I-04", "a successful write did not get a T above the previous ts", expected, t.to_string()))
    }
}

/// E-01, E-02, E-05..E-07: the `success` and `failed` lists against the split the model made.
/// `extra_success` are ids that may also be listed as succeeded (a commit's staged ids).
pub(crate) fn post_lists(
    ans: &Answer,
    success: &[String],
    failed: &BTreeMap<String, Option<&'static str>>,
    extra_success: &[String],
) -> Result<(), Divergence> {
    let body = ans.body.as_ref();
    let got_success: Option<Vec<&str>> = body.and_then(|b| b.get("success")?.as_array()?.iter().map(Value::as_str).collect());
    let got_failed = body.and_then(|b| b.get("failed")?.as_object());
    let (Some(got_success), Some(got_failed)) = (got_success, got_failed) else {
        return Err(diverge(
            "E-01",
            "the POST answer lacks a success list or a failed map",
            "{\"success\": [ids], \"failed\": {id: reason}}",
            show(ans),
        ));
    };
    let mut seen = std::collections::BTreeSet::new();
    for id in &got_success {
        if !seen.insert(*id) || got_failed.contains_key(*id) {
            return Err(diverge("E-01", format!("id {id:?} is listed twice"), "each posted id in exactly one list", show(ans)));
        }
        if !success.iter().any(|s| s == id) && !extra_success.iter().any(|s| s == id) {
            let clause = match failed.get(*id) {
                Some(Some("retry bso")) => "E-05",
                Some(Some(_)) => "E-06",
                Some(None) => "E-01",
                None => "E-01",
            };
            return Err(diverge(
                clause,
                format!("id {id:?} is in success but SPEC fails it (or it was not posted)"),
                format!("{id:?} failed"),
                show(ans),
            ));
        }
    }
    for id in success {
        if !seen.contains(id.as_str()) {
            return Err(diverge("E-02", format!("valid record {id:?} is missing from success"), format!("{id:?} in success"), show(ans)));
        }
    }
    for (id, reason) in failed {
        let Some(got) = got_failed.get(id) else {
            return Err(diverge("E-01", format!("failed record {id:?} is missing from failed"), format!("{id:?} in failed"), show(ans)));
        };
        if let Some(r) = reason
            && got.as_str() != Some(r)
        {
            let clause = if *r == "retry bso" { "E-05" } else { "E-06" };
            return Err(diverge(clause, format!("record {id:?} failed for another reason"), format!("{r:?}"), got.to_string()));
        }
    }
    if let Some(extra) = got_failed.keys().find(|k| !failed.contains_key(*k)) {
        return Err(diverge(
            "E-02",
            format!("record {extra:?} failed although SPEC accepts it (or it was not posted)"),
            "it in success",
            show(ans),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_decimals_reads_raw_text() {
        assert!(two_decimals(r#"{"id":"a","modified": 12.30,"payload":""}"#));
        assert!(!two_decimals(r#"{"id":"a","modified":12.3}"#));
        assert!(!two_decimals(r#"{"modified":12}"#));
        assert!(!two_decimals(r#"{"modified":12.345}"#));
    }
}
