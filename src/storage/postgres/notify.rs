//! Change notifications between nodes (SPEC §11: a change through one node is honoured by
//! every other within a second). A write that other nodes cache sends `NOTIFY` in its own
//! transaction, so it is delivered when, and only if, it commits; each store keeps one
//! connection outside the pool that `LISTEN`s, and wakes its waiters.
//!
//! While no connection listens (before the first one, after one drops, while the server is
//! away) changes go unannounced: the waiters are then woken twice a second, so that what they
//! cache is read again within the bound anyway, and once more when a connection listens again
//! (spurious wake-ups are allowed; a missed change is not). A heartbeat finds a connection
//! that died silently.

use deadpool_postgres::GenericClient;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The channel of the signing keys ([`crate::storage::Topic::SigningKeys`]).
pub(super) const SIGNING_KEYS: &str = "tessera_signing_keys";

/// How often the listening connection is asked to answer (whether it has closed is checked
/// every second).
const HEARTBEAT: Duration = Duration::from_secs(15);
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
) {
    let listening = Arc::new(AtomicBool::new(false));
    handle.spawn(listen(pg, tls, changes.clone(), listening.clone()));
    handle.spawn(async move {
        loop {
            tokio::time::sleep(UNHEARD).await;
            if !listening.load(Ordering::SeqCst) {
                wake(&changes);
            }
        }
    });
}

async fn listen(
    pg: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    changes: Changes,
    listening: Arc<AtomicBool>,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let result = session(&pg, &tls, &changes, &listening).await;
        listening.store(false, Ordering::SeqCst);
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
    listening: &AtomicBool,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = pg.connect(tls.clone()).await?;
    let seen = changes.clone();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            if let AsyncMessage::Notification(n) = message? {
                if n.channel() == SIGNING_KEYS {
                    wake(&seen);
                }
            }
        }
        Ok::<(), tokio_postgres::Error>(())
    });
    let result = async {
        client
            .batch_execute(&format!("LISTEN {SIGNING_KEYS}"))
            .await?;
        // Changes made before LISTEN took effect are not announced to it.
        listening.store(true, Ordering::SeqCst);
        wake(changes);
        for tick in 1u64.. {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if driver.is_finished() {
                break;
            }
            if tick % HEARTBEAT.as_secs() == 0 {
                match tokio::time::timeout(HEARTBEAT, client.batch_execute("SELECT 1")).await {
                    Ok(answer) => answer?,
                    Err(_) => break,
                }
            }
        }
        Ok(())
    }
    .await;
    driver.abort();
    result
}
