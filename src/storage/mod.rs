//! The storage traits every backend implements, and the errors they return.
//!
//! Business code sees only these traits (STYLE habit 5). Every mutating method is durable
//! before it returns: a backend flushes to disk or commits (SPEC §10, §11), so a caller may
//! answer 2xx at once. Methods are async, and no call blocks the task that awaits it: a
//! backend that waits on a disk or a network does so off the caller's worker.
//!
//! Users, applications, API keys and OAuth clients carry a `version`: an update names the
//! version it read and is refused with [`StoreError::Stale`] if the record changed since, so a
//! read-modify-write never undoes a concurrent one (the caller reads again and reapplies).

#[cfg(test)]
pub(crate) mod contract;
pub(crate) mod memory;
pub mod postgres;
mod records;
pub mod sled;
pub mod snapshot;

use crate::domain::{
    AccessPair, ApiKey, AppId, Application, ClientId, KeyId, OAuthClient, PairId,
    RefreshTokenRecord, Session, SessionId, StoredSigningKey, User, UserId,
};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the record already exists")]
    Conflict,
    #[error("the record does not exist")]
    NotFound,
    #[error("the data directory is in use by another process (is a tessera server running?)")]
    Locked,
    #[error("a record in {tree} cannot be decoded: {reason}")]
    Corrupt { tree: &'static str, reason: String },
    /// An update named a version of the record that is no longer the stored one.
    #[error("the record was changed since it was read")]
    Stale,
    /// The backend failed; the cause is kept for the log.
    #[error("the storage backend failed: {context}")]
    Backend {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The disk is full: writes cannot be made durable; reads still work.
    #[error("the disk is full: the write was not made durable")]
    Full,
    /// A write could not be made durable for another reason than space (an I/O error), or the
    /// store is being opened again after one: writes are refused until it recovers.
    #[error("the store is unavailable while it recovers from a failed write")]
    Unavailable,
    #[error("the backup is not usable: {0}")]
    Backup(String),
}

/// The outcome of exchanging a refresh token (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live: it is now spent and `next` is stored.
    Rotated(Session),
    /// The token had been spent already: its session is now revoked.
    Reused(SessionId),
    /// The token was spent by a concurrent exchange that began after this one: this one
    /// loses the race, and the session goes on with the winner's token (SPEC §3).
    LostRace,
    /// The token, or its session, has expired or was revoked.
    Inactive,
    /// No such token.
    NotFound,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores a new user as version 1; `Conflict` if the userid is taken.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    async fn get_user(&self, userid: &UserId) -> Result<Option<User>, StoreError>;
    /// Replaces an existing user whose stored version is `user.version`, and stores it as the
    /// next version; `NotFound` if there is none, `Stale` if it changed since it was read.
    async fn update_user(&self, user: &User) -> Result<(), StoreError>;
    /// Removes a user; `false` if there was none.
    async fn delete_user(&self, userid: &UserId) -> Result<bool, StoreError>;
    /// Users in userid order, starting after `after`.
    async fn list_users(
        &self,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError>;
    async fn count_users(&self) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session with its first refresh token, atomically.
    async fn create_session(
        &self,
        session: &Session,
        first: &RefreshTokenRecord,
    ) -> Result<(), StoreError>;
    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError>;
    async fn get_refresh_token(&self, id: Uuid) -> Result<Option<RefreshTokenRecord>, StoreError>;
    /// A ticket to take before looking at a refresh token; pass it to
    /// [`rotate_refresh_token`](Self::rotate_refresh_token). Tickets only grow: across restarts,
    /// and across every node that shares the store.
    async fn rotation_ticket(&self) -> Result<u64, StoreError>;
    /// A [`rotation_ticket`](Self::rotation_ticket) and then the refresh token `id`: the
    /// first two steps of an exchange, which a backend may take in one round trip.
    async fn ticket_and_refresh_token(
        &self,
        id: Uuid,
    ) -> Result<(u64, Option<RefreshTokenRecord>), StoreError> {
        let ticket = self.rotation_ticket().await?;
        Ok((ticket, self.get_refresh_token(id).await?))
    }
    /// Exchanges the refresh token `spent` for `next`, atomically: of concurrent calls for one
    /// token exactly one sees it live. A token presented again by a request that began after
    /// it was spent (a replay) revokes its session; one that began before lost a race.
    async fn rotate_refresh_token(
        &self,
        spent: Uuid,
        next: &RefreshTokenRecord,
        now: OffsetDateTime,
        ticket: u64,
    ) -> Result<Rotation, StoreError>;
    /// Revokes a session (all its refresh tokens); `false` if it was not live.
    async fn revoke_session(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError>;
    /// How many sessions are live at `now` (the statistics service).
    async fn count_live_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
    /// Revokes every live session of a user; returns how many.
    async fn revoke_user_sessions(
        &self,
        userid: &UserId,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError>;
}

/// Revoked JWT ids (`jti`), kept until the token would have expired anyway.
#[async_trait]
pub trait RevocationStore: Send + Sync {
    async fn revoke_token_id(
        &self,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn is_token_id_revoked(&self, jti: &str) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError>;
    /// Inserts or replaces the given keys in one atomic step (sealing keys stored unsealed).
    async fn save_signing_keys(&self, keys: &[StoredSigningKey]) -> Result<(), StoreError>;
    /// Makes `new` the active key, atomically, if the active key is still `expected` (its
    /// kid; `None`: there is no active key): every active key is retired at `now` and `new`
    /// stored. `false`, and nothing changed, if another rotation (or a first start on another
    /// node) changed the active key meanwhile.
    async fn rotate_signing_key(
        &self,
        expected: Option<&str>,
        new: &StoredSigningKey,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// Small named values of the installation (schema version, generated settings).
#[async_trait]
pub trait MetaStore: Send + Sync {
    async fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Stores `value` under `name` unless a value is there already, atomically; returns the
    /// value stored now (this one, or the one that was there). Nodes starting together on an
    /// empty store agree on one generated value this way.
    async fn put_meta_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError>;
}

#[async_trait]
pub trait AppStore: Send + Sync {
    async fn create_app(&self, app: &Application) -> Result<(), StoreError>;
    async fn get_app(&self, id: AppId) -> Result<Option<Application>, StoreError>;
    /// Replaces an existing application (its device token) of version `app.version`;
    /// `NotFound` if there is none, `Stale` if it changed since it was read.
    async fn update_app(&self, app: &Application) -> Result<(), StoreError>;
    async fn list_apps(&self) -> Result<Vec<Application>, StoreError>;
    /// Removes an application with all its API keys; `false` if there was none.
    async fn delete_app(&self, id: AppId) -> Result<bool, StoreError>;
    async fn count_apps(&self) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Stores a new key; `NotFound` if its application does not exist (checked atomically).
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn get_api_key(&self, id: KeyId) -> Result<Option<ApiKey>, StoreError>;
    /// Replaces an existing key of version `key.version`; `NotFound` if there is none,
    /// `Stale` if it changed since it was read.
    async fn update_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn delete_api_key(&self, id: KeyId) -> Result<bool, StoreError>;
    async fn list_api_keys(&self, app_id: AppId) -> Result<Vec<ApiKey>, StoreError>;
    /// Notes when a key was last used. Bookkeeping, not a state change: written without a
    /// flush of its own, so a crash may lose the latest few, and without a new version. It
    /// never brings back a key deleted, disabled or refreshed meanwhile: the write is dropped
    /// if the record is no longer the one it read.
    async fn record_api_key_use(&self, id: KeyId, at: OffsetDateTime) -> Result<(), StoreError>;
    async fn count_api_keys(&self) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn create_client(&self, client: &OAuthClient) -> Result<(), StoreError>;
    async fn get_client(&self, id: ClientId) -> Result<Option<OAuthClient>, StoreError>;
    /// Replaces an existing client (a new secret) of version `client.version`; `NotFound` if
    /// there is none, `Stale` if it changed since it was read.
    async fn update_client(&self, client: &OAuthClient) -> Result<(), StoreError>;
    async fn list_clients(&self) -> Result<Vec<OAuthClient>, StoreError>;
    /// Removes a client with all its AccessToken pairs; `false` if there was none.
    async fn delete_client(&self, id: ClientId) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait PairStore: Send + Sync {
    /// Stores a pair; `NotFound` if its client does not exist (checked atomically).
    async fn create_pair(&self, pair: &AccessPair) -> Result<(), StoreError>;
    async fn get_pair(&self, id: PairId) -> Result<Option<AccessPair>, StoreError>;
    async fn delete_pair(&self, id: PairId) -> Result<bool, StoreError>;
}

/// A browser session (SPEC §8), found by the SHA-256 of its cookie (the cookie itself is
/// never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    pub id: [u8; 32],
    pub userid: UserId,
    pub csrf: String,
    /// The user's password hash when the session began: a new password ends the session.
    pub password_hash: String,
    /// The session ends at this time unless a request restarts its idle clock.
    pub expires_at: OffsetDateTime,
}

#[async_trait]
pub trait BrowserSessionStore: Send + Sync {
    async fn create_browser_session(&self, session: &BrowserSession) -> Result<(), StoreError>;
    /// The session `id` if it is live at `now`, its idle clock restarted (`expires_at` moved
    /// to `now + idle`); `None` if there is none or it has expired (it is then removed).
    async fn touch_browser_session(
        &self,
        id: &[u8; 32],
        now: OffsetDateTime,
        idle: time::Duration,
    ) -> Result<Option<BrowserSession>, StoreError>;
    /// Ends a session; `false` if there was none.
    async fn delete_browser_session(&self, id: &[u8; 32]) -> Result<bool, StoreError>;
}

/// How failed credential checks of one kind of key lock it out (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRule {
    /// The failures within `window` that lock the key.
    pub limit: u32,
    pub window: time::Duration,
    pub lockout: time::Duration,
}

/// Failed-check counters and lockouts, per key (a userid or a client address, as the auth
/// layer names them). Every node of a cluster sees the same counts.
#[async_trait]
pub trait LockoutStore: Send + Sync {
    /// When the longest lockout among `keys` that is in force at `now` ends; `None` when none is.
    async fn locked_until(
        &self,
        keys: &[String],
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError>;
    /// Counts a failure of `key` at `now`. Failures older than the window no longer count;
    /// the `limit`-th within it locks the key until `now + lockout` and the count starts
    /// again. A lockout that has ended starts a fresh count.
    async fn record_failure(
        &self,
        key: &str,
        rule: LockoutRule,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Forgets the failures of `key` (a successful check).
    async fn clear_failures(&self, key: &str) -> Result<(), StoreError>;
}

/// Logins and failed credential checks, counted per minute (the statistics service).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub logins: u64,
    pub failures: u64,
}

/// How long per-minute counts are kept at least.
pub const COUNTS_KEPT: time::Duration = time::Duration::days(1);

#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Adds `counts` to the minute `now` falls in.
    async fn add_counts(&self, now: OffsetDateTime, counts: Counts) -> Result<(), StoreError>;
    /// The sums over the minutes from the one `since` falls in up to now (at most
    /// [`COUNTS_KEPT`] back).
    async fn counts_since(&self, since: OffsetDateTime) -> Result<Counts, StoreError>;
}

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    pub refresh_tokens: u64,
    pub revocations: u64,
    pub pairs: u64,
}

/// Whole-store snapshots (SPEC §10).
#[async_trait]
pub trait BackupStore: Send + Sync {
    /// Writes a consistent snapshot of every record into `out`, and flushes it; mutations
    /// wait while it is taken. Returns how many records were written. The writer is owned so
    /// that a backend may write from a thread of its own.
    async fn export(&self, out: Box<dyn std::io::Write + Send>) -> Result<u64, StoreError>;
    /// Loads a snapshot into this store, which must be empty; returns how many records.
    async fn import(&self, input: Box<dyn std::io::BufRead + Send>) -> Result<u64, StoreError>;
    /// Whether the store holds no record at all.
    async fn is_empty(&self) -> Result<bool, StoreError>;
}

/// Upkeep of the whole store, apart from the records' own traits: the periodic sweep and
/// `tessera check`.
#[async_trait]
pub trait Maintenance: Send + Sync {
    /// Removes what can no longer matter at `now`: sessions past their absolute end, or
    /// revoked more than `keep_revoked` ago, with all their refresh tokens; refresh tokens past
    /// their own expiry; revocation markers of tokens that have expired anyway; expired
    /// AccessToken pairs. Live records are never touched.
    async fn sweep(
        &self,
        now: OffsetDateTime,
        keep_revoked: time::Duration,
    ) -> Result<Swept, StoreError>;
    /// Checks the store's consistency: every record decodes, every refresh token has its
    /// session, every index entry its record, every API key its application, every pair its
    /// client. Returns what is wrong, one line each; empty when all is well.
    async fn check(&self) -> Result<Vec<String>, StoreError>;
}

/// Opens the store the configuration names: the only place that knows which backend runs
/// (STYLE habit 5). sled lives in `server.data_dir`, created 0700 if missing, and is `Locked`
/// while another process holds it.
pub async fn open(config: &crate::config::Config) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    match config.store.backend {
        crate::config::StoreBackend::Sled => Ok(std::sync::Arc::new(sled::SledStore::open(
            &config.server.data_dir,
        )?)),
        crate::config::StoreBackend::Postgres => Ok(std::sync::Arc::new(
            postgres::PgStore::open(&config.store).await?,
        )),
    }
}

/// What a node keeps in memory between requests, and so must read again when another node
/// sharing the store changes it (SPEC §11: within a second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// The signing keys: a rotation through another node.
    SigningKeys,
}

/// The store the configuration names, for messages: never a password.
pub fn described(config: &crate::config::Config) -> String {
    match config.store.backend {
        crate::config::StoreBackend::Sled => {
            format!("the data directory {}", config.server.data_dir.display())
        }
        // The backend's own errors name the host, port and database.
        crate::config::StoreBackend::Postgres => "the PostgreSQL store".to_string(),
    }
}

/// Loads a snapshot into the empty store the configuration names, all or nothing (SPEC §10,
/// §11): sled loads it into a scratch store beside its data dir and moves it into place once
/// the whole file has loaded; a shared database loads it in one transaction. Either way a
/// store that is not empty is refused and left as it was.
pub async fn restore(
    config: &crate::config::Config,
    input: Box<dyn std::io::BufRead + Send>,
) -> Result<u64, StoreError> {
    match config.store.backend {
        crate::config::StoreBackend::Sled => {
            sled::SledStore::restore_into(&config.server.data_dir, input).await
        }
        crate::config::StoreBackend::Postgres => open(config).await?.import(input).await,
    }
}

/// What `tessera check` finds wrong with the stored signing keys, on any backend: not exactly
/// one active key, or a key not sealed under the master key. One line each.
pub(crate) fn signing_key_problems(keys: &[StoredSigningKey]) -> Vec<String> {
    let mut problems = Vec::new();
    let active = keys.iter().filter(|k| k.active).count();
    if !keys.is_empty() && active != 1 {
        problems.push(format!(
            "{active} signing keys are active; exactly one should be"
        ));
    }
    if let Some(key) = keys.iter().find(|k| !k.sealed) {
        problems.push(format!(
            "signing key {} is not sealed under the master key",
            key.kid
        ));
    }
    problems
}

/// Everything tessera stores.
#[async_trait]
pub trait Store:
    UserStore
    + SessionStore
    + RevocationStore
    + KeyStore
    + MetaStore
    + AppStore
    + ApiKeyStore
    + ClientStore
    + PairStore
    + BackupStore
    + Maintenance
    + BrowserSessionStore
    + LockoutStore
    + CounterStore
    + Send
    + Sync
    + 'static
{
    /// Answers `Ok` while the store can serve reads (the health check).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Resolves when what `topic` covers may have been changed by another process sharing
    /// this store — soon enough that a cache read again then honours the change within a
    /// second — and never for a store that no other process shares. Spurious wake-ups are
    /// allowed (a lost notification connection wakes every waiter).
    async fn changed(&self, topic: Topic);
}
