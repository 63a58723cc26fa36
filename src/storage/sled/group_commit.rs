//! Group commit: concurrent writers that each need a flush share one (STYLE "Note on sled").
//!
//! A caller's write is covered by any flush that *starts* after the caller asked; a flush
//! already running when it asks may have missed it, so the caller waits for the next one.

use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Default)]
pub(super) struct GroupCommit {
    state: Mutex<State>,
    flushed: Condvar,
}

#[derive(Default)]
struct State {
    /// Tickets handed out; each caller takes the next number.
    requested: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    flushing: bool,
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks until a flush that started after this call has completed.
    pub(super) fn commit<E>(&self, flush: impl Fn() -> Result<(), E>) -> Result<(), E> {
        let mut state = self.lock();
        state.requested += 1;
        let ticket = state.requested;
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if state.flushing {
                state = self.flushed.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            state.flushing = true;
            let covers = state.requested;
            drop(state);
            let result = flush();
            state = self.lock();
            state.flushing = false;
            if result.is_ok() {
                state.durable = state.durable.max(covers);
            }
            self.flushed.notify_all();
            result?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn concurrent_commits_share_flushes_and_all_return() {
        let commit = Arc::new(GroupCommit::default());
        let flushes = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let commit = commit.clone();
                let flushes = flushes.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        commit
                            .commit(|| {
                                flushes.fetch_add(1, Ordering::SeqCst);
                                std::thread::sleep(std::time::Duration::from_micros(200));
                                Ok::<_, ()>(())
                            })
                            .expect("flush ok");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let n = flushes.load(Ordering::SeqCst);
        assert!((1..16 * 50).contains(&n), "flushes were not shared: {n}");
    }

    #[test]
    fn a_failed_flush_is_reported_and_the_next_caller_retries() {
        let commit = GroupCommit::default();
        assert_eq!(
            commit.commit(|| Err::<(), _>("disk full")),
            Err("disk full")
        );
        assert_eq!(commit.commit(|| Ok::<(), &str>(())), Ok(()));
    }
}
