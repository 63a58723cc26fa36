//! Introspection (RFC 7662) and revocation (RFC 7009) of the tokens tessera issues.

use super::login::end_session;
use super::{blocking, AuthError, Context};
use crate::domain::{RefreshTokenRecord, SessionId};
use crate::tokens::claims::ClaimsToken;
use crate::tokens::jwt::Expiry;
use crate::tokens::refresh;
use time::OffsetDateTime;
use uuid::Uuid;

/// What a token turned out to be.
#[derive(Debug)]
pub enum Introspection {
    Inactive,
    Claims(ClaimsToken),
    Refresh(RefreshTokenRecord),
}

/// Says whether `token` is live and what it carries. Anything not live — unknown, malformed,
/// expired, revoked, of a user now disabled — is simply inactive.
pub async fn introspect(ctx: &Context, token: &str) -> Result<Introspection, AuthError> {
    let now = ctx.now();
    if let Some(record) = live_refresh_token(ctx, token, now)? {
        return Ok(Introspection::Refresh(record));
    }
    if let Some(claims) = live_claims_token(ctx, token, now, Expiry::Enforce)? {
        return Ok(Introspection::Claims(claims));
    }
    Ok(Introspection::Inactive)
}

fn live_refresh_token(
    ctx: &Context,
    token: &str,
    now: OffsetDateTime,
) -> Result<Option<RefreshTokenRecord>, AuthError> {
    let Some(parsed) = refresh::parse(token) else {
        return Ok(None);
    };
    let Some(record) = ctx
        .store
        .get_refresh_token(parsed.id)?
        .filter(|r| parsed.matches(&r.hash))
    else {
        return Ok(None);
    };
    if record.spent_at.is_some()
        || record.expires_at <= now
        || !session_live(ctx, record.session, now)?
    {
        return Ok(None);
    }
    Ok(Some(record))
}

fn live_claims_token(
    ctx: &Context,
    token: &str,
    now: OffsetDateTime,
    expiry: Expiry,
) -> Result<Option<ClaimsToken>, AuthError> {
    let config = ctx.config();
    let Ok(claims) = ClaimsToken::verify(
        &ctx.keys,
        token,
        &config.server.external_url_base,
        &config.tokens.audience,
        now,
        expiry,
    ) else {
        return Ok(None);
    };
    let Ok(sid) = Uuid::parse_str(&claims.sid) else {
        return Ok(None);
    };
    if ctx.store.is_token_id_revoked(&claims.jti)? || !session_live(ctx, SessionId(sid), now)? {
        return Ok(None);
    }
    Ok(Some(claims))
}

fn session_live(ctx: &Context, sid: SessionId, now: OffsetDateTime) -> Result<bool, AuthError> {
    Ok(ctx.store.get_session(sid)?.is_some_and(|s| s.is_live(now)))
}

/// Revokes `token` if it is one of ours; succeeds whatever it is (RFC 7009 §2.2). A refresh
/// token takes its session with it (RFC 7009 §2.1); a claims token is revoked by its `jti`.
pub async fn revoke(ctx: &Context, token: &str) -> Result<(), AuthError> {
    let now = ctx.now();
    if let Some(parsed) = refresh::parse(token) {
        if let Some(record) = ctx
            .store
            .get_refresh_token(parsed.id)?
            .filter(|r| parsed.matches(&r.hash))
        {
            end_session(ctx, record.session).await?;
        }
        return Ok(());
    }
    if let Some(claims) = live_claims_token(ctx, token, now, Expiry::Enforce)? {
        let (store, expires_at) = (ctx.store.clone(), claims.expires_at());
        blocking(move || store.revoke_token_id(&claims.jti, expires_at)).await?;
    }
    Ok(())
}
