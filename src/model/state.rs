//! What the model believes one possible server holds: users, collections, records with their
//! expiry, open batches with their staged records, and the paging position of listings.

use std::collections::BTreeMap;

use crate::sync::Stamp;

/// The fields a write supplies: `None` absent, `Some(None)` an explicit `null` (B-11).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Fields {
    pub payload: Option<Option<String>>,
    pub sortindex: Option<Option<i64>>,
    /// Seconds.
    pub ttl: Option<Option<i64>>,
}

impl Fields {
    /// Restaging merges field by field: what the later write supplies wins (F-03).
    pub fn merge(&mut self, later: &Fields) {
        if later.payload.is_some() {
            self.payload = later.payload.clone();
        }
        if later.sortindex.is_some() {
            self.sortindex = later.sortindex;
        }
        if later.ttl.is_some() {
            self.ttl = later.ttl;
        }
    }

    /// A write that supplies neither payload nor sortindex only moves the expiry (E-04).
    pub fn ttl_only(&self) -> bool {
        self.payload.is_none() && self.sortindex.is_none()
    }

    /// Payload bytes this write would store if it created the record (E-06, F-17).
    pub fn payload_bytes(&self) -> u64 {
        self.payload.as_ref().and_then(Option::as_ref).map_or(0, |p| p.len() as u64)
    }
}

/// One stored record (BSO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rec {
    pub payload: String,
    pub sortindex: Option<i64>,
    pub modified: Stamp,
    /// The instant it stops being live; `None` never (B-08).
    pub expiry: Option<Stamp>,
}

impl Rec {
    /// G-01: live while the server's now is before the expiry; ttl 0 is never live.
    pub fn live_at(&self, now: Stamp) -> bool {
        self.expiry.is_none_or(|e| now < e)
    }

    /// The outcome of a write of `f` at T `t` onto `before` (the record if it is live at the
    /// write, else `None`: G-05 replaces an expired one whole). B-11, B-12, E-04, G-06.
    pub fn written(before: Option<&Rec>, f: &Fields, t: Stamp) -> Rec {
        let expiry_of = |ttl: Option<i64>| ttl.map(|s| t.plus_cs(s * 100));
        match before {
            None => Rec {
                payload: f.payload.clone().flatten().unwrap_or_default(),
                sortindex: f.sortindex.flatten(),
                modified: t,
                expiry: expiry_of(f.ttl.flatten()),
            },
            Some(old) => Rec {
                payload: f.payload.clone().map_or_else(|| old.payload.clone(), Option::unwrap_or_default),
                sortindex: f.sortindex.unwrap_or(old.sortindex),
                modified: if f.ttl_only() { old.modified } else { t },
                expiry: f.ttl.map_or(old.expiry, expiry_of),
            },
        }
    }
}

/// A collection with a real row: listed in info/collections until deleted (A-01, G-07).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Coll {
    pub ts: Stamp,
    /// Every record written and not deleted or replaced, expired ones included.
    pub records: BTreeMap<String, Rec>,
}

impl Coll {
    pub fn live(&self, now: Stamp) -> impl Iterator<Item = (&String, &Rec)> {
        self.records.iter().filter(move |(_, r)| r.live_at(now))
    }

    /// Live payload bytes (A-04, H-04).
    pub fn live_bytes(&self, now: Stamp) -> u64 {
        self.live(now).map(|(_, r)| r.payload.len() as u64).sum()
    }

    /// Bytes a server counting totals at the collection's last write would report (H-04, K-28).
    pub fn recorded_bytes(&self) -> u64 {
        self.records.values().filter(|r| r.live_at(self.ts)).map(|r| r.payload.len() as u64).sum()
    }
}

/// Where a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchState {
    Open,
    /// Committed (F-15).
    Spent,
    /// Its collection or the storage was deleted (F-19).
    Discarded,
    /// Refused by the server after the floor of its lifetime (F-16).
    Expired,
    /// A start the server refused: it holds a place in the numbering of
    /// [`crate::model::BatchRef::Opened`] (which counts batch starts, as the generator does)
    /// under an id no server handed out.
    Refused,
}

/// A batch the server handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    pub id: String,
    pub user: usize,
    pub coll: String,
    /// The server's time when it was opened.
    pub opened: Stamp,
    pub staged: BTreeMap<String, Fields>,
    pub state: BatchState,
}

impl Batch {
    /// Staged payload bytes, a restaged id once (F-17, H-08).
    pub fn staged_bytes(&self) -> u64 {
        self.staged.values().map(Fields::payload_bytes).sum()
    }
}

/// The position of a user's paged listing of one collection (C-11, C-12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paging {
    /// The query of the first page, without `limit` and `offset`, as sent.
    pub query: Vec<(String, String)>,
    pub next: Option<String>,
    /// Ids returned so far, in order.
    pub seen: Vec<String>,
    /// When the first page was answered.
    pub since: Stamp,
    /// A write reached the collection since the first page.
    pub dirty: bool,
}

/// One user's storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserState {
    pub colls: BTreeMap<String, Coll>,
    /// The storage ts (I-05, I-07).
    pub storage_ts: Stamp,
    /// The latest T a write of this user got (for [`crate::model::TsRef::LastWrite`]).
    pub last_write: Stamp,
    /// The latest `X-Weave-Timestamp` seen for this user: the server's clock as far as known.
    pub clock: Stamp,
    pub paging: BTreeMap<String, Paging>,
}

impl Default for UserState {
    fn default() -> Self {
        Self { colls: BTreeMap::new(), storage_ts: Stamp(0), last_write: Stamp(0), clock: Stamp(0), paging: BTreeMap::new() }
    }
}

impl UserState {
    pub fn coll_ts(&self, coll: &str) -> Stamp {
        self.colls.get(coll).map_or(Stamp(0), |c| c.ts)
    }

    pub fn live_record(&self, coll: &str, id: &str, now: Stamp) -> Option<&Rec> {
        self.colls.get(coll)?.records.get(id).filter(|r| r.live_at(now))
    }

    /// Live payload bytes of the whole storage.
    pub fn live_bytes(&self, now: Stamp) -> u64 {
        self.colls.values().map(|c| c.live_bytes(now)).sum()
    }

    /// Every expiry instant of the user's records: the instants at which a read's outcome turns.
    pub fn expiries(&self) -> impl Iterator<Item = Stamp> + '_ {
        self.colls.values().flat_map(|c| c.records.values().filter_map(|r| r.expiry))
    }
}

/// One possible server state. The model keeps several when the server's clock leaves an outcome
/// open (an expiry near a write) or SPEC lets the server choose in a way not visible at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct World {
    pub users: Vec<UserState>,
    /// In the order the server handed them out ([`crate::model::BatchRef::Opened`]).
    pub batches: Vec<Batch>,
    /// F-10: whether a ttl-only commit entry takes T; learnt from the first read that shows it.
    pub ttl_only_commit_takes_t: Option<bool>,
}

impl World {
    pub fn new(users: usize) -> Self {
        Self { users: vec![UserState::default(); users.max(1)], batches: Vec::new(), ttl_only_commit_takes_t: None }
    }

    /// The user `u`, or the first one when the index is out of range.
    pub fn user(&self, u: usize) -> &UserState {
        self.users.get(u).unwrap_or(&self.users[0])
    }

    pub fn user_mut(&mut self, u: usize) -> &mut UserState {
        let i = if u < self.users.len() { u } else { 0 };
        &mut self.users[i]
    }

    /// The user's open batches' indices and the ones of `coll`.
    pub fn open_batches(&self, user: usize, coll: Option<&str>) -> impl Iterator<Item = usize> + '_ {
        let coll = coll.map(str::to_owned);
        self.batches
            .iter()
            .enumerate()
            .filter(move |(_, b)| b.user == user && b.state == BatchState::Open && coll.as_ref().is_none_or(|c| *c == b.coll))
            .map(|(i, _)| i)
    }

    /// F-19: deleting a collection (or, with `None`, the storage) discards its open batches.
    pub fn discard_batches(&mut self, user: usize, coll: Option<&str>) {
        for b in &mut self.batches {
            if b.user == user && b.state == BatchState::Open && coll.is_none_or(|c| c == b.coll) {
                b.state = BatchState::Discarded;
            }
        }
    }
}
