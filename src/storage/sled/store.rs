//! The sled backend behind the async store traits.
//!
//! sled answers point reads from its cache in microseconds, so those run on the caller's task
//! as before. What waits on the disk (every durable write, through the group-commit flush) and
//! what scans a whole tree (lists, counts, sweeps, checks, snapshots) runs on the blocking
//! pool, with the caller's request id, so an HTTP worker never waits on either.

use super::sync;
use super::Sled;
use crate::domain::{
    AccessPair, ApiKey, AppId, Application, ClientId, KeyId, OAuthClient, PairId,
    RefreshTokenRecord, Session, SessionId, StoredSigningKey, User, UserId,
};
use crate::storage::memory::Ephemeral;
use crate::storage::{
    ApiKeyStore, AppStore, BackupStore, BrowserSession, BrowserSessionStore, ClientStore,
    CounterStore, Counts, KeyStore, LockoutRule, LockoutStore, Maintenance, MetaStore, PairStore,
    RevocationStore, Rotation, SessionStore, Store, StoreError, Swept, UserStore,
};
use async_trait::async_trait;
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// The sled store: one process, one data dir (SPEC §10). Browser sessions, lockouts and
/// per-minute counts are kept in memory (storage/memory.rs): one node has no one to share
/// them with.
#[derive(Clone)]
pub struct SledStore {
    sled: Arc<Sled>,
    ephemeral: Arc<Ephemeral>,
}

impl SledStore {
    /// Opens (creating if needed) the store in `dir`. The directory is created with mode 0700.
    /// `Locked` if another process holds it.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            sled: Arc::new(Sled::open(dir)?),
            ephemeral: Arc::default(),
        })
    }

    /// Loads a snapshot into the data dir `dir`, which must hold no store yet: into a scratch
    /// store inside it first, moved into place only once the whole file has loaded, so that
    /// a bad file or a crash leaves the data dir as it was.
    pub async fn restore_into(
        dir: &Path,
        input: Box<dyn std::io::BufRead + Send>,
    ) -> Result<u64, StoreError> {
        let target = dir.join("store");
        if target.exists() {
            return Err(StoreError::Backup(format!(
                "the data dir {} is not empty (it holds a store); restore only into an empty one",
                dir.display()
            )));
        }
        let scratch = dir.join(".restore");
        let _ = std::fs::remove_dir_all(&scratch);
        let io = |context: &'static str| {
            move |e: std::io::Error| StoreError::Backend {
                context,
                source: Box::new(e),
            }
        };
        let loaded = async {
            let store = Self::open(&scratch)?;
            let count = store.import(input).await?;
            drop(store);
            Ok::<_, StoreError>(count)
        }
        .await;
        let result = loaded.and_then(|count| {
            std::fs::rename(scratch.join("store"), &target)
                .map_err(io("moving the restored store into place"))?;
            Ok(count)
        });
        let _ = std::fs::remove_dir_all(&scratch);
        result
    }

    /// The synchronous store underneath, for tests that interleave its steps.
    #[cfg(test)]
    pub(crate) fn engine(&self) -> &Sled {
        &self.sled
    }

    /// Runs `job` on the blocking pool.
    async fn off_worker<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Sled) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let sled = self.sled.clone();
        crate::request::spawn_blocking_with_id(move || job(&sled))
            .await
            .map_err(|e| StoreError::Backend {
                context: "a blocking store job",
                source: Box::new(e),
            })?
    }
}

#[async_trait]
impl UserStore for SledStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.off_worker(move |s| sync::UserStore::create_user(s, &user))
            .await
    }

    async fn get_user(&self, userid: &UserId) -> Result<Option<User>, StoreError> {
        sync::UserStore::get_user(&*self.sled, userid)
    }

    async fn update_user(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.off_worker(move |s| sync::UserStore::update_user(s, &user))
            .await
    }

    async fn delete_user(&self, userid: &UserId) -> Result<bool, StoreError> {
        let userid = userid.clone();
        self.off_worker(move |s| sync::UserStore::delete_user(s, &userid))
            .await
    }

    async fn list_users(
        &self,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        let after = after.cloned();
        self.off_worker(move |s| sync::UserStore::list_users(s, after.as_ref(), limit))
            .await
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        self.off_worker(sync::UserStore::count_users).await
    }
}

#[async_trait]
impl SessionStore for SledStore {
    async fn create_session(
        &self,
        session: &Session,
        first: &RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        let (session, first) = (session.clone(), first.clone());
        self.off_worker(move |s| sync::SessionStore::create_session(s, &session, &first))
            .await
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        sync::SessionStore::get_session(&*self.sled, id)
    }

    async fn get_refresh_token(&self, id: Uuid) -> Result<Option<RefreshTokenRecord>, StoreError> {
        sync::SessionStore::get_refresh_token(&*self.sled, id)
    }

    async fn rotation_ticket(&self) -> Result<u64, StoreError> {
        Ok(sync::SessionStore::rotation_ticket(&*self.sled))
    }

    async fn rotate_refresh_token(
        &self,
        spent: Uuid,
        next: &RefreshTokenRecord,
        now: OffsetDateTime,
        ticket: u64,
    ) -> Result<Rotation, StoreError> {
        let next = next.clone();
        self.off_worker(move |s| {
            sync::SessionStore::rotate_refresh_token(s, spent, &next, now, ticket)
        })
        .await
    }

    async fn revoke_session(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.off_worker(move |s| sync::SessionStore::revoke_session(s, id, now))
            .await
    }

    async fn count_live_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.off_worker(move |s| sync::SessionStore::count_live_sessions(s, now))
            .await
    }

    async fn revoke_user_sessions(
        &self,
        userid: &UserId,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let userid = userid.clone();
        self.off_worker(move |s| sync::SessionStore::revoke_user_sessions(s, &userid, now))
            .await
    }
}

#[async_trait]
impl RevocationStore for SledStore {
    async fn revoke_token_id(
        &self,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let jti = jti.to_string();
        self.off_worker(move |s| sync::RevocationStore::revoke_token_id(s, &jti, expires_at))
            .await
    }

    async fn is_token_id_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        sync::RevocationStore::is_token_id_revoked(&*self.sled, jti)
    }
}

#[async_trait]
impl KeyStore for SledStore {
    async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError> {
        sync::KeyStore::signing_keys(&*self.sled)
    }

    async fn save_signing_keys(&self, keys: &[StoredSigningKey]) -> Result<(), StoreError> {
        let keys = keys.to_vec();
        self.off_worker(move |s| sync::KeyStore::save_signing_keys(s, &keys))
            .await
    }

    async fn rotate_signing_key(
        &self,
        expected: Option<&str>,
        new: &StoredSigningKey,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (expected, new) = (expected.map(str::to_string), new.clone());
        self.off_worker(move |s| {
            sync::KeyStore::rotate_signing_key(s, expected.as_deref(), &new, now)
        })
        .await
    }
}

#[async_trait]
impl MetaStore for SledStore {
    async fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sync::MetaStore::get_meta(&*self.sled, name)
    }

    async fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let (name, value) = (name.to_string(), value.to_vec());
        self.off_worker(move |s| sync::MetaStore::put_meta(s, &name, &value))
            .await
    }

    async fn put_meta_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let (name, value) = (name.to_string(), value.to_vec());
        self.off_worker(move |s| sync::MetaStore::put_meta_if_absent(s, &name, &value))
            .await
    }
}

#[async_trait]
impl AppStore for SledStore {
    async fn create_app(&self, app: &Application) -> Result<(), StoreError> {
        let app = app.clone();
        self.off_worker(move |s| sync::AppStore::create_app(s, &app))
            .await
    }

    async fn get_app(&self, id: AppId) -> Result<Option<Application>, StoreError> {
        sync::AppStore::get_app(&*self.sled, id)
    }

    async fn update_app(&self, app: &Application) -> Result<(), StoreError> {
        let app = app.clone();
        self.off_worker(move |s| sync::AppStore::update_app(s, &app))
            .await
    }

    async fn list_apps(&self) -> Result<Vec<Application>, StoreError> {
        self.off_worker(sync::AppStore::list_apps).await
    }

    async fn delete_app(&self, id: AppId) -> Result<bool, StoreError> {
        self.off_worker(move |s| sync::AppStore::delete_app(s, id))
            .await
    }

    async fn count_apps(&self) -> Result<u64, StoreError> {
        self.off_worker(sync::AppStore::count_apps).await
    }
}

#[async_trait]
impl ApiKeyStore for SledStore {
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.off_worker(move |s| sync::ApiKeyStore::create_api_key(s, &key))
            .await
    }

    async fn get_api_key(&self, id: KeyId) -> Result<Option<ApiKey>, StoreError> {
        sync::ApiKeyStore::get_api_key(&*self.sled, id)
    }

    async fn update_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.off_worker(move |s| sync::ApiKeyStore::update_api_key(s, &key))
            .await
    }

    async fn delete_api_key(&self, id: KeyId) -> Result<bool, StoreError> {
        self.off_worker(move |s| sync::ApiKeyStore::delete_api_key(s, id))
            .await
    }

    async fn list_api_keys(&self, app_id: AppId) -> Result<Vec<ApiKey>, StoreError> {
        self.off_worker(move |s| sync::ApiKeyStore::list_api_keys(s, app_id))
            .await
    }

    /// Bookkeeping without a flush of its own: on the caller's task.
    async fn record_api_key_use(&self, id: KeyId, at: OffsetDateTime) -> Result<(), StoreError> {
        sync::ApiKeyStore::record_api_key_use(&*self.sled, id, at)
    }

    async fn count_api_keys(&self) -> Result<u64, StoreError> {
        self.off_worker(sync::ApiKeyStore::count_api_keys).await
    }
}

#[async_trait]
impl ClientStore for SledStore {
    async fn create_client(&self, client: &OAuthClient) -> Result<(), StoreError> {
        let client = client.clone();
        self.off_worker(move |s| sync::ClientStore::create_client(s, &client))
            .await
    }

    async fn get_client(&self, id: ClientId) -> Result<Option<OAuthClient>, StoreError> {
        sync::ClientStore::get_client(&*self.sled, id)
    }

    async fn update_client(&self, client: &OAuthClient) -> Result<(), StoreError> {
        let client = client.clone();
        self.off_worker(move |s| sync::ClientStore::update_client(s, &client))
            .await
    }

    async fn list_clients(&self) -> Result<Vec<OAuthClient>, StoreError> {
        self.off_worker(sync::ClientStore::list_clients).await
    }

    async fn delete_client(&self, id: ClientId) -> Result<bool, StoreError> {
        self.off_worker(move |s| sync::ClientStore::delete_client(s, id))
            .await
    }
}

#[async_trait]
impl PairStore for SledStore {
    async fn create_pair(&self, pair: &AccessPair) -> Result<(), StoreError> {
        let pair = pair.clone();
        self.off_worker(move |s| sync::PairStore::create_pair(s, &pair))
            .await
    }

    async fn get_pair(&self, id: PairId) -> Result<Option<AccessPair>, StoreError> {
        sync::PairStore::get_pair(&*self.sled, id)
    }

    async fn delete_pair(&self, id: PairId) -> Result<bool, StoreError> {
        self.off_worker(move |s| sync::PairStore::delete_pair(s, id))
            .await
    }
}

#[async_trait]
impl BackupStore for SledStore {
    async fn export(&self, out: Box<dyn std::io::Write + Send>) -> Result<u64, StoreError> {
        self.off_worker(move |s| {
            let mut out = out;
            let count = sync::BackupStore::export(s, &mut out)?;
            out.flush().map_err(|e| match e.kind() {
                std::io::ErrorKind::StorageFull => StoreError::Full,
                _ => StoreError::Backend {
                    context: "writing the snapshot",
                    source: Box::new(e),
                },
            })?;
            Ok(count)
        })
        .await
    }

    async fn import(&self, input: Box<dyn std::io::BufRead + Send>) -> Result<u64, StoreError> {
        self.off_worker(move |s| {
            let mut input = input;
            sync::BackupStore::import(s, &mut input)
        })
        .await
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        self.off_worker(sync::BackupStore::is_empty).await
    }
}

#[async_trait]
impl Maintenance for SledStore {
    async fn sweep(
        &self,
        now: OffsetDateTime,
        keep_revoked: time::Duration,
    ) -> Result<Swept, StoreError> {
        self.off_worker(move |s| sync::Maintenance::sweep(s, now, keep_revoked))
            .await
    }

    async fn check(&self) -> Result<Vec<String>, StoreError> {
        self.off_worker(sync::Maintenance::check).await
    }
}

#[async_trait]
impl BrowserSessionStore for SledStore {
    async fn create_browser_session(&self, session: &BrowserSession) -> Result<(), StoreError> {
        self.ephemeral.create_browser_session(session);
        Ok(())
    }

    async fn touch_browser_session(
        &self,
        id: &[u8; 32],
        now: OffsetDateTime,
        idle: time::Duration,
    ) -> Result<Option<BrowserSession>, StoreError> {
        Ok(self.ephemeral.touch_browser_session(id, now, idle))
    }

    async fn delete_browser_session(&self, id: &[u8; 32]) -> Result<bool, StoreError> {
        Ok(self.ephemeral.delete_browser_session(id))
    }
}

#[async_trait]
impl LockoutStore for SledStore {
    async fn locked_until(
        &self,
        keys: &[String],
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(self.ephemeral.locked_until(keys, now))
    }

    async fn record_failure(
        &self,
        key: &str,
        rule: LockoutRule,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.ephemeral.record_failure(key, rule, now);
        Ok(())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        self.ephemeral.clear_failures(key);
        Ok(())
    }
}

#[async_trait]
impl CounterStore for SledStore {
    async fn add_counts(&self, now: OffsetDateTime, counts: Counts) -> Result<(), StoreError> {
        self.ephemeral.add_counts(now, counts);
        Ok(())
    }

    async fn counts_since(&self, since: OffsetDateTime) -> Result<Counts, StoreError> {
        Ok(self.ephemeral.counts_since(since))
    }
}

#[async_trait]
impl Store for SledStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.sled.ping()
    }

    /// One process holds a sled store: nobody else changes it.
    async fn changed(&self, _topic: crate::storage::Topic) {
        std::future::pending::<()>().await;
    }
}
