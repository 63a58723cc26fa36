//! Node-local caches of what the hot paths read (SPEC §11, issue 14): users, applications,
//! API keys, OAuth clients, sessions, revocation markers and "not locked out". A hit answers
//! without a database round trip; every answer stays within the cluster's bound of a second.
//!
//! Freshness has three parts:
//! - **Announcements.** Triggers (`migrations/0002_announcements.sql`) send
//!   `NOTIFY tessera_changes, '<table>:<key>'` in the transaction of every change that could
//!   alter a cached answer, through any node or any other path; the listening connection
//!   (`notify.rs`) evicts the entry as the notification arrives.
//! - **Own writes** evict after they commit, before they return: a node reads its own writes
//!   at once, without waiting for its own notification.
//! - **Trust.** Caches answer only while the listening connection is known to be alive: a
//!   heartbeat on that connection every [`HEARTBEAT`] confirms it, and a confirmation counts for
//!   [`TRUST`]. Notifications arrive in order with the heartbeat's answer, so a confirmed
//!   heartbeat means every change committed before it was sent has been evicted. When
//!   confirmations stop (a lost connection, a server away, a stalled network), caches stop
//!   answering within [`TRUST`], and every read goes to the database; the first confirmation
//!   after a lapse empties every cache first, since announcements may have been missed.
//!
//! A read that misses takes a ticket (the table's generation) before it asks the database,
//! and stores what it read only if nothing was evicted from the table meanwhile: a read that
//! raced a change never caches the value from before it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::{ApiKey, Application, OAuthClient, Session, User};

/// The channel the triggers announce on.
pub(super) const CHANNEL: &str = "tessera_changes";

/// How often the listening connection is asked to answer.
pub(super) const HEARTBEAT: Duration = Duration::from_millis(200);

/// How long a confirmation is trusted: with a change's own delivery (milliseconds), the
/// longest a cache may answer from before a change — well within SPEC §11's second.
pub(super) const TRUST: Duration = Duration::from_millis(600);

/// The most entries one table keeps; a table that reaches it starts again empty (a node
/// serves a working set far smaller, and the bound keeps memory flat under a scan of
/// random ids).
const MAX_ENTRIES: usize = 50_000;

/// Whether the caches may answer.
struct Trust {
    origin: Instant,
    /// When the last confirmed heartbeat was sent, in µs since `origin`, plus one; 0: never.
    confirmed: AtomicU64,
}

impl Trust {
    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_micros()).unwrap_or(u64::MAX)
    }

    fn holds(&self) -> bool {
        self.holds_at(Instant::now())
    }

    fn holds_at(&self, now: Instant) -> bool {
        match self.confirmed.load(Ordering::SeqCst) {
            0 => false,
            c => self.micros(now).saturating_sub(c - 1) < TRUST.as_micros() as u64,
        }
    }
}

/// One cached table, keyed by the record's key as the announcements name it.
pub(super) struct Table<K, V> {
    /// The entries, and the generation: bumped by every eviction, under the same lock.
    inner: Mutex<(HashMap<K, V>, u64)>,
}

/// Taken before a read that may fill the cache.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket(u64);

impl<K: Hash + Eq, V: Clone> Table<K, V> {
    fn new() -> Self {
        Self {
            inner: Mutex::new((HashMap::new(), 0)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<K, V>, u64)> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, key: &K) -> Option<V> {
        self.lock().0.get(key).cloned()
    }

    fn ticket(&self) -> Ticket {
        Ticket(self.lock().1)
    }

    fn put(&self, key: K, value: V, ticket: Ticket) {
        let mut inner = self.lock();
        if inner.1 != ticket.0 {
            return;
        }
        if inner.0.len() >= MAX_ENTRIES {
            inner.0.clear();
        }
        inner.0.insert(key, value);
    }

    pub(super) fn evict(&self, key: &K) {
        let mut inner = self.lock();
        inner.1 = inner.1.wrapping_add(1);
        inner.0.remove(key);
    }

    pub(super) fn clear(&self) {
        let mut inner = self.lock();
        inner.1 = inner.1.wrapping_add(1);
        inner.0.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().0.len()
    }
}

/// Every cache of one store.
pub(super) struct Caches {
    trust: Trust,
    pub(super) users: Table<String, Option<User>>,
    pub(super) apps: Table<uuid::Uuid, Option<Application>>,
    pub(super) api_keys: Table<uuid::Uuid, Option<ApiKey>>,
    pub(super) clients: Table<uuid::Uuid, Option<OAuthClient>>,
    /// Sessions found; an absent one is not remembered (an id is random, and a token naming
    /// it comes only after it exists).
    pub(super) sessions: Table<uuid::Uuid, Session>,
    /// Whether a JWT id is revoked.
    pub(super) revoked: Table<String, bool>,
    /// Lockout keys that had no lockout in force when read.
    pub(super) unlocked: Table<String, ()>,
    /// Answers given from memory, for the tests that show a hit needs no database.
    #[cfg(test)]
    pub(super) hits: AtomicU64,
}

impl Caches {
    pub(super) fn new() -> Self {
        Self {
            trust: Trust {
                origin: Instant::now(),
                confirmed: AtomicU64::new(0),
            },
            users: Table::new(),
            apps: Table::new(),
            api_keys: Table::new(),
            clients: Table::new(),
            sessions: Table::new(),
            revoked: Table::new(),
            unlocked: Table::new(),
            #[cfg(test)]
            hits: AtomicU64::new(0),
        }
    }

    /// Whether the caches may answer now.
    pub(super) fn trusted(&self) -> bool {
        self.trust.holds()
    }

    /// The entry for `key`, if the caches may answer and hold one.
    pub(super) fn get<K: Hash + Eq, V: Clone>(&self, table: &Table<K, V>, key: &K) -> Option<V> {
        if !self.trusted() {
            return None;
        }
        let hit = table.get(key);
        #[cfg(test)]
        if hit.is_some() {
            self.hits.fetch_add(1, Ordering::SeqCst);
        }
        hit
    }

    /// A ticket for a read of `table` that may fill it.
    pub(super) fn ticket<K: Hash + Eq, V: Clone>(&self, table: &Table<K, V>) -> Ticket {
        table.ticket()
    }

    /// Keeps what a read found, unless the caches may not answer or `table` changed since
    /// `ticket` was taken.
    pub(super) fn put<K: Hash + Eq, V: Clone>(
        &self,
        table: &Table<K, V>,
        key: K,
        value: V,
        ticket: Ticket,
    ) {
        if self.trusted() {
            table.put(key, value, ticket);
        }
    }

    /// Empties every table.
    pub(super) fn clear(&self) {
        self.users.clear();
        self.apps.clear();
        self.api_keys.clear();
        self.clients.clear();
        self.sessions.clear();
        self.revoked.clear();
        self.unlocked.clear();
    }

    /// The listening connection answered a heartbeat sent at `sent` (or began to listen
    /// then): every change committed before it has been evicted. After a lapse, what was
    /// announced meanwhile may have been missed, so everything goes first.
    pub(super) fn confirm(&self, sent: Instant) {
        if !self.trusted() {
            self.clear();
            if self.trust.confirmed.load(Ordering::SeqCst) != 0 {
                log::info!(
                    "PostgreSQL change notifications confirmed again after a lapse: the \
                     node-local caches start empty"
                );
            }
        }
        let at = self.trust.micros(sent).saturating_add(1);
        self.trust.confirmed.fetch_max(at, Ordering::SeqCst);
    }

    /// The listening connection is gone: the caches stop answering at once.
    pub(super) fn lapse(&self) {
        self.trust.confirmed.store(0, Ordering::SeqCst);
    }

    /// Applies an announcement (`<table>:<key>`, or `*` for everything).
    pub(super) fn announced(&self, payload: &str) {
        let Some((table, key)) = payload.split_once(':') else {
            self.clear();
            return;
        };
        let id = || uuid::Uuid::parse_str(key).ok();
        match table {
            "users" => self.users.evict(&key.to_string()),
            "apps" => match id() {
                Some(id) => {
                    self.apps.evict(&id);
                    // Deleting an application deletes its keys.
                    self.api_keys.clear();
                }
                None => self.clear(),
            },
            "api_keys" => match id() {
                Some(id) => self.api_keys.evict(&id),
                None => self.clear(),
            },
            "clients" => match id() {
                Some(id) => self.clients.evict(&id),
                None => self.clear(),
            },
            "sessions" => match id() {
                Some(id) => self.sessions.evict(&id),
                None => self.clear(),
            },
            "revoked_jti" => self.revoked.evict(&key.to_string()),
            "lockouts" => self.unlocked.evict(&key.to_string()),
            // A table this build does not know (a newer node's): forget everything.
            _ => self.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted() -> Caches {
        let caches = Caches::new();
        caches.confirm(Instant::now());
        caches
    }

    #[test]
    fn nothing_is_answered_before_the_first_confirmation() {
        let caches = Caches::new();
        let ticket = caches.ticket(&caches.revoked);
        caches.put(&caches.revoked, "j".to_string(), false, ticket);
        assert_eq!(caches.revoked.len(), 0, "not kept while untrusted");
        caches.confirm(Instant::now());
        let ticket = caches.ticket(&caches.revoked);
        caches.put(&caches.revoked, "j".to_string(), false, ticket);
        assert_eq!(caches.get(&caches.revoked, &"j".to_string()), Some(false));
    }

    #[test]
    fn a_read_that_raced_an_eviction_is_not_kept() {
        let caches = trusted();
        let ticket = caches.ticket(&caches.revoked);
        // The change commits and is announced while the read is under way.
        caches.announced("revoked_jti:j");
        caches.put(&caches.revoked, "j".to_string(), false, ticket);
        assert_eq!(caches.get(&caches.revoked, &"j".to_string()), None);
    }

    #[test]
    fn an_announcement_evicts_only_its_entry() {
        let caches = trusted();
        for who in ["alice", "bob"] {
            let ticket = caches.ticket(&caches.users);
            caches.put(&caches.users, who.to_string(), None, ticket);
        }
        caches.announced("users:alice");
        assert_eq!(caches.get(&caches.users, &"alice".to_string()), None);
        assert_eq!(caches.get(&caches.users, &"bob".to_string()), Some(None));
    }

    #[test]
    fn an_application_change_forgets_every_key() {
        let caches = trusted();
        let (app, key) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let ticket = caches.ticket(&caches.api_keys);
        caches.put(&caches.api_keys, key, None, ticket);
        caches.announced(&format!("apps:{app}"));
        assert_eq!(caches.get(&caches.api_keys, &key), None);
    }

    #[test]
    fn unknown_or_malformed_announcements_forget_everything() {
        for payload in ["*", "", "sessions:not-a-uuid", "tables_from_the_future:1"] {
            let caches = trusted();
            let ticket = caches.ticket(&caches.unlocked);
            caches.put(&caches.unlocked, "address:::1".to_string(), (), ticket);
            caches.announced(payload);
            assert_eq!(
                caches.get(&caches.unlocked, &"address:::1".to_string()),
                None,
                "{payload:?}"
            );
        }
    }

    #[test]
    fn a_lapse_stops_answers_at_once_and_the_next_confirmation_starts_empty() {
        let caches = trusted();
        let ticket = caches.ticket(&caches.revoked);
        caches.put(&caches.revoked, "j".to_string(), true, ticket);
        caches.lapse();
        assert_eq!(caches.get(&caches.revoked, &"j".to_string()), None);
        caches.confirm(Instant::now());
        assert_eq!(caches.get(&caches.revoked, &"j".to_string()), None);
        assert_eq!(caches.revoked.len(), 0);
    }

    #[test]
    fn a_confirmation_is_trusted_for_a_bounded_time() {
        let caches = Caches::new();
        let sent = Instant::now();
        caches.confirm(sent);
        let ms = Duration::from_millis(1);
        assert!(caches.trust.holds_at(sent + TRUST - ms));
        assert!(
            !caches.trust.holds_at(sent + TRUST + ms),
            "older than TRUST"
        );
    }

    #[test]
    fn a_full_table_starts_again() {
        let caches = trusted();
        for n in 0..=MAX_ENTRIES {
            let ticket = caches.ticket(&caches.revoked);
            caches.put(&caches.revoked, n.to_string(), false, ticket);
        }
        assert_eq!(caches.revoked.len(), 1);
    }
}
