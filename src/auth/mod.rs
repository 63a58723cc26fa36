//! The use cases: log in, refresh, log out, introspect and revoke, authenticate a caller,
//! create users, and the first-start bootstrap. HTTP and the CLI call these; these call the
//! token, crypto and storage layers.

pub mod bootstrap;
pub mod caller;
pub mod introspect;
pub mod login;
pub mod users;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::jwt::{KeyError, KeyRing};
use crate::crypto::password::{HashError, PasswordHasher};
use crate::domain::ValidationError;
use crate::storage::{Store, StoreError};
use std::sync::{Arc, RwLock};
use time::OffsetDateTime;

/// Everything a use case needs, shared by both listeners.
pub struct Context {
    pub store: Arc<dyn Store>,
    pub hasher: PasswordHasher,
    pub keys: KeyRing,
    pub clock: Arc<dyn Clock>,
    config: RwLock<Arc<Config>>,
}

impl Context {
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        hasher: PasswordHasher,
        keys: KeyRing,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            hasher,
            keys,
            clock,
            config: RwLock::new(Arc::new(config)),
        }
    }

    /// The settings in force for this request (swapped whole on reload).
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password or disabled user: one answer for all (no enumeration).
    #[error("invalid userid or password")]
    InvalidCredentials,
    /// A refresh token or claims token that is not live.
    #[error("the token is invalid, expired or revoked")]
    InvalidGrant,
    #[error("{0}")]
    Validation(#[from] ValidationError),
    #[error("the user already exists")]
    Conflict,
    #[error("too many password checks are in progress")]
    Busy,
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("a background task failed: {0}")]
    Task(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => AuthError::Conflict,
            other => AuthError::Store(other),
        }
    }
}

impl From<HashError> for AuthError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => AuthError::Busy,
            HashError::Failed(why) => AuthError::Hash(why),
        }
    }
}

/// Runs a durable store mutation on the blocking pool: a flush takes milliseconds, and the
/// HTTP workers must not wait on the disk.
pub(crate) async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| AuthError::Task(e.to_string()))?
        .map_err(AuthError::from)
}
