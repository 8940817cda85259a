//! Judging reads: a record (A-11, B-13), a listing (A-07, area C) and the info views (A-01,
//! A-03..A-05, H-06). Reads change nothing but the paging position.

use std::collections::BTreeSet;

use serde_json::Value;

use super::check::{Want, bad_collection, body_stamp, diverge, judge_errors, show, two_decimals};
use super::config::{CLOCK_SLACK_CS, Divergence};
use super::judge::Step;
use super::op::InfoView;
use super::record::valid_id;
use super::resolve::{param, query_pairs};
use super::state::{Paging, Rec, World};
use crate::sync::{Profile, Stamp};

/// Keys a record may show (B-13): never `ttl` or internals.
const BSO_KEYS: [&str; 4] = ["id", "modified", "payload", "sortindex"];

/// A-11, B-13: a record object as the model holds it.
fn check_bso(v: &Value, id: &str, rec: &Rec) -> Result<(), Divergence> {
    let Some(obj) = v.as_object() else {
        return Err(diverge("B-13", "a record is not an object", "{id, modified, payload}", v.to_string()));
    };
    if let Some(k) = obj.keys().find(|k| !BSO_KEYS.contains(&k.as_str())) {
        return Err(diverge(
            "B-13",
            format!("record {id:?} shows the field {k:?}"),
            "only id, modified, payload, sortindex",
            v.to_string(),
        ));
    }
    let expected = {
        let mut e = serde_json::json!({"id": id, "modified": rec.modified.to_string(), "payload": rec.payload});
        if let Some(s) = rec.sortindex {
            e["sortindex"] = s.into();
        }
        e.to_string()
    };
    let ok = obj.get("id").and_then(Value::as_str) == Some(id)
        && body_stamp(obj.get("modified")) == Some(rec.modified)
        && obj.get("payload").and_then(Value::as_str) == Some(rec.payload.as_str())
        && match rec.sortindex {
            Some(s) => obj.get("sortindex").and_then(Value::as_i64) == Some(s),
            // B-13: an unset sortindex is absent, not null.
            None => !obj.contains_key("sortindex"),
        };
    if ok { Ok(()) } else { Err(diverge("A-11", format!("record {id:?} differs from what was written"), expected, v.to_string())) }
}

/// C-03, C-04, I-10: a non-negative decimal, finer digits truncated to hundredths.
fn query_ts(s: &str) -> Option<Stamp> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents: i64 = format!("{frac:0<2}")[..2].parse().ok()?;
    Some(Stamp(int.parse::<i64>().ok()?.checked_mul(100)? + cents))
}

/// C-10: a next offset in the urlsafe-base64 alphabet; compat: `<int>` or `<int>:<int>`.
fn offset_ok(profile: Profile, t: &str) -> bool {
    let b64 = !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"_=-".contains(&b));
    let compat = || {
        let mut parts = t.split(':');
        let num = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        num(parts.next()) && parts.next().is_none_or(|p| num(Some(p))) && parts.next().is_none()
    };
    b64 || (profile == Profile::SyncstorageRs && compat())
}

/// C-09: `newest` by `modified` descending, `oldest` ascending, `index` by sortindex descending
/// among records that have one (ties and records without a sortindex may go anywhere).
fn in_order(sort: Option<&str>, recs: &[&Rec]) -> bool {
    match sort {
        Some("newest") => recs.windows(2).all(|w| w[0].modified >= w[1].modified),
        Some("oldest") => recs.windows(2).all(|w| w[0].modified <= w[1].modified),
        Some("index") => {
            let idx: Vec<i64> = recs.iter().filter_map(|r| r.sortindex).collect();
            idx.windows(2).all(|w| w[0] >= w[1])
        }
        _ => true,
    }
}

/// KB figures are compared to two decimals.
fn kb_eq(got: Option<f64>, bytes: u64) -> bool {
    got.is_some_and(|g| (g - bytes as f64 / 1024.0).abs() < 0.005 + 1e-9)
}

/// The filters of a listing as sent.
struct Filters {
    ids: Option<BTreeSet<String>>,
    newer: Option<Stamp>,
    older: Option<Stamp>,
    sort: Option<String>,
    limit: Option<u64>,
}

impl Filters {
    fn keeps(&self, id: &str, r: &Rec) -> bool {
        self.ids.as_ref().is_none_or(|s| s.contains(id))
            && self.newer.is_none_or(|n| r.modified > n)
            && self.older.is_none_or(|o| r.modified < o)
    }
}

impl World {
    pub(crate) fn get(&self, s: &Step<'_>, coll: &str, id: &str) -> Result<Vec<World>, Divergence> {
        let (rec, mut wants) = self.record_wants(s, coll, id);
        if rec.is_none() {
            // A-11, G-02: missing or expired.
            wants.push(Want::code("A-11", 404, 0));
        }
        if let Some(r) = judge_errors(&wants, s.ans) {
            return r.map(|()| vec![self.clone()]);
        }
        let Some(rec) = rec else { return Err(diverge("A-11", "a missing record was served", "404 with body 0", show(s.ans))) };
        if s.ans.status != 200 {
            return Err(diverge("A-11", "a live record was not served", "200", show(s.ans)));
        }
        check_bso(s.ans.body.as_ref().unwrap_or(&Value::Null), id, rec)?;
        if !two_decimals(&s.ans.text) {
            return Err(diverge("B-13", "modified lacks two decimals in the text", "\"modified\": <ts with two decimals>", show(s.ans)));
        }
        if s.ans.last_modified != Some(rec.modified) {
            return Err(diverge("D-03", "a record read must send its modified as X-Last-Modified", rec.modified.to_string(), show(s.ans)));
        }
        if s.ws < rec.modified {
            return Err(diverge("I-09", "X-Weave-Timestamp is below the record's modified", rec.modified.to_string(), s.ws.to_string()));
        }
        Ok(vec![self.clone()])
    }

    pub(crate) fn list(&self, s: &Step<'_>, coll: &str) -> Result<Vec<World>, Divergence> {
        let user = self.user(s.u);
        let pairs = query_pairs(&s.req.path);
        let mut wants = bad_collection(s.cfg, coll);
        let bad = |c| Want::code(c, 400, 0);
        let ids: Option<Vec<String>> = param(&pairs, "ids").map(|v| v.split(',').filter(|x| !x.is_empty()).map(str::to_owned).collect());
        if let Some(ids) = &ids {
            if ids.iter().any(|i| !valid_id(i)) {
                wants.push(bad("B-02"));
            }
            if ids.len() > 100 {
                wants.push(bad("C-01"));
            }
        }
        let mut ts_param = |name, clause| match param(&pairs, name) {
            None => None,
            Some(v) => {
                let t = query_ts(v);
                if t.is_none() {
                    wants.push(bad(clause));
                }
                t
            }
        };
        let newer = ts_param("newer", "C-03");
        let older = ts_param("older", "C-04");
        let sort = param(&pairs, "sort").map(str::to_owned);
        if sort.as_deref().is_some_and(|v| !["newest", "oldest", "index"].contains(&v)) {
            wants.push(bad("C-09"));
        }
        let limit = param(&pairs, "limit").map(|v| v.parse::<u64>().ok());
        match limit {
            Some(None) => wants.push(bad("C-07")),
            // C-07, where the spec is silent on 0: refused, or a page that still obeys C-11.
            Some(Some(0)) => wants.push(bad("C-07").optional()),
            _ => {}
        }
        let limit = limit.flatten();
        let offset = param(&pairs, "offset");
        let base: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "limit" && k != "offset").cloned().collect();
        let paging = user.paging.get(coll);
        let continuing = offset.is_some() && paging.is_some_and(|p| p.next.as_deref() == offset && p.query == base);
        if let (Some(o), false) = (offset, continuing) {
            if offset_ok(Profile::Spec, o) {
                // C-13, where the spec is silent: a token the server did not hand out for this
                // query gets 400/0 or a well-formed page.
                wants.push(bad("C-13").optional());
            } else {
                wants.push(bad("C-10"));
            }
        }
        if let Some(r) = judge_errors(&wants, s.ans) {
            return r.map(|()| vec![self.clone()]);
        }
        let ans = s.ans;
        if ans.status != 200 {
            return Err(diverge("A-07", "a listing was not served", "200", show(ans)));
        }
        let coll_ts = user.coll_ts(coll);
        if ans.last_modified != Some(coll_ts) {
            return Err(diverge(
                "A-07",
                "a listing must send the collection ts as X-Last-Modified (0.00 when absent)",
                coll_ts.to_string(),
                show(ans),
            ));
        }
        let Some(items) = ans.body.as_ref().and_then(Value::as_array) else {
            return Err(diverge("A-07", "a listing is a JSON array", "[...]", show(ans)));
        };
        if ans.records != Some(items.len() as u64) {
            return Err(diverge(
                "C-16",
                "X-Weave-Records must count this response's items",
                items.len().to_string(),
                format!("{:?}", ans.records),
            ));
        }
        if let Some(n) = &ans.next_offset
            && !offset_ok(s.cfg.profile, n)
        {
            return Err(diverge("C-10", "a next offset outside the urlsafe-base64 alphabet", "^[A-Za-z0-9_=-]+$", n.clone()));
        }
        let full = param(&pairs, "full").is_some();
        let empty = Default::default();
        let records = user.colls.get(coll).map_or(&empty, |c| &c.records);
        let filters = Filters { ids: ids.map(|v| v.into_iter().collect()), newer, older, sort, limit };
        let mut page: Vec<String> = Vec::with_capacity(items.len());
        for item in items {
            let id = if full { item.get("id").and_then(Value::as_str) } else { item.as_str() };
            let Some(id) = id else {
                return Err(diverge(
                    if full { "B-13" } else { "A-07" },
                    "a listing item has no id",
                    if full { "records" } else { "id strings" },
                    item.to_string(),
                ));
            };
            let Some(rec) = records.get(id) else {
                return Err(diverge("A-07", format!("the listing holds {id:?}, never stored"), "stored ids only", show(ans)));
            };
            if !rec.live_at(s.now) {
                return Err(diverge("C-15", format!("the listing holds the expired record {id:?}"), "live records only", show(ans)));
            }
            if !filters.keeps(id, rec) {
                return Err(diverge(
                    "C-03",
                    format!("the listing holds {id:?}, which the ids/newer/older filters exclude"),
                    "matches only",
                    show(ans),
                ));
            }
            if full {
                check_bso(item, id, rec)?;
            }
            if page.iter().any(|p| p == id) {
                return Err(diverge("C-12", format!("{id:?} is listed twice"), "each match once", show(ans)));
            }
            page.push(id.to_owned());
        }
        if full && !two_decimals(&ans.text) {
            return Err(diverge("B-13", "modified lacks two decimals in the text", "two decimals", show(ans)));
        }
        let slack = if s.cfg.test_clock { 0 } else { CLOCK_SLACK_CS };
        let clean = match (continuing, paging) {
            (true, Some(p)) => {
                !p.dirty && !records.values().filter_map(|r| r.expiry).any(|e| e > p.since.plus_cs(-slack) && e <= s.ws.plus_cs(slack))
            }
            _ => offset.is_none(),
        };
        let seen: &[String] = if continuing { paging.map_or(&[], |p| p.seen.as_slice()) } else { &[] };
        let mut order: Vec<&Rec> = if clean { seen.iter().filter_map(|id| records.get(id)).collect() } else { Vec::new() };
        order.extend(page.iter().filter_map(|id| records.get(id)));
        if !in_order(filters.sort.as_deref(), &order) {
            return Err(diverge(
                "C-09",
                "the listing is not in the order its sort asks for",
                format!("sort={}", filters.sort.clone().unwrap_or_default()),
                show(ans),
            ));
        }
        if let Some(dup) = page.iter().find(|id| seen.contains(id)) {
            if clean {
                return Err(diverge("C-12", format!("{dup:?} came on an earlier page already"), "each match once across pages", show(ans)));
            }
        }
        let next = ans.next_offset.is_some();
        if next && page.is_empty() {
            return Err(diverge("C-11", "a page with a next offset holds no item", "at least one item", show(ans)));
        }
        if clean {
            let remaining = records.iter().filter(|(id, r)| r.live_at(s.now) && filters.keeps(id, r) && !seen.contains(id)).count();
            let expect = filters.limit.map_or(remaining, |l| remaining.min(l as usize));
            let capped = filters.limit.is_none() && next && page.len() < remaining;
            if page.len() != expect && !capped {
                return Err(diverge(
                    "C-11",
                    "the page does not hold every remaining match up to the limit",
                    format!("{expect} items"),
                    format!("{} items", page.len()),
                ));
            }
            let more = page.len() < remaining;
            if more != next && !capped {
                return Err(diverge(
                    "C-11",
                    "a next offset must come exactly when more matches remain",
                    format!("next offset: {more}"),
                    format!("next offset: {next}"),
                ));
            }
        } else if filters.limit.is_some_and(|l| page.len() as u64 > l) {
            return Err(diverge(
                "C-07",
                "the page holds more items than the limit",
                format!("at most {:?}", filters.limit),
                page.len().to_string(),
            ));
        }
        let mut w = self.clone();
        let wu = w.user_mut(s.u);
        match (&ans.next_offset, continuing) {
            (None, _) => {
                wu.paging.remove(coll);
            }
            (Some(n), true) => {
                if let Some(p) = wu.paging.get_mut(coll) {
                    p.seen.extend(page);
                    p.next = Some(n.clone());
                    p.dirty |= !clean;
                }
            }
            (Some(n), false) => {
                wu.paging.insert(coll.to_owned(), Paging { query: base, next: Some(n.clone()), seen: page, since: s.ws, dirty: !clean });
            }
        }
        Ok(vec![w])
    }

    pub(crate) fn info(&self, s: &Step<'_>, view: InfoView) -> Result<Vec<World>, Divergence> {
        let (ans, user, now) = (s.ans, self.user(s.u), s.now);
        if ans.status != 200 {
            return Err(diverge("A-01", "an info view was not served", "200", show(ans)));
        }
        if ans.last_modified != Some(user.storage_ts) {
            return Err(diverge(
                "D-03",
                "an info view must send the storage ts as X-Last-Modified",
                user.storage_ts.to_string(),
                show(ans),
            ));
        }
        let map = || {
            ans.body.as_ref().and_then(Value::as_object).ok_or_else(|| diverge("A-01", "an info view is a JSON object", "{...}", show(ans)))
        };
        let entries = |n: usize| {
            if ans.records == Some(n as u64) {
                Ok(())
            } else {
                Err(diverge("D-19", "X-Weave-Records must count the entries", n.to_string(), format!("{:?}", ans.records)))
            }
        };
        match view {
            InfoView::Collections => {
                let m = map()?;
                let want: Vec<(&String, Stamp)> = user.colls.iter().map(|(k, c)| (k, c.ts)).collect();
                let same = m.len() == want.len() && want.iter().all(|(k, ts)| body_stamp(m.get(k.as_str())) == Some(*ts));
                if !same {
                    let expected: Vec<String> = want.iter().map(|(k, ts)| format!("{k}: {ts}")).collect();
                    return Err(diverge("A-01", "info/collections differs from the collections written", expected.join(", "), show(ans)));
                }
                entries(m.len())
            }
            InfoView::Counts | InfoView::Usage => {
                let m = map()?;
                let counts = view == InfoView::Counts;
                let (clause, what) = if counts { ("A-05", "live record counts") } else { ("A-04", "live payload KB") };
                for (name, c) in &user.colls {
                    let n = c.live(now).count();
                    let bytes = c.live_bytes(now);
                    let got = m.get(name.as_str());
                    let ok = match (counts, n) {
                        // where the spec is silent: no live records: absent or 0.
                        (_, 0) => got.is_none_or(|v| v.as_f64() == Some(0.0)),
                        (true, n) => got.and_then(Value::as_u64) == Some(n as u64),
                        (false, _) => kb_eq(got.and_then(Value::as_f64), bytes),
                    };
                    if !ok {
                        let expected = if counts { n.to_string() } else { format!("{:.2}", bytes as f64 / 1024.0) };
                        return Err(diverge(clause, format!("{name}: not the {what}"), expected, show(ans)));
                    }
                }
                if let Some(k) = m.keys().find(|k| !user.colls.contains_key(*k) && m[*k].as_f64() != Some(0.0)) {
                    return Err(diverge(clause, format!("{k} is listed but holds nothing"), format!("no {k}"), show(ans)));
                }
                entries(m.len())
            }
            InfoView::Quota => {
                let arr = ans.body.as_ref().and_then(Value::as_array).filter(|a| a.len() == 2);
                let Some(arr) = arr else { return Err(diverge("A-03", "info/quota is [used, quota]", "[used, quota]", show(ans))) };
                let live = user.live_bytes(now);
                if !kb_eq(arr[0].as_f64(), live) {
                    return Err(diverge(
                        "A-03",
                        "the used figure is not the live payload KB",
                        format!("{:.2}", live as f64 / 1024.0),
                        show(ans),
                    ));
                }
                let limit_ok = match s.cfg.quota {
                    Some(q) => kb_eq(arr[1].as_f64(), q) || (s.cfg.profile == Profile::SyncstorageRs && arr[1].is_null()),
                    None => arr[1].is_null(),
                };
                if !limit_ok {
                    let expected = s.cfg.quota.map_or_else(|| "null".to_owned(), |q| format!("{:.2}", q as f64 / 1024.0));
                    return Err(diverge("H-06", "the second element is the enforced limit in KB, else null", expected, show(ans)));
                }
                Ok(())
            }
        }
        .map(|()| vec![self.clone()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_and_tokens() {
        assert_eq!(query_ts("12.345"), Some(Stamp(1234)));
        assert_eq!(query_ts("12"), Some(Stamp(1200)));
        assert_eq!(query_ts("-1.00"), None);
        assert_eq!(query_ts("abc"), None);
        assert!(offset_ok(Profile::Spec, "MTIz_-="));
        assert!(!offset_ok(Profile::Spec, "12:34"));
        assert!(offset_ok(Profile::SyncstorageRs, "12:34"));
        assert!(!offset_ok(Profile::SyncstorageRs, "!!junk!!"));
    }
}
