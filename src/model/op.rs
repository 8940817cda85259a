//! The operations a fuzz run sends and the answers it gets back, as plain data.
//!
//! An operation names what it refers to symbolically (a user by index, a batch by the order the
//! model saw it open, a timestamp relative to one the model has learnt), because it is generated
//! before the server has answered anything. [`crate::model::Model::resolve`] turns the symbols
//! into the concrete values of a request; the driver sends that request and hands the answer
//! back to [`crate::model::Model::observe`], which decides whether SPEC allows it.

use serde_json::Value;

use crate::sync::Stamp;

/// One request of a fuzz run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `PUT storage/{coll}/{id}` with `body` (a JSON object, valid or not) (A-12, B-*).
    Put { user: usize, coll: String, id: String, body: Value, pre: Precondition },
    /// `POST storage/{coll}` with `body` (a JSON array of records, valid or not), outside a batch
    /// (A-08, E-*) or as a batch step (F-*).
    Post { user: usize, coll: String, body: Value, batch: BatchStep, pre: Precondition },
    /// `GET storage/{coll}` with a query (A-07, C-*).
    List { user: usize, coll: String, query: Query },
    /// `GET storage/{coll}/{id}`.
    Get { user: usize, coll: String, id: String },
    /// `DELETE storage/{coll}/{id}`.
    DeleteRecord { user: usize, coll: String, id: String, pre: Precondition },
    /// `DELETE storage/{coll}?ids=...`.
    DeleteIds { user: usize, coll: String, ids: Vec<String> },
    /// `DELETE storage/{coll}`.
    DeleteCollection { user: usize, coll: String },
    /// `DELETE storage`.
    DeleteStorage { user: usize },
    /// `GET info/collections`, `info/collection_counts`, `info/collection_usage`, `info/quota`.
    Info { user: usize, view: InfoView },
    /// Let `ms` milliseconds pass: the test clock moves on a target that has one, else a short
    /// bounded real wait (G-*, F-07).
    Wait { ms: u64 },
    /// Writes of one user sent at once by separate clients (I-04, J-15). The driver sends them;
    /// the model judges the answers together ([`crate::model::Model::observe_round`]).
    Concurrent { ops: Vec<Op> },
}

impl Op {
    /// Whether the operation is a write (PUT, POST, DELETE, or a round of them).
    pub fn is_write(&self) -> bool {
        !matches!(self, Op::List { .. } | Op::Get { .. } | Op::Info { .. } | Op::Wait { .. })
    }
}

/// The info views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InfoView {
    Collections,
    Counts,
    Usage,
    Quota,
}

/// What a POST does about batches (F-01..F-17).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStep {
    /// A plain POST.
    None,
    /// `?batch=true`, optionally `&commit=true` at once.
    Start { commit: bool },
    /// `?batch=ID` (`&commit=true` when `commit`).
    Continue { batch: BatchRef, commit: bool },
}

/// Which batch id to send.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchRef {
    /// The batch of the run's `n`th batch start (it may have been refused, or committed,
    /// expired or deleted since, or belong to another collection or user: the model knows which).
    Opened(usize),
    /// A literal value that no server handed out (malformed or unknown id).
    Literal(String),
}

/// A precondition header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precondition {
    None,
    /// `X-If-Unmodified-Since: <ts>` (D-06..D-09).
    UnmodifiedSince(TsRef),
    /// `X-If-Modified-Since: <ts>` on a write (D-05).
    ModifiedSince(TsRef),
}

/// A timestamp chosen relative to what the model knows when the operation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TsRef {
    /// `0.00`.
    Zero,
    /// The resource's current ts (record, collection or storage, as the operation implies)
    /// plus `cs` hundredths (negative: in the past).
    Current { cs: i64 },
    /// The latest T the user's writes got, plus `cs` hundredths.
    LastWrite { cs: i64 },
    /// A fixed value.
    At(Stamp),
}

/// The query of a listing (C-01..C-12).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Query {
    pub ids: Option<Vec<String>>,
    pub newer: Option<TsRef>,
    pub older: Option<TsRef>,
    pub sort: Option<Sort>,
    pub limit: Option<u64>,
    pub offset: Option<OffsetRef>,
    pub full: bool,
}

/// `sort=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    Newest,
    Oldest,
    Index,
}

/// `offset=`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetRef {
    /// The `X-Weave-Next-Offset` of the user's previous listing of the collection, paging on
    /// with that listing's query (records may have been written in between).
    Next,
    /// A literal value (junk offsets, C-10).
    Literal(String),
}

/// A request ready to send: method, path relative to the user's root, headers and body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    pub uid_index: Option<usize>,
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

/// What came back, as much of it as SPEC speaks about.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// `X-Last-Modified`, parsed.
    pub last_modified: Option<Stamp>,
    /// `X-Weave-Timestamp`, parsed.
    pub weave_timestamp: Option<Stamp>,
    /// `X-Weave-Next-Offset`.
    pub next_offset: Option<String>,
    /// `X-Weave-Records`.
    pub records: Option<u64>,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
    /// The body parsed as JSON, or `None` when empty or not JSON.
    pub body: Option<Value>,
    /// The raw body, for error bodies and for reports.
    pub text: String,
}

/// A JSON value with long strings cut to their first characters and their length, so that a
/// listing of operations stays readable when a payload is near a limit.
pub fn abbreviated(v: &Value) -> Value {
    const KEEP: usize = 24;
    match v {
        Value::String(s) if s.len() > KEEP * 2 => {
            let head: String = s.chars().take(KEEP).collect();
            Value::String(format!("{head}…({} bytes)", s.len()))
        }
        Value::Array(items) => Value::Array(items.iter().map(abbreviated).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), abbreviated(v))).collect()),
        v => v.clone(),
    }
}

/// One line per operation, as a report lists them: user, method, resource, then what varies.
impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pre = |p: &Precondition| match p {
            Precondition::None => String::new(),
            p => format!(" {p:?}"),
        };
        match self {
            Op::Put { user, coll, id, body, pre: p } => write!(f, "user {user}: PUT {coll}/{id:?} {}{}", abbreviated(body), pre(p)),
            Op::Post { user, coll, body, batch, pre: p } => {
                let batch = match batch {
                    BatchStep::None => String::new(),
                    b => format!(" {b:?}"),
                };
                write!(f, "user {user}: POST {coll}{batch} {}{}", abbreviated(body), pre(p))
            }
            Op::List { user, coll, query } => write!(f, "user {user}: GET {coll} {query:?}"),
            Op::Get { user, coll, id } => write!(f, "user {user}: GET {coll}/{id:?}"),
            Op::DeleteRecord { user, coll, id, pre: p } => write!(f, "user {user}: DELETE {coll}/{id:?}{}", pre(p)),
            Op::DeleteIds { user, coll, ids } => write!(f, "user {user}: DELETE {coll}?ids={ids:?}"),
            Op::DeleteCollection { user, coll } => write!(f, "user {user}: DELETE {coll}"),
            Op::DeleteStorage { user } => write!(f, "user {user}: DELETE storage"),
            Op::Info { user, view } => write!(f, "user {user}: GET info/{view:?}"),
            Op::Wait { ms } => write!(f, "wait {ms} ms"),
            Op::Concurrent { ops } => {
                write!(f, "at once:")?;
                for (i, op) in ops.iter().enumerate() {
                    write!(f, "{} [{op}]", if i == 0 { "" } else { " |" })?;
                }
                Ok(())
            }
        }
    }
}
