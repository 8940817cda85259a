//! Plain data passed between the HTTP layer and the storage layer.

use crate::clock::Ts;

/// A field of an incoming record: absent keeps the stored value, `Null` resets it to its default
/// (B-11), `Set` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Field<T> {
    #[default]
    Absent,
    Null,
    Set(T),
}

impl<T> Field<T> {
    pub fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }

    pub fn value(&self) -> Option<&T> {
        match self {
            Field::Set(v) => Some(v),
            _ => None,
        }
    }

    /// Field-by-field merge of a restaged record (F-03) and of commit-body records (F-06): a
    /// present field (null included) replaces, an absent one keeps.
    pub fn merge(self, later: Field<T>) -> Field<T> {
        if later.is_present() { later } else { self }
    }
}

/// One validated record of a PUT, POST or batch request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BsoWrite {
    pub id: String,
    pub payload: Field<String>,
    pub sortindex: Field<i32>,
    pub ttl: Field<i64>,
}

impl BsoWrite {
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into(), payload: Field::Absent, sortindex: Field::Absent, ttl: Field::Absent }
    }

    pub fn merge(self, later: BsoWrite) -> BsoWrite {
        BsoWrite {
            id: self.id,
            payload: self.payload.merge(later.payload),
            sortindex: self.sortindex.merge(later.sortindex),
            ttl: self.ttl.merge(later.ttl),
        }
    }

    pub fn payload_bytes(&self) -> u64 {
        self.payload.value().map_or(0, |p| p.len() as u64)
    }
}

/// A stored, live record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bso {
    pub id: String,
    pub modified: Ts,
    pub payload: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sortindex: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Newest,
    Oldest,
    Index,
}

/// Filters of a collection read or delete (area C).
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub ids: Option<Vec<String>>,
    pub newer: Option<Ts>,
    pub older: Option<Ts>,
    pub sort: Option<Sort>,
    pub limit: Option<u64>,
    pub offset: u64,
}
