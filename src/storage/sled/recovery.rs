//! The open database and its recovery after a failed flush (SPEC §10: a full disk answers
//! 503 and acknowledges nothing, and the store takes writes again once there is room).
//!
//! sled 0.34 latches a failed flush: it refuses every later write until the database is opened
//! again, and the writes it holds in memory never reach the disk. So after a failed flush writes
//! are refused, reads go on from the open database, and a recovery probes for room and reopens
//! (dropping what was never acknowledged). A read never waits on that probe: when there is no
//! open database to read from, it answers `Unavailable` and the probe runs on its own thread.

use super::{create_private_dir, Trees};
use crate::storage::StoreError;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// How often a store with a failed flush tries to recover.
const RECOVERY_INTERVAL: Duration = Duration::from_millis(200);
/// How long a reopen waits for reads in flight to let go of the old database.
const REOPEN_PATIENCE: Duration = Duration::from_secs(2);
/// What a space probe writes and syncs: sled needs room for a segment or two.
const PROBE_BYTES: usize = 1024 * 1024;
/// The file whose lock says a process holds the data dir.
const LOCK_FILE: &str = "store.lock";

/// Why writes are refused after a failed flush, kept in an `AtomicU8` (every write reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Refusal {
    /// No flush has failed since the last recovery.
    None = 0,
    /// The disk was full (ENOSPC, EDQUOT): writes wait for room.
    Full = 1,
    /// Any other I/O error: writes wait for a reopen.
    Failed = 2,
}

impl Refusal {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Refusal::None,
            1 => Refusal::Full,
            _ => Refusal::Failed,
        }
    }
}

pub(super) struct State {
    dir: PathBuf,
    /// Held for the life of the store: another process opening the dir finds it locked. Our own
    /// lock, not sled's, so that "in use" is told by the lock's own error and not by its text.
    _lock: File,
    /// `None` only while a reopen after a failed flush could not open the store again.
    trees: RwLock<Option<Arc<Trees>>>,
    /// Held shared by every mutation and exclusively by an export, so a backup is one
    /// consistent cut of all trees while the server runs (sled 0.34 has no snapshots). A reopen
    /// holds it exclusively too.
    gate: RwLock<()>,
    /// Whether a flush failed since the last recovery, and why. While it did, the open
    /// database holds writes that are not on disk (each was refused with 503), and sled 0.34
    /// refuses every later write until it is opened again.
    refusal: AtomicU8,
    /// When the store last tried to reopen or to find space, to try at most every
    /// `RECOVERY_INTERVAL`.
    last_recovery: Mutex<Option<Instant>>,
    /// A recovery thread is running (at most one).
    recovering: AtomicBool,
}

impl State {
    pub(super) fn open(dir: &Path) -> Result<Self, StoreError> {
        create_private_dir(dir)?;
        let lock = lock_dir(dir)?;
        let trees = Trees::open(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            _lock: lock,
            trees: RwLock::new(Some(Arc::new(trees))),
            gate: RwLock::new(()),
            refusal: AtomicU8::new(Refusal::None as u8),
            last_recovery: Mutex::new(None),
            recovering: AtomicBool::new(false),
        })
    }

    fn current(&self) -> Option<Arc<Trees>> {
        self.trees.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The open trees, or `Unavailable` at once (with a recovery started in the background).
    pub(super) fn trees(state: &Arc<Self>) -> Result<Arc<Trees>, StoreError> {
        if let Some(trees) = state.current() {
            return Ok(trees);
        }
        if !state.recovering.swap(true, Ordering::AcqRel) {
            let worker = state.clone();
            let spawned = std::thread::Builder::new()
                .name("store-recovery".into())
                .spawn(move || {
                    worker.recover();
                    worker.recovering.store(false, Ordering::Release);
                });
            if let Err(e) = spawned {
                log::error!("cannot start the store's recovery thread: {e}");
                // Let the next read try again.
                state.recovering.store(false, Ordering::Release);
            }
        }
        Err(StoreError::Unavailable)
    }

    fn refusal(&self) -> Refusal {
        Refusal::from_u8(self.refusal.load(Ordering::Acquire))
    }

    /// The shared side of the gate. With `recover`, a store that refuses writes first tries to
    /// recover (a disk probe), and the gate waits while an export holds it; without, it never
    /// waits: it refuses at once while writes are refused or an export runs.
    pub(super) fn gate(&self, recover: bool) -> Result<Gate<'_>, StoreError> {
        if recover && self.refusal() != Refusal::None {
            self.recover();
        }
        match self.refusal() {
            Refusal::None if recover => Ok(Gate {
                state: self,
                shared: Some(self.gate.read().unwrap_or_else(|e| e.into_inner())),
                recover_on_drop: true,
            }),
            Refusal::None => match self.gate.try_read() {
                Ok(shared) => Ok(Gate {
                    state: self,
                    shared: Some(shared),
                    recover_on_drop: false,
                }),
                Err(std::sync::TryLockError::Poisoned(e)) => Ok(Gate {
                    state: self,
                    shared: Some(e.into_inner()),
                    recover_on_drop: false,
                }),
                Err(std::sync::TryLockError::WouldBlock) => Err(StoreError::Unavailable),
            },
            Refusal::Full => Err(StoreError::Full),
            Refusal::Failed => Err(StoreError::Unavailable),
        }
    }

    /// The exclusive side of the gate: no mutation is half done while it is held.
    pub(super) fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes a failed flush and its cause; writes are refused until a recovery.
    pub(super) fn flush_failed(&self, e: &StoreError) {
        let refusal = match e {
            StoreError::Full => Refusal::Full,
            _ => Refusal::Failed,
        };
        self.refusal.store(refusal as u8, Ordering::Release);
        log::error!(
            "a flush failed; writes are refused until the store recovers: {}",
            crate::errors::chain(e)
        );
    }

    /// After a failed flush: once a probe finds room for writes again, reopens the database,
    /// which drops the writes that never reached the disk (each was refused with 503), and
    /// takes writes again. Until then the open database keeps serving reads. (sled writes
    /// when it opens, so opening it on a full disk would fail and leave nothing to read.)
    /// Runs without the shared gate held, at most every `RECOVERY_INTERVAL`; a caller that
    /// cannot take the gate exclusively leaves it to the next.
    fn recover(&self) {
        let closed = || self.trees.read().map_or(true, |t| t.is_none());
        if self.refusal() == Refusal::None && !closed() {
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
        if let Err(e) = self.reopen() {
            log::error!(
                "the store could not be reopened after a failed flush: {}",
                crate::errors::chain(&e)
            );
            return;
        }
        log::warn!("the store was reopened after a failed flush; unflushed writes dropped");
        let was = Refusal::from_u8(self.refusal.swap(Refusal::None as u8, Ordering::AcqRel));
        match was {
            Refusal::Full => log::warn!("disk space has returned; writes are taken again"),
            Refusal::Failed => log::warn!("the store takes writes again"),
            Refusal::None => {}
        }
    }

    /// Drops the open database (once reads in flight let go of it) and opens it again. The
    /// slot is emptied under a short lock and filled again after the disk work, so reads
    /// meanwhile answer `Unavailable` at once and never wait on the reopen.
    fn reopen(&self) -> Result<(), StoreError> {
        let slot = || self.trees.write().unwrap_or_else(|e| e.into_inner());
        let taken = slot().take();
        if let Some(mut old) = taken {
            let deadline = Instant::now() + REOPEN_PATIENCE;
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
                        *slot() = Some(still_shared);
                        return Err(StoreError::Unavailable);
                    }
                }
            }
        }
        let opened = Trees::open(&self.dir)?;
        *slot() = Some(Arc::new(opened));
        Ok(())
    }
}

/// The shared side of the gate, for one mutation. Dropping it after a failed flush recovers
/// at once, so the write refused with 503 is gone before the next read.
pub(in crate::storage) struct Gate<'a> {
    state: &'a State,
    shared: Option<RwLockReadGuard<'a, ()>>,
    recover_on_drop: bool,
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        self.shared.take();
        if self.recover_on_drop && self.state.refusal() != Refusal::None {
            self.state.recover();
        }
    }
}

/// Takes the data dir's lock, or `Locked` if another process holds it.
fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    let io = |e: std::io::Error| StoreError::Backend {
        context: "locking the data dir",
        source: Box::new(e),
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

/// Writes and syncs `PROBE_BYTES` in `dir`, then removes them: is there room for writes?
fn probe_space(dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join(".space-probe");
    let written = File::create(&path).and_then(|mut file| {
        file.write_all(&vec![0u8; PROBE_BYTES])?;
        file.sync_all()
    });
    let removed = std::fs::remove_file(&path);
    written.and(removed)
}
