//! Versioned SQL migrations from `migrations/`, applied at start-up under an advisory lock so
//! that several servers starting on one database apply each migration once.

use deadpool_postgres::Pool;

/// Every migration, in order. Versions are never reused or edited once released.
const MIGRATIONS: &[(i32, &str, &str)] = &[(1, "schema", include_str!("../../migrations/0001_schema.sql"))];

/// An arbitrary constant naming this server's migration lock.
const MIGRATION_LOCK: i64 = 0x5359_4e43_4d49_4752;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("get a database connection for migrations: {0}")]
    Connect(String),
    #[error("apply migration {version} ({name}): {source}")]
    Apply { version: i32, name: &'static str, source: tokio_postgres::Error },
    #[error("read the migration table: {0}")]
    Query(#[from] tokio_postgres::Error),
}

/// Applies the migrations this database lacks; returns how many were applied.
pub async fn migrate(pool: &Pool) -> Result<usize, MigrateError> {
    let mut conn = pool.get().await.map_err(|e| MigrateError::Connect(e.to_string()))?;
    conn.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
    let result = apply_missing(&mut conn).await;
    conn.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await?;
    result
}

async fn apply_missing(conn: &mut deadpool_postgres::Object) -> Result<usize, MigrateError> {
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS reference_backend_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())",
    )
    .await?;
    let applied: Vec<i32> = conn.query("SELECT version FROM reference_backend_migrations", &[]).await?.iter().map(|r| r.get(0)).collect();
    let mut count = 0;
    for &(version, name, sql) in MIGRATIONS {
        if applied.contains(&version) {
            continue;
        }
        let tx = conn.transaction().await?;
        tx.batch_execute(sql).await.map_err(|source| MigrateError::Apply { version, name, source })?;
        tx.execute("INSERT INTO reference_backend_migrations (version, name) VALUES ($1, $2)", &[&version, &name]).await?;
        tx.commit().await?;
        tracing::info!(version, name, "applied migration");
        count += 1;
    }
    Ok(count)
}
