//! The PostgreSQL backend (SPEC §11): every node of a cluster shares one database. One table
//! per record kind (`migrations/`), the trait impls beside this file, one per record family.
//!
//! actix runs one single-threaded runtime per worker, and a pooled connection's socket is
//! driven by the runtime that opened it; so the store owns a small multi-thread runtime of its
//! own (`tessera-db` threads) and runs every call there, whichever worker asks. Every call is
//! bounded: a free connection within the connect timeout, each statement within
//! [`connect::STATEMENT_TIMEOUT`], the whole call within the sum (and a margin), so that a
//! server that vanished answers `Unavailable` instead of hanging a request.

mod apps;
mod cache;
mod connect;
mod ephemeral;
mod keys;
mod maintenance;
mod migrate;
mod notify;
mod sessions;
mod snapshot;
mod users;

#[cfg(test)]
mod tests;

use crate::config::StoreConfig;
use crate::storage::records::decode_as;
use crate::storage::StoreError;
use cache::{Caches, Table};
use deadpool_postgres::{GenericClient, Object, Pool, PoolError};
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

/// Beyond a statement's own timeout, what one call may take: a few statements, the round
/// trips, a commit.
const SLACK: Duration = Duration::from_secs(5);

/// The PostgreSQL store: a pool of connections on a runtime of its own.
#[derive(Clone)]
pub struct PgStore(Arc<Inner>);

struct Inner {
    pool: Pool,
    handle: tokio::runtime::Handle,
    /// The longest one call may take.
    bound: Duration,
    /// What other nodes announced they changed.
    changes: notify::Changes,
    /// What the hot paths read, kept fresh by announcements.
    caches: Arc<Caches>,
    /// Last, so that it goes after the pool.
    _runtime: DbRuntime,
}

/// The store's runtime. Dropping a runtime inside an async context panics, and the last
/// handle on the store may well be dropped on an HTTP worker: it is shut down in the
/// background instead.
struct DbRuntime(Option<tokio::runtime::Runtime>);

impl Drop for DbRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl PgStore {
    /// Connects, checks the server, and applies the migrations this build has and the
    /// database has not (SPEC §11). Refuses a database whose schema is newer than this build.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let settings = connect::Settings::new(config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tessera-db")
            .enable_all()
            .build()
            .map_err(|e| settings.failed(format!("starting the store's runtime: {e}")))?;
        let store = PgStore(Arc::new(Inner {
            pool: settings.pool()?,
            handle: runtime.handle().clone(),
            bound: settings.connect_timeout + connect::STATEMENT_TIMEOUT + SLACK,
            changes: notify::changes(),
            caches: Arc::new(Caches::new()),
            _runtime: DbRuntime(Some(runtime)),
        }));
        let bound = settings.connect_timeout + migrate::TIMEOUT + SLACK;
        let settings = Arc::new(settings);
        let opening = settings.clone();
        store
            .run_within(bound, move |pool| async move {
                migrate::open(&pool, &opening).await
            })
            .await
            .map_err(|e| match e {
                StoreError::Unavailable => settings.failed("no answer within the timeout"),
                other => other,
            })?;
        notify::start(
            &store.0.handle,
            settings.pg.clone(),
            settings.tls.clone(),
            store.0.changes.clone(),
            store.0.caches.clone(),
        );
        Ok(store)
    }

    /// Runs `job` on the store's runtime, with the caller's request id, within the bound of
    /// one call.
    async fn run<T, F, Fut>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Pool) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        self.run_within(self.0.bound, job).await
    }

    async fn run_within<T, F, Fut>(&self, bound: Duration, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Pool) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let pool = self.0.pool.clone();
        let work = async move {
            tokio::time::timeout(bound, job(pool))
                .await
                .unwrap_or_else(|_| Err(unavailable("a call took longer than its bound")))
        };
        let task = match crate::request::current() {
            Some(id) => self
                .0
                .handle
                .spawn(crate::request::REQUEST_ID.scope(id, work)),
            None => self.0.handle.spawn(work),
        };
        task.await.map_err(|e| StoreError::Backend {
            context: "a database job",
            source: Box::new(e),
        })?
    }

    /// A read through the cache `table` picks: a hit answers without the database; a miss
    /// runs `read` and keeps what it found, unless the table changed meanwhile.
    async fn cached<K, V, F, Fut>(
        &self,
        table: fn(&Caches) -> &Table<K, V>,
        key: K,
        read: F,
    ) -> Result<V, StoreError>
    where
        K: Hash + Eq + Send + Sync,
        V: Clone + Send + Sync,
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<V, StoreError>> + Send,
    {
        let caches = &*self.0.caches;
        if let Some(hit) = caches.get(table(caches), &key) {
            return Ok(hit);
        }
        let ticket = caches.ticket(table(caches));
        let value = read().await?;
        caches.put(table(caches), key, value.clone(), ticket);
        Ok(value)
    }

    /// The caches, for a write to evict what it changed once it is done (whether it
    /// committed or not: an error may come after a commit).
    fn caches(&self) -> &Caches {
        &self.0.caches
    }

    /// [`run`](Self::run) with a pooled connection.
    async fn with_client<T, F, Fut>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Object) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        self.run(move |pool| async move { job(client(&pool).await?).await })
            .await
    }
}

/// A connection from the pool, within the connect timeout.
async fn client(pool: &Pool) -> Result<Object, StoreError> {
    pool.get().await.map_err(pool_error)
}

fn pool_error(e: PoolError) -> StoreError {
    match e {
        PoolError::Timeout(_) => unavailable("no connection within the connect timeout"),
        PoolError::Backend(e) => db_error(e),
        PoolError::Closed => unavailable("the connection pool is closed"),
        other => StoreError::Backend {
            context: "the connection pool",
            source: Box::new(other),
        },
    }
}

/// The database cannot be reached for now: the HTTP layer answers 503 with `Retry-After`.
/// The cause goes to the log here, since `Unavailable` carries none.
fn unavailable(cause: impl std::fmt::Display) -> StoreError {
    log::warn!("PostgreSQL is unavailable: {cause}");
    StoreError::Unavailable
}

/// A driver error as a store error. A unique violation is `Conflict` and a foreign key
/// violation `NotFound` (a key's application, a pair's client: the parent does not exist);
/// a lost connection, a timeout or a server shutting down is `Unavailable`.
fn db_error(e: tokio_postgres::Error) -> StoreError {
    if let Some(code) = e.code() {
        if *code == SqlState::UNIQUE_VIOLATION {
            return StoreError::Conflict;
        }
        if *code == SqlState::FOREIGN_KEY_VIOLATION {
            return StoreError::NotFound;
        }
        if *code == SqlState::DISK_FULL {
            return StoreError::Full;
        }
        if transient(code) {
            return unavailable(crate::errors::chain(&e));
        }
    } else if e.is_closed() || is_io(&e) || e.to_string().starts_with("timeout") {
        return unavailable(crate::errors::chain(&e));
    }
    StoreError::Backend {
        context: "PostgreSQL",
        source: Box::new(e),
    }
}

/// Errors that say "not now" rather than "not this": connection exceptions (08), operator
/// intervention and shutdowns (57: a cancelled statement is the statement timeout),
/// insufficient resources (53, too many connections among them), and a transaction that
/// lost a serialization or deadlock check (40), or waited too long for a lock or in idle.
fn transient(code: &SqlState) -> bool {
    let code = code.code();
    ["08", "57", "53", "40"]
        .iter()
        .any(|class| code.starts_with(class))
        || matches!(code, "55P03" | "25P03")
}

fn is_io(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = e.source();
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// `.db()?` on a driver result.
trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> Db<T> for Result<T, tokio_postgres::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(db_error)
    }
}

/// A timestamp as the records keep it (whole seconds): the typed column beside a body holds
/// the same instant as the body, so a query on the column decides as a read of the body would.
fn at(t: OffsetDateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.unix_timestamp()).unwrap_or(t)
}

/// The record's JSON, for a `jsonb` column (bound as text and cast: `$n::text::jsonb`).
fn body<R: serde::Serialize>(record: &R) -> Result<String, StoreError> {
    String::from_utf8(crate::storage::records::encode(record)?).map_err(|e| StoreError::Backend {
        context: "encoding a record",
        source: Box::new(e),
    })
}

/// Decodes the body in column `column` of `row` (selected as `body::text`).
fn decoded<R, T>(kind: &'static str, row: &Row, column: usize) -> Result<T, StoreError>
where
    R: for<'de> serde::Deserialize<'de>,
    T: TryFrom<R, Error = StoreError>,
{
    let text: &str = row.try_get(column).db()?;
    decode_as::<R, T>(kind, text.as_bytes())
}

/// A record's version as a `bigint`.
fn version(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|e| StoreError::Backend {
        context: "a version past the range of a bigint",
        source: Box::new(e),
    })
}

type Params<'a> = &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)];

/// Runs a statement, prepared once per connection.
async fn exec<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
    let statement = c.prepare_cached(sql).await.db()?;
    c.execute(&statement, params).await.db()
}

/// The rows of a query, prepared once per connection.
async fn rows<C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>, StoreError> {
    let statement = c.prepare_cached(sql).await.db()?;
    c.query(&statement, params).await.db()
}

/// The row of a query that returns at most one.
async fn row<C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>, StoreError> {
    let statement = c.prepare_cached(sql).await.db()?;
    c.query_opt(&statement, params).await.db()
}

/// The one row of a query that always returns one.
async fn one<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> Result<Row, StoreError> {
    let statement = c.prepare_cached(sql).await.db()?;
    c.query_one(&statement, params).await.db()
}

/// A `count(*)`.
async fn count<C: GenericClient>(c: &C, sql: &str) -> Result<u64, StoreError> {
    let n: i64 = one(c, sql, &[]).await?.try_get(0).db()?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Advisory lock keys: "tessera" in ASCII, then a byte per purpose.
const MIGRATE_LOCK: i64 = 0x7465_7373_6572_6101;
const SWEEP_LOCK: i64 = 0x7465_7373_6572_6102;
const IMPORT_LOCK: i64 = 0x7465_7373_6572_6103;
const SIGNING_LOCK: i64 = 0x7465_7373_6572_6104;
