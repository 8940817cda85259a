//! The model's public face: set-up, resolving operations, judging answers, and the read
//! accessors the generator steers by.
//!
//! The model keeps a small set of possible server states ([`World`]). Most answers leave one;
//! where the server's clock makes an outcome open (an expiry close to the answer's stamp) or
//! SPEC lets the server choose something a later read reveals (F-10, A-14 on an empty storage),
//! each possibility is kept until an answer rules it out. An answer is allowed when at least
//! one possible state allows it.

use super::check::{diverge, show};
use super::config::{CLOCK_SLACK_CS, Divergence, ModelConfig};
use super::op::{Answer, Op, Request};
use super::state::{BatchState, World};
use crate::sync::Stamp;

/// The most possible states kept; beyond it the latest forks are dropped (a run that needs more
/// is one with many writes landing on records within a second of their expiry).
pub const MAX_WORLDS: usize = 32;

/// The model of every fuzz user's storage.
#[derive(Debug, Clone)]
pub struct Model {
    config: ModelConfig,
    /// Never empty; the first is the one symbols resolve against.
    worlds: Vec<World>,
}

impl Model {
    pub fn new(config: ModelConfig) -> Self {
        let worlds = vec![World::new(config.users)];
        Self { config, worlds }
    }

    fn world(&self) -> &World {
        &self.worlds[0]
    }

    /// The request `op` stands for now (symbols resolved against what the model has learnt).
    ///
    /// [`Op::Wait`] resolves to method `"WAIT"`, an empty path and no user: it is not HTTP; the
    /// driver moves the test clock or sleeps, and hands back any answer (it is not judged).
    /// [`crate::model::BatchRef::Opened`] out of range sends a well-formed id no server handed
    /// out; [`crate::model::OffsetRef::Next`] with no next offset known sends no offset.
    pub fn resolve(&self, op: &Op) -> Request {
        self.world().resolve(op)
    }

    /// Checks `answer` to `req` (the resolution of `op`) against SPEC and, when allowed, updates
    /// the model to follow it.
    pub fn observe(&mut self, op: &Op, req: &Request, answer: &Answer) -> Result<(), Divergence> {
        if matches!(op, Op::Wait { .. }) {
            return Ok(());
        }
        let ws = general(answer)?;
        let mut next: Vec<World> = Vec::new();
        let mut first_err = None;
        for world in &self.worlds {
            let user = op_user(op);
            let base = match answer.last_modified {
                Some(t) if is_write(op) && (200..300).contains(&answer.status) => t,
                _ => ws,
            };
            for now in self.instants(world, user, base) {
                match world.step(&self.config, op, req, answer, ws, now) {
                    Ok(worlds) => {
                        for w in worlds {
                            if !next.contains(&w) {
                                next.push(w);
                            }
                        }
                    }
                    Err(d) => {
                        first_err.get_or_insert(d);
                    }
                }
            }
        }
        if next.is_empty() {
            return Err(
                first_err.unwrap_or_else(|| diverge("J-15", "no state of the model allows this answer", "an allowed answer", show(answer)))
            );
        }
        next.truncate(MAX_WORLDS);
        self.worlds = next;
        Ok(())
    }

    /// The instants at which the server may have decided expiries for an answer stamped `base`:
    /// the stamp itself, then the edges of the slack and every expiry in between (each gives a
    /// different outcome), on a real clock.
    fn instants(&self, world: &World, user: Option<usize>, base: Stamp) -> Vec<Stamp> {
        let mut out = vec![base];
        if self.config.test_clock {
            return out;
        }
        let (lo, hi) = (base.plus_cs(-CLOCK_SLACK_CS), base.plus_cs(CLOCK_SLACK_CS));
        out.extend([lo, hi]);
        if let Some(u) = user {
            let mut turns: Vec<Stamp> = world.user(u).expiries().filter(|e| *e > lo && *e <= hi).collect();
            turns.sort();
            out.extend(turns);
        }
        out.dedup();
        out
    }

    /// How many batches the model has seen opened (the range of [`crate::model::BatchRef::Opened`]).
    pub fn batches_opened(&self) -> usize {
        self.world().batches.len()
    }

    /// The user's collections that exist (listed in info/collections), by name.
    pub fn collections(&self, user: usize) -> Vec<String> {
        self.world().user(user).colls.keys().cloned().collect()
    }

    /// The ids the model knows in the user's collection: live ones and expired ones not yet
    /// overwritten or deleted (the interesting targets for G-02..G-05).
    pub fn record_ids(&self, user: usize, coll: &str) -> Vec<String> {
        self.world().user(user).colls.get(coll).map(|c| c.records.keys().cloned().collect()).unwrap_or_default()
    }

    /// Indices usable in [`crate::model::BatchRef::Opened`] for batches of this user and collection
    /// that are still open as far as the model knows.
    pub fn open_batches(&self, user: usize, coll: &str) -> Vec<usize> {
        self.world().open_batches(user, Some(coll)).collect()
    }

    /// Indices of batches that can no longer be used (committed, discarded by a delete, expired):
    /// reusing them exercises F-15, F-16 and F-19.
    pub fn spent_batches(&self) -> Vec<usize> {
        self.world().batches.iter().enumerate().filter(|(_, b)| b.state != BatchState::Open).map(|(i, _)| i).collect()
    }

    /// Whether the user has a record that has expired by the latest server time seen for them.
    pub fn has_expired_records(&self, user: usize) -> bool {
        let u = self.world().user(user);
        u.colls.values().any(|c| c.records.values().any(|r| !r.live_at(u.clock)))
    }

    /// Whether the user's live payload bytes are within `slack` bytes of the enforced quota
    /// (always false without one): writes then exercise H-03 and H-04.
    pub fn near_quota(&self, user: usize, slack: u64) -> bool {
        let u = self.world().user(user);
        self.config.quota.is_some_and(|q| u.live_bytes(u.clock) + slack >= q)
    }

    /// Whether the open batch `n` holds within `slack` of `max_total_records` ids or
    /// `max_total_bytes` payload bytes (F-17).
    pub fn batch_near_limit(&self, n: usize, slack: u64) -> bool {
        let l = &self.config.limits;
        self.world()
            .batches
            .get(n)
            .is_some_and(|b| b.staged.len() as u64 + slack >= l.max_total_records || b.staged_bytes() + slack >= l.max_total_bytes)
    }

    /// Whether the user has a paged listing of `coll` with a next offset to follow.
    pub fn can_page_on(&self, user: usize, coll: &str) -> bool {
        self.world().user(user).paging.get(coll).is_some_and(|p| p.next.is_some())
    }

    /// How many possible server states the model currently keeps (1 unless the clock left
    /// outcomes open).
    pub fn possible_states(&self) -> usize {
        self.worlds.len()
    }
}

fn op_user(op: &Op) -> Option<usize> {
    match op {
        Op::Put { user, .. }
        | Op::Post { user, .. }
        | Op::List { user, .. }
        | Op::Get { user, .. }
        | Op::DeleteRecord { user, .. }
        | Op::DeleteIds { user, .. }
        | Op::DeleteCollection { user, .. }
        | Op::DeleteStorage { user }
        | Op::Info { user, .. } => Some(*user),
        Op::Wait { .. } => None,
        Op::Concurrent { ops } => ops.first().and_then(op_user),
    }
}

pub(crate) fn is_write(op: &Op) -> bool {
    op.is_write()
}

/// Rules for every answer whatever the state: D-01 stamps, J-14/J-15 server errors, D-18 and
/// J-10 conflicts need `Retry-After`. Gives the answer's `X-Weave-Timestamp`.
fn general(ans: &Answer) -> Result<Stamp, Divergence> {
    let Some(ws) = ans.weave_timestamp else {
        return Err(diverge("D-01", "the answer has no X-Weave-Timestamp with two decimals", "X-Weave-Timestamp: <ts>", show(ans)));
    };
    if let Some(lm) = ans.last_modified
        && lm > ws
    {
        return Err(diverge("D-01", "X-Weave-Timestamp is below X-Last-Modified", format!("at least {lm}"), ws.to_string()));
    }
    match ans.status {
        503 if ans.retry_after.is_none() => Err(diverge("J-14", "a 503 without Retry-After", "Retry-After on 503", show(ans))),
        409 if ans.retry_after.is_none() => Err(diverge("D-18", "a conflict without Retry-After", "Retry-After on 409", show(ans))),
        500..=599 if ans.status != 503 => Err(diverge("J-15", "a server error", "no 5xx but 503 with Retry-After", show(ans))),
        _ => Ok(ws),
    }
}
