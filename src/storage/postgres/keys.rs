//! The PostgreSQL side of signing keys, the installation's named values, and the health check.

use super::{body, decoded, exec, one, row, rows, Db, PgStore};
use crate::domain::StoredSigningKey;
use crate::storage::records::SigningKeyRecord;
use crate::storage::{KeyStore, MetaStore, Store, StoreError};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;

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

#[async_trait]
impl KeyStore for PgStore {
    async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError> {
        self.with_client(|c| async move {
            rows(&c, "SELECT body::text FROM signing_keys ORDER BY kid", &[])
                .await?
                .iter()
                .map(|r| decoded::<SigningKeyRecord, StoredSigningKey>("signing_keys", r, 0))
                .collect()
        })
        .await
    }

    async fn save_signing_keys(&self, keys: &[StoredSigningKey]) -> Result<(), StoreError> {
        let keys = keys.to_vec();
        self.with_client(move |mut c| async move {
            let tx = c.transaction().await.db()?;
            for key in &keys {
                upsert_signing_key(&tx, key).await?;
            }
            tx.commit().await.db()
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
}

#[async_trait]
impl Store for PgStore {
    /// A round trip to the server on a pooled connection.
    async fn ping(&self) -> Result<(), StoreError> {
        self.with_client(|c| async move { one(&c, "SELECT 1", &[]).await.map(|_| ()) })
            .await
    }
}
