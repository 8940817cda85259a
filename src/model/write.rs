//! Judging and following writes: PUT (A-12, area B), POST (area E), batches (area F) and the
//! deletes, with the timestamp rules of area I.

use serde_json::Value;

use super::check::{
    ErrBody, Want, answer_t, bad_collection, body_stamp, diverge, judge_errors, over_quota, post_lists, request_size, show, t_rises,
    write_t,
};
use super::config::{Divergence, ModelConfig};
use super::judge::Step;
use super::op::{Answer, Request};
use super::record::{Bad, Split, fields, known_bad_crypto, split_post, valid_id};
use super::resolve::{header, param, parse_ts_text, query_pairs};
use super::state::{Batch, BatchState, Coll, Fields, Rec, UserState, World};
use crate::sync::{Profile, Stamp};

/// F-16, where the spec is silent on the lifetime: a batch younger than this (by the server's
/// stamps) must still be usable; an older one may have expired (upstream lifetime is 2 hours, a
/// test target may configure a shorter one, so the model stays permissive past a minute).
pub const BATCH_LIFETIME_FLOOR_CS: i64 = 60 * 100;

/// The errors a precondition header earns against a resource ts `res_ts` (D-05, D-06, D-08, D-09).
pub(crate) fn precondition_wants(req: &Request, res_ts: Stamp) -> Vec<Want> {
    let unmod = header(req, "X-If-Unmodified-Since");
    let modif = header(req, "X-If-Modified-Since");
    let mut w = Vec::new();
    if unmod.is_some() && modif.is_some() {
        w.push(Want::code("D-08", 400, 0));
    }
    if let Some(v) = unmod {
        match parse_ts_text(v) {
            Some(s) if s.0 >= 0 => {
                if res_ts > s {
                    w.push(Want::new("D-06", 412, ErrBody::Empty));
                }
            }
            _ => w.push(Want::code("D-08", 400, 0)),
        }
    }
    if let Some(v) = modif {
        match parse_ts_text(v) {
            // D-05: a write carrying it is processed as if it were absent, or refused.
            Some(s) if s.0 >= 0 => w.push(Want::code("D-05", 400, 0).optional()),
            _ => w.push(Want::code("D-08", 400, 0)),
        }
    }
    w
}

/// The quota refusal a write of `extra` more bytes may or must earn (H-03, H-04, H-08).
fn quota_wants(cfg: &ModelConfig, user: &UserState, now: Stamp, extra: u64, clause: &'static str) -> Vec<Want> {
    let Some(q) = cfg.quota else { return Vec::new() };
    let live = user.live_bytes(now) + extra;
    let recorded = user.colls.values().map(Coll::recorded_bytes).sum::<u64>() + extra;
    if live.max(recorded) >= q { over_quota(cfg, clause, live >= q) } else { Vec::new() }
}

/// The `modified` a delete's body reports: `{"modified": T}`, or a bare number where allowed.
fn delete_body_t(ans: &Answer, bare_ok: bool) -> Option<Stamp> {
    match ans.body.as_ref() {
        Some(Value::Object(o)) => body_stamp(o.get("modified")),
        Some(v @ Value::Number(_)) if bare_ok => body_stamp(Some(v)),
        _ => None,
    }
}

fn want_status(ans: &Answer, status: u16, clause: &'static str) -> Result<(), Divergence> {
    if ans.status == status {
        Ok(())
    } else {
        Err(diverge(clause, "the write was not answered as SPEC prescribes", format!("{status}"), show(ans)))
    }
}

/// D-04: a delete that changed nothing reports the current storage ts.
fn unchanged_ts(ans: &Answer, user: &UserState, clause: &'static str) -> Result<(), Divergence> {
    if ans.last_modified == Some(user.storage_ts) {
        Ok(())
    } else {
        Err(diverge(clause, "a delete that changed nothing must report the current storage ts", user.storage_ts.to_string(), show(ans)))
    }
}

impl World {
    /// Writes `recs` at T `t` into the user's collection, each onto the record live at `now`
    /// (G-05). `keep_ttl_only` says whether a ttl-only entry keeps its `modified` (F-10; PUT and
    /// POST always keep it, E-04).
    fn apply(&mut self, u: usize, coll: &str, recs: &[(String, Fields)], t: Stamp, now: Stamp, keep_ttl_only: bool) {
        let user = self.user_mut(u);
        let c = user.colls.entry(coll.to_owned()).or_insert_with(|| Coll { ts: t, records: Default::default() });
        for (id, f) in recs {
            let before = c.records.get(id).filter(|r| r.live_at(now));
            let mut rec = Rec::written(before, f, t);
            if !keep_ttl_only && before.is_some() && f.ttl_only() {
                rec.modified = t;
            }
            c.records.insert(id.clone(), rec);
        }
        c.ts = t;
        user.storage_ts = user.storage_ts.max(t);
        user.last_write = user.last_write.max(t);
        if let Some(p) = user.paging.get_mut(coll) {
            p.dirty = true;
        }
    }

    /// A collection's removal by a write at `t` (A-09, A-13 leaves the collection).
    fn touch(&mut self, u: usize, coll: &str, t: Stamp) {
        let user = self.user_mut(u);
        if let Some(c) = user.colls.get_mut(coll) {
            c.ts = t;
        }
        user.storage_ts = user.storage_ts.max(t);
        user.last_write = user.last_write.max(t);
        if let Some(p) = user.paging.get_mut(coll) {
            p.dirty = true;
        }
    }

    /// The record live at the step's instant and the errors any request to its URL may earn:
    /// B-15, B-01 (where the spec is silent: an invalid path id gives 404/0), and the
    /// preconditions against the live record's `modified`, else 0 (D-09, G-03).
    pub(crate) fn record_wants(&self, s: &Step<'_>, coll: &str, id: &str) -> (Option<&Rec>, Vec<Want>) {
        let live = self.user(s.u).live_record(coll, id, s.now);
        let mut wants = bad_collection(s.cfg, coll);
        if !valid_id(id) {
            wants.push(Want::code("B-01", 404, 0));
        }
        wants.extend(precondition_wants(s.req, live.map_or(Stamp(0), |r| r.modified)));
        (live, wants)
    }

    pub(crate) fn put(&self, s: &Step<'_>, coll: &str, id: &str) -> Result<Vec<World>, Divergence> {
        let (cfg, req, ans, now, u) = (s.cfg, s.req, s.ans, s.now, s.u);
        let user = self.user(u);
        let (_, mut wants) = self.record_wants(s, coll, id);
        wants.extend(request_size(cfg, req));
        let parsed = match req.body.as_ref() {
            Some(Value::Object(obj)) => {
                match obj.get("id") {
                    Some(Value::String(s)) if !valid_id(s) => wants.push(Want::code("B-04", 400, 8)),
                    // B-04, where the spec is silent: another valid id is ignored or refused.
                    Some(Value::String(s)) if s != id => wants.push(Want::code("B-04", 400, 8).optional()),
                    None | Some(Value::String(_)) => {}
                    Some(_) => wants.push(Want::code("B-04", 400, 8)),
                }
                if known_bad_crypto(coll, obj) {
                    wants.push(Want::code("B-14", 400, 8));
                }
                match fields(obj, &cfg.limits) {
                    Ok(f) => Some(f),
                    Err(Bad::Invalid(c)) => {
                        wants.push(Want::code(c, 400, 8));
                        None
                    }
                    Err(Bad::TooBig) => {
                        wants.push(Want::new("B-06", 413, ErrBody::Any));
                        None
                    }
                    Err(Bad::InvalidAndTooBig(c)) => {
                        wants.push(Want::code(c, 400, 8));
                        wants.push(Want::new("B-06", 413, ErrBody::Any));
                        None
                    }
                }
            }
            _ => {
                wants.push(Want::code("B-16", 400, 8));
                None
            }
        };
        let extra = parsed.as_ref().map_or(0, Fields::payload_bytes);
        wants.extend(quota_wants(cfg, user, now, extra, "H-03"));
        if let Some(r) = judge_errors(&wants, ans) {
            return r.map(|()| vec![self.clone()]);
        }
        want_status(ans, 200, "A-12")?;
        let Some(f) = parsed else { return Err(diverge("A-12", "a refused PUT was answered with success", "an error", show(ans))) };
        if !ans.body.as_ref().is_some_and(Value::is_number) || Stamp::parse(&ans.text).is_err() {
            return Err(diverge("A-12", "a PUT answers T as a bare number with two decimals", "<ts>", show(ans)));
        }
        let t = write_t(ans, Some(body_stamp(ans.body.as_ref())), "A-12")?;
        t_rises(cfg, user, Some(coll), t)?;
        let mut w = self.clone();
        w.apply(u, coll, &[(id.to_owned(), f)], t, now, true);
        Ok(vec![w])
    }

    /// A POST outside a batch, or `batch=true&commit=true` (A-08, E-*, F-08).
    pub(crate) fn post(&self, s: &Step<'_>, coll: &str, immediate_commit: bool) -> Result<Vec<World>, Divergence> {
        let (cfg, ans, now, u) = (s.cfg, s.ans, s.now, s.u);
        let user = self.user(u);
        let (split, mut wants) = self.post_wants(s, coll);
        wants.extend(quota_wants(cfg, user, now, split.as_ref().map_or(0, split_bytes), "H-03"));
        if let Some(r) = judge_errors(&wants, ans) {
            return r.map(|()| vec![self.clone()]);
        }
        want_status(ans, 200, if immediate_commit { "F-08" } else { "E-01" })?;
        let split = split.unwrap_or_default();
        post_lists(ans, &ids_of(&split.accepted), &split.failed, &[])?;
        if immediate_commit && ans.body.as_ref().is_some_and(|b| b.get("batch").is_some()) {
            return Err(diverge("F-08", "batch=true&commit=true is a plain POST and has no batch key", "no batch key", show(ans)));
        }
        let body_t = Some(body_stamp(ans.body.as_ref().and_then(|b| b.get("modified"))));
        // E-09: storing nothing in an absent collection leaves the storage ts. Where the spec is
        // silent on the answer: it reports the current storage ts (D-04's rule for deletes, the
        // reference's choice) or a fresh T as any write would (D-02); neither moves the model.
        if split.accepted.is_empty() && !user.colls.contains_key(coll) {
            noop_t(ans, body_t, user, "E-01")?;
            return Ok(vec![self.clone()]);
        }
        let t = write_t(ans, body_t, "E-01")?;
        let mut w = self.clone();
        t_rises(cfg, user, Some(coll), t)?;
        w.apply(u, coll, &split.accepted, t, now, true);
        Ok(vec![w])
    }

    /// The split of a POST body and the whole-request errors of any POST (B-15, D-06, E-10).
    fn post_wants(&self, s: &Step<'_>, coll: &str) -> (Option<Split>, Vec<Want>) {
        let (cfg, req, u) = (s.cfg, s.req, s.u);
        let mut wants = bad_collection(cfg, coll);
        wants.extend(request_size(cfg, req));
        wants.extend(precondition_wants(req, self.user(u).coll_ts(coll)));
        let split = match split_post(coll, req.body.as_ref(), &cfg.limits) {
            Ok(s) => Some(s),
            Err(clause) => {
                wants.push(Want::code(clause, 400, 8));
                None
            }
        };
        (split, wants)
    }

    /// `?batch=true` (F-01).
    pub(crate) fn batch_start(&self, s: &Step<'_>, coll: &str) -> Result<Vec<World>, Divergence> {
        let (cfg, ans, ws, now, u) = (s.cfg, s.ans, s.ws, s.now, s.u);
        let user = self.user(u);
        let (split, mut wants) = self.post_wants(s, coll);
        if let Some(s) = &split {
            wants.extend(quota_wants(cfg, user, now, split_bytes(s), "F-21"));
            if s.accepted.len() as u64 > cfg.limits.max_total_records || split_bytes(s) > cfg.limits.max_total_bytes {
                wants.push(Want::code("F-17", 400, 17));
            }
        }
        if let Some(r) = judge_errors(&wants, ans) {
            return r.map(|()| vec![self.refused_start(u, coll)]);
        }
        want_status(ans, 202, "F-01")?;
        let split = split.unwrap_or_default();
        post_lists(ans, &ids_of(&split.accepted), &split.failed, &[])?;
        let Some(id) = ans.body.as_ref().and_then(|b| batch_id(b.get("batch")?)) else {
            return Err(diverge("F-01", "a batch start gave no batch id", "{\"batch\": id, ...}", show(ans)));
        };
        unmoved(ans, user, coll)?;
        let mut w = self.clone();
        let mut staged = std::collections::BTreeMap::new();
        for (rid, f) in split.accepted {
            staged.insert(rid, f);
        }
        w.batches.push(Batch { id, user: u, coll: coll.to_owned(), opened: ws, staged, state: BatchState::Open });
        Ok(vec![w])
    }

    /// This state with a refused batch start recorded in the numbering of batch starts.
    pub(crate) fn refused_start(&self, u: usize, coll: &str) -> World {
        let mut w = self.clone();
        let id = super::resolve::UNKNOWN_BATCH.to_owned();
        w.batches.push(Batch {
            id,
            user: u,
            coll: coll.to_owned(),
            opened: Stamp(0),
            staged: Default::default(),
            state: BatchState::Refused,
        });
        w
    }

    /// `?batch=<id>`, with or without `commit=true` (F-03..F-06, F-09..F-19).
    pub(crate) fn batch_continue(&self, s: &Step<'_>, coll: &str, commit: bool) -> Result<Vec<World>, Divergence> {
        let (cfg, req, ans, now, u) = (s.cfg, s.req, s.ans, s.now, s.u);
        let user = self.user(u);
        let pairs = query_pairs(&req.path);
        let id = param(&pairs, "batch").unwrap_or_default();
        let idx = self.batches.iter().position(|b| b.id == id && b.user == u && b.coll == coll);
        let (split, mut wants) = self.post_wants(s, coll);
        let mut aged = false;
        match idx.map(|i| &self.batches[i]) {
            // F-14: another user's or collection's batch; it stays usable by its owner.
            None if self.batches.iter().any(|b| b.id == id) => wants.push(Want::new("F-14", 400, ErrBody::AnyCode)),
            None => wants.push(Want::code("F-13", 400, 0)),
            Some(b) => match b.state {
                BatchState::Spent => wants.push(Want::new("F-15", 400, ErrBody::AnyCode)),
                BatchState::Discarded => wants.push(Want::new("F-19", 400, ErrBody::AnyCode)),
                BatchState::Expired => wants.push(Want::code("F-16", 400, 0)),
                BatchState::Refused => wants.push(Want::code("F-13", 400, 0)),
                BatchState::Open => {
                    aged = now.0 - b.opened.0 >= BATCH_LIFETIME_FLOOR_CS;
                    if aged {
                        wants.push(Want::code("F-16", 400, 0).optional());
                    }
                }
            },
        }
        let batch = idx.map(|i| &self.batches[i]);
        if let (Some(s), Some(b)) = (&split, batch) {
            let mut merged = b.staged.clone();
            for (rid, f) in &s.accepted {
                merged.entry(rid.clone()).or_default().merge(f);
            }
            let bytes: u64 = merged.values().map(Fields::payload_bytes).sum();
            if merged.len() as u64 > cfg.limits.max_total_records || bytes > cfg.limits.max_total_bytes {
                wants.push(Want::code("F-17", 400, 17));
            }
            // H-08: an append is judged on committed usage plus staged and requested bytes;
            // F-21: whether a commit re-checks is the server's choice.
            let mut q = quota_wants(cfg, user, now, bytes, if commit { "F-21" } else { "H-08" });
            if commit {
                q.iter_mut().for_each(|w| w.optional = true);
            }
            wants.extend(q);
        }
        if let Some(r) = judge_errors(&wants, ans) {
            let mut w = self.clone();
            if let (Some(i), true, Some(0)) = (idx, aged, super::check::error_code(ans)) {
                w.batches[i].state = BatchState::Expired;
            }
            return r.map(|()| vec![w]);
        }
        let (Some(i), Some(split)) = (idx, split) else {
            return Err(diverge("F-13", "a batch step the model refuses was answered with success", "400", show(ans)));
        };
        let b = &self.batches[i];
        if !commit {
            want_status(ans, 202, "F-03")?;
            post_lists(ans, &ids_of(&split.accepted), &split.failed, &[])?;
            if let Some(got) = ans.body.as_ref().and_then(|v| v.get("batch"))
                && batch_id(got).as_deref() != Some(b.id.as_str())
            {
                return Err(diverge("F-03", "an append names another batch", b.id.clone(), got.to_string()));
            }
            unmoved(ans, user, coll)?;
            let mut w = self.clone();
            for (rid, f) in split.accepted {
                w.batches[i].staged.entry(rid).or_default().merge(&f);
            }
            return Ok(vec![w]);
        }
        want_status(ans, 200, "F-05")?;
        let staged_ids: Vec<String> = b.staged.keys().cloned().collect();
        post_lists(ans, &ids_of(&split.accepted), &split.failed, &staged_ids)?;
        let body_t = Some(body_stamp(ans.body.as_ref().and_then(|v| v.get("modified"))));
        let empty = b.staged.is_empty() && split.accepted.is_empty();
        if empty && !user.colls.contains_key(coll) && ans.weave_timestamp != ans.last_modified {
            // E-09: an empty commit in an absent collection that wrote nothing reports the
            // storage ts; its X-Weave-Timestamp is the clock (D-01).
            noop_t(ans, body_t, user, "F-05")?;
            let mut w = self.clone();
            w.batches[i].state = BatchState::Spent;
            return Ok(vec![w]);
        }
        let t = write_t(ans, body_t, "F-05")?;
        // F-06: body records apply after the staged ones, as a second write at the same T.
        let staged: Vec<(String, Fields)> = b.staged.iter().map(|(k, f)| (k.clone(), f.clone())).collect();
        let ttl_only_live =
            staged.iter().chain(split.accepted.iter()).any(|(rid, f)| f.ttl_only() && user.live_record(coll, rid, now).is_some());
        let knobs: Vec<Option<bool>> = match (self.ttl_only_commit_takes_t, ttl_only_live) {
            (None, true) => vec![Some(false), Some(true)],
            (k, _) => vec![k],
        };
        let mut out = Vec::new();
        let mut err = None;
        for knob in knobs {
            let mut w = self.clone();
            w.ttl_only_commit_takes_t = knob;
            w.batches[i].state = BatchState::Spent;
            // F-20/K-06 make a commit real; E-09 leaves an empty one without effect: an empty
            // commit in an absent collection may do either.
            if empty && !user.colls.contains_key(coll) {
                out.push(w.clone());
            }
            if let Err(d) = t_rises(cfg, user, Some(coll), t) {
                err.get_or_insert(d);
                continue;
            }
            let keep = knob != Some(true);
            w.apply(u, coll, &staged, t, now, keep);
            w.apply(u, coll, &split.accepted, t, now, keep);
            out.push(w);
        }
        if out.is_empty() {
            Err(err.unwrap_or_else(|| diverge("F-05", "no outcome of the commit fits", "a commit", show(ans))))
        } else {
            Ok(out)
        }
    }

    pub(crate) fn delete_record(&self, s: &Step<'_>, coll: &str, id: &str) -> Result<Vec<World>, Divergence> {
        let (cfg, ans, u) = (s.cfg, s.ans, s.u);
        let user = self.user(u);
        let (live, mut wants) = self.record_wants(s, coll, id);
        if live.is_none() {
            // A-13, G-04: a missing or expired record.
            wants.push(Want::code("A-13", 404, 0));
        }
        if let Some(r) = judge_errors(&wants, ans) {
            return r.map(|()| vec![self.clone()]);
        }
        want_status(ans, 200, "A-13")?;
        let t = write_t(ans, Some(delete_body_t(ans, false)), "A-13")?;
        t_rises(cfg, user, Some(coll), t)?;
        let mut w = self.clone();
        if let Some(c) = w.user_mut(u).colls.get_mut(coll) {
            c.records.remove(id);
        }
        w.touch(u, coll, t);
        Ok(vec![w])
    }

    pub(crate) fn delete_ids(&self, s: &Step<'_>, coll: &str) -> Result<Vec<World>, Divergence> {
        let (cfg, req, ans, u) = (s.cfg, s.req, s.ans, s.u);
        let user = self.user(u);
        let pairs = query_pairs(&req.path);
        let ids: Vec<&str> = param(&pairs, "ids").unwrap_or_default().split(',').filter(|s| !s.is_empty()).collect();
        let mut wants = bad_collection(cfg, coll);
        if ids.iter().any(|id| !valid_id(id)) {
            wants.push(Want::code("B-02", 400, 0));
        }
        if ids.len() > 100 {
            wants.push(Want::code("C-01", 400, 0));
        }
        if ids.is_empty() {
            // C-02, where the spec is silent: an empty `ids=` removes nothing, or is refused.
            wants.push(Want::code("C-02", 400, 0).optional());
        }
        if let Some(r) = judge_errors(&wants, ans) {
            return r.map(|()| vec![self.clone()]);
        }
        want_status(ans, 200, "A-10")?;
        let exists = user.colls.contains_key(coll);
        if !exists || (ids.is_empty() && ans.last_modified == Some(user.storage_ts)) {
            // A-10, E-09: an absent collection is not created and no ts moves.
            unchanged_ts(ans, user, "D-04")?;
            return Ok(vec![self.clone()]);
        }
        let t = write_t(ans, Some(delete_body_t(ans, cfg.profile == Profile::SyncstorageRs)), "A-10")?;
        t_rises(cfg, user, Some(coll), t)?;
        let mut w = self.clone();
        if let Some(c) = w.user_mut(u).colls.get_mut(coll) {
            for id in &ids {
                c.records.remove(*id);
            }
        }
        w.touch(u, coll, t);
        Ok(vec![w])
    }

    pub(crate) fn delete_collection(&self, s: &Step<'_>, coll: &str) -> Result<Vec<World>, Divergence> {
        let (cfg, ans, u) = (s.cfg, s.ans, s.u);
        let user = self.user(u);
        let wants = bad_collection(cfg, coll);
        if let Some(r) = judge_errors(&wants, ans) {
            return r.map(|()| vec![self.clone()]);
        }
        want_status(ans, 200, "A-09")?;
        let mut w = self.clone();
        // F-19: open batches go with the collection, placeholder-only ones too (K-09).
        w.discard_batches(u, Some(coll));
        w.user_mut(u).paging.remove(coll);
        if !user.colls.contains_key(coll) {
            unchanged_ts(ans, user, "D-04")?;
            return Ok(vec![w]);
        }
        // A-09, where the spec is silent: the body reports the ts, as an object or a bare number.
        let t = write_t(ans, Some(delete_body_t(ans, true)), "A-09")?;
        t_rises(cfg, user, Some(coll), t)?;
        let wu = w.user_mut(u);
        wu.colls.remove(coll);
        wu.storage_ts = wu.storage_ts.max(t);
        wu.last_write = wu.last_write.max(t);
        Ok(vec![w])
    }

    /// A-14, I-07. Where the spec is silent: when the storage ts was 0 (nothing ever written),
    /// K-10 writes no tombstone, so the storage ts may stay 0 or become T; both are kept. Such a
    /// wipe changed nothing, so it may also answer as a no-op (E-09, D-04): `X-Last-Modified`
    /// 0.00 and `X-Weave-Timestamp` the clock (the reference's choice).
    pub(crate) fn delete_storage(&self, s: &Step<'_>) -> Result<Vec<World>, Divergence> {
        let (cfg, ans, u) = (s.cfg, s.ans, s.u);
        let user = self.user(u);
        want_status(ans, 200, "A-14")?;
        let was_empty = user.storage_ts == Stamp(0);
        let noop = was_empty && ans.last_modified == Some(Stamp(0));
        let t = if noop { answer_t(ans, None, "A-14")? } else { write_t(ans, None, "A-14")? };
        let mut w = self.clone();
        w.discard_batches(u, None);
        let wu = w.user_mut(u);
        wu.colls.clear();
        wu.paging.clear();
        if noop {
            return Ok(vec![w]);
        }
        t_rises(cfg, user, None, t)?;
        wu.last_write = wu.last_write.max(t);
        let zero = w.clone();
        w.user_mut(u).storage_ts = t;
        if was_empty {
            return Ok(vec![w, zero]);
        }
        Ok(vec![w])
    }
}

/// F-02: a batch id is opaque; a string, or a number taken as its text.
fn batch_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// E-09: the answer to a write that stored nothing reports the storage ts it left unchanged, or
/// a T that agrees with `X-Weave-Timestamp` and lies above it (D-02, I-04).
fn noop_t(ans: &Answer, body_t: Option<Option<Stamp>>, user: &UserState, clause: &'static str) -> Result<(), Divergence> {
    let t = answer_t(ans, body_t, clause)?;
    if t == user.storage_ts || (ans.weave_timestamp == Some(t) && t > user.storage_ts) {
        return Ok(());
    }
    Err(diverge(
        "E-09",
        "a write that stored nothing reported neither the storage ts nor its own T",
        format!("{} or X-Weave-Timestamp", user.storage_ts),
        show(ans),
    ))
}

fn ids_of(recs: &[(String, Fields)]) -> Vec<String> {
    recs.iter().map(|(id, _)| id.clone()).collect()
}

fn split_bytes(s: &Split) -> u64 {
    s.accepted.iter().map(|(_, f)| f.payload_bytes()).sum()
}

/// F-01, I-08: a batch start or append moves no ts; its `X-Last-Modified` stays the collection's.
fn unmoved(ans: &Answer, user: &UserState, coll: &str) -> Result<(), Divergence> {
    match ans.last_modified {
        Some(lm) if lm != user.coll_ts(coll) => {
            Err(diverge("I-08", "a batch start or append moved X-Last-Modified", user.coll_ts(coll).to_string(), lm.to_string()))
        }
        _ => Ok(()),
    }
}
