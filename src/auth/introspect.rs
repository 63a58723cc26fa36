//! Introspection (RFC 7662) and revocation (RFC 7009) of every kind of token tessera issues.

use super::credentials::{self, Credential};
use super::login::end_session;
use super::{AuthError, Context};
use crate::domain::{AppId, ClientId, KeyId, PairId};
use crate::tokens::secret::SecretKind;
use crate::tokens::{api_key, device, pair, refresh, secret};

/// Says whether `token` is live and what it is. Anything not live — unknown, malformed,
/// expired, revoked, of a user now disabled, half of a pair — is `None` (inactive).
/// `access_secret` completes an AccessToken; `username` names the user of a preamble token.
pub async fn introspect(
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
        return Ok(match super::preamble::user_for(ctx, userid, token).await? {
            Some(user) => super::preamble::verify(ctx, user.userid.as_str(), token)
                .await
                .map(|(start, exp)| Credential::Preamble {
                    userid: user.userid.as_str().to_string(),
                    start,
                    exp,
                }),
            None => None,
        });
    }
    match SecretKind::of(token) {
        Some(SecretKind::RefreshToken) => {
            return Ok(credentials::refresh_token(ctx, token)
                .await?
                .map(Credential::Refresh))
        }
        Some(SecretKind::ApiKey) => {
            return Ok(credentials::api_key(ctx, token)
                .await?
                .map(Credential::ApiKey))
        }
        Some(SecretKind::DeviceToken) => {
            return Ok(credentials::device_token(ctx, token)
                .await?
                .map(Credential::Device))
        }
        // An AccessSecret alone, or a client secret, is not a token anyone may present.
        Some(SecretKind::AccessSecret | SecretKind::ClientSecret) => return Ok(None),
        None => {}
    }
    if pair::parse_access_token(token).is_some() {
        return match access_secret {
            Some(secret) => Ok(credentials::pair(ctx, token, secret)
                .await?
                .map(Credential::Pair)),
            None => Ok(None),
        };
    }
    credentials::jwt(ctx, token).await
}

/// Whose tokens a revocation may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeScope {
    /// Administrators, static credentials: any token.
    Any,
    /// An OAuth client (or its pair): only tokens issued to it (RFC 7009 §2.1).
    Client(ClientId),
}

impl RevokeScope {
    fn allows(self, client: ClientId) -> bool {
        match self {
            RevokeScope::Any => true,
            RevokeScope::Client(own) => own == client,
        }
    }
}

/// Revokes `token` if it is one of ours and within `scope`; succeeds whatever it is
/// (RFC 7009 §2.2: the answer never tells a token's validity). A refresh token takes its
/// session with it (RFC 7009 §2.1); an API key or device token is deleted; a pair is deleted
/// by either half; a JWT or preamble token is remembered as revoked until it expires.
pub async fn revoke(ctx: &Context, token: &str, scope: RevokeScope) -> Result<(), AuthError> {
    let token = token.trim();
    let store = &*ctx.store;
    if super::preamble::is_token(&ctx.config(), token) {
        if scope == RevokeScope::Any {
            super::preamble::revoke(ctx, token).await?;
        }
        return Ok(());
    }
    match SecretKind::of(token) {
        Some(SecretKind::RefreshToken) if scope == RevokeScope::Any => {
            let Some(parsed) = refresh::parse(token) else {
                return Ok(());
            };
            if let Some(record) = store.get_refresh_token(parsed.id).await? {
                if parsed.matches(&record.hash) {
                    end_session(ctx, record.session).await?;
                }
            }
        }
        Some(SecretKind::ApiKey) if scope == RevokeScope::Any => {
            let Some(parsed) = api_key::parse(token) else {
                return Ok(());
            };
            // Read again on each attempt: a refresh committed meanwhile changes which secret
            // the presented one is. A delete is not version-checked: a revocation of the
            // current secret that meets a concurrent refresh ends the key all the same, the
            // safe side to err on.
            let parsed = &parsed;
            super::edit::edit(|| async move {
                let Some(mut key) = store.get_api_key(KeyId(parsed.id)).await? else {
                    return Ok(());
                };
                if parsed.matches(&key.hash) {
                    store.delete_api_key(key.id).await?;
                } else if key
                    .previous
                    .as_ref()
                    .is_some_and(|p| parsed.matches(&p.hash))
                {
                    // The old secret of a refreshed key: end its grace, keep the key.
                    key.previous = None;
                    store.update_api_key(&key).await?;
                }
                Ok(())
            })
            .await?;
        }
        Some(SecretKind::DeviceToken) if scope == RevokeScope::Any => {
            let Some(parsed) = device::parse(token) else {
                return Ok(());
            };
            let parsed = &parsed;
            super::edit::edit(|| async move {
                let Some(mut app) = store.get_app(AppId(parsed.id)).await? else {
                    return Ok(());
                };
                if app
                    .device_token
                    .as_ref()
                    .is_some_and(|d| parsed.matches(&d.hash))
                {
                    app.device_token = None;
                    store.update_app(&app).await?;
                }
                Ok(())
            })
            .await?;
        }
        Some(SecretKind::AccessSecret) => {
            let Some(parsed) = secret::parse(SecretKind::AccessSecret, token) else {
                return Ok(());
            };
            let id = PairId(parsed.id);
            if store
                .get_pair(id)
                .await?
                .is_some_and(|p| parsed.matches(&p.secret_hash) && scope.allows(p.client_id))
            {
                store.delete_pair(id).await?;
            }
        }
        Some(_) => {}
        None => {
            if let Some(id) = pair::parse_access_token(token) {
                if store
                    .get_pair(id)
                    .await?
                    .is_some_and(|p| scope.allows(p.client_id))
                {
                    store.delete_pair(id).await?;
                }
                return Ok(());
            }
            let (jti, expires_at) = match credentials::jwt(ctx, token).await? {
                Some(Credential::Claims(c)) if scope == RevokeScope::Any => {
                    (c.jti.clone(), c.expires_at())
                }
                Some(Credential::Access(a))
                    if ClientId::parse(&a.client_id).is_some_and(|c| scope.allows(c)) =>
                {
                    (a.jti.clone(), a.expires_at())
                }
                _ => return Ok(()),
            };
            store.revoke_token_id(&jti, expires_at).await?;
        }
    }
    Ok(())
}
