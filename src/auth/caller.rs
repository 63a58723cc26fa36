//! Authenticating the caller of a protected service: the chain of SPEC §6.
//!
//! 1. static credentials (`[service.NAME]` over `[server]`);
//! 2. a directory user over Basic, by password or preamble token, holding a service role;
//! 3. for introspection, an OAuth client over Basic;
//! 4. a user's claims token, or an AccessToken+AccessSecret pair, with a service role.
//!
//! `disable_authentication` lets every request in, on the intranet listener only.

use super::credentials;
use super::login::verify_password;
use super::{clients, AuthError, Context};
use crate::config::{Config, ServiceConfig, ServiceRoles};
use crate::crypto::{ct_eq, SecretString};
use crate::domain::{AccessPair, ClientId, OAuthClient, Role, Scope, User, UserId};
use std::net::IpAddr;

/// Why a caller was not let in.
#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    /// No credentials, or wrong ones: 401 with the Basic challenge.
    #[error("authentication required")]
    Unauthenticated,
    /// Authenticated, but without a role the service accepts: 403.
    #[error("the caller lacks a role this service requires")]
    Forbidden,
    /// A cookie-borne state change without the session's CSRF token: 403 (SPEC §8).
    #[error("the CSRF token is missing or wrong")]
    Csrf,
    #[error(transparent)]
    Auth(AuthError),
}

impl From<AuthError> for CallerError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials | AuthError::InvalidClient => {
                CallerError::Unauthenticated
            }
            other => CallerError::Auth(other),
        }
    }
}

/// A protected service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Introspection,
    Admin,
    Statistics,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Introspection => "introspection",
            Service::Admin => "admin",
            Service::Statistics => "statistics",
        }
    }

    /// The roles that may call this service (parsed at config load, defaults filled in).
    fn roles(self, roles: &ServiceRoles) -> &[Role] {
        match self {
            Service::Introspection => &roles.introspection,
            Service::Admin => &roles.admin,
            Service::Statistics => &roles.statistics,
        }
    }

    fn section(self, config: &Config) -> &ServiceConfig {
        match self {
            Service::Introspection => &config.service.introspection,
            Service::Admin => &config.service.admin,
            Service::Statistics => &config.service.statistics,
        }
    }
}

/// What a request presented to prove who it is.
#[derive(Debug)]
pub enum Presented {
    Basic {
        username: String,
        password: SecretString,
    },
    ClaimsToken(SecretString),
    Pair {
        token: String,
        secret: SecretString,
    },
    /// A browser session cookie, with the request's CSRF header and whether its method is
    /// safe (GET, HEAD, OPTIONS).
    Session {
        cookie: SecretString,
        csrf: Option<String>,
        safe_method: bool,
    },
    Nothing,
}

/// Who was let in.
#[derive(Debug)]
pub enum Caller {
    /// The service's static credentials.
    Static(String),
    User(User),
    Client(OAuthClient),
    Pair(AccessPair),
    /// `disable_authentication` on the intranet listener.
    Anonymous,
}

impl Caller {
    pub fn name(&self) -> String {
        match self {
            Caller::Static(name) => format!("static:{name}"),
            Caller::User(u) => u.userid.as_str().to_string(),
            Caller::Client(c) => format!("client:{}", c.id),
            Caller::Pair(p) => format!("client:{}", p.client_id),
            Caller::Anonymous => "anonymous".into(),
        }
    }
}

/// The static credentials of a service, GMS-style: the section's username and password, each
/// falling back to `[server]`'s. No password anywhere means no static credentials.
pub fn static_credentials(config: &Config, service: Service) -> Option<(String, SecretString)> {
    let section = service.section(config);
    let password = section
        .password
        .as_ref()
        .or(config.server.password.as_ref())?;
    let username = section
        .username
        .as_ref()
        .or(config.server.username.as_ref())?;
    Some((username.clone(), password.clone()))
}

fn with_role(roles: &[Role], user: User) -> Result<Caller, CallerError> {
    if user.has_any_role(roles) {
        Ok(Caller::User(user))
    } else {
        Err(CallerError::Forbidden)
    }
}

/// A directory user over Basic: a credential verified within the last minute against the
/// user's current hash skips argon2id; anything else takes the full path (and its lockout).
async fn verify_basic_user(
    ctx: &Context,
    username: &str,
    password: SecretString,
    address: Option<IpAddr>,
) -> Result<User, AuthError> {
    let now = ctx.now();
    let is_token = super::preamble::is_token(&ctx.config(), password.expose());
    if !is_token
        && super::guard::check(ctx, Some(username), address, now)
            .await
            .is_ok()
    {
        if let Ok(id) = UserId::parse(username) {
            if let Some(user) = ctx.store.get_user(&id).await?.filter(|u| !u.disabled) {
                if ctx
                    .verified
                    .recall(username, password.expose(), &user.password_hash, now)
                {
                    return Ok(user);
                }
            }
        }
    }
    let presented = password.clone();
    let user = verify_password(ctx, username, password, address).await?;
    if !is_token {
        ctx.verified
            .remember(username, presented.expose(), &user.password_hash, now);
    }
    Ok(user)
}

/// Runs the chain for `service`. `on_intranet` says which listener the request came in on;
/// `address` is the client's, for the lockout (SPEC §3).
pub async fn authenticate(
    ctx: &Context,
    service: Service,
    presented: Presented,
    on_intranet: bool,
    address: Option<IpAddr>,
) -> Result<Caller, CallerError> {
    let config = ctx.config();
    if on_intranet && service != Service::Admin && service.section(&config).disable_authentication {
        return Ok(Caller::Anonymous);
    }
    let roles = service.roles(&config.runtime.roles);
    match presented {
        Presented::Nothing => Err(CallerError::Unauthenticated),
        Presented::Basic { username, password } => {
            // A locked-out address is refused before any credential is looked at, static
            // credentials included (SPEC §3).
            super::guard::check(ctx, None, address, ctx.now()).await?;
            if let Some((user, pass)) = static_credentials(&config, service) {
                // Both compared, in constant time, so a right username alone shows nothing.
                let name_ok = ct_eq(username.as_bytes(), user.as_bytes());
                let pass_ok = ct_eq(password.expose().as_bytes(), pass.expose().as_bytes());
                if name_ok & pass_ok {
                    return Ok(Caller::Static(user));
                }
            }
            // OAuth clients are named by UUID; a client lookup is cheap, so try it before the
            // argon2id cost of the user path.
            if service == Service::Introspection {
                if let Some(id) = ClientId::parse(&username) {
                    if let Some(client) = ctx.store.get_client(id).await.map_err(AuthError::from)? {
                        let client = clients::authenticate_found_from(
                            ctx,
                            client,
                            password.expose(),
                            address,
                        )
                        .await?;
                        return Ok(Caller::Client(client));
                    }
                }
            }
            let user = verify_basic_user(ctx, &username, password, address).await?;
            with_role(roles, user)
        }
        Presented::ClaimsToken(token) => {
            let claims = credentials::claims(ctx, token.expose())
                .await?
                .ok_or(CallerError::Unauthenticated)?;
            // Roles are read from the directory now, not from the token: a role taken away
            // takes effect before the token expires.
            let user = match UserId::parse(&claims.sub) {
                Ok(id) => ctx.store.get_user(&id).await.map_err(AuthError::from)?,
                Err(_) => None,
            }
            .filter(|u| !u.disabled)
            .ok_or(CallerError::Unauthenticated)?;
            with_role(roles, user)
        }
        Presented::Session {
            cookie,
            csrf,
            safe_method,
        } => {
            let current = super::browser::current(ctx, cookie.expose())
                .await?
                .ok_or(CallerError::Unauthenticated)?;
            if config.csrf.enable
                && !safe_method
                && !super::browser::csrf_matches(&current, csrf.as_deref())
            {
                return Err(CallerError::Csrf);
            }
            with_role(roles, current.user)
        }
        Presented::Pair { token, secret } => {
            let pair = credentials::pair(ctx, &token, secret.expose())
                .await?
                .ok_or(CallerError::Unauthenticated)?;
            // A pair stands for its OAuth client, which may always introspect; elsewhere one
            // of its scopes must name a role of the service.
            let scoped = pair
                .scopes
                .iter()
                .any(|s| roles.iter().any(|r| r.as_str() == Scope::as_str(s)));
            if service == Service::Introspection || scoped {
                Ok(Caller::Pair(pair))
            } else {
                Err(CallerError::Forbidden)
            }
        }
    }
}
