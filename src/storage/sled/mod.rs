//! The sled backend (the stable 0.34 line): one tree per record kind, durable writes through a
//! shared group-commit flush.

mod apps;
mod check;
mod group_commit;
mod sweep;

use super::records::{decode, encode, RefreshRecord, SessionRecord, SigningKeyRecord, UserRecord};
use super::{
    KeyStore, MetaStore, RevocationStore, Rotation, SessionStore, Store, StoreError, UserStore,
};
use crate::domain::{RefreshTokenRecord, Session, SessionId, StoredSigningKey, User, UserId};
use group_commit::GroupCommit;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use uuid::Uuid;

/// The open sled database and its trees. Replaced whole when the store is reopened.
pub(super) struct Trees {
    db: sled::Db,
    pub(super) users: sled::Tree,
    pub(super) sessions: sled::Tree,
    /// `userid 0x00 sid` → (): the sessions of a user. A userid has no control characters.
    pub(super) user_sessions: sled::Tree,
    pub(super) refresh_tokens: sled::Tree,
    pub(super) revoked_jti: sled::Tree,
    pub(super) signing_keys: sled::Tree,
    pub(super) meta: sled::Tree,
    pub(super) apps: sled::Tree,
    pub(super) api_keys: sled::Tree,
    /// `app_id key_id` → (): the keys of an application.
    pub(super) app_keys: sled::Tree,
    pub(super) clients: sled::Tree,
    pub(super) pairs: sled::Tree,
    /// `client_id pair_id` → (): the AccessToken pairs of a client.
    pub(super) client_pairs: sled::Tree,
}

pub struct SledStore {
    dir: std::path::PathBuf,
    /// `None` only while a reopen after a failed flush could not open the store again.
    trees: RwLock<Option<Arc<Trees>>>,
    commit: GroupCommit,
    /// Held shared by every mutation and exclusively by an export, so a backup is one
    /// consistent cut of all trees while the server runs (sled 0.34 has no snapshots). A reopen
    /// holds it exclusively too.
    gate: RwLock<()>,
    /// Rotation tickets: nanoseconds since the epoch at open, then counted up, so they keep
    /// growing across restarts.
    tickets: std::sync::atomic::AtomicU64,
    /// A flush failed: the open database holds writes that are not on disk (each was refused
    /// with 503), and sled 0.34 refuses every later write until it is opened again.
    stale: AtomicBool,
    /// A flush failed for want of space, and no probe has found space since: writes are
    /// refused at once, reads go on.
    full: AtomicBool,
    /// When the store last tried to reopen or to find space, to try at most every
    /// `RECOVERY_INTERVAL`.
    last_recovery: Mutex<Option<Instant>>,
}

/// How often a store with a failed flush tries to recover.
const RECOVERY_INTERVAL: Duration = Duration::from_millis(200);
/// How long a reopen waits for reads in flight to let go of the old database.
const REOPEN_PATIENCE: Duration = Duration::from_secs(2);
/// What a space probe writes and syncs: sled needs room for a segment or two.
const PROBE_BYTES: usize = 1024 * 1024;

pub(super) fn backend(e: sled::Error) -> StoreError {
    match &e {
        // ENOSPC (28) or EDQUOT (122): the write cannot be made durable; say so plainly.
        sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::StorageFull
                || matches!(io.raw_os_error(), Some(28 | 122)) =>
        {
            StoreError::Full
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

pub(super) fn tx_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => backend(e),
    }
}

pub(super) fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

fn user_session_key(userid: &UserId, sid: SessionId) -> Vec<u8> {
    let mut key = Vec::with_capacity(userid.as_str().len() + 17);
    key.extend_from_slice(userid.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(sid.0.as_bytes());
    key
}

impl SledStore {
    /// Opens (creating if needed) the store in `dir`. The directory is created with mode 0700.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        create_private_dir(dir)?;
        let trees = Trees::open(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            trees: RwLock::new(Some(Arc::new(trees))),
            commit: GroupCommit::default(),
            gate: RwLock::new(()),
            tickets: std::sync::atomic::AtomicU64::new(ticket_base()),
            stale: AtomicBool::new(false),
            full: AtomicBool::new(false),
            last_recovery: Mutex::new(None),
        })
    }

    /// The open trees. A store whose reopen failed answers `Unavailable` until one succeeds.
    pub(super) fn trees(&self) -> Result<Arc<Trees>, StoreError> {
        if let Some(trees) = self
            .trees
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            return Ok(trees.clone());
        }
        self.recover();
        self.trees
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(StoreError::Unavailable)
    }

    /// Whether writes are refused after a failed flush.
    fn degraded(&self) -> bool {
        self.stale.load(Ordering::Acquire) || self.full.load(Ordering::Acquire)
    }

    /// The shared side of the backup gate, held for the length of one mutation. After a
    /// failed flush it first tries to recover, and refuses the write if that is not yet done.
    pub(super) fn gate(&self) -> Result<Gate<'_>, StoreError> {
        if self.degraded() {
            self.recover();
            if self.degraded() {
                return Err(StoreError::Full);
            }
        }
        Ok(Gate {
            store: self,
            shared: Some(self.gate.read().unwrap_or_else(|e| e.into_inner())),
        })
    }

    /// After a failed flush: once a probe finds room for writes again, reopens the database,
    /// which drops the writes that never reached the disk (each was refused with 503), and
    /// takes writes again. Until then the open database keeps serving reads. (sled writes
    /// when it opens, so opening it on a full disk would fail and leave nothing to read.)
    /// Runs without the shared gate held, at most every `RECOVERY_INTERVAL`; a caller that
    /// cannot take the gate exclusively leaves it to the next.
    fn recover(&self) {
        let closed = || self.trees.read().map_or(true, |t| t.is_none());
        if !self.degraded() && !closed() {
            return;
        }
        let Ok(_exclusive) = self.gate.try_write() else {
            return;
        };
        {
            let mut last = self.last_recovery.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| at.elapsed() < RECOVERY_INTERVAL) {
                return;
            }
            *last = Some(Instant::now());
        }
        if let Err(e) = probe_space(&self.dir) {
            log::debug!("still no room for writes: {e}");
            return;
        }
        if self.stale.load(Ordering::Acquire) || closed() {
            if let Err(e) = self.reopen() {
                log::error!("the store could not be reopened after a failed flush: {e}");
                return;
            }
            log::warn!("the store was reopened after a failed flush; unflushed writes dropped");
        }
        self.stale.store(false, Ordering::Release);
        if self.full.swap(false, Ordering::AcqRel) {
            log::warn!("disk space has returned; writes are taken again");
        }
    }

    /// Drops the open database (once reads in flight let go of it) and opens it again.
    fn reopen(&self) -> Result<(), StoreError> {
        let mut slot = self.trees.write().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = slot.take() {
            let deadline = Instant::now() + REOPEN_PATIENCE;
            let mut old = old;
            loop {
                match Arc::try_unwrap(old) {
                    Ok(trees) => {
                        drop(trees);
                        break;
                    }
                    Err(still_shared) if Instant::now() < deadline => {
                        old = still_shared;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(still_shared) => {
                        *slot = Some(still_shared);
                        return Err(StoreError::Backend(
                            "the old database is still in use".into(),
                        ));
                    }
                }
            }
        }
        *slot = Some(Arc::new(Trees::open(&self.dir)?));
        Ok(())
    }

    /// Makes every write so far durable (SPEC §10), sharing one flush among concurrent callers.
    pub(super) fn durable(&self) -> Result<(), StoreError> {
        let trees = self.trees()?;
        let result = self
            .commit
            .commit(|| trees.db.flush().map(|_| ()).map_err(backend));
        if let Err(e) = &result {
            // sled 0.34 latches the error: nothing more is written until the store is reopened.
            self.stale.store(true, Ordering::Release);
            if matches!(e, StoreError::Full) {
                self.full.store(true, Ordering::Release);
            }
            log::error!("a flush failed; writes are refused until the store recovers: {e}");
        }
        result
    }

    pub(super) fn read<R, T>(
        &self,
        tree: &sled::Tree,
        name: &'static str,
        key: &[u8],
    ) -> Result<Option<T>, StoreError>
    where
        R: for<'de> serde::Deserialize<'de>,
        T: TryFrom<R, Error = StoreError>,
    {
        match tree.get(key).map_err(backend)? {
            Some(bytes) => Ok(Some(T::try_from(decode::<R>(name, &bytes)?)?)),
            None => Ok(None),
        }
    }
}

impl Trees {
    fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir.join("store"))
            // sled caches up to 1 GiB by default and the soak test watched RSS follow it;
            // 64 MiB keeps the working set of a busy server and a bounded footprint.
            .cache_capacity(64 * 1024 * 1024)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::Locked
                }
                other => backend(other),
            })?;
        let tree = |name: &str| db.open_tree(name).map_err(backend);
        Ok(Self {
            users: tree("users")?,
            sessions: tree("sessions")?,
            user_sessions: tree("user_sessions")?,
            refresh_tokens: tree("refresh_tokens")?,
            revoked_jti: tree("revoked_jti")?,
            signing_keys: tree("signing_keys")?,
            meta: tree("meta")?,
            apps: tree("apps")?,
            api_keys: tree("api_keys")?,
            app_keys: tree("app_keys")?,
            clients: tree("clients")?,
            pairs: tree("pairs")?,
            client_pairs: tree("client_pairs")?,
            db,
        })
    }

    /// Every tree, by the record kind it holds (the backup's `t`).
    fn all(&self) -> [(&'static str, &sled::Tree); 13] {
        [
            ("users", &self.users),
            ("sessions", &self.sessions),
            ("user_sessions", &self.user_sessions),
            ("refresh_tokens", &self.refresh_tokens),
            ("revoked_jti", &self.revoked_jti),
            ("signing_keys", &self.signing_keys),
            ("meta", &self.meta),
            ("apps", &self.apps),
            ("api_keys", &self.api_keys),
            ("app_keys", &self.app_keys),
            ("clients", &self.clients),
            ("pairs", &self.pairs),
            ("client_pairs", &self.client_pairs),
        ]
    }
}

/// The shared side of the gate, for one mutation. Dropping it after a failed flush recovers
/// at once, so the write refused with 503 is gone before the next read.
pub(super) struct Gate<'a> {
    store: &'a SledStore,
    shared: Option<RwLockReadGuard<'a, ()>>,
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        self.shared.take();
        if self.store.stale.load(Ordering::Acquire) {
            self.store.recover();
        }
    }
}

/// Writes and syncs `PROBE_BYTES` in `dir`, then removes them: is there room for writes?
fn probe_space(dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join(".space-probe");
    let written = std::fs::File::create(&path).and_then(|mut file| {
        file.write_all(&vec![0u8; PROBE_BYTES])?;
        file.sync_all()
    });
    let removed = std::fs::remove_file(&path);
    written.and(removed)
}

/// Wall-clock nanoseconds, the floor of this process's rotation tickets. Not a reading of "now"
/// for any decision: only a number larger than every ticket an earlier process handed out.
#[allow(clippy::disallowed_methods, reason = "a monotonic seed, not a time")]
fn ticket_base() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 2))
}

/// The data dir, mode 0700: the rule shared with the master-key file ([`crate::fs`]).
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    crate::fs::create_private_dir(dir)
        .map_err(|e| StoreError::Backend(format!("data dir {}: {e}", dir.display())))
}

impl UserStore for SledStore {
    fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let key = user.userid.as_str().as_bytes();
        let swapped = t
            .users
            .compare_and_swap(
                key,
                None as Option<&[u8]>,
                Some(encode(&UserRecord::from(user))),
            )
            .map_err(backend)?;
        if swapped.is_err() {
            return Err(StoreError::Conflict);
        }
        self.durable()
    }

    fn get_user(&self, userid: &UserId) -> Result<Option<User>, StoreError> {
        let t = self.trees()?;
        self.read::<UserRecord, User>(&t.users, "users", userid.as_str().as_bytes())
    }

    fn update_user(&self, user: &User) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let key = user.userid.as_str().as_bytes();
        let record = encode(&UserRecord::from(user));
        let existed = t
            .users
            .transaction(|t| {
                if t.get(key)?.is_none() {
                    return Ok(false);
                }
                t.insert(key, record.as_slice())?;
                Ok::<_, ConflictableTransactionError<StoreError>>(true)
            })
            .map_err(tx_error)?;
        if !existed {
            return Err(StoreError::NotFound);
        }
        self.durable()
    }

    fn delete_user(&self, userid: &UserId) -> Result<bool, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let removed = t
            .users
            .remove(userid.as_str().as_bytes())
            .map_err(backend)?
            .is_some();
        self.durable()?;
        Ok(removed)
    }

    fn list_users(&self, after: Option<&UserId>, limit: usize) -> Result<Vec<User>, StoreError> {
        let t = self.trees()?;
        let start = match after {
            Some(id) => Bound::Excluded(id.as_str().as_bytes().to_vec()),
            None => Bound::Unbounded,
        };
        t.users
            .range::<Vec<u8>, _>((start, Bound::Unbounded))
            .take(limit)
            .map(|item| {
                let (_, bytes) = item.map_err(backend)?;
                User::try_from(decode::<UserRecord>("users", &bytes)?)
            })
            .collect()
    }

    fn count_users(&self) -> Result<u64, StoreError> {
        let t = self.trees()?;
        Ok(t.users.len() as u64)
    }
}

impl SessionStore for SledStore {
    fn create_session(
        &self,
        session: &Session,
        first: &RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let session_bytes = encode(&SessionRecord::from(session));
        let token_bytes = encode(&RefreshRecord::from(first));
        let index_key = user_session_key(&session.userid, session.id);
        (&t.sessions, &t.refresh_tokens, &t.user_sessions)
            .transaction(|(sessions, tokens, index)| {
                sessions.insert(session.id.0.as_bytes(), session_bytes.as_slice())?;
                tokens.insert(first.id.as_bytes(), token_bytes.as_slice())?;
                index.insert(index_key.as_slice(), &[][..])?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(tx_error)?;
        self.durable()
    }

    fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let t = self.trees()?;
        self.read::<SessionRecord, Session>(&t.sessions, "sessions", id.0.as_bytes())
    }

    fn get_refresh_token(&self, id: Uuid) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let t = self.trees()?;
        self.read::<RefreshRecord, RefreshTokenRecord>(
            &t.refresh_tokens,
            "refresh_tokens",
            id.as_bytes(),
        )
    }

    fn rotation_ticket(&self) -> u64 {
        self.tickets.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn rotate_refresh_token(
        &self,
        spent: Uuid,
        next: &RefreshTokenRecord,
        now: OffsetDateTime,
        ticket: u64,
    ) -> Result<Rotation, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let next_bytes = encode(&RefreshRecord::from(next));
        // sled runs the closure again on a conflict, so concurrent exchanges of one token
        // serialize: the first marks it spent, every later one sees it spent.
        let outcome = (&t.sessions, &t.refresh_tokens)
            .transaction(|(sessions, tokens)| {
                let Some(raw) = tokens.get(spent.as_bytes())? else {
                    return Ok(Rotation::NotFound);
                };
                let mut token = RefreshTokenRecord::try_from(
                    decode::<RefreshRecord>("refresh_tokens", &raw).map_err(abort)?,
                )
                .map_err(abort)?;
                let Some(raw) = sessions.get(token.session.0.as_bytes())? else {
                    return Ok(Rotation::Inactive);
                };
                let mut session =
                    Session::try_from(decode::<SessionRecord>("sessions", &raw).map_err(abort)?)
                        .map_err(abort)?;
                if !session.is_live(now) {
                    return Ok(Rotation::Inactive);
                }
                if token.spent_ticket.is_some_and(|t| t > ticket) {
                    return Ok(Rotation::LostRace);
                }
                if token.spent_at.is_some() {
                    // Reuse: a stolen copy and the legitimate one cannot both go on (SPEC §3).
                    session.revoked_at = Some(now);
                    sessions.insert(
                        session.id.0.as_bytes(),
                        encode(&SessionRecord::from(&session)),
                    )?;
                    return Ok(Rotation::Reused(session.id));
                }
                if token.expires_at <= now {
                    return Ok(Rotation::Inactive);
                }
                token.spent_at = Some(now);
                // Greater than every ticket taken so far: those requests were under way.
                token.spent_ticket = Some(
                    self.tickets
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                        + 1,
                );
                tokens.insert(spent.as_bytes(), encode(&RefreshRecord::from(&token)))?;
                tokens.insert(next.id.as_bytes(), next_bytes.as_slice())?;
                Ok(Rotation::Rotated(session))
            })
            .map_err(tx_error)?;
        if matches!(outcome, Rotation::Rotated(_) | Rotation::Reused(_)) {
            self.durable()?;
        }
        Ok(outcome)
    }

    fn count_live_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let t = self.trees()?;
        let mut live = 0;
        for item in t.sessions.iter() {
            let (_, bytes) = item.map_err(backend)?;
            if Session::try_from(decode::<SessionRecord>("sessions", &bytes)?)?.is_live(now) {
                live += 1;
            }
        }
        Ok(live)
    }

    fn revoke_session(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let revoked = t
            .sessions
            .transaction(|sessions| {
                let Some(raw) = sessions.get(id.0.as_bytes())? else {
                    return Ok(false);
                };
                let mut session =
                    Session::try_from(decode::<SessionRecord>("sessions", &raw).map_err(abort)?)
                        .map_err(abort)?;
                if session.revoked_at.is_some() {
                    return Ok(false);
                }
                session.revoked_at = Some(now);
                sessions.insert(id.0.as_bytes(), encode(&SessionRecord::from(&session)))?;
                Ok(true)
            })
            .map_err(tx_error)?;
        if revoked {
            self.durable()?;
        }
        Ok(revoked)
    }

    fn revoke_user_sessions(
        &self,
        userid: &UserId,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let t = self.trees()?;
        let mut prefix = userid.as_str().as_bytes().to_vec();
        prefix.push(0);
        let mut count = 0;
        for item in t.user_sessions.scan_prefix(&prefix) {
            let (key, _) = item.map_err(backend)?;
            let sid = Uuid::from_slice(&key[prefix.len()..]).map_err(|e| StoreError::Corrupt {
                tree: "user_sessions",
                reason: e.to_string(),
            })?;
            if let Some(session) = self.get_session(SessionId(sid))? {
                if session.revoked_at.is_none() && self.revoke_session(session.id, now)? {
                    count += 1;
                }
            }
        }
        Ok(count)
    }
}

impl RevocationStore for SledStore {
    fn revoke_token_id(&self, jti: &str, expires_at: OffsetDateTime) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        t.revoked_jti
            .insert(jti.as_bytes(), &expires_at.unix_timestamp().to_be_bytes())
            .map_err(backend)?;
        self.durable()
    }

    fn is_token_id_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let t = self.trees()?;
        t.revoked_jti.contains_key(jti.as_bytes()).map_err(backend)
    }
}

impl KeyStore for SledStore {
    fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError> {
        let t = self.trees()?;
        t.signing_keys
            .iter()
            .map(|item| {
                let (_, bytes) = item.map_err(backend)?;
                StoredSigningKey::try_from(decode::<SigningKeyRecord>("signing_keys", &bytes)?)
            })
            .collect()
    }

    fn save_signing_keys(&self, keys: &[StoredSigningKey]) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let mut batch = sled::Batch::default();
        for key in keys {
            batch.insert(key.kid.as_bytes(), encode(&SigningKeyRecord::from(key)));
        }
        t.signing_keys.apply_batch(batch).map_err(backend)?;
        self.durable()
    }
}

impl MetaStore for SledStore {
    fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.trees()?;
        Ok(t.meta
            .get(name.as_bytes())
            .map_err(backend)?
            .map(|v| v.to_vec()))
    }

    fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        t.meta.insert(name.as_bytes(), value).map_err(backend)?;
        self.durable()
    }
}

impl super::BackupStore for SledStore {
    fn export(&self, out: &mut dyn std::io::Write) -> Result<u64, StoreError> {
        // Exclusive: no mutation is half done while the trees are read.
        let _all = self.gate.write().unwrap_or_else(|e| e.into_inner());
        let t = self.trees()?;
        let trees = t.all();
        let records = trees.iter().flat_map(|(name, tree)| {
            tree.iter().map(move |item| {
                item.map(|(k, v)| (*name, k.to_vec(), v.to_vec()))
                    .map_err(backend)
            })
        });
        super::backup::write(out, records)
    }

    fn import(&self, input: &mut dyn std::io::BufRead) -> Result<u64, StoreError> {
        if !self.is_empty()? {
            return Err(StoreError::Backup("the data dir is not empty".into()));
        }
        let _all = self.gate.write().unwrap_or_else(|e| e.into_inner());
        let t = self.trees()?;
        let trees = t.all();
        let count = super::backup::read(input, |t, k, v| {
            let tree = trees
                .iter()
                .find(|(name, _)| *name == t)
                .map(|(_, tree)| *tree)
                .ok_or_else(|| StoreError::Backup(format!("unknown record kind {t:?}")))?;
            tree.insert(k, v).map(|_| ()).map_err(backend)
        })?;
        self.durable()?;
        Ok(count)
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.trees()?.all().iter().all(|(_, tree)| tree.is_empty()))
    }

    fn check(&self) -> Result<Vec<String>, StoreError> {
        check::run(self)
    }

    fn sweep(
        &self,
        now: OffsetDateTime,
        keep_revoked: time::Duration,
    ) -> Result<super::Swept, StoreError> {
        sweep::run(self, now, keep_revoked)
    }
}

impl Store for SledStore {
    fn ping(&self) -> Result<(), StoreError> {
        let t = self.trees()?;
        t.meta.get(b"schema").map(|_| ()).map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sled_passes_the_store_contract() {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::storage::contract::run_all(|| SledStore::open(dir.path()).expect("open"));
    }

    #[test]
    fn sled_backups_round_trip() {
        let (a, b) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let source = SledStore::open(a.path()).expect("open");
        let empty = SledStore::open(b.path()).expect("open");
        crate::storage::contract::backup_round_trip(&source, &empty);
    }

    #[test]
    fn a_cut_off_backup_is_refused() {
        let (a, b) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let source = SledStore::open(a.path()).expect("open");
        source.put_meta("x", b"1").expect("put");
        let mut snapshot = Vec::new();
        super::super::BackupStore::export(&source, &mut snapshot).expect("export");
        let empty = SledStore::open(b.path()).expect("open");
        let cut = &snapshot[..snapshot.len() - 5];
        assert!(super::super::BackupStore::import(&empty, &mut &cut[..]).is_err());
    }

    #[test]
    fn a_second_open_of_one_dir_is_locked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = SledStore::open(dir.path()).expect("open");
        assert!(matches!(
            SledStore::open(dir.path()),
            Err(StoreError::Locked)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn data_dir_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let _store = SledStore::open(&data).expect("open");
        let mode = std::fs::metadata(&data).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
