//! The storage layer: every read and write of SPEC area K, as set-based SQL.
//!
//! Writes to one user are serialized by a transaction-scoped advisory lock on the uid, taken
//! before anything else is read. That makes a user's first write to a new collection, and two
//! requests creating the same collection name, as safe as any other write, and lets every write
//! take a T strictly above the user's storage ts (I-04) without retries.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::clock::{Clock, NEVER_EXPIRES_SECS, PRETOUCH, Ts};
use crate::config::Config;
use crate::db::model::{Bso, BsoWrite, Field, Query, Sort};
use crate::error::{ApiError, code};

type Result<T, E = ApiError> = std::result::Result<T, E>;

/// How long a write waits for the clock to pass the user's storage ts before answering 409.
const MAX_CLOCK_WAIT: Duration = Duration::from_secs(2);

/// Stages records in `batch_bsos`; a restaged id merges field by field, an explicit null
/// (`*_cleared`) replacing what was staged before (F-03).
const RESTAGE_SQL: &str = "INSERT INTO batch_bsos (user_id, collection_id, batch_id, batch_bso_id, payload, \
                   payload_cleared, sortindex, sortindex_cleared, ttl, ttl_cleared) \
                 SELECT $1, $2, $3, r.id, r.payload, r.p_null, r.sortindex, r.s_null, r.ttl, r.t_null \
                 FROM unnest($4::text[], $5::text[], $6::bool[], $7::int4[], $8::bool[], $9::int8[], \
                             $10::bool[]) AS r(id, payload, p_null, sortindex, s_null, ttl, t_null) \
                 ON CONFLICT (user_id, collection_id, batch_id, batch_bso_id) DO UPDATE SET \
                   payload = CASE WHEN EXCLUDED.payload IS NOT NULL OR EXCLUDED.payload_cleared \
                             THEN EXCLUDED.payload ELSE batch_bsos.payload END, \
                   payload_cleared = CASE WHEN EXCLUDED.payload IS NOT NULL OR EXCLUDED.payload_cleared \
                             THEN EXCLUDED.payload_cleared ELSE batch_bsos.payload_cleared END, \
                   sortindex = CASE WHEN EXCLUDED.sortindex IS NOT NULL OR EXCLUDED.sortindex_cleared \
                             THEN EXCLUDED.sortindex ELSE batch_bsos.sortindex END, \
                   sortindex_cleared = CASE WHEN EXCLUDED.sortindex IS NOT NULL OR EXCLUDED.sortindex_cleared \
                             THEN EXCLUDED.sortindex_cleared ELSE batch_bsos.sortindex_cleared END, \
                   ttl = CASE WHEN EXCLUDED.ttl IS NOT NULL OR EXCLUDED.ttl_cleared \
                             THEN EXCLUDED.ttl ELSE batch_bsos.ttl END, \
                   ttl_cleared = CASE WHEN EXCLUDED.ttl IS NOT NULL OR EXCLUDED.ttl_cleared \
                             THEN EXCLUDED.ttl_cleared ELSE batch_bsos.ttl_cleared END";

/// What a successful write reports back.
#[derive(Debug, Clone, Copy)]
pub struct WriteOutcome {
    /// The write's T, or the current ts when the request changed nothing.
    pub modified: Ts,
    /// Bytes left under an enforced quota after the write (D-13).
    pub quota_remaining: Option<i64>,
    /// False when the request changed nothing and `modified` is the unchanged current ts.
    pub wrote: bool,
}

impl WriteOutcome {
    fn unchanged(ts: Ts) -> Self {
        Self { modified: ts, quota_remaining: None, wrote: false }
    }

    fn written(t: Ts) -> Self {
        Self { modified: t, quota_remaining: None, wrote: true }
    }
}

/// A collection's row in `user_collections`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CollectionRow {
    Missing,
    Placeholder,
    Real(Ts),
}

impl CollectionRow {
    fn ts(self) -> Ts {
        match self {
            CollectionRow::Real(ts) => ts,
            _ => Ts::ZERO,
        }
    }
}

#[derive(Debug)]
pub struct Store {
    pool: Pool,
    clock: Arc<Clock>,
    config: Arc<Config>,
    /// Collection ids only ever seen committed; names are never renamed or removed (K-29).
    collections: RwLock<HashMap<String, i32>>,
    /// `octet_length`, or `char_length` under the `bytes_as_chars` fault.
    size_fn: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("parse the database URL: {0}")]
    BadUrl(String),
    #[error("build the connection pool: {0}")]
    Pool(String),
    #[error("reach PostgreSQL at the database URL ({0}); check that it is running and the URL is right")]
    Unreachable(String),
}

/// Opens a pool of connections to `url` and checks that one works.
pub async fn connect(url: &str, max_size: usize) -> Result<Pool, ConnectError> {
    let pg: tokio_postgres::Config = url.parse().map_err(|e| ConnectError::BadUrl(format!("{e}")))?;
    let manager = Manager::from_config(pg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let pool = Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(Duration::from_secs(5)))
        .wait_timeout(Some(Duration::from_secs(10)))
        .build()
        .map_err(|e| ConnectError::Pool(e.to_string()))?;
    let conn = pool.get().await.map_err(|e| ConnectError::Unreachable(e.to_string()))?;
    conn.simple_query("SELECT 1").await.map_err(|e| ConnectError::Unreachable(e.to_string()))?;
    Ok(pool)
}

fn row_ts(row: &tokio_postgres::Row, idx: usize) -> Ts {
    Ts::from_system(row.get(idx))
}

/// Column arrays for `unnest`, one entry per record.
struct Columns {
    ids: Vec<String>,
    payloads: Vec<Option<String>>,
    payload_set: Vec<bool>,
    sortindexes: Vec<Option<i32>>,
    sortindex_set: Vec<bool>,
    ttls: Vec<Option<i64>>,
    ttl_set: Vec<bool>,
}

impl Columns {
    fn new(records: &[BsoWrite]) -> Self {
        Self {
            ids: records.iter().map(|r| r.id.clone()).collect(),
            payloads: records.iter().map(|r| r.payload.value().cloned()).collect(),
            payload_set: records.iter().map(|r| r.payload.is_present()).collect(),
            sortindexes: records.iter().map(|r| r.sortindex.value().copied()).collect(),
            sortindex_set: records.iter().map(|r| r.sortindex.is_present()).collect(),
            ttls: records.iter().map(|r| r.ttl.value().copied()).collect(),
            ttl_set: records.iter().map(|r| r.ttl.is_present()).collect(),
        }
    }
}

fn field_from_row<T>(value: Option<T>, cleared: bool) -> Field<T> {
    match (value, cleared) {
        (Some(v), _) => Field::Set(v),
        (None, true) => Field::Null,
        (None, false) => Field::Absent,
    }
}

impl Store {
    pub fn new(pool: Pool, clock: Arc<Clock>, config: Arc<Config>) -> Self {
        let size_fn = if config.faults.bytes_as_chars { "char_length" } else { "octet_length" };
        Self { pool, clock, config, collections: RwLock::new(HashMap::new()), size_fn }
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    async fn conn(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    /// `SELECT 1` for the heartbeat.
    pub async fn ping(&self) -> bool {
        let ping = tokio::time::timeout(Duration::from_secs(2), async {
            let conn = self.conn().await?;
            conn.simple_query("SELECT 1").await?;
            Ok::<_, ApiError>(())
        });
        matches!(ping.await, Ok(Ok(())))
    }

    // ---- collections -------------------------------------------------------------------------

    async fn lookup_collection(&self, client: &impl GenericClient, name: &str) -> Result<Option<i32>> {
        if let Some(id) = self.collections.read().ok().and_then(|m| m.get(name).copied()) {
            return Ok(Some(id));
        }
        let stmt = client.prepare_cached("SELECT collection_id FROM collections WHERE name = $1").await?;
        let row = client.query_opt(&stmt, &[&name]).await?;
        let id = row.map(|r| r.get::<_, i32>(0));
        if let (Some(id), Ok(mut map)) = (id, self.collections.write()) {
            map.insert(name.to_owned(), id);
        }
        Ok(id)
    }

    /// Resolves a name, creating it inside the caller's transaction, so a failed request leaves no
    /// new name behind; concurrent creators wait on the unique index and then read one id.
    async fn ensure_collection(&self, tx: &deadpool_postgres::Transaction<'_>, name: &str) -> Result<i32> {
        if let Some(id) = self.lookup_collection(tx, name).await? {
            return Ok(id);
        }
        let stmt = tx
            .prepare_cached(
                "INSERT INTO collections (name) VALUES ($1) ON CONFLICT (name) DO NOTHING \
                 RETURNING collection_id",
            )
            .await?;
        if let Some(row) = tx.query_opt(&stmt, &[&name]).await? {
            return Ok(row.get(0));
        }
        let stmt = tx.prepare_cached("SELECT collection_id FROM collections WHERE name = $1").await?;
        let row = tx.query_one(&stmt, &[&name]).await?;
        Ok(row.get(0))
    }

    // ---- reads -------------------------------------------------------------------------------

    async fn storage_ts_in(&self, client: &impl GenericClient, uid: i64) -> Result<Ts> {
        let stmt = client.prepare_cached("SELECT max(modified) FROM user_collections WHERE user_id = $1 AND modified > $2").await?;
        let row = client.query_one(&stmt, &[&uid, &PRETOUCH.to_system()]).await?;
        let ts: Option<std::time::SystemTime> = row.get(0);
        Ok(ts.map_or(Ts::ZERO, Ts::from_system))
    }

    /// The user's storage ts: the latest T of any write, 0 for a new user (K-01).
    pub async fn storage_ts(&self, uid: i64) -> Result<Ts> {
        let conn = self.conn().await?;
        self.storage_ts_in(&conn, uid).await
    }

    async fn collection_row(&self, client: &impl GenericClient, uid: i64, cid: i32) -> Result<CollectionRow> {
        let stmt = client.prepare_cached("SELECT modified FROM user_collections WHERE user_id = $1 AND collection_id = $2").await?;
        Ok(match client.query_opt(&stmt, &[&uid, &cid]).await? {
            None => CollectionRow::Missing,
            Some(row) => {
                let ts = row_ts(&row, 0);
                if ts <= PRETOUCH { CollectionRow::Placeholder } else { CollectionRow::Real(ts) }
            }
        })
    }

    /// The collection ts, 0 when it does not exist or holds only an open batch.
    pub async fn collection_ts(&self, uid: i64, name: &str) -> Result<Ts> {
        let conn = self.conn().await?;
        let Some(cid) = self.lookup_collection(&conn, name).await? else {
            return Ok(Ts::ZERO);
        };
        Ok(self.collection_row(&conn, uid, cid).await?.ts())
    }

    /// info/collections: real rows only, with the storage ts.
    pub async fn info_collections(&self, uid: i64) -> Result<(Vec<(String, Ts)>, Ts)> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT c.name, uc.modified FROM user_collections uc \
                 JOIN collections c USING (collection_id) \
                 WHERE uc.user_id = $1 AND uc.collection_id <> 0 AND uc.modified > $2 \
                 ORDER BY c.name",
            )
            .await?;
        let rows = conn.query(&stmt, &[&uid, &PRETOUCH.to_system()]).await?;
        let list: Vec<(String, Ts)> = rows.iter().map(|r| (r.get(0), row_ts(r, 1))).collect();
        let storage = self.storage_ts_in(&conn, uid).await?;
        Ok((list, storage))
    }

    /// Live record counts and payload bytes per collection (A-04, A-05, K-25).
    pub async fn collection_figures(&self, uid: i64) -> Result<Vec<(String, i64, i64)>> {
        let conn = self.conn().await?;
        let sql = format!(
            "SELECT c.name, count(*), coalesce(sum({}(b.payload)), 0)::bigint FROM bsos b \
             JOIN collections c USING (collection_id) \
             WHERE b.user_id = $1 AND b.expiry > $2 GROUP BY c.name ORDER BY c.name",
            self.size_fn
        );
        let stmt = conn.prepare_cached(&sql).await?;
        let now = self.clock.now_for(uid).to_system();
        let rows = conn.query(&stmt, &[&uid, &now]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    async fn usage_in(&self, client: &impl GenericClient, uid: i64, at: Ts) -> Result<i64> {
        let sql = format!("SELECT coalesce(sum({}(payload)), 0)::bigint FROM bsos WHERE user_id = $1 AND expiry > $2", self.size_fn);
        let stmt = client.prepare_cached(&sql).await?;
        let row = client.query_one(&stmt, &[&uid, &at.to_system()]).await?;
        Ok(row.get(0))
    }

    /// Bytes of the user's live payloads (H-04).
    pub async fn usage(&self, uid: i64) -> Result<i64> {
        let conn = self.conn().await?;
        self.usage_in(&conn, uid, self.clock.now_for(uid)).await
    }

    /// One live record, or `None`.
    pub async fn get_bso(&self, uid: i64, name: &str, id: &str) -> Result<Option<Bso>> {
        let conn = self.conn().await?;
        let Some(cid) = self.lookup_collection(&conn, name).await? else {
            return Ok(None);
        };
        let stmt = conn
            .prepare_cached(
                "SELECT bso_id, modified, payload, sortindex FROM bsos \
                 WHERE user_id = $1 AND collection_id = $2 AND bso_id = $3 AND expiry > $4",
            )
            .await?;
        let now = self.clock.now_for(uid).to_system();
        let row = conn.query_opt(&stmt, &[&uid, &cid, &id, &now]).await?;
        Ok(row.map(|r| Bso { id: r.get(0), modified: row_ts(&r, 1), payload: r.get(2), sortindex: r.get(3) }))
    }

    /// A page of live records (area C). Returns the records and the offset of the next page when
    /// a `limit` cut the listing short (C-11).
    pub async fn get_bsos(&self, uid: i64, name: &str, query: &Query, full: bool) -> Result<(Vec<Bso>, Option<u64>)> {
        let conn = self.conn().await?;
        let Some(cid) = self.lookup_collection(&conn, name).await? else {
            return Ok((Vec::new(), None));
        };
        let now = self.clock.now_for(uid).to_system();
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(uid), Box::new(cid), Box::new(now)];
        let mut sql = String::from(if full {
            "SELECT bso_id, modified, payload, sortindex FROM bsos"
        } else {
            "SELECT bso_id, modified, ''::text, sortindex FROM bsos"
        });
        sql.push_str(" WHERE user_id = $1 AND collection_id = $2 AND expiry > $3");
        if let Some(ids) = &query.ids {
            params.push(Box::new(ids.clone()));
            sql.push_str(&format!(" AND bso_id = ANY(${})", params.len()));
        }
        let faults = &self.config.faults;
        let newer = if faults.ids_ignore_newer && query.ids.is_some() { None } else { query.newer };
        let older = if faults.ids_ignore_older && query.ids.is_some() { None } else { query.older };
        if let Some(newer) = newer {
            params.push(Box::new(newer.to_system()));
            let op = if self.config.faults.newer_inclusive { ">=" } else { ">" };
            sql.push_str(&format!(" AND modified {op} ${}", params.len()));
        }
        if let Some(older) = older {
            params.push(Box::new(older.to_system()));
            sql.push_str(&format!(" AND modified < ${}", params.len()));
        }
        // The id breaks ties so that every page of a listing sees one order (C-12).
        sql.push_str(match query.sort {
            Some(Sort::Oldest) => " ORDER BY modified ASC, bso_id ASC",
            Some(Sort::Index) => " ORDER BY sortindex DESC NULLS LAST, bso_id ASC",
            Some(Sort::Newest) | None => " ORDER BY modified DESC, bso_id ASC",
        });
        if let Some(limit) = query.limit {
            // One row more than asked tells whether another page follows.
            params.push(Box::new(i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX)));
            sql.push_str(&format!(" LIMIT ${}", params.len()));
        }
        params.push(Box::new(i64::try_from(query.offset).unwrap_or(i64::MAX)));
        sql.push_str(&format!(" OFFSET ${}", params.len()));

        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
        let rows = conn.query(&sql, &refs).await?;
        let mut bsos: Vec<Bso> =
            rows.iter().map(|r| Bso { id: r.get(0), modified: row_ts(r, 1), payload: r.get(2), sortindex: r.get(3) }).collect();
        let mut next = None;
        if let Some(limit) = query.limit {
            if bsos.len() as u64 > limit {
                bsos.truncate(limit as usize);
                next = Some(query.offset + limit);
            }
        }
        Ok((bsos, next))
    }

    // ---- write plumbing ----------------------------------------------------------------------

    /// Takes the user's write lock; returns the storage ts as seen under it.
    async fn lock_user(&self, tx: &deadpool_postgres::Transaction<'_>, uid: i64) -> Result<Ts> {
        let stmt = tx.prepare_cached("SELECT pg_advisory_xact_lock($1)").await?;
        tx.query_one(&stmt, &[&uid]).await?;
        self.storage_ts_in(tx, uid).await
    }

    /// A T strictly above `storage_ts` on the 10 ms grid (I-04). Waits (holding the user's lock)
    /// for the clock to move past it; answers 409 if that would take too long.
    async fn next_ts(&self, uid: i64, storage_ts: Ts) -> Result<Ts> {
        let deadline = tokio::time::Instant::now() + MAX_CLOCK_WAIT;
        loop {
            let now = self.clock.now_for(uid);
            if now > storage_ts {
                return Ok(now);
            }
            if self.config.faults.unavailable_same_tick {
                return Err(ApiError::Unavailable(format!("no ts above the storage ts {storage_ts} yet")));
            }
            let wait = Duration::from_millis((storage_ts.0 - self.clock.now_precise_for(uid).0 + 10).max(1) as u64);
            if tokio::time::Instant::now() + wait > deadline {
                return Err(ApiError::Conflict);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// 412 when the resource changed after `since` (D-06, D-09).
    fn check_unmodified(resource_ts: Ts, since: Option<Ts>) -> Result<()> {
        match since {
            Some(since) if resource_ts > since => Err(ApiError::PreconditionFailed(resource_ts)),
            _ => Ok(()),
        }
    }

    /// Refuses a write while the user is at or over an enforced quota (H-03, H-08). `pending` is
    /// what an open batch already holds.
    async fn check_quota(&self, tx: &deadpool_postgres::Transaction<'_>, uid: i64, pending: i64) -> Result<()> {
        if let Some(limit) = self.config.quota_limit {
            let used = self.usage_in(tx, uid, self.clock.now_for(uid)).await?;
            if used + pending >= limit as i64 {
                return Err(ApiError::over_quota());
            }
        }
        Ok(())
    }

    async fn quota_remaining(&self, tx: &deadpool_postgres::Transaction<'_>, uid: i64, at: Ts) -> Result<Option<i64>> {
        match self.config.quota_limit {
            Some(limit) => Ok(Some(limit as i64 - self.usage_in(tx, uid, at).await?)),
            None => Ok(None),
        }
    }

    /// Sets `count` and `total_bytes` from the records alive at `t` (K-13, K-14).
    async fn recompute_totals(&self, tx: &deadpool_postgres::Transaction<'_>, uid: i64, cid: i32, t: Ts, keep_count: bool) -> Result<()> {
        let count = if keep_count { "count" } else { "x.n" };
        let sql = format!(
            "UPDATE user_collections SET count = {count}, total_bytes = x.bytes \
             FROM (SELECT count(*) AS n, coalesce(sum({}(payload)), 0)::bigint AS bytes FROM bsos \
                   WHERE user_id = $1 AND collection_id = $2 AND expiry > $3) x \
             WHERE user_id = $1 AND collection_id = $2",
            self.size_fn
        );
        let stmt = tx.prepare_cached(&sql).await?;
        tx.execute(&stmt, &[&uid, &cid, &t.to_system()]).await?;
        Ok(())
    }

    /// Makes the collection row real with `modified = T` (a placeholder becomes real).
    async fn touch_collection(&self, tx: &deadpool_postgres::Transaction<'_>, uid: i64, cid: i32, t: Ts) -> Result<()> {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO user_collections (user_id, collection_id, modified, count, total_bytes) \
                 VALUES ($1, $2, $3, 0, 0) \
                 ON CONFLICT (user_id, collection_id) DO UPDATE SET modified = EXCLUDED.modified",
            )
            .await?;
        tx.execute(&stmt, &[&uid, &cid, &t.to_system()]).await?;
        Ok(())
    }

    /// Writes records at T with PUT semantics (K-02 step 4): an expired row is replaced whole, a
    /// live one gets the supplied fields, a missing one is created with defaults.
    async fn apply_records(&self, tx: &deadpool_postgres::Transaction<'_>, uid: i64, cid: i32, t: Ts, records: &[BsoWrite]) -> Result<()> {
        self.touch_collection(tx, uid, cid, t).await?;
        if !records.is_empty() {
            let mut c = Columns::new(records);
            if self.config.faults.mangle_astral {
                for p in c.payloads.iter_mut().flatten() {
                    *p = p.chars().map(|ch| if u32::from(ch) > 0xFFFF { '\u{FFFD}' } else { ch }).collect();
                }
            }
            let ts = t.to_system();
            let stmt = tx
                .prepare_cached(
                    "DELETE FROM bsos WHERE user_id = $1 AND collection_id = $2 \
                     AND bso_id = ANY($3) AND expiry <= $4",
                )
                .await?;
            tx.execute(&stmt, &[&uid, &cid, &c.ids, &ts]).await?;
            let stmt = tx
                .prepare_cached(
                    "UPDATE bsos b SET \
                       payload = CASE WHEN r.p_set THEN coalesce(r.payload, '') ELSE b.payload END, \
                       sortindex = CASE WHEN r.s_set THEN r.sortindex ELSE b.sortindex END, \
                       modified = CASE WHEN r.p_set OR r.s_set THEN $4::timestamptz ELSE b.modified END, \
                       expiry = CASE WHEN r.t_set THEN $4::timestamptz + coalesce(r.ttl, $5::int8) * interval '1 second' \
                                ELSE b.expiry END \
                     FROM unnest($3::text[], $6::text[], $7::bool[], $8::int4[], $9::bool[], \
                                 $10::int8[], $11::bool[]) \
                          AS r(id, payload, p_set, sortindex, s_set, ttl, t_set) \
                     WHERE b.user_id = $1 AND b.collection_id = $2 AND b.bso_id = r.id",
                )
                .await?;
            tx.execute(
                &stmt,
                &[
                    &uid,
                    &cid,
                    &c.ids,
                    &ts,
                    &NEVER_EXPIRES_SECS,
                    &c.payloads,
                    &c.payload_set,
                    &c.sortindexes,
                    &c.sortindex_set,
                    &c.ttls,
                    &c.ttl_set,
                ],
            )
            .await?;
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO bsos (user_id, collection_id, bso_id, sortindex, payload, modified, expiry) \
                     SELECT $1, $2, r.id, r.sortindex, coalesce(r.payload, ''), $4::timestamptz, \
                            $4::timestamptz + coalesce(r.ttl, $5::int8) * interval '1 second' \
                     FROM unnest($3::text[], $6::text[], $7::int4[], $8::int8[]) \
                          AS r(id, payload, sortindex, ttl) \
                     ON CONFLICT (user_id, collection_id, bso_id) DO NOTHING",
                )
                .await?;
            tx.execute(&stmt, &[&uid, &cid, &c.ids, &ts, &NEVER_EXPIRES_SECS, &c.payloads, &c.sortindexes, &c.ttls]).await?;
        }
        self.recompute_totals(tx, uid, cid, t, false).await
    }

    // ---- writes ------------------------------------------------------------------------------

    /// PUT, POST and `batch=true&commit=true` (K-02, K-03). With nothing to store in a collection
    /// that has no real row, nothing is written (E-09).
    pub async fn write_records(
        &self,
        uid: i64,
        name: &str,
        records: Vec<BsoWrite>,
        unmodified_since: Option<Ts>,
        record_precondition: Option<&str>,
    ) -> Result<WriteOutcome> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let storage_ts = self.lock_user(&tx, uid).await?;
        let existing = self.lookup_collection(&tx, name).await?;
        let row = match existing {
            Some(cid) => self.collection_row(&tx, uid, cid).await?,
            None => CollectionRow::Missing,
        };
        let resource_ts = match (record_precondition, existing) {
            (Some(id), Some(cid)) => self.live_bso_ts(&tx, uid, cid, id).await?,
            (Some(_), None) => Ts::ZERO,
            (None, _) => row.ts(),
        };
        Self::check_unmodified(resource_ts, unmodified_since)?;
        if records.is_empty() && !matches!(row, CollectionRow::Real(_)) {
            return Ok(WriteOutcome::unchanged(storage_ts));
        }
        self.check_quota(&tx, uid, 0).await?;
        let cid = self.ensure_collection(&tx, name).await?;
        let t = self.next_ts(uid, storage_ts).await?;
        self.apply_records(&tx, uid, cid, t, &records).await?;
        if self.config.faults.write_discards_batches {
            let stmt = tx.prepare_cached("DELETE FROM batches WHERE user_id = $1 AND collection_id = $2").await?;
            tx.execute(&stmt, &[&uid, &cid]).await?;
        }
        let quota_remaining = self.quota_remaining(&tx, uid, t).await?;
        tx.commit().await?;
        Ok(WriteOutcome { quota_remaining, ..WriteOutcome::written(t) })
    }

    async fn live_bso_ts(&self, client: &impl GenericClient, uid: i64, cid: i32, id: &str) -> Result<Ts> {
        let stmt = client
            .prepare_cached(
                "SELECT modified FROM bsos WHERE user_id = $1 AND collection_id = $2 \
                 AND bso_id = $3 AND expiry > $4",
            )
            .await?;
        let now = self.clock.now_for(uid).to_system();
        Ok(client.query_opt(&stmt, &[&uid, &cid, &id, &now]).await?.map_or(Ts::ZERO, |r| row_ts(&r, 0)))
    }

    /// The live-record precondition ts, for GET of a record (D-09).
    pub async fn bso_ts(&self, uid: i64, name: &str, id: &str) -> Result<Ts> {
        let conn = self.conn().await?;
        match self.lookup_collection(&conn, name).await? {
            Some(cid) => self.live_bso_ts(&conn, uid, cid, id).await,
            None => Ok(Ts::ZERO),
        }
    }

    /// DELETE of one record (K-07). `None` when there is no live record (404).
    pub async fn delete_bso(&self, uid: i64, name: &str, id: &str, unmodified_since: Option<Ts>) -> Result<Option<Ts>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let storage_ts = self.lock_user(&tx, uid).await?;
        let Some(cid) = self.lookup_collection(&tx, name).await? else {
            return Ok(None);
        };
        let bso_ts = self.live_bso_ts(&tx, uid, cid, id).await?;
        Self::check_unmodified(bso_ts, unmodified_since)?;
        if bso_ts == Ts::ZERO {
            return Ok(None);
        }
        let t = self.next_ts(uid, storage_ts).await?;
        let stmt = tx.prepare_cached("DELETE FROM bsos WHERE user_id = $1 AND collection_id = $2 AND bso_id = $3").await?;
        tx.execute(&stmt, &[&uid, &cid, &id]).await?;
        self.touch_collection(&tx, uid, cid, t).await?;
        self.recompute_totals(&tx, uid, cid, t, self.config.faults.stale_count_on_delete).await?;
        tx.commit().await?;
        Ok(Some(t))
    }

    /// DELETE `?ids=` (K-08). On a collection without a real row nothing is written.
    pub async fn delete_bsos(&self, uid: i64, name: &str, ids: &[String], unmodified_since: Option<Ts>) -> Result<WriteOutcome> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let storage_ts = self.lock_user(&tx, uid).await?;
        let Some(cid) = self.lookup_collection(&tx, name).await? else {
            return Ok(WriteOutcome::unchanged(storage_ts));
        };
        let row = self.collection_row(&tx, uid, cid).await?;
        Self::check_unmodified(row.ts(), unmodified_since)?;
        if !matches!(row, CollectionRow::Real(_)) {
            return Ok(WriteOutcome::unchanged(storage_ts));
        }
        let t = self.next_ts(uid, storage_ts).await?;
        let stmt = tx
            .prepare_cached(
                "DELETE FROM bsos WHERE user_id = $1 AND collection_id = $2 AND bso_id = ANY($3) \
                 AND expiry > $4",
            )
            .await?;
        tx.execute(&stmt, &[&uid, &cid, &ids, &t.to_system()]).await?;
        self.touch_collection(&tx, uid, cid, t).await?;
        self.recompute_totals(&tx, uid, cid, t, self.config.faults.stale_count_on_delete).await?;
        tx.commit().await?;
        Ok(WriteOutcome::written(t))
    }

    /// DELETE of a collection (K-09): a real row goes and the tombstone takes T; a lone
    /// placeholder goes without moving any ts.
    pub async fn delete_collection(&self, uid: i64, name: &str, unmodified_since: Option<Ts>) -> Result<WriteOutcome> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let storage_ts = self.lock_user(&tx, uid).await?;
        let Some(cid) = self.lookup_collection(&tx, name).await? else {
            return Ok(WriteOutcome::unchanged(storage_ts));
        };
        let row = self.collection_row(&tx, uid, cid).await?;
        Self::check_unmodified(row.ts(), unmodified_since)?;
        let delete = tx.prepare_cached("DELETE FROM user_collections WHERE user_id = $1 AND collection_id = $2").await?;
        match row {
            CollectionRow::Missing => return Ok(WriteOutcome::unchanged(storage_ts)),
            CollectionRow::Placeholder => {
                tx.execute(&delete, &[&uid, &cid]).await?;
                tx.commit().await?;
                return Ok(WriteOutcome::unchanged(storage_ts));
            }
            CollectionRow::Real(_) => {}
        }
        let t = self.next_ts(uid, storage_ts).await?;
        tx.execute(&delete, &[&uid, &cid]).await?;
        self.upsert_tombstone(&tx, uid, t).await?;
        tx.commit().await?;
        Ok(WriteOutcome::written(t))
    }

    async fn upsert_tombstone(&self, tx: &deadpool_postgres::Transaction<'_>, uid: i64, t: Ts) -> Result<()> {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO user_collections (user_id, collection_id, modified, count, total_bytes) \
                 VALUES ($1, 0, $2, NULL, NULL) \
                 ON CONFLICT (user_id, collection_id) DO UPDATE SET modified = EXCLUDED.modified",
            )
            .await?;
        tx.execute(&stmt, &[&uid, &t.to_system()]).await?;
        Ok(())
    }

    /// DELETE /storage (K-10): everything goes; the tombstone keeps the wipe's T (I-07).
    pub async fn delete_storage(&self, uid: i64, unmodified_since: Option<Ts>) -> Result<WriteOutcome> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let storage_ts = self.lock_user(&tx, uid).await?;
        Self::check_unmodified(storage_ts, unmodified_since)?;
        let stmt = tx.prepare_cached("DELETE FROM user_collections WHERE user_id = $1").await?;
        let removed = tx.execute(&stmt, &[&uid]).await?;
        if storage_ts == Ts::ZERO {
            // Only placeholders (if anything) were there: nothing visible changes.
            if removed > 0 {
                tx.commit().await?;
            }
            return Ok(WriteOutcome::unchanged(storage_ts));
        }
        let t = self.next_ts(uid, storage_ts).await?;
        self.upsert_tombstone(&tx, uid, t).await?;
        tx.commit().await?;
        Ok(WriteOutcome::written(t))
    }

    // ---- batches -----------------------------------------------------------------------------

    /// Ids and payload sizes staged in a live batch, or 400/0 when the batch is unknown here
    /// (F-13, F-14, F-15, F-16).
    async fn staged(&self, tx: &deadpool_postgres::Transaction<'_>, uid: i64, cid: i32, batch: Uuid) -> Result<Vec<BsoWrite>> {
        let stmt = tx
            .prepare_cached(
                "SELECT 1 FROM batches WHERE user_id = $1 AND collection_id = $2 AND batch_id = $3 \
                 AND expiry > $4",
            )
            .await?;
        let now = self.clock.now_for(uid).to_system();
        if tx.query_opt(&stmt, &[&uid, &cid, &batch, &now]).await?.is_none() {
            return Err(ApiError::bad_request(code::GENERIC));
        }
        let stmt = tx
            .prepare_cached(
                "SELECT batch_bso_id, payload, payload_cleared, sortindex, sortindex_cleared, ttl, \
                 ttl_cleared FROM batch_bsos \
                 WHERE user_id = $1 AND collection_id = $2 AND batch_id = $3 ORDER BY batch_bso_id",
            )
            .await?;
        let rows = tx.query(&stmt, &[&uid, &cid, &batch]).await?;
        Ok(rows
            .iter()
            .map(|r| BsoWrite {
                id: r.get(0),
                payload: field_from_row(r.get(1), r.get(2)),
                sortindex: field_from_row(r.get(3), r.get(4)),
                ttl: field_from_row(r.get(5), r.get(6)),
            })
            .collect())
    }

    /// Merges `incoming` into `staged` by id, field by field (F-03, F-06).
    fn merge_staged(staged: Vec<BsoWrite>, incoming: &[BsoWrite]) -> Vec<BsoWrite> {
        let mut order: Vec<String> = Vec::with_capacity(staged.len() + incoming.len());
        let mut by_id: HashMap<String, BsoWrite> = HashMap::with_capacity(order.capacity());
        for rec in staged.into_iter().chain(incoming.iter().cloned()) {
            match by_id.remove(&rec.id) {
                Some(prev) => {
                    by_id.insert(rec.id.clone(), prev.merge(rec));
                }
                None => {
                    order.push(rec.id.clone());
                    by_id.insert(rec.id.clone(), rec);
                }
            }
        }
        order.into_iter().filter_map(|id| by_id.remove(&id)).collect()
    }

    /// F-17: a batch holds at most `max_total_records` ids and `max_total_bytes` payload bytes.
    fn check_batch_totals(&self, merged: &[BsoWrite]) -> Result<i64> {
        let bytes: u64 = merged.iter().map(BsoWrite::payload_bytes).sum();
        let limits = &self.config.limits;
        if merged.len() as u64 > limits.max_total_records || bytes > limits.max_total_bytes {
            return Err(ApiError::bad_request(code::LIMIT_EXCEEDED));
        }
        Ok(bytes as i64)
    }

    async fn stage(&self, tx: &deadpool_postgres::Transaction<'_>, uid: i64, cid: i32, batch: Uuid, records: &[BsoWrite]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let c = Columns::new(records);
        let payload_null: Vec<bool> = records.iter().map(|r| r.payload == Field::Null).collect();
        let sortindex_null: Vec<bool> = records.iter().map(|r| r.sortindex == Field::Null).collect();
        let ttl_null: Vec<bool> = records.iter().map(|r| r.ttl == Field::Null).collect();
        let stmt = tx.prepare_cached(RESTAGE_SQL).await?;
        tx.execute(&stmt, &[&uid, &cid, &batch, &c.ids, &c.payloads, &payload_null, &c.sortindexes, &sortindex_null, &c.ttls, &ttl_null])
            .await?;
        Ok(())
    }

    /// Starts a batch (K-04), staging `records`. Moves no ts (I-08).
    pub async fn batch_create(
        &self,
        uid: i64,
        name: &str,
        records: &[BsoWrite],
        unmodified_since: Option<Ts>,
    ) -> Result<(Uuid, WriteOutcome)> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        self.lock_user(&tx, uid).await?;
        let cid = self.ensure_collection(&tx, name).await?;
        let row = self.collection_row(&tx, uid, cid).await?;
        Self::check_unmodified(row.ts(), unmodified_since)?;
        let merged = Self::merge_staged(Vec::new(), records);
        let staged_bytes = self.check_batch_totals(&merged)?;
        self.check_quota(&tx, uid, staged_bytes).await?;
        if row == CollectionRow::Missing {
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO user_collections (user_id, collection_id, modified, count, total_bytes) \
                     VALUES ($1, $2, $3, NULL, NULL)",
                )
                .await?;
            tx.execute(&stmt, &[&uid, &cid, &PRETOUCH.to_system()]).await?;
        }
        let batch = Uuid::new_v4();
        let expiry = Ts::from_millis(self.clock.now_for(uid).0 + self.config.batch_lifetime.as_millis() as i64).truncate();
        let stmt = tx.prepare_cached("INSERT INTO batches (user_id, collection_id, batch_id, expiry) VALUES ($1, $2, $3, $4)").await?;
        tx.execute(&stmt, &[&uid, &cid, &batch, &expiry.to_system()]).await?;
        self.stage(&tx, uid, cid, batch, records).await?;
        let quota_remaining = self.quota_remaining(&tx, uid, self.clock.now_for(uid)).await?;
        tx.commit().await?;
        Ok((batch, WriteOutcome { quota_remaining, ..WriteOutcome::unchanged(row.ts()) }))
    }

    /// The collection id, staged records and collection row of a live batch of this user and
    /// collection; 400/0 for any other batch id (F-13 to F-16).
    async fn open_batch(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        uid: i64,
        name: &str,
        batch: Uuid,
    ) -> Result<(i32, Vec<BsoWrite>, CollectionRow)> {
        let Some(cid) = self.lookup_collection(tx, name).await? else {
            return Err(ApiError::bad_request(code::GENERIC));
        };
        let staged = self.staged(tx, uid, cid, batch).await?;
        let row = self.collection_row(tx, uid, cid).await?;
        Ok((cid, staged, row))
    }

    /// Appends to a batch (K-05). Moves no ts (I-08).
    pub async fn batch_append(
        &self,
        uid: i64,
        name: &str,
        batch: Uuid,
        records: &[BsoWrite],
        unmodified_since: Option<Ts>,
    ) -> Result<WriteOutcome> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        self.lock_user(&tx, uid).await?;
        let (cid, staged, row) = self.open_batch(&tx, uid, name, batch).await?;
        Self::check_unmodified(row.ts(), unmodified_since)?;
        let merged = Self::merge_staged(staged, records);
        let staged_bytes = self.check_batch_totals(&merged)?;
        self.check_quota(&tx, uid, staged_bytes).await?;
        self.stage(&tx, uid, cid, batch, records).await?;
        let quota_remaining = self.quota_remaining(&tx, uid, self.clock.now_for(uid)).await?;
        tx.commit().await?;
        Ok(WriteOutcome { quota_remaining, ..WriteOutcome::unchanged(row.ts()) })
    }

    /// Commits a batch (K-06): staged records, then the body's, all at one T, atomically.
    pub async fn batch_commit(
        &self,
        uid: i64,
        name: &str,
        batch: Uuid,
        records: &[BsoWrite],
        unmodified_since: Option<Ts>,
    ) -> Result<WriteOutcome> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        // The unlocked_commit fault reads the storage ts without serializing with other writes.
        let storage_ts =
            if self.config.faults.unlocked_commit { self.storage_ts_in(&tx, uid).await? } else { self.lock_user(&tx, uid).await? };
        let (cid, staged, row) = self.open_batch(&tx, uid, name, batch).await?;
        let checked = Self::check_unmodified(row.ts(), unmodified_since)
            .and_then(|()| self.check_batch_totals(&Self::merge_staged(staged.clone(), records)));
        if let Err(refusal) = checked {
            if self.config.faults.non_atomic_commit && !staged.is_empty() {
                // Fault: the staged half of a refused commit is applied anyway (K-06 violated).
                let t = self.next_ts(uid, storage_ts).await?;
                self.apply_records(&tx, uid, cid, t, &staged).await?;
                tx.commit().await?;
            }
            return Err(refusal);
        }
        let merged = Self::merge_staged(staged, records);
        let t = self.next_ts(uid, storage_ts).await?;
        self.apply_records(&tx, uid, cid, t, &merged).await?;
        let stmt = tx.prepare_cached("DELETE FROM batches WHERE user_id = $1 AND collection_id = $2 AND batch_id = $3").await?;
        tx.execute(&stmt, &[&uid, &cid, &batch]).await?;
        let quota_remaining = self.quota_remaining(&tx, uid, t).await?;
        tx.commit().await?;
        Ok(WriteOutcome { quota_remaining, ..WriteOutcome::written(t) })
    }
}
