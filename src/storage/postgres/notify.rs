//! Change notifications between nodes (SPEC §11: a change through one node is honoured by
//! every other within a second). A write that other nodes cache sends `NOTIFY` in its own
//! transaction (the signing keys from the store's code, the rest from triggers), so it is
//! delivered when, and only if, it commits; each store keeps one connection outside the pool
//! that `LISTEN`s, evicts what the announcements name from its caches (`cache.rs`), and wakes
//! the waiters of the signing keys.
//!
//! A heartbeat on that connection every [`cache::HEARTBEAT`] confirms that it is alive and
//! that every announcement before it has arrived; the caches answer only while confirmations
//! keep coming. While none do (before the first, after the connection drops, while the server
//! is away) changes may go unannounced: the waiters are then woken twice a second, so that
//! what they keep is read again within the bound anyway, and once more when a connection
//! listens again (spurious wake-ups are allowed; a missed change is not).

use super::cache::{self, Caches};
use deadpool_postgres::GenericClient;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The channel of the signing keys ([`crate::storage::Topic::SigningKeys`]).
pub(super) const SIGNING_KEYS: &str = "tessera_signing_keys";

/// How long a heartbeat may go unanswered before the connection is given up for dead.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest wait between two attempts to connect again.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Sends the notification of `channel` with the transaction `c` is in (or at once).
pub(super) async fn send<C: GenericClient>(
    c: &C,
    channel: &str,
) -> Result<(), crate::storage::StoreError> {
    super::exec(c, "SELECT pg_notify($1, '')", &[&channel])
        .await
        .map(|_| ())
}

/// Counts the changes seen; waiters watch it.
pub(super) type Changes = Arc<watch::Sender<u64>>;

fn wake(changes: &Changes) {
    changes.send_modify(|n| *n = n.wrapping_add(1));
}

/// What a store's waiters watch, before anything listens.
pub(super) fn changes() -> Changes {
    Arc::new(watch::channel(0).0)
}

/// How often the waiters are woken while nothing listens.
const UNHEARD: Duration = Duration::from_millis(500);

/// Starts listening on the store's runtime; runs until the runtime shuts down.
pub(super) fn start(
    handle: &tokio::runtime::Handle,
    pg: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    changes: Changes,
    caches: Arc<Caches>,
) {
    handle.spawn(listen(pg, tls, changes.clone(), caches.clone()));
    handle.spawn(async move {
        loop {
            tokio::time::sleep(UNHEARD).await;
            if !caches.trusted() {
                wake(&changes);
            }
        }
    });
}

async fn listen(
    pg: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    changes: Changes,
    caches: Arc<Caches>,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let result = session(&pg, &tls, &changes, &caches).await;
        caches.lapse();
        match result {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(e) => {
                log::warn!(
                    "PostgreSQL change notifications: {}; connecting again in {} s",
                    crate::errors::chain(&e),
                    backoff.as_secs()
                );
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One listening connection, until it fails.
async fn session(
    pg: &tokio_postgres::Config,
    tls: &MakeRustlsConnect,
    changes: &Changes,
    caches: &Arc<Caches>,
) -> Result<(), tokio_postgres::Error> {
    // Named apart from the pool's connections, for an operator's pg_stat_activity.
    let mut pg = pg.clone();
    pg.application_name("tessera changes");
    let (client, mut connection) = pg.connect(tls.clone()).await?;
    let (seen, evict) = (changes.clone(), caches.clone());
    // Notifications are handled here, in the order they arrive, before the answer to any
    // statement sent after them is handed back: a heartbeat answered means they are applied.
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            if let AsyncMessage::Notification(n) = message? {
                match n.channel() {
                    SIGNING_KEYS => wake(&seen),
                    cache::CHANNEL => evict.announced(n.payload()),
                    _ => {}
                }
            }
        }
        Ok::<(), tokio_postgres::Error>(())
    });
    let result = async {
        let started = Instant::now();
        client
            .batch_execute(&format!("LISTEN {SIGNING_KEYS}; LISTEN {}", cache::CHANNEL))
            .await?;
        // Changes made before LISTEN took effect were not announced to it: the caches start
        // empty (confirm after a lapse), and the waiters read again.
        caches.confirm(started);
        wake(changes);
        loop {
            tokio::time::sleep(cache::HEARTBEAT).await;
            if driver.is_finished() {
                break;
            }
            let sent = Instant::now();
            match tokio::time::timeout(HEARTBEAT_TIMEOUT, client.batch_execute("SELECT 1")).await {
                Ok(answer) => answer?,
                Err(_) => break,
            }
            caches.confirm(sent);
        }
        Ok(())
    }
    .await;
    driver.abort();
    result
}
