//! Preamble tokens as credentials (SPEC §5): the live key, checking a presented token, minting.

use super::{AuthError, Context};
use crate::config::{Config, PreambleMode, Settings};
use crate::domain::{User, UserId};
use crate::tokens::preamble::{self, PreambleKey, Window};
use uuid::Uuid;

/// The `token_uuid` in force: the configured one (parsed at load), else the one generated on
/// first start.
fn token_uuid(ctx: &Context, config: &Settings) -> Uuid {
    config
        .runtime
        .token_uuid
        .unwrap_or(ctx.generated_token_uuid)
}

/// Whether `password` is to be treated as a preamble token (and never as a password).
pub fn is_token(config: &Config, password: &str) -> bool {
    config.preamble.token_authentication_mode == PreambleMode::Enable
        && password.starts_with(&config.preamble.token_preambula)
}

/// The start and expiry of a valid token for `userid`, if it is one.
pub async fn verify(ctx: &Context, userid: &str, token: &str) -> Option<(u32, u32)> {
    let config = ctx.config();
    if !is_token(&config, token) {
        return None;
    }
    let key = PreambleKey::derive(&token_uuid(ctx, &config));
    let (start, exp) = key.verify(&config.preamble.token_preambula, token, userid)?;
    // A store that cannot answer lets no token in.
    if ctx
        .store
        .is_token_id_revoked(&preamble::revocation_id(token))
        .await
        .unwrap_or(true)
    {
        return None;
    }
    let lifetimes = &config.runtime.lifetimes;
    let window = Window {
        ttl_seconds: lifetimes.preamble_ttl.whole_seconds(),
        tolerance_seconds: lifetimes.preamble_tolerance.whole_seconds(),
    };
    window
        .admits(start, exp, ctx.now().unix_timestamp())
        .then_some((start, exp))
}

/// A user logged in by a preamble token: the token is valid for the userid, and the user
/// exists and is enabled.
pub async fn user_for(ctx: &Context, userid: &str, token: &str) -> Result<Option<User>, AuthError> {
    let Ok(id) = UserId::parse(userid) else {
        return Ok(None);
    };
    // Look the user up whatever the token, so a bad token and an unknown user cost the same.
    let user = ctx.store.get_user(&id).await?;
    let valid = verify(ctx, userid, token).await.is_some();
    Ok(user.filter(|u| valid && !u.disabled))
}

/// Remembers `token` as revoked until it expires (RFC 7009 for a stateless token).
pub async fn revoke(ctx: &Context, token: &str) -> Result<(), AuthError> {
    let config = ctx.config();
    let Some(exp) = preamble::claimed_expiry(&config.preamble.token_preambula, token) else {
        return Ok(());
    };
    let tolerance = config.runtime.lifetimes.preamble_tolerance;
    let until = time::OffsetDateTime::from_unix_timestamp(i64::from(exp))
        .map_or(time::OffsetDateTime::UNIX_EPOCH, |t| t + tolerance);
    if until <= ctx.now() {
        return Ok(());
    }
    let id = preamble::revocation_id(token);
    Ok(ctx.store.revoke_token_id(&id, until).await?)
}

/// Mints a token for an existing user: `start = now`, `exp = now + token_life_in_minutes`.
pub async fn mint(ctx: &Context, userid: &UserId) -> Result<(String, u32), AuthError> {
    let config = ctx.config();
    ctx.store
        .get_user(userid)
        .await?
        .ok_or(AuthError::NotFound)?;
    mint_for(
        &config,
        &token_uuid(ctx, &config),
        userid,
        ctx.now().unix_timestamp(),
    )
}

/// The minting itself, shared with the command line: refuses while the mode is off, since
/// such a token could not be used.
pub fn mint_for(
    config: &Config,
    token_uuid: &Uuid,
    userid: &UserId,
    now: i64,
) -> Result<(String, u32), AuthError> {
    if config.preamble.token_authentication_mode != PreambleMode::Enable {
        return Err(crate::domain::ValidationError::Other(
            "preamble tokens are disabled (preamble.token_authentication_mode)",
        )
        .into());
    }
    let start = u32::try_from(now).unwrap_or(u32::MAX);
    let life = config.preamble.token_life_in_minutes.saturating_mul(60);
    let exp = u32::try_from(now.saturating_add(i64::try_from(life).unwrap_or(i64::MAX)))
        .unwrap_or(u32::MAX);
    let key = PreambleKey::derive(token_uuid);
    Ok((
        key.mint(
            &config.preamble.token_preambula,
            userid.as_str(),
            start,
            exp,
        ),
        exp,
    ))
}
