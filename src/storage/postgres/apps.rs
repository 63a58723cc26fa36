//! The PostgreSQL side of applications, API keys, OAuth clients and AccessToken pairs. A key
//! belongs to its application and a pair to its client by foreign key: creating one for a
//! missing parent is `NotFound` in the same statement, and deleting the parent takes them.

use super::users::{replace_sql, replace_version};
use super::{at, body, count, decoded, exec, row, rows, version, Db, PgStore};
use crate::domain::{AccessPair, ApiKey, AppId, Application, ClientId, KeyId, OAuthClient, PairId};
use crate::storage::records::{ApiKeyRecord, AppRecord, ClientRecord, PairRecord};
use crate::storage::{ApiKeyStore, AppStore, ClientStore, PairStore, StoreError};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;

pub(super) async fn insert_app<C: GenericClient>(
    c: &C,
    app: &Application,
) -> Result<(), StoreError> {
    let record = body(&AppRecord::from(app))?;
    exec(
        c,
        "INSERT INTO apps (id, version, body) VALUES ($1, $2, $3::text::jsonb)",
        &[&app.id.0, &version(app.version)?, &record],
    )
    .await
    .map(|_| ())
}

pub(super) async fn insert_api_key<C: GenericClient>(
    c: &C,
    key: &ApiKey,
) -> Result<(), StoreError> {
    let record = body(&ApiKeyRecord::from(key))?;
    exec(
        c,
        "INSERT INTO api_keys (id, app_id, version, created_at, body) \
         VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        &[
            &key.id.0,
            &key.app_id.0,
            &version(key.version)?,
            &at(key.created_at),
            &record,
        ],
    )
    .await
    .map(|_| ())
}

pub(super) async fn insert_client<C: GenericClient>(
    c: &C,
    client: &OAuthClient,
) -> Result<(), StoreError> {
    let record = body(&ClientRecord::from(client))?;
    exec(
        c,
        "INSERT INTO clients (id, version, body) VALUES ($1, $2, $3::text::jsonb)",
        &[&client.id.0, &version(client.version)?, &record],
    )
    .await
    .map(|_| ())
}

pub(super) async fn insert_pair<C: GenericClient>(
    c: &C,
    pair: &AccessPair,
) -> Result<(), StoreError> {
    let record = body(&PairRecord::from(pair))?;
    exec(
        c,
        "INSERT INTO pairs (id, client_id, expires_at, body) VALUES ($1, $2, $3, $4::text::jsonb)",
        &[&pair.id.0, &pair.client_id.0, &at(pair.expires_at), &record],
    )
    .await
    .map(|_| ())
}

/// A copy of `value` with its version set for storing.
fn with_version<T: Clone>(value: &T, set: impl Fn(&mut T)) -> T {
    let mut copy = value.clone();
    set(&mut copy);
    copy
}

#[async_trait]
impl AppStore for PgStore {
    async fn create_app(&self, app: &Application) -> Result<(), StoreError> {
        let first = with_version(app, |a| a.version = 1);
        let written = self
            .with_client(move |c| async move { insert_app(&c, &first).await })
            .await;
        self.caches().apps.evict(&app.id.0);
        written
    }

    async fn get_app(&self, id: AppId) -> Result<Option<Application>, StoreError> {
        self.cached(
            |c| &c.apps,
            id.0,
            || {
                self.with_client(move |c| async move {
                    row(&c, "SELECT body::text FROM apps WHERE id = $1", &[&id.0])
                        .await?
                        .map(|r| decoded::<AppRecord, Application>("apps", &r, 0))
                        .transpose()
                })
            },
        )
        .await
    }

    async fn update_app(&self, app: &Application) -> Result<(), StoreError> {
        let next = with_version(app, |a| a.version += 1);
        let (id, read, record) = (
            app.id.0,
            version(app.version)?,
            body(&AppRecord::from(&next))?,
        );
        let written = self
            .with_client(move |c| async move {
                replace_version(&c, replace_sql!("apps", "id"), &[&id, &read, &record]).await
            })
            .await;
        self.caches().apps.evict(&id);
        written
    }

    async fn list_apps(&self) -> Result<Vec<Application>, StoreError> {
        self.with_client(|c| async move {
            rows(&c, "SELECT body::text FROM apps ORDER BY id", &[])
                .await?
                .iter()
                .map(|r| decoded::<AppRecord, Application>("apps", r, 0))
                .collect()
        })
        .await
    }

    async fn delete_app(&self, id: AppId) -> Result<bool, StoreError> {
        let deleted = self
            .with_client(move |c| async move {
                Ok(exec(&c, "DELETE FROM apps WHERE id = $1", &[&id.0]).await? > 0)
            })
            .await;
        // Its keys went with it.
        self.caches().apps.evict(&id.0);
        self.caches().api_keys.clear();
        deleted
    }

    async fn count_apps(&self) -> Result<u64, StoreError> {
        self.with_client(|c| async move { count(&c, "SELECT count(*) FROM apps").await })
            .await
    }
}

#[async_trait]
impl ApiKeyStore for PgStore {
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let first = with_version(key, |k| k.version = 1);
        let written = self
            .with_client(move |c| async move { insert_api_key(&c, &first).await })
            .await;
        self.caches().api_keys.evict(&key.id.0);
        written
    }

    async fn get_api_key(&self, id: KeyId) -> Result<Option<ApiKey>, StoreError> {
        self.cached(
            |c| &c.api_keys,
            id.0,
            || {
                self.with_client(move |c| async move {
                    row(
                        &c,
                        "SELECT body::text FROM api_keys WHERE id = $1",
                        &[&id.0],
                    )
                    .await?
                    .map(|r| decoded::<ApiKeyRecord, ApiKey>("api_keys", &r, 0))
                    .transpose()
                })
            },
        )
        .await
    }

    async fn update_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let next = with_version(key, |k| k.version += 1);
        let (id, read, record, app_id, created_at) = (
            key.id.0,
            version(key.version)?,
            body(&ApiKeyRecord::from(&next))?,
            key.app_id.0,
            at(key.created_at),
        );
        let written = self
            .with_client(move |c| async move {
                replace_version(
                    &c,
                    replace_sql!("api_keys", "id", ", app_id = $4, created_at = $5"),
                    &[&id, &read, &record, &app_id, &created_at],
                )
                .await
            })
            .await;
        self.caches().api_keys.evict(&id);
        written
    }

    async fn delete_api_key(&self, id: KeyId) -> Result<bool, StoreError> {
        let deleted = self
            .with_client(move |c| async move {
                Ok(exec(&c, "DELETE FROM api_keys WHERE id = $1", &[&id.0]).await? > 0)
            })
            .await;
        self.caches().api_keys.evict(&id.0);
        deleted
    }

    async fn list_api_keys(&self, app_id: AppId) -> Result<Vec<ApiKey>, StoreError> {
        self.with_client(move |c| async move {
            rows(
                &c,
                "SELECT body::text FROM api_keys WHERE app_id = $1 ORDER BY created_at, id",
                &[&app_id.0],
            )
            .await?
            .iter()
            .map(|r| decoded::<ApiKeyRecord, ApiKey>("api_keys", r, 0))
            .collect()
        })
        .await
    }

    /// Bookkeeping: the key as read, with its use noted, written back only if it is still at
    /// the version read (an edit or a delete meanwhile drops the note, never the edit), and
    /// at that same version (a use is not an edit, and is not announced to other nodes: each
    /// notes its own uses, once per resolution, from the entry it cached).
    async fn record_api_key_use(&self, id: KeyId, at: OffsetDateTime) -> Result<(), StoreError> {
        let noted = self
            .with_client(move |c| async move {
                let Some(found) = row(
                    &c,
                    "SELECT version, body::text FROM api_keys WHERE id = $1",
                    &[&id.0],
                )
                .await?
                else {
                    return Ok(());
                };
                let read: i64 = found.try_get(0).db()?;
                let mut key = decoded::<ApiKeyRecord, ApiKey>("api_keys", &found, 1)?;
                key.last_used_at = Some(at);
                let record = body(&ApiKeyRecord::from(&key))?;
                exec(
                    &c,
                    "UPDATE api_keys SET body = $3::text::jsonb WHERE id = $1 AND version = $2",
                    &[&id.0, &read, &record],
                )
                .await
                .map(|_| ())
            })
            .await;
        self.caches().api_keys.evict(&id.0);
        noted
    }

    async fn count_api_keys(&self) -> Result<u64, StoreError> {
        self.with_client(|c| async move { count(&c, "SELECT count(*) FROM api_keys").await })
            .await
    }
}

#[async_trait]
impl ClientStore for PgStore {
    async fn create_client(&self, client: &OAuthClient) -> Result<(), StoreError> {
        let first = with_version(client, |c| c.version = 1);
        let written = self
            .with_client(move |c| async move { insert_client(&c, &first).await })
            .await;
        self.caches().clients.evict(&client.id.0);
        written
    }

    async fn get_client(&self, id: ClientId) -> Result<Option<OAuthClient>, StoreError> {
        self.cached(
            |c| &c.clients,
            id.0,
            || {
                self.with_client(move |c| async move {
                    row(&c, "SELECT body::text FROM clients WHERE id = $1", &[&id.0])
                        .await?
                        .map(|r| decoded::<ClientRecord, OAuthClient>("clients", &r, 0))
                        .transpose()
                })
            },
        )
        .await
    }

    async fn update_client(&self, client: &OAuthClient) -> Result<(), StoreError> {
        let next = with_version(client, |c| c.version += 1);
        let (id, read, record) = (
            client.id.0,
            version(client.version)?,
            body(&ClientRecord::from(&next))?,
        );
        let written = self
            .with_client(move |c| async move {
                replace_version(&c, replace_sql!("clients", "id"), &[&id, &read, &record]).await
            })
            .await;
        self.caches().clients.evict(&id);
        written
    }

    async fn list_clients(&self) -> Result<Vec<OAuthClient>, StoreError> {
        self.with_client(|c| async move {
            rows(&c, "SELECT body::text FROM clients ORDER BY id", &[])
                .await?
                .iter()
                .map(|r| decoded::<ClientRecord, OAuthClient>("clients", r, 0))
                .collect()
        })
        .await
    }

    async fn delete_client(&self, id: ClientId) -> Result<bool, StoreError> {
        let deleted = self
            .with_client(move |c| async move {
                Ok(exec(&c, "DELETE FROM clients WHERE id = $1", &[&id.0]).await? > 0)
            })
            .await;
        self.caches().clients.evict(&id.0);
        deleted
    }
}

#[async_trait]
impl PairStore for PgStore {
    async fn create_pair(&self, pair: &AccessPair) -> Result<(), StoreError> {
        let pair = pair.clone();
        self.with_client(move |c| async move { insert_pair(&c, &pair).await })
            .await
    }

    async fn get_pair(&self, id: PairId) -> Result<Option<AccessPair>, StoreError> {
        self.with_client(move |c| async move {
            row(&c, "SELECT body::text FROM pairs WHERE id = $1", &[&id.0])
                .await?
                .map(|r| decoded::<PairRecord, AccessPair>("pairs", &r, 0))
                .transpose()
        })
        .await
    }

    async fn delete_pair(&self, id: PairId) -> Result<bool, StoreError> {
        self.with_client(move |c| async move {
            Ok(exec(&c, "DELETE FROM pairs WHERE id = $1", &[&id.0]).await? > 0)
        })
        .await
    }
}
