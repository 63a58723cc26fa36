//! The PostgreSQL side of whole-store snapshots (the logical stream of `storage::snapshot`).
//!
//! An export reads one REPEATABLE READ snapshot of the database, so it is consistent without
//! stopping a writer, and writes the kinds in the stream's order, each in the order sled keeps
//! its keys (bytes of the text, bytes of the UUID): a snapshot restored from sled exports
//! byte for byte the same, and the other way round. An import loads into an empty database
//! in one transaction: all of it or nothing.
//!
//! Both run on a blocking thread of the store's runtime, since the writer and the reader they
//! are handed block; each database step is driven from there, within the bound of a call.

use super::apps::{insert_api_key, insert_app, insert_client, insert_pair};
use super::keys::{upsert_meta, upsert_signing_key};
use super::sessions::{insert_session, insert_token};
use super::{at, body, client, exec, one, unavailable, version, Db, PgStore, IMPORT_LOCK};
use crate::domain::{
    AccessPair, ApiKey, Application, OAuthClient, RefreshTokenRecord, Session, StoredSigningKey,
    User,
};
use crate::storage::records::{
    decode_as, ApiKeyRecord, AppRecord, ClientRecord, PairRecord, RefreshRecord, SessionRecord,
    SigningKeyRecord, UserRecord,
};
use crate::storage::snapshot::{self, raw_refused, Entry, Item, Writer};
use crate::storage::{BackupStore, StoreError};
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Pool, Transaction};
use std::future::Future;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio_postgres::{IsolationLevel, Row};

/// Rows fetched per round trip of an export.
const FETCH: i32 = 1_000;
/// Records loaded per round trip of an import (pipelined on the one connection).
const BATCH: usize = 500;

/// Every table of records (not the schema's own bookkeeping).
pub(super) const TABLES: [&str; 10] = [
    "users",
    "signing_keys",
    "meta",
    "apps",
    "api_keys",
    "clients",
    "pairs",
    "sessions",
    "refresh_tokens",
    "revoked_jti",
];

/// Drives one database step from the blocking thread, within `bound`.
fn step<T>(
    handle: &Handle,
    bound: Duration,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    handle.block_on(async {
        tokio::time::timeout(bound, work)
            .await
            .unwrap_or_else(|_| Err(unavailable("a snapshot step took longer than its bound")))
    })
}

/// What a kind's rows become: the record's key as text (for an error), and the item.
type ToItem = fn(&Row) -> Result<Item, StoreError>;

fn text(row: &Row, column: usize) -> Result<&str, StoreError> {
    row.try_get(column).db()
}

/// The stream's kinds, in its order, with the query that reads each in sled's key order.
/// Each query selects the key as text first.
const KINDS: [(&str, &str, ToItem); 10] = [
    (
        "users",
        "SELECT userid, body::text FROM users ORDER BY userid",
        |r| {
            Ok(Item::User(decode_as::<UserRecord, User>(
                "users",
                text(r, 1)?.as_bytes(),
            )?))
        },
    ),
    (
        "signing_keys",
        "SELECT kid, body::text FROM signing_keys ORDER BY kid",
        |r| {
            Ok(Item::SigningKey(decode_as::<
                SigningKeyRecord,
                StoredSigningKey,
            >(
                "signing_keys", text(r, 1)?.as_bytes()
            )?))
        },
    ),
    ("meta", "SELECT name, value FROM meta ORDER BY name", |r| {
        Ok(Item::Meta {
            name: text(r, 0)?.to_string(),
            value: r.try_get(1).db()?,
        })
    }),
    (
        "apps",
        "SELECT id::text, body::text FROM apps ORDER BY id",
        |r| {
            Ok(Item::App(decode_as::<AppRecord, Application>(
                "apps",
                text(r, 1)?.as_bytes(),
            )?))
        },
    ),
    (
        "api_keys",
        "SELECT id::text, body::text FROM api_keys ORDER BY id",
        |r| {
            Ok(Item::ApiKey(decode_as::<ApiKeyRecord, ApiKey>(
                "api_keys",
                text(r, 1)?.as_bytes(),
            )?))
        },
    ),
    (
        "clients",
        "SELECT id::text, body::text FROM clients ORDER BY id",
        |r| {
            Ok(Item::Client(decode_as::<ClientRecord, OAuthClient>(
                "clients",
                text(r, 1)?.as_bytes(),
            )?))
        },
    ),
    (
        "pairs",
        "SELECT id::text, body::text FROM pairs ORDER BY id",
        |r| {
            Ok(Item::Pair(decode_as::<PairRecord, AccessPair>(
                "pairs",
                text(r, 1)?.as_bytes(),
            )?))
        },
    ),
    (
        "sessions",
        "SELECT id::text, body::text FROM sessions ORDER BY id",
        |r| {
            Ok(Item::Session(decode_as::<SessionRecord, Session>(
                "sessions",
                text(r, 1)?.as_bytes(),
            )?))
        },
    ),
    (
        "refresh_tokens",
        "SELECT id::text, body::text FROM refresh_tokens ORDER BY id",
        |r| {
            Ok(Item::RefreshToken(decode_as::<
                RefreshRecord,
                RefreshTokenRecord,
            >(
                "refresh_tokens",
                text(r, 1)?.as_bytes(),
            )?))
        },
    ),
    (
        "revoked_jti",
        "SELECT jti, expires_at FROM revoked_jti ORDER BY jti",
        |r| {
            Ok(Item::RevokedJti {
                jti: text(r, 0)?.to_string(),
                expires_at: r.try_get(1).db()?,
            })
        },
    ),
];

fn export_blocking(
    handle: &Handle,
    pool: &Pool,
    bound: Duration,
    mut out: Box<dyn std::io::Write + Send>,
) -> Result<u64, StoreError> {
    let mut client = step(handle, bound, client(pool))?;
    let tx = step(handle, bound, async {
        client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .db()
    })?;
    // The writer may be slow (a pipe): the snapshot waits for it rather than being cut.
    step(handle, bound, async {
        tx.batch_execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            .await
            .db()
    })?;
    let mut writer = Writer::start(&mut *out)?;
    for (kind, sql, item) in KINDS {
        let portal = step(handle, bound, async { tx.bind(sql, &[]).await.db() })?;
        loop {
            let rows = step(handle, bound, async {
                tx.query_portal(&portal, FETCH).await.db()
            })?;
            for row in &rows {
                // A record that does not decode stops the backup, naming it: a snapshot that
                // cannot be restored whole is worth nothing.
                let decoded = item(row).map_err(|e| match e {
                    StoreError::Corrupt { tree, reason } => StoreError::Backup(format!(
                        "the record {} in {tree} cannot be read ({reason}); `tessera check` \
                         lists what is damaged",
                        text(row, 0).unwrap_or("?").escape_debug()
                    )),
                    other => other,
                })?;
                writer.write(&decoded)?;
            }
            if rows.len() < FETCH as usize {
                break;
            }
        }
        log::debug!("snapshot: {kind} written");
    }
    let count = writer.finish()?;
    step(handle, bound, async { tx.commit().await.db() })?;
    Ok(count)
}

/// Stores one record of a snapshot, as it was (its version included).
async fn load(tx: &Transaction<'_>, item: &Item) -> Result<(), StoreError> {
    match item {
        Item::User(u) => {
            let record = body(&UserRecord::from(u))?;
            exec(
                tx,
                "INSERT INTO users (userid, version, body) VALUES ($1, $2, $3::text::jsonb)",
                &[&u.userid.as_str(), &version(u.version)?, &record],
            )
            .await
            .map(|_| ())
        }
        Item::SigningKey(k) => upsert_signing_key(tx, k).await,
        Item::Meta { name, value } => upsert_meta(tx, name, value).await,
        Item::App(a) => insert_app(tx, a).await,
        Item::ApiKey(k) => insert_api_key(tx, k).await,
        Item::Client(c) => insert_client(tx, c).await,
        Item::Pair(p) => insert_pair(tx, p).await,
        Item::Session(s) => insert_session(tx, s).await,
        Item::RefreshToken(t) => insert_token(tx, t).await,
        Item::RevokedJti { jti, expires_at } => exec(
            tx,
            "INSERT INTO revoked_jti (jti, expires_at) VALUES ($1, $2)",
            &[jti, &at(*expires_at)],
        )
        .await
        .map(|_| ()),
    }
}

fn kind(item: &Item) -> &'static str {
    match item {
        Item::User(_) => "user",
        Item::SigningKey(_) => "signing key",
        Item::Meta { .. } => "meta value",
        Item::App(_) => "application",
        Item::ApiKey(_) => "API key",
        Item::Client(_) => "client",
        Item::Pair(_) => "pair",
        Item::Session(_) => "session",
        Item::RefreshToken(_) => "refresh token",
        Item::RevokedJti { .. } => "revoked id",
    }
}

/// Loads a batch; `first` is the number of its first record in the file. Records of one kind
/// do not depend on each other and are pipelined; a kind's run waits for the run before it,
/// where its parents are (a load may take more than one round trip, so the order in which
/// pipelined loads reach the server is not theirs).
fn flush(
    handle: &Handle,
    bound: Duration,
    tx: &Transaction<'_>,
    batch: &mut Vec<Item>,
    first: u64,
) -> Result<(), StoreError> {
    let numbered: Vec<(u64, &Item)> = (first..).zip(batch.iter()).collect();
    for run in numbered.chunk_by(|(_, a), (_, b)| kind(a) == kind(b)) {
        let loads = run.iter().map(|&(n, item)| async move {
            load(tx, item).await.map_err(|e| match e {
                StoreError::Conflict => {
                    StoreError::Backup(format!("record {n}: a {} that came before", kind(item)))
                }
                StoreError::NotFound => StoreError::Backup(format!(
                    "record {n}: a {} whose parent is not in the backup before it",
                    kind(item)
                )),
                other => other,
            })
        });
        step(handle, bound, futures_util::future::try_join_all(loads))?;
    }
    batch.clear();
    Ok(())
}

fn import_blocking(
    handle: &Handle,
    pool: &Pool,
    bound: Duration,
    mut input: Box<dyn std::io::BufRead + Send>,
) -> Result<u64, StoreError> {
    let mut client = step(handle, bound, client(pool))?;
    let tx = step(handle, bound, async { client.transaction().await.db() })?;
    step(handle, bound, async {
        // The reader may be slow (a pipe); and two restores do not interleave.
        // Row by row announcements (migrations/0002) would be one per record: one for
        // everything goes out at commit instead.
        tx.batch_execute(
            "SET LOCAL idle_in_transaction_session_timeout = 0; SET LOCAL tessera.quiet = 'on'",
        )
        .await
        .db()?;
        exec(&tx, "SELECT pg_advisory_xact_lock($1)", &[&IMPORT_LOCK]).await
    })?;
    if !step(handle, bound, is_empty(&tx))? {
        return Err(StoreError::Backup("the database is not empty".into()));
    }
    let mut batch = Vec::with_capacity(BATCH);
    let mut loaded = 0u64;
    let count = snapshot::read(&mut *input, |entry| match entry {
        Entry::Raw { .. } => Err(raw_refused()),
        Entry::Item(item) => {
            batch.push(*item);
            if batch.len() >= BATCH {
                flush(handle, bound, &tx, &mut batch, loaded + 1)?;
                loaded += BATCH as u64;
            }
            Ok(())
        }
    })?;
    flush(handle, bound, &tx, &mut batch, loaded + 1)?;
    step(handle, bound, async {
        // The tickets of the tokens spent before (sled's are nanoseconds): this store's
        // tickets continue above them, so that a replay is still told from a race.
        exec(
            &tx,
            "SELECT setval('rotation_tickets', greatest( \
                 (SELECT last_value FROM rotation_tickets), \
                 (SELECT coalesce(max(spent_ticket), 1) FROM refresh_tokens)))",
            &[],
        )
        .await?;
        exec(&tx, "SELECT pg_notify($1, '*')", &[&super::cache::CHANNEL]).await?;
        tx.commit().await.db()
    })?;
    Ok(count)
}

/// Whether no table of records has a row.
async fn is_empty<C: GenericClient>(c: &C) -> Result<bool, StoreError> {
    let any = TABLES
        .iter()
        .map(|t| format!("EXISTS (SELECT 1 FROM {t})"))
        .collect::<Vec<_>>()
        .join(" OR ");
    one(c, &format!("SELECT NOT ({any})"), &[])
        .await?
        .try_get(0)
        .db()
}

impl PgStore {
    /// Runs `job` on a blocking thread of the store's runtime, with the caller's request id.
    async fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Handle, &Pool, Duration) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (handle, pool, bound) = (self.0.handle.clone(), self.0.pool.clone(), self.0.bound);
        let id = crate::request::current();
        let task = self.0.handle.spawn_blocking(move || match id {
            Some(id) => crate::request::REQUEST_ID.sync_scope(id, || job(&handle, &pool, bound)),
            None => job(&handle, &pool, bound),
        });
        task.await.map_err(|e| StoreError::Backend {
            context: "a blocking database job",
            source: Box::new(e),
        })?
    }
}

#[async_trait]
impl BackupStore for PgStore {
    async fn export(&self, out: Box<dyn std::io::Write + Send>) -> Result<u64, StoreError> {
        self.blocking(move |handle, pool, bound| export_blocking(handle, pool, bound, out))
            .await
    }

    async fn import(&self, input: Box<dyn std::io::BufRead + Send>) -> Result<u64, StoreError> {
        let loaded = self
            .blocking(move |handle, pool, bound| import_blocking(handle, pool, bound, input))
            .await;
        self.caches().clear();
        loaded
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        self.with_client(|c| async move { is_empty(&c).await })
            .await
    }
}
