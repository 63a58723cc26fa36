//! The PostgreSQL side of the short-lived shared state: browser sessions, failed-check
//! counters and lockouts, per-minute counts (SPEC §11: every node sees the same). The rules
//! are those of storage/memory.rs, which the sled backend keeps in memory; here each change
//! is one statement, or one transaction with the row locked, so concurrent nodes add up.

use super::{exec, one, row, rows, Db, PgStore};
use crate::domain::UserId;
use crate::storage::{
    BrowserSession, BrowserSessionStore, CounterStore, Counts, LockoutRule, LockoutStore,
    StoreError,
};
use async_trait::async_trait;
use time::OffsetDateTime;

fn minute_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(60)
}

fn bigint(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl BrowserSessionStore for PgStore {
    async fn create_browser_session(&self, session: &BrowserSession) -> Result<(), StoreError> {
        let s = session.clone();
        self.with_client(move |c| async move {
            exec(
                &c,
                "INSERT INTO browser_sessions (id, userid, csrf, password_hash, expires_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET \
                 userid = EXCLUDED.userid, csrf = EXCLUDED.csrf, \
                 password_hash = EXCLUDED.password_hash, expires_at = EXCLUDED.expires_at",
                &[
                    &s.id.as_slice(),
                    &s.userid.as_str(),
                    &s.csrf,
                    &s.password_hash,
                    &s.expires_at,
                ],
            )
            .await
            .map(|_| ())
        })
        .await
    }

    async fn touch_browser_session(
        &self,
        id: &[u8; 32],
        now: OffsetDateTime,
        idle: time::Duration,
    ) -> Result<Option<BrowserSession>, StoreError> {
        let id = *id;
        let until = now.checked_add(idle).unwrap_or(now);
        self.with_client(move |c| async move {
            let touched = row(
                &c,
                "UPDATE browser_sessions SET expires_at = $3 WHERE id = $1 AND expires_at > $2 \
                 RETURNING userid, csrf, password_hash, expires_at",
                &[&id.as_slice(), &now, &until],
            )
            .await?;
            let Some(r) = touched else {
                // None, or one that has ended: it goes now rather than at the next sweep.
                exec(
                    &c,
                    "DELETE FROM browser_sessions WHERE id = $1 AND expires_at <= $2",
                    &[&id.as_slice(), &now],
                )
                .await?;
                return Ok(None);
            };
            let userid: &str = r.try_get(0).db()?;
            Ok(Some(BrowserSession {
                id,
                userid: UserId::parse(userid).map_err(|e| StoreError::Corrupt {
                    tree: "browser_sessions",
                    reason: e.to_string(),
                })?,
                csrf: r.try_get(1).db()?,
                password_hash: r.try_get(2).db()?,
                expires_at: r.try_get(3).db()?,
            }))
        })
        .await
    }

    async fn delete_browser_session(&self, id: &[u8; 32]) -> Result<bool, StoreError> {
        let id = *id;
        self.with_client(move |c| async move {
            Ok(exec(
                &c,
                "DELETE FROM browser_sessions WHERE id = $1",
                &[&id.as_slice()],
            )
            .await?
                > 0)
        })
        .await
    }
}

#[async_trait]
impl LockoutStore for PgStore {
    /// Keys known to have no lockout in force are answered from the cache (a lockout set
    /// anywhere is announced); the others are read, and those without one remembered.
    async fn locked_until(
        &self,
        keys: &[String],
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let caches = self.caches();
        let unknown: Vec<String> = keys
            .iter()
            .filter(|k| caches.get(&caches.unlocked, *k).is_none())
            .cloned()
            .collect();
        if unknown.is_empty() {
            return Ok(None);
        }
        let ticket = caches.ticket(&caches.unlocked);
        let asked = unknown.clone();
        let found = self
            .with_client(move |c| async move {
                rows(
                    &c,
                    "SELECT key, locked_until FROM lockouts \
                     WHERE key = ANY($1) AND locked_until > $2",
                    &[&asked, &now],
                )
                .await?
                .iter()
                .map(|r| Ok((r.try_get::<_, String>(0).db()?, r.try_get(1).db()?)))
                .collect::<Result<Vec<(String, OffsetDateTime)>, StoreError>>()
            })
            .await?;
        for key in unknown {
            if !found.iter().any(|(locked, _)| *locked == key) {
                caches.put(&caches.unlocked, key, (), ticket);
            }
        }
        Ok(found.into_iter().map(|(_, until)| until).max())
    }

    /// The key's row is created if missing and locked in one statement, then rewritten: two
    /// nodes counting failures of one key at once both count.
    async fn record_failure(
        &self,
        key: &str,
        rule: LockoutRule,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let key = key.to_string();
        let evicted = key.clone();
        let counted = self
            .with_client(move |mut c| async move {
                let tx = c.transaction().await.db()?;
                let r = one(
                &tx,
                "INSERT INTO lockouts AS l (key, failures, last_failure) VALUES ($1, '{}', $2) \
                 ON CONFLICT (key) DO UPDATE SET last_failure = greatest(l.last_failure, $2) \
                 RETURNING failures, locked_until",
                &[&key, &now],
            )
            .await?;
                let mut failures: Vec<OffsetDateTime> = r.try_get(0).db()?;
                let mut locked_until: Option<OffsetDateTime> = r.try_get(1).db()?;
                // A lockout that has ended starts a fresh count.
                if locked_until.is_some_and(|t| t <= now) {
                    failures.clear();
                    locked_until = None;
                }
                failures.push(now);
                failures.retain(|&t| now - t < rule.window);
                failures.sort();
                if failures.len() >= rule.limit as usize {
                    locked_until = Some(now + rule.lockout);
                    failures.clear();
                }
                exec(
                    &tx,
                    "UPDATE lockouts SET failures = $2, locked_until = $3 WHERE key = $1",
                    &[&key, &failures, &locked_until],
                )
                .await?;
                tx.commit().await.db()
            })
            .await;
        self.caches().unlocked.evict(&evicted);
        counted
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.with_client(move |c| async move {
            exec(&c, "DELETE FROM lockouts WHERE key = $1", &[&key])
                .await
                .map(|_| ())
        })
        .await
    }
}

#[async_trait]
impl CounterStore for PgStore {
    async fn add_counts(&self, now: OffsetDateTime, counts: Counts) -> Result<(), StoreError> {
        let (minute, logins, failures) = (
            minute_of(now),
            bigint(counts.logins),
            bigint(counts.failures),
        );
        self.with_client(move |c| async move {
            exec(
                &c,
                "INSERT INTO counts AS n (minute, logins, failures) VALUES ($1, $2, $3) \
                 ON CONFLICT (minute) DO UPDATE SET logins = n.logins + EXCLUDED.logins, \
                 failures = n.failures + EXCLUDED.failures",
                &[&minute, &logins, &failures],
            )
            .await
            .map(|_| ())
        })
        .await
    }

    async fn counts_since(&self, since: OffsetDateTime) -> Result<Counts, StoreError> {
        let from = minute_of(since);
        self.with_client(move |c| async move {
            let r = one(
                &c,
                "SELECT coalesce(sum(logins), 0)::bigint, coalesce(sum(failures), 0)::bigint \
                 FROM counts WHERE minute >= $1",
                &[&from],
            )
            .await?;
            let (logins, failures): (i64, i64) = (r.try_get(0).db()?, r.try_get(1).db()?);
            Ok(Counts {
                logins: u64::try_from(logins).unwrap_or(0),
                failures: u64::try_from(failures).unwrap_or(0),
            })
        })
        .await
    }
}
