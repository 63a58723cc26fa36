//! The sled side of applications, API keys, OAuth clients and AccessToken pairs.

use super::{abort, backend, tx_error, SledStore};
use crate::domain::{AccessPair, ApiKey, Application, OAuthClient};
use crate::storage::records::{decode, encode, ApiKeyRecord, AppRecord, ClientRecord, PairRecord};
use crate::storage::{ApiKeyStore, AppStore, ClientStore, PairStore, StoreError};
use sled::transaction::ConflictableTransactionError;
use sled::Transactional;
use time::OffsetDateTime;
use uuid::Uuid;

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn pair_key(parent: Uuid, child: Uuid) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(parent.as_bytes());
    key[16..].copy_from_slice(child.as_bytes());
    key
}

/// The children listed under `parent` in an index tree.
fn children(index: &sled::Tree, parent: Uuid) -> Result<Vec<Uuid>, StoreError> {
    index
        .scan_prefix(parent.as_bytes())
        .map(|item| {
            let (key, _) = item.map_err(backend)?;
            Uuid::from_slice(&key[16..]).map_err(|e| StoreError::Corrupt {
                tree: "index",
                reason: e.to_string(),
            })
        })
        .collect()
}

impl SledStore {
    /// Replaces a record only if it exists: `NotFound` otherwise.
    fn replace(&self, tree: &sled::Tree, key: &[u8], value: Vec<u8>) -> Result<(), StoreError> {
        let existed = tree
            .transaction(|t| {
                if t.get(key)?.is_none() {
                    return Ok(false);
                }
                t.insert(key, value.as_slice())?;
                TxResult::Ok(true)
            })
            .map_err(tx_error)?;
        if !existed {
            return Err(StoreError::NotFound);
        }
        self.durable()
    }

    fn insert_new(&self, tree: &sled::Tree, key: &[u8], value: Vec<u8>) -> Result<(), StoreError> {
        let swapped = tree
            .compare_and_swap(key, None as Option<&[u8]>, Some(value))
            .map_err(backend)?;
        if swapped.is_err() {
            return Err(StoreError::Conflict);
        }
        self.durable()
    }

    fn all<R, T>(&self, tree: &sled::Tree, name: &'static str) -> Result<Vec<T>, StoreError>
    where
        R: for<'de> serde::Deserialize<'de>,
        T: TryFrom<R, Error = StoreError>,
    {
        tree.iter()
            .map(|item| {
                let (_, bytes) = item.map_err(backend)?;
                T::try_from(decode::<R>(name, &bytes)?)
            })
            .collect()
    }

    /// Removes `parent` from `records` and every child listed under it in `index` from
    /// `child_records`, in one transaction. Children created between the scan and the
    /// transaction are caught by a second pass.
    fn delete_with_children(
        &self,
        records: &sled::Tree,
        index: &sled::Tree,
        child_records: &sled::Tree,
        parent: Uuid,
    ) -> Result<bool, StoreError> {
        let kids = children(index, parent)?;
        let existed = (records, index, child_records)
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
        parents: &sled::Tree,
        index: &sled::Tree,
        child_records: &sled::Tree,
        parent: Uuid,
        child: Uuid,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        (parents, index, child_records)
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
        index: &sled::Tree,
        child_records: &sled::Tree,
        parent: Uuid,
        child: Uuid,
    ) -> Result<bool, StoreError> {
        let existed = (index, child_records)
            .transaction(|(index, child_records)| {
                index.remove(&pair_key(parent, child)[..])?;
                TxResult::Ok(child_records.remove(child.as_bytes())?.is_some())
            })
            .map_err(tx_error)?;
        self.durable()?;
        Ok(existed)
    }
}

impl AppStore for SledStore {
    fn create_app(&self, app: &Application) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        self.insert_new(&t.apps, app.id.as_bytes(), encode(&AppRecord::from(app)))
    }

    fn get_app(&self, id: Uuid) -> Result<Option<Application>, StoreError> {
        let t = self.trees()?;
        self.read::<AppRecord, Application>(&t.apps, "apps", id.as_bytes())
    }

    fn update_app(&self, app: &Application) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        self.replace(&t.apps, app.id.as_bytes(), encode(&AppRecord::from(app)))
    }

    fn list_apps(&self) -> Result<Vec<Application>, StoreError> {
        let t = self.trees()?;
        self.all::<AppRecord, Application>(&t.apps, "apps")
    }

    fn delete_app(&self, id: Uuid) -> Result<bool, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        self.delete_with_children(&t.apps, &t.app_keys, &t.api_keys, id)
    }

    fn count_apps(&self) -> Result<u64, StoreError> {
        let t = self.trees()?;
        Ok(t.apps.len() as u64)
    }
}

impl ApiKeyStore for SledStore {
    fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let value = encode(&ApiKeyRecord::from(key));
        self.insert_child(&t.apps, &t.app_keys, &t.api_keys, key.app_id, key.id, value)
    }

    fn get_api_key(&self, id: Uuid) -> Result<Option<ApiKey>, StoreError> {
        let t = self.trees()?;
        self.read::<ApiKeyRecord, ApiKey>(&t.api_keys, "api_keys", id.as_bytes())
    }

    fn update_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        self.replace(
            &t.api_keys,
            key.id.as_bytes(),
            encode(&ApiKeyRecord::from(key)),
        )
    }

    fn delete_api_key(&self, id: Uuid) -> Result<bool, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        match self.get_api_key(id)? {
            Some(key) => self.remove_child(&t.app_keys, &t.api_keys, key.app_id, id),
            None => Ok(false),
        }
    }

    fn list_api_keys(&self, app_id: Uuid) -> Result<Vec<ApiKey>, StoreError> {
        let t = self.trees()?;
        let mut keys = Vec::new();
        for id in children(&t.app_keys, app_id)? {
            if let Some(key) = self.get_api_key(id)? {
                keys.push(key);
            }
        }
        keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(keys)
    }

    fn record_api_key_use(&self, id: Uuid, at: OffsetDateTime) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        // A lost update here only makes last_used_at older; no flush, no transaction.
        if let Some(mut key) = self.get_api_key(id)? {
            key.last_used_at = Some(at);
            let _ = t
                .api_keys
                .compare_and_swap(
                    id.as_bytes(),
                    t.api_keys.get(id.as_bytes()).map_err(backend)?,
                    Some(encode(&ApiKeyRecord::from(&key))),
                )
                .map_err(backend)?;
        }
        Ok(())
    }

    fn count_api_keys(&self) -> Result<u64, StoreError> {
        let t = self.trees()?;
        Ok(t.api_keys.len() as u64)
    }
}

impl ClientStore for SledStore {
    fn create_client(&self, client: &OAuthClient) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        self.insert_new(
            &t.clients,
            client.id.as_bytes(),
            encode(&ClientRecord::from(client)),
        )
    }

    fn get_client(&self, id: Uuid) -> Result<Option<OAuthClient>, StoreError> {
        let t = self.trees()?;
        self.read::<ClientRecord, OAuthClient>(&t.clients, "clients", id.as_bytes())
    }

    fn update_client(&self, client: &OAuthClient) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        self.replace(
            &t.clients,
            client.id.as_bytes(),
            encode(&ClientRecord::from(client)),
        )
    }

    fn list_clients(&self) -> Result<Vec<OAuthClient>, StoreError> {
        let t = self.trees()?;
        self.all::<ClientRecord, OAuthClient>(&t.clients, "clients")
    }

    fn delete_client(&self, id: Uuid) -> Result<bool, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        self.delete_with_children(&t.clients, &t.client_pairs, &t.pairs, id)
    }
}

impl PairStore for SledStore {
    fn create_pair(&self, pair: &AccessPair) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let value = encode(&PairRecord::from(pair));
        self.insert_child(
            &t.clients,
            &t.client_pairs,
            &t.pairs,
            pair.client_id,
            pair.id,
            value,
        )
    }

    fn get_pair(&self, id: Uuid) -> Result<Option<AccessPair>, StoreError> {
        let t = self.trees()?;
        self.read::<PairRecord, AccessPair>(&t.pairs, "pairs", id.as_bytes())
    }

    fn delete_pair(&self, id: Uuid) -> Result<bool, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        match self.get_pair(id)? {
            Some(pair) => self.remove_child(&t.client_pairs, &t.pairs, pair.client_id, id),
            None => Ok(false),
        }
    }
}
