//! The PostgreSQL side of signing keys, the installation's named values, and the health check.

use super::{body, decoded, exec, notify, one, row, rows, Db, PgStore, SIGNING_LOCK};
use crate::domain::StoredSigningKey;
use crate::storage::records::SigningKeyRecord;
use crate::storage::{KeyStore, MetaStore, Store, StoreError, Topic};
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use time::OffsetDateTime;

pub(super) async fn upsert_signing_key<C: GenericClient>(
    c: &C,
    key: &StoredSigningKey,
) -> Result<(), StoreError> {
    let record = body(&SigningKeyRecord::from(key))?;
    exec(
        c,
        "INSERT INTO signing_keys (kid, body) VALUES ($1, $2::text::jsonb) \
         ON CONFLICT (kid) DO UPDATE SET body = EXCLUDED.body",
        &[&key.kid, &record],
    )
    .await
    .map(|_| ())
}

pub(super) async fn upsert_meta<C: GenericClient>(
    c: &C,
    name: &str,
    value: &[u8],
) -> Result<(), StoreError> {
    exec(
        c,
        "INSERT INTO meta (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
        &[&name, &value],
    )
    .await
    .map(|_| ())
}

/// Takes the signing keys' lock for the transaction: rotations and saves on every node take
/// their turns, so a rotation's read of the active key and its write are one step.
async fn lock_signing_keys(tx: &Transaction<'_>) -> Result<(), StoreError> {
    exec(tx, "SELECT pg_advisory_xact_lock($1)", &[&SIGNING_LOCK])
        .await
        .map(|_| ())
}

async fn all_signing_keys<C: GenericClient>(c: &C) -> Result<Vec<StoredSigningKey>, StoreError> {
    rows(c, "SELECT body::text FROM signing_keys ORDER BY kid", &[])
        .await?
        .iter()
        .map(|r| decoded::<SigningKeyRecord, StoredSigningKey>("signing_keys", r, 0))
        .collect()
}

#[async_trait]
impl KeyStore for PgStore {
    async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError> {
        self.with_client(|c| async move { all_signing_keys(&c).await })
            .await
    }

    async fn save_signing_keys(&self, keys: &[StoredSigningKey]) -> Result<(), StoreError> {
        let keys = keys.to_vec();
        self.with_client(move |mut c| async move {
            let tx = c.transaction().await.db()?;
            lock_signing_keys(&tx).await?;
            for key in &keys {
                upsert_signing_key(&tx, key).await?;
            }
            notify::send(&tx, notify::SIGNING_KEYS).await?;
            tx.commit().await.db()
        })
        .await
    }

    async fn rotate_signing_key(
        &self,
        expected: Option<&str>,
        new: &StoredSigningKey,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (expected, new) = (expected.map(str::to_string), new.clone());
        self.with_client(move |mut c| async move {
            let tx = c.transaction().await.db()?;
            lock_signing_keys(&tx).await?;
            let mut keys = all_signing_keys(&tx).await?;
            let active = keys.iter().find(|k| k.active).map(|k| k.kid.clone());
            if active != expected {
                return Ok(false);
            }
            for key in keys.iter_mut().filter(|k| k.active) {
                key.active = false;
                key.retired_at = Some(now);
                upsert_signing_key(&tx, key).await?;
            }
            upsert_signing_key(&tx, &new).await?;
            notify::send(&tx, notify::SIGNING_KEYS).await?;
            tx.commit().await.db()?;
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl MetaStore for PgStore {
    async fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let name = name.to_string();
        self.with_client(move |c| async move {
            row(&c, "SELECT value FROM meta WHERE name = $1", &[&name])
                .await?
                .map(|r| r.try_get(0).db())
                .transpose()
        })
        .await
    }

    async fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let (name, value) = (name.to_string(), value.to_vec());
        self.with_client(move |c| async move { upsert_meta(&c, &name, &value).await })
            .await
    }

    async fn put_meta_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let (name, value) = (name.to_string(), value.to_vec());
        self.with_client(move |c| async move {
            let inserted = row(
                &c,
                "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING \
                 RETURNING value",
                &[&name, &value],
            )
            .await?;
            if inserted.is_some() {
                return Ok(value);
            }
            // A second statement, with a snapshot of its own: the first one's predates a
            // concurrent insert it waited for.
            one(&c, "SELECT value FROM meta WHERE name = $1", &[&name])
                .await?
                .try_get(0)
                .db()
        })
        .await
    }
}

#[async_trait]
impl Store for PgStore {
    /// A round trip to the server on a pooled connection.
    async fn ping(&self) -> Result<(), StoreError> {
        self.with_client(|c| async move { one(&c, "SELECT 1", &[]).await.map(|_| ()) })
            .await
    }

    /// Woken by the `NOTIFY` of a write on any node (this one included), and whenever the
    /// listening connection is made again.
    async fn changed(&self, topic: Topic) {
        match topic {
            Topic::SigningKeys => {
                let mut seen = self.0.changes.subscribe();
                // The sender lives as long as the store: this only returns on a change.
                let _ = seen.changed().await;
            }
        }
    }
}
