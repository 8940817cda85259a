//! One possible state's judgement of one answer: the rules every answer of a user shares, then
//! the operation's own (writes in `write.rs`, reads in `read.rs`).

use super::check::diverge;
use super::config::{Divergence, ModelConfig};
use super::op::{Answer, BatchStep, Op, Request};
use super::oracle::is_write;
use super::state::World;
use crate::sync::Stamp;

/// What judging one answer in one state needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step<'a> {
    pub cfg: &'a ModelConfig,
    pub req: &'a Request,
    pub ans: &'a Answer,
    /// The answer's `X-Weave-Timestamp`.
    pub ws: Stamp,
    /// The instant the server is taken to have decided expiries at.
    pub now: Stamp,
    /// The user index.
    pub u: usize,
}

impl World {
    /// The states that follow this one when `ans` answers `op`, or why none does.
    pub(crate) fn step(
        &self,
        cfg: &ModelConfig,
        op: &Op,
        req: &Request,
        ans: &Answer,
        ws: Stamp,
        now: Stamp,
    ) -> Result<Vec<World>, Divergence> {
        let u = req.uid_index.unwrap_or(0);
        let user = self.user(u);
        // I-02, I-07: one clock issued the user's ts, so its current time is never below them.
        if ws < user.storage_ts {
            return Err(diverge(
                "I-07",
                "X-Weave-Timestamp is below the storage ts the server issued",
                format!("at least {}", user.storage_ts),
                ws.to_string(),
            ));
        }
        let mut base = self.clone();
        let bu = base.user_mut(u);
        bu.clock = bu.clock.max(ws);
        // I-04, D-18, J-10, J-14: a refusal with Retry-After changes nothing. Under the SPEC
        // profile a 503 is accepted here too: the catalog's I-04 case judges which code it is.
        if matches!(ans.status, 409 | 503) && ans.retry_after.is_some() && (is_write(op) || ans.status == 503) {
            if let Op::Post { coll, batch: BatchStep::Start { commit: false }, .. } = op {
                return Ok(vec![base.refused_start(u, coll)]);
            }
            return Ok(vec![base]);
        }
        let s = Step { cfg, req, ans, ws, now, u };
        match op {
            Op::Put { coll, id, .. } => base.put(&s, coll, id),
            Op::Post { coll, batch, .. } => match batch {
                BatchStep::None => base.post(&s, coll, false),
                BatchStep::Start { commit: true } => base.post(&s, coll, true),
                BatchStep::Start { commit: false } => base.batch_start(&s, coll),
                BatchStep::Continue { commit, .. } => base.batch_continue(&s, coll, *commit),
            },
            Op::List { coll, .. } => base.list(&s, coll),
            Op::Get { coll, id, .. } => base.get(&s, coll, id),
            Op::DeleteRecord { coll, id, .. } => base.delete_record(&s, coll, id),
            Op::DeleteIds { coll, .. } => base.delete_ids(&s, coll),
            Op::DeleteCollection { coll, .. } => base.delete_collection(&s, coll),
            Op::DeleteStorage { .. } => base.delete_storage(&s),
            Op::Info { view, .. } => base.info(&s, *view),
            Op::Wait { .. } => Ok(vec![base]),
            Op::Concurrent { .. } => Err(diverge("J-15", "a round reached the one-answer judge", "Model::observe_round", "one answer")),
        }
    }
}
