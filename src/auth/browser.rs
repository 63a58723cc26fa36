//! Browser sessions (SPEC §8): an `HttpOnly`, `SameSite=Strict` cookie for an admin console,
//! ended by `idle_timeout_seconds` without a request or by logout, with a CSRF token for
//! every state-changing request it carries.
//!
//! Kept in memory, keyed by the SHA-256 of the cookie (the cookie itself is never stored): a
//! restart signs browsers out, as Keycloak's default in-memory sessions do. A session also
//! ends when its user is disabled, deleted or given a new password.

use super::login::verify_password;
use super::{AuthError, Context};
use crate::crypto::{ct_eq, random_bytes, sha256, SecretString};
use crate::domain::{User, UserId};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

pub const COOKIE: &str = "tessera_session";
/// The header that carries the CSRF token, named in `X-CSRF-HEADER` (SPEC §8).
pub const CSRF_HEADER: &str = "X-CSRF-TOKEN";
const MAX_SESSIONS: usize = 100_000;

struct BrowserSession {
    userid: UserId,
    csrf: String,
    /// The password hash when the session began: a new password ends the session.
    password_hash: String,
    last_seen: OffsetDateTime,
}

#[derive(Default)]
pub struct BrowserSessions {
    sessions: Mutex<HashMap<[u8; 32], BrowserSession>>,
}

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

impl BrowserSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], BrowserSession>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
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
    let idle = idle(ctx);
    let mut sessions = ctx.browser.lock();
    if sessions.len() >= MAX_SESSIONS {
        sessions.retain(|_, s| now - s.last_seen < idle);
        if sessions.len() >= MAX_SESSIONS {
            return Err(AuthError::Busy);
        }
    }
    sessions.insert(
        sha256(cookie.as_bytes()),
        BrowserSession {
            userid: user.userid.clone(),
            csrf: csrf.clone(),
            password_hash: user.password_hash.clone(),
            last_seen: now,
        },
    );
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
    let now = ctx.now();
    let idle = idle(ctx);
    let (userid, csrf, password_hash) = {
        let mut sessions = ctx.browser.lock();
        let Some(session) = sessions.get_mut(&key) else {
            return Ok(None);
        };
        if now - session.last_seen >= idle {
            sessions.remove(&key);
            return Ok(None);
        }
        session.last_seen = now;
        (
            session.userid.clone(),
            session.csrf.clone(),
            session.password_hash.clone(),
        )
    };
    match ctx.store.get_user(&userid).await? {
        Some(user)
            if !user.disabled && ct_eq(user.password_hash.as_bytes(), password_hash.as_bytes()) =>
        {
            Ok(Some(Current { user, csrf }))
        }
        _ => {
            ctx.browser.lock().remove(&key);
            Ok(None)
        }
    }
}

/// Ends the session of a cookie, if any.
pub fn close(ctx: &Context, cookie: &str) {
    ctx.browser.lock().remove(&sha256(cookie.as_bytes()));
}

/// Whether a request's CSRF header matches its session's token (constant time).
pub fn csrf_matches(current: &Current, presented: Option<&str>) -> bool {
    presented.is_some_and(|p| ct_eq(p.as_bytes(), current.csrf.as_bytes()))
}
