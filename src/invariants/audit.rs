//! `invariants`: the SPEC area K checks once over a whole database (or some of its users), for a
//! database the harness did not write: a staging copy, a production replica. Everything runs in
//! one session that PostgreSQL itself keeps read-only (`default_transaction_read_only`), with a
//! statement timeout, so the audit cannot write even where its role could.

use serde::Serialize;
use tokio_postgres::Client;

use super::checks::{Checker, INVARIANTS, InvariantError};

/// Users are checked this many at a time (each query takes them as one array).
const CHUNK: usize = 1_000;

/// What one invariant found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub clause: &'static str,
    pub name: &'static str,
    /// `false` when the check was skipped (totals not kept, K-13).
    pub checked: bool,
    /// How many violating rows there were.
    pub violations: usize,
    /// The first few violating rows.
    pub sample: Vec<String>,
}

/// The audit of one database.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub schema: &'static str,
    pub users_checked: usize,
    /// Whether count and total_bytes were checked (K-13).
    pub totals: bool,
    pub invariants: Vec<Finding>,
}

impl Audit {
    pub fn clean(&self) -> bool {
        self.invariants.iter().all(|f| f.violations == 0)
    }

    /// One line per invariant, then its sample rows.
    pub fn render(&self) -> String {
        let mut out =
            format!("{} users checked; totals {}\n", self.users_checked, if self.totals { "checked" } else { "not kept, skipped (K-13)" });
        for f in &self.invariants {
            let verdict = match (f.checked, f.violations) {
                (false, _) => "skipped".to_owned(),
                (true, 0) => "ok".to_owned(),
                (true, n) => format!("VIOLATED by {n} rows"),
            };
            out.push_str(&format!("{:<5} {:<40} {verdict}\n", f.clause, f.name));
            for row in &f.sample {
                out.push_str(&format!("        {row}\n"));
            }
        }
        let bad = self.invariants.iter().filter(|f| f.violations > 0).count();
        out.push_str(&if bad == 0 { "every invariant holds\n".to_owned() } else { format!("{bad} invariants violated\n") });
        out
    }
}

/// Whether the database keeps `count`/`total_bytes`: some row has a non-zero one. A server that
/// keeps none (syncstorage-rs without quota) stores zeros there.
pub async fn totals_kept(client: &Client) -> Result<bool, InvariantError> {
    let row = client
        .query_one("SELECT EXISTS (SELECT 1 FROM user_collections WHERE coalesce(count, 0) <> 0 OR coalesce(total_bytes, 0) <> 0)", &[])
        .await
        .map_err(|e| InvariantError::Query("totals-kept", e.to_string()))?;
    Ok(row.get(0))
}

/// Every user with a row in the storage tables.
async fn all_users(client: &Client) -> Result<Vec<i64>, InvariantError> {
    let rows = client
        .query("SELECT user_id FROM user_collections UNION SELECT user_id FROM bsos UNION SELECT user_id FROM batches ORDER BY 1", &[])
        .await
        .map_err(|e| InvariantError::Query("list-users", e.to_string()))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Runs every invariant over `users` (all of the database's when `None`), keeping up to `sample`
/// rows per invariant. `totals`: check K-13 totals, or detect whether they are kept.
pub async fn audit(url: &str, users: Option<Vec<i64>>, totals: Option<bool>, sample: usize) -> Result<Audit, InvariantError> {
    let probe = Checker::connect(url, false).await?;
    let totals = match totals {
        Some(t) => t,
        None => totals_kept(probe.client()).await?,
    };
    let users = match users {
        Some(u) => u,
        None => all_users(probe.client()).await?,
    };
    let checker = probe.with_totals(totals);
    let mut findings: Vec<Finding> = INVARIANTS
        .iter()
        .map(|inv| Finding { clause: inv.clause, name: inv.name, checked: totals || !inv.needs_totals, violations: 0, sample: Vec::new() })
        .collect();
    for chunk in users.chunks(CHUNK) {
        for v in checker.check_at(chunk, std::time::SystemTime::now()).await? {
            if let Some(f) = findings.iter_mut().find(|f| f.name == v.name) {
                f.violations += v.rows.len();
                let room = sample.saturating_sub(f.sample.len());
                f.sample.extend(v.rows.into_iter().take(room));
            }
        }
    }
    Ok(Audit { schema: "syncstorage-harness/invariants/1", users_checked: users.len(), totals, invariants: findings })
}
