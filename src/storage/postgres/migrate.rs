//! The schema's versions (SPEC §11): SQL files shipped in the binary, applied at open in one
//! transaction under an advisory lock, so that nodes starting together apply each exactly
//! once; `tessera_schema` records which are in. A database whose schema is newer than this
//! build knows is refused: this build would misread it.

use super::connect::Settings;
use super::MIGRATE_LOCK;
use crate::storage::StoreError;
use deadpool_postgres::Pool;
use std::time::Duration;

/// Every migration, in order: (version, SQL). A shipped file never changes; a change to the
/// schema is a new file.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_tables.sql")),
    (2, include_str!("migrations/0002_announcements.sql")),
    (3, include_str!("migrations/0003_rotation.sql")),
];

/// The newest schema this build knows.
pub(super) const KNOWN: i32 = 3;

/// How long an open may wait for another node's migration, or take for its own.
pub(super) const TIMEOUT: Duration = Duration::from_secs(600);

/// The oldest server SPEC §11 supports.
const OLDEST_SERVER: i32 = 120_000;

/// Connects, checks the server, and brings the schema to [`KNOWN`]. Every error names the
/// database, and none shows the password.
pub(super) async fn open(pool: &Pool, settings: &Settings) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(|e| {
        settings.failed(match e {
            deadpool_postgres::PoolError::Timeout(_) => format!(
                "no connection within {} s (store.connect_timeout_seconds)",
                settings.connect_timeout.as_secs()
            ),
            deadpool_postgres::PoolError::Backend(e) => crate::errors::chain(&e),
            other => other.to_string(),
        })
    })?;
    let failed = |e: tokio_postgres::Error| settings.failed(crate::errors::chain(&e));
    let server: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(failed)?;
    if server < OLDEST_SERVER {
        return Err(settings.failed(format!(
            "the server is PostgreSQL {}.{}; tessera needs 12 or newer",
            server / 10_000,
            server % 10_000 / 100
        )));
    }
    let applied = migrate(&mut client).await.map_err(|e| match e {
        Refusal::Db(e) => failed(e),
        Refusal::TooNew(found) => settings.failed(format!(
            "the database schema is version {found}; this tessera knows up to {KNOWN}: \
             upgrade tessera"
        )),
    })?;
    for version in applied {
        log::info!("PostgreSQL schema: applied migration {version}");
    }
    Ok(())
}

enum Refusal {
    Db(tokio_postgres::Error),
    TooNew(i32),
}

impl From<tokio_postgres::Error> for Refusal {
    fn from(e: tokio_postgres::Error) -> Self {
        Refusal::Db(e)
    }
}

/// Applies the missing migrations; returns their versions.
async fn migrate(client: &mut deadpool_postgres::Object) -> Result<Vec<i32>, Refusal> {
    let tx = client.transaction().await?;
    // Another node may be migrating: wait for it (its lock goes with its transaction, or its
    // connection), and then find its work done.
    tx.batch_execute(&format!(
        "SET LOCAL statement_timeout = {}",
        TIMEOUT.as_millis()
    ))
    .await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS tessera_schema (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let current: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM tessera_schema", &[])
        .await?
        .try_get(0)?;
    if current > KNOWN {
        return Err(Refusal::TooNew(current));
    }
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO tessera_schema (version) VALUES ($1)",
            &[version],
        )
        .await?;
        applied.push(*version);
    }
    tx.commit().await?;
    Ok(applied)
}
