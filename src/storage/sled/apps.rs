//! The sled side of applications, API keys, OAuth clients and AccessToken pairs.

use super::sync::{ApiKeyStore, AppStore, ClientStore, PairStore};
use super::{abort, backend, tx_error, Sled, Tree};
use crate::domain::{AccessPair, ApiKey, AppId, Application, ClientId, KeyId, OAuthClient, PairId};
use crate::storage::records::{
    decode, decode_as, encode, ApiKeyRecord, AppRecord, ClientRecord, PairRecord,
};
use crate::storage::StoreError;
use sled::transaction::ConflictableTransactionError;
use sled::Transactional;
use time::OffsetDateTime;
use uuid::Uuid;

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

pub(super) fn pair_key(parent: Uuid, child: Uuid) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(parent.as_bytes());
    key[16..].copy_from_slice(child.as_bytes());
    key
}

/// The children listed under `parent` in an index tree.
fn children(index: &Tree, parent: Uuid) -> Result<Vec<Uuid>, StoreError> {
    index
        .scan_prefix(parent.as_bytes())
        .map(|item| {
            let (key, _) = item.map_err(backend)?;
            Uuid::from_slice(&key[16..]).map_err(|e| StoreError::Corrupt {
                tree: index.name,
                reason: e.to_string(),
            })
        })
        .collect()
}

impl Sled {
    /// Replaces a record with `next` only if the stored one is at version `read`: `NotFound`
    /// if there is none, `Stale` if another writer changed it since the caller read it.
    pub(super) fn replace_version<R, T>(
        &self,
        tree: &Tree,
        key: &[u8],
        read: u64,
        version: impl Fn(&T) -> u64,
        next: Vec<u8>,
    ) -> Result<(), StoreError>
    where
        R: for<'de> serde::Deserialize<'de>,
        T: TryFrom<R, Error = StoreError>,
    {
        let kind = tree.name;
        tree.transaction(|t| {
            let Some(raw) = t.get(key)? else {
                return Err(abort(StoreError::NotFound));
            };
            let stored = decode_as::<R, T>(kind, &raw).map_err(abort)?;
            if version(&stored) != read {
                return Err(abort(StoreError::Stale));
            }
            t.insert(key, next.as_slice())?;
            TxResult::Ok(())
        })
        .map_err(tx_error)?;
        self.durable()
    }

    pub(super) fn insert_new(
        &self,
        tree: &Tree,
        key: &[u8],
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        let swapped = tree
            .compare_and_swap(key, None as Option<&[u8]>, Some(value))
            .map_err(backend)?;
        if swapped.is_err() {
            return Err(StoreError::Conflict);
        }
        self.durable()
    }

    fn all<R, T>(&self, tree: &Tree) -> Result<Vec<T>, StoreError>
    where
        R: for<'de> serde::Deserialize<'de>,
        T: TryFrom<R, Error = StoreError>,
    {
        tree.iter()
            .map(|item| {
                let (_, bytes) = item.map_err(backend)?;
                decode_as::<R, T>(tree.name, &bytes)
            })
            .collect()
    }

    /// Removes `parent` from `records` and every child listed under it in `index` from
    /// `child_records`, in one transaction. Children created between the scan and the
    /// transaction are caught by a second pass.
    fn delete_with_children(
        &self,
        records: &Tree,
        index: &Tree,
        child_records: &Tree,
        parent: Uuid,
    ) -> Result<bool, StoreError> {
        let kids = children(index, parent)?;
        let existed = (&**records, &**index, &**child_records)
            .transaction(|(records, index, child_records)| {
                let existed = records.remove(parent.as_bytes())?.is_some();
                for kid in &kids {
                    index.remove(&pair_key(parent, *kid)[..])?;
                    child_records.remove(kid.as_bytes())?;
                }
                TxResult::Ok(existed)
            })
            .map_err(tx_error)?;
        for kid in children(index, parent)? {
            index.remove(&pair_key(parent, kid)[..]).map_err(backend)?;
            child_records.remove(kid.as_bytes()).map_err(backend)?;
        }
        self.durable()?;
        Ok(existed)
    }

    /// Inserts a child record and its index entry, provided the parent exists.
    fn insert_child(
        &self,
        parents: &Tree,
        index: &Tree,
        child_records: &Tree,
        parent: Uuid,
        child: Uuid,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        (&**parents, &**index, &**child_records)
            .transaction(|(parents, index, child_records)| {
                if parents.get(parent.as_bytes())?.is_none() {
                    return Err(abort(StoreError::NotFound));
                }
                if child_records.get(child.as_bytes())?.is_some() {
                    return Err(abort(StoreError::Conflict));
                }
                index.insert(&pair_key(parent, child)[..], &[][..])?;
                child_records.insert(child.as_bytes(), value.as_slice())?;
                TxResult::Ok(())
            })
            .map_err(tx_error)?;
        self.durable()
    }

    fn remove_child(
        &self,
        index: &Tree,
        child_records: &Tree,
        parent: Uuid,
        child: Uuid,
    ) -> Result<bool, StoreError> {
        let existed = (&**index, &**child_records)
            .transaction(|(index, child_records)| {
                index.remove(&pair_key(parent, child)[..])?;
                TxResult::Ok(child_records.remove(child.as_bytes())?.is_some())
            })
            .map_err(tx_error)?;
        self.durable()?;
        Ok(existed)
    }
}

/// A copy of `value` with its version set for storing.
fn with_version<T: Clone>(value: &T, set: impl Fn(&mut T)) -> T {
    let mut first = value.clone();
    set(&mut first);
    first
}

impl AppStore for Sled {
    fn create_app(&self, app: &Application) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let first = with_version(app, |a| a.version = 1);
        self.insert_new(
            &t.apps,
            app.id.as_bytes(),
            encode(&AppRecord::from(&first))?,
        )
    }

    fn get_app(&self, id: AppId) -> Result<Option<Application>, StoreError> {
        let t = self.trees()?;
        self.read::<AppRecord, Application>(&t.apps, id.as_bytes())
    }

    fn update_app(&self, app: &Application) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let next = with_version(app, |a| a.version += 1);
        self.replace_version::<AppRecord, Application>(
            &t.apps,
            app.id.as_bytes(),
            app.version,
            |a| a.version,
            encode(&AppRecord::from(&next))?,
        )
    }

    fn list_apps(&self) -> Result<Vec<Application>, StoreError> {
        let t = self.trees()?;
        self.all::<AppRecord, Application>(&t.apps)
    }

    fn delete_app(&self, id: AppId) -> Result<bool, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        self.delete_with_children(&t.apps, &t.app_keys, &t.api_keys, id.0)
    }

    fn count_apps(&self) -> Result<u64, StoreError> {
        let t = self.trees()?;
        Ok(t.apps.len() as u64)
    }
}

impl ApiKeyStore for Sled {
    fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let value = encode(&ApiKeyRecord::from(&with_version(key, |k| k.version = 1)))?;
        self.insert_child(
            &t.apps,
            &t.app_keys,
            &t.api_keys,
            key.app_id.0,
            key.id.0,
            value,
        )
    }

    fn get_api_key(&self, id: KeyId) -> Result<Option<ApiKey>, StoreError> {
        let t = self.trees()?;
        self.read::<ApiKeyRecord, ApiKey>(&t.api_keys, id.as_bytes())
    }

    fn update_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let next = with_version(key, |k| k.version += 1);
        self.replace_version::<ApiKeyRecord, ApiKey>(
            &t.api_keys,
            key.id.as_bytes(),
            key.version,
            |k| k.version,
            encode(&ApiKeyRecord::from(&next))?,
        )
    }

    fn delete_api_key(&self, id: KeyId) -> Result<bool, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        match self.get_api_key(id)? {
            Some(key) => self.remove_child(&t.app_keys, &t.api_keys, key.app_id.0, id.0),
            None => Ok(false),
        }
    }

    fn list_api_keys(&self, app_id: AppId) -> Result<Vec<ApiKey>, StoreError> {
        let t = self.trees()?;
        let mut keys = Vec::new();
        for id in children(&t.app_keys, app_id.0)? {
            if let Some(key) = self.get_api_key(KeyId(id))? {
                keys.push(key);
            }
        }
        keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(keys)
    }

    fn record_api_key_use(&self, id: KeyId, at: OffsetDateTime) -> Result<(), StoreError> {
        // Bookkeeping: skipped at once while writes are refused or a backup holds the gate (it
        // runs on an HTTP worker, which must wait on neither), and never flushed on its own.
        let Some(_gate) = self.gate_if_writable() else {
            return Ok(());
        };
        let t = self.trees()?;
        let Some(raw) = t.api_keys.get(id.as_bytes()).map_err(backend)? else {
            return Ok(());
        };
        let mut key = ApiKey::try_from(decode::<ApiKeyRecord>(t.api_keys.name, &raw)?)?;
        key.last_used_at = Some(at);
        let next = encode(&ApiKeyRecord::from(&key))?;
        #[cfg(test)]
        self.run_hook(super::hooks::Point::AfterKeyUseRead);
        // Swap against the very bytes decoded above: a delete, disable or refresh committed
        // since then makes the swap fail, and this note is dropped rather than bringing the
        // old key back. The version stays: a use is not an edit.
        let _ = t
            .api_keys
            .compare_and_swap(id.as_bytes(), Some(raw), Some(next))
            .map_err(backend)?;
        Ok(())
    }

    fn count_api_keys(&self) -> Result<u64, StoreError> {
        let t = self.trees()?;
        Ok(t.api_keys.len() as u64)
    }
}

impl ClientStore for Sled {
    fn create_client(&self, client: &OAuthClient) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let first = with_version(client, |c| c.version = 1);
        self.insert_new(
            &t.clients,
            client.id.as_bytes(),
            encode(&ClientRecord::from(&first))?,
        )
    }

    fn get_client(&self, id: ClientId) -> Result<Option<OAuthClient>, StoreError> {
        let t = self.trees()?;
        self.read::<ClientRecord, OAuthClient>(&t.clients, id.as_bytes())
    }

    fn update_client(&self, client: &OAuthClient) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let next = with_version(client, |c| c.version += 1);
        self.replace_version::<ClientRecord, OAuthClient>(
            &t.clients,
            client.id.as_bytes(),
            client.version,
            |c| c.version,
            encode(&ClientRecord::from(&next))?,
        )
    }

    fn list_clients(&self) -> Result<Vec<OAuthClient>, StoreError> {
        let t = self.trees()?;
        self.all::<ClientRecord, OAuthClient>(&t.clients)
    }

    fn delete_client(&self, id: ClientId) -> Result<bool, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        self.delete_with_children(&t.clients, &t.client_pairs, &t.pairs, id.0)
    }
}

impl PairStore for Sled {
    fn create_pair(&self, pair: &AccessPair) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let value = encode(&PairRecord::from(pair))?;
        self.insert_child(
            &t.clients,
            &t.client_pairs,
            &t.pairs,
            pair.client_id.0,
            pair.id.0,
            value,
        )
    }

    fn get_pair(&self, id: PairId) -> Result<Option<AccessPair>, StoreError> {
        let t = self.trees()?;
        self.read::<PairRecord, AccessPair>(&t.pairs, id.as_bytes())
    }

    fn delete_pair(&self, id: PairId) -> Result<bool, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        match self.get_pair(id)? {
            Some(pair) => self.remove_child(&t.client_pairs, &t.pairs, pair.client_id.0, id.0),
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::contract;
    use crate::storage::sled::sync::{ApiKeyStore, AppStore, Maintenance};

    fn store_with_key() -> (tempfile::TempDir, Sled, ApiKey) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Sled::open(dir.path()).expect("open");
        let app = contract::app("app");
        store.create_app(&app).expect("create app");
        let key = contract::api_key(&app);
        store.create_api_key(&key).expect("create key");
        (dir, store, key)
    }

    fn a_second_later(key: &ApiKey) -> OffsetDateTime {
        key.created_at + time::Duration::seconds(1)
    }

    #[test]
    fn noting_a_use_during_a_backup_is_skipped_not_waited_for() {
        let (_dir, store, key) = store_with_key();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            // An export holds the gate exclusively while it writes.
            let _export = store.state.exclusive();
            scope.spawn(|| {
                let result = store.record_api_key_use(key.id, a_second_later(&key));
                let _ = done.send(result.is_ok());
            });
            let answered = finished
                .recv_timeout(std::time::Duration::from_secs(20))
                .expect("the use was noted or skipped while the export held the gate");
            assert!(answered);
        });
        let stored = store.get_api_key(key.id).expect("get").expect("exists");
        assert_eq!(
            stored.last_used_at, None,
            "skipped, not written behind the export"
        );
    }

    #[test]
    fn noting_a_use_does_not_bring_back_a_key_deleted_meanwhile() {
        let (_dir, store, key) = store_with_key();
        let id = key.id;
        // The admin's delete commits between the use's read and its write.
        store.set_hook(super::super::hooks::Point::AfterKeyUseRead, move |store| {
            assert!(store.delete_api_key(id).expect("delete"));
        });

        store
            .record_api_key_use(id, a_second_later(&key))
            .expect("use");

        assert_eq!(store.get_api_key(id).expect("get"), None);
        assert_eq!(store.check().expect("check"), Vec::<String>::new());
    }

    #[test]
    fn noting_a_use_does_not_undo_a_refresh_or_a_disable_made_meanwhile() {
        let (_dir, store, key) = store_with_key();
        let id = key.id;
        store.set_hook(super::super::hooks::Point::AfterKeyUseRead, move |store| {
            let mut current = store.get_api_key(id).expect("get").expect("exists");
            current.hash = [42; 32];
            current.enabled = false;
            store.update_api_key(&current).expect("refresh");
        });

        store
            .record_api_key_use(id, a_second_later(&key))
            .expect("use");

        let stored = store.get_api_key(id).expect("get").expect("exists");
        assert_eq!(stored.hash, [42; 32], "the new secret stays");
        assert!(!stored.enabled, "the disable stays");
    }
}
