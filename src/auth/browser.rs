//! Browser sessions (SPEC §8): an `HttpOnly`, `SameSite=Strict` cookie for an admin console,
//! ended by `idle_timeout_seconds` without a request or by logout, with a CSRF token for
//! every state-changing request it carries.
//!
//! Kept by the store, keyed by the SHA-256 of the cookie (the cookie itself is never stored):
//! in memory on one sled node (a restart signs browsers out, as Keycloak's default in-memory
//! sessions do), in the database on a cluster, so a session made on one node works on all. A
//! session also ends when its user is disabled, deleted or given a new password.

use super::login::verify_password;
use super::{AuthError, Context};
use crate::crypto::{ct_eq, random_bytes, sha256, SecretString};
use crate::domain::User;
use crate::storage::BrowserSession;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use std::net::IpAddr;
use time::Duration;

pub const COOKIE: &str = "tessera_session";
/// The header that carries the CSRF token, named in `X-CSRF-HEADER` (SPEC §8).
pub const CSRF_HEADER: &str = "X-CSRF-TOKEN";

/// A session just opened: the cookie value and CSRF token to hand out once.
pub struct Opened {
    pub user: User,
    pub cookie: SecretString,
    pub csrf: String,
}

/// A live session found by its cookie.
pub struct Current {
    pub user: User,
    pub csrf: String,
}

fn token() -> String {
    B64URL.encode(random_bytes::<32>())
}

fn idle(ctx: &Context) -> Duration {
    ctx.config().runtime.lifetimes.browser_idle
}

/// Checks the credentials (counted by the login protection like any login) and opens a session.
pub async fn open(
    ctx: &Context,
    userid: &str,
    password: SecretString,
    address: Option<IpAddr>,
) -> Result<Opened, AuthError> {
    let user = verify_password(ctx, userid, password, address).await?;
    let (cookie, csrf, now) = (token(), token(), ctx.now());
    ctx.store
        .create_browser_session(&BrowserSession {
            id: sha256(cookie.as_bytes()),
            userid: user.userid.clone(),
            csrf: csrf.clone(),
            password_hash: user.password_hash.clone(),
            expires_at: now + idle(ctx),
        })
        .await?;
    Ok(Opened {
        user,
        cookie: SecretString::new(cookie),
        csrf,
    })
}

/// The live session of a cookie, its idle clock restarted; `None` (and the session gone) if
/// it idled out or its user changed.
pub async fn current(ctx: &Context, cookie: &str) -> Result<Option<Current>, AuthError> {
    let key = sha256(cookie.as_bytes());
    let Some(session) = ctx
        .store
        .touch_browser_session(&key, ctx.now(), idle(ctx))
        .await?
    else {
        return Ok(None);
    };
    match ctx.store.get_user(&session.userid).await? {
        Some(user)
            if !user.disabled
                && ct_eq(
                    user.password_hash.as_bytes(),
                    session.password_hash.as_bytes(),
                ) =>
        {
            Ok(Some(Current {
                user,
                csrf: session.csrf,
            }))
        }
        _ => {
            ctx.store.delete_browser_session(&key).await?;
            Ok(None)
        }
    }
}

/// Ends the session of a cookie, if any.
pub async fn close(ctx: &Context, cookie: &str) -> Result<(), AuthError> {
    ctx.store
        .delete_browser_session(&sha256(cookie.as_bytes()))
        .await?;
    Ok(())
}

/// Whether a request's CSRF header matches its session's token (constant time).
pub fn csrf_matches(current: &Current, presented: Option<&str>) -> bool {
    presented.is_some_and(|p| ct_eq(p.as_bytes(), current.csrf.as_bytes()))
}
