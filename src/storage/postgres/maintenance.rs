//! The PostgreSQL side of the sweep and of `tessera check`.
//!
//! A sweep runs on one node at a time (SPEC §11): it takes a transaction-scoped advisory lock
//! without waiting, and a node that does not get it sweeps nothing this time. Refresh tokens
//! go before their sessions, as in sled.
//!
//! What `check` looks for differs from sled's: foreign keys already keep every refresh token
//! with its session, every API key with its application and every pair with its client, and
//! there are no index entries to go stale. What can still be wrong is a record that does not
//! decode, a typed column that disagrees with the record beside it (queries decide on the
//! column), a live session of a missing user, the signing keys' flags, and a rotation ticket
//! sequence set below a ticket already spent (after a restore made by hand).

use super::{at, client, decoded, one, rows, version, Db, PgStore, SWEEP_LOCK};
use crate::domain::{
    AccessPair, ApiKey, Application, OAuthClient, RefreshTokenRecord, Session, StoredSigningKey,
    User,
};
use crate::storage::records::{
    decode_as, ApiKeyRecord, AppRecord, ClientRecord, PairRecord, RefreshRecord, SessionRecord,
    SigningKeyRecord, UserRecord,
};
use crate::storage::{Maintenance, StoreError, Swept, COUNTS_KEPT};
use async_trait::async_trait;
use deadpool_postgres::Transaction;
use futures_util::TryStreamExt;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_postgres::{IsolationLevel, Row};
use uuid::Uuid;

/// What a sweep or a check may take: they read or delete whole tables.
const TIMEOUT: Duration = Duration::from_secs(600);

#[async_trait]
impl Maintenance for PgStore {
    async fn sweep(
        &self,
        now: OffsetDateTime,
        keep_revoked: time::Duration,
    ) -> Result<Swept, StoreError> {
        // No cut-off when `now - keep_revoked` is out of range: no revocation is that old.
        let cut = now.checked_sub(keep_revoked);
        self.run_within(self.0.bound + TIMEOUT, move |pool| async move {
            let mut c = client(&pool).await?;
            let tx = c.transaction().await.db()?;
            let ours: bool = one(&tx, "SELECT pg_try_advisory_xact_lock($1)", &[&SWEEP_LOCK])
                .await?
                .try_get(0)
                .db()?;
            if !ours {
                return Ok(Swept::default());
            }
            tx.batch_execute(&format!(
                "SET LOCAL statement_timeout = {}",
                TIMEOUT.as_millis()
            ))
            .await
            .db()?;
            let ended = "SELECT id FROM sessions WHERE expires_at <= $1 OR revoked_at <= $2";
            let refresh_tokens = super::exec(
                &tx,
                &format!(
                    "DELETE FROM refresh_tokens WHERE expires_at <= $1 OR session IN ({ended})"
                ),
                &[&now, &cut],
            )
            .await?;
            let sessions = super::exec(
                &tx,
                "DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at <= $2",
                &[&now, &cut],
            )
            .await?;
            let revocations = super::exec(
                &tx,
                "DELETE FROM revoked_jti WHERE expires_at <= $1",
                &[&now],
            )
            .await?;
            let pairs =
                super::exec(&tx, "DELETE FROM pairs WHERE expires_at <= $1", &[&now]).await?;
            // The short-lived shared state, not counted in `Swept` (sled keeps it in memory,
            // where it is bounded instead): browser sessions that have ended, failure counts
            // untouched for a day and no longer locking, minutes older than the counts kept.
            let day_ago = now.checked_sub(COUNTS_KEPT);
            super::exec(
                &tx,
                "DELETE FROM browser_sessions WHERE expires_at <= $1",
                &[&now],
            )
            .await?;
            super::exec(
                &tx,
                "DELETE FROM lockouts WHERE last_failure <= $2 \
                 AND (locked_until IS NULL OR locked_until <= $1)",
                &[&now, &day_ago],
            )
            .await?;
            let oldest = now.unix_timestamp().div_euclid(60) - COUNTS_KEPT.whole_minutes();
            super::exec(&tx, "DELETE FROM counts WHERE minute < $1", &[&oldest]).await?;
            tx.commit().await.db()?;
            Ok(Swept {
                sessions,
                refresh_tokens,
                revocations,
                pairs,
            })
        })
        .await
    }

    async fn check(&self) -> Result<Vec<String>, StoreError> {
        self.run_within(self.0.bound + TIMEOUT, move |pool| async move {
            let mut c = client(&pool).await?;
            let tx = c
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .db()?;
            tx.batch_execute(&format!(
                "SET LOCAL statement_timeout = {}",
                TIMEOUT.as_millis()
            ))
            .await
            .db()?;
            let problems = run(&tx).await?;
            tx.commit().await.db()?;
            Ok(problems)
        })
        .await
    }
}

fn col<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    column: usize,
) -> Result<T, StoreError> {
    row.try_get(column).db()
}

/// Reads every row of `sql` (the record's key as text, its body, then its typed columns),
/// and notes each whose body does not decode, or whose columns `agree` says disagree with it.
async fn records(
    tx: &Transaction<'_>,
    problems: &mut Vec<String>,
    table: &'static str,
    sql: &str,
    agree: fn(&Row, &str) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let statement = tx.prepare_cached(sql).await.db()?;
    let stream = tx
        .query_raw(&statement, std::iter::empty::<i32>())
        .await
        .db()?;
    let mut stream = std::pin::pin!(stream);
    while let Some(row) = stream.try_next().await.db()? {
        let key: &str = col(&row, 0)?;
        let body: &str = col(&row, 1)?;
        match agree(&row, body) {
            Ok(true) => {}
            Ok(false) => problems.push(format!(
                "{table} {key}: a column disagrees with the record (the record is right)"
            )),
            Err(StoreError::Corrupt { reason, .. }) => {
                problems.push(format!("{table} {key}: cannot be decoded: {reason}"));
            }
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

async fn run(tx: &Transaction<'_>) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    let p = &mut problems;
    records(
        tx,
        p,
        "users",
        "SELECT userid, body::text, version FROM users ORDER BY userid",
        |r, b| {
            let u = decode_as::<UserRecord, User>("users", b.as_bytes())?;
            Ok(u.userid.as_str() == col::<&str>(r, 0)? && version(u.version)? == col::<i64>(r, 2)?)
        },
    )
    .await?;
    records(
        tx,
        p,
        "sessions",
        "SELECT id::text AS key, body::text, id, userid, expires_at, revoked_at FROM sessions \
         ORDER BY id",
        |r, b| {
            let s = decode_as::<SessionRecord, Session>("sessions", b.as_bytes())?;
            Ok(s.id.0 == col::<Uuid>(r, 2)?
                && s.userid.as_str() == col::<&str>(r, 3)?
                && at(s.expires_at) == col::<OffsetDateTime>(r, 4)?
                && s.revoked_at.map(at) == col::<Option<OffsetDateTime>>(r, 5)?)
        },
    )
    .await?;
    records(
        tx,
        p,
        "refresh_tokens",
        "SELECT id::text AS key, body::text, id, session, expires_at, spent_at, spent_ticket \
         FROM refresh_tokens ORDER BY id",
        |r, b| {
            let t = decode_as::<RefreshRecord, RefreshTokenRecord>("refresh_tokens", b.as_bytes())?;
            Ok(t.id == col::<Uuid>(r, 2)?
                && t.session.0 == col::<Uuid>(r, 3)?
                && at(t.expires_at) == col::<OffsetDateTime>(r, 4)?
                && t.spent_at.map(at) == col::<Option<OffsetDateTime>>(r, 5)?
                && t.spent_ticket.map(i64::try_from).transpose().ok()
                    == Some(col::<Option<i64>>(r, 6)?))
        },
    )
    .await?;
    records(
        tx,
        p,
        "signing_keys",
        "SELECT kid, body::text FROM signing_keys ORDER BY kid",
        |r, b| {
            let k = decode_as::<SigningKeyRecord, StoredSigningKey>("signing_keys", b.as_bytes())?;
            Ok(k.kid == col::<&str>(r, 0)?)
        },
    )
    .await?;
    records(
        tx,
        p,
        "apps",
        "SELECT id::text AS key, body::text, id, version FROM apps ORDER BY id",
        |r, b| {
            let a = decode_as::<AppRecord, Application>("apps", b.as_bytes())?;
            Ok(a.id.0 == col::<Uuid>(r, 2)? && version(a.version)? == col::<i64>(r, 3)?)
        },
    )
    .await?;
    records(
        tx,
        p,
        "api_keys",
        "SELECT id::text AS key, body::text, id, app_id, version, created_at FROM api_keys ORDER BY id",
        |r, b| {
            let k = decode_as::<ApiKeyRecord, ApiKey>("api_keys", b.as_bytes())?;
            Ok(k.id.0 == col::<Uuid>(r, 2)?
                && k.app_id.0 == col::<Uuid>(r, 3)?
                && version(k.version)? == col::<i64>(r, 4)?
                && at(k.created_at) == col::<OffsetDateTime>(r, 5)?)
        },
    )
    .await?;
    records(
        tx,
        p,
        "clients",
        "SELECT id::text AS key, body::text, id, version FROM clients ORDER BY id",
        |r, b| {
            let c = decode_as::<ClientRecord, OAuthClient>("clients", b.as_bytes())?;
            Ok(c.id.0 == col::<Uuid>(r, 2)? && version(c.version)? == col::<i64>(r, 3)?)
        },
    )
    .await?;
    records(
        tx,
        p,
        "pairs",
        "SELECT id::text AS key, body::text, id, client_id, expires_at FROM pairs ORDER BY id",
        |r, b| {
            let x = decode_as::<PairRecord, AccessPair>("pairs", b.as_bytes())?;
            Ok(x.id.0 == col::<Uuid>(r, 2)?
                && x.client_id.0 == col::<Uuid>(r, 3)?
                && at(x.expires_at) == col::<OffsetDateTime>(r, 4)?)
        },
    )
    .await?;

    // A deleted user's sessions stay (revoked) until swept; a live one is an orphan.
    for r in rows(
        tx,
        "SELECT s.id::text FROM sessions s WHERE s.revoked_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM users u WHERE u.userid = s.userid) ORDER BY s.id",
        &[],
    )
    .await?
    {
        problems.push(format!(
            "live session {} of a user that does not exist",
            col::<&str>(&r, 0)?
        ));
    }

    let keys: Vec<StoredSigningKey> =
        rows(tx, "SELECT body::text FROM signing_keys ORDER BY kid", &[])
            .await?
            .iter()
            .filter_map(|r| {
                decoded::<SigningKeyRecord, StoredSigningKey>("signing_keys", r, 0).ok()
            })
            .collect();
    problems.extend(crate::storage::signing_key_problems(&keys));

    let behind: bool = one(
        tx,
        "SELECT (SELECT last_value FROM rotation_tickets) \
         < (SELECT coalesce(max(spent_ticket), 0) FROM refresh_tokens)",
        &[],
    )
    .await?
    .try_get(0)
    .db()?;
    if behind {
        problems.push(
            "the rotation_tickets sequence is below a ticket already spent: a replayed refresh \
             token could pass for a lost race (setval it to max(refresh_tokens.spent_ticket))"
                .into(),
        );
    }
    Ok(problems)
}
