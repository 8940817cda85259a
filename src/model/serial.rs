//! A concurrent round: several writes of one user sent at once by separate clients. Each write
//! is one transaction serialized with the user's other writes (K-02, I-04), so SPEC allows an
//! outcome only when it equals some serial order of the round; no interleaving may give a 5xx
//! other than J-14 (J-15). The model looks for such an order: writes acknowledged with a T (a
//! 2xx with `X-Last-Modified`) keep the order of their T, and every other answer (a refusal, a
//! 4xx, a staged append) may fall anywhere between them.

use super::config::Divergence;
use super::op::{Answer, BatchStep, Op, Request};
use super::oracle::{Model, is_write};
use crate::sync::Stamp;

/// Most answers judged while looking for an order before the model gives up on a round.
const MAX_TRIES: usize = 4096;

/// One request of a round and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub op: Op,
    pub req: Request,
    pub answer: Answer,
}

impl Model {
    /// Judges a concurrent round; on success the model follows the serial order it found, which
    /// is returned as indices into `round`. Fails with the divergence met on the first order
    /// tried (T order, unordered answers last) when no order is allowed.
    pub fn observe_round(&mut self, round: &[Exchange]) -> Result<Vec<usize>, Divergence> {
        let mut stamped: Vec<usize> = (0..round.len()).filter(|&i| stamp_of(&round[i]).is_some()).collect();
        stamped.sort_by_key(|&i| stamp_of(&round[i]));
        let free: Vec<usize> = (0..round.len()).filter(|i| !stamped.contains(i)).collect();
        let mut search = Search { round, tries: 0, first_err: None, order: Vec::new() };
        match search.from(self, stamped, free) {
            Some(model) => {
                *self = model;
                Ok(search.order)
            }
            None => Err(search.first_err.unwrap_or_else(|| Divergence {
                clause: "I-04",
                message: format!("no serial order of the round's {} writes found in {MAX_TRIES} tries", round.len()),
                expected: "answers that some serial order allows".to_owned(),
                actual: "too many orders to try".to_owned(),
            })),
        }
    }
}

/// The T a write was acknowledged with, when its answer fixes its place in the order.
fn stamp_of(x: &Exchange) -> Option<Stamp> {
    let staged_only =
        matches!(&x.op, Op::Post { batch: BatchStep::Start { commit: false } | BatchStep::Continue { commit: false, .. }, .. });
    let acknowledged = is_write(&x.op) && !staged_only && (200..300).contains(&x.answer.status);
    acknowledged.then_some(x.answer.last_modified).flatten()
}

struct Search<'a> {
    round: &'a [Exchange],
    tries: usize,
    first_err: Option<Divergence>,
    order: Vec<usize>,
}

impl Search<'_> {
    /// Depth first: the next stamped write (any of those sharing the lowest T), then each of the
    /// unordered answers.
    fn from(&mut self, model: &Model, stamped: Vec<usize>, free: Vec<usize>) -> Option<Model> {
        if stamped.is_empty() && free.is_empty() {
            return Some(model.clone());
        }
        let low = stamped.first().and_then(|&i| stamp_of(&self.round[i]));
        let ties = stamped.iter().copied().filter(|&i| stamp_of(&self.round[i]) == low);
        let candidates: Vec<usize> = ties.chain(free.iter().copied()).collect();
        for c in candidates {
            if self.tries >= MAX_TRIES {
                return None;
            }
            self.tries += 1;
            let x = &self.round[c];
            let mut next = model.clone();
            if let Err(d) = next.observe(&x.op, &x.req, &x.answer) {
                self.first_err.get_or_insert(d);
                continue;
            }
            self.order.push(c);
            let rest = |v: &[usize]| v.iter().copied().filter(|&i| i != c).collect::<Vec<_>>();
            if let Some(done) = self.from(&next, rest(&stamped), rest(&free)) {
                return Some(done);
            }
            self.order.pop();
        }
        None
    }
}
