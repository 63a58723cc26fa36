//! The PostgreSQL side of login sessions, their refresh tokens, and revoked JWT ids.

use super::{at, body, decoded, exec, one, row, rows, Db, PgStore};
use crate::domain::{RefreshTokenRecord, Session, SessionId, UserId};
use crate::storage::records::{RefreshRecord, SessionRecord};
use crate::storage::{RevocationStore, Rotation, SessionStore, StoreError};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use uuid::Uuid;

/// A ticket as a `bigint`.
fn ticket_column(ticket: Option<u64>) -> Result<Option<i64>, StoreError> {
    ticket
        .map(i64::try_from)
        .transpose()
        .map_err(|e| StoreError::Backend {
            context: "a rotation ticket past the range of a bigint",
            source: Box::new(e),
        })
}

pub(super) async fn insert_session<C: GenericClient>(
    c: &C,
    session: &Session,
) -> Result<(), StoreError> {
    let record = body(&SessionRecord::from(session))?;
    exec(
        c,
        "INSERT INTO sessions (id, userid, expires_at, revoked_at, body) \
         VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        &[
            &session.id.0,
            &session.userid.as_str(),
            &at(session.expires_at),
            &session.revoked_at.map(at),
            &record,
        ],
    )
    .await
    .map(|_| ())
}

pub(super) async fn insert_token<C: GenericClient>(
    c: &C,
    token: &RefreshTokenRecord,
) -> Result<(), StoreError> {
    let record = body(&RefreshRecord::from(token))?;
    exec(
        c,
        "INSERT INTO refresh_tokens (id, session, expires_at, spent_at, spent_ticket, body) \
         VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)",
        &[
            &token.id,
            &token.session.0,
            &at(token.expires_at),
            &token.spent_at.map(at),
            &ticket_column(token.spent_ticket)?,
            &record,
        ],
    )
    .await
    .map(|_| ())
}

/// Stores a session's new revocation (its typed column and its body).
async fn save_revocation<C: GenericClient>(c: &C, session: &Session) -> Result<(), StoreError> {
    let record = body(&SessionRecord::from(session))?;
    exec(
        c,
        "UPDATE sessions SET revoked_at = $2, body = $3::text::jsonb WHERE id = $1",
        &[&session.id.0, &session.revoked_at.map(at), &record],
    )
    .await
    .map(|_| ())
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(
        &self,
        session: &Session,
        first: &RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        let (session, first) = (session.clone(), first.clone());
        self.with_client(move |mut c| async move {
            let tx = c.transaction().await.db()?;
            insert_session(&tx, &session).await?;
            insert_token(&tx, &first).await?;
            tx.commit().await.db()
        })
        .await
    }

    /// Through the sessions cache, which keeps only sessions found (an absent one is not
    /// remembered: no token names a session before it exists).
    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let caches = self.caches();
        if let Some(hit) = caches.get(&caches.sessions, &id.0) {
            return Ok(Some(hit));
        }
        let ticket = caches.ticket(&caches.sessions);
        let found = self
            .with_client(move |c| async move {
                row(
                    &c,
                    "SELECT body::text FROM sessions WHERE id = $1",
                    &[&id.0],
                )
                .await?
                .map(|r| decoded::<SessionRecord, Session>("sessions", &r, 0))
                .transpose()
            })
            .await?;
        if let Some(session) = &found {
            caches.put(&caches.sessions, id.0, session.clone(), ticket);
        }
        Ok(found)
    }

    async fn get_refresh_token(&self, id: Uuid) -> Result<Option<RefreshTokenRecord>, StoreError> {
        self.with_client(move |c| async move {
            row(
                &c,
                "SELECT body::text FROM refresh_tokens WHERE id = $1",
                &[&id],
            )
            .await?
            .map(|r| decoded::<RefreshRecord, RefreshTokenRecord>("refresh_tokens", &r, 0))
            .transpose()
        })
        .await
    }

    /// The sequence's last value, shared by every node: an exchange that commits after this
    /// was read takes a larger one.
    async fn rotation_ticket(&self) -> Result<u64, StoreError> {
        self.with_client(|c| async move {
            let last: i64 = one(&c, "SELECT last_value FROM rotation_tickets", &[])
                .await?
                .try_get(0)
                .db()?;
            Ok(u64::try_from(last).unwrap_or(0))
        })
        .await
    }

    /// One statement: the sequence's last value, then the token as of the statement's
    /// start. An exchange of the token that drew its ticket before this read and commits
    /// after it is judged a replay rather than a race — the window two statements in a row
    /// leave too (a ticket is drawn just before its exchange commits).
    async fn ticket_and_refresh_token(
        &self,
        id: Uuid,
    ) -> Result<(u64, Option<RefreshTokenRecord>), StoreError> {
        self.with_client(move |c| async move {
            let r = one(
                &c,
                "SELECT (SELECT last_value FROM rotation_tickets), \
                        (SELECT body::text FROM refresh_tokens WHERE id = $1)",
                &[&id],
            )
            .await?;
            let last: i64 = r.try_get(0).db()?;
            let found: Option<&str> = r.try_get(1).db()?;
            let token = found
                .map(|text| {
                    crate::storage::records::decode_as::<RefreshRecord, RefreshTokenRecord>(
                        "refresh_tokens",
                        text.as_bytes(),
                    )
                })
                .transpose()?;
            Ok((u64::try_from(last).unwrap_or(0), token))
        })
        .await
    }

    /// One statement: `tessera_rotate_refresh_token` (migrations/0003) locks the session's
    /// row and then the token's (every writer that locks both takes them in that order): of
    /// concurrent exchanges of one token, the first to get the locks spends it, and each later
    /// one finds it spent, with a ticket that says whether it raced that exchange or replays
    /// the token after it (as sled decides). A replay revokes the session in the same
    /// statement.
    async fn rotate_refresh_token(
        &self,
        spent: Uuid,
        next: &RefreshTokenRecord,
        now: OffsetDateTime,
        ticket: u64,
    ) -> Result<Rotation, StoreError> {
        let ticket = ticket_column(Some(ticket))?;
        let record = body(&RefreshRecord::from(next))?;
        let (next_id, next_session, next_expires) = (next.id, next.session.0, at(next.expires_at));
        let outcome = self
            .with_client(move |c| async move {
                let r = one(
                    &c,
                    "SELECT outcome, session_id, session_body \
                     FROM tessera_rotate_refresh_token($1, $2, $3, $4, $5, $6, $7::text::jsonb)",
                    &[
                        &spent,
                        &ticket,
                        &at(now),
                        &next_id,
                        &next_session,
                        &next_expires,
                        &record,
                    ],
                )
                .await?;
                let outcome: &str = r.try_get(0).db()?;
                Ok(match outcome {
                    "rotated" => {
                        Rotation::Rotated(decoded::<SessionRecord, Session>("sessions", &r, 2)?)
                    }
                    "reused" => Rotation::Reused(SessionId(r.try_get(1).db()?)),
                    "lost_race" => Rotation::LostRace,
                    "inactive" => Rotation::Inactive,
                    "not_found" => Rotation::NotFound,
                    other => {
                        return Err(StoreError::Backend {
                            context: "an exchange of a refresh token",
                            source: format!("the database answered {other:?}").into(),
                        })
                    }
                })
            })
            .await;
        if let Ok(Rotation::Reused(sid)) = &outcome {
            self.caches().sessions.evict(&sid.0);
        }
        outcome
    }

    async fn revoke_session(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let revoked = self
            .with_client(move |mut c| async move {
                let tx = c.transaction().await.db()?;
                let Some(found) = row(
                    &tx,
                    "SELECT body::text FROM sessions WHERE id = $1 FOR UPDATE",
                    &[&id.0],
                )
                .await?
                else {
                    return Ok(false);
                };
                let mut session = decoded::<SessionRecord, Session>("sessions", &found, 0)?;
                if session.revoked_at.is_some() {
                    return Ok(false);
                }
                session.revoked_at = Some(now);
                save_revocation(&tx, &session).await?;
                tx.commit().await.db()?;
                Ok(true)
            })
            .await;
        self.caches().sessions.evict(&id.0);
        revoked
    }

    async fn count_live_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.with_client(move |c| async move {
            let n: i64 = one(
                &c,
                "SELECT count(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > $1",
                &[&now],
            )
            .await?
            .try_get(0)
            .db()?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn revoke_user_sessions(
        &self,
        userid: &UserId,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let userid = userid.as_str().to_string();
        let revoked = self
            .with_client(move |mut c| async move {
                let tx = c.transaction().await.db()?;
                let found = rows(
                    &tx,
                    "SELECT body::text FROM sessions WHERE userid = $1 AND revoked_at IS NULL \
                 ORDER BY id FOR UPDATE",
                    &[&userid],
                )
                .await?;
                let mut sessions = found
                    .iter()
                    .map(|r| decoded::<SessionRecord, Session>("sessions", r, 0))
                    .collect::<Result<Vec<_>, _>>()?;
                for session in &mut sessions {
                    session.revoked_at = Some(now);
                }
                // Pipelined on the one connection.
                futures_util::future::try_join_all(
                    sessions.iter().map(|s| save_revocation(&tx, s)),
                )
                .await?;
                tx.commit().await.db()?;
                Ok(sessions.len())
            })
            .await;
        // Which sessions is known only inside; this is rare (a disabled user, a new password).
        self.caches().sessions.clear();
        revoked
    }
}

#[async_trait]
impl RevocationStore for PgStore {
    async fn revoke_token_id(
        &self,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let jti = jti.to_string();
        let key = jti.clone();
        let written = self
            .with_client(move |c| async move {
                exec(
                    &c,
                    "INSERT INTO revoked_jti (jti, expires_at) VALUES ($1, $2) \
                     ON CONFLICT (jti) DO UPDATE SET expires_at = EXCLUDED.expires_at",
                    &[&jti, &at(expires_at)],
                )
                .await
                .map(|_| ())
            })
            .await;
        self.caches().revoked.evict(&key);
        written
    }

    async fn is_token_id_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let jti = jti.to_string();
        self.cached(
            |c| &c.revoked,
            jti.clone(),
            || {
                self.with_client(move |c| async move {
                    one(
                        &c,
                        "SELECT EXISTS (SELECT 1 FROM revoked_jti WHERE jti = $1)",
                        &[&jti],
                    )
                    .await?
                    .try_get(0)
                    .db()
                })
            },
        )
        .await
    }
}
