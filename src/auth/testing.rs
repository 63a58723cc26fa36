//! A [`Context`] over a given store, for unit tests of the use cases and middleware.

use super::{bootstrap, Context};
use crate::clock::FixedClock;
use crate::config::Config;
use crate::crypto::password::PasswordHasher;
use crate::storage::Store;
use std::sync::Arc;

/// A context with the default config (a cheap argon2id), a fixed clock, an admin user and a
/// signing key, over `store`.
pub(crate) async fn context(store: Arc<dyn Store>) -> Context {
    with_config(store, Config::default()).await
}

pub(crate) async fn with_config(store: Arc<dyn Store>, mut config: Config) -> Context {
    config.passwords.argon2_memory_kib = 1024;
    config.passwords.argon2_iterations = 1;
    config.bootstrap_admin_password = Some("correct-horse-battery".into());
    let clock = Arc::new(FixedClock::starting_now());
    let now = crate::clock::Clock::now(&*clock);
    let master = crate::crypto::secretbox::MasterKey::from_bytes([7; 32]);
    let keys = bootstrap::signing_keys(&*store, config.tokens.signing_alg, now, &master)
        .await
        .expect("signing keys");
    let hasher = PasswordHasher::new(&config.passwords).expect("hasher");
    bootstrap::ensure_admin(&*store, &hasher, &config, now)
        .await
        .expect("admin");
    Context::new(
        crate::config::Settings::new(config).expect("settings"),
        store,
        hasher,
        keys,
        clock,
        uuid::Uuid::new_v4(),
        master,
    )
}
