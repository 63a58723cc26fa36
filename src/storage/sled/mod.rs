//! The sled backend (the stable 0.34 line): one tree per record kind, durable writes through a
//! shared group-commit flush. The trait impls live beside this file, one per record family;
//! `recovery.rs` holds what happens after a failed flush.

mod apps;
mod check;
mod group_commit;
mod keys;
mod recovery;
mod sessions;
mod snapshot;
mod store;
mod sweep;
pub(crate) mod sync;
mod users;

pub use store::SledStore;

use super::records::decode_as;
use super::StoreError;
use group_commit::GroupCommit;
pub(super) use recovery::Gate;
use recovery::State;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use std::path::Path;
use std::sync::Arc;

/// A sled tree and the name it has on disk, which is also the record kind named in errors,
/// `tessera check` lines and backups. Each name is written once, in [`Trees::open`].
pub(super) struct Tree {
    pub(super) name: &'static str,
    tree: sled::Tree,
}

impl std::ops::Deref for Tree {
    type Target = sled::Tree;
    fn deref(&self) -> &sled::Tree {
        &self.tree
    }
}

/// The open sled database and its trees. Replaced whole when the store is reopened.
pub(super) struct Trees {
    db: sled::Db,
    pub(super) users: Tree,
    pub(super) sessions: Tree,
    /// `userid 0x00 sid` → (): the sessions of a user. A userid has no control characters.
    pub(super) user_sessions: Tree,
    pub(super) refresh_tokens: Tree,
    pub(super) revoked_jti: Tree,
    pub(super) signing_keys: Tree,
    pub(super) meta: Tree,
    pub(super) apps: Tree,
    pub(super) api_keys: Tree,
    /// `app_id key_id` → (): the keys of an application.
    pub(super) app_keys: Tree,
    pub(super) clients: Tree,
    pub(super) pairs: Tree,
    /// `client_id pair_id` → (): the AccessToken pairs of a client.
    pub(super) client_pairs: Tree,
}

/// The synchronous sled store; [`SledStore`] is its async face.
pub(crate) struct Sled {
    /// The database and what a failed flush left behind; shared with a background recovery.
    state: Arc<State>,
    commit: GroupCommit,
    /// Rotation tickets: nanoseconds since the epoch at open, then counted up, so they keep
    /// growing across restarts.
    tickets: std::sync::atomic::AtomicU64,
    /// Makes a signing-key rotation's read and write one step.
    rotating: std::sync::Mutex<()>,
    /// Test hooks that run between the steps of a read-modify-write, to interleave another
    /// writer deterministically.
    #[cfg(test)]
    hooks: hooks::Hooks,
}

/// A sled error as a store error: a full disk is `Full`, anything else keeps its cause.
pub(super) fn backend(e: sled::Error) -> StoreError {
    match &e {
        // ENOSPC (28) or EDQUOT (122): the write cannot be made durable; say so plainly.
        sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::StorageFull
                || matches!(io.raw_os_error(), Some(28 | 122)) =>
        {
            StoreError::Full
        }
        _ => StoreError::Backend {
            context: "sled",
            source: Box::new(e),
        },
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

impl Sled {
    /// Opens (creating if needed) the store in `dir`. The directory is created with mode 0700.
    /// `Locked` if another process holds it.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            state: Arc::new(State::open(dir)?),
            commit: GroupCommit::default(),
            tickets: std::sync::atomic::AtomicU64::new(ticket_base()),
            rotating: std::sync::Mutex::new(()),
            #[cfg(test)]
            hooks: hooks::Hooks::default(),
        })
    }

    /// The open trees. Never waits on the disk: a store whose reopen failed answers
    /// `Unavailable` at once and retries the reopen on a thread of its own.
    pub(super) fn trees(&self) -> Result<Arc<Trees>, StoreError> {
        State::trees(&self.state)
    }

    /// The shared side of the backup gate, held for the length of one mutation. After a
    /// failed flush it first tries to recover (a disk probe: call it off the HTTP workers),
    /// and refuses the write if that is not yet done.
    pub(super) fn gate(&self) -> Result<Gate<'_>, StoreError> {
        self.state.gate(true)
    }

    /// The gate for a write that may be dropped (bookkeeping, on an HTTP worker): never probes
    /// the disk and never waits; `None` while writes are refused or a backup is being taken.
    pub(super) fn gate_if_writable(&self) -> Option<Gate<'_>> {
        self.state.gate(false).ok()
    }

    /// Makes every write so far durable (SPEC §10), sharing one flush among concurrent callers.
    pub(super) fn durable(&self) -> Result<(), StoreError> {
        let trees = self.trees()?;
        let result = self
            .commit
            .commit(|| trees.db.flush().map(|_| ()).map_err(backend));
        if let Err(e) = &result {
            self.state.flush_failed(e);
        }
        result
    }

    /// Reads and decodes one record.
    pub(super) fn read<R, T>(&self, tree: &Tree, key: &[u8]) -> Result<Option<T>, StoreError>
    where
        R: for<'de> serde::Deserialize<'de>,
        T: TryFrom<R, Error = StoreError>,
    {
        match tree.get(key).map_err(backend)? {
            Some(bytes) => Ok(Some(decode_as::<R, T>(tree.name, &bytes)?)),
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
            .map_err(backend)?;
        let tree = |name: &'static str| {
            Ok::<_, StoreError>(Tree {
                name,
                tree: db.open_tree(name).map_err(backend)?,
            })
        };
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

    /// Every tree (the backup's record kinds are their names).
    fn all(&self) -> [&Tree; 13] {
        [
            &self.users,
            &self.sessions,
            &self.user_sessions,
            &self.refresh_tokens,
            &self.revoked_jti,
            &self.signing_keys,
            &self.meta,
            &self.apps,
            &self.api_keys,
            &self.app_keys,
            &self.clients,
            &self.pairs,
            &self.client_pairs,
        ]
    }
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
    crate::fs::create_private_dir(dir).map_err(|e| StoreError::Backend {
        context: "creating the data dir",
        source: Box::new(e),
    })
}

impl Sled {
    /// Answers `Ok` while the store can serve reads (the health check).
    fn ping(&self) -> Result<(), StoreError> {
        let t = self.trees()?;
        t.meta.get(b"schema").map(|_| ()).map_err(backend)
    }
}

#[cfg(test)]
pub(crate) mod hooks {
    //! Test hooks: code run at a named point of a store operation, to interleave another
    //! writer, or to hold the operation, deterministically. Each hook runs once.

    use super::Sled;
    use std::collections::HashMap;
    use std::sync::Mutex;

    type Hook = Box<dyn FnOnce(&Sled) + Send>;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub(crate) enum Point {
        /// In `record_api_key_use`, after the key was read and before it is written back.
        AfterKeyUseRead,
        /// In `count_live_sessions`, before it scans.
        BeforeCount,
    }

    #[derive(Default)]
    pub(crate) struct Hooks(Mutex<HashMap<Point, Hook>>);

    impl Sled {
        pub(crate) fn set_hook(&self, at: Point, hook: impl FnOnce(&Sled) + Send + 'static) {
            self.hooks
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(at, Box::new(hook));
        }

        pub(crate) fn run_hook(&self, at: Point) {
            let hook = self
                .hooks
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&at);
            if let Some(hook) = hook {
                hook(self);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::contract;
    use crate::storage::{BackupStore, MetaStore};

    #[actix_rt::test]
    async fn sled_passes_the_store_contract() {
        let dir = tempfile::tempdir().expect("tempdir");
        contract::run_all(|| async { SledStore::open(dir.path()).expect("open") }).await;
    }

    #[actix_rt::test]
    async fn sled_backups_round_trip() {
        let (a, b) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let source = SledStore::open(a.path()).expect("open");
        let empty = SledStore::open(b.path()).expect("open");
        contract::backup_round_trip(&source, &empty).await;
    }

    #[actix_rt::test]
    async fn a_cut_off_backup_is_refused() {
        let (a, b) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let source = SledStore::open(a.path()).expect("open");
        source.put_meta("x", b"1").await.expect("put");
        let (_, snapshot) = contract::export(&source).await;
        let empty = SledStore::open(b.path()).expect("open");
        let cut = &snapshot[..snapshot.len() - 5];
        assert!(empty.import(contract::reader(cut)).await.is_err());
    }

    #[test]
    fn a_second_open_of_one_dir_is_locked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = Sled::open(dir.path()).expect("open");
        assert!(matches!(Sled::open(dir.path()), Err(StoreError::Locked)));
    }

    #[test]
    fn a_data_dir_that_cannot_be_created_is_not_reported_as_locked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").expect("write");
        let err = Sled::open(&file.join("data")).err();
        assert!(matches!(err, Some(StoreError::Backend { .. })), "{err:?}");
    }

    #[cfg(unix)]
    #[test]
    fn data_dir_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let _store = Sled::open(&data).expect("open");
        let mode = std::fs::metadata(&data).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
