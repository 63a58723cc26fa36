//! Verifying what a service is handed: every kind of credential tessera issues, each by its
//! own rules (STYLE habit 8). Used by introspection, `/api/v1/check` and caller
//! authentication. `Ok(None)` means "not a live credential of this kind".

use super::{AuthError, Context};
use crate::domain::{
    AccessPair, ApiKey, AppId, Application, ClientId, KeyId, PairId, RefreshTokenRecord, SessionId,
};
use crate::tokens::access::AccessToken;
use crate::tokens::claims::{self, ClaimsToken};
use crate::tokens::jwt::Expiry;
use crate::tokens::{api_key, device, pair, refresh};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// How often at most `last_used_at` of a key is written: a busy key is not a write per call.
const KEY_USE_RESOLUTION: Duration = Duration::seconds(60);

/// A live credential, by kind.
#[derive(Debug)]
pub enum Credential {
    Claims(ClaimsToken),
    Access(AccessToken),
    Pair(AccessPair),
    ApiKey(ApiKey),
    Device(Application),
    Refresh(RefreshTokenRecord),
    /// A preamble token for an existing, enabled user (SPEC §5).
    Preamble {
        userid: String,
        start: u32,
        exp: u32,
    },
}

async fn session_live(
    ctx: &Context,
    sid: SessionId,
    now: OffsetDateTime,
) -> Result<bool, AuthError> {
    Ok(ctx
        .store
        .get_session(sid)
        .await?
        .is_some_and(|s| s.is_live(now)))
}

/// A claims token that verifies, is not revoked, and whose session is live.
pub async fn claims(ctx: &Context, token: &str) -> Result<Option<ClaimsToken>, AuthError> {
    let config = ctx.config();
    let now = ctx.now();
    let Ok(claims) = ClaimsToken::verify(
        &ctx.keys,
        token,
        &config.server.external_url_base,
        &config.tokens.audience,
        now,
        Expiry::Enforce,
    ) else {
        return Ok(None);
    };
    let Ok(sid) = Uuid::parse_str(&claims.sid) else {
        return Ok(None);
    };
    if ctx.store.is_token_id_revoked(&claims.jti).await?
        || !session_live(ctx, SessionId(sid), now).await?
    {
        return Ok(None);
    }
    Ok(Some(claims))
}

/// An access JWT that verifies, is not revoked, and whose client still exists.
pub async fn access_jwt(ctx: &Context, token: &str) -> Result<Option<AccessToken>, AuthError> {
    let config = ctx.config();
    let Ok(access) = AccessToken::verify(
        &ctx.keys,
        token,
        &config.server.external_url_base,
        &config.tokens.audience,
        ctx.now(),
    ) else {
        return Ok(None);
    };
    let Some(client_id) = ClientId::parse(&access.client_id) else {
        return Ok(None);
    };
    if ctx.store.is_token_id_revoked(&access.jti).await?
        || ctx.store.get_client(client_id).await?.is_none()
    {
        return Ok(None);
    }
    Ok(Some(access))
}

/// A JWT of either kind, told apart by its `typ`.
pub async fn jwt(ctx: &Context, token: &str) -> Result<Option<Credential>, AuthError> {
    let Some(typ) = crate::tokens::jwt::typ_of(token) else {
        return Ok(None);
    };
    let typ = typ.to_ascii_lowercase();
    if typ.ends_with(crate::tokens::access::TYP) {
        Ok(access_jwt(ctx, token).await?.map(Credential::Access))
    } else if typ == claims::TYP.to_ascii_lowercase() {
        Ok(self::claims(ctx, token).await?.map(Credential::Claims))
    } else {
        Ok(None)
    }
}

/// An API key: enabled, unexpired, of an existing app, matching the current secret or a
/// previous one still in its grace. Notes the use.
pub async fn api_key(ctx: &Context, text: &str) -> Result<Option<ApiKey>, AuthError> {
    let Some(parsed) = api_key::parse(text) else {
        return Ok(None);
    };
    let now = ctx.now();
    let Some(key) = ctx.store.get_api_key(KeyId(parsed.id)).await? else {
        return Ok(None);
    };
    let current = parsed.matches(&key.hash);
    let in_grace = key
        .previous
        .as_ref()
        .is_some_and(|p| now < p.valid_until && parsed.matches(&p.hash));
    if !(current || in_grace)
        || !key.is_usable(now)
        || ctx.store.get_app(key.app_id).await?.is_none()
    {
        return Ok(None);
    }
    if key
        .last_used_at
        .is_none_or(|t| now - t >= KEY_USE_RESOLUTION)
    {
        // Bookkeeping: a store that cannot take the write (a full disk) must not fail a
        // check that only reads.
        if let Err(e) = ctx.store.record_api_key_use(key.id, now).await {
            log::warn!("could not note the use of API key {}: {e}", key.id);
        }
    }
    Ok(Some(key))
}

/// A device token: the current one of an existing app.
pub async fn device_token(ctx: &Context, text: &str) -> Result<Option<Application>, AuthError> {
    let Some(parsed) = device::parse(text) else {
        return Ok(None);
    };
    Ok(ctx.store.get_app(AppId(parsed.id)).await?.filter(|app| {
        app.device_token
            .as_ref()
            .is_some_and(|d| parsed.matches(&d.hash))
    }))
}

/// An AccessToken with its AccessSecret: unexpired, of an existing client.
pub async fn pair(
    ctx: &Context,
    token: &str,
    secret: &str,
) -> Result<Option<AccessPair>, AuthError> {
    let Some(parsed) = pair::parse(token, secret) else {
        return Ok(None);
    };
    let now = ctx.now();
    let Some(record) = ctx
        .store
        .get_pair(PairId(parsed.id))
        .await?
        .filter(|p| parsed.matches(&p.secret_hash) && now < p.expires_at)
    else {
        return Ok(None);
    };
    if ctx.store.get_client(record.client_id).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(record))
}

/// A refresh token that is unspent, unexpired, and of a live session.
pub async fn refresh_token(
    ctx: &Context,
    text: &str,
) -> Result<Option<RefreshTokenRecord>, AuthError> {
    let Some(parsed) = refresh::parse(text) else {
        return Ok(None);
    };
    let now = ctx.now();
    let Some(record) = ctx
        .store
        .get_refresh_token(parsed.id)
        .await?
        .filter(|r| parsed.matches(&r.hash))
    else {
        return Ok(None);
    };
    if record.spent_at.is_some()
        || record.expires_at <= now
        || !session_live(ctx, record.session, now).await?
    {
        return Ok(None);
    }
    Ok(Some(record))
}
