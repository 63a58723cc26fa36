//! Introspection (RFC 7662) and revocation (RFC 7009) of every kind of token tessera issues.

use super::credentials::{self, Credential};
use super::login::end_session;
use super::{blocking, AuthError, Context};
use crate::tokens::secret::SecretKind;
use crate::tokens::{api_key, device, pair, refresh, secret};

/// Says whether `token` is live and what it is. Anything not live — unknown, malformed,
/// expired, revoked, of a user now disabled, half of a pair — is `None` (inactive).
/// `access_secret` completes an AccessToken; `username` names the user of a preamble token.
pub fn introspect(
    ctx: &Context,
    token: &str,
    access_secret: Option<&str>,
    username: Option<&str>,
) -> Result<Option<Credential>, AuthError> {
    let token = token.trim();
    if super::preamble::is_token(&ctx.config(), token) {
        let Some(userid) = username else {
            return Ok(None);
        };
        return Ok(match super::preamble::user_for(ctx, userid, token)? {
            Some(user) => {
                super::preamble::verify(ctx, user.userid.as_str(), token).map(|(start, exp)| {
                    Credential::Preamble {
                        userid: user.userid.as_str().to_string(),
                        start,
                        exp,
                    }
                })
            }
            None => None,
        });
    }
    match SecretKind::of(token) {
        Some(SecretKind::RefreshToken) => {
            return Ok(credentials::refresh_token(ctx, token)?.map(Credential::Refresh))
        }
        Some(SecretKind::ApiKey) => {
            return Ok(credentials::api_key(ctx, token)?.map(Credential::ApiKey))
        }
        Some(SecretKind::DeviceToken) => {
            return Ok(credentials::device_token(ctx, token)?.map(Credential::Device))
        }
        // An AccessSecret alone, or a client secret, is not a token anyone may present.
        Some(SecretKind::AccessSecret | SecretKind::ClientSecret) => return Ok(None),
        None => {}
    }
    if pair::parse_access_token(token).is_some() {
        return match access_secret {
            Some(secret) => Ok(credentials::pair(ctx, token, secret)?.map(Credential::Pair)),
            None => Ok(None),
        };
    }
    credentials::jwt(ctx, token)
}

/// Revokes `token` if it is one of ours; succeeds whatever it is (RFC 7009 §2.2).
/// A refresh token takes its session with it (RFC 7009 §2.1); an API key or device token is
/// deleted; a pair is deleted by either half; a JWT is revoked by its `jti` until it expires.
pub async fn revoke(ctx: &Context, token: &str) -> Result<(), AuthError> {
    let token = token.trim();
    let store = ctx.store.clone();
    if let Some(parsed) = refresh::parse(token) {
        if let Some(record) = store
            .get_refresh_token(parsed.id)?
            .filter(|r| parsed.matches(&r.hash))
        {
            end_session(ctx, record.session).await?;
        }
    } else if let Some(parsed) = api_key::parse(token) {
        if let Some(mut key) = store.get_api_key(parsed.id)? {
            if parsed.matches(&key.hash) {
                blocking(move || store.delete_api_key(key.id)).await?;
            } else if key
                .previous
                .as_ref()
                .is_some_and(|p| parsed.matches(&p.hash))
            {
                // The old secret of a refreshed key: end its grace, keep the key.
                key.previous = None;
                blocking(move || store.update_api_key(&key)).await?;
            }
        }
    } else if let Some(parsed) = device::parse(token) {
        if let Some(mut app) = store.get_app(parsed.id)? {
            if app
                .device_token
                .as_ref()
                .is_some_and(|d| parsed.matches(&d.hash))
            {
                app.device_token = None;
                blocking(move || store.update_app(&app)).await?;
            }
        }
    } else if let Some(parsed) = secret::parse(SecretKind::AccessSecret, token) {
        if store
            .get_pair(parsed.id)?
            .is_some_and(|p| parsed.matches(&p.secret_hash))
        {
            blocking(move || store.delete_pair(parsed.id)).await?;
        }
    } else if let Some(id) = pair::parse_access_token(token) {
        blocking(move || store.delete_pair(id)).await?;
    } else {
        let (jti, expires_at) = match credentials::jwt(ctx, token)? {
            Some(Credential::Claims(c)) => (c.jti.clone(), c.expires_at()),
            Some(Credential::Access(a)) => (a.jti.clone(), a.expires_at()),
            _ => return Ok(()),
        };
        blocking(move || store.revoke_token_id(&jti, expires_at)).await?;
    }
    Ok(())
}
