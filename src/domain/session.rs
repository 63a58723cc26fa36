//! Login sessions and the refresh tokens of their rotation family (SPEC §3).

use super::UserId;
use std::fmt;
use time::OffsetDateTime;
use uuid::Uuid;

/// The id of a login session: the `sid` claim of its claims tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub Uuid);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One login: the family of refresh tokens that rotate from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub userid: UserId,
    pub provider: Option<String>,
    pub domain: Option<String>,
    pub created_at: OffsetDateTime,
    /// Absolute end (`session_max_age_seconds`); refresh cannot extend it.
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

impl Session {
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// One refresh token of a session, stored by id with the SHA-256 of its text.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    pub id: Uuid,
    pub session: SessionId,
    pub userid: UserId,
    pub hash: [u8; 32],
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Set when the token was exchanged: presenting it again is reuse.
    pub spent_at: Option<OffsetDateTime>,
    /// The store's rotation ticket at the exchange: a request holding an earlier ticket was
    /// already under way, so it raced the exchange rather than replayed the token.
    pub spent_ticket: Option<u64>,
}

impl fmt::Debug for RefreshTokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokenRecord")
            .field("id", &self.id)
            .field("session", &self.session)
            .field("expires_at", &self.expires_at)
            .field("spent_at", &self.spent_at)
            .finish_non_exhaustive()
    }
}
