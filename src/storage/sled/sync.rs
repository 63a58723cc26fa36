//! sled's own, synchronous face: the store traits as the sled code implements them. sled
//! answers from memory in microseconds and flushes through a group commit, so its code is
//! plain blocking code; [`super::SledStore`] puts it behind the async traits of
//! [`crate::storage`], running what waits on the disk on the blocking pool.
//!
//! The method contracts are those of the async traits of the same names.

use crate::domain::{
    AccessPair, ApiKey, AppId, Application, ClientId, KeyId, OAuthClient, PairId,
    RefreshTokenRecord, Session, SessionId, StoredSigningKey, User, UserId,
};
use crate::storage::{Rotation, StoreError, Swept};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) trait UserStore {
    fn create_user(&self, user: &User) -> Result<(), StoreError>;
    fn get_user(&self, userid: &UserId) -> Result<Option<User>, StoreError>;
    fn update_user(&self, user: &User) -> Result<(), StoreError>;
    fn delete_user(&self, userid: &UserId) -> Result<bool, StoreError>;
    fn list_users(&self, after: Option<&UserId>, limit: usize) -> Result<Vec<User>, StoreError>;
    fn count_users(&self) -> Result<u64, StoreError>;
}

pub(crate) trait SessionStore {
    fn create_session(
        &self,
        session: &Session,
        first: &RefreshTokenRecord,
    ) -> Result<(), StoreError>;
    fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError>;
    fn get_refresh_token(&self, id: Uuid) -> Result<Option<RefreshTokenRecord>, StoreError>;
    fn rotation_ticket(&self) -> u64;
    fn rotate_refresh_token(
        &self,
        spent: Uuid,
        next: &RefreshTokenRecord,
        now: OffsetDateTime,
        ticket: u64,
    ) -> Result<Rotation, StoreError>;
    fn revoke_session(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError>;
    fn count_live_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
    fn revoke_user_sessions(
        &self,
        userid: &UserId,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError>;
}

pub(crate) trait RevocationStore {
    fn revoke_token_id(&self, jti: &str, expires_at: OffsetDateTime) -> Result<(), StoreError>;
    fn is_token_id_revoked(&self, jti: &str) -> Result<bool, StoreError>;
}

pub(crate) trait KeyStore {
    fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError>;
    fn save_signing_keys(&self, keys: &[StoredSigningKey]) -> Result<(), StoreError>;
    fn rotate_signing_key(
        &self,
        expected: Option<&str>,
        new: &StoredSigningKey,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

pub(crate) trait MetaStore {
    fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError>;
    fn put_meta_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError>;
}

pub(crate) trait AppStore {
    fn create_app(&self, app: &Application) -> Result<(), StoreError>;
    fn get_app(&self, id: AppId) -> Result<Option<Application>, StoreError>;
    fn update_app(&self, app: &Application) -> Result<(), StoreError>;
    fn list_apps(&self) -> Result<Vec<Application>, StoreError>;
    fn delete_app(&self, id: AppId) -> Result<bool, StoreError>;
    fn count_apps(&self) -> Result<u64, StoreError>;
}

pub(crate) trait ApiKeyStore {
    fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    fn get_api_key(&self, id: KeyId) -> Result<Option<ApiKey>, StoreError>;
    fn update_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    fn delete_api_key(&self, id: KeyId) -> Result<bool, StoreError>;
    fn list_api_keys(&self, app_id: AppId) -> Result<Vec<ApiKey>, StoreError>;
    fn record_api_key_use(&self, id: KeyId, at: OffsetDateTime) -> Result<(), StoreError>;
    fn count_api_keys(&self) -> Result<u64, StoreError>;
}

pub(crate) trait ClientStore {
    fn create_client(&self, client: &OAuthClient) -> Result<(), StoreError>;
    fn get_client(&self, id: ClientId) -> Result<Option<OAuthClient>, StoreError>;
    fn update_client(&self, client: &OAuthClient) -> Result<(), StoreError>;
    fn list_clients(&self) -> Result<Vec<OAuthClient>, StoreError>;
    fn delete_client(&self, id: ClientId) -> Result<bool, StoreError>;
}

pub(crate) trait PairStore {
    fn create_pair(&self, pair: &AccessPair) -> Result<(), StoreError>;
    fn get_pair(&self, id: PairId) -> Result<Option<AccessPair>, StoreError>;
    fn delete_pair(&self, id: PairId) -> Result<bool, StoreError>;
}

pub(crate) trait BackupStore {
    fn export(&self, out: &mut dyn std::io::Write) -> Result<u64, StoreError>;
    fn import(&self, input: &mut dyn std::io::BufRead) -> Result<u64, StoreError>;
    fn is_empty(&self) -> Result<bool, StoreError>;
}

pub(crate) trait Maintenance {
    fn sweep(&self, now: OffsetDateTime, keep_revoked: time::Duration)
        -> Result<Swept, StoreError>;
    fn check(&self) -> Result<Vec<String>, StoreError>;
}
