//! The one password hasher (STYLE habit 10): argon2id with the configured cost, on a few
//! dedicated threads of its own (`max_concurrent_hashes`), so a flood of logins never stalls
//! the HTTP workers. Unknown users are verified against a dummy hash of the same cost.
//!
//! Each hashing thread owns one argon2 working memory, allocated at its first job and reused
//! for every later one (issue 6). Allocating 19 MiB per verification costs its zeroing, and
//! glibc keeps freed blocks of that size in its arenas, so RSS grew by the argon2 cost for every
//! thread that ever hashed. Here the memory is `argon2 memory × threads` by construction.
//!
//! The threads run at a lower priority (nice 10 on Linux): when a core is wanted both by a
//! login and by the HTTP workers, the workers go first, so a flood of logins slows logins, not
//! introspection. With no other work about, the hashers have the cores to themselves.

use crate::crypto::{ct_eq, SecretString};
use argon2::password_hash::{
    rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// How many verifications may wait for a thread, per thread, before new ones are turned away.
/// At ~20–30 ms a hash this bounds the queueing delay to about a second.
const QUEUE_PER_SLOT: usize = 32;

/// The nice value of the hashing threads (0 is normal, 19 the lowest priority).
#[cfg(target_os = "linux")]
const HASH_THREAD_NICE: i32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many password checks are waiting")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// The hasher's own parameters: the argon2id cost and how many hashes run at once. The
/// config's `[passwords]` converts into this, so the hasher knows nothing of the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HasherParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Password hashes computed at once; 0 = the number of cores.
    pub max_concurrent_hashes: usize,
}

/// One thread's argon2 working memory.
#[derive(Default)]
struct Memory {
    blocks: Vec<Block>,
}

impl Memory {
    /// Runs `f` with at least `count` blocks. Up to `keep` blocks (the configured cost) the
    /// memory is kept for the next job; a stored hash of a higher cost borrows a one-off buffer.
    fn with<T>(&mut self, count: usize, keep: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        if count > keep {
            return f(&mut vec![Block::default(); count]);
        }
        if self.blocks.len() < keep {
            self.blocks = vec![Block::default(); keep];
        }
        f(&mut self.blocks[..count])
    }
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    /// Jobs for the hashing threads; they stop when the hasher is dropped.
    jobs: Mutex<mpsc::Sender<Job>>,
    /// Jobs queued or running.
    in_flight: Arc<AtomicUsize>,
    max_in_flight: usize,
    /// A stand-in PHC string for users that do not exist: the configured cost, a random salt
    /// and a random output. Verifying against it costs what a real verification costs, and no
    /// password can match it (nor would a match count).
    dummy: String,
}

impl PasswordHasher {
    /// Starts the hashing threads. Takes anything that converts into [`HasherParams`], such
    /// as the config's `&PasswordsConfig`.
    pub fn new(params: impl Into<HasherParams>) -> Result<Self, HashError> {
        let wanted: HasherParams = params.into();
        let params = Params::new(
            wanted.memory_kib,
            wanted.iterations,
            wanted.parallelism,
            None,
        )
        .map_err(|e| HashError::Failed(e.to_string()))?;
        let slots = match wanted.max_concurrent_hashes {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let dummy = dummy_phc(&params)?;
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..slots {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("tessera-argon2-{n}"))
                .spawn(move || hashing_thread(&receiver))
                .map_err(|e| HashError::Failed(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                jobs: Mutex::new(sender),
                in_flight: Arc::new(AtomicUsize::new(0)),
                max_in_flight: slots * (QUEUE_PER_SLOT + 1),
                dummy,
            }),
        })
    }

    /// Hashes a password into an argon2id PHC string, on a hashing thread.
    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        let params = self.inner.params.clone();
        self.run(move |memory| hash_with(&params, password.expose(), memory))
            .await
    }

    /// Hashes on the calling thread, for the command line (no server, no runtime).
    pub fn hash_blocking(&self, password: &SecretString) -> Result<String, HashError> {
        hash_with(
            &self.inner.params,
            password.expose(),
            &mut Memory::default(),
        )
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
        let keep = self.inner.params.block_count();
        let matched = self
            .run(move |memory| Ok(verify_with(password.expose(), &phc, keep, memory)))
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
        job: impl FnOnce(&mut Memory) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let inner = &self.inner;
        // Turn work away instead of queueing without bound (a flood answers 503 at once).
        if inner.in_flight.fetch_add(1, Ordering::AcqRel) >= inner.max_in_flight {
            inner.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(HashError::Busy);
        }
        let done = InFlight(inner.in_flight.clone());
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _done = done;
            // The caller went away (the client hung up): skip the work.
            if reply.is_closed() {
                return;
            }
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| job(memory)))
                .unwrap_or_else(|_| Err(HashError::Failed("a hashing job panicked".into())));
            let _ = reply.send(result);
        });
        let sent = inner
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job);
        if sent.is_err() {
            return Err(HashError::Failed("the hashing threads have stopped".into()));
        }
        answer
            .await
            .map_err(|_| HashError::Failed("the hashing thread dropped the job".into()))?
    }
}

/// Counts a job out of `in_flight` when it is done with, run or not.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn hashing_thread(jobs: &Mutex<mpsc::Receiver<Job>>) {
    #[cfg(target_os = "linux")]
    {
        let thread = Some(rustix::thread::gettid());
        if let Err(e) = rustix::process::setpriority_process(thread, HASH_THREAD_NICE) {
            log::debug!("hashing thread keeps its priority: {e}");
        }
    }
    let mut memory = Memory::default();
    loop {
        let job = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
        match job {
            Ok(job) => job(&mut memory),
            Err(_) => return,
        }
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn failed(e: impl std::fmt::Display) -> HashError {
    HashError::Failed(e.to_string())
}

fn hash_with(params: &Params, password: &str, memory: &mut Memory) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes).map_err(failed)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let count = params.block_count();
    memory
        .with(count, count, |blocks| {
            argon2(params).hash_password_into_with_memory(
                password.as_bytes(),
                salt_bytes,
                &mut out,
                blocks,
            )
        })
        .map_err(failed)?;
    phc(params, &salt, &out)
}

/// The argon2id PHC string of `params`, `salt` and the output `out`.
fn phc(params: &Params, salt: &SaltString, out: &[u8]) -> Result<String, HashError> {
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(out).map_err(failed)?),
    };
    Ok(phc.to_string())
}

/// A PHC string of the configured cost that no password matches (see `Inner::dummy`).
fn dummy_phc(params: &Params) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    let out = crate::crypto::random_bytes::<{ Params::DEFAULT_OUTPUT_LEN }>();
    phc(params, &salt, &out)
}

/// Verifies with the parameters the stored hash carries, comparing in constant time.
fn verify_with(password: &str, phc: &str, keep: usize, memory: &mut Memory) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let (Ok(params), Some(salt), Some(expected)) =
        (Params::try_from(&parsed), parsed.salt, parsed.hash)
    else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = Salt::decode_b64(&salt, &mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let hashed = memory.with(params.block_count(), keep, |blocks| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, blocks)
    });
    hashed.is_ok() && ct_eq(&out, expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> HasherParams {
        HasherParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent_hashes: 1,
        }
    }

    #[actix_rt::test]
    async fn hash_then_verify() {
        let hasher = PasswordHasher::new(cheap()).expect("hasher");
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
        let hasher = PasswordHasher::new(cheap()).expect("hasher");
        assert!(!hasher
            .verify(SecretString::new("anything"), None)
            .await
            .expect("verify"));
    }

    #[actix_rt::test]
    async fn malformed_stored_hash_is_a_mismatch() {
        let hasher = PasswordHasher::new(cheap()).expect("hasher");
        assert!(!hasher
            .verify(SecretString::new("x"), Some("not a phc".into()))
            .await
            .expect("verify"));
    }

    #[actix_rt::test]
    async fn hashes_verify_with_the_argon2_crate_and_the_other_way_round() {
        use argon2::PasswordHasher as _;
        use argon2::PasswordVerifier as _;
        let hasher = PasswordHasher::new(cheap()).expect("hasher");
        // Ours, checked by the crate's own verifier.
        let ours = hasher
            .hash(SecretString::new("correct horse"))
            .await
            .expect("hash");
        let parsed = PasswordHash::new(&ours).expect("phc");
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        // The crate's, at another cost, version and output length, checked by ours, twice, so
        // the second runs in the memory the first left dirty.
        let params = Params::new(128, 2, 1, Some(48)).expect("params");
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x10, params)
            .hash_password(b"battery staple", &salt)
            .expect("hash")
            .to_string();
        for _ in 0..2 {
            assert!(hasher
                .verify(SecretString::new("battery staple"), Some(theirs.clone()))
                .await
                .expect("verify"));
            assert!(!hasher
                .verify(SecretString::new("battery stapler"), Some(theirs.clone()))
                .await
                .expect("verify"));
        }
    }

    #[actix_rt::test]
    async fn the_dummy_hash_has_the_configured_cost() {
        let hasher = PasswordHasher::new(cheap()).expect("hasher");
        assert!(hasher
            .inner
            .dummy
            .starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(!hasher.needs_rehash(&hasher.inner.dummy));
    }

    #[actix_rt::test]
    async fn a_full_queue_turns_work_away_and_recovers() {
        let hasher = PasswordHasher::new(HasherParams {
            memory_kib: 8 * 1024,
            iterations: 4,
            ..cheap()
        })
        .expect("hasher");
        let phc = hasher
            .hash_blocking(&SecretString::new("pw"))
            .expect("hash");
        let checks: Vec<_> = (0..(QUEUE_PER_SLOT + 1) * 2)
            .map(|_| hasher.verify(SecretString::new("pw"), Some(phc.clone())))
            .collect();
        let results = futures_util::future::join_all(checks).await;
        let busy = results
            .iter()
            .filter(|r| matches!(r, Err(HashError::Busy)))
            .count();
        let matched = results.iter().filter(|r| matches!(r, Ok(true))).count();
        assert_eq!(busy, QUEUE_PER_SLOT + 1);
        assert_eq!(matched, QUEUE_PER_SLOT + 1);
        // Once the queue drains, work is taken again.
        assert!(hasher
            .verify(SecretString::new("pw"), Some(phc))
            .await
            .expect("verify"));
    }

    #[test]
    fn rehash_is_needed_when_the_cost_changes() {
        let hasher = PasswordHasher::new(cheap()).expect("hasher");
        let phc = hasher
            .hash_blocking(&SecretString::new("pw"))
            .expect("hash");
        assert!(!hasher.needs_rehash(&phc));
        let stronger = PasswordHasher::new(HasherParams {
            memory_kib: 128,
            ..cheap()
        })
        .expect("hasher");
        assert!(stronger.needs_rehash(&phc));
    }
}
