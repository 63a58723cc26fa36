//! Login, refresh and logout (SPEC §3): sessions, refresh rotation with reuse detection, and
//! the claims tokens they hand out.

use super::{AuthError, Context};
use crate::crypto::SecretString;
use crate::domain::{NewUser, Session, SessionId, User, UserId};
use crate::storage::Rotation;
use crate::tokens::claims::ClaimsToken;
use crate::tokens::jwt::Expiry;
use crate::tokens::refresh;
use crate::tokens::secret::GeneratedSecret;
use std::net::IpAddr;
use time::OffsetDateTime;
use uuid::Uuid;

/// Credentials as presented to the login endpoint.
#[derive(Debug)]
pub struct LoginRequest {
    pub userid: String,
    pub password: SecretString,
    pub provider: Option<String>,
    pub domain: Option<String>,
    /// The client's address, for the per-address lockout.
    pub address: Option<IpAddr>,
}

/// What a successful login or refresh hands out.
#[derive(Debug)]
pub struct Grant {
    pub user: User,
    pub session: Session,
    pub refresh_token: GeneratedSecret,
    pub claims_token: String,
    pub claims: ClaimsToken,
}

/// How a logout names its session.
#[derive(Debug)]
pub enum LogoutBy {
    RefreshToken(SecretString),
    ClaimsToken(SecretString),
}

/// Checks a userid and password, and on success opens a session.
pub async fn login(ctx: &Context, request: LoginRequest) -> Result<Grant, AuthError> {
    let provider = NewUser::text_field("provider", request.provider)?;
    let domain = NewUser::text_field("domain", request.domain)?;
    let user = verify_password(ctx, &request.userid, request.password, request.address).await?;
    let config = ctx.config();
    let now = ctx.now();
    let session = Session {
        id: SessionId(Uuid::new_v4()),
        userid: user.userid.clone(),
        provider: provider.or_else(|| user.provider.clone()),
        domain: domain.or_else(|| user.domain.clone()),
        created_at: now,
        expires_at: now + config.runtime.lifetimes.session_max_age,
        revoked_at: None,
    };
    let (refresh_token, record) = refresh::mint(&session, now, config.runtime.lifetimes.refresh);
    ctx.store.create_session(&session, &record).await?;
    super::stats::login(ctx, now).await;
    grant(ctx, user, session, refresh_token, now)
}

/// Verifies a directory user's password or preamble token: the one path for login, Basic
/// callers and browser sessions. Unknown users cost a dummy verification, and every failure
/// is the same error, so neither the answer nor its timing tells whether a userid exists.
/// Failures count towards the lockouts of the userid and the client `address` (SPEC §3).
pub async fn verify_password(
    ctx: &Context,
    userid: &str,
    password: SecretString,
    address: Option<IpAddr>,
) -> Result<User, AuthError> {
    let now = ctx.now();
    super::guard::check(ctx, Some(userid), address, now).await?;
    let outcome = check_secret(ctx, userid, password).await;
    match &outcome {
        Ok(user) => super::guard::succeed(ctx, user.userid.as_str()).await?,
        Err(AuthError::InvalidCredentials) => {
            super::stats::failure(ctx, now).await;
            let config = ctx.config();
            super::guard::fail(ctx, &config.login_protection, Some(userid), address, now).await?;
        }
        Err(_) => {}
    }
    outcome
}

async fn check_secret(
    ctx: &Context,
    userid: &str,
    password: SecretString,
) -> Result<User, AuthError> {
    // With preamble tokens on, a password that starts with the preamble is a token and is
    // never tried as a password (SPEC §5).
    if super::preamble::is_token(&ctx.config(), password.expose()) {
        return super::preamble::user_for(ctx, userid, password.expose())
            .await?
            .ok_or(AuthError::InvalidCredentials);
    }
    let user = match UserId::parse(userid) {
        Ok(id) => ctx.store.get_user(&id).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let presented = password.clone();
    let matched = ctx.hasher.verify(password, stored).await?;
    match user {
        Some(user) if matched && !user.disabled => {
            rehash_if_needed(ctx, &user, presented);
            Ok(user)
        }
        _ => Err(AuthError::InvalidCredentials),
    }
}

/// Upgrades a stored hash made with an older cost, in the background (OWASP ASVS 2.4).
fn rehash_if_needed(ctx: &Context, user: &User, password: SecretString) {
    if !ctx.hasher.needs_rehash(&user.password_hash) {
        return;
    }
    let (hasher, store, userid) = (ctx.hasher.clone(), ctx.store.clone(), user.userid.clone());
    let verified = user.password_hash.clone();
    actix_rt::spawn(async move {
        let Ok(phc) = hasher.hash(password).await else {
            return;
        };
        let (store, userid, verified, phc) = (&*store, &userid, &verified, &phc);
        let result = super::edit::edit(|| store_rehash(store, userid, verified, phc)).await;
        if let Err(e) = result {
            log::warn!("rehashing a password with the current cost failed: {e}");
        }
    });
}

/// Replaces the hash `verified` with `rehashed`, only if it is still the stored one: a
/// password set meanwhile (an admin's reset) must not be replaced by the old password's new
/// hash.
async fn store_rehash(
    store: &dyn crate::storage::Store,
    userid: &crate::domain::UserId,
    verified: &str,
    rehashed: &str,
) -> Result<(), crate::storage::StoreError> {
    match store.get_user(userid).await? {
        Some(mut current) if current.password_hash == verified => {
            current.password_hash = rehashed.to_string();
            store.update_user(&current).await
        }
        _ => Ok(()),
    }
}

/// Exchanges a refresh token for a new one and a new claims token (SPEC §3).
pub async fn refresh(ctx: &Context, presented: SecretString) -> Result<Grant, AuthError> {
    let parsed = refresh::parse(presented.expose()).ok_or(AuthError::InvalidGrant)?;
    // The ticket is taken first: if another exchange of this token commits after this point,
    // the two raced.
    let (ticket, record) = ctx.store.ticket_and_refresh_token(parsed.id).await?;
    let record = record
        .filter(|r| parsed.matches(&r.hash))
        .ok_or(AuthError::InvalidGrant)?;
    let session = ctx
        .store
        .get_session(record.session)
        .await?
        .ok_or(AuthError::InvalidGrant)?;
    let config = ctx.config();
    let now = ctx.now();
    let (next_token, next) = refresh::mint(&session, now, config.runtime.lifetimes.refresh);
    let outcome = ctx
        .store
        .rotate_refresh_token(record.id, &next, now, ticket)
        .await?;
    match outcome {
        Rotation::Rotated(session) => {
            let user = match ctx.store.get_user(&session.userid).await? {
                Some(user) if !user.disabled => user,
                _ => {
                    end_session(ctx, session.id).await?;
                    return Err(AuthError::InvalidGrant);
                }
            };
            grant(ctx, user, session, next_token, now)
        }
        Rotation::Reused(sid) => {
            log::warn!("a spent refresh token was presented again: session {sid} revoked");
            Err(AuthError::InvalidGrant)
        }
        Rotation::LostRace | Rotation::Inactive | Rotation::NotFound => {
            Err(AuthError::InvalidGrant)
        }
    }
}

/// Ends the session named by a refresh token or a claims token. Ending a session that has
/// already ended succeeds; a spent refresh token is reuse and revokes its session.
pub async fn logout(ctx: &Context, by: LogoutBy) -> Result<(), AuthError> {
    let config = ctx.config();
    let sid = match by {
        LogoutBy::RefreshToken(text) => {
            let parsed = refresh::parse(text.expose()).ok_or(AuthError::InvalidGrant)?;
            let record = ctx
                .store
                .get_refresh_token(parsed.id)
                .await?
                .filter(|r| parsed.matches(&r.hash))
                .ok_or(AuthError::InvalidGrant)?;
            if record.spent_at.is_some() {
                end_session(ctx, record.session).await?;
                log::warn!(
                    "a spent refresh token was presented to logout: session {} revoked",
                    record.session
                );
                return Err(AuthError::InvalidGrant);
            }
            record.session
        }
        LogoutBy::ClaimsToken(jwt) => {
            // An expired claims token still names its session, and ending a session is safe.
            let claims = ClaimsToken::verify(
                &ctx.keys,
                jwt.expose(),
                &config.server.external_url_base,
                &config.tokens.audience,
                ctx.now(),
                Expiry::Ignore,
            )
            .map_err(|_| AuthError::InvalidGrant)?;
            SessionId(Uuid::parse_str(&claims.sid).map_err(|_| AuthError::InvalidGrant)?)
        }
    };
    end_session(ctx, sid).await
}

pub(crate) async fn end_session(ctx: &Context, sid: SessionId) -> Result<(), AuthError> {
    ctx.store.revoke_session(sid, ctx.now()).await?;
    Ok(())
}

fn grant(
    ctx: &Context,
    user: User,
    session: Session,
    refresh_token: GeneratedSecret,
    now: OffsetDateTime,
) -> Result<Grant, AuthError> {
    let config = ctx.config();
    let iat = now.unix_timestamp();
    let exp = (now + config.runtime.lifetimes.claims)
        .min(session.expires_at)
        .unix_timestamp();
    let claims = ClaimsToken {
        iss: config.server.external_url_base.clone(),
        sub: user.userid.as_str().to_string(),
        aud: config.tokens.audience.clone(),
        iat,
        exp,
        nbf: None,
        jti: Uuid::new_v4().to_string(),
        sid: session.id.to_string(),
        roles: user.roles.iter().map(|r| r.as_str().to_string()).collect(),
        provider: session.provider.clone(),
        domain: session.domain.clone(),
    };
    let claims_token = claims.sign(&ctx.keys)?;
    Ok(Grant {
        user,
        session,
        refresh_token,
        claims_token,
        claims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sled::SledStore;
    use crate::storage::UserStore;

    #[actix_rt::test]
    async fn a_rehash_does_not_undo_a_password_set_meanwhile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let mut user = crate::storage::contract::user("alice");
        user.password_hash = "$argon2id$v=19$m=8,t=1,p=1$old".into();
        store.create_user(&user).await.expect("create");
        // The admin's reset commits while the login's rehash is being computed.
        let mut reset = store
            .get_user(&user.userid)
            .await
            .expect("get")
            .expect("exists");
        reset.password_hash = "$argon2id$v=19$m=8,t=1,p=1$new".into();
        store.update_user(&reset).await.expect("reset");

        store_rehash(
            &store,
            &user.userid,
            &user.password_hash,
            "$argon2id$old-rehashed",
        )
        .await
        .expect("rehash");

        let stored = store
            .get_user(&user.userid)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(stored.password_hash, "$argon2id$v=19$m=8,t=1,p=1$new");
    }

    #[actix_rt::test]
    async fn a_rehash_replaces_the_hash_it_verified() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        let user = crate::storage::contract::user("alice");
        store.create_user(&user).await.expect("create");

        store_rehash(
            &store,
            &user.userid,
            &user.password_hash,
            "$argon2id$rehashed",
        )
        .await
        .expect("rehash");

        let stored = store
            .get_user(&user.userid)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(stored.password_hash, "$argon2id$rehashed");
    }
}
