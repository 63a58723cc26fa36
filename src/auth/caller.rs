//! Authenticating the caller of a protected service (SPEC §6). This slice has the directory
//! user over Basic with one of the service's roles; the rest of the chain comes later.

use super::login::verify_password;
use super::{AuthError, Context};
use crate::crypto::SecretString;
use crate::domain::User;

/// Why a caller was not let in.
#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    /// No credentials, or wrong ones: 401 with the Basic challenge.
    #[error("authentication required")]
    Unauthenticated,
    /// Authenticated, but without a role the service accepts: 403.
    #[error("the caller lacks a role this service requires")]
    Forbidden,
    #[error(transparent)]
    Auth(AuthError),
}

/// A protected service, with its configured (or default) roles.
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
}

/// Lets in a directory user presented over Basic who holds one of `service`'s roles.
pub async fn basic_user(
    ctx: &Context,
    service: Service,
    userid: &str,
    password: SecretString,
) -> Result<User, CallerError> {
    let user = match verify_password(ctx, userid, password).await {
        Ok(user) => user,
        Err(AuthError::InvalidCredentials) => return Err(CallerError::Unauthenticated),
        Err(other) => return Err(CallerError::Auth(other)),
    };
    let roles = ctx.config().service.roles(service.name());
    if user.has_any_role(&roles) {
        Ok(user)
    } else {
        Err(CallerError::Forbidden)
    }
}
