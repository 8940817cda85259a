//! Turning an operation's symbols into a concrete request, and reading a sent request back.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::op::{BatchRef, BatchStep, InfoView, OffsetRef, Op, Precondition, Query, Request, Sort, TsRef};
use super::state::World;
use crate::sync::Stamp;

/// Ids and collection names are encoded down to the RFC 3986 unreserved characters, so that any
/// id of B-01 (`/`, `?`, `%`, space...) reaches the server as one path segment or query value.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A batch id no server hands out, sent for an out-of-range [`BatchRef::Opened`]; it is a valid
/// UUID and urlsafe-base64, so the server must judge it unknown rather than malformed (F-13).
pub(crate) const UNKNOWN_BATCH: &str = "00000000-0000-4000-8000-000000000000";

pub(crate) fn enc(s: &str) -> String {
    utf8_percent_encode(s, KEEP).to_string()
}

/// A ts as sent: two decimals, with a sign when negative (D-08 and C-03 expect 400/0 for it).
pub(crate) fn ts_text(s: Stamp) -> String {
    if s.0 < 0 { format!("-{}", Stamp(-s.0)) } else { s.to_string() }
}

/// Reads [`ts_text`] back; `None` for anything else.
pub(crate) fn parse_ts_text(s: &str) -> Option<Stamp> {
    match s.strip_prefix('-') {
        Some(rest) => Stamp::parse(rest).ok().map(|p| Stamp(-p.0)),
        None => Stamp::parse(s).ok(),
    }
}

/// The decoded query pairs of a path.
pub(crate) fn query_pairs(path: &str) -> Vec<(String, String)> {
    let Some((_, q)) = path.split_once('?') else { return Vec::new() };
    let dec = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').map_or_else(|| (dec(p), String::new()), |(k, v)| (dec(k), dec(v))))
        .collect()
}

/// The value of `name` in `pairs`.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn render_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| if v.is_empty() && k == "full" { enc(k) } else { format!("{}={}", enc(k), enc(v)) })
        .collect::<Vec<_>>()
        .join("&")
}

fn with_query(path: String, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() { path } else { format!("{path}?{}", render_query(pairs)) }
}

/// The resource a precondition or a `Current` ts refers to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Resource<'a> {
    Record(&'a str, &'a str),
    Collection(&'a str),
}

impl World {
    /// The concrete ts `r` stands for, for `user` and `res` (see [`TsRef`]).
    pub(crate) fn ts_of(&self, user: usize, res: Resource<'_>, r: TsRef) -> Stamp {
        let u = self.user(user);
        match r {
            TsRef::Zero => Stamp(0),
            TsRef::At(s) => s,
            TsRef::LastWrite { cs } => u.last_write.plus_cs(cs),
            TsRef::Current { cs } => {
                let base = match res {
                    Resource::Record(coll, id) => u.live_record(coll, id, u.clock).map_or(Stamp(0), |r| r.modified),
                    Resource::Collection(coll) => u.coll_ts(coll),
                };
                base.plus_cs(cs)
            }
        }
    }

    fn precondition(&self, user: usize, res: Resource<'_>, pre: Precondition) -> Vec<(&'static str, String)> {
        match pre {
            Precondition::None => Vec::new(),
            Precondition::UnmodifiedSince(r) => vec![("X-If-Unmodified-Since", ts_text(self.ts_of(user, res, r)))],
            Precondition::ModifiedSince(r) => vec![("X-If-Modified-Since", ts_text(self.ts_of(user, res, r)))],
        }
    }

    /// The query pairs of a listing. [`OffsetRef::Next`] pages on with the previous listing's query
    /// (its filters, sort and kind, as sent) and this op's `limit` (C-11 lets a later page change
    /// it); with no next offset known, the op's own query is sent without an offset.
    pub(crate) fn list_pairs(&self, user: usize, coll: &str, q: &Query) -> Vec<(String, String)> {
        let limit = q.limit.map(|l| ("limit".to_owned(), l.to_string()));
        if let Some(OffsetRef::Next) = q.offset
            && let Some(p) = self.user(user).paging.get(coll)
            && let Some(next) = &p.next
        {
            let mut pairs = p.query.clone();
            pairs.extend(limit);
            pairs.push(("offset".to_owned(), next.clone()));
            return pairs;
        }
        let res = Resource::Collection(coll);
        let mut pairs = Vec::new();
        if q.full {
            pairs.push(("full".to_owned(), String::new()));
        }
        if let Some(ids) = &q.ids {
            pairs.push(("ids".to_owned(), ids.join(",")));
        }
        if let Some(r) = q.newer {
            pairs.push(("newer".to_owned(), ts_text(self.ts_of(user, res, r))));
        }
        if let Some(r) = q.older {
            pairs.push(("older".to_owned(), ts_text(self.ts_of(user, res, r))));
        }
        if let Some(s) = q.sort {
            let s = match s {
                Sort::Newest => "newest",
                Sort::Oldest => "oldest",
                Sort::Index => "index",
            };
            pairs.push(("sort".to_owned(), s.to_owned()));
        }
        pairs.extend(limit);
        if let Some(OffsetRef::Literal(s)) = &q.offset {
            pairs.push(("offset".to_owned(), s.clone()));
        }
        pairs
    }

    /// The request `op` stands for in this world (see [`crate::model::Model::resolve`]).
    pub(crate) fn resolve(&self, op: &Op) -> Request {
        let req = |user: usize, method, path: String| Request { uid_index: Some(user), method, path, headers: Vec::new(), body: None };
        let record = |coll: &str, id: &str| format!("storage/{}/{}", enc(coll), enc(id));
        match op {
            Op::Put { user, coll, id, body, pre } => Request {
                headers: self.precondition(*user, Resource::Record(coll, id), *pre),
                body: Some(body.clone()),
                ..req(*user, "PUT", record(coll, id))
            },
            Op::Post { user, coll, body, batch, pre } => {
                let mut pairs = Vec::new();
                match batch {
                    BatchStep::None => {}
                    BatchStep::Start { commit } => {
                        pairs.push(("batch".to_owned(), "true".to_owned()));
                        if *commit {
                            pairs.push(("commit".to_owned(), "true".to_owned()));
                        }
                    }
                    BatchStep::Continue { batch, commit } => {
                        let id = match batch {
                            BatchRef::Opened(n) => self.batches.get(*n).map_or(UNKNOWN_BATCH, |b| b.id.as_str()).to_owned(),
                            BatchRef::Literal(s) => s.clone(),
                        };
                        pairs.push(("batch".to_owned(), id));
                        if *commit {
                            pairs.push(("commit".to_owned(), "true".to_owned()));
                        }
                    }
                }
                Request {
                    headers: self.precondition(*user, Resource::Collection(coll), *pre),
                    body: Some(body.clone()),
                    ..req(*user, "POST", with_query(format!("storage/{}", enc(coll)), &pairs))
                }
            }
            Op::List { user, coll, query } => {
                req(*user, "GET", with_query(format!("storage/{}", enc(coll)), &self.list_pairs(*user, coll, query)))
            }
            Op::Get { user, coll, id } => req(*user, "GET", record(coll, id)),
            Op::DeleteRecord { user, coll, id, pre } => {
                Request { headers: self.precondition(*user, Resource::Record(coll, id), *pre), ..req(*user, "DELETE", record(coll, id)) }
            }
            Op::DeleteIds { user, coll, ids } => {
                req(*user, "DELETE", with_query(format!("storage/{}", enc(coll)), &[("ids".to_owned(), ids.join(","))]))
            }
            Op::DeleteCollection { user, coll } => req(*user, "DELETE", format!("storage/{}", enc(coll))),
            Op::DeleteStorage { user } => req(*user, "DELETE", "storage".to_owned()),
            Op::Info { user, view } => {
                let name = match view {
                    InfoView::Collections => "collections",
                    InfoView::Counts => "collection_counts",
                    InfoView::Usage => "collection_usage",
                    InfoView::Quota => "quota",
                };
                req(*user, "GET", format!("info/{name}"))
            }
            Op::Wait { .. } => Request { uid_index: None, method: "WAIT", path: String::new(), headers: Vec::new(), body: None },
            Op::Concurrent { ops } => {
                Request { uid_index: ops.first().and_then(|o| self.resolve(o).uid_index), method: "ROUND", ..Request::default() }
            }
        }
    }
}

/// The header `name` of a sent request.
pub(crate) fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_become_encoded_paths() {
        let w = World::new(2);
        let put = Op::Put {
            user: 1,
            coll: "tabs".into(),
            id: "a b/?%".into(),
            body: serde_json::json!({}),
            pre: Precondition::UnmodifiedSince(TsRef::Current { cs: -2 }),
        };
        let r = w.resolve(&put);
        assert_eq!(r.path, "storage/tabs/a%20b%2F%3F%25");
        assert_eq!(r.uid_index, Some(1));
        assert_eq!(header(&r, "x-if-unmodified-since"), Some("-0.02"));
        let list = Op::List {
            user: 0,
            coll: "tabs".into(),
            query: Query {
                ids: Some(vec!["a".into(), "b,c".into()]),
                sort: Some(Sort::Index),
                limit: Some(2),
                offset: Some(OffsetRef::Next),
                full: true,
                ..Query::default()
            },
        };
        assert_eq!(w.resolve(&list).path, "storage/tabs?full&ids=a%2Cb%2Cc&sort=index&limit=2");
        let commit = Op::Post {
            user: 0,
            coll: "tabs".into(),
            body: serde_json::json!([]),
            batch: BatchStep::Continue { batch: BatchRef::Opened(3), commit: true },
            pre: Precondition::None,
        };
        let r = w.resolve(&commit);
        assert_eq!(r.path, format!("storage/tabs?batch={UNKNOWN_BATCH}&commit=true"));
        assert_eq!(query_pairs(&r.path), vec![("batch".to_owned(), UNKNOWN_BATCH.to_owned()), ("commit".to_owned(), "true".to_owned())]);
        assert_eq!(w.resolve(&Op::Wait { ms: 5 }).method, "WAIT");
        assert_eq!(w.resolve(&Op::DeleteStorage { user: 0 }).path, "storage");
        assert_eq!(parse_ts_text("-0.02"), Some(Stamp(-2)));
    }
}
