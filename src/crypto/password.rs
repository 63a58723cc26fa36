//! The one password hasher (STYLE habit 10): argon2id with the configured cost, run on the
//! blocking pool behind a semaphore of `max_concurrent_hashes`, so a flood of logins never
//! stalls the HTTP workers. Unknown users are verified against a dummy hash of the same cost.

use crate::config::PasswordsConfig;
use crate::crypto::SecretString;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// How many verifications may wait for a slot, per slot, before new ones are turned away.
/// At ~30 ms a hash this bounds the queueing delay to about a second.
const QUEUE_PER_SLOT: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many password checks are waiting")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    slots: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// A hash of a random password: the stand-in for users that do not exist.
    dummy: String,
}

impl PasswordHasher {
    pub fn new(config: &PasswordsConfig) -> Result<Self, HashError> {
        let params = Params::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            None,
        )
        .map_err(|e| HashError::Failed(e.to_string()))?;
        let slots = match config.max_concurrent_hashes {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let dummy = hash_with(&params, &crate::crypto::random_password(32))?;
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                slots: Semaphore::new(slots),
                waiting: AtomicUsize::new(0),
                max_waiting: slots * QUEUE_PER_SLOT,
                dummy,
            }),
        })
    }

    /// Hashes a password into an argon2id PHC string, on the blocking pool.
    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        let params = self.inner.params.clone();
        self.run(move || hash_with(&params, password.expose()))
            .await
    }

    /// Hashes without the pool, for the command line (no server, no runtime).
    pub fn hash_blocking(&self, password: &SecretString) -> Result<String, HashError> {
        hash_with(&self.inner.params, password.expose())
    }

    /// Checks a password against a stored PHC string, or against the dummy hash when there is
    /// no user, so both cost the same. A malformed stored hash is a mismatch, not an error.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let (phc, real) = match stored {
            Some(phc) => (phc, true),
            None => (self.inner.dummy.clone(), false),
        };
        let matched = self
            .run(move || Ok(verify_with(password.expose(), &phc)))
            .await?;
        Ok(real && matched)
    }

    /// Whether a stored hash was made with other parameters than the configured ones.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return true;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        parsed.algorithm != Algorithm::Argon2id.ident()
            || params.m_cost() != self.inner.params.m_cost()
            || params.t_cost() != self.inner.params.t_cost()
            || params.p_cost() != self.inner.params.p_cost()
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let inner = &self.inner;
        // Turn work away instead of queueing without bound (a flood answers 503 at once).
        if inner.waiting.fetch_add(1, Ordering::AcqRel) >= inner.max_waiting {
            inner.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(HashError::Busy);
        }
        let permit = inner.slots.acquire().await;
        inner.waiting.fetch_sub(1, Ordering::AcqRel);
        let _permit = permit.map_err(|_| HashError::Failed("hasher closed".into()))?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(params: &Params, password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Failed(e.to_string()))
}

fn verify_with(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // The stored hash carries its own parameters; the verifier reads them from it.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordsConfig {
        PasswordsConfig {
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            argon2_parallelism: 1,
            max_concurrent_hashes: 1,
            min_length: 8,
        }
    }

    #[actix_rt::test]
    async fn hash_then_verify() {
        let hasher = PasswordHasher::new(&cheap()).expect("hasher");
        let phc = hasher
            .hash(SecretString::new("correct horse"))
            .await
            .expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(hasher
            .verify(SecretString::new("correct horse"), Some(phc.clone()))
            .await
            .expect("verify"));
        assert!(!hasher
            .verify(SecretString::new("wrong horse"), Some(phc))
            .await
            .expect("verify"));
    }

    #[actix_rt::test]
    async fn unknown_user_never_matches_even_the_dummy_password() {
        let hasher = PasswordHasher::new(&cheap()).expect("hasher");
        assert!(!hasher
            .verify(SecretString::new("anything"), None)
            .await
            .expect("verify"));
    }

    #[actix_rt::test]
    async fn malformed_stored_hash_is_a_mismatch() {
        let hasher = PasswordHasher::new(&cheap()).expect("hasher");
        assert!(!hasher
            .verify(SecretString::new("x"), Some("not a phc".into()))
            .await
            .expect("verify"));
    }

    #[test]
    fn rehash_is_needed_when_the_cost_changes() {
        let hasher = PasswordHasher::new(&cheap()).expect("hasher");
        let phc = hasher
            .hash_blocking(&SecretString::new("pw"))
            .expect("hash");
        assert!(!hasher.needs_rehash(&phc));
        let stronger = PasswordHasher::new(&PasswordsConfig {
            argon2_memory_kib: 128,
            ..cheap()
        })
        .expect("hasher");
        assert!(stronger.needs_rehash(&phc));
    }
}
