//! The sled side of login sessions, their refresh tokens, and revoked JWT ids.

use super::sync::{RevocationStore, SessionStore};
use super::{abort, backend, tx_error, Sled};
use crate::domain::{RefreshTokenRecord, Session, SessionId, UserId};
use crate::storage::records::{decode, encode, RefreshRecord, SessionRecord};
use crate::storage::{Rotation, StoreError};
use sled::transaction::ConflictableTransactionError;
use sled::Transactional;
use time::OffsetDateTime;
use uuid::Uuid;

pub(super) fn user_session_key(userid: &UserId, sid: SessionId) -> Vec<u8> {
    let mut key = Vec::with_capacity(userid.as_str().len() + 17);
    key.extend_from_slice(userid.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(sid.0.as_bytes());
    key
}

impl SessionStore for Sled {
    fn create_session(
        &self,
        session: &Session,
        first: &RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let session_bytes = encode(&SessionRecord::from(session))?;
        let token_bytes = encode(&RefreshRecord::from(first))?;
        let index_key = user_session_key(&session.userid, session.id);
        (&*t.sessions, &*t.refresh_tokens, &*t.user_sessions)
            .transaction(|(sessions, tokens, index)| {
                sessions.insert(session.id.0.as_bytes(), session_bytes.as_slice())?;
                tokens.insert(first.id.as_bytes(), token_bytes.as_slice())?;
                index.insert(index_key.as_slice(), &[][..])?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(tx_error)?;
        self.durable()
    }

    fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let t = self.trees()?;
        self.read::<SessionRecord, Session>(&t.sessions, id.0.as_bytes())
    }

    fn get_refresh_token(&self, id: Uuid) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let t = self.trees()?;
        self.read::<RefreshRecord, RefreshTokenRecord>(&t.refresh_tokens, id.as_bytes())
    }

    fn rotation_ticket(&self) -> u64 {
        self.tickets.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn rotate_refresh_token(
        &self,
        spent: Uuid,
        next: &RefreshTokenRecord,
        now: OffsetDateTime,
        ticket: u64,
    ) -> Result<Rotation, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let next_bytes = encode(&RefreshRecord::from(next))?;
        let (session_kind, token_kind) = (t.sessions.name, t.refresh_tokens.name);
        // sled runs the closure again on a conflict, so concurrent exchanges of one token
        // serialize: the first marks it spent, every later one sees it spent.
        let outcome = (&*t.sessions, &*t.refresh_tokens)
            .transaction(|(sessions, tokens)| {
                let Some(raw) = tokens.get(spent.as_bytes())? else {
                    return Ok(Rotation::NotFound);
                };
                let mut token = RefreshTokenRecord::try_from(
                    decode::<RefreshRecord>(token_kind, &raw).map_err(abort)?,
                )
                .map_err(abort)?;
                let Some(raw) = sessions.get(token.session.0.as_bytes())? else {
                    return Ok(Rotation::Inactive);
                };
                let mut session =
                    Session::try_from(decode::<SessionRecord>(session_kind, &raw).map_err(abort)?)
                        .map_err(abort)?;
                if !session.is_live(now) {
                    return Ok(Rotation::Inactive);
                }
                if token.spent_ticket.is_some_and(|t| t > ticket) {
                    return Ok(Rotation::LostRace);
                }
                if token.spent_at.is_some() {
                    // Reuse: a stolen copy and the legitimate one cannot both go on (SPEC §3).
                    session.revoked_at = Some(now);
                    sessions.insert(
                        session.id.0.as_bytes(),
                        encode(&SessionRecord::from(&session)).map_err(abort)?,
                    )?;
                    return Ok(Rotation::Reused(session.id));
                }
                if token.expires_at <= now {
                    return Ok(Rotation::Inactive);
                }
                token.spent_at = Some(now);
                // Greater than every ticket taken so far: those requests were under way.
                token.spent_ticket = Some(
                    self.tickets
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                        + 1,
                );
                tokens.insert(
                    spent.as_bytes(),
                    encode(&RefreshRecord::from(&token)).map_err(abort)?,
                )?;
                tokens.insert(next.id.as_bytes(), next_bytes.as_slice())?;
                Ok(Rotation::Rotated(session))
            })
            .map_err(tx_error)?;
        if matches!(outcome, Rotation::Rotated(_) | Rotation::Reused(_)) {
            self.durable()?;
        }
        Ok(outcome)
    }

    fn count_live_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        #[cfg(test)]
        self.run_hook(super::hooks::Point::BeforeCount);
        let t = self.trees()?;
        let mut live = 0;
        for item in t.sessions.iter() {
            let (_, bytes) = item.map_err(backend)?;
            if Session::try_from(decode::<SessionRecord>(t.sessions.name, &bytes)?)?.is_live(now) {
                live += 1;
            }
        }
        Ok(live)
    }

    fn revoke_session(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let kind = t.sessions.name;
        let revoked = t
            .sessions
            .transaction(|sessions| {
                let Some(raw) = sessions.get(id.0.as_bytes())? else {
                    return Ok(false);
                };
                let mut session =
                    Session::try_from(decode::<SessionRecord>(kind, &raw).map_err(abort)?)
                        .map_err(abort)?;
                if session.revoked_at.is_some() {
                    return Ok(false);
                }
                session.revoked_at = Some(now);
                sessions.insert(
                    id.0.as_bytes(),
                    encode(&SessionRecord::from(&session)).map_err(abort)?,
                )?;
                Ok(true)
            })
            .map_err(tx_error)?;
        if revoked {
            self.durable()?;
        }
        Ok(revoked)
    }

    fn revoke_user_sessions(
        &self,
        userid: &UserId,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let mut prefix = userid.as_str().as_bytes().to_vec();
        prefix.push(0);
        // The ids first, and the trees let go of: each revocation below may flush, and a
        // failed flush reopens the store, which waits for every handle to be dropped.
        let sids = {
            let t = self.trees()?;
            let kind = t.user_sessions.name;
            t.user_sessions
                .scan_prefix(&prefix)
                .map(|item| {
                    let (key, _) = item.map_err(backend)?;
                    Uuid::from_slice(&key[prefix.len()..]).map_err(|e| StoreError::Corrupt {
                        tree: kind,
                        reason: e.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        let mut count = 0;
        for sid in sids {
            if let Some(session) = self.get_session(SessionId(sid))? {
                if session.revoked_at.is_none() && self.revoke_session(session.id, now)? {
                    count += 1;
                }
            }
        }
        Ok(count)
    }
}

impl RevocationStore for Sled {
    fn revoke_token_id(&self, jti: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        t.revoked_jti
            .insert(jti.as_bytes(), &expires_at.unix_timestamp().to_be_bytes())
            .map_err(backend)?;
        self.durable()
    }

    fn is_token_id_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let t = self.trees()?;
        t.revoked_jti.contains_key(jti.as_bytes()).map_err(backend)
    }
}
