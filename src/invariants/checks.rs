//! The database invariants of SPEC area K (K-17 to K-28) as named, read-only queries that return
//! the violating rows. Each is limited to the given users (`$1`, a `bigint[]`) so that a check
//! after a case reads only what that case wrote; `$2` is the server's current time (K-22 runs on
//! the server's clock, which a test clock may have moved ahead of the database's).

use std::time::SystemTime;

use serde::Serialize;
use tokio_postgres::{Client, NoTls};

use crate::target::Target;

/// One named check.
#[derive(Debug, Clone, Copy)]
pub struct Invariant {
    pub clause: &'static str,
    pub name: &'static str,
    pub sql: &'static str,
    /// Holds only where totals are maintained (K-13): skipped on servers that do not.
    pub needs_totals: bool,
}

pub const INVARIANTS: &[Invariant] = &[
    Invariant {
        clause: "K-17",
        name: "records-have-a-collection-row",
        sql: "SELECT b.user_id, b.collection_id, b.bso_id FROM bsos b
                LEFT JOIN user_collections uc USING (user_id, collection_id)
               WHERE uc.user_id IS NULL AND b.user_id = ANY($1) AND $2::timestamptz IS NOT NULL",
        needs_totals: false,
    },
    Invariant {
        clause: "K-17",
        name: "batches-have-a-collection-row",
        sql: "SELECT b.user_id, b.collection_id, b.batch_id::text FROM batches b
                LEFT JOIN user_collections uc USING (user_id, collection_id)
               WHERE uc.user_id IS NULL AND b.user_id = ANY($1) AND $2::timestamptz IS NOT NULL",
        needs_totals: false,
    },
    Invariant {
        clause: "K-17",
        name: "staged-records-have-a-batch",
        sql: "SELECT bb.user_id, bb.collection_id, bb.batch_id::text, bb.batch_bso_id FROM batch_bsos bb
                LEFT JOIN batches b USING (user_id, collection_id, batch_id)
               WHERE b.batch_id IS NULL AND bb.user_id = ANY($1) AND $2::timestamptz IS NOT NULL",
        needs_totals: false,
    },
    Invariant {
        clause: "K-18",
        name: "no-records-under-a-placeholder",
        sql: "SELECT b.user_id, b.collection_id, b.bso_id FROM bsos b
                JOIN user_collections uc USING (user_id, collection_id)
               WHERE uc.modified <= TIMESTAMPTZ '0001-01-01 00:00:00+00' AND b.user_id = ANY($1)
                 AND $2::timestamptz IS NOT NULL",
        needs_totals: false,
    },
    Invariant {
        clause: "K-19",
        name: "collection-ids-resolve",
        sql: "SELECT uc.user_id, uc.collection_id FROM user_collections uc
                LEFT JOIN collections c USING (collection_id)
               WHERE uc.collection_id <> 0 AND c.collection_id IS NULL AND uc.user_id = ANY($1)
                 AND $2::timestamptz IS NOT NULL",
        needs_totals: false,
    },
    Invariant {
        clause: "K-19",
        name: "only-user-collections-use-id-0",
        sql: "SELECT 'bsos' AS tbl, user_id, bso_id AS item FROM bsos WHERE collection_id = 0 AND user_id = ANY($1)
              UNION ALL SELECT 'batches', user_id, batch_id::text FROM batches WHERE collection_id = 0 AND user_id = ANY($1)
              UNION ALL SELECT 'batch_bsos', user_id, batch_bso_id FROM batch_bsos
                         WHERE collection_id = 0 AND user_id = ANY($1) AND $2::timestamptz IS NOT NULL",
        needs_totals: false,
    },
    Invariant {
        clause: "K-20",
        name: "placeholders-and-tombstones-carry-no-totals",
        sql: "SELECT user_id, collection_id, modified::text, count, total_bytes FROM user_collections
               WHERE (collection_id = 0 OR modified <= TIMESTAMPTZ '0001-01-01 00:00:00+00')
                 AND (count IS NOT NULL OR total_bytes IS NOT NULL) AND user_id = ANY($1)
                 AND $2::timestamptz IS NOT NULL",
        needs_totals: true,
    },
    Invariant {
        clause: "K-21",
        name: "timestamps-on-the-10ms-grid",
        sql: "SELECT 'bsos' AS tbl, user_id, collection_id, bso_id AS item FROM bsos
               WHERE ((EXTRACT(EPOCH FROM modified) * 100) % 1 <> 0 OR (EXTRACT(EPOCH FROM expiry) * 100) % 1 <> 0)
                 AND user_id = ANY($1)
              UNION ALL SELECT 'uc', user_id, collection_id, NULL FROM user_collections
               WHERE (EXTRACT(EPOCH FROM modified) * 100) % 1 <> 0 AND user_id = ANY($1)
              UNION ALL SELECT 'batches', user_id, collection_id, batch_id::text FROM batches
               WHERE (EXTRACT(EPOCH FROM expiry) * 100) % 1 <> 0 AND user_id = ANY($1)
                 AND $2::timestamptz IS NOT NULL",
        needs_totals: false,
    },
    Invariant {
        clause: "K-22",
        name: "no-timestamp-in-the-future",
        sql: "SELECT 'bsos' AS tbl, user_id, collection_id, bso_id AS item FROM bsos
               WHERE (modified > $2 OR expiry > $2 + interval '2100000000 seconds') AND user_id = ANY($1)
              UNION ALL SELECT 'uc', user_id, collection_id, NULL FROM user_collections
               WHERE modified > $2 AND user_id = ANY($1)
              UNION ALL SELECT 'batches', user_id, collection_id, batch_id::text FROM batches
               WHERE expiry > $2 + interval '2 hours' AND user_id = ANY($1)",
        needs_totals: false,
    },
    Invariant {
        clause: "K-23",
        name: "field-domains",
        sql: "SELECT 'bsos' AS tbl, user_id, collection_id, bso_id AS item FROM bsos
               WHERE (bso_id !~ '^[ -~]{1,64}$' OR sortindex NOT BETWEEN -999999999 AND 999999999)
                 AND user_id = ANY($1)
              UNION ALL SELECT 'batch_bsos', user_id, collection_id, batch_bso_id FROM batch_bsos
               WHERE (batch_bso_id !~ '^[ -~]{1,64}$' OR sortindex NOT BETWEEN -999999999 AND 999999999
                      OR ttl NOT BETWEEN 0 AND 999999999) AND user_id = ANY($1) AND $2::timestamptz IS NOT NULL",
        needs_totals: false,
    },
    Invariant {
        clause: "K-23",
        name: "standard-collections-intact",
        sql: "SELECT s.collection_id, s.name FROM (VALUES (1,'clients'),(2,'crypto'),(3,'forms'),(4,'history'),
                     (5,'keys'),(6,'meta'),(7,'bookmarks'),(8,'prefs'),(9,'tabs'),(10,'passwords'),
                     (11,'addons'),(12,'addresses'),(13,'creditcards')) AS s(collection_id, name)
                LEFT JOIN collections c USING (collection_id, name)
               WHERE c.collection_id IS NULL AND cardinality($1::bigint[]) >= 0 AND $2::timestamptz IS NOT NULL",
        needs_totals: false,
    },
    Invariant {
        clause: "K-24",
        name: "totals-well-formed",
        sql: "SELECT user_id, collection_id, count, total_bytes FROM user_collections
               WHERE collection_id <> 0 AND modified > TIMESTAMPTZ '0001-01-01 00:00:00+00'
                 AND (count IS NULL OR total_bytes IS NULL OR count < 0 OR total_bytes < 0
                      OR (count = 0 AND total_bytes <> 0)) AND user_id = ANY($1) AND $2::timestamptz IS NOT NULL",
        needs_totals: true,
    },
    Invariant {
        clause: "K-26",
        name: "collection-not-older-than-its-records",
        sql: "SELECT b.user_id, b.collection_id, uc.modified::text, max(b.modified)::text AS newest
                FROM bsos b JOIN user_collections uc USING (user_id, collection_id)
               WHERE b.user_id = ANY($1) AND $2::timestamptz IS NOT NULL
               GROUP BY b.user_id, b.collection_id, uc.modified HAVING max(b.modified) > uc.modified",
        needs_totals: false,
    },
    Invariant {
        clause: "K-27",
        name: "no-expiry-before-modified",
        sql: "SELECT user_id, collection_id, bso_id, modified::text, expiry::text FROM bsos
               WHERE expiry < modified AND user_id = ANY($1) AND $2::timestamptz IS NOT NULL",
        needs_totals: false,
    },
    Invariant {
        clause: "K-28",
        name: "totals-match-live-records",
        sql: "SELECT uc.user_id, uc.collection_id, uc.count, uc.total_bytes, x.n, x.bytes
                FROM user_collections uc
               CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(sum(octet_length(b.payload)), 0) AS bytes
                                     FROM bsos b
                                    WHERE b.user_id = uc.user_id AND b.collection_id = uc.collection_id
                                      AND b.expiry > uc.modified) x
               WHERE uc.collection_id <> 0 AND uc.modified > TIMESTAMPTZ '0001-01-01 00:00:00+00'
                 AND (uc.count IS DISTINCT FROM x.n OR uc.total_bytes IS DISTINCT FROM x.bytes)
                 AND uc.user_id = ANY($1) AND $2::timestamptz IS NOT NULL",
        needs_totals: true,
    },
];

/// Rows an invariant returned, rendered for reports.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Violation {
    pub clause: &'static str,
    pub name: &'static str,
    pub rows: Vec<String>,
}

impl Violation {
    pub fn error(message: &str) -> Self {
        Self { clause: "K", name: "check-failed", rows: vec![message.to_owned()] }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InvariantError {
    #[error("connect to the database at --database-url: {0}; check the URL and that the user may read it")]
    Connect(String),
    #[error(
        "read the Sync tables (user_collections, bsos, batches, batch_bsos, collections): {0}; is --database-url the server's database, with the SPEC area K schema?"
    )]
    Unreadable(String),
    #[error("run invariant {0}: {1}")]
    Query(&'static str, String),
}

/// PostgreSQL's own message when there is one ("db error" alone says nothing).
fn pg_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map_or_else(|| e.to_string(), |db| db.to_string())
}

/// A read-only session on the server's database.
pub struct Checker {
    client: Client,
    /// Every invariant's query, prepared once (in the order of [`INVARIANTS`]).
    statements: Vec<tokio_postgres::Statement>,
    /// Whether `count`/`total_bytes` are maintained (K-13); else K-20/K-24/K-28 are skipped.
    pub totals: bool,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker").field("totals", &self.totals).finish_non_exhaustive()
    }
}

impl Checker {
    /// Connects, makes the session read-only and checks the tables can be read.
    pub async fn connect(url: &str, totals: bool) -> Result<Self, InvariantError> {
        let (client, conn) = tokio_postgres::connect(url, NoTls).await.map_err(|e| InvariantError::Connect(pg_message(&e)))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::warn!(error = %e, "invariant connection closed");
            }
        });
        // Read-only for the whole session, and no query may run long on a busy database.
        client
            .batch_execute("SET default_transaction_read_only = on; SET statement_timeout = '30s'")
            .await
            .map_err(|e| InvariantError::Connect(pg_message(&e)))?;
        client
            .batch_execute("SELECT 1 FROM user_collections, bsos, batches, batch_bsos, collections LIMIT 0")
            .await
            .map_err(|e| InvariantError::Unreadable(pg_message(&e)))?;
        let mut statements = Vec::with_capacity(INVARIANTS.len());
        for inv in INVARIANTS {
            statements.push(client.prepare(inv.sql).await.map_err(|e| InvariantError::Query(inv.name, pg_message(&e)))?);
        }
        Ok(Self { client, statements, totals })
    }

    /// The session, for other read-only queries.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The same session, checking totals or not.
    pub fn with_totals(self, totals: bool) -> Self {
        Self { totals, ..self }
    }

    /// Runs every invariant for `uids` on the target's clock; returns those with rows.
    pub async fn check(&self, target: &Target, uids: &[i64]) -> Result<Vec<Violation>, InvariantError> {
        self.check_at(uids, server_now(target, uids).await).await
    }

    /// Runs every invariant for `uids`, with `now` as the server's current time (K-22).
    pub async fn check_at(&self, uids: &[i64], now: SystemTime) -> Result<Vec<Violation>, InvariantError> {
        // Sent together: tokio-postgres pipelines the queries of one client, so the checks cost
        // about one round trip instead of one each.
        let selected: Vec<(&Invariant, &tokio_postgres::Statement)> =
            INVARIANTS.iter().zip(&self.statements).filter(|(inv, _)| self.totals || !inv.needs_totals).collect();
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&uids, &now];
        let queries = selected.iter().map(|(_, stmt)| self.client.query(*stmt, &params));
        let results = futures_util::future::join_all(queries).await;
        let mut out = Vec::new();
        for ((inv, _), rows) in selected.iter().zip(results) {
            let rows = rows.map_err(|e| InvariantError::Query(inv.name, pg_message(&e)))?;
            if !rows.is_empty() {
                out.push(Violation { clause: inv.clause, name: inv.name, rows: rows.iter().map(render_row).collect() });
            }
        }
        Ok(out)
    }
}

/// The server's clock: the latest test-clock time of the users when it has one (a case may have
/// moved its users ahead), else the wall clock.
async fn server_now(target: &Target, uids: &[i64]) -> SystemTime {
    let mut latest = None;
    if target.test_clock {
        let clocks = futures_util::future::join_all(uids.iter().map(|&uid| target.clock_ms(uid as u64))).await;
        latest = clocks.into_iter().flatten().max();
    }
    match latest {
        Some(ms) => SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms),
        None => SystemTime::now(),
    }
}

fn render_row(row: &tokio_postgres::Row) -> String {
    let mut parts = Vec::new();
    for (i, col) in row.columns().iter().enumerate() {
        let value = row
            .try_get::<_, Option<String>>(i)
            .map(|v| v.unwrap_or_else(|| "NULL".into()))
            .or_else(|_| row.try_get::<_, Option<i64>>(i).map(|v| v.map_or("NULL".into(), |n| n.to_string())))
            .or_else(|_| row.try_get::<_, Option<i32>>(i).map(|v| v.map_or("NULL".into(), |n| n.to_string())))
            .unwrap_or_else(|_| "?".into());
        parts.push(format!("{}={value}", col.name()));
    }
    parts.join(" ")
}
