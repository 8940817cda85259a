//! Generators of operation sequences (proptest-state-machine). The reference state here is
//! coarse: what was written where, which batches were opened, whether time passed; it only
//! steers the choices toward interesting states (expired records, open batches, near-limit
//! payloads, just-deleted collections). Whether an answer is right is the model's business
//! ([`crate::model`]), in the driver.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;
use serde_json::{Map, Value, json};

use crate::model::{BatchRef, BatchStep, InfoView, OffsetRef, Op, Precondition, Query, Sort, TsRef};
use crate::sync::Limits;

/// What generation needs to know about the target; set for the thread that runs the search.
#[derive(Debug, Clone)]
pub struct GenConfig {
    pub users: usize,
    pub limits: Limits,
    /// Clients per concurrent round; 1 generates no rounds.
    pub concurrency: usize,
}

thread_local! {
    static CONFIG: RefCell<Option<GenConfig>> = const { RefCell::new(None) };
}

/// Runs `f` with `config` as this thread's generation settings.
pub fn with_config<R>(config: GenConfig, f: impl FnOnce() -> R) -> R {
    CONFIG.with(|c| *c.borrow_mut() = Some(config));
    let out = f();
    CONFIG.with(|c| *c.borrow_mut() = None);
    out
}

fn config() -> GenConfig {
    CONFIG.with(|c| c.borrow().clone()).unwrap_or(GenConfig {
        users: 2,
        concurrency: 1,
        limits: Limits {
            max_post_records: 100,
            max_post_bytes: 2_621_440,
            max_record_payload_bytes: 2_621_440,
            max_request_bytes: 2_625_536,
            max_total_records: 10_000,
            max_total_bytes: 262_144_000,
            max_quota_limit: None,
        },
    })
}

/// Standard collections (K-23) and custom ones.
const COLLECTIONS: [&str; 5] = ["bookmarks", "history", "tabs", "fz_a", "fz_b"];

/// Ids of the allowed set, its edges included (B-01).
fn valid_id() -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::sample::select(vec!["a", "b", "c", "d", "e"]).prop_map(str::to_owned),
        1 => Just("~".to_owned()),
        1 => Just("-_.".to_owned()),
        1 => Just("i".repeat(64)),
    ]
    .boxed()
}

/// Ids outside the allowed set: they fail their record in a POST (B-01).
fn invalid_id() -> BoxedStrategy<String> {
    prop_oneof![Just(String::new()), Just("i".repeat(65)), Just("a\tb".to_owned()), Just("é".to_owned())].boxed()
}

/// A payload: empty, small, multibyte, or near the record limit (B-06, A-03).
fn payload(limits: &Limits) -> BoxedStrategy<String> {
    let max = usize::try_from(limits.max_record_payload_bytes.min(64 * 1024)).unwrap_or(65_536);
    let near_limit = limits.max_record_payload_bytes <= 64 * 1024;
    let mut choices: Vec<(u32, BoxedStrategy<String>)> = vec![
        (2, Just(String::new()).boxed()),
        (6, "[a-z]{1,12}".boxed()),
        (2, (1usize..40).prop_map(|n| "é".repeat(n)).boxed()),
        (1, Just("\u{1F600}\u{200F}x".to_owned()).boxed()),
    ];
    if near_limit {
        // Exactly at the limit, one byte over, and a multibyte fill that is over in bytes only.
        choices.push((1, Just("x".repeat(max)).boxed()));
        choices.push((1, Just("x".repeat(max + 1)).boxed()));
        choices.push((1, Just("é".repeat(max / 2 + 1)).boxed()));
    }
    proptest::strategy::Union::new_weighted(choices).boxed()
}

/// A field that is absent, null, or given.
fn field<T: std::fmt::Debug + Clone + 'static>(value: BoxedStrategy<T>) -> BoxedStrategy<Option<Option<T>>> {
    prop_oneof![4 => Just(None), 1 => Just(Some(None)), 5 => value.prop_map(|v| Some(Some(v)))].boxed()
}

/// A record body: payload, sortindex and ttl each absent, null, valid or (rarely) invalid.
fn record_fields(limits: &Limits) -> BoxedStrategy<Map<String, Value>> {
    let sortindex = prop_oneof![8 => (-5i64..5).prop_map(Value::from), 1 => Just(json!("FAIL")), 1 => Just(json!(1_000_000_000))];
    let ttl = prop_oneof![3 => Just(json!(1)), 3 => Just(json!(2)), 2 => Just(json!(3600)), 1 => Just(json!(0)), 1 => Just(json!(-1))];
    (field(payload(limits).prop_map(Value::from).boxed()), field(sortindex.boxed()), field(ttl.boxed()))
        .prop_map(|(payload, sortindex, ttl)| {
            let mut m = Map::new();
            for (name, v) in [("payload", payload), ("sortindex", sortindex), ("ttl", ttl)] {
                if let Some(v) = v {
                    m.insert(name.to_owned(), v.unwrap_or(Value::Null));
                }
            }
            m
        })
        .boxed()
}

/// A POST body: mostly valid records, some invalid ids, now and then a malformed element.
fn post_body(limits: &Limits) -> BoxedStrategy<Value> {
    let id = prop_oneof![9 => valid_id(), 1 => invalid_id()];
    let record = (id, record_fields(limits)).prop_map(|(id, mut m)| {
        m.insert("id".to_owned(), Value::from(id));
        Value::Object(m)
    });
    let element = prop_oneof![20 => record, 1 => Just(json!("not a record")), 1 => Just(json!({ "payload": "no id" }))];
    prop::collection::vec(element, 0..6).prop_map(Value::Array).boxed()
}

fn ts_ref() -> BoxedStrategy<TsRef> {
    prop_oneof![
        1 => Just(TsRef::Zero),
        3 => (-2i64..=1).prop_map(|cs| TsRef::Current { cs }),
        2 => (-2i64..=1).prop_map(|cs| TsRef::LastWrite { cs }),
    ]
    .boxed()
}

fn precondition() -> BoxedStrategy<Precondition> {
    prop_oneof![
        8 => Just(Precondition::None),
        2 => ts_ref().prop_map(Precondition::UnmodifiedSince),
        1 => ts_ref().prop_map(Precondition::ModifiedSince),
    ]
    .boxed()
}

fn query(paging: bool) -> BoxedStrategy<Query> {
    let sort = prop_oneof![Just(Sort::Newest), Just(Sort::Oldest), Just(Sort::Index)];
    let ids = prop::collection::vec(valid_id(), 1..4);
    (
        prop::option::weighted(0.3, ids),
        prop::option::weighted(0.25, ts_ref()),
        prop::option::weighted(0.3, ts_ref()),
        prop::option::weighted(0.4, sort),
        prop::option::weighted(0.4, 1u64..4),
        any::<bool>(),
        prop::bool::weighted(if paging { 0.6 } else { 0.0 }),
    )
        .prop_map(|(ids, newer, older, sort, limit, full, next)| Query {
            ids,
            newer,
            older,
            sort,
            limit,
            offset: if next { Some(OffsetRef::Next) } else { None },
            full,
        })
        .boxed()
}

/// The coarse state generation steers by.
#[derive(Debug, Clone, Default)]
pub struct GenState {
    /// Ids written per (user, collection).
    pub ids: BTreeMap<(usize, String), BTreeSet<String>>,
    /// Batches opened so far, with their user and collection, in order.
    pub batches: Vec<(usize, String)>,
    /// Ids staged so far in each batch, by its index in `batches`.
    pub staged: BTreeMap<usize, BTreeSet<String>>,
    /// Batches not yet committed, discarded or used up (indices into `batches`).
    pub open: BTreeSet<usize>,
    /// The (user, collection) a write last went to, and the ids it wrote (a commit: every id
    /// its batch staged), until the next operation.
    pub last_written: Option<(usize, String)>,
    pub just_written: Vec<String>,
    /// (user, collection) pairs listed with a limit, so paging on is possible.
    pub listed: BTreeSet<(usize, String)>,
    /// Whether time has passed since the last write (expiries may have happened).
    pub waited: bool,
}

/// The state machine of a fuzz run.
#[derive(Debug, Clone, Copy)]
pub struct FuzzMachine;

impl ReferenceStateMachine for FuzzMachine {
    type State = GenState;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<GenState> {
        Just(GenState::default()).boxed()
    }

    fn transitions(state: &GenState) -> BoxedStrategy<Op> {
        let cfg = config();
        let limits = cfg.limits.clone();
        let user = 0..cfg.users.max(1);
        let coll = || prop::sample::select(COLLECTIONS.to_vec()).prop_map(str::to_owned);
        // Ids already written are the interesting ones to read, rewrite and delete.
        let known: Vec<(usize, String, String)> =
            state.ids.iter().flat_map(|((u, c), ids)| ids.iter().map(move |id| (*u, c.clone(), id.clone()))).collect();
        let id_of = |known: &Vec<(usize, String, String)>| -> BoxedStrategy<(usize, String, String)> {
            if known.is_empty() {
                (user.clone(), coll(), valid_id()).boxed()
            } else {
                prop_oneof![4 => prop::sample::select(known.clone()), 1 => (user.clone(), coll(), valid_id())].boxed()
            }
        };
        let put = (id_of(&known), record_fields(&limits), precondition()).prop_map(|((user, coll, id), fields, pre)| Op::Put {
            user,
            coll,
            id,
            body: Value::Object(fields),
            pre,
        });
        let post = (user.clone(), coll(), post_body(&limits), precondition()).prop_map(|(user, coll, body, pre)| Op::Post {
            user,
            coll,
            body,
            batch: BatchStep::None,
            pre,
        });
        let start = (user.clone(), coll(), post_body(&limits), prop::bool::weighted(0.15)).prop_map(|(user, coll, body, commit)| {
            Op::Post { user, coll, body, batch: BatchStep::Start { commit }, pre: Precondition::None }
        });
        let batches = state.batches.clone();
        let cont = if batches.is_empty() {
            None
        } else {
            // Mostly the batch's own user and collection; sometimes another one's (F-13).
            let n = batches.len();
            let staged = state.staged.clone();
            let lim = limits.clone();
            // Mostly a batch still open, so that appends, restaging and commits follow each other;
            // now and then any batch (spent, discarded or another collection's: F-14, F-15, F-19).
            let open: Vec<usize> = state.open.iter().copied().collect();
            let which = if open.is_empty() { (0..n).boxed() } else { prop_oneof![6 => prop::sample::select(open), 1 => 0..n].boxed() };
            Some(
                (which, prop::bool::weighted(0.85), prop::bool::weighted(0.4), user.clone(), coll(), precondition())
                    .prop_flat_map(move |(i, own, commit, u, c, pre)| {
                        let (user, coll) = if own { batches[i].clone() } else { (u, c) };
                        // Restaging ids the batch holds, with partial fields and nulls, is half the
                        // interest of a batch (F-03); the rest are fresh bodies.
                        let body = match staged.get(&i).filter(|ids| !ids.is_empty()) {
                            Some(ids) => prop_oneof![2 => restage_body(ids, &lim), 1 => post_body(&lim)].boxed(),
                            None => post_body(&lim),
                        };
                        body.prop_map(move |body| Op::Post {
                            user,
                            coll: coll.clone(),
                            body,
                            batch: BatchStep::Continue { batch: BatchRef::Opened(i), commit },
                            pre: if commit { pre } else { Precondition::None },
                        })
                    })
                    .boxed(),
            )
        };
        let bogus =
            (user.clone(), coll(), prop_oneof![Just("sammich".to_owned()), Just("00000000-0000-0000-0000-000000000000".to_owned())])
                .prop_map(|(user, coll, id)| Op::Post {
                    user,
                    coll,
                    body: json!([]),
                    batch: BatchStep::Continue { batch: BatchRef::Literal(id), commit: true },
                    pre: Precondition::None,
                });
        let listed: Vec<(usize, String)> = state.listed.iter().cloned().collect();
        // Half the listings read the collection written last, so that a write is read back.
        let place = match &state.last_written {
            Some(w) => prop_oneof![1 => Just(w.clone()), 1 => (user.clone(), coll())].boxed(),
            None => (user.clone(), coll()).boxed(),
        };
        let list = (place, query(false)).prop_map(|((user, coll), query)| Op::List { user, coll, query });
        let page_on = if listed.is_empty() {
            None
        } else {
            Some((prop::sample::select(listed), query(true)).prop_map(|((user, coll), query)| Op::List { user, coll, query }).boxed())
        };
        let get = id_of(&known).prop_map(|(user, coll, id)| Op::Get { user, coll, id });
        let delete = (id_of(&known), precondition()).prop_map(|((user, coll, id), pre)| Op::DeleteRecord { user, coll, id, pre });
        let delete_ids =
            (user.clone(), coll(), prop::collection::vec(valid_id(), 1..4)).prop_map(|(user, coll, ids)| Op::DeleteIds { user, coll, ids });
        let delete_coll = (user.clone(), coll()).prop_map(|(user, coll)| Op::DeleteCollection { user, coll });
        let wipe = user.clone().prop_map(|user| Op::DeleteStorage { user });
        let view = prop_oneof![Just(InfoView::Collections), Just(InfoView::Counts), Just(InfoView::Usage), Just(InfoView::Quota)];
        let info = (user, view).prop_map(|(user, view)| Op::Info { user, view });
        // Short waits past the 1 s and 2 s ttls the records get.
        let wait = prop_oneof![Just(600u64), Just(1100), Just(2100)].prop_map(|ms| Op::Wait { ms });

        let mut choices: Vec<(u32, BoxedStrategy<Op>)> = vec![
            (14, put.boxed()),
            (12, post.boxed()),
            (7, start.boxed()),
            (1, bogus.boxed()),
            (10, list.boxed()),
            (7, get.boxed()),
            (5, delete.boxed()),
            (3, delete_ids.boxed()),
            (3, delete_coll.boxed()),
            (1, wipe.boxed()),
            (5, info.boxed()),
            (if state.waited { 3 } else { 6 }, wait.boxed()),
        ];
        // Right after a write, reading it back is likely: a full listing or one of its records.
        if let (Some((u, c)), false) = (&state.last_written, state.just_written.is_empty()) {
            let (u, c2) = (*u, c.clone());
            let ids = state.just_written.clone();
            let back = prop_oneof![
                1 => Just(Op::List { user: u, coll: c.clone(), query: Query { full: true, ..Query::default() } }),
                1 => prop::sample::select(ids).prop_map(move |id| Op::Get { user: u, coll: c2.clone(), id }),
            ];
            choices.push((8, back.boxed()));
        }
        if let Some(cont) = cont {
            choices.push((if state.open.is_empty() { 8 } else { 18 }, cont));
        }
        if let Some(page_on) = page_on {
            choices.push((6, page_on));
        }
        if cfg.concurrency > 1 {
            choices.push((8, concurrent_round(state, &cfg)));
        }
        proptest::strategy::Union::new_weighted(choices).boxed()
    }

    fn apply(mut state: GenState, op: &Op) -> GenState {
        state.just_written.clear();
        match op {
            Op::Put { user, coll, id, .. } => {
                state.last_written = Some((*user, coll.clone()));
                state.just_written = vec![id.clone()];
                state.ids.entry((*user, coll.clone())).or_default().insert(id.clone());
                state.waited = false;
            }
            Op::Post { user, coll, body, batch, .. } => {
                // An empty id would make `coll/` a record URL, which is the collection's.
                let ids: Vec<String> = body
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.get("id")?.as_str().filter(|id| !id.is_empty()).map(str::to_owned))
                    .collect();
                match batch {
                    BatchStep::Start { commit: false } => {
                        state.staged.insert(state.batches.len(), ids.iter().cloned().collect());
                        state.open.insert(state.batches.len());
                        state.batches.push((*user, coll.clone()));
                    }
                    BatchStep::Continue { batch: BatchRef::Opened(i), commit: false } => {
                        state.staged.entry(*i).or_default().extend(ids.iter().cloned());
                    }
                    BatchStep::Continue { batch: BatchRef::Opened(i), commit: true }
                        if state.batches.get(*i) == Some(&(*user, coll.clone())) =>
                    {
                        state.open.remove(i);
                    }
                    _ => {}
                }
                if !matches!(batch, BatchStep::Start { commit: false } | BatchStep::Continue { commit: false, .. }) {
                    state.last_written = Some((*user, coll.clone()));
                    state.just_written = ids.clone();
                    if let BatchStep::Continue { batch: BatchRef::Opened(i), .. } = batch {
                        state.just_written.extend(state.staged.get(i).into_iter().flatten().cloned());
                    }
                }
                state.ids.entry((*user, coll.clone())).or_default().extend(ids);
                state.waited = false;
            }
            Op::List { user, coll, query } if query.limit.is_some() => {
                state.listed.insert((*user, coll.clone()));
            }
            Op::DeleteCollection { user, coll } => {
                state.listed.remove(&(*user, coll.clone()));
                let batches = &state.batches;
                state.open.retain(|i| batches[*i] != (*user, coll.clone()));
            }
            Op::DeleteStorage { user } => {
                state.listed.retain(|(u, _)| u != user);
                let batches = &state.batches;
                state.open.retain(|i| batches[*i].0 != *user);
            }
            Op::Wait { .. } => state.waited = true,
            Op::Concurrent { ops } => return ops.iter().fold(state, Self::apply),
            _ => {}
        }
        state
    }
}

/// Records restaging some of `ids`, each field absent, null or given (nulls often).
fn restage_body(ids: &BTreeSet<String>, limits: &Limits) -> BoxedStrategy<Value> {
    let ids: Vec<String> = ids.iter().cloned().collect();
    let nully = |v: BoxedStrategy<Value>| prop_oneof![1 => Just(None), 3 => Just(Some(Value::Null)), 2 => v.prop_map(Some)].boxed();
    let record = (
        prop::sample::select(ids),
        nully(payload(limits).prop_map(Value::from).boxed()),
        nully((-5i64..5).prop_map(Value::from).boxed()),
        nully(prop_oneof![Just(json!(1)), Just(json!(3600))].boxed()),
    )
        .prop_map(|(id, payload, sortindex, ttl)| {
            let mut m = Map::new();
            m.insert("id".to_owned(), Value::from(id));
            for (name, v) in [("payload", payload), ("sortindex", sortindex), ("ttl", ttl)] {
                if let Some(v) = v {
                    m.insert(name.to_owned(), v);
                }
            }
            Value::Object(m)
        });
    prop::collection::vec(record, 1..3).prop_map(Value::Array).boxed()
}

/// A round of `cfg.concurrency` writes of one user at once (I-04, J-15): mostly on one collection,
/// often one whose name nobody used before (the first write creates it), mixing PUTs of a few
/// ids, plain POSTs, one-shot batches and commits or appends of batches already open there. No
/// round opens a batch: the model numbers batches in the order it sees them open.
fn concurrent_round(state: &GenState, cfg: &GenConfig) -> BoxedStrategy<Op> {
    let n = cfg.concurrency;
    let limits = cfg.limits.clone();
    let batches = state.batches.clone();
    let fresh = "fz_n[a-z0-9]{8}".prop_map(|s: String| s);
    let named = (0..cfg.users.max(1), prop_oneof![2 => prop::sample::select(COLLECTIONS.to_vec()).prop_map(str::to_owned), 1 => fresh]);
    // Where batches are open, rounds go there half the time, so commits meet plain writes.
    let place =
        if batches.is_empty() { named.boxed() } else { prop_oneof![1 => named, 1 => prop::sample::select(batches.clone())].boxed() };
    place
        .prop_flat_map(move |(user, coll)| {
            let open: Vec<usize> = batches.iter().enumerate().filter(|(_, b)| b.0 == user && b.1 == coll).map(|(i, _)| i).collect();
            let id = prop::sample::select(vec!["a", "b", "c"]).prop_map(str::to_owned);
            let (u, c) = (user, coll.clone());
            let put = (id, record_fields(&limits)).prop_map(move |(id, fields)| Op::Put {
                user: u,
                coll: c.clone(),
                id,
                body: Value::Object(fields),
                pre: Precondition::None,
            });
            let c = coll.clone();
            let post = (post_body(&limits), prop::bool::weighted(0.3)).prop_map(move |(body, one_shot)| Op::Post {
                user,
                coll: c.clone(),
                body,
                batch: if one_shot { BatchStep::Start { commit: true } } else { BatchStep::None },
                pre: Precondition::None,
            });
            let mut kinds: Vec<(u32, BoxedStrategy<Op>)> = vec![(4, put.boxed()), (4, post.boxed())];
            if !open.is_empty() {
                let c = coll.clone();
                let step =
                    (prop::sample::select(open), prop::bool::weighted(0.6), post_body(&limits)).prop_map(move |(i, commit, body)| {
                        Op::Post {
                            user,
                            coll: c.clone(),
                            body,
                            batch: BatchStep::Continue { batch: BatchRef::Opened(i), commit },
                            pre: Precondition::None,
                        }
                    });
                kinds.push((3, step.boxed()));
            }
            prop::collection::vec(proptest::strategy::Union::new_weighted(kinds), n..=n)
        })
        .prop_map(|ops| Op::Concurrent { ops })
        .boxed()
}
