//! The sled side of signing keys and the installation's named values.

use super::sync::{KeyStore, MetaStore};
use super::{backend, Sled};
use crate::domain::StoredSigningKey;
use crate::storage::records::{decode, encode, SigningKeyRecord};
use crate::storage::StoreError;

impl KeyStore for Sled {
    fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError> {
        let t = self.trees()?;
        t.signing_keys
            .iter()
            .map(|item| {
                let (_, bytes) = item.map_err(backend)?;
                StoredSigningKey::try_from(decode::<SigningKeyRecord>(t.signing_keys.name, &bytes)?)
            })
            .collect()
    }

    fn rotate_signing_key(
        &self,
        expected: Option<&str>,
        new: &StoredSigningKey,
        now: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // One process holds a sled store: a lock makes the read and the write one step.
        let _one = self.rotating.lock().unwrap_or_else(|e| e.into_inner());
        let _gate = self.gate()?;
        let mut keys = self.signing_keys()?;
        let active = keys.iter().find(|k| k.active).map(|k| k.kid.as_str());
        if active != expected {
            return Ok(false);
        }
        let t = self.trees()?;
        let mut batch = sled::Batch::default();
        for key in keys.iter_mut().filter(|k| k.active) {
            key.active = false;
            key.retired_at = Some(now);
            batch.insert(key.kid.as_bytes(), encode(&SigningKeyRecord::from(&*key))?);
        }
        batch.insert(new.kid.as_bytes(), encode(&SigningKeyRecord::from(new))?);
        t.signing_keys.apply_batch(batch).map_err(backend)?;
        self.durable()?;
        Ok(true)
    }

    fn save_signing_keys(&self, keys: &[StoredSigningKey]) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let mut batch = sled::Batch::default();
        for key in keys {
            batch.insert(key.kid.as_bytes(), encode(&SigningKeyRecord::from(key))?);
        }
        t.signing_keys.apply_batch(batch).map_err(backend)?;
        self.durable()
    }
}

impl MetaStore for Sled {
    fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.trees()?;
        Ok(t.meta
            .get(name.as_bytes())
            .map_err(backend)?
            .map(|v| v.to_vec()))
    }

    fn put_meta_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let stored = match t
            .meta
            .compare_and_swap(name.as_bytes(), None::<&[u8]>, Some(value))
            .map_err(backend)?
        {
            Ok(()) => value.to_vec(),
            Err(taken) => taken.current.map(|v| v.to_vec()).unwrap_or_default(),
        };
        self.durable()?;
        Ok(stored)
    }

    fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        t.meta.insert(name.as_bytes(), value).map_err(backend)?;
        self.durable()
    }
}
