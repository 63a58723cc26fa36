//! Read-modify-write of versioned records (users, applications, API keys, OAuth clients).
//!
//! An edit reads the record, applies its change and writes it back naming the version it
//! read; the store refuses the write if another edit committed in between
//! ([`StoreError::Stale`]), and the edit starts again from a fresh read. Two admins patching
//! one user at once both land, and a refresh or revocation is never undone by a stale copy.

use super::{blocking, AuthError};
use crate::storage::StoreError;

/// How many times an edit is tried before it gives up with 409. Admin edits of one record
/// rarely meet at all; eight losses in a row mean a writer that never lets go.
const ATTEMPTS: usize = 8;

/// Runs `attempt` (read, change, write) on the blocking pool, again while it meets a
/// concurrent edit. After `ATTEMPTS` losses the caller gets `Conflict`.
pub(crate) async fn edit<T: Send + 'static>(
    attempt: impl Fn() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, AuthError> {
    blocking(move || retry(&attempt)).await
}

/// The same, on the calling thread.
pub(crate) fn retry<T>(attempt: &impl Fn() -> Result<T, StoreError>) -> Result<T, StoreError> {
    let mut tries = 1;
    loop {
        match attempt() {
            Err(StoreError::Stale) if tries < ATTEMPTS => tries += 1,
            Err(StoreError::Stale) => {
                log::warn!("an edit met a concurrent one {ATTEMPTS} times in a row; giving up");
                return Err(StoreError::Stale);
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_stale_attempt_is_tried_again_from_a_fresh_read() {
        let calls = Cell::new(0);
        let result = retry(&|| {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                Err(StoreError::Stale)
            } else {
                Ok(calls.get())
            }
        });
        assert_eq!(result.ok(), Some(3));
    }

    #[test]
    fn an_edit_that_always_loses_gives_up() {
        let calls = Cell::new(0);
        let result: Result<(), _> = retry(&|| {
            calls.set(calls.get() + 1);
            Err(StoreError::Stale)
        });
        assert!(matches!(result, Err(StoreError::Stale)));
        assert_eq!(calls.get(), ATTEMPTS);
    }

    #[test]
    fn other_errors_are_not_retried() {
        let calls = Cell::new(0);
        let result: Result<(), _> = retry(&|| {
            calls.set(calls.get() + 1);
            Err(StoreError::NotFound)
        });
        assert!(matches!(result, Err(StoreError::NotFound)));
        assert_eq!(calls.get(), 1);
    }
}
