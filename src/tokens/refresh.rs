//! Refresh tokens (SPEC §3): opaque `tsr_` secrets, one live per session, rotated on every use.

use super::secret::{self, GeneratedSecret, ParsedSecret, SecretKind};
use crate::domain::{RefreshTokenRecord, Session};
use time::{Duration, OffsetDateTime};

/// Mints the next refresh token of `session`: its text (shown once) and the record to store.
/// It lives `idle_ttl`, but never past the session's absolute end.
pub fn mint(
    session: &Session,
    now: OffsetDateTime,
    idle_ttl: Duration,
) -> (GeneratedSecret, RefreshTokenRecord) {
    let secret = GeneratedSecret::new(SecretKind::RefreshToken);
    let record = RefreshTokenRecord {
        id: secret.id,
        session: session.id,
        userid: session.userid.clone(),
        hash: secret.hash(),
        issued_at: now,
        expires_at: (now + idle_ttl).min(session.expires_at),
        spent_at: None,
        spent_ticket: None,
    };
    (secret, record)
}

/// Parses a presented refresh token; `None` if it is not one (wrong prefix or checksum).
pub fn parse(text: &str) -> Option<ParsedSecret> {
    secret::parse(SecretKind::RefreshToken, text.trim())
}
