//! The use cases: log in, refresh, log out, introspect and revoke, authenticate a caller,
//! create users, and the first-start bootstrap. HTTP and the CLI call these; these call the
//! token, crypto and storage layers.

pub mod apps;
pub mod backup;
pub mod bootstrap;
pub mod browser;
pub mod caller;
pub mod clients;
pub mod credentials;
pub(crate) mod edit;
pub mod guard;
pub mod introspect;
pub mod login;
pub mod preamble;
pub mod reload;
pub mod signing;
pub mod stats;
#[cfg(test)]
pub(crate) mod testing;
pub mod users;
pub mod verified;

use crate::clock::Clock;
use crate::config::{LiveCors, Settings};
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
    pub keys: Arc<KeyRing>,
    /// Seals signing keys at rest (SPEC §10).
    pub master: Arc<crate::crypto::secretbox::MasterKey>,
    /// Serializes signing-key rotations (rare; two at once would both retire the same key).
    pub(crate) rotation: tokio::sync::Mutex<()>,
    /// The preamble `token_uuid` generated on first start, used when the config sets none.
    pub generated_token_uuid: uuid::Uuid,
    pub verified: verified::VerifiedCredentials,
    pub clock: Arc<dyn Clock>,
    /// The CORS policy of the settings in force, for the CORS filter (replaced with them).
    pub cors: LiveCors,
    config: RwLock<Arc<Settings>>,
}

impl Context {
    pub fn new(
        config: Settings,
        store: Arc<dyn Store>,
        hasher: PasswordHasher,
        keys: KeyRing,
        clock: Arc<dyn Clock>,
        generated_token_uuid: uuid::Uuid,
        master: crate::crypto::secretbox::MasterKey,
    ) -> Self {
        Self {
            store,
            hasher,
            keys: Arc::new(keys),
            master: Arc::new(master),
            rotation: tokio::sync::Mutex::new(()),
            generated_token_uuid,
            verified: verified::VerifiedCredentials::default(),
            clock,
            cors: LiveCors::new(config.runtime.cors.clone()),
            config: RwLock::new(Arc::new(config)),
        }
    }

    /// The settings in force for this request (swapped whole on reload): the config as
    /// written, and its values parsed (`.runtime`).
    pub fn config(&self) -> Arc<Settings> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts new settings in force for every request that starts after this call.
    pub(crate) fn swap_config(&self, config: Settings) {
        let mut current = self.config.write().unwrap_or_else(|e| e.into_inner());
        self.cors.replace(config.runtime.cors.clone());
        *current = Arc::new(config);
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
    /// Too many failed checks for this userid or address (SPEC §3): 429 with Retry-After.
    #[error("too many failed attempts; retry in {retry_after_seconds} s")]
    Locked { retry_after_seconds: u64 },
    #[error("the resource already exists")]
    Conflict,
    /// An edit lost to concurrent edits of the same record every time it was tried
    /// (`auth::edit`); nothing was changed.
    #[error("the record was changed by concurrent requests; try again")]
    Contended,
    #[error("no such resource")]
    NotFound,
    /// OAuth client authentication failed (RFC 6749 §5.2 `invalid_client`).
    #[error("client authentication failed")]
    InvalidClient,
    /// A requested scope the client does not hold (RFC 6749 §5.2 `invalid_scope`).
    #[error("the requested scope is not granted to this client")]
    InvalidScope,
    #[error("too many password checks are in progress")]
    Busy,
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The password hasher failed (not `Busy`, which is [`AuthError::Busy`]).
    #[error(transparent)]
    Hash(HashError),
    /// The store cannot make writes durable (a full disk): 503, and nothing was acknowledged.
    #[error("storage is full")]
    StorageFull,
    #[error("storage is unavailable")]
    StorageUnavailable,
    /// A blocking job panicked or was cancelled.
    #[error("a background task failed")]
    Task(#[source] tokio::task::JoinError),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => AuthError::Conflict,
            // An edit that lost to concurrent ones every time it was tried (auth::edit).
            StoreError::Stale => AuthError::Contended,
            StoreError::NotFound => AuthError::NotFound,
            StoreError::Full => AuthError::StorageFull,
            StoreError::Unavailable => AuthError::StorageUnavailable,
            other => AuthError::Store(other),
        }
    }
}

impl From<HashError> for AuthError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => AuthError::Busy,
            failed => AuthError::Hash(failed),
        }
    }
}

/// A number of seconds from the configuration as a duration.
pub(crate) fn seconds(s: u64) -> time::Duration {
    time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX))
}
