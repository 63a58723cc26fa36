//! Read-modify-write of versioned records (users, applications, API keys, OAuth clients).
//!
//! An edit reads the record, applies its change and writes it back naming the version it
//! read; the store refuses the write if another edit committed in between
//! ([`StoreError::Stale`]), and the edit starts again from a fresh read. Two admins patching
//! one user at once both land, and a refresh or revocation is never undone by a stale copy.

use super::AuthError;
use crate::storage::StoreError;
use std::future::Future;

/// How many times an edit is tried before it gives up with 409. Admin edits of one record
/// rarely meet at all; eight losses in a row mean a writer that never lets go.
const ATTEMPTS: usize = 8;

/// Runs `attempt` (read, change, write), again while it meets a concurrent edit. After
/// `ATTEMPTS` losses the caller gets `Contended`.
pub(crate) async fn edit<T, F, Fut>(attempt: F) -> Result<T, AuthError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    Ok(retry(attempt).await?)
}

/// The same, with the store's own error.
pub(crate) async fn retry<T, F, Fut>(attempt: F) -> Result<T, StoreError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
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

    #[actix_rt::test]
    async fn a_stale_attempt_is_tried_again_from_a_fresh_read() {
        let calls = Cell::new(0);
        let result = retry(|| async {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                Err(StoreError::Stale)
            } else {
                Ok(calls.get())
            }
        })
        .await;
        assert_eq!(result.ok(), Some(3));
    }

    #[actix_rt::test]
    async fn an_edit_that_always_loses_gives_up() {
        let calls = Cell::new(0);
        let result: Result<(), _> = retry(|| async {
            calls.set(calls.get() + 1);
            Err(StoreError::Stale)
        })
        .await;
        assert!(matches!(result, Err(StoreError::Stale)));
        assert_eq!(calls.get(), ATTEMPTS);
    }

    #[actix_rt::test]
    async fn other_errors_are_not_retried() {
        let calls = Cell::new(0);
        let result: Result<(), _> = retry(|| async {
            calls.set(calls.get() + 1);
            Err(StoreError::NotFound)
        })
        .await;
        assert!(matches!(result, Err(StoreError::NotFound)));
        assert_eq!(calls.get(), 1);
    }
}
